//! The fake's `Microsoft.Network` lists (network interfaces, network security groups, virtual
//! networks with their subnets) under a resource group or a subscription, answered in the shapes
//! of the REST specification's list examples (`{"value": [...]}`, one page), and the builders of
//! those resources.

use serde_json::{Value, json};

use super::SUB;

/// The group the fake's network resources live in.
pub(crate) fn group(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

/// The kinds listed, lower-case path segment and type.
const KINDS: [(&str, &str); 3] = [
    ("networkinterfaces", "Microsoft.Network/networkInterfaces"),
    (
        "networksecuritygroups",
        "Microsoft.Network/networkSecurityGroups",
    ),
    ("virtualnetworks", "Microsoft.Network/virtualNetworks"),
];

/// The list a GET of `lower` asks for, when it is one: the resources of its kind under its scope.
pub(crate) fn list(network: &[Value], lower: &str) -> Option<Vec<Value>> {
    let (scope, kind) = lower.rsplit_once("/providers/microsoft.network/")?;
    let (_, ty) = KINDS.iter().find(|(k, _)| *k == kind)?;
    let parts = scope.trim_matches('/').split('/').count();
    if parts != 2 && parts != 4 {
        return None;
    }
    Some(
        network
            .iter()
            .filter(|r| r["type"] == *ty)
            .filter(|r| {
                r["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .starts_with(&format!("{scope}/"))
            })
            .cloned()
            .collect(),
    )
}

/// A NIC of `vm` in group `rg`: one IP configuration in `subnet` at `address`, with its NSG and
/// public IP when given.
pub(crate) fn nic(
    rg: &str,
    name: &str,
    vm: &str,
    subnet: &str,
    address: &str,
    nsg: Option<&str>,
    public_ip: Option<&str>,
) -> Value {
    let id = format!(
        "{}/providers/Microsoft.Network/networkInterfaces/{name}",
        group(rg)
    );
    let mut ipc = json!({"name": "ipconfig1", "id": format!("{id}/ipConfigurations/ipconfig1"),
        "properties": {"provisioningState": "Succeeded", "privateIPAddress": address,
            "privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet}, "primary": true,
            "privateIPAddressVersion": "IPv4"}});
    if let Some(p) = public_ip {
        ipc["properties"]["publicIPAddress"] = json!({"id": format!("{}/providers/Microsoft.Network/publicIPAddresses/{p}", group(rg))});
    }
    let mut nic = json!({"name": name, "id": id, "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "ipConfigurations": [ipc],
            "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
            "macAddress": "00-0D-3A-1B-C7-21", "enableAcceleratedNetworking": true,
            "enableIPForwarding": false, "primary": true, "virtualMachine": {"id": vm}},
        "type": "Microsoft.Network/networkInterfaces"});
    if let Some(n) = nsg {
        nic["properties"]["networkSecurityGroup"] = json!({"id": n});
    }
    nic
}

/// An NSG id in group `rg`.
pub(crate) fn nsg_id(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Network/networkSecurityGroups/{name}",
        group(rg)
    )
}

/// An NSG with its `rules` (the default rules as every NSG has them).
pub(crate) fn nsg(rg: &str, name: &str, rules: Vec<Value>) -> Value {
    let id = nsg_id(rg, name);
    let default = |n: &str, src: &str, dst: &str, access: &str, priority: u32| {
        json!({"name": n, "id": format!("{id}/defaultSecurityRules/{n}"),
            "properties": {"provisioningState": "Succeeded", "protocol": "*", "sourcePortRange": "*",
                "destinationPortRange": "*", "sourceAddressPrefix": src, "destinationAddressPrefix": dst,
                "access": access, "priority": priority, "direction": "Inbound"}})
    };
    let rules: Vec<Value> = rules
        .into_iter()
        .map(|mut r| {
            let n = r["name"].as_str().unwrap_or_default().to_owned();
            r["id"] = json!(format!("{id}/securityRules/{n}"));
            r
        })
        .collect();
    json!({"name": name, "id": id, "type": "Microsoft.Network/networkSecurityGroups", "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "securityRules": rules, "defaultSecurityRules": [
            default("AllowVnetInBound", "VirtualNetwork", "VirtualNetwork", "Allow", 65000),
            default("AllowAzureLoadBalancerInBound", "AzureLoadBalancer", "*", "Allow", 65001),
            default("DenyAllInBound", "*", "*", "Deny", 65500)]}})
}

