//! The one long-running-operation poller, with paging, as Resource Manager answers them: a 202's
//! `Azure-AsyncOperation` is polled to a terminal status, then the result read from `Location`
//! (else the monitor's `properties`, never guessed); a 202 with `Location` only is polled there.
//! Every poll is a request on the one [`Client`] (its guard, deadline and retry policy); the wait
//! between polls is the answer's `Retry-After`, else the default. Links are followed on our endpoint
//! only (the token stays there). No wait outlives the run: the operation is then still running.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use url::Url;

use super::answer::body_json;
use super::client::Client;
use super::request::Request;
use crate::azure::error::AzureError;
use crate::azure::retry_after::retry_after;

/// Most pages one list follows (a runaway `nextLink` chain stops here).
pub const MAX_PAGES: usize = 50;
/// Most polls of one operation.
const MAX_POLLS: usize = 60;
/// The wait between polls when the answer names none (the official SDKs').
pub const POLL_DEFAULT: Duration = Duration::from_secs(30);
/// Longest an operation may take when no run end bounds it.
const LRO_BUDGET: Duration = Duration::from_secs(120);

/// The plumbing one call needs: the HTTP client, the endpoint, the run's end, the poll interval
/// and the permission a 403 on a polled URL names (status URLs may need a wider scope).
#[derive(Clone)]
pub struct Driver {
    /// The HTTP client.
    pub http: Client,
    /// Resource Manager's base URL.
    pub base: Url,
    /// The end of the run, if bounded.
    pub until: Option<Instant>,
    /// The wait when an answer names none.
    pub poll_default: Duration,
    /// The permission a GET of a path needs, when the caller knows it.
    pub poll_role: fn(&str) -> Option<String>,
}

impl Driver {
    /// A URL the service handed back (`nextLink`, `Location`): followed only on our endpoint.
    pub fn same_endpoint(&self, link: &str) -> Result<Url, AzureError> {
        let url = self
            .base
            .join(link)
            .map_err(|_| AzureError::Transient("a link that is not a URL".into()))?;
        if url.origin() == self.base.origin() {
            Ok(url)
        } else {
            Err(AzureError::Transient(
                "a link leaving the Resource Manager endpoint was not followed".into(),
            ))
        }
    }

    /// Sends one request bounded by the run.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        role: &str,
    ) -> Result<Response, AzureError> {
        let mut req = Request::new(method, url, role).op("Resource Manager");
        if let Some(body) = body {
            req = req.json(body);
        }
        self.http.send(&req.until(self.until)).await
    }

    /// A poll of `link`: a 403 names that URL's permission (status URLs need subscription scope).
    async fn poll(&self, link: &str, action_role: &str) -> Result<Response, AzureError> {
        let url = self.same_endpoint(link)?;
        let role = (self.poll_role)(url.path()).unwrap_or_else(|| action_role.to_owned());
        self.send(Method::GET, url, None, &role).await
    }

    /// The final result of an answer that may be long-running (`None`: a 204, no content).
    pub async fn complete(
        &self,
        mut res: Response,
        role: &str,
    ) -> Result<Option<Value>, AzureError> {
        let started = Instant::now();
        let end = self.until.unwrap_or(started + LRO_BUDGET);
        for _ in 0..MAX_POLLS {
            match res.status() {
                StatusCode::NO_CONTENT => return Ok(None),
                StatusCode::ACCEPTED => {}
                s if s.is_success() => return body_json(res).await.map(Some),
                s => {
                    return Err(AzureError::Transient(format!(
                        "unexpected answer {s} to a long-running operation"
                    )));
                }
            }
            let headers = res.headers().clone();
            let (location, monitor) = (
                header(&headers, "location"),
                header(&headers, "azure-asyncoperation"),
            );
            let mut wait = self.wait_of(&headers);
            if let Some(monitor) = monitor {
                let body = self.monitor(&monitor, role, &mut wait, end).await?;
                let Some(location) = location else {
                    return match body.get("properties") {
                        Some(p) if !p.is_null() => Ok(Some(p.clone())),
                        _ => Err(AzureError::Transient(
                            "the operation succeeded but named no result (no Location, no properties)"
                                .into(),
                        )),
                    };
                };
                res = self.poll(&location, role).await?;
                continue;
            }
            let Some(location) = location else {
                return Err(AzureError::Transient(
                    "202 without Location or Azure-AsyncOperation".into(),
                ));
            };
            pause(wait, end).await?;
            res = self.poll(&location, role).await?;
        }
        Err(AzureError::Transient(format!(
            "the operation was still running after {MAX_POLLS} polls"
        )))
    }

    /// Polls the status monitor until a terminal status; its last body.
    async fn monitor(
        &self,
        link: &str,
        role: &str,
        wait: &mut Duration,
        end: Instant,
    ) -> Result<Value, AzureError> {
        for _ in 0..MAX_POLLS {
            pause(*wait, end).await?;
            let res = self.poll(link, role).await?;
            *wait = self.wait_of(res.headers());
            if res.status() == StatusCode::ACCEPTED || res.status() == StatusCode::NO_CONTENT {
                continue; // still running, said without a body
            }
            let body: Value = body_json(res).await?;
            let status = body["status"].as_str().unwrap_or_default();
            if status.eq_ignore_ascii_case("Succeeded") {
                return Ok(body);
            }
            if status.eq_ignore_ascii_case("Failed") || status.eq_ignore_ascii_case("Canceled") {
                let code = body["error"]["code"].as_str().unwrap_or("no error code");
                return Err(AzureError::Transient(format!(
                    "the operation ended {status} ({})",
                    crate::telemetry::redact(code)
                )));
            }
        }
        Err(AzureError::Transient(format!(
            "the operation was still running after {MAX_POLLS} polls"
        )))
    }

    fn wait_of(&self, headers: &HeaderMap) -> Duration {
        retry_after(headers).unwrap_or(self.poll_default)
    }

    /// Every item of a list: `first`'s items, then the pages `nextLink` names (each may answer 202).
    pub async fn pages(&self, first: Option<Value>, role: &str) -> Result<Vec<Value>, AzureError> {
        let mut out = Vec::new();
        let mut page = first;
        for _ in 0..MAX_PAGES {
            let Some(p) = page.take() else {
                return Ok(out); // 204: no content, no more pages
            };
            match p.get("value") {
                Some(Value::Array(items)) => out.extend(items.iter().cloned()),
                None | Some(Value::Null) => {}
                Some(_) => return Err(AzureError::Transient("unexpected page: value".into())),
            }
            let next = p
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|l| !l.is_empty());
            let Some(next) = next else {
                return Ok(out);
            };
            let url = self.same_endpoint(next)?;
            let res = self.send(Method::GET, url, None, role).await?;
            page = self.complete(res, role).await?;
        }
        Err(AzureError::Transient(format!(
            "more than {MAX_PAGES} pages"
        )))
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Waits `wait`, or fails at once when that would pass `end`: the operation is still running.
async fn pause(wait: Duration, end: Instant) -> Result<(), AzureError> {
    if Instant::now() + wait > end {
        return Err(AzureError::Transient(format!(
            "the operation is still running: the next poll ({} s away) would pass the end of the run",
            wait.as_secs()
        )));
    }
    tokio::time::sleep(wait).await;
    Ok(())
}
