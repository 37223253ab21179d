//! The pure tag scheme: the sweep's range expression, hold/release rewrites.

use crate::catalogue::LEGAL_HOLD;
use crate::catalogue::policy::{HELD_UNTIL, Retention, TAG_CLASS, TAG_UNTIL};
use crate::storage::Tags;

/// Blob index tag holding `<class>/<retain-until>` from before a legal hold, restored on release.
pub const TAG_HELD_FROM: &str = "heldFrom";

/// The expression of the expired, non-held blobs on `today` (kept through their retainUntil day).
pub fn expired_expr(today: &str) -> String {
    format!("\"{TAG_UNTIL}\" < '{today}'")
}

/// The expression of the blobs tagged with `class` (tag-safe: checked when the policy is parsed).
pub fn class_expr(class: &str) -> String {
    format!("\"{TAG_CLASS}\" = '{class}'")
}

/// True when the tags mark a legal hold (any of the three signs, so a half-written set still holds).
pub fn is_held(tags: &Tags) -> bool {
    tags.get(TAG_CLASS).is_some_and(|c| c == LEGAL_HOLD)
        || tags.get(TAG_UNTIL).is_some_and(|u| u == HELD_UNTIL)
        || tags.contains_key(TAG_HELD_FROM)
}

/// The retention the tags state, if both tags are present.
pub fn retention_of(tags: &Tags) -> Option<Retention> {
    Some(Retention {
        class: tags.get(TAG_CLASS)?.clone(),
        until: tags.get(TAG_UNTIL)?.clone(),
    })
}

/// True when not held and retainUntil < `today` (no `retainUntil`: never expired).
pub fn is_expired(tags: &Tags, today: &str) -> bool {
    !is_held(tags) && tags.get(TAG_UNTIL).is_some_and(|u| u.as_str() < today)
}

/// The pre-hold retention recorded in `heldFrom`.
pub fn held_from(tags: &Tags) -> Option<Retention> {
    let (class, until) = tags.get(TAG_HELD_FROM)?.rsplit_once('/')?;
    (!class.is_empty() && until.len() == 10).then(|| Retention {
        class: class.to_owned(),
        until: until.to_owned(),
    })
}

/// Tags for a held blob, `heldFrom` keeping the pre-hold pair (a nested hold keeps the first).
pub fn hold_tags(existing: &Tags) -> Tags {
    let mut tags = existing.clone();
    if !tags.contains_key(TAG_HELD_FROM)
        && let Some(r) =
            retention_of(existing).filter(|r| r.class != LEGAL_HOLD && r.until != HELD_UNTIL)
    {
        tags.insert(TAG_HELD_FROM.to_owned(), format!("{}/{}", r.class, r.until));
    }
    tags.insert(TAG_CLASS.to_owned(), LEGAL_HOLD.to_owned());
    tags.insert(TAG_UNTIL.to_owned(), HELD_UNTIL.to_owned());
    tags
}

/// Tags after a release: the `heldFrom` pair, else `fallback`; `None`: keep the hold, never guess.
pub fn release_tags(existing: &Tags, fallback: Option<&Retention>) -> Option<(Tags, Retention)> {
    let restored = held_from(existing).or_else(|| fallback.cloned())?;
    let mut tags = existing.clone();
    tags.remove(TAG_HELD_FROM);
    tags.insert(TAG_CLASS.to_owned(), restored.class.clone());
    tags.insert(TAG_UNTIL.to_owned(), restored.until.clone());
    Some((tags, restored))
}

