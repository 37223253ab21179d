//! The one writer of a session: its `sessions` row merged, its `sessionwindows` day row first.

use std::sync::Mutex;

use serde_json::Value;
use time::OffsetDateTime;

use super::record::{SESSION_ROW, SESSIONS_TABLE, SessionRecord};
use crate::azure::AzureError;
use crate::catalogue::days::{self, Before, DayRow, Span};
use crate::tables::{TableStore, ops};

/// `UserIdentity`: `UserObjectId` is the object id Microsoft Graph gave for `UserEmail`.
pub const RESOLVED: &str = "resolved";
/// `UserIdentity`: Graph has no user with that UPN (404).
pub const NOT_FOUND: &str = "not-found";
/// `UserIdentity`: the read failed (`UserIdentityReason` says why); tried again at the next change.
pub const UNRESOLVED: &str = "unresolved";

/// True when row `e`'s person was resolved or found not to exist: bound for good (a later lookup
/// would find whoever holds the name then).
pub fn person_bound(e: &crate::tables::Entity) -> bool {
    matches!(
        e.get("UserIdentity").and_then(Value::as_str),
        Some(RESOLVED | NOT_FOUND)
    )
}

/// Whether session `tunnel` has a row whose person is not bound yet.
///
/// # Errors
/// Table errors.
pub async fn person_unbound(tables: &dyn TableStore, tunnel: &str) -> Result<bool, AzureError> {
    let row = ops::get(tables, SESSIONS_TABLE, tunnel, SESSION_ROW).await?;
    Ok(row.is_some_and(|r| !person_bound(&r.entity)))
}

/// Binds session `tunnel`'s person `upn` (its `UserEmail`, trimmed) as `state` ([`RESOLVED`],
/// [`NOT_FOUND`] or [`UNRESOLVED`]) with object id `id` and reason `why`, unless its row was bound
/// meanwhile or names another person since (ETag-conditional).
///
/// # Errors
/// Table errors.
pub async fn bind_person(
    tables: &dyn TableStore,
    tunnel: &str,
    upn: &str,
    (state, id, why): (&str, &str, &str),
) -> Result<(), AzureError> {
    ops::update(tables, SESSIONS_TABLE, tunnel, SESSION_ROW, &mut |cur| {
        let cur = cur?;
        let named = cur
            .entity
            .get("UserEmail")
            .and_then(Value::as_str)
            .map(str::trim);
        if person_bound(&cur.entity) || named != Some(upn) {
            return None;
        }
        let mut e = cur.entity.clone();
        e.insert("UserObjectId".into(), id.into());
        e.insert("UserIdentity".into(), state.into());
        e.insert("UserIdentityReason".into(), why.into());
        Some(e)
    })
    .await
    .map(drop)
}

