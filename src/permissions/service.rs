//! The service an operation addresses, by which its permission is named.

/// The storage service an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Blob service (containers and blobs).
    Blob,
    /// Table service.
    Table,
    /// Queue service.
    Queue,
    /// A Log Analytics workspace (the Logs Query API).
    LogAnalytics,
    /// Azure Resource Manager (the control plane: Bastion hosts, settings of accounts).
    ResourceManager,
    /// The Logs Ingestion API of a data collection rule (rows for Microsoft Sentinel).
    LogsIngestion,
}
