//! `dataforest-sim`: a local DataForest AI Apps API, for trying the provider or a teardown
//! pipeline offline and for tests. It speaks the documented JSON calls (`aiapps/kill`,
//! `aiapps/getList`, `aiapps/getDetail`, `accounts/getList`), verifies signature v2 with the
//! gateway's 5-minute window, answers with both documented error shapes, and keeps apps in memory.
//! Killing a running app moves it to KILLED, at once or after a set delay as a cluster takes time
//! to stop one; killing an app that already ended succeeds again without change, as YARN does;
//! killing an unknown id is `404 no such element`.
//! Scripted [`Fault`]s make the next kills, or `getDetail` calls, of an app fail as NCP can (error
//! statuses, throttling with `Retry-After`, HTML from a proxy, `"success": false`, garbage,
//! delay, no answer, a dropped connection). `GET /_sim/apps` and `GET /_sim/calls` show the apps
//! and the calls received; `GET /_sim/stats` the most kills it had in flight at once, the TLS
//! connections it accepted, the calls received and those its rate limit refused. [`tls`] serves it over HTTPS with a certificate from a CA it makes.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value as JsonValue, json};

use terraform_provider_ncloud::ncp::{apps, signing};

pub mod tls;

/// The gateway refuses signatures whose timestamp is further than this from its clock.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(300);

/// An AI app as DataForest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct App {
    pub id: String,
    /// The YARN application id.
    pub app_id: String,
    pub name: String,
    pub account_id: String,
    pub account_name: String,
    pub queue_name: String,
    pub workspace_name: String,
    pub state: String,
    pub final_status: String,
    /// A time as text, or (in an `--apps` file) a number of seconds or milliseconds since the
    /// epoch, which DataForest may send and the provider reads.
    #[serde(deserialize_with = "time_text")]
    pub started_at: String,
    #[serde(deserialize_with = "time_text")]
    pub finished_at: String,
    #[serde(deserialize_with = "time_text")]
    pub modified_at: String,
    pub disabled: bool,
}

/// A time given as text, or as a whole number kept as its digits.
fn time_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Time {
        Text(String),
        Number(u64),
    }
    Ok(match Time::deserialize(deserializer)? {
        Time::Text(text) => text,
        Time::Number(number) => number.to_string(),
    })
}

impl Default for App {
    fn default() -> App {
        let now = now_rfc3339();
        App {
            id: String::new(),
            app_id: String::new(),
            name: String::new(),
            account_id: "df-account".into(),
            account_name: "df-account".into(),
            queue_name: "default".into(),
            workspace_name: "default".into(),
            state: "RUNNING".into(),
            final_status: "UNDEFINED".into(),
            started_at: now.clone(),
            finished_at: String::new(),
            modified_at: now,
            disabled: false,
        }
    }
}

impl App {
    /// A running app with this id and defaults for the rest.
    pub fn running(id: &str) -> App {
        let serial: u32 = id.bytes().map(u32::from).sum();
        App {
            id: id.to_string(),
            app_id: format!("application_1700000000000_{serial:04}"),
            name: format!("app-{id}"),
            ..App::default()
        }
    }

    fn is_terminal(&self) -> bool {
        apps::is_terminal_state(&self.state)
    }
}

/// A call the simulator received, as tests and users inspect it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub method: String,
    pub path: String,
    pub id: Option<String>,
    /// The HTTP status answered; 0 while (or when never) answered.
    pub status: u16,
    /// When the call arrived, in milliseconds since the Unix epoch.
    pub received_ms: u64,
    /// The timestamp the call was signed with, if it carried one.
    pub signed_ms: Option<u64>,
}

/// How `aiapps/getList` may misbehave, as a gateway in front of DataForest (or a release of it)
/// could; each is off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuirks {
    /// Answer with the apps of every account, as a gateway that dropped the `search` filter
    /// would.
    pub ignore_account: bool,
    /// Leave these fields (`accountName`, `accountId`, ...) out of every entry.
    pub strip: Vec<String>,
    /// List every app twice.
    pub repeat: bool,
    /// Answer `totalCount` as this many more than the entries listed: a page of a longer list.
    pub hidden: Option<usize>,
    /// Answer success without `contents`.
    pub no_contents: bool,
    /// Entries listed after the apps, as given.
    pub extra: Vec<JsonValue>,
}

