//! A canned Resource Manager for the exercise that records each call as its operation
//! (`permissions::ArmOperation`, one per method of the trait, so a new call cannot go unrecorded):
//! one Bastion host with recording off, a diagnostic setting sending to a workspace, the recording
//! account (its id configured), and one live session, so `EstateCheck`, `LiveSessions` and a disconnect make every
//! call (their tables are then held against the app account's roles like every other table call).

use async_trait::async_trait;
use bastion_recordings::arm::{
    ActiveSession, ArmError, BastionHost, BlobService, Container, DiagnosticSetting,
    DisconnectResult, ResourceManager,
};
use bastion_recordings::permissions::ArmOperation as A;
use serde_json::json;

use super::record::{BASTION, Ledger, RECORDINGS, Resource, WORKSPACES};

pub(super) const HOST: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub-weu/providers/Microsoft.Network/bastionHosts/bas-hub-weu";
pub(super) const ACCOUNT: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-rec/providers/Microsoft.Storage/storageAccounts/strec";
const WORKSPACE: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-law/providers/Microsoft.OperationalInsights/workspaces/law";

pub(super) struct Canned(pub(super) Ledger);

impl Canned {
    fn on_host(&self, op: A) {
        self.0.record(BASTION, Resource::BastionHost, op.into());
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ArmError> {
    serde_json::from_value(v).map_err(|e| ArmError::Transient(e.to_string()))
}

#[async_trait]
impl ResourceManager for Canned {
    async fn bastion_host(&self, id: &str) -> Result<BastionHost, ArmError> {
        self.on_host(A::ReadBastionHost);
        parse(
            json!({"id": id, "name": "bas-hub-weu", "sku": {"name": "Premium"},
            "properties": {"provisioningState": "Succeeded", "enableSessionRecording": false}}),
        )
    }
    async fn diagnostic_settings(&self, _: &str) -> Result<Vec<DiagnosticSetting>, ArmError> {
        self.on_host(A::ListDiagnosticSettings);
        parse(
            json!([{"name": "to-law", "properties": {"workspaceId": WORKSPACE,
            "logs": [{"categoryGroup": "audit", "enabled": true}]}}]),
        )
    }
    async fn workspace_customer_id(&self, _: &str) -> Result<Option<String>, ArmError> {
        let op = A::ReadWorkspace.into();
        self.0.record(WORKSPACES, Resource::Workspace, op);
        Ok(Some(super::exercise::WORKSPACE.to_owned()))
    }
    async fn blob_service(&self, _: &str) -> Result<BlobService, ArmError> {
        let op = A::ReadBlobService.into();
        self.0.record(RECORDINGS, Resource::Account, op);
        Ok(BlobService::default())
    }
    async fn container(&self, _: &str, _: &str) -> Result<Container, ArmError> {
        let op = A::ReadContainer.into();
        self.0.record(RECORDINGS, Resource::Account, op);
        Ok(Container::default())
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<ActiveSession>, ArmError> {
        self.on_host(A::GetActiveSessions);
        let page: serde_json::Value = crate::harness::fixture("bastion-api/active-sessions.json");
        parse(page["value"].clone())
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<Vec<DisconnectResult>, ArmError> {
        self.on_host(A::DisconnectActiveSessions);
        let answer: Vec<_> = ids
            .iter()
            .map(|id| json!({"sessionId": id, "message": "invalidated", "state": "Disconnected"}))
            .collect();
        parse(json!(answer))
    }
}
