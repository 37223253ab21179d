//! Notifications: the message every domain puts on the `notifications` queue, and (NotifyWebhook)
//! their delivery to Teams, Slack and signed webhooks.
//!
//! A [`Notification`] is emitted as a JSON object through the queue output binding. Its stable id is
//! `notificationId`, not `id`: the host copies a JSON message's top-level properties into the queue
//! trigger's metadata, where `id` would collide (case-insensitively) with the queue's own `Id`.
//!
//! # Layout
//! - [`message`]: the queue message. [`config`]: settings. [`routes`]: which types go where.
//! - [`render`]: thin content and the Teams / Slack / Standard Webhooks payloads (pure).
//! - [`claims`]: the `deliveries` table as a per-destination claim (exactly once, as far as HTTP allows).
//! - [`pacing`]: per-destination rate limits shared by all invocations of the process.
//! - [`deliver`]: one POST with the retry policy. [`handler`]: the NotifyWebhook function.
//! - [`export`]: the notification as a row for Microsoft Sentinel, recorded before delivery.

pub mod claims;
pub mod config;
pub mod deliver;
pub mod export;
pub mod handler;
pub mod message;
pub mod pacing;
pub mod render;
pub mod routes;

pub use deliver::Notifier;
pub use message::{Notification, Severity};

/// Name of the queue output binding (and queue) carrying notifications.
pub const OUTPUT_BINDING: &str = "notifications";

/// The queue-triggered function that delivers notifications.
pub const FUNCTION: &str = "NotifyWebhook";
