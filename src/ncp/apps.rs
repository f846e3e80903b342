//! AI apps as DataForest describes them (`aiapps/getList`, `aiapps/getDetail`), decoded leniently
//! where the API's documentation is vague: times and ids may come as text or numbers, and a
//! detail may stand at the top level of the answer or under `contents`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};

use super::error::{ApiError, classify};

pub const GET_LIST_PATH: &str = "/api/v2/aiapps/getList";
pub const GET_DETAIL_PATH: &str = "/api/v2/aiapps/getDetail";

/// Every state a YARN application can be in, which DataForest reports.
pub const APP_STATES: [&str; 8] =
    ["NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING", "FINISHED", "FAILED", "KILLED"];
/// States after which an app runs no more.
pub const TERMINAL_STATES: [&str; 3] = ["KILLED", "FINISHED", "FAILED"];
/// Longest DataForest AI app id.
const APP_ID_MAX_CHARS: usize = 22;

/// Whether `id` has the form of a DataForest AI app id: 1 to 22 characters of base62.
pub fn is_valid_app_id(id: &str) -> bool {
    (1..=APP_ID_MAX_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn is_terminal_state(state: &str) -> bool {
    TERMINAL_STATES.iter().any(|terminal| terminal.eq_ignore_ascii_case(state))
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

    /// When the app started, if `startedAt` can be read (see [`parse_time`]).
    pub fn started(&self) -> Option<SystemTime> {
        parse_time(&self.started_at)
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

/// A time as DataForest writes it: RFC 3339 with an offset (`2025-02-25T15:49:07+09:00`, with or
/// without fractions of a second, `Z` for UTC), or a number of milliseconds since the Unix epoch
/// (seconds, if it has 11 digits or fewer). Anything else is `None`.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let number: u64 = text.parse().ok()?;
        let since_epoch =
            if text.len() <= 11 { Duration::from_secs(number) } else { Duration::from_millis(number) };
        return UNIX_EPOCH.checked_add(since_epoch);
    }
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, separator)| bytes[at] != separator) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let length = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if length == 0 {
            return None;
        }
        let kept = &fraction[..length.min(9)];
        nanos = kept.parse::<u32>().ok()? * 10u32.pow(9 - kept.len() as u32);
        rest = &fraction[length..];
    }
    let offset_seconds = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let number = |a: &u8, b: &u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from((a - b'0') * 10 + (b - b'0')))
            };
            let (hours, minutes) = (number(h1, h2)?, number(m1, m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    let since_epoch = Duration::new(u64::try_from(seconds).ok()?, nanos);
    UNIX_EPOCH.checked_add(since_epoch)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
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
    fn ended_states_are_recognised_in_any_case() {
        for state in ["KILLED", "killed", "Finished", "failed"] {
            assert!(is_terminal_state(state), "{state}");
        }
        assert!(!is_terminal_state("RUNNING") && !is_terminal_state("accepted"));
    }

    #[test]
    fn times_with_offsets_fractions_or_epoch_numbers() {
        let utc = |text| parse_time(text).map(|t| t.duration_since(UNIX_EPOCH).unwrap());
        // 2025-02-25T06:49:07Z is 1740466147 seconds after the epoch.
        assert_eq!(utc("2025-02-25T15:49:07+09:00"), Some(Duration::from_secs(1_740_466_147)));
        assert_eq!(utc("2025-02-25T06:49:07Z"), Some(Duration::from_secs(1_740_466_147)));
        assert_eq!(utc("2025-02-25T01:49:07-05:00"), Some(Duration::from_secs(1_740_466_147)));
        assert_eq!(utc("2025-02-25T06:49:07.250Z"), Some(Duration::new(1_740_466_147, 250_000_000)));
        assert_eq!(utc("1970-01-01T00:00:00Z"), Some(Duration::ZERO));
        assert_eq!(utc("2000-02-29T00:00:00Z"), Some(Duration::from_secs(951_782_400)));
        assert_eq!(utc("2024-02-29T00:00:00Z"), Some(Duration::from_secs(1_709_164_800)));
        assert!(utc("2025-02-25T06:49:07+23:59").is_some());
        assert_eq!(utc("1740466147000"), Some(Duration::from_secs(1_740_466_147)));
        assert_eq!(utc("1740466147"), Some(Duration::from_secs(1_740_466_147)));
        for unreadable in [
            "",
            "yesterday",
            "2025-02-25",
            "2025-02-25T15:49:07",
            "2025-13-01T00:00:00Z",
            "2025-02-25T15:49:07+0900",
            "2025-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-02-25T15:49:07+24:00",
            "2025-02-25T15:49:07+09:60",
        ] {
            assert_eq!(parse_time(unreadable), None, "{unreadable:?}");
        }
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
