//! Under real Terraform, against a simulator with scripted faults: transient failures are retried
//! (with `Retry-After` honoured), permanent ones are not, `max_retries = 0` sends once, a hang is
//! bounded by `timeouts { create }`, Ctrl-C stops a hanging kill, no failed kill is recorded, and
//! the gateway's rate limit fails no kill.

use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault};

use crate::harness::{self, Sim, Terraform, Workspace};

const JOB: &str = r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "Flaky1" }"#;

fn kill_times(sim: &Sim) -> Vec<u64> {
    sim.simulator.calls().iter().filter(|c| c.path.ends_with("/kill")).map(|c| c.received_ms).collect()
}

on_each_terraform!(unavailable_twice_then_success_is_applied_in_three_calls, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Status(503), Fault::Status(503)]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 3);
    assert_eq!(workspace.state()["ncloud_dataforest_aiapp_kill.job"]["success"], true);
});

on_each_terraform!(throttled_call_waits_for_retry_after, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    // 3 s: longer than the budget's own wait after one throttled call (1.4 s at 0.7 a second).
    sim.simulator.fail_kills("Flaky1", [Fault::RetryAfter(3)]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    workspace.apply();
    let times = kill_times(&sim);
    assert_eq!(times.len(), 2);
    let waited = times[1] - times[0];
    assert!((3000..4000).contains(&waited), "sent again after {waited} ms, not Retry-After's 3 s");
});

on_each_terraform!(permission_denied_is_not_retried, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Status(401)]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    workspace.apply_fails().assert_contains("HTTP 401").assert_contains("Permission Denied");
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 1);
    assert!(workspace.state().is_empty());
    assert_eq!(sim.state_of("Flaky1"), "RUNNING");
});

on_each_terraform!(garbage_answer_fails_cleanly_and_is_not_recorded, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Garbage]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    let failed = workspace.apply_fails();
    failed.assert_contains("HTTP 200, unexpected answer: the body is not JSON");
    assert!(!failed.all().contains("panic"), "{failed}");
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 1);
    assert!(workspace.state().is_empty());
});

on_each_terraform!(success_false_is_a_failure_and_not_retried, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::SuccessFalse]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    workspace.apply_fails().assert_contains("kill was not accepted");
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 1);
    assert!(workspace.state().is_empty());
});

on_each_terraform!(html_from_a_proxy_is_quoted_briefly_after_the_retries, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Status(502), Fault::Status(502)]);
    let config = format!("provider \"ncloud\" {{\n  max_retries = 1\n}}\n{JOB}\n");
    let workspace = Workspace::new(terraform, &sim, &config);
    let failed = workspace.apply_fails();
    failed.assert_contains("after 2 attempts").assert_contains("HTTP 502").assert_contains("<html>");
    assert!(!failed.all().contains("a padding"), "only the start of the page is shown: {failed}");
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 2);
});

on_each_terraform!(a_ceiling_no_float_holds_exactly_is_taken_and_spaces_the_calls, |terraform| {
    // Terraform sends 2.1 as its digits, a string on the wire: still a number.
    let sim = Sim::start(&["A1", "A2", "A3", "A4"]);
    let config = "provider \"ncloud\" {\n  max_requests_per_second = 2.1\n}\n\
                  resource \"ncloud_dataforest_aiapp_kill\" \"each\" {\n  \
                  for_each = toset([\"A1\", \"A2\", \"A3\", \"A4\"])\n  app_id = each.value\n}\n";
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let mut times = kill_times(&sim);
    times.sort_unstable();
    assert_eq!(times.len(), 4);
    // 1/2.1 s apart: 476 ms, less the clock's and the scheduler's slack.
    let gaps: Vec<u64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.iter().all(|gap| *gap >= 440), "{gaps:?}");
});

on_each_terraform!(dropped_connection_is_retried, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Reset]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 2);
    assert_eq!(sim.state_of("Flaky1"), "KILLED");
});

on_each_terraform!(max_retries_zero_sends_once, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Status(503)]);
    let mut workspace = Workspace::new(terraform, &sim, JOB);
    workspace.env.insert("NCLOUD_MAX_RETRIES".into(), "0".into());
    workspace.apply_fails().assert_contains("HTTP 503").assert_contains("Endpoint Error");
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 1);
    assert!(workspace.state().is_empty());
});

