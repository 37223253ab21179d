//! Rows whose sort time lies on the day next to their creation day (the partition they live in)
//! are found by a query of the sort day alone, and paging walks the neighbouring partitions.

use serde_json::json;

use super::{get_json, ids, row};
use crate::testkit::fakes;

#[tokio::test]
async fn rows_across_midnight_are_found_by_their_sort_day() {
    let f = fakes();
    row(&f, "normal-1", "2025-03-01T12:00:00Z", json!({})).await;
    row(&f, "normal-2", "2025-03-02T12:00:00Z", json!({})).await;
    // Began before midnight, recorded after it: lives under 03-02, sorts on 03-01.
    let late = json!({"SessionStart": "2025-03-01T23:40:00.000Z"});
    row(&f, "late-session", "2025-03-02T00:20:00Z", late).await;
    // Created a second before midnight, its event raised just after: lives under 03-01.
    let event = json!({"BlobCreated": "2025-03-02T00:00:01Z"});
    row(&f, "late-event", "2025-03-01T23:59:59Z", event).await;
    for (range, want) in [
        (
            "from=2025-03-01&to=2025-03-01",
            vec!["normal-1", "late-session"],
        ),
        (
            "from=2025-03-02&to=2025-03-02",
            vec!["late-event", "normal-2"],
        ),
        (
            "from=2025-03-01&to=2025-03-02",
            vec!["normal-1", "late-event", "late-session", "normal-2"],
        ),
        ("from=2025-02-27&to=2025-02-28", vec![]),
        ("from=2025-03-03&to=2025-03-04", vec![]),
    ] {
        let (_, v) = get_json(&f, &format!("/api/recordings?{range}")).await;
        assert_eq!(ids(&v), want, "{range}");
        // One row per page: the tokens carry the walk through the neighbouring partitions.
        let (mut paged, mut next) = (Vec::new(), None::<String>);
        loop {
            let token = next
                .map(|t| format!("&continuation={t}"))
                .unwrap_or_default();
            let uri = format!("/api/recordings?{range}&limit=1{token}");
            let (s, v) = get_json(&f, &uri).await;
            assert!(s.is_success(), "{uri}: {v}");
            paged.extend(ids(&v));
            next = v["continuation"].as_str().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        assert_eq!(paged, want, "{range}, paged");
    }
}
