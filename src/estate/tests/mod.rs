//! Live sessions and disconnects over the in-memory tables and a canned Resource Manager.

use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;
use time::macros::datetime;

use super::{disconnect, live};
use crate::arm::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    ResourceManager, RoleAssignment, RoleDefinition,
};
use crate::azure::AzureError;
use crate::export::Outbox;
use crate::testkit::tables::memory::InMemoryTables;

mod identities;
mod quiet;
mod unaudited;

const HOST: &str = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b1";

#[derive(Default)]
struct Canned {
    disconnect: Option<Result<Vec<DisconnectResult>, AzureError>>,
    asked: Mutex<Vec<String>>,
    /// Diagnostic settings of every host.
    diagnostics: Vec<DiagnosticSetting>,
    /// `(workspace resource id, customer id)`.
    workspaces: Vec<(String, String)>,
    /// The workspaces looked up.
    looked_up: Mutex<Vec<String>>,
    /// What every host reads as (none: the read fails).
    host: Option<serde_json::Value>,
    /// The live sessions every host answers.
    sessions: Mutex<Vec<ActiveSession>>,
}

#[async_trait]
impl ResourceManager for Canned {
    async fn bastion_host(&self, _: &str) -> Result<BastionHost, AzureError> {
        let Some(h) = &self.host else {
            return Err(AzureError::Transient("not canned".into()));
        };
        serde_json::from_value(h.clone()).map_err(|e| AzureError::Permanent(e.to_string()))
    }
    async fn diagnostic_settings(&self, _: &str) -> Result<Vec<DiagnosticSetting>, AzureError> {
        Ok(self.diagnostics.clone())
    }
    async fn workspace_customer_id(&self, id: &str) -> Result<Option<String>, AzureError> {
        self.looked_up
            .lock()
            .expect("looked up")
            .push(id.to_owned());
        Ok(self
            .workspaces
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(id))
            .map(|(_, c)| c.clone()))
    }
    async fn blob_service(&self, _: &str) -> Result<BlobService, AzureError> {
        Ok(BlobService::default())
    }
    async fn container(&self, _: &str, _: &str) -> Result<Container, AzureError> {
        Ok(Container::default())
    }
    async fn role_assignments(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        Ok(vec![])
    }
    async fn role_definition(&self, _: &str, _: &str) -> Result<RoleDefinition, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn network_interfaces(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::NetworkInterface>, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn security_groups(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::NetworkSecurityGroup>, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn virtual_networks(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::VirtualNetwork>, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn vm_network_interfaces(&self, _: &str) -> Result<Vec<String>, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn network_interface(&self, _: &str) -> Result<crate::arm::NetworkInterface, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn jit_policy(&self, _: &str) -> Result<crate::arm::JitPolicy, AzureError> {
        Err(AzureError::Transient("not canned".into()))
    }
    async fn vm_extension(&self, _: &str, _: &str) -> Result<bool, AzureError> {
        Ok(false)
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<ActiveSession>, AzureError> {
        Ok(self.sessions.lock().expect("sessions").clone())
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError> {
        self.asked
            .lock()
            .expect("asked")
            .extend(ids.iter().cloned());
        self.disconnect.clone().unwrap_or(Ok(vec![]))
    }
}

fn host(recording: bool, tunneling: bool) -> BastionHost {
    serde_json::from_value(json!({"properties": {
        "enableSessionRecording": recording, "enableTunneling": tunneling}}))
    .expect("host")
}

fn session(id: &str, user: &str) -> ActiveSession {
    ActiveSession {
        session_id: id.into(),
        user_name: Some(user.into()),
        protocol: Some("SSH".into()),
        ..ActiveSession::default()
    }
}

/// Stores one host's live sessions over its rows as stored ([`live::record_over`]): its
/// announcements.
async fn record(
    tables: &dyn crate::tables::TableStore,
    host: &str,
    h: &BastionHost,
    sessions: &[ActiveSession],
    now: time::OffsetDateTime,
) -> Result<Vec<crate::spine::Finding>, AzureError> {
    let stored = super::of_host(tables, host).await?;
    let recorded = live::record_over(tables, host, h, sessions, &stored, now).await?;
    Ok(recorded.0)
}

#[test]
fn unrecordable_when_recording_is_off_or_through_the_native_client() {
    assert!(live::unrecordable(&host(true, false), &session("a", "")).is_none());
    assert!(live::unrecordable(&host(true, true), &session("a", "alice")).is_none());
    assert!(live::unrecordable(&host(true, true), &session("a", "")).is_some());
    assert!(live::unrecordable(&host(false, false), &session("a", "alice")).is_some());
}

#[tokio::test]
async fn a_live_session_is_announced_once_and_ends_when_gone() {
    let t = InMemoryTables::new();
    let h = host(false, false);
    let t0 = datetime!(2026-11-25 12:00 UTC);
    let s = [session("s1", "alice")];
    let first = record(&t, HOST, &h, &s, t0).await.expect("first");
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].kind.name,
        crate::spine::kinds::SESSION_UNRECORDABLE.name
    );
    let again = record(&t, HOST, &h, &s, t0 + time::Duration::minutes(5))
        .await
        .expect("again");
    assert!(again.is_empty());
    assert_eq!(live::live_now(&t).await.expect("live").len(), 1);
    assert!(live::find(&t, "s1").await.expect("find").is_some());
    record(&t, HOST, &h, &[], t0 + time::Duration::minutes(10))
        .await
        .expect("gone");
    assert!(live::live_now(&t).await.expect("live").is_empty());
}

#[tokio::test]
async fn a_disconnect_is_recorded_with_who_and_why_and_announced_once() {
    let t = InMemoryTables::new();
    let arm = Canned {
        disconnect: Some(Ok(serde_json::from_value(json!([
            {"sessionId": "s1", "message": "session s1 invalidated!", "state": "Disconnected"}
        ]))
        .expect("answer"))),
        ..Canned::default()
    };
    let req = disconnect::Request {
        host: HOST,
        session_id: "s1",
        reason: "  suspicious  ",
        who: "alice@contoso",
    };
    let now = datetime!(2026-11-25 12:00 UTC);
    let done = disconnect::disconnect(&t, &Outbox::off(), &arm, &req, now)
        .await
        .expect("done");
    assert_eq!(done["state"], "Disconnected");
    assert_eq!(done["decidedBy"], "alice@contoso");
    assert_eq!(done["reason"], "suspicious");
    assert_eq!(*arm.asked.lock().expect("asked"), vec!["s1".to_owned()]);
    let n = disconnect::announce(&t, &Outbox::off(), now)
        .await
        .expect("announce");
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].evidence["state"], "Disconnected");
    assert!(
        disconnect::announce(&t, &Outbox::off(), now)
            .await
            .expect("again")
            .is_empty()
    );
}

