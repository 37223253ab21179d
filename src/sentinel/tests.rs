//! Where the rows are recorded, over the in-memory tables: a review, a notification passing
//! `NotifyWebhook`, an estate episode opening and clearing, a disconnect asked and answered; each
//! once however often the same change is recorded, and nothing at all with the export off.

use std::sync::Arc;

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::arm::{DisconnectResult, ResourceManager};
use crate::azure::AzureError;
use crate::estate::disconnect;
use crate::estate::findings::{Evaluation, Finding, Level};
use crate::estate::store;
use crate::export::outbox::{self, OUTBOX_TABLE, Unsent};
use crate::export::{Outbox, Table};
use crate::notify::handler::{Dispatch, deliver_message};
use crate::notify::{Notification, Notifier, Severity};
use crate::ports::Ports;
use crate::reviews::record::{ReviewRequest, record};
use crate::tables::TableStore;
use crate::testkit::clock::FixedClock;
use crate::testkit::storage::memory::InMemoryBlobStore;
use crate::testkit::tables::memory::InMemoryTables;

const T: OffsetDateTime = datetime!(2025-03-14 10:00 UTC);

fn ports(on: bool) -> (Ports, Arc<InMemoryTables>) {
    let tables = Arc::new(InMemoryTables::new());
    let mut p = crate::testkit::ports(
        Arc::new(InMemoryBlobStore::new("acct")),
        tables.clone(),
        Arc::new(FixedClock::new(T)),
    );
    if on {
        p.outbox = Outbox::on(tables.clone(), p.clock.clone());
    }
    (p, tables)
}

async fn waiting(t: &dyn TableStore, table: Table) -> Vec<(String, Value)> {
    outbox::recorded(t, table)
        .await
        .expect("read")
        .into_iter()
        .map(|p: Unsent| (p.id, serde_json::from_str(&p.record).expect("json")))
        .collect()
}

#[tokio::test]
async fn a_review_is_recorded_once_with_its_subject() {
    for on in [true, false] {
        let (p, t) = ports(on);
        crate::testkit::upsert(
            t.as_ref(),
            crate::catalogue::RECORDINGS_TABLE,
            json!({"PartitionKey": "2025-03-14", "RowKey": "cmVj", "RecordingId": "2025-03-14~cmVj",
                "BastionHost": "bas-hub-weu", "TargetVm": "vm-app-01", "UserName": "azureuser",
                "BlobCreated": "2025-03-14T09:00:00Z", "Status": "catalogued"}),
        )
        .await;
        let body = json!({"recording": "2025-03-14~cmVj", "verdict": "incident", "comment": "copied keys"});
        let req = ReviewRequest::parse(body.to_string().as_bytes(), Some("k-1")).expect("request");
        let first = record(&p, &req, "auditor@contoso.com")
            .await
            .expect("recorded");
        let again = record(&p, &req, "auditor@contoso.com")
            .await
            .expect("retry");
        assert!(!again.created);
        if !on {
            assert!(
                t.list_tables(OUTBOX_TABLE)
                    .await
                    .expect("tables")
                    .is_empty(),
                "export off: no outbox row"
            );
            continue;
        }
        let rows = waiting(t.as_ref(), Table::Reviews).await;
        assert_eq!(rows.len(), 1, "the retry is the same row");
        let (id, r) = &rows[0];
        assert_eq!(id, &first.review.id);
        assert_eq!(r["ReviewId"], json!(first.review.id));
        assert_eq!(
            (&r["Verdict"], &r["Reviewer"], &r["BastionHost"]),
            (
                &json!("incident"),
                &json!("auditor@contoso.com"),
                &json!("bas-hub-weu")
            )
        );
        assert_eq!(r["TimeGenerated"], "2025-03-14T10:00:00.000Z");
    }
}

#[tokio::test]
async fn every_notification_is_recorded_before_delivery_even_without_a_destination() {
    for on in [true, false] {
        let (p, t) = ports(on);
        let n = Notification::new(
            "review.overdue",
            "tunnel-1",
            "2025-03-14T09:30:00Z".into(),
            Severity::Warning,
            "Review overdue".into(),
            json!({"tunnelId": "tunnel-1", "bastionHost": "bas-hub-weu", "userName": "azureuser", "targetVm": "vm-1"}),
        );
        let body = json!({"Data": {"message": serde_json::to_string(&n).expect("json")},
            "Metadata": {"DequeueCount": "1"}});
        let inv = crate::testkit::invocation("NotifyWebhook", "inv-1", &body);
        let notifier = Arc::new(Notifier::new(crate::notify::config::NotifyConfig::default()));
        let quarantine = crate::invocation::Quarantine::new(
            Arc::new(InMemoryBlobStore::new("acct")),
            "quarantine",
        );
        let deps = Dispatch {
            notifier,
            ports: p.clone(),
            quarantine,
        };
        for _ in 0..2 {
            let out = deliver_message(&deps, &inv).await.expect("ends");
            assert!(out.skipped, "no destination: {out:?}");
        }
        if !on {
            assert!(
                t.list_tables(OUTBOX_TABLE)
                    .await
                    .expect("tables")
                    .is_empty()
            );
            continue;
        }
        let rows = waiting(t.as_ref(), Table::Detections).await;
        assert_eq!(rows.len(), 1, "a redelivered message is the same row");
        assert_eq!(rows[0].0, n.notification_id);
        assert_eq!(rows[0].1["DetectionType"], "review.overdue");
        assert_eq!(rows[0].1["SessionId"], "tunnel-1");
    }
}

