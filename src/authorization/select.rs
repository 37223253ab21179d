//! Which sessions a pass decides, without reading every day row of the re-decision span each
//! pass: the sessions that started since the last pass (less [`RECENT`], for rows written late)
//! and are undecided, `none` or `unknown`; every `unknown` of [`super::read::DECIDE_LOOKBACK`] (its
//! source may be readable now); and the sessions that evidence new or changed this pass could
//! cover (its window, widened by the skew, for its person; any verdict below `pim`, or any at all
//! for an approval, which only adds to a record); and the rows first written since the last pass
//! (less [`RECENT`]) that started before it, whatever their start (a row written late). Once a day
//! the whole span is swept for undecided rows (rows written before rows carried their write
//! time); the first pass also reads `SHARED_ACCOUNT_DAYS`
//! to begin the kept shared-account state. Each day of a scan is read and let go in turn.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime, Time};

use super::decide::{JIT_MAX, SKEW};
use super::evidence::{Evidence, Kind};
use crate::catalogue::days::{self, DayRow, Span};
use crate::catalogue::person::forms;
use crate::catalogue::session::outcome::CONNECTED;
use crate::dates::format_utc_millis;
use crate::tables::{Filter, TableStore, filter::Op};

/// How far before the last pass a pass reads the sessions that started (rows written late).
pub const RECENT: Duration = Duration::hours(2);
/// The verdicts a pass decides again among the recent sessions it reads (a sweep: undecided only).
pub const OPEN: [&str; 3] = ["", "none", "unknown"];
/// The verdicts new evidence of a window can better.
const BELOW_PIM: [&str; 4] = ["pim-group", "jit", "standing", "none"];

/// The sessions chosen, by tunnel id, and the day rows read.
#[derive(Debug, Default)]
pub struct Chosen {
    /// The sessions to decide.
    pub rows: BTreeMap<String, DayRow>,
    /// Day rows read.
    pub read: usize,
}

impl Chosen {
    fn keep(&mut self, hosts: &BTreeSet<String>, rows: Vec<DayRow>) -> Vec<DayRow> {
        self.read += rows.len();
        rows.into_iter()
            .filter(|r| r.outcome == CONNECTED)
            .filter(|r| hosts.is_empty() || hosts.contains(&r.host.to_ascii_lowercase()))
            .collect()
    }
}

/// Reads the successful sessions of `hosts` that started within `span`, a day at a time, each
/// row handed to `each`; those with a verdict in `open` that started since `decide_from` are
/// chosen.
///
/// # Errors
/// Table errors.
pub async fn scan(
    tables: &dyn TableStore,
    hosts: &BTreeSet<String>,
    (span, decide_from): (Span, OffsetDateTime),
    open: &[&str],
    chosen: &mut Chosen,
    mut each: impl FnMut(&DayRow),
) -> Result<(), crate::azure::AzureError> {
    let mut from = span.from;
    while from <= span.until {
        let next = from.replace_time(Time::MIDNIGHT) + Duration::days(1);
        let day = Span {
            from,
            until: (next - Duration::milliseconds(1)).min(span.until),
        };
        let rows = days::scan(tables, day, Vec::new()).await?;
        for r in chosen.keep(hosts, rows) {
            each(&r);
            if r.start >= decide_from && open.contains(&r.authorization.as_str()) {
                chosen.rows.insert(r.tunnel_id.clone(), r);
            }
        }
        from = next;
    }
    Ok(())
}

/// Chooses every `unknown` session of `span`, and every undecided, `none` or `unknown` one that
/// started before `since` but whose row was first written at `since` or later (`Written`: a row
/// written late, which the scan of recent starts does not read): decided at the first pass after
/// it arrives, not at the daily sweep. One query.
///
/// # Errors
/// Table errors.
pub async fn unknown(
    tables: &dyn TableStore,
    hosts: &BTreeSet<String>,
    span: Span,
    since: OffsetDateTime,
    chosen: &mut Chosen,
) -> Result<(), crate::azure::AzureError> {
    let since = format_utc_millis(since);
    let late = Filter::And(vec![
        Filter::str("Written", Op::Ge, since.clone()),
        Filter::str("Start", Op::Lt, since),
    ]);
    let more = Filter::Or(vec![Filter::str("Authorization", Op::Eq, "unknown"), late]);
    let rows = days::scan(tables, span, vec![more]).await?;
    for r in chosen.keep(hosts, rows) {
        if OPEN.contains(&r.authorization.as_str()) {
            chosen.rows.insert(r.tunnel_id.clone(), r);
        }
    }
    Ok(())
}

