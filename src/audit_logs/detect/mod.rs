//! Detections that become notifications (stable ids, one per fact; emitted only by the writer that
//! wins the marker write, so concurrent ticks and replays never duplicate them).

pub mod burst;
pub mod failed;
pub mod stalled;
pub mod stored;
pub mod unchecked;

#[cfg(test)]
mod rule_tests;
#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;