impl ListQuirks {
    /// Parses one quirk, as `--list-quirk` takes it: `ignore-account`, `strip=FIELD`, `repeat`,
    /// `hidden=N`, `no-contents` or `extra=JSON` (an entry), added to these.
    pub fn add(&mut self, spec: &str) -> Result<(), String> {
        match spec.trim().split_once('=') {
            Some(("strip", field)) => self.strip.push(field.to_string()),
            Some(("hidden", count)) => {
                self.hidden = Some(count.parse().map_err(|_| format!("bad count in {spec:?}"))?);
            }
            Some(("extra", entry)) => {
                self.extra.push(serde_json::from_str(entry).map_err(|e| format!("{spec:?}: {e}"))?);
            }
            _ => match spec.trim() {
                "ignore-account" => self.ignore_account = true,
                "repeat" => self.repeat = true,
                "no-contents" => self.no_contents = true,
                _ => {
                    return Err(format!(
                        "unknown list quirk {spec:?}: use ignore-account, strip=FIELD, repeat, hidden=N, \
                         no-contents or extra=JSON"
                    ));
                }
            },
        }
        Ok(())
    }
}

/// A scripted failure, answered to a kill instead of the real thing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This HTTP status with the body DataForest or its gateway sends for it (502 is a proxy's
    /// HTML page).
    Status(u16),
    /// HTTP 429 with `Retry-After` of this many seconds.
    RetryAfter(u64),
    /// HTTP 200 with `"success": false`.
    SuccessFalse,
    /// HTTP 200 whose body is not JSON.
    Garbage,
    /// The real answer, this late.
    Delay(Duration),
    /// No answer, ever.
    Hang,
    /// The connection drops in the middle of the answer.
    Reset,
}

impl Fault {
    /// Parses `503`, `retry-after=1`, `success-false`, `garbage`, `delay=2s`, `hang` or `reset`.
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let spec = spec.trim();
        if let Ok(status) = spec.parse::<u16>()
            && (400..600).contains(&status)
        {
            return Ok(Fault::Status(status));
        }
        match spec.split_once('=') {
            Some(("retry-after", seconds)) => {
                seconds.parse().map(Fault::RetryAfter).map_err(|_| format!("bad retry-after in {spec:?}"))
            }
            Some(("delay", duration)) => {
                humantime::parse_duration(duration).map(Fault::Delay).map_err(|e| format!("{spec:?}: {e}"))
            }
            _ => match spec {
                "success-false" => Ok(Fault::SuccessFalse),
                "garbage" => Ok(Fault::Garbage),
                "hang" => Ok(Fault::Hang),
                "reset" => Ok(Fault::Reset),
                _ => Err(format!(
                    "unknown fault {spec:?}: use an HTTP status (400-599), retry-after=N, success-false, garbage, \
                     delay=DURATION, hang or reset"
                )),
            },
        }
    }
}

#[derive(Default)]
struct Inner {
    credentials: BTreeMap<String, String>,
    apps: BTreeMap<String, App>,
    /// Accounts with no app yet, by id, with their names; the accounts of apps are known too.
    accounts: BTreeMap<String, String>,
    /// How `aiapps/getList` misbehaves, if it does.
    list_quirks: ListQuirks,
    calls: Vec<Call>,
    /// Faults queued for the kills of each app.
    faults: BTreeMap<String, VecDeque<Fault>>,
    /// Faults queued for the `getDetail` calls of each app.
    detail_faults: BTreeMap<String, VecDeque<Fault>>,
    /// Kills received and not yet answered (or dropped), and the most there ever were.
    kills_in_flight: usize,
    most_kills_in_flight: usize,
    /// Connections accepted, and those whose TLS handshake succeeded, when served over HTTPS.
    connections: usize,
    tls_connections: usize,
    /// How long a killed app keeps running before it is KILLED.
    kill_takes: Duration,
    /// Added before every API answer, as a distant gateway adds it.
    latency: Duration,
    /// Apps being killed, and when they will be KILLED.
    ending: BTreeMap<String, std::time::Instant>,
    /// The API Gateway's limits on the key, when set.
    gateway: GatewayLimits,
}

/// The API Gateway's limits on a key: a rate (a token bucket: 429 with error code 420 past it,
/// with `Retry-After: 1` when asked) and a quota of calls (429 with error code 400 once spent).
#[derive(Default)]
struct GatewayLimits {
    /// Requests per second, and how many may come at once.
    rate: Option<(f64, f64)>,
    retry_after: bool,
    tokens: f64,
    refilled: Option<std::time::Instant>,
    quota: Option<u64>,
    used: u64,
    throttled: u64,
}

