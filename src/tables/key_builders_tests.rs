//! Every table key built from outside text, fed hostile and 4 KiB values: each builder's keys are
//! valid keys (at most 1 KiB, none of `/ \ # ?` or control characters), so no name, id or path
//! someone else chose can make a write fail with the service's 400 and stop a run.

use time::macros::datetime;

use super::keys::{MAX_KEY_BYTES, is_valid_key};
use crate::audit_logs::detect::failed::FailedLogin;
use crate::audit_logs::repo::Cursor;
use crate::audit_logs::sessions::tunnel_key;
use crate::catalogue::days::DayRow;
use crate::catalogue::key::{index_keys, index_partition};
use crate::catalogue::recording::RecordingKey;
use crate::catalogue::session::SessionRecord;
use crate::reviews::model::{Kind, Subject};
use crate::reviews::queue::entry::{entry_key, rank_key};
use crate::reviews::queue::pairs::pair_key;
use crate::testkit::tables::hostile_texts;

fn valid(what: &str, key: &str) {
    assert!(
        is_valid_key(key),
        "{what}: {} bytes: {:?}…",
        key.len(),
        &key.chars().take(60).collect::<String>()
    );
}

fn session(text: &str) -> DayRow {
    let mut s = SessionRecord::new(text);
    s.session_start = Some(datetime!(2026-03-01 09:00 UTC));
    s.bastion_host = text.to_owned();
    s.target_vm = text.to_owned();
    s.user_name = text.to_owned();
    s.client_ip = text.to_owned();
    s.outcome = "connected".into();
    DayRow::of(&s).expect("a row")
}

#[test]
fn every_key_builder_keeps_hostile_and_4_kib_values_within_the_service_limits() {
    let t = datetime!(2026-03-01 09:00 UTC);
    let mut texts = hostile_texts();
    texts.push(format!("{}|{}", "u".repeat(2048), "v".repeat(2048)));
    // A blob path whose encoded key is just under 1 KiB: its id is over it.
    texts.push("p".repeat(766));
    for text in &texts {
        // Catalogue: a recording's key and its id in composite keys.
        let rec = RecordingKey::for_source_blob(t, "stneu", text, text);
        valid("recordings RowKey", &rec.rk);
        let default = RecordingKey::for_source_blob(t, "acct", "recordings", text);
        valid("recordings RowKey (default source)", &default.rk);
        for room in [MAX_KEY_BYTES, MAX_KEY_BYTES - 21, MAX_KEY_BYTES - 25] {
            let k = default.id_key(room);
            assert!(k.len() <= room, "id key within its room");
            valid("recording id key", &k);
        }
        // Catalogue index: VM/user partitions and their rows.
        for kind in ["vm", "user"] {
            if let Some(pk) = index_partition(kind, text) {
                valid("recordingindex PartitionKey", &pk);
            }
        }
        let mut row = crate::testkit::audit::recording_row("r", t);
        row.key = default.clone();
        row.joined = Some(crate::catalogue::recording::Joined {
            m: crate::catalogue::recording::Match {
                confidence: crate::catalogue::recording::Confidence::Exact,
                tunnels: vec![text.clone()],
            },
            session: Some(crate::catalogue::recording::SessionView {
                target_vm: text.clone(),
                user_name: text.clone(),
                ..Default::default()
            }),
        });
        for (pk, rk) in index_keys(&row.key, &row) {
            valid("recordingindex PartitionKey", &pk);
            valid("recordingindex RowKey", &rk);
        }
        // Audit logs: cursors, sessions, failed logins.
        let cursor = Cursor::new(text, t, t, "bastion");
        valid("auditcursors RowKey", &cursor.rk());
        let cursor = cursor.in_source(("stneu".into(), text.clone()));
        valid("auditcursors RowKey (other source)", &cursor.rk());
        valid("sessions PartitionKey", &tunnel_key(text));
        let failed = FailedLogin {
            tunnel_id: text.clone(),
            window: t,
            day: String::new(),
            vm: text.clone(),
            user: text.clone(),
            client_ip: text.clone(),
            host: text.clone(),
        };
        for pk in failed.partitions() {
            valid("failedlogins PartitionKey", &pk);
        }
        // Reviews: the queue's rank and pair keys, the latest review of a subject.
        let s = session(text);
        valid("reviewqueue RowKey", &rank_key(9999, s.start, &s.tunnel_id));
        valid("reviewqueue RowKey (entry)", &entry_key(text));
        valid("reviewpairs PartitionKey", &pair_key(&s));
        for kind in [Kind::Session, Kind::Recording] {
            let subject = Subject {
                kind,
                id: text.clone(),
            };
            valid("reviewlatest RowKey", &subject.latest_rk());
        }
        let long_id = Subject {
            kind: Kind::Recording,
            id: default.id(),
        };
        valid("reviewlatest RowKey of a recording", &long_id.latest_rk());
        // Holds, retention, backfill, the estate.
        valid(
            "holds member PartitionKey",
            &crate::retention::hold::member_pk(text),
        );
        valid(
            "holds header RowKey",
            &crate::retention::hold::header_rk(text),
        );
        valid(
            "holds override RowKey",
            &crate::retention::sweep::reevaluate::shortening_key(text, 400, 30),
        );
        valid(
            "backfill RowKey",
            &crate::backfill::checkpoint::failed_key(text),
        );
        valid("estate PartitionKey", &crate::estate::host_key(text));
        valid(
            "livesessions RowKey",
            &crate::estate::live::session_key(text),
        );
        // Notification claims refuse what is no key (the message is poison), never re-key it.
        if crate::notify::claims::valid_key(text) {
            valid("deliveries PartitionKey", text);
        }
    }
}
