//! The listing against the cursors: grown, quiet, retired, missing, unregistered; the listings a
//! host needs.

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use std::collections::BTreeMap;

use crate::audit_logs::path::{Host, hosts};
use crate::audit_logs::repo::Cursor;
use crate::audit_logs::tail::list::compare;
use crate::storage::{BlobItem, BlobKind, BlobProps};

const NOW: OffsetDateTime = datetime!(2025-03-14 10:30 UTC);
const WINDOW: Duration = Duration::hours(48);
const HOST: &str =
    "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-A";

fn name(host: &str, hour: OffsetDateTime) -> String {
    format!(
        "{host}/y={:04}/m={:02}/d={:02}/h={:02}/m=00/PT1H.json",
        hour.year(),
        u8::from(hour.month()),
        hour.day(),
        hour.hour()
    )
}

fn cursor(hour: OffsetDateTime, offset: u64, seen: u64) -> Cursor {
    let mut c = Cursor::new(&name(HOST, hour), hour, hour, "bas-a");
    c.offset = offset;
    c.seen_length = seen;
    c
}

fn item(name: String, length: u64, modified: OffsetDateTime) -> BlobItem {
    BlobItem {
        name,
        props: BlobProps {
            content_length: length,
            content_type: None,
            etag: "0x1".into(),
            last_modified: Some(modified),
            created: Some(modified),
            kind: Some(BlobKind::Append),
            metadata: Default::default(),
            tag_count: Some(1),
        },
    }
}

fn host(cursors: Vec<Cursor>) -> Host {
    let mut all = hosts(cursors);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn only_blobs_longer_than_what_was_seen_are_read_and_earlier_marks_are_kept() {
    let h9 = datetime!(2025-03-14 09:00 UTC);
    let h8 = datetime!(2025-03-14 08:00 UTC);
    let h7 = datetime!(2025-03-14 07:00 UTC);
    let mut cut = cursor(h7, 100, 100);
    cut.grown_at = Some(datetime!(2025-03-14 07:40 UTC));
    let items = vec![
        item(name(HOST, h9), 500, datetime!(2025-03-14 10:29 UTC)),
        // A last line waiting for its newline (offset < length) did not grow: not read again.
        item(name(HOST, h8), 300, datetime!(2025-03-14 08:59 UTC)),
        item(name(HOST, h7), 900, datetime!(2025-03-14 10:00 UTC)),
    ];
    let f = compare(
        host(vec![cursor(h9, 200, 200), cursor(h8, 250, 300), cut]),
        items,
        NOW,
        WINDOW,
    );
    let mut grown: Vec<(u64, OffsetDateTime)> =
        f.grown.iter().map(|g| (g.length, g.since)).collect();
    grown.sort_by_key(|(_, since)| *since);
    assert_eq!(
        grown,
        [
            (900, datetime!(2025-03-14 07:40 UTC)),
            (500, datetime!(2025-03-14 10:29 UTC))
        ],
        "the earlier tick's mark is kept; else the last write"
    );
    assert!(f.retire.is_empty() && f.missing.is_empty() && f.unregistered.is_empty());
}

#[test]
fn past_the_window_a_blob_read_to_its_end_retires_without_a_read() {
    let old = NOW - WINDOW - Duration::hours(2);
    let modified = old + Duration::minutes(50);
    let done = cursor(old, 300, 300);
    assert!(done.expired(NOW, WINDOW));
    let waiting = cursor(old - Duration::hours(1), 250, 300);
    let f = compare(
        host(vec![done.clone(), waiting]),
        vec![
            item(name(HOST, old), 300, modified),
            item(name(HOST, old - Duration::hours(1)), 300, modified),
        ],
        NOW,
        WINDOW,
    );
    assert_eq!(f.retire, [done]);
    assert_eq!(f.grown.len(), 1, "its last line is final now: one read");
    assert_eq!(f.grown[0].since, old - Duration::hours(1));
}

#[test]
fn unlisted_cursors_are_missing_and_listed_blobs_without_one_are_registered_if_watched() {
    let h9 = datetime!(2025-03-14 09:00 UTC);
    let lost = datetime!(2025-03-13 02:00 UTC);
    let too_old = NOW - WINDOW - Duration::hours(3);
    let items = vec![
        item(name(HOST, lost), 40, lost),
        item(name(HOST, too_old), 40, too_old),
        item(format!("{HOST}/y=2025/m=03/notes.txt"), 1, lost),
    ];
    let f = compare(host(vec![cursor(h9, 0, 0)]), items, NOW, WINDOW);
    assert_eq!(f.missing.len(), 1);
    let names: Vec<&str> = f.unregistered.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, [name(HOST, lost)]);
}

