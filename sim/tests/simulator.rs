//! The DataForest simulator, over HTTP as a client sees it: signature v2 and its 5-minute window,
//! both error shapes, the four calls, app state moving RUNNING -> KILLED, and the binary run as a
//! process the way a user starts it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use dataforest_sim::{App, Simulator};
use serde_json::{Value as Json, json};
use terraform_provider_ncloud::ncp::signing;

const AK: &str = "sim-ak";
const SK: &str = "sim-sk";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Posts `body` to `path`, signed with `secret` at `timestamp`.
async fn post(base: &str, path: &str, body: Json, secret: &str, timestamp: u64) -> (u16, Json) {
    let signature = signing::sign("POST", path, timestamp, AK, secret);
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
        .header(signing::ACCESS_KEY_HEADER, AK)
        .header(signing::SIGNATURE_HEADER, signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

async fn start() -> (Simulator, String) {
    let simulator = Simulator::new(AK, SK);
    simulator.put_app(App::running("Run1"));
    simulator.put_app(App { account_id: "other".into(), ..App::running("Run2") });
    let address = simulator.spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    (simulator, format!("http://{address}"))
}

#[tokio::test]
async fn kill_moves_running_to_killed_and_unknown_is_404() {
    let (simulator, base) = start().await;
    let (status, body) = post(&base, "/api/v2/aiapps/kill", json!({"id": "Run1"}), SK, now_ms()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"id": "Run1", "message": "kill requested", "success": true}));
    let app = simulator.app("Run1").unwrap();
    assert_eq!((app.state.as_str(), app.final_status.as_str()), ("KILLED", "KILLED"));
    assert!(!app.finished_at.is_empty());

    let (status, body) = post(&base, "/api/v2/aiapps/kill", json!({"id": "Nobody"}), SK, now_ms()).await;
    assert_eq!((status, body), (404, json!({"success": false, "message": "no such element"})));
    let (status, body) = post(&base, "/api/v2/aiapps/kill", json!({"id": "bad-id"}), SK, now_ms()).await;
    assert_eq!((status, body["message"].as_str()), (400, Some("invalid request parameters")));
    assert_eq!(simulator.kill_calls("Run1"), 1);
}

#[tokio::test]
async fn signature_is_verified_with_a_five_minute_window() {
    let (simulator, base) = start().await;
    let (status, body) = post(&base, "/api/v2/aiapps/kill", json!({"id": "Run1"}), "wrong", now_ms()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["errorCode"], "200");
    assert_eq!(body["error"]["message"], "Authentication Failed");
    let stale = now_ms() - 6 * 60 * 1000;
    let (status, body) = post(&base, "/api/v2/aiapps/kill", json!({"id": "Run1"}), SK, stale).await;
    assert_eq!(status, 401);
    assert!(body["error"]["details"].as_str().unwrap().contains("5 minutes"));
    let (status, _) =
        post(&base, "/api/v2/aiapps/kill", json!({"id": "Run1"}), SK, now_ms() - 4 * 60 * 1000).await;
    assert_eq!(status, 200, "four minutes off is inside the window");
    let unsigned =
        reqwest::Client::new().post(format!("{base}/api/v2/aiapps/kill")).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!(simulator.app("Run2").unwrap().state, "RUNNING");
}

