//! What can go wrong in a DataForest call, typed so callers can branch on it, and the decoder
//! that tells the documented error shapes apart from an answer that is none of them.

use std::fmt;

use serde_json::Value as Json;

/// How much of an unexpected body a message may quote.
const BODY_EXCERPT_CHARS: usize = 120;
/// How much of a message or detail from the API a message may quote.
const API_TEXT_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request could not be made at all (an HTTP client that cannot be set up, a credential
    /// no HTTP header can carry): nothing was sent.
    Local { reason: String },
    /// No HTTP answer arrived: connection refused or reset, a TLS failure other than a refused
    /// certificate, or the time-out. `connected` tells whether a connection was made, after which
    /// the request may have reached DataForest.
    Transport { reason: String, timed_out: bool, connected: bool },
    /// The endpoint's TLS certificate was refused; certificate checks are never turned off.
    Certificate { reason: String },
    /// The API Gateway in front of DataForest answered `{"error": {"errorCode", "message", ...}}`.
    Gateway { status: u16, code: String, message: String, details: Option<String> },
    /// DataForest answered `{"success": false, "message": ...}` (with any HTTP status).
    Rejected { status: u16, message: String },
    /// A redirect (HTTP 3xx), which is never followed: the signed headers must not travel to
    /// another host. `location` is the host it pointed at, as far as it could be read.
    Redirect { status: u16, location: String },
    /// An answer in none of the documented shapes; quotes only the start of the body.
    UnexpectedResponse { status: u16, reason: String, body_excerpt: String },
}

