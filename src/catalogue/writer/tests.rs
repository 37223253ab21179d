//! The writer's verdict and its row properties.

use super::*;
use crate::tables::put_record;

fn written(auth: &str, etag: &str) -> Writer {
    Writer {
        etag: normalize_etag(etag).to_owned(),
        operation: "PutBlob".into(),
        authentication: auth.into(),
        auth_hash: "key1(AB),SasSignature(CD)".into(),
        caller_ip: "203.0.113.7:50112".into(),
        at: "2025-03-14T09:00:00Z".into(),
        request_id: "r1".into(),
        ..Writer::default()
    }
}

#[test]
fn only_a_sas_or_identity_write_vouches_and_a_doubt_about_one_content_stays() {
    let sas = written("SAS", "\"0x1\"");
    assert!(sas.vouches() && sas.wrote("0x1") && sas.wrote("\"0x1\""));
    assert!(!sas.wrote("0x2"));
    assert!(
        written("OAuth", "0x1").vouches(),
        "a host's managed identity"
    );
    for other in ["AccountKey", "Anonymous", "Kerberos", ""] {
        assert!(!written(other, "0x1").vouches(), "{other}");
    }
    let key = written("AccountKey", "0x1");
    assert_eq!(Writer::keep_or(Some(&key), &sas), &key, "the doubt stays");
    assert_eq!(Writer::keep_or(Some(&sas), &key), &key);
    let next = written("SAS", "0x2");
    assert_eq!(Writer::keep_or(Some(&key), &next), &next, "new content");
    assert_eq!(Writer::keep_or(None, &sas), &sas);
    let mut e = Entity::new();
    put_record(&mut e, &key);
    assert_eq!(Writer::from_entity(&e), Some(key.clone()));
    assert_eq!(Writer::from_entity(&Entity::new()), None);
    assert_eq!(key.json()["authenticationType"], "AccountKey");
    assert_eq!(key.json()["callerIpAddress"], "203.0.113.7:50112");
}

#[test]
fn the_writer_and_actor_properties_are_stored_as_before_and_read_back() {
    let names = |e: &Entity| e.keys().cloned().collect::<Vec<_>>();
    let w = Writer {
        upn: "u@example.com".into(),
        verdict: VOUCHES.into(),
        ..written("OAuth", "0x1")
    };
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), "pk".into());
    e.insert("Size".into(), 7.into());
    put_record(&mut e, &w);
    let mut want = vec![
        "PartitionKey",
        "Size",
        "WriterEtag",
        "WriterOperation",
        "WriterAuthType",
        "WriterAuthHash",
        "WriterUpn",
        "WriterObjectId",
        "WriterAppId",
        "WriterCallerIp",
        "WriterAt",
        "WriterRequestId",
        "WriterVerdict",
        "WriterExpected",
        "WriterUnknownHosts",
        "WriterUnobservedHosts",
    ];
    want.sort_unstable();
    assert_eq!(names(&e), want, "every property, empty ones too");
    assert_eq!(e["WriterAuthType"], "OAuth");
    assert_eq!(e["WriterRequestId"], "r1");
    assert_eq!(
        e["WriterObjectId"], "",
        "an empty one is written as an empty string"
    );
    assert_eq!(Writer::from_entity(&e), Some(w.clone()));
    let a = Actor {
        status: ACTOR_FOUND.into(),
        authentication: "SAS".into(),
        user_agent: "azcopy".into(),
        alert_id: "n1".into(),
        ..Actor::default()
    };
    let mut e = Entity::new();
    put_record(&mut e, &a);
    let mut want = vec![
        "ActorStatus",
        "ActorOperation",
        "ActorAuthType",
        "ActorUpn",
        "ActorObjectId",
        "ActorAppId",
        "ActorCallerIp",
        "ActorUserAgent",
        "ActorAt",
        "ActorReason",
        "ActorAlertId",
    ];
    want.sort_unstable();
    assert_eq!(names(&e), want);
    assert_eq!(e["ActorAuthType"], "SAS");
    assert_eq!(Actor::from_entity(&e), Some(a.clone()));
    // Absent: an empty status or etag; a property missing or not a string reads as empty.
    e.insert("ActorStatus".into(), "".into());
    assert_eq!(Actor::from_entity(&e), None);
    let mut old = Entity::new();
    old.insert("WriterEtag".into(), "0x9".into());
    old.insert("WriterUpn".into(), 5.into());
    let read = Writer::from_entity(&old).expect("an etag");
    assert_eq!((read.etag.as_str(), read.upn.as_str()), ("0x9", ""));
    old.insert("WriterEtag".into(), serde_json::Value::Null);
    assert_eq!(Writer::from_entity(&old), None);
}

