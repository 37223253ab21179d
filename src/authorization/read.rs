//! One run's reads of the authorization sources: each watched subscription's PIM schedules
//! through Resource Manager (instances and requests, every page; at most once per [`PACE`], and
//! only as its call budget allows, [`super::budget`]),
//! PIM's `AuditLogs` rows from each workspace ingested since its cursor (one query each, on
//! `ingestion_time()`, so a row written late is read when it arrives; with `AUTHZ_SIGNIN_MFA` the same
//! query brings the VM sign-ins of `SigninLogs`, [`super::mfa`]), and the just-in-time requests
//! the other doors' Activity log read found (and the VMs' virtual networks its network read
//! found). What could not be read is said per subscription
//! (or for all), so a session it leaves uncovered is `unknown`, never `none`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::decide::{Networks, Reads};
use super::evidence::{Evidence, Kind, Source, low, of_instance, of_request};
use super::mfa::{self, SignIn};
use super::roles::Definitions;
use super::{auditlogs, budget};
use crate::activity::events::{Event, JIT_INITIATE, Outcome};
use crate::activity::jit;
use crate::arm::ResourceManager;
use crate::arm::cidr::AddrSet;
use crate::dates::format_utc_millis;
use crate::loganalytics::LogsQuery;
use crate::tables::TableStore;

/// How far back sessions are decided again each pass (older ones keep their verdict), and how
/// far back `AuditLogs` is read.
pub const DECIDE_LOOKBACK: Duration = Duration::days(7);

/// The sources of one pass.
pub struct Sources<'a> {
    /// Resource Manager (`None`: not set up: every schedule unread).
    pub arm: Option<&'a dyn ResourceManager>,
    /// Log Analytics, for `AuditLogs`.
    pub logs: Option<&'a dyn LogsQuery>,
    /// The workspaces (customer ids) holding `AuditLogs`.
    pub workspaces: &'a [String],
    /// The doors' Activity log read.
    pub doors: &'a Doors,
    /// Microsoft Graph, for PIM for Groups (`None`: `AUTHZ_PIM_GROUPS` off).
    pub groups: Option<&'a dyn crate::graph::Directory>,
    /// `AUTHZ_SIGNIN_MFA`: the VM sign-ins of `SigninLogs` are read with `AuditLogs`.
    pub signin_mfa: bool,
}

/// A subscription's schedules are read at most once in this long (two calls, and their pages).
pub const PACE: Duration = Duration::minutes(5);
/// Most `AuditLogs` rows one workspace answers a run.
pub const MAX_ROWS: usize = 50_000;

/// What the other doors' pass gave: its Activity log's just-in-time events, the Bastion subnets'
/// addresses and the watched VMs' virtual networks.
#[derive(Debug, Clone, Default)]
pub struct Doors {
    /// The Activity log was read (`None`: not read, or not set up; why).
    pub unread: Option<String>,
    /// Its events (only the just-in-time ones are used).
    pub events: Vec<Event>,
    /// The watched hosts' Bastion subnets, when read.
    pub bastion: Option<AddrSet>,
    /// The watched VMs' virtual networks, as its network read found their NICs (a role held at
    /// a VM's network counts, [`super::roles`]).
    pub networks: Networks,
}

/// What was gathered.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Evidence read now.
    pub seen: Vec<Evidence>,
    /// Per subscription read whole: the instance ids its list showed.
    pub listed: BTreeMap<String, BTreeSet<String>>,
    /// What could not be read.
    pub reads: Reads,
    /// Resource Manager calls made (first pages).
    pub arm_calls: usize,
    /// Queries sent.
    pub queries: usize,
    /// The VM sign-ins read (with `AUTHZ_SIGNIN_MFA`).
    pub signins: Vec<SignIn>,
    /// `SigninLogs` was not (wholly) read in some workspace.
    pub signins_unread: bool,
    /// Per group read whole (PIM for Groups): the instance ids its list showed.
    pub groups_listed: BTreeMap<String, BTreeSet<String>>,
    /// Microsoft Graph lists asked (first pages).
    pub graph_calls: usize,
    /// Per workspace read whole: its `AuditLogs` cursor's new place (moved once what was read
    /// is kept, [`audit_cursor`]).
    pub cursors: Vec<(String, OffsetDateTime)>,
    /// Per workspace read whole: since when its `AuditLogs` (PIM's rows, group membership
    /// changes) have been read without a gap (its row [`audit_from`]: the earliest
    /// `TimeGenerated` the workspace held in the first read's timespan), and whether this read
    /// began them (the row to write).
    pub reach: Vec<(String, OffsetDateTime, bool)>,
    /// What was read but could not be kept.
    pub unkept: Vec<String>,
}

