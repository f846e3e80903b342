//! A bulk kill's look-ups: the accounts the keys see, the account's listing, and the selection
//! from it, within `max_apps` and over `min_apps`, and what a later run would make of it.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::ncp::apps::Listing;
use crate::ncp::{AppInfo, CallError, DataForestClient};
use crate::provider::error::{LaterRun, ProviderError, ProviderWarning};
use crate::provider::selector::{Owner, Selected, Selection, Selector, describe};
use crate::provider::session::{Context, Session};

use super::settings::{BulkSettings, KillSettings, MAX_APPS_LIMIT};

/// How many of the selected apps the error of a selection past `max_apps` names.
pub(super) const NAMED_WHEN_TOO_MANY: usize = 10;

/// Lists and selects, within the cap and over the floor: what a bulk kill bounded by `deadline`
/// would kill. When nothing matches (and nothing had to), a warning says what each condition
/// left.
pub async fn select(
    context: &Context,
    selection: &Selection,
    settings: &BulkSettings,
    deadline: Instant,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Selected, ProviderError> {
    let selected = select_any(context, selection, settings, deadline, progress).await?;
    within_bounds(selected, settings, &selection.account_id)
}

/// Lists and selects, whatever the bounds, and says how many apps match.
pub async fn select_any(
    context: &Context,
    selection: &Selection,
    settings: &BulkSettings,
    deadline: Instant,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Selected, ProviderError> {
    let (listed, selected) = list_and_select(context, selection, deadline, settings.limit).await?;
    progress(format!(
        "{} of {listed} app(s) of account {:?} match{}",
        selected.apps.len(),
        selection.account_id,
        excluded_note(selected.excluded)
    ));
    Ok(selected)
}

/// A selection of `account`'s apps, if it is within `max_apps` and `min_apps`: none is killed
/// otherwise. One that is empty, as allowed, gains a warning saying what each condition left.
pub(super) fn within_bounds(
    mut selected: Selected,
    settings: &BulkSettings,
    account: &str,
) -> Result<Selected, ProviderError> {
    check_cap(&selected.apps, settings.max_apps)?;
    let count = selected.apps.len();
    if count < settings.min_apps {
        return Err(ProviderError::TooFewApps {
            attribute: KillSettings::min_apps,
            account: account.to_string(),
            count,
            min: settings.min_apps,
            funnel: selected.funnel.to_string(),
        });
    }
    if count == 0 {
        let funnel = selected.funnel.to_string();
        selected.warnings.push(ProviderWarning::NothingMatched { account: account.to_string(), funnel });
    }
    Ok(selected)
}

/// What a selection as it stands tells of `later`, which would refuse it for matching more
/// apps than `max_apps`, or fewer than `min_apps`.
pub fn refusal(selected: &Selected, settings: &BulkSettings, later: LaterRun) -> Option<ProviderWarning> {
    let count = selected.apps.len();
    let (attribute, bound, over) = if count > settings.max_apps {
        (KillSettings::max_apps, settings.max_apps, true)
    } else if count < settings.min_apps {
        (KillSettings::min_apps, settings.min_apps, false)
    } else {
        return None;
    };
    Some(ProviderWarning::WouldBeRefused {
        later,
        attribute,
        count,
        bound,
        over,
        ceiling: MAX_APPS_LIMIT as usize,
    })
}

/// What a dry run tells of the selection: what a real run would refuse, or that nothing
/// matched.
pub fn preview(selected: &Selected, settings: &BulkSettings, account: &str) -> Vec<ProviderWarning> {
    let mut warnings = selected.warnings.clone();
    if selected.apps.is_empty() && settings.min_apps == 0 {
        warnings.push(ProviderWarning::NothingMatched {
            account: account.to_string(),
            funnel: selected.funnel.to_string(),
        });
    }
    warnings.extend(refusal(selected, settings, LaterRun::RealRun));
    warnings
}

/// How a summary mentions the apps that matched but were excluded, when there were any.
pub fn excluded_note(excluded: usize) -> String {
    if excluded == 0 { String::new() } else { format!(" ({excluded} more excluded)") }
}

/// Refuses a selection of more than `max_apps` apps: then none is killed.
pub(super) fn check_cap(selected: &[AppInfo], max_apps: usize) -> Result<(), ProviderError> {
    if selected.len() <= max_apps {
        return Ok(());
    }
    Err(ProviderError::TooManyApps {
        attribute: KillSettings::max_apps,
        count: selected.len(),
        max: max_apps,
        ceiling: MAX_APPS_LIMIT as usize,
        first: selected.iter().take(NAMED_WHEN_TOO_MANY).map(describe).collect(),
    })
}

/// Lists the account (one `getList`, bounded by `deadline` and Terraform's stop) and selects:
/// how many apps were listed, and what matched. `limit` is the time-out, for the message when it
/// runs out.
pub async fn list_and_select(
    context: &Context,
    selection: &Selection,
    deadline: Instant,
    limit: Duration,
) -> Result<(usize, Selected), ProviderError> {
    let stop = context.running()?;
    let session = context.session()?;
    session.check_account(&selection.account_id, Selector::account_id)?;
    let what = "the accounts these keys see";
    let client = looking_up(&session, what)?;
    let accounts = look_up(what, limit, &stop, timeout_at(deadline, session.accounts(client))).await?;
    let account = selection.account_in(&accounts)?;
    let owner = Owner::of(account, &accounts, session.account_setting());
    let listing = apps_of(context, selection, deadline, limit).await?;
    let selected = selection.select_listed(listing, &owner, SystemTime::now())?;
    Ok((selected.funnel.listed, selected))
}

/// The apps DataForest lists for the selection's account, unchecked.
pub(super) async fn apps_of(
    context: &Context,
    selection: &Selection,
    deadline: Instant,
    limit: Duration,
) -> Result<Listing, ProviderError> {
    let stop = context.running()?;
    let session = context.session()?;
    let listing = format!("the apps of account {:?}", selection.account_id);
    let client = looking_up(&session, &listing)?;
    look_up(&listing, limit, &stop, timeout_at(deadline, client.list_apps(&selection.account_id))).await
}

/// The client, for a look-up of `what`: one that cannot be set up fails the look-up.
pub(super) fn looking_up<'a>(
    session: &'a Session,
    what: &str,
) -> Result<&'a DataForestClient, ProviderError> {
    session.client().map_err(|error| ProviderError::LookupFailed {
        what: what.to_string(),
        error: Box::new(error),
        attempts: 0,
    })
}

/// A look-up (`what`, for messages) bounded by its time-out (`limit`) and Terraform's stop.
pub(super) async fn look_up<T>(
    what: &str,
    limit: Duration,
    stop: &CancellationToken,
    call: impl Future<Output = Result<Result<T, CallError>, tokio::time::error::Elapsed>>,
) -> Result<T, ProviderError> {
    let answered = tokio::select! {
        biased;
        () = stop.cancelled() => return Err(ProviderError::Interrupted),
        answered = call => answered,
    };
    match answered {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(CallError { error, attempts, .. })) => {
            Err(ProviderError::LookupFailed { what: what.to_string(), error: Box::new(error), attempts })
        }
        Err(_) => Err(ProviderError::lookup_timed_out(what.to_string(), limit)),
    }
}
