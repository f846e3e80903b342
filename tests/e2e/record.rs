//! Under real Terraform: what a run did is never lost. A wait uses its whole time-out; a bulk
//! wait that runs out counts the kills DataForest accepted as killed and keeps them in state; the
//! audit log has a line for every kill outcome (create, partial failure, the replacement that
//! follows, a destroy hook's destroy, the action's dry run and its interrupted run), one that
//! cannot be opened fails before any kill, and two provider processes writing to one log at once
//! leave every line whole; Ctrl-C during the bulk action neither crashes Terraform 1.15.5 nor
//! leaves the provider running.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault};
use serde_json::Value as Json;

use crate::harness::{self, Sim, Terraform, Workspace};

fn app(id: &str, name: &str) -> App {
    App { account_id: "acc1".into(), name: name.into(), ..App::running(id) }
}

/// Points the provider's audit log at `path`, through its environment variable.
fn log_to(workspace: &mut Workspace, path: &Path) {
    workspace.env.insert("NCLOUD_DATAFOREST_AUDIT_LOG".into(), path.display().to_string());
}

/// An audit log in the workspace's folder, set for the provider.
fn audit_log_of(workspace: &mut Workspace) -> PathBuf {
    let log = workspace.dir.path().join("audit.jsonl");
    log_to(workspace, &log);
    log
}

/// The audit log's lines, each parsed: a line that is not one whole JSON object fails the test.
fn audit_lines(path: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}\nin:\n{text}"))
        })
        .collect()
}

/// `(app_id, phase, outcome)` of each outcome line (each but the `sending` lines), sorted.
fn outcomes(lines: &[Json]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = lines
        .iter()
        .filter(|line| line["outcome"] != "sending")
        .map(|line| {
            let text = |field: &str| line[field].as_str().unwrap_or("null").to_string();
            (text("app_id"), text("phase"), text("outcome"))
        })
        .collect();
    out.sort();
    out
}

/// Checks that each kill sent (an outcome of `killed`, `failed`, `already_ended` or `gone`) has a
/// `sending` line of its run and app before its outcome, and answers the ids of the `sending`
/// lines.
fn written_ahead(lines: &[Json]) -> Vec<String> {
    let key = |line: &Json| (line["run_id"].to_string(), line["app_id"].to_string());
    let mut sending = std::collections::BTreeSet::new();
    for line in lines {
        match line["outcome"].as_str() {
            Some("sending") => {
                sending.insert(key(line));
            }
            Some("killed" | "failed" | "already_ended" | "gone") => {
                assert!(sending.contains(&key(line)), "no sending line before {line}");
            }
            _ => {}
        }
    }
    let mut ids: Vec<String> =
        sending.into_iter().map(|(_, app)| app.trim_matches('"').to_string()).collect();
    ids.sort();
    ids
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> =
        items.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    out.sort();
    out
}

on_each_terraform!(a_wait_uses_its_whole_time_out, |terraform| {
    let sim = Sim::start(&["Slow1"]);
    sim.simulator.set_kill_duration(Duration::from_secs(600));
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id               = "Slow1"
  wait_for_termination = true
  timeouts {
    create = "6s"
  }
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let started = Instant::now();
    let failed = workspace.apply_fails();
    let took = started.elapsed();
    failed.assert_contains("App still running").assert_contains("when the time-out of 6s ran out (");
    let text = failed.all().replace('\n', " ");
    let spent: f64 = text
        .split("ran out (")
        .nth(1)
        .and_then(|rest| rest.split(" s after").next())
        .and_then(|number| number.trim().parse().ok())
        .unwrap_or_else(|| panic!("no time spent in: {failed}"));
    assert!((5.5..9.0).contains(&spent), "the wait gave up after {spent} s of 6: {failed}");
    assert!(took >= Duration::from_millis(5500), "the apply failed after {took:?}");
});

