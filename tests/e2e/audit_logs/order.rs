//! A session is "recorded" only by a recording whose final match names it, whatever the arrival
//! order, end to end on Azurite through the real `handler` (one and two instances): recording R
//! names session A's tunnel id; B (and C) on the same host have no recording. R arrives before A's
//! records, waits for A beyond `RECORDING_SESSION_WAIT_MINUTES` and falls back by time to B (or to
//! C, the nearer start; vouching for none, no log row showing the host wrote it), then A's records arrive: R ends exact → A, A recorded by R, and B and C unrecorded with
//! exactly one `session.unrecorded` each, across every tick of every instance.

use std::collections::{BTreeMap, BTreeSet};

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::support::{Env, event_invocation, tick_invocation};
use crate::harness::{self, AzuriteEnv, HandlerProcess};

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const C: &str = "cccccccc-0000-4000-8000-00000000000c";

/// One scenario: B's (and C's) shape, and when R arrives.
#[derive(Clone, Copy)]
pub(crate) struct Case {
    /// B's user and VM differ from A's.
    pub(crate) other_user: bool,
    /// B's window does not overlap A's (A long over before R; B around R).
    pub(crate) disjoint: bool,
    /// B still open (no end record) when R falls back to it; it ends later.
    pub(crate) open: bool,
    /// C too, started nearer R's creation: R falls back to C (the nearest start).
    pub(crate) with_c: bool,
    /// R is catalogued before any audit record (else after B's).
    pub(crate) r_first: bool,
}

struct Estate {
    env: Env,
    second: Option<HandlerProcess>,
    path: String,
    t0: OffsetDateTime,
    /// `session.unrecorded` ids per tunnel, from every tick reply.
    alerts: BTreeMap<String, BTreeSet<String>>,
    /// Storage is reached through a fault proxy.
    faulted: bool,
}

fn utc(t: OffsetDateTime) -> String {
    bastion_recordings::dates::format_utc(t)
}

fn record(
    tunnel: &str,
    at: OffsetDateTime,
    user: &str,
    vm: &str,
    ended: Option<OffsetDateTime>,
) -> String {
    let (time, message, extra) = match ended {
        Some(end) => (
            end,
            "Session Ended",
            format!(
                r#","sessionStartTime":"{}","sessionEndTime":"{}""#,
                utc(at),
                utc(end)
            ),
        ),
        None => (at, "Successfully Connected.", String::new()),
    };
    format!(
        r#"{{"time":"{}","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-ORDER","operationName":"Microsoft.Network/BastionHost/connect","properties":{{"userName":"{user}","protocol":"ssh","clientIpAddress":"203.0.113.9","targetResourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/{vm}","message":"{message}","tunnelId":"{tunnel}"{extra}}}}}"#,
        utc(time)
    ) + "\n"
}

/// Faults for the fault tier: the handlers reach storage through `connection` (a fault proxy), and
/// `arm` scripts its faults just before the session's own records arrive.
pub(crate) struct Faults<'a> {
    pub(crate) connection: &'a str,
    pub(crate) arm: &'a (dyn Fn() + Sync),
}

impl Estate {
    /// The catalogue row of R (the only recording).
    async fn recording(&self) -> bastion_recordings::tables::Entity {
        let rows = self.env.tables.query("recordings", None, None, None).await;
        rows.expect("query").items.remove(0).entity
    }

    async fn start(two: bool, through: Option<&str>) -> Option<Self> {
        let cs = harness::azurite()?;
        let az = AzuriteEnv::new(&cs);
        let mut pairs = az.pairs();
        if let Some(connection) = through {
            pairs.retain(|(k, _)| *k != "AzureWebJobsStorage");
            pairs.push(("AzureWebJobsStorage", connection));
        }
        pairs.extend([
            ("RECORDING_SESSION_WAIT_MINUTES", "1"),
            ("UNRECORDED_GRACE_MINUTES", "1"),
        ]);
        let handler = HandlerProcess::spawn(&pairs).await;
        let second = if two {
            Some(HandlerProcess::spawn(&pairs).await)
        } else {
            None
        };
        let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).ok()?;
        let hour = t0 - Duration::hours(1);
        let path = format!(
            "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-ORDER/y={}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
            hour.year(),
            u8::from(hour.month()),
            hour.day(),
            hour.hour()
        );
        let env = Env::with(&cs, az, handler);
        let logs = env.logs();
        env.blobs
            .create_append(
                &BlobRef::new(logs.clone(), path.clone()),
                "application/json",
            )
            .await
            .expect("create");
        let (status, reply) = env
            .handler
            .invoke(
                "AuditLogCreated",
                &event_invocation("invocations/auditlog-created.invocation.json", &logs, &path),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        Some(Self {
            env,
            second,
            path,
            t0,
            alerts: BTreeMap::new(),
            faulted: through.is_some(),
        })
    }

