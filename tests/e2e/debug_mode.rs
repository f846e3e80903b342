//! The provider started by hand: `--version`, usage errors, and `--debug`, whose
//! `TF_REATTACH_PROVIDERS` line lets real Terraform runs attach to it until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Sim, Workspace};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-ncloud");

#[test]
fn version_and_usage() {
    let version = Command::new(BINARY).arg("--version").env_clear().output().unwrap();
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        concat!("terraform-provider-ncloud ", env!("CARGO_PKG_VERSION"))
    );
    let wrong = Command::new(BINARY).arg("--frobnicate").env_clear().output().unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("usage: terraform-provider-ncloud"));
}

#[test]
fn terraform_attaches_to_a_debug_provider() {
    let mut provider = Command::new(BINARY)
        .arg("--debug")
        .env_clear()
        .env("HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(provider.stdout.take().unwrap());
    let reattach = reader
        .lines()
        .map(Result::unwrap)
        .find_map(|line| {
            line.trim()
                .strip_prefix("TF_REATTACH_PROVIDERS='")
                .map(|rest| rest.trim_end_matches('\'').to_string())
        })
        .expect("a TF_REATTACH_PROVIDERS line");
    let parsed: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    let entry = &parsed["registry.terraform.io/ncloud-dataforest/ncloud"];
    assert_eq!((entry["ProtocolVersion"].as_u64(), entry["Test"].as_bool()), (Some(6), Some(true)));
    let socket = std::path::PathBuf::from(entry["Addr"]["String"].as_str().unwrap());

    let sim = Sim::start(&["Dbg01", "Dbg02"]);
    for (terraform, app) in [(harness::Terraform::V1_15_5, "Dbg01"), (harness::Terraform::V1_0_3, "Dbg02")] {
        // The debug provider has its own environment, so the block carries its settings.
        let config = format!(
            "provider \"ncloud\" {{\n  access_key = \"{}\"\n  secret_key = \"{}\"\n  endpoint = \"{}\"\n}}\n\
             resource \"ncloud_dataforest_aiapp_kill\" \"job\" {{ app_id = \"{app}\" }}\n",
            harness::ACCESS_KEY,
            harness::SECRET_KEY,
            sim.endpoint
        );
        let mut workspace = Workspace::new(terraform, &sim, &config);
        let plain_config = workspace.dir.path().join("plain.rc");
        std::fs::write(&plain_config, "").unwrap();
        workspace.env.insert("TF_CLI_CONFIG_FILE".into(), plain_config.display().to_string());
        workspace.env.insert("TF_REATTACH_PROVIDERS".into(), reattach.clone());
        workspace.apply();
        assert_eq!(sim.state_of(app), "KILLED", "Terraform {}", terraform.version());
    }
    assert!(provider.try_wait().unwrap().is_none(), "the debug provider serves run after run");

    let pid = libc::pid_t::try_from(provider.id()).unwrap();
    // SAFETY: kill(2) on a child this test spawned and still owns; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let started = Instant::now();
    while provider.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(5), "Ctrl-C should stop a debug provider");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!socket.exists(), "the socket is removed");
}
