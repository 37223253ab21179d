//! Blob contract: properties, ranges, listing, overwrites, append blobs, authorisation errors.

use std::time::Duration;

use bastion_recordings::azure::AzureError;
use bastion_recordings::storage::{BlobKind, BlobRef, BlobStore, Metadata, Tags};
use bytes::Bytes;
use time::OffsetDateTime;

use super::{PAGE, blob_stores};
use crate::harness::unique;

pub(super) fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) async fn put(s: &dyn BlobStore, b: &BlobRef, body: &'static [u8]) -> String {
    s.put(
        b,
        Bytes::from_static(body),
        "application/octet-stream",
        &Metadata::new(),
    )
    .await
    .expect("put")
}

#[tokio::test]
async fn properties_report_metadata_creation_time_and_tag_count() {
    for (name, s) in blob_stores() {
        let b = BlobRef::new(unique("props"), "dir/rec one=1.mp4");
        let meta: Metadata = [
            ("RecordingId".to_owned(), "r-1".to_owned()),
            ("size".to_owned(), "3".to_owned()),
        ]
        .into();
        let before = OffsetDateTime::now_utc() - Duration::from_secs(120);
        let etag = s
            .put(&b, Bytes::from_static(b"abc"), "video/mp4", &meta)
            .await
            .expect("put");
        let p = s.properties(&b).await.expect("properties");
        assert_eq!(p.content_length, 3, "{name}");
        assert_eq!(p.content_type.as_deref(), Some("video/mp4"), "{name}");
        assert_eq!(
            p.etag, etag,
            "{name}: put returns the etag that properties report"
        );
        assert!(
            !p.etag.contains('"') && !p.etag.is_empty(),
            "{name}: {}",
            p.etag
        );
        assert_eq!(p.kind, Some(BlobKind::Block), "{name}");
        assert_eq!(
            p.metadata.get("recordingid").map(String::as_str),
            Some("r-1"),
            "{name}: names lower-cased: {:?}",
            p.metadata
        );
        assert_eq!(p.metadata.len(), 2, "{name}");
        assert!(
            p.created.is_some_and(|c| c > before),
            "{name}: {:?}",
            p.created
        );
        assert!(p.last_modified.is_some(), "{name}");
        assert_eq!(p.tag_count, Some(0), "{name}");
        s.set_tags(&b, &tags(&[("a", "1"), ("b", "2")]), None)
            .await
            .expect("tags");
        assert_eq!(
            s.properties(&b).await.expect("props").tag_count,
            Some(2),
            "{name}"
        );
        let missing = s
            .properties(&BlobRef::new(b.container.clone(), "nope"))
            .await;
        assert!(
            matches!(missing, Err(AzureError::NotFound)),
            "{name}: {missing:?}"
        );
        let no_container = s.properties(&BlobRef::new(unique("none"), "nope")).await;
        assert!(
            matches!(no_container, Err(AzureError::NotFound)),
            "{name}: {no_container:?}"
        );
    }
}

#[tokio::test]
async fn ranged_reads_return_exactly_the_range_and_416_at_the_end() {
    static BODY: [u8; 256] = {
        let mut b = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            b[i] = i as u8;
            i += 1;
        }
        b
    };
    for (name, s) in blob_stores() {
        let b = BlobRef::new(unique("range"), "log.json");
        s.put(
            &b,
            Bytes::from_static(&BODY),
            "application/json",
            &Metadata::new(),
        )
        .await
        .expect("put");
        assert_eq!(
            &s.read_range(&b, 10, 5).await.expect("mid")[..],
            &BODY[10..15],
            "{name}"
        );
        assert_eq!(
            &s.read_range(&b, 0, 1).await.expect("first")[..],
            &BODY[..1],
            "{name}"
        );
        assert_eq!(
            &s.read_range(&b, 250, 100).await.expect("tail")[..],
            &BODY[250..],
            "{name}: short at end"
        );
        assert_eq!(
            &s.read_range(&b, 5, u64::MAX).await.expect("rest")[..],
            &BODY[5..],
            "{name}: huge len"
        );
        for (offset, len) in [(256, 1), (1000, 10), (255, 0)] {
            let r = s.read_range(&b, offset, len).await;
            assert!(
                matches!(r, Err(AzureError::RangeNotSatisfiable)),
                "{name} {offset}+{len}: {r:?}"
            );
        }
        let empty = BlobRef::new(b.container.clone(), "empty");
        put(s.as_ref(), &empty, b"").await;
        let r = s.read_range(&empty, 0, 10).await;
        assert!(
            matches!(r, Err(AzureError::RangeNotSatisfiable)),
            "{name}: empty blob: {r:?}"
        );
        let r = s
            .read_range(&BlobRef::new(b.container.clone(), "missing"), 0, 10)
            .await;
        assert!(matches!(r, Err(AzureError::NotFound)), "{name}: {r:?}");
    }
}

