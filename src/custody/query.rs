//! The custody queries (`*.kql`, checked by `scripts/kql.sh`) after a `let` header: nothing from
//! outside reaches the text but blob keys, as verbatim literals without control characters.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dates::{format_utc, timestamp};
use crate::loganalytics::{Item, LogsQuery};

/// The query's body.
pub const BODY: &str = include_str!("storage_blob_logs.kql");
/// The evidence pack's query: every request on the recording containers over a period.
pub const PERIOD_BODY: &str = include_str!("storage_blob_period.kql");

/// One request on the blob, as `StorageBlobLogs` logged it (texts as logged). Its `serde` form is
/// the row of a write kept in `earlywrites` ([`crate::recordings`]), without the skipped fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Access {
    /// `TimeGenerated` (RFC 3339).
    pub at: String,
    /// `OperationName`.
    pub operation: String,
    /// `StatusCode` (a string: it can be `Unknown`).
    #[serde(skip)]
    pub status: String,
    /// `AuthenticationType`.
    #[serde(rename = "AuthType")]
    pub authentication: String,
    /// `RequesterUpn`.
    pub upn: String,
    /// `RequesterObjectId`.
    pub object_id: String,
    /// `RequesterAppId`.
    pub app_id: String,
    /// `CallerIpAddress`.
    pub caller_ip: String,
    /// `UserAgentHeader`.
    #[serde(skip)]
    pub user_agent: String,
    /// `CorrelationId` (the storage request id).
    #[serde(rename = "RequestId")]
    pub correlation_id: String,
    /// `ObjectKey` (`/<account>/<container>/<name>`; the period and changes queries return it).
    #[serde(skip)]
    pub object_key: String,
    /// `SourceUri` (the changes query only; a copy's or rename's source, when logged).
    #[serde(skip)]
    pub source_uri: String,
    /// `ingestion_time()` (the changes query only: its cursor's axis).
    #[serde(skip)]
    pub ingested_at: String,
    /// `Etag` (the changes query only): the ETag the request returned, in quotes (for a write,
    /// the content it made).
    pub etag: String,
    /// `AuthenticationHash` (the changes query only): hashes of the key, and of the SAS token.
    pub auth_hash: String,
}

impl Access {
    /// True for a request the service completed (a 2xx `StatusCode`).
    pub fn succeeded(&self) -> bool {
        self.status.len() == 3 && self.status.starts_with('2')
    }

    /// The public JSON (API, evidence pack).
    pub fn json(&self) -> Value {
        serde_json::json!({
            "time": self.at, "operation": self.operation, "statusCode": self.status,
            "authenticationType": self.authentication, "requesterUpn": self.upn,
            "requesterObjectId": self.object_id, "requesterAppId": self.app_id,
            "callerIpAddress": self.caller_ip, "userAgent": self.user_agent,
            "requestId": self.correlation_id,
        })
    }
}

/// `ObjectKey` spellings of a blob, raw and percent-encoded (which one is logged is undocumented);
/// none with a control character.
pub fn object_keys(account: &str, container: &str, blob: &str) -> Vec<String> {
    let raw = format!("/{account}/{container}/{blob}");
    let encoded: String = blob
        .split('/')
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
        .replace('+', "%20");
    let encoded = format!("/{account}/{container}/{encoded}");
    let mut keys = vec![raw];
    if !keys.contains(&encoded) {
        keys.push(encoded);
    }
    keys.retain(|k| !k.chars().any(char::is_control));
    keys
}

/// A verbatim KQL string literal of `s` (no control characters: the caller filtered them).
fn verbatim(s: &str) -> String {
    format!("@\"{}\"", s.replace('"', "\"\""))
}

pub(super) fn list(values: &[impl AsRef<str>]) -> String {
    if values.is_empty() {
        return "dynamic([])".to_owned();
    }
    let items: Vec<String> = values.iter().map(|v| verbatim(v.as_ref())).collect();
    format!("pack_array({})", items.join(", "))
}

/// The header the body runs under: the blob's keys, the operations (none: every operation) and
/// the most rows to return.
pub fn header(keys: &[String], operations: &[&str], limit: usize) -> String {
    format!(
        "let keys = {};\nlet operations = {};\nlet limit = {limit};\n",
        list(keys),
        list(operations),
    )
}

/// The whole query text.
pub fn text(keys: &[String], operations: &[&str], limit: usize) -> String {
    [header(keys, operations, limit), BODY.to_owned()].concat()
}

/// The header of the period query: the containers (`/<account>/<container>`) and the most rows.
pub fn period_header(containers: &[String], limit: usize) -> String {
    let containers: Vec<&String> = containers
        .iter()
        .filter(|c| !c.chars().any(char::is_control))
        .collect();
    format!(
        "let containers = {};\nlet limit = {limit};\n",
        list(&containers)
    )
}

/// The request's `timespan` (ISO 8601 interval on `TimeGenerated`).
pub fn timespan(from: time::OffsetDateTime, to: time::OffsetDateTime) -> String {
    format!("{}/{}", format_utc(from), format_utc(to))
}

/// What a query found: its rows, and whether some are missing (capped or partial).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The rows, oldest first.
    pub rows: Vec<Access>,
    /// More rows than the limit exist.
    pub capped: bool,
    /// The service's partial-result error, when it sent one.
    pub partial: Option<String>,
}

