//! What an answer of the [`super::Client`] means: a failed exchange's error (transient, or a
//! request that could not be built), a non-success answer's [`AzureError`] from its status and
//! the service's code, and a successful answer's JSON body.

use reqwest::Response;
use serde::de::DeserializeOwned;

use super::request::Request;
use crate::azure::error::{AzureError, service_error};
use crate::telemetry::redact;

/// Most bytes of an error answer (or a hooked success) read: a hostile receiver's may never end.
const MAX_BODY_READ: usize = 4096;

/// The request was sent and the connection ended without an answer (closed or reset): not a
/// failure to connect, not a timeout, not a request that could not be built.
pub(super) fn aborted(e: &reqwest::Error) -> bool {
    e.is_request() && !e.is_connect() && !e.is_timeout() && !e.is_builder()
}

/// A request that got no answer: transient, but a request that could not even be built is not.
pub(super) fn transport(e: reqwest::Error) -> AzureError {
    let (timeout, builder) = (e.is_timeout(), e.is_builder());
    let text = redact(&e.without_url().to_string());
    let text = if timeout {
        format!("timeout: {text}")
    } else {
        text
    };
    if builder {
        AzureError::Permanent(text)
    } else {
        AzureError::Transient(text)
    }
}

/// The first bytes of an answer's body (a hostile receiver's may never end).
pub(super) async fn first(mut res: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_READ {
        match res.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_BODY_READ);
    body
}

/// The error a non-success answer to `req` stands for; its body (the first bytes) is read for the
/// service's code and message.
pub(super) async fn of_response(res: Response, req: &Request<'_>) -> AzureError {
    let status = res.status().as_u16();
    let retry_after = crate::azure::retry_after::retry_after(res.headers());
    let header = |name: &str| res.headers().get(name)?.to_str().ok().map(str::to_owned);
    let header_code = header("x-ms-error-code");
    let body = first(res).await;
    let (code, message) = service_error(&body);
    let code = header_code.unwrap_or(code);
    if let Some((refused, name)) = req.abort_is {
        let names = |c: &str| code.eq_ignore_ascii_case(c) || message.contains(c);
        if names(name) || req.abort_codes.iter().any(|c| names(c)) {
            let message = format!("answered {status} {code}: {message}");
            return AzureError::refused(refused, name, &message);
        }
    }
    let timed_out = status == 504 || code.eq_ignore_ascii_case("GatewayTimeout");
    if req.server_wait.is_some() && timed_out {
        let code = redact(&code);
        return AzureError::ServerTimeout { code };
    }
    // A receiver outside Azure (no role to name) refuses with any other 4xx alike.
    if req.role.is_empty() && (400..500).contains(&status) && ![408, 429].contains(&status) {
        return AzureError::refused(status, &code, &message);
    }
    AzureError::from_status(status, &code, &message, retry_after).with_role(|| req.role.to_owned())
}

/// The body of a successful answer as JSON.
///
/// # Errors
/// `Transient` for a body that breaks off, is empty (202 and 204 carry none) or is not JSON.
pub async fn body_json<T: DeserializeOwned>(res: Response) -> Result<T, AzureError> {
    let status = res.status();
    let bytes = res.bytes().await.map_err(transport)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AzureError::Transient(format!(
            "an answer without a body ({status})"
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| AzureError::Transient(format!("unreadable answer: {e}")))
}