impl GatewayLimits {
    /// The gateway's answer to a call arriving now, when it refuses it.
    fn refuses(&mut self) -> Option<Response> {
        if let Some(quota) = self.quota {
            if self.used >= quota {
                let details = "the API Gateway quota of this key is spent";
                return Some(gateway_error(StatusCode::TOO_MANY_REQUESTS, "400", "Quota Exceeded", details));
            }
            self.used += 1;
        }
        let (rate, burst) = self.rate?;
        let now = std::time::Instant::now();
        let elapsed = self.refilled.map_or(burst / rate, |then| (now - then).as_secs_f64());
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        self.throttled += 1;
        let mut response =
            gateway_error(StatusCode::TOO_MANY_REQUESTS, "420", "Rate Limited", "too many requests");
        if self.retry_after {
            response.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        Some(response)
    }
}

impl Inner {
    /// Moves apps whose kill has taken effect to KILLED.
    fn settle(&mut self) {
        let now = std::time::Instant::now();
        let done: Vec<String> =
            self.ending.iter().filter(|(_, at)| **at <= now).map(|(id, _)| id.clone()).collect();
        for id in done {
            self.ending.remove(&id);
            if let Some(app) = self.apps.get_mut(&id) {
                let now = now_rfc3339();
                app.state = "KILLED".into();
                app.final_status = "KILLED".into();
                app.finished_at = now.clone();
                app.modified_at = now;
            }
        }
    }
}

/// The simulator's state; cheap to clone, all clones share it.
#[derive(Clone, Default)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
}

impl Simulator {
    /// A simulator that accepts requests signed with `access_key` and `secret_key`.
    pub fn new(access_key: &str, secret_key: &str) -> Simulator {
        let simulator = Simulator::default();
        simulator.lock().credentials.insert(access_key.to_string(), secret_key.to_string());
        simulator
    }

    /// Adds `count` apps to the account `df-account`, spread as a busy account's history is:
    /// names `env-E-KIND-NNNNN` (50 environments, four kinds), four queues, seven in ten
    /// RUNNING and the rest ACCEPTED, FINISHED or KILLED, start times over the last two days
    /// written with a `+09:00` or a `Z` offset. The same `count` always gives the same apps (ids
    /// `Gen00000` on), apart from the start times, which count back from now.
    pub fn generate(&self, count: usize) {
        const KINDS: [&str; 4] = ["etl", "train", "serve", "notebook"];
        const QUEUES: [&str; 4] = ["default", "gpu", "etl", "adhoc"];
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut inner = self.lock();
        for n in 0..count {
            let state = match n % 10 {
                0..=6 => "RUNNING",
                7 => "ACCEPTED",
                8 => "FINISHED",
                _ => "KILLED",
            };
            let ended = matches!(state, "FINISHED" | "KILLED");
            let started = now.saturating_sub((n as u64 * 7_919) % (48 * 3_600));
            let app = App {
                name: format!("env-{}-{}-{n:05}", n % 50, KINDS[n % 4]),
                queue_name: QUEUES[(n / 7) % 4].to_string(),
                state: state.to_string(),
                final_status: if ended { state.replace("FINISHED", "SUCCEEDED") } else { "UNDEFINED".into() },
                started_at: rfc3339_with_offset(started, if n % 2 == 0 { 9 } else { 0 }),
                ..App::running(&format!("Gen{n:05}"))
            };
            inner.apps.insert(app.id.clone(), app);
        }
    }

    /// Adds an account that has no app yet, named `name`: `accounts/getList` lists it.
    pub fn put_account(&self, id: &str, name: &str) {
        self.lock().accounts.insert(id.to_string(), name.to_string());
    }

    /// Forgets an account added with [`Simulator::put_account`].
    pub fn remove_account(&self, id: &str) {
        self.lock().accounts.remove(id);
    }

    /// Makes `aiapps/getList` answer with every account's apps, whatever account was asked for.
    pub fn set_list_ignores_account(&self, ignores: bool) {
        self.lock().list_quirks.ignore_account = ignores;
    }

    /// Makes `aiapps/getList` misbehave as `quirks` say, from the next call on.
    pub fn set_list_quirks(&self, quirks: ListQuirks) {
        self.lock().list_quirks = quirks;
    }

