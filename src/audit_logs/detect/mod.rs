//! Detections that become notifications (stable ids, one per fact; emitted only by the writer that
//! wins the marker write, so concurrent ticks and replays never duplicate them).

pub mod failed;
pub mod stalled;

#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;
