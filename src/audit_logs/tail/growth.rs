//! Which hour blobs of a Bastion host grew (pure): an append blob only grows, so a listed length
//! above the cursor's `SeenLength` is growth and nothing else needs a read.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::audit_logs::path::{HostPath, months, parse_blob_path};
use crate::audit_logs::repo::Cursor;
use crate::storage::{BlobItem, BlobProps};

/// One Bastion host of one audit-log source, with its active cursors.
#[derive(Debug, Clone)]
pub struct Host {
    /// The cursors' source: `(account, container)`, empty for the default source.
    pub source: (String, String),
    /// How its blobs are named.
    pub path: HostPath,
    /// Its active cursors.
    pub cursors: Vec<Cursor>,
}

/// Groups `cursors` by source and host (a name that is no hour-blob path has no host: left out).
pub fn hosts(cursors: Vec<Cursor>) -> Vec<Host> {
    let mut by: BTreeMap<(String, String, String), Host> = BTreeMap::new();
    for c in cursors {
        let Some(path) = HostPath::of(&c.blob) else {
            continue;
        };
        let source = (c.account.clone(), c.container.clone());
        let key = (source.0.clone(), source.1.clone(), path.host.clone());
        by.entry(key)
            .or_insert_with(|| Host {
                source,
                path,
                cursors: Vec::new(),
            })
            .cursors
            .push(c);
    }
    by.into_values().collect()
}

/// True while the hour blob of `hour` is watched: from an hour before it until `window` after it.
pub fn watched(hour: OffsetDateTime, now: OffsetDateTime, window: Duration) -> bool {
    now < hour + Duration::hours(1) + window && hour <= now + Duration::hours(1)
}

fn floor_hour(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
}

impl Host {
    /// The listings that cover the host's watched hours and its cursors (those past the window are
    /// retired from the same listing): `(prefix, from)`, one per month, the first from its first
    /// hour's name on.
    pub fn listings(&self, now: OffsetDateTime, window: Duration) -> Vec<(String, String)> {
        let oldest = self.cursors.iter().map(|c| c.hour).min();
        let newest = self.cursors.iter().map(|c| c.hour).max();
        let from = floor_hour(now - window - Duration::hours(1));
        let from = oldest.map_or(from, |o| o.min(from));
        let to = floor_hour(now) + Duration::hours(1);
        let to = newest.map_or(to, |n| n.max(to));
        months(from, to)
            .into_iter()
            .map(|month| {
                let first = month.max(from);
                (self.path.month_prefix(month), self.path.blob(first))
            })
            .collect()
    }
}

/// A blob that grew: what is to be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    /// Its cursor, as read.
    pub cursor: Cursor,
    /// Its length as listed.
    pub length: u64,
    /// When its unread growth began, as far as known: the `GrownAt` an earlier tick left, else
    /// the blob's last write (the oldest growth is read first).
    pub since: OffsetDateTime,
}

/// What one cursor's listed properties say.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Bytes past what was read: read them.
    Grown(Growth),
    /// Past the window and read to its end: retire without a read.
    Retire(Cursor),
    /// Nothing to do.
    Quiet,
}

/// Judges one cursor by its blob's listed properties.
pub fn judge(c: Cursor, props: &BlobProps, now: OffsetDateTime, window: Duration) -> Verdict {
    let length = props.content_length;
    let since = |c: &Cursor| {
        c.grown_at
            .unwrap_or_else(|| props.last_modified.unwrap_or(now).min(now))
    };
    if length > c.seen_length {
        let since = since(&c);
        return Verdict::Grown(Growth {
            cursor: c,
            length,
            since,
        });
    }
    if !c.expired(now, window) {
        return Verdict::Quiet;
    }
    if c.offset < length {
        // A last line waiting for its newline: final at retirement, read once (first: it is old).
        let since = c.hour;
        return Verdict::Grown(Growth {
            cursor: c,
            length,
            since,
        });
    }
    Verdict::Retire(c)
}

/// What a host's listing says.
#[derive(Debug, Default)]
pub struct Findings {
    /// Blobs that grew.
    pub grown: Vec<Growth>,
    /// Cursors to retire without a read.
    pub retire: Vec<Cursor>,
    /// Watched hour blobs without an active cursor (their event was lost, or they were registered
    /// since the cursors were read).
    pub unregistered: Vec<BlobItem>,
    /// Cursors whose blob the listing did not show (gone, or a listing that skipped it).
    pub missing: Vec<Cursor>,
}

/// Compares `host`'s cursors with the listing of its hours.
pub fn compare(
    host: Host,
    items: Vec<BlobItem>,
    now: OffsetDateTime,
    window: Duration,
) -> Findings {
    let mut listed: BTreeMap<String, BlobItem> =
        items.into_iter().map(|i| (i.name.clone(), i)).collect();
    let mut out = Findings::default();
    for c in host.cursors {
        match listed.remove(&c.blob) {
            None => out.missing.push(c),
            Some(item) => match judge(c, &item.props, now, window) {
                Verdict::Grown(g) => out.grown.push(g),
                Verdict::Retire(c) => out.retire.push(c),
                Verdict::Quiet => {}
            },
        }
    }
    out.unregistered = listed
        .into_values()
        .filter(|i| {
            parse_blob_path(&i.name).is_ok_and(|h| watched(h.hour, now, window))
                && HostPath::of(&i.name).is_some_and(|p| p.host == host.path.host)
        })
        .collect();
    out
}

#[cfg(test)]
#[path = "growth_tests.rs"]
mod tests;
