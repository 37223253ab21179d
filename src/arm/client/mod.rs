//! The Resource Manager calls over the one HTTP client, bounded by their run. The Bastion calls
//! fall back once to [`BASTION_API_FALLBACK`] where a cloud refuses [`BASTION_API`], and keep it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use super::model::{
    ActiveSession, BastionHost, BlobService, Container, DiagnosticSetting, DisconnectResult,
    JitPolicy, ListedVm, NetworkInterface, NetworkSecurityGroup, RoleAssignment, RoleDefinition,
    ScheduleInstance, ScheduleRequest, VirtualMachine, VirtualNetwork,
};
use super::port::ResourceManager;
use crate::azure::http::lro::{Driver, POLL_DEFAULT};
use crate::azure::http::{Client, body_json};
use crate::azure::{AzureError, found};
use crate::permissions::ArmOperation;

/// `api-version` of `Microsoft.Network/bastionHosts`: the one with the recording target.
pub const BASTION_API: &str = "2026-01-01";
/// The version used where Resource Manager does not know [`BASTION_API`].
pub const BASTION_API_FALLBACK: &str = "2024-05-01";
/// `api-version` of the `Microsoft.Network` lists (NICs, NSGs, virtual networks).
pub const NETWORK_API: &str = "2024-05-01";
/// `api-version` of `Microsoft.Insights/diagnosticSettings`.
pub const DIAGNOSTICS_API: &str = "2021-05-01-preview";
/// `api-version` of PIM's `roleAssignmentScheduleInstances` and `roleAssignmentScheduleRequests`.
pub const SCHEDULES_API: &str = "2020-10-01";
/// `api-version` of `Microsoft.Storage` (accounts, blob services, containers).
pub const STORAGE_API: &str = "2023-05-01";

/// `api-version` of `Microsoft.OperationalInsights/workspaces`.
const WORKSPACE_API: &str = "2023-09-01";
/// `api-version` of `Microsoft.Authorization` role assignments and definitions.
const AUTHORIZATION_API: &str = "2022-04-01";
/// `api-version` of `Microsoft.Compute/virtualMachines` (and their extensions).
const COMPUTE_API: &str = "2024-07-01";
/// `api-version` of `Microsoft.Security/locations/jitNetworkAccessPolicies`.
const SECURITY_API: &str = "2020-01-01";
/// The Bastion versions, newest first.
const BASTION_APIS: [&str; 2] = [BASTION_API, BASTION_API_FALLBACK];

/// Resource Manager over the REST client.
#[derive(Clone)]
pub struct ArmClient {
    driver: Driver,
    /// Index into [`BASTION_APIS`] of the version in use (shared by the clones).
    bastion_api: Arc<AtomicUsize>,
}

/// The part of a workspace resource the estate check reads.
#[derive(serde::Deserialize)]
struct Workspace {
    #[serde(default)]
    properties: WorkspaceProperties,
}

/// `properties.customerId`: the workspace id queries name.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WorkspaceProperties {
    customer_id: Option<String>,
}

