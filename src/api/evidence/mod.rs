//! `GET /api/evidence?from&to[&bastion]` (role `Catalogue.Read`): the period's signed evidence pack
//! as a zip, built into a temporary directory by the same [`write_pack`] as `handler evidence` and
//! the `EvidencePack` timer, and streamed from disk. The download is
//! recorded in the access audit with the authenticated principal.
//!
//! **Temporary files.** The pack's directory ([`pack_dir`]: `evidence-<random>` in the temporary
//! folder, mode `0700`, its files `0600`) is a guard that removes it when dropped: when the request
//! ends in any way, including a client that goes away mid-build (the server then drops the
//! request's future, and the guard with it). The zip is an unnamed temporary file (`0600`), gone
//! when the response's stream closes.
//!
//! **Bound.** At most `CATALOGUE_EVIDENCE_BUILDS` packs are built at once per instance (a
//! semaphore whose permit is held until the zip is written); a request beyond them is answered 503
//! with `Retry-After` at once, before anything is read or recorded.

#[cfg(test)]
mod limit_tests;

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::extract::{Query as QueryParams, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::context::{Api, Reader};
use super::problem::ApiError;
use crate::evidence::hosts::HostFilter;
use crate::evidence::manifest::Manifest;
use crate::evidence::options::PackOptions;
use crate::evidence::pack::{pack_dir, write_pack};
use crate::evidence::pdf::Print;

/// The pack of a request's period (`from`, `to`, parsed as the lists parse them) and `bastion`,
/// made now: the options of `GET /api/evidence` and of the figures it shares with the page.
///
/// # Errors
/// A bad period or parameter (400).
pub(super) fn period_options(
    api: &Api,
    params: &HashMap<String, String>,
) -> Result<PackOptions, ApiError> {
    let max_days = api.settings.max_range_days;
    let (q, _) = super::listing::parse_with(params, None, max_days, &["bastion"])?;
    let bastion = q.filters.first().map(|(_, b)| b.clone());
    let now = api.app.ports.clock.now();
    let config = &api.app.config;
    Ok(PackOptions::new(
        (q.from, q.to),
        bastion,
        now,
        &config.reviews,
        &config.audit,
    ))
}

/// `GET /api/evidence`.
pub(super) async fn get(
    Reader(access): Reader,
    State(api): State<Api>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let config = &api.app.config;
    let opts = period_options(&api, &params)?
        .with_custody(config.custody.workspace.as_deref(), api.app.logs.as_ref())
        .with_paper(config.evidence_paper);
    let Some(key) = api.app.config.evidence_key.clone() else {
        return Err(ApiError::NotFound(
            "evidence packs are not enabled (EVIDENCE_SIGNING_KEY is not set)".into(),
        ));
    };
    // The permit lives until the zip is written (dropped with the request if it ends first).
    let Ok(permit) = api.packs.clone().try_acquire_owned() else {
        tracing::warn!(
            limit = api.settings.evidence_builds,
            "evidence pack refused: as many are being built as CATALOGUE_EVIDENCE_BUILDS allows"
        );
        return Err(ApiError::Busy);
    };
    match crate::evidence::hosts::check_bastion(&api.app.ports, &opts).await {
        Err(e @ crate::evidence::hosts::BastionCheck::Unknown { .. }) => {
            return Err(ApiError::BadRequest(e.to_string()));
        }
        Err(crate::evidence::hosts::BastionCheck::Storage(e)) => return Err(e.into()),
        Ok(()) => {}
    }
    let mut target = format!(
        "evidence {}..{}",
        crate::dates::format_utc(opts.from),
        crate::dates::format_utc(opts.to)
    );
    if let Some(b) = &opts.bastion {
        target = format!("{target} {}", HostFilter::new(b).pack_target());
    }
    crate::catalogue::access::audit(
        api.app.ports.tables.as_ref(),
        &access,
        "evidence",
        &target,
        "issued",
        opts.now,
        None,
    )
    .await?;
    let zipped = async {
        let dir = pack_dir()?;
        let manifest = write_pack(dir.path(), &api.app.ports, &key, &opts, Print::NotHere).await?;
        // The directory moves into the zip's thread: it is removed when that ends, even if the
        // request has gone meanwhile.
        tokio::task::spawn_blocking(move || {
            let zip = zip_to_temp(dir.path(), &manifest);
            drop(permit);
            zip
        })
        .await?
    }
    .await;
    let file = zipped.map_err(|e| {
        tracing::warn!(error.cause_chain = %crate::telemetry::redact(&format!("{e:#}")), "evidence pack failed");
        ApiError::Unavailable
    })?;
    let name = format!(
        "evidence-{}-{}.zip",
        crate::dates::format_date(opts.from.date()),
        crate::dates::format_date(crate::dates::last_day(opts.to))
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

/// The zip in an unnamed temporary file (`0600`; it lives as long as the response).
fn zip_to_temp(dir: &Path, manifest: &Manifest) -> anyhow::Result<std::fs::File> {
    use std::io::Seek as _;
    let mut file = crate::evidence::zip::zip_pack(dir, manifest, tempfile::tempfile()?)?;
    file.rewind()?;
    Ok(file)
}