    /// Adds an app, or replaces the one with the same id.
    pub fn put_app(&self, app: App) {
        self.lock().apps.insert(app.id.clone(), app);
    }

    pub fn app(&self, id: &str) -> Option<App> {
        let mut inner = self.lock();
        inner.settle();
        inner.apps.get(id).cloned()
    }

    /// Limits the key to `rate` requests per second, `burst` at once, as the API Gateway does:
    /// past them, 429 with error code 420, and `Retry-After: 1` when `retry_after`.
    pub fn set_rate(&self, rate: f64, burst: f64, retry_after: bool) {
        let mut inner = self.lock();
        inner.gateway.rate = Some((rate, burst.max(1.0)));
        inner.gateway.retry_after = retry_after;
    }

    /// Spends the key's quota after `calls` calls: 429 with error code 400 from then on.
    pub fn set_quota(&self, calls: u64) {
        self.lock().gateway.quota = Some(calls);
    }

    /// How many calls the rate limit refused.
    pub fn throttled(&self) -> u64 {
        self.lock().gateway.throttled
    }

    /// Delays every API answer by `latency`, as a round trip to a distant gateway does.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Makes each kill take this long to end its app, as a real cluster does; zero by default.
    pub fn set_kill_duration(&self, duration: Duration) {
        self.lock().kill_takes = duration;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Queues faults for the next kills of `id`, one per call; later kills are answered normally.
    pub fn fail_kills(&self, id: &str, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.entry(id.to_string()).or_default().extend(faults);
    }

    /// Queues faults for the next `getDetail` calls of `id`, one per call.
    pub fn fail_details(&self, id: &str, faults: impl IntoIterator<Item = Fault>) {
        self.lock().detail_faults.entry(id.to_string()).or_default().extend(faults);
    }

    /// Forgets an app, as DataForest does once an app is purged.
    pub fn remove_app(&self, id: &str) {
        let mut inner = self.lock();
        inner.apps.remove(id);
        inner.ending.remove(id);
    }

    /// The kill calls being served now: received, and neither answered nor dropped by the client.
    pub fn kills_in_flight(&self) -> usize {
        self.lock().kills_in_flight
    }

    /// The most kill calls this simulator was serving at one time.
    pub fn most_kills_in_flight(&self) -> usize {
        self.lock().most_kills_in_flight
    }

    /// The TLS connections accepted so far, when served over HTTPS.
    pub fn tls_connections(&self) -> usize {
        self.lock().tls_connections
    }

    /// The connections accepted so far, TLS handshake or not, when served over HTTPS.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    fn count_connection(&self) {
        self.lock().connections += 1;
    }

    fn count_tls_connection(&self) {
        self.lock().tls_connections += 1;
    }

    /// The kill calls received for `id`.
    pub fn kill_calls(&self, id: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.path.ends_with("/aiapps/kill") && c.id.as_deref() == Some(id))
            .count()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the maps half-written, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route(
                "/_sim/apps",
                get(|State(sim): State<Simulator>| async move {
                    let mut inner = sim.lock();
                    inner.settle();
                    Json(inner.apps.clone())
                }),
            )
            .route("/_sim/calls", get(|State(sim): State<Simulator>| async move { Json(sim.calls()) }))
            .route(
                "/_sim/stats",
                get(|State(sim): State<Simulator>| async move {
                    let inner = sim.lock();
                    Json(json!({
                        "mostKillsInFlight": inner.most_kills_in_flight,
                        "connections": inner.connections,
                        "tlsConnections": inner.tls_connections,
                        "throttled": inner.gateway.throttled,
                        "calls": inner.calls.len(),
                    }))
                }),
            )
            .route("/api/{*call}", post(api))
            .fallback(not_found)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes. An error accepting a connection (out of
    /// file descriptors, say) does not end it: axum's loop waits a second and accepts again.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }

    /// Binds `address` and serves in the background on the current tokio runtime.
    pub async fn spawn(&self, address: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let bound = listener.local_addr()?;
        let simulator = self.clone();
        tokio::spawn(async move { simulator.serve(listener, std::future::pending()).await });
        Ok(bound)
    }

    /// Checks signature v2 as the API Gateway does; the error is the reason it gives.
    fn authenticate(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), &'static str> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(timestamp), Some(access_key), Some(signature)) = (
            header(signing::TIMESTAMP_HEADER),
            header(signing::ACCESS_KEY_HEADER),
            header(signing::SIGNATURE_HEADER),
        ) else {
            return Err("missing signature headers");
        };
        let Ok(timestamp) = timestamp.parse::<u64>() else {
            return Err("invalid timestamp");
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        if now.abs_diff(timestamp) > TIMESTAMP_WINDOW.as_millis() as u64 {
            return Err("timestamp is more than 5 minutes away from the gateway's clock");
        }
        let Some(secret_key) = self.lock().credentials.get(access_key).cloned() else {
            return Err("unknown access key");
        };
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        if !signing::verify(method.as_str(), path, timestamp, access_key, &secret_key, signature) {
            return Err("signature mismatch");
        }
        Ok(())
    }

