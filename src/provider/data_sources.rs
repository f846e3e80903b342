//! The look-up data sources: `ncloud_dataforest_aiapps` lists the AI apps of an account
//! (`getList`) that a [`Selector`] picks (by name, name pattern, queue, state and age), with their
//! ids in a flat list for `for_each`; `ncloud_dataforest_aiapp` reads one app's details
//! (`getDetail`).

use crate::ncp::{AppInfo, CallError, DataForestClient};
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, Flat, Object, ShapeError, computed, flatten, optional, split};
use crate::protocol::schema::{Presence, Schema};

use super::error::{ProviderError, ProviderWarning};
use super::selector::{Selector, UnsetStates};

pub const APPS: &str = "ncloud_dataforest_aiapps";
pub const APP: &str = "ncloud_dataforest_aiapp";

tfplugin::object! {
    /// The `ncloud_dataforest_aiapps` data source: a query and the apps it found.
    pub struct AppList {
        selector: Flat<Selector> => flatten(),
        state: Field<String> => optional(
            "Only the apps in this state, such as `RUNNING` (any case): `states` with one state. Set one or the \
             other.",
        ),
        apps: Field<Vec<Field<App>>> => computed(
            "The matching apps, each with `id`, `app_id`, `name`, `state`, `final_status`, `account_name`, \
             `queue_name`, `workspace_name`, `started_at`, `finished_at` and `disabled`.",
        ),
        ids: Field<Vec<Field<String>>> => computed(
            "The ids of the matching apps, in the order of `apps`: `for_each = toset(...ids)` plans one kill \
             per app, keyed by its id.",
        ),
    }
}

tfplugin::object! {
    /// An app as both data sources describe it; `ncloud_dataforest_aiapp` is this object, read by
    /// its `id`.
    pub struct App {
        id: Field<String> => computed("The AI app id, as `app_id` of `ncloud_dataforest_aiapp_kill` takes it."),
        app_id: Field<String> => computed("The YARN application id."),
        name: Field<String> => computed("The app's name."),
        state: Field<String> => computed("The app's state, such as `RUNNING` or `KILLED`."),
        final_status: Field<String> => computed("The app's final status, such as `UNDEFINED` or `KILLED`."),
        account_name: Field<String> => computed("The DataForest account's name."),
        queue_name: Field<String> => computed("The YARN queue."),
        workspace_name: Field<String> => computed("The workspace."),
        started_at: Field<String> => computed("When the app started, as DataForest reports it."),
        finished_at: Field<String> => computed(
            "When the app finished, as DataForest reports it; empty while it runs.",
        ),
        disabled: Field<bool> => computed("Whether DataForest marks the app disabled."),
    }
}

impl App {
    fn read(app: &AppInfo) -> App {
        let text = |s: &String| Field::Known(s.clone());
        App {
            id: text(&app.id),
            app_id: text(&app.app_id),
            name: text(&app.name),
            state: text(&app.state),
            final_status: text(&app.final_status),
            account_name: text(&app.account_name),
            queue_name: text(&app.queue_name),
            workspace_name: text(&app.workspace_name),
            started_at: text(&app.started_at),
            finished_at: text(&app.finished_at),
            disabled: Field::Known(app.disabled),
        }
    }

    /// The app with `id` known and every other field unknown, as a deferred read leaves it.
    fn unknown(id: Field<String>) -> App {
        App {
            id,
            app_id: Field::Unknown,
            name: Field::Unknown,
            state: Field::Unknown,
            final_status: Field::Unknown,
            account_name: Field::Unknown,
            queue_name: Field::Unknown,
            workspace_name: Field::Unknown,
            started_at: Field::Unknown,
            finished_at: Field::Unknown,
            disabled: Field::Unknown,
        }
    }
}

pub fn apps_schema() -> Schema {
    let (attributes, blocks) = split(AppList::members());
    Schema {
        version: 0,
        description: "Lists the AI apps of a DataForest account (`getList`) that a selector matches: by exact \
            name, name pattern, queue, state and age. Unlike the kill resource and action, it lists ended apps \
            too unless `states` or `state` says otherwise.",
        attributes,
        blocks,
    }
}

pub fn app_schema() -> Schema {
    let (mut attributes, blocks) = split(App::members());
    for attribute in attributes.iter_mut().filter(|attribute| attribute.name == App::id) {
        attribute.presence = Presence::Required;
    }
    Schema {
        version: 0,
        description: "Reads one DataForest AI app's details (`getDetail`).",
        attributes,
        blocks,
    }
}

/// A data source's configuration, or what reading it found.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    List(AppList),
    Detail(App),
}

impl Query {
    /// Decodes the configuration of data source `type_name`, one of [`APPS`] and [`APP`]; no
    /// configuration at all is one with nothing set.
    pub fn from_value(
        type_name: &str,
        config: &crate::protocol::value::Value,
    ) -> Result<Query, ProviderError> {
        let none = crate::protocol::value::Value::Null;
        Ok(match (type_name == APPS, config == &none) {
            (true, true) => Query::List(AppList::default()),
            (true, false) => Query::List(AppList::from_value(config)?),
            (false, true) => Query::Detail(App::default()),
            (false, false) => Query::Detail(App::from_value(config)?),
        })
    }

