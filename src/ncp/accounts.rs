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

/// The accounts the caller's keys see, and whether the answer may have left some out: one whose
/// count (`totalCount`, `total` or `totalRows`) exceeds its entries, or that holds entries
/// without an id. An account left out may bear any name, so names alone tell apps apart only
/// when the list is whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    pub seen: Vec<AccountInfo>,
    /// Why the list may not hold every account the keys see, when it may not.
    pub partial: Option<String>,
}

impl Accounts {
    /// A list known to be whole.
    pub fn whole(seen: Vec<AccountInfo>) -> Accounts {
        Accounts { seen, partial: None }
    }

    /// Why `name` may not tell the apps of the account `id` from others', when it may not: the
    /// list is partial, another account has no name (it may be the same), another account bears
    /// it, or the list gives the account two names.
    pub fn name_doubt(&self, id: &str, name: &str) -> Option<String> {
        if let Some(doubt) = self.unknown_names(id, name) {
            return Some(doubt);
        }
        let sharing: Vec<&str> = self
            .seen
            .iter()
            .filter(|other| other.name == name && other.id != id)
            .map(|other| other.id.as_str())
            .collect();
        if !sharing.is_empty() {
            return Some(format!("account {id:?} shares its name {name:?} with {}", sharing.join(", ")));
        }
        let names: Vec<&str> =
            self.seen.iter().filter(|other| other.id == id).map(|other| other.name.as_str()).collect();
        if names.iter().any(|other| *other != name) {
            return Some(format!("accounts/getList lists account {id:?} twice, under different names"));
        }
        None
    }

    /// Why an account other than `id` may bear `name` unseen, when one may: the list is
    /// partial, or gives an account no name.
    pub fn unknown_names(&self, id: &str, name: &str) -> Option<String> {
        if let Some(why) = &self.partial {
            return Some(format!(
                "accounts/getList {why}, and an account left out may be named {name:?} too"
            ));
        }
        let nameless: Vec<&str> = self
            .seen
            .iter()
            .filter(|other| other.id != id && other.name.is_empty())
            .map(|other| other.id.as_str())
            .collect();
        if !nameless.is_empty() {
            return Some(format!(
                "accounts/getList gives {} no name, and {} may be named {name:?} too",
                nameless.join(", "),
                if nameless.len() == 1 { "it" } else { "they" }
            ));
        }
        None
    }
}

/// Decodes an `accounts/getList` answer; entries without an id are skipped, and make the list
/// partial. An answer with no `contents` list is unexpected, not an empty one: an unknown
/// account must not be inferred from an answer of another shape.
pub fn decode_accounts(status: u16, body: &[u8]) -> Result<Accounts, ApiError> {
    let object = classify(status, body)?;
    let Some(Json::Array(items)) = object.get("contents") else {
        return Err(ApiError::unexpected(status, "\"contents\" is not a list of accounts", body));
    };
    let seen: Vec<AccountInfo> =
        items.iter().filter_map(Json::as_object).filter_map(AccountInfo::from_json).collect();
    let claimed = ["totalCount", "total", "totalRows"]
        .iter()
        .filter_map(|key| match object.get(*key)? {
            Json::Number(number) => number.as_f64(),
            Json::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        })
        .fold(0.0, f64::max);
    let partial = if seen.len() < items.len() {
        Some(format!("holds {} entries without an account id", items.len() - seen.len()))
    } else if claimed > seen.len() as f64 {
        Some(format!("lists {} accounts of {claimed}", seen.len()))
    } else {
        None
    };
    Ok(Accounts { seen, partial })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_by_either_name_of_their_fields() {
        let body = br#"{"success":true,"contents":[{"id":"acc1","name":"Analytics"},{"accountId":7,"accountName":"ops"},{"name":"no id"}]}"#;
        let accounts = decode_accounts(200, body).unwrap();
        assert_eq!(accounts.partial.as_deref(), Some("holds 1 entries without an account id"));
        assert_eq!(
            accounts.seen,
            [
                AccountInfo { id: "acc1".into(), name: "Analytics".into() },
                AccountInfo { id: "7".into(), name: "ops".into() }
            ]
        );
        assert_eq!(decode_accounts(200, br#"{"success":true,"contents":[]}"#).unwrap(), Accounts::default());
        assert!(decode_accounts(200, br#"{"success":true}"#).is_err(), "no list is no proof of no account");
        assert!(decode_accounts(200, br#"{"success":true,"contents":{}}"#).is_err());
        let counted = |count: &str| {
            let body =
                format!(r#"{{"success":true,{count}"contents":[{{"id":"acc1","name":"Analytics"}}]}}"#);
            decode_accounts(200, body.as_bytes()).unwrap().partial
        };
        assert_eq!(counted(r#""totalCount":1,"#), None);
        assert_eq!(counted(r#""totalCount":"3","#).as_deref(), Some("lists 1 accounts of 3"));
        assert_eq!(counted(r#""total":2,"#).as_deref(), Some("lists 1 accounts of 2"));
    }

    #[test]
    fn a_name_tells_an_accounts_apps_only_when_no_other_account_may_bear_it() {
        let account = |id: &str, name: &str| AccountInfo { id: id.into(), name: name.into() };
        let doubt = |seen: Vec<AccountInfo>| Accounts::whole(seen).name_doubt("acc", "Analytics");
        assert_eq!(doubt(vec![account("acc", "Analytics"), account("ops", "Ops")]), None);
        let nameless = doubt(vec![account("acc", "Analytics"), account("ops", "")]).unwrap();
        assert!(nameless.contains("gives ops no name"), "{nameless}");
        let shared = doubt(vec![account("acc", "Analytics"), account("ops", "Analytics")]).unwrap();
        assert!(shared.contains("shares its name"), "{shared}");
        let twice = doubt(vec![account("acc", "Analytics"), account("acc", "Production")]).unwrap();
        assert!(twice.contains("twice"), "{twice}");
        let partial = Accounts { partial: Some("lists 1 accounts of 3".into()), ..Accounts::default() };
        assert!(partial.name_doubt("acc", "Analytics").unwrap().contains("of 3, and an account left out"));
    }
}
