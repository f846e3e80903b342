//! The DataForest client: signs each request with signature v2, sends it with reqwest, reads at
//! most [`MAX_BODY_BYTES`] of the answer and decodes it into a typed result or [`ApiError`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};

use super::endpoint::Endpoint;
use super::error::{ApiError, classify};
use super::signing;

/// The kill call's path.
pub const KILL_PATH: &str = "/api/v2/aiapps/kill";
/// Answers longer than this are refused rather than read.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Bound on one HTTP attempt, so a silent endpoint cannot hang an apply.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An NCP secret key. Its `Debug` and `Display` never show it.
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

/// What DataForest answered to a successful kill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillOutcome {
    pub id: String,
    pub success: bool,
    pub message: String,
}

pub struct DataForestClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    credentials: Credentials,
}

impl DataForestClient {
    pub fn new(endpoint: Endpoint, credentials: Credentials) -> Result<DataForestClient, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("terraform-provider-ncloud/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ApiError::Transport {
                reason: format!("cannot set up HTTP: {e}"),
                timed_out: false,
            })?;
        Ok(DataForestClient { http, endpoint, credentials })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Forcibly ends an AI app: one signed `POST /api/v2/aiapps/kill`.
    pub async fn kill(&self, app_id: &str) -> Result<KillOutcome, ApiError> {
        let (status, body) = self.post(KILL_PATH, &json!({ "id": app_id })).await?;
        decode_kill(status, &body, app_id)
    }

    async fn post(&self, api_path: &str, body: &Json) -> Result<(u16, Vec<u8>), ApiError> {
        let url = self.endpoint.url_for(api_path);
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let signature = signing::sign(
            "POST",
            url.path(),
            timestamp,
            &self.credentials.access_key,
            self.credentials.secret_key.expose(),
        );
        let started = std::time::Instant::now();
        let mut response = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
            .header(signing::ACCESS_KEY_HEADER, &self.credentials.access_key)
            .header(signing::SIGNATURE_HEADER, signature)
            .body(body.to_string())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::unexpected(status, "the body is larger than 1 MiB", &bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(
            method = "POST",
            path = url.path(),
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            "DataForest call"
        );
        Ok((status, bytes))
    }
}

fn transport_error(error: reqwest::Error) -> ApiError {
    // reqwest's message names the URL, which holds no secret; the signature is in a header.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    ApiError::Transport { reason, timed_out: error.is_timeout() }
}

/// Decodes the kill answer. It is a success only with HTTP 2xx, `"success": true`, and the id that
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
    Ok(KillOutcome { id, success: true, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_documented_answer() {
        let outcome = decode_kill(200, br#"{"id":"abc","message":"killed","success":true}"#, "abc").unwrap();
        assert_eq!(outcome, KillOutcome { id: "abc".into(), success: true, message: "killed".into() });
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
