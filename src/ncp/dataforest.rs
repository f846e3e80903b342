//! The DataForest client: signs each request with signature v2, sends it with reqwest, reads at
//! at most [`MAX_BODY_BYTES`] of the answer (a `getList` answer, which holds an account's whole
//! history, up to [`MAX_LIST_BODY_BYTES`]), decodes it into a typed result or [`ApiError`], and
//! retries as [`super::retry`] says.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::accounts::{ACCOUNTS_PATH, Accounts, decode_accounts};
use super::apps::{AppInfo, GET_DETAIL_PATH, GET_LIST_PATH, Listing, decode_detail, decode_list};
use super::budget::{Budget, BudgetStats, RequestRate};
use super::endpoint::Endpoint;
use super::error::{ApiError, classify};
use super::network::{self, NetworkEnv, ProxyRules};
use super::retry::{self, RetryPolicy};
use super::signing;

/// The kill call's path.
pub const KILL_PATH: &str = "/api/v2/aiapps/kill";
/// Answers longer than this are refused rather than read.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// `getList` answers longer than this are refused: an account's history of tens of thousands of
/// apps fits.
pub const MAX_LIST_BODY_BYTES: usize = 64 << 20;
/// Default bound on one HTTP attempt, so a silent endpoint cannot hang an apply.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An NCP secret key. Its `Debug` never shows it, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(key: impl Into<String>) -> SecretKey {
        SecretKey(key.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

/// An access key and its secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: SecretKey,
}

/// What DataForest answered to a successful kill (`"success": true` by construction), with the
/// answer's HTTP status and how many attempts the call took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillOutcome {
    pub id: String,
    pub message: String,
    pub status: u16,
    pub attempts: u32,
}

/// How the client behaves on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Bound on each HTTP attempt.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// The most requests per second, when configured.
    pub ceiling: Option<RequestRate>,
}

impl ClientOptions {
    /// The request budget these options ask for: one a provider's clients and its audit log
    /// share.
    pub fn budget(&self) -> Budget {
        Budget::new(self.ceiling.map(RequestRate::as_f64))
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            ceiling: None,
        }
    }
}

/// A call that failed for good: the last error, how many attempts were made, and whether an
/// attempt before the last got no clear answer and may have taken effect (see
/// [`ApiError::may_have_taken_effect`]), so that the last answer need not tell the whole story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    pub error: ApiError,
    pub attempts: u32,
    pub earlier_attempt_uncertain: bool,
}

/// One HTTP answer, read, and which attempt of the call it answered (1 for the first).
struct Answer {
    attempt: u32,
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

pub struct DataForestClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    credentials: Credentials,
    retry: RetryPolicy,
    /// The request budget every call of the client shares.
    budget: Arc<Budget>,
    /// The API Gateway's answer that the keys' quota is spent, once a call got it: every later
    /// call fails with it before it is sent (calls waiting in the budget included), since the
    /// quota holds until it is raised.
    quota_spent: OnceLock<ApiError>,
    /// Cancelled once `quota_spent` holds the answer: it wakes the calls waiting in the budget.
    quota_closed: CancellationToken,
}

