//! Table `authzshared`, its one writer: the shared-account state kept from pass to pass, so a
//! pass adds only the sessions it read instead of scanning `SHARED_ACCOUNT_DAYS` of day rows. One
//! row per VM account (PK the VM's resource id, RK the account, both through the one key
//! encoder): each person's name and first and last use (a person last seen before the window is
//! dropped), and whether the VM signs people in with Entra ID (`Entra`: `present`, `absent` or
//! `unknown: why`) with when that was read (`EntraAt`; read again after [`ENTRA_AGAIN`], as the
//! subscription's Resource Manager budget allows). The same state tells whether a session in UPN
//! form signed in with Entra ID ([`entra`]), so the VMs of such sessions are read too ([`due`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::decide::{Entra, upn_form};
use super::shared::Shared;
use crate::arm::ResourceManager;
use crate::arm::model::Untold;
use crate::azure::AzureError;
use crate::catalogue::days::DayRow;
use crate::catalogue::person::forms;
use crate::catalogue::session::outcome::CONNECTED;
use crate::clock::Clock;
use crate::dates::{format_utc_millis, timestamp};
use crate::spine::Finding;
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, query_all, upsert_batched};
use crate::tables::{Entity, Filter, TableStore, get_str};

/// The table.
pub const SHARED_TABLE: &str = "authzshared";
/// A VM's extensions are read again after this long.
pub const ENTRA_AGAIN: Duration = Duration::days(1);
/// The start of an account's `entra` when its subscription's VM list could not be read: due again
/// at the next pass the budget allows, not [`ENTRA_AGAIN`] later.
pub const LIST_UNREAD: &str = "unknown: its subscription's VM list not read: ";
/// Most rows one load reads.
pub const MAX_ROWS: usize = 200_000;

/// One person's uses of an account: their name as first seen, first and last use.
pub type Uses = (String, OffsetDateTime, OffsetDateTime);

/// One VM account's kept state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    /// The VM's name.
    pub vm_name: String,
    /// Each person (by the last form of their name) and their uses.
    pub people: BTreeMap<String, Uses>,
    /// `present`, `absent` or `unknown: why` (empty: never read).
    pub entra: String,
    /// When `entra` was read.
    pub entra_at: Option<OffsetDateTime>,
}

/// The kept accounts by (VM resource id, account), both lower-case.
pub type Accounts = BTreeMap<(String, String), Account>;

/// Counts session `r` into `all` (a failed login, or one without a VM, account or person, is
/// left out); counting a session twice changes nothing.
pub fn add(all: &mut Accounts, r: &DayRow) {
    let vm = r.target_resource_id.to_ascii_lowercase();
    let account = r.user_name.to_lowercase();
    if r.outcome != CONNECTED || vm.is_empty() || account.trim().is_empty() {
        return;
    }
    let Some(person) = forms(&r.user_email).pop().filter(|p| !p.trim().is_empty()) else {
        return;
    };
    // A new account on a VM already read takes its VM's answer (one list tells the whole VM).
    let known = told(all, &vm).map(|(at, entra)| (at, entra.to_owned()));
    let a = all.entry((vm, account)).or_default();
    if let (None, Some((at, entra))) = (a.entra_at, known) {
        (a.entra, a.entra_at) = (entra, Some(at));
    }
    a.vm_name.clone_from(&r.vm);
    let u = (a.people.entry(person)).or_insert((r.user_email.clone(), r.start, r.start));
    (u.1, u.2) = (u.1.min(r.start), u.2.max(r.start));
}

/// `vm`'s Entra ID login extensions as last read for any of its accounts (one list tells the
/// whole VM), and when; `None`: never read.
pub fn told<'a>(all: &'a Accounts, vm: &str) -> Option<(OffsetDateTime, &'a str)> {
    (all.range((vm.to_owned(), String::new())..))
        .take_while(|((v, _), _)| v == vm)
        .filter_map(|(_, a)| Some((a.entra_at?, a.entra.as_str())))
        .max()
}

/// Whether a session as `account` on `vm` (its resource id, lower-case) signed in with Entra ID,
/// by the kept state (`arm`: Resource Manager is set up): not unless its account is in UPN form;
/// then as its VM's extensions were last read ([`told`]): `present` yes, `absent` no, else untold.
pub fn entra(all: &Accounts, (vm, account): (&str, &str), arm: bool) -> Entra {
    if !upn_form(account) {
        return Entra::No;
    }
    match told(all, vm) {
        Some((_, "present")) => Entra::Yes,
        Some((_, "absent")) => Entra::No,
        _ if !arm => Entra::Untold("Resource Manager is not set up".to_owned()),
        None | Some((_, "")) => Entra::Untold(
            "its VM's extensions are not read yet (its subscription's VM list waits for its Resource Manager budget)"
                .to_owned(),
        ),
        Some((_, e)) => Entra::Untold(e.strip_prefix("unknown: ").unwrap_or(e).to_owned()),
    }
}

