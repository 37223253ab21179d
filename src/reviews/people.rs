//! The session's person by object id: each session's `UserEmail` (the portal user's Entra UPN,
//! which the Bastion audit records carry without an object id) resolved through Microsoft Graph
//! ([`crate::graph::Directory`]) when `ReviewQueue` first derives the session after the join named
//! its user ([`bind`]), and kept on its `sessions` row: `UserObjectId`, and `UserIdentity`
//! ([`RESOLVED`], [`NOT_FOUND`], or [`UNRESOLVED`] with `UserIdentityReason`). The duty checks
//! compare a reviewer's `oid` with it, so a user renamed since the session is still its user.
//!
//! Bound once: a row that says `resolved` or `not-found` is never resolved again (a later lookup
//! would find whoever holds the name then). A read that failed (403, throttled, unreachable) says
//! `unresolved`, and the session's next change tries again. Without `GRAPH_ENDPOINT` nothing is
//! bound: no session has an object id, and every review is `unverified-identity`.
//!
//! Each person is read once per [`FRESH_HOURS`], not once per session: table `people` (PK the UPN
//! in lower case through the one key encoder, RK [`PEOPLE_ROW`]) keeps `UserPrincipalName`,
//! `ObjectId` (empty: not found) and `ResolvedAt`.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::azure::AzureError;
use crate::catalogue::session::write::{self, NOT_FOUND, RESOLVED, UNRESOLVED};
use crate::dates::{format_utc_millis, timestamp};
use crate::graph::Directory;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, write_creating_table};
use crate::tables::{TableStore, WriteMode, get_str};

/// The people table.
pub const PEOPLE_TABLE: &str = "people";
/// Its row key.
pub const PEOPLE_ROW: &str = "entra";
/// How long a person's lookup is reused.
pub const FRESH_HOURS: i64 = 24;

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The user's object id.
    Id(String),
    /// No such user.
    NotFound,
}

/// The object id of `upn`, from table `people` when read within [`FRESH_HOURS`], else from Graph
/// (and kept there).
///
/// # Errors
/// The directory's failure (nothing is kept); table errors.
pub async fn lookup(
    tables: &dyn TableStore,
    directory: &dyn Directory,
    upn: &str,
    now: OffsetDateTime,
) -> Result<Found, AzureError> {
    let name = upn.trim().to_lowercase();
    let pk = key(&name, Spelling::Encoded, MAX_KEY_BYTES);
    if let Some(row) = get(tables, PEOPLE_TABLE, &pk, PEOPLE_ROW).await?
        && get_str(&row.entity, "UserPrincipalName") == Some(name.as_str())
        && get_str(&row.entity, "ResolvedAt")
            .and_then(timestamp)
            .is_some_and(|at| at + Duration::hours(FRESH_HOURS) > now)
    {
        let id = get_str(&row.entity, "ObjectId").unwrap_or_default();
        return Ok(if id.is_empty() {
            Found::NotFound
        } else {
            Found::Id(id.to_owned())
        });
    }
    let found = directory.object_id(upn.trim()).await?;
    let row = crate::tables::entity(json!({
        "PartitionKey": pk, "RowKey": PEOPLE_ROW, "UserPrincipalName": name,
        "ObjectId": found.clone().unwrap_or_default(), "ResolvedAt": format_utc_millis(now),
    }));
    write_creating_table(tables, PEOPLE_TABLE, &row, WriteMode::Upsert).await?;
    Ok(found.map_or(Found::NotFound, Found::Id))
}

