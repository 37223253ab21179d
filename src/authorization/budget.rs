//! Table `authzbudget`, its one writer: the Resource Manager call budget of the authorization
//! step, at most [`CALLS`] calls per watched subscription in any [`WINDOW`] (a sliding one, not a
//! clock-aligned bucket), however many passes or instances run. One row per subscription (PK the
//! subscription, RK [`ROW`]) holds the times and uses of its last [`CALLS`] calls; a call is taken
//! only when the oldest of them is at least [`WINDOW`] old, written by the one ETag-conditional
//! update, so two instances racing for the last call cannot both win. A call's time is the
//! clock's at the moment it is taken, not its pass's start: a pass that spends minutes before its
//! calls is still held in real time.
//!
//! Two uses share it: PIM's two lists ([`Use::Lists`], taken two at once: a list read half is not
//! a read) and the subscription's list of VMs with their extensions ([`Use::Extensions`], one
//! call: whether shared accounts' VMs, and those of sessions in UPN form a role could cover, sign
//! people in with Entra ID). The verdicts come first
//! ([`Turns`]): a subscription's lists take their place before its VM list whenever a session
//! waits for them, except once per [`VMS_PACE`] when VMs are due: then the VM list goes first and
//! the lists wait one pass (their sessions undecided, never `none`). The subscription's role
//! definitions ([`Use::Definitions`], one call) go before its lists whenever they are due (never
//! listed, a day old; not within an hour of a failed list, [`super::roles::Definitions::due`]):
//! once a day, the lists waiting one pass.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::decide::subscription_of;
use crate::azure::AzureError;
use crate::clock::Clock;
use crate::dates::{format_utc_millis, timestamp};
use crate::names::named;
use crate::tables::ops::{get, update_from};
use crate::tables::{TableStore, get_str};

/// The table.
pub const BUDGET_TABLE: &str = "authzbudget";
/// A subscription's row.
pub const ROW: &str = "arm";
/// Most Resource Manager calls per subscription in any [`WINDOW`].
pub const CALLS: usize = 2;
/// The window.
pub const WINDOW: Duration = Duration::minutes(5);

named! {
    /// What a call was spent on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Use {
        /// PIM's schedule instances and requests.
        Lists = "lists",
        /// The subscription's VMs with their extensions (Entra ID login).
        Extensions = "extensions",
        /// The role definitions applicable at the subscription (one call, once a day).
        Definitions = "definitions",
    }
}

/// The last calls of a row, oldest first.
fn calls(row: Option<&crate::tables::Entity>) -> Vec<(OffsetDateTime, String)> {
    let text = row.and_then(|r| get_str(r, "Calls")).unwrap_or("[]");
    let list: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    let mut out: Vec<(OffsetDateTime, String)> = (list.iter())
        .filter_map(|c| {
            let at = c.get(0).and_then(Value::as_str).and_then(timestamp)?;
            Some((at, c.get(1)?.as_str()?.to_owned()))
        })
        .collect();
    out.sort();
    out
}

/// Takes `n` calls (all or none) of `subscription`'s budget for `what`, at the clock's time as
/// it is taken: `false` when fewer than `n` are left in the window ending then.
///
/// # Errors
/// Table errors; `Transient` when the row kept changing under racing instances.
pub async fn take(
    (tables, clock): (&dyn TableStore, &dyn Clock),
    subscription: &str,
    what: Use,
    n: usize,
) -> Result<bool, AzureError> {
    let mut granted = false;
    let current = get(tables, BUDGET_TABLE, subscription, ROW).await?;
    let at = clock.now();
    update_from(
        tables,
        BUDGET_TABLE,
        subscription,
        ROW,
        current,
        &mut |row| {
            let mut kept = calls(row.map(|r| &r.entity));
            let within = kept.iter().filter(|(t, _)| *t > at - WINDOW).count();
            granted = n <= CALLS && within + n <= CALLS;
            if !granted {
                return None;
            }
            kept.extend(std::iter::repeat_n((at, what.as_str().to_owned()), n));
            let last = kept.split_off(kept.len().saturating_sub(CALLS));
            let list: Vec<Value> = (last.iter())
                .map(|(t, u)| json!([format_utc_millis(*t), u]))
                .collect();
            Some(crate::tables::entity(
                json!({"Calls": Value::Array(list).to_string()}),
            ))
        },
    )
    .await?;
    Ok(granted)
}

/// A subscription's lists are read first, whatever is due, when their last read is this old.
pub const LISTS_STALE: Duration = Duration::hours(1);
/// A subscription's VM list goes before its waiting sessions' lists at most once in this long.
pub const VMS_PACE: Duration = Duration::hours(1);

/// Who goes first in a check's budget, per subscription.
#[derive(Debug, Default)]
pub struct Turns {
    /// The latest start of a session this check decides, per subscription.
    pub newest: BTreeMap<String, OffsetDateTime>,
    /// The subscriptions with VMs whose extensions are due.
    pub extensions: BTreeSet<String>,
    /// The subscriptions whose VM list was read within [`VMS_PACE`].
    pub paced: BTreeSet<String>,
}

