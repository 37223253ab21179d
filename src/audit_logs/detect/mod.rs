//! Detections that become notifications (stable ids, one per fact; emitted only by the writer that
//! wins the marker write, so concurrent ticks and replays never duplicate them):
//! - [`failed`]: `login.failed.burst`, a digest ([`burst`]) per (user or client IP, VM, window) over
//!   a threshold;
//! - [`unrecorded`]: `session.unrecorded`, a successful, ended session with no recording joined
//!   within the grace period after its end arrived (a compliance gap);
//! - [`stalled`]: `recordings.stalled`, sessions keep ending but no recording for N hours (expired
//!   SAS / broken identity on the Bastion side, which also blocks connections).

pub mod burst;
pub mod failed;
pub mod stalled;
pub mod stored;
pub mod unrecorded;

#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;
