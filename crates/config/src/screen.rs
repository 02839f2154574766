//! `[screen]`: the traveller's screen and the officer's view, served by gated on loopback.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::Problem;

/// The languages whose catalogues ship inside gated, in the order of the language buttons.
pub const BUILT_IN_LANGUAGES: &[&str] = &["ja", "en", "zh-Hans", "zh-Hant", "ko"];

/// `[screen]`: the traveller's page (and the officer's view) on a loopback HTTP server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenSection {
    /// Where the page is served: a loopback address and port, e.g. `127.0.0.1:8088`.
    pub listen: SocketAddr,
    /// The language of the idle screen and the one a traveller falls back to.
    #[serde(default = "default_language")]
    pub default_language: String,
    /// The language buttons, in order; each needs a catalogue (built in or in `catalogues`).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// A directory of extra or replacement catalogues, `<language>.ftl` (Project Fluent),
    /// read at start-up; a message missing from one falls back to the built-in English.
    #[serde(default)]
    pub catalogues: Option<PathBuf>,
    /// The screen's language once the chip is read: the document's nationality (ICAO
    /// three-letter code) to a language. Added to (and overriding) the built-in map
    /// ([`default_nationality_languages`]); other nationalities get English.
    #[serde(default)]
    pub nationality_languages: BTreeMap<String, String>,
    /// How many seconds the traveller's outcome (proceed, see an officer) stays on screen.
    #[serde(default = "default_outcome_s")]
    pub outcome_s: u32,
    /// Officers who may use the officer view (`/officer`); none: the view refuses everyone.
    #[serde(default)]
    pub officers: Vec<OfficerCredential>,
}

/// One officer's credential for the officer view: an id recorded with each action and the
/// SHA-256 of the officer's secret (the secret itself is never stored on the gate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficerCredential {
    /// The officer's id as recorded with each action, e.g. `NRT-4471`.
    pub id: String,
    /// Lower-case hex SHA-256 of the officer's secret (`printf %s SECRET | sha256sum`).
    pub secret_sha256: String,
}

fn default_language() -> String {
    "ja".into()
}

fn default_languages() -> Vec<String> {
    BUILT_IN_LANGUAGES.iter().map(|l| (*l).to_owned()).collect()
}

fn default_outcome_s() -> u32 {
    5
}

/// The built-in nationality-to-language map (ICAO Doc 9303 Part 3 codes).
pub fn default_nationality_languages() -> BTreeMap<String, String> {
    [
        ("JPN", "ja"),
        ("CHN", "zh-Hans"),
        ("SGP", "en"),
        ("TWN", "zh-Hant"),
        ("HKG", "zh-Hant"),
        ("MAC", "zh-Hant"),
        ("KOR", "ko"),
        ("PRK", "ko"),
    ]
    .into_iter()
    .map(|(n, l)| (n.to_owned(), l.to_owned()))
    .collect()
}

impl ScreenSection {
    /// A screen on `listen` with every default.
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen,
            default_language: default_language(),
            languages: default_languages(),
            catalogues: None,
            nationality_languages: BTreeMap::new(),
            outcome_s: default_outcome_s(),
            officers: Vec::new(),
        }
    }

    /// The full nationality map: the built-in one with this section's entries over it.
    pub fn nationality_map(&self) -> BTreeMap<String, String> {
        let mut map = default_nationality_languages();
        map.extend(self.nationality_languages.clone());
        map
    }

    /// The languages that have a catalogue: the built-in ones and the `*.ftl` files in
    /// `catalogues` (when it can be read).
    pub fn available_languages(&self) -> Vec<String> {
        let mut available: Vec<String> = default_languages();
        if let Some(dir) = &self.catalogues
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(language) = name.strip_suffix(".ftl")
                    && !available.iter().any(|l| l == language)
                {
                    available.push(language.to_owned());
                }
            }
        }
        available
    }

    /// The section's problems, by key path.
    pub(crate) fn validate(&self, problems: &mut Vec<Problem>) {
        let mut bad = |key: &str, message: String| {
            problems.push(Problem {
                key: format!("screen.{key}"),
                message,
            })
        };
        if !self.listen.ip().is_loopback() {
            bad(
                "listen",
                format!(
                    "{} is not a loopback address: the traveller's page is served to the \
                     gate's own panel only (127.0.0.1 or ::1)",
                    self.listen
                ),
            );
        }
        if let Some(dir) = &self.catalogues {
            if !dir.is_absolute() {
                bad(
                    "catalogues",
                    format!("{} must be an absolute path", dir.display()),
                );
            } else if !dir.is_dir() {
                bad(
                    "catalogues",
                    format!("{} is not a readable directory", dir.display()),
                );
            }
        }
        let available = self.available_languages();
        if !available.contains(&self.default_language) {
            bad(
                "default_language",
                format!(
                    "{:?} has no catalogue (have: {})",
                    self.default_language,
                    available.join(", ")
                ),
            );
        }
        if self.languages.is_empty() {
            bad("languages", "name at least one language".into());
        }
        for language in &self.languages {
            if !available.contains(language) {
                bad(
                    "languages",
                    format!(
                        "{language:?} has no catalogue (have: {})",
                        available.join(", ")
                    ),
                );
            }
        }
        for (nationality, language) in &self.nationality_languages {
            if nationality.len() != 3 || !nationality.bytes().all(|b| b.is_ascii_uppercase()) {
                bad(
                    &format!("nationality_languages.{nationality}"),
                    "must be an ICAO three-letter code in capitals, e.g. JPN".into(),
                );
            }
            if !available.contains(language) {
                bad(
                    &format!("nationality_languages.{nationality}"),
                    format!(
                        "{language:?} has no catalogue (have: {})",
                        available.join(", ")
                    ),
                );
            }
        }
        if !(1..=60).contains(&self.outcome_s) {
            bad("outcome_s", format!("{} is outside 1..=60", self.outcome_s));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, officer) in self.officers.iter().enumerate() {
            let id = &officer.id;
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
            {
                bad(
                    &format!("officers[{i}].id"),
                    format!("{id:?} must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.', '@'"),
                );
            }
            if !ids.insert(id) {
                bad(
                    &format!("officers[{i}].id"),
                    format!("{id:?} appears twice"),
                );
            }
            let hash = &officer.secret_sha256;
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                bad(
                    &format!("officers[{i}].secret_sha256"),
                    "must be 64 lower-case hex digits (printf %s SECRET | sha256sum)".into(),
                );
            }
        }
    }
}
