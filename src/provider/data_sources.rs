//! The look-up data sources: `ncloud_dataforest_aiapps` lists an account's AI apps (`getList`),
//! filtered by exact name and state, so users can find an app by the name they know;
//! `ncloud_dataforest_aiapp` reads one app's details (`getDetail`).

use std::collections::BTreeMap;

use crate::ncp::{AppInfo, CallError, DataForestClient};
use crate::protocol::schema::{Attribute, Schema, Type};
use crate::protocol::value::Value;

use super::error::ProviderError;

pub const APPS: &str = "ncloud_dataforest_aiapps";
pub const APP: &str = "ncloud_dataforest_aiapp";

/// The fields describing an app, shared by both data sources: name, cty type, description.
const APP_FIELDS: [(&str, Type, &str); 11] = [
    ("id", Type::String, "The AI app id, as `app_id` of `ncloud_dataforest_aiapp_kill` takes it."),
    ("app_id", Type::String, "The YARN application id."),
    ("name", Type::String, "The app's name."),
    ("state", Type::String, "The app's state, such as `RUNNING` or `KILLED`."),
    ("final_status", Type::String, "The app's final status, such as `UNDEFINED` or `KILLED`."),
    ("account_name", Type::String, "The DataForest account's name."),
    ("queue_name", Type::String, "The YARN queue."),
    ("workspace_name", Type::String, "The workspace."),
    ("started_at", Type::String, "When the app started, as DataForest reports it."),
    ("finished_at", Type::String, "When the app finished, as DataForest reports it; empty while it runs."),
    ("disabled", Type::Bool, "Whether DataForest marks the app disabled."),
];

fn app_object_type() -> Type {
    Type::Object(APP_FIELDS.iter().map(|(name, ty, _)| (name.to_string(), ty.clone())).collect())
}

fn app_value(app: &AppInfo) -> BTreeMap<String, Value> {
    let text = |s: &str| Value::String(s.to_string());
    BTreeMap::from([
        ("id".to_string(), text(&app.id)),
        ("app_id".to_string(), text(&app.app_id)),
        ("name".to_string(), text(&app.name)),
        ("state".to_string(), text(&app.state)),
        ("final_status".to_string(), text(&app.final_status)),
        ("account_name".to_string(), text(&app.account_name)),
        ("queue_name".to_string(), text(&app.queue_name)),
        ("workspace_name".to_string(), text(&app.workspace_name)),
        ("started_at".to_string(), text(&app.started_at)),
        ("finished_at".to_string(), text(&app.finished_at)),
        ("disabled".to_string(), Value::Bool(app.disabled)),
    ])
}

pub fn apps_schema() -> Schema {
    Schema {
        version: 0,
        description: "Lists the AI apps of a DataForest account (`getList`), optionally only those with an exact \
            `name` or `state`.",
        attributes: vec![
            Attribute::required("account_id", Type::String, "The DataForest account whose apps to list."),
            Attribute::optional("name", Type::String, "Only apps with exactly this name."),
            Attribute::optional(
                "state",
                Type::String,
                "Only apps in this state, such as `RUNNING` (any case).",
            ),
            Attribute::computed(
                "apps",
                Type::List(Box::new(app_object_type())),
                "The matching apps, each with `id`, `app_id`, `name`, `state`, `final_status`, `account_name`, \
                 `queue_name`, `workspace_name`, `started_at`, `finished_at` and `disabled`.",
            ),
        ],
        blocks: Vec::new(),
    }
}

pub fn app_schema() -> Schema {
    let mut attributes = vec![Attribute::required("id", Type::String, APP_FIELDS[0].2)];
    attributes.extend(
        APP_FIELDS[1..]
            .iter()
            .map(|(name, ty, description)| Attribute::computed(name, ty.clone(), description)),
    );
    Schema {
        version: 0,
        description: "Reads one DataForest AI app's details (`getDetail`).",
        attributes,
        blocks: Vec::new(),
    }
}

pub fn validate(type_name: &str, config: &Value) -> Vec<ProviderError> {
    let required = if type_name == APPS { "account_id" } else { "id" };
    match config.get(required) {
        Value::String(text) if text.trim().is_empty() => {
            vec![ProviderError::EmptyArgument { name: required }]
        }
        _ => Vec::new(),
    }
}

/// The state of a read deferred until the provider's settings are known: the configuration, with
/// every computed attribute unknown.
pub fn unknown_state(type_name: &str, config: &Value) -> Value {
    let mut state = config.clone();
    if let Value::Object(fields) = &mut state {
        let computed: Vec<&str> = if type_name == APPS {
            vec!["apps"]
        } else {
            APP_FIELDS[1..].iter().map(|(name, _, _)| *name).collect()
        };
        for name in computed {
            fields.insert(name.to_string(), Value::Unknown);
        }
    }
    state
}

fn argument(config: &Value, name: &'static str) -> Result<Option<String>, ProviderError> {
    match config.get(name) {
        Value::String(text) => Ok(Some(text.clone())),
        Value::Null => Ok(None),
        other => Err(ProviderError::WrongType { path: vec![name], expected: "a string", got: other.kind() }),
    }
}

pub async fn read(
    client: &DataForestClient,
    type_name: &str,
    config: &Value,
) -> Result<Value, ProviderError> {
    let failed = |what: String| {
        move |CallError { error, attempts, .. }| ProviderError::LookupFailed {
            what,
            error: Box::new(error),
            attempts,
        }
    };
    if type_name == APPS {
        let account_id = argument(config, "account_id")?.unwrap_or_default();
        let name = argument(config, "name")?;
        let state = argument(config, "state")?;
        let apps = client
            .list_apps(&account_id)
            .await
            .map_err(failed(format!("the apps of account {account_id:?}")))?;
        let matching = apps
            .iter()
            .filter(|app| name.as_ref().is_none_or(|name| &app.name == name))
            .filter(|app| state.as_ref().is_none_or(|state| app.state.eq_ignore_ascii_case(state)))
            .map(|app| Value::Object(app_value(app)))
            .collect();
        let mut result = config.clone();
        if let Value::Object(fields) = &mut result {
            fields.insert("apps".to_string(), Value::List(matching));
        }
        Ok(result)
    } else {
        let id = argument(config, "id")?.unwrap_or_default();
        let app = client.get_detail(&id).await.map_err(failed(format!("AI app {id:?}")))?;
        Ok(Value::Object(app_value(&app)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_schema_reads_the_same_fields_as_each_listed_app() {
        let Type::Object(detail) = app_schema().object_type() else { unreachable!() };
        let Type::Object(listed) = app_object_type() else { unreachable!() };
        assert_eq!(detail, listed);
        let app = AppInfo { id: "A1".into(), state: "RUNNING".into(), ..AppInfo::default() };
        assert_eq!(app_value(&app).keys().collect::<Vec<_>>(), listed.keys().collect::<Vec<_>>());
    }

    #[test]
    fn blank_required_arguments_are_refused() {
        let config = Value::object([("account_id", Value::String(" ".into()))]);
        assert!(matches!(
            &validate(APPS, &config)[..],
            [ProviderError::EmptyArgument { name: "account_id" }]
        ));
        assert!(validate(APP, &Value::object([("id", Value::Unknown)])).is_empty());
    }
}
