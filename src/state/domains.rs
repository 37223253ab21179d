//! The domains built from an application state, as every entry point builds them: each takes
//! the state's ports and the settings it reads, never the state itself.

use std::collections::BTreeSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::app_state::AppState;
use crate::arm::ResourceManager;
use crate::audit_logs::detect::stalled::Stalled;
use crate::audit_logs::detect::{burst, stored};
use crate::audit_logs::query::Query;
use crate::audit_logs::tail::Tailer;
use crate::authorization::enforce;
use crate::azure::AzureError;
use crate::catalogue::days::DayRow;
use crate::estate::disconnect::{self, Request};
use crate::estate::{live, unaudited};
use crate::health::report::Health;
use crate::join::{Join, Times};
use crate::ports::Ports;
use crate::recordings::Recordings;
use crate::retention::sweep::Sweeper;
use crate::spine::{Finding, kinds};
use crate::tables::{Entity, Stored, TableStore, get_str};

/// The join's matching settings, from the audit settings.
fn times(state: &AppState) -> Times {
    let a = &state.audit;
    Times {
        lag: a.upload_lag,
        open_max: a.open_session_max,
        wait: a.session_wait,
        vouch: a.vouch_lag,
    }
}

/// The recording ↔ session join over the state's ports, policy and audit settings.
pub fn join(state: &AppState) -> Join {
    let min_bytes = state.audit.recording_min_bytes;
    Join::new(&state.ports, state.policy.clone(), times(state), min_bytes)
}

/// The audit-log tail over the state's ports and settings; a session change leaves pending what
/// the join's times say it affects.
pub fn tailer(state: &AppState) -> Tailer {
    let times = times(state);
    Tailer {
        ports: state.ports.clone(),
        quarantine: state.quarantine.clone(),
        retention_class: state.config.retention.audit_logs_class.clone(),
        policy: state.policy.clone(),
        settings: state.audit.clone(),
        affected: Arc::new(move |before, after| times.affected(before, after)),
    }
}

/// The workspace source over the state's tail, Logs Query client and settings, when one is
/// configured.
pub fn workspace_query(state: &AppState) -> Option<Query> {
    Some(Query {
        tail: tailer(state),
        logs: state.logs.clone()?,
        settings: Arc::new(state.config.workspaces.query.clone()),
    })
}

/// Cataloguing over the state's ports and retention policy.
pub fn recordings(state: &AppState) -> Recordings {
    Recordings {
        ports: state.ports.clone(),
        policy: state.policy.clone(),
        join: join(state),
        custody: state.config.custody.workspace.is_some(),
    }
}

/// The retention sweep over the state's ports, policy and settings.
pub fn sweeper(state: &AppState) -> Sweeper {
    Sweeper {
        ports: state.ports.clone(),
        policy: state.policy.clone(),
        settings: state.config.retention.clone(),
    }
}

/// The stalled-recordings check over the state's ports and audit settings.
pub fn stalled(state: &AppState) -> Stalled {
    Stalled {
        ports: state.ports.clone(),
        after: state.audit.stalled_after,
        upload_lag: state.audit.upload_lag,
    }
}

/// The health report's inputs: the state's ports, app blobs, queues and heartbeats.
pub fn health(state: &AppState) -> Health {
    Health {
        ports: state.ports.clone(),
        app_blobs: state.app_blobs.clone(),
        quarantine_container: state.config.quarantine_container.clone(),
        heartbeats: state.heartbeats.clone(),
        queues: state.queues.clone(),
        tail_look_back: state.audit.tail_look_back,
    }
}

/// What estate and the failed-login detection raised, as the review queue ranks a session by it.
pub struct Raised;

#[async_trait::async_trait]
impl crate::reviews::queue::derive::Raised for Raised {
    async fn flagged_hosts(&self, tables: &dyn TableStore) -> Result<BTreeSet<String>, AzureError> {
        crate::estate::store::flagged_hosts(tables).await
    }

    async fn bursts(
        &self,
        tables: &dyn TableStore,
        (from, to): (OffsetDateTime, OffsetDateTime),
        window: Duration,
    ) -> Result<Vec<Finding>, AzureError> {
        stored::bursts(tables, from, to, window).await
    }

    fn concerns(&self, b: &Finding, s: &DayRow) -> bool {
        burst::concerns(b, (&s.user_name, &s.user_email), &s.client_ip, s.start)
    }

    async fn doors_open(
        &self,
        tables: &dyn TableStore,
        sessions: &[DayRow],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<&'static kinds::Kind>>, AzureError> {
        let doors = crate::estate::bypass::episodes::episodes(tables).await?;
        let open = |s: &DayRow| {
            let vm = crate::arm::ids::vm_of(&s.target_resource_id);
            let eps = vm.and_then(|vm| doors.get(&vm))?;
            let e = eps
                .iter()
                .find(|e| e.overlaps(s.start, s.end.unwrap_or(now)))?;
            Some(kinds::estate_code(&e.door))
        };
        Ok(sessions.iter().map(open).collect())
    }
}

/// The estate's live sessions as authorization's enforcement uses them, over the state's ports
/// and Resource Manager (bounded by the tick's budget).
pub struct LiveSessions<'a>(pub &'a Ports, pub &'a dyn ResourceManager);

#[async_trait::async_trait]
impl enforce::Live for LiveSessions<'_> {
    async fn unmarked(&self, host: &str) -> Result<Vec<Stored>, AzureError> {
        let mut rows = crate::estate::of_host(self.0.tables.as_ref(), host).await?;
        rows.retain(|r| get_str(&r.entity, live::ENFORCED).is_none_or(str::is_empty));
        Ok(rows)
    }

    async fn audit_rows(&self, e: &Entity) -> Result<Vec<DayRow>, AzureError> {
        unaudited::audit_rows(self.0.tables.as_ref(), e).await
    }

    async fn claim_enforcement(&self, r: &Stored, why: &str) -> Result<bool, AzureError> {
        live::claim_enforcement(self.0.tables.as_ref(), r, why).await
    }

    async fn disconnect(
        &self,
        host: &str,
        id: &str,
        why: &str,
        now: OffsetDateTime,
    ) -> Result<(), AzureError> {
        let (p, who) = (self.0, enforce::DECIDED_BY);
        let req = Request {
            host,
            session_id: id,
            reason: why,
            who,
        };
        let done = disconnect::disconnect(p.tables.as_ref(), &p.outbox, self.1, &req, now);
        done.await.map(drop)
    }
}
