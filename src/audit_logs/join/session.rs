//! The session side of the join: a session appeared or changed, so every recording that may belong
//! to it (exact keys from `recordingkeys`, then recordings created within its time window) is
//! re-joined through [`join_recording`].

use super::join_recording;
use crate::audit_logs::correlate::{Confidence, SKEW};
use crate::audit_logs::repo::{RECORDING_KEYS_TABLE, query_all};
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::model::{CatalogueEntry, RecordingKey};
use crate::dates::format_date;
use crate::invocation::HandlerError;
use crate::state::AppState;
use crate::tables::filter::Op;
use crate::tables::{Filter, get_str};

/// Most recordings a session change re-examines (bounds one tick's work).
const MAX_RECORDINGS_PER_SESSION: usize = 200;

/// Re-examines every recording that may belong to `session` (exact keys, then its time window).
/// Returns how many recordings were (re)joined.
///
/// # Errors
/// `Retryable` on storage failures.
pub async fn join_session(
    state: &AppState,
    session: &SessionRecord,
) -> Result<usize, HandlerError> {
    let mut keys: Vec<RecordingKey> = Vec::new();
    let exact = query_all(
        &state.tables,
        RECORDING_KEYS_TABLE,
        &Filter::partition(&session.tunnel_id),
        100,
    )
    .await?;
    keys.extend(
        exact
            .iter()
            .filter_map(|s| get_str(&s.entity, "RowKey").and_then(RecordingKey::parse)),
    );
    if let (true, Some(start)) = (session.connected(), session.session_start) {
        let until = session
            .session_end
            .map_or(start + state.audit.open_session_max, |e| {
                e + state.audit.upload_lag
            });
        let (from, to) = (start - SKEW, until);
        let mut day = from.date();
        while day <= to.date() && keys.len() < MAX_RECORDINGS_PER_SESSION {
            let filter = Filter::And(vec![
                Filter::partition(&format_date(day)),
                Filter::str("BlobCreated", Op::Ge, crate::dates::format_utc(from)),
                Filter::str("BlobCreated", Op::Le, crate::dates::format_utc(to)),
            ]);
            let rows = query_all(
                &state.tables,
                RECORDINGS_TABLE,
                &filter,
                MAX_RECORDINGS_PER_SESSION,
            )
            .await?;
            let not_exact = rows.iter().filter(|s| {
                get_str(&s.entity, "MatchConfidence") != Some(Confidence::Exact.as_str())
            });
            keys.extend(
                not_exact
                    .filter_map(|s| CatalogueEntry::from_entity(&s.entity))
                    .map(|e| e.key),
            );
            day = match day.next_day() {
                Some(d) => d,
                None => break,
            };
        }
    }
    keys.sort_by(|a, b| (&a.pk, &a.rk).cmp(&(&b.pk, &b.rk)));
    keys.dedup();
    for key in &keys {
        join_recording(state, key).await?;
    }
    Ok(keys.len())
}
