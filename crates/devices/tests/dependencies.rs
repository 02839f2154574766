//! `devices` is a leaf: it depends on no crate of this workspace (normal, build or dev
//! dependency), so `cargo tree -p devices` lists none.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

#[test]
fn devices_depends_on_no_crate_of_the_workspace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = manifest(&root.join("Cargo.toml"));
    let ours: Vec<String> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| {
            let member = manifest(&root.join(member.as_str().unwrap()).join("Cargo.toml"));
            member["package"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(ours.iter().any(|name| name == "gate-core"), "{ours:?}");
    let devices = manifest(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(dependencies) = devices.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        let found: Vec<&String> = dependencies
            .keys()
            .filter(|name| ours.contains(name))
            .collect();
        assert!(
            found.is_empty(),
            "[{section}] names crates of ours: {found:?}"
        );
    }
}
