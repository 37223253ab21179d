//! The lists' view of the catalogue's rows: for recordings and sessions, the time a range applies
//! to, the partitions it reads and the row fields each filter compares.

use time::OffsetDateTime;

use super::model::{Invalid, Listed, Query, any_is};
use crate::catalogue::days::{DAYS_TABLE, DayRow};
use crate::catalogue::figures::Coverage;
use crate::catalogue::recording::RECORDINGS_TABLE;
use crate::catalogue::recording::{Recording, SessionView};
use crate::tables::Entity;

/// A list's filter parameters: those of every session (`user`, `ip`, `vm`, `protocol`, `status`),
/// then the list's own.
macro_rules! filters {
    ($($own:literal),*) => {
        &["user", "ip", "vm", "protocol", "status", $($own),*]
    };
}

/// The lists' view: rows of a range by session start, else event time (recorded a day either side
/// of it, [`super::partition_days`]); `vm` and `user` served from index rows.
impl Listed for Recording {
    const TABLE: &'static str = RECORDINGS_TABLE;
    const FILTERS: &'static [&'static str] = filters!("class", "confidence", "bastion", "account");
    const INDEXED: &'static [&'static str] = &["vm", "user"];
    const SCOPE: &'static str = "";

    fn from_entity(e: &Entity) -> Option<Self> {
        Self::from_entity(e)
    }

    fn time(&self) -> OffsetDateTime {
        self.session()
            .and_then(|s| s.start)
            .unwrap_or(self.blob_created)
    }

    fn row_key(&self) -> String {
        self.key.rk.clone()
    }

    fn values(&self, param: &str) -> Vec<&str> {
        let s = self.session();
        let of = |f: fn(&SessionView) -> Vec<&str>| s.map(f).unwrap_or_default();
        match param {
            "user" => of(|s| vec![&s.user_name, &s.user_email]),
            "ip" => of(|s| vec![&s.client_ip]),
            "vm" => of(|s| vec![&s.target_vm, &s.target_resource_id]),
            "protocol" => of(|s| vec![&s.protocol]),
            // `replaced`: content overwritten outside the product, whatever its status.
            "status" => [
                vec![self.status.as_str()],
                self.replaced.iter().map(|_| "replaced").collect(),
            ]
            .concat(),
            "class" => vec![&self.retention_class],
            "confidence" => self
                .matched()
                .map(|m| m.confidence.as_str())
                .into_iter()
                .collect(),
            // The session's host once joined, else (or also) the host its source is tied to.
            "bastion" => [of(|s| vec![&s.bastion_host]), vec![&self.source_bastion]].concat(),
            "account" => vec![&self.account],
            _ => Vec::new(),
        }
    }

    fn matches(&self, param: &str, want: &str) -> bool {
        if param == "confidence" && want == "none" {
            return self.joined.is_none();
        }
        any_is(&self.values(param), want)
    }

    fn days(q: &Query) -> Vec<String> {
        q.recording_days()
    }
}

/// `status` values of the sessions list: the four outcomes, `recorded` / `unrecorded` (of the
/// sessions that got past the login: [`Coverage`]), how they are recorded (`exact`, `probable`;
/// `ambiguous`: unrecorded, a time match tied) and `replaced` (a recording vouching for it was
/// overwritten outside the product).
pub const STATUSES: &[&str] = &[
    "success",
    "failed-login",
    "other",
    "unknown",
    "recorded",
    "unrecorded",
    "exact",
    "probable",
    "ambiguous",
    "replaced",
];

/// `authorization` values of the sessions list: the verdicts (`undecided`: none yet).
pub const AUTHORIZATIONS: &[&str] = &[
    "pim",
    "pim-group",
    "jit",
    "standing",
    "none",
    "unknown",
    "undecided",
];

/// The sessions list (`GET /api/sessions`): rows of a range by start (a partition a day).
impl Listed for DayRow {
    const TABLE: &'static str = DAYS_TABLE;
    const FILTERS: &'static [&'static str] = filters!("bastion", "authorization");
    const SCOPE: &'static str = "sessions:";

    fn from_entity(e: &Entity) -> Option<Self> {
        Self::from_entity(e)
    }

    fn time(&self) -> OffsetDateTime {
        self.start
    }

    fn row_key(&self) -> String {
        self.tunnel_id.clone()
    }

    fn values(&self, param: &str) -> Vec<&str> {
        match param {
            "user" => vec![&self.user_name, &self.user_email],
            "ip" => vec![&self.client_ip],
            "vm" => vec![&self.vm, &self.target_resource_id],
            "protocol" => vec![&self.protocol],
            "bastion" => vec![&self.host],
            _ => Vec::new(),
        }
    }

    fn matches(&self, param: &str, want: &str) -> bool {
        match (param, want) {
            // The figures' kinds (a failed login is neither recorded nor unrecorded).
            ("status", k @ ("recorded" | "unrecorded")) => Coverage::of(self).as_str() == k,
            ("status", "replaced") => self.replaced,
            ("status", by @ ("exact" | "probable" | "ambiguous")) => self.recorded_by == by,
            ("status", o) => self.public_outcome() == o,
            ("authorization", "undecided") => self.authorization.is_empty(),
            ("authorization", v) => self.authorization == v,
            _ => any_is(&self.values(param), want),
        }
    }

    fn check(q: &Query) -> Result<(), Invalid> {
        match (q.wants("status"), q.wants("authorization")) {
            (Some(s), _) if !STATUSES.contains(&s) => {
                Err(Invalid::new("status", STATUSES.join(" | ")))
            }
            (_, Some(a)) if !AUTHORIZATIONS.contains(&a) => {
                Err(Invalid::new("authorization", AUTHORIZATIONS.join(" | ")))
            }
            _ => Ok(()),
        }
    }
}
