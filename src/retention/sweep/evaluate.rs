//! Re-evaluation of one due blob against the current policy (which may lengthen, never shorten).

use time::OffsetDateTime;

use super::model::{Kind, Sweep};
use crate::catalogue::policy::{Policy, Retention};
use crate::catalogue::recording::Recording;
use crate::catalogue::repo::Versioned;
use crate::retention::tags::{later, retention_of};
use crate::storage::Tags;

pub(super) type Row = Versioned<Recording>;

impl Sweep<'_> {
    /// The latest of the tags, the row and the current policy (unknown classes ignored, so a
    /// removed class does not make blobs immortal).
    pub(super) fn keep(
        &self,
        kind: Kind,
        tags: &Tags,
        row: Option<&Row>,
        created: OffsetDateTime,
    ) -> Retention {
        let policy = &*self.deps.policy;
        let mut keep = retention_of(tags).unwrap_or_default();
        if let Some(r) = row.filter(|r| !r.value.retain_until.is_empty()) {
            keep = later(
                keep,
                Retention {
                    class: r.value.retention_class.clone(),
                    until: r.value.retain_until.clone(),
                },
            );
        }
        let current = keep.class.clone();
        for class in [
            Some(current.as_str()),
            self.policy_class(kind, row).as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(r) = known_until(policy, class, created) {
                keep = later(keep, r);
            }
        }
        keep
    }

    fn policy_class(&self, kind: Kind, row: Option<&Row>) -> Option<String> {
        match kind {
            Kind::AuditLogs => Some(self.deps.settings.audit_logs_class.clone()),
            Kind::Recordings => {
                row.map(|r| crate::catalogue::policy::class_of(&self.deps.policy, &r.value))
            }
        }
    }
}

/// The retainUntil of `class` if the policy defines it with a number of days.
fn known_until(policy: &Policy, class: &str, created: OffsetDateTime) -> Option<Retention> {
    let c = policy.classes.get(class)?;
    (!c.hold && c.days.is_some()).then(|| policy.retention(class, created.date()))
}
