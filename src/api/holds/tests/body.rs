//! Hold request bodies: validation and derived hold ids (pure).

use serde_json::json;

use crate::api::holds::body::{HoldTarget, MAX_REASON, derived_id, parse, valid_hold_id};
use crate::retention::hold::Target;

#[test]
fn bodies_are_validated() {
    let ok = parse(br#"{"recording":"2025-03-14~eA","reason":"  case 1  "}"#).expect("ok");
    assert_eq!(ok.reason, "case 1");
    assert!(matches!(ok.target, HoldTarget::One(Target::Key(_))));
    let url = parse(br#"{"blobUrl":"https://a.blob.core.windows.net/c/b/x.rec","reason":"r","holdId":"case-1.a_b"}"#).expect("url");
    assert_eq!(url.hold_id.as_deref(), Some("case-1.a_b"));
    let bulk =
        parse(br#"{"bulk":{"from":"2025-03-01","to":"2025-03-01","vm":"VM-A"},"reason":"r"}"#)
            .expect("bulk");
    let HoldTarget::Bulk(sel) = &bulk.target else {
        panic!("bulk")
    };
    assert_eq!(
        (sel.vm.as_deref(), sel.user.as_deref()),
        (Some("vm-a"), None)
    );
    let long = "x".repeat(MAX_REASON);
    assert!(
        parse(
            json!({"recording": "2025-03-14~eA", "reason": long})
                .to_string()
                .as_bytes()
        )
        .is_ok()
    );
    let too_long = "é".repeat(MAX_REASON + 1);
    for bad in [
        String::new(),
        "[]".into(),
        "null".into(),
        r#"{"recording":"2025-03-14~eA"}"#.into(),
        r#"{"recording":"2025-03-14~eA","reason":"   "}"#.into(),
        json!({"recording": "2025-03-14~eA", "reason": too_long}).to_string(),
        r#"{"reason":"r"}"#.into(),
        r#"{"reason":"r","recording":"2025-03-14~eA","blobUrl":"https://a/c/b"}"#.into(),
        r#"{"reason":"r","recording":"x"}"#.into(),
        r#"{"reason":"r","recording":"2025-03-14~eA","extra":1}"#.into(),
        r#"{"reason":"r","blobUrl":"ftp://a/c/b"}"#.into(),
        r#"{"reason":"r","blobUrl":"https://a/c"}"#.into(),
        r#"{"reason":"r","blobUrl":"not a url"}"#.into(),
        r#"{"reason":"r","recording":"2025-03-14~eA","holdId":"a b"}"#.into(),
        r#"{"reason":"r","recording":"2025-03-14~eA","holdId":""}"#.into(),
        r#"{"reason":"r","bulk":{"from":"2025-03-02","to":"2025-03-01"}}"#.into(),
        r#"{"reason":"r","bulk":{"from":"2024-01-01","to":"2025-03-01"}}"#.into(),
        r#"{"reason":"r","bulk":{"from":"03/01/2025","to":"2025-03-01"}}"#.into(),
        r#"{"reason":"r","bulk":{"from":"2025-03-01","to":"2025-03-01","user":" "}}"#.into(),
        r#"{"reason":"r","bulk":{"from":"2025-03-01","to":"2025-03-01","tenant":"x"}}"#.into(),
        format!(
            r#"{{"reason":"{}","recording":"2025-03-14~eA"}}"#,
            "x".repeat(70_000)
        ),
    ] {
        assert!(parse(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn derived_ids_are_stable_per_target_and_valid() {
    let a = parse(br#"{"recording":"2025-03-14~eA","reason":"one"}"#).expect("a");
    let b = parse(br#"{"recording":"2025-03-14~eA","reason":"two"}"#).expect("b");
    let c = parse(br#"{"recording":"2025-03-14~eQ","reason":"one"}"#).expect("c");
    let id = derived_id(&a.target, None);
    assert_eq!(
        id,
        derived_id(&b.target, None),
        "the reason does not change the hold"
    );
    assert_ne!(id, derived_id(&c.target, None));
    assert!(valid_hold_id(&id).is_ok(), "{id}");
    let bulk =
        parse(br#"{"bulk":{"from":"2025-03-01","to":"2025-03-02"},"reason":"r"}"#).expect("bulk");
    assert!(derived_id(&bulk.target, None).starts_with("bulk-"));
}
