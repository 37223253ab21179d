//! The Activity log as a workspace holds it (`AzureActivity`, sent there by a subscription's
//! diagnostic setting): the operations that open another door onto a VM, read in the table's
//! documented columns, and the rows of one operation (one `CorrelationId`) folded into one event.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::dates::timestamp;
use crate::loganalytics::row::{cell, dynamic, text};
use crate::names::named;

/// Run Command, the action form: code runs as SYSTEM/root outside any session.
pub const RUN_COMMAND: &str = "microsoft.compute/virtualmachines/runcommand/action";
/// Run Command, the managed resource form.
pub const RUN_COMMANDS_WRITE: &str = "microsoft.compute/virtualmachines/runcommands/write";
/// A VM extension written (VMAccess and CustomScript grant access or run code).
pub const EXTENSION_WRITE: &str = "microsoft.compute/virtualmachines/extensions/write";
/// A serial console connection (the Serial Console provider's connect action).
pub const SERIAL_CONNECT: &str = "microsoft.serialconsole/serialports/connect/action";
/// A just-in-time access request (Defender for Cloud): opens the NSG to the requested source.
pub const JIT_INITIATE: &str =
    "microsoft.security/locations/jitnetworkaccesspolicies/initiate/action";
/// An NSG rule written (the caller of a network path's rule).
pub const RULE_WRITE: &str = "microsoft.network/networksecuritygroups/securityrules/write";
/// An NSG rule deleted (a rule opened and closed between two checks).
pub const RULE_DELETE: &str = "microsoft.network/networksecuritygroups/securityrules/delete";
/// A public IP address deleted (one put on a NIC and taken off between two checks).
pub const PIP_DELETE: &str = "microsoft.network/publicipaddresses/delete";
/// The writes that may change a remembered NIC's facts (its IP configurations, public IP, NSG,
/// or the VM it is attached to): a remembered NIC they touch is read again.
pub const NETWORK_CHANGES: [&str; 5] = [
    "microsoft.network/networkinterfaces/write",
    "microsoft.network/networkinterfaces/delete",
    "microsoft.network/publicipaddresses/write",
    "microsoft.network/networksecuritygroups/write",
    "microsoft.compute/virtualmachines/write",
];
/// A move of resources to another resource group or subscription (the source group's action; the
/// request body, when the row carries one, names the `resources` and the `targetResourceGroup`).
pub const MOVE_RESOURCES: &str =
    "microsoft.resources/subscriptions/resourcegroups/moveresources/action";
/// The doors' operations, the rule write and delete, a public IP's delete and the move (the door
/// query reads them, and [`NETWORK_CHANGES`]).
pub const DOOR_OPERATIONS: [&str; 9] = [
    RUN_COMMAND,
    RUN_COMMANDS_WRITE,
    EXTENSION_WRITE,
    SERIAL_CONNECT,
    JIT_INITIATE,
    RULE_WRITE,
    RULE_DELETE,
    PIP_DELETE,
    MOVE_RESOURCES,
];
/// Rows one page of the door query asks for (one more is asked, to tell there are more): well
/// under the Logs Query API's 500,000 rows and 64 MB an answer at a few KB a row.
pub const PAGE_ROWS: usize = 5000;
/// Most subscriptions the silence query returns.
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// True for a subscription id that may go into the KQL as it is (a GUID's characters, letters,
/// digits and `-`: nothing that can end a string literal).
pub fn is_subscription_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The KQL filter to `subscriptions` (each checked by [`is_subscription_id`]; others left out).
fn of_subscriptions(subscriptions: &[String]) -> String {
    let ids: Vec<String> = subscriptions
        .iter()
        .filter(|s| is_subscription_id(s))
        .map(|s| format!("\"{s}\""))
        .collect();
    format!("| where SubscriptionId in~ ({})", ids.join(", "))
}

