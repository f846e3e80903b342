//! The `ncloud_dataforest_aiapp_kill` resource: creating it force-ends a DataForest AI app and
//! records what the API answered. A kill cannot be undone, so reading and destroying make no
//! call. `app_id` and `triggers` force a replacement, which kills again; only `timeouts` changes
//! in place.

use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::ncp::{CallError, DataForestClient, KillOutcome};
use crate::protocol::schema::{Attribute, NestedBlock, Schema, Type};
use crate::protocol::value::Value;

use super::config::parse_duration;
use super::error::ProviderError;

pub const TYPE_NAME: &str = "ncloud_dataforest_aiapp_kill";
/// Longest DataForest AI app id.
const APP_ID_MAX_CHARS: usize = 22;
/// The arguments that replace the resource when they change.
const REPLACING_ARGUMENTS: [&str; 2] = ["app_id", "triggers"];
const COMPUTED: [&str; 4] = ["id", "success", "message", "killed_at"];
/// Bound on a whole kill, retries included, unless `timeouts { create }` says otherwise.
pub const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(20 * 60);

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
        blocks: vec![NestedBlock {
            name: "timeouts",
            description: "Time limits, as durations such as `5m`.",
            attributes: vec![Attribute::optional(
                "create",
                Type::String,
                "Bound on the whole kill, retries included (default `20m`). When it runs out, the kill may or \
                 may not have happened, and nothing is recorded.",
            )],
        }],
    }
}

