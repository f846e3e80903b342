//! The `ncloud_dataforest_aiapp_kill` resource: force-ends a DataForest AI app and records what
//! the API answered. With `when = "create"` (the default) creating it kills; with
//! `when = "destroy"` creating it checks that the app exists and records the intent, and
//! destroying it kills, for destroy hooks.
//! Reading makes no call: a kill cannot be undone. `app_id` and `triggers` force a replacement,
//! which kills again. `when` changes in place, so that no change of it kills one app twice:
//! `destroy` -> `create` kills during that apply, `create` -> `destroy` only arms the kill at
//! destroy. `wait_for_termination` and `timeouts` change in place and take effect at the next
//! kill.

use std::time::Duration;

use crate::ncp::apps::is_valid_app_id;
use crate::protocol::schema::{Attribute, NestedBlock, Schema, Type};
use crate::protocol::value::Value;

use super::config::parse_duration;
use super::error::{ProviderError, ProviderWarning};
use super::kill::{DEFAULT_TIMEOUT, Kill, KillReport, Phase};

pub const TYPE_NAME: &str = "ncloud_dataforest_aiapp_kill";
/// The arguments that replace the resource when they change.
const REPLACING_ARGUMENTS: [&str; 2] = ["app_id", "triggers"];
const COMPUTED: [&str; 6] = ["id", "success", "message", "killed_at", "app_state", "final_status"];
/// The longest time-out accepted: a kill that has not finished in a day will not.
const LONGEST_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

pub fn schema() -> Schema {
    let timeout = |name, description| Attribute::optional(name, Type::String, description);
    Schema {
        version: 0,
        description: "Force-ends a DataForest AI app through the signed `POST /api/v2/aiapps/kill` call and records \
            the API's answer, at create (default) or at destroy. Changing `app_id` or `triggers` replaces it, which \
            kills again (with `when = \"destroy\"`, the old app is killed as the old resource goes).",
        attributes: vec![
            Attribute::required(
                "app_id",
                Type::String,
                "The AI app id: 1 to 22 characters of `0-9`, `A-Z`, `a-z`. Changing it kills the new app.",
            ),
            Attribute::optional(
                "triggers",
                Type::Map(Box::new(Type::String)),
                "Arbitrary values; changing any of them replaces the resource and kills the app again (with \
                 `when = \"destroy\"`, the replaced resource kills it as it goes).",
            ),
            Attribute::optional(
                "when",
                Type::String,
                "`create` (default): kill when the resource is created. `destroy`: at create, check that DataForest \
                 knows the app and record the intent; kill when the resource is destroyed (a failed kill then fails \
                 the destroy and keeps the resource). \
                 Changes in place: from `destroy` to `create` kills during that apply; from `create` to `destroy` \
                 sends nothing and kills at destroy.",
            ),
            Attribute::optional(
                "wait_for_termination",
                Type::Bool,
                "After the kill, poll the app's state until it is `KILLED`, `FINISHED` or `FAILED`, within the \
                 time-out, and record it in `app_state` and `final_status`. Changing it after the kill changes \
                 nothing until the next kill.",
            ),
            Attribute::computed("id", Type::String, "The app id DataForest answered."),
            Attribute::computed(
                "success",
                Type::Bool,
                "DataForest's `success`; null with `when = \"destroy\"` (whose kill runs as the resource goes) \
                 unless a kill at create was recorded before `when` changed.",
            ),
            Attribute::computed("message", Type::String, "DataForest's `message`."),
            Attribute::computed(
                "killed_at",
                Type::String,
                "RFC 3339 UTC time at which the kill call returned.",
            ),
            Attribute::computed(
                "app_state",
                Type::String,
                "The app's state when last read: after waiting for termination, or when the app had already ended.",
            ),
            Attribute::computed("final_status", Type::String, "The app's final status when last read."),
        ],
        blocks: vec![NestedBlock {
            name: "timeouts",
            description: "Time limits, as durations such as `5m`, at most `24h`.",
            attributes: vec![
                timeout(
                    "create",
                    "Bound on a kill at create or at a change of `when` to `create`, retries and waiting included \
                     (default `20m`). When it runs out before DataForest answers, the kill may or may not have \
                     happened, and nothing is recorded.",
                ),
                timeout("delete", "The same bound for a `when = \"destroy\"` kill (default `20m`)."),
            ],
        }],
    }
}

