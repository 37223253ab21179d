//! `GET /api/ui`: the timeline page — one self-contained HTML document (inline CSS and script, no
//! external URL of any kind) over the same API: a filter form, the recordings table, a per-VM
//! timeline of sessions and the sessions table with their authorization verdicts, the review
//! queue, a session's view (the person, who allowed it, its recordings with hash,
//! verification, holds, custody trail, portal and read links, its reviews, the verdict form) and
//! the period's review log.
//!
//! The page is assembled once from files embedded at compile time (`page.html`, `style.css`,
//! `js/*.js`) and served with a strict Content-Security-Policy whose only script and style
//! sources are the SHA-256 hashes of the inline blocks, so an injected `<script>` or inline event
//! handler could never run even if a value escaped the page's `textContent`-only rendering.
//! `connect-src 'self'`: the page talks to nothing but this API, with same-origin relative URLs.

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::auth::{Caller, ROLE_READ};
use super::problem::ApiError;

/// The HTML skeleton, with `{{STYLE}}` and `{{SCRIPT}}` placeholders.
const TEMPLATE: &str = include_str!("page.html");
/// The stylesheet (one inline `<style>` block).
const STYLE: &str = include_str!("style.css");
/// The script (one inline `<script>` block): the files share one strict-mode function scope, so
/// nothing leaks onto `window`.
const SCRIPT: &str = concat!(
    "(() => {\n'use strict';\n",
    include_str!("js/api.js"),
    include_str!("js/format.js"),
    include_str!("js/table.js"),
    include_str!("js/sessions.js"),
    include_str!("js/timeline.js"),
    include_str!("js/estate.js"),
    include_str!("js/main.js"),
    include_str!("js/review.js"),
    include_str!("js/detail.js"),
    "})();\n"
);

/// The assembled page and its policy.
#[derive(Debug)]
pub struct Page {
    /// The document.
    pub html: String,
    /// The `Content-Security-Policy` header value.
    pub csp: String,
}

/// The page, built on first use.
pub static PAGE: LazyLock<Page> = LazyLock::new(|| Page {
    html: TEMPLATE
        .replacen("{{STYLE}}", STYLE, 1)
        .replacen("{{SCRIPT}}", SCRIPT, 1),
    csp: policy(STYLE, SCRIPT),
});

/// `'sha256-…'`: a CSP hash source for an inline block's exact text.
fn hash_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The policy: nothing by default; the two inline blocks by hash; fetches to this origin only.
/// `form-action 'none'` because the form is handled by the script (no navigation carries the
/// function key anywhere); `frame-ancestors 'none'` against click-jacking.
pub fn policy(style: &str, script: &str) -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash_source(script),
        hash_source(style)
    )
}

/// `GET /api/ui`: the page (role `Catalogue.Read`, like the data).
pub(super) async fn page(caller: Caller) -> Result<Response, ApiError> {
    caller.require(ROLE_READ)?;
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // The policy is ASCII built from base64 digests; a failure here would be a bug, and serving
        // the page without its policy is worse than a 500 (which a header that fails gives).
        (header::CONTENT_SECURITY_POLICY, PAGE.csp.as_str()),
        // The URL may carry the function key (`?code=`): never send it on as a referrer, never cache.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    Ok((StatusCode::OK, headers, PAGE.html.as_str()).into_response())
}

#[cfg(test)]
mod tests;