/// Runs the query over `span`, at most `limit` rows (one more asked, to tell a capped answer).
///
/// # Errors
/// [`crate::azure::AzureError`] of the query; a broken answer is `Transient`.
pub async fn run(
    logs: &dyn LogsQuery,
    workspace: &str,
    keys: &[String],
    operations: &[&str],
    span: (time::OffsetDateTime, time::OffsetDateTime),
    limit: usize,
) -> Result<Found, crate::azure::AzureError> {
    let q = text(keys, operations, limit + 1);
    run_text(logs, workspace, &q, span, limit).await
}

/// Every request on `containers` over `span` (the evidence pack), at most `limit` rows.
///
/// # Errors
/// As [`run`].
pub async fn run_period(
    logs: &dyn LogsQuery,
    workspace: &str,
    containers: &[String],
    span: (time::OffsetDateTime, time::OffsetDateTime),
    limit: usize,
) -> Result<Found, crate::azure::AzureError> {
    let q = [period_header(containers, limit + 1), PERIOD_BODY.to_owned()].concat();
    run_text(logs, workspace, &q, span, limit).await
}

pub(super) async fn run_text(
    logs: &dyn LogsQuery,
    workspace: &str,
    q: &str,
    span: (time::OffsetDateTime, time::OffsetDateTime),
    limit: usize,
) -> Result<Found, crate::azure::AzureError> {
    let wait = std::time::Duration::from_secs(30);
    let mut answer = logs
        .query(workspace, q, &timespan(span.0, span.1), wait)
        .await?;
    let (mut columns, mut found) = (Vec::new(), Found::default());
    while let Some(item) = answer.next().await {
        match item {
            Item::Columns(c) => columns = c,
            Item::Row(r) if found.rows.len() < limit => found.rows.push(access(&columns, &r)),
            Item::Row(_) => found.capped = true,
            Item::End(partial) => found.partial = partial,
            Item::Broken(why) => {
                return Err(crate::azure::AzureError::Transient(format!(
                    "the StorageBlobLogs answer broke off: {why}"
                )));
            }
        }
    }
    Ok(found)
}

/// A row by its column names (a missing column reads empty; datetimes normalised to RFC 3339).
fn access(columns: &[String], row: &[Value]) -> Access {
    let get = |name: &str| crate::loganalytics::row::text(columns, row, name);
    let at = get("TimeGenerated");
    Access {
        at: timestamp(&at).map_or(at, format_utc),
        operation: get("OperationName"),
        status: get("StatusCode"),
        authentication: get("AuthenticationType"),
        upn: get("RequesterUpn"),
        object_id: get("RequesterObjectId"),
        app_id: get("RequesterAppId"),
        caller_ip: get("CallerIpAddress"),
        user_agent: get("UserAgentHeader"),
        correlation_id: get("CorrelationId"),
        object_key: get("ObjectKey"),
        source_uri: get("SourceUri"),
        ingested_at: get("IngestedAt"),
        etag: get("Etag"),
        auth_hash: get("AuthenticationHash"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header `tests/kql/custody-header.kql` holds: the KQL check runs the body under it, so
    /// the text the language service accepts is the one this module writes for a hostile name.
    #[test]
    fn the_checked_header_is_the_one_written() {
        let keys = object_keys("stweu", "recordings", "a\"b/<img src=x> ü.mp4");
        let checked = include_str!("../../tests/kql/custody-header.kql");
        assert_eq!(
            header(&keys, crate::custody::changes::REMOVES, 201),
            checked
        );
        assert_eq!(
            header(&[], &[], 3),
            "let keys = dynamic([]);\nlet operations = dynamic([]);\nlet limit = 3;\n"
        );
    }

    /// The header of a replacement's lookup (`tests/kql/custody-replaced-header.kql`, checked the
    /// same way): whole-content writes only, the one list the code takes them from.
    #[test]
    fn the_checked_replacement_header_is_the_one_written() {
        let keys = object_keys("stweu", "recordings", "a\"b/<img src=x> ü.mp4");
        let ops = crate::custody::actor::operations(crate::custody::awaited::Change::Replaced);
        assert_eq!(ops, crate::custody::changes::OVERWRITES);
        assert!(!ops.contains(&"PutBlock") && !ops.contains(&"AppendBlock"));
        let checked = include_str!("../../tests/kql/custody-replaced-header.kql");
        assert_eq!(header(&keys, ops, 201), checked);
    }

    #[test]
    fn the_checked_period_header_is_the_one_written() {
        let containers = [
            "/stweu/rec\"ordings".to_owned(),
            "/stneu/recordings".to_owned(),
        ];
        let checked = include_str!("../../tests/kql/custody-period-header.kql");
        assert_eq!(period_header(&containers, 50_001), checked);
    }

    #[test]
    fn keys_never_carry_a_control_character() {
        let keys = object_keys("a", "c", "x\ny");
        assert_eq!(keys, vec!["/a/c/x%0Ay".to_owned()]);
        assert_eq!(
            object_keys("a", "c", "plain/x.mp4"),
            vec!["/a/c/plain/x.mp4"]
        );
    }

    #[test]
    fn rows_are_read_by_column_name() {
        let cols: Vec<String> = ["OperationName", "TimeGenerated", "StatusCode"]
            .map(String::from)
            .to_vec();
        let r = access(
            &cols,
            &[
                Value::String("DeleteBlob".into()),
                Value::String("2025-03-14T09:00:00.1234567Z".into()),
                Value::String("202".into()),
            ],
        );
        assert_eq!(r.operation, "DeleteBlob");
        assert!(r.at.starts_with("2025-03-14T09:00:00"), "{}", r.at);
        assert!(r.succeeded());
        assert!(r.upn.is_empty());
    }
}