/// The row (in `authzwindows`, [`super::store::read_at`]) keeping where `workspace`'s
/// `AuditLogs` have been read to, in ingestion time.
pub fn audit_cursor(workspace: &str) -> String {
    format!("~auditlogs:{workspace}")
}

/// The row keeping since when `workspace`'s `AuditLogs` have been read without a gap: the
/// earliest `TimeGenerated` the workspace held in the first read's timespan (no earlier than its
/// start; later when the workspace keeps them less long than asked).
pub fn audit_from(workspace: &str) -> String {
    format!("~auditfrom:{workspace}")
}

/// Reads `subscription`'s schedules into `out`.
async fn schedules(arm: &dyn ResourceManager, subscription: &str, out: &mut Gathered) {
    let scope = format!("/subscriptions/{subscription}");
    out.arm_calls += 2;
    let (instances, requests) = futures::join!(
        arm.schedule_instances(&scope),
        arm.schedule_requests(&scope)
    );
    match instances {
        Ok(list) => {
            let seen: Vec<Evidence> = list.iter().map(|i| of_instance(i, subscription)).collect();
            out.listed.insert(
                subscription.to_owned(),
                seen.iter().map(|e| e.id.clone()).collect(),
            );
            out.seen.extend(seen);
        }
        Err(e) => out.reads.failed.push((
            subscription.to_owned(),
            format!("PIM schedule instances of {scope} not read: {e}"),
        )),
    }
    match requests {
        Ok(list) => out
            .seen
            .extend(list.iter().filter_map(|r| of_request(r, subscription))),
        Err(e) => out.reads.failed.push((
            subscription.to_owned(),
            format!("PIM schedule requests of {scope} not read: {e}"),
        )),
    }
}

/// `subscription`'s role definitions into `out`: as kept, listed again first ([`super::roles`])
/// when `needed` (a role is kept), due, and its budget grants the one call; a list refused or failed is kept as such (its
/// roles' sessions `unknown`) and tried again an hour on.
async fn definitions(
    arm: &dyn ResourceManager,
    (tables, clock): (&dyn TableStore, &dyn crate::clock::Clock),
    (subscription, needed): (&str, bool),
    now: OffsetDateTime,
    out: &mut Gathered,
) {
    let mut defs = match super::store::definitions(tables, subscription).await {
        Ok(kept) => kept.unwrap_or_default(),
        Err(e) => Definitions {
            failed: Some((now, format!("its kept role definitions not read: {e}"))),
            ..Definitions::default()
        },
    };
    if needed
        && defs.due(now)
        && let Ok(true) =
            budget::take((tables, clock), subscription, budget::Use::Definitions, 1).await
    {
        let scope = format!("/subscriptions/{subscription}");
        out.arm_calls += 1;
        match arm.role_definitions(&scope).await {
            Ok(list) => defs = Definitions::of(&list, now),
            Err(e) => {
                defs.failed = Some((now, format!("role definitions of {scope} not read: {e}")));
            }
        }
        if let Err(e) = super::store::keep_definitions(tables, subscription, &defs).await {
            out.unkept
                .push(format!("{subscription}: role definitions not kept: {e}"));
        }
    }
    if defs.read_at.is_some() || defs.failed.is_some() {
        out.reads.roles.insert(subscription.to_owned(), defs);
    }
}

