//! Configuration from environment variables only. [`Config::from_env`] names every bad setting
//! (never its value) in one [`ConfigError`], so a misconfigured app fails at start-up.

pub mod api;
pub mod auth;
pub mod identity;
pub mod sources;
pub mod workspaces;

use std::path::PathBuf;

pub use self::sources::{SourceSpec, SourceSpecs};
use crate::azure::Timeouts;
use crate::azure::connection::StorageConnection;
use crate::estate::settings::EstateSettings;
use crate::setting::Reader;

/// All configuration problems found at start-up.
/// One problem prints as one line; several as a list.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:{}", listed(.0))]
pub struct ConfigError(pub Vec<String>);

fn listed(problems: &[String]) -> String {
    match problems {
        [one] => format!(" {one}"),
        many => format!("\n  - {}", many.join("\n  - ")),
    }
}

/// Where the app's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// `AzureWebJobsStorage`: tables, queues, quarantine.
    pub app: StorageConnection,
}

/// The handler's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Port to listen on (`FUNCTIONS_CUSTOMHANDLER_PORT`; 0 picks a free one).
    pub port: u16,
    /// Storage connections, each with its calls' timeouts (`STORAGE_*TIMEOUT_MS`).
    pub storage: Storage,
    /// The watched containers (`RECORDINGS_*`, `AUDITLOGS_*`; see [`sources`]).
    pub sources: SourceSpecs,
    /// Container for poison payloads, in the app's account (`QUARANTINE_CONTAINER`, default `quarantine`).
    pub quarantine_container: String,
    /// Prefix for every table name (`TABLE_PREFIX`; lets several deployments or test runs share an account).
    pub table_prefix: String,
    /// The retention policy: the file `RETENTION_POLICY` names, else the built-in one.
    pub policy: crate::catalogue::policy::Policy,
    /// Sweep settings (`RETENTION_MAX_DELETES_PER_RUN`, `RETENTION_DRY_RUN`, `RETENTION_CLASS_AUDITLOGS`).
    pub retention: crate::retention::settings::RetentionSettings,
    /// Tailing, joining and detection (`AUDIT_*`, `UNRECORDED_*`, `FAILED_LOGIN_*`, …).
    pub audit: crate::audit_logs::AuditSettings,
    /// The review queue and deadlines (`REVIEW_*`).
    pub reviews: crate::reviews::ReviewSettings,
    /// Catalogue API (`CATALOGUE_*`, `HEALTH_TAIL_LAG_MINUTES`).
    pub api: self::api::ApiSettings,
    /// Log Analytics workspace sources (`AUDITLOGS_WORKSPACES`, `LOGANALYTICS_ENDPOINT`, `AUDITLOGS_QUERY_*`).
    pub workspaces: self::workspaces::WorkspaceConfig,
    /// Destinations and delivery (`NOTIFY_*`, `CATALOGUE_BASE_URL`).
    pub notify: crate::notify::config::NotifyConfig,
    /// How often heartbeats are written (`HEALTH_HEARTBEAT_SECONDS`).
    pub heartbeat_interval: time::Duration,
    /// Recordings re-hashed per `IntegrityVerify` run (`INTEGRITY_VERIFY_SAMPLE`).
    pub integrity_sample: usize,
    /// The Bastion estate checks (`BASTION_*`, `ARM_ENDPOINT`, `RECORDINGS_ACCOUNT_IDS`).
    pub estate: EstateSettings,
    /// Microsoft Sentinel export (`SENTINEL_*`); none: nothing is recorded or sent.
    pub sentinel: Option<crate::sentinel::settings::SentinelSettings>,
    /// Chain of custody from `StorageBlobLogs` (`CUSTODY_*`).
    pub custody: crate::custody::CustodySettings,
    /// Microsoft Graph (`GRAPH_ENDPOINT`): the sessions' people resolved to object ids; none: not.
    pub graph: Option<url::Url>,
    /// Who allowed each session (`AUTHZ_*`).
    pub authz: crate::authorization::settings::AuthzSettings,
    /// The app's managed identity for the services it calls with tokens (see [`identity`]).
    pub identity: Option<crate::azure::identity::AppIdentity>,
    /// The evidence pack's Ed25519 key (`EVIDENCE_SIGNING_KEY`); none: no packs are made.
    pub evidence_key: Option<crate::pack::key::PackKey>,
    /// The printed evidence report's paper (`EVIDENCE_PAPER`: `A4`, default, or `Letter`).
    pub evidence_paper: crate::pack::paper::Paper,
    /// Logging (`RUST_LOG`, `LOG_FORMAT`, `FUNCTIONS_WORKER_RUNTIME`).
    pub log: crate::telemetry::LogSettings,
}