    async fn append(&self, text: String) {
        self.env
            .blobs
            .append(
                &BlobRef::new(self.env.logs(), self.path.clone()),
                Bytes::from(text),
            )
            .await
            .expect("append");
    }

    /// One tick at `t0 + minutes` on every instance at once; collects the alerts.
    async fn tick(&mut self, minutes: i64) {
        let mut inv = tick_invocation();
        inv["Metadata"]["sys"]["UtcNow"] = json!(utc(self.t0 + Duration::minutes(minutes)));
        let mut replies = vec![self.env.handler.invoke("AuditLogTail", &inv)];
        if let Some(second) = &self.second {
            replies.push(second.invoke("AuditLogTail", &inv));
        }
        for (status, reply) in futures::future::join_all(replies).await {
            // Behind faults a tick may fail as a whole (500): the timer's next tick goes on.
            assert!(
                status == 200 || (self.faulted && status == 500),
                "{status} {reply}"
            );
            let out = &reply["Outputs"]["notifications"];
            let list = match out {
                Value::Array(items) => items.clone(),
                Value::Object(_) => vec![out.clone()],
                _ => Vec::new(),
            };
            for n in list.iter().filter(|n| n["type"] == "session.unrecorded") {
                let tunnel = n["data"]["tunnelId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let id = n["id"].as_str().unwrap_or_default().to_owned();
                self.alerts.entry(tunnel).or_default().insert(id);
            }
        }
    }

    /// Catalogues `name` created now, as Bastion uploads it (the join's windows are around it).
    async fn catalogue(&self, name: &str) -> String {
        let now = utc(OffsetDateTime::now_utc());
        self.env.catalogue_at(name, Some(&now)).await
    }

    async fn sessions(&self) -> BTreeMap<String, Value> {
        let day = |t: OffsetDateTime| bastion_recordings::dates::format_date(t.date());
        let path = format!(
            "/api/sessions?from={}&to={}",
            day(self.t0 - Duration::hours(2)),
            day(self.t0)
        );
        let (status, body) = self.env.handler.get_json(&path).await;
        assert_eq!(status, 200, "{body}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                (
                    i["sessionId"].as_str().unwrap_or_default().to_owned(),
                    i.clone(),
                )
            })
            .collect()
    }
}

/// Runs `case` on one or `two` instances, optionally behind `faults`.
pub(crate) async fn scenario(case: Case, two: bool, faults: Option<&Faults<'_>>) {
    let Some(mut e) = Estate::start(two, faults.map(|f| f.connection)).await else {
        return;
    };
    let t = |m: i64| e.t0 + Duration::minutes(m);
    // A: alice on vm-a; over long before R when disjoint, else around it.
    let (a_start, a_end) = if case.disjoint {
        (t(-70), t(-50))
    } else {
        (t(-20), t(10))
    };
    let (user, vm) = if case.other_user {
        ("bob", "vm-b")
    } else {
        ("alice", "vm-a")
    };
    let b_start = t(-10);
    let b_end = t(3);
    let mut b_records = record(B, b_start, user, vm, None);
    if !case.open {
        b_records += &record(B, b_start, user, vm, Some(b_end));
    }
    if case.with_c {
        b_records += &record(C, t(-8), "carol", "vm-c", None);
        b_records += &record(C, t(-8), "carol", "vm-c", Some(t(4)));
    }
    let name = format!("2025/ordered/{A}.webm");
    let id = if case.r_first {
        let id = e.catalogue(&name).await;
        e.append(b_records).await;
        e.tick(1).await;
        id
    } else {
        e.append(b_records).await;
        e.tick(1).await;
        e.catalogue(&name).await
    };
    // Beyond the wait: R is matched by time (to B, or to B and C) while A's records are late;
    // no log row shows the host wrote it, so it vouches for none of them meanwhile.
    e.tick(3).await;
    let r = &e.recording().await;
    // C started nearer R's creation than B: the nearest start is its candidate.
    let fell = if case.with_c { C } else { B };
    assert_eq!(
        get_str(r, "MatchCandidates"),
        Some(fell),
        "R fell back by time: {r:?}"
    );
    let fallback = e.sessions().await;
    assert_eq!(
        fallback[B]["recordingId"],
        Value::Null,
        "B does not take R: {}",
        fallback[B]
    );
    if let Some(f) = faults {
        (f.arm)();
    }
    if case.open {
        e.append(record(B, b_start, user, vm, Some(b_end))).await;
    }
    e.append(
        record(A, a_start, "alice", "vm-a", None)
            + &record(A, a_start, "alice", "vm-a", Some(a_end)),
    )
    .await;
    for m in [4, 5, 8, 12, 20, 40] {
        e.tick(m).await;
    }
    let row = &e.recording().await;
    assert_eq!(
        (get_str(row, "MatchConfidence"), get_str(row, "TunnelId")),
        (Some("exact"), Some(A)),
        "{row:?}"
    );
    let sessions = e.sessions().await;
    assert_eq!(sessions[A]["recorded"], true, "{}", sessions[A]);
    assert_eq!(sessions[A]["recordingIds"], json!([id]));
    let others: &[&str] = if case.with_c { &[B, C] } else { &[B] };
    for s in others {
        let item = &sessions[*s];
        assert_eq!(
            (item["recorded"].clone(), item["joinPending"].clone()),
            (json!(false), json!(false)),
            "{item}"
        );
        assert_eq!(
            e.alerts.get(*s).map(BTreeSet::len),
            Some(1),
            "one alert for {s}: {:?}",
            e.alerts
        );
    }
    assert_eq!(e.alerts.get(A), None, "A is recorded: {:?}", e.alerts);
}

