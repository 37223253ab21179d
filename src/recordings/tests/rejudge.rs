//! Component tests of the writes a later estate check may judge again, over the in-memory fakes
//! and the Log Analytics fake answering documented `StorageBlobLogs` rows: each write is judged by
//! the identities in force at its time, never by one a check read later (two hosts recording into
//! one container; a host whose identity changed between the write and the next check); and a
//! staged block, which commits nothing, never decides who wrote a recording.

use time::{Duration, OffsetDateTime};

use super::deliver;
use super::writer::{HOST, HOST_OID, OTHER_OID, WS, logged, put, row, verdict};
use crate::catalogue::doubt::Doubt;
use crate::catalogue::identity;
use crate::catalogue::rejudge::{self, Rejudged};
use crate::catalogue::writer::{VOUCHES, VOUCHES_IDENTITY_UNKNOWN, VOUCHES_IDENTITY_UNOBSERVED};
use crate::testkit::loganalytics::FakeLogs;
use crate::testkit::{Fakes, fakes};

const HOST2: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b2";
const C: (&str, &str) = ("acct", "recordings");
const HOST2_OID: &str = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";

/// The fakes, their clock's now and a Log Analytics fake with the custody workspace, host b1
/// having named its identity an hour before now.
async fn b1_known() -> (Fakes, OffsetDateTime, FakeLogs) {
    let f = fakes();
    let now = f.state.ports.clock.now();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let tables = f.state.ports.tables.as_ref();
    identity::record(tables, C, HOST, Some(HOST_OID), now - Duration::hours(1))
        .await
        .expect("b1");
    (f, now, logs)
}

/// Writes `names` by `oids`, each logged 23 minutes before `now`, read by one changes pass.
async fn written(f: &Fakes, logs: &FakeLogs, names: &[&str], oids: &[&str], now: OffsetDateTime) {
    let t1 = now - Duration::minutes(20);
    for (i, (name, oid)) in names.iter().zip(oids).enumerate() {
        let etag = put(f, name).await;
        deliver(f, name, &format!("{:048}", i + 1)).await;
        logged(logs, name, ("PutBlob", "OAuth", oid), &etag, t1);
    }
    crate::state::recordings(&f.state)
        .logged_changes(logs, WS, now - Duration::minutes(10))
        .await
        .expect("pass");
}

#[tokio::test]
async fn writes_are_judged_by_the_hosts_identities_of_their_time_once_a_check_confirms_them() {
    // An hour before the writes: b1 names its identity, b2 none.
    let (f, now, logs) = b1_known().await;
    let tables = f.state.ports.tables.as_ref();
    let c = C;
    identity::record(tables, c, HOST2, None, now - Duration::hours(1))
        .await
        .expect("b2");
    let names = ["by-b1.rec", "by-other.rec", "by-b2.rec"];
    written(&f, &logs, &names, &[HOST_OID, OTHER_OID, HOST2_OID], now).await;
    // After both hosts' last check: b1's identity vouches until a check says otherwise; the
    // others cannot be ruled out yet. Each waits for the next check.
    assert_eq!(verdict(&f, names[0]).await, (VOUCHES.to_owned(), None));
    for name in &names[1..] {
        let w = row(&f, name).await.and_then(|r| r.writer).expect("writer");
        assert_eq!(w.verdict, VOUCHES_IDENTITY_UNKNOWN, "{name}");
        assert_eq!(w.expected, HOST_OID);
    }
    let repo = f.state.ports.catalogue();
    let again = |at| rejudge::container(tables, &repo, c, at);
    // No check since: nothing changed, nothing read again but the listing and the identities.
    let calls = f.tables.calls();
    let r = again(now).await.expect("unchanged");
    assert_eq!((r.vouched, r.suspect, r.waiting), (0, 0, 3));
    assert_eq!(
        f.tables.calls() - calls,
        2,
        "the listing and the identities only"
    );

    // The next check, after the writes: b1 still the same (its run covers the writes); b2 now
    // names an identity, read after the writes: it is not applied to them.
    let check = now - Duration::minutes(5);
    identity::record(tables, c, HOST, Some(HOST_OID), check)
        .await
        .expect("b1");
    identity::record(tables, c, HOST2, Some(HOST2_OID), check)
        .await
        .expect("b2");
    let r = again(check).await.expect("judged");
    assert_eq!(
        r,
        Rejudged {
            vouched: 1,
            unobserved: 2,
            suspect: 0,
            waiting: 0
        }
    );
    assert_eq!(verdict(&f, names[0]).await, (VOUCHES.to_owned(), None));
    for name in &names[1..] {
        let r = row(&f, name).await.expect("row");
        let w = r.writer.expect("writer");
        assert_eq!(
            w.verdict, VOUCHES_IDENTITY_UNOBSERVED,
            "{name}: not b2's later identity"
        );
        assert_eq!(w.unobserved_hosts, HOST2.to_ascii_lowercase());
        assert!(w.vouches(), "not ruled out: the match stands");
    }
    assert_eq!(
        again(now).await.expect("done"),
        Rejudged::default(),
        "none listed"
    );

    // Later writes, after that check: b2's identity is now in force for them; another
    // principal's, once the next check confirms both hosts, is ruled out.
    let later = ["later-b2.rec", "later-other.rec"];
    let f2_now = now + Duration::minutes(30);
    written(&f, &logs, &later, &[HOST2_OID, OTHER_OID], f2_now).await;
    let next = f2_now - Duration::minutes(2);
    for (h, p) in [(HOST, HOST_OID), (HOST2, HOST2_OID)] {
        identity::record(tables, c, h, Some(p), next)
            .await
            .expect("check");
    }
    let r = again(next).await.expect("judged");
    assert_eq!((r.vouched, r.suspect, r.unobserved), (1, 1, 0));
    assert_eq!(verdict(&f, later[0]).await, (VOUCHES.to_owned(), None));
    let other = row(&f, later[1]).await.expect("row");
    let w = other.writer.clone().expect("writer");
    assert_eq!(w.doubt(), Some(Doubt::NotRecordingIdentity));
    assert_eq!(w.object_id, OTHER_OID, "the logged requester, as kept");
    assert_eq!(other.rejoin_at, Some(next), "due when judged again");
}

