//! The watched containers: where Bastion hosts record sessions, and where their audit logs are
//! archived. Each is one container of one storage account, reached through its own blob store.
//!
//! Domain code asks this registry which source an event or a catalogue row belongs to, instead
//! of holding one store and one container name: the same code then serves one Bastion host or
//! several. Every source's catalogue keys, cursors and markers carry its account and container.

use std::sync::Arc;

use crate::storage::{BlobRef, BlobStore};

/// One watched container.
#[derive(Clone)]
pub struct Source {
    /// Container name.
    pub container: String,
    /// The Bastion host recording into it (name, lower-case), when the configuration says so.
    pub bastion: Option<String>,
    /// That host's resource id, when configured (portal links in notifications).
    pub bastion_id: Option<String>,
    /// The account's blob store.
    pub store: Arc<dyn BlobStore>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("account", &self.account())
            .field("container", &self.container)
            .field("bastion", &self.bastion)
            .finish()
    }
}

impl Source {
    /// A source without a Bastion label.
    pub fn new(store: Arc<dyn BlobStore>, container: impl Into<String>) -> Self {
        Self {
            container: container.into(),
            bastion: None,
            bastion_id: None,
            store,
        }
    }

    /// The storage account name.
    pub fn account(&self) -> &str {
        self.store.account()
    }

    /// `account/container`: how logs and reports name the source.
    pub fn label(&self) -> String {
        [self.account(), "/", &self.container].concat()
    }

    /// True when `account` (any case) and `container` name this source.
    pub fn is(&self, account: &str, container: &str) -> bool {
        self.container == container && self.account().eq_ignore_ascii_case(account)
    }

    /// A blob of this source.
    pub fn blob(&self, name: impl Into<String>) -> BlobRef {
        BlobRef::new(self.container.clone(), name)
    }
}

/// Every watched container, by kind. Never empty: configuration builds at least one of each.
#[derive(Clone, Debug)]
pub struct Sources {
    recordings: Vec<Source>,
    audit_logs: Vec<Source>,
}

impl Sources {
    /// Sources from the two lists; `None` when either is empty.
    pub fn new(recordings: Vec<Source>, audit_logs: Vec<Source>) -> Option<Self> {
        (!recordings.is_empty() && !audit_logs.is_empty()).then_some(Self {
            recordings,
            audit_logs,
        })
    }

    /// One recordings and one audit-log source.
    pub fn single(recordings: Source, audit_logs: Source) -> Self {
        Self {
            recordings: vec![recordings],
            audit_logs: vec![audit_logs],
        }
    }

    /// The recording sources, the default first.
    pub fn recordings(&self) -> &[Source] {
        &self.recordings
    }

    /// The audit-log sources, the default first.
    pub fn audit_logs(&self) -> &[Source] {
        &self.audit_logs
    }

    /// The resource id of Bastion host `name` (case-insensitive), when a source names it by one.
    pub fn bastion_id(&self, name: &str) -> Option<&str> {
        self.recordings
            .iter()
            .chain(&self.audit_logs)
            .filter(|s| {
                s.bastion
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(name))
            })
            .find_map(|s| s.bastion_id.as_deref())
    }

    /// The recording source of `account`/`container`.
    pub fn recording(&self, account: &str, container: &str) -> Option<&Source> {
        self.recordings.iter().find(|s| s.is(account, container))
    }

    /// The audit-log source of `account`/`container`.
    pub fn audit_log(&self, account: &str, container: &str) -> Option<&Source> {
        self.audit_logs.iter().find(|s| s.is(account, container))
    }

    /// How a cursor names the audit-log source `source`: its account and container.
    pub fn cursor_source(&self, source: &Source) -> (String, String) {
        (source.account().to_owned(), source.container.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::DefaultSources;
    use crate::testkit::storage::memory::InMemoryBlobStore;

    fn source(account: &str, container: &str) -> Source {
        Source::new(Arc::new(InMemoryBlobStore::new(account)), container)
    }

    #[test]
    fn events_are_matched_by_account_in_any_case_and_exact_container() {
        let sources = Sources::single(source("acct", "recordings"), source("logs", "insights"));
        assert!(sources.recording("ACCT", "recordings").is_some());
        assert!(sources.recording("acct", "Recordings").is_none());
        assert!(sources.recording("someoneelse", "recordings").is_none());
        assert!(sources.audit_log("logs", "insights").is_some());
        assert!(sources.audit_log("acct", "recordings").is_none());
        assert!(Sources::new(vec![], vec![source("a", "b")]).is_none());
    }

    #[test]
    fn an_audit_log_cursor_names_its_account_and_container() {
        let sources = Sources::single(source("acct", "recordings"), source("logs", "insights"));
        let logs = sources.default_audit_logs();
        assert_eq!(
            sources.cursor_source(logs),
            ("logs".into(), "insights".into())
        );
        assert!(sources.audit_log("", "").is_none());
    }

    #[test]
    fn a_source_is_labelled_account_slash_container() {
        assert_eq!(source("a", "c").label(), "a/c");
    }
}