/// An inbound TCP rule.
pub(crate) fn rule(name: &str, access: &str, priority: u32, source: &str, port: &str) -> Value {
    json!({"name": name, "properties": {"provisioningState": "Succeeded", "protocol": "Tcp",
        "sourcePortRange": "*", "destinationPortRange": port, "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "access": access, "priority": priority, "direction": "Inbound"}})
}

/// A virtual network in group `rg` with `subnets`: `(name, prefix, NSG id)`.
pub(crate) fn vnet(
    rg: &str,
    name: &str,
    space: &str,
    subnets: &[(&str, &str, Option<&str>)],
) -> Value {
    let id = format!(
        "{}/providers/Microsoft.Network/virtualNetworks/{name}",
        group(rg)
    );
    let subnets: Vec<Value> = subnets
        .iter()
        .map(|(n, prefix, nsg)| {
            let mut s = json!({"name": n, "id": format!("{id}/subnets/{n}"),
                "properties": {"addressPrefix": prefix, "provisioningState": "Succeeded"}});
            if let Some(g) = nsg {
                s["properties"]["networkSecurityGroup"] = json!({"id": g});
            }
            s
        })
        .collect();
    json!({"name": name, "id": id, "type": "Microsoft.Network/virtualNetworks", "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": [space]},
            "subnets": subnets, "virtualNetworkPeerings": [], "enableDdosProtection": false}})
}

/// A subnet's id.
pub(crate) fn subnet_id(rg: &str, vnet: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}",
        group(rg)
    )
}

/// A GET of one NIC or one VM, when `lower` is one: `Some(None)` when there is no such resource.
/// A NIC is the list item of that id (the specification's GET example has the list item's
/// shape); a VM is known by the NICs naming it, answered in the shape of the Compute
/// specification's `VirtualMachine_Get` example, of which the check reads `networkProfile`.
pub(crate) fn get(network: &[Value], lower: &str) -> Option<Option<Value>> {
    let parts: Vec<&str> = lower.trim_matches('/').split('/').collect();
    let id_is = |v: &Value, id: &str| v["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id));
    // A just-in-time policy: .../providers/microsoft.security/locations/{r}/jitnetworkaccesspolicies/{n}.
    if parts.len() == 10
        && parts[5] == "microsoft.security"
        && parts[8] == "jitnetworkaccesspolicies"
    {
        return Some(
            network
                .iter()
                .find(|v| v["type"] == JIT_TYPE && id_is(v, lower))
                .cloned(),
        );
    }
    if parts.len() != 8 || parts[0] != "subscriptions" || parts[2] != "resourcegroups" {
        return None;
    }
    match (parts[5], parts[6]) {
        ("microsoft.network", "networkinterfaces") => Some(
            network
                .iter()
                .find(|v| v["type"] == "Microsoft.Network/networkInterfaces" && id_is(v, lower))
                .cloned(),
        ),
        ("microsoft.compute", "virtualmachines") => {
            let nics: Vec<Value> = network
                .iter()
                .filter(|v| v["type"] == "Microsoft.Network/networkInterfaces")
                .filter(|v| id_is(&v["properties"]["virtualMachine"], lower))
                .map(|v| json!({"id": v["id"]}))
                .collect();
            let vm = nics.first().map(|n| {
                let id = n["id"].as_str().unwrap_or_default();
                let owner = network
                    .iter()
                    .find(|v| v["id"].as_str() == Some(id))
                    .map(|v| v["properties"]["virtualMachine"]["id"].clone())
                    .unwrap_or_default();
                json!({"name": parts[7], "id": owner, "type": "Microsoft.Compute/virtualMachines",
                    "location": "westeurope", "properties": {
                        "vmId": "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1",
                        "hardwareProfile": {"vmSize": "Standard_DS3_v2"},
                        "networkProfile": {"networkInterfaces": nics},
                        "provisioningState": "Succeeded",
                        "timeCreated": "2021-06-27T01:02:38.3138469+00:00"}})
            });
            Some(vm)
        }
        _ => None,
    }
}

/// A resource of `value` (built for this fake's subscription) moved to subscription `sub`.
pub(crate) fn in_subscription(value: &Value, sub: &str) -> Value {
    let text = value.to_string().replace(SUB, sub);
    serde_json::from_str(&text).unwrap_or_default()
}

/// The type of a just-in-time policy.
const JIT_TYPE: &str = "Microsoft.Security/locations/jitNetworkAccessPolicies";

/// A just-in-time policy `default` in group `rg` (West Europe) for `vm`, holding one request
/// (`requestor`, RDP from `source`, started at `start`), in the specification's GET example
/// shape.
pub(crate) fn jit_policy(rg: &str, vm: &str, requestor: &str, source: &str, start: &str) -> Value {
    let id = format!(
        "{}/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default",
        group(rg)
    );
    json!({"kind": "Basic", "id": id, "name": "default", "type": JIT_TYPE, "location": "westeurope",
        "properties": {"virtualMachines": [{"id": vm, "ports": [
            {"number": 22, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"},
            {"number": 3389, "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"}]}],
        "requests": [{"virtualMachines": [{"id": vm, "ports": [{"number": 3389,
            "allowedSourceAddressPrefix": source, "endTimeUtc": "2026-11-25T14:00:00.0000000Z",
            "status": "Initiated", "statusReason": "UserRequested"}]}],
            "startTimeUtc": start, "requestor": requestor, "justification": "patching"}],
        "provisioningState": "Succeeded"}})
}
