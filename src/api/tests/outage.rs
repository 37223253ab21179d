//! Storage outages: every route answers 503 without internal detail.

use std::sync::Arc;

use axum::http::StatusCode;

use super::get;
use crate::api::ApiSettings;
use crate::testkit::{Fakes, down_tables, fakes};

/// Fakes whose tables are unreachable.
pub(super) fn down_fakes() -> Fakes {
    let mut f = fakes();
    f.state.ports.tables = Arc::new(down_tables());
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
        let (s, _, body) = get(&f, ApiSettings::key_only(), uri, &[]).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(
            !body.contains("SECRET") && !body.contains("windows.net"),
            "{body}"
        );
    }
}
