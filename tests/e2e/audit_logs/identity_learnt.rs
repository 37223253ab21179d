//! A write is judged by the host's recording identity in force when it was written, end to end on
//! Azurite: no `EstateCheck` has read host `b1` yet, so an Entra write by the host's identity and
//! one by another principal are both not ruled out (`vouches-identity-unknown`, the match exact);
//! then the host's identity changes, and the first `EstateCheck` reads the new one. It covers no
//! time before that check, so neither write is judged by it: both say
//! `vouches-identity-unobserved`, naming the host, the matches stay exact and no
//! `recording.suspect` goes out (judged by the identity learnt later, the host's own write would
//! have been `writer-not-recording-identity`).

use std::collections::BTreeMap;

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use bastion_testkit::loganalytics::FakeLogs;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::identity::{OTHER_OID, oauth_write, spawn, tick};
use super::planted::{audit_hour, catalogue, of_kind, recording_rows, session, tally};
use crate::estate::fake_arm::principal;
use crate::harness;

const HOSTED: &str = "d0d0d0d0-0000-4000-8000-0000000000e1";
const OTHER: &str = "d0d0d0d0-0000-4000-8000-0000000000e2";
/// The host's system-assigned identity after it was recreated.
const NEW_OID: &str = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";

#[tokio::test]
async fn a_write_is_never_judged_by_an_identity_the_host_had_only_later() {
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let (e, arm) = spawn(&cs, &fake).await;
    let (mut seen, mut suspect) = (BTreeMap::new(), Vec::new());
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).expect("t");
    let t = |m: i64| t0 + Duration::minutes(m);
    let text = [HOSTED, OTHER]
        .iter()
        .map(|s| session(s, t(-30), t(-20), "vm-i"))
        .collect::<String>();
    audit_hour(&e, t0 - Duration::hours(1), text).await;
    tick(&e, "AuditLogTail", t(0), &mut seen, &mut suspect).await;
    let container = e.env.recordings().to_owned();
    let mut ids = BTreeMap::new();
    for tunnel in [HOSTED, OTHER] {
        let name = format!("rec/{tunnel}.webm");
        let (id, reply) = catalogue(&e, &name, vec![7; 5000], t(-10)).await;
        tally(&reply, &mut seen);
        let blob = BlobRef::new(container.clone(), name.clone());
        let etag = e.blobs.properties(&blob).await.expect("props").etag;
        let oid = if tunnel == HOSTED {
            principal("b1")
        } else {
            OTHER_OID.to_owned()
        };
        oauth_write(&fake, &e, ("PutBlob", &name, &etag), &oid);
        ids.insert(tunnel, id);
    }
    let custody = OffsetDateTime::now_utc() + Duration::minutes(1);
    tick(&e, "CustodyActor", custody, &mut seen, &mut suspect).await;
    for m in [1, 2] {
        tick(&e, "AuditLogTail", t(m), &mut seen, &mut suspect).await;
    }
    let row = recording_rows(&e).await;
    for tunnel in [HOSTED, OTHER] {
        let r = row(&ids[tunnel]);
        let verdict = get_str(&r, "WriterVerdict");
        assert_eq!(verdict, Some("vouches-identity-unknown"), "{tunnel}: {r:?}");
        assert_eq!(get_str(&r, "WriterUnknownHosts"), Some("no host read"));
        assert_eq!(get_str(&r, "MatchConfidence"), Some("exact"), "{r:?}");
    }

    // The host's identity changes (recreated), then the first check reads the new one.
    arm.with(|s| s.host("b1")["identity"]["principalId"] = json!(NEW_OID));
    tick(&e, "EstateCheck", t(3), &mut seen, &mut suspect).await;
    for m in [4, 5, 6] {
        tick(&e, "AuditLogTail", t(m), &mut seen, &mut suspect).await;
    }
    let row = recording_rows(&e).await;
    for tunnel in [HOSTED, OTHER] {
        let r = row(&ids[tunnel]);
        assert_eq!(
            (get_str(&r, "WriterVerdict"), get_str(&r, "MatchConfidence")),
            (Some("vouches-identity-unobserved"), Some("exact")),
            "{tunnel}: {r:?}"
        );
        let host = get_str(&r, "WriterUnobservedHosts").unwrap_or_default();
        assert!(host.ends_with("/bastionhosts/b1"), "{tunnel}: {r:?}");
        assert_eq!(get_str(&r, "WriterExpected"), Some(""), "{r:?}");
    }
    assert!(of_kind(&seen, "recording.suspect").is_empty(), "{seen:?}");
    assert!(suspect.is_empty(), "{suspect:?}");
}