/// The accounts used by two or more people last seen since `from`, VM and account order.
pub fn shared(all: &Accounts, from: OffsetDateTime) -> Vec<Shared> {
    let mut out = Vec::new();
    for ((vm, account), a) in all {
        let within: Vec<&Uses> = a.people.values().filter(|u| u.2 >= from).collect();
        let (Some(first), Some(last)) = (
            within.iter().map(|u| u.1).min(),
            within.iter().map(|u| u.2).max(),
        ) else {
            continue;
        };
        if within.len() < 2 {
            continue;
        }
        let mut people: Vec<String> = within.iter().map(|u| u.0.clone()).collect();
        people.sort();
        out.push(Shared {
            vm: vm.clone(),
            vm_name: a.vm_name.clone(),
            account: account.clone(),
            people,
            first: first.max(from),
            last,
        });
    }
    out
}

fn entity(vm: &str, account: &str, a: &Account) -> Entity {
    let people: serde_json::Map<String, Value> = (a.people.iter())
        .map(|(p, (name, first, last))| {
            let uses = json!([name, format_utc_millis(*first), format_utc_millis(*last)]);
            (p.clone(), uses)
        })
        .collect();
    crate::tables::entity(json!({
        "PartitionKey": key(vm, Spelling::Encoded, MAX_KEY_BYTES),
        "RowKey": key(account, Spelling::Encoded, MAX_KEY_BYTES),
        "Vm": vm, "Account": account, "VmName": a.vm_name,
        "People": Value::Object(people).to_string(), "Entra": a.entra,
        "EntraAt": a.entra_at.map(format_utc_millis).unwrap_or_default(),
    }))
}

fn of_entity(row: &Entity) -> Option<((String, String), Account)> {
    let s = |n: &str| get_str(row, n).unwrap_or_default().to_owned();
    let people: BTreeMap<String, Value> = serde_json::from_str(&s("People")).ok()?;
    let people = people
        .into_iter()
        .filter_map(|(p, v)| {
            let at = |i: usize| v.get(i).and_then(Value::as_str).and_then(timestamp);
            let name = v.get(0).and_then(Value::as_str)?.to_owned();
            Some((p, (name, at(1)?, at(2)?)))
        })
        .collect();
    let a = Account {
        vm_name: s("VmName"),
        people,
        entra: s("Entra"),
        entra_at: timestamp(&s("EntraAt")),
    };
    Some(((s("Vm"), s("Account")), a))
}

/// Every account kept.
///
/// # Errors
/// Table errors.
pub async fn load(tables: &dyn TableStore) -> Result<Accounts, AzureError> {
    let all = Filter::str("PartitionKey", Op::Ge, "");
    let rows = query_all(tables, SHARED_TABLE, &all, MAX_ROWS).await?;
    Ok(rows.iter().filter_map(|r| of_entity(&r.entity)).collect())
}

