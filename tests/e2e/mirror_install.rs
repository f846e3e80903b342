//! Installing without dev_overrides: the release zip, as `scripts/release` packs it, in a packed
//! filesystem mirror; plain `terraform init` installs it and locks its hashes; the apply kills.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::harness::{Sim, Workspace};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-ncloud");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Terraform's `h1:` package hash (Go's dirhash "Hash1") of the release zip, which holds one file:
/// base64 of SHA-256 over the line "SHA256-HEX  NAME\n".
fn h1_of_release(binary: &str) -> String {
    use base64::Engine as _;
    let contents = std::fs::read(binary).unwrap();
    let line = format!("{:x}  terraform-provider-ncloud_v{VERSION}\n", Sha256::digest(&contents));
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line.as_bytes()))
}

/// Packs the binary cargo built for the tests the way a release is packed.
fn release(dist: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release");
    let status = Command::new(script).args(["--binary", BINARY, "--dist"]).arg(dist).status().unwrap();
    assert!(status.success(), "scripts/release failed");
}

on_each_terraform!(init_installs_from_a_packed_mirror_and_locks_hashes, |terraform| {
    let sim = Sim::start(&["Mirror01"]);
    let mut workspace = Workspace::new(
        terraform,
        &sim,
        &format!(
            "terraform {{\n  required_providers {{\n    ncloud = {{\n      source  = \"ncloud-dataforest/ncloud\"\n      \
             version = \"{VERSION}\"\n    }}\n  }}\n}}\nresource \"ncloud_dataforest_aiapp_kill\" \"job\" {{ app_id = \"Mirror01\" }}\n"
        ),
    );
    // The header Workspace adds would require the provider twice; this test writes its own.
    let main = std::fs::read_to_string(workspace.work_dir().join("main.tf")).unwrap();
    let own = main.rfind("terraform {").unwrap();
    std::fs::write(workspace.work_dir().join("main.tf"), &main[own..]).unwrap();

    let dist = workspace.dir.path().join("dist");
    release(&dist);
    let zip_name = format!("terraform-provider-ncloud_{VERSION}_linux_amd64.zip");
    let sums = std::fs::read_to_string(dist.join(format!("terraform-provider-ncloud_{VERSION}_SHA256SUMS")))
        .unwrap();
    let zip_bytes = std::fs::read(dist.join(&zip_name)).unwrap();
    assert!(sums.contains(&format!("{:x}  {zip_name}", Sha256::digest(&zip_bytes))), "{sums}");

    let mirror = workspace.dir.path().join("mirror/registry.terraform.io/ncloud-dataforest/ncloud");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(dist.join(&zip_name), mirror.join(&zip_name)).unwrap();
    let cli_config = workspace.dir.path().join("mirror.rc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/ncloud-dataforest/ncloud\"]\n  }}\n}}\n",
            workspace.dir.path().join("mirror").display()
        ),
    )
    .unwrap();
    workspace.env.insert("TF_CLI_CONFIG_FILE".into(), cli_config.display().to_string());

    workspace
        .ok(&["init", "-input=false", "-no-color"])
        .assert_contains(&format!("Installed ncloud-dataforest/ncloud v{VERSION}"));
    let lock = std::fs::read_to_string(workspace.work_dir().join(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains(&format!("version     = \"{VERSION}\"")), "{lock}");
    assert!(
        lock.contains(&format!("\"h1:{}\"", h1_of_release(BINARY))),
        "the lock file records the package's hash: {lock}"
    );

    workspace.apply();
    assert_eq!(sim.state_of("Mirror01"), "KILLED");
});
