//! The layers stay one-way: `src/plugin` and `src/protocol` name no provider (nothing of ncloud,
//! DataForest or NCP), so they could serve another one; and the provider binary's build pulls in
//! neither axum nor the simulator, which live in the workspace crate `sim/`.

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
fn plugin_and_protocol_know_no_provider() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for layer in ["src/plugin", "src/protocol"] {
        sources(&root.join(layer), &mut found);
    }
    assert!(found.len() >= 10, "read only {} files", found.len());
    let forbidden = ["crate::provider", "crate::ncp", "ncloud", "dataforest", "naver"];
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

#[test]
fn the_provider_binary_is_built_without_axum_or_the_simulator() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "terraform-provider-ncloud",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.lines().any(|line| line.starts_with("tonic ")), "an unexpected tree:\n{tree}");
    for crate_name in ["axum ", "dataforest-sim "] {
        assert!(!tree.lines().any(|line| line.starts_with(crate_name)), "{crate_name}in the build:\n{tree}");
    }
}
