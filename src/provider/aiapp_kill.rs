//! The `ncloud_dataforest_aiapp_kill` resource: creating it force-ends a DataForest AI app and
//! records what the API answered. A kill cannot be undone, so reading and destroying make no
//! call; every argument forces a replacement, which kills again.

use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use crate::ncp::{DataForestClient, KillOutcome};
use crate::protocol::schema::{Attribute, Schema, Type};
use crate::protocol::value::Value;

use super::error::ProviderError;

pub const TYPE_NAME: &str = "ncloud_dataforest_aiapp_kill";
/// Longest DataForest AI app id.
const APP_ID_MAX_CHARS: usize = 22;
/// The arguments; a change to any of them replaces the resource.
const ARGUMENTS: [&str; 2] = ["app_id", "triggers"];
const COMPUTED: [&str; 4] = ["id", "success", "message", "killed_at"];

pub fn schema() -> Schema {
    Schema {
        version: 0,
        description: "Force-ends a DataForest AI app through the signed `POST /api/v2/aiapps/kill` call and records \
            the API's answer. Reading and destroying make no API call; changing `app_id` or `triggers` kills again.",
        attributes: vec![
            Attribute::required(
                "app_id",
                Type::String,
                "The AI app id: 1 to 22 characters of `0-9`, `A-Z`, `a-z`. Changing it kills the new app.",
            ),
            Attribute::optional(
                "triggers",
                Type::Map(Box::new(Type::String)),
                "Arbitrary values; changing any of them replaces the resource and kills the app again.",
            ),
            Attribute::computed("id", Type::String, "The app id DataForest answered."),
            Attribute::computed("success", Type::Bool, "DataForest's `success`."),
            Attribute::computed("message", Type::String, "DataForest's `message`."),
            Attribute::computed(
                "killed_at",
                Type::String,
                "RFC 3339 UTC time at which the kill call returned.",
            ),
        ],
    }
}

pub fn is_valid_app_id(id: &str) -> bool {
    (1..=APP_ID_MAX_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the configuration; unknown values pass, to be checked when known.
pub fn validate(config: &Value) -> Vec<ProviderError> {
    match config.get("app_id") {
        Value::String(id) if !is_valid_app_id(id) => vec![ProviderError::InvalidAppId { value: id.clone() }],
        _ => Vec::new(),
    }
}

/// A planned change: the state after apply as far as known, and what forces a replacement.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub planned: Value,
    pub requires_replace: Vec<&'static str>,
}

pub fn plan(prior: &Value, proposed: &Value) -> Plan {
    if proposed == &Value::Null {
        return Plan { planned: Value::Null, requires_replace: Vec::new() };
    }
    let requires_replace: Vec<&'static str> = match prior {
        Value::Null => Vec::new(),
        _ => ARGUMENTS.into_iter().filter(|name| prior.get(name) != proposed.get(name)).collect(),
    };
    if prior != &Value::Null && requires_replace.is_empty() {
        return Plan { planned: prior.clone(), requires_replace };
    }
    let arguments = ARGUMENTS.into_iter().map(|name| (name, proposed.get(name).clone()));
    let computed = COMPUTED.into_iter().map(|name| (name, Value::Unknown));
    Plan { planned: Value::object(arguments.chain(computed)), requires_replace }
}

/// Sends the kill and returns the state to record. On any failure nothing is recorded.
pub async fn create(
    client: &DataForestClient,
    planned: &Value,
    stop: &CancellationToken,
) -> Result<Value, ProviderError> {
    let app_id = match planned.get("app_id") {
        Value::String(id) if is_valid_app_id(id) => id.clone(),
        Value::String(id) => return Err(ProviderError::InvalidAppId { value: id.clone() }),
        _ => return Err(ProviderError::InvalidAppId { value: String::new() }),
    };
    let outcome = tokio::select! {
        // Checked first, so nothing is sent once Terraform has asked to stop.
        biased;
        () = stop.cancelled() => return Err(ProviderError::KillInterrupted { app_id }),
        outcome = client.kill(&app_id) => outcome,
    };
    let KillOutcome { id, success, message } =
        outcome.map_err(|error| ProviderError::KillFailed { app_id: app_id.clone(), error })?;
    tracing::info!(app_id = %app_id, "AI app killed");
    Ok(Value::object([
        ("app_id", Value::String(app_id)),
        ("triggers", planned.get("triggers").clone()),
        ("id", Value::String(id)),
        ("success", Value::Bool(success)),
        ("message", Value::String(message)),
        ("killed_at", Value::String(humantime::format_rfc3339_seconds(SystemTime::now()).to_string())),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(app_id: &str, triggers: Value) -> Value {
        Value::object([
            ("app_id", Value::String(app_id.into())),
            ("triggers", triggers),
            ("id", Value::String(app_id.into())),
            ("success", Value::Bool(true)),
            ("message", Value::String("ok".into())),
            ("killed_at", Value::String("2026-01-01T00:00:00Z".into())),
        ])
    }

    fn proposed(app_id: Value, triggers: Value) -> Value {
        let mut value = state("x", triggers);
        if let Value::Object(fields) = &mut value {
            fields.insert("app_id".into(), app_id);
        }
        value
    }

    #[test]
    fn app_ids() {
        assert!(is_valid_app_id("a"));
        assert!(is_valid_app_id("Z9abcdefghijklmnopqrst"));
        assert!(!is_valid_app_id(""));
        assert!(!is_valid_app_id("Z9abcdefghijklmnopqrstu"));
        assert!(!is_valid_app_id("app-1"));
        assert!(!is_valid_app_id("é"));
        assert!(validate(&Value::object([("app_id", Value::Unknown)])).is_empty());
    }

    #[test]
    fn create_plans_computed_attributes_unknown() {
        let config = Value::object([("app_id", Value::String("a1".into())), ("triggers", Value::Null)]);
        let plan = plan(&Value::Null, &config);
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned.get("app_id"), &Value::String("a1".into()));
        for name in COMPUTED {
            assert_eq!(plan.planned.get(name), &Value::Unknown, "{name}");
        }
    }

    #[test]
    fn no_change_keeps_prior_state() {
        let prior = state("a1", Value::Null);
        assert_eq!(plan(&prior, &prior.clone()), Plan { planned: prior, requires_replace: vec![] });
    }

    #[test]
    fn changed_arguments_force_replacement() {
        let prior = state("a1", Value::Null);
        let triggers = Value::object([("run", Value::String("2".into()))]);
        let changed = plan(&prior, &proposed(Value::String("a1".into()), triggers));
        assert_eq!(changed.requires_replace, vec!["triggers"]);
        assert_eq!(changed.planned.get("killed_at"), &Value::Unknown);
        let unknown_id = plan(&prior, &proposed(Value::Unknown, Value::Null));
        assert_eq!(unknown_id.requires_replace, vec!["app_id"]);
    }

    #[test]
    fn destroy_plans_null() {
        assert_eq!(plan(&state("a1", Value::Null), &Value::Null).planned, Value::Null);
    }
}
