//! Whose a listed app is: the rule that tells an account's apps from others' by the
//! `accountId` and `accountName` of their `getList` entries, and the accounts the keys see
//! (`accounts/getList`). An entry is the account's only when something in it says so and nothing
//! says otherwise; one that says nothing is unverifiable, and the selector decides what that
//! costs.

use crate::ncp::{AccountInfo, Accounts, AppInfo};

/// The `accountName` that tells `account`'s apps from those of the other `accounts` the keys
/// see, or why none can: the account has no name, or another account may bear it too (see
/// [`Accounts::name_doubt`]).
fn owner_name<'a>(account: &'a AccountInfo, accounts: &Accounts) -> Result<&'a str, String> {
    if account.name.is_empty() {
        return Err(format!("accounts/getList gives account {:?} no name to check apps against", account.id));
    }
    match accounts.name_doubt(&account.id, &account.name) {
        Some(doubt) => Err(doubt),
        None => Ok(&account.name),
    }
}

/// Whose a listed app is, as far as its entry tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Belongs {
    /// Its `accountId`, or its `accountName` when that name is the account's alone, says it is
    /// the account's, and nothing in it says otherwise.
    Verified,
    /// Its `accountId` or `accountName` says it is another account's.
    Foreign,
    /// Nothing in it tells.
    Unverifiable,
}

/// How a listing's apps are told to be an account's: by the `accountId` of their entry, and by
/// their `accountName`, which tells when the account's name (in `accounts/getList`) is its own;
/// a name of another account the keys see always says an app is not the account's.
#[derive(Clone, Debug, Default)]
pub struct Owner<'a> {
    account_id: &'a str,
    /// The account's name, empty when it has none.
    name: &'a str,
    /// Why the name does not tell the account's apps from others', when it does not.
    name_unusable: Option<String>,
    /// The names of the other accounts the keys see.
    others: Vec<&'a str>,
    /// The provider's account list, when one is set: an app whose account cannot be told is
    /// then never selected.
    checked_by: Option<&'static str>,
}

impl<'a> Owner<'a> {
    /// How `account`'s apps are told among the `accounts` the keys see; `checked_by` is the
    /// provider's account list, when one is set.
    pub fn of(
        account: &'a AccountInfo,
        accounts: &'a Accounts,
        checked_by: Option<&'static str>,
    ) -> Owner<'a> {
        let others = accounts
            .seen
            .iter()
            .filter(|other| other.id != account.id && !other.name.is_empty() && other.name != account.name)
            .map(|other| other.name.as_str())
            .collect();
        Owner {
            account_id: &account.id,
            name: &account.name,
            name_unusable: owner_name(account, accounts).err(),
            others,
            checked_by,
        }
    }

    /// The provider's account list, when one is set.
    pub fn checked_by(&self) -> Option<&'static str> {
        self.checked_by
    }

    /// Whose `app` is: an `accountId` other than the account's, or an `accountName` that is not
    /// its name (or, when it has none, that of another account), says another's; an `accountId`
    /// that is the account's, or its name when the name is its alone, says its own. Only strings
    /// count (see [`AppInfo::account_id`]).
    pub fn belongs(&self, app: &AppInfo) -> Belongs {
        let (id, name) = (app.account_id(), app.account_name());
        let mut verified = false;
        if !id.is_empty() {
            if id != self.account_id {
                return Belongs::Foreign;
            }
            verified = true;
        }
        if !name.is_empty() {
            let foreign = if self.name.is_empty() { self.others.contains(&name) } else { name != self.name };
            if foreign {
                return Belongs::Foreign;
            }
            verified |= self.name_unusable.is_none();
        }
        if verified { Belongs::Verified } else { Belongs::Unverifiable }
    }

    /// The account an app of another account says it is of, as messages name it.
    pub(super) fn claim_of<'b>(&self, app: &'b AppInfo) -> &'b str {
        if !app.account_id().is_empty() && app.account_id() != self.account_id {
            app.account_id()
        } else {
            app.account_name()
        }
    }

    /// Why an app whose entry [`Owner::belongs`] finds unverifiable cannot be told.
    pub(super) fn why_unverifiable(&self) -> String {
        match &self.name_unusable {
            Some(why) => format!("{why}, and their entries carry no accountId"),
            None => "their entries carry no accountId and no accountName, as text".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::Text;

    fn account() -> AccountInfo {
        AccountInfo { id: "acc".into(), name: "Analytics".into() }
    }

    /// How account `acc`, named "Analytics", tells its apps, among `others` the keys see.
    fn analytics(others: &[&'static str]) -> Owner<'static> {
        Owner { account_id: "acc", name: "Analytics", others: others.to_vec(), ..Owner::default() }
    }

    #[test]
    fn an_entry_is_the_accounts_only_if_nothing_in_it_says_otherwise() {
        let entry = |id: &str, name: &str| {
            AppInfo::default().with(Text::Id, "A1").with(Text::AccountId, id).with(Text::AccountName, name)
        };
        let named = analytics(&["Other"]);
        let nameless = Owner { name: "", name_unusable: Some("no name".into()), ..analytics(&["Other"]) };
        let shared = Owner { name_unusable: Some("shares its name".into()), ..analytics(&["Other"]) };
        use Belongs::{Foreign, Unverifiable, Verified};
        for (id, name, by_name, without_name, sharing) in [
            ("acc", "Analytics", Verified, Verified, Verified),
            ("acc", "", Verified, Verified, Verified),
            ("", "Analytics", Verified, Unverifiable, Unverifiable),
            ("", "", Unverifiable, Unverifiable, Unverifiable),
            ("other", "Analytics", Foreign, Foreign, Foreign),
            ("other", "", Foreign, Foreign, Foreign),
            ("acc", "Other", Foreign, Foreign, Foreign),
            ("", "Other", Foreign, Foreign, Foreign),
            // A name no account the keys see has: not the account's own name, if it has one.
            ("", "Unheard", Foreign, Unverifiable, Foreign),
            ("acc", "Unheard", Foreign, Verified, Foreign),
        ] {
            let app = entry(id, name);
            assert_eq!(named.belongs(&app), by_name, "{id:?} {name:?} by name");
            assert_eq!(nameless.belongs(&app), without_name, "{id:?} {name:?} without a name");
            assert_eq!(shared.belongs(&app), sharing, "{id:?} {name:?} with a shared name");
        }
    }

    #[test]
    fn a_name_tells_only_when_it_is_the_accounts_own() {
        let twin = AccountInfo { id: "acc2".into(), name: "Analytics".into() };
        let nameless = AccountInfo { name: String::new(), ..account() };
        let seen = |accounts: &[AccountInfo]| Accounts::whole(accounts.to_vec());
        assert_eq!(owner_name(&account(), &seen(&[account()])), Ok("Analytics"));
        assert!(
            owner_name(&account(), &seen(&[account(), twin.clone()]))
                .unwrap_err()
                .contains("shares its name")
        );
        assert!(
            owner_name(&nameless, &seen(std::slice::from_ref(&nameless))).unwrap_err().contains("no name")
        );
        let other_nameless = AccountInfo { id: "ops".into(), name: String::new() };
        let doubt = owner_name(&account(), &seen(&[account(), other_nameless])).unwrap_err();
        assert!(doubt.contains("gives ops no name"), "{doubt}");
        let with_twin = seen(&[account(), twin]);
        let owner = Owner::of(&with_twin.seen[0], &with_twin, None);
        assert!(owner.why_unverifiable().contains("shares its name \"Analytics\" with acc2"));
    }
}
