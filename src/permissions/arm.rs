//! The Resource Manager calls of the estate checks, the live-session watch and disconnect
//! ([`crate::arm::ResourceManager`], one operation per method), and the RBAC action each needs:
//! `infra/modules/bastion-access.bicep` grants the host's, `recordings-settings-access.bicep` the
//! recording accounts', `workspace-access.bicep` (Log Analytics Reader) the workspace's.
//!
//! Sources (Microsoft Learn, "Azure permissions for Networking / Monitor / Storage"): each action as
//! the resource provider's operation list names it.

use super::{Operation, Service};

/// One Resource Manager operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArmOperation {
    /// `GET` a Bastion host.
    ReadBastionHost,
    /// `POST …/getActiveSessions` (and its polls and pages).
    GetActiveSessions,
    /// `POST …/disconnectActiveSessions`.
    DisconnectActiveSessions,
    /// `GET {resource}/providers/Microsoft.Insights/diagnosticSettings`.
    ListDiagnosticSettings,
    /// `GET {account}/blobServices/default`.
    ReadBlobService,
    /// `GET {account}/blobServices/default/containers/{name}`.
    ReadContainer,
    /// `GET` a Log Analytics workspace (its customer id).
    ReadWorkspace,
}

impl ArmOperation {
    /// Every one, for exhaustive checks.
    pub const ALL: [Self; 7] = [
        Self::ReadBastionHost,
        Self::GetActiveSessions,
        Self::DisconnectActiveSessions,
        Self::ListDiagnosticSettings,
        Self::ReadBlobService,
        Self::ReadContainer,
        Self::ReadWorkspace,
    ];

    /// The operation's name, and the actions of which any one authorizes it.
    pub fn spec(self) -> (&'static str, Service, &'static [&'static str]) {
        let rm = Service::ResourceManager;
        match self {
            Self::ReadBastionHost => (
                "Get Bastion host",
                rm,
                &["Microsoft.Network/bastionHosts/read"],
            ),
            Self::GetActiveSessions => (
                "Get active sessions",
                rm,
                &["Microsoft.Network/bastionHosts/getactivesessions/action"],
            ),
            Self::DisconnectActiveSessions => (
                "Disconnect active sessions",
                rm,
                &["Microsoft.Network/bastionHosts/disconnectactivesessions/action"],
            ),
            Self::ListDiagnosticSettings => (
                "List diagnostic settings",
                rm,
                &["Microsoft.Insights/diagnosticSettings/read"],
            ),
            Self::ReadBlobService => (
                "Get blob service properties",
                rm,
                &["Microsoft.Storage/storageAccounts/blobServices/read"],
            ),
            Self::ReadContainer => (
                "Get container properties",
                rm,
                &["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
            ),
            Self::ReadWorkspace => (
                "Get workspace",
                rm,
                &["Microsoft.OperationalInsights/workspaces/read"],
            ),
        }
    }
}

impl From<ArmOperation> for Operation {
    fn from(a: ArmOperation) -> Self {
        Self::Arm(a)
    }
}
