//! "First to this VM in 30 days": table `reviewpairs` keeps each (user, VM)'s recent session
//! starts (PK: the pair through the one key encoder, RK `seen`): a read per pair, not 30 days.

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use time::{Duration, OffsetDateTime};

use super::risk::{self, user_of};
use crate::azure::AzureError;
use crate::catalogue::days::DayRow;
use crate::catalogue::session::outcome::CONNECTED;
use crate::dates::{format_utc_millis, timestamp};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::update;
use crate::tables::{Entity, IN_FLIGHT, TableStore, get_str};

/// Recent starts per (user, VM).
pub const PAIRS_TABLE: &str = "reviewpairs";
/// Most starts kept per pair.
const MAX_STARTS: usize = 200;

/// The partition of a session's user and VM: through the one encoder, so a user name of any
/// length keeps the key within the service's limit.
pub(crate) fn pair_key(s: &DayRow) -> String {
    let pair = format!("{}|{}", user_of(s).to_lowercase(), s.vm.to_lowercase());
    key(&pair, Spelling::Encoded, MAX_KEY_BYTES)
}

/// The tunnels among `sessions` that are their user's first to the VM in 30 days, their starts
/// recorded (a read per pair, 16 at a time, and a write when a start is new).
pub async fn firsts(
    tables: &dyn TableStore,
    sessions: &[DayRow],
) -> Result<HashSet<String>, AzureError> {
    let mut by_pair: BTreeMap<String, Vec<&DayRow>> = BTreeMap::new();
    for s in sessions
        .iter()
        .filter(|s| s.outcome == CONNECTED && !user_of(s).is_empty())
    {
        by_pair.entry(pair_key(s)).or_default().push(s);
    }
    let mut pairs = Vec::with_capacity(by_pair.len());
    for (pk, group) in by_pair {
        pairs.push(async move {
            let mut decided = HashSet::new();
            update(tables, PAIRS_TABLE, &pk, "seen", &mut |cur| {
                let text = cur
                    .and_then(|c| get_str(&c.entity, "Starts"))
                    .unwrap_or_default();
                let stored: Vec<OffsetDateTime> = text.split(',').filter_map(timestamp).collect();
                let mut starts: Vec<_> = stored
                    .iter()
                    .copied()
                    .chain(group.iter().map(|s| s.start))
                    .collect();
                starts.sort();
                starts.dedup();
                let first = |s: &&&DayRow| risk::first_to_vm(s.start, &starts);
                decided = group
                    .iter()
                    .filter(first)
                    .map(|s| s.tunnel_id.clone())
                    .collect();
                let newest = starts.last().copied()?;
                starts.retain(|t| *t >= newest - risk::FIRST_WITHIN - Duration::days(1));
                let kept = &starts[starts.len().saturating_sub(MAX_STARTS)..];
                let text: Vec<String> = kept.iter().map(|t| format_utc_millis(*t)).collect();
                let row = Entity::from_iter([("Starts".to_owned(), text.join(",").into())]);
                (kept != stored.as_slice()).then_some(row)
            })
            .await?;
            Ok::<_, AzureError>(decided)
        });
    }
    let decided: Vec<HashSet<String>> = futures::stream::iter(pairs)
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    Ok(decided.into_iter().flatten().collect())
}
