//! What a review's subject is: a catalogued recording, a deleted one (its tombstone), or a session;
//! read once when the review is recorded and copied into it ([`Context`]).

use super::ReviewError;
use super::model::{Context, Kind, Subject};
use crate::audit_logs::sessions::SESSION_ROW;
use crate::catalogue::RECORDINGS_TABLE;
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::session::SESSIONS_TABLE;
use crate::catalogue::session::tunnel_key;
use crate::retention::tombstone::DELETIONS_TABLE;
use crate::tables::ops::get;
use crate::tables::{Entity, TableStore, get_str};

fn s(e: &Entity, k: &str) -> String {
    get_str(e, k).unwrap_or_default().to_owned()
}

/// The `sessionwindows` day of a `sessions` row: its start, else its first record.
fn session_day(e: &Entity) -> String {
    ["SessionStart", "FirstRecordTime"]
        .iter()
        .find_map(|k| get_str(e, k).filter(|v| v.len() >= 10))
        .map(|v| v[..10].to_owned())
        .unwrap_or_default()
}

/// The context of `subject`.
///
/// # Errors
/// `Invalid` for a malformed id, `NotFound` for an unknown subject, `Storage`.
pub async fn resolve(tables: &dyn TableStore, subject: &Subject) -> Result<Context, ReviewError> {
    match subject.kind {
        Kind::Recording => recording(tables, &subject.id).await,
        Kind::Session => {
            let id = &subject.id;
            if id.is_empty() || id.len() > 128 || tunnel_key(id) != *id {
                return Err(ReviewError::Invalid("session: not a tunnel id".into()));
            }
            let row = get(tables, SESSIONS_TABLE, &tunnel_key(id), SESSION_ROW)
                .await?
                .ok_or_else(|| ReviewError::NotFound(format!("session {id}")))?;
            let day = session_day(&row.entity);
            Ok(Context {
                subject_day: day.clone(),
                session_day: day,
                tunnel_id: id.clone(),
                ..from_row(&row.entity)
            })
        }
    }
}

fn from_row(e: &Entity) -> Context {
    let host = Some(s(e, "BastionHost"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| s(e, "SourceBastion"));
    Context {
        bastion_host: host,
        target_vm: s(e, "TargetVm"),
        user_name: s(e, "UserName"),
        session_start: s(e, "SessionStart"),
        tunnel_id: s(e, "TunnelId"),
        ..Context::default()
    }
}

async fn recording(tables: &dyn TableStore, id: &str) -> Result<Context, ReviewError> {
    let key = RecordingKey::parse(id)
        .ok_or_else(|| ReviewError::Invalid("recording: not a recording id".into()))?;
    let mut ctx = match get(tables, RECORDINGS_TABLE, &key.pk, &key.rk).await? {
        Some(row) => from_row(&row.entity),
        None => {
            // Deleted by retention: the review is kept with its tombstone.
            let t = get(tables, DELETIONS_TABLE, &key.pk, &key.rk)
                .await?
                .ok_or_else(|| ReviewError::NotFound(format!("recording {id}")))?;
            Context {
                deleted_at: s(&t.entity, "DeletedAt"),
                deleted_reason: s(&t.entity, "Reason"),
                ..Context::default()
            }
        }
    };
    ctx.subject_day.clone_from(&key.pk);
    if !ctx.tunnel_id.is_empty()
        && tunnel_key(&ctx.tunnel_id) == ctx.tunnel_id
        && let Some(row) = get(
            tables,
            SESSIONS_TABLE,
            &tunnel_key(&ctx.tunnel_id),
            SESSION_ROW,
        )
        .await?
    {
        ctx.session_day = session_day(&row.entity);
        if ctx.bastion_host.is_empty() {
            ctx.bastion_host = s(&row.entity, "BastionHost");
        }
    }
    Ok(ctx)
}