impl ArmClient {
    /// A client for `endpoint` (already checked by the settings).
    ///
    /// # Errors
    /// When `endpoint` is not a URL.
    pub fn new(http: Client, endpoint: &str) -> Result<Self, url::ParseError> {
        Ok(Self {
            driver: Driver {
                http,
                base: Url::parse(endpoint)?,
                until: None,
                poll_default: POLL_DEFAULT,
                poll_role: |path| {
                    ArmOperation::of_request("GET", path).map(|(op, scope)| op.missing(&scope))
                },
            },
            bastion_api: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// A client of a loopback fake at `url`: no authentication, the control plane's retries,
    /// `per_try` a try and 30 s a call.
    #[cfg(test)]
    pub(crate) fn loopback(url: &str, per_try: std::time::Duration) -> Self {
        let timeouts = crate::azure::Timeouts {
            per_try,
            total: std::time::Duration::from_secs(30),
        };
        let endpoint = Url::parse(url).expect("a loopback URL");
        let auth = crate::azure::http::Auth::None;
        let policy = crate::azure::Policy::CONTROL;
        let http = Client::new("arm", Some(&endpoint), auth, timeouts, policy);
        Self::new(http.expect("http client"), url).expect("client")
    }

    /// `{endpoint}{path}?api-version={api}` (plus `extra` query pairs).
    fn url(&self, path: &str, api: &str, extra: &[(&str, &str)]) -> Result<Url, AzureError> {
        let mut url = self
            .driver
            .base
            .join(path)
            .map_err(|_| AzureError::Transient("not a resource path".into()))?;
        url.query_pairs_mut()
            .append_pair("api-version", api)
            .extend_pairs(extra);
        Ok(url)
    }

    async fn get<T: DeserializeOwned>(&self, url: Url, role: &str) -> Result<T, AzureError> {
        let res = self.driver.send(Method::GET, url, None, role).await?;
        body_json(res).await
    }

    /// A Bastion call at the version in use, falling back once when it is refused as unknown.
    async fn bastion(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        role: &str,
    ) -> Result<reqwest::Response, AzureError> {
        loop {
            let at = self
                .bastion_api
                .load(Ordering::Relaxed)
                .min(BASTION_APIS.len() - 1);
            let url = self.url(path, BASTION_APIS[at], &[])?;
            match self.driver.send(method.clone(), url, body, role).await {
                Err(AzureError::Rejected {
                    status: 400, code, ..
                }) if at + 1 < BASTION_APIS.len() && version_refused(&code) => {
                    tracing::warn!(
                        refused = BASTION_APIS[at],
                        using = BASTION_APIS[at + 1],
                        "Resource Manager refused the Bastion api-version; using the older one"
                    );
                    let _ = self.bastion_api.compare_exchange(
                        at,
                        at + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                other => return other,
            }
        }
    }
}

impl ArmClient {
    /// Every page of the list `{scope}/providers/{provider}/{kind}` at `api`; a 403 names the
    /// action's role (inside "Reader (…)" when `reader`), or Reader on `scope` for a path it does
    /// not know.
    async fn list<T: DeserializeOwned>(
        &self,
        scope: &str,
        (provider, api, reader): Lists,
        kind: &str,
    ) -> Result<Vec<T>, AzureError> {
        let scope = scope.trim_end_matches('/');
        let path = format!("{scope}/providers/{provider}/{kind}");
        let role = match ArmOperation::of_request("GET", &path) {
            Some((op, at)) if reader => format!("Reader ({})", op.missing(&at)),
            Some((op, at)) => op.missing(&at),
            None => format!("Reader on {scope}"),
        };
        let url = self.url(&path, api, &[])?;
        let first = self.driver.send(Method::GET, url, None, &role).await?;
        let first = self.driver.complete(first, &role).await?;
        items(self.driver.pages(first, &role).await?)
    }

    /// `GET {vm}` (`None`: not there); a 403 names Reader and the action.
    async fn virtual_machine(&self, vm_id: &str) -> Result<Option<VirtualMachine>, AzureError> {
        let role = format!("Reader ({})", role(ArmOperation::ReadVirtualMachine, vm_id));
        let url = self.url(vm_id, COMPUTE_API, &[])?;
        found(self.get::<VirtualMachine>(url, &role).await)
    }
}

/// A provider's lists: its namespace, api-version, and whether a 403 names Reader around the action.
type Lists = (&'static str, &'static str, bool);
/// `Microsoft.Network` lists (a 403 names Reader and the action).
const NETWORK: Lists = ("Microsoft.Network", NETWORK_API, true);
/// The Compute list of a subscription's VMs (a 403 names Reader at the subscription, or the action).
const COMPUTE: Lists = ("Microsoft.Compute", COMPUTE_API, false);
/// PIM's lists (`Microsoft.Authorization`; a 403 names the action).
const SCHEDULES: Lists = ("Microsoft.Authorization", SCHEDULES_API, false);

/// The role definitions' list (`Microsoft.Authorization`; a 403 names the action).
const DEFINITIONS: Lists = ("Microsoft.Authorization", AUTHORIZATION_API, false);

/// The codes Resource Manager answers an api-version it does not know for a type with.
fn version_refused(code: &str) -> bool {
    [
        "InvalidApiVersionParameter",
        "NoRegisteredProviderFound",
        "InvalidResourceType",
    ]
    .iter()
    .any(|c| code.eq_ignore_ascii_case(c))
}

fn items<T: DeserializeOwned>(values: Vec<Value>) -> Result<Vec<T>, AzureError> {
    values
        .into_iter()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| AzureError::Transient(format!("unexpected item: {e}")))
        })
        .collect()
}

/// What a 403 on `op` at `scope` names.
fn role(op: ArmOperation, scope: &str) -> String {
    op.missing(scope.trim_end_matches('/'))
}

#[async_trait]
impl ResourceManager for ArmClient {
    fn until(&self, until: Instant) -> Option<Arc<dyn ResourceManager>> {
        let mut bounded = self.clone();
        bounded.driver.until = Some(until);
        Some(Arc::new(bounded))
    }

    async fn paused(&self, resource_id: &str) -> Option<std::time::Duration> {
        let scope = crate::azure::pace::scope_of(resource_id);
        self.driver.http.pacer()?.paused(&scope).await
    }

    async fn workspace_customer_id(
        &self,
        workspace_id: &str,
    ) -> Result<Option<String>, AzureError> {
        let role = format!(
            "Reader ({})",
            role(ArmOperation::ReadWorkspace, workspace_id)
        );
        let url = self.url(workspace_id, WORKSPACE_API, &[])?;
        let w = found(self.get::<Workspace>(url, &role).await)?;
        Ok(w.and_then(|w| w.properties.customer_id))
    }

    async fn bastion_host(&self, host_id: &str) -> Result<BastionHost, AzureError> {
        let role = format!("Reader ({})", role(ArmOperation::ReadBastionHost, host_id));
        let res = self.bastion(Method::GET, host_id, None, &role).await?;
        body_json(res).await
    }

    async fn diagnostic_settings(
        &self,
        resource_id: &str,
    ) -> Result<Vec<DiagnosticSetting>, AzureError> {
        let path = format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings",
            resource_id.trim_end_matches('/')
        );
        // A subscription's own settings (its Activity log) need their read at the subscription.
        let op = match ArmOperation::of_request("GET", &path) {
            Some((op @ ArmOperation::ListSubscriptionDiagnosticSettings, _)) => op,
            _ => ArmOperation::ListDiagnosticSettings,
        };
        let role = role(op, resource_id);
        // Not paged (`nextLinkName: null`); no setting is `200 {"value": []}`.
        let page: Value = self
            .get(self.url(&path, DIAGNOSTICS_API, &[])?, &role)
            .await?;
        match page.get("value") {
            Some(Value::Array(v)) => items(v.clone()),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => Err(AzureError::Transient(
                "unexpected diagnostic settings list".into(),
            )),
        }
    }

    async fn blob_service(&self, account_id: &str) -> Result<BlobService, AzureError> {
        let role = role(ArmOperation::ReadBlobService, account_id);
        let path = format!("{}/blobServices/default", account_id.trim_end_matches('/'));
        self.get(self.url(&path, STORAGE_API, &[])?, &role).await
    }

    async fn container(&self, account_id: &str, container: &str) -> Result<Container, AzureError> {
        let role = role(ArmOperation::ReadContainer, account_id);
        let path = format!(
            "{}/blobServices/default/containers/{container}",
            account_id.trim_end_matches('/')
        );
        self.get(self.url(&path, STORAGE_API, &[])?, &role).await
    }

    async fn role_assignments(
        &self,
        account_id: &str,
        container: &str,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, AzureError> {
        let role = role(ArmOperation::ListRoleAssignments, account_id);
        let path = format!(
            "{}/blobServices/default/containers/{container}/providers/Microsoft.Authorization/roleAssignments",
            account_id.trim_end_matches('/')
        );
        let filter = format!("principalId eq '{principal_id}'");
        let url = self.url(&path, AUTHORIZATION_API, &[("$filter", &filter)])?;
        let first = self.driver.send(Method::GET, url, None, &role).await?;
        let first = self.driver.complete(first, &role).await?;
        items(self.driver.pages(first, &role).await?)
    }

    async fn role_definition(
        &self,
        account_id: &str,
        definition_id: &str,
    ) -> Result<RoleDefinition, AzureError> {
        let role = role(ArmOperation::ReadRoleDefinition, account_id);
        let guid = definition_id
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let path = format!(
            "{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            account_id.trim_end_matches('/')
        );
        self.get(self.url(&path, AUTHORIZATION_API, &[])?, &role)
            .await
    }

    async fn vm_extension(&self, vm_id: &str, name: &str) -> Result<bool, AzureError> {
        let role = role(ArmOperation::ReadVmExtension, vm_id);
        let path = format!("{}/extensions/{name}", vm_id.trim_end_matches('/'));
        let url = self.url(&path, COMPUTE_API, &[])?;
        Ok(found(self.get::<Value>(url, &role).await)?.is_some())
    }

    async fn network_interfaces(&self, scope: &str) -> Result<Vec<NetworkInterface>, AzureError> {
        self.list(scope, NETWORK, "networkInterfaces").await
    }

    async fn security_groups(&self, scope: &str) -> Result<Vec<NetworkSecurityGroup>, AzureError> {
        self.list(scope, NETWORK, "networkSecurityGroups").await
    }

    async fn virtual_networks(&self, scope: &str) -> Result<Vec<VirtualNetwork>, AzureError> {
        self.list(scope, NETWORK, "virtualNetworks").await
    }

    async fn vm_network_interfaces(&self, vm_id: &str) -> Result<Vec<String>, AzureError> {
        let Some(vm) = self.virtual_machine(vm_id).await? else {
            return Ok(Vec::new());
        };
        let nics = vm.properties.network_profile.network_interfaces.into_iter();
        Ok(nics.map(|n| n.id).filter(|id| !id.is_empty()).collect())
    }

    async fn virtual_machine_id(&self, vm_id: &str) -> Result<Option<String>, AzureError> {
        let vm = self.virtual_machine(vm_id).await?;
        Ok(vm
            .and_then(|v| v.properties.vm_id)
            .filter(|id| !id.is_empty()))
    }

    async fn vm_tags(&self, vm_id: &str) -> Result<Option<BTreeMap<String, String>>, AzureError> {
        Ok(self.virtual_machine(vm_id).await?.map(|v| v.tags))
    }

    async fn network_interface(&self, nic_id: &str) -> Result<NetworkInterface, AzureError> {
        let role = format!(
            "Reader ({})",
            role(ArmOperation::ReadNetworkInterface, nic_id)
        );
        self.get(self.url(nic_id, NETWORK_API, &[])?, &role).await
    }

    async fn jit_policy(&self, policy_id: &str) -> Result<JitPolicy, AzureError> {
        let role = format!("Reader ({})", role(ArmOperation::ReadJitPolicy, policy_id));
        self.get(self.url(policy_id, SECURITY_API, &[])?, &role)
            .await
    }

    async fn virtual_machines(&self, subscription: &str) -> Result<Vec<ListedVm>, AzureError> {
        self.list(subscription, COMPUTE, "virtualMachines").await
    }

    async fn schedule_instances(
        &self,
        subscription: &str,
    ) -> Result<Vec<ScheduleInstance>, AzureError> {
        self.list(subscription, SCHEDULES, "roleAssignmentScheduleInstances")
            .await
    }

    async fn schedule_requests(
        &self,
        subscription: &str,
    ) -> Result<Vec<ScheduleRequest>, AzureError> {
        self.list(subscription, SCHEDULES, "roleAssignmentScheduleRequests")
            .await
    }

    async fn role_definitions(
        &self,
        subscription: &str,
    ) -> Result<Vec<RoleDefinition>, AzureError> {
        self.list(subscription, DEFINITIONS, "roleDefinitions")
            .await
    }

    async fn active_sessions(&self, host_id: &str) -> Result<Vec<ActiveSession>, AzureError> {
        let role = role(ArmOperation::GetActiveSessions, host_id);
        let path = format!("{}/getActiveSessions", host_id.trim_end_matches('/'));
        let res = self
            .bastion(Method::POST, &path, Some(&json!({})), &role)
            .await?;
        let first = self.driver.complete(res, &role).await?;
        items(self.driver.pages(first, &role).await?)
    }

    async fn disconnect_sessions(
        &self,
        host_id: &str,
        session_ids: &[String],
    ) -> Result<Vec<DisconnectResult>, AzureError> {
        let role = role(ArmOperation::DisconnectActiveSessions, host_id);
        let path = format!("{}/disconnectActiveSessions", host_id.trim_end_matches('/'));
        let body = json!({ "sessionIds": session_ids });
        let res = self
            .bastion(Method::POST, &path, Some(&body), &role)
            .await?;
        let first = self.driver.complete(res, &role).await?;
        items(self.driver.pages(first, &role).await?)
    }
}

#[cfg(test)]
mod tests;
