//! The catalogue API's settings (`CATALOGUE_*`, `HEALTH_TAIL_LAG_MINUTES`), parsed with every other
//! setting at start-up; kept here, below the API, so the configuration never names an entry point.

use super::auth::{self, AuthMode};
use crate::setting::Reader;
use crate::storage::links;

/// API settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// `CATALOGUE_AUTH` and the token settings: who authenticates callers ([`auth`]). Unset is
    /// [`AuthMode::Unconfigured`]: the API refuses every request, the event functions run on.
    pub auth: AuthMode,
    /// `CATALOGUE_MAX_RANGE_DAYS` (default 31): the widest `from`–`to` range.
    pub max_range_days: u32,
    /// `GET /api/health` thresholds (`HEALTH_TAIL_LAG_MINUTES`).
    pub health: Thresholds,
    /// `CATALOGUE_DOWNLOAD_LINKS` (default false): add a read link to detail reads.
    pub download_links: bool,
    /// `CATALOGUE_LINK_MINUTES` (default 15, capped at 60): the link lifetime.
    pub link_lifetime: time::Duration,
    /// `CATALOGUE_EVIDENCE_BUILDS` (default 2, 1–16): evidence packs `GET /api/evidence` builds at
    /// once on an instance; a request beyond them is answered 503 with `Retry-After`.
    pub evidence_builds: usize,
}

impl Default for ApiSettings {
    /// What an environment without any of these settings gives (authentication unconfigured).
    fn default() -> Self {
        Self {
            auth: AuthMode::Unconfigured(vec![format!(
                "{}: not set (platform, jwt or none)",
                auth::AUTH
            )]),
            max_range_days: 31,
            health: Thresholds::default(),
            download_links: false,
            link_lifetime: time::Duration::minutes(i64::from(links::DEFAULT_MINUTES)),
            evidence_builds: 2,
        }
    }
}

impl ApiSettings {
    /// Reads the settings; invalid values are start-up problems named in `r`.
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let d = Self::default();
        Self {
            auth: AuthMode::from_reader(r),
            max_range_days: r.number("CATALOGUE_MAX_RANGE_DAYS", d.max_range_days, 1..=366),
            health: Thresholds::from_reader(r),
            download_links: r.flag("CATALOGUE_DOWNLOAD_LINKS", d.download_links),
            link_lifetime: links::lifetime(r),
            evidence_builds: r.number("CATALOGUE_EVIDENCE_BUILDS", d.evidence_builds, 1..=16),
        }
    }
}

/// The health report's status thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// `HEALTH_TAIL_LAG_MINUTES` (default 30): longer unread means the tail is not keeping up.
    pub tail_lag: time::Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            tail_lag: time::Duration::minutes(30),
        }
    }
}

impl Thresholds {
    /// Reads `HEALTH_TAIL_LAG_MINUTES` (1 minute to 7 days).
    pub fn from_reader(r: &mut crate::setting::Reader<'_>) -> Self {
        let d = Self::default();
        let minutes = r.number(
            "HEALTH_TAIL_LAG_MINUTES",
            d.tail_lag.whole_minutes(),
            1..=10_080,
        );
        Self {
            tail_lag: time::Duration::minutes(minutes),
        }
    }
}
