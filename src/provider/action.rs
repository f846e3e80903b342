//! The `ncloud_dataforest_aiapp_kill` action (Terraform 1.14+): the kill as a one-off operation,
//! run with `terraform apply -invoke=action.ncloud_dataforest_aiapp_kill.NAME` or from another
//! resource's `action_trigger`. It records nothing in state; a failure fails the apply.

use crate::protocol::schema::{Attribute, Schema, Type};
use crate::protocol::value::Value;

use super::aiapp_kill::{app_id, required_app_id};
use super::error::ProviderError;
use super::kill::{DEFAULT_TIMEOUT, Kill, Phase};

/// The action shares the resource's name: both are the kill.
pub const TYPE_NAME: &str = super::aiapp_kill::TYPE_NAME;

pub fn schema() -> Schema {
    Schema {
        version: 0,
        description: "Force-ends a DataForest AI app once, through the signed `POST /api/v2/aiapps/kill` call, \
            without recording anything in state. A failed kill fails the apply with DataForest's message.",
        attributes: vec![
            Attribute::required(
                "app_id",
                Type::String,
                "The AI app id: 1 to 22 characters of `0-9`, `A-Z`, `a-z`.",
            ),
            Attribute::optional(
                "wait_for_termination",
                Type::Bool,
                "After the kill, poll the app's state until it is `KILLED`, `FINISHED` or `FAILED`, reporting \
                 progress. The whole action, kill, retries and waiting, is bounded by 20 minutes.",
            ),
        ],
        blocks: Vec::new(),
    }
}

/// Checks the configuration; values unknown until apply pass.
pub fn validate(config: &Value) -> Vec<ProviderError> {
    let mut errors: Vec<ProviderError> = app_id(config).err().into_iter().collect();
    if !matches!(config.get("wait_for_termination"), Value::Bool(_) | Value::Null | Value::Unknown) {
        let got = config.get("wait_for_termination").kind();
        errors.push(ProviderError::WrongType { path: vec!["wait_for_termination"], expected: "a bool", got });
    }
    errors
}

/// The kill a configuration known in full asks for; it is bounded by [`DEFAULT_TIMEOUT`].
pub fn kill_of(config: &Value) -> Result<Kill, ProviderError> {
    if let Some(error) = validate(config).into_iter().next() {
        return Err(error);
    }
    Ok(Kill {
        app_id: required_app_id(config)?,
        phase: Phase::Action,
        wait_for_termination: matches!(config.get("wait_for_termination"), Value::Bool(true)),
        limit: DEFAULT_TIMEOUT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_need_a_known_valid_id() {
        let config = Value::object([
            ("app_id", Value::String("A1".into())),
            ("wait_for_termination", Value::Bool(true)),
        ]);
        let kill = kill_of(&config).unwrap();
        assert_eq!(
            (kill.app_id.as_str(), kill.wait_for_termination, kill.limit),
            ("A1", true, DEFAULT_TIMEOUT)
        );
        assert!(validate(&Value::object([("app_id", Value::Unknown)])).is_empty());
        assert!(kill_of(&Value::object([("app_id", Value::Unknown)])).is_err());
        assert!(matches!(
            &validate(&Value::object([("app_id", Value::String("-".into()))]))[..],
            [ProviderError::InvalidAppId { .. }]
        ));
    }
}