impl Turns {
    /// The turns of a check deciding sessions started at `starts` (VM, start), with the
    /// extensions of `due` VMs to read and the subscriptions `paced`.
    pub fn of<'a>(
        starts: impl IntoIterator<Item = (&'a str, OffsetDateTime)>,
        due: &[String],
        paced: BTreeSet<String>,
    ) -> Self {
        let mut newest: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
        for (vm, start) in starts {
            let at = newest.entry(subscription_of(vm)).or_insert(start);
            *at = (*at).max(start);
        }
        let extensions = due.iter().map(|vm| subscription_of(vm)).collect();
        Self {
            newest,
            extensions,
            paced,
        }
    }

    /// `subscription`'s PIM lists, last read whole at `last`, take their place at `now` before
    /// its VM list: when no VM is due, when the lists were never read or are [`LISTS_STALE`],
    /// or when a session of this check started after that read (its verdict waits on them) and
    /// the VM list was read within [`VMS_PACE`]. Otherwise the VM list goes first and the lists
    /// wait a pass: with no session waiting, or once per [`VMS_PACE`] however many wait.
    pub fn lists_first(
        &self,
        subscription: &str,
        last: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> bool {
        let Some(last) = last else { return true };
        let waiting = self.newest.get(subscription).is_some_and(|t| *t > last);
        let vms_first = self.extensions.contains(subscription)
            && (!waiting || !self.paced.contains(subscription));
        !vms_first || last + LISTS_STALE <= now
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::testkit::clock::FixedClock;
    use crate::testkit::tables::memory::InMemoryTables;

    /// Takes at `at` (the clock set there first).
    async fn take_at(
        (tables, clock): (&InMemoryTables, &FixedClock),
        sub: &str,
        (what, n): (Use, usize),
        at: OffsetDateTime,
    ) -> Result<bool, AzureError> {
        clock.set(at);
        take((tables, clock), sub, what, n).await
    }

    /// Every call granted over an hour of attempts, two instances asking each 30 s: never more
    /// than [`CALLS`] in any window of [`WINDOW`], and the budget is used (not starved).
    #[tokio::test]
    async fn no_window_of_five_minutes_holds_more_than_two_calls_however_often_asked() {
        let tables = InMemoryTables::new();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let clock = FixedClock::new(t0);
        let on = (&tables, &clock);
        let mut granted = Vec::new();
        for k in 0..120 {
            let at = t0 + Duration::seconds(30 * k);
            let (what, n) = if k % 3 == 0 {
                (Use::Lists, 2)
            } else {
                (Use::Extensions, 1)
            };
            clock.set(at);
            let (a, b) = futures::join!(
                take((&tables, &clock), "s1", what, n),
                take((&tables, &clock), "s1", Use::Extensions, 1)
            );
            let a = a.expect("take");
            let b = b.expect("take");
            granted.extend(std::iter::repeat_n(at, usize::from(a) * n + usize::from(b)));
        }
        for (i, t) in granted.iter().enumerate() {
            let within = granted[i..].iter().filter(|u| **u < *t + WINDOW).count();
            assert!(within <= CALLS, "{within} calls in the window from {t}");
        }
        // An hour holds 12 disjoint windows: at least 12 calls granted, at most 2 a window.
        assert!(granted.len() >= 12, "only {} granted", granted.len());
        // Another subscription has its own budget.
        assert!(take_at(on, "s2", (Use::Lists, 2), t0).await.expect("take"));
        assert!(
            !take_at(on, "s2", (Use::Extensions, 1), t0 + Duration::minutes(4))
                .await
                .expect("take")
        );
        assert!(
            take_at(on, "s2", (Use::Extensions, 1), t0 + WINDOW)
                .await
                .expect("take")
        );
        assert!(!take_at(on, "s3", (Use::Lists, 3), t0).await.expect("take"));
    }

    /// The verdicts first: a session started after the lists' last read puts them before the
    /// VM list due while that list was read within the hour; with none waiting, or that list not
    /// read within the hour, the VM list goes first, unless the lists' read is an hour old.
    #[test]
    fn lists_go_first_while_a_session_waits_unless_the_vm_list_is_an_hour_unread() {
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let vm = |s: &str| {
            format!(
                "/subscriptions/{s}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm"
            )
        };
        let (s1, s2) = (vm("s1"), vm("s2"));
        let starts = [
            (s1.as_str(), t0 - Duration::minutes(20)),
            (s1.as_str(), t0 - Duration::minutes(5)),
            (s2.as_str(), t0 - Duration::minutes(40)),
        ];
        let due = [s1.clone(), s2.clone()];
        let paced = BTreeSet::from(["s1".to_owned(), "s2".to_owned()]);
        let turns = Turns::of(starts, &due, paced);
        let read = |m: i64| Some(t0 - Duration::minutes(m));
        // s1: a session 5 minutes old, the lists read 15 minutes ago, its VM list read within
        // the hour: the lists first.
        assert!(turns.lists_first("s1", read(15), t0));
        // s2: its newest session older than the lists' read: the VM list first.
        assert!(!turns.lists_first("s2", read(15), t0));
        // ... unless that read is an hour old, or never made.
        assert!(turns.lists_first("s2", read(60), t0));
        assert!(turns.lists_first("s2", None, t0));
        // s1's VM list not read within the hour: it goes first even though a session waits.
        let unpaced = Turns::of(starts, &due, BTreeSet::new());
        assert!(!unpaced.lists_first("s1", read(15), t0));
        // No VM due: the lists.
        let none_due = Turns::of(starts, &[], BTreeSet::new());
        assert!(none_due.lists_first("s2", read(15), t0));
        assert!(none_due.lists_first("s1", read(15), t0));
    }
}