impl DataForestClient {
    /// A client for `endpoint`, reaching it through the proxy and trusting the CAs that `network`
    /// names (see [`super::network`]), whose calls wait for `budget` (made by
    /// [`ClientOptions::budget`]). The CAs are read only when TLS is needed.
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        options: ClientOptions,
        network: &NetworkEnv,
        budget: Arc<Budget>,
    ) -> Result<DataForestClient, ApiError> {
        let setup = |error: &dyn std::error::Error| ApiError::Local {
            reason: format!("cannot set up HTTP: {}", with_causes(error)),
        };
        let mut http = reqwest::Client::builder()
            .user_agent(concat!("terraform-provider-ncloud/", env!("CARGO_PKG_VERSION")))
            .timeout(options.request_timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(options.request_timeout))
            // A redirect would carry the signed headers to whatever host it names.
            .redirect(reqwest::redirect::Policy::none());
        let proxy = ProxyRules::from_env(network).map_err(|error| setup(&error))?;
        let proxy_text = proxy.as_ref().map_or_else(|| "none".to_string(), ProxyRules::describe);
        http = match proxy {
            Some(rules) => http.proxy(reqwest::Proxy::custom(move |url| rules.proxy_for(url))),
            None => http.no_proxy(),
        };
        // The CAs are read only for an https endpoint (plain http goes to loopback, never through
        // a proxy). The TLS set-up is always this one: reqwest's own would read the system's CAs
        // at once, by rules other than Go's.
        let roots = if endpoint.is_https() {
            network::trusted_cas(network).map_err(|error| setup(&error))?
        } else {
            rustls::RootCertStore::empty()
        };
        let trusted = roots.len();
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| setup(&error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        http = http.tls_backend_preconfigured(tls);
        let http = http.build().map_err(|error| setup(&error))?;
        tracing::debug!(proxy = %proxy_text, trusted_cas = trusted, "HTTP client set up");
        Ok(DataForestClient {
            http,
            endpoint,
            credentials,
            retry: options.retry,
            budget,
            quota_spent: OnceLock::new(),
            quota_closed: CancellationToken::new(),
        })
    }

    /// How often the gateway throttled the calls of this client's budget, and the rate it
    /// allows now.
    pub fn budget_stats(&self) -> BudgetStats {
        self.budget.stats()
    }

    /// Forcibly ends an AI app: a signed `POST /api/v2/aiapps/kill`, retried as the policy says.
    pub async fn kill(&self, app_id: &str) -> Result<KillOutcome, CallError> {
        self.call_with_retries(KILL_PATH, &json!({ "id": app_id }), MAX_BODY_BYTES, |answer| {
            let decoded = decode_kill(answer.status, &answer.body, app_id)
                .map(|outcome| KillOutcome { attempts: answer.attempt, ..outcome });
            std::future::ready(decoded)
        })
        .await
    }

    /// One app's details: `POST /api/v2/aiapps/getDetail`.
    pub async fn get_detail(&self, id: &str) -> Result<AppInfo, CallError> {
        self.call_with_retries(GET_DETAIL_PATH, &json!({ "id": id }), MAX_BODY_BYTES, |answer| {
            std::future::ready(decode_detail(answer.status, &answer.body, id))
        })
        .await
    }

    /// The apps of a DataForest account: `POST /api/v2/aiapps/getList`. A large answer takes a
    /// while to decode, so it is decoded off the async workers: the time-out and Terraform's stop
    /// can abandon the call meanwhile.
    pub async fn list_apps(&self, account_id: &str) -> Result<Listing, CallError> {
        let body = json!({ "search": { "accountId": account_id } });
        self.call_with_retries(GET_LIST_PATH, &body, MAX_LIST_BODY_BYTES, |answer| async move {
            let decoding = tokio::task::spawn_blocking(move || decode_list(answer.status, &answer.body));
            decoding.await.unwrap_or_else(|failed| {
                Err(ApiError::Local { reason: format!("decoding the listing failed: {failed}") })
            })
        })
        .await
    }

    /// The accounts these keys see (`accounts/getList`).
    pub async fn list_accounts(&self) -> Result<Accounts, CallError> {
        self.call_with_retries(ACCOUNTS_PATH, &json!({}), MAX_BODY_BYTES, |answer| {
            std::future::ready(decode_accounts(answer.status, &answer.body))
        })
        .await
    }

    /// Calls `api_path`, reading at most `limit` bytes of each answer and decoding it with
    /// `decode`, retried as the policy says.
    async fn call_with_retries<T, Decoded>(
        &self,
        api_path: &str,
        body: &Json,
        limit: usize,
        decode: impl Fn(Answer) -> Decoded,
    ) -> Result<T, CallError>
    where
        Decoded: Future<Output = Result<T, ApiError>>,
    {
        let mut attempts = 0;
        // Retries that count against `max_retries`: a throttled call is sent again without
        // counting, once the budget allows, until its caller's time-out or stop.
        let mut retries = 0;
        // Attempts the gateway throttled.
        let mut throttled = 0;
        let mut earlier_attempt_uncertain = false;
        loop {
            // A spent quota refuses the call here, unsent, even while it waits in the budget: the
            // throttled attempts never reached DataForest either, so a call that had only those
            // counts as never sent.
            let sent = tokio::select! {
                biased;
                () = self.quota_closed.cancelled() => None,
                sent = self.budget.acquire() => Some(sent),
            };
            if let Some(spent) = self.quota_spent.get() {
                let attempts = attempts - throttled;
                return Err(CallError { error: spent.clone(), attempts, earlier_attempt_uncertain });
            }
            // The token is cancelled only once the answer is kept, so the check above has ended
            // the call by then.
            let Some(sent) = sent else { continue };
            attempts += 1;
            let (error, retry_after) = match self.post(api_path, body, limit, attempts).await {
                Ok(answer) => {
                    let retry_after = answer.retry_after;
                    let throttled_now = answer.status == 429;
                    match decode(answer).await {
                        Ok(decoded) => {
                            self.budget.answered();
                            return Ok(decoded);
                        }
                        Err(error) if throttled_now && !error.is_quota_exceeded() => {
                            throttled += 1;
                            self.budget.throttled(sent, retry_after);
                            tracing::debug!(path = api_path, attempts, %error, "throttled: sending again");
                            continue;
                        }
                        Err(error) => {
                            self.budget.answered();
                            if error.is_quota_exceeded() {
                                // The first answer is kept; the later ones say the same.
                                let _ = self.quota_spent.set(error.clone());
                                self.quota_closed.cancel();
                            }
                            (error, retry_after)
                        }
                    }
                }
                Err(error) => (error, None),
            };
            if retries >= self.retry.max_retries || !retry::is_retryable(&error) {
                return Err(CallError { error, attempts, earlier_attempt_uncertain });
            }
            retries += 1;
            earlier_attempt_uncertain |= error.may_have_taken_effect();
            let wait = self.retry.wait(retries, retry_after, retry::jitter());
            tracing::debug!(path = api_path, attempts, wait_ms = wait.as_millis() as u64, %error, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt, logged at debug with its outcome and duration; never with a header.
    async fn post(
        &self,
        api_path: &str,
        body: &Json,
        limit: usize,
        attempt: u32,
    ) -> Result<Answer, ApiError> {
        let started = std::time::Instant::now();
        let result = self.send(api_path, body, limit, attempt).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(answer) => {
                tracing::debug!(
                    method = "POST",
                    path = api_path,
                    status = answer.status,
                    duration_ms,
                    "DataForest call"
                )
            }
            Err(error) => {
                tracing::debug!(method = "POST", path = api_path, duration_ms, %error, "DataForest call failed")
            }
        }
        result
    }

    async fn send(
        &self,
        api_path: &str,
        body: &Json,
        limit: usize,
        attempt: u32,
    ) -> Result<Answer, ApiError> {
        let url = self.endpoint.url_for(api_path);
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let signature = signing::sign(
            "POST",
            url.path(),
            timestamp,
            &self.credentials.access_key,
            self.credentials.secret_key.expose(),
        );
        let mut response = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
            .header(signing::ACCESS_KEY_HEADER, sensitive(&self.credentials.access_key)?)
            .header(signing::SIGNATURE_HEADER, sensitive(&signature)?)
            .body(body.to_string())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(ApiError::Redirect { status, location: redirect_host(&url, response.headers()) });
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(retry::parse_retry_after);
        // Sized once when the length is known, rather than doubled while reading.
        let expected = response.content_length().map_or(0, |length| length.min(limit as u64) as usize);
        let mut bytes = Vec::with_capacity(expected);
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > limit {
                let reason = format!("the body is larger than {} MiB", limit >> 20);
                return Err(ApiError::unexpected(status, reason, &bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Answer { attempt, status, retry_after, body: bytes })
    }
}

/// The host a redirect points at, for the error message; never followed.
fn redirect_host(request: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> String {
    let Some(location) = headers.get(reqwest::header::LOCATION) else {
        return "nowhere (no Location header)".to_string();
    };
    let target = location.to_str().ok().and_then(|text| request.join(text).ok());
    match target.as_ref().and_then(|url| Some((url.scheme(), url.host_str()?, url.port()))) {
        Some((scheme, host, Some(port))) => format!("{scheme}://{host}:{port}"),
        Some((scheme, host, None)) => format!("{scheme}://{host}"),
        None => "an unreadable Location".to_string(),
    }
}

/// A header value that HTTP libraries redact wherever they print headers.
fn sensitive(text: &str) -> Result<reqwest::header::HeaderValue, ApiError> {
    let mut value = reqwest::header::HeaderValue::from_str(text).map_err(|_| ApiError::Local {
        reason: "a credential holds characters an HTTP header cannot carry".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// An error and the chain of errors that caused it, as one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

fn transport_error(error: reqwest::Error) -> ApiError {
    // reqwest's message names the URL, which holds no secret; the signature is in a header.
    let reason = with_causes(&error);
    if is_certificate_error(&error) {
        ApiError::Certificate { reason }
    } else {
        // A failed connect sent nothing; after that, the request may have gone out.
        ApiError::Transport { reason, timed_out: error.is_timeout(), connected: !error.is_connect() }
    }
}

/// Whether rustls refused a certificate anywhere in the chain, looking inside `io::Error`s too:
/// their `source()` skips the error they wrap.
fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(rustls::Error::InvalidCertificate(_)) = error.downcast_ref::<rustls::Error>() {
        return true;
    }
    let wrapped = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
    wrapped.is_some_and(|inner| is_certificate_error(inner))
        || error.source().is_some_and(is_certificate_error)
}

/// Decodes the kill answer (as a first attempt's). It is a success only with HTTP 2xx, `"success": true`, and the id that
/// was asked for; anything else is an error, so a kill that did not happen is never recorded.
pub fn decode_kill(status: u16, body: &[u8], requested_id: &str) -> Result<KillOutcome, ApiError> {
    let object = classify(status, body)?;
    let id = match object.get("id") {
        Some(Json::String(id)) => id.clone(),
        Some(_) => return Err(ApiError::unexpected(status, "\"id\" is not a string", body)),
        None => return Err(ApiError::unexpected(status, "\"id\" is missing", body)),
    };
    if id != requested_id {
        return Err(ApiError::unexpected(
            status,
            format!("the answer is for app {id:?}, not {requested_id:?}"),
            body,
        ));
    }
    let message = match object.get("message") {
        Some(Json::String(message)) => message.clone(),
        None | Some(Json::Null) => String::new(),
        Some(_) => return Err(ApiError::unexpected(status, "\"message\" is not a string", body)),
    };
    Ok(KillOutcome { id, message, status, attempts: 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_documented_answer() {
        let outcome = decode_kill(200, br#"{"id":"abc","message":"killed","success":true}"#, "abc").unwrap();
        assert_eq!(
            outcome,
            KillOutcome { id: "abc".into(), message: "killed".into(), status: 200, attempts: 1 }
        );
    }

    #[test]
    fn answer_for_another_app_is_refused() {
        let error = decode_kill(200, br#"{"id":"zzz","message":"","success":true}"#, "abc").unwrap_err();
        assert!(error.to_string().contains(r#"the answer is for app "zzz", not "abc""#), "{error}");
    }

    #[test]
    fn wrong_field_types_are_refused() {
        assert!(decode_kill(200, br#"{"id":1,"success":true}"#, "1").is_err());
        assert!(decode_kill(200, br#"{"success":true}"#, "a").is_err());
        assert!(decode_kill(200, br#"{"id":"a","message":5,"success":true}"#, "a").is_err());
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let credentials = Credentials { access_key: "AK".into(), secret_key: SecretKey::new("s3cr3t") };
        assert!(!format!("{credentials:?}").contains("s3cr3t"));
    }
}
