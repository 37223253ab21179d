//! Component tests of the writes judged while who records into their container was unknown, over
//! the in-memory fakes and the Log Analytics fake answering documented `StorageBlobLogs` rows:
//! judged again from the writer their row keeps when the estate check records the hosts'
//! identities (two hosts recording into one container, learnt one after the other); and a staged
//! block, which commits nothing, never decides who wrote a recording.

use time::Duration;

use super::deliver;
use super::writer::{HOST, HOST_OID, OTHER_OID, WS, logged, put, row, verdict};
use crate::catalogue::identity;
use crate::catalogue::recording::Doubt;
use crate::catalogue::rejudge::{self, Rejudged};
use crate::catalogue::writer::{VOUCHES, VOUCHES_IDENTITY_UNKNOWN};
use crate::loganalytics::fake::FakeLogs;
use crate::testkit::fakes;

const HOST2: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b2";
const HOST2_OID: &str = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";

#[tokio::test]
async fn writes_judged_while_the_identity_was_unknown_are_judged_again_once_it_is_known() {
    let f = fakes();
    let now = f.state.ports.clock.now();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let recordings = crate::state::recordings(&f.state);
    let names = ["by-b1.rec", "by-other.rec", "by-b2.rec"];
    let oids = [HOST_OID, OTHER_OID, HOST2_OID];
    let t1 = now - Duration::minutes(20);
    for (i, (name, oid)) in names.iter().zip(oids).enumerate() {
        let etag = put(&f, name).await;
        deliver(&f, name, &format!("{:048}", i + 1)).await;
        logged(&logs, name, ("PutBlob", "OAuth", oid), &etag, t1);
    }
    // No host read yet: none can be ruled out, each listed.
    recordings
        .logged_changes(&logs, WS, now - Duration::minutes(10))
        .await
        .expect("pass");
    for name in names {
        let v = verdict(&f, name).await;
        assert_eq!(v, (VOUCHES_IDENTITY_UNKNOWN.to_owned(), None), "{name}");
        let w = row(&f, name).await.and_then(|r| r.writer).expect("writer");
        assert_eq!(w.unknown_hosts, identity::NO_HOST_READ);
    }
    let tables = f.state.ports.tables.as_ref();
    let repo = f.state.ports.catalogue();
    let c = ("acct", "recordings");
    let again = |at| rejudge::container(tables, &repo, c, at);

    // b1 read with its identity, b2 read without: b1's own write vouches; the others cannot be
    // ruled out (either may be b2's), and say whom they were compared with.
    identity::record(tables, c, HOST, Some(HOST_OID), now)
        .await
        .expect("b1");
    identity::record(tables, c, HOST2, None, now)
        .await
        .expect("b2");
    let r = again(now).await.expect("judged");
    assert_eq!((r.vouched, r.suspect, r.waiting), (1, 0, 2));
    assert_eq!(verdict(&f, names[0]).await, (VOUCHES.to_owned(), None));
    for name in &names[1..] {
        let r = row(&f, name).await.expect("row");
        let w = r.writer.expect("writer");
        assert_eq!(w.verdict, VOUCHES_IDENTITY_UNKNOWN, "{name}");
        assert_eq!(
            (w.expected.as_str(), w.unknown_hosts.as_str()),
            (HOST_OID, HOST2.to_ascii_lowercase().as_str())
        );
    }
    // Nothing changed since: nothing read again.
    let calls = f.tables.calls();
    let r = again(now).await.expect("unchanged");
    assert_eq!((r.vouched, r.suspect, r.waiting), (0, 0, 2));
    assert_eq!(
        f.tables.calls() - calls,
        2,
        "the listing and the identities only"
    );

    // b2 read with its identity: every host known. b2's write vouches; the other principal's
    // becomes `writer-not-recording-identity`, due for the join (which makes it suspect and
    // alerts once, as for a write judged so when read).
    identity::record(tables, c, HOST2, Some(HOST2_OID), now)
        .await
        .expect("b2");
    let later = now + Duration::hours(1);
    let r = again(later).await.expect("judged");
    assert_eq!(
        r,
        Rejudged {
            vouched: 1,
            suspect: 1,
            waiting: 0
        }
    );
    assert_eq!(verdict(&f, names[2]).await, (VOUCHES.to_owned(), None));
    let other = row(&f, names[1]).await.expect("row");
    let w = other.writer.clone().expect("writer");
    assert_eq!(w.doubt(), Some(Doubt::NotRecordingIdentity));
    assert_eq!(w.object_id, OTHER_OID, "the logged requester, as kept");
    assert_eq!(w.unknown_hosts, "");
    assert_eq!(other.join_due, Some(later), "due when judged again");
    let b2 = row(&f, names[2]).await.expect("row");
    assert_eq!(
        b2.join_due,
        Some(now),
        "a write that now vouches is not decided again"
    );
    // Judged once: nothing listed any more.
    assert_eq!(again(now).await.expect("done"), Rejudged::default());
}

#[tokio::test]
async fn a_block_staged_by_another_principal_does_not_decide_who_wrote_the_recording() {
    let f = fakes();
    let now = f.state.ports.clock.now();
    let logs = FakeLogs::default();
    logs.workspace(WS);
    let tables = f.state.ports.tables.as_ref();
    identity::record(tables, ("acct", "recordings"), HOST, Some(HOST_OID), now)
        .await
        .expect("identity");
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
