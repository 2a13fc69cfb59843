//! The test tree itself: with `autotests = false`, a file of `tests/` that no area binary
//! declares would never be compiled or run. Every `tests/*.rs` must be an area binary of
//! `Cargo.toml` or a module (`mod NAME;`) of exactly one of them.

use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn every_test_file_belongs_to_exactly_one_area_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let areas: Vec<String> = manifest
        .split("[[test]]")
        .skip(1)
        .filter_map(|table| {
            let name = table.lines().find_map(|l| l.strip_prefix("name = "))?;
            Some(name.trim_matches('"').to_owned())
        })
        .collect();
    assert!(areas.contains(&"protocol".to_owned()), "{areas:?}");
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for area in &areas {
        let text = std::fs::read_to_string(root.join(format!("tests/{area}.rs"))).unwrap();
        for line in text.lines() {
            if let Some(module) = line.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
                owners
                    .entry(module.to_owned())
                    .or_default()
                    .push(area.clone());
            }
        }
    }
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if areas.contains(&name) {
            continue;
        }
        assert_eq!(
            owners.get(&name).map(Vec::len),
            Some(1),
            "tests/{name}.rs must be a module of exactly one area binary, is in {:?}",
            owners.get(&name)
        );
    }
}