    /// Records a call as it arrives; returns its index, to record the answer later.
    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, id: Option<&str>) -> usize {
        let signed_ms = headers.get(signing::TIMESTAMP_HEADER).and_then(|v| v.to_str().ok()?.parse().ok());
        let mut inner = self.lock();
        inner.calls.push(Call {
            method: method.to_string(),
            path: uri.path().to_string(),
            id: id.map(str::to_string),
            status: 0,
            received_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            signed_ms,
        });
        inner.calls.len() - 1
    }

    fn answered(&self, call: usize, response: Response) -> Response {
        if let Some(call) = self.lock().calls.get_mut(call) {
            call.status = response.status().as_u16();
        }
        response
    }
}

#[derive(Deserialize)]
struct IdRequest {
    id: String,
}

#[derive(Deserialize)]
struct ListRequest {
    #[serde(default)]
    search: ListSearch,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListSearch {
    account_id: Option<String>,
}

/// The API calls the simulator serves.
#[derive(Clone, Copy)]
enum ApiCall {
    Kill,
    GetList,
    GetDetail,
    Accounts,
}

impl ApiCall {
    fn from_path(path: &str) -> Option<ApiCall> {
        match path {
            "/api/v2/aiapps/kill" => Some(ApiCall::Kill),
            "/api/v2/aiapps/getList" => Some(ApiCall::GetList),
            "/api/v2/aiapps/getDetail" => Some(ApiCall::GetDetail),
            "/api/v2/accounts/getList" => Some(ApiCall::Accounts),
            _ => None,
        }
    }
}

/// Every API request: route, authenticate, answer (or fail as scripted), and record the call.
async fn api(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = serde_json::from_slice::<JsonValue>(&body)
        .ok()
        .and_then(|json| json.get("id").and_then(JsonValue::as_str).map(str::to_string));
    let index = sim.record(&method, &uri, &headers, id.as_deref());
    let call = ApiCall::from_path(uri.path());
    let _in_flight = matches!(call, Some(ApiCall::Kill)).then(|| KillInFlight::start(&sim));
    let latency = sim.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match (call, sim.authenticate(&method, &uri, &headers)) {
        (None, _) => no_api(uri.path()),
        (Some(_), Err(reason)) => {
            gateway_error(StatusCode::UNAUTHORIZED, "200", "Authentication Failed", reason)
        }
        (Some(call), Ok(())) => {
            // The gateway's limits come first: a call it refuses never reaches DataForest.
            let refused = sim.lock().gateway.refuses();
            if let Some(refused) = refused {
                return sim.answered(index, refused);
            }
            let fault = match (call, &id) {
                (ApiCall::Kill, Some(id)) => sim.lock().faults.get_mut(id).and_then(VecDeque::pop_front),
                (ApiCall::GetDetail, Some(id)) => {
                    sim.lock().detail_faults.get_mut(id).and_then(VecDeque::pop_front)
                }
                _ => None,
            };
            match fault {
                None => answer(&mut sim.lock(), call, &body),
                Some(fault) => inject(&sim, fault, call, &body).await,
            }
        }
    };
    sim.answered(index, response)
}

/// Counts a kill as in flight from its arrival until it is answered, or dropped unanswered.
struct KillInFlight(Simulator);

impl KillInFlight {
    fn start(sim: &Simulator) -> KillInFlight {
        let mut inner = sim.lock();
        inner.kills_in_flight += 1;
        inner.most_kills_in_flight = inner.most_kills_in_flight.max(inner.kills_in_flight);
        KillInFlight(sim.clone())
    }
}

impl Drop for KillInFlight {
    fn drop(&mut self) {
        self.0.lock().kills_in_flight -= 1;
    }
}

async fn inject(sim: &Simulator, fault: Fault, call: ApiCall, body: &[u8]) -> Response {
    match fault {
        Fault::Status(status) => fault_status(status),
        Fault::RetryAfter(seconds) => {
            let mut response =
                gateway_error(StatusCode::TOO_MANY_REQUESTS, "410", "Throttle Limited", "too many requests");
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
            response
        }
        Fault::SuccessFalse => {
            let message =
                if matches!(call, ApiCall::Kill) { "kill was not accepted" } else { "not available" };
            (StatusCode::OK, Json(json!({ "success": false, "message": message }))).into_response()
        }
        Fault::Garbage => (StatusCode::OK, "\u{0}\u{1}not json at all").into_response(),
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            answer(&mut sim.lock(), call, body)
        }
        Fault::Hang => std::future::pending().await,
        Fault::Reset => {
            // The headers go out, then the body fails: the client sees the connection drop.
            let broken = tokio_stream::once(Err::<Bytes, std::io::Error>(std::io::Error::other("reset")));
            let mut response = axum::body::Body::from_stream(broken).into_response();
            response.headers_mut().insert(axum::http::header::CONTENT_LENGTH, 64.into());
            response
        }
    }
}

