//! `login.failed.burst`'s attempts: one row per failed login in each partition it counts in (per
//! user or per client IP, and VM, in a tumbling window; RK = tunnelId, so a replay never
//! double-counts).

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::audit_logs::repo::FAILED_TABLE;
use crate::audit_logs::sessions::SessionRecord;
use crate::azure::AzureError;
use crate::catalogue::session::fill;
use crate::dates::format_utc;
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
    /// Target VM (or target IP when unknown).
    pub vm: String,
    /// Attempted user name (or e-mail), if any.
    pub user: String,
    /// Client IP, if any.
    pub client_ip: String,
    /// The Bastion host the attempt went through, if known.
    pub host: String,
}

/// Floors `t` to the start of its `window`-long bucket (aligned on the Unix epoch).
pub fn bucket(t: OffsetDateTime, window: Duration) -> OffsetDateTime {
    let w = window.whole_seconds().max(1);
    let s = t.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(s - s.rem_euclid(w)).unwrap_or(t)
}

impl FailedLogin {
    /// The attempt described by a one-record session, if it has a time and a target.
    pub fn from_session(
        s: &SessionRecord,
        time: Option<OffsetDateTime>,
        window: Duration,
    ) -> Option<Self> {
        let (mut vm, mut user) = (s.target_vm.clone(), s.user_name.to_ascii_lowercase());
        fill(&mut vm, &s.target_ip, false);
        fill(&mut user, &s.user_email, true);
        Some(Self {
            tunnel_id: s.tunnel_id.clone(),
            window: bucket(time?, window),
            vm,
            user,
            client_ip: s.client_ip.clone(),
            host: s.bastion_host.clone(),
        })
    }

    /// The partitions this attempt counts in: one per dimension that is known.
    pub fn partitions(&self) -> Vec<String> {
        let w = format_utc(self.window);
        [("user", &self.user), ("ip", &self.client_ip)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(d, v)| {
                let fact = format!("{w}|{d}|{}|{}", fit(v), fit(&self.vm));
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
fn fit(text: &str) -> std::borrow::Cow<'_, str> {
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

/// Stores one attempt (idempotent); returns the partitions touched.
pub async fn record(tables: &dyn TableStore, f: &FailedLogin) -> Result<Vec<String>, AzureError> {
    let parts = f.partitions();
    for pk in &parts {
        let rk = crate::audit_logs::sessions::tunnel_key(&f.tunnel_id);
        // What the digest names besides the partition's own dimension.
        let e = crate::tables::entity(json!({
            "PartitionKey": pk, "RowKey": rk, "Window": format_utc(f.window),
            USER: f.user, CLIENT_IP: f.client_ip, HOST: f.host,
        }));
        write_creating_table(tables, FAILED_TABLE, &e, WriteMode::Upsert).await?;
    }
    Ok(parts)
}

/// Properties of an attempt row: the user, the client IP and the Bastion host.
pub const USER: &str = "User";
/// See [`USER`].
pub const CLIENT_IP: &str = "ClientIp";
/// See [`USER`].
pub const HOST: &str = "Host";

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