pub(crate) const BASE: Case = Case {
    other_user: false,
    disjoint: false,
    open: false,
    with_c: false,
    r_first: false,
};

#[tokio::test]
async fn recording_before_its_session_after_another_on_the_host() {
    scenario(BASE, false, None).await;
}

#[tokio::test]
async fn recording_before_every_audit_record() {
    scenario(
        Case {
            r_first: true,
            ..BASE
        },
        false,
        None,
    )
    .await;
}

#[tokio::test]
async fn other_user_and_vm_disjoint_window_and_still_open() {
    scenario(
        Case {
            other_user: true,
            disjoint: true,
            open: true,
            ..BASE
        },
        false,
        None,
    )
    .await;
}

#[tokio::test]
async fn ambiguous_between_two_sessions() {
    scenario(
        Case {
            with_c: true,
            ..BASE
        },
        false,
        None,
    )
    .await;
}

#[tokio::test]
async fn two_instances_reach_the_same_state_with_one_alert_each() {
    scenario(
        Case {
            with_c: true,
            open: true,
            ..BASE
        },
        true,
        None,
    )
    .await;
}

/// When A's records are in, how B's relate to R.
#[derive(Clone, Copy)]
enum AuditedFirst {
    /// A's and B's records are tailed before R is catalogued.
    Both,
    /// A's records are tailed, then R, then B's.
    ThenB,
    /// As `Both`, by a tick whose timer time runs minutes ahead of the instances' clocks.
    TimerAhead,
}

/// The ordinary order whenever Azure Monitor delivers the hour blob quickly: a session's records
/// are tailed before its recording's BlobCreated. R names A exactly; B (same user and VM, its
/// window holding R's creation too) has no recording. A is recorded by R and never alerted; B is
/// alerted once.
async fn audited_first(order: AuditedFirst, two: bool) {
    let Some(mut e) = Estate::start(two, None).await else {
        return;
    };
    let t = |m: i64| e.t0 + Duration::minutes(m);
    let a =
        record(A, t(-30), "alice", "vm-a", None) + &record(A, t(-30), "alice", "vm-a", Some(t(-1)));
    let b =
        record(B, t(-15), "alice", "vm-a", None) + &record(B, t(-15), "alice", "vm-a", Some(t(-2)));
    let name = format!("2025/audited/{A}.webm");
    let id = match order {
        AuditedFirst::Both => {
            e.append(a + &b).await;
            e.tick(1).await;
            e.catalogue(&name).await
        }
        AuditedFirst::TimerAhead => {
            e.append(a + &b).await;
            e.tick(7).await;
            e.catalogue(&name).await
        }
        AuditedFirst::ThenB => {
            e.append(a).await;
            e.tick(1).await;
            let id = e.catalogue(&name).await;
            e.append(b).await;
            id
        }
    };
    for m in [7, 8, 15] {
        e.tick(m).await;
    }
    let sessions = e.sessions().await;
    assert_eq!(sessions[A]["recorded"], true, "{}", sessions[A]);
    assert_eq!(sessions[A]["recordingIds"], json!([id]), "{}", sessions[A]);
    assert_eq!(sessions[B]["recorded"], false, "{}", sessions[B]);
    assert_eq!(e.alerts.get(A), None, "A is recorded: {:?}", e.alerts);
    assert_eq!(
        e.alerts.get(B).map(BTreeSet::len),
        Some(1),
        "one alert for B: {:?}",
        e.alerts
    );
}

#[tokio::test]
async fn sessions_tailed_before_their_recording_are_recorded() {
    audited_first(AuditedFirst::Both, false).await;
}

#[tokio::test]
async fn session_tailed_then_recording_then_another_session() {
    audited_first(AuditedFirst::ThenB, false).await;
}

#[tokio::test]
async fn a_timer_ahead_of_the_clock_loses_no_recording() {
    audited_first(AuditedFirst::TimerAhead, false).await;
}

#[tokio::test]
async fn two_instances_record_sessions_tailed_before_their_recording() {
    audited_first(AuditedFirst::Both, true).await;
}