#[tokio::test]
async fn a_refused_disconnect_is_recorded_as_failed_naming_the_role() {
    let t = InMemoryTables::new();
    let arm = Canned {
        disconnect: Some(Err(AzureError::Forbidden {
            role: "disconnectactivesessions/action".into(),
        })),
        ..Canned::default()
    };
    let req = disconnect::Request {
        host: HOST,
        session_id: "s1",
        reason: "why",
        who: "bob",
    };
    let done = disconnect::disconnect(
        &t,
        &Outbox::off(),
        &arm,
        &req,
        datetime!(2026-11-25 12:00 UTC),
    )
    .await
    .expect("done");
    assert_eq!(done["state"], "Failed");
    assert!(
        done["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing role"))
    );
}

/// A diagnostic setting that sends BastionAuditLogs only to a workspace is read by this app when
/// the workspace's customer id is one of `AUDITLOGS_WORKSPACES`, looked up through Resource Manager.
#[tokio::test]
async fn audit_logs_sent_only_to_a_workspace_read_here_are_flowing() {
    const WS: &str =
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/law";
    const CUSTOMER: &str = "0b9c2f1e-3a4d-4e5f-8a6b-7c8d9e0f1a2b";
    let arm = Canned {
        diagnostics: vec![
            serde_json::from_value(json!({"name": "to-law", "properties": {"workspaceId": WS,
                "logAnalyticsDestinationType": "Dedicated",
                "logs": [{"categoryGroup": "audit", "enabled": true}]}}))
            .expect("setting"),
            // The list API writes `""` for "no workspace": nothing to look up.
            serde_json::from_value(json!({"name": "to-hub", "properties": {"workspaceId": "",
                "storageAccountId": "", "logs": [{"categoryGroup": "allLogs", "enabled": true}]}}))
            .expect("setting"),
        ],
        workspaces: vec![(WS.to_owned(), CUSTOMER.to_uppercase())],
        ..Canned::default()
    };
    let not_sent = |customer: &'static str| {
        let arm = &arm;
        async move {
            let ports = crate::testkit::fakes().state.ports;
            let sinks = super::check::sinks(&ports, &[customer.to_owned()], None);
            let now = datetime!(2025-03-14 10:00 UTC);
            let settings = crate::estate::settings::EstateSettings::of_hosts(vec![HOST.to_owned()]);
            crate::testkit::estate::run(
                &ports,
                arm,
                &settings,
                &sinks,
                super::trail::Window {
                    silence: time::Duration::hours(24),
                    wait: time::Duration::minutes(120),
                },
                now,
            )
            .await;
            super::store::list(ports.tables.as_ref())
                .await
                .expect("estate")
                .rows
                .iter()
                .any(|r| r.finding == "audit-logs-not-sent" && r.status == "open")
        }
    };
    assert!(!not_sent(CUSTOMER).await, "the workspace is read here");
    assert_eq!(
        *arm.looked_up.lock().expect("looked up"),
        [WS.to_ascii_lowercase()],
        "an empty workspaceId is no workspace"
    );
    assert!(
        not_sent("99999999-0000-0000-0000-000000000000").await,
        "another workspace is not"
    );
}