/// The later of two retentions by date (`a` on ties).
pub fn later(a: Retention, b: Retention) -> Retention {
    if b.until > a.until { b } else { a }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::policy::{Policy, audit_log_retention};
    use crate::testkit::maps::owned as t;
    use crate::testkit::storage::tag_expr::TagExpr;

    #[test]
    fn one_range_query_selects_expired_and_never_held() {
        let expr = TagExpr::parse(&expired_expr("2026-11-22")).expect("service grammar");
        let past = t(&[(TAG_CLASS, "ops-30d"), (TAG_UNTIL, "2026-11-21")]);
        let today = t(&[(TAG_CLASS, "ops-30d"), (TAG_UNTIL, "2026-11-22")]);
        let held = hold_tags(&past);
        assert!(expr.eval(&past) && is_expired(&past, "2026-11-22"));
        assert!(
            !expr.eval(&today) && !is_expired(&today, "2026-11-22"),
            "kept through its last day"
        );
        assert!(!expr.eval(&held) && !is_expired(&held, "2026-11-22"));
        assert!(!expr.eval(&t(&[])) && !is_expired(&t(&[]), "2026-11-22"));
        // Even a hold written before the sweep's day roll-over stays out of range for 7,900 years.
        assert!(
            !TagExpr::parse(&expired_expr("9999-12-31"))
                .expect("expr")
                .eval(&held)
        );
    }

    #[test]
    fn hold_then_release_restores_the_original_pair_and_other_tags() {
        let orig = t(&[
            (TAG_CLASS, "pci-1y"),
            (TAG_UNTIL, "2026-03-14"),
            ("owner", "secops"),
        ]);
        let held = hold_tags(&orig);
        assert_eq!(held[TAG_CLASS], LEGAL_HOLD);
        assert_eq!(held[TAG_UNTIL], HELD_UNTIL);
        assert_eq!(held[TAG_HELD_FROM], "pci-1y/2026-03-14");
        assert!(
            crate::testkit::storage::memory::validate_tags(&held).is_ok(),
            "tag characters allowed"
        );
        assert_eq!(hold_tags(&held), held, "a second hold keeps the original");
        let (back, r) = release_tags(&held, None).expect("restorable");
        assert_eq!(back, orig);
        assert_eq!(r.until, "2026-03-14");
    }

    #[test]
    fn release_uses_the_fallback_only_when_the_tag_is_missing() {
        let held = t(&[(TAG_CLASS, LEGAL_HOLD), (TAG_UNTIL, HELD_UNTIL)]);
        assert_eq!(release_tags(&held, None), None, "no guessing");
        let fb = Retention {
            class: "sox-7y".into(),
            until: "2030-01-01".into(),
        };
        let (tags, r) = release_tags(&held, Some(&fb)).expect("fallback");
        assert_eq!((tags[TAG_CLASS].as_str(), r), ("sox-7y", fb.clone()));
        let with_tag = hold_tags(&t(&[(TAG_CLASS, "a/b"), (TAG_UNTIL, "2025-01-02")]));
        assert_eq!(
            release_tags(&with_tag, Some(&fb)).expect("tag").1.class,
            "a/b",
            "class may contain '/'"
        );
        assert_eq!(held_from(&t(&[(TAG_HELD_FROM, "garbage")])), None);
    }

    #[test]
    fn untagged_blob_hold_has_nothing_to_restore() {
        let held = hold_tags(&t(&[]));
        assert!(is_held(&held) && !held.contains_key(TAG_HELD_FROM));
    }

    #[test]
    fn audit_logs_get_their_class_and_never_lose_a_hold() {
        let p = Policy::builtin();
        let created = datetime!(2025-03-14 10:00 UTC);
        let (tags, r) = audit_log_retention(&p, "audit-1y", &t(&[("x", "y")]), created);
        assert_eq!(
            (r.class.as_str(), r.until.as_str()),
            ("audit-1y", "2026-03-14")
        );
        assert_eq!(tags["x"], "y");
        let held = hold_tags(&tags);
        assert_eq!(
            audit_log_retention(&p, "audit-1y", &held, created).1.class,
            LEGAL_HOLD
        );
        let a = Retention {
            class: "a".into(),
            until: "2025-01-01".into(),
        };
        let b = Retention {
            class: "b".into(),
            until: "2026-01-01".into(),
        };
        assert_eq!(later(a.clone(), b.clone()), b);
        assert_eq!(later(b.clone(), a), b);
    }
}
