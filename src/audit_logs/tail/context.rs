//! What tailing needs, built by its caller, and the registration of an hour blob's cursor.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::ports::Ports;

use crate::audit_logs::AuditSettings;
use crate::audit_logs::path::parse_blob_path;
use crate::audit_logs::repo::{Cursor, CursorRepo};
use crate::invocation::Quarantine;
use crate::join::Join;
use crate::ports::Failure;
use crate::retention::policy::audit_log_retention;
use crate::sources::Source;
use crate::storage::{BlobStore, update_tags};

/// The tail's dependencies.
#[derive(Clone)]
pub struct Tailer {
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// The store of the source being read ([`Tailer::for_cursor`]; the default source's otherwise).
    pub logs: Arc<dyn BlobStore>,
    /// The container of the source being read.
    pub container: String,
    /// Where corrupt lines go.
    pub quarantine: Quarantine,
    /// `RETENTION_CLASS_AUDITLOGS`: the class a new hour blob is tagged with.
    pub retention_class: String,
    /// `AUDIT_*` and detection settings.
    pub settings: Arc<AuditSettings>,
    /// The recording ↔ session join: its settings give a session change's pending range, and its
    /// pass runs after reading.
    pub join: Join,
}

impl Tailer {
    /// Tailing over `ports`, reading the default audit-log source until a cursor names another.
    pub fn new(
        ports: &Ports,
        join: Join,
        quarantine: Quarantine,
        retention_class: String,
        settings: Arc<AuditSettings>,
    ) -> Self {
        let logs = ports.sources.default_audit_logs();
        Self {
            ports: ports.clone(),
            logs: logs.store.clone(),
            container: logs.container.clone(),
            quarantine,
            retention_class,
            settings,
            join,
        }
    }

    /// The source a cursor row names (`of`: its blob or host, for the error).
    ///
    /// # Errors
    /// A source no longer configured is a storage error (retried next tick, logged), so
    /// configuring it again resumes its cursors where they stopped.
    pub fn source(&self, (account, container): (&str, &str), of: &str) -> Result<&Source, Failure> {
        self.ports
            .sources
            .audit_log(account, container)
            .ok_or_else(|| {
                Failure::storage(anyhow::anyhow!(
                    "audit-log source {account}/{container} of {of} is not configured"
                ))
            })
    }

    /// The same dependencies reading the source `cursor` names.
    ///
    /// # Errors
    /// See [`Tailer::source`].
    pub fn for_cursor(&self, cursor: &Cursor) -> Result<Self, Failure> {
        let source = self.source((&cursor.account, &cursor.container), &cursor.blob)?;
        Ok(Self {
            logs: source.store.clone(),
            container: source.container.clone(),
            ..self.clone()
        })
    }

    /// Registers the cursor of an hour blob without reading it (`AuditLogCreated`, the listing,
    /// the backfill): tags the blob and registers its cursor (idempotent: an existing cursor keeps
    /// its offset); returns the cursor as stored. `tag_count`: the blob's tags
    /// as a listing counted them (`None`: unknown, read). `None` when the name is not a `PT1H.json`
    /// path or the blob is gone.
    pub async fn cursor_of(
        &self,
        source: &Source,
        blob_name: &str,
        created: OffsetDateTime,
        tag_count: Option<u32>,
    ) -> Result<Option<Cursor>, Failure> {
        let Ok(hour) = parse_blob_path(blob_name) else {
            return Ok(None);
        };
        if !self
            .tag_retention(source, blob_name, created, tag_count)
            .await?
        {
            // Deleted before we got to it: nothing to tail.
            return Ok(None);
        }
        let repo = CursorRepo::new(self.ports.tables.clone());
        let at = self.ports.sources.cursor_source(source);
        let fresh =
            Cursor::new(blob_name, hour.hour, created, &hour.bastion_host).in_source(at.clone());
        // Inserted now: the cursor as written, no read; else the one stored.
        if let Some(cursor) = repo.register(&fresh).await? {
            return Ok(Some(cursor));
        }
        match repo.get(at, blob_name, hour.hour).await? {
            Some(cursor) => Ok(Some(cursor)),
            None => Err(Failure::storage(anyhow::anyhow!(
                "cursor of {blob_name} vanished after registration"
            ))),
        }
    }

    /// Tags the hour blob with the audit-log retention class (`RETENTION_CLASS_AUDITLOGS`), so the
    /// sweep's single `retainUntil` range query finds it when it expires. Keeps other tags, holds and
    /// later dates. `false` when the blob no longer exists.
    async fn tag_retention(
        &self,
        source: &Source,
        blob_name: &str,
        created: OffsetDateTime,
        tag_count: Option<u32>,
    ) -> Result<bool, Failure> {
        let blob = source.blob(blob_name);
        let policy = &self.join.policy;
        // A listing that counted no tags spares reading them (as for recordings).
        let done = update_tags(&*source.store, &blob, tag_count == Some(0), |existing| {
            audit_log_retention(policy, &self.retention_class, existing, created)
        })
        .await?;
        Ok(done.is_some())
    }
}
