//! One chunk's worth of parsed records, folded per tunnel before any table write (so a chunk with
//! many records of one session costs one upsert); [`keep::rows`](super::keep::rows) writes it.

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use time::OffsetDateTime;

use crate::audit_logs::detect::failed;
use crate::audit_logs::parse::{LineError, Record};
use crate::audit_logs::sessions::{RecordKind, SessionRecord, record_time, tunnel_key};

/// Longest tunnel id taken as a session key (Bastion's are 36-character GUIDs).
const MAX_TUNNEL: usize = 128;
/// Longest raw line kept on a session row (`LastRaw`), inside the 64 KiB property limit.
const MAX_RAW: usize = 16 * 1024;

/// One tunnel's records of a chunk, folded.
#[derive(Debug)]
pub struct Folded<'a> {
    /// Lower-case tunnel id (borrowed from the chunk when it already is lower-case).
    pub tunnel_id: Cow<'a, str>,
    /// The partial session of the chunk's records, merged into the stored row at flush.
    pub session: SessionRecord,
    /// Latest raw record (time, line), borrowed from the chunk (owned once [`Batch::absorb`]ed).
    pub raw: Option<(Option<OffsetDateTime>, Cow<'a, [u8]>)>,
    /// Blob offset of its first record (sessions flush in first-seen order: a cut's end).
    pub first_offset: u64,
}

/// Records of one chunk (lines borrowed from the chunk's buffer for `'a`).
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// Index into `folded` by tunnel id (Azure's GUIDs: no flooding to resist, so `rustc-hash`).
    index: HashMap<Cow<'a, str>, usize, FxBuildHasher>,
    /// Partial sessions, in first-seen order.
    folded: Vec<Folded<'a>>,
    /// Failed logins seen, with the blob offset of their record.
    pub failed: Vec<(u64, failed::FailedLogin)>,
    /// Blob offset of every record folded (in order), to count what a cut flush covered.
    pub offsets: Vec<u64>,
    /// Records without a tunnel id (cannot be sessionized; counted).
    pub unkeyed: u64,
    /// Records folded.
    pub records: u64,
    /// Corrupt lines: (offset, reason, line).
    pub corrupt: Vec<(LineError, Vec<u8>)>,
}

/// The lower-case form of a tunnel id, borrowed when it already is (as Azure writes them).
fn lower_key(tunnel: Cow<'_, str>) -> Cow<'_, str> {
    if tunnel.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(tunnel.to_ascii_lowercase())
    } else {
        tunnel
    }
}

impl<'a> Batch<'a> {
    /// An empty batch sized for a chunk of `bytes` (about one session per two ~1 KB records, capped).
    pub fn for_chunk(bytes: usize) -> Self {
        let sessions = (bytes / 2048).min(8192);
        Self {
            index: HashMap::with_capacity_and_hasher(sessions, FxBuildHasher),
            folded: Vec::with_capacity(sessions),
            ..Self::default()
        }
    }

    /// Number of distinct sessions folded.
    pub fn sessions(&self) -> usize {
        self.folded.len()
    }

    /// The folded sessions, in first-seen order.
    pub fn folded(&self) -> &[Folded<'a>] {
        &self.folded
    }

    /// Folds the record at blob offset `offset` (so a flush cut by its time budget knows where the
    /// records it wrote end); `line` is its raw text (for `LastRaw`, empty when there is none).
    pub fn add_at(
        &mut self,
        offset: u64,
        rec: &Record<'a>,
        line: &'a [u8],
        host: &'a str,
        window: time::Duration,
    ) {
        self.records += 1;
        self.offsets.push(offset);
        let tunnel = match rec.properties.tunnel_id.as_ref().map(|t| &t.0) {
            Some(Cow::Borrowed(t)) => Cow::Borrowed(t.trim()),
            Some(Cow::Owned(t)) => Cow::Owned(t.trim().to_owned()),
            None => Cow::Borrowed(""),
        };
        // A tunnel id is a GUID; one that is not its own table key cannot name a session.
        if tunnel.is_empty() || tunnel.len() > MAX_TUNNEL || tunnel_key(&tunnel) != *tunnel {
            self.unkeyed += 1;
            return;
        }
        let key = lower_key(tunnel);
        let time = rec.time.as_ref().and_then(|t| record_time(t.as_str()));
        let at = if let Some(&i) = self.index.get(&*key) {
            i
        } else {
            self.folded.push(Folded {
                tunnel_id: key.clone(),
                session: SessionRecord::new(&key),
                raw: None,
                first_offset: offset,
            });
            self.index.insert(key, self.folded.len() - 1);
            self.folded.len() - 1
        };
        let folded = &mut self.folded[at];
        let kind = folded.session.merge_at(rec, host, time);
        if !line.is_empty()
            && line.len() <= MAX_RAW
            && folded.raw.as_ref().is_none_or(|(t, _)| time >= *t)
        {
            folded.raw = Some((time, Cow::Borrowed(line)));
        }
        if kind == RecordKind::LoginFailed {
            let mut one = SessionRecord::new(&folded.tunnel_id);
            one.merge_at(rec, host, time);
            if let Some(f) = failed::FailedLogin::from_session(&one, time, window) {
                self.failed.push((offset, f));
            }
        }
    }
}

impl Batch<'static> {
    /// Folds a later chunk's batch into this one (copying what outlives that chunk), so a session
    /// spread over chunks costs one write. `other`'s offsets must follow this batch's.
    pub fn absorb(&mut self, other: Batch<'_>) {
        for f in other.folded {
            if let Some(&i) = self.index.get(&*f.tunnel_id) {
                let mine = &mut self.folded[i];
                mine.session.merge(&f.session);
                // As `add_at`: the latest record's line, a tie to the later one.
                if let Some((t, line)) = f.raw
                    && mine.raw.as_ref().is_none_or(|(m, _)| t >= *m)
                {
                    mine.raw = Some((t, Cow::Owned(line.into_owned())));
                }
                continue;
            }
            let key: Cow<'static, str> = Cow::Owned(f.tunnel_id.into_owned());
            self.folded.push(Folded {
                tunnel_id: key.clone(),
                session: f.session,
                raw: f.raw.map(|(t, l)| (t, Cow::Owned(l.into_owned()))),
                first_offset: f.first_offset,
            });
            self.index.insert(key, self.folded.len() - 1);
        }
        self.failed.extend(other.failed);
        self.offsets.extend(other.offsets);
        self.unkeyed += other.unkeyed;
        self.records += other.records;
        self.corrupt.extend(other.corrupt);
    }

    /// Bytes of raw lines held (what absorbing chunks costs in memory beyond the sessions).
    pub fn raw_bytes(&self) -> usize {
        self.folded
            .iter()
            .filter_map(|f| f.raw.as_ref().map(|(_, l)| l.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests;
