//! AI apps as DataForest describes them (`aiapps/getList`, `aiapps/getDetail`), decoded leniently
//! where the API's documentation is vague: times and ids may come as text or numbers, and a
//! detail may stand at the top level of the answer or under `contents`. Both answers are decoded
//! straight into [`AppInfo`] records, keeping only the fields the provider uses (and, for
//! `getList`, at most [`MAX_LISTED_APPS`] of them), without building a JSON tree first: their
//! memory stays close to the answer's size whatever the answer holds. Error answers, which are
//! small, are read as [`classify`] reads them.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
/// The largest answer read as an error answer when it is no listing: error answers are small.
const LARGEST_ERROR_ANSWER: usize = 1 << 20;
/// The most entries (with an id) a `getList` answer may hold: far more than any account's
/// history, and few enough that a hostile answer cannot take much memory.
pub const MAX_LISTED_APPS: usize = 200_000;

/// Whether `id` has the form of a DataForest AI app id: 1 to 22 characters of base62.
pub fn is_valid_app_id(id: &str) -> bool {
    (1..=APP_ID_MAX_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn is_terminal_state(state: &str) -> bool {
    TERMINAL_STATES.iter().any(|terminal| terminal.eq_ignore_ascii_case(state))
}

/// An app's text fields, in the order [`AppInfo`] keeps them, with the names DataForest gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    Id,
    /// The YARN application id.
    AppId,
    Name,
    State,
    FinalStatus,
    /// The account's id, which DataForest's listing may carry; a string or nothing.
    AccountId,
    /// The account's name; a string or nothing.
    AccountName,
    QueueName,
    WorkspaceName,
    StartedAt,
    FinishedAt,
}

impl Text {
    /// Every text field, in the order [`AppInfo`] keeps them.
    pub const ALL: [Text; 11] = [
        Text::Id,
        Text::AppId,
        Text::Name,
        Text::State,
        Text::FinalStatus,
        Text::AccountId,
        Text::AccountName,
        Text::QueueName,
        Text::WorkspaceName,
        Text::StartedAt,
        Text::FinishedAt,
    ];

    /// The field's name in DataForest's answers.
    fn key(self) -> &'static str {
        match self {
            Text::Id => "id",
            Text::AppId => "appId",
            Text::Name => "name",
            Text::State => "state",
            Text::FinalStatus => "finalStatus",
            Text::AccountId => "accountId",
            Text::AccountName => "accountName",
            Text::QueueName => "queueName",
            Text::WorkspaceName => "workspaceName",
            Text::StartedAt => "startedAt",
            Text::FinishedAt => "finishedAt",
        }
    }

    /// Whether only a string counts for this field: the account fields, which decide whose app
    /// it is, take nothing else (a number or `null` there is no account at all).
    fn string_only(self) -> bool {
        matches!(self, Text::AccountId | Text::AccountName)
    }
}

/// How many text fields an app has.
const TEXT_COUNT: usize = Text::ALL.len();

/// An app, as the provider uses it: eleven text fields and `disabled`. Each text field reads a
/// string, or a number written out (the account fields a string only); anything else (and a
/// missing field) is empty. Other fields are skipped unread; a text field given twice keeps its
/// last value, and if the two values differ the entry is marked (`conflicting`): an entry that
/// says two ids, two names or two accounts cannot be believed either way. The texts share one allocation, one after another: a listing holds up to
/// [`MAX_LISTED_APPS`] apps, and eleven strings apiece would take three times the memory.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AppInfo {
    /// The text fields, in the order of [`Text::ALL`].
    texts: Box<str>,
    /// Where each text field ends in `texts`.
    ends: [u32; TEXT_COUNT],
    /// True only when DataForest says `true`.
    pub disabled: bool,
    /// The entry gives a text field twice, with different values: it says two things of one
    /// app (two ids, two names, two accounts).
    pub conflicting: bool,
}

impl AppInfo {
    /// An app of these text fields, in the order of [`Text::ALL`].
    pub fn new<S: AsRef<str>>(texts: &[S; TEXT_COUNT], disabled: bool) -> AppInfo {
        let mut joined = String::with_capacity(texts.iter().map(|text| text.as_ref().len()).sum());
        let mut ends = [0; TEXT_COUNT];
        for (end, text) in ends.iter_mut().zip(texts) {
            joined.push_str(text.as_ref());
            // An answer is at most 64 MiB, and so is every text read from it.
            *end = u32::try_from(joined.len()).expect("an app's texts fit in 4 GiB");
        }
        AppInfo { texts: joined.into_boxed_str(), ends, disabled, conflicting: false }
    }