#[tokio::test]
async fn listing_filters_by_prefix_includes_metadata_and_pages() {
    for (name, s) in blob_stores() {
        let c = unique("list");
        let meta: Metadata = [("kind".to_owned(), "rec".to_owned())].into();
        for n in ["a/1", "a/2", "a/3", "a/4", "a/5", "b/1", "ab"] {
            s.put(
                &BlobRef::new(c.clone(), n),
                Bytes::from_static(b"x"),
                "text/plain",
                &meta,
            )
            .await
            .expect("put");
        }
        let (mut names, mut marker, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = s.list(&c, Some("a/"), marker.take()).await.expect("list");
            assert!(page.items.len() <= PAGE as usize, "{name}");
            pages += 1;
            for item in page.items {
                assert_eq!(
                    item.props.metadata.get("kind").map(String::as_str),
                    Some("rec"),
                    "{name}"
                );
                assert_eq!(item.props.content_length, 1, "{name}");
                assert!(
                    !item.props.etag.is_empty() && !item.props.etag.contains('"'),
                    "{name}"
                );
                assert!(item.props.created.is_some(), "{name}");
                names.push(item.name);
            }
            match page.next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(names, ["a/1", "a/2", "a/3", "a/4", "a/5"], "{name}");
        assert_eq!(pages, 3, "{name}");
        let all = s.list(&c, None, None).await.expect("all");
        assert_eq!(all.items.len(), 2, "{name}");
        let none = s
            .list(&unique("absent"), None, None)
            .await
            .expect("missing container lists empty");
        assert!(none.items.is_empty() && none.next.is_none(), "{name}");
    }
}

/// A listing from a name on (`startFrom`): the names under the prefix at or after it, in order,
/// with their lengths (what the audit-log tail compares), paged; whether the service honours the
/// parameter or not, the answer is the same.
#[tokio::test]
async fn listing_from_a_name_returns_the_later_names_under_the_prefix() {
    for (name, s) in blob_stores() {
        let c = unique("from");
        for n in [
            "h/d=13/h=22",
            "h/d=13/h=23",
            "h/d=14/h=00",
            "h/d=14/h=01",
            "h/d=14/h=02",
            "i/d=14",
        ] {
            let b = BlobRef::new(c.clone(), n);
            s.create_append(&b, "application/json")
                .await
                .expect("create");
            s.append(&b, Bytes::from(n.as_bytes().to_vec()))
                .await
                .expect("append");
        }
        let (mut listed, mut marker) = (Vec::new(), None);
        loop {
            let page = s
                .list_from(&c, "h/", "h/d=13/h=23", marker.take())
                .await
                .expect("list");
            assert!(page.items.len() <= PAGE as usize, "{name}");
            listed.extend(
                page.items
                    .into_iter()
                    .map(|i| (i.name, i.props.content_length)),
            );
            match page.next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(
            listed,
            [
                ("h/d=13/h=23", 11),
                ("h/d=14/h=00", 11),
                ("h/d=14/h=01", 11),
                ("h/d=14/h=02", 11)
            ]
            .map(|(n, l)| (n.to_owned(), l)),
            "{name}"
        );
        let absent = s.list_from(&unique("absent"), "h/", "h/x", None).await;
        assert!(
            absent
                .expect("missing container lists empty")
                .items
                .is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn overwrite_gives_a_new_creation_time_and_replaces_content() {
    for (name, s) in blob_stores() {
        let b = BlobRef::new(unique("over"), "r.mp4");
        let meta: Metadata = [("a".to_owned(), "1".to_owned())].into();
        s.put(&b, Bytes::from_static(b"first"), "text/plain", &meta)
            .await
            .expect("put");
        let first = s.properties(&b).await.expect("props");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        s.put(
            &b,
            Bytes::from_static(b"second!"),
            "text/csv",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
        let second = s.properties(&b).await.expect("props");
        // Microsoft's pages (Get Blob Properties, Put Blob) do not say whether an overwrite keeps
        // `x-ms-creation-time`; Azurite gives the overwrite's time, and the in-memory store does as
        // Azurite does. The catalogue handles either (docs/custody.md).
        assert!(
            second.created > first.created,
            "{name}: {first:?} then {second:?}"
        );
        assert!(second.last_modified > first.last_modified, "{name}");
        assert_eq!(
            (second.content_length, second.content_type.as_deref()),
            (7, Some("text/csv")),
            "{name}"
        );
        assert!(
            second.metadata.is_empty(),
            "{name}: overwrite replaces metadata"
        );
    }
}

#[tokio::test]
async fn append_blobs_grow_and_change_etag() {
    for (name, s) in blob_stores() {
        let b = BlobRef::new(unique("app"), "audit.log");
        s.create_append(&b, "application/x-ndjson")
            .await
            .expect("create (container created too)");
        let p0 = s.properties(&b).await.expect("props");
        assert_eq!(
            (p0.kind, p0.content_length),
            (Some(BlobKind::Append), 0),
            "{name}"
        );
        s.append(&b, Bytes::from_static(b"abc\n"))
            .await
            .expect("append");
        let p1 = s.properties(&b).await.expect("props");
        s.append(&b, Bytes::from_static(b"de\n"))
            .await
            .expect("append");
        let p2 = s.properties(&b).await.expect("props");
        assert_eq!((p1.content_length, p2.content_length), (4, 7), "{name}");
        assert!(p0.etag != p1.etag && p1.etag != p2.etag, "{name}");
        assert_eq!(
            p2.content_type.as_deref(),
            Some("application/x-ndjson"),
            "{name}"
        );
        assert_eq!(
            &s.read_range(&b, 0, 100).await.expect("read")[..],
            b"abc\nde\n",
            "{name}"
        );
        let missing = s
            .append(
                &BlobRef::new(b.container.clone(), "nope"),
                Bytes::from_static(b"x"),
            )
            .await;
        assert!(
            matches!(missing, Err(AzureError::NotFound)),
            "{name}: {missing:?}"
        );
        let block = BlobRef::new(b.container.clone(), "block");
        put(s.as_ref(), &block, b"x").await;
        let wrong = s.append(&block, Bytes::from_static(b"x")).await;
        assert!(
            matches!(wrong, Err(e) if !e.is_retryable()),
            "{name}: append to a block blob fails for good"
        );
    }
}
