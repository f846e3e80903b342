//! The `ncloud_dataforest_aiapps` data source: the AI apps of an account (`getList`) that a
//! [`Selector`] picks (by name, name pattern, queue, state and age), each described as
//! `ncloud_dataforest_aiapp` describes one, with their ids in a flat list for `for_each`. Unlike
//! the kills, it lists ended apps too unless `states` or `state` says otherwise.

use std::time::SystemTime;

use crate::ncp::{AppInfo, CallError, DataForestClient};
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{CtyValue, Field, Flat, Object, ShapeError, computed, flatten, optional};
use crate::protocol::schema::{Schema, Type};
use crate::protocol::value::{Value, Writer};

use super::super::error::{ProviderError, ProviderWarning};
use super::super::selector::{Owner, Selector, UnsetStates, check_state};
use super::super::session::Session;
use super::super::types::{DataSourceType, schema_of};
use super::aiapp::App;
use super::known;

tfplugin::object! {
    /// The `ncloud_dataforest_aiapps` data source: a query and the apps it found.
    pub struct AppList {
        selector: Flat<Selector> => flatten(),
        state: Field<String> => optional(
            "Only the apps in this state, such as `RUNNING` (any case): `states` with one state. Set one or the \
             other.",
        ),
        apps: Field<Found> => computed(
            "The matching apps, each with `id`, `app_id`, `name`, `state`, `final_status`, `account_id`, `account_name`, \
             `queue_name`, `workspace_name`, `started_at`, `finished_at` and `disabled`.",
        ),
        ids: Field<Vec<Field<String>>> => computed(
            "The ids of the matching apps, in the order of `apps`: `for_each = toset(...ids)` plans one kill \
             per app, keyed by its id.",
        ),
    }
}

/// The apps a listing found, kept as listed (an [`AppInfo`] holds its texts in one allocation)
/// and written out as [`App`] objects straight from them ([`App::write`]): a listing of 100,000
/// apps is never held as 100,000 objects of ten strings each, nor a long text copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found(pub Vec<AppInfo>);

impl CtyValue for Found {
    fn cty_type() -> Type {
        Vec::<Field<App>>::cty_type()
    }

    /// A list of app objects; a text that is null or unknown reads as empty.
    fn decode_value(value: &Value, path: &mut Vec<PathStep>) -> Result<Found, ShapeError> {
        let apps = Vec::<Field<App>>::decode_value(value, path)?;
        let info = |(index, app): (usize, &Field<App>)| match app {
            Field::Known(app) => Ok(app.info()),
            Field::Null | Field::Unknown => {
                let at = [path.as_slice(), &[PathStep::Index(index as i64)]].concat();
                let got = if app.is_unknown() { "an unknown value" } else { "null" };
                Err(ShapeError { path: at, expected: "an app", got })
            }
        };
        apps.iter().enumerate().map(info).collect::<Result<_, _>>().map(Found)
    }

    fn encode_value(&self) -> Value {
        Value::List(self.0.iter().map(|app| App::read(app).to_value()).collect())
    }

    fn write_msgpack(&self, out: &mut Writer) {
        out.list(self.0.len());
        self.0.iter().for_each(|app| App::write(app, out));
    }
}

impl DataSourceType for AppList {
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapps";

    fn schema() -> Schema {
        schema_of::<AppList>(
            "Lists the AI apps of a DataForest account (`getList`) that a selector matches: by exact \
                name, name pattern, queue, state and age. Unlike the kill resource and action, it lists ended apps \
                too unless `states` or `state` says otherwise.",
        )
    }