    /// One text field.
    pub fn text(&self, field: Text) -> &str {
        let index = field as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        &self.texts[start..self.ends[index] as usize]
    }

    /// This app with one text field set to `value`.
    pub fn with(&self, field: Text, value: &str) -> AppInfo {
        let texts = Text::ALL.map(|each| if each == field { value } else { self.text(each) });
        AppInfo { conflicting: self.conflicting, ..AppInfo::new(&texts, self.disabled) }
    }

    pub fn id(&self) -> &str {
        self.text(Text::Id)
    }

    /// The YARN application id.
    pub fn app_id(&self) -> &str {
        self.text(Text::AppId)
    }

    pub fn name(&self) -> &str {
        self.text(Text::Name)
    }

    pub fn state(&self) -> &str {
        self.text(Text::State)
    }

    pub fn final_status(&self) -> &str {
        self.text(Text::FinalStatus)
    }

    /// The account's name, or empty when DataForest gave no string for it.
    pub fn account_name(&self) -> &str {
        self.text(Text::AccountName)
    }

    /// The account's id, or empty when DataForest gave no string for it.
    pub fn account_id(&self) -> &str {
        self.text(Text::AccountId)
    }

    pub fn queue_name(&self) -> &str {
        self.text(Text::QueueName)
    }

    pub fn workspace_name(&self) -> &str {
        self.text(Text::WorkspaceName)
    }

    pub fn started_at(&self) -> &str {
        self.text(Text::StartedAt)
    }

    pub fn finished_at(&self) -> &str {
        self.text(Text::FinishedAt)
    }

    pub fn is_terminal(&self) -> bool {
        is_terminal_state(self.state())
    }

    /// When the app started, if `startedAt` can be read (see [`parse_time`]).
    pub fn started(&self) -> Option<SystemTime> {
        parse_time(self.started_at())
    }
}

impl fmt::Debug for AppInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("AppInfo");
        for field in Text::ALL {
            out.field(field.key(), &self.text(field));
        }
        out.field("disabled", &self.disabled).field("conflicting", &self.conflicting).finish()
    }
}

