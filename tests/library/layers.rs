//! The layers stay one-way. The plugin protocol is the workspace crate `tfplugin/`, which the
//! provider depends on and which depends on nothing of the provider (so the compiler enforces the
//! direction), and whose sources name no provider (nothing of ncloud, DataForest or NCP), so it
//! could serve another one. The provider binary's build pulls in neither axum nor the simulator,
//! which live in the workspace crate `sim/`.

use std::path::Path;
use std::process::Command;

fn sources(folder: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn the_plugin_protocol_names_no_provider() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    sources(&root.join("tfplugin/src"), &mut found);
    assert!(found.len() >= 10, "read only {} files", found.len());
    let forbidden = ["ncloud", "dataforest", "naver", "ncp"];
    let mut offences = Vec::new();
    for (path, text) in &found {
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            if let Some(word) = forbidden.iter().find(|word| lower.contains(*word)) {
                offences.push(format!("{path}:{}: {word}: {line}", number + 1));
            }
        }
    }
    assert!(offences.is_empty(), "provider names in the generic layers:\n{}", offences.join("\n"));
}

/// The crates in the normal (non-test) build of `package`, one per line, as `cargo tree` lists them.
fn build_tree(package: &str) -> String {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--locked", "-e", "normal", "--prefix", "none", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_plugin_protocol_depends_on_nothing_of_the_provider() {
    let tree = build_tree("tfplugin");
    assert!(tree.lines().any(|line| line.starts_with("tonic ")), "an unexpected tree:\n{tree}");
    for crate_name in ["terraform-provider-ncloud ", "dataforest-sim ", "reqwest "] {
        assert!(
            !tree.lines().any(|line| line.starts_with(crate_name)),
            "{crate_name}in tfplugin's build:\n{tree}"
        );
    }
}

#[test]
fn the_provider_binary_is_built_without_axum_or_the_simulator() {
    let tree = build_tree("terraform-provider-ncloud");
    assert!(tree.lines().any(|line| line.starts_with("tonic ")), "an unexpected tree:\n{tree}");
    for crate_name in ["axum ", "dataforest-sim "] {
        assert!(!tree.lines().any(|line| line.starts_with(crate_name)), "{crate_name}in the build:\n{tree}");
    }
}
