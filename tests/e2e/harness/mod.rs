//! The harness for tests that drive the real Terraform CLI: an in-process DataForest simulator on
//! loopback, a throw-away working folder whose CLI configuration points `dev_overrides` at the
//! provider binary cargo built, and commands whose failure message shows everything needed to
//! see why (command, folder, exit code, stdout, stderr).

pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dataforest_sim::{App, Simulator};
use serde_json::Value as Json;

pub const ACCESS_KEY: &str = "test-access-key";
pub const SECRET_KEY: &str = "test-secret-key-Zq8vR2";

/// A Terraform CLI under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terraform {
    V1_0_3,
    V1_15_5,
}

impl Terraform {
    pub fn version(self) -> &'static str {
        match self {
            Terraform::V1_0_3 => "1.0.3",
            Terraform::V1_15_5 => "1.15.5",
        }
    }

    /// The CLI installed by `scripts/install-terraform`. A missing CLI fails the test: the suite
    /// must never pass by skipping Terraform.
    pub fn path(self) -> PathBuf {
        let tools = std::env::var_os("TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools"));
        let path = tools.join(format!("terraform-{}/terraform", self.version()));
        assert!(
            path.is_file(),
            "Terraform {} is not installed at {}: run scripts/install-terraform (scripts/test does)",
            self.version(),
            path.display()
        );
        path
    }
}

/// Runs the test body once per Terraform version, as separate tests.
macro_rules! on_each_terraform {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn terraform_1_0_3() {
                ($body)($crate::harness::Terraform::V1_0_3)
            }
            #[test]
            fn terraform_1_15_5() {
                ($body)($crate::harness::Terraform::V1_15_5)
            }
        }
    };
}

/// A DataForest simulator served on 127.0.0.1 by its own runtime thread, over HTTP or HTTPS.
pub struct Sim {
    pub simulator: Simulator,
    pub endpoint: String,
    pub address: std::net::SocketAddr,
    /// With HTTPS: the PEM of the CA that signed the simulator's certificate.
    pub ca_pem: Option<String>,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(apps: &[&str]) -> Sim {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let simulator = Simulator::new(ACCESS_KEY, SECRET_KEY);
        for id in apps {
            simulator.put_app(App::running(id));
        }
        let address = runtime.block_on(simulator.spawn(([127, 0, 0, 1], 0).into())).unwrap();
        Sim { simulator, endpoint: format!("http://{address}"), address, ca_pem: None, _runtime: runtime }
    }

    /// The simulator over HTTPS on 127.0.0.1, with a certificate for `host_name` from a fresh CA;
    /// the endpoint names `host_name`.
    pub fn start_tls(apps: &[&str], host_name: &str) -> Sim {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let simulator = Simulator::new(ACCESS_KEY, SECRET_KEY);
        for id in apps {
            simulator.put_app(App::running(id));
        }
        let tls = dataforest_sim::tls::SimTls::generate(host_name).unwrap();
        let address = runtime.block_on(simulator.spawn_tls(([127, 0, 0, 1], 0).into(), &tls)).unwrap();
        let endpoint = format!("https://{host_name}:{}", address.port());
        Sim { simulator, endpoint, address, ca_pem: Some(tls.ca_pem), _runtime: runtime }
    }

    pub fn state_of(&self, id: &str) -> String {
        self.simulator.app(id).map(|app| app.state).unwrap_or_default()
    }

    /// Starts `app` in the simulator as soon as a kill of `trigger` arrives, as a scheduler
    /// starting apps during a teardown does.
    pub fn start_when_killed(&self, trigger: &'static str, app: App) -> std::thread::JoinHandle<()> {
        let simulator = self.simulator.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while simulator.kill_calls(trigger) == 0 {
                assert!(Instant::now() < deadline, "no kill of {trigger} arrived");
                std::thread::sleep(Duration::from_millis(2));
            }
            simulator.put_app(app);
        })
    }

    /// How many kills of any app the simulator has received.
    pub fn kills_received(&self) -> usize {
        self.simulator.calls().iter().filter(|call| call.path.ends_with("/aiapps/kill")).count()
    }
}