/// Reads PIM's `AuditLogs` rows of `workspace` over `[from, now)` into `out`, with the VM
/// sign-ins of `SigninLogs` when `signins`; a table the union could not resolve (its counting
/// row missing) is said unread. Gives, when read whole, the earliest `TimeGenerated` the workspace
/// holds in `[from, now)` (`now` when it holds none).
async fn audit_rows(
    logs: &dyn LogsQuery,
    workspace: &str,
    ((from, now), ingested): (
        (OffsetDateTime, OffsetDateTime),
        (OffsetDateTime, OffsetDateTime),
    ),
    signins: bool,
    out: &mut Gathered,
) -> Option<OffsetDateTime> {
    out.queries += 1;
    let span = format!("{}/{}", format_utc_millis(from), format_utc_millis(now));
    let (mut rows, mut seen_in, mut marks, mut n) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut since = None;
    let mut each = |c: &[String], r: &[Value]| {
        n += 1;
        let text = |name: &str| crate::loganalytics::row::text(c, r, name);
        if let Some(table) = text("Type").strip_suffix(mfa::READ_MARK) {
            if table == auditlogs::TABLE {
                since = crate::dates::timestamp(&text(auditlogs::SINCE));
            }
            marks.push(table.to_owned());
        } else if let Some(s) = mfa::read(c, r) {
            seen_in.push(s);
        } else {
            rows.extend(auditlogs::read(c, r));
        }
    };
    let query = auditlogs::query(MAX_ROWS + 1, signins, ingested);
    let result = crate::activity::read::rows(logs, workspace, &query, &span, &mut each).await;
    let unread = |out: &mut Gathered, why: String| {
        out.signins_unread |= signins;
        out.reads.failed.push((String::new(), why));
    };
    let mut held = None;
    match result {
        Ok(None) if n <= MAX_ROWS => {
            let missing = |t: &str| !marks.iter().any(|m| m == t);
            if !missing(auditlogs::TABLE) {
                out.cursors.push((workspace.to_owned(), ingested.1));
                held = Some(since.unwrap_or(now));
            }
            if missing(auditlogs::TABLE) {
                unread(
                    out,
                    format!(
                        "AuditLogs of workspace {workspace} not read: the workspace has no AuditLogs table (or it may not be read)"
                    ),
                );
            }
            out.signins_unread |= signins && missing(mfa::TABLE);
        }
        Ok(partial) => {
            let why = partial.unwrap_or_else(|| format!("more than {MAX_ROWS} rows"));
            unread(
                out,
                format!("AuditLogs of workspace {workspace} read in part: {why}"),
            );
        }
        Err(e) => unread(
            out,
            format!("AuditLogs of workspace {workspace} not read: {e}"),
        ),
    }
    out.seen.extend(rows);
    out.signins.extend(seen_in);
    held
}

