//! A canned Resource Manager for the exercise: one Bastion host with recording off and one live
//! session, so `EstateCheck` and `LiveSessions` write their tables (whose operations are then held
//! against the app account's roles like every other table call).

use async_trait::async_trait;
use bastion_recordings::arm::{
    ActiveSession, ArmError, BastionHost, BlobService, Container, DiagnosticSetting,
    DisconnectResult, ResourceManager,
};
use serde_json::json;

pub(super) const HOST: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub-weu/providers/Microsoft.Network/bastionHosts/bas-hub-weu";

pub(super) struct Canned;

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ArmError> {
    serde_json::from_value(v).map_err(|e| ArmError::Transient(e.to_string()))
}

#[async_trait]
impl ResourceManager for Canned {
    async fn bastion_host(&self, id: &str) -> Result<BastionHost, ArmError> {
        parse(
            json!({"id": id, "name": "bas-hub-weu", "sku": {"name": "Premium"},
            "properties": {"provisioningState": "Succeeded", "enableSessionRecording": false}}),
        )
    }
    async fn diagnostic_settings(&self, _: &str) -> Result<Vec<DiagnosticSetting>, ArmError> {
        Ok(Vec::new())
    }
    async fn workspace_customer_id(&self, _: &str) -> Result<Option<String>, ArmError> {
        Ok(None)
    }
    async fn storage_account_id(&self, _: &str, _: &str) -> Result<Option<String>, ArmError> {
        Ok(None)
    }
    async fn blob_service(&self, _: &str) -> Result<BlobService, ArmError> {
        Ok(BlobService::default())
    }
    async fn container(&self, _: &str, _: &str) -> Result<Container, ArmError> {
        Ok(Container::default())
    }
    async fn active_sessions(&self, _: &str) -> Result<Vec<ActiveSession>, ArmError> {
        let page: serde_json::Value = crate::harness::fixture("bastion-api/active-sessions.json");
        parse(page["value"].clone())
    }
    async fn disconnect_sessions(
        &self,
        _: &str,
        _: &[String],
    ) -> Result<Vec<DisconnectResult>, ArmError> {
        Ok(Vec::new())
    }
}
