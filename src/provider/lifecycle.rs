//! When a kill resource kills, as both kill resources declare it: `when` (at create, the
//! default, or at destroy), how a change of it applies, and the `timeouts` block that bounds each
//! kill.

use std::time::Duration;

use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Block, Field, optional};

use super::duration::parse_duration;
use super::error::{Phase, ProviderError};
use super::kill::DEFAULT_TIMEOUT;
/// The longest time-out accepted: a kill that has not finished in a day will not.
const LONGEST_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

tfplugin::object! {
    /// The `timeouts` block.
    pub struct Timeouts {
        create: Field<String> => optional(
            "Bound on a kill at create or at a change of `when` to `create`, retries and waiting included \
             (default `20m`). When it runs out before DataForest answers, the kill may or may not have \
             happened, and nothing is recorded.",
        ),
        delete: Field<String> => optional("The same bound for a `when = \"destroy\"` kill (default `20m`)."),
    }
}

/// When the kill happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Create,
    Destroy,
}

/// When a kill happens, as `when` (the argument `attribute`) says: unset is `create`; `None`
/// while it is unknown.
pub fn when_to_kill(when: &Field<String>, attribute: &'static str) -> Result<Option<When>, ProviderError> {
    match when {
        Field::Null => Ok(Some(When::Create)),
        Field::Unknown => Ok(None),
        Field::Known(when) if when == "create" => Ok(Some(When::Create)),
        Field::Known(when) if when == "destroy" => Ok(Some(When::Destroy)),
        Field::Known(when) => Err(ProviderError::InvalidWhen { attribute, value: when.clone() }),
    }
}

/// Whether `when` says the kill happens at destroy.
pub fn kills_on_destroy(when: &Field<String>, attribute: &'static str) -> Result<bool, ProviderError> {
    Ok(when_to_kill(when, attribute)? == Some(When::Destroy))
}

/// Whether `when` goes from `destroy` to `create` (or unknown, which may turn out to be
/// `create`): the in-place change that kills, for the single and the bulk kill alike.
pub fn when_turns_to_create(prior: &Field<String>, planned: &Field<String>) -> bool {
    let destroy = |when: &Field<String>| matches!(when, Field::Known(when) if when == "destroy");
    destroy(prior) && !destroy(planned)
}

/// The bound on a kill in `phase`: `timeouts.delete` at destroy, else `timeouts.create`, or the
/// default when not set or not yet known. `attribute` is the block's name, for messages.
pub fn timeout(
    timeouts: &Block<Timeouts>,
    attribute: &'static str,
    phase: Phase,
) -> Result<Duration, ProviderError> {
    let timeouts = timeouts.known();
    let (name, field) = match phase {
        Phase::Destroy => (Timeouts::delete, timeouts.map(|t| &t.delete)),
        Phase::Create | Phase::Update | Phase::Action => (Timeouts::create, timeouts.map(|t| &t.create)),
    };
    let path = vec![PathStep::Attribute(attribute.into()), PathStep::Attribute(name.into())];
    limit(field.unwrap_or(&Field::Null), path)
}

/// A time-out (at `path`) as written: the default when not set or not yet known, at most 24h.
pub fn limit(field: &Field<String>, path: Vec<PathStep>) -> Result<Duration, ProviderError> {
    let Field::Known(text) = field else { return Ok(DEFAULT_TIMEOUT) };
    let invalid =
        |reason: String| ProviderError::InvalidTimeout { path: path.clone(), value: text.clone(), reason };
    match parse_duration(text).map_err(invalid)? {
        limit if limit > LONGEST_TIMEOUT => Err(invalid("it is longer than 24h".to_string())),
        limit => Ok(limit),
    }
}

/// The time-outs of both phases that a configuration can set, checked.
pub fn check_timeouts(timeouts: &Block<Timeouts>, attribute: &'static str) -> Vec<ProviderError> {
    [Phase::Create, Phase::Destroy]
        .into_iter()
        .filter_map(|phase| timeout(timeouts, attribute, phase).err())
        .collect()
}
