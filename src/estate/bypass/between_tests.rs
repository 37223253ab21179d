use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::arm::cidr::AddrSet;

const SUB: &str = "/subscriptions/s/resourcegroups/rg";
const VM: &str =
    "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1";

fn nsg_id() -> String {
    format!("{SUB}/providers/microsoft.network/networksecuritygroups/nsg-app")
}

fn nic_id() -> String {
    format!("{SUB}/providers/microsoft.network/networkinterfaces/nic-vm1")
}

fn rule(name: &str, access: &str, priority: i64, source: &str, port: &str) -> Value {
    json!({"name": name, "properties": {"protocol": "Tcp", "sourcePortRange": "*",
        "destinationPortRange": port, "sourceAddressPrefix": source,
        "destinationAddressPrefix": "*", "access": access, "priority": priority,
        "direction": "Inbound"}})
}

/// VM1's NIC (10.0.2.4, `pip`: its public IP now) in subnet `app`, behind `nsg-app` holding the
/// Bastion allows and a deny of the rest ahead of `AllowVnetInBound`, and `more` rules.
fn network(more: &[Value], pip: bool) -> Network {
    let subnet = format!("{SUB}/providers/microsoft.network/virtualnetworks/vnet/subnets/app");
    let mut rules = vec![
        rule("bastion-ssh", "Allow", 100, "10.0.1.0/26", "22"),
        rule("bastion-rdp", "Allow", 110, "10.0.1.0/26", "3389"),
        rule("deny-ssh", "Deny", 4000, "*", "22"),
        rule("deny-rdp", "Deny", 4001, "*", "3389"),
    ];
    rules.extend_from_slice(more);
    let nsg = json!({"id": nsg_id(), "properties": {"securityRules": rules}});
    let mut config = json!({"name": "ipconfig1", "properties": {"privateIPAddress": "10.0.2.4",
        "subnet": {"id": subnet}}});
    if pip {
        config["properties"]["publicIPAddress"] =
            json!({"id": format!("{SUB}/providers/microsoft.network/publicipaddresses/pip1")});
    }
    let nic = json!({"id": nic_id(), "properties": {"ipConfigurations": [config],
        "virtualMachine": {"id": VM}}});
    let subnet_value = json!({"id": subnet, "name": "app", "properties": {
        "addressPrefix": "10.0.2.0/24", "networkSecurityGroup": {"id": nsg_id()}}});
    Network {
        nics: vec![serde_json::from_value(nic).expect("nic")],
        nsgs: [(nsg_id(), serde_json::from_value(nsg).expect("nsg"))].into(),
        subnets: [(
            subnet,
            serde_json::from_value(subnet_value).expect("subnet"),
        )]
        .into(),
        bastion: AddrSet::prefix("10.0.1.0/26"),
        ..Network::default()
    }
}

fn event(op: &str, resource: &str, at: OffsetDateTime, caller: &str, body: Option<Value>) -> Event {
    let properties = body.map_or(Value::Null, |b| json!({"requestbody": b.to_string()}));
    Event {
        operation: op.to_owned(),
        resource: resource.to_owned(),
        correlation: format!("c-{caller}"),
        outcome: Outcome::Succeeded,
        at,
        caller: caller.to_owned(),
        caller_ip: "198.51.100.9".to_owned(),
        properties,
        jit: None,
    }
}

fn vms() -> BTreeSet<String> {
    [VM.to_owned()].into()
}

const OPENED: OffsetDateTime = datetime!(2026-11-25 10:00 UTC);
const CLOSED: OffsetDateTime = datetime!(2026-11-25 10:20 UTC);

/// A rule `written` (its body; `None`: the row carries none) at 10:00 by mallory, deleted at
/// 10:20 by bob; the NSG as read now holds `now` besides the fence.
fn written_and_deleted(written: Option<Value>, now: &[Value], internal: Level) -> Vec<Past> {
    let id = format!("{}/securityrules/opened", nsg_id());
    let events = [
        event(RULE_WRITE, &id, OPENED, "mallory@contoso.com", written),
        event(RULE_DELETE, &id, CLOSED, "bob@contoso.com", None),
    ];
    episodes(&vms(), &network(now, false), &events, internal)
}

