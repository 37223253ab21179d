//! Pure parts of the Event Grid stand-in: `DEVHOST_WATCH` parsing, change detection and the
//! Event Grid-like redelivery schedule.

use std::time::Duration;

use bastion_recordings::storage::{BlobKind, BlobProps};
use time::OffsetDateTime;

/// One watched container and the function its events go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WatchSpec {
    /// Function folder name (eventGridTrigger).
    pub(crate) function: String,
    /// Connection setting name (falls back to `AzureWebJobsStorage`).
    pub(crate) connection: String,
    /// Container name, `%Setting%` already expanded.
    pub(crate) container: String,
}

/// The watch when `DEVHOST_WATCH` is unset: the product's subscriptions, one per watched container
/// (`RECORDINGS_SOURCES` / `AUDITLOGS_SOURCES` entries, `<connection>:<container>[@<bastion>]`; an
/// unset list, as the handler reads it, is the default container on `AzureWebJobsStorage`).
pub(crate) fn default_watch(env: &dyn Fn(&str) -> Option<String>) -> String {
    let list = |setting: &str, function: &str, default_container: &str| -> Vec<String> {
        let text = env(setting)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| format!("AzureWebJobsStorage:{default_container}"));
        let items = text.split(',').map(str::trim).filter(|e| !e.is_empty());
        items
            .map(|entry| {
                let head = entry.split('@').next().unwrap_or(entry);
                match head.split_once(':') {
                    Some((conn, container)) => format!("{function}={conn}:{container}"),
                    None => format!("{function}={head}:{default_container}"),
                }
            })
            .collect()
    };
    let mut watch = list("RECORDINGS_SOURCES", "RecordingCreated", "recordings");
    watch.extend(list(
        "AUDITLOGS_SOURCES",
        "AuditLogCreated",
        "insights-logs-bastionauditlogs",
    ));
    watch.join(",")
}

/// Parses `Function=CONNECTION:container[,…]`; `container` may be `%SETTING%`.
pub(crate) fn parse_watch(
    spec: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<WatchSpec>, String> {
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (function, target) = item.split_once('=').ok_or_else(|| {
            format!("DEVHOST_WATCH item {item:?}: expected Function=CONNECTION:container")
        })?;
        let (connection, container) = target
            .split_once(':')
            .ok_or_else(|| format!("DEVHOST_WATCH item {item:?}: expected CONNECTION:container"))?;
        let container = match container
            .strip_prefix('%')
            .and_then(|c| c.strip_suffix('%'))
        {
            Some(setting) => env(setting)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    format!("DEVHOST_WATCH item {item:?}: setting {setting} is not set")
                })?,
            None => container.to_owned(),
        };
        if function.trim().is_empty() || connection.trim().is_empty() || container.trim().is_empty()
        {
            return Err(format!("DEVHOST_WATCH item {item:?}: empty part"));
        }
        out.push(WatchSpec {
            function: function.trim().into(),
            connection: connection.trim().into(),
            container: container.trim().into(),
        });
    }
    Ok(out)
}

/// What devhost remembers about a blob between listings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    etag: String,
    created: Option<OffsetDateTime>,
    kind: Option<BlobKind>,
}

impl Seen {
    /// Snapshot of a listing entry.
    pub(crate) fn of(p: &BlobProps) -> Self {
        Self {
            etag: p.etag.clone(),
            created: p.created,
            kind: p.kind,
        }
    }
}

/// Whether a listing entry is a new BlobCreated fact: a new blob, an overwritten block/page blob,
/// or a re-created append blob. Appends to an existing append blob raise nothing (Azure behaviour).
pub(crate) fn is_created(prev: Option<&Seen>, now: &BlobProps) -> bool {
    let Some(prev) = prev else { return true };
    if prev.etag == now.etag {
        return false;
    }
    let append = now.kind == Some(BlobKind::Append) && prev.kind == Some(BlobKind::Append);
    !(append && prev.created == now.created)
}

/// Event Grid-like redelivery: delays between attempts and a cap on attempts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetrySchedule {
    /// Delay before retry `n` is `delays[min(n, len) - 1]`.
    pub(crate) delays: Vec<Duration>,
    /// Total attempts, first delivery included.
    pub(crate) max_attempts: u32,
}

/// Event Grid's published schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h…).
pub(crate) const DEFAULT_RETRY: &str = "10s,30s,1m,5m,10m,30m,1h,3h,6h,12h";

/// Parses `500ms`, `10s`, `1m`, `3h` or a bare number of milliseconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return None,
    })
}

