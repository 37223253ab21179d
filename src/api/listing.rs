//! What every list route shares: the `Listing` extractor (a `Catalogue.Read` caller's parameters,
//! `Accept` header and who and where they are), the day-partition `page` with its continuation
//! token, the access-audit row of a list page (`Listing::audit`) and the answer as JSON or CSV
//! (`page_response`, `csv_response`).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query as QueryParams};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::{Caller, ROLE_READ};
use super::detail::Access;
use super::problem::ApiError;
use super::query::{Format, Query};
use super::search::{View, search_with};
use super::token::{self, Cursor};
use super::{Api, FUNCTION_KEY_CALLER};
use crate::tables::{Entity, TableStore};

/// A `GET` of a list by a caller holding `Catalogue.Read` (authentication first, as everywhere).
pub(super) struct Listing {
    /// The query parameters.
    pub params: HashMap<String, String>,
    /// The `Accept` header, which may ask for CSV.
    pub accept: Option<String>,
    /// Who asked, from where (the access audit).
    pub access: Access,
}

impl FromRequestParts<Api> for Listing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, api).await;
        let who = caller
            .and_then(|c| c.require(ROLE_READ))
            .map_err(IntoResponse::into_response)?
            .unwrap_or_else(|| FUNCTION_KEY_CALLER.to_owned());
        let QueryParams(params) = QueryParams::from_request_parts(parts, api)
            .await
            .map_err(IntoResponse::into_response)?;
        let accept = parts.headers.get(header::ACCEPT);
        let accept = accept.and_then(|v| v.to_str().ok()).map(str::to_owned);
        let access = super::access(&parts.headers, who);
        Ok(Self {
            params,
            accept,
            access,
        })
    }
}

/// Longest query text kept in an access-audit row (the filters are short; a continuation token is
/// not, and is cut).
const MAX_QUERY_TEXT: usize = 1024;

impl Listing {
    /// The query as the access audit names it.
    fn query_text(&self, route: &str) -> String {
        let mut params: Vec<(&String, &String)> =
            self.params.iter().filter(|(k, _)| *k != "code").collect();
        params.sort();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            query.append_pair(k, v);
        }
        let text = format!("/api/{route}?{}", query.finish());
        crate::telemetry::truncate(&text, MAX_QUERY_TEXT)
    }

    /// Records one page of list `route` in the access audit before it is answered (no row, no
    /// answer: a 503, as for detail reads): who, from where, which query (`/api/<route>?` and the
    /// parameters but the function key, sorted, cut at 1,024 characters) and how many rows
    /// (`listed <n> rows as json|csv`).
    ///
    /// # Errors
    /// 503 when the row cannot be written.
    pub(super) async fn audit(
        &self,
        api: &Api,
        route: &str,
        format: Format,
        rows: usize,
    ) -> Result<(), ApiError> {
        let target = self.query_text(route);
        let format = if format == Format::Json {
            "json"
        } else {
            "csv"
        };
        let outcome = format!("listed {rows} rows as {format}");
        let tables = api.app.ports.tables.as_ref();
        let now = api.app.ports.clock.now();
        let action = format!("{route}.list");
        super::detail::audit(tables, &self.access, &action, &target, &outcome, now, None).await?;
        Ok(())
    }

    /// The parameters when each is one of `allowed` (or the function key's `code`).
    ///
    /// # Errors
    /// 400 naming the first other parameter, so a typo never silently widens a list.
    pub(super) fn only(&self, allowed: &[&str]) -> Result<&HashMap<String, String>, ApiError> {
        match self.params.keys().find(|k| {
            let k = k.as_str();
            k != "code" && !allowed.contains(&k)
        }) {
            Some(k) => Err(ApiError::bad(k, "unknown parameter")),
            None => Ok(&self.params),
        }
    }
}

/// The cursor `q`'s continuation token names, when it has one (bound to `fp` and `days`).
///
/// # Errors
/// 400 for a token that is malformed or belongs to another query.
pub fn resume(q: &Query, fp: &str, days: &[String]) -> Result<Option<Cursor>, ApiError> {
    q.continuation
        .as_deref()
        .map(|t| token::decode(t, fp, days))
        .transpose()
}

/// One page of `table` over the range's day partitions, its token bound to `route`: the rows and
/// the token of the next page.
///
/// # Errors
/// 400 for a bad token, 503 when storage fails.
pub async fn page(
    tables: &dyn TableStore,
    table: &str,
    route: &str,
    q: &Query,
    view: &View<'_>,
) -> Result<(Vec<Entity>, Option<String>), ApiError> {
    let fp = format!("{route}:{}", q.fingerprint());
    let days = q.days();
    let start = resume(q, &fp, &days)?;
    let found = search_with(tables, table, &days, q.limit, start, view).await?;
    Ok((found.rows, found.next.map(|c| token::encode(&c, &fp))))
}

/// A page of rows in the asked format: JSON items with the continuation token, or CSV (`header`,
/// then a line per row) with the token in the `x-continuation` header.
pub(super) fn page_response<T>(
    format: Format,
    rows: &[T],
    next: Option<String>,
    json_item: impl Fn(&T) -> Value,
    header: String,
    csv_line: impl Fn(&T) -> String,
) -> Response {
    if format == Format::Json {
        let items: Vec<_> = rows.iter().map(json_item).collect();
        return axum::Json(json!({"items": items, "count": items.len(), "continuation": next}))
            .into_response();
    }
    let body = rows.iter().fold(header, |b, r| b + &csv_line(r));
    csv_response(body, next)
}

/// A CSV page; the next continuation token goes into the `x-continuation` header.
pub(super) fn csv_response(body: String, next: Option<String>) -> Response {
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        body,
    )
        .into_response();
    if let Some(n) = next.and_then(|n| header::HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert("x-continuation", n);
    }
    res
}
