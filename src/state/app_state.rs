//! The application state's shape: the configuration and the seams built from it, each behind an
//! `Arc`, that every entry point takes.

use std::sync::Arc;

use crate::catalogue::policy::Policy;
use crate::config::Config;
use crate::health::Heartbeats;
use crate::health::queues::QueueDepth;
use crate::ingestion::LogsIngestion;
use crate::invocation::Quarantine;
use crate::loganalytics::LogsQuery;
use crate::notify::Notifier;
use crate::ports::Ports;
use crate::storage::BlobStore;
use crate::storage::links::Links;

/// Shared state: configuration and seams, each behind an `Arc`, cloned into every invocation (a
/// dozen reference counts: noise beside the storage round trips an invocation makes).
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The tables, the watched containers and the clock: what every domain takes.
    pub ports: Ports,
    /// The app's own account (quarantine).
    pub app_blobs: Arc<dyn BlobStore>,
    /// Poison quarantine.
    pub quarantine: Quarantine,
    /// Retention policy.
    pub policy: Arc<Policy>,
    /// Notification settings, HTTP client and pacing (NotifyWebhook).
    pub notifier: Arc<Notifier>,
    /// Audit-log tunables (`AUDIT_*` and detection settings).
    pub audit: Arc<crate::audit_logs::AuditSettings>,
    /// This instance's per-function heartbeats (recorded by the invocation route).
    pub heartbeats: Arc<Heartbeats>,
    /// This instance's work units' endings, written together ([`crate::fanout::endings`]).
    pub endings: Arc<crate::fanout::endings::Endings>,
    /// What this instance's `EstateCheck` units of a tick read alike ([`crate::estate::shared`]).
    pub estate_reads: Arc<crate::estate::shared::Shared>,
    /// Read links for recordings (`CATALOGUE_DOWNLOAD_LINKS`): user-delegation SAS or a reason,
    /// per recordings account.
    pub links: Links,
    /// Poison-queue depths for the health report.
    pub queues: Arc<dyn QueueDepth>,
    /// Resource Manager (the estate checks and live sessions); `None` when no Bastion host is
    /// configured.
    pub arm: Option<Arc<dyn crate::arm::ResourceManager>>,
    /// The Logs Query API client, when `AUDITLOGS_WORKSPACES` names a workspace.
    pub logs: Option<Arc<dyn LogsQuery>>,
    /// The Logs Ingestion API client (`SentinelExport`), when the Sentinel settings are set.
    pub ingestion: Option<Arc<dyn LogsIngestion>>,
    /// Microsoft Graph (`GRAPH_ENDPOINT`): sessions' people to object ids; `None` when not set.
    pub directory: Option<Arc<dyn crate::graph::Directory>>,
}

crate::telemetry::debug_fields!(AppState { config, ports });