/// The evidence of `seen` not in `kept` as it is now (new, or its window, person or scope changed).
pub fn fresh<'a>(seen: &'a [Evidence], kept: &[Evidence]) -> Vec<&'a Evidence> {
    let by: BTreeMap<&str, &Evidence> = kept.iter().map(|e| (e.id.as_str(), e)).collect();
    (seen.iter())
        .filter(|e| by.get(e.id.as_str()).is_none_or(|k| !same(e, k)))
        .collect()
}

/// True when `a` and `b` agree on what the decisions read: kind, window, names, scope, principal
/// and group.
fn same(a: &Evidence, b: &Evidence) -> bool {
    (a.kind, [a.start, a.end], &a.names) == (b.kind, [b.start, b.end], &b.names)
        && [&a.scope, &a.principal, &a.group] == [&b.scope, &b.principal, &b.group]
}

/// Chooses the sessions within `span` that `fresh` evidence could cover: per merged window
/// (widened by the skew), those of a person it names (any, for a group's role) whose verdict it
/// could better (any verdict, for an approval).
///
/// # Errors
/// Table errors.
pub async fn covered_by(
    tables: &dyn TableStore,
    hosts: &BTreeSet<String>,
    fresh: &[&Evidence],
    span: Span,
    chosen: &mut Chosen,
) -> Result<(), crate::azure::AzureError> {
    let any_person = fresh
        .iter()
        .any(|e| e.group_principal || e.names.is_empty());
    let people: BTreeSet<String> = (fresh.iter())
        .flat_map(|e| e.names.iter().flat_map(|n| forms(n)))
        .filter(|n| !n.is_empty())
        .collect();
    for approval in [false, true] {
        let windows = fresh
            .iter()
            .filter(|e| (e.kind == Some(Kind::Approval)) == approval);
        let spans = windows.filter_map(|e| window(e, span)).collect();
        let spans = Span::merged_near(spans, Duration::ZERO);
        let verdicts: &[&str] = if approval {
            &["pim", "pim-group", "jit", "standing", "none"]
        } else {
            &BELOW_PIM
        };
        // A row not yet decided has no `Authorization` and matches none.
        let verdicts = verdicts
            .iter()
            .map(|v| Filter::str("Authorization", Op::Eq, *v));
        let of_verdicts = Filter::Or(verdicts.collect());
        for s in spans {
            let rows = days::scan(tables, s, vec![of_verdicts.clone()]).await?;
            for r in chosen.keep(hosts, rows) {
                if any_person || forms(&r.user_email).iter().any(|f| people.contains(f)) {
                    chosen.rows.insert(r.tunnel_id.clone(), r);
                }
            }
        }
    }
    Ok(())
}

/// A group membership change re-decides its person's sessions started this long before it (their
/// verdicts rest on members read after it) up to [`super::groups::MEMBERS_AGAIN`] after it
/// (members read before it); older ones keep theirs.
pub const CHANGED_BEFORE: time::Duration = time::Duration::hours(2);

/// The starts `e` could cover, within `span`: its window widened by the skew (an approval: from
/// its time on, a window it approved may follow).
fn window(e: &Evidence, span: Span) -> Option<Span> {
    let mut start = e.start?;
    let end = match (e.end, e.kind) {
        (_, Some(Kind::Approval)) => None,
        (_, Some(Kind::MemberAdded | Kind::MemberRemoved)) => {
            start -= CHANGED_BEFORE;
            Some(start + CHANGED_BEFORE + super::groups::MEMBERS_AGAIN)
        }
        (Some(end), _) => Some(end),
        (None, Some(Kind::Jit)) => Some(start + JIT_MAX),
        (None, _) => None,
    };
    let from = (start - SKEW).max(span.from);
    let until = end.map_or(span.until, |e| (e + SKEW).min(span.until));
    (from <= until).then_some(Span { from, until })
}