on_each_terraform!(a_bulk_wait_that_runs_out_counts_accepted_kills_as_killed_and_keeps_them, |terraform| {
    let sim = Sim::start(&[]);
    for n in 1..=8 {
        sim.simulator.put_app(app(&format!("Wait{n}"), &format!("wait-{n}")));
    }
    sim.simulator.set_kill_duration(Duration::from_secs(600));
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id           = "acc1"
  name_regex           = "^wait-"
  wait_for_termination = true
  timeouts {
    create = "4s"
  }
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let failed = workspace.apply_fails();
    failed
        .assert_contains("Of the 8 selected apps: 8 killed (8 of them not seen ending).")
        .assert_contains("Killed: Wait1 (wait-1), Wait2 (wait-2)")
        .assert_contains("Killed, but not seen ending:")
        .assert_contains(
            "DataForest accepted the kill of AI app Wait1 (wait-1), but the app was still RUNNING",
        );
    assert!(!failed.all().contains("none was killed"), "{failed}");
    let address = "ncloud_dataforest_aiapps_kill.jobs";
    let killed = workspace.state()[address]["killed"].clone();
    assert_eq!(killed.as_array().map(Vec::len), Some(8), "{}", workspace.state_text());
    assert_eq!(killed[0]["success"], true);
    assert_eq!(killed[0]["state"], "RUNNING", "the state the wait last read: {killed}");
    assert_eq!(workspace.status(address).as_deref(), Some("tainted"));
});

on_each_terraform!(the_audit_log_records_every_kill_and_an_unwritable_one_kills_nothing, |terraform| {
    let sim = Sim::start(&[]);
    for (id, name) in [("Job1", "job-1"), ("Job2", "job-2"), ("Job3", "job-3")] {
        sim.simulator.put_app(app(id, name));
    }
    sim.simulator.fail_kills("Job3", [Fault::Status(403)]);
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id = "acc1"
  name_regex = "^job-"
}

resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id = "acc1"
  name_regex = "^late-"
  when       = "destroy"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    // A log that cannot be opened: nothing is killed.
    let missing = workspace.dir.path().join("no-such-folder/audit.jsonl");
    log_to(&mut workspace, &missing);
    workspace.apply_fails().assert_contains("Audit log unwritable").assert_contains("Nothing was killed");
    assert_eq!(sim.kills_received(), 0);
    assert!(workspace.state().is_empty(), "{}", workspace.state_text());

    let log = audit_log_of(&mut workspace);
    // A partial failure at create: two killed, one refused.
    workspace.apply_fails().assert_contains("Of the 3 selected apps: 2 killed, 1 failed.");
    let lines = audit_lines(&log);
    assert_eq!(
        outcomes(&lines),
        triples(&[("Job1", "create", "killed"), ("Job2", "create", "killed"), ("Job3", "create", "failed")])
    );
    assert_eq!(written_ahead(&lines), ["Job1", "Job2", "Job3"]);
    let ahead = lines.iter().find(|line| line["outcome"] == "sending").unwrap();
    assert_eq!(
        (&ahead["entry_point"], &ahead["account"]),
        (&Json::from("ncloud_dataforest_aiapps_kill"), &Json::from("acc1"))
    );
    let refused = lines.iter().find(|line| line["app_id"] == "Job3" && line["outcome"] != "sending").unwrap();
    assert_eq!(refused["http_status"], 403, "{refused}");
    assert_eq!(refused["attempts"], 1, "{refused}");
    assert_eq!(refused["entry_point"], "ncloud_dataforest_aiapps_kill");
    assert_eq!(refused["account"], "acc1");
    // The account the listing gave for the app, beside the one asked for.
    assert_eq!(
        (&refused["listed_account_id"], &refused["listed_account_name"]),
        (&Json::from("acc1"), &Json::from("df-account"))
    );
    assert_eq!(refused["app_name"], "job-3");
    assert!(refused["error"].as_str().is_some_and(|error| error.contains("Job3 (job-3)")), "{refused}");
    let killed = lines.iter().find(|line| line["app_id"] == "Job1" && line["outcome"] != "sending").unwrap();
    assert_eq!(
        (killed["http_status"].as_u64(), killed["message"].as_str()),
        (Some(200), Some("kill requested"))
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);

    // The replacement of the tainted resource kills the one left.
    sim.simulator.fail_kills("Job3", []);
    workspace.apply();
    // The destroy hook's destroy takes the apps started since.
    for (id, name) in [("Late1", "late-1"), ("Late2", "late-2")] {
        sim.simulator.put_app(app(id, name));
    }
    workspace
        .ok(&["destroy", "-auto-approve", "-input=false"])
        .assert_contains("Destroy killed 2 app(s) of account \"acc1\"")
        .assert_contains(&format!("The audit log {:?} has a line for each", log.display().to_string()));
    let lines = audit_lines(&log);
    assert_eq!(
        outcomes(&lines),
        triples(&[
            ("Job1", "create", "killed"),
            ("Job2", "create", "killed"),
            ("Job3", "create", "failed"),
            ("Job3", "create", "killed"),
            ("Late1", "destroy", "killed"),
            ("Late2", "destroy", "killed"),
        ])
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(harness::SECRET_KEY) && !text.contains(harness::ACCESS_KEY), "{text}");
});

