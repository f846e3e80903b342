//! DataForest accounts as `POST /api/v2/accounts/getList` describes them: the accounts the
//! caller's keys see, each with its id and its name (the `accountName` its apps carry), decoded
//! leniently since the answer's fields are not documented: an id as text or a number, a name as
//! `name` or `accountName`.

use serde_json::{Map, Value as Json};

use super::error::{ApiError, classify};

pub const ACCOUNTS_PATH: &str = "/api/v2/accounts/getList";

/// An account the caller's keys see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
}

impl AccountInfo {
    fn from_json(object: &Map<String, Json>) -> Option<AccountInfo> {
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| match object.get(*key) {
                    Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
                    Some(Json::Number(n)) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let id = text(&["id", "accountId"]);
        (!id.is_empty()).then(|| AccountInfo { id, name: text(&["name", "accountName"]) })
    }
}

/// Decodes an `accounts/getList` answer; entries without an id are skipped. An answer with no
/// `contents` list is unexpected, not an empty one: an unknown account must not be inferred from
/// an answer of another shape.
pub fn decode_accounts(status: u16, body: &[u8]) -> Result<Vec<AccountInfo>, ApiError> {
    let object = classify(status, body)?;
    match object.get("contents") {
        Some(Json::Array(items)) => {
            Ok(items.iter().filter_map(Json::as_object).filter_map(AccountInfo::from_json).collect())
        }
        _ => Err(ApiError::unexpected(status, "\"contents\" is not a list of accounts", body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_by_either_name_of_their_fields() {
        let body = br#"{"success":true,"contents":[{"id":"acc1","name":"Analytics"},{"accountId":7,"accountName":"ops"},{"name":"no id"}]}"#;
        let accounts = decode_accounts(200, body).unwrap();
        assert_eq!(
            accounts,
            [
                AccountInfo { id: "acc1".into(), name: "Analytics".into() },
                AccountInfo { id: "7".into(), name: "ops".into() }
            ]
        );
        assert!(decode_accounts(200, br#"{"success":true,"contents":[]}"#).unwrap().is_empty());
        assert!(decode_accounts(200, br#"{"success":true}"#).is_err(), "no list is no proof of no account");
        assert!(decode_accounts(200, br#"{"success":true,"contents":{}}"#).is_err());
    }
}