on_each_terraform!(hang_is_bounded_by_the_create_timeout, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Hang]);
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id = "Flaky1"
  timeouts {
    create = "3s"
  }
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let started = Instant::now();
    let failed = workspace.apply_fails();
    let took = started.elapsed();
    failed.assert_contains("Kill timed out").assert_contains("may or may not have happened");
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(20), "took {took:?}");
    assert!(workspace.state().is_empty());
});

on_each_terraform!(ctrl_c_stops_a_hanging_kill_and_records_nothing, |terraform| {
    let sim = Sim::start(&["Flaky1"]);
    sim.simulator.fail_kills("Flaky1", [Fault::Hang]);
    let workspace = Workspace::new(terraform, &sim, JOB);
    let child = workspace.spawn(&["apply", "-auto-approve", "-input=false"]);
    harness::wait_until("the kill to arrive", || sim.simulator.kill_calls("Flaky1") >= 1);
    let interrupted = Instant::now();
    harness::interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let took = interrupted.elapsed();
    let run = harness::Run { description: format!("interrupted apply ({})", terraform.version()), output };
    assert!(!run.output.status.success(), "{run}");
    assert!(took < Duration::from_secs(5), "Terraform took {took:?} to stop: {run}");
    assert!(workspace.state().is_empty(), "{}", workspace.state_text());
    assert_eq!(sim.simulator.kill_calls("Flaky1"), 1);
});

#[test]
fn three_bulk_kills_under_the_gateways_rate_limit_lose_no_kill_to_throttling() {
    let sim = Sim::start(&[]);
    for team in ["a", "b", "c"] {
        for n in 1..=15 {
            sim.simulator.put_app(App {
                account_id: "acc1".into(),
                name: format!("{team}-job-{n}"),
                ..App::running(&format!("{}{n:02}", team.to_uppercase()))
            });
        }
    }
    // 10 requests a second, as a shared key may be allowed; one retry of a failed call at most.
    sim.simulator.set_rate(10.0, 10.0, false);
    sim.simulator.set_latency(Duration::from_millis(20));
    let config: String = ["a", "b", "c"]
        .iter()
        .map(|team| {
            format!(
                r#"
resource "ncloud_dataforest_aiapps_kill" "{team}" {{
  account_id  = "acc1"
  name_regex  = "^{team}-job-"
  concurrency = 8
}}
"#
            )
        })
        .collect();
    let mut workspace = Workspace::new(Terraform::V1_15_5, &sim, &config);
    workspace.env.insert("NCLOUD_MAX_RETRIES".into(), "1".into());
    workspace.apply();
    let state = workspace.state();
    for team in ["a", "b", "c"] {
        let killed = &state[&format!("ncloud_dataforest_aiapps_kill.{team}")]["killed"];
        assert_eq!(killed.as_array().map(Vec::len), Some(15), "{team}: {killed}");
    }
    assert!(sim.simulator.throttled() > 0, "the gateway never throttled: the test proves nothing");
}

#[test]
fn a_spent_quota_is_tried_once_and_stops_the_bulk_kill() {
    let sim = Sim::start(&[]);
    for n in 1..=4 {
        sim.simulator.put_app(App {
            account_id: "acc1".into(),
            name: format!("quota-{n}"),
            ..App::running(&format!("Quota{n}"))
        });
    }
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id  = "acc1"
  name_regex  = "^quota-"
  concurrency = 1
}
"#;
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    // Five look-ups (the plan's preview lists the accounts and the apps; the apply's process plans
    // again, two more, then lists the apps once more), one kill, then the quota is spent.
    sim.simulator.set_quota(6);
    workspace
        .apply_fails()
        .assert_contains(
            "1 killed, 1 failed, 2 not attempted, because the API Gateway quota of the keys is spent",
        )
        .assert_contains("quota of these keys is spent");
    let calls: Vec<usize> = (1..=4).map(|n| sim.simulator.kill_calls(&format!("Quota{n}"))).collect();
    assert_eq!(calls, [1, 1, 0, 0], "the refused kill was sent once, and no kill after it");
}