on_each_terraform!(the_audit_log_records_single_kills_and_a_kill_reused_within_a_run, |terraform| {
    let sim = Sim::start(&[]);
    for (id, name) in [("One1", "one-1"), ("Hook1", "hook-1")] {
        sim.simulator.put_app(app(id, name));
    }
    // The single kill and the bulk kill take One1 in the same run: one kill is sent, and the
    // other reuses its answer.
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "one" {
  app_id = "One1"
}

resource "ncloud_dataforest_aiapps_kill" "all" {
  account_id = "acc1"
  name_regex = "^one-"
  # Selected whether the single kill has ended it yet or not.
  states = ["RUNNING", "KILLED"]
}

resource "ncloud_dataforest_aiapp_kill" "hook" {
  app_id = "Hook1"
  when   = "destroy"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    let log = audit_log_of(&mut workspace);
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("One1"), 1);
    let lines = audit_lines(&log);
    let mut entry_points: Vec<(String, String)> = lines
        .iter()
        .filter(|line| line["outcome"] != "sending")
        .map(|line| {
            (line["entry_point"].as_str().unwrap().to_string(), line["outcome"].as_str().unwrap().to_string())
        })
        .collect();
    entry_points.sort();
    let killed_by_one = entry_points.contains(&("ncloud_dataforest_aiapp_kill".into(), "killed".into()));
    let expected = if killed_by_one {
        [("ncloud_dataforest_aiapp_kill", "killed"), ("ncloud_dataforest_aiapps_kill", "reused")]
    } else {
        [("ncloud_dataforest_aiapp_kill", "reused"), ("ncloud_dataforest_aiapps_kill", "killed")]
    };
    let expected: Vec<(String, String)> =
        expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(entry_points, expected, "{lines:?}");
    let reused = lines.iter().find(|line| line["outcome"] == "reused").unwrap();
    assert_eq!((reused["app_id"].as_str(), reused["attempts"].as_u64()), (Some("One1"), Some(0)), "{reused}");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    let lines = audit_lines(&log);
    let hook = lines
        .iter()
        .find(|line| line["app_id"] == "Hook1" && line["outcome"] != "sending")
        .expect("the destroy hook's kill");
    assert_eq!(
        (hook["phase"].as_str(), hook["outcome"].as_str()),
        (Some("destroy"), Some("killed")),
        "{hook}"
    );
    assert_eq!(hook["entry_point"], "ncloud_dataforest_aiapp_kill");
    // One kill of One1 sent (its line written ahead), its answer reused; the hook's kill.
    assert_eq!(written_ahead(&lines), ["Hook1", "One1"]);
    assert_eq!(lines.len(), 5, "{lines:?}");
});

