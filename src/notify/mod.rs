//! Notifications: the message every domain puts on the `notifications` queue, and (NotifyWebhook)
//! their delivery to Teams, Slack and signed webhooks.
//!
//! A [`Notification`] is emitted as a JSON object through the queue output binding. Its stable id is
//! `notificationId`, not `id`: the host copies a JSON message's top-level properties into the queue
//! trigger's metadata, where `id` would collide (case-insensitively) with the queue's own `Id`.

pub mod message;

pub use message::{Notification, Severity};

/// Name of the queue output binding (and queue) carrying notifications.
pub const OUTPUT_BINDING: &str = "notifications";