/// The one writer of a session: merges `part` (a partial view of one session, folded from
/// records) into its stored row and, when the day row's fields change, writes that first
/// ([`days::put`], with the pending range `affected` gives for the change from the stored
/// session to the merged one), so a crash between the two writes leaves the session row behind
/// and the next read of the same records writes both again. `raw` is the latest raw record line
/// (`LastRaw`). Returns whether the session changed.
///
/// A writer whose `sessions` write lost to another's (two hours of one session written at once)
/// wrote its day row from a view read before the other's change: every later attempt writes the
/// day row again from the merged session, also when the merge changes nothing more, and removes
/// the row it put under another start day (a view without the session's start reads its start as
/// its first record's time, which can lie on a later day).
///
/// # Errors
/// Table errors; `Transient` when the row kept changing.
pub async fn upsert(
    tables: &dyn TableStore,
    outbox: &crate::export::Outbox,
    part: &SessionRecord,
    raw: Option<&str>,
    now: OffsetDateTime,
    affected: &(dyn Fn(Option<&SessionRecord>, &SessionRecord) -> Option<Span> + Sync),
) -> Result<bool, AzureError> {
    // The start day this writer last put the session's day row under, if any.
    let put_under: Mutex<Option<String>> = Mutex::new(None);
    if part.opens()
        && let Some(done) = insert_new(tables, outbox, part, raw, now, affected, &put_under).await?
    {
        return Ok(done);
    }
    let tunnel = part.tunnel_id.as_str();
    let current = ops::get(tables, SESSIONS_TABLE, tunnel, SESSION_ROW).await?;
    let mut changed = false;
    ops::update_with(
        tables,
        SESSIONS_TABLE,
        tunnel,
        SESSION_ROW,
        current,
        |cur| {
            let before = cur
                .as_ref()
                .and_then(|s| SessionRecord::from_entity(&s.entity));
            let mut after = before.clone().unwrap_or_else(|| SessionRecord::new(tunnel));
            after.merge(part);
            after.cap_fields();
            changed = before.as_ref() != Some(&after);
            let put_before = last_put(&put_under);
            let index = (changed || put_before.is_some()).then(|| {
                let was = before.as_ref().map(days::day_of);
                let moved = before.as_ref().and_then(DayRow::of) != DayRow::of(&after);
                let pending = affected(before.as_ref(), &after);
                let day = days::day_of(&after);
                // Put under another day by an earlier attempt, and not the stored session's.
                let stray = put_before.clone().filter(|d| {
                    Some(d) != day.as_ref() && Some(Some(d)) != was.as_ref().map(Option::as_ref)
                });
                let write = moved || pending.is_some() || put_before.is_some();
                (was, write, pending, day, stray)
            });
            let mut e = cur.map(|s| s.entity).unwrap_or_default();
            e.extend(after.to_entity());
            e.extend(raw.map(|line| ("LastRaw".to_owned(), Value::from(line))));
            let (changed, put_under) = (changed, &put_under);
            async move {
                let Some((was, write, pending, day, stray)) = index else {
                    return Ok(None);
                };
                if write {
                    // A session seen for the first time has no day row yet: inserted without a read.
                    let before = was
                        .as_ref()
                        .map_or(Before::New, |d| Before::Day(d.as_deref()));
                    let stray = stray.as_deref();
                    days::put(tables, outbox, &after, now, before, pending, stray).await?;
                    set_put(put_under, day);
                }
                Ok(changed.then(|| (e, ops::Companions::new())))
            }
        },
    )
    .await?;
    Ok(changed)
}

/// The start day the writer last put the day row under.
fn last_put(put_under: &Mutex<Option<String>>) -> Option<String> {
    put_under.lock().map_or(None, |d| d.clone())
}

/// Remembers the start day the writer put the day row under.
fn set_put(put_under: &Mutex<Option<String>>, day: Option<String>) {
    if let Ok(mut d) = put_under.lock() {
        *d = day;
    }
}

/// A session whose connect record is in `part` is usually new: its day row, then its row, are
/// inserted without a read (two calls where a merge takes three). `None` when either is stored
/// already (records read again, or out of order): nothing was overwritten, and the caller merges
/// (knowing, through `put_under`, the day row inserted here when the session row was not).
async fn insert_new(
    tables: &dyn TableStore,
    outbox: &crate::export::Outbox,
    part: &SessionRecord,
    raw: Option<&str>,
    now: OffsetDateTime,
    affected: &(dyn Fn(Option<&SessionRecord>, &SessionRecord) -> Option<Span> + Sync),
    put_under: &Mutex<Option<String>>,
) -> Result<Option<bool>, AzureError> {
    let mut after = SessionRecord::new(&part.tunnel_id);
    after.merge(part);
    after.cap_fields();
    if !days::insert_new(tables, outbox, &after, now, affected(None, &after)).await? {
        return Ok(None);
    }
    set_put(put_under, days::day_of(&after));
    let mut e = after.to_entity();
    e.extend(raw.map(|line| ("LastRaw".to_owned(), Value::from(line))));
    e.insert("PartitionKey".into(), part.tunnel_id.clone().into());
    e.insert("RowKey".into(), SESSION_ROW.into());
    Ok(match ops::insert_once(tables, SESSIONS_TABLE, &e).await? {
        ops::Once::Inserted(_) => Some(true),
        ops::Once::Existed => None,
    })
}