#[tokio::test]
async fn lists_details_and_accounts() {
    let (_simulator, base) = start().await;
    let (status, list) =
        post(&base, "/api/v2/aiapps/getList", json!({"search": {"accountId": "other"}}), SK, now_ms()).await;
    assert_eq!(status, 200);
    assert_eq!(list["success"], true);
    let contents = list["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1);
    assert_eq!(contents[0]["id"], "Run2");
    for field in
        ["appId", "name", "accountName", "queueName", "workspaceName", "state", "finalStatus", "startedAt"]
    {
        assert!(contents[0].get(field).is_some(), "{field}");
    }

    let (status, detail) = post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Run1"}), SK, now_ms()).await;
    assert_eq!(status, 200);
    assert_eq!((detail["id"].as_str(), detail["state"].as_str()), (Some("Run1"), Some("RUNNING")));
    assert!(detail.get("elapsedMillis").is_some() && detail["containers"].is_array());
    let (status, _) = post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Nobody"}), SK, now_ms()).await;
    assert_eq!(status, 404);

    let (status, accounts) = post(&base, "/api/v2/accounts/getList", json!({}), SK, now_ms()).await;
    assert_eq!(status, 200);
    assert_eq!(accounts["contents"].as_array().unwrap().len(), 2);

    let (status, missing) = post(&base, "/api/v2/nothing/here", json!({}), SK, now_ms()).await;
    assert_eq!((status, missing["error"]["errorCode"].as_str()), (404, Some("300")));
}

#[tokio::test]
async fn runs_as_a_process_seeded_from_flags_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("apps.json");
    std::fs::write(&seed, r#"[{"id": "FromFile", "name": "etl", "accountId": "acc1", "state": "ACCEPTED"}]"#)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataforest-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--access-key",
            AK,
            "--secret-key",
            SK,
            "--app",
            "FromFlag",
            "--detail-fault",
            "FromFlag=403,503",
            "--apps",
        ])
        .arg(&seed)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("endpoint=").expect("endpoint line").to_string();

    let (status, _) = post(&base, "/api/v2/aiapps/kill", json!({"id": "FromFile"}), SK, now_ms()).await;
    assert_eq!(status, 200);
    let (_, detail) = post(&base, "/api/v2/aiapps/getDetail", json!({"id": "FromFile"}), SK, now_ms()).await;
    assert_eq!((detail["state"].as_str(), detail["name"].as_str()), (Some("KILLED"), Some("etl")));
    // getDetail faults from the command line, one per call, then the real answer.
    let detail_of =
        |id: &'static str| post(&base, "/api/v2/aiapps/getDetail", json!({"id": id}), SK, now_ms());
    let (status, body) = detail_of("FromFlag").await;
    assert_eq!((status, body["message"].as_str()), (403, Some("not allowed to access")));
    let (status, body) = detail_of("FromFlag").await;
    assert_eq!((status, body["error"]["errorCode"].as_str()), (503, Some("500")));
    let (status, detail) = detail_of("FromFlag").await;
    assert_eq!((status, detail["state"].as_str()), (200, Some("RUNNING")));
    let calls = reqwest::get(format!("{base}/_sim/calls")).await.unwrap().bytes().await.unwrap();
    let calls: Json = serde_json::from_slice(&calls).unwrap();
    assert_eq!(calls.as_array().unwrap().len(), 5);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_kill_can_take_time_to_end_the_app() {
    let (simulator, base) = start().await;
    simulator.set_kill_duration(std::time::Duration::from_millis(300));
    let (status, _) = post(&base, "/api/v2/aiapps/kill", json!({"id": "Run1"}), SK, now_ms()).await;
    assert_eq!(status, 200);
    let (_, detail) = post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Run1"}), SK, now_ms()).await;
    assert_eq!(detail["state"], "RUNNING", "still stopping");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (_, detail) = post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Run1"}), SK, now_ms()).await;
    assert_eq!((detail["state"].as_str(), detail["finalStatus"].as_str()), (Some("KILLED"), Some("KILLED")));
}

#[tokio::test]
async fn a_listing_misbehaves_as_its_quirks_say() {
    let (simulator, base) = start().await;
    let list = || {
        post(&base, "/api/v2/aiapps/getList", json!({"search": {"accountId": "df-account"}}), SK, now_ms())
    };
    let (status, body) = list().await;
    assert_eq!(status, 200);
    let ids = |body: &Json| -> Vec<String> {
        body["contents"].as_array().unwrap().iter().map(|entry| entry["id"].to_string()).collect()
    };
    assert_eq!(ids(&body), ["\"Run1\""]);
    assert!(body.get("totalCount").is_none());
    let mut quirks = dataforest_sim::ListQuirks::default();
    for quirk in ["ignore-account", "strip=accountName", "repeat", "hidden=5", r#"extra={"id":"~~~"}"#] {
        quirks.add(quirk).unwrap();
    }
    simulator.set_list_quirks(quirks);
    let (_, body) = list().await;
    assert_eq!(ids(&body), ["\"Run1\"", "\"Run2\"", "\"Run1\"", "\"Run2\"", "\"~~~\""]);
    assert_eq!(body["totalCount"], 10);
    let entry = &body["contents"][1];
    assert!(entry.get("accountName").is_none() && entry["accountId"] == "other", "{entry}");
    simulator.set_list_quirks(dataforest_sim::ListQuirks { no_contents: true, ..Default::default() });
    let (status, body) = list().await;
    assert_eq!((status, body), (200, json!({"success": true, "message": ""})));
}

#[tokio::test]
async fn the_gateway_throttles_past_its_rate_and_refuses_past_the_quota() {
    let (simulator, base) = start().await;
    simulator.set_rate(5.0, 5.0, false);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, body) =
            post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Run1"}), SK, now_ms()).await;
        if status == 429 {
            assert_eq!(body["error"]["errorCode"], "420", "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 5, "{statuses:?}");
    assert_eq!(simulator.throttled(), 3);
    let stats = reqwest::get(format!("{base}/_sim/stats")).await.unwrap().bytes().await.unwrap();
    let stats: Json = serde_json::from_slice(&stats).unwrap();
    assert_eq!((&stats["throttled"], &stats["calls"]), (&json!(3), &json!(8)), "{stats}");
    // The quota: spent after two more calls, whatever the rate.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    simulator.set_quota(2);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, body) =
            post(&base, "/api/v2/aiapps/getDetail", json!({"id": "Run1"}), SK, now_ms()).await;
        statuses.push((status, body["error"]["errorCode"].as_str().map(str::to_string)));
    }
    assert_eq!(statuses, [(200, None), (200, None), (429, Some("400".to_string()))]);
}