/// The door query: the operations' rows of `subscriptions` over the request's timespan, oldest
/// first, `rows` and one more. No outside value is put into the KQL but subscription ids, which
/// are checked ([`is_subscription_id`]).
pub fn door_query(subscriptions: &[String], rows: usize) -> String {
    let ops: Vec<String> = DOOR_OPERATIONS
        .iter()
        .chain(&NETWORK_CHANGES)
        .map(|o| format!("\"{o}\""))
        .collect();
    format!(
        "AzureActivity\n{}\n| where OperationNameValue in~ ({})\n| project TimeGenerated, OperationNameValue, ActivityStatusValue, ActivitySubstatusValue, Caller, CallerIpAddress, _ResourceId, ResourceId, SubscriptionId, CorrelationId, Properties_d, Properties\n| order by TimeGenerated asc\n| take {}",
        of_subscriptions(subscriptions),
        ops.join(", "),
        rows + 1
    )
}

/// The silence query: each of `subscriptions`' latest Activity log row over the request's
/// timespan.
pub fn subscriptions_query(subscriptions: &[String]) -> String {
    format!(
        "AzureActivity\n{}\n| summarize Latest = max(TimeGenerated) by SubscriptionId\n| project SubscriptionId, Latest\n| take {MAX_SUBSCRIPTIONS}",
        of_subscriptions(subscriptions)
    )
}

/// One `AzureActivity` row, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// `TimeGenerated`.
    pub at: OffsetDateTime,
    /// `OperationNameValue`, lower-case.
    pub operation: String,
    /// `ActivityStatusValue` (`Start`, `Accept`, `Success`, `Failure`).
    pub status: String,
    /// `Caller`: a UPN for a user, an object id for an application.
    pub caller: String,
    /// `CallerIpAddress`.
    pub caller_ip: String,
    /// `_ResourceId`, else `ResourceId`, lower-case.
    pub resource: String,
    /// `SubscriptionId`, lower-case.
    pub subscription: String,
    /// `CorrelationId`: one operation's rows share it.
    pub correlation: String,
    /// `Properties_d` (dynamic; the API may send it as JSON text).
    pub properties: Value,
}

impl ActivityRow {
    /// Reads one answer row; `None` without a readable `TimeGenerated`.
    pub fn read(columns: &[String], row: &[Value]) -> Option<Self> {
        let at = timestamp(&text(columns, row, "TimeGenerated"))?;
        let mut resource = text(columns, row, "_ResourceId");
        if resource.is_empty() {
            resource = text(columns, row, "ResourceId");
        }
        // `Properties_d` (dynamic), else `Properties` (the same as text).
        let mut properties = dynamic(cell(columns, row, "Properties_d"));
        if properties.is_null() {
            properties = dynamic(cell(columns, row, "Properties"));
        }
        Some(Self {
            at,
            operation: text(columns, row, "OperationNameValue").to_ascii_lowercase(),
            status: text(columns, row, "ActivityStatusValue"),
            caller: text(columns, row, "Caller"),
            caller_ip: text(columns, row, "CallerIpAddress"),
            resource: resource.trim_end_matches('/').to_ascii_lowercase(),
            subscription: text(columns, row, "SubscriptionId").to_ascii_lowercase(),
            correlation: text(columns, row, "CorrelationId").to_ascii_lowercase(),
            properties,
        })
    }
}

named! {
    /// How an operation ended, as far as its rows show.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Outcome {
        /// Only `Start`/`Accept` rows so far: it may be running now.
        Started = "started (no result logged yet)",
        /// A `Failure` row (and no `Success`) whose error says Azure refused the request before
        /// anything ran ([`super::failure::refused`]): an attempt, not a door used.
        Failed = "refused before anything ran",
        /// A `Failure` row (and no `Success`) of an operation that was accepted or started, or
        /// whose error cannot tell: a door used.
        FailedAfterStart = "failed after it started",
        /// A `Success` row.
        Succeeded = "succeeded",
    }
}