/// A proxy's error page, padded as such pages are so browsers show them.
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n\
    <!-- a padding to disable MSIE and Chrome friendly error page -->\r\n\
    <!-- a padding to disable MSIE and Chrome friendly error page -->\r\n\
    <!-- a padding to disable MSIE and Chrome friendly error page -->\r\n";

/// The answer DataForest, its API Gateway, or a proxy in front of them gives with `status`.
fn fault_status(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status {
        400 => invalid_request(),
        401 => gateway_error(code, "210", "Permission Denied", "the sub account may not call this API"),
        403 => dataforest_error(code, "not allowed to access"),
        404 => no_such_element(),
        429 => gateway_error(code, "420", "Rate Limited", "too many requests"),
        500 => dataforest_error(code, "unexpected error"),
        502 => (code, [(axum::http::header::CONTENT_TYPE, "text/html")], BAD_GATEWAY_PAGE).into_response(),
        503 => gateway_error(code, "500", "Endpoint Error", "the endpoint is not available"),
        504 => gateway_error(code, "510", "Endpoint Timeout", "the endpoint did not answer in time"),
        _ => dataforest_error(code, &format!("simulated HTTP {status}")),
    }
}

fn answer(inner: &mut Inner, call: ApiCall, body: &[u8]) -> Response {
    inner.settle();
    let result = match call {
        ApiCall::Kill => serde_json::from_slice(body).map(|request: IdRequest| kill(inner, &request.id)),
        ApiCall::GetList => {
            serde_json::from_slice(body).map(|request: ListRequest| get_list(inner, &request.search))
        }
        ApiCall::GetDetail => {
            serde_json::from_slice(body).map(|request: IdRequest| get_detail(inner, &request.id))
        }
        ApiCall::Accounts => Ok(accounts(inner)),
    };
    result.unwrap_or_else(|_| invalid_request())
}

fn kill(inner: &mut Inner, id: &str) -> Response {
    if !apps::is_valid_app_id(id) {
        return invalid_request();
    }
    let Some(app) = inner.apps.get_mut(id) else {
        return no_such_element();
    };
    if app.is_terminal() {
        let message = format!("app already ended in state {}", app.state);
        return Json(json!({ "id": id, "message": message, "success": true })).into_response();
    }
    let takes_effect = std::time::Instant::now() + inner.kill_takes;
    inner.ending.entry(id.to_string()).or_insert(takes_effect);
    inner.settle();
    Json(json!({ "id": id, "message": "kill requested", "success": true })).into_response()
}

fn get_list(inner: &Inner, search: &ListSearch) -> Response {
    let quirks = &inner.list_quirks;
    if quirks.no_contents {
        return Json(json!({ "success": true, "message": "" })).into_response();
    }
    let mut contents: Vec<JsonValue> = inner
        .apps
        .values()
        .filter(|app| {
            quirks.ignore_account
                || search.account_id.as_ref().is_none_or(|account| &app.account_id == account)
        })
        .map(|app| {
            let mut entry = serde_json::to_value(app).unwrap_or(JsonValue::Null);
            if let Some(fields) = entry.as_object_mut() {
                for field in &quirks.strip {
                    fields.remove(field);
                }
            }
            entry
        })
        .collect();
    if quirks.repeat {
        contents.extend(contents.clone());
    }
    contents.extend(quirks.extra.iter().cloned());
    let mut answer = json!({ "success": true, "message": "" });
    if let Some(hidden) = quirks.hidden {
        answer["totalCount"] = json!(contents.len() + hidden);
    }
    answer["contents"] = JsonValue::Array(contents);
    Json(answer).into_response()
}

