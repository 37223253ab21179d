//! Storage outages: every route answers 503 without internal detail.

use std::sync::Arc;

use axum::http::StatusCode;

use super::get;
use crate::catalogue::api::ApiSettings;
use crate::tables::{Entity, TableStore, WriteMode};
use crate::testing::{Fakes, fakes};

struct DownTables;

#[async_trait::async_trait]
impl TableStore for DownTables {
    async fn ensure_table(&self, _: &str) -> Result<(), crate::tables::TableError> {
        Err(down())
    }
    async fn get(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<crate::tables::Stored>, crate::tables::TableError> {
        Err(down())
    }
    async fn write(
        &self,
        _: &str,
        _: &Entity,
        _: WriteMode,
    ) -> Result<String, crate::tables::TableError> {
        Err(down())
    }
    async fn delete(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<(), crate::tables::TableError> {
        Err(down())
    }
    async fn query(
        &self,
        _: &str,
        _: Option<&crate::tables::Filter>,
        _: Option<u32>,
        _: Option<String>,
    ) -> Result<crate::tables::QueryPage, crate::tables::TableError> {
        Err(down())
    }
}

fn down() -> crate::tables::TableError {
    crate::tables::TableError::Transient(
        "connect to https://acct.table.core.windows.net?sig=SECRET failed".into(),
    )
}

/// Fakes whose tables are unreachable.
pub(super) fn down_fakes() -> Fakes {
    let mut f = fakes();
    f.state.tables = Arc::new(DownTables);
    f
}

#[tokio::test]
async fn storage_outage_is_503_without_details() {
    let f = down_fakes();
    for uri in [
        "/api/recordings?from=2025-03-01&to=2025-03-01",
        "/api/recordings/2025-03-01~YQ",
        "/api/health",
    ] {
        let (s, _, body) = get(&f, ApiSettings::default(), uri, &[]).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(
            !body.contains("SECRET") && !body.contains("windows.net"),
            "{body}"
        );
    }
}
