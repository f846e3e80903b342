//! The `ncloud_dataforest_aiapp` data source: one AI app's details (`getDetail`), read by its
//! `id`. Its object, [`App`], is also how `ncloud_dataforest_aiapps` describes each app it lists.

use std::time::SystemTime;

use crate::ncp::{AppInfo, CallError, DataForestClient, Text};
use crate::protocol::object::{Field, Object, computed, split};
use crate::protocol::schema::{Presence, Schema};
use crate::protocol::value::Writer;

use super::super::error::{ProviderError, ProviderWarning};
use super::super::session::Session;
use super::super::types::DataSourceType;
use super::known;

tfplugin::object! {
    /// An app as both data sources describe it; `ncloud_dataforest_aiapp` is this object, read by
    /// its `id`.
    pub struct App {
        id: Field<String> => computed("The AI app id, as `app_id` of `ncloud_dataforest_aiapp_kill` takes it."),
        app_id: Field<String> => computed("The YARN application id."),
        name: Field<String> => computed("The app's name."),
        state: Field<String> => computed("The app's state, such as `RUNNING` or `KILLED`."),
        final_status: Field<String> => computed("The app's final status, such as `UNDEFINED` or `KILLED`."),
        account_id: Field<String> => computed(
            "The DataForest account's id, when DataForest gives it as a string (its listing may not); else empty.",
        ),
        account_name: Field<String> => computed(
            "The DataForest account's name, when DataForest gives it as a string; else empty.",
        ),
        queue_name: Field<String> => computed("The YARN queue."),
        workspace_name: Field<String> => computed("The workspace."),
        started_at: Field<String> => computed("When the app started, as DataForest reports it."),
        finished_at: Field<String> => computed(
            "When the app finished, as DataForest reports it; empty while it runs.",
        ),
        disabled: Field<bool> => computed("Whether DataForest marks the app disabled."),
    }
}

/// Each text attribute of [`App`] and the text of [`AppInfo`] it holds.
const TEXTS: [(&str, Text); Text::ALL.len()] = [
    (App::id, Text::Id),
    (App::app_id, Text::AppId),
    (App::name, Text::Name),
    (App::state, Text::State),
    (App::final_status, Text::FinalStatus),
    (App::account_id, Text::AccountId),
    (App::account_name, Text::AccountName),
    (App::queue_name, Text::QueueName),
    (App::workspace_name, Text::WorkspaceName),
    (App::started_at, Text::StartedAt),
    (App::finished_at, Text::FinishedAt),
];

impl App {
    /// Writes `app` as msgpack, as `App::read(app)` writes itself, without copying its texts:
    /// how `ncloud_dataforest_aiapps` returns each app it lists.
    pub fn write(app: &AppInfo, out: &mut Writer) {
        out.object(App::member_count());
        for (name, text) in TEXTS {
            out.string(name);
            out.string(app.text(text));
        }
        out.string(App::disabled);
        out.bool(app.disabled);
    }

    /// The app as DataForest described it.
    pub fn read(app: &AppInfo) -> App {
        let text = |s: &str| Field::Known(s.to_string());
        App {
            id: text(app.id()),
            app_id: text(app.app_id()),
            name: text(app.name()),
            state: text(app.state()),
            final_status: text(app.final_status()),
            account_id: text(app.account_id()),
            account_name: text(app.account_name()),
            queue_name: text(app.queue_name()),
            workspace_name: text(app.workspace_name()),
            started_at: text(app.started_at()),
            finished_at: text(app.finished_at()),
            disabled: Field::Known(app.disabled),
        }
    }

    /// The app as the provider keeps it; a text that is null or unknown is empty.
    pub fn info(&self) -> AppInfo {
        fn text(field: &Field<String>) -> &str {
            field.known().map_or("", String::as_str)
        }
        let texts = [
            &self.id,
            &self.app_id,
            &self.name,
            &self.state,
            &self.final_status,
            &self.account_id,
            &self.account_name,
            &self.queue_name,
            &self.workspace_name,
            &self.started_at,
            &self.finished_at,
        ]
        .map(text);
        AppInfo::new(&texts, self.disabled == Field::Known(true))
    }
}

impl DataSourceType for App {
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapp";

    fn schema() -> Schema {
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

    /// A blank `id` is refused; an unknown one passes.
    fn validate(&self) -> Vec<ProviderError> {
        match &self.id {
            Field::Known(text) if text.trim().is_empty() => {
                vec![ProviderError::EmptyArgument { name: App::id }]
            }
            _ => Vec::new(),
        }
    }

    /// The app with `id` known and every other field unknown.
    fn unknown_result(&self) -> App {
        App {
            id: self.id.clone(),
            app_id: Field::Unknown,
            name: Field::Unknown,
            state: Field::Unknown,
            final_status: Field::Unknown,
            account_id: Field::Unknown,
            account_name: Field::Unknown,
            queue_name: Field::Unknown,
            workspace_name: Field::Unknown,
            started_at: Field::Unknown,
            finished_at: Field::Unknown,
            disabled: Field::Unknown,
        }
    }

    async fn read(
        &self,
        _session: &Session,
        client: &DataForestClient,
        _now: SystemTime,
    ) -> Result<(App, Vec<ProviderWarning>), ProviderError> {
        let id = known(&self.id, App::id)?.cloned().unwrap_or_default();
        let found = client.get_detail(&id).await.map_err(|CallError { error, attempts, .. }| {
            ProviderError::LookupFailed { what: format!("AI app {id:?}"), error: Box::new(error), attempts }
        })?;
        Ok((App::read(&found), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::Text;

    #[test]
    fn the_detail_schema_reads_the_same_fields_as_each_listed_app() {
        use crate::protocol::object::CtyValue;
        assert_eq!(App::schema().object_type(), App::cty_type());
        let required: Vec<_> = App::schema()
            .attributes
            .iter()
            .filter(|a| a.presence == Presence::Required)
            .map(|a| a.name)
            .collect();
        assert_eq!(required, ["id"]);
        let app = App::read(&AppInfo::default().with(Text::Id, "A1").with(Text::State, "RUNNING"));
        assert!(!app.to_value().has_unknowns());
    }

    #[test]
    fn a_blank_id_is_refused_and_an_unknown_one_passes() {
        let blank = App { id: Field::Known(" ".into()), ..App::default() };
        assert!(matches!(&blank.validate()[..], [ProviderError::EmptyArgument { name: "id" }]));
        assert!(App { id: Field::Unknown, ..App::default() }.validate().is_empty());
    }
}
