//! DataForest accounts as `POST /api/v2/accounts/getList` describes them: the accounts the
//! caller's keys see, each with its id and its name (the `accountName` its apps carry), decoded
//! leniently since the answer's fields are not documented: an id as text or a number, a name as
//! `name` or `accountName`.

use serde_json::Value as Json;

use super::error::{ApiError, classify};

pub const ACCOUNTS_PATH: &str = "/api/v2/accounts/getList";

/// An account the caller's keys see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
}

impl AccountInfo {
    /// The account an entry of the answer describes, from its members in order (a key given
    /// twice stays twice): `None` without an id; an error when it gives two ids or two names
    /// (as `id` and `accountId`, or one key twice), which says two things of one account.
    fn from_members(members: &[(String, Json)]) -> Result<Option<AccountInfo>, String> {
        // An id may be a number; a name is text only.
        let text = |keys: &[&str], what: &str, numbers: bool| -> Result<String, String> {
            let mut given: Vec<String> = members
                .iter()
                .filter(|(key, _)| keys.contains(&key.as_str()))
                .filter_map(|(_, value)| match value {
                    Json::String(s) if !s.is_empty() => Some(s.clone()),
                    Json::Number(n) if numbers => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            given.dedup();
            match &given[..] {
                [] => Ok(String::new()),
                [one] => Ok(one.clone()),
                [first, second, ..] => Err(format!("gives an account two {what} ({first:?} and {second:?})")),
            }
        };
        let id = text(&["id", "accountId"], "ids", true)?;
        let name = text(&["name", "accountName"], "names", false)?;
        Ok((!id.is_empty()).then_some(AccountInfo { id, name }))
    }
}

/// An object's members in order, a key given twice kept twice (a JSON map keeps the last);
/// anything but an object is `None`.
struct Members(Option<Vec<(String, Json)>>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an account")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Json>()? {
                    members.push(member);
                }
                Ok(Members(Some(members)))
            }
            skip_others!(Members(None); visit_seq, visit_str, visit_u64, visit_i64, visit_f64, visit_bool, visit_unit);
        }
        deserializer.deserialize_any(Visit)
    }
}

/// The list of an `accounts/getList` answer, each entry's members in order, and its counts. A
/// key given twice at the top level fails the answer.
#[derive(serde::Deserialize)]
struct ListedAccounts {
    contents: Vec<Members>,
    #[serde(rename = "totalCount")]
    total_count: Option<Json>,
    total: Option<Json>,
    #[serde(rename = "totalRows")]
    total_rows: Option<Json>,
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
    #[cfg(test)]
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
/// partial, as do an entry that gives two ids or two names, and a count (`totalCount`, `total`,
/// `totalRows`) above the entries or that cannot be read. An answer with no `contents` list is
/// unexpected, not an empty one: an unknown account must not be inferred from an answer of
/// another shape.
pub fn decode_accounts(status: u16, body: &[u8]) -> Result<Accounts, ApiError> {
    let object = classify(status, body)?;
    let listed = match object.get("contents") {
        Some(Json::Array(_)) => serde_json::from_slice::<ListedAccounts>(body).ok(),
        _ => None,
    };
    let Some(ListedAccounts { contents, total_count, total, total_rows }) = listed else {
        let reason = "no list of accounts (\"contents\" missing or not a list, or a key given twice)";
        return Err(ApiError::unexpected(status, reason, body));
    };
    let mut seen = Vec::with_capacity(contents.len());
    let mut doubts = Vec::new();
    for Members(members) in &contents {
        match members.as_deref().map(AccountInfo::from_members) {
            Some(Ok(Some(account))) => seen.push(account),
            Some(Err(doubt)) => doubts.push(doubt),
            Some(Ok(None)) | None => {}
        }
    }
    let without_id = contents.len() - seen.len() - doubts.len();
    let mut claimed = 0.0f64;
    for (key, given) in [("totalCount", total_count), ("total", total), ("totalRows", total_rows)] {
        let count = match given {
            None | Some(Json::Null) => continue,
            Some(Json::Number(number)) => number.as_f64(),
            Some(Json::String(text)) => text.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match count {
            Some(count) if count.is_finite() && count >= 0.0 => claimed = claimed.max(count),
            _ => doubts.push(format!("gives a {key} that is no count")),
        }
    }
    let partial = if let Some(doubt) = doubts.first() {
        Some(doubt.clone())
    } else if without_id > 0 {
        Some(format!("holds {without_id} entries without an account id"))
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
        let body = br#"{"success":true,"contents":[{"id":"acc1","name":"Analytics"},{"accountId":7,"accountName":"ops"},{"id":"n","name":5},{"name":"no id"}]}"#;
        let accounts = decode_accounts(200, body).unwrap();
        assert_eq!(accounts.partial.as_deref(), Some("holds 1 entries without an account id"));
        assert_eq!(
            accounts.seen,
            [
                AccountInfo { id: "acc1".into(), name: "Analytics".into() },
                AccountInfo { id: "7".into(), name: "ops".into() },
                AccountInfo { id: "n".into(), name: String::new() }
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
        for unreadable in [r#""totalCount":"many","#, r#""total":-3,"#, r#""totalRows":true,"#] {
            assert!(counted(unreadable).is_some_and(|why| why.contains("no count")), "{unreadable}");
        }
        // A count given twice is no answer to rely on.
        let twice =
            br#"{"success":true,"totalCount":3,"totalCount":1,"contents":[{"id":"acc1","name":"A"}]}"#;
        assert!(decode_accounts(200, twice).is_err());
        // An entry that gives two ids or two names says two things of one account.
        for twice in [
            r#"{"id":"ops","name":"Analytics","name":"Ops"}"#,
            r#"{"id":"ops","accountName":"Ops","name":"Analytics"}"#,
            r#"{"id":"ops","accountId":"acc1","name":"Ops"}"#,
        ] {
            let body =
                format!(r#"{{"success":true,"contents":[{{"id":"acc1","name":"Analytics"}},{twice}]}}"#);
            let accounts = decode_accounts(200, body.as_bytes()).unwrap();
            assert!(accounts.partial.is_some_and(|why| why.contains("gives an account two")), "{twice}");
        }
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