/// The just-in-time evidence of the doors' events: each successful request's VMs whose every
/// asked source lies inside the Bastion subnets (a request to another source is a door, not an
/// authorization of a Bastion session). Without the subnets, the subscriptions with requests
/// are said unread.
pub fn jit_evidence(doors: &Doors, reads: &mut Reads) -> Vec<Evidence> {
    if let Some(why) = &doors.unread {
        reads.failed.push((
            String::new(),
            format!("just-in-time requests not read: {why}"),
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for e in doors
        .events
        .iter()
        .filter(|e| e.operation == JIT_INITIATE && e.outcome == Outcome::Succeeded)
    {
        let Some(requests) = jit::requests(e) else {
            // Its row has no body and its policy was not read: its VMs are not known.
            let sub = super::decide::subscription_of(&e.resource);
            reads.failed.push((
                sub,
                format!(
                    "just-in-time request {} not read (its policy was not read)",
                    e.correlation
                ),
            ));
            continue;
        };
        let body = e.body();
        for r in requests {
            let Some(bastion) = &doors.bastion else {
                let sub = super::decide::subscription_of(&r.vm);
                reads.failed.push((
                    sub,
                    "just-in-time requests not judged: the Bastion subnets are not known".into(),
                ));
                continue;
            };
            if !jit::outside(&r, bastion).is_empty() {
                continue;
            }
            out.push(Evidence {
                id: format!("jit:{}:{}", e.correlation, r.vm),
                source: Some(Source::Jit),
                kind: Some(Kind::Jit),
                names: vec![e.caller.clone()],
                scope: low(Some(&r.vm)),
                ports: r.ports.clone(),
                start: Some(e.at),
                end: jit_end(&body, &r.vm),
                justification: body["justification"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                ..Evidence::default()
            });
        }
    }
    out
}

/// The latest `endTimeUtc` of `vm`'s ports in a request body.
fn jit_end(body: &Value, vm: &str) -> Option<OffsetDateTime> {
    let vms = body.get("virtualMachines")?.as_array()?;
    let v = vms.iter().find(|v| {
        v["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(vm))
    })?;
    v.get("ports")?
        .as_array()?
        .iter()
        .filter_map(|p| p["endTimeUtc"].as_str())
        .filter_map(crate::dates::timestamp)
        .max()
}

/// Gathers `sources` for `subscriptions` at `now`: their role definitions once `roles` are
/// kept, when due ([`super::roles::Definitions::due`]), the schedules of those not read within
/// [`PACE`] whose Resource Manager budget allows both lists ([`super::budget`]; those whose
/// `turns` put their VMs' extension reads first wait, no session waiting for them), the `AuditLogs` of the
/// workspaces since `from`, and the doors' just-in-time requests.
pub async fn gather(
    (tables, clock): (&dyn TableStore, &dyn crate::clock::Clock),
    sources: &Sources<'_>,
    (subscriptions, turns, roles): (&BTreeSet<String>, &budget::Turns, bool),
    (from, now): (OffsetDateTime, OffsetDateTime),
) -> Gathered {
    let (arm, logs, doors) = (sources.arm, sources.logs, sources.doors);
    let workspaces = sources.workspaces;
    let mut out = Gathered::default();
    for sub in subscriptions {
        let Some(arm) = arm else {
            out.reads.failed.push((
                sub.clone(),
                "PIM schedules not read: Resource Manager is not set up".into(),
            ));
            let failed = Some((now, "Resource Manager is not set up".to_owned()));
            let defs = Definitions {
                failed,
                ..Definitions::default()
            };
            out.reads.roles.insert(sub.clone(), defs);
            continue;
        };
        // The roles' definitions first, when due and a role is kept: once a day (and after the
        // first role seen) the lists wait a pass.
        definitions(arm, (tables, clock), (sub, roles), now, &mut out).await;
        let last = match super::store::read_at(tables, sub).await {
            Ok(Some(at)) if at + PACE > now => {
                out.reads.deferred.push((sub.clone(), Some(at)));
                continue;
            }
            Ok(last) => last,
            Err(e) => {
                out.reads
                    .failed
                    .push((sub.clone(), format!("PIM pacing row not read: {e}")));
                continue;
            }
        };
        let taken = match turns.lists_first(sub, last, now) {
            false => Ok(false),
            true => budget::take((tables, clock), sub, budget::Use::Lists, 2).await,
        };
        match taken {
            Ok(true) => schedules(arm, sub, &mut out).await,
            Ok(false) => out.reads.deferred.push((sub.clone(), last)),
            Err(e) => out.reads.failed.push((
                sub.clone(),
                format!(
                    "PIM schedules not read: the Resource Manager budget of {sub} not read: {e}"
                ),
            )),
        }
    }
    out.signins_unread = sources.signin_mfa && (logs.is_none() || workspaces.is_empty());
    if let Some(logs) = logs {
        // Rows ingested since each workspace's cursor (less the overlap), up to the clock's now:
        // a row written late is read once it arrives, whatever its `TimeGenerated`.
        let hi = clock.now();
        for w in workspaces {
            let lo = match super::store::read_at(tables, &audit_cursor(w)).await {
                Ok(Some(at)) => at - auditlogs::OVERLAP,
                Ok(None) => hi - DECIDE_LOOKBACK,
                Err(e) => {
                    out.reads.failed.push((
                        String::new(),
                        format!("AuditLogs of workspace {w} not read: its cursor not read: {e}"),
                    ));
                    continue;
                }
            };
            let reach = super::store::read_at(tables, &audit_from(w)).await;
            let window = ((from, now), (lo, hi));
            let held = audit_rows(logs, w, window, sources.signin_mfa, &mut out).await;
            // The first read whole begins the reach: the earliest row the workspace held in its
            // timespan (its start, or later when the workspace keeps `AuditLogs` less long).
            match (reach, held) {
                (Ok(Some(at)), Some(_)) => out.reach.push((w.clone(), at, false)),
                (Ok(None), Some(held)) => out.reach.push((w.clone(), held, true)),
                _ => {}
            }
        }
    }
    // Membership changes are known since the latest start among the workspaces, all read whole.
    if !workspaces.is_empty() && out.reach.len() == workspaces.len() {
        out.reads.changes_from = out.reach.iter().map(|r| r.1).max();
    }
    let jit = jit_evidence(doors, &mut out.reads);
    out.seen.extend(jit);
    out.reads.networks = doors.networks.clone();
    out
}
