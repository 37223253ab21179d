//! Pauses every instance sees. Resource Manager's limits are per subscription, principal and
//! region, whatever instance of the app calls (every instance runs as the same identity in the
//! same region), so a 429 one instance gets says as much to the others: the [`super::Pacer`]
//! records the pause of the throttled scope ([`key`]) through a [`SharedPauses`] port and reads
//! the others' before each try. The port's implementation (a table, cached a few seconds per
//! process) lives above the plumbing and is handed to the client at start-up.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::lane::Lane;

/// The pauses of throttled scopes, as every instance of the app records and reads them.
#[async_trait]
pub trait SharedPauses: Send + Sync + std::fmt::Debug {
    /// Until when `key` ([`key`]) is paused, as last read (a recent read may be reused); `None`
    /// when no pause was recorded or it could not be read (the scope is then paced as before).
    async fn until(&self, key: &str) -> Option<SystemTime>;
    /// Records `key` paused until `until`; a later pause recorded meanwhile stands ([`later`]).
    async fn record(&self, key: &str, until: SystemTime);
}

/// The shared record's key of a lane's throttle scope ([`super::scope_of`]): reads and writes
/// have separate limits, so separate pauses.
pub fn key(lane: Lane, scope: &str) -> String {
    format!("{}/{scope}", lane.as_str())
}

/// The pause to keep of a recorded one and a new one: the later (an earlier `until` arriving
/// late never shortens a pause).
pub fn later(recorded: Option<SystemTime>, new: SystemTime) -> SystemTime {
    recorded.map_or(new, |r| r.max(new))
}

/// What is left at `now` of a pause until `until`: `None` once it is over (an expired pause is
/// ignored).
pub fn left(until: SystemTime, now: SystemTime) -> Option<Duration> {
    until.duration_since(now).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_later_pause_wins_and_an_expired_one_is_ignored() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (short, long) = (t0 + Duration::from_secs(5), t0 + Duration::from_secs(30));
        assert_eq!(later(None, short), short);
        assert_eq!(
            later(Some(long), short),
            long,
            "an earlier until never shortens"
        );
        assert_eq!(later(Some(short), long), long);
        assert_eq!(left(long, t0), Some(Duration::from_secs(30)));
        assert_eq!(left(short, long), None, "over: ignored");
        assert_eq!(left(short, short), None, "ends now: over");
    }

    #[test]
    fn reads_and_writes_of_one_scope_have_separate_keys() {
        let scope = "11111111-2222-3333-4444-555555555555/microsoft.network";
        assert_eq!(key(Lane::Reads, scope), format!("reads/{scope}"));
        assert_ne!(key(Lane::Reads, scope), key(Lane::Writes, scope));
    }
}
