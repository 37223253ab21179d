//! What a review's subject is: a catalogued recording, a deleted one (its tombstone), or a session;
//! read once when the review is recorded and copied into it ([`Context`], the session's person
//! among it), with the session's user
//! as a [`Person`] (its `UserName` and `UserEmail`, from the catalogue row and the joined session's
//! row, and the object id its session's `UserEmail` was resolved to when the session was first
//! derived: [`super::people`]; the Bastion audit records carry none) for the self-review check.

use super::model::{Context, Kind, Subject};
use crate::catalogue::person::Person;
use crate::catalogue::policy::DELETIONS_TABLE;
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::repo;
use crate::catalogue::session::{self, tunnel_key};
use crate::ports::RequestError;
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

/// The user names a row holds.
fn users(e: &Entity) -> [String; 2] {
    [s(e, "UserEmail"), s(e, "UserName")]
}

/// The object id a `sessions` row's person was resolved to ([`crate::reviews::people`]).
fn object_id(e: &Entity) -> Option<String> {
    (get_str(e, "UserIdentity") == Some(crate::catalogue::session::write::RESOLVED))
        .then(|| s(e, "UserObjectId"))
        .filter(|id| !id.is_empty())
}

/// The context of `subject` and the session's user.
///
/// # Errors
/// `Invalid` for a malformed id, `NotFound` for an unknown subject, `Storage`.
pub async fn resolve(
    tables: &dyn TableStore,
    subject: &Subject,
) -> Result<(Context, Person), RequestError> {
    match subject.kind {
        Kind::Recording => recording(tables, &subject.id).await,
        Kind::Session => {
            let id = &subject.id;
            if id.is_empty() || id.len() > 128 || tunnel_key(id) != *id {
                return Err(RequestError::Invalid("session: not a tunnel id".into()));
            }
            let row = session::row(tables, id)
                .await?
                .ok_or_else(|| RequestError::NotFound(format!("session {id}")))?;
            let day = session_day(&row);
            let user = Person::new(users(&row), object_id(&row).as_deref());
            let ctx = Context {
                subject_day: day.clone(),
                session_day: day,
                tunnel_id: id.clone(),
                ..from_row(&row)
            };
            Ok((ctx, user))
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
        user_email: s(e, "UserEmail"),
        session_start: s(e, "SessionStart"),
        tunnel_id: s(e, "TunnelId"),
        ..Context::default()
    }
}

async fn recording(tables: &dyn TableStore, id: &str) -> Result<(Context, Person), RequestError> {
    let key = RecordingKey::parse(id)
        .ok_or_else(|| RequestError::Invalid("recording: not a recording id".into()))?;
    let mut names: Vec<String> = Vec::new();
    let mut oid = None;
    let mut ctx = match repo::recording_row(tables, &key).await? {
        Some(row) => {
            names.extend(users(&row));
            from_row(&row)
        }
        None => {
            // Deleted by retention: the review is kept with its tombstone.
            let t = get(tables, DELETIONS_TABLE, &key.pk, &key.rk)
                .await?
                .ok_or_else(|| RequestError::NotFound(format!("recording {id}")))?;
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
        && let Some(row) = session::row(tables, &ctx.tunnel_id).await?
    {
        ctx.session_day = session_day(&row);
        if ctx.bastion_host.is_empty() {
            ctx.bastion_host = s(&row, "BastionHost");
        }
        if ctx.user_email.is_empty() {
            ctx.user_email = s(&row, "UserEmail");
        }
        names.extend(users(&row));
        oid = object_id(&row);
    }
    Ok((ctx, Person::new(names, oid.as_deref())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalogue::RECORDINGS_TABLE;
    use crate::catalogue::session::{SESSION_ROW, SESSIONS_TABLE};
    use crate::testkit::{fakes, upsert};

    const TUNNEL: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

    #[tokio::test]
    async fn the_review_keeps_the_sessions_person_beside_its_vm_account() {
        let f = fakes();
        let tables = f.state.ports.tables.as_ref();
        let t = time::macros::datetime!(2025-03-14 09:00 UTC);
        let key = RecordingKey::for_source_blob(t, "acct", "recordings", "r.mp4");
        upsert(
            tables,
            SESSIONS_TABLE,
            json!({"PartitionKey": tunnel_key(TUNNEL), "RowKey": SESSION_ROW,
                "UserEmail": "bob@contoso.com", "UserName": "administrator",
                "SessionStart": "2025-03-14T09:00:00Z", "BastionHost": "bas-hub"}),
        )
        .await;
        // The recording's row joined before the session named its person: the session's is taken.
        upsert(
            tables,
            RECORDINGS_TABLE,
            json!({"PartitionKey": key.pk, "RowKey": key.rk, "UserName": "administrator",
                "TunnelId": TUNNEL, "TargetVm": "vm-1"}),
        )
        .await;
        for (kind, id) in [
            (Kind::Recording, key.id()),
            (Kind::Session, TUNNEL.to_owned()),
        ] {
            let (ctx, _) = resolve(tables, &Subject { kind, id })
                .await
                .expect("resolved");
            assert_eq!(
                (ctx.user_email.as_str(), ctx.user_name.as_str()),
                ("bob@contoso.com", "administrator"),
                "{kind:?}"
            );
        }
    }
}