/// Checks the configuration; unknown values pass, to be checked when known.
pub fn validate(config: &Value) -> Vec<ProviderError> {
    let mut errors: Vec<ProviderError> = app_id(config).err().into_iter().collect();
    if let Err(error) = kills_on_destroy(config) {
        errors.push(error);
    }
    for phase in ["create", "delete"] {
        if let Err(error) = timeout(config, phase) {
            errors.push(error);
        }
    }
    errors
}

/// The app id, which must be a known, valid id; unknown and null pass validation only.
pub(super) fn app_id(config: &Value) -> Result<Option<String>, ProviderError> {
    match config.get("app_id") {
        Value::String(id) if is_valid_app_id(id) => Ok(Some(id.clone())),
        Value::String(id) => Err(ProviderError::InvalidAppId { value: id.clone() }),
        Value::Null | Value::Unknown => Ok(None),
        other => {
            Err(ProviderError::WrongType { path: vec!["app_id"], expected: "a string", got: other.kind() })
        }
    }
}

pub(super) fn required_app_id(state: &Value) -> Result<String, ProviderError> {
    app_id(state)?.ok_or_else(|| ProviderError::WrongType {
        path: vec!["app_id"],
        expected: "a string",
        got: state.get("app_id").kind(),
    })
}

/// Whether the kill happens at destroy (`when = "destroy"`) rather than at create.
pub fn kills_on_destroy(config: &Value) -> Result<bool, ProviderError> {
    match config.get("when") {
        Value::Null | Value::Unknown => Ok(false),
        Value::String(when) if when == "create" => Ok(false),
        Value::String(when) if when == "destroy" => Ok(true),
        Value::String(when) => Err(ProviderError::InvalidWhen { value: when.clone() }),
        other => {
            Err(ProviderError::WrongType { path: vec!["when"], expected: "a string", got: other.kind() })
        }
    }
}

/// Whether an in-place change kills: `when` going from `destroy` to `create` (or unknown, which
/// may turn out to be `create`).
pub fn kills_on_update(prior: &Value, planned: &Value) -> bool {
    matches!(kills_on_destroy(prior), Ok(true)) && !matches!(kills_on_destroy(planned), Ok(true))
}

