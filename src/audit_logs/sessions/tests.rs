//! Session merge tests: order independence, idempotency, open enums, entity round trip.

use time::macros::datetime;

use super::*;
use crate::audit_logs::parse::parse_lines;

use crate::testkit::files::sample_auditlog as fixture;

fn sessionize(lines: &[&[u8]]) -> std::collections::BTreeMap<String, SessionRecord> {
    let mut map = std::collections::BTreeMap::new();
    for line in lines {
        let mut buf = line.to_vec();
        buf.push(b'\n');
        parse_lines(
            &buf,
            0,
            &mut |_, r| {
                let t = tunnel_of(&r).expect("tunnel");
                map.entry(t.clone())
                    .or_insert_with(|| SessionRecord::new(&t))
                    .merge_record(&r, "from-path");
            },
            &mut |e, _| panic!("{e}"),
        );
    }
    map
}

/// The lower-case tunnel id of a record, if it has a non-empty one.
fn tunnel_of(rec: &Record<'_>) -> Option<String> {
    let t = rec.properties.tunnel_id.as_ref()?.as_str().trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

impl SessionRecord {
    /// Folds one record in at its own time ([`SessionRecord::merge_at`]).
    pub(crate) fn merge_record(&mut self, rec: &Record<'_>, host: &str) {
        let time = rec.time.as_ref().and_then(|t| record_time(t.as_str()));
        self.merge_at(rec, host, time);
    }
}

const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

#[test]
fn connect_and_end_records_merge_in_any_order() {
    let buf = fixture();
    let lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').take(4).collect();
    let forward = sessionize(&lines);
    let reversed: Vec<&[u8]> = lines.iter().rev().copied().collect();
    let backward = sessionize(&reversed);
    assert_eq!(forward, backward);
    let twice: Vec<&[u8]> = lines.iter().chain(lines.iter()).copied().collect();
    assert_eq!(sessionize(&twice), forward, "duplicates change nothing");
    let s = &forward[ALICE];
    assert_eq!(s.bastion_host, "bas-hub-weu");
    assert_eq!(s.target_vm, "vm-app-01");
    assert_eq!(s.resource_group, "rg-app-weu");
    assert_eq!(s.protocol, "ssh");
    assert_eq!(s.user_email, "alice@contoso.com");
    assert_eq!(s.outcome, outcome::CONNECTED);
    assert_eq!(
        s.session_start,
        Some(datetime!(2025-03-14 09:03:54.776 UTC))
    );
    assert_eq!(s.session_end, Some(datetime!(2025-03-14 09:41:58.300 UTC)));
    assert_eq!(s.effective_duration_ms(), Some(2_283_524));
    assert_eq!(
        s.messages,
        ["HYPOTHETICAL-session-ended", "Successfully Connected."]
    );
    assert_eq!(
        forward["a1b2c3d4-0000-4000-8000-000000000002"].outcome,
        outcome::LOGIN_FAILED
    );
    let no_email = &forward["c0ffee00-1111-4222-8333-444455556666"];
    assert_eq!(no_email.user_email, "", "userEmail may be absent");
}

#[test]
fn merging_partial_views_is_commutative() {
    let buf = fixture();
    let lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').take(4).collect();
    let a = sessionize(&lines[..1])[ALICE].clone();
    let b = sessionize(&lines[2..3])[ALICE].clone();
    let (mut ab, mut ba) = (a.clone(), b.clone());
    ab.merge(&b);
    ba.merge(&a);
    assert_eq!(ab, ba);
    assert_eq!(ab, sessionize(&lines)[ALICE]);
}

#[test]
fn end_from_duration_pascal_case_and_disconnect_time() {
    let s = sessionize(&[br#"{"time":"2025-03-14T10:00:00Z","operationName":"X","properties":{"TunnelId":"T1","SessionStartTime":"2025-03-14T09:00:00Z","Duration":"60000","SessionEndTime":""}}"#])["t1"].clone();
    assert_eq!(s.session_end, Some(datetime!(2025-03-14 09:01 UTC)));
    assert_eq!(s.outcome, outcome::OTHER);
    let d = sessionize(&[br#"{"time":"2025-03-14T10:00:00Z","operationName":"Microsoft.Network/BastionHost/disconnect","properties":{"tunnelId":"T2"}}"#])["t2"].clone();
    assert_eq!(d.session_end, Some(datetime!(2025-03-14 10:00 UTC)));
    assert_eq!(d.bastion_host, "from-path");
}

#[test]
fn entity_round_trip_is_stable() {
    let buf = fixture();
    let lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').take(4).collect();
    for s in sessionize(&lines).values() {
        let mut e = s.to_entity();
        crate::tables::strip_annotations(&mut e);
        let back = SessionRecord::from_entity(&e).expect("row");
        let mut again = back.clone();
        again.merge(s);
        assert_eq!(again, back, "re-merging a stored session changes nothing");
    }
}

#[test]
fn classification_is_tolerant() {
    assert_eq!(
        classify(
            "Microsoft.Network/BastionHost/connect",
            "Successfully Connected."
        ),
        RecordKind::Connected
    );
    assert_eq!(classify("", "LOGIN FAILED"), RecordKind::LoginFailed);
    assert_eq!(
        classify("Microsoft.Network/BastionHost/Disconnect", ""),
        RecordKind::Ended
    );
    assert_eq!(classify("", "something new"), RecordKind::Other);
    assert_eq!(
        arm_segment(
            "/SUBSCRIPTIONS/s/RESOURCEGROUPS/rg/PROVIDERS/X/VIRTUALMACHINES/VM1",
            "virtualMachines"
        ),
        Some("VM1")
    );
    assert_eq!(arm_segment("/x/virtualmachines/", "virtualMachines"), None);
}

/// Folds all `lines` (one tunnel) into a copy of `stored`, one record at a time, as the tail does.
fn fold_into(lines: &[&[u8]], stored: &SessionRecord) -> SessionRecord {
    let buf: Vec<u8> = lines.iter().flat_map(|l| [*l, b"\n"].concat()).collect();
    let mut out = stored.clone();
    parse_lines(
        &buf,
        0,
        &mut |_, r| {
            let time = r.time.as_ref().and_then(|t| record_time(t.as_str()));
            out.merge_at(&r, "from-path", time);
        },
        &mut |e, _| panic!("{e}"),
    );
    out
}

/// One tunnel's records, with escapes (owned text), mixed case, odd ids and many messages.
const T9: [&[u8]; 5] = [
    br#"{"time":"2025-03-14T10:00:05Z","resourceId":"/x/bastionHosts/BAS-\u0041","operationName":"Op/Connect","properties":{"tunnelId":"T9","message":"Successfully Connected.","userName":"Bob","protocol":"SSH","targetResourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG\u002d1/PROVIDERS/X/VIRTUALMACHINESCALESETS/SS1","clientPort":"22"}}"#,
    br#"{"time":"2025-03-14T10:00:01Z","operationName":"zz","properties":{"tunnelId":"t9","message":"m\tb","userEmail":" Bob@X.com ","targetVMIPAddress":"10.0.0.9","subscriptionId":"SUB-2"}}"#,
    br#"{"time":"2025-03-14T10:09:00Z","operationName":"Op/disconnect","properties":{"tunnelId":"t9","message":"a","sessionStartTime":"2025-03-14T10:00:00Z","duration":540000}}"#,
    br#"{"time":"2025-03-14T10:02:00Z","operationName":"b","properties":{"tunnelId":"t9","message":"Login Failed","clientIpAddress":"1.2.3.4"}}"#,
    br#"{"time":"bad","operationName":"c","properties":{"tunnelId":"t9","message":"d","protocol":"rdp"}}"#,
];

#[test]
fn escapes_case_arm_ids_and_a_stored_row_merge_in_any_order() {
    // Each record folded on its own, the partial sessions merged, equals one fold of them all.
    let mut owned = SessionRecord::new("t9");
    for line in T9 {
        let one = sessionize(&[line])["t9"].clone();
        owned.merge(&one);
    }
    let empty = SessionRecord::new("t9");
    let folded = fold_into(&T9, &empty);
    assert_eq!(folded, owned);
    assert_eq!(folded.bastion_host, "bas-a", "escaped text is folded too");
    assert_eq!(folded.target_vm, "ss1");
    assert_eq!(
        folded.subscription, "s1",
        "the target id wins over subscriptionId"
    );
    assert_eq!(folded.resource_group, "rg-1");
    assert_eq!(folded.protocol, "ssh", "first value wins, lower-cased");
    assert_eq!(folded.user_email, "Bob@X.com", "trimmed, case kept");
    assert_eq!(folded.client_port, Some(22));
    assert_eq!(folded.outcome, outcome::CONNECTED);
    assert_eq!(folded.session_end, Some(datetime!(2025-03-14 10:09 UTC)));
    assert_eq!(
        folded.first_record_time,
        Some(datetime!(2025-03-14 10:00:01 UTC))
    );
    assert_eq!(
        folded.messages,
        ["Login Failed", "Successfully Connected.", "a", "d", "m\tb"]
    );
    // Merging into a stored row keeps what the row already knows.
    let mut stored = SessionRecord::new("t9");
    stored.protocol = "rdp".into();
    stored.outcome = outcome::LOGIN_FAILED.into();
    stored.session_start = Some(datetime!(2025-03-14 09:00 UTC));
    let mut expected = stored.clone();
    expected.merge(&owned);
    let merged = fold_into(&T9, &stored);
    assert_eq!(merged, expected);
    assert_eq!(merged.protocol, "rdp");
    assert_eq!(merged.outcome, outcome::CONNECTED);
    assert_eq!(merged.session_start, Some(datetime!(2025-03-14 09:00 UTC)));
    // Folding in any order gives the same ranked fields.
    let reversed: Vec<&[u8]> = T9.iter().rev().copied().collect();
    let back = fold_into(&reversed, &empty);
    assert_eq!(
        (
            back.session_start,
            back.session_end,
            &back.outcome,
            &back.messages
        ),
        (
            folded.session_start,
            folded.session_end,
            &folded.outcome,
            &folded.messages
        )
    );
}

#[test]
fn the_smallest_raw_values_are_kept_whatever_the_order() {
    let lines: Vec<String> = (0..12)
        .map(|i| {
            let n = (i * 7) % 12;
            format!(r#"{{"operationName":"op{n:02}","properties":{{"tunnelId":"t","message":"m{n:02}"}}}}"#)
        })
        .collect();
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let mut owned = SessionRecord::new("t");
    for line in &refs {
        owned.merge(&sessionize(&[line])["t"]);
    }
    let doubled: Vec<&[u8]> = refs.iter().chain(refs.iter()).copied().collect();
    let folded = fold_into(&doubled, &SessionRecord::new("t"));
    assert_eq!(folded, owned);
    let expected: Vec<String> = (0..crate::catalogue::session::MAX_RAW_VALUES)
        .map(|n| format!("m{n:02}"))
        .collect();
    assert_eq!(folded.messages, expected);
    assert_eq!(
        folded.operations.len(),
        crate::catalogue::session::MAX_RAW_VALUES
    );
}
