use std::time::{Duration, SystemTime};

use super::*;

fn at(s: &str) -> SystemTime {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("time");
    SystemTime::from(t)
}

#[test]
fn statuses_are_classified() {
    let now = SystemTime::now();
    assert_eq!(classify(200, None, "ok", now), Verdict::Ok(200));
    assert_eq!(classify(202, None, "", now), Verdict::Ok(202));
    assert_eq!(
        classify(
            200,
            None,
            "Microsoft Teams endpoint returned HTTP error 429",
            now
        ),
        Verdict::Throttled(None)
    );
    assert_eq!(
        classify(429, Some("7"), "", now),
        Verdict::Throttled(Some(Duration::from_secs(7)))
    );
    assert_eq!(
        classify(429, Some("soon"), "", now),
        Verdict::Throttled(None)
    );
    assert_eq!(classify(429, None, "", now), Verdict::Throttled(None));
    for s in [408, 500, 502, 503, 504] {
        assert!(
            matches!(classify(s, None, "", now), Verdict::Transient(_)),
            "{s}"
        );
    }
    assert_eq!(
        classify(400, None, "invalid_payload", now),
        Verdict::Permanent("HTTP 400: invalid_payload".into())
    );
    assert_eq!(
        classify(404, None, "channel_not_found\n", now),
        Verdict::Permanent("HTTP 404: channel_not_found".into())
    );
    assert!(matches!(
        classify(410, None, "", now),
        Verdict::Permanent(_)
    ));
    assert!(
        matches!(classify(302, None, "", now), Verdict::Permanent(r) if r.contains("redirect"))
    );
}

#[test]
fn reasons_are_bounded_and_redacted() {
    let body = format!(
        "error for https://hooks.slack.com/services/T0/B0/SECRETTOKEN {}",
        "x".repeat(10_000)
    );
    let Verdict::Permanent(reason) = classify(403, None, &body, SystemTime::now()) else {
        panic!("permanent")
    };
    assert!(!reason.contains("SECRETTOKEN"), "{reason}");
    assert!(reason.chars().count() < 600);
}

#[test]
fn retry_after_seconds_or_date() {
    let now = at("2015-10-21T07:28:00Z");
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
        Some(Duration::ZERO),
        "past date"
    );
    assert_eq!(parse_retry_after("-1", now), None);
    assert_eq!(parse_retry_after("later", now), None);
}

#[test]
fn backoff_doubles_caps_and_jitters_in_the_upper_half() {
    assert_eq!(backoff(1, 1.0), Duration::from_millis(500));
    assert_eq!(backoff(1, 0.0), Duration::from_millis(250));
    assert_eq!(backoff(2, 1.0), Duration::from_secs(1));
    assert_eq!(backoff(4, 1.0), Duration::from_secs(4));
    assert_eq!(backoff(5, 1.0), Duration::from_secs(8));
    assert_eq!(backoff(40, 1.0), Duration::from_secs(8));
    assert_eq!(backoff(0, 1.0), Duration::from_millis(500));
    let j = jitter();
    assert!((0.0..=1.0).contains(&j));
}
