//! The host's admin API for running a non-HTTP function now: `POST /admin/functions/<Name>` with an
//! optional body `{"input": "..."}`; answers 202 Accepted and runs the invocation in the background,
//! like the host.
//!
//! * timer: fires with the monitor's current `ScheduleStatus` (retry policy honoured, monitor not updated);
//! * Event Grid: `input` is the event JSON, invoked once (no redelivery);
//! * queue trigger: `input` is enqueued as a message, so the normal trigger path runs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use time::OffsetDateTime;

use crate::app_root::{AppRoot, Trigger, get_ci};
use crate::envelope::{MessageBody, event_grid_envelope, sys};
use crate::invoke::Invoker;
use crate::queues::Queues;
use crate::timers::Timer;

/// What the admin API needs.
pub(crate) struct AdminState {
    /// The app.
    pub(crate) app: Arc<AppRoot>,
    /// The invoker.
    pub(crate) invoker: Invoker,
    /// Timer functions by name.
    pub(crate) timers: HashMap<String, Arc<Timer>>,
    /// Queues.
    pub(crate) queues: Arc<Queues>,
}

fn input_of(body: &[u8]) -> Result<Option<String>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("body must be JSON like {{\"input\": \"...\"}}: {e}"))?;
    Ok(get_ci(&v, "input").and_then(|i| match i {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }))
}

/// `POST /admin/functions/{name}`.
pub(crate) async fn admin_invoke(
    State(admin): State<Arc<AdminState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    // The host's function lookup for the admin API ignores case.
    let Some(f) = admin
        .app
        .function(&name)
        .or_else(|| {
            admin
                .app
                .functions
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(&name))
        })
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, format!("no function named {name}")).into_response();
    };
    let input = match input_of(&body) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    println!("devhost admin invoke function={}", f.name);
    match &f.trigger {
        Trigger::Timer { .. } => {
            let Some(timer) = admin.timers.get(&f.name).cloned() else {
                return (
                    StatusCode::CONFLICT,
                    format!("{} has an unusable schedule", f.name),
                )
                    .into_response();
            };
            tokio::spawn(async move { timer.fire_admin(&admin.invoker).await });
        }
        Trigger::EventGrid { name: binding } => {
            let event: Value = match input.as_deref().map(serde_json::from_str) {
                Some(Ok(v @ Value::Object(_))) => v,
                _ => {
                    return (
                        StatusCode::BAD_REQUEST,
                        "input must be one Event Grid event as JSON text",
                    )
                        .into_response();
                }
            };
            let envelope = event_grid_envelope(
                binding,
                &event,
                sys(
                    &f.name,
                    OffsetDateTime::now_utc(),
                    &uuid::Uuid::new_v4().to_string(),
                ),
            );
            tokio::spawn(async move {
                if let Err(e) = admin
                    .invoker
                    .invoke(&f, &envelope, admin.invoker.default_timeout())
                    .await
                {
                    eprintln!("devhost admin function={}: failed ({e})", f.name);
                }
            });
        }
        Trigger::Queue {
            queue, connection, ..
        } => {
            let msg = MessageBody::Text(input.unwrap_or_default());
            if let Err(e) = admin.queues.send(connection, queue, &msg).await {
                return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response();
            }
        }
        Trigger::Http { .. } | Trigger::Other(_) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("{} cannot be run through the admin API by devhost", f.name),
            )
                .into_response();
        }
    }
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use super::input_of;

    #[test]
    fn admin_bodies() {
        assert_eq!(input_of(b""), Ok(None));
        assert_eq!(input_of(br#"{"input":"x"}"#), Ok(Some("x".into())));
        assert_eq!(
            input_of(br#"{"Input":{"a":1}}"#),
            Ok(Some(r#"{"a":1}"#.into()))
        );
        assert_eq!(input_of(b"{}"), Ok(None));
        assert!(input_of(b"nope").is_err());
    }
}
