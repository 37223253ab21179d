//! Just-in-time access requests as the Activity log carries them, or their policy shows them.
//! The REST specification gives the `initiate` action's request body, `{"virtualMachines":
//! [{"id", "ports": [{"number", "allowedSourceAddressPrefix" | "allowedSourceAddressPrefixes",
//! "endTimeUtc"}]}], "justification"}`; whether `AzureActivity` carries it is not documented. So
//! the plausible places are read: `requestbody` (any case) of `Properties_d`, else of
//! `Properties`, as JSON text or an object. A row without a readable body is completed from its
//! policy ([`complete`]: `GET {policy}`, whose `properties.requests[].virtualMachines[].ports[]`
//! name the sources, as the specification's GET example shows them): the requests that started
//! within [`MATCH`] of the row.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::events::{Event, JIT_INITIATE, Outcome, Request};
use crate::arm::cidr::AddrSet;
use crate::arm::ids::vm_of;
use crate::arm::{JitPolicy, ResourceManager};
use crate::azure::AzureError;
use crate::dates::timestamp;

/// A policy's request is the row's when it started this close to the row's time.
pub const MATCH: time::Duration = time::Duration::minutes(10);
/// Most policies one pass reads.
pub const MAX_POLICIES: usize = 50;

/// The request body of `e`, if its row carries one (`requestbody` in any case, as text or an
/// object, naming `virtualMachines`).
fn body(e: &Event) -> Option<Value> {
    let body = e.body();
    body.get("virtualMachines")?.is_array().then_some(body)
}

/// The VMs and sources `e` asks for: from its row's body, else from its policy
/// ([`complete`]); `None` when neither was read.
pub fn requests(e: &Event) -> Option<Vec<Request>> {
    match body(e) {
        Some(body) => of_body(&body),
        None => e.jit.clone(),
    }
}