impl ApiError {
    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Local { .. } | ApiError::Transport { .. } | ApiError::Certificate { .. } => None,
            ApiError::Gateway { status, .. }
            | ApiError::Rejected { status, .. }
            | ApiError::Redirect { status, .. }
            | ApiError::UnexpectedResponse { status, .. } => Some(*status),
        }
    }

    /// Whether DataForest (not its gateway, nor the network) answered and refused: its own
    /// `{"success": false}` with a status below 500. Only then can the app's state explain why.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ApiError::Rejected { status, .. } if *status < 500)
    }

    /// Whether the API Gateway answered that the key's quota is spent (HTTP 429, error code 400):
    /// not throttling, which passes, but a limit that holds until the quota is raised.
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, ApiError::Gateway { status: 429, code, .. } if code == "400")
    }

    /// Whether DataForest answered that the thing asked for does not exist (404 "no such element").
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Rejected { status: 404, .. })
    }

    /// Whether the request may have reached DataForest and taken effect although no clear answer
    /// came back: the connection dropped or timed out after it was made, a gateway or server error
    /// answered (the gateway may have forwarded it before failing), or a 2xx answer could not be
    /// read.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            ApiError::Transport { connected, .. } => *connected,
            ApiError::UnexpectedResponse { status, .. } if (200..300).contains(status) => true,
            other => other.status().is_some_and(|status| status >= 500),
        }
    }

    pub(crate) fn unexpected(status: u16, reason: impl Into<String>, body: &[u8]) -> ApiError {
        ApiError::UnexpectedResponse {
            status,
            reason: reason.into(),
            body_excerpt: excerpt(body, BODY_EXCERPT_CHARS),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Local { reason } => write!(f, "the request could not be made: {reason}"),
            ApiError::Transport { reason, timed_out: true, .. } => write!(f, "no answer in time: {reason}"),
            ApiError::Transport { reason, timed_out: false, .. } => write!(f, "request failed: {reason}"),
            ApiError::Certificate { reason } => {
                write!(f, "the endpoint's TLS certificate was refused: {reason}")
            }
            ApiError::Gateway { status, code, message, details } => {
                write!(f, "HTTP {status}, API Gateway error {code}: {message}")?;
                match details {
                    Some(details) if !details.is_empty() && details != message => write!(f, " ({details})"),
                    _ => Ok(()),
                }
            }
            ApiError::Rejected { status, message } => write!(f, "HTTP {status}, DataForest: {message}"),
            ApiError::Redirect { status, location } => write!(
                f,
                "HTTP {status}, a redirect to {location}, which is not followed: signed requests go only to the \
                 configured endpoint"
            ),
            ApiError::UnexpectedResponse { status, reason, body_excerpt } if body_excerpt.is_empty() => {
                write!(f, "HTTP {status}, unexpected answer: {reason} (empty body)")
            }
            ApiError::UnexpectedResponse { status, reason, body_excerpt } => {
                write!(f, "HTTP {status}, unexpected answer: {reason}; body starts {body_excerpt:?}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// Classifies an answer: returns the JSON object of a success (HTTP 2xx with `"success": true`),
/// or the error it carries. A call is never taken as done unless `success` is literally `true`.
pub fn classify(status: u16, body: &[u8]) -> Result<serde_json::Map<String, Json>, ApiError> {
    let json: Json = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(_) => return Err(ApiError::unexpected(status, "the body is not JSON", body)),
    };
    let Json::Object(object) = json else {
        return Err(ApiError::unexpected(status, "the body is not a JSON object", body));
    };
    if let Some(error) = object.get("error") {
        return Err(gateway_error(status, error, body));
    }
    match object.get("success") {
        Some(Json::Bool(true)) if (200..300).contains(&status) => Ok(object),
        Some(Json::Bool(true)) => {
            Err(ApiError::unexpected(status, "an error status with \"success\": true", body))
        }
        Some(Json::Bool(false)) => Err(ApiError::Rejected {
            status,
            message: match object.get("message") {
                Some(Json::String(message)) if !message.is_empty() => {
                    excerpt(message.as_bytes(), API_TEXT_CHARS)
                }
                _ => "(no message)".to_string(),
            },
        }),
        Some(_) => Err(ApiError::unexpected(status, "\"success\" is not a boolean", body)),
        None => Err(ApiError::unexpected(status, "\"success\" is missing", body)),
    }
}

fn gateway_error(status: u16, error: &Json, body: &[u8]) -> ApiError {
    let text = |key: &str| match error.get(key) {
        Some(Json::String(s)) => Some(excerpt(s.as_bytes(), API_TEXT_CHARS)),
        Some(Json::Number(n)) => Some(excerpt(n.to_string().as_bytes(), API_TEXT_CHARS)),
        _ => None,
    };
    match (text("errorCode"), text("message")) {
        (Some(code), Some(message)) => ApiError::Gateway { status, code, message, details: text("details") },
        _ => ApiError::unexpected(status, "an \"error\" object without errorCode and message", body),
    }
}

/// The first `limit` characters of a text, printable and on one line, for messages.
fn excerpt(body: &[u8], limit: usize) -> String {
    // A character is at most 4 bytes: what the excerpt can show is in the first bytes alone.
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * limit + 4)]);
    let mut out = String::new();
    let mut last_space = true;
    for c in text.chars() {
        if out.chars().count() >= limit {
            out.push('…');
            break;
        }
        if c.is_whitespace() || c.is_control() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_true_with_2xx_is_success() {
        let object = classify(200, br#"{"id":"a","message":"ok","success":true}"#).unwrap();
        assert_eq!(object["message"], "ok");
    }

    #[test]
    fn success_false_is_a_rejection_even_with_200() {
        assert_eq!(
            classify(200, br#"{"success":false,"message":"not allowed to access"}"#),
            Err(ApiError::Rejected { status: 200, message: "not allowed to access".into() })
        );
        assert_eq!(
            classify(404, br#"{"success":false,"message":"no such element"}"#),
            Err(ApiError::Rejected { status: 404, message: "no such element".into() })
        );
    }

    #[test]
    fn gateway_error_shape() {
        let body =
            br#"{"error":{"errorCode":"210","message":"Permission Denied","details":"no permission"}}"#;
        let error = classify(401, body).unwrap_err();
        assert_eq!(
            error,
            ApiError::Gateway {
                status: 401,
                code: "210".into(),
                message: "Permission Denied".into(),
                details: Some("no permission".into())
            }
        );
        assert_eq!(error.to_string(), "HTTP 401, API Gateway error 210: Permission Denied (no permission)");
    }

    #[test]
    fn html_page_is_quoted_briefly() {
        let page = format!("<html>\n<body>\n<h1>502 Bad Gateway</h1>{}</body></html>", "x".repeat(5000));
        let error = classify(502, page.as_bytes()).unwrap_err();
        let ApiError::UnexpectedResponse { status: 502, body_excerpt, .. } = &error else {
            panic!("unexpected {error:?}")
        };
        assert!(body_excerpt.starts_with("<html> <body> <h1>502 Bad Gateway</h1>"));
        assert!(error.to_string().len() < 300);
    }

    #[test]
    fn long_api_messages_are_cut_short() {
        let body = format!(r#"{{"success":false,"message":"{}"}}"#, "m".repeat(100_000));
        assert!(classify(500, body.as_bytes()).unwrap_err().to_string().len() < 400);
        let body =
            format!(r#"{{"error":{{"errorCode":"1","message":"x","details":"{}"}}}}"#, "d".repeat(100_000));
        assert!(classify(500, body.as_bytes()).unwrap_err().to_string().len() < 400);
    }

    #[test]
    fn missing_or_mistyped_success_is_never_success() {
        for body in
            [&br#"{"id":"a"}"#[..], br#"{"success":"true"}"#, br#"{"success":1}"#, b"[]", b"", b"true"]
        {
            assert!(matches!(classify(200, body), Err(ApiError::UnexpectedResponse { .. })), "{body:?}");
        }
        assert!(matches!(classify(500, br#"{"success":true}"#), Err(ApiError::UnexpectedResponse { .. })));
    }
}
