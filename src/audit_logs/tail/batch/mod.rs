//! One chunk's worth of parsed records, folded per tunnel before any table write (so a chunk with
//! many records of one session costs one upsert), and its flush to the tables.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;
use time::OffsetDateTime;

use crate::audit_logs::detect::failed;
use crate::audit_logs::join;
use crate::audit_logs::parse::{LineError, Record};
use crate::audit_logs::repo::{self, SESSIONS_TABLE, window_of, windows::put_window};
use crate::audit_logs::sessions::{
    RecordKind, SESSION_ROW, SessionRecord, SessionView, record_time,
};
use crate::invocation::HandlerError;
use crate::state::AppState;

/// Longest raw line kept on a session row (`LastRaw`): keeps unknown fields without risking the
/// 64 KiB property limit.
const MAX_RAW: usize = 16 * 1024;

/// FNV-1a over the key bytes, 8 at a time: the index only holds one chunk's tunnel ids (GUIDs
/// written by Azure, bounded per chunk), so SipHash's flooding resistance buys nothing here and
/// costs a measurable share of the fold.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut v = [0u8; 8];
            v.copy_from_slice(w);
            h = (h ^ u64::from_le_bytes(v)).wrapping_mul(0x0000_0100_0000_01b3);
            h ^= h >> 29;
        }
        for &b in words.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// One tunnel's records of a chunk, folded.
#[derive(Debug)]
pub struct Folded<'a> {
    /// Lower-case tunnel id (borrowed from the chunk when it already is lower-case).
    pub tunnel_id: Cow<'a, str>,
    /// The partial session, borrowing its text from the chunk: owned strings are made only when
    /// it is merged into the stored row at flush.
    pub session: SessionView<'a>,
    /// Latest raw record (time, line), borrowed from the chunk: copied only at flush, for the
    /// one line per session that wins.
    pub raw: Option<(Option<OffsetDateTime>, &'a [u8])>,
}

/// Records of one chunk (lines borrowed from the chunk's buffer for `'a`).
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// Index into `folded` by (lower-case) tunnel id. Kept apart from the large `Folded` values so
    /// growing the map moves small entries only.
    index: HashMap<Cow<'a, str>, usize, BuildHasherDefault<KeyHasher>>,
    /// Partial sessions, in first-seen order.
    folded: Vec<Folded<'a>>,
    /// Failed logins seen.
    pub failed: Vec<failed::FailedLogin>,
    /// Records without a tunnel id (cannot be sessionized; counted).
    pub unkeyed: u64,
    /// Records folded.
    pub records: u64,
    /// Corrupt lines: (offset, reason, line).
    pub corrupt: Vec<(LineError, Vec<u8>)>,
}

/// The lower-case form of a tunnel id, borrowed when it already is lower-case (Azure writes
/// lower-case GUIDs, so the common case allocates nothing).
fn lower_key(tunnel: Cow<'_, str>) -> Cow<'_, str> {
    if tunnel.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(tunnel.to_ascii_lowercase())
    } else {
        tunnel
    }
}

impl<'a> Batch<'a> {
    /// An empty batch sized for a chunk of `bytes`: room for about one session per two ~1 KB
    /// records, so the fold does not regrow (and move) its tables in every chunk. Only an estimate:
    /// the tables still grow when a chunk holds more sessions, and the reservation is capped so a
    /// whole legacy document does not reserve memory up front.
    pub fn for_chunk(bytes: usize) -> Self {
        let sessions = (bytes / 2048).min(8192);
        Self {
            index: HashMap::with_capacity_and_hasher(sessions, BuildHasherDefault::default()),
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

    /// Folds one record; `line` is its raw text (for `LastRaw`, empty when there is none).
    pub fn add(&mut self, rec: &Record<'a>, line: &'a [u8], host: &'a str, window: time::Duration) {
        self.records += 1;
        let tunnel = match rec.properties.tunnel_id.as_ref().map(|t| &t.0) {
            Some(Cow::Borrowed(t)) => Cow::Borrowed(t.trim()),
            Some(Cow::Owned(t)) => Cow::Owned(t.trim().to_owned()),
            None => Cow::Borrowed(""),
        };
        if tunnel.is_empty() {
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
                session: SessionView::default(),
                raw: None,
            });
            self.index.insert(key, self.folded.len() - 1);
            self.folded.len() - 1
        };
        let folded = &mut self.folded[at];
        let kind = folded.session.fold(rec, host, time);
        if !line.is_empty() && line.len() <= MAX_RAW && folded.raw.is_none_or(|(t, _)| time >= t) {
            folded.raw = Some((time, line));
        }
        if kind == RecordKind::LoginFailed {
            let mut one = SessionRecord::new(&folded.tunnel_id);
            one.merge_at(rec, host, time);
            if let Some(f) = failed::FailedLogin::from_session(&one, time, window) {
                self.failed.push(f);
            }
        }
    }
}

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    /// Session rows changed.
    pub sessions: usize,
    /// Recordings (re)joined.
    pub joined: usize,
    /// Failed-login partitions touched (for burst detection).
    pub failed_partitions: BTreeSet<String>,
}