/// A Terraform working folder with its own home, CLI configuration and environment.
pub struct Workspace {
    pub terraform: Terraform,
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
}

impl Workspace {
    /// A folder holding `main_tf`, with credentials and the simulator's endpoint in the
    /// environment (tests about other sources remove them).
    pub fn new(terraform: Terraform, sim: &Sim, main_tf: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let provider_dir =
            Path::new(env!("CARGO_BIN_EXE_terraform-provider-ncloud")).parent().unwrap().to_path_buf();
        let cli_config = dir.path().join("terraform.rc");
        write_cli_config(&cli_config, &[("ncloud-dataforest/ncloud", &provider_dir)]);
        std::fs::create_dir(dir.path().join("home")).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        let env = BTreeMap::from(
            [
                ("TF_CLI_CONFIG_FILE", cli_config.display().to_string()),
                ("HOME", dir.path().join("home").display().to_string()),
                ("CHECKPOINT_DISABLE", "1".into()),
                ("TF_IN_AUTOMATION", "1".into()),
                ("NCLOUD_ACCESS_KEY", ACCESS_KEY.into()),
                ("NCLOUD_SECRET_KEY", SECRET_KEY.into()),
                ("NCLOUD_DATAFOREST_ENDPOINT", sim.endpoint.clone()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        let workspace = Workspace { terraform, dir, env };
        workspace.write_main(main_tf);
        workspace
    }

    /// Installs, besides this provider, the binary in `dir` as the provider `source`, through
    /// `dev_overrides` as well.
    pub fn override_provider(&self, source: &str, dir: &Path) {
        let ours = Path::new(env!("CARGO_BIN_EXE_terraform-provider-ncloud")).parent().unwrap().to_path_buf();
        write_cli_config(
            &self.dir.path().join("terraform.rc"),
            &[("ncloud-dataforest/ncloud", &ours), (source, dir)],
        );
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Writes the simulator's CA to a file and trusts it through `SSL_CERT_FILE`, as a user
    /// trusts a private gateway's CA.
    pub fn trust(&mut self, sim: &Sim) {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, sim.ca_pem.as_ref().expect("an HTTPS simulator")).unwrap();
        self.env.insert("SSL_CERT_FILE".into(), path.display().to_string());
    }

    pub fn write_main(&self, main_tf: &str) {
        let header = "terraform {\n  required_providers {\n    ncloud = { source = \"ncloud-dataforest/ncloud\" }\n  }\n}\n\n";
        std::fs::write(self.work_dir().join("main.tf"), format!("{header}{main_tf}")).unwrap();
    }

    /// Replaces the configuration with the `.tf` files of `examples/NAME`.
    pub fn use_example(&self, name: &str) {
        std::fs::remove_file(self.work_dir().join("main.tf")).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
        for entry in std::fs::read_dir(&example).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, self.work_dir().join(path.file_name().unwrap())).unwrap();
            }
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.terraform.path());
        command.args(args).current_dir(self.work_dir()).env_clear();
        // Keep only what a process needs to run; the rest of this process's environment (its own
        // TF_* or NCLOUD_* settings) must not leak into the test.
        for name in ["PATH", "TMPDIR", "LANG"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(&self.env);
        command
    }

    /// Starts Terraform in its own process group, as a shell starts a foreground job, so that
    /// [`interrupt`] reaches it and the provider it starts the way Ctrl-C does.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        use std::os::unix::process::CommandExt as _;
        let mut full: Vec<&str> = args.to_vec();
        full.push("-no-color");
        self.command(&full)
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs Terraform and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut full: Vec<&str> = args.to_vec();
        if matches!(args.first(), Some(&("apply" | "destroy" | "plan" | "validate" | "output" | "show"))) {
            full.push("-no-color");
        }
        let output = self.command(&full).output().unwrap();
        Run {
            description: format!(
                "terraform {} ({}) in {}",
                full.join(" "),
                self.terraform.version(),
                self.work_dir().display()
            ),
            output,
        }
    }

