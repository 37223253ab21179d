//! One contract suite per storage port, run against the in-memory fakes always and against Azurite
//! when `TEST_AZURITE=1`. The fakes must behave like the service; where Azurite is known to differ
//! from Azure, the test says so in a comment.

mod blob_tags;
mod blobs;
mod guarded_delete;
mod table_keys;
mod tables;

use std::sync::Arc;

use bastion_recordings::azure::connection::{Secret, StorageAuth, StorageConnection};
use bastion_recordings::storage::BlobRef;
use bastion_recordings::storage::BlobStore;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::memory::InMemoryTables;

use crate::harness;

/// Listing page size used by the suite, small so paging is exercised with a handful of blobs.
pub(crate) const PAGE: u32 = 2;

/// The Azurite connection, when enabled.
pub(crate) fn azurite_connection() -> Option<StorageConnection> {
    let cs = harness::azurite()?;
    let conn =
        StorageConnection::resolve("AzuriteTest", &|k| (k == "AzuriteTest").then(|| cs.clone()));
    Some(
        conn.expect("connection string parses")
            .expect("connection configured"),
    )
}

/// Every blob store under test, labelled.
pub(crate) fn blob_stores() -> Vec<(&'static str, Arc<dyn BlobStore>)> {
    let mut stores: Vec<(&'static str, Arc<dyn BlobStore>)> = vec![(
        "memory",
        Arc::new(InMemoryBlobStore::new("devstoreaccount1").with_page_size(PAGE)),
    )];
    if let Some(conn) = azurite_connection() {
        let store = AzureBlobStore::new(&conn)
            .expect("client builds")
            .with_page_size(PAGE);
        stores.push(("azurite", Arc::new(store)));
    }
    stores
}

/// Every table store under test, labelled, each with its own unique table prefix.
pub(crate) fn table_stores() -> Vec<(&'static str, Arc<dyn TableStore>)> {
    let mut stores: Vec<(&'static str, Arc<dyn TableStore>)> =
        vec![("memory", Arc::new(InMemoryTables::new()))];
    if let Some(conn) = azurite_connection() {
        let prefix = harness::unique("p");
        stores.push((
            "azurite",
            Arc::new(TableRestClient::new(&conn, &prefix).expect("client builds")),
        ));
    }
    stores
}

#[tokio::test]
async fn wrong_key_is_permanent_and_never_leaks_the_signature() {
    let Some(mut conn) = azurite_connection() else {
        return;
    };
    conn.auth = StorageAuth::Key(Secret::new("d3Jvbmcga2V5IHdyb25nIGtleQ=="));
    let s = AzureBlobStore::new(&conn).expect("builds");
    let r = s.properties(&BlobRef::new("c", "b")).await;
    let Err(e) = r else {
        panic!("wrong key must fail: {r:?}")
    };
    assert!(!e.is_retryable(), "{e}");
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains("sig=") || text.contains("sig=REDACTED"),
        "{text}"
    );
}