fn body_of(r: &Value) -> Value {
    json!({"properties": r["properties"]})
}

#[test]
fn a_rule_written_then_deleted_is_one_closed_episode_naming_both_actors() {
    let rdp = rule("opened", "Allow", 200, "*", "3389");
    let got = written_and_deleted(Some(body_of(&rdp)), &[], Level::Info);
    assert_eq!(got.len(), 1, "{got:?}");
    let p = &got[0];
    assert_eq!((p.vm.as_str(), p.span), (VM, (OPENED, CLOSED)));
    assert_eq!(
        (p.finding.code.as_str(), p.finding.level),
        (NETWORK_PATH, Level::Medium)
    );
    let e = &p.finding.evidence;
    for said in [
        "reason outside: opened and closed between two checks",
        "nsg-app/opened written at 2026-11-25T10:00:00Z by mallory@contoso.com",
        "at 2026-11-25T10:20:00Z by bob@contoso.com",
        "TCP 3389 to 10.0.2.4 on NIC nic-vm1 (outside)",
    ] {
        assert!(e.contains(said), "{said}: {e}");
    }
    assert_eq!(
        crate::estate::bypass::episodes::actor_of(e).0,
        "mallory@contoso.com"
    );

    // From the virtual network: internal, at BYPASS_INTERNAL_LEVEL.
    let vnet = rule("opened", "Allow", 200, "VirtualNetwork", "22");
    let got = written_and_deleted(Some(body_of(&vnet)), &[], Level::High);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].finding.level, Level::High);
    assert!(got[0].finding.evidence.starts_with("reason internal"));
}

#[test]
fn a_rule_that_opened_nothing_or_is_still_there_is_no_closed_episode() {
    // Behind the fence's deny, or a deny itself, or another port: nothing opened.
    for r in [
        rule("opened", "Allow", 4050, "*", "3389"),
        rule("opened", "Deny", 200, "*", "3389"),
        rule("opened", "Allow", 200, "*", "443"),
        rule("opened", "Allow", 200, "10.0.1.0/26", "22"),
    ] {
        assert_eq!(
            written_and_deleted(Some(body_of(&r)), &[], Level::Medium),
            [],
            "{r}"
        );
    }
    // Still there as written: the open door's, not a closed one.
    let rdp = rule("opened", "Allow", 200, "*", "3389");
    assert_eq!(
        written_and_deleted(
            Some(body_of(&rdp)),
            std::slice::from_ref(&rdp),
            Level::Medium
        ),
        []
    );
    // Written and never removed: nothing closed it.
    let id = format!("{}/securityrules/opened", nsg_id());
    let events = [event(RULE_WRITE, &id, OPENED, "m@x", Some(body_of(&rdp)))];
    assert_eq!(
        episodes(&vms(), &network(&[], false), &events, Level::Medium),
        []
    );
    // A failed write changed nothing.
    let mut failed = event(RULE_WRITE, &id, OPENED, "m@x", Some(body_of(&rdp)));
    failed.outcome = Outcome::Failed;
    let events = [failed, event(RULE_DELETE, &id, CLOSED, "b@x", None)];
    assert_eq!(
        episodes(&vms(), &network(&[], false), &events, Level::Medium),
        []
    );
}

#[test]
fn a_rule_written_without_a_body_and_gone_is_a_possible_door_at_the_worse_level() {
    let got = written_and_deleted(None, &[], Level::High);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].finding.level, Level::High);
    let e = &got[0].finding.evidence;
    assert!(
        e.starts_with("reason unknown") && e.contains("content is unknown"),
        "{e}"
    );
    assert_eq!(
        written_and_deleted(None, &[], Level::Info)[0].finding.level,
        Level::Medium
    );
    // Still there under that name: the open door's reading decides it.
    let kept = rule("opened", "Allow", 200, "*", "3389");
    assert_eq!(written_and_deleted(None, &[kept], Level::Medium), []);
}