    pub fn to_value(&self) -> crate::protocol::value::Value {
        match self {
            Query::List(list) => list.to_value(),
            Query::Detail(app) => app.to_value(),
        }
    }

    /// A blank `account_id` or `id`, a pattern or duration that cannot be read, and `state` with
    /// `states` are refused; unknown values pass.
    pub fn validate(&self) -> Vec<ProviderError> {
        match self {
            Query::List(list) => {
                let mut errors = list.selector.validate();
                // Only when both are certainly set: an unknown value may turn out null.
                if matches!(list.state, Field::Known(_)) && matches!(list.selector.states, Field::Known(_)) {
                    errors
                        .push(ProviderError::Conflicting { first: Selector::states, second: AppList::state });
                }
                errors
            }
            Query::Detail(App { id: Field::Known(text), .. }) if text.trim().is_empty() => {
                vec![ProviderError::EmptyArgument { name: App::id }]
            }
            Query::Detail(_) => Vec::new(),
        }
    }

    /// The query with what it would find unknown: a read deferred until the provider's settings
    /// are known.
    pub fn unknown_result(&self) -> Query {
        match self {
            Query::List(list) => {
                Query::List(AppList { apps: Field::Unknown, ids: Field::Unknown, ..list.clone() })
            }
            Query::Detail(app) => Query::Detail(App::unknown(app.id.clone())),
        }
    }

    /// Reads what the query asks for, as of `now`; and what is worth a warning.
    pub async fn read(
        &self,
        client: &DataForestClient,
        now: std::time::SystemTime,
    ) -> Result<(Query, Vec<ProviderWarning>), ProviderError> {
        let failed = |what: String| {
            move |CallError { error, attempts, .. }| ProviderError::LookupFailed {
                what,
                error: Box::new(error),
                attempts,
            }
        };
        match self {
            Query::List(list) => {
                if let Some(error) = self.validate().into_iter().next() {
                    return Err(error);
                }
                let mut selection = list.selector.selection(UnsetStates::Any)?;
                if let Some(state) = known(&list.state, AppList::state)? {
                    selection = selection.only_state(state);
                }
                let apps = client
                    .list_apps(&selection.account_id)
                    .await
                    .map_err(failed(format!("the apps of account {:?}", selection.account_id)))?;
                let selected = selection.select(&apps, now);
                let ids = selected.apps.iter().map(|app| Field::Known(app.id.clone())).collect();
                let apps = selected.apps.iter().map(|app| Field::Known(App::read(app))).collect();
                let found = AppList { apps: Field::Known(apps), ids: Field::Known(ids), ..list.clone() };
                Ok((Query::List(found), selected.warnings))
            }
            Query::Detail(app) => {
                let id = known(&app.id, App::id)?.cloned().unwrap_or_default();
                let found = client.get_detail(&id).await.map_err(failed(format!("AI app {id:?}")))?;
                Ok((Query::Detail(App::read(&found)), Vec::new()))
            }
        }
    }
}

/// An argument as a read needs it: known or null. Terraform defers reads whose configuration is
/// unknown, so an unknown one here is refused rather than read as no filter.
fn known<'a>(field: &'a Field<String>, attribute: &'static str) -> Result<Option<&'a String>, ProviderError> {
    match field {
        Field::Unknown => Err(ProviderError::Shape(ShapeError {
            path: vec![PathStep::Attribute(attribute.to_string())],
            expected: "a known string",
            got: "an unknown value",
        })),
        field => Ok(field.known()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::{CtyValue, SetOf};

    #[test]
    fn the_detail_schema_reads_the_same_fields_as_each_listed_app() {
        assert_eq!(app_schema().object_type(), App::cty_type());
        let required: Vec<_> = app_schema()
            .attributes
            .iter()
            .filter(|a| a.presence == Presence::Required)
            .map(|a| a.name)
            .collect();
        assert_eq!(required, ["id"]);
        let app = App::read(&AppInfo { id: "A1".into(), state: "RUNNING".into(), ..AppInfo::default() });
        assert!(!app.to_value().has_unknowns());
    }

    #[test]
    fn blank_required_arguments_are_refused() {
        let selector = Selector { account_id: Field::Known(" ".into()), ..Selector::default() };
        let list = Query::List(AppList { selector: Flat(selector), ..AppList::default() });
        assert!(matches!(&list.validate()[..], [ProviderError::EmptyArgument { name: "account_id" }]));
        assert!(Query::Detail(App { id: Field::Unknown, ..App::default() }).validate().is_empty());
    }

    #[test]
    fn state_and_states_conflict_only_when_both_are_set() {
        let states = |field: Field<SetOf<String>>| {
            let selector =
                Selector { account_id: Field::Known("acc".into()), states: field, ..Selector::default() };
            Query::List(AppList {
                selector: Flat(selector),
                state: Field::Known("RUNNING".into()),
                ..AppList::default()
            })
        };
        let both = states(Field::Known(SetOf(vec![Field::Known("KILLED".into())])));
        assert!(matches!(
            &both.validate()[..],
            [ProviderError::Conflicting { first: "states", second: "state" }]
        ));
        assert!(states(Field::Unknown).validate().is_empty(), "an unknown value may turn out null");
        assert!(states(Field::Null).validate().is_empty());
    }
}