const HOST: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";

fn finding(code: &str) -> Evaluation {
    let mut ev = Evaluation::default();
    ev.assessed.insert(code.to_owned());
    ev.findings.push(Finding {
        code: code.to_owned(),
        level: Level::High,
        evidence: "enableSessionRecording is false".into(),
    });
    ev
}

#[tokio::test]
async fn an_estate_episode_is_recorded_when_it_opens_and_when_it_clears() {
    let (p, t) = ports(true);
    let tables = t.as_ref();
    store::apply_host(tables, HOST, &finding("recording-off"), None, T)
        .await
        .expect("open");
    assert_eq!(
        store::record_changes(tables, &p.outbox)
            .await
            .expect("rows"),
        1
    );
    // Later checks that still see it record nothing new.
    store::apply_host(
        tables,
        HOST,
        &finding("recording-off"),
        None,
        T + Duration::minutes(15),
    )
    .await
    .expect("seen");
    assert_eq!(
        store::record_changes(tables, &p.outbox)
            .await
            .expect("rows"),
        0
    );
    let mut cleared = Evaluation::default();
    cleared.assessed.insert("recording-off".into());
    store::apply_host(tables, HOST, &cleared, None, T + Duration::minutes(30))
        .await
        .expect("clear");
    assert_eq!(
        store::record_changes(tables, &p.outbox)
            .await
            .expect("rows"),
        1
    );
    let rows = waiting(tables, Table::Findings).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, rows[1].0, "one episode, one id");
    assert_eq!(
        (&rows[0].1["Status"], &rows[1].1["Status"]),
        (&json!("open"), &json!("resolved"))
    );
    assert_eq!(rows[1].1["TimeGenerated"], "2025-03-14T10:30:00.000Z");
    assert_eq!(rows[1].1["BastionHost"], "b1");
    // Off: the episodes are not read, nothing is written.
    let (off, t2) = ports(false);
    store::apply_host(t2.as_ref(), HOST, &finding("native-client-on"), None, T)
        .await
        .expect("open");
    assert_eq!(
        store::record_changes(t2.as_ref(), &off.outbox)
            .await
            .expect("off"),
        0
    );
    assert!(
        t2.list_tables(OUTBOX_TABLE)
            .await
            .expect("tables")
            .is_empty()
    );
}

/// A Resource Manager that disconnects every session asked for.
struct Disconnects;

#[async_trait::async_trait]
impl ResourceManager for Disconnects {
    async fn bastion_host(&self, _: &str) -> Result<crate::arm::BastionHost, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn diagnostic_settings(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::DiagnosticSetting>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn blob_service(&self, _: &str) -> Result<crate::arm::BlobService, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn container(&self, _: &str, _: &str) -> Result<crate::arm::Container, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn workspace_customer_id(&self, _: &str) -> Result<Option<String>, AzureError> {
        Ok(None)
    }
    async fn role_assignments(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Vec<crate::arm::RoleAssignment>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn role_definition(
        &self,
        _: &str,
        _: &str,
    ) -> Result<crate::arm::RoleDefinition, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn network_interfaces(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::NetworkInterface>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn security_groups(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::NetworkSecurityGroup>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn virtual_networks(
        &self,
        _: &str,
    ) -> Result<Vec<crate::arm::VirtualNetwork>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn vm_network_interfaces(&self, _: &str) -> Result<Vec<String>, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn network_interface(&self, _: &str) -> Result<crate::arm::NetworkInterface, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn jit_policy(&self, _: &str) -> Result<crate::arm::JitPolicy, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn vm_extension(&self, _: &str, _: &str) -> Result<bool, AzureError> {
        Err(AzureError::Transient("not used".into()))
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<crate::arm::ActiveSession>, AzureError> {
        Ok(Vec::new())
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError> {
        Ok(ids
            .iter()
            .map(|i| {
                serde_json::from_value(
                    json!({"sessionId": i, "message": "done", "state": "Disconnected"}),
                )
                .expect("result")
            })
            .collect())
    }
}

#[tokio::test]
async fn a_disconnect_is_recorded_when_asked_and_when_answered() {
    let (p, t) = ports(true);
    let tables = t.as_ref();
    let req = disconnect::Request {
        host: HOST,
        session_id: "s-1",
        reason: "copying data out",
        who: "responder@contoso.com",
    };
    disconnect::disconnect(tables, &p.outbox, &Disconnects, &req, T)
        .await
        .expect("disconnected");
    let asked = waiting(tables, Table::Disconnects).await;
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].1["State"], "Requested");
    for _ in 0..2 {
        disconnect::announce(tables, &p.outbox, T + Duration::minutes(5))
            .await
            .expect("announced");
    }
    let rows = waiting(tables, Table::Disconnects).await;
    assert_eq!(rows.len(), 2, "asked and answered, the answer once");
    assert_eq!(rows[0].0, rows[1].0);
    assert_eq!(rows[1].1["State"], "Disconnected");
    assert!(rows[1].1["TimeGenerated"].as_str() > rows[0].1["TimeGenerated"].as_str());
    assert_eq!(rows[1].1["DecidedBy"], "responder@contoso.com");
}