    /// A blank `account_id`, a pattern or duration that cannot be read, and `state` with `states`
    /// are refused; unknown values pass.
    fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        if let Field::Known(state) = &self.state {
            errors.extend(check_state(state, AppList::state).err());
        }
        // Only when both are certainly set: an unknown value may turn out null.
        if matches!(self.state, Field::Known(_)) && matches!(self.selector.states, Field::Known(_)) {
            errors.push(ProviderError::Conflicting { first: Selector::states, second: AppList::state });
        }
        errors
    }

    fn unknown_result(&self) -> AppList {
        AppList { apps: Field::Unknown, ids: Field::Unknown, ..self.clone() }
    }

    async fn read(
        &self,
        session: &Session,
        client: &DataForestClient,
        now: SystemTime,
    ) -> Result<(AppList, Vec<ProviderWarning>), ProviderError> {
        if let Some(error) = self.validate().into_iter().next() {
            return Err(error);
        }
        let mut selection = self.selector.selection(UnsetStates::Any)?;
        if let Some(state) = known(&self.state, AppList::state)? {
            selection = selection.only_state(state);
        }
        session.check_account(&selection.account_id, Selector::account_id)?;
        let failed = |what: String| {
            move |CallError { error, attempts, .. }| ProviderError::LookupFailed {
                what,
                error: Box::new(error),
                attempts,
            }
        };
        let accounts =
            session.accounts(client).await.map_err(failed("the accounts these keys see".to_string()))?;
        let account = selection.account_in(&accounts)?;
        let owner = Owner::of(account, &accounts, session.account_setting());
        let listing = client
            .list_apps(&selection.account_id)
            .await
            .map_err(failed(format!("the apps of account {:?}", selection.account_id)))?;
        let selected = selection.select_listed(listing, &owner, now)?;
        let ids = selected.apps.iter().map(|app| Field::Known(app.id().to_string())).collect();
        let found =
            AppList { apps: Field::Known(Found(selected.apps)), ids: Field::Known(ids), ..self.clone() };
        Ok((found, selected.warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::object::SetOf;

    #[test]
    fn found_apps_are_written_out_as_the_app_objects_they_read_back_as() {
        use crate::ncp::Text;
        // Every text distinct, so that a field written in another's place shows.
        let texts = Text::ALL.map(|field| format!("{field:?}-text"));
        let apps = Found(vec![AppInfo::new(&texts, true), AppInfo::default().with(Text::Id, "B2")]);
        let value = apps.encode_value();
        let Value::List(objects) = &value else { panic!("{value:?}") };
        assert_eq!(objects[0].get(App::final_status), &Value::String("FinalStatus-text".into()));
        assert_eq!(objects[0].get(App::disabled), &Value::Bool(true));
        // Each app written straight from its record, byte for byte as its object writes itself.
        let mut direct = Writer::default();
        App::write(&apps.0[0], &mut direct);
        let mut object = Writer::default();
        App::read(&apps.0[0]).write_object(&mut object);
        assert_eq!(direct.into_bytes(), object.into_bytes());
        let mut out = Writer::default();
        apps.write_msgpack(&mut out);
        assert_eq!(
            Value::from_msgpack(&out.into_bytes()),
            Ok(value.clone()),
            "written straight, the same list"
        );
        assert_eq!(Found::decode_value(&value, &mut Vec::new()), Ok(apps));
        let unknown = Value::List(vec![Value::Unknown]);
        let refused =
            Found::decode_value(&unknown, &mut vec![PathStep::Attribute("apps".into())]).unwrap_err();
        assert_eq!(refused.path, [PathStep::Attribute("apps".into()), PathStep::Index(0)]);
    }

    #[test]
    fn a_blank_account_is_refused() {
        let selector = Selector { account_id: Field::Known(" ".into()), ..Selector::default() };
        let list = AppList { selector: Flat(selector), ..AppList::default() };
        assert!(matches!(&list.validate()[..], [ProviderError::EmptyArgument { name: "account_id" }]));
    }

    #[test]
    fn state_and_states_conflict_only_when_both_are_set() {
        let states = |field: Field<SetOf<String>>| {
            let selector =
                Selector { account_id: Field::Known("acc".into()), states: field, ..Selector::default() };
            AppList { selector: Flat(selector), state: Field::Known("RUNNING".into()), ..AppList::default() }
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