impl<'de> Deserialize<'de> for AppInfo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AppInfo, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = AppInfo;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an app")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AppInfo, A::Error> {
                // Borrowed from the answer where they need no unescaping, and copied once.
                let mut texts: [Cow<'de, str>; TEXT_COUNT] = Default::default();
                let mut given = [false; TEXT_COUNT];
                let (mut disabled, mut conflicting) = (false, false);
                while let Some(TextValue { text: key, .. }) = map.next_key::<TextValue>()? {
                    if key == "disabled" {
                        disabled = map.next_value::<Flag>()? == Flag::Bool(true);
                    } else if let Some(field) = Text::ALL.iter().find(|field| field.key() == key) {
                        let TextValue { text, string } = map.next_value::<TextValue>()?;
                        let text = if string || !field.string_only() { text } else { Cow::Borrowed("") };
                        let index = *field as usize;
                        let differs = given[index] && texts[index] != text;
                        // Two ids: which app the entry is cannot be told, so no entry of either
                        // app can be believed; the answer is refused.
                        if differs && *field == Text::Id {
                            return Err(de::Error::custom(ID_TWICE));
                        }
                        conflicting |= differs;
                        given[index] = true;
                        texts[index] = text;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(AppInfo { conflicting, ..AppInfo::new(&texts, disabled) })
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// Why an answer with an entry that gives its id twice, differently, is refused.
const ID_TWICE: &str = "an entry gives its id twice, differently";

/// Numbers below this are seconds since the epoch (until the year 5138), from it milliseconds
/// (since 1973-03-03).
const FIRST_MILLISECONDS: u64 = 100_000_000_000;

/// A time as DataForest writes it: RFC 3339 with an offset (`2025-02-25T15:49:07+09:00`, with or
/// without fractions of a second, `Z` for UTC; second 60 only as a leap second, at 23:59 UTC), or
/// a number since the Unix epoch: seconds below 10^11, milliseconds from 10^11. Anything else is
/// `None`.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let number: u64 = text.parse().ok()?;
        let since_epoch = if number < FIRST_MILLISECONDS {
            Duration::from_secs(number)
        } else {
            Duration::from_millis(number)
        };
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
    // A leap second ends a UTC day: 23:59:60 UTC, whatever the offset says locally.
    if second == 60 && (hour * 3600 + minute * 60 - offset_seconds).rem_euclid(86_400) != 86_340 {
        return None;
    }
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

/// A text field's value: a string, or a number written out as `serde_json` writes it; anything
/// else is empty, and skipped unread. `string`: the value was a JSON string.
struct TextValue<'de> {
    text: Cow<'de, str>,
    string: bool,
}

impl<'de> Deserialize<'de> for TextValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TextValue<'de>, D::Error> {
        struct Visit;
        fn other<'de>(text: String) -> TextValue<'de> {
            TextValue { text: Cow::Owned(text), string: false }
        }
        impl<'de> Visitor<'de> for Visit {
            type Value = TextValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            skip_others!(other(String::new()); visit_bool, visit_unit, visit_seq, visit_map);
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<TextValue<'de>, E> {
                Ok(TextValue { text: Cow::Borrowed(value), string: true })
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<TextValue<'de>, E> {
                Ok(TextValue { text: Cow::Owned(value.to_string()), string: true })
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<TextValue<'de>, E> {
                Ok(TextValue { text: Cow::Owned(value), string: true })
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<TextValue<'de>, E> {
                Ok(other(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<TextValue<'de>, E> {
                Ok(other(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<TextValue<'de>, E> {
                Ok(other(serde_json::Number::from_f64(value).map(|n| n.to_string()).unwrap_or_default()))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// A value that matters only when it is a boolean; anything else is skipped unread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Bool(bool),
    Other,
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Flag, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            skip_others!(Flag::Other; visit_str, visit_u64, visit_i64, visit_f64, visit_unit, visit_seq, visit_map);
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Flag, E> {
                Ok(Flag::Bool(value))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// The entries of a `getList` answer, as listed, for the provider to select from: each entry
/// with a usable id, in order (an id listed twice stays twice: which of its entries to believe
/// is for the selector to decide), how many entries had none, and how many apps the answer says
/// there are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub apps: Vec<AppInfo>,
    /// Entries without an id (objects without one, and entries that are no object).
    pub without_id: usize,
    /// Entries whose id no app can have (see [`is_valid_app_id`]).
    pub invalid_ids: usize,
    /// How many entries `contents` held, of every kind.
    pub entries: usize,
    /// How many apps the answer says there are: the largest of `totalCount`, `total` and
    /// `totalRows` (see [`Count`]).
    pub claimed: Option<u64>,
}

/// How many apps a listing gathers before it starts another block.
const BLOCK: usize = 4096;

/// What `contents` holds: a list, read into a [`Listing`], or something else.
enum Contents {
    List(Listing),
    Other,
}

/// A count the answer gives: a whole number, as a number or as text (`30`, `"30"`, `30.0`,
/// `"3e1"`; a fraction counts up, and a count beyond `u64` is the largest), or a value that is
/// no count at all (negative, or not a number), which fails the listing: a count not read would
/// let a partial listing pass as whole.
enum Count {
    Whole(u64),
    Unreadable,
}

impl Count {
    fn of_number(value: f64) -> Count {
        if value.is_finite() && value >= 0.0 {
            // `as` saturates: a count past `u64` is more than any listing holds.
            Count::Whole(value.ceil() as u64)
        } else {
            Count::Unreadable
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count")
            }
            skip_others!(Count::Unreadable; visit_i64, visit_bool, visit_unit, visit_seq, visit_map);
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Count, E> {
                Ok(Count::Whole(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Count, E> {
                let value = value.trim();
                Ok(match value.parse::<u64>() {
                    Ok(count) => Count::Whole(count),
                    Err(_) => value.parse::<f64>().map_or(Count::Unreadable, Count::of_number),
                })
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Count, E> {
                Ok(Count::of_number(value))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// Why a `getList` answer's list could not be read, beside malformed JSON.
const TOO_MANY_APPS: &str = "more apps than the provider reads";

impl<'de> Deserialize<'de> for Contents {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Contents, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Contents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of apps")
            }
            skip_others!(Contents::Other; visit_str, visit_u64, visit_i64, visit_f64, visit_bool, visit_map);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Contents, A::Error> {
                // In blocks, moved once into a list of the right size at the end: a list grown by
                // doubling would hold up to three times the apps' size while it grows.
                let mut blocks: Vec<Vec<AppInfo>> = Vec::new();
                let mut listing = Listing::default();
                let mut count = 0;
                while let Some(entry) = seq.next_element::<Entry>()? {
                    listing.entries += 1;
                    let app = match entry {
                        Entry(Some(app)) if is_valid_app_id(app.id()) => app,
                        Entry(Some(app)) if !app.id().is_empty() => {
                            listing.invalid_ids += 1;
                            continue;
                        }
                        Entry(_) => {
                            listing.without_id += 1;
                            continue;
                        }
                    };
                    if count == MAX_LISTED_APPS {
                        return Err(de::Error::custom(TOO_MANY_APPS));
                    }
                    match blocks.last_mut() {
                        Some(block) if block.len() < BLOCK => block.push(app),
                        _ => {
                            let mut block = Vec::with_capacity(BLOCK);
                            block.push(app);
                            blocks.push(block);
                        }
                    }
                    count += 1;
                }
                listing.apps = Vec::with_capacity(count);
                for block in blocks {
                    listing.apps.extend(block);
                }
                Ok(Contents::List(listing))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// One entry of the list: an app when it is an object, else nothing (skipped unread).
struct Entry(Option<AppInfo>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Entry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an app")
            }
            skip_others!(Entry(None); visit_str, visit_u64, visit_i64, visit_f64, visit_bool, visit_unit, visit_seq);
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                AppInfo::deserialize(de::value::MapAccessDeserializer::new(map)).map(|app| Entry(Some(app)))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// A `getList` answer, read for what a listing needs; everything else is skipped unread.
#[derive(serde::Deserialize)]
struct ListAnswer {
    success: Option<Flag>,
    contents: Option<Contents>,
    error: Option<IgnoredAny>,
    #[serde(rename = "totalCount")]
    total_count: Option<Count>,
    total: Option<Count>,
    #[serde(rename = "totalRows")]
    total_rows: Option<Count>,
}

/// A `getDetail` answer, read for what a detail needs: the app stands under `contents`, or at
/// the top level of the answer.
#[derive(serde::Deserialize)]
struct DetailAnswer {
    success: Option<Flag>,
    contents: Option<Entry>,
    error: Option<IgnoredAny>,
}

/// Decodes a `getDetail` answer, which must describe the app asked for, straight into an
/// [`AppInfo`]. An answer that is not a successful detail is read as the error it is.
pub fn decode_detail(status: u16, body: &[u8], requested_id: &str) -> Result<AppInfo, ApiError> {
    let detail = match serde_json::from_slice::<DetailAnswer>(body) {
        Ok(DetailAnswer { success: Some(Flag::Bool(true)), contents, error: None })
            if (200..300).contains(&status) =>
        {
            match contents {
                Some(Entry(Some(app))) => Ok(app),
                _ => serde_json::from_slice::<AppInfo>(body),
            }
        }
        _ => {
            classify(status, body)?;
            return Err(ApiError::unexpected(status, "the answer is not an app's detail", body));
        }
    };
    match detail {
        Ok(app) if app.conflicting => {
            Err(ApiError::unexpected(status, "the answer gives a field of the app twice, differently", body))
        }
        Ok(app) if app.id() == requested_id => Ok(app),
        Err(error) if error.to_string().starts_with(ID_TWICE) => {
            Err(ApiError::unexpected(status, "the answer gives the app's id twice, differently", body))
        }
        Ok(app) if !app.id().is_empty() => Err(ApiError::unexpected(
            status,
            format!("the answer is for app {:?}, not {requested_id:?}", app.id()),
            body,
        )),
        _ => Err(ApiError::unexpected(status, "the answer describes no app", body)),
    }
}

/// Decodes a `getList` answer: at most [`MAX_LISTED_APPS`] entries with an app id, in order. A
/// successful answer must hold its list in `contents`: without one it says nothing of the
/// account's apps, which is not the same as saying there are none. An answer that is not a
/// successful listing is read as an error answer, if it is small enough to be one.
pub fn decode_list(status: u16, body: &[u8]) -> Result<Listing, ApiError> {
    let listing = serde_json::from_slice::<ListAnswer>(body);
    let error = match listing {
        Ok(ListAnswer {
            success: Some(Flag::Bool(true)),
            contents,
            error: None,
            total_count,
            total,
            total_rows,
        }) if (200..300).contains(&status) => {
            return match contents {
                None => Err(ApiError::unexpected(status, "a successful answer without \"contents\"", body)),
                Some(Contents::List(mut listing)) => {
                    let counts: Result<Vec<u64>, ()> = [total_count, total, total_rows]
                        .into_iter()
                        .flatten()
                        .map(|count| match count {
                            Count::Whole(count) => Ok(count),
                            Count::Unreadable => Err(()),
                        })
                        .collect();
                    let Ok(counts) = counts else {
                        let reason = "a count (totalCount, total or totalRows) that is no whole number";
                        return Err(ApiError::unexpected(status, reason, body));
                    };
                    listing.claimed = counts.into_iter().max();
                    Ok(listing)
                }
                Some(Contents::Other) => {
                    Err(ApiError::unexpected(status, "\"contents\" is not a list", body))
                }
            };
        }
        Ok(_) => None,
        Err(error) if error.to_string().starts_with(TOO_MANY_APPS) => {
            let reason = format!("it lists more than {MAX_LISTED_APPS} apps, more than the provider reads");
            return Err(ApiError::unexpected(status, reason, body));
        }
        Err(error) => Some(error),
    };
    // An error answer (or none at all) is small: a large one is read no further.
    if body.len() > LARGEST_ERROR_ANSWER {
        let reason = match error {
            Some(error) => format!("the body is not a listing: {error}"),
            None => "a listing that does not say it succeeded, larger than 1 MiB".to_string(),
        };
        return Err(ApiError::unexpected(status, reason, body));
    }
    classify(status, body)?;
    let reason = match error {
        Some(error) => format!("the body is not a listing: {error}"),
        None => "the answer is not a listing".to_string(),
    };
    Err(ApiError::unexpected(status, reason, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_at_top_level_or_under_contents() {
        let top = br#"{"success":true,"id":"A1","appId":"application_1_2","state":"RUNNING","startedAt":1700000000000}"#;
        let app = decode_detail(200, top, "A1").unwrap();
        assert_eq!((app.app_id(), app.state()), ("application_1_2", "RUNNING"));
        assert_eq!(app.started_at(), "1700000000000");
        assert!(!app.is_terminal());
        let nested = br#"{"success":true,"contents":{"id":"A1","state":"KILLED","disabled":true}}"#;
        let app = decode_detail(200, nested, "A1").unwrap();
        assert!(app.is_terminal() && app.disabled);
        assert!(decode_detail(200, nested, "B2").is_err());
        assert!(decode_detail(200, br#"{"success":true}"#, "A1").is_err());
        assert_eq!(
            decode_detail(404, br#"{"success":false,"message":"no such element"}"#, "A1"),
            Err(ApiError::Rejected { status: 404, message: "no such element".into() })
        );
        // Contents that are no app: the app stands at the top level.
        let top_level = br#"{"success":true,"contents":"n/a","id":"A1","state":"FAILED"}"#;
        assert_eq!(decode_detail(200, top_level, "A1").unwrap().state(), "FAILED");
        let gateway =
            decode_detail(401, br#"{"error":{"errorCode":"200","message":"Authentication Failed"}}"#, "A1");
        assert!(matches!(gateway, Err(ApiError::Gateway { status: 401, .. })), "{gateway:?}");
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
        // Below 10^11 seconds, from 10^11 milliseconds, leading zeros or not.
        assert_eq!(utc("99999999999"), Some(Duration::from_secs(99_999_999_999)));
        assert_eq!(utc("100000000000"), Some(Duration::from_secs(100_000_000)));
        assert_eq!(utc("0001740466147"), Some(Duration::from_secs(1_740_466_147)));
        // Second 60 is a leap second, at 23:59 UTC only.
        assert_eq!(utc("2016-12-31T23:59:60Z"), Some(Duration::from_secs(1_483_228_800)));
        assert_eq!(utc("2017-01-01T08:59:60+09:00"), Some(Duration::from_secs(1_483_228_800)));
        assert_eq!(utc("2016-12-31T12:30:60Z"), None);
        assert_eq!(utc("2016-12-31T23:59:60+09:00"), None);
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
        let body = br#"{"success":true,"contents":[{"id":"A1","name":"etl"},{"name":"no id"},7,{"id":"B2"},{"id":"~~~"},{"id":""}]}"#;
        let listing = decode_list(200, body).unwrap();
        assert_eq!(listing.apps.iter().map(|a| a.id()).collect::<Vec<_>>(), ["A1", "B2"]);
        assert_eq!(listing.apps[0].name(), "etl");
        assert_eq!((listing.entries, listing.without_id, listing.invalid_ids), (6, 3, 1));
        assert_eq!(listing.claimed, None);
        // A successful answer that holds no list says nothing of the account's apps.
        for nothing in [
            &br#"{"success":true}"#[..],
            br#"{"success":true,"contents":null}"#,
            br#"{"success":true,"contents":"x"}"#,
        ] {
            assert!(decode_list(200, nothing).is_err(), "{}", String::from_utf8_lossy(nothing));
        }
        assert_eq!(decode_list(200, br#"{"success":true,"contents":[]}"#).unwrap(), Listing::default());
    }

    #[test]
    fn the_count_an_answer_claims_is_its_largest_number() {
        let decoded = |extra: &str| {
            let body = format!(r#"{{"success":true,{extra}"contents":[{{"id":"A1"}}]}}"#);
            decode_list(200, body.as_bytes())
        };
        let claimed = |extra: &str| decoded(extra).unwrap().claimed;
        assert_eq!(claimed(r#""totalCount":30,"#), Some(30));
        assert_eq!(claimed(r#""total":3,"totalRows":7.0,"#), Some(7));
        assert_eq!(claimed(r#""totalCount":"30","totalRows":null,"#), Some(30), "text counts too");
        for (text, count) in [("30.0", 30), ("3e1", 30), (" 2.5 ", 3), ("1e30", u64::MAX)] {
            assert_eq!(claimed(&format!(r#""total":"{text}","#)), Some(count), "{text}");
        }
        assert_eq!(claimed(r#""totalRows":1e30,"#), Some(u64::MAX), "a count past u64 is the largest");
        assert_eq!(claimed(""), None);
        // A count that is there but cannot be read fails the listing: it may say it is partial.
        for unreadable in
            [r#""totalCount":"many","#, r#""total":-1,"#, r#""totalRows":true,"#, r#""total":[30],"#]
        {
            let error = decoded(unreadable).unwrap_err().to_string();
            assert!(error.contains("no whole number"), "{unreadable}: {error}");
        }
    }

    #[test]
    fn the_account_fields_take_a_string_only() {
        let body = br#"{"success":true,"contents":[
            {"id":"A1","accountId":"acc","accountName":"Analytics"},
            {"id":"A2","accountId":7,"accountName":null},
            {"id":"A3","accountName":{"name":"x"},"queueName":5}]}"#;
        let listing = decode_list(200, body).unwrap();
        let accounts: Vec<(&str, &str)> =
            listing.apps.iter().map(|app| (app.account_id(), app.account_name())).collect();
        assert_eq!(accounts, [("acc", "Analytics"), ("", ""), ("", "")]);
        assert_eq!(listing.apps[2].queue_name(), "5", "other texts still read numbers");
        assert!(listing.apps.iter().all(|app| !app.conflicting));
        // A field given twice with different values says two things of one app.
        let twice = br#"{"success":true,"contents":[
            {"id":"A1","accountId":"prod-account","accountId":null},
            {"id":"A2","accountName":"Analytics","accountName":"Production"},
            {"id":"A3","accountId":"acc","accountId":"acc","state":"RUNNING","state":"RUNNING"},
            {"id":"B4","name":"keep-me","name":"batch"},
            {"id":"A6","state":"KILLED","state":"RUNNING"}]}"#;
        let conflicts: Vec<bool> =
            decode_list(200, twice).unwrap().apps.iter().map(|app| app.conflicting).collect();
        assert_eq!(conflicts, [true, true, false, true, true]);
        // Two ids in one entry (or an id and then none): whose entry it is cannot be told, and
        // the listing is refused.
        for ids in [r#""id":"A5","id":"B5""#, r#""id":"A5","id":null"#] {
            let body = format!(r#"{{"success":true,"contents":[{{{ids},"name":"x"}},{{"id":"A5"}}]}}"#);
            let error = decode_list(200, body.as_bytes()).unwrap_err().to_string();
            assert!(error.contains("gives its id twice"), "{ids}: {error}");
        }
    }

    #[test]
    fn a_listing_reads_text_or_numbers_and_skips_what_it_does_not_use() {
        let body = br#"{"success":true,"extra":{"deep":[1,2,{"x":null}]},"contents":[
            {"id":123,"name":["not","text"],"startedAt":1700000000000,"disabled":"yes","other":{"a":1}},
            {"id":"A2","state":"RUNNING","disabled":true,"finalStatus":null}]}"#;
        let listing = decode_list(200, body).unwrap();
        let [first, second] = &listing.apps[..] else { panic!("{listing:?}") };
        assert_eq!((first.id(), first.name(), first.started_at()), ("123", "", "1700000000000"));
        assert!(!first.disabled && second.disabled);
        assert_eq!((second.state(), second.final_status()), ("RUNNING", ""));
    }

    #[test]
    fn a_field_given_twice_in_an_entry_keeps_its_last_value() {
        let body = br#"{"success":true,"contents":[{"id":"A1","state":"RUNNING","state":"KILLED","disabled":true,"disabled":1}]}"#;
        let listing = decode_list(200, body).unwrap();
        assert_eq!((listing.apps[0].state(), listing.apps[0].disabled), ("KILLED", false));
        // A detail that says two things of its app is no answer to rely on.
        for detail in [
            &br#"{"success":true,"id":"A1","state":"RUNNING","state":"FINISHED"}"#[..],
            br#"{"success":true,"id":"B2","id":"A1"}"#,
        ] {
            let error = decode_detail(200, detail, "A1").unwrap_err().to_string();
            assert!(error.contains("twice"), "{error}");
        }
    }

    #[test]
    fn a_repeated_id_is_kept_as_listed_for_the_selector_to_weigh() {
        let body = br#"{"success":true,"contents":[{"id":"A1","name":"first"},{"id":"B2"},{"id":"A1","name":"again"}]}"#;
        let listing = decode_list(200, body).unwrap();
        assert_eq!(listing.apps.iter().map(|a| a.name()).collect::<Vec<_>>(), ["first", "", "again"]);
    }

    #[test]
    fn more_apps_than_the_cap_are_refused() {
        let listed = |count: usize| {
            let entries: Vec<String> = (0..count).map(|n| format!("{{\"id\":\"A{n}\"}}")).collect();
            format!("{{\"success\":true,\"contents\":[{}]}}", entries.join(","))
        };
        assert_eq!(decode_list(200, listed(MAX_LISTED_APPS).as_bytes()).unwrap().apps.len(), MAX_LISTED_APPS);
        let refused = decode_list(200, listed(MAX_LISTED_APPS + 1).as_bytes()).unwrap_err();
        assert!(refused.to_string().contains("it lists more than 200000 apps"), "{refused}");
    }

    #[test]
    fn an_answer_that_is_no_listing_is_read_as_the_error_it_is() {
        let rejected = decode_list(404, br#"{"success":false,"message":"no such account"}"#);
        assert_eq!(rejected, Err(ApiError::Rejected { status: 404, message: "no such account".into() }));
        let gateway = decode_list(401, br#"{"error":{"errorCode":"200","message":"Authentication Failed"}}"#);
        assert!(matches!(gateway, Err(ApiError::Gateway { status: 401, .. })), "{gateway:?}");
        assert!(matches!(
            decode_list(502, b"<html>bad gateway</html>"),
            Err(ApiError::UnexpectedResponse { .. })
        ));
        // A large answer that is no listing is not read into memory as one.
        let large = format!("{{\"success\":false,\"message\":\"no\",\"pad\":\"{}\"}}", "x".repeat(2 << 20));
        let refused = decode_list(200, large.as_bytes()).unwrap_err();
        assert!(refused.to_string().contains("larger than 1 MiB"), "{refused}");
    }
}
