//! `GET /api/estate` (`Catalogue.Read`): the Bastion estate's findings (table `estate`, open and
//! resolved) and one status per configured host; JSON, or CSV of the findings (`format=csv` or
//! `Accept: text/csv`). Values from Resource Manager are data: CSV cells are defused like every
//! other list.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::context::Api;
use super::listing::Format;
use super::listing::{Listing, csv_response};
use super::problem::ApiError;
use crate::catalogue::query::shape::{Review, Shape};
use crate::estate::store::{self, Row};
use crate::estate::view;

/// A finding's CSV line: its JSON's fields in column order (the earlier episodes left out).
impl Shape for Row {
    const COLUMNS: &'static str =
        "host,hostName,finding,severity,status,firstSeen,lastSeen,resolvedAt,evidence";

    fn json(&self, _: Option<&Review>) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Answers the estate.
pub(super) async fn list(State(api): State<Api>, l: Listing) -> Result<Response, ApiError> {
    let params = l.only(&["format", "status"])?;
    let format = Format::of(
        params.get("format").map(String::as_str),
        l.accept.as_deref(),
    )?;
    let status = params.get("status").map(String::as_str);
    if status.is_some_and(|s| s != "open" && s != "resolved") {
        return Err(ApiError::bad("status", "open or resolved"));
    }
    let estate = store::list(api.app.ports.tables.as_ref()).await?;
    let hosts = &api.app.config.estate.hosts;
    let strips = view::strips(hosts, &estate);
    let mut rows = estate.rows;
    rows.retain(|r| status.is_none_or(|s| r.status == s));
    Ok(match format {
        Format::Json => axum::Json(json!({
            "checks": if hosts.is_empty() { "off" } else { "on" },
            "hosts": strips, "items": rows, "count": rows.len(),
        }))
        .into_response(),
        Format::Csv => {
            let body = rows.iter().map(|r| r.csv_line(None));
            csv_response(body.fold(Row::csv_header(), |b, l| b + &l), None)
        }
    })
}
