//! Batch fold tests: one session per tunnel whatever its case or escaping, borrowed keys, raw line
//! choice, unkeyed records and failed logins.

use std::borrow::Cow;

use time::Duration;

use super::*;
use crate::audit_logs::parse::parse_lines;

const WINDOW: Duration = Duration::minutes(15);

fn fold<'a>(buf: &'a [u8], batch: &mut Batch<'a>) {
    parse_lines(
        buf,
        0,
        &mut |off, r| {
            let rest = &buf[off as usize..];
            let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
            batch.add_at(off, &r, line, "bas-path", WINDOW);
        },
        &mut |e, _| panic!("{e}"),
    );
}

const LINES: &str = concat!(
    r#"{"time":"2025-03-14T10:00:02Z","properties":{"tunnelId":"ABC-1","message":"Successfully Connected.","userName":"u"}}"#,
    "\n",
    r#"{"time":"2025-03-14T10:00:09Z","properties":{"tunnelId":" abc-1 ","message":"Session Ended"}}"#,
    "\n",
    r#"{"time":"2025-03-14T10:00:01Z","properties":{"tunnelId":"\u0061bc-1","message":"x"}}"#,
    "\n",
    r#"{"time":"2025-03-14T10:00:03Z","properties":{"tunnelId":"def-2","message":"Login Failed","userName":"Root","clientIpAddress":"1.2.3.4","targetResourceId":"/x/virtualMachines/VM-9"}}"#,
    "\n",
    r#"{"time":"2025-03-14T10:00:04Z","properties":{"tunnelId":"  ","message":"y"}}"#,
    "\n",
    r#"{"time":"2025-03-14T10:00:05Z","properties":{"message":"z"}}"#,
    "\n",
);

#[test]
fn one_session_per_tunnel_whatever_its_case_or_escaping() {
    let mut batch = Batch::default();
    fold(LINES.as_bytes(), &mut batch);
    assert_eq!((batch.records, batch.unkeyed, batch.sessions()), (6, 2, 2));
    let [abc, def] = batch.folded() else {
        panic!("two sessions")
    };
    assert_eq!(abc.tunnel_id, "abc-1");
    assert!(
        matches!(def.tunnel_id, Cow::Borrowed("def-2")),
        "lower-case ids are borrowed"
    );
    let s = &abc.session;
    assert_eq!(s.user_name, "u");
    assert_eq!(s.bastion_host, "bas-path");
    assert_eq!(
        s.messages,
        ["Session Ended", "Successfully Connected.", "x"]
    );
    assert_eq!(
        s.first_record_time,
        Some(time::macros::datetime!(2025-03-14 10:00:01 UTC))
    );
    // The raw line kept is the latest record's.
    let (_, line) = abc.raw.as_ref().expect("raw line");
    assert!(
        std::str::from_utf8(line)
            .expect("utf8")
            .contains("Session Ended")
    );
}

#[test]
fn failed_logins_are_collected_and_long_lines_not_kept_raw() {
    let mut batch = Batch::default();
    fold(LINES.as_bytes(), &mut batch);
    let [(at, f)] = batch.failed.as_slice() else {
        panic!("one failed login")
    };
    let fourth = LINES.match_indices('\n').nth(2).map(|(i, _)| i + 1);
    assert_eq!(Some(*at as usize), fourth, "kept with its record's offset");
    assert_eq!(
        (f.tunnel_id.as_str(), f.vm.as_str(), f.user.as_str()),
        ("def-2", "vm-9", "root")
    );
    assert_eq!(f.client_ip, "1.2.3.4");
    let long = format!(
        r#"{{"time":"2025-03-14T10:00:02Z","properties":{{"tunnelId":"t","pad":"{}"}}}}"#,
        "p".repeat(MAX_RAW)
    );
    let mut batch = Batch::default();
    batch.add_at(0, &parse_one(&long), long.as_bytes(), "h", WINDOW);
    assert!(batch.folded()[0].raw.is_none(), "over MAX_RAW: no LastRaw");
}

fn parse_one(line: &str) -> Record<'_> {
    crate::audit_logs::parse::parse_line(line.as_bytes()).expect("line")
}

#[test]
fn a_batch_sized_for_a_chunk_folds_like_a_default_one() {
    let mut sized = Batch::for_chunk(LINES.len() * 1000);
    assert!(sized.folded.capacity() >= 1, "room reserved up front");
    assert!(
        Batch::for_chunk(usize::MAX).folded.capacity() <= 8192,
        "reservation capped"
    );
    let mut plain = Batch::default();
    fold(LINES.as_bytes(), &mut sized);
    fold(LINES.as_bytes(), &mut plain);
    assert_eq!(sized.sessions(), plain.sessions());
    for (a, b) in sized.folded().iter().zip(plain.folded()) {
        assert_eq!((&a.tunnel_id, &a.session), (&b.tunnel_id, &b.session));
    }
}

#[test]
fn offsets_tell_what_a_cut_flush_covered() {
    let mut batch = Batch::default();
    fold(LINES.as_bytes(), &mut batch);
    let starts: Vec<u64> = std::iter::once(0)
        .chain(LINES.match_indices('\n').map(|(i, _)| i as u64 + 1))
        .take(6)
        .collect();
    assert_eq!(batch.offsets, starts);
    let [abc, def] = batch.folded() else {
        panic!("two sessions")
    };
    assert_eq!((abc.first_offset, def.first_offset), (0, starts[3]));
}

#[test]
fn chunks_absorbed_into_one_batch_fold_like_one_chunk() {
    let mut whole = Batch::default();
    fold(LINES.as_bytes(), &mut whole);
    // The same lines as two chunks, each batch dropped with its buffer once absorbed.
    let cut = LINES.match_indices('\n').nth(1).map_or(0, |(i, _)| i + 1);
    let mut held: Batch<'static> = Batch::default();
    for (buf, at) in [(&LINES[..cut], 0), (&LINES[cut..], cut as u64)] {
        let owned = buf.as_bytes().to_vec();
        let mut part = Batch::default();
        parse_lines(
            &owned,
            0,
            &mut |off, r| {
                let rest = &owned[off as usize..];
                let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
                part.add_at(at + off, &r, line, "bas-path", WINDOW);
            },
            &mut |e, _| panic!("{e}"),
        );
        held.absorb(part);
    }
    assert_eq!(
        (held.records, held.unkeyed, held.sessions()),
        (whole.records, whole.unkeyed, whole.sessions())
    );
    assert_eq!(held.offsets, whole.offsets);
    assert_eq!(held.failed.len(), whole.failed.len());
    for (a, b) in held.folded().iter().zip(whole.folded()) {
        assert_eq!((&a.tunnel_id, &a.session), (&b.tunnel_id, &b.session));
        assert_eq!(a.first_offset, b.first_offset);
        assert_eq!(a.raw, b.raw, "the same latest line kept");
    }
    assert!(held.raw_bytes() > 0);
}