#[test]
fn an_entra_write_vouches_by_the_recording_identity_or_while_it_is_unknown() {
    let known = Identities {
        principals: vec!["0b5e".into()],
        ..Identities::default()
    };
    let mut entra = written("OAuth", "0x1");
    entra.object_id = "0B5E".into();
    let by_host = entra.clone().judged(&known);
    assert_eq!(
        (by_host.verdict.as_str(), by_host.vouches()),
        (VOUCHES, true)
    );
    assert_eq!(by_host.expected, "0b5e");
    entra.object_id = "9a8b".into();
    let other = entra.clone().judged(&known);
    assert_eq!(other.doubt(), Some(Doubt::NotRecordingIdentity));
    assert_eq!(other.unknown_hosts, "", "every host known");
    let unknown = entra.clone().judged(&Identities::unknown());
    assert_eq!(unknown.verdict, VOUCHES_IDENTITY_UNKNOWN);
    assert_eq!(unknown.unknown_hosts, "no host read");
    assert!(unknown.vouches());
    // Two hosts, one known: the known identity decides for its own writes; another
    // principal's cannot be ruled out (it may be the unknown host's).
    let mixed = Identities {
        unknown: true,
        unknown_hosts: vec!["/s/hosts/b2".into()],
        ..known.clone()
    };
    let not_ruled_out = entra.clone().judged(&mixed);
    assert_eq!(not_ruled_out.verdict, VOUCHES_IDENTITY_UNKNOWN);
    assert_eq!(
        (
            not_ruled_out.expected.as_str(),
            not_ruled_out.unknown_hosts.as_str()
        ),
        ("0b5e", "/s/hosts/b2")
    );
    entra.object_id = "0b5e".into();
    assert_eq!(
        entra.judged(&mixed).verdict,
        VOUCHES,
        "the known host's own"
    );
    let sas = written("SAS", "0x1").judged(&known);
    assert_eq!(sas.verdict, VOUCHES);
    let key = written("AccountKey", "0x1").judged(&Identities::unknown());
    assert_eq!(key.doubt(), Some(Doubt::OtherWriter));
    // A row from before verdicts: the authentication type alone.
    assert!(written("OAuth", "0x1").vouches());
    assert_eq!(
        written("AccountKey", "0x1").doubt(),
        Some(Doubt::OtherWriter)
    );
}

#[test]
fn an_entra_write_is_not_judged_by_an_identity_no_observation_of_its_time_shows() {
    let mut entra = written("OAuth", "0x1");
    entra.object_id = "9a8b".into();
    // No observation of b1 covers the write's time: not ruled out, never a later identity.
    let unobserved = Identities {
        unobserved_hosts: vec!["/s/hosts/b1".into()],
        ..Identities::default()
    };
    let w = entra.clone().judged(&unobserved);
    assert_eq!(w.verdict, VOUCHES_IDENTITY_UNOBSERVED);
    assert!(w.vouches() && w.doubt().is_none());
    assert_eq!(w.unobserved_hosts, "/s/hosts/b1");
    assert_eq!(w.json()["hostsIdentityUnobserved"], "/s/hosts/b1");
    // After b1's last check: the identity it read vouches until the next check says otherwise;
    // another waits for that check.
    let after = Identities {
        provisional: vec!["0b5e".into()],
        unknown: true,
        unknown_hosts: vec!["/s/hosts/b1".into()],
        pending: true,
        ..Identities::default()
    };
    assert_eq!(
        entra.clone().judged(&after).verdict,
        VOUCHES_IDENTITY_UNKNOWN
    );
    assert!(after.waits_for("OAuth", "9a8b"));
    entra.object_id = "0b5e".into();
    let provisional = entra.clone().judged(&after);
    assert_eq!(provisional.verdict, VOUCHES);
    assert_eq!(provisional.expected, "0b5e");
    assert!(
        after.waits_for("OAuth", "0b5e"),
        "confirmed by the next check"
    );
    assert!(!after.waits_for("SAS", ""));
    // An identity in force then decides at once, whatever else is unobserved.
    let covered = Identities {
        principals: vec!["0b5e".into()],
        unobserved_hosts: vec!["/s/hosts/b2".into()],
        ..Identities::default()
    };
    assert_eq!(entra.judged(&covered).verdict, VOUCHES);
}

#[tokio::test]
async fn an_entra_write_a_run_covers_is_judged_at_once_and_only_one_after_the_last_check_waits() {
    use time::Duration;
    use time::macros::datetime;

    use crate::catalogue::identity;
    let t = crate::testkit::tables::memory::InMemoryTables::new();
    let c = ("acct", "recordings");
    let t0 = datetime!(2026-03-14 09:00 UTC);
    let m = |n: i64| Some(t0 + Duration::minutes(n));
    for n in [0, 15] {
        let at = t0 + Duration::minutes(n);
        identity::record(&t, c, "/s/hosts/b1", Some("0B5E"), at)
            .await
            .expect("check");
    }
    let observed = identity::of(&t, c.0, c.1).await.expect("identities");
    let mut entra = written("OAuth", "0x1");
    entra.object_id = "9a8b".into();
    // Between two checks that read 0b5e, or at one's own second: the identity then is known, so
    // another requester is ruled out at once, and no later check can change that.
    for n in [0, 7, 15] {
        let ids = observed.at(m(n));
        let w = entra.clone().judged(&ids);
        assert_eq!(w.doubt(), Some(Doubt::NotRecordingIdentity), "09:{n:02}");
        assert!(!ids.waits_for(&w.authentication, &w.object_id), "09:{n:02}");
    }
    // After the last check: the next one may read another identity, leaving the write in a gap.
    let after = observed.at(m(20));
    let w = entra.clone().judged(&after);
    assert_eq!(w.verdict, VOUCHES_IDENTITY_UNKNOWN);
    assert!(after.waits_for(&w.authentication, &w.object_id));
    // The host's own identity, in a covered time: vouches, final.
    entra.object_id = "0b5e".into();
    let ids = observed.at(m(7));
    assert_eq!(entra.clone().judged(&ids).verdict, VOUCHES);
    assert!(!ids.waits_for("OAuth", "0b5e"));
}