fn get_detail(inner: &Inner, id: &str) -> Response {
    let Some(app) = inner.apps.get(id) else {
        return no_such_element();
    };
    let mut detail = serde_json::to_value(app).unwrap_or(JsonValue::Null);
    detail["elapsedMillis"] = json!(0);
    detail["containers"] = json!([]);
    detail["success"] = json!(true);
    detail["message"] = json!("");
    Json(detail).into_response()
}

fn accounts(inner: &Inner) -> Response {
    let mut accounts: BTreeMap<&str, &str> =
        inner.accounts.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    // An app's account is listed with the app's name for it, unless it is listed already; an app
    // that names no account id names no account.
    for app in inner.apps.values().filter(|app| !app.account_id.is_empty()) {
        accounts.entry(&app.account_id).or_insert(&app.account_name);
    }
    let contents: Vec<JsonValue> =
        accounts.into_iter().map(|(id, name)| json!({ "id": id, "name": name })).collect();
    Json(json!({ "success": true, "message": "", "contents": contents })).into_response()
}

async fn not_found(uri: Uri) -> Response {
    no_api(uri.path())
}

fn no_api(path: &str) -> Response {
    gateway_error(StatusCode::NOT_FOUND, "300", "Not Found", &format!("no API at {path}"))
}

fn dataforest_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "success": false, "message": message }))).into_response()
}

fn invalid_request() -> Response {
    dataforest_error(StatusCode::BAD_REQUEST, "invalid request parameters")
}

fn no_such_element() -> Response {
    dataforest_error(StatusCode::NOT_FOUND, "no such element")
}

fn gateway_error(status: StatusCode, code: &str, message: &str, details: &str) -> Response {
    (status, Json(json!({ "error": { "errorCode": code, "message": message, "details": details } })))
        .into_response()
}

/// `seconds` since the epoch as RFC 3339 at a whole-hour UTC offset (`Z` for 0), as DataForest
/// writes times.
fn rfc3339_with_offset(seconds: u64, offset_hours: i64) -> String {
    let local = seconds as i64 + offset_hours * 3_600;
    let (days, of_day) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let offset = if offset_hours == 0 { "Z".to_string() } else { format!("{:+03}:00", offset_hours) };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{offset}",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apps_file_may_give_times_as_numbers() {
        let apps: Vec<App> = serde_json::from_str(
            r#"[{"id":"A1","startedAt":1740466147000},{"id":"A2","startedAt":"2025-02-25T06:49:07Z"}]"#,
        )
        .unwrap();
        assert_eq!(
            (apps[0].started_at.as_str(), apps[1].started_at.as_str()),
            ("1740466147000", "2025-02-25T06:49:07Z")
        );
        assert!(serde_json::from_str::<Vec<App>>(r#"[{"id":"A1","startedAt":true}]"#).is_err());
    }

    #[test]
    fn times_with_offsets() {
        assert_eq!(rfc3339_with_offset(1_740_466_147, 0), "2025-02-25T06:49:07Z");
        assert_eq!(rfc3339_with_offset(1_740_466_147, 9), "2025-02-25T15:49:07+09:00");
        assert_eq!(rfc3339_with_offset(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_with_offset(0, -5), "1969-12-31T19:00:00-05:00");
    }

    #[test]
    fn generated_apps_spread_over_names_queues_states_and_times() {
        let simulator = Simulator::default();
        simulator.generate(1_000);
        let apps: Vec<App> = simulator.lock().apps.values().cloned().collect();
        assert_eq!(apps.len(), 1_000);
        let running = apps.iter().filter(|app| app.state == "RUNNING").count();
        assert_eq!(running, 700);
        assert!(apps.iter().all(|app| apps::is_valid_app_id(&app.id)));
        let queues: std::collections::BTreeSet<_> = apps.iter().map(|app| app.queue_name.as_str()).collect();
        assert_eq!(queues.len(), 4);
        assert!(
            apps.iter().any(|app| app.started_at.ends_with("+09:00"))
                && apps.iter().any(|app| app.started_at.ends_with('Z'))
        );
    }
}