/// One operation: the rows of one `CorrelationId`, operation and resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The operation (lower-case).
    pub operation: String,
    /// The resource (lower-case).
    pub resource: String,
    /// The correlation id.
    pub correlation: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its first row's time.
    pub at: OffsetDateTime,
    /// The first caller any row names.
    pub caller: String,
    /// The first caller address any row names.
    pub caller_ip: String,
    /// The first non-null `Properties_d`, with a `requestbody` when a row has one; a failed
    /// operation's `statusCode` and `statusMessage` are its `Failure` row's.
    pub properties: Value,
    /// A just-in-time request's VMs and sources read from its policy through Resource Manager,
    /// when the rows carry no request body ([`super::jit::complete`]).
    pub jit: Option<Vec<Request>>,
}

impl Event {
    /// The request body its row carries (`requestbody` in any case, JSON text or an object;
    /// `Null` when none).
    pub fn body(&self) -> Value {
        let mut p = self.properties.as_object().into_iter().flatten();
        dynamic(p.find_map(|(k, v)| k.eq_ignore_ascii_case("requestbody").then_some(v)))
    }
}

/// Folds rows into events: a `Start` and its `Success` or `Failure` are one operation (rows
/// without a `CorrelationId` stand alone). Events in the order of their first row.
pub fn fold(rows: &[ActivityRow]) -> Vec<Event> {
    let mut groups: Vec<Vec<&ActivityRow>> = Vec::new();
    let mut of: HashMap<(String, &str, &str), usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let id = if r.correlation.is_empty() {
            format!("~{i}")
        } else {
            r.correlation.clone()
        };
        let n = *of
            .entry((id, &r.operation, &r.resource))
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[n].push(r);
    }
    let is =
        |r: &ActivityRow, words: [&str; 2]| words.iter().any(|w| r.status.eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    for group in groups {
        let Some(first) = group.iter().min_by_key(|r| r.at) else {
            continue;
        };
        let failure = group.iter().find(|r| is(r, ["Failure", "Failed"]));
        let outcome = match failure {
            _ if group.iter().any(|r| is(r, ["Success", "Succeeded"])) => Outcome::Succeeded,
            Some(f) if super::failure::refused(&f.properties) => Outcome::Failed,
            Some(_) => Outcome::FailedAfterStart,
            None => Outcome::Started,
        };
        let named = |f: fn(&ActivityRow) -> &str| {
            group
                .iter()
                .map(|r| f(r))
                .find(|v| !v.is_empty())
                .unwrap_or_default()
                .to_owned()
        };
        let mut properties = group
            .iter()
            .map(|r| &r.properties)
            .find(|p| p.get("requestbody").is_some())
            .or_else(|| group.iter().map(|r| &r.properties).find(|p| !p.is_null()))
            .cloned()
            .unwrap_or(Value::Null);
        // The failure's own status (its error), beside the request body of the `Start`.
        if let (Some(f), Some(p)) = (failure, properties.as_object_mut()) {
            for key in ["statusCode", "statusMessage"] {
                match f.properties.get(key) {
                    Some(v) => p.insert(key.to_owned(), v.clone()),
                    None => p.remove(key),
                };
            }
        }
        out.push(Event {
            operation: first.operation.clone(),
            resource: first.resource.clone(),
            correlation: first.correlation.clone(),
            outcome,
            at: first.at,
            caller: named(|r| &r.caller),
            caller_ip: named(|r| &r.caller_ip),
            properties,
            jit: None,
        });
    }
    out
}

/// One VM's part of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The VM (lower-case).
    pub vm: String,
    /// The sources asked for, per port (`*` when a port names none: the policy's configured
    /// sources apply, which the row does not show).
    pub sources: Vec<String>,
    /// The port numbers asked for (a port naming none left out).
    pub ports: Vec<u16>,
}