/// Writes a batch: session upserts (merge into the stored row), index rows, failed logins, and the
/// join for sessions whose join-relevant fields changed.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn flush(
    state: &AppState,
    batch: Batch<'_>,
    now: OffsetDateTime,
) -> Result<Flushed, HandlerError> {
    let mut out = Flushed::default();
    for folded in batch.folded {
        let raw = folded
            .raw
            .map(|(_, l)| String::from_utf8_lossy(l).into_owned());
        let Some((before, after)) =
            upsert_session(state, &folded.tunnel_id, &folded.session, raw.as_deref()).await?
        else {
            continue;
        };
        out.sessions += 1;
        let changed = |view: fn(&SessionRecord) -> ListedView<'_>| {
            before.as_ref().is_none_or(|b| view(b) != view(&after))
        };
        let join_changed = changed(|s| (join_relevant(s), None));
        if join_changed || changed(listed) {
            let from = before.as_ref().and_then(window_of);
            put_window(&state.tables, &after, now, from.as_deref()).await?;
        }
        if join_changed {
            out.joined += join::join_session(state, &after).await?;
        }
    }
    for f in &batch.failed {
        out.failed_partitions
            .extend(failed::record(&state.tables, f).await?);
    }
    // Before the chunk's offset is saved: a crash from here on re-reads the chunk.
    failed::mark_pending(&state.tables, &out.failed_partitions).await?;
    Ok(out)
}

type JoinView<'a> = (
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

/// What the `sessionwindows` row shows beyond the join view (see `GET /api/sessions`).
type ListedView<'a> = (
    JoinView<'a>,
    Option<(&'a str, &'a str, &'a str, Option<i64>)>,
);

fn listed(s: &SessionRecord) -> ListedView<'_> {
    (
        join_relevant(s),
        Some((
            &s.client_ip,
            &s.target_resource_id,
            &s.protocol,
            s.effective_duration_ms(),
        )),
    )
}

fn join_relevant(s: &SessionRecord) -> JoinView<'_> {
    (
        // The index row's start (and day partition) falls back to the first record's time.
        s.session_start.or(s.first_record_time),
        s.session_start,
        s.session_end,
        &s.outcome,
        &s.target_vm,
        &s.user_name,
        &s.user_email,
        &s.bastion_host,
    )
}

/// Merges `delta` into the stored session; `None` when nothing changed.
async fn upsert_session(
    state: &AppState,
    tunnel_id: &str,
    delta: &SessionView<'_>,
    raw: Option<&str>,
) -> Result<Option<(Option<SessionRecord>, SessionRecord)>, HandlerError> {
    let mut result = None;
    repo::update(
        &state.tables,
        SESSIONS_TABLE,
        tunnel_id,
        SESSION_ROW,
        &mut |cur| {
            let before = cur.and_then(SessionRecord::from_entity);
            let mut merged = before
                .clone()
                .unwrap_or_else(|| SessionRecord::new(tunnel_id));
            delta.merge_into(&mut merged);
            if before.as_ref() == Some(&merged) {
                result = None;
                return None;
            }
            let mut e = cur.cloned().unwrap_or_default();
            e.extend(merged.to_entity());
            if let Some(line) = raw {
                e.insert("LastRaw".into(), Value::String(line.to_owned()));
            }
            result = Some((before, merged));
            Some(e)
        },
    )
    .await?;
    Ok(result)
}

#[cfg(test)]
mod tests;