#[tokio::test]
async fn a_hosts_identity_changed_between_the_write_and_the_next_check_judges_neither_way() {
    let (f, now, logs) = b1_known().await;
    let tables = f.state.ports.tables.as_ref();
    let c = C;
    // Written by the old identity and by the new one, before any check read the change.
    let names = ["by-old.rec", "by-new.rec"];
    written(&f, &logs, &names, &[HOST_OID, HOST2_OID], now).await;
    assert_eq!(verdict(&f, names[0]).await, (VOUCHES.to_owned(), None));
    assert_eq!(verdict(&f, names[1]).await.0, VOUCHES_IDENTITY_UNKNOWN);
    // The next check reads b1's new identity: when it changed is not known, so neither write
    // is judged by the identity read later (the new one's write is no `suspect`).
    identity::record(tables, c, HOST, Some(HOST2_OID), now - Duration::minutes(5))
        .await
        .expect("b1 changed");
    let repo = f.state.ports.catalogue();
    let r = rejudge::container(tables, &repo, c, now)
        .await
        .expect("judged");
    assert_eq!((r.vouched, r.suspect, r.unobserved), (0, 0, 2));
    for name in names {
        let r = row(&f, name).await.expect("row");
        let w = r.writer.expect("writer");
        assert_eq!(w.verdict, VOUCHES_IDENTITY_UNOBSERVED, "{name}");
        assert_eq!(w.unobserved_hosts, HOST.to_ascii_lowercase());
    }
}

#[tokio::test]
async fn a_block_staged_by_another_principal_does_not_decide_who_wrote_the_recording() {
    let (f, now, logs) = b1_known().await;
    let name = "staged.rec";
    let etag = put(&f, name).await;
    deliver(&f, name, &format!("{:048}", 1)).await;
    let t = now - Duration::minutes(20);
    logged(&logs, name, ("PutBlockList", "OAuth", HOST_OID), &etag, t);
    // Another principal stages a block and never commits it: Put Block logs no ETag.
    logged(
        &logs,
        name,
        ("PutBlock", "OAuth", OTHER_OID),
        "",
        t + Duration::seconds(1),
    );
    crate::state::recordings(&f.state)
        .logged_changes(&logs, WS, now)
        .await
        .expect("pass");
    assert_eq!(verdict(&f, name).await, (VOUCHES.to_owned(), None));
    let w = row(&f, name).await.and_then(|r| r.writer).expect("writer");
    assert_eq!(
        (w.operation.as_str(), w.object_id.as_str()),
        ("PutBlockList", HOST_OID)
    );
}

#[tokio::test]
async fn a_write_in_a_time_a_check_already_covers_is_judged_at_the_first_pass_and_not_listed() {
    let (f, now, logs) = b1_known().await;
    let tables = f.state.ports.tables.as_ref();
    // A second check, after the write below (logged 23 minutes before now): b1's run covers it.
    identity::record(tables, C, HOST, Some(HOST_OID), now - Duration::minutes(15))
        .await
        .expect("b1");
    let name = "covered.rec";
    written(&f, &logs, &[name], &[OTHER_OID], now).await;
    let r = row(&f, name).await.expect("row");
    let w = r.writer.expect("writer");
    assert_eq!(w.doubt(), Some(Doubt::NotRecordingIdentity), "{w:?}");
    assert_eq!(r.rejoin_at, Some(now), "due for the next join at once");
    assert!(
        f.tables.dump(rejudge::TABLE).is_empty(),
        "no later check can change it: not listed"
    );
    // A write after b1's last check: the next check may read another identity, so it waits.
    let later = "after.rec";
    written(
        &f,
        &logs,
        &[later],
        &[OTHER_OID],
        now + Duration::minutes(30),
    )
    .await;
    assert_eq!(verdict(&f, later).await.0, VOUCHES_IDENTITY_UNKNOWN);
    let listed = f.tables.dump(rejudge::TABLE);
    let key = row(&f, later).await.expect("row").key;
    assert_eq!(listed.len(), 1, "only the write after the last check");
    assert_eq!(listed[0].entity["RecordingId"], key.id());
}