#[test]
fn a_public_ip_put_on_and_taken_off_is_one_closed_episode() {
    let pip = format!("{SUB}/providers/microsoft.network/publicipaddresses/pip-brief");
    let on = json!({"properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "privateIPAddress": "10.0.2.4", "publicIPAddress": {"id": pip}}}]}});
    let off = json!({"properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "privateIPAddress": "10.0.2.4"}}]}});
    let events = [
        event(
            NIC_WRITE,
            &nic_id(),
            OPENED,
            "mallory@contoso.com",
            Some(on.clone()),
        ),
        event(NIC_WRITE, &nic_id(), CLOSED, "bob@contoso.com", Some(off)),
    ];
    let got = episodes(&vms(), &network(&[], false), &events, Level::Medium);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].finding.code, PUBLIC_IP);
    assert_eq!(got[0].span, (OPENED, CLOSED));
    let e = &got[0].finding.evidence;
    assert!(
        e.contains("pip-brief put on NIC nic-vm1 at 2026-11-25T10:00:00Z by mallory@contoso.com")
            && e.contains("taken off at 2026-11-25T10:20:00Z by bob@contoso.com"),
        "{e}"
    );
    // On the NIC now: the open door's. Never taken off: nothing closed.
    assert_eq!(
        episodes(&vms(), &network(&[], true), &events, Level::Medium),
        []
    );
    assert_eq!(
        episodes(&vms(), &network(&[], false), &events[..1], Level::Medium),
        []
    );
    // The address deleted closes it too; a VM not watched has none.
    let deleted = [
        events[0].clone(),
        event(PIP_DELETE, &pip, CLOSED, "bob@contoso.com", None),
    ];
    assert_eq!(
        episodes(&vms(), &network(&[], false), &deleted, Level::Medium).len(),
        1
    );
    assert_eq!(
        episodes(
            &BTreeSet::new(),
            &network(&[], false),
            &deleted,
            Level::Medium
        ),
        []
    );
}

#[test]
fn a_rule_among_an_nsgs_rules_written_whole_then_written_without_it_is_a_closed_episode() {
    let with = |extra: Option<Value>| {
        let mut rules: Vec<Value> = network(&[], false).nsgs[&nsg_id()]
            .properties
            .security_rules
            .iter()
            .map(|r| json!({"name": r.name, "properties": rule(&r.name, &r.properties.access,
                r.properties.priority, r.properties.source_address_prefix.as_deref().unwrap_or_default(),
                r.properties.destination_port_range.as_deref().unwrap_or_default())["properties"]}))
            .collect();
        rules.extend(extra);
        json!({"location": "westeurope", "properties": {"securityRules": rules}})
    };
    let open = rule("SSH-Anywhere", "Allow", 300, "Internet", "22");
    let events = [
        event(
            NSG_WRITE,
            &nsg_id(),
            OPENED,
            "mallory@contoso.com",
            Some(with(Some(open))),
        ),
        event(
            NSG_WRITE,
            &nsg_id(),
            CLOSED,
            "bob@contoso.com",
            Some(with(None)),
        ),
    ];
    let got = episodes(&vms(), &network(&[], false), &events, Level::Medium);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].finding.evidence.contains("nsg-app/ssh-anywhere"),
        "{got:?}"
    );
    assert_eq!(got[0].span, (OPENED, CLOSED));
    // The fence's own rules, written again unchanged, open nothing.
    let same = [
        event(NSG_WRITE, &nsg_id(), OPENED, "m@x", Some(with(None))),
        event(NSG_WRITE, &nsg_id(), CLOSED, "b@x", Some(with(None))),
    ];
    assert_eq!(
        episodes(&vms(), &network(&[], false), &same, Level::Medium),
        []
    );
}