/// `timeouts.create` or `timeouts.delete`, or the default when not set or not yet known.
fn timeout(config: &Value, phase: &'static str) -> Result<Duration, ProviderError> {
    match config.get("timeouts").get(phase) {
        Value::String(text) => {
            let invalid = |reason: String| ProviderError::InvalidTimeout {
                path: vec!["timeouts", phase],
                value: text.clone(),
                reason,
            };
            match parse_duration(text).map_err(invalid)? {
                limit if limit > LONGEST_TIMEOUT => Err(invalid("it is longer than 24h".to_string())),
                limit => Ok(limit),
            }
        }
        Value::Null | Value::Unknown => Ok(DEFAULT_TIMEOUT),
        other => Err(ProviderError::WrongType {
            path: vec!["timeouts", phase],
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
    if !creating && requires_replace.is_empty() && !kills_on_update(prior, proposed) {
        // The proposal carries the recorded answer forward; only in-place settings can differ.
        return Plan { planned: proposed.clone(), requires_replace };
    }
    Plan { planned: with_fields(proposed, COMPUTED.map(|name| (name, Value::Unknown))), requires_replace }
}

fn with_fields<const N: usize>(value: &Value, fields: [(&str, Value); N]) -> Value {
    let mut value = value.clone();
    if let Value::Object(existing) = &mut value {
        for (name, field) in fields {
            existing.insert(name.to_string(), field);
        }
    }
    value
}

/// What an apply leaves: the state to record, and anything worth a warning.
#[derive(Debug, PartialEq)]
pub struct Applied {
    pub state: Value,
    pub warnings: Vec<ProviderWarning>,
}

/// An in-place update that sends nothing: the plan is the state, with the recorded answer kept
/// where the plan could not tell yet (a `when` unknown at plan that turned out `destroy`).
pub fn update(prior: &Value, planned: &Value) -> Result<Applied, ProviderError> {
    if REPLACING_ARGUMENTS.into_iter().any(|name| prior.get(name) != planned.get(name))
        || kills_on_update(prior, planned)
    {
        return Err(ProviderError::UnexpectedUpdate);
    }
    let state = with_fields(
        planned,
        COMPUTED.map(|name| match planned.get(name) {
            Value::Unknown => (name, prior.get(name).clone()),
            known => (name, known.clone()),
        }),
    );
    if state.has_unknowns() {
        return Err(ProviderError::UnexpectedUpdate);
    }
    Ok(Applied { state, warnings: Vec::new() })
}

/// Create with `when = "destroy"`: the state recording the intent.
pub fn record_intent(planned: &Value) -> Result<Applied, ProviderError> {
    let id = required_app_id(planned)?;
    let state = with_fields(
        planned,
        [
            ("id", Value::String(id)),
            ("success", Value::Null),
            ("message", Value::Null),
            ("killed_at", Value::Null),
            ("app_state", Value::Null),
            ("final_status", Value::Null),
        ],
    );
    Ok(Applied { state, warnings: Vec::new() })
}

/// The kill a state asks for in `phase`: its app, whether to wait, and its time-out.
pub fn kill_of(state: &Value, phase: Phase) -> Result<Kill, ProviderError> {
    let app_id = required_app_id(state)?;
    let limit = timeout(state, if phase == Phase::Destroy { "delete" } else { "create" })?;
    let wait_for_termination = matches!(state.get("wait_for_termination"), Value::Bool(true));
    Ok(Kill { app_id, phase, wait_for_termination, limit })
}

/// `planned` with a kill's answer in its computed attributes: the state to record.
pub fn killed_state(planned: &Value, report: &KillReport) -> Value {
    let text = |s: &str| Value::String(s.to_string());
    let seen = |field: fn(&crate::ncp::AppInfo) -> &str| {
        report.observed.as_ref().map_or(Value::Null, |app| text(field(app)))
    };
    with_fields(
        planned,
        [
            ("id", text(&report.id)),
            ("success", Value::Bool(report.success)),
            ("message", text(&report.message)),
            ("killed_at", text(&report.killed_at)),
            ("app_state", seen(|app| &app.state)),
            ("final_status", seen(|app| &app.final_status)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(app_id: &str, triggers: Value, timeouts: Value) -> Value {
        Value::object([
            ("app_id", Value::String(app_id.into())),
            ("triggers", triggers),
            ("when", Value::Null),
            ("wait_for_termination", Value::Null),
            ("id", Value::String(app_id.into())),
            ("success", Value::Bool(true)),
            ("message", Value::String("ok".into())),
            ("killed_at", Value::String("2026-01-01T00:00:00Z".into())),
            ("app_state", Value::Null),
            ("final_status", Value::Null),
            ("timeouts", timeouts),
        ])
    }

    fn with(value: Value, name: &str, field: Value) -> Value {
        with_fields(&value, [(name, field)])
    }

    fn timeouts(create: &str) -> Value {
        Value::object([("create", Value::String(create.into())), ("delete", Value::Null)])
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
    fn validation_reports_bad_when_timeouts_and_wrong_types() {
        let config = Value::object([("app_id", Value::String("a1".into())), ("timeouts", timeouts("soon"))]);
        assert!(matches!(&validate(&config)[..], [ProviderError::InvalidTimeout { .. }]));
        let config = Value::object([("app_id", Value::Bool(true))]);
        assert!(matches!(&validate(&config)[..], [ProviderError::WrongType { .. }]));
        let config =
            Value::object([("app_id", Value::String("a1".into())), ("when", Value::String("later".into()))]);
        assert!(matches!(&validate(&config)[..], [ProviderError::InvalidWhen { .. }]));
        let forever =
            Value::object([("app_id", Value::String("a1".into())), ("timeouts", timeouts("300000000000y"))]);
        assert!(matches!(&validate(&forever)[..], [ProviderError::InvalidTimeout { .. }]));
        assert_eq!(
            timeout(&Value::object([("timeouts", timeouts("3s"))]), "create").unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(timeout(&Value::Null, "delete").unwrap(), DEFAULT_TIMEOUT);
        assert!(kills_on_destroy(&Value::object([("when", Value::String("destroy".into()))])).unwrap());
    }

    #[test]
    fn create_plans_computed_attributes_unknown() {
        let config = with(state("a1", Value::Null, Value::Null), "id", Value::Null);
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
    fn in_place_settings_change_in_place() {
        let prior = state("a1", Value::Null, Value::Null);
        let proposed =
            with(with(prior.clone(), "timeouts", timeouts("5m")), "wait_for_termination", Value::Bool(true));
        let plan = plan(&prior, &proposed);
        assert_eq!(plan, Plan { planned: proposed.clone(), requires_replace: vec![] });
        assert_eq!(update(&prior, &plan.planned).unwrap().state, proposed);
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
    fn when_changes_in_place_and_kills_only_from_destroy_to_create() {
        let destroy = Value::String("destroy".into());
        let create = Value::String("create".into());
        // create -> destroy: nothing is sent; the answer of the kill at create is kept.
        let prior = state("a1", Value::Null, Value::Null);
        let later = plan(&prior, &with(prior.clone(), "when", destroy.clone()));
        assert!(later.requires_replace.is_empty());
        assert_eq!(later.planned.get("success"), &Value::Bool(true));
        assert!(!kills_on_update(&prior, &later.planned));
        assert_eq!(update(&prior, &later.planned).unwrap().state.get("when"), &destroy);
        // Writing the default out, or removing it, changes nothing that matters.
        let spelled_out = plan(&prior, &with(prior.clone(), "when", create.clone()));
        assert!(spelled_out.requires_replace.is_empty() && !kills_on_update(&prior, &spelled_out.planned));
        assert_eq!(spelled_out.planned.get("killed_at"), prior.get("killed_at"));
        // destroy -> create (or unset): kills in place, so the answer is unknown until then.
        let intent = with(record_intent(&later.planned).unwrap().state, "when", destroy);
        for now in [create, Value::Null, Value::Unknown] {
            let sooner = plan(&intent, &with(intent.clone(), "when", now.clone()));
            assert!(sooner.requires_replace.is_empty(), "{now:?}");
            assert_eq!(sooner.planned.get("success"), &Value::Unknown, "{now:?}");
            assert!(kills_on_update(&intent, &sooner.planned), "{now:?}");
            assert!(matches!(update(&intent, &sooner.planned), Err(ProviderError::UnexpectedUpdate)));
        }
    }

    #[test]
    fn a_when_unknown_at_plan_that_turns_out_destroy_keeps_the_record() {
        let destroy = Value::String("destroy".into());
        let prior = with(state("a1", Value::Null, Value::Null), "when", destroy.clone());
        let planned = plan(&prior, &with(prior.clone(), "when", Value::Unknown)).planned;
        let applied = update(&prior, &with(planned, "when", destroy)).unwrap();
        assert_eq!(applied.state, prior);
    }

    #[test]
    fn the_kill_of_a_state_takes_the_time_out_of_its_phase() {
        let timeouts =
            Value::object([("create", Value::String("3m".into())), ("delete", Value::String("7m".into()))]);
        let config = with(state("a1", Value::Null, timeouts), "wait_for_termination", Value::Bool(true));
        let minutes = |phase| kill_of(&config, phase).unwrap().limit.as_secs() / 60;
        assert_eq!((minutes(Phase::Create), minutes(Phase::Update), minutes(Phase::Destroy)), (3, 3, 7));
        assert!(kill_of(&config, Phase::Create).unwrap().wait_for_termination);
    }

    #[test]
    fn intent_records_the_id_and_nothing_else() {
        let planned = plan(
            &Value::Null,
            &with(state("a1", Value::Null, Value::Null), "when", Value::String("destroy".into())),
        );
        let applied = record_intent(&planned.planned).unwrap();
        assert_eq!(applied.state.get("id"), &Value::String("a1".into()));
        assert_eq!(applied.state.get("success"), &Value::Null);
        assert!(!applied.state.has_unknowns());
    }

    #[test]
    fn destroy_plans_null() {
        assert_eq!(plan(&state("a1", Value::Null, Value::Null), &Value::Null).planned, Value::Null);
    }
}