pub fn is_valid_app_id(id: &str) -> bool {
    (1..=APP_ID_MAX_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the configuration; unknown values pass, to be checked when known.
pub fn validate(config: &Value) -> Vec<ProviderError> {
    let mut errors = Vec::new();
    match config.get("app_id") {
        Value::String(id) if !is_valid_app_id(id) => {
            errors.push(ProviderError::InvalidAppId { value: id.clone() })
        }
        Value::String(_) | Value::Null | Value::Unknown => {}
        other => errors.push(ProviderError::WrongType {
            path: vec!["app_id"],
            expected: "a string",
            got: other.kind(),
        }),
    }
    if let Err(error) = create_timeout(config) {
        errors.push(error);
    }
    errors
}

/// `timeouts.create`, or the default when it is not set or not yet known.
fn create_timeout(config: &Value) -> Result<Duration, ProviderError> {
    match config.get("timeouts").get("create") {
        Value::String(text) => parse_duration(text).map_err(|reason| ProviderError::InvalidTimeout {
            path: vec!["timeouts", "create"],
            value: text.clone(),
            reason,
        }),
        Value::Null | Value::Unknown => Ok(DEFAULT_CREATE_TIMEOUT),
        other => Err(ProviderError::WrongType {
            path: vec!["timeouts", "create"],
            expected: "a string",
            got: other.kind(),
        }),
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
    let creating = prior == &Value::Null;
    let requires_replace: Vec<&'static str> = if creating {
        Vec::new()
    } else {
        REPLACING_ARGUMENTS.into_iter().filter(|name| prior.get(name) != proposed.get(name)).collect()
    };
    if !creating && requires_replace.is_empty() {
        // The proposal carries the recorded answer forward; only `timeouts` can differ.
        return Plan { planned: proposed.clone(), requires_replace };
    }
    let mut planned = proposed.clone();
    if let Value::Object(fields) = &mut planned {
        for name in COMPUTED {
            fields.insert(name.to_string(), Value::Unknown);
        }
    }
    Plan { planned, requires_replace }
}

/// An in-place update changes only `timeouts`: the planned state is the new state.
pub fn update(prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    if REPLACING_ARGUMENTS.into_iter().any(|name| prior.get(name) != planned.get(name))
        || planned.has_unknowns()
    {
        return Err(ProviderError::UnexpectedUpdate);
    }
    Ok(planned.clone())
}

/// Sends the kill, retries included, within `timeouts.create`, and returns the state to record.
/// On any failure nothing is recorded.
pub async fn create(
    client: &DataForestClient,
    planned: &Value,
    stop: &CancellationToken,
) -> Result<Value, ProviderError> {
    let app_id = match planned.get("app_id") {
        Value::String(id) if is_valid_app_id(id) => id.clone(),
        Value::String(id) => return Err(ProviderError::InvalidAppId { value: id.clone() }),
        other => {
            return Err(ProviderError::WrongType {
                path: vec!["app_id"],
                expected: "a string",
                got: other.kind(),
            });
        }
    };
    let limit = create_timeout(planned)?;
    let outcome = tokio::select! {
        // Checked first, so nothing is sent once Terraform has asked to stop.
        biased;
        () = stop.cancelled() => return Err(ProviderError::KillInterrupted { app_id }),
        outcome = tokio::time::timeout(limit, client.kill(&app_id)) => outcome,
    };
    let KillOutcome { id, success, message } = match outcome {
        Err(_elapsed) => return Err(ProviderError::KillTimedOut { app_id, limit }),
        Ok(Err(CallError { error, attempts })) => {
            return Err(ProviderError::KillFailed { app_id, error: Box::new(error), attempts });
        }
        Ok(Ok(outcome)) => outcome,
    };
    tracing::info!(app_id = %app_id, "AI app killed");
    let mut state = planned.clone();
    if let Value::Object(fields) = &mut state {
        for (name, value) in [
            ("id", Value::String(id)),
            ("success", Value::Bool(success)),
            ("message", Value::String(message)),
            ("killed_at", Value::String(humantime::format_rfc3339_seconds(SystemTime::now()).to_string())),
        ] {
            fields.insert(name.to_string(), value);
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(app_id: &str, triggers: Value, timeouts: Value) -> Value {
        Value::object([
            ("app_id", Value::String(app_id.into())),
            ("triggers", triggers),
            ("id", Value::String(app_id.into())),
            ("success", Value::Bool(true)),
            ("message", Value::String("ok".into())),
            ("killed_at", Value::String("2026-01-01T00:00:00Z".into())),
            ("timeouts", timeouts),
        ])
    }

    fn with(mut value: Value, name: &str, field: Value) -> Value {
        if let Value::Object(fields) = &mut value {
            fields.insert(name.into(), field);
        }
        value
    }

    fn timeouts(create: &str) -> Value {
        Value::object([("create", Value::String(create.into()))])
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
    fn validation_reports_bad_timeouts_and_wrong_types() {
        let config = Value::object([("app_id", Value::String("a1".into())), ("timeouts", timeouts("soon"))]);
        assert!(matches!(&validate(&config)[..], [ProviderError::InvalidTimeout { .. }]));
        let config = Value::object([("app_id", Value::Bool(true))]);
        assert!(matches!(&validate(&config)[..], [ProviderError::WrongType { .. }]));
        assert_eq!(
            create_timeout(&Value::object([("timeouts", timeouts("3s"))])).unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(create_timeout(&Value::Null).unwrap(), DEFAULT_CREATE_TIMEOUT);
    }

    #[test]
    fn create_plans_computed_attributes_unknown() {
        let config = Value::object([
            ("app_id", Value::String("a1".into())),
            ("triggers", Value::Null),
            ("id", Value::Null),
            ("timeouts", Value::Null),
        ]);
        let plan = plan(&Value::Null, &config);
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned.get("app_id"), &Value::String("a1".into()));
        for name in COMPUTED {
            assert_eq!(plan.planned.get(name), &Value::Unknown, "{name}");
        }
    }

    #[test]
    fn no_change_keeps_the_recorded_answer() {
        let prior = state("a1", Value::Null, Value::Null);
        assert_eq!(plan(&prior, &prior.clone()), Plan { planned: prior, requires_replace: vec![] });
    }

    #[test]
    fn timeouts_change_in_place() {
        let prior = state("a1", Value::Null, Value::Null);
        let proposed = with(prior.clone(), "timeouts", timeouts("5m"));
        let plan = plan(&prior, &proposed);
        assert_eq!(plan, Plan { planned: proposed.clone(), requires_replace: vec![] });
        assert_eq!(update(&prior, &plan.planned).unwrap(), proposed);
        let other_app = with(proposed, "app_id", Value::String("b2".into()));
        assert!(matches!(update(&prior, &other_app), Err(ProviderError::UnexpectedUpdate)));
    }

    #[test]
    fn changed_arguments_force_replacement() {
        let prior = state("a1", Value::Null, Value::Null);
        let triggers = Value::object([("run", Value::String("2".into()))]);
        let changed = plan(&prior, &with(prior.clone(), "triggers", triggers));
        assert_eq!(changed.requires_replace, vec!["triggers"]);
        assert_eq!(changed.planned.get("killed_at"), &Value::Unknown);
        let unknown_id = plan(&prior, &with(prior.clone(), "app_id", Value::Unknown));
        assert_eq!(unknown_id.requires_replace, vec!["app_id"]);
    }

    #[test]
    fn destroy_plans_null() {
        assert_eq!(plan(&state("a1", Value::Null, Value::Null), &Value::Null).planned, Value::Null);
    }
}
