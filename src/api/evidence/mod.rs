//! `GET /api/evidence?from&to[&bastion]` (role `Catalogue.Read`): the period's signed evidence pack
//! as a zip, built into a temporary directory through the same [`source::TablesSource`] as
//! `handler evidence` and the `EvidencePack` timer, and streamed from disk. The download is
//! recorded in the access audit with the authenticated principal.

pub mod hosts;
pub mod reviews;
pub mod source;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::auth::{Caller, ROLE_READ};
use super::problem::ApiError;
use super::query::Query;
use super::{Api, FUNCTION_KEY_CALLER, access};
use crate::config::Config;
use crate::evidence::key::PackKey;
use crate::evidence::manifest::Manifest;
use crate::evidence::pack::{PackOptions, PdfPrinter, write_pack};
use crate::ports::Ports;

/// How a pack of `[from, to)` judges, from the configuration.
pub fn options(
    config: &Config,
    from: OffsetDateTime,
    to: OffsetDateTime,
    bastion: Option<String>,
    now: OffsetDateTime,
) -> PackOptions {
    PackOptions {
        from,
        to,
        bastion,
        review_deadline: config.reviews.deadline,
        burst_threshold: u32::try_from(config.audit.failed_login_threshold).unwrap_or(u32::MAX),
        burst_window: config.audit.failed_login_window,
        now,
    }
}

/// Writes the pack `opts` describes into `dir`, from the app's tables.
///
/// # Errors
/// Storage and I/O failures.
pub async fn build(
    ports: &Ports,
    key: &PackKey,
    opts: &PackOptions,
    dir: &Path,
    pdf: Option<&dyn PdfPrinter>,
) -> anyhow::Result<Manifest> {
    let source = source::TablesSource::new(
        ports.clone(),
        opts.from,
        opts.to,
        opts.bastion.as_deref(),
        opts.burst_window,
    );
    write_pack(dir, &source, key, opts, pdf).await
}

/// `GET /api/evidence`.
pub(super) async fn get(
    caller: Caller,
    State(api): State<Api>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = caller
        .require(ROLE_READ)?
        .unwrap_or_else(|| FUNCTION_KEY_CALLER.to_owned());
    let q = Query::parse_for(&params, None, api.settings.max_range_days, &["bastion"])?;
    let Some(key) = api.app.config.evidence_key.clone() else {
        return Err(ApiError::NotFound(
            "evidence packs are not enabled (EVIDENCE_SIGNING_KEY is not set)".into(),
        ));
    };
    let bastion = q.filters.first().map(|(_, b)| b.clone());
    let now = api.app.ports.clock.now();
    let opts = options(&api.app.config, q.from, q.to, bastion, now);
    let mut target = format!(
        "evidence {}..{}",
        crate::dates::format_utc(q.from),
        crate::dates::format_utc(q.to)
    );
    if let Some(b) = &opts.bastion {
        target = format!("{target} {}", hosts::HostFilter::new(b).pack_target());
    }
    crate::api::detail::audit(
        api.app.ports.tables.as_ref(),
        &access(&headers, who),
        "evidence",
        &target,
        "issued",
        now,
        None,
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("evidence-{}", uuid::Uuid::new_v4()));
    let built = build(&api.app.ports, &key, &opts, &dir, None).await;
    let zipped = match built {
        Ok(m) => {
            let d = dir.clone();
            tokio::task::spawn_blocking(move || zip_to_temp(&d, &m))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r)
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let file = zipped.map_err(|e| {
        tracing::warn!(error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "evidence pack failed");
        ApiError::Unavailable
    })?;
    let name = format!(
        "evidence-{}-{}.zip",
        crate::dates::format_date(q.from.date()),
        crate::dates::format_date(crate::dates::last_day(q.to))
    );
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The zip in an anonymous temporary file (unlinked at once: it lives as long as the response).
fn zip_to_temp(dir: &Path, manifest: &Manifest) -> anyhow::Result<std::fs::File> {
    use std::io::Seek as _;
    let path = std::env::temp_dir().join(format!("evidence-{}.zip", uuid::Uuid::new_v4()));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    let mut file = crate::evidence::zip::zip_pack(dir, manifest, file)?;
    file.rewind()?;
    Ok(file)
}