impl Config {
    /// Reads the process environment; errors name every problem at once.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads configuration through `env` (tests pass a map); errors name every problem at once.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader::new(env);
        let audit = crate::audit_logs::AuditSettings::from_reader(&mut r);
        let reviews = crate::reviews::ReviewSettings::from_reader(
            &mut r,
            audit.failed_login_threshold,
            audit.failed_login_bucket,
        );
        let api = self::api::ApiSettings::from_reader(&mut r);
        // A bad value must not stop the pipeline: false here, reported by the API's auth.
        let insecure_loopback = r.try_flag(auth::ALLOW_INSECURE_LOOPBACK) == Ok(Some(true));
        let workspaces = self::workspaces::read(&mut r, insecure_loopback);
        let sentinel = crate::sentinel::settings::read(&mut r, insecure_loopback);
        let custody = crate::custody::CustodySettings::from_reader(&mut r);
        let graph = crate::graph::settings::read(&mut r, insecure_loopback);
        let authz = crate::authorization::settings::AuthzSettings::from_reader(&mut r);
        let heartbeat_interval = heartbeat_interval(&mut r);
        let integrity_sample = integrity_sample(&mut r);
        let evidence_key = crate::pack::key::PackKey::from_reader(&mut r);
        let evidence_paper = crate::pack::paper::Paper::from_reader(&mut r);
        let notify = crate::notify::config::NotifyConfig::from_reader(&mut r);
        let timeouts = Timeouts::from_reader(&mut r);
        let retention = crate::retention::settings::RetentionSettings::from_reader(&mut r);
        let port = r.get("FUNCTIONS_CUSTOMHANDLER_PORT");
        let quarantine_container = r
            .get("QUARANTINE_CONTAINER")
            .unwrap_or_else(|| "quarantine".into());
        let table_prefix = r.get("TABLE_PREFIX").unwrap_or_default();
        let mut errors = r.into_errors();
        let port = match port {
            None => 8080,
            Some(p) => p.parse().unwrap_or_else(|_| {
                errors.push("FUNCTIONS_CUSTOMHANDLER_PORT: not a port number".to_owned());
                0
            }),
        };
        let unset = "AzureWebJobsStorage: not set (a connection string or AzureWebJobsStorage__accountName)";
        let app = sources::resolve("AzureWebJobsStorage", unset.to_owned(), env, &mut errors)
            .map(|app| app.with_timeouts(timeouts));
        let sources = sources::read(env, app.as_ref(), &mut errors);
        let la = workspaces.endpoint.as_ref();
        let needs: Vec<(&str, Option<&url::Url>)> = [
            (sentinel.as_ref()).map(|s| (crate::sentinel::settings::ENDPOINT, Some(&s.endpoint))),
            (!workspaces.query.workspaces.is_empty()).then_some(("AUDITLOGS_WORKSPACES", la)),
            (custody.workspace.is_some()).then_some(("CUSTODY_WORKSPACE_ID", la)),
            (graph.as_ref()).map(|g| (crate::graph::settings::ENDPOINT, Some(g))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let identity = identity::read(env, app.as_ref(), &needs, &mut errors);
        // By default the estate checks the hosts the sources name by resource id.
        let named: Vec<String> = (sources.recordings.iter().chain(&sources.audit_logs))
            .filter_map(|s| s.bastion_id.clone())
            .collect();
        let mut estate_reader = Reader::new(env);
        let estate = EstateSettings::read(&mut estate_reader, &named, insecure_loopback);
        errors.extend(estate_reader.into_errors());
        errors.extend(authz.cannot_enforce(estate.disconnect, !estate.hosts.is_empty()));
        errors.extend(authz.cannot_read_groups(graph.is_some()));
        sources::check_container(&quarantine_container, "QUARANTINE_CONTAINER", &mut errors);
        if !table_prefix.chars().all(|c| c.is_ascii_alphanumeric())
            || table_prefix.starts_with(|c: char| c.is_ascii_digit())
        {
            errors.push("TABLE_PREFIX: letters and digits only, starting with a letter".to_owned());
        }
        let mut policy_reader = Reader::new(env);
        let policy = read_policy(&mut policy_reader, &retention.audit_logs_class);
        errors.extend(policy_reader.into_errors());
        let Some(app) = app.filter(|_| errors.is_empty()) else {
            return Err(ConfigError(errors));
        };
        Ok(Self {
            port,
            storage: Storage { app },
            sources,
            quarantine_container,
            table_prefix,
            policy,
            retention,
            audit,
            reviews,
            api,
            workspaces,
            notify,
            heartbeat_interval,
            integrity_sample,
            evidence_key,
            evidence_paper,
            estate,
            sentinel,
            custody,
            graph,
            authz,
            identity,
            log: crate::telemetry::LogSettings::from_lookup(env),
        })
    }
}

/// The logging settings alone, read before a command runs.
pub fn log_settings() -> crate::telemetry::LogSettings {
    crate::telemetry::LogSettings::from_lookup(&|k| std::env::var(k).ok())
}

/// `HEALTH_HEARTBEAT_SECONDS` (default 60, 1–3600): how often an instance flushes its heartbeats.
pub fn heartbeat_interval(r: &mut crate::setting::Reader<'_>) -> time::Duration {
    time::Duration::seconds(r.number("HEALTH_HEARTBEAT_SECONDS", 60, 1..=3600))
}

/// `INTEGRITY_VERIFY_SAMPLE` (default 50, 1–100 000): recordings re-hashed per `IntegrityVerify` run.
pub fn integrity_sample(r: &mut crate::setting::Reader<'_>) -> usize {
    r.number("INTEGRITY_VERIFY_SAMPLE", 50, 1..=100_000)
}

/// The evidence signing key alone, for commands that need no storage connection.
///
/// # Errors
/// Why the key is unusable (never the value).
pub fn evidence_key() -> Result<Option<crate::pack::key::PackKey>, String> {
    std::env::var(crate::pack::key::SETTING)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| crate::pack::key::PackKey::parse(&v))
        .transpose()
}

/// The retention policy alone, checked as [`Config::from_lookup`] does (no storage connection).
///
/// # Errors
/// Every problem of those settings at once.
pub fn retention_policy(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::catalogue::policy::Policy, ConfigError> {
    let mut r = Reader::new(env);
    let retention = crate::retention::settings::RetentionSettings::from_reader(&mut r);
    let policy = read_policy(&mut r, &retention.audit_logs_class);
    let errors = r.into_errors();
    errors
        .is_empty()
        .then_some(policy)
        .ok_or(ConfigError(errors))
}

/// The policy of the file `RETENTION_POLICY` names, checked; the built-in one when unset or bad.
fn read_policy(r: &mut Reader<'_>, audit_logs_class: &str) -> crate::catalogue::policy::Policy {
    let file = r.get("RETENTION_POLICY").map(PathBuf::from);
    crate::catalogue::policy::load(file.as_deref(), audit_logs_class).unwrap_or_else(|e| {
        r.extend(e);
        crate::catalogue::policy::Policy::builtin()
    })
}

#[cfg(test)]
mod tests;
