//! Table contract (filled in below).
