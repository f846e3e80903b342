//! NCP API Gateway signature v2: the string to sign, the HMAC-SHA256 signature and the three
//! headers that carry it. Pure functions, so the fiddly part is tested against fixed vectors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header carrying the request time in milliseconds since the Unix epoch.
pub const TIMESTAMP_HEADER: &str = "x-ncp-apigw-timestamp";
/// Header carrying the access key.
pub const ACCESS_KEY_HEADER: &str = "x-ncp-iam-access-key";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-ncp-apigw-signature-v2";

/// `METHOD PATH[?QUERY]\nTIMESTAMP\nACCESS_KEY`: no host, no body, no trailing newline.
pub fn string_to_sign(method: &str, path_and_query: &str, timestamp_ms: u64, access_key: &str) -> String {
    format!("{method} {path_and_query}\n{timestamp_ms}\n{access_key}")
}

/// Standard base64 (padded) of HMAC-SHA256 over [`string_to_sign`], keyed with the secret key.
pub fn sign(
    method: &str,
    path_and_query: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret_key: &str,
) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(method, path_and_query, timestamp_ms, access_key).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is the correct one for the request; compares in constant time.
pub fn verify(
    method: &str,
    path_and_query: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret_key: &str,
    signature: &str,
) -> bool {
    let Ok(claimed) = STANDARD.decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(method, path_and_query, timestamp_ms, access_key).as_bytes());
    mac.verify_slice(&claimed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_has_no_trailing_newline() {
        assert_eq!(
            string_to_sign("POST", "/api/v2/aiapps/kill", 1658898041497, "AK"),
            "POST /api/v2/aiapps/kill\n1658898041497\nAK"
        );
    }

    #[test]
    fn matches_go_sdk_vector() {
        assert_eq!(
            sign("GET", "/cluster/kubeconfig", 1668407407855, "access", "secret"),
            "LTJli9+OKT2KvUXxiKslMfu5FIOmDN83avehOvgUFp0="
        );
    }

    #[test]
    fn matches_python_hmac_vector_for_kill() {
        assert_eq!(
            sign("POST", "/api/v2/aiapps/kill", 1658898041497, "17F9A6E9F72BD92ED94B", "secret"),
            "FdxQoorLM1HZQ50fSJNBu3XYMxnmsroXF/dWeaHMEro="
        );
    }

    #[test]
    fn verify_accepts_own_signature_and_rejects_tampering() {
        let sig = sign("POST", "/api/v2/aiapps/kill", 1, "ak", "sk");
        assert!(verify("POST", "/api/v2/aiapps/kill", 1, "ak", "sk", &sig));
        assert!(!verify("POST", "/api/v2/aiapps/kill", 2, "ak", "sk", &sig));
        assert!(!verify("POST", "/api/v2/aiapps/getList", 1, "ak", "sk", &sig));
        assert!(!verify("POST", "/api/v2/aiapps/kill", 1, "ak", "other", &sig));
        assert!(!verify("POST", "/api/v2/aiapps/kill", 1, "ak", "sk", "not base64!"));
    }
}
