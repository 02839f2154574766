//! The screen's words: Project Fluent catalogues, one per language.
//!
//! Five ship inside gated (Japanese, English, Simplified and Traditional Chinese, Korean). An
//! agency adds a language, or replaces messages of a built-in one, by putting `<tag>.ftl` in the
//! directory named by `[screen] catalogues`. A message missing from a catalogue is taken from
//! English; a catalogue that does not parse stops gated at start-up with the file and line.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::path::{Path, PathBuf};
use unic_langid::LanguageIdentifier;

/// The catalogues built into gated: language tag and Fluent text.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("ja", include_str!("../../screen/locales/ja.ftl")),
    ("en", include_str!("../../screen/locales/en.ftl")),
    ("zh-Hans", include_str!("../../screen/locales/zh-Hans.ftl")),
    ("zh-Hant", include_str!("../../screen/locales/zh-Hant.ftl")),
    ("ko", include_str!("../../screen/locales/ko.ftl")),
];

/// The language every other falls back to.
pub const FALLBACK: &str = "en";

/// A catalogue that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The directory or a file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid Fluent, or its name is not a language tag.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or built-in catalogue).
        origin: String,
        /// What is wrong, with the line.
        message: String,
    },
}

struct Language {
    tag: String,
    bundle: FluentBundle<FluentResource>,
    ids: Vec<String>,
}

/// Every catalogue gated has, ready to format messages.
pub struct Catalogues {
    languages: Vec<Language>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.languages.iter().map(|l| &l.tag))
            .finish()
    }
}

fn parse(origin: &str, text: &str) -> Result<FluentResource, CatalogueError> {
    FluentResource::try_new(text.to_owned()).map_err(|(_, errors)| {
        let message = errors
            .iter()
            .map(|e| {
                let line = text[..e.pos.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {:?}", e.kind)
            })
            .collect::<Vec<_>>()
            .join("; ");
        CatalogueError::Invalid {
            origin: origin.to_owned(),
            message,
        }
    })
}

fn message_ids(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

impl Catalogues {
    /// The built-in catalogues only.
    pub fn built_in() -> Result<Self, CatalogueError> {
        Self::load(None)
    }

    /// The built-in catalogues with the `*.ftl` files of `extra` over them.
    pub fn load(extra: Option<&Path>) -> Result<Self, CatalogueError> {
        let mut sources: Vec<(String, String, String)> = BUILT_IN
            .iter()
            .map(|(tag, text)| {
                (
                    (*tag).to_owned(),
                    format!("built-in {tag}.ftl"),
                    (*text).to_owned(),
                )
            })
            .collect();
        if let Some(dir) = extra {
            let read = |source| CatalogueError::Read {
                path: dir.to_owned(),
                source,
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(read)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ftl"))
                .collect();
            files.sort();
            for path in files {
                let tag = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text =
                    std::fs::read_to_string(&path).map_err(|source| CatalogueError::Read {
                        path: path.clone(),
                        source,
                    })?;
                sources.push((tag, path.display().to_string(), text));
            }
        }
        let mut languages: Vec<Language> = Vec::new();
        for (tag, origin, text) in sources {
            let langid: LanguageIdentifier = tag.parse().map_err(|_| CatalogueError::Invalid {
                origin: origin.clone(),
                message: format!("{tag:?} is not a language tag (name files like ko.ftl)"),
            })?;
            let resource = parse(&origin, &text)?;
            let ids = message_ids(&resource);
            match languages.iter_mut().find(|l| l.tag == tag) {
                Some(language) => {
                    // The agency's file over the built-in one: its messages win.
                    for id in &ids {
                        if !language.ids.contains(id) {
                            language.ids.push(id.clone());
                        }
                    }
                    language.bundle.add_resource_overriding(resource);
                }
                None => {
                    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                    // No Unicode isolation marks around numbers: the page lays text out itself.
                    bundle.set_use_isolating(false);
                    bundle.add_resource_overriding(resource);
                    languages.push(Language { tag, bundle, ids });
                }
            }
        }
        Ok(Self { languages })
    }

    /// The language tags there are catalogues for, built-in ones first.
    pub fn languages(&self) -> Vec<&str> {
        self.languages.iter().map(|l| l.tag.as_str()).collect()
    }

    /// Whether there is a catalogue for `tag`.
    pub fn has(&self, tag: &str) -> bool {
        self.languages.iter().any(|l| l.tag == tag)
    }

    /// The ids of the messages in `tag`'s catalogue.
    pub fn message_ids(&self, tag: &str) -> Vec<&str> {
        self.languages
            .iter()
            .find(|l| l.tag == tag)
            .map(|l| l.ids.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn format_in(&self, tag: &str, id: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        let language = self.languages.iter().find(|l| l.tag == tag)?;
        let pattern = language.bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        let text = language.bundle.format_pattern(pattern, args, &mut errors);
        errors.is_empty().then(|| text.into_owned())
    }

    /// Message `id` in `tag`, else in English, else the id itself (never empty, never a
    /// panic on the traveller's screen).
    pub fn format(&self, tag: &str, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        self.format_in(tag, id, args)
            .or_else(|| self.format_in(FALLBACK, id, args))
            .unwrap_or_else(|| id.to_owned())
    }

    /// Message `id` in `tag` only when that catalogue has it.
    pub fn format_exact(
        &self,
        tag: &str,
        id: &str,
        args: Option<&FluentArgs<'_>>,
    ) -> Option<String> {
        self.format_in(tag, id, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_catalogue_has_every_english_message() {
        let catalogues = Catalogues::built_in().unwrap();
        let english = catalogues.message_ids(FALLBACK);
        assert!(english.len() > 100, "{}", english.len());
        for (tag, _) in BUILT_IN {
            let ids = catalogues.message_ids(tag);
            let missing: Vec<_> = english.iter().filter(|id| !ids.contains(id)).collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            for id in &english {
                let mut args = FluentArgs::new();
                for name in ["step", "steps", "attempt", "attempts", "seconds"] {
                    args.set(name, 2);
                }
                args.set("officer", "NRT-1");
                assert!(
                    catalogues.format_exact(tag, id, Some(&args)).is_some(),
                    "{tag}: {id} does not format"
                );
            }
        }
    }

    #[test]
    fn every_reason_code_has_plain_words_in_every_language() {
        let catalogues = Catalogues::built_in().unwrap();
        for (tag, _) in BUILT_IN {
            for code in gate_core::ReasonCode::ALL {
                let id = format!("reason-{}", code.as_str());
                assert!(
                    catalogues.format_exact(tag, &id, None).is_some(),
                    "{tag} has no words for {code}"
                );
            }
        }
    }

    #[test]
    fn an_agency_file_adds_a_language_and_replaces_a_message() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("fr.ftl"),
            "language-name = Français\nproceed = Avancez\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("en.ftl"), "proceed = Walk on\n").unwrap();
        let catalogues = Catalogues::load(Some(dir.path())).unwrap();
        assert!(catalogues.has("fr"));
        assert_eq!(catalogues.format("fr", "proceed", None), "Avancez");
        // Missing in French: English.
        assert_eq!(
            catalogues.format("fr", "look-at-camera", None),
            catalogues.format("en", "look-at-camera", None)
        );
        assert_eq!(catalogues.format("en", "proceed", None), "Walk on");
        std::fs::write(dir.path().join("de.ftl"), "proceed = {\n").unwrap();
        let err = Catalogues::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("de.ftl") && err.contains("line 2"), "{err}");
    }
}
