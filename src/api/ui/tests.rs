//! The page route: status, headers, the policy matching the served inline blocks, no external URL,
//! no markup sinks in the script, and the same authorization as the data routes; the form's fields
//! and what the script sends each API, against the APIs' own parsers.

use std::collections::HashMap;

use axum::http::StatusCode;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::super::ApiSettings;
use super::super::listing::parse;
use super::super::tests::get;
use super::{PAGE, SCRIPT, STYLE, TEMPLATE};
use crate::catalogue::days::DayRow;
use crate::catalogue::recording::Recording;
use crate::testkit::fakes;

/// The text between the first `<tag>` and its closing tag.
fn block<'a>(html: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = html.find(&open).expect("open tag") + open.len();
    let len = html[start..].find(&format!("</{tag}>")).expect("close tag");
    &html[start..start + len]
}

fn sha(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn serves_html_with_a_hash_based_policy() {
    let f = fakes();
    let (status, ct, body) = get(&f, ApiSettings::key_only(), "/api/ui?code=k", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "text/html; charset=utf-8");
    assert!(body.starts_with("<!doctype html>"));
    let csp = &PAGE.csp;
    // The hashes name exactly what is served, so the browser runs the page's script and only it.
    assert!(csp.contains(&format!(
        "script-src 'sha256-{}'",
        sha(block(&body, "script"))
    )));
    assert!(csp.contains(&format!(
        "style-src 'sha256-{}'",
        sha(block(&body, "style"))
    )));
    for directive in [
        "default-src 'none'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
}

#[tokio::test]
async fn response_headers_keep_the_key_and_page_private() {
    let f = fakes();
    let res = tower::ServiceExt::oneshot(
        super::super::routes_with(f.state.clone(), ApiSettings::key_only()),
        axum::http::Request::get("/api/ui")
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await
    .expect("response");
    let h = res.headers();
    let v = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(v("content-security-policy"), PAGE.csp);
    assert_eq!(v("referrer-policy"), "no-referrer");
    assert_eq!(v("cache-control"), "no-store");
    assert_eq!(v("x-content-type-options"), "nosniff");
    assert_eq!(v("x-frame-options"), "DENY");
}

#[test]
fn the_page_references_nothing_outside_itself() {
    let html = &PAGE.html;
    assert!(!html.contains("{{"), "every placeholder filled");
    let lower = html.to_ascii_lowercase();
    for needle in [
        "http:",
        "https:",
        "//cdn",
        "@import",
        "src=",
        "<link rel=\"stylesheet",
    ] {
        assert!(!lower.contains(needle), "page contains {needle}");
    }
    assert!(
        !STYLE.contains("url("),
        "no fonts or images fetched by the stylesheet"
    );
    // The one link is the empty data: icon (no /favicon.ico request).
    assert_eq!(lower.matches("href=").count(), 1);
    assert!(lower.contains("href=\"data:,\""));
    assert_eq!(lower.matches("<script").count(), 1);
    assert_eq!(lower.matches("<style").count(), 1);
}

#[test]
fn inline_blocks_cannot_end_early_and_script_has_no_markup_sinks() {
    assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
    assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    // Data reaches the DOM only through textContent; these would parse it as markup or code.
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setAttribute('style'",
        "setAttribute('on",
        "javascript:",
    ] {
        assert!(!SCRIPT.contains(sink), "script uses {sink}");
    }
}

#[test]
fn a_changed_block_changes_the_policy() {
    assert_ne!(super::policy("a", "b"), super::policy("a", "c"));
    assert_ne!(super::policy("a", "b"), super::policy("x", "b"));
}

/// The quoted strings of `const <name> = [...];` in the script.
fn js_list(name: &str) -> Vec<&'static str> {
    let decl = format!("const {name} = ");
    let start = SCRIPT.find(&decl).expect("declared") + decl.len();
    let end = start + SCRIPT[start..].find(';').expect("statement end");
    SCRIPT[start..end].split('\'').skip(1).step_by(2).collect()
}

/// `from`/`to` plus `extra`, as the page would send them.
fn params(extra: &[(&str, &str)]) -> HashMap<String, String> {
    [("from", "2025-03-14"), ("to", "2025-03-15")]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A plausible value of each form parameter.
fn sample(name: &str) -> &'static str {
    match name {
        "protocol" => "ssh",
        "status" => "catalogued",
        "bastion" => "bas-hub-weu",
        "ip" => "203.0.113.7",
        "authorization" => "none",
        _ => "x",
    }
}

/// The non-empty option values of the page's `<select id="{id}">`.
fn options(id: &str) -> Vec<&'static str> {
    let start = TEMPLATE
        .find(&format!("<select id=\"{id}\""))
        .expect("select");
    let options = &TEMPLATE[start..start + TEMPLATE[start..].find("</select>").expect("end")];
    options
        .split("value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|v| !v.is_empty())
        .collect()
}

#[test]
fn every_parameter_the_page_sends_is_one_its_api_accepts() {
    // The APIs answer an unknown parameter with 400, which would fail every search of the page.
    let recordings = js_list("RECORDING_PARAMS");
    let session = js_list("SESSION_PARAMS");
    for (list, api) in [(&recordings, "recordings"), (&session, "sessions")] {
        assert!(list.contains(&"bastion"), "{api}: the host filter is sent");
        for name in list.iter().filter(|n| !["from", "to"].contains(n)) {
            let p = params(&[(name, sample(name))]);
            let ok = match api {
                "recordings" => parse::<Recording>(&p, None, 31).is_ok(),
                _ => parse::<DayRow>(&p, None, 31).is_ok(),
            };
            assert!(ok, "/api/{api} refuses `{name}`");
        }
    }
    // The session kinds (the options of the form's `session`) go to /api/sessions as `status`.
    let kinds = options("f-session");
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in kinds {
        let p = params(&[("status", kind)]);
        assert!(parse::<DayRow>(&p, None, 31).is_ok(), "status={kind}");
    }
    // The verdicts the form offers are every one /api/sessions filters by, and only those.
    assert!(
        session.contains(&"authorization"),
        "the verdict filter is sent"
    );
    assert_eq!(
        options("f-authorization"),
        crate::catalogue::query::rows::AUTHORIZATIONS
    );
    // The check can fail: what /api/sessions does not know is refused.
    assert!(parse::<DayRow>(&params(&[("class", "x")]), None, 31).is_err());
}

#[test]
fn every_form_field_is_a_labelled_control_of_the_page() {
    let fields = js_list("FIELDS");
    assert!(fields.contains(&"bastion"));
    for name in fields.iter().chain(&["from", "to"]) {
        // Prefill and readForm find controls by name; the label names them for assistive tech.
        let at = TEMPLATE
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("a control named {name}"));
        let tag = &TEMPLATE[TEMPLATE[..at].rfind('<').expect("tag start")..at];
        let id = tag
            .split("id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{name} has an id"));
        assert!(
            TEMPLATE.contains(&format!("<label for=\"{id}\">")),
            "{name} is labelled"
        );
    }
    assert!(TEMPLATE.contains("<th scope=\"col\">Bastion</th>"));
    assert!(TEMPLATE.contains("<th scope=\"col\">Authorization</th>"));
}
