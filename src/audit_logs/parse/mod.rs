//! Tolerant, streaming parsing of `PT1H.json` content (pure): JSON Lines (LF or CRLF, optional
//! BOM), one record a line, into borrowed records of only the fields the product reads. A wrongly typed field degrades to text rather than costing the line; memory is
//! bounded by the slice given, never by the blob.

mod text;

use serde::Deserialize;
use serde::de::IgnoredAny;

pub use text::{Num, Text, timestamp};

/// The UTF-8 byte order mark some writers put at the start of a blob.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One audit record (top level), with only the fields the product reads.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Record<'a> {
    /// Log timestamp (receive/generation time as written by Azure Monitor).
    #[serde(borrow, alias = "Time")]
    pub time: Option<Text<'a>>,
    /// The Bastion host resource id (upper-case).
    #[serde(borrow, rename = "resourceId", alias = "ResourceId")]
    pub resource_id: Option<Text<'a>>,
    /// Open enum: `Microsoft.Network/BastionHost/connect`, others kept raw.
    #[serde(borrow, rename = "operationName", alias = "OperationName")]
    pub operation_name: Option<Text<'a>>,
    /// `BastionAuditLogs`.
    #[serde(borrow, alias = "Category")]
    pub category: Option<Text<'a>>,
    /// The Bastion-specific part.
    #[serde(borrow, alias = "Properties")]
    pub properties: Properties<'a>,
}

/// `properties` of a Bastion audit record. Session start/end/duration names are unconfirmed in raw
/// storage records: the Log Analytics names are accepted in camelCase and PascalCase.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Properties<'a> {
    /// User name used on the VM (attempted name for failed logins).
    #[serde(borrow, rename = "userName", alias = "UserName")]
    pub user_name: Option<Text<'a>>,
    /// Entra UPN of the portal user; may be absent.
    #[serde(borrow, rename = "userEmail", alias = "UserEmail")]
    pub user_email: Option<Text<'a>>,
    /// Browser's public IP.
    #[serde(borrow, rename = "clientIpAddress", alias = "ClientIpAddress")]
    pub client_ip: Option<Text<'a>>,
    /// Browser's port (number or numeric string).
    #[serde(rename = "clientPort", alias = "ClientPort")]
    pub client_port: Option<Num>,
    /// `ssh` / `rdp` (case varies by source).
    #[serde(borrow, alias = "Protocol")]
    pub protocol: Option<Text<'a>>,
    /// Target VM resource id (upper-case).
    #[serde(borrow, rename = "targetResourceId", alias = "TargetResourceId")]
    pub target_resource_id: Option<Text<'a>>,
    /// Target private IP.
    #[serde(
        borrow,
        rename = "targetVMIPAddress",
        alias = "TargetVMIPAddress",
        alias = "targetVmIpAddress"
    )]
    pub target_ip: Option<Text<'a>>,
    /// `VM`, `VMSS`, ….
    #[serde(borrow, rename = "resourceType", alias = "ResourceType")]
    pub resource_type: Option<Text<'a>>,
    /// Subscription of the target.
    #[serde(borrow, rename = "subscriptionId", alias = "SubscriptionId")]
    pub subscription_id: Option<Text<'a>>,
    /// Open enum: `Successfully Connected.`, `Login Failed`, others kept raw.
    #[serde(borrow, alias = "Message")]
    pub message: Option<Text<'a>>,
    /// Bastion connection GUID: the session key.
    #[serde(borrow, rename = "tunnelId", alias = "TunnelId")]
    pub tunnel_id: Option<Text<'a>>,
    /// Session start (LA `SessionStartTime`).
    #[serde(borrow, rename = "sessionStartTime", alias = "SessionStartTime")]
    pub session_start: Option<Text<'a>>,
    /// Session end (LA `SessionEndTime`, a string, possibly empty).
    #[serde(borrow, rename = "sessionEndTime", alias = "SessionEndTime")]
    pub session_end: Option<Text<'a>>,
    /// Duration in ms (LA `Duration`), number or numeric string.
    #[serde(alias = "Duration", alias = "durationMs", alias = "DurationMs")]
    pub duration: Option<Num>,
}

/// Why one line could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt audit line at byte {offset}: {reason}")]
pub struct LineError {
    /// Absolute offset of the line in the blob.
    pub offset: u64,
    /// serde's message (no record content).
    pub reason: String,
}

/// Position just past the last `\n` in `buf` (0 when none): the end of the complete lines.
pub fn complete_len(buf: &[u8]) -> usize {
    memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1)
}

/// Calls `on_record`/`on_error` for the complete lines of `buf` (starting at a line boundary at
/// blob offset `base`); returns the bytes consumed, up to and including the last `\n`.
pub fn parse_lines<'a>(
    buf: &'a [u8],
    base: u64,
    on_record: &mut dyn FnMut(u64, Record<'a>),
    on_error: &mut dyn FnMut(LineError, &'a [u8]),
) -> usize {
    let end = complete_len(buf);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', &buf[..end]) {
        let offset = base + start as u64;
        let line = trim_line(&buf[start..nl]);
        start = nl + 1;
        if line.is_empty() {
            continue;
        }
        if let Err(reason) = parse_line(line, &mut |r| on_record(offset, r)) {
            on_error(LineError { offset, reason }, line);
        }
    }
    end
}

/// True when `line` (trimmed) is one complete JSON object: a whole record even without its newline.
pub fn is_complete_object(line: &[u8]) -> bool {
    line.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(line).is_ok()
}

/// Strips a trailing `\r`, a leading BOM and surrounding ASCII whitespace.
pub fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    line.trim_ascii()
}

/// Parses one complete line: a record.
///
/// # Errors
/// serde's message when the line is not a JSON object of the expected shape.
pub fn parse_line<'a>(line: &'a [u8], on_record: &mut dyn FnMut(Record<'a>)) -> Result<(), String> {
    if line.first() != Some(&b'{') {
        // serde would accept a JSON array as a struct (by position): only objects are records.
        return Err("not a JSON object".to_owned());
    }
    // One UTF-8 check of the line is cheaper than serde's per string; a line failing it is read as
    // bytes (a stray byte in an unknown field is then skipped).
    let record = match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(line),
    };
    on_record(record.map_err(|e| e.to_string())?);
    Ok(())
}

#[cfg(test)]
mod tests;
