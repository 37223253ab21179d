//! What the health report shows of the fan-out: per timer, its last planned period's units
//! planned, unchanged (left out by the timer: nothing changed for them), queued (planned, not
//! claimed by a delivery yet), running (claimed, not ended), done, failed (the queue retries
//! them), deferred by a Resource Manager pause (with the paused scope), and those not planned
//! because another period's plan still held them (queued or running); and every unit whose last period ended poisoned (its last delivery
//! failed), named once with the number of consecutive periods it did.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::store::{self, state};
use crate::azure::AzureError;
use crate::tables::{TableStore, get_i64, get_str};

/// One timer's last period.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Period {
    /// The period (none planned yet: `None`).
    pub period: Option<String>,
    /// Units planned.
    pub planned: i64,
    /// Units not planned: still queued or running from another period.
    pub skipped_running: i64,
    /// Units the timer left out because nothing changed for them (`AuditLogTail`: hosts whose
    /// listing showed nothing to read): planned, these and those still running are all it watched.
    pub unchanged: i64,
    /// Units of the period done.
    pub done: usize,
    /// Units of the period whose last delivery failed (retried by the queue).
    pub failed: usize,
    /// Units of the period planned and not claimed by a delivery yet: queued.
    pub queued: usize,
    /// Units of the period a delivery claimed and that have not ended.
    pub running: usize,
    /// Units of the period deferred by a pause of their Resource Manager scope: (unit, scope).
    pub deferred: Vec<(String, String)>,
    /// Units whose last period ended poisoned: their names and the consecutive periods that did.
    pub poisoned: Vec<(String, i64)>,
}

impl Period {
    /// The JSON the health report shows.
    pub fn to_json(&self) -> Value {
        let deferred: Vec<Value> = (self.deferred.iter())
            .map(|(u, scope)| json!({"unit": u, "scope": scope}))
            .collect();
        let poisoned: Vec<&String> = self.poisoned.iter().map(|(u, _)| u).collect();
        let periods: serde_json::Map<String, Value> = (self.poisoned.iter())
            .map(|(u, n)| (u.clone(), (*n).into()))
            .collect();
        json!({"period": self.period, "planned": self.planned, "unchanged": self.unchanged,
            "done": self.done,
            "failed": self.failed, "queued": self.queued, "running": self.running,
            "deferred": deferred.len(),
            "deferredUnits": deferred, "stillRunningWhenPlanned": self.skipped_running,
            "poisoned": poisoned, "poisonedPeriods": periods})
    }
}

/// `timer`'s last planned period at `now`.
///
/// # Errors
/// Table errors.
pub async fn of_timer(
    tables: &dyn TableStore,
    timer: &str,
    now: OffsetDateTime,
) -> Result<Period, AzureError> {
    let ledger = store::ledger(tables, timer).await?;
    let rk = |e| get_str(e, "RowKey").unwrap_or_default();
    let Some(plan) = (ledger.plans.iter()).max_by_key(|r| rk(&r.entity)) else {
        return Ok(Period::default());
    };
    let period = get_str(&plan.entity, "Period").unwrap_or_default();
    let mut out = Period {
        period: Some(period.to_owned()),
        planned: get_i64(&plan.entity, "Planned").unwrap_or(0),
        skipped_running: get_i64(&plan.entity, "Running").unwrap_or(0),
        unchanged: get_i64(&plan.entity, "Unchanged").unwrap_or(0),
        ..Period::default()
    };
    let marks = store::marks(&plan.entity);
    let fresh = store::is_within_term(&plan.entity, now);
    for e in ledger.units.values().map(|r| &r.entity) {
        let s = get_str(e, "State").unwrap_or_default();
        let unit = get_str(e, "Unit").unwrap_or_default().to_owned();
        let failed_periods = get_i64(e, "FailedPeriods").unwrap_or(0);
        if failed_periods > 0 {
            out.poisoned.push((unit.clone(), failed_periods));
        }
        if get_str(e, "Period") != Some(period) {
            // Planned this period, its message not claimed yet.
            let reached = get_str(e, "Period").unwrap_or_default();
            if reached < period && fresh && marks.contains(store::mark(&unit).as_str()) {
                out.queued += 1;
            }
            continue;
        }
        match s {
            state::DONE => out.done += 1,
            state::FAILED | state::POISONED => out.failed += 1,
            state::DEFERRED => {
                let scope = get_str(e, "Scope").unwrap_or_default().to_owned();
                out.deferred.push((unit, scope));
            }
            state::RUNNING if store::is_pending(e, now) => out.running += 1,
            _ if store::is_pending(e, now) => out.queued += 1,
            _ => {}
        }
    }
    out.deferred.sort();
    out.poisoned.sort();
    Ok(out)
}

/// Every fanned-out timer's last period, by timer.
///
/// # Errors
/// Table errors.
pub async fn report(
    tables: &dyn TableStore,
    timers: &[&str],
    now: OffsetDateTime,
) -> Result<(Value, Vec<String>), AzureError> {
    let mut doc = serde_json::Map::new();
    let mut poisoned = Vec::new();
    for t in timers {
        let p = of_timer(tables, t, now).await?;
        poisoned.extend((p.poisoned.iter()).map(|(u, n)| {
            let s = if *n == 1 { "" } else { "s" };
            format!("{t}: {u}, {n} period{s} running")
        }));
        doc.insert((*t).to_owned(), p.to_json());
    }
    Ok((Value::Object(doc), poisoned))
}
