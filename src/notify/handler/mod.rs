//! `NotifyWebhook`: one queued notification → every routed destination, each at most once and
//! independently (own claim, retries and verdict). Processed when each was delivered (now or
//! before) or refused permanently (quarantined); [`Error`] when any must be retried or the
//! notification's Sentinel row could not be recorded, or when it is not a notification or no
//! routed destination can take it even with its values cut to fit (a body too large for one
//! destination is refused there, quarantined).

mod error;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use std::time::Instant;
use tracing::{error, warn};

use super::claims::{Claim, Claims, Finish, valid_key};
use super::deliver::Notifier;
use super::deliver::{Delivery, Payload, deliver};
use super::render::{Content, ContentOptions, slack, teams, too_large, webhook};
use super::routes::Destination;
use crate::invocation::route::record_event;
use crate::invocation::{Invocation, Quarantine};
use crate::ports::Ports;
use crate::spine::Handled;
use crate::spine::Notification;

pub use error::Error;

/// The queue-triggered function that delivers notifications.
pub const FUNCTION: &str = "NotifyWebhook";

/// What delivery needs.
#[derive(Clone)]
pub struct Dispatch {
    /// Settings, HTTP client and pacing.
    pub notifier: Arc<Notifier>,
    /// The tables, the watched sources and the clock.
    pub ports: Ports,
    /// Where permanent refusals are kept.
    pub quarantine: Quarantine,
}

/// How one destination ended in this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Posted and accepted now.
    Delivered,
    /// Nothing to do: delivered or refused by an earlier delivery.
    AlreadyDone(&'static str),
    /// Refused permanently now (quarantined).
    Refused(String),
    /// Not delivered; the message must come back.
    Retry(String),
}

/// Decodes the queue message; anything that is not a usable notification is poison.
///
/// # Errors
/// [`Error::Unusable`].
pub fn decode(inv: &Invocation) -> Result<Notification, Error> {
    let text = inv
        .request
        .data_text("message")
        .map_err(|e| Error::Unusable(e.to_string()))?;
    let n: Notification = serde_json::from_str(&text)
        .map_err(|e| Error::Unusable(format!("message is not a notification: {e}")))?;
    if !valid_key(&n.notification_id) {
        return Err(Error::Unusable(
            "notificationId is empty, too long or has characters a table key cannot hold".into(),
        ));
    }
    record_event(&n.notification_id, n.kind.as_str(), None);
    Ok(n)
}

/// Delivers the notification `inv` carries to every routed destination.
///
/// # Errors
/// [`Error::Unusable`] for undecodable messages, [`Error::Undelivered`] when a destination must be
/// retried, [`Error::Outbox`] when the Sentinel row was not recorded.
pub async fn deliver_message(deps: &Dispatch, inv: &Invocation) -> Result<Handled, Error> {
    let n = decode(inv)?;
    // The row first: a message that must come back for its row has delivered nothing yet.
    let row = crate::spine::sentinel::detection_row(&n, deps.ports.clock.now());
    deps.ports
        .outbox
        .record(&row)
        .await
        .map_err(Error::Outbox)?;
    let cfg = &deps.notifier.config;
    let dests: Vec<Destination> = Destination::ALL
        .into_iter()
        .filter(|d| cfg.endpoint(*d).is_some() && cfg.routes.accepts(*d, &n))
        .collect();
    if dests.is_empty() {
        return Ok(Handled::skipped(format!(
            "no configured destination takes {} ({:?})",
            n.kind, n.severity
        )));
    }
    let until = Instant::now() + cfg.budget;
    let opts = ContentOptions {
        include_pii: cfg.include_pii,
        catalogue_base_url: cfg.catalogue_base_url.clone(),
    };
    let content = Content::of(&n, &opts);
    let bodies: Vec<serde_json::Value> = dests.iter().map(|d| render(&content, *d)).collect();
    some_fits(&n, &dests, &bodies)?;
    let sends = dests.iter().zip(&bodies);
    let steps = join_all(sends.map(|(d, b)| one(deps, inv, (&content, b), *d, until))).await;
    let dequeue = inv
        .request
        .metadata_text("DequeueCount")
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1);
    conclude(&n, &dests, &steps, dequeue, cfg.max_dequeue)
}

/// Maps the per-destination steps to the invocation's ending.
///
/// # Errors
/// [`Error::Undelivered`] when any destination must be retried.
pub fn conclude(
    n: &Notification,
    dests: &[Destination],
    steps: &[Step],
    dequeue: u32,
    max_dequeue: u32,
) -> Result<Handled, Error> {
    let list = |f: &dyn Fn(&Step) -> bool| {
        dests
            .iter()
            .zip(steps)
            .filter(|(_, s)| f(s))
            .map(|(d, _)| d.as_str())
            .collect::<Vec<_>>()
    };
    let retry: Vec<String> = (dests.iter().zip(steps))
        .filter_map(|(d, s)| match s {
            Step::Retry(r) => Some(format!("{d}: {r}")),
            _ => None,
        })
        .collect();
    if !retry.is_empty() {
        if dequeue >= max_dequeue {
            // The host moves the message to `notifications-poison` after this attempt.
            warn!(metric = "notify.exhausted", notification.id = %n.notification_id, notification.type = %n.kind,
                dequeue_count = dequeue, destinations = %list(&|s| matches!(s, Step::Retry(_))).join(","), "notify.exhausted");
        }
        return Err(Error::Undelivered(format!(
            "notification {} not delivered: {}",
            n.notification_id,
            retry.join("; ")
        )));
    }
    let delivered = list(&|s| *s == Step::Delivered);
    let refused = list(&|s| matches!(s, Step::Refused(_)));
    if delivered.is_empty() && refused.is_empty() {
        return Ok(Handled::skipped(format!(
            "notification {} already handled for {}",
            n.notification_id,
            list(&|_| true).join(",")
        )));
    }
    let mut summary = format!(
        "notification {}: delivered to [{}]",
        n.notification_id,
        delivered.join(",")
    );
    if !refused.is_empty() {
        summary.push_str(&format!(
            "; refused permanently by [{}] (quarantined)",
            refused.join(",")
        ));
    }
    Ok(Handled::done(summary))
}