/// Runs Terraform with `args`, it and the provider it starts limited to files of `limit` bytes
/// (RLIMIT_FSIZE): a disk that fills, without mounting one.
fn run_limited(workspace: &Workspace, args: &[&str], limit: u64) -> harness::Run {
    use std::os::unix::process::CommandExt as _;
    let mut full: Vec<&str> = args.to_vec();
    full.push("-no-color");
    let mut command = workspace.command(&full);
    // SAFETY: setrlimit(2) only, between fork and exec, on the child's own limits.
    unsafe {
        command.pre_exec(move || {
            let bound = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            match libc::setrlimit(libc::RLIMIT_FSIZE, &bound) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let output = command.output().unwrap();
    harness::Run { description: format!("terraform {} limited to {limit} bytes", full.join(" ")), output }
}

/// Fills `path` with one whole line, `room` bytes short of `limit`.
fn fill_to(path: &Path, limit: u64, room: u64) {
    let size = usize::try_from(limit - room).unwrap();
    let line = format!("{{\"padding\":\"{}\"}}\n", "p".repeat(size - 15));
    assert_eq!(line.len(), size);
    std::fs::write(path, line).unwrap();
}

on_each_terraform!(
    a_log_that_fills_mid_run_keeps_a_line_for_every_kill_sent_and_fails_the_run,
    |terraform| {
        let sim = Sim::start(&[]);
        for n in 1..=6 {
            sim.simulator.put_app(app(&format!("Full{n}"), &format!("full-{n}")));
        }
        let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id  = "acc1"
  name_regex  = "^full-"
  concurrency = 1
}
"#;
        let mut workspace = Workspace::new(terraform, &sim, config);
        let log = audit_log_of(&mut workspace);
        // Room for about three lines, then the disk is full.
        const LIMIT: u64 = 64 * 1024;
        fill_to(&log, LIMIT, 1600);
        let run = run_limited(&workspace, &["apply", "-auto-approve", "-input=false"], LIMIT);
        assert!(!run.output.status.success(), "{run}");
        run.assert_contains("Audit log");
        let received = sim.kills_received();
        assert!((1..6).contains(&received), "some kills, not all: {received}: {run}");
        // Every line in the file is whole, and every kill DataForest received has its line.
        let lines = audit_lines(&log);
        let ahead = written_ahead(&lines);
        let sent: Vec<String> =
            (1..=6).map(|n| format!("Full{n}")).filter(|id| sim.simulator.kill_calls(id) > 0).collect();
        assert_eq!(sent.len(), received);
        for id in &sent {
            assert!(ahead.contains(id), "{id} was killed without its line: {lines:?}");
        }
        // The next run with room again starts on a fresh line, and takes the rest.
        workspace.apply();
        let lines = audit_lines(&log);
        assert_eq!(written_ahead(&lines).len(), 6, "{lines:?}");
    }
);

on_each_terraform!(single_kills_with_a_log_that_cannot_take_a_line_kill_nothing, |terraform| {
    let sim = Sim::start(&[]);
    for n in 1..=4 {
        sim.simulator.put_app(app(&format!("Each{n}"), &format!("each-{n}")));
    }
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "each" {
  for_each = toset(["Each1", "Each2", "Each3", "Each4"])
  app_id   = each.value
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    let log = audit_log_of(&mut workspace);
    const LIMIT: u64 = 16 * 1024;
    fill_to(&log, LIMIT, 0);
    let run = run_limited(&workspace, &["apply", "-auto-approve", "-input=false"], LIMIT);
    assert!(!run.output.status.success(), "{run}");
    run.assert_contains("Audit log failed");
    assert_eq!(sim.kills_received(), 0, "no kill without its line: {run}");
    assert!(workspace.state().is_empty(), "{}", workspace.state_text());
    assert_eq!(std::fs::metadata(&log).unwrap().len(), LIMIT, "nothing half-written");
    audit_lines(&log);
});

on_each_terraform!(a_log_that_is_no_regular_file_is_refused_before_any_kill, |terraform| {
    let sim = Sim::start(&["Dev1"]);
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "one" {
  app_id = "Dev1"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    let fifo = workspace.dir.path().join("audit.fifo");
    let name = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: mkfifo(3) on a path this test owns.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let folder = workspace.dir.path().to_path_buf();
    for (path, what) in [
        (Path::new("/dev/null"), "a character device"),
        (Path::new("/dev/full"), "a character device"),
        (folder.as_path(), "a directory"),
        (fifo.as_path(), "a FIFO"),
    ] {
        log_to(&mut workspace, path);
        // Refused when the provider is configured: at plan already, which opens no log.
        workspace
            .fails(&["plan", "-input=false"])
            .assert_contains("Audit log unwritable")
            .assert_contains(&format!("is {what}, not a regular file"));
        workspace.apply_fails().assert_contains("Audit log unwritable");
    }
    assert_eq!(sim.kills_received(), 0);
});

#[test]
fn a_log_ending_in_half_a_line_gets_whole_lines_after_it() {
    let sim = Sim::start(&[]);
    sim.simulator.put_app(app("Half1", "half-1"));
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "one" {
  app_id = "Half1"
}
"#;
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let log = audit_log_of(&mut workspace);
    std::fs::write(&log, "{\"app_id\":\"Old1\",\"outcome\":\"killed\"}\n{\"app_id\":\"Old2\",\"outc")
        .unwrap();
    workspace.apply();
    let text = std::fs::read_to_string(&log).unwrap();
    let after: Vec<Json> = text.lines().skip(2).map(|line| serde_json::from_str(line).expect(line)).collect();
    assert_eq!(outcomes(&after), triples(&[("Half1", "create", "killed")]), "{text}");
    assert!(
        text.lines().nth(1).is_some_and(|line| line.ends_with("\"outc")),
        "the half line stays apart: {text}"
    );
}

/// Whether a provider process started for `workspace` is still running (its environment names
/// the workspace's home).
fn provider_running_for(workspace: &Workspace) -> bool {
    let home = format!("HOME={}", workspace.home().display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let exe = std::fs::read_link(path.join("exe")).unwrap_or_default();
        let environ = std::fs::read(path.join("environ")).unwrap_or_default();
        exe.file_name().is_some_and(|name| name == "terraform-provider-ncloud")
            && environ.split(|byte| *byte == 0).any(|variable| variable == home.as_bytes())
    })
}

#[test]
fn the_bulk_action_logs_its_dry_run_and_ctrl_c_neither_crashes_terraform_nor_leaves_the_provider() {
    let sim = Sim::start(&[]);
    for (id, name) in [("Act1", "act-1"), ("Act2", "act-2"), ("Act3", "act-3")] {
        sim.simulator.put_app(app(id, name));
        sim.simulator.fail_kills(id, [Fault::Hang]);
    }
    let action = |dry_run: bool| {
        format!(
            r#"
action "ncloud_dataforest_aiapps_kill" "sweep" {{
  config {{
    account_id  = "acc1"
    name_regex  = "^act-"
    concurrency = 3
    dry_run     = {dry_run}
  }}
}}
"#
        )
    };
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, &action(true));
    let log = audit_log_of(&mut workspace);
    let invoke =
        ["apply", "-auto-approve", "-input=false", "-invoke=action.ncloud_dataforest_aiapps_kill.sweep"];
    workspace.ok(&invoke).assert_contains("Would kill Act1 (act-1)");
    assert_eq!(
        outcomes(&audit_lines(&log)),
        triples(&[
            ("Act1", "invoke", "would_kill"),
            ("Act2", "invoke", "would_kill"),
            ("Act3", "invoke", "would_kill")
        ])
    );
    assert_eq!(sim.kills_received(), 0);

    workspace.write_main(&action(false));
    let child = workspace.spawn(&invoke);
    harness::wait_until("the three kills to be in flight", || sim.simulator.kills_in_flight() == 3);
    harness::interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let run = harness::Run { description: "interrupted bulk action (1.15.5)".into(), output };
    assert!(!run.output.status.success(), "{run}");
    assert!(!run.all().contains("panic"), "Terraform crashed: {run}");
    run.assert_contains("DataForest kills failed").assert_contains("3 failed");
    let stopped = Instant::now();
    while provider_running_for(&workspace) {
        assert!(stopped.elapsed() < Duration::from_secs(5), "the provider outlived Terraform: {run}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = audit_lines(&log);
    written_ahead(&lines);
    let interrupted: Vec<&Json> = lines.iter().filter(|line| line["outcome"] == "failed").collect();
    assert_eq!(interrupted.len(), 3, "{lines:?}");
    // Cut off in flight: how many attempts went out is not known, so it is not said.
    assert!(interrupted.iter().all(|line| line["attempts"].is_null()), "{interrupted:?}");
    assert!(
        interrupted
            .iter()
            .all(|line| line["error"].as_str().unwrap_or_default().contains("provider was stopped")),
        "{interrupted:?}"
    );
}

#[test]
fn two_provider_processes_appending_to_one_log_leave_every_line_whole() {
    let sim = Sim::start(&[]);
    // Long names make long lines. A write in pieces interleaves rarely across processes, so the
    // unit test in audit.rs is what shows it; this one shows two real runs writing at once.
    let padding = "x".repeat(3000);
    for side in ["a", "b"] {
        for n in 1..=60 {
            sim.simulator
                .put_app(app(&format!("{}{n:03}", side.to_uppercase()), &format!("{side}-{n}-{padding}")));
        }
    }
    let config = |side: &str| {
        format!(
            r#"
resource "ncloud_dataforest_aiapps_kill" "side" {{
  account_id  = "acc1"
  name_regex  = "^{side}-"
  max_apps    = 100
  concurrency = 4
}}
"#
        )
    };
    // Each kill takes a while, so that the two runs kill at the same time.
    sim.simulator.set_latency(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let workspaces: Vec<Workspace> = ["a", "b"]
        .into_iter()
        .map(|side| {
            let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, &config(side));
            log_to(&mut workspace, &log);
            workspace
        })
        .collect();
    let children: Vec<_> = workspaces
        .iter()
        .map(|workspace| workspace.spawn(&["apply", "-auto-approve", "-input=false"]))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let run = harness::Run { description: "concurrent apply".into(), output };
        assert!(run.output.status.success(), "{run}");
    }
    let lines = audit_lines(&log);
    assert_eq!(written_ahead(&lines).len(), 120);
    let lines: Vec<Json> = lines.into_iter().filter(|line| line["outcome"] != "sending").collect();
    assert_eq!(lines.len(), 120);
    let mut pids: Vec<u64> = lines.iter().filter_map(|line| line["pid"].as_u64()).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 2, "two processes wrote");
    assert!(lines.iter().all(|line| line["outcome"] == "killed"));
    // They wrote at the same time: the file switches between them more than once.
    let switches = lines.windows(2).filter(|pair| pair[0]["pid"] != pair[1]["pid"]).count();
    assert!(switches > 2, "the runs did not overlap ({switches} switches): the test proves nothing");
}

#[test]
fn a_provider_left_by_a_killed_terraform_stops_its_kills_records_them_and_exits() {
    let sim = Sim::start(&[]);
    for (id, name) in [("Orph1", "orph-1"), ("Orph2", "orph-2")] {
        sim.simulator.put_app(app(id, name));
        sim.simulator.fail_kills(id, [Fault::Hang]);
    }
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id = "acc1"
  name_regex = "^orph-"
}
"#;
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let log = audit_log_of(&mut workspace);
    let mut terraform = workspace.spawn(&["apply", "-auto-approve", "-input=false"]);
    harness::wait_until("both kills to be in flight", || sim.simulator.kills_in_flight() == 2);
    // Terraform dies without a word (a crash, `kill -9`).
    terraform.kill().unwrap();
    terraform.wait().unwrap();
    let killed = Instant::now();
    while provider_running_for(&workspace) {
        assert!(killed.elapsed() < Duration::from_secs(2), "the provider outlived Terraform by 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its kills in flight were stopped, as Ctrl-C stops them, and recorded before it went.
    let lines = audit_lines(&log);
    assert_eq!(outcomes(&lines), triples(&[("Orph1", "create", "failed"), ("Orph2", "create", "failed")]));
    assert!(
        lines
            .iter()
            .filter(|line| line["outcome"] != "sending")
            .all(|line| line["error"].as_str().unwrap_or_default().contains("provider was stopped")),
        "{lines:?}"
    );
}

/// Waits (at most 2 s) until every kill the simulator received for `ids` has an outcome line in
/// `log` after its `sending` line, and the provider started for `workspace` has exited.
fn every_kill_received_recorded(sim: &Sim, workspace: &Workspace, log: &Path, ids: &[&str]) -> Vec<Json> {
    let since = Instant::now();
    loop {
        let lines = audit_lines(log);
        let recorded: Vec<String> = outcomes(&lines).into_iter().map(|(id, _, _)| id).collect();
        let received: Vec<&str> = ids.iter().copied().filter(|id| sim.simulator.kill_calls(id) > 0).collect();
        let all = received.iter().all(|id| recorded.iter().any(|line| line == id));
        if all && !provider_running_for(workspace) {
            assert!(!received.is_empty(), "no kill was received: the test proves nothing");
            written_ahead(&lines);
            return lines;
        }
        assert!(
            since.elapsed() < Duration::from_secs(2),
            "after 2 s, kills {received:?} recorded {recorded:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bulk_action_whose_terraform_is_killed_records_every_kill_it_sent() {
    let sim = Sim::start(&[]);
    let ids = ["Kil1", "Kil2", "Kil3"];
    for id in ids {
        sim.simulator.put_app(app(id, &format!("kil-{id}")));
        sim.simulator.fail_kills(id, [Fault::Hang]);
    }
    let config = r#"
action "ncloud_dataforest_aiapps_kill" "sweep" {
  config {
    account_id  = "acc1"
    name_regex  = "^kil-"
    concurrency = 3
  }
}
"#;
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let log = audit_log_of(&mut workspace);
    let invoke =
        ["apply", "-auto-approve", "-input=false", "-invoke=action.ncloud_dataforest_aiapps_kill.sweep"];
    let mut terraform = workspace.spawn(&invoke);
    harness::wait_until("the three kills to be in flight", || sim.simulator.kills_in_flight() == 3);
    terraform.kill().unwrap();
    terraform.wait().unwrap();
    let lines = every_kill_received_recorded(&sim, &workspace, &log, &ids);
    assert_eq!(
        outcomes(&lines),
        triples(&[("Kil1", "invoke", "failed"), ("Kil2", "invoke", "failed"), ("Kil3", "invoke", "failed")])
    );
}

#[test]
fn a_bulk_kill_whose_process_group_gets_sigterm_records_every_kill_it_sent() {
    let sim = Sim::start(&[]);
    let ids = ["Term1", "Term2"];
    for id in ids {
        sim.simulator.put_app(app(id, &format!("term-{id}")));
        sim.simulator.fail_kills(id, [Fault::Hang]);
    }
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id = "acc1"
  name_regex = "^term-"
}
"#;
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let log = audit_log_of(&mut workspace);
    let terraform = workspace.spawn(&["apply", "-auto-approve", "-input=false"]);
    harness::wait_until("both kills to be in flight", || sim.simulator.kills_in_flight() == 2);
    // A CI job cancelled: SIGTERM to the whole process group, Terraform and the provider alike.
    let group = libc::pid_t::try_from(terraform.id()).unwrap();
    // SAFETY: killpg(2) on the group of a child this test spawned and still owns.
    assert_eq!(unsafe { libc::killpg(group, libc::SIGTERM) }, 0);
    let lines = every_kill_received_recorded(&sim, &workspace, &log, &ids);
    assert_eq!(outcomes(&lines), triples(&[("Term1", "create", "failed"), ("Term2", "create", "failed")]));
    let output = terraform.wait_with_output().unwrap();
    let run = harness::Run { description: "SIGTERM to the group".into(), output };
    assert!(!run.output.status.success(), "{run}");
}