impl RetrySchedule {
    /// From `DEVHOST_EVENTGRID_RETRY` (comma list) and `DEVHOST_EVENTGRID_MAX_ATTEMPTS`.
    pub(crate) fn parse(delays: &str, max_attempts: u32) -> Result<Self, String> {
        let delays = delays
            .split(',')
            .map(|d| {
                parse_duration(d)
                    .ok_or_else(|| format!("DEVHOST_EVENTGRID_RETRY: bad duration {d:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            delays,
            max_attempts: max_attempts.max(1),
        })
    }

    /// Delay before retry `n` (1-based).
    pub(crate) fn delay(&self, n: u32) -> Duration {
        let i = usize::try_from(n.max(1) - 1)
            .unwrap_or(usize::MAX)
            .min(self.delays.len().saturating_sub(1));
        self.delays.get(i).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn props(etag: &str, kind: BlobKind, created: Option<OffsetDateTime>) -> BlobProps {
        BlobProps {
            content_length: 1,
            content_type: None,
            etag: etag.into(),
            last_modified: None,
            created,
            kind: Some(kind),
            metadata: Default::default(),
            tag_count: None,
        }
    }

    #[test]
    fn watch_spec_parses_and_expands_settings() {
        let env = |k: &str| (k == "REC_CONTAINER").then(|| "rec1".to_owned());
        assert_eq!(
            default_watch(&env),
            "RecordingCreated=AzureWebJobsStorage:recordings,AuditLogCreated=AzureWebJobsStorage:insights-logs-bastionauditlogs",
            "no source lists: the two default containers on the app's storage"
        );
        let w = parse_watch("RecordingCreated=REC:%REC_CONTAINER%", &env).expect("spec");
        assert_eq!(
            w[0],
            WatchSpec {
                function: "RecordingCreated".into(),
                connection: "REC".into(),
                container: "rec1".into()
            }
        );
        assert_eq!(parse_watch(" F=C:c ,", &env).expect("one").len(), 1);
        assert!(parse_watch("", &env).expect("none").is_empty());
        assert!(parse_watch("F", &env).is_err());
        assert!(parse_watch("F=C", &env).is_err());
        assert!(parse_watch("F=C:%UNSET%", &env).is_err());
        assert!(parse_watch("=C:c", &env).is_err());
    }

    #[test]
    fn source_lists_give_one_watch_per_container() {
        let env = |k: &str| match k {
            "RECORDINGS_SOURCES" => {
                Some("WEU:rec-weu@bas-weu, NEU:rec-neu@/s/x/bastionHosts/b".into())
            }
            "AUDITLOGS_SOURCES" => Some("LOGS".into()),
            _ => None,
        };
        assert_eq!(
            default_watch(&env),
            "RecordingCreated=WEU:rec-weu,RecordingCreated=NEU:rec-neu,AuditLogCreated=LOGS:insights-logs-bastionauditlogs"
        );
    }

    #[test]
    fn change_detection_follows_azure_semantics() {
        let t1 = Some(datetime!(2025-03-14 09:00 UTC));
        let t2 = Some(datetime!(2025-03-14 10:00 UTC));
        let block = props("e1", BlobKind::Block, t1);
        assert!(is_created(None, &block));
        assert!(!is_created(Some(&Seen::of(&block)), &block));
        assert!(
            is_created(Some(&Seen::of(&block)), &props("e2", BlobKind::Block, t1)),
            "overwrite"
        );
        let append = props("a1", BlobKind::Append, t1);
        assert!(is_created(None, &append));
        assert!(
            !is_created(Some(&Seen::of(&append)), &props("a2", BlobKind::Append, t1)),
            "append block"
        );
        assert!(
            is_created(Some(&Seen::of(&append)), &props("a3", BlobKind::Append, t2)),
            "re-created"
        );
        assert!(
            is_created(Some(&Seen::of(&block)), &props("a4", BlobKind::Append, t1)),
            "replaced by another type"
        );
    }

    #[test]
    fn retry_schedule_repeats_its_last_delay() {
        let r = RetrySchedule::parse("100ms,2s,1m", 5).expect("schedule");
        assert_eq!(
            [1, 2, 3, 9].map(|n| r.delay(n)),
            [100, 2000, 60_000, 60_000].map(Duration::from_millis)
        );
        assert_eq!(
            RetrySchedule::parse(DEFAULT_RETRY, 30)
                .expect("default")
                .delay(1),
            Duration::from_secs(10)
        );
        assert!(RetrySchedule::parse("1x", 1).is_err());
        assert!(RetrySchedule::parse("", 1).is_err());
        assert_eq!(RetrySchedule::parse("5", 0).expect("ms").max_attempts, 1);
        assert_eq!(parse_duration("3h"), Some(Duration::from_secs(10_800)));
    }
}
