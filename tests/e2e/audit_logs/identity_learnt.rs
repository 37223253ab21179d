//! Writes judged while the host's recording identity was unknown, judged again end to end on
//! Azurite once `EstateCheck` learns it: host `b1`'s answer first names no recording identity (no
//! `sessionRecordingConfiguration`), so an Entra write by the host's identity and one by another
//! principal are both not ruled out (`vouches-identity-unknown`, the match exact); then the answer
//! names it, and the next `EstateCheck` judges both again from the writer their rows keep: the
//! host's vouches, the other becomes `writer-not-recording-identity`, `suspect` from the next
//! `AuditLogTail` tick, with one `recording.suspect`.

use std::collections::BTreeMap;

use bastion_recordings::loganalytics::fake::FakeLogs;
use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use time::{Duration, OffsetDateTime};

use super::identity::{OTHER_OID, oauth_write, spawn, tick};
use super::planted::{audit_hour, catalogue, of_kind, recording_rows, session, tally};
use crate::estate::fake_arm::principal;
use crate::harness;

const HOSTED: &str = "d0d0d0d0-0000-4000-8000-0000000000e1";
const OTHER: &str = "d0d0d0d0-0000-4000-8000-0000000000e2";

#[tokio::test]
async fn writes_not_ruled_out_are_judged_again_once_the_hosts_identity_is_known() {
    let Some(cs) = harness::azurite() else { return };
    let fake = FakeLogs::default();
    let (e, arm) = spawn(&cs, &fake).await;
    // b1's answer names no recording identity yet.
    let config = arm.with(|s| {
        let props = s.host("b1")["properties"].as_object_mut().expect("props");
        props
            .remove("sessionRecordingConfiguration")
            .expect("config")
    });
    let (mut seen, mut suspect) = (BTreeMap::new(), Vec::new());
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).expect("t");
    let t = |m: i64| t0 + Duration::minutes(m);
    tick(&e, "EstateCheck", t(0), &mut seen, &mut suspect).await;
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
        assert_eq!(get_str(&r, "MatchConfidence"), Some("exact"), "{r:?}");
    }
    assert!(of_kind(&seen, "recording.suspect").is_empty(), "{seen:?}");

    // The host's answer names its identity: the next check judges both writes again.
    arm.with(|s| {
        let props = s.host("b1")["properties"].as_object_mut().expect("props");
        props.insert("sessionRecordingConfiguration".into(), config);
    });
    tick(&e, "EstateCheck", t(3), &mut seen, &mut suspect).await;
    for m in [4, 5, 6] {
        tick(&e, "AuditLogTail", t(m), &mut seen, &mut suspect).await;
    }
    let row = recording_rows(&e).await;
    let hosted = row(&ids[HOSTED]);
    assert_eq!(
        get_str(&hosted, "WriterVerdict"),
        Some("vouches"),
        "{hosted:?}"
    );
    assert_eq!(get_str(&hosted, "MatchConfidence"), Some("exact"));
    let other = row(&ids[OTHER]);
    assert_eq!(
        (
            get_str(&other, "WriterVerdict"),
            get_str(&other, "MatchConfidence"),
            get_str(&other, "MatchReason")
        ),
        (
            Some("writer-not-recording-identity"),
            Some("suspect"),
            Some("writer-not-recording-identity")
        ),
        "{other:?}"
    );
    assert_eq!(get_str(&other, "WriterObjectId"), Some(OTHER_OID));
    let sent = of_kind(&seen, "recording.suspect");
    assert_eq!(sent.len(), 1, "one alert: {seen:?}");
    assert_eq!(sent[0].1, 1, "once: {seen:?}");
    let data = &suspect[0]["data"];
    assert_eq!(data["recordingId"], ids[OTHER].as_str(), "{data}");
    assert_eq!(data["reason"], "writer-not-recording-identity");
    assert_eq!(
        data["writer"]["recordingIdentities"],
        principal("b1").as_str()
    );
}