/// Binds session `tunnel`'s person (`upn`, its `UserEmail`) to an object id, unless its row says
/// it is bound already. A failed read is kept as `unresolved` with its reason, not raised: the
/// queue goes on. Returns false when the read failed.
///
/// # Errors
/// Table errors.
pub async fn bind(
    tables: &dyn TableStore,
    directory: &dyn Directory,
    tunnel: &str,
    upn: &str,
    now: OffsetDateTime,
) -> Result<bool, AzureError> {
    if upn.trim().is_empty() || !write::person_unbound(tables, tunnel).await? {
        return Ok(true);
    }
    let (state, id, why) = match lookup(tables, directory, upn, now).await {
        Ok(Found::Id(id)) => (RESOLVED, id, String::new()),
        Ok(Found::NotFound) => (NOT_FOUND, String::new(), String::new()),
        Err(e) => {
            tracing::warn!(error = %e, "the session's person: Microsoft Graph read failed");
            (UNRESOLVED, String::new(), e.to_string())
        }
    };
    write::bind_person(tables, tunnel, upn.trim(), (state, &id, &why)).await?;
    Ok(state != UNRESOLVED)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::session::{SESSION_ROW, SESSIONS_TABLE};
    use crate::testkit::{fakes, upsert};

    /// A directory with one user, counting reads; `fail` makes every read a 403.
    struct Counted {
        reads: Mutex<u32>,
        fail: bool,
    }

    #[async_trait]
    impl Directory for Counted {
        async fn object_id(&self, upn: &str) -> Result<Option<String>, AzureError> {
            *self.reads.lock().expect("lock") += 1;
            if self.fail {
                return Err(AzureError::Forbidden {
                    role: "User.ReadBasic.All".into(),
                });
            }
            Ok((upn.eq_ignore_ascii_case("alice@contoso.com")).then(|| "oid-a".to_owned()))
        }

        async fn group_members(
            &self,
            _: &str,
        ) -> Result<Vec<crate::graph::groups::GroupInstance>, AzureError> {
            Err(AzureError::Permanent("reviews read no group".into()))
        }

        async fn transitive_members(
            &self,
            _: &str,
        ) -> Result<Vec<crate::graph::members::Member>, AzureError> {
            Err(AzureError::Permanent("reviews read no group".into()))
        }
    }

    async fn session(tables: &dyn TableStore, tunnel: &str, upn: &str) {
        let row = json!({"PartitionKey": tunnel, "RowKey": SESSION_ROW, "UserEmail": upn});
        upsert(tables, SESSIONS_TABLE, row).await;
    }

    async fn row(tables: &dyn TableStore, tunnel: &str) -> crate::tables::Entity {
        let row = get(tables, SESSIONS_TABLE, tunnel, SESSION_ROW).await;
        row.expect("get").expect("row").entity
    }

    #[tokio::test]
    async fn each_person_is_read_once_a_day_and_each_session_bound_once() {
        let f = fakes();
        let t = f.state.ports.tables.as_ref();
        let now = datetime!(2025-03-14 12:00 UTC);
        let graph = Counted {
            reads: Mutex::new(0),
            fail: false,
        };
        for (tunnel, upn) in [("s1", "alice@contoso.com"), ("s2", "ALICE@contoso.com ")] {
            session(t, tunnel, upn).await;
            assert!(bind(t, &graph, tunnel, upn, now).await.expect("bind"));
            assert_eq!(row(t, tunnel).await["UserObjectId"], "oid-a");
        }
        assert_eq!(
            *graph.reads.lock().expect("lock"),
            1,
            "one person, one read"
        );
        // Bound: never read again, even after the day (the name may belong to someone else then).
        let later = now + Duration::hours(FRESH_HOURS + 1);
        assert!(
            bind(t, &graph, "s1", "alice@contoso.com", later)
                .await
                .expect("bind")
        );
        assert_eq!(*graph.reads.lock().expect("lock"), 1);
        // A new session after the day reads the person again.
        session(t, "s3", "alice@contoso.com").await;
        bind(t, &graph, "s3", "alice@contoso.com", later)
            .await
            .expect("bind");
        assert_eq!(*graph.reads.lock().expect("lock"), 2);
        // No such user: not-found, kept.
        session(t, "s4", "bob@contoso.com").await;
        bind(t, &graph, "s4", "bob@contoso.com", now)
            .await
            .expect("bind");
        let bob = row(t, "s4").await;
        assert_eq!(
            (&bob["UserIdentity"], &bob["UserObjectId"]),
            (&json!(NOT_FOUND), &json!(""))
        );
    }

    #[tokio::test]
    async fn a_failed_read_is_kept_as_unresolved_and_tried_again() {
        let f = fakes();
        let t = f.state.ports.tables.as_ref();
        let now = datetime!(2025-03-14 12:00 UTC);
        let refused = Counted {
            reads: Mutex::new(0),
            fail: true,
        };
        session(t, "s1", "alice@contoso.com").await;
        assert!(
            !bind(t, &refused, "s1", "alice@contoso.com", now)
                .await
                .expect("bind")
        );
        let r = row(t, "s1").await;
        assert_eq!(r["UserIdentity"], UNRESOLVED);
        assert!(
            r["UserIdentityReason"]
                .as_str()
                .is_some_and(|w| w.contains("User.ReadBasic.All"))
        );
        let granted = Counted {
            reads: Mutex::new(0),
            fail: false,
        };
        assert!(
            bind(t, &granted, "s1", "alice@contoso.com", now)
                .await
                .expect("bind")
        );
        assert_eq!(row(t, "s1").await["UserObjectId"], "oid-a");
    }
}
