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

/// A module of `src/provider` by its path below the crate (`["provider", "bulk"]`), with its
/// file's code: comments and the test module cut off, since only the code's own imports count.
type Modules = std::collections::BTreeMap<Vec<String>, String>;

fn provider_modules() -> Modules {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("provider"), &mut files);
    let mut modules = Modules::new();
    for (path, text) in files {
        let relative = Path::new(&path).strip_prefix(&root).unwrap().with_extension("");
        let mut module: Vec<String> =
            relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
        if module.last().is_some_and(|last| last == "mod") {
            module.pop();
        }
        let code = text.split("#[cfg(test)]").next().unwrap();
        let code: String =
            code.lines().map(|line| line.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
        modules.insert(module, code);
    }
    modules
}

/// The modules each module's code names in a path: `super::…`, `crate::provider::…`, or a
/// path that starts with one of its own submodules. A path names the deepest module it reaches.
fn imports(
    modules: &Modules,
) -> std::collections::BTreeMap<Vec<String>, std::collections::BTreeSet<Vec<String>>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut graph = std::collections::BTreeMap::new();
    for (module, code) in modules {
        let mut named = std::collections::BTreeSet::new();
        let bytes: Vec<char> = code.chars().collect();
        let mut at = 0;
        while at < bytes.len() {
            let starts_path =
                is_ident(bytes[at]) && (at == 0 || !(is_ident(bytes[at - 1]) || bytes[at - 1] == ':'));
            if !starts_path {
                at += 1;
                continue;
            }
            let mut segments = Vec::new();
            let mut end = at;
            loop {
                let start = end;
                while end < bytes.len() && is_ident(bytes[end]) {
                    end += 1;
                }
                segments.push(bytes[start..end].iter().collect::<String>());
                if bytes[end..].starts_with(&[':', ':']) && end + 2 < bytes.len() && is_ident(bytes[end + 2])
                {
                    end += 2;
                } else {
                    break;
                }
            }
            // `pub(super)` is a visibility, not a path.
            if at > 0 && bytes[at - 1] == '(' {
                at = end;
                continue;
            }
            at = end;
            let mut target: Vec<String> = match segments[0].as_str() {
                "crate" => Vec::new(),
                "super" | "self" => module.clone(),
                child => {
                    let mut child_path = module.clone();
                    child_path.push(child.to_string());
                    if !modules.contains_key(&child_path) || segments.len() < 2 {
                        continue;
                    }
                    module.clone()
                }
            };
            let mut rest = segments.iter().skip(usize::from(segments[0] == "crate")).peekable();
            while rest.peek().is_some_and(|segment| *segment == "super" || *segment == "self") {
                if rest.next().unwrap() == "super" {
                    target.pop();
                }
            }
            for segment in rest {
                let mut deeper = target.clone();
                deeper.push(segment.clone());
                if modules.contains_key(&deeper) {
                    target = deeper;
                } else {
                    break;
                }
            }
            if modules.contains_key(&target) && &target != module {
                named.insert(target);
            }
        }
        graph.insert(module.clone(), named);
    }
    graph
}

#[test]
fn the_provider_modules_import_one_way_and_errors_import_no_resource() {
    let modules = provider_modules();
    assert!(modules.len() >= 15, "read only {} modules", modules.len());
    let graph = imports(&modules);
    let name = |module: &Vec<String>| module.join("::");
    let root = vec!["provider".to_string()];
    let error = vec!["provider".to_string(), "error".to_string()];
    let config = vec!["provider".to_string(), "config".to_string()];
    let mut offences = Vec::new();
    for (module, named) in &graph {
        for target in named {
            if target == &root {
                offences.push(format!("{} imports from provider/mod.rs", name(module)));
            }
            if module.starts_with(&error) && !target.starts_with(&error) && target != &config {
                offences.push(format!("{} (errors) imports {}", name(module), name(target)));
            }
        }
    }
    // A circle: a module that reaches itself through its imports.
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        let mut stack = vec![(start.clone(), graph[start].iter().cloned().collect::<Vec<_>>())];
        let mut seen = std::collections::BTreeSet::new();
        while let Some((_, next)) = stack.last_mut() {
            let Some(target) = next.pop() else {
                stack.pop();
                path.pop();
                continue;
            };
            if &target == start {
                offences.push(format!(
                    "import circle: {} -> {}",
                    path.iter().map(name).collect::<Vec<_>>().join(" -> "),
                    name(start)
                ));
                break;
            }
            if seen.insert(target.clone()) {
                path.push(target.clone());
                let onward =
                    graph.get(&target).map(|named| named.iter().cloned().collect()).unwrap_or_default();
                stack.push((target, onward));
            }
        }
    }
    offences.sort();
    offences.dedup();
    assert!(offences.is_empty(), "{}", offences.join("\n"));
    // The check sees the imports it guards: a resource uses the kill, the bulk kill the session.
    let named = |from: &[&str], to: &[&str]| {
        let [from, to] = [from, to].map(|path| path.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        graph[&from].contains(&to)
    };
    assert!(named(&["provider", "resources", "aiapp_kill"], &["provider", "kill"]));
    assert!(named(&["provider", "bulk"], &["provider", "session"]));
    assert!(named(&["provider"], &["provider", "resources", "aiapps_kill"]));
}
