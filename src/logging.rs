//! Logs as Terraform reads them from a provider's stderr: one hclog-style JSON line per event
//! (`@level`, `@message`, `@module`, `@timestamp` with six fractional digits, then the event's
//! fields), at the level set by `TF_LOG_PROVIDER`, else `TF_LOG`. Nothing is logged when neither
//! is set. stdout is never touched: it belongs to the handshake.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

const MODULE: &str = "ncloud";

/// The most verbose level to emit, from the environment; `None` means logging is off.
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> Option<Level> {
    let setting = [tf_log_provider, tf_log].into_iter().flatten().map(str::trim).find(|s| !s.is_empty())?;
    match setting.to_ascii_uppercase().as_str() {
        "OFF" => None,
        "ERROR" => Some(Level::ERROR),
        "WARN" => Some(Level::WARN),
        "INFO" => Some(Level::INFO),
        "DEBUG" => Some(Level::DEBUG),
        // TRACE, JSON, and anything Terraform does not recognise (it falls back to TRACE too).
        _ => Some(Level::TRACE),
    }
}

/// Installs the stderr JSON logger for this process, at the level the environment asks for.
pub fn init_from_env() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    if let Some(level) = level {
        let subscriber = tracing_subscriber::registry().with(HclogLayer { max_level: level });
        // Only fails when a logger is already installed, which then keeps logging.
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// The crates whose debug and trace events are logged: this one and the plugin protocol's; other
/// crates (HTTP, TLS) log only warnings and errors.
const OWN_CRATES: [&str; 2] = [env!("CARGO_CRATE_NAME"), "tfplugin"];

struct HclogLayer {
    max_level: Level,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= self.max_level
            && (OWN_CRATES.iter().any(|name| metadata.target().starts_with(name))
                || *metadata.level() <= Level::WARN)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = format_line(event.metadata().level(), std::time::SystemTime::now(), |fields| {
            event.record(&mut JsonVisitor(fields))
        });
        line.push('\n');
        // Nothing sensible is left to do when stderr is gone.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One log line, without its newline.
fn format_line(
    level: &Level,
    time: std::time::SystemTime,
    record: impl FnOnce(&mut Map<String, Json>),
) -> String {
    let mut fields = Map::new();
    record(&mut fields);
    let message = match fields.remove("message") {
        Some(Json::String(message)) => message,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut object = Map::new();
    object.insert("@level".into(), Json::from(level.as_str().to_ascii_lowercase()));
    object.insert("@message".into(), Json::from(message));
    object.insert("@module".into(), Json::from(MODULE));
    object.insert("@timestamp".into(), Json::from(humantime::format_rfc3339_micros(time).to_string()));
    object.extend(fields);
    Json::Object(object).to_string()
}

struct JsonVisitor<'a>(&'a mut Map<String, Json>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.insert(field.name().into(), Json::from(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_setting_wins_over_terraform_setting() {
        assert_eq!(level_from_env(Some("debug"), Some("TRACE")), Some(Level::DEBUG));
        assert_eq!(level_from_env(None, Some("WARN")), Some(Level::WARN));
        assert_eq!(level_from_env(Some(""), Some("info")), Some(Level::INFO));
        assert_eq!(level_from_env(None, Some("JSON")), Some(Level::TRACE));
        assert_eq!(level_from_env(Some("off"), Some("TRACE")), None);
        assert_eq!(level_from_env(None, None), None);
    }

    #[test]
    fn line_has_hclog_keys_and_go_timestamp_layout() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_700_000_000_123_456);
        let line = format_line(&Level::DEBUG, time, |fields| {
            fields.insert("message".into(), Json::from("hello"));
            fields.insert("tf_rpc".into(), Json::from("ApplyResourceChange"));
        });
        let json: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(json["@level"], "debug");
        assert_eq!(json["@message"], "hello");
        assert_eq!(json["@module"], "ncloud");
        assert_eq!(json["tf_rpc"], "ApplyResourceChange");
        // Go layout 2006-01-02T15:04:05.000000Z07:00.
        assert_eq!(json["@timestamp"], "2023-11-14T22:13:20.123456Z");
    }
}
