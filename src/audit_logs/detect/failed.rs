//! The attempts of table `failedlogins` (its writers: this file, `unchecked.rs`, `stored.rs`): one
//! row per failed login in each partition it counts in. The one definition of a failed-login
//! burst: at least `FAILED_LOGIN_THRESHOLD` failed logins by one user, or from one client IP, on
//! any VMs, in one fixed window of `FAILED_LOGIN_WINDOW_MINUTES` ([`crate::dates::bucket`]); a
//! partition is such a (window, user or IP), RK = tunnelId, so a replay never double-counts.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::sessions::SessionRecord;
use crate::azure::AzureError;
use crate::catalogue::session::fill;
use crate::dates::{bucket, format_utc};
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::write_creating_table;
use crate::tables::{TableStore, WriteMode};

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogin {
    /// Tunnel id of the attempt.
    pub tunnel_id: String,
    /// Window start.
    pub window: OffsetDateTime,
    /// The session's start day (its `sessionwindows` partition).
    pub day: String,
    /// Target VM (or target IP when unknown).
    pub vm: String,
    /// Attempted user name (or e-mail), if any.
    pub user: String,
    /// Client IP, if any.
    pub client_ip: String,
    /// The Bastion host the attempt went through, if known.
    pub host: String,
}

/// The user an attempt counts for: its VM user name, else its portal e-mail, in lower case.
pub fn user_of(user_name: &str, user_email: &str) -> String {
    let mut user = user_name.to_ascii_lowercase();
    fill(&mut user, user_email, true);
    user
}

impl FailedLogin {
    /// The attempt described by a one-record session, if it has a time and a target.
    pub fn from_session(
        s: &SessionRecord,
        time: Option<OffsetDateTime>,
        window: Duration,
    ) -> Option<Self> {
        let mut vm = s.target_vm.clone();
        fill(&mut vm, &s.target_ip, false);
        Some(Self {
            tunnel_id: s.tunnel_id.clone(),
            window: bucket(time?, window),
            day: crate::catalogue::days::day_of(s).unwrap_or_default(),
            vm,
            user: user_of(&s.user_name, &s.user_email),
            client_ip: s.client_ip.clone(),
            host: s.bastion_host.clone(),
        })
    }

    /// The partitions this attempt counts in: one per dimension that is known, whatever its VM.
    pub fn partitions(&self) -> Vec<String> {
        let w = format_utc(self.window);
        [("user", &self.user), ("ip", &self.client_ip)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(d, v)| {
                let fact = format!("{w}|{d}|{}", fit(v));
                // Fitted, the fact stays spelled out (the digest reads it back from the key).
                key(&fact, Spelling::Encoded, MAX_KEY_BYTES)
            })
            .collect()
    }
}

/// Longest user, address or VM name kept whole in a partition key.
const MAX_PART: usize = 200;

/// `text`, or past [`MAX_PART`] bytes its start and a digest: a key stays under 1 KiB and two long
/// names still count apart.
pub(super) fn fit(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_PART {
        return text.into();
    }
    let mut cut = MAX_PART - 24;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
    format!("{}…#{}", &text[..cut], hex::encode(&digest[..8])).into()
}

/// Properties of an attempt row: the user, the client IP, the Bastion host, the VM and the
/// session's day.
pub const USER: &str = "User";
/// See [`USER`].
pub const CLIENT_IP: &str = "ClientIp";
/// See [`USER`].
pub const HOST: &str = "Host";
/// See [`USER`].
pub const VM: &str = "Vm";
/// See [`USER`].
pub const DAY: &str = "Day";

/// Stores one attempt (idempotent); returns the partitions touched.
pub async fn record(tables: &dyn TableStore, f: &FailedLogin) -> Result<Vec<String>, AzureError> {
    let parts = f.partitions();
    for pk in &parts {
        let rk = crate::audit_logs::sessions::tunnel_key(&f.tunnel_id);
        // What the digest names besides the partition's own dimension.
        let e = crate::tables::entity(json!({
            "PartitionKey": pk, "RowKey": rk, "Window": format_utc(f.window),
            USER: f.user, CLIENT_IP: f.client_ip, HOST: f.host, VM: f.vm, DAY: f.day,
        }));
        write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};

    #[test]
    fn long_names_fit_a_key_and_stay_apart() {
        let a = format!("{}a", "u".repeat(3000));
        let b = format!("{}b", "u".repeat(3000));
        assert_ne!(fit(&a), fit(&b));
        assert!(fit(&a).len() <= MAX_PART + 4);
        assert_eq!(fit("alice@contoso.com"), "alice@contoso.com");
        let wide = "é".repeat(400);
        assert!(fit(&wide).len() <= MAX_PART + 4);
        let fact = format!("2025-03-14T09:00:00Z|user|{}|{}", fit(&a), fit(&b));
        let k = key(&fact, Spelling::Encoded, MAX_KEY_BYTES);
        assert!(crate::tables::keys::is_valid_key(&k), "{}", k.len());
        assert_eq!(
            crate::tables::keys::decode_key(&k),
            Some(fact),
            "spelled out"
        );
    }
}
