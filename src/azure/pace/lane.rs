//! The two lanes of Resource Manager's throttling: reads and writes, each with its own bucket
//! and its own remaining-request headers.

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::names::named;

named! {
    /// Reads and writes have separate buckets (and headers), named as their headers end.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Lane {
        /// GET (and the polls of long-running operations).
        Reads = "reads",
        /// Anything else: POST actions.
        Writes = "writes",
    }
}

impl Lane {
    /// The lane of a request.
    pub fn of(method: &Method) -> Self {
        if *method == Method::GET || *method == Method::HEAD {
            Self::Reads
        } else {
            Self::Writes
        }
    }

    /// The lowest `x-ms-ratelimit-remaining-*` count of this lane in `headers`, if any.
    pub fn remaining(self, headers: &HeaderMap) -> Option<u64> {
        headers
            .iter()
            .filter(|(name, _)| {
                let n = name.as_str();
                n.starts_with("x-ms-ratelimit-remaining-") && n.ends_with(self.as_str())
            })
            .filter_map(|(_, v)| v.to_str().ok()?.trim().parse::<u64>().ok())
            .min()
    }
}
