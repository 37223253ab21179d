//! Disconnecting a live session (API and `handler disconnect`): `disconnectActiveSessions` and one
//! row in the append-only table `disconnects` (PK = day, RK = time~uuid) saying who, when, why and
//! what the service answered. The next `LiveSessions` tick announces it ([`announce`]): the API has
//! no output binding. Its Sentinel row is recorded before Bastion is asked, and again when announced.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::rows::mark;
use crate::arm::ResourceManager;
use crate::arm::resource_name;
use crate::azure::AzureError;
use crate::dates::{format_date, format_utc_millis};
use crate::export::Outbox;
use crate::export::rows::DisconnectRow;
use crate::spine::kinds::SESSION_DISCONNECTED;
use crate::spine::{Finding, Severity};
use crate::tables::ops::{query_all, write_creating_table};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, get_str};

/// The audit table of disconnects.
pub const DISCONNECTS_TABLE: &str = "disconnects";
/// How long a disconnect may wait on Resource Manager (its caller is a person at the API).
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(25);
/// Longest reason kept (characters).
pub const MAX_REASON: usize = 500;

/// What the caller asked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Host resource id.
    pub host: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// Why (required, non-empty).
    pub reason: &'a str,
    /// The authenticated principal (never a name from the request body).
    pub who: &'a str,
}

/// Disconnects and records: the row is written before the call (state `Requested`) and updated
/// with the answer, so a crash between the two leaves a trace of who asked.
///
/// # Errors
/// Table errors writing the row (then nothing was asked of Bastion).
pub async fn disconnect(
    tables: &dyn TableStore,
    outbox: &Outbox,
    arm: &dyn ResourceManager,
    req: &Request<'_>,
    now: OffsetDateTime,
) -> Result<Value, AzureError> {
    let started = std::time::Instant::now();
    let at = format_utc_millis(now);
    let pk = format_date(now.date());
    let rk = format!("{at}~{}", uuid::Uuid::new_v4());
    let reason: String = req.reason.trim().chars().take(MAX_REASON).collect();
    let mut row = json!({
        "PartitionKey": pk, "RowKey": rk, "Host": req.host, "HostName": resource_name(req.host),
        "SessionId": req.session_id, "Reason": reason, "DecidedBy": req.who, "At": at,
        "State": "Requested", "Message": "", "Announced": false,
    });
    let entity = crate::tables::entity(row.clone());
    write_creating_table(tables, DISCONNECTS_TABLE, &entity, WriteMode::Insert).await?;
    outbox
        .record(DisconnectRow::of_disconnect(&entity).as_ref())
        .await?;
    let ids = [req.session_id.to_owned()];
    let (state, message) = match arm.disconnect_sessions(req.host, &ids).await {
        Ok(results) => match results.into_iter().find(|r| r.session_id == req.session_id) {
            Some(r) => (r.state, r.message.unwrap_or_default()),
            None => ("NotFound".into(), "no answer for this session".into()),
        },
        Err(e) => ("Failed".to_owned(), e.to_string()),
    };
    row["State"] = json!(state);
    row["Message"] = json!(message);
    // The answer's time: after the request's, by the call's duration (at least a millisecond).
    let took = time::Duration::try_from(started.elapsed()).unwrap_or(time::Duration::ZERO);
    row["AnsweredAt"] = json!(format_utc_millis(
        now + took.max(time::Duration::milliseconds(1))
    ));
    let answered = crate::tables::entity(row);
    // Only this call writes the answer into its own row: an unconditional replace is exact.
    write_creating_table(tables, DISCONNECTS_TABLE, &answered, WriteMode::Upsert).await?;
    Ok(public(&answered))
}

/// The public shape of a disconnect row.
pub fn public(e: &Entity) -> Value {
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    json!({
        "id": s("RowKey"), "host": s("Host"), "hostName": s("HostName"), "sessionId": s("SessionId"),
        "reason": s("Reason"), "decidedBy": s("DecidedBy"), "at": s("At"), "state": s("State"),
        "message": s("Message"),
    })
}

/// `session.disconnected` for each answered, unannounced row of today and yesterday; the row is
/// marked (ETag-conditional) so one tick of one instance announces it.
///
/// # Errors
/// Table errors.
pub async fn announce(
    tables: &dyn TableStore,
    outbox: &Outbox,
    now: OffsetDateTime,
) -> Result<Vec<Finding>, AzureError> {
    let unannounced = |e: &Entity| e.get("Announced") == Some(&Value::Bool(false));
    let mut out = Vec::new();
    for day in [now.date().previous_day(), Some(now.date())]
        .into_iter()
        .flatten()
    {
        let pk = Filter::partition(&format_date(day));
        let rows = query_all(tables, DISCONNECTS_TABLE, &pk, 1000).await?;
        // An answered row not yet announced.
        let answered = |r: &&Stored| {
            unannounced(&r.entity) && get_str(&r.entity, "State") != Some("Requested")
        };
        for r in rows.iter().filter(answered) {
            outbox
                .record(DisconnectRow::of_disconnect(&r.entity).as_ref())
                .await?;
            let announced = ("Announced", true.into());
            if mark(tables, DISCONNECTS_TABLE, r, &unannounced, announced).await? {
                out.push(finding(&r.entity));
            }
        }
    }
    Ok(out)
}

fn finding(e: &Entity) -> Finding {
    let p = public(e);
    let s = |k: &str| get_str(e, k).unwrap_or_default();
    let evidence = json!({
        "bastionHost": p["hostName"], "bastionHostId": p["host"], "sessionId": p["sessionId"],
        "reason": p["reason"], "decidedBy": p["decidedBy"], "state": p["state"],
    });
    let f = Finding::new(
        &SESSION_DISCONNECTED,
        s("RowKey"),
        s("At"),
        Severity::Warning,
        evidence,
    );
    f.word("host", s("HostName"))
}