    /// Runs Terraform and fails the test unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(run.output.status.success(), "expected success: {run}");
        run
    }

    /// Runs Terraform and fails the test unless it exits non-zero.
    pub fn fails(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert!(!run.output.status.success(), "expected failure: {run}");
        run
    }

    pub fn apply(&self) -> Run {
        self.ok(&["apply", "-auto-approve", "-input=false"])
    }

    /// Runs `terraform apply` and fails the test unless it fails.
    pub fn apply_fails(&self) -> Run {
        self.fails(&["apply", "-auto-approve", "-input=false"])
    }

    /// The resources in the state file, as `address -> attributes`.
    pub fn state(&self) -> BTreeMap<String, Json> {
        let path = self.work_dir().join("terraform.tfstate");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return BTreeMap::new();
        };
        let state: Json = serde_json::from_str(&text).unwrap();
        let mut out = BTreeMap::new();
        for resource in state["resources"].as_array().into_iter().flatten() {
            let address =
                format!("{}.{}", resource["type"].as_str().unwrap(), resource["name"].as_str().unwrap());
            for instance in resource["instances"].as_array().into_iter().flatten() {
                let key = match &instance["index_key"] {
                    Json::Null => address.clone(),
                    Json::String(key) => format!("{address}[\"{key}\"]"),
                    other => format!("{address}[{other}]"),
                };
                out.insert(key, instance["attributes"].clone());
            }
        }
        out
    }

    /// The status Terraform recorded for an instance (`"tainted"`), if any.
    pub fn status(&self, address: &str) -> Option<String> {
        let state: Json = serde_json::from_str(&self.state_text()).ok()?;
        let (resource, key) = match address.split_once('[') {
            Some((resource, key)) => (resource, Some(key.trim_end_matches(']').trim_matches('"'))),
            None => (address, None),
        };
        let resource = state["resources"].as_array()?.iter().find(|r| {
            format!("{}.{}", r["type"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default())
                == resource
        })?;
        let instance = resource["instances"].as_array()?.iter().find(|i| i["index_key"].as_str() == key)?;
        instance["status"].as_str().map(str::to_string)
    }

    pub fn state_text(&self) -> String {
        std::fs::read_to_string(self.work_dir().join("terraform.tfstate")).unwrap_or_default()
    }
}

/// A CLI configuration that installs each `(source, folder)` from its folder through
/// `dev_overrides`, and everything else as usual.
fn write_cli_config(path: &Path, overrides: &[(&str, &Path)]) {
    let lines: String =
        overrides.iter().map(|(source, dir)| format!("    \"{source}\" = \"{}\"\n", dir.display())).collect();
    std::fs::write(
        path,
        format!("provider_installation {{\n  dev_overrides {{\n{lines}  }}\n  direct {{}}\n}}\n"),
    )
    .unwrap();
}

/// Waits until `condition` holds, looking every 20 ms, to order a test's steps by what can be
/// observed; fails the test, naming `what`, after 30 s (Terraform can take a while to start), so
/// a bug cannot hang the suite.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGINT to the process group led by `child`, as Ctrl-C in a terminal does.
pub fn interrupt(child: &std::process::Child) {
    let group = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: killpg(2) on the group of a child this test spawned and still owns; no memory is involved.
    assert_eq!(unsafe { libc::killpg(group, libc::SIGINT) }, 0);
}

pub struct Run {
    pub description: String,
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// stdout and stderr together, for looking for a message wherever Terraform put it.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Fails unless `needle` is in the output; Terraform wraps long lines, so runs of white space
    /// count as one space on both sides.
    pub fn assert_contains(&self, needle: &str) -> &Run {
        let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squash(&self.all()).contains(&squash(needle)), "expected {needle:?} in the output: {self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.description,
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
}
