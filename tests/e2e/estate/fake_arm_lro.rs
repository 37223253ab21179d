//! The fake's long-running `getActiveSessions` and its pages, in the shapes the Network provider
//! answers: 202 without a body, `Location` and `Azure-AsyncOperation` as absolute URLs under
//! `/subscriptions/{sub}/providers/Microsoft.Network/locations/{region}/operationResults|operations/{id}`
//! (or, as the specification's own example, `Location` alone under the host), `Retry-After` in whole
//! seconds; the status monitor's body `{id, name, status, startTime, endTime}` (`InProgress`, then
//! `Succeeded`); the result 202 while running, then 200 with the page. Pages are joined by an
//! absolute `nextLink` (the form of the service's own is not documented: here a GET of the action's
//! URL with a skip token), and a page may itself answer 202 first (`page_accepted`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Estate, SUB};

/// How `getActiveSessions` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lro {
    /// 200 with the first page at once.
    #[default]
    Immediate,
    /// The Network provider's usual form: both URLs under `/locations/`.
    Network,
    /// The specification's example: `Location` alone, under the host.
    HostLocation,
}

/// One operation in flight: its host, and the polls left on its monitor and on its result.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) host: String,
    pub(crate) status_polls: usize,
    pub(crate) result_polls: usize,
    /// The page this operation answers (0 for the first; a page that answered 202 has its own).
    pub(crate) page: usize,
}

fn region(e: &Estate, host: &str) -> String {
    e.hosts
        .get(host)
        .and_then(|h| h["location"].as_str())
        .unwrap_or("westeurope")
        .to_owned()
}

fn accepted(e: &Estate, headers: &[(&str, String)]) -> Response {
    let mut r = StatusCode::ACCEPTED.into_response();
    for (k, v) in headers {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    r.headers_mut().insert(
        "retry-after",
        e.retry_after.to_string().parse().expect("retry-after"),
    );
    r
}

/// Starts an operation answering `page` of `host`'s sessions: its 202.
pub(crate) fn start(e: &mut Estate, host: &str, page: usize) -> Response {
    let id = format!("{:08x}-0000-4000-8000-{:012x}", e.requests.len(), page);
    let polls = e.lro_polls;
    e.running.insert(
        id.clone(),
        Running {
            host: host.to_owned(),
            status_polls: polls,
            result_polls: polls,
            page,
        },
    );
    let api = "api-version=2026-01-01";
    match e.lro {
        Lro::HostLocation => {
            let location = format!(
                "{}{host}/getActiveSessions/operationResults/{id}?{api}",
                e.base
            );
            accepted(e, &[("location", location)])
        }
        Lro::Network | Lro::Immediate => {
            let r = region(e, host);
            let at = format!(
                "{}/subscriptions/{SUB}/providers/Microsoft.Network/locations/{r}",
                e.base
            );
            accepted(
                e,
                &[
                    ("location", format!("{at}/operationResults/{id}?{api}")),
                    (
                        "azure-asyncoperation",
                        format!("{at}/operations/{id}?{api}"),
                    ),
                ],
            )
        }
    }
}

/// `GET …/operations/{id}`: the status monitor.
pub(crate) fn status(e: &mut Estate, id: &str) -> Response {
    let Some(p) = e.running.get_mut(id) else {
        return super::error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            "The operation was not found.",
        );
    };
    let running = p.status_polls > 0;
    p.status_polls = p.status_polls.saturating_sub(1);
    let status = if running { "InProgress" } else { "Succeeded" };
    let mut body = json!({"id": format!("/subscriptions/{SUB}/providers/Microsoft.Network/locations/westeurope/operations/{id}"),
        "name": id, "status": status, "startTime": "2026-11-25T12:00:00Z"});
    if !running {
        body["endTime"] = json!("2026-11-25T12:00:10Z");
    }
    let mut r = axum::Json(body).into_response();
    if running {
        r.headers_mut().insert(
            "retry-after",
            e.retry_after.to_string().parse().expect("retry-after"),
        );
    }
    r
}

/// `GET …/operationResults/{id}`: 202 without a body while running, then the page. With a status
/// monitor, the result is only ready once the monitor said `Succeeded`.
pub(crate) fn result(e: &mut Estate, id: &str) -> Response {
    let Some(p) = e.running.get(id).cloned() else {
        return super::error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            "The operation was not found.",
        );
    };
    let monitored = e.lro == Lro::Network;
    let running = if monitored {
        p.status_polls > 0
    } else {
        p.result_polls > 0
    };
    if running {
        if let Some(q) = e.running.get_mut(id) {
            q.result_polls = q.result_polls.saturating_sub(1);
        }
        let again = if e.lro == Lro::HostLocation {
            format!(
                "{}{}/getActiveSessions/operationResults/{id}?api-version=2026-01-01",
                e.base, p.host
            )
        } else {
            let r = region(e, &p.host);
            format!(
                "{}/subscriptions/{SUB}/providers/Microsoft.Network/locations/{r}/operationResults/{id}?api-version=2026-01-01",
                e.base
            )
        };
        return accepted(e, &[("location", again)]);
    }
    e.running.remove(id);
    page(e, &p.host, p.page)
}

/// One page of `host`'s sessions, `nextLink` absolute to the next.
pub(crate) fn page(e: &Estate, host: &str, n: usize) -> Response {
    let all = e.sessions.get(host).cloned().unwrap_or_default();
    let size = if e.page_size == 0 {
        all.len().max(1)
    } else {
        e.page_size
    };
    let items: Vec<Value> = all.iter().skip(n * size).take(size).cloned().collect();
    let more = all.len() > (n + 1) * size;
    let mut body = json!({"value": items});
    if more {
        body["nextLink"] = json!(format!(
            "{}{host}/getActiveSessions?api-version=2026-01-01&$skipToken={}",
            e.base,
            n + 1
        ));
    }
    axum::Json(body).into_response()
}
