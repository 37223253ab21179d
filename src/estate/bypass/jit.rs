//! Just-in-time access requests as the Activity log carries them: the `initiate` action's
//! request body (`Properties_d.requestbody`, JSON text or an object) in the REST specification's
//! shape, `{"virtualMachines": [{"id", "ports": [{"number", "allowedSourceAddressPrefix" |
//! "allowedSourceAddressPrefixes", "endTimeUtc"}]}], "justification"}`. A row without the body
//! names neither the VM nor the source: such a request cannot be tied to a VM.

use std::collections::BTreeSet;

use serde_json::Value;

use super::activity::Event;
use super::cidr::AddrSet;
use super::doors::vm_of;

/// One VM's part of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The VM (lower-case).
    pub vm: String,
    /// The sources asked for, per port (`*` when a port names none: the policy's configured
    /// sources apply, which the row does not show).
    pub sources: Vec<String>,
}

/// The request body of `e`, if its row carries one.
fn body(e: &Event) -> Option<Value> {
    match e.properties.get("requestbody")? {
        Value::String(s) => serde_json::from_str(s).ok(),
        v @ Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

/// The VMs and sources `e` asks for; `None` when its row carries no readable body.
pub fn requests(e: &Event) -> Option<Vec<Request>> {
    let body = body(e)?;
    let vms = body.get("virtualMachines")?.as_array()?;
    let mut out = Vec::new();
    for v in vms {
        let Some(vm) = v.get("id").and_then(Value::as_str).and_then(vm_of) else {
            continue;
        };
        let mut sources = Vec::new();
        for port in v
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let one = port
                .get("allowedSourceAddressPrefix")
                .and_then(Value::as_str);
            let many = port
                .get("allowedSourceAddressPrefixes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            let before = sources.len();
            sources.extend(one.into_iter().chain(many).map(str::to_owned));
            if sources.len() == before {
                sources.push("*".to_owned());
            }
        }
        if sources.is_empty() {
            sources.push("*".to_owned());
        }
        out.push(Request { vm, sources });
    }
    Some(out)
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
    use crate::estate::bypass::activity::{JIT_INITIATE, Outcome};

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
        }
    }

    const VM: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

    #[test]
    fn a_request_body_as_text_or_object_names_its_vms_and_sources() {
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
