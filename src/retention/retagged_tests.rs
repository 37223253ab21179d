use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::catalogue::recording::Hold;
use crate::testkit::maps::owned as t;
use crate::testkit::storage::tag_expr::TagExpr;

fn row(class: &str, until: &str) -> Recording {
    Recording {
        retention_class: class.into(),
        retain_until: until.into(),
        status: STATUS_CATALOGUED.into(),
        blob_url: "https://a.blob.core.windows.net/recordings/x".into(),
        ..crate::testkit::audit::recording_row("<img src=x>", datetime!(2025-03-14 09:42 UTC))
    }
}

fn held(class: &str, until: &str) -> Recording {
    Recording {
        hold: Hold {
            held: true,
            ids: vec!["h1".into()],
            from: Some((class.into(), until.into())),
        },
        ..row(LEGAL_HOLD, HELD_UNTIL)
    }
}

#[test]
fn the_rows_own_tags_agree_and_other_tags_do_not_count() {
    let r = row("pci-1y", "2026-03-14");
    let tags = t(&[
        (TAG_CLASS, "pci-1y"),
        (TAG_UNTIL, "2026-03-14"),
        ("owner", "secops"),
    ]);
    assert_eq!(disagreement(&r, &tags), None);
    let h = held("pci-1y", "2026-03-14");
    let ht = crate::retention::tags::hold_tags(&tags);
    assert_eq!(
        disagreement(&h, &ht),
        None,
        "a hold as the product writes it"
    );
}

#[test]
fn every_change_of_a_product_tag_is_a_disagreement() {
    let r = row("pci-1y", "2026-03-14");
    let cases = [
        t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2025-03-15")]), // earlier
        t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2027-03-14")]), // later
        t(&[(TAG_CLASS, "ops-30d"), (TAG_UNTIL, "2026-03-14")]), // class
        t(&[(TAG_UNTIL, "2026-03-14")]),                        // class removed
        t(&[]),                                                 // all removed
        t(&[
            (TAG_CLASS, "pci-1y"),
            (TAG_UNTIL, "2026-03-14"),
            (TAG_HELD_FROM, "pci-1y/2026-03-14"),
        ]),
    ];
    for c in cases {
        assert_eq!(disagreement(&r, &c), Some(c.clone()), "{c:?}");
    }
    let h = held("pci-1y", "2026-03-14");
    let lifted = t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2026-03-14")]);
    assert_eq!(disagreement(&h, &lifted), Some(lifted.clone()));
    assert!(what(&h, &lifted).contains("legal hold"));
    let early = t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2025-03-15")]);
    assert!(what(&r, &early).contains("earlier"));
    let later = t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2027-03-14")]);
    assert!(what(&r, &later).contains("changed"));
}

#[test]
fn rows_that_claim_nothing_are_not_judged() {
    let mut r = row("ops-30d", "");
    assert_eq!(disagreement(&r, &t(&[(TAG_UNTIL, "2025-01-01")])), None);
    r.retain_until = "2025-04-13".into();
    r.status = crate::catalogue::recording::STATUS_DELETED.into();
    assert_eq!(disagreement(&r, &t(&[])), None);
    // A held row without its pre-hold pair does not judge `heldFrom`.
    let mut h = held("a", "2025-01-01");
    h.hold.from = None;
    let tags = t(&[
        (TAG_CLASS, LEGAL_HOLD),
        (TAG_UNTIL, HELD_UNTIL),
        (TAG_HELD_FROM, "b/2024-01-01"),
    ]);
    assert_eq!(disagreement(&h, &tags), None);
}

#[test]
fn the_notification_names_what_was_found_and_its_id_only_depends_on_that() {
    let r = row("pci-1y", "2026-03-14");
    let found = t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2025-03-15")]);
    let a = finding(&r, &found, true, datetime!(2025-03-16 02:00 UTC), None).told();
    let b = finding(
        &r,
        &found,
        false,
        datetime!(2025-03-19 03:00 UTC),
        Some("/x"),
    )
    .told();
    assert_eq!(a.kind, crate::spine::kinds::RECORDING_RETAGGED.name);
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(
        a.notification_id, b.notification_id,
        "sweep and integrity run"
    );
    assert_eq!(a.data["foundRetainUntil"], "2025-03-15");
    assert_eq!(a.data["retainUntil"], "2026-03-14");
    assert_eq!(a.data["blobName"], "<img src=x>");
    let other = t(&[(TAG_CLASS, "pci-1y"), (TAG_UNTIL, "2025-03-16")]);
    assert_ne!(
        a.notification_id,
        finding(&r, &other, true, datetime!(2025-03-16 02:00 UTC), None)
            .told()
            .notification_id
    );
    assert_eq!(
        spell(&found),
        "retainUntil=2025-03-15&retentionClass=pci-1y"
    );
}

/// A tag value the service accepts (letters, digits, space, `+ - . / : = _`), a few of them often.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ops-30d".to_owned()),
        Just("pci-1y".to_owned()),
        Just(LEGAL_HOLD.to_owned()),
        Just(HELD_UNTIL.to_owned()),
        Just("2026-03-14".to_owned()),
        Just("pci-1y/2026-03-14".to_owned()),
        "[A-Za-z0-9 +./:=_-]{0,12}",
    ]
}

fn tags() -> impl Strategy<Value = Tags> {
    let key = prop_oneof![
        Just(TAG_CLASS.to_owned()),
        Just(TAG_UNTIL.to_owned()),
        Just(TAG_HELD_FROM.to_owned()),
        Just("owner".to_owned()),
    ];
    proptest::collection::btree_map(key, value(), 0..4)
}

fn recording() -> impl Strategy<Value = Recording> {
    (
        value(),
        value().prop_filter("a date is recorded", |v| !v.is_empty()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(class, until, is_held, knows_from)| {
            if is_held {
                let mut h = held(&class, &until);
                if !knows_from {
                    h.hold.from = None;
                }
                h
            } else {
                row(&class, &until)
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Restoring makes any tag set agree with the row, keeps the owner's tags, and the condition
    /// holds on the tags found and fails once a conditioned product tag changed.
    #[test]
    fn restoring_agrees_keeps_other_tags_and_is_conditioned_on_what_was_found(r in recording(), found in tags()) {
        let back = restored(&r, &found).expect("the row claims");
        prop_assert_eq!(disagreement(&r, &back), None);
        prop_assert_eq!(back.get("owner"), found.get("owner"));
        match disagreement(&r, &found) {
            None => prop_assert_eq!(&back, &found),
            Some(seen) => {
                prop_assert_eq!(&seen, &observed(&found));
                if let Some(expr) = unchanged_expr(&seen) {
                    let expr = TagExpr::parse(&expr).expect("service grammar");
                    prop_assert!(expr.eval(&found));
                    let conditioned_changed = seen.iter().any(|(k, v)| back.get(k) != Some(v));
                    prop_assert_eq!(expr.eval(&back), !conditioned_changed);
                }
            }
        }
    }

    /// Agreement is exactly equality of the judged product tags with the row's claim.
    #[test]
    fn agreement_is_equality_with_the_claim(r in recording(), found in tags()) {
        let want = expected(&r).expect("the row claims");
        let mut judged = observed(&found);
        if r.held() && r.hold.from.is_none() {
            judged.remove(TAG_HELD_FROM);
        }
        prop_assert_eq!(disagreement(&r, &found).is_none(), judged == want);
    }
}
