//! The gated package's copyright file (`debian/copyright`, DEP-5) covers every model it ships:
//! each file under `models/` has a paragraph of its own (not just the `Files: *` of our code),
//! and the paragraph of each file a manifest names gives that manifest's source and a licence
//! the manifest states. A model added without its licence fails here.
#![allow(clippy::unwrap_used)]

use face::manifest::ModelManifest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One paragraph: field name to value (continuation lines joined with newlines).
type Paragraph = BTreeMap<String, String>;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut all = Vec::new();
    let mut current = Paragraph::new();
    let mut last = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
        } else if let Some(more) = line.strip_prefix(' ') {
            let value = current.get_mut(&last).expect("continuation of no field");
            value.push('\n');
            value.push_str(more);
        } else {
            let (name, value) = line.split_once(':').expect("a field");
            last = name.to_owned();
            assert!(
                current
                    .insert(last.clone(), value.trim().to_owned())
                    .is_none(),
                "{name} twice in one paragraph"
            );
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// DEP-5 patterns: `*` is any run of characters (`/` too), `?` one character.
fn matches(pattern: &[u8], path: &[u8]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, _) => path.is_empty(),
        (Some((b'*', rest)), _) => (0..=path.len()).any(|skip| matches(rest, &path[skip..])),
        (Some((b'?', rest)), Some((_, tail))) => matches(rest, tail),
        (Some((p, rest)), Some((c, tail))) => p == c && matches(rest, tail),
        (Some(_), None) => false,
    }
}

fn patterns(paragraph: &Paragraph) -> Vec<&str> {
    paragraph["Files"].split_whitespace().collect()
}

/// The paragraph that rules `path`: the last one matching it, as DEP-5 says.
fn ruling<'a>(files: &[&'a Paragraph], path: &str) -> &'a Paragraph {
    files
        .iter()
        .rev()
        .find(|p| {
            patterns(p)
                .iter()
                .any(|pattern| matches(pattern.as_bytes(), path.as_bytes()))
        })
        .unwrap_or_else(|| panic!("{path}: no Files paragraph"))
}

/// The short names of a `License:` field's first line (`CC0-1.0 and MIT`).
fn licence_names(paragraph: &Paragraph) -> Vec<&str> {
    let first = paragraph["License"].lines().next().unwrap_or_default();
    first
        .split_whitespace()
        .filter(|word| !matches!(*word, "and" | "or"))
        .collect()
}

fn read_copyright() -> Vec<Paragraph> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/copyright");
    paragraphs(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn every_file_under_models_has_a_paragraph_of_its_own() {
    let all = read_copyright();
    assert_eq!(
        all[0]["Format"],
        "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    );
    let files: Vec<&Paragraph> = all.iter().filter(|p| p.contains_key("Files")).collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace().join("models")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let path = format!("models/{name}");
        let paragraph = ruling(&files, &path);
        assert!(
            patterns(paragraph).iter().any(|p| p.starts_with("models/")),
            "{path} is covered only by {:?}: give it a paragraph with its licence",
            paragraph["Files"]
        );
        assert!(
            paragraph.get("Copyright").is_some_and(|c| !c.is_empty()),
            "{path}: no Copyright"
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} files under models/");
}

#[test]
fn each_model_file_states_the_source_and_a_licence_of_its_manifest() {
    let all = read_copyright();
    let files: Vec<&Paragraph> = all.iter().filter(|p| p.contains_key("Files")).collect();
    let models = workspace().join("models");
    let mut manifests = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".toml") || name.ends_with(".calibration.toml") {
            continue;
        }
        let manifest = ModelManifest::load(&path).unwrap();
        manifests += 1;
        let mut weights: Vec<&Path> = manifest.files.iter().map(|f| f.path.as_path()).collect();
        let landmarks = manifest
            .embedder
            .as_ref()
            .and_then(|e| e.landmarks.as_ref());
        weights.extend(landmarks.map(|l| l.path.as_path()));
        for weight in weights {
            let file = format!("models/{}", weight.display());
            let paragraph = ruling(&files, &file);
            let comment = paragraph.get("Comment").map_or("", String::as_str);
            assert!(
                comment.contains(&format!("Manifest models/{name}.")),
                "{file}: the paragraph names another manifest: {comment}"
            );
            assert!(
                comment
                    .lines()
                    .any(|line| line == format!("Source: {}", manifest.source)),
                "{file}: the paragraph's Source line differs from the manifest's source {:?}",
                manifest.source
            );
            let names = licence_names(paragraph);
            assert!(!names.is_empty(), "{file}: no licence");
            for licence in names {
                // `CC0-1.0` in the copyright file, `CC0` in a manifest's words.
                let family = licence.split('-').next().unwrap_or(licence);
                assert!(
                    manifest.licence.contains(family),
                    "{file}: {licence} is not what {name} states ({:?})",
                    manifest.licence
                );
            }
        }
    }
    assert!(manifests >= 4, "{manifests} manifests");
}

#[test]
fn every_licence_named_has_its_text() {
    let all = read_copyright();
    let texts: Vec<&str> = all
        .iter()
        .filter(|p| !p.contains_key("Files") && p.contains_key("License"))
        .map(|p| p["License"].lines().next().unwrap_or_default())
        .collect();
    for paragraph in all.iter().filter(|p| p.contains_key("Files")) {
        for licence in licence_names(paragraph) {
            let inline = paragraph["License"].lines().count() > 1;
            assert!(
                inline || texts.contains(&licence),
                "{licence} ({}) has no License paragraph with its text",
                paragraph["Files"]
            );
        }
    }
}

#[test]
fn the_pattern_rules_are_those_of_dep5() {
    assert!(matches(b"*", b"models/a.onnx"));
    assert!(matches(b"models/*.toml", b"models/mtcnn.toml"));
    assert!(!matches(b"models/*.toml", b"models/mtcnn.onnx"));
    assert!(matches(
        b"models/mtcnn_?net.onnx",
        b"models/mtcnn_pnet.onnx"
    ));
    assert!(!matches(
        b"models/mtcnn_pnet.onnx",
        b"models/mtcnn_pnet.onnx.old"
    ));
}
