//! Notifications: the message every domain puts on the `notifications` queue, and (NotifyWebhook)
//! their delivery to Teams, Slack and signed webhooks.
//!
//! Its stable id is `notificationId`, not `id`: the host copies a message's top-level properties
//! into the trigger's metadata, where `id` would collide with the queue's own `Id`.

pub mod claims;
pub mod config;
pub mod deliver;
pub mod handler;
pub mod render;
pub mod routes;

pub use crate::spine::{Notification, Severity};
pub use deliver::Notifier;

/// Name of the queue output binding (and queue) carrying notifications.
pub const OUTPUT_BINDING: &str = crate::spine::QUEUE;