/// Whether `vm`'s `account` is shared since `from` as the kept state has it: the
/// `shared-account` finding's evidence (`entraLogin` as read: `present` is the remediation,
/// which raises no finding), or `None` when one person used it (or it is not kept).
///
/// # Errors
/// Table errors.
pub async fn of_account(
    tables: &dyn TableStore,
    (vm, account): (&str, &str),
    from: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Option<Value>, AzureError> {
    let (vm, account) = (vm.to_ascii_lowercase(), account.to_lowercase());
    let (pk, rk) = (Spelling::Encoded, MAX_KEY_BYTES);
    let row = get(
        tables,
        SHARED_TABLE,
        &key(&vm, pk, rk),
        &key(&account, pk, rk),
    )
    .await?;
    let one: Accounts = row.iter().filter_map(|r| of_entity(&r.entity)).collect();
    let Some(s) = shared(&one, from).pop() else {
        return Ok(None);
    };
    let entra = (one.values().map(|a| a.entra.as_str()))
        .find(|e| !e.is_empty())
        .unwrap_or("unknown: not read yet");
    Ok(Some(
        super::findings::shared_account(&s, entra, now).evidence,
    ))
}

/// Keeps the accounts of `now` that differ from `before` (people last seen before `from` dropped).
///
/// # Errors
/// Table errors.
pub async fn save(
    tables: &dyn TableStore,
    before: &Accounts,
    now: &mut Accounts,
    from: OffsetDateTime,
) -> Result<usize, AzureError> {
    let mut by_vm: BTreeMap<&str, Vec<Entity>> = BTreeMap::new();
    for ((vm, account), a) in now.iter_mut() {
        a.people.retain(|_, u| u.2 >= from);
        if before.get(&(vm.clone(), account.clone())) != Some(a) {
            by_vm.entry(vm).or_default().push(entity(vm, account, a));
        }
    }
    let mut n = 0;
    for rows in by_vm.values() {
        upsert_batched(tables, SHARED_TABLE, rows).await?;
        n += rows.len();
    }
    Ok(n)
}

/// The VMs of `found`, and the VMs of `signed_in` (those of the sessions in UPN form a role could
/// cover: whether its login data action counts waits on them, [`entra`]), whose Entra ID login
/// extensions were not read within [`ENTRA_AGAIN`], or whose VM list could not be read
/// ([`LIST_UNREAD`]), the longest unread first. A session not in UPN form makes no VM due.
pub fn due(
    accounts: &Accounts,
    found: &[Shared],
    signed_in: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Vec<String> {
    let mut due: Vec<(Option<OffsetDateTime>, &str)> = Vec::new();
    let shared = found.iter().map(|s| {
        let a = accounts.get(&(s.vm.clone(), s.account.clone()));
        (
            s.vm.as_str(),
            a.and_then(|a| Some((a.entra_at?, a.entra.as_str()))),
        )
    });
    let vms = signed_in.iter().map(|vm| (vm.as_str(), told(accounts, vm)));
    for (vm, state) in shared.chain(vms) {
        let fresh =
            state.is_some_and(|(at, e)| at + ENTRA_AGAIN > now && !e.starts_with(LIST_UNREAD));
        if !fresh && !due.iter().any(|(_, v)| *v == vm) {
            due.push((state.map(|(at, _)| at), vm));
        }
    }
    due.sort();
    due.into_iter().map(|(_, vm)| vm.to_owned()).collect()
}

/// The subscriptions with a VM whose extensions were read since `since`.
pub fn listed_since(accounts: &Accounts, since: OffsetDateTime) -> BTreeSet<String> {
    (accounts.iter())
        .filter(|(_, a)| a.entra_at.is_some_and(|at| at >= since))
        .map(|((vm, _), _)| super::decide::subscription_of(vm))
        .collect()
}

/// Reads the Entra ID login extensions of the `due` VMs into `accounts`: one call per
/// subscription, its list of VMs with their extensions ([`ResourceManager::virtual_machines`],
/// every page), as its Resource Manager budget allows ([`super::budget`]; a subscription whose
/// budget is spent is left for a later pass, its VMs unread). Every kept account of a listed VM
/// takes the answer, due or not, so a VM becoming shared later is already told.
pub async fn read_entra(
    (arm, tables, clock): (&dyn ResourceManager, &dyn TableStore, &dyn Clock),
    accounts: &mut Accounts,
    due: &[String],
    now: OffsetDateTime,
) {
    use super::budget::{Use, take};
    let subscriptions: BTreeSet<String> = due
        .iter()
        .map(|vm| super::decide::subscription_of(vm))
        .collect();
    for sub in subscriptions {
        let listed = match take((tables, clock), &sub, Use::Extensions, 1).await {
            Ok(true) => arm.virtual_machines(&format!("/subscriptions/{sub}")).await,
            Ok(false) => continue,
            Err(e) => Err(AzureError::Transient(format!(
                "the Resource Manager budget not read: {e}"
            ))),
        };
        let of_sub = |vm: &str| super::decide::subscription_of(vm) == sub;
        for ((vm, _), a) in accounts.iter_mut().filter(|((vm, _), _)| of_sub(vm)) {
            let entra = match &listed {
                Err(e) => format!("{LIST_UNREAD}{e}"),
                Ok(vms) => match vms.iter().find(|v| v.id.eq_ignore_ascii_case(vm)) {
                    None if !due.contains(vm) => continue,
                    None => "unknown: not in its subscription's VM list".to_owned(),
                    Some(v) => match v.has_any(&super::shared::ENTRA_LOGIN) {
                        Ok(true) => "present".to_owned(),
                        Ok(false) => "absent".to_owned(),
                        Err(Untold::NoResources) => {
                            "unknown: its subscription's VM list gave no extensions for it"
                                .to_owned()
                        }
                        Err(Untold::Untyped) => "unknown: its subscription's VM list gave an \
                            extension by its id alone, without its type"
                            .to_owned(),
                    },
                },
            };
            (a.entra, a.entra_at) = (entra, Some(now));
        }
    }
}

/// The `shared-account` findings of `found` (`arm`: Resource Manager is set up), unless its VM signs people in with Entra ID.
pub fn findings(
    accounts: &Accounts,
    found: &[Shared],
    arm: bool,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in found {
        let entra = accounts
            .get(&(s.vm.clone(), s.account.clone()))
            .map(|a| a.entra.as_str())
            .unwrap_or_default();
        let entra = match entra {
            "present" => continue,
            _ if !arm => "unknown: Resource Manager is not set up".to_owned(),
            "" => "unknown: not read yet (its subscription's Resource Manager budget)".to_owned(),
            e => e.to_owned(),
        };
        out.push(super::findings::shared_account(s, &entra, now));
    }
    out
}
