//! The analytics rule over recording changes (`sentinel/rules/recording-deleted.kql`) against the
//! detections the code makes: the actor it names comes from the `recording.actor` follow-up,
//! joined to its alert by the id the code gives the follow-up, and every field of `Data` the rule
//! reads is one that follow-up carries.

use time::macros::datetime;

use super::actor::{finding, found};
use super::awaited::Change;
use super::query::Access;

const RULE: &str = include_str!("../../sentinel/rules/recording-deleted.kql");

/// The `Data.<field>` names `kql` reads.
fn data_fields(kql: &str) -> Vec<&str> {
    kql.match_indices("Data.")
        .filter(|(i, _)| {
            // `Data.x`, not `ActorData.x` or `SomeData.x`.
            !kql[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            let rest = &kql[i + 5..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn the_recording_rule_reads_the_actor_from_the_follow_up_the_code_makes() {
    let row = crate::testkit::audit::recording_row("x", datetime!(2025-03-14 09:00 UTC));
    let access = Access {
        at: "2025-03-14T09:00:01Z".into(),
        operation: "DeleteBlob".into(),
        status: "202".into(),
        authentication: "OAuth".into(),
        upn: "mallory@contoso.com".into(),
        caller_ip: "203.0.113.9:50412".into(),
        ..Access::default()
    };
    let tie = crate::custody::actor::Tie {
        status: crate::catalogue::writer::ACTOR_FOUND,
        how: "how".into(),
    };
    let n = finding(&row, Change::Deleted, &found(&access, &tie, "alert-1")).told();
    assert_eq!(n.kind, "recording.actor");
    assert_eq!(n.notification_id, "alert-1.actor");
    assert!(
        RULE.contains(&format!("DetectionType == \"{}\"", n.kind)),
        "the rule reads the follow-up"
    );
    assert!(
        RULE.contains("strcat(NotificationId, \".actor\")"),
        "joined by the alert's id + .actor"
    );
    let carried = n.data.as_object().expect("data is an object");
    let reads = data_fields(RULE);
    assert!(!reads.is_empty());
    for f in reads {
        assert!(
            carried.contains_key(f),
            "the rule reads Data.{f}, which the recording.actor detection does not carry"
        );
    }
    assert_eq!(n.data["callerIpAddress"], "203.0.113.9:50412", "ip:port");
}

/// The names in a `let <name> = dynamic([...]);` line of `kql`.
fn dynamic_list<'a>(kql: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("let {name} = dynamic([");
    let Some(i) = kql.find(&start) else {
        return Vec::new();
    };
    let rest = &kql[i + start.len()..];
    let end = rest.find("])").unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `recording-changed-in-logs` asks `StorageBlobLogs` for exactly the logged operation names the
/// changes pass reads ([`super::changes`]): the removals and the writes of a whole content.
#[test]
fn the_logs_rule_reads_the_operations_the_changes_pass_reads() {
    let rule = include_str!("../../sentinel/rules/recording-changed-in-logs.kql");
    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }
    let removals = [super::changes::REMOVES, super::changes::REMOVES_ALL].concat();
    assert_eq!(
        sorted(dynamic_list(rule, "removals")),
        sorted(removals.clone())
    );
    assert_eq!(
        sorted(dynamic_list(rule, "writes")),
        sorted(super::changes::OVERWRITES.to_vec())
    );
    assert!(removals.contains(&"DeleteFilesystem") && removals.contains(&"RenamePathDir"));
}
