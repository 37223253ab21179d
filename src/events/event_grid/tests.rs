//! Tests for blob-event normalisation over both schemas and their documented quirks.

use serde_json::json;

use super::*;

fn eg() -> Value {
    json!({
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stbastrecweu01",
        "subject": "/blobServices/default/containers/recordings/blobs/a/b/PLACEHOLDER-1.bin",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2025-03-14T09:42:17.1234567Z",
        "id": "e1",
        "data": {"api": "PutBlockList", "eTag": "0x1", "contentLength": 8388608, "blobType": "BlockBlob",
                 "url": "https://stbastrecweu01.blob.core.windows.net/recordings/a/b/PLACEHOLDER-1.bin",
                 "sequencer": "0000000000000000000000000001A2B30000000000c0ffee", "extra": {"ignored": true}},
        "dataVersion": "", "metadataVersion": "1"
    })
}

#[test]
fn event_grid_schema_normalises() {
    let e = BlobEvent::from_value(&eg()).expect("event");
    assert_eq!(
        (e.account.as_str(), e.container.as_str(), e.blob.as_str()),
        ("stbastrecweu01", "recordings", "a/b/PLACEHOLDER-1.bin")
    );
    assert!(e.is_created());
    assert_eq!(e.data.content_length, Some(8_388_608));
    assert_eq!(e.time.nanosecond(), 123_456_700);
}

#[test]
fn cloudevents_quirks_normalise() {
    let v = json!({"specversion": "1.0", "type": "Microsoft.Storage.BlobCreated",
        "source": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "id": "c1", "time": "2025-03-14T09:42:17Z",
        "subject": "blobServices/default/containers/recordings/blobs/x",
        "data": {"api": "PutBlob", "eTag": "\"0x8D4\"", "url": "https://acct.blob.core.windows.net/recordings/x"}});
    let e = BlobEvent::from_value(&v).expect("event");
    assert_eq!(e.data.e_tag.as_deref(), Some("0x8D4"));
    assert_eq!(e.blob, "x");
    assert_eq!(e.account, "acct");
}

#[test]
fn account_falls_back_to_url_and_path_style_urls() {
    let mut v = eg();
    v.as_object_mut().expect("obj").remove("topic");
    assert_eq!(
        BlobEvent::from_value(&v).expect("event").account,
        "stbastrecweu01"
    );
    assert_eq!(
        crate::storage::url::BlobUrl::account_of(
            "http://127.0.0.1:10000/devstoreaccount1/recordings/x"
        )
        .as_deref(),
        Some("devstoreaccount1")
    );
    assert_eq!(
        account_from_topic("/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/ACCT")
            .as_deref(),
        Some("ACCT")
    );
    assert_eq!(
        account_from_topic("/subscriptions/ü-ß/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st01/x")
            .as_deref(),
        Some("st01")
    );
    assert_eq!(account_from_topic("/storageAccounts/"), None);
    assert_eq!(account_from_topic("/storageAccount/x"), None);
}

#[test]
fn missing_or_malformed_fields_are_errors() {
    for (field, want) in [
        ("id", EventError::Missing("id")),
        ("subject", EventError::Missing("subject")),
        ("eventTime", EventError::Missing("eventTime")),
    ] {
        let mut v = eg();
        v.as_object_mut().expect("obj").remove(field);
        assert_eq!(BlobEvent::from_value(&v), Err(want));
    }
    let mut v = eg();
    v["subject"] = json!("/blobServices/default/containers/recordings");
    assert_eq!(
        BlobEvent::from_value(&v),
        Err(EventError::Malformed("subject"))
    );
    v = eg();
    v["eventTime"] = json!("yesterday");
    assert_eq!(
        BlobEvent::from_value(&v),
        Err(EventError::Malformed("eventTime"))
    );
    let mut v = eg();
    v["eventType"] = json!("Microsoft.Storage.BlobInventoryPolicyCompleted");
    v["subject"] = json!("BlobDataManagement/BlobInventory");
    v["eventTime"] = json!("not checked for other types");
    assert_eq!(
        BlobEvent::from_value(&v),
        Err(EventError::OtherType(
            "Microsoft.Storage.BlobInventoryPolicyCompleted".into()
        ))
    );
    assert!(BlobEvent::from_value(&json!("string")).is_err());
    assert!(BlobEvent::from_value(&json!({"data": 5})).is_err());
}

#[test]
fn sequencers_compare_ordinally() {
    use std::cmp::Ordering;
    assert_eq!(sequencer_cmp("0000A", "0000b"), Ordering::Less);
    assert_eq!(sequencer_cmp("00001", "00001"), Ordering::Equal);
    assert_eq!(sequencer_cmp("FF", "100"), Ordering::Less);
}

#[test]
fn json_text_decodes_like_a_value() {
    let mut cloud = eg();
    cloud["data"] = json!("not an object");
    for v in [eg(), cloud, json!({"id": "x"}), json!(5), json!("s")] {
        assert_eq!(
            BlobEvent::from_json(&v.to_string()),
            BlobEvent::from_value(&v)
        );
    }
    let escaped = r#"{"id":"e\u0031","eventType":"Microsoft.Storage.BlobCreated","eventTime":"2025-03-14T09:42:17Z",
        "topic":"/subscriptions/s/providers/Microsoft.Storage/storageAccounts/acct",
        "subject":"/blobServices/default/containers/rec/blobs/a\/b","data":null}"#;
    let e = BlobEvent::from_json(escaped).expect("escaped text");
    assert_eq!((e.id.as_str(), e.blob.as_str()), ("e1", "a/b"));
    assert_eq!(e.data, BlobEventData::default());
}

#[test]
fn blob_deleted_decodes_in_both_schemas_without_etag_or_length() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events/");
    for file in [
        "blob-deleted.eventgrid.json",
        "blob-deleted.cloudevents.json",
    ] {
        let text = std::fs::read_to_string([dir, file].concat()).expect("fixture");
        let e = BlobEvent::from_json(&text).expect(file);
        assert!(e.is_deleted() && !e.is_created(), "{file}");
        assert_eq!(
            (e.account.as_str(), e.container.as_str()),
            ("stbastrecweu01", "recordings"),
            "{file}"
        );
        assert_eq!(e.blob, "PLACEHOLDER-5f0c2d7e-8b1a-4c3e-9d2f-6a7b8c9d0e1f");
        assert_eq!(
            (e.data.e_tag.as_deref(), e.data.content_length),
            (None, None)
        );
        assert!(e.data.request_id.as_deref().is_some_and(|r| !r.is_empty()));
        assert_eq!(e.data.api, "DeleteBlob");
    }
}
