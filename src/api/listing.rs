//! What every list route shares: the `Listing` extractor, a list's query and access-audit row, and
//! the one handler of the lists of typed rows (JSON `{items, count, continuation}` or CSV).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query as QueryParams};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::context::{Api, Reader};
use super::problem::ApiError;
use crate::catalogue::access::Access;
use crate::catalogue::query::shape::Shape;
use crate::catalogue::query::{Listed, Query, page};
use crate::names::named;
use crate::reviews::annotate::{Reviewed, latest};

named! {
    /// Output format, by its `format` parameter.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format {
        /// `application/json`.
        Json = "json",
        /// `text/csv`.
        Csv = "csv",
    }
}

impl Format {
    /// The `format` parameter (400 unless `json` or `csv`), else the `Accept` header, else JSON.
    pub fn of(format: Option<&str>, accept: Option<&str>) -> Result<Self, ApiError> {
        match format.map(str::to_ascii_lowercase) {
            Some(f) => Self::parse(&f).ok_or_else(|| ApiError::bad("format", "json or csv")),
            None if accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")) => {
                Ok(Self::Csv)
            }
            None => Ok(Self::Json),
        }
    }
}

/// The query of a list of `R` and its format (the range spans at most `max_days`).
///
/// # Errors
/// 400 naming the first bad parameter.
pub fn parse<R: Listed>(
    params: &HashMap<String, String>,
    accept: Option<&str>,
    max_days: u32,
) -> Result<(Query, Format), ApiError> {
    let parsed = parse_with(params, accept, max_days, R::FILTERS)?;
    R::check(&parsed.0)?;
    Ok(parsed)
}

/// [`parse`] with the filters `names`.
pub fn parse_with(
    params: &HashMap<String, String>,
    accept: Option<&str>,
    max_days: u32,
    names: &[&'static str],
) -> Result<(Query, Format), ApiError> {
    let q = Query::parse(params, max_days, names, &["format", "code"])?;
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    Ok((q, Format::of(get("format"), accept)?))
}

/// One page of a list of `R`, each row with its latest review, audited before it is answered.
pub(super) async fn list<R>(api: &Api, l: &Listing, route: &str) -> Result<Response, ApiError>
where
    R: Listed + Shape + Reviewed + Sync,
{
    let (q, format) = parse::<R>(&l.params, l.accept.as_deref(), api.settings.max_range_days)?;
    let tables = api.app.ports.tables.as_ref();
    let found = page::page::<R>(tables, &q).await??;
    let reviews = latest(tables, &found.rows).await?;
    l.audit(api, route, format, found.rows.len()).await?;
    let rows = found.rows.iter().zip(&reviews);
    if format == Format::Json {
        let items: Vec<Value> = rows.map(|(r, v)| r.json(v.as_ref())).collect();
        let page = json!({"items": items, "count": items.len(), "continuation": found.next});
        return Ok(axum::Json(page).into_response());
    }
    let body = rows.fold(R::csv_header(), |b, (r, v)| b + &r.csv_line(v.as_ref()));
    Ok(csv_response(body, found.next))
}

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
        let Reader(access) = Reader::from_request_parts(parts, api)
            .await
            .map_err(IntoResponse::into_response)?;
        let QueryParams(params) = QueryParams::from_request_parts(parts, api)
            .await
            .map_err(IntoResponse::into_response)?;
        let accept = parts.headers.get(header::ACCEPT);
        let accept = accept.and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self {
            params,
            accept,
            access,
        })
    }
}

/// Longest query text kept in an access-audit row (a continuation token is cut).
const MAX_QUERY_TEXT: usize = 1024;

impl Listing {
    /// The query as the access audit names it.
    fn query_text(&self, route: &str) -> String {
        let mut params: Vec<(&String, &String)> =
            self.params.iter().filter(|(k, _)| *k != "code").collect();
        params.sort();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let text = format!("/api/{route}?{}", query.extend_pairs(params).finish());
        crate::telemetry::truncate(&text, MAX_QUERY_TEXT, "…")
    }

    /// Records one page of list `route` in the access audit: who, from where, which query (sorted,
    /// without the function key) and how many rows. No row, no answer: 503.
    pub(super) async fn audit(
        &self,
        api: &Api,
        route: &str,
        format: Format,
        rows: usize,
    ) -> Result<(), ApiError> {
        let target = self.query_text(route);
        let outcome = format!("listed {rows} rows as {}", format.as_str());
        let tables = api.app.ports.tables.as_ref();
        let now = api.app.ports.clock.now();
        let action = format!("{route}.list");
        crate::catalogue::access::audit(
            tables,
            &self.access,
            &action,
            &target,
            &outcome,
            now,
            None,
        )
        .await?;
        Ok(())
    }

    /// The parameters when each is one of `allowed` (or `code`); else 400, so a typo never widens
    /// a list.
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
