//! The Azure RBAC permission every operation this app (or the host, for its queue bindings)
//! performs needs under managed identity ([`Operation::spec`]); the permission drift test holds the
//! operations the functions perform against the roles `infra/` assigns. Sources: Microsoft Learn's
//! built-in roles for Storage and role-assignment conditions; of two actions, the first is narrower.

pub mod arm;
pub mod graph;
mod service;

pub use self::arm::ArmOperation;
pub use self::service::Service;

/// A storage REST operation this app performs (itself, or through the host for its bindings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Get Blob Properties.
    GetBlobProperties,
    /// Get Blob (a range).
    GetBlob,
    /// List Blobs.
    ListBlobs,
    /// Find Blobs by Tags (scoped to one container).
    FindBlobsByTags,
    /// Get Blob Tags.
    GetBlobTags,
    /// Set Blob Tags.
    SetBlobTags,
    /// Delete Blob.
    DeleteBlob,
    /// Put Blob (block blob, or an empty append blob).
    PutBlob,
    /// Append Block.
    AppendBlock,
    /// Create Container (the port creates a missing container before a first write).
    CreateContainer,
    /// Get User Delegation Key (account-wide; signs download links).
    GetUserDelegationKey,
    /// Create Table.
    CreateTable,
    /// Query Tables (the names of tables, by prefix).
    QueryTables,
    /// Delete Table (the table and every entity in it).
    DeleteTable,
    /// Query Entities (one entity by key, or a filtered page).
    QueryEntities,
    /// Insert Entity.
    InsertEntity,
    /// Insert Or Replace Entity.
    InsertOrReplaceEntity,
    /// Update Entity (replace, `If-Match`).
    UpdateEntity,
    /// Delete Entity.
    DeleteEntity,
    /// Get Queue Metadata (approximate message count).
    GetQueueMetadata,
    /// Put Message (the host, for queue output bindings and poison messages).
    PutMessage,
    /// Get Messages (the host, for queue triggers).
    GetMessages,
    /// A Logs Query API query of the Bastion audit table (`AuditLogQuery`, the backfill).
    QueryWorkspace,
    /// Delete Message (the host, after a queue-triggered invocation succeeded).
    DeleteMessage,
    /// A Logs Ingestion API upload to a data collection rule's stream (`SentinelExport`).
    UploadLogs,
    /// A Resource Manager call ([`arm`]).
    Arm(ArmOperation),
}

macro_rules! blobs {
    ($a:literal) => {
        concat!(
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/",
            $a
        )
    };
}
macro_rules! entities {
    ($a:literal) => {
        concat!(
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/",
            $a
        )
    };
}
macro_rules! messages {
    ($a:literal) => {
        concat!(
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/",
            $a
        )
    };
}

impl Operation {
    /// Every operation but [`Operation::Arm`], for exhaustive checks.
    #[cfg(test)]
    pub const ALL: [Self; 25] = [
        Self::GetBlobProperties,
        Self::GetBlob,
        Self::ListBlobs,
        Self::FindBlobsByTags,
        Self::GetBlobTags,
        Self::SetBlobTags,
        Self::DeleteBlob,
        Self::PutBlob,
        Self::AppendBlock,
        Self::CreateContainer,
        Self::GetUserDelegationKey,
        Self::CreateTable,
        Self::QueryTables,
        Self::DeleteTable,
        Self::QueryEntities,
        Self::InsertEntity,
        Self::InsertOrReplaceEntity,
        Self::UpdateEntity,
        Self::DeleteEntity,
        Self::GetQueueMetadata,
        Self::PutMessage,
        Self::GetMessages,
        Self::DeleteMessage,
        Self::QueryWorkspace,
        Self::UploadLogs,
    ];

