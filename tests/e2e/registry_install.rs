//! Installing from a registry, as users do: `scripts/release` signs the release with a throwaway
//! GnuPG key; a provider registry served over HTTPS on loopback (service discovery, the versions
//! list, and the download answer with the sums, their signature and the signing key) gives it to
//! plain `terraform init` with the source `localhost:PORT/ncloud-dataforest/ncloud`, trusting the
//! test CA through `SSL_CERT_FILE`. Init verifies the signature and locks the zip's `zh:` hash and
//! the package's `h1:` hash; a tampered signature or zip makes it fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{self, Sim, Workspace};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-ncloud");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "terraform-provider-ncloud";

/// A signed release, made once for every test in this file.
struct Release {
    dir: tempfile::TempDir,
    dist: PathBuf,
    fingerprint: String,
}

impl Release {
    fn file(&self, suffix: &str) -> Vec<u8> {
        std::fs::read(self.dist.join(format!("{NAME}_{VERSION}_{suffix}"))).unwrap()
    }
}

fn gpg(home: &Path, args: &[&str]) -> String {
    let output = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--no-tty"])
        .args(args)
        .output()
        .expect("gpg is needed to sign the test release (.ci/run installs gnupg)");
    assert!(output.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A throwaway GnuPG home. Dropped (once the release is signed, or when making it panics), it stops
/// the gpg-agent that gpg started for it and removes it, so no agent outlives the tests.
struct GnupgHome(PathBuf);

impl GnupgHome {
    fn new(path: PathBuf) -> GnupgHome {
        std::fs::create_dir(&path).unwrap();
        // Dropped from here on, even if setting the mode fails.
        let home = GnupgHome(path);
        std::fs::set_permissions(&home.0, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        home
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let gpgconf = |args: &[&str]| {
            Command::new("gpgconf")
                .args(args)
                .env("GNUPGHOME", &self.0)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
        };
        let _ = gpgconf(&["--kill", "gpg-agent"]);
        // Where the agent's sockets were in a folder of their own under /run/user.
        let _ = gpgconf(&["--remove-socketdir"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `scripts/release` on the test binary into `dist`, with `env` set.
fn run_release(dist: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release");
    let mut command = Command::new(script);
    command.args(["--binary", BINARY, "--dist"]).arg(dist).env_remove("RELEASE_GPG_FINGERPRINT");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

static RELEASE: OnceLock<Release> = OnceLock::new();

/// Removes the release's folder as the test process exits, since a static is never dropped.
extern "C" fn remove_release() {
    if let Some(release) = RELEASE.get() {
        let _ = std::fs::remove_dir_all(release.dir.path());
    }
}

fn release() -> &'static Release {
    RELEASE.get_or_init(|| {
        // Under target/, and removed at exit (or by `cargo clean`, should the process be killed).
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        // SAFETY: atexit has no precondition; `remove_release` only reads the static and removes files.
        unsafe { libc::atexit(remove_release) };
        let gnupg = GnupgHome::new(dir.path().join("gnupg"));
        let home = gnupg.0.clone();
        // RSA: Terraform 1.0's OpenPGP code cannot verify EdDSA.
        gpg(
            &home,
            &[
                "--passphrase",
                "",
                "--quick-gen-key",
                "Release Test <release@example.invalid>",
                "rsa2048",
                "sign",
                "never",
            ],
        );
        let listing = gpg(&home, &["--with-colons", "--list-secret-keys"]);
        let fingerprint = listing
            .lines()
            .find_map(|line| line.strip_prefix("fpr:").map(|rest| rest.trim_matches(':').to_string()))
            .expect("a fingerprint");
        let dist = dir.path().join("dist");
        let signed =
            run_release(&dist, &[("RELEASE_GPG_FINGERPRINT", Path::new(&fingerprint)), ("GNUPGHOME", &home)]);
        // The key has done its work: stop the agent gpg started, and drop the keyring.
        drop(gnupg);
        assert!(
            signed.status.success(),
            "scripts/release failed: {}",
            String::from_utf8_lossy(&signed.stderr)
        );
        Release { dir, dist, fingerprint }
    })
}

/// A change to one file of the release, named by its suffix.
type Tamper = (&'static str, fn(&mut Vec<u8>));

/// A provider registry on loopback over HTTPS, serving `files` (name -> bytes) for one version.
struct Registry {
    address: SocketAddr,
    ca_pem: String,
    requests: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Registry {
    fn start(files: BTreeMap<String, Vec<u8>>, shasum: String, key: String) -> Registry {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let tls = dataforest_sim::tls::SimTls::generate("localhost").unwrap();
        let mut config = (*tls.config).clone();
        config.alpn_protocols.clear(); // HTTP/1.1 only: this server speaks nothing else
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        let base = format!("https://localhost:{}", address.port());
        let zip = format!("{NAME}_{VERSION}_linux_amd64.zip");
        let mut routes: BTreeMap<String, Vec<u8>> =
            files.into_iter().map(|(name, bytes)| (format!("/files/{name}"), bytes)).collect();
        routes
            .insert("/.well-known/terraform.json".into(), br#"{"providers.v1": "/v1/providers/"}"#.to_vec());
        let provider = "/v1/providers/ncloud-dataforest/ncloud";
        let versions = serde_json::json!({"versions": [{"version": VERSION, "protocols": ["6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]}]});
        routes.insert(format!("{provider}/versions"), versions.to_string().into_bytes());
        let key_id = release().fingerprint[release().fingerprint.len() - 16..].to_string();
        let download = serde_json::json!({
            "protocols": ["6.0"], "os": "linux", "arch": "amd64", "filename": zip,
            "download_url": format!("{base}/files/{zip}"),
            "shasums_url": format!("{base}/files/{NAME}_{VERSION}_SHA256SUMS"),
            "shasums_signature_url": format!("{base}/files/{NAME}_{VERSION}_SHA256SUMS.sig"),
            "shasum": shasum,
            "signing_keys": {"gpg_public_keys": [{"key_id": key_id, "ascii_armor": key, "trust_signature": "", "source": "test", "source_url": null}]},
        });
        routes
            .insert(format!("{provider}/{VERSION}/download/linux/amd64"), download.to_string().into_bytes());
        let (routes, requests) = (Arc::new(routes), Arc::new(Mutex::new(Vec::new())));
        let seen = Arc::clone(&requests);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, routes, seen) = (acceptor.clone(), Arc::clone(&routes), Arc::clone(&seen));
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(stream).await else { return };
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
                    seen.lock().unwrap().push(path.clone());
                    let (status, body) = match routes.get(&path) {
                        Some(body) => ("200 OK", body.clone()),
                        None => ("404 Not Found", b"{}".to_vec()),
                    };
                    let kind = if path.starts_with("/files/") { "application/octet-stream" } else { "application/json" };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Registry { address, ca_pem: tls.ca_pem, requests, _runtime: runtime }
    }

    /// The release as `scripts/release` wrote it, with `tamper` applied to the file named by its
    /// suffix, if any.
    fn serving(tamper: Option<Tamper>) -> Registry {
        let release = release();
        let mut files = BTreeMap::new();
        for suffix in ["linux_amd64.zip", "SHA256SUMS", "SHA256SUMS.sig"] {
            let mut bytes = release.file(suffix);
            if let Some((target, change)) = tamper
                && target == suffix
            {
                change(&mut bytes);
            }
            files.insert(format!("{NAME}_{VERSION}_{suffix}"), bytes);
        }
        let shasum = format!("{:x}", Sha256::digest(release.file("linux_amd64.zip")));
        let key = String::from_utf8(release.file("signing_key.asc")).unwrap();
        Registry::start(files, shasum, key)
    }

    fn source(&self) -> String {
        format!("localhost:{}/ncloud-dataforest/ncloud", self.address.port())
    }
}

/// A workspace that requires the provider from `registry`, trusting its CA, with no
/// `dev_overrides`.
fn workspace(terraform: harness::Terraform, sim: &Sim, registry: &Registry) -> Workspace {
    let mut workspace = Workspace::new(terraform, sim, "");
    let main = format!(
        "terraform {{\n  required_providers {{\n    ncloud = {{\n      source  = \"{}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n\
         resource \"ncloud_dataforest_aiapp_kill\" \"job\" {{ app_id = \"Reg01\" }}\n",
        registry.source()
    );
    std::fs::write(workspace.work_dir().join("main.tf"), main).unwrap();
    let ca = workspace.dir.path().join("registry-ca.pem");
    std::fs::write(&ca, &registry.ca_pem).unwrap();
    workspace.env.insert("SSL_CERT_FILE".into(), ca.display().to_string());
    let cli_config = workspace.dir.path().join("plain.rc");
    std::fs::write(&cli_config, "").unwrap();
    workspace.env.insert("TF_CLI_CONFIG_FILE".into(), cli_config.display().to_string());
    workspace
}

/// Terraform's `h1:` package hash of the release zip, which holds one file.
fn h1_of_release() -> String {
    let contents = std::fs::read(BINARY).unwrap();
    let line = format!("{:x}  {NAME}_v{VERSION}\n", Sha256::digest(&contents));
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line.as_bytes()))
}

on_each_terraform!(init_installs_a_signed_release_from_a_registry, |terraform| {
    let sim = Sim::start(&["Reg01"]);
    let registry = Registry::serving(None);
    let workspace = workspace(terraform, &sim, &registry);
    let init = workspace.ok(&["init", "-input=false", "-no-color"]);
    let fingerprint = &release().fingerprint;
    init.assert_contains(&format!("Installed {} v{VERSION}", registry.source()))
        .assert_contains(&format!("key ID {}", &fingerprint[fingerprint.len() - 16..]));
    let requests = registry.requests.lock().unwrap().clone();
    assert!(
        requests.iter().any(|path| path.ends_with(".sig")),
        "the signature was not fetched: {requests:?}"
    );

    let lock = std::fs::read_to_string(workspace.work_dir().join(".terraform.lock.hcl")).unwrap();
    let zip_sha = format!("{:x}", Sha256::digest(release().file("linux_amd64.zip")));
    assert!(lock.contains(&format!("\"zh:{zip_sha}\"")), "the zip's hash is locked: {lock}");
    assert!(lock.contains(&format!("\"h1:{}\"", h1_of_release())), "the package's hash is locked: {lock}");

    workspace.apply();
    assert_eq!(sim.state_of("Reg01"), "KILLED");
});

on_each_terraform!(init_refuses_a_tampered_signature_or_zip, |terraform| {
    let sim = Sim::start(&[]);
    let flip_last: fn(&mut Vec<u8>) = |bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
    };
    for (target, expected) in [("SHA256SUMS.sig", "signature"), ("linux_amd64.zip", "checksum")] {
        let registry = Registry::serving(Some((target, flip_last)));
        let workspace = workspace(terraform, &sim, &registry);
        let init = workspace.fails(&["init", "-input=false", "-no-color"]);
        assert!(init.all().to_lowercase().contains(expected), "tampered {target}: {init}");
        assert!(
            !workspace.work_dir().join(".terraform.lock.hcl").exists(),
            "tampered {target}: nothing is locked"
        );
    }
});

#[test]
fn the_release_script_refuses_a_bad_fingerprint_and_leaves_no_stale_signature() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dist = dir.path().join("dist");
    let bad = run_release(&dist, &[("RELEASE_GPG_FINGERPRINT", Path::new("not-a-fingerprint"))]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(stderr.contains("40 or 64 hex digits") && !stderr.contains("Traceback"), "{stderr}");

    // A well-formed fingerprint of a key the keyring does not hold: gpg's failure as one line.
    let gnupg = GnupgHome::new(dir.path().join("gnupg"));
    let missing = run_release(
        &dist,
        &[
            ("RELEASE_GPG_FINGERPRINT", Path::new("0123 4567 89AB CDEF 0123  4567 89ab cdef 0123 4567")),
            ("GNUPGHOME", &gnupg.0),
        ],
    );
    drop(gnupg);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("release: gpg failed")
            && stderr.contains("0123456789ABCDEF0123456789ABCDEF01234567")
            && !stderr.contains("Traceback"),
        "{stderr}"
    );

    let stale = [
        dist.join(format!("{NAME}_{VERSION}_SHA256SUMS.sig")),
        dist.join(format!("{NAME}_{VERSION}_signing_key.asc")),
    ];
    for path in &stale {
        std::fs::write(path, "from an earlier release").unwrap();
    }
    let unsigned = run_release(&dist, &[]);
    assert!(unsigned.status.success(), "{}", String::from_utf8_lossy(&unsigned.stderr));
    assert!(String::from_utf8_lossy(&unsigned.stderr).contains("unsigned"));
    for path in &stale {
        assert!(!path.exists(), "{} of earlier sums was left beside the new ones", path.display());
    }
}
