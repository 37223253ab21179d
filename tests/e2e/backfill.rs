//! `handler backfill` (the real binary) on Azurite: recordings and a `PT1H.json` seeded directly,
//! without events; a `--limit`ed run, a resumed run that finishes the rest, a `--restart` that
//! changes nothing and emits nothing; the join, and a `vm` / `user` query served by index rows.

use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;
use serde_json::Value;

use crate::harness::{AzuriteEnv, azurite};

const PATH: &str = "resourceId=/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-HUB-WEU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU/y=2025/m=03/d=14/h=09/m=00/PT1H.json";
const ALICE: &str = "5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f";

fn cli(env: &AzuriteEnv, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(args)
        .env_clear()
        .envs(env.vars.iter())
        .env("CATALOGUE_MAX_RANGE_DAYS", "366")
        .output()
        .expect("run handler");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), lines, err)
}

fn summary(lines: &[Value]) -> Value {
    lines
        .iter()
        .find_map(|l| l.get("summary").cloned())
        .expect("summary line")
}

fn notifications(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["queue"] == "notifications")
        .map(|l| {
            l["message"]["notificationId"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect()
}

fn tomorrow() -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(1);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn backfill_catalogues_tails_resumes_and_is_idempotent() {
    let Some(cs) = azurite() else { return };
    let env = AzuriteEnv::new(&cs);
    let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
    let app = &config.storage.app;
    let blobs = AzureBlobStore::new(app).expect("blobs");
    let tables = TableRestClient::new(app, &config.table_prefix).expect("tables");
    let log = BlobRef::new(env.audit_logs(), PATH);
    blobs
        .create_append(&log, "application/json")
        .await
        .expect("log");
    // The sessions on the day the recordings are uploaded (now), which they vouch for; the hour
    // blob keeps its old path, so the rerun finds it retired (present, not tailed again).
    // Without the sample's still-open session: open until 12 hours after its start, it would take
    // the other recordings, uploaded now, by time.
    let text: Vec<u8> = String::from_utf8_lossy(&crate::harness::fixture_on_sample_day(
        "auditlogs/PT1H.sample.jsonl",
    ))
    .split_inclusive('\n')
    .filter(|line| !line.contains("c0ffee00-1111-4222-8333-444455556666"))
    .collect::<String>()
    .into_bytes();
    blobs.append(&log, Bytes::from(text)).await.expect("append");
    let mut names = vec![format!("PLACEHOLDER-{ALICE}.mp4")];
    names.extend((0..6).map(|i| format!("vm-{i}/session-{i}.mp4")));
    for n in &names {
        let b = BlobRef::new(env.recordings(), n.as_str());
        blobs
            .put(
                &b,
                Bytes::from_static(b"rec"),
                "video/mp4",
                &Metadata::new(),
            )
            .await
            .expect("put");
    }
    let to = tomorrow();
    let base = ["backfill", "--from", "2025-01-01", "--to", to.as_str()];

    // Dry run: counts, writes nothing.
    let (code, lines, err) = cli(&env, &[&base[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&lines)["would_process"], 8, "{err}");
    assert!(notifications(&lines).is_empty());

    // Interrupted: 4 items (the audit hour + 3 recordings), then resumed.
    let (code, lines, err) = cli(
        &env,
        &[&base[..], &["--limit", "4", "--concurrency", "2"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let first = summary(&lines);
    assert_eq!(
        (
            first["complete"].clone(),
            first["audit_logs_tailed"].clone()
        ),
        (false.into(), 1.into()),
        "{first}"
    );
    assert_eq!(first["catalogued"], 3);
    assert!(err.contains("rerun to continue"), "{err}");
    // stderr is a pipe here: plain progress lines, no terminal escape codes.
    assert!(
        err.contains("backfill: recordings.devstoreaccount1.") && !err.contains('\u{1b}'),
        "{err}"
    );
    let mut sent = notifications(&lines);
    let (code, lines, err) = cli(&env, &base);
    assert_eq!(code, 0, "{err}");
    let second = summary(&lines);
    assert_eq!(
        (second["catalogued"].clone(), second["complete"].clone()),
        (4.into(), true.into()),
        "{second}"
    );
    sent.extend(notifications(&lines));
    sent.sort();
    let total = sent.len();
    sent.dedup();
    assert_eq!(
        (total, sent.len()),
        (7, 7),
        "one recording.catalogued per recording"
    );

    let rows = tables
        .query("recordings", None, None, None)
        .await
        .expect("rows")
        .items;
    assert_eq!(rows.len(), 7);
    let joined = rows
        .iter()
        .find(|r| {
            r.entity["BlobName"]
                .as_str()
                .is_some_and(|b| b.contains(ALICE))
        })
        .expect("joined row");
    assert_eq!(
        joined.entity["MatchConfidence"], "exact",
        "{:?}",
        joined.entity
    );

    // Again from the top: nothing changes, nothing is emitted.
    let (code, lines, err) = cli(&env, &[&base[..], &["--restart"]].concat());
    assert_eq!(code, 0, "{err}");
    let third = summary(&lines);
    assert_eq!(
        (
            third["catalogued"].clone(),
            third["audit_logs_present"].clone()
        ),
        (0.into(), 1.into()),
        "{third}"
    );
    assert!(
        lines.iter().all(|l| l.get("queue").is_none()),
        "no outputs: {lines:?}"
    );
    let after = tables
        .query("recordings", None, None, None)
        .await
        .expect("rows")
        .items;
    assert_eq!(
        after.iter().map(|s| &s.etag).collect::<Vec<_>>(),
        rows.iter().map(|s| &s.etag).collect::<Vec<_>>(),
        "no row rewritten"
    );

    // The joined row sorts at its session start (the sample day) and lives in today's partition
    // (the same day after 09:45 UTC): the index finds it for a vm / user filter over that day.
    let day = crate::harness::sample_date(0);
    let vm = joined.entity["TargetVm"].as_str().expect("vm").to_owned();
    let user = joined.entity["UserName"].as_str().expect("user").to_owned();
    for (flag, value) in [("--vm", vm.to_uppercase()), ("--user", user)] {
        let (code, lines, err) = cli(
            &env,
            &[
                "catalogue",
                "query",
                "--from",
                day.as_str(),
                "--to",
                day.as_str(),
                flag,
                value.as_str(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(lines.len(), 1, "{flag}: {lines:?} {err}");
    }
    let index = tables
        .query("recordingindex", None, None, None)
        .await
        .expect("index")
        .items;
    assert!(index.len() >= 2, "{index:?}");

    // --hash: every backfilled recording gets RecordingHash's digest (sha256 of "rec"), once.
    let hashed = [&base[..], &["--recordings-only", "--restart", "--hash"]].concat();
    let (code, lines, err) = cli(&env, &hashed);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary(&lines)["hashes"]["hashed"], 7, "{err}");
    let rows = tables
        .query("recordings", None, None, None)
        .await
        .expect("rows")
        .items;
    assert!(
        rows.iter().all(|r| r.entity["Sha256"]
            == "cb41b38387d6fca01272be03380f63568fccbd724c299ae58e8d548d91b67a58"),
        "{rows:?}"
    );
    let (code, lines, err) = cli(&env, &hashed);
    assert_eq!(code, 0, "{err}");
    let again = &summary(&lines)["hashes"];
    assert_eq!(
        (&again["hashed"], &again["already_hashed"]),
        (&0.into(), &7.into()),
        "{again}"
    );
}