/// The VMs and sources of a request body.
fn of_body(body: &Value) -> Option<Vec<Request>> {
    let vms = body.get("virtualMachines")?.as_array()?;
    let mut out = Vec::new();
    for v in vms {
        let Some(vm) = v.get("id").and_then(Value::as_str).and_then(vm_of) else {
            continue;
        };
        let ports = v
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let named = ports.map(|port| {
            let number = port.get("number").and_then(Value::as_u64);
            let one = port
                .get("allowedSourceAddressPrefix")
                .and_then(Value::as_str);
            let many = port
                .get("allowedSourceAddressPrefixes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            let sources = one.into_iter().chain(many).map(str::to_owned).collect();
            (number.and_then(|n| u16::try_from(n).ok()), sources)
        });
        out.push(request(vm, named));
    }
    Some(out)
}

/// The requests of `policy` that started within [`MATCH`] of `at`: each VM's sources.
pub fn of_policy(policy: &JitPolicy, at: time::OffsetDateTime) -> Vec<Request> {
    let mut out = Vec::new();
    for r in &policy.properties.requests {
        let started = r.start_time_utc.as_deref().and_then(timestamp);
        if started.is_none_or(|s| (s - at).abs() > MATCH) {
            continue;
        }
        for v in &r.virtual_machines {
            let Some(vm) = vm_of(&v.id) else { continue };
            let named = v.ports.iter().map(|p| {
                let one = p.allowed_source_address_prefix.iter();
                let sources = one
                    .chain(&p.allowed_source_address_prefixes)
                    .cloned()
                    .collect();
                (p.number.and_then(|n| u16::try_from(n).ok()), sources)
            });
            out.push(request(vm, named));
        }
    }
    out
}

/// VM `vm`'s request: each port's number and sources (`*` for a port that names none: the
/// policy's configured sources apply, which the row does not show; `*` too when no port is named).
fn request(vm: String, ports: impl Iterator<Item = (Option<u16>, Vec<String>)>) -> Request {
    let mut out = Vec::new();
    let mut numbers = Vec::new();
    for (number, named) in ports {
        numbers.extend(number);
        if named.is_empty() {
            out.push("*".to_owned());
        }
        out.extend(named);
    }
    if out.is_empty() {
        out.push("*".to_owned());
    }
    Request {
        vm,
        sources: out,
        ports: numbers,
    }
}

/// A policy [`complete`] could not read.
#[derive(Debug)]
pub struct Unread {
    /// The policy's resource id (lower-case, as the Activity log row names it).
    pub policy: String,
    /// Why (a 403 names the role to grant).
    pub error: AzureError,
}

/// Completes the just-in-time events whose rows carry no readable body from their policies
/// (`GET {policy}`, each policy once, at most [`MAX_POLICIES`]; a failed attempt needs none):
/// an event whose policy could not be read stays untied to a VM, and the policy is returned.
pub async fn complete(arm: &Arc<dyn ResourceManager>, events: &mut [Event]) -> Vec<Unread> {
    let wanted = |e: &Event| {
        e.operation == JIT_INITIATE
            && e.outcome != Outcome::Failed
            && body(e).is_none()
            && e.resource.contains("/jitnetworkaccesspolicies/")
    };
    let policies: BTreeSet<String> = events
        .iter()
        .filter(|e| wanted(e))
        .map(|e| e.resource.clone())
        .collect();
    let mut failed = Vec::new();
    let mut read: BTreeMap<String, JitPolicy> = BTreeMap::new();
    for (i, id) in policies.into_iter().enumerate() {
        if i >= MAX_POLICIES {
            let error = AzureError::Transient(format!(
                "more than {MAX_POLICIES} policies to read in one pass"
            ));
            failed.push(Unread { policy: id, error });
            continue;
        }
        match arm.jit_policy(&id).await {
            Ok(p) => {
                read.insert(id, p);
            }
            Err(error) => failed.push(Unread { policy: id, error }),
        }
    }
    for e in events.iter_mut().filter(|e| wanted(e)) {
        if let Some(p) = read.get(&e.resource) {
            e.jit = Some(of_policy(p, e.at));
        }
    }
    failed
}

/// The sources of `r` that do not lie inside `bastion` (a service tag, `*` or an address
/// outside it).
pub fn outside(r: &Request, bastion: &AddrSet) -> BTreeSet<String> {
    r.sources
        .iter()
        .filter(|s| AddrSet::prefix(s).is_none_or(|a| !a.within(bastion)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(properties: Value) -> Event {
        Event {
            operation: JIT_INITIATE.to_owned(),
            resource: "/subscriptions/s/resourcegroups/rg/providers/microsoft.security/locations/westeurope/jitnetworkaccesspolicies/default".into(),
            correlation: "c".into(),
            outcome: Outcome::Succeeded,
            at: time::OffsetDateTime::UNIX_EPOCH,
            caller: "erin@contoso.com".into(),
            caller_ip: String::new(),
            properties,
            jit: None,
        }
    }

    const VM: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

    #[test]
    fn a_request_body_as_text_or_object_names_its_vms_ports_and_sources() {
        let body = json!({"virtualMachines": [{"id": VM, "ports": [
            {"number": 3389, "endTimeUtc": "2026-11-25T12:00:00Z", "allowedSourceAddressPrefix": "192.127.0.2"},
            {"number": 22, "allowedSourceAddressPrefixes": ["10.0.1.0/27", "203.0.113.0/24"]},
            {"number": 5985}]}], "justification": "x"});
        let bastion = AddrSet::prefix("10.0.1.0/26").unwrap_or_default();
        for props in [
            json!({"requestbody": body.to_string()}),
            json!({"requestbody": body}),
        ] {
            let r = requests(&event(props)).unwrap_or_default();
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].vm, VM.to_ascii_lowercase());
            assert_eq!(
                r[0].sources,
                ["192.127.0.2", "10.0.1.0/27", "203.0.113.0/24", "*"]
            );
            assert_eq!(r[0].ports, [3389, 22, 5985]);
            let out: Vec<String> = outside(&r[0], &bastion).into_iter().collect();
            assert_eq!(out, ["*", "192.127.0.2", "203.0.113.0/24"]);
        }
        assert_eq!(requests(&event(json!({"statusCode": "Accepted"}))), None);
        assert_eq!(requests(&event(json!({"requestbody": "not json"}))), None);
        let inside = json!({"virtualMachines": [{"id": VM, "ports": [
            {"number": 22, "allowedSourceAddressPrefix": "10.0.1.4"}]}]});
        let r = requests(&event(json!({"requestbody": inside.to_string()}))).unwrap_or_default();
        assert!(outside(&r[0], &bastion).is_empty());
    }
}