/// Each renderer cuts values to what its destination takes; a notification still too large for
/// every destination can never be delivered: poison, not a retry for ever.
///
/// # Errors
/// [`Error::Unusable`] when no body of `bodies` (one per destination of `dests`) fits its destination.
pub fn some_fits(
    n: &Notification,
    dests: &[Destination],
    bodies: &[serde_json::Value],
) -> Result<(), Error> {
    let refused: Vec<String> = (dests.iter().zip(bodies))
        .filter_map(|(d, b)| too_large(*d, b))
        .collect();
    if refused.len() < dests.len() {
        return Ok(());
    }
    Err(Error::Unusable(format!(
        "no destination can take notification {}: {}",
        n.notification_id,
        refused.join("; ")
    )))
}

/// The body of `content` for `dest`.
fn render(content: &Content, dest: Destination) -> serde_json::Value {
    match dest {
        Destination::Teams => teams::render(content),
        Destination::Slack => slack::render(content),
        Destination::Webhook => webhook::render(content),
    }
}

async fn one(
    deps: &Dispatch,
    inv: &Invocation,
    (content, body): (&Content, &serde_json::Value),
    dest: Destination,
    until: Instant,
) -> Step {
    let cfg = &deps.notifier.config;
    let id = content.id.as_str();
    let claims = Claims::new(deps.ports.tables.as_ref(), &inv.id);
    // The lease covers everything this invocation may still do for the destination.
    let lease = cfg.budget + cfg.timeout + Duration::from_secs(15);
    let etag = match claims.claim(id, dest, deps.ports.clock.now(), lease).await {
        Err(e) => return Step::Retry(format!("claim failed: {e}")),
        Ok(Claim::Delivered) => return Step::AlreadyDone("delivered earlier"),
        Ok(Claim::Failed) => return Step::AlreadyDone("refused earlier"),
        Ok(Claim::Busy(until)) => {
            return Step::Retry(format!(
                "another instance is delivering (lease until {until})"
            ));
        }
        Ok(Claim::Acquired(etag)) => etag,
    };
    if let Some(why) = too_large(dest, body) {
        return refuse(deps, inv, &claims, dest, id, &etag, why).await;
    }
    let payload = Payload {
        dest,
        id,
        body: serde_json::to_vec(body).unwrap_or_default(),
    };
    match deliver(&deps.notifier, &payload, until).await {
        Delivery::Delivered { .. } => {
            if let Err(e) = claims
                .finish(id, dest, &etag, deps.ports.clock.now(), &Finish::Delivered)
                .await
            {
                // Failing would post again at once; the claim's lease still guards the destination.
                error!(destination = %dest, notification.id = id, error = %e, "delivered but the delivery record failed; a redelivery after the lease may post again");
            }
            Step::Delivered
        }
        Delivery::Permanent(reason) => refuse(deps, inv, &claims, dest, id, &etag, reason).await,
        Delivery::Retry(reason) => {
            let now = deps.ports.clock.now();
            let released = Finish::Released(reason.clone());
            if let Err(e) = claims.finish(id, dest, &etag, now, &released).await {
                warn!(destination = %dest, notification.id = id, error = %e, "claim release failed; the lease will expire instead");
            }
            Step::Retry(reason)
        }
    }
}

/// Quarantines a permanent refusal, then records it; a failed quarantine write retries instead.
async fn refuse(
    deps: &Dispatch,
    inv: &Invocation,
    claims: &Claims<'_>,
    dest: Destination,
    id: &str,
    etag: &str,
    reason: String,
) -> Step {
    let why = format!("{dest} refused the notification permanently: {reason}");
    if let Err(e) = deps
        .quarantine
        .put(FUNCTION, id, Some(dest.as_str()), &why, &inv.raw)
        .await
    {
        let released = Finish::Released("quarantine write failed".into());
        let now = deps.ports.clock.now();
        if let Err(e2) = claims.finish(id, dest, etag, now, &released).await {
            warn!(destination = %dest, notification.id = id, error = %e2, "claim release failed; the lease will expire instead");
        }
        return Step::Retry(format!(
            "{dest} refused ({reason}) but the quarantine write failed: {e}"
        ));
    }
    warn!(destination = %dest, notification.id = id, reason = %reason, "notify.refused");
    if let Err(e) = claims
        .finish(
            id,
            dest,
            etag,
            deps.ports.clock.now(),
            &Finish::Failed(reason.clone()),
        )
        .await
    {
        warn!(destination = %dest, notification.id = id, error = %e, "refusal not recorded; a redelivery may try this destination again");
    }
    Step::Refused(reason)
}

#[cfg(test)]
mod tests;