    /// The REST operation name, the service, and the permissions of which any one authorizes it.
    pub fn spec(self) -> (&'static str, Service, &'static [&'static str]) {
        use Service::{Blob, LogAnalytics, Queue, Table};
        match self {
            Self::GetBlobProperties => ("Get Blob Properties", Blob, &[blobs!("read")]),
            Self::GetBlob => ("Get Blob", Blob, &[blobs!("read")]),
            Self::ListBlobs => ("List Blobs", Blob, &[blobs!("read")]),
            Self::FindBlobsByTags => ("Find Blobs by Tags", Blob, &[blobs!("filter/action")]),
            Self::GetBlobTags => ("Get Blob Tags", Blob, &[blobs!("tags/read")]),
            Self::SetBlobTags => ("Set Blob Tags", Blob, &[blobs!("tags/write")]),
            Self::DeleteBlob => ("Delete Blob", Blob, &[blobs!("delete")]),
            Self::PutBlob => ("Put Blob", Blob, &[blobs!("write"), blobs!("add/action")]),
            Self::AppendBlock => (
                "Append Block",
                Blob,
                &[blobs!("add/action"), blobs!("write")],
            ),
            Self::CreateContainer => (
                "Create Container",
                Blob,
                &["Microsoft.Storage/storageAccounts/blobServices/containers/write"],
            ),
            Self::GetUserDelegationKey => (
                "Get User Delegation Key",
                Blob,
                &[
                    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
                ],
            ),
            Self::CreateTable => (
                "Create Table",
                Table,
                &["Microsoft.Storage/storageAccounts/tableServices/tables/write"],
            ),
            Self::QueryTables => (
                "Query Tables",
                Table,
                &["Microsoft.Storage/storageAccounts/tableServices/tables/read"],
            ),
            Self::DeleteTable => (
                "Delete Table",
                Table,
                &["Microsoft.Storage/storageAccounts/tableServices/tables/delete"],
            ),
            Self::QueryEntities => ("Query Entities", Table, &[entities!("read")]),
            Self::InsertEntity => (
                "Insert Entity",
                Table,
                &[entities!("add/action"), entities!("write")],
            ),
            Self::InsertOrReplaceEntity => {
                ("Insert Or Replace Entity", Table, &[entities!("write")])
            }
            Self::UpdateEntity => (
                "Update Entity",
                Table,
                &[entities!("update/action"), entities!("write")],
            ),
            Self::DeleteEntity => ("Delete Entity", Table, &[entities!("delete")]),
            // No queue-metadata action exists; every queue data role carries `queues/read`.
            Self::GetQueueMetadata => (
                "Get Queue Metadata",
                Queue,
                &["Microsoft.Storage/storageAccounts/queueServices/queues/read"],
            ),
            Self::PutMessage => (
                "Put Message",
                Queue,
                &[messages!("add/action"), messages!("write")],
            ),
            // The query action, and the rows of the tables it reads: the data action (granular
            // RBAC, conditioned on the table names; tests/e2e/permissions holds each query's tables
            // to the condition), or Log Analytics Reader's `*/read` on the whole workspace.
            Self::QueryWorkspace => (
                "Query (Logs Query API)",
                LogAnalytics,
                &[
                    "Microsoft.OperationalInsights/workspaces/query/read",
                    "Microsoft.OperationalInsights/workspaces/tables/data/read",
                ],
            ),
            Self::GetMessages => (
                "Get Messages",
                Queue,
                &[messages!("process/action"), messages!("read")],
            ),
            Self::DeleteMessage => (
                "Delete Message",
                Queue,
                &[messages!("process/action"), messages!("delete")],
            ),
            // Monitoring Metrics Publisher's, checked on the data collection rule.
            Self::UploadLogs => (
                "Upload (Logs Ingestion API)",
                Service::LogsIngestion,
                &["Microsoft.Insights/Telemetry/Write"],
            ),
            Self::Arm(a) => a.spec(),
        }
    }

    /// The REST operation name.
    pub fn name(self) -> &'static str {
        self.spec().0
    }

    /// The service it addresses.
    #[cfg(test)]
    pub fn service(self) -> Service {
        self.spec().1
    }

    /// The permissions of which any one authorizes the operation (the narrowest first).
    pub fn permissions(self) -> &'static [&'static str] {
        self.spec().2
    }

    /// What a 403 on a call of this operation at `scope` tells the operator to grant.
    pub fn missing(self, scope: &str) -> String {
        match self {
            Self::Arm(a) => a.missing(scope),
            _ => format!("{} on {scope}", self.permissions()[0]),
        }
    }

    /// True when a role action or data action `pattern` (`*` wildcards allowed) authorizes it.
    pub fn allowed_by(self, pattern: &str) -> bool {
        self.permissions().iter().any(|p| matches(pattern, p))
    }
}

impl From<ArmOperation> for Operation {
    fn from(a: ArmOperation) -> Self {
        Self::Arm(a)
    }
}

/// Azure's matching of a role's action pattern: case-insensitive, `*` for any run of characters.
pub fn matches(pattern: &str, permission: &str) -> bool {
    let (p, s) = (
        pattern.to_ascii_lowercase(),
        permission.to_ascii_lowercase(),
    );
    let mut parts = p.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = s.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests;
