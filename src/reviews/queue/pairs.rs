//! "First to this VM in 30 days": table `reviewpairs` keeps, per (user, VM), the recent session
//! starts (PK: the pair through the one key encoder, RK `seen`), so a session's answer costs the
//! pair's row, never a scan of 30 days of sessions.

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use time::{Duration, OffsetDateTime};

use super::risk::{self, user_of};
use crate::catalogue::session::outcome::CONNECTED;
use crate::catalogue::window::WindowRow;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::update;
use crate::tables::{Entity, TableError, TableStore, get_str};

/// Recent starts per (user, VM).
pub const PAIRS_TABLE: &str = "reviewpairs";
/// Most starts kept per pair.
const MAX_STARTS: usize = 200;
/// Pairs written at once.
const WRITERS: usize = 16;

/// The partition of a session's user and VM: through the one encoder, so a user name of any
/// length keeps the key within the service's limit (base64url grows text by a third: about 765
/// characters were enough to pass 1 KiB).
pub(crate) fn pair_key(s: &WindowRow) -> String {
    let pair = format!("{}|{}", user_of(s).to_lowercase(), s.vm.to_lowercase());
    key(&pair, Spelling::Encoded, MAX_KEY_BYTES)
}

/// The tunnels among `sessions` that are their user's first to the VM in 30 days, with their
/// starts recorded (a read per pair, and a write when a start is new).
///
/// # Errors
/// Table errors.
pub async fn firsts(
    tables: &dyn TableStore,
    sessions: &[WindowRow],
) -> Result<HashSet<String>, TableError> {
    let mut by_pair: BTreeMap<String, Vec<&WindowRow>> = BTreeMap::new();
    for s in sessions
        .iter()
        .filter(|s| s.outcome == CONNECTED && !user_of(s).is_empty())
    {
        by_pair.entry(pair_key(s)).or_default().push(s);
    }
    let mut pairs = Vec::with_capacity(by_pair.len());
    for (pk, group) in by_pair {
        pairs.push(pair_firsts(tables, pk, group));
    }
    let decided: Vec<HashSet<String>> = futures::stream::iter(pairs)
        .buffer_unordered(WRITERS)
        .try_collect()
        .await?;
    Ok(decided.into_iter().flatten().collect())
}

/// One pair's row: which of `group` are firsts; their starts recorded.
async fn pair_firsts(
    tables: &dyn TableStore,
    pk: String,
    group: Vec<&WindowRow>,
) -> Result<HashSet<String>, TableError> {
    let mut decided = HashSet::new();
    update(tables, PAIRS_TABLE, &pk, "seen", &mut |cur| {
        let stored: Vec<OffsetDateTime> = cur
            .and_then(|c| get_str(&c.entity, "Starts"))
            .unwrap_or_default()
            .split(',')
            .filter_map(timestamp)
            .collect();
        let mut starts = stored.clone();
        starts.extend(group.iter().map(|s| s.start));
        starts.sort();
        starts.dedup();
        decided = group
            .iter()
            .filter(|s| risk::first_to_vm(s.start, &starts))
            .map(|s| s.tunnel_id.clone())
            .collect();
        let newest = starts.last().copied()?;
        starts.retain(|t| *t >= newest - risk::FIRST_WITHIN - Duration::days(1));
        let keep = starts.len().saturating_sub(MAX_STARTS);
        let kept = &starts[keep..];
        if kept == stored.as_slice() {
            return None;
        }
        let text: Vec<String> = kept.iter().map(|t| format_utc_millis(*t)).collect();
        let mut e = Entity::new();
        e.insert("Starts".into(), text.join(",").into());
        Some(e)
    })
    .await?;
    Ok(decided)
}
