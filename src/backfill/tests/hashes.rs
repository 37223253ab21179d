//! `--hash`: every unhashed recording of the range gets its SHA-256 through `RecordingHash`'s
//! code; a rerun reads no blob again; deleted rows and rows outside the range are left alone.

use super::*;

/// SHA-256 of `rec` (the rig's recording content), computed independently with `sha256sum`.
const REC_SHA256: &str = "cb41b38387d6fca01272be03380f63568fccbd724c299ae58e8d548d91b67a58";

#[tokio::test]
async fn hashes_unhashed_recordings_once_and_skips_deleted_rows() {
    let r = rig();
    let a = r.recording("vm/a.mp4").await;
    let b = r.recording("vm/b.mp4").await;
    let gone = r.recording("vm/gone.mp4").await;
    let with_hash = Options {
        kinds: vec![Kind::Recordings],
        hash: true,
        ..opts()
    };
    // Catalogue only, then mark one row deleted as the sweep would (it keeps the row as evidence).
    let (s, _) = r
        .run(&Options {
            hash: false,
            ..with_hash.clone()
        })
        .await;
    assert_eq!((s.catalogued, s.hashes.clone()), (3, None), "{s:?}");
    let mut row = r.row(&gone).await.expect("row");
    row.insert("Status".into(), STATUS_DELETED_VALUE.into());
    r.tables
        .write("recordings", &row, WriteMode::Upsert)
        .await
        .expect("write");

    let (s, _) = r.run(&with_hash).await;
    let h = s.hashes.clone().expect("hash pass ran");
    assert_eq!((h.hashed, h.already_hashed, h.skipped), (2, 0, 1), "{h:?}");
    assert!(h.failed.is_empty() && s.errors == 0, "{s:?}");
    for key in [&a, &b] {
        let row = r.row(key).await.expect("row");
        assert_eq!(row["Sha256"], REC_SHA256, "{row:?}");
        assert_eq!(row["HashedLength"], "3", "Edm.Int64 travels as a string");
    }
    assert!(r.row(&gone).await.expect("row").get("Sha256").is_none());

    // Rerun: nothing hashed again.
    let (s, _) = r.run(&with_hash).await;
    let h = s.hashes.expect("hash pass ran");
    assert_eq!((h.hashed, h.already_hashed, h.skipped), (0, 2, 1), "{h:?}");

    // A range that excludes the recordings' creation day hashes nothing.
    let early = Options {
        from: datetime!(2024-01-01 0:00 UTC),
        to: datetime!(2024-12-31 0:00 UTC),
        restart: true,
        ..with_hash
    };
    let (s, _) = r.run(&early).await;
    assert_eq!(
        s.hashes.expect("ran"),
        crate::backfill::hashes::HashTotals::default()
    );
}

const STATUS_DELETED_VALUE: &str = crate::catalogue::recording::STATUS_DELETED;
