//! AI apps as DataForest describes them (`aiapps/getList`, `aiapps/getDetail`), decoded leniently
//! where the API's documentation is vague: times and ids may come as text or numbers, and a
//! detail may stand at the top level of the answer or under `contents`.

use serde_json::{Map, Value as Json};

use super::error::{ApiError, classify};

pub const GET_LIST_PATH: &str = "/api/v2/aiapps/getList";
pub const GET_DETAIL_PATH: &str = "/api/v2/aiapps/getDetail";

/// States after which an app runs no more (YARN's, which DataForest reports).
pub const TERMINAL_STATES: [&str; 3] = ["KILLED", "FINISHED", "FAILED"];
/// Longest DataForest AI app id.
const APP_ID_MAX_CHARS: usize = 22;

/// Whether `id` has the form of a DataForest AI app id: 1 to 22 characters of base62.
pub fn is_valid_app_id(id: &str) -> bool {
    (1..=APP_ID_MAX_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn is_terminal_state(state: &str) -> bool {
    TERMINAL_STATES.contains(&state)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppInfo {
    pub id: String,
    /// The YARN application id.
    pub app_id: String,
    pub name: String,
    pub state: String,
    pub final_status: String,
    pub account_name: String,
    pub queue_name: String,
    pub workspace_name: String,
    pub started_at: String,
    pub finished_at: String,
    pub disabled: bool,
}

impl AppInfo {
    pub fn is_terminal(&self) -> bool {
        is_terminal_state(&self.state)
    }

    fn from_json(object: &Map<String, Json>) -> Option<AppInfo> {
        let text = |key: &str| match object.get(key) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let id = text("id");
        if id.is_empty() {
            return None;
        }
        Some(AppInfo {
            id,
            app_id: text("appId"),
            name: text("name"),
            state: text("state"),
            final_status: text("finalStatus"),
            account_name: text("accountName"),
            queue_name: text("queueName"),
            workspace_name: text("workspaceName"),
            started_at: text("startedAt"),
            finished_at: text("finishedAt"),
            disabled: matches!(object.get("disabled"), Some(Json::Bool(true))),
        })
    }
}

/// Decodes a `getDetail` answer, which must describe the app asked for.
pub fn decode_detail(status: u16, body: &[u8], requested_id: &str) -> Result<AppInfo, ApiError> {
    let object = classify(status, body)?;
    let detail = match object.get("contents") {
        Some(Json::Object(contents)) => contents,
        _ => &object,
    };
    match AppInfo::from_json(detail) {
        Some(app) if app.id == requested_id => Ok(app),
        Some(app) => Err(ApiError::unexpected(
            status,
            format!("the answer is for app {:?}, not {requested_id:?}", app.id),
            body,
        )),
        None => Err(ApiError::unexpected(status, "the answer describes no app", body)),
    }
}

/// Decodes a `getList` answer; entries without an id are skipped.
pub fn decode_list(status: u16, body: &[u8]) -> Result<Vec<AppInfo>, ApiError> {
    let object = classify(status, body)?;
    match object.get("contents") {
        Some(Json::Array(items)) => {
            Ok(items.iter().filter_map(Json::as_object).filter_map(AppInfo::from_json).collect())
        }
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(_) => Err(ApiError::unexpected(status, "\"contents\" is not a list", body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_at_top_level_or_under_contents() {
        let top = br#"{"success":true,"id":"A1","appId":"application_1_2","state":"RUNNING","startedAt":1700000000000}"#;
        let app = decode_detail(200, top, "A1").unwrap();
        assert_eq!((app.app_id.as_str(), app.state.as_str()), ("application_1_2", "RUNNING"));
        assert_eq!(app.started_at, "1700000000000");
        assert!(!app.is_terminal());
        let nested = br#"{"success":true,"contents":{"id":"A1","state":"KILLED","disabled":true}}"#;
        let app = decode_detail(200, nested, "A1").unwrap();
        assert!(app.is_terminal() && app.disabled);
        assert!(decode_detail(200, nested, "B2").is_err());
        assert!(decode_detail(200, br#"{"success":true}"#, "A1").is_err());
        assert!(decode_detail(404, br#"{"success":false,"message":"no such element"}"#, "A1").is_err());
    }

    #[test]
    fn list_entries() {
        let body =
            br#"{"success":true,"contents":[{"id":"A1","name":"etl"},{"name":"no id"},7,{"id":"B2"}]}"#;
        let apps = decode_list(200, body).unwrap();
        assert_eq!(apps.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["A1", "B2"]);
        assert_eq!(decode_list(200, br#"{"success":true}"#).unwrap(), Vec::new());
        assert!(decode_list(200, br#"{"success":true,"contents":"x"}"#).is_err());
    }
}
