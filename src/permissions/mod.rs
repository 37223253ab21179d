//! The Azure RBAC permission every operation this app (or the host, for its queue bindings)
//! performs needs under managed identity ([`Operation::spec`]); the permission drift test holds the
//! operations the functions perform against the roles `infra/` assigns. Sources: Microsoft Learn's
//! built-in roles for Storage and role-assignment conditions; of two actions, the first is narrower.

/// Declares an operation enum from one table, so an operation is spelled once: each row's
/// variant, its column of `$Kind` (the service it addresses, or the scope its grant sits at), its
/// name, and the permissions of which any one authorizes it (the narrowest first). A tuple variant
/// after the kind wraps another table, `spec` answering through `$wrapped`.
macro_rules! operations {
    (
        $(#[$meta:meta])* $ty:ident by $Kind:ident
            $(, $(#[$xdoc:meta])* $x:ident($X:ty) => $wrapped:expr)?;
        $($(#[$doc:meta])* $op:ident: $kind:ident, $name:literal, [$($action:expr),+ $(,)?];)+
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty {
            $($(#[$doc])* $op,)+
            $($(#[$xdoc])* $x($X),)?
        }

        impl $ty {
            /// Every one (but the wrapped ones), for exhaustive checks.
            #[cfg(test)]
            pub const ALL: [Self; [$(stringify!($op)),+].len()] = [$(Self::$op),+];

            /// The operation's name, its kind, and the permissions of which any one authorizes it.
            pub fn spec(self) -> (&'static str, $Kind, &'static [&'static str]) {
                match self {
                    $(Self::$op => ($name, $Kind::$kind, &[$($action),+]),)+
                    $(Self::$x(inner) => ($wrapped)(inner),)?
                }
            }
        }
    };
}

pub mod arm;
pub mod graph;
mod service;

pub use self::arm::ArmOperation;
pub use self::service::Service;

/// A data action on the items of one storage service (`blobs`, `entities` or `messages`).
macro_rules! data {
    ($items:ident, $a:literal) => {
        concat!("Microsoft.Storage/storageAccounts/", data!(@$items), "/", $a)
    };
    (@blobs) => {
        "blobServices/containers/blobs"
    };
    (@entities) => {
        "tableServices/tables/entities"
    };
    (@messages) => {
        "queueServices/queues/messages"
    };
}

operations! {
    /// A storage REST operation this app performs (itself, or through the host for its bindings).
    Operation by Service,
        /// A Resource Manager call ([`arm`]).
        Arm(ArmOperation) => |a: ArmOperation| {
            let (name, _, actions) = a.spec();
            (name, Service::ResourceManager, actions)
        };
    /// Get Blob Properties.
    GetBlobProperties: Blob, "Get Blob Properties", [data!(blobs, "read")];
    /// Get Blob (a range).
    GetBlob: Blob, "Get Blob", [data!(blobs, "read")];
    /// List Blobs.
    ListBlobs: Blob, "List Blobs", [data!(blobs, "read")];
    /// Find Blobs by Tags (scoped to one container).
    FindBlobsByTags: Blob, "Find Blobs by Tags", [data!(blobs, "filter/action")];
    /// Get Blob Tags.
    GetBlobTags: Blob, "Get Blob Tags", [data!(blobs, "tags/read")];
    /// Set Blob Tags.
    SetBlobTags: Blob, "Set Blob Tags", [data!(blobs, "tags/write")];
    /// Delete Blob.
    DeleteBlob: Blob, "Delete Blob", [data!(blobs, "delete")];
    /// Put Blob (block blob, or an empty append blob).
    PutBlob: Blob, "Put Blob", [data!(blobs, "write"), data!(blobs, "add/action")];
    /// Append Block.
    AppendBlock: Blob, "Append Block", [data!(blobs, "add/action"), data!(blobs, "write")];
    /// Create Container (the port creates a missing container before a first write).
    CreateContainer: Blob, "Create Container",
        ["Microsoft.Storage/storageAccounts/blobServices/containers/write"];
    /// Get User Delegation Key (account-wide; signs download links).
    GetUserDelegationKey: Blob, "Get User Delegation Key",
        ["Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"];
    /// Create Table.
    CreateTable: Table, "Create Table",
        ["Microsoft.Storage/storageAccounts/tableServices/tables/write"];
    /// Query Tables (the names of tables, by prefix).
    QueryTables: Table, "Query Tables",
        ["Microsoft.Storage/storageAccounts/tableServices/tables/read"];
    /// Delete Table (the table and every entity in it).
    DeleteTable: Table, "Delete Table",
        ["Microsoft.Storage/storageAccounts/tableServices/tables/delete"];
    /// Query Entities (one entity by key, or a filtered page).
    QueryEntities: Table, "Query Entities", [data!(entities, "read")];
    /// Insert Entity.
    InsertEntity: Table, "Insert Entity", [data!(entities, "add/action"), data!(entities, "write")];
    /// Insert Or Replace Entity.
    InsertOrReplaceEntity: Table, "Insert Or Replace Entity", [data!(entities, "write")];
    /// Update Entity (replace, `If-Match`).
    UpdateEntity: Table, "Update Entity",
        [data!(entities, "update/action"), data!(entities, "write")];
    /// Delete Entity.
    DeleteEntity: Table, "Delete Entity", [data!(entities, "delete")];
    // No queue-metadata action exists; every queue data role carries `queues/read`.
    /// Get Queue Metadata (approximate message count).
    GetQueueMetadata: Queue, "Get Queue Metadata",
        ["Microsoft.Storage/storageAccounts/queueServices/queues/read"];
    /// Put Message (the host, for queue output bindings and poison messages).
    PutMessage: Queue, "Put Message", [data!(messages, "add/action"), data!(messages, "write")];
    /// Get Messages (the host, for queue triggers).
    GetMessages: Queue, "Get Messages",
        [data!(messages, "process/action"), data!(messages, "read")];
    // The query action, and the rows of the tables it reads: the data action (granular
    // RBAC, conditioned on the table names; tests/e2e/permissions holds each query's tables
    // to the condition), or Log Analytics Reader's `*/read` on the whole workspace.
    /// A Logs Query API query of the Bastion audit table (`AuditLogQuery`, the backfill).
    QueryWorkspace: LogAnalytics, "Query (Logs Query API)", [
        "Microsoft.OperationalInsights/workspaces/query/read",
        "Microsoft.OperationalInsights/workspaces/tables/data/read",
    ];
    /// Delete Message (the host, after a queue-triggered invocation succeeded).
    DeleteMessage: Queue, "Delete Message",
        [data!(messages, "process/action"), data!(messages, "delete")];
    // Monitoring Metrics Publisher's, checked on the data collection rule.
    /// A Logs Ingestion API upload to a data collection rule's stream (`SentinelExport`).
    UploadLogs: LogsIngestion, "Upload (Logs Ingestion API)",
        ["Microsoft.Insights/Telemetry/Write"];
}

impl Operation {
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