#[test]
fn hosts_are_grouped_by_source_and_listed_by_month_from_their_oldest_hour() {
    let a = cursor(datetime!(2025-03-14 09:00 UTC), 0, 0);
    let mut b = a.clone().in_source(("stweu".into(), "logs".into()));
    b.hour = datetime!(2025-03-13 09:00 UTC);
    let other = Cursor::new(
        &name(&HOST.replace("BAS-A", "BAS-B"), a.hour),
        a.hour,
        a.hour,
        "bas-b",
    );
    let junk = Cursor::new("not-an-hour-blob", a.hour, a.hour, "x");
    assert_eq!(hosts(vec![a.clone(), b, other, junk]).len(), 3);
    let one = host(vec![a]);
    assert_eq!(
        one.listings(NOW, WINDOW),
        [(
            format!("{HOST}/y=2025/m=03/"),
            name(HOST, datetime!(2025-03-12 09:00 UTC))
        )]
    );
    // Early in a month the window reaches back into the previous one: two listings.
    let early = datetime!(2025-03-01 05:10 UTC);
    let l = one.listings(early, WINDOW);
    assert_eq!(
        l,
        [
            (
                format!("{HOST}/y=2025/m=02/"),
                name(HOST, datetime!(2025-02-27 04:00 UTC))
            ),
            (
                format!("{HOST}/y=2025/m=03/"),
                name(HOST, datetime!(2025-03-01 00:00 UTC))
            ),
        ]
    );
    // A cursor older than the window (not yet retired) is covered too.
    let old = cursor(datetime!(2025-03-11 01:00 UTC), 0, 0);
    assert_eq!(host(vec![old.clone()]).listings(NOW, WINDOW)[0].1, old.blob);
}

fn arb_cursor() -> impl Strategy<Value = (i64, u64, u64, u64, Option<i64>)> {
    // (hour shift, offset, seen beyond offset, listed length delta, grown minutes before)
    (
        0_i64..60,
        0_u64..1000,
        0_u64..50,
        0_u64..100,
        proptest::option::of(0_i64..600),
    )
}

proptest! {
    /// Every cursor gets exactly one verdict; a blob is read only when it grew, or at
    /// retirement with a waiting last line; the oldest known growth stays its order key.
    #[test]
    fn every_cursor_is_judged_once_and_read_only_when_it_grew(
        shape in proptest::collection::vec((arb_cursor(), any::<bool>()), 1..30)
    ) {
        let mut cursors = Vec::new();
        let mut items = Vec::new();
        for (i, ((back, offset, extra, delta, grown), listed)) in shape.iter().enumerate() {
            // Distinct hours (the index keeps them apart), within the window and past it.
            let hour = datetime!(2025-03-14 10:00 UTC) - Duration::hours(i as i64 * 4 + back % 4);
            let mut c = cursor(hour, *offset, offset + extra);
            c.grown_at = grown.map(|m| NOW - Duration::minutes(m));
            if *listed {
                let len = offset + extra + delta;
                items.push(item(c.blob.clone(), len, NOW - Duration::minutes(5)));
            }
            cursors.push(c);
        }
        let n = cursors.len();
        let by_name: BTreeMap<String, (Cursor, Option<u64>)> = cursors
            .iter()
            .map(|c| {
                let len = items.iter().find(|i| i.name == c.blob).map(|i| i.props.content_length);
                (c.blob.clone(), (c.clone(), len))
            })
            .collect();
        prop_assume!(by_name.len() == n);
        let f = compare(host(cursors), items, NOW, WINDOW);
        prop_assert_eq!(f.grown.len() + f.retire.len() + f.missing.len()
            + by_name.values().filter(|(c, len)| len.is_some_and(|l| l <= c.seen_length
                && !(c.expired(NOW, WINDOW)))).count(), n);
        for g in &f.grown {
            let (c, len) = &by_name[&g.cursor.blob];
            let len = len.expect("listed");
            prop_assert!(len > c.seen_length || (c.expired(NOW, WINDOW) && c.offset < len));
            if len > c.seen_length {
                prop_assert_eq!(Some(g.since), c.grown_at.or(Some(NOW - Duration::minutes(5))));
            }
        }
        for c in &f.retire {
            let (c, len) = &by_name[&c.blob];
            prop_assert!(c.expired(NOW, WINDOW) && len.is_some_and(|l| l <= c.offset));
        }
        for c in &f.missing {
            prop_assert!(by_name[&c.blob].1.is_none());
        }
        prop_assert!(f.unregistered.is_empty());
    }
}
