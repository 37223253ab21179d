//! Doors 4 and 5 through Resource Manager against the loopback fake of the e2e tests (list
//! bodies in the REST specification's example shapes, a fixed round trip per request, a token
//! bucket answering 429 + `Retry-After` when empty): `--vms` watched VMs (through `BYPASS_SCOPES`
//! resource groups) spread over `--groups` resource groups, each VM with one NIC and its own NSG
//! (as the portal creates them) in its group, their subnets in `--networks` network groups behind
//! one NSG each (SSH and RDP from the Bastion subnet, every other source denied ahead of the
//! default `AllowVnetInBound`: a clean estate, no door open); with `--subscription 1`, `BYPASS_SCOPES` is their subscription instead (its reads
//! granted there, as the deployment grants a subscription entry). Prints the requests per watched
//! VM of each pass, its wall time and the answers that were 429. With `--elsewhere 1`, each VM's
//! NIC and NSG lie in another group (`rg-nic-*`, listed by no scope), so each VM is read by a VM
//! GET and a NIC GET (at most 200 VMs a pass, then remembered between passes and re-read in the
//! rotation): `--passes` passes 15 minutes apart, and the average over them. A benchmark, not a
//! timed test.
//!
//! Usage: `cargo bench --profile dev --bench doors -- [--vms 500] [--groups 25] [--networks 5]
//! [--subscription 0|1] [--elsewhere 0|1] [--passes 2] [--latency-ms 100] [--bucket 250]
//! [--refill 25]`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/e2e/estate/fake_arm.rs"]
mod fake_arm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bastion_recordings::arm::client::ArmClient;
use bastion_recordings::arm::{MAX_IN_FLIGHT, ResourceManager};
use bastion_recordings::azure::http::{Auth, Client};
use bastion_recordings::azure::{Policy, Timeouts};
use bastion_recordings::catalogue::days;
use bastion_recordings::catalogue::session::SessionRecord;
use bastion_recordings::estate::bypass;
use bastion_recordings::estate::settings::EstateSettings;
use bastion_recordings::export::Outbox;
use bastion_recordings::ports::Ports;
use bastion_recordings::sources::{Source, Sources};
use bastion_testkit::clock::FixedClock;
use bastion_testkit::storage::memory::InMemoryBlobStore;
use bastion_testkit::tables::intercept::CountingTables;
use bastion_testkit::tables::memory::InMemoryTables;
use serde_json::json;
use time::macros::datetime;

use self::fake_arm::network::{group, nic, nsg, nsg_id, rule, subnet_id, vnet};
use self::fake_arm::{Bucket, Estate, FakeArm, SUB, host_id};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The estate: one host, `vms` VMs over `groups` groups and `networks` network groups (each VM's
/// NIC and NSG in its own group, or in `rg-nic-*` when `elsewhere`).
fn estate(
    vms: usize,
    groups: usize,
    networks: usize,
    elsewhere: bool,
    latency: Duration,
) -> Estate {
    let mut e = Estate {
        latency,
        ..Estate::default()
    };
    e.add_healthy("b1", "strec", "recordings", "stlogs");
    let bastion = subnet_id("rg-net-0", "vnet-0", "AzureBastionSubnet");
    e.host("b1")["properties"]["ipConfigurations"] =
        json!([{"name": "IpConf", "properties": {"subnet": {"id": bastion}}}]);
    for n in 0..networks {
        let rg = format!("rg-net-{n}");
        let app_nsg = nsg_id(&rg, "nsg-app");
        let mut subnets = vec![("app", "10.0.2.0/24", Some(app_nsg.as_str()))];
        if n == 0 {
            subnets.push(("AzureBastionSubnet", "10.0.1.0/26", None));
        }
        e.network
            .push(vnet(&rg, &format!("vnet-{n}"), "10.0.0.0/16", &subnets));
        e.network.push(nsg(
            &rg,
            "nsg-app",
            vec![
                rule("ssh-from-bastion", "Allow", 100, "10.0.1.0/26", "22"),
                rule("rdp-from-bastion", "Allow", 110, "10.0.1.0/26", "3389"),
                rule("deny-ssh", "Deny", 4000, "*", "22"),
                rule("deny-rdp", "Deny", 4010, "*", "3389"),
            ],
        ));
    }
    for i in 0..vms {
        let vm_rg = format!("rg-app-{}", i % groups);
        let name = format!("vm-{i:04}");
        let vm = format!(
            "{}/providers/Microsoft.Compute/virtualMachines/{name}",
            group(&vm_rg)
        );
        let rg = if elsewhere {
            format!("rg-nic-{}", i % groups)
        } else {
            vm_rg
        };
        let own = nsg_id(&rg, &format!("{name}-nsg"));
        let subnet = subnet_id(
            &format!("rg-net-{}", i % networks),
            &format!("vnet-{}", i % networks),
            "app",
        );
        let address = format!("10.0.2.{}", 4 + i % 250);
        e.network.push(nic(
            &rg,
            &format!("{name}-nic"),
            &vm,
            &subnet,
            &address,
            Some(own.as_str()),
            None,
        ));
        e.network.push(nsg(&rg, &format!("{name}-nsg"), vec![]));
    }
    e
}

#[tokio::main]
async fn main() {
    let vms = usize::try_from(arg("--vms", 500)).expect("vms");
    let groups = usize::try_from(arg("--groups", 25)).expect("groups").max(1);
    let networks = usize::try_from(arg("--networks", 5))
        .expect("networks")
        .max(1);
    let latency = Duration::from_millis(arg("--latency-ms", 100));
    let bucket = u32::try_from(arg("--bucket", 250)).expect("bucket");
    let refill = u32::try_from(arg("--refill", 25)).expect("refill");
    let whole = arg("--subscription", 0) == 1;
    let elsewhere = arg("--elsewhere", 0) == 1;
    let passes = usize::try_from(arg("--passes", 2)).expect("passes").max(1);
    let fake = FakeArm::start(estate(vms, groups, networks, elsewhere, latency)).await;
    fake.with(|e| e.bucket = Some(Bucket::new(bucket, refill)));
    let endpoint = fake.url.parse().expect("url");
    let http = Client::new(
        "arm",
        Some(&endpoint),
        Auth::None,
        Timeouts::CONTROL,
        Policy::CONTROL,
    )
    .expect("http client");
    let arm: Arc<dyn ResourceManager> =
        Arc::new(ArmClient::new(http.paced(MAX_IN_FLIGHT, None), &fake.url).expect("client"));
    let settings = EstateSettings {
        hosts: vec![host_id("b1")],
        arm_endpoint: fake.url.clone(),
        disconnect: false,
        recording_accounts: vec![],
        audit_silence: time::Duration::hours(24),
        bypass_lookback: time::Duration::days(90),
        // With the NICs elsewhere, the VMs are watched as session targets (a scope's VM is known
        // only through the NICs its lists name).
        bypass_scopes: if elsewhere {
            vec![]
        } else if whole {
            vec![format!("/subscriptions/{SUB}")]
        } else {
            (0..groups)
                .map(|g| group(&format!("rg-app-{g}")).to_ascii_lowercase())
                .collect()
        },
        bypass_internal_level: bastion_recordings::estate::findings::Level::Medium,
        extension_allow: vec![],
    };
    let counting = Arc::new(CountingTables::new(InMemoryTables::new()));
    let ports = Ports {
        tables: counting.clone(),
        sources: Arc::new(Sources::single(
            Source::new(Arc::new(InMemoryBlobStore::new("strec")), "recordings"),
            Source::new(
                Arc::new(InMemoryBlobStore::new("stlogs")),
                "insights-logs-bastionauditlogs",
            ),
        )),
        clock: Arc::new(FixedClock::new(datetime!(2026-11-25 12:00 UTC))),
        outbox: Outbox::off(),
    };
    println!(
        "{vms} watched VMs in {groups} resource groups (NICs elsewhere: {elsewhere}), networks in {networks} groups, subscription {SUB} (a scope: {whole}); {} ms per request; bucket {bucket} +{refill}/s",
        latency.as_millis()
    );
    let start = datetime!(2026-11-25 12:00 UTC);
    if elsewhere {
        // A session of the host to each VM an hour ago, as the catalogue stores it.
        for i in 0..vms {
            let at = start - time::Duration::hours(1);
            let mut s = SessionRecord::new(&format!("tunnel-{i}"));
            s.session_start = Some(at);
            s.outcome = "connected".into();
            s.bastion_host = "b1".into();
            s.target_resource_id = format!(
                "{}/providers/Microsoft.Compute/virtualMachines/vm-{i:04}",
                group(&format!("rg-app-{}", i % groups))
            );
            days::insert_new(counting.as_ref(), &Outbox::off(), &s, at, None)
                .await
                .expect("session");
        }
    }
    let mut total = 0;
    let mut total_throttled = 0;
    // Passes until every VM read one by one has been read once (200 a pass).
    let to_decide = if elsewhere {
        vms.div_ceil(bypass::direct::MAX_VMS)
    } else {
        1
    };
    for pass in 0..passes {
        let now = start + time::Duration::minutes(15 * i64::try_from(pass).expect("pass"));
        let before = fake.with(|e| (e.requests.len(), e.throttled));
        counting.reset();
        let t = Instant::now();
        let r = bypass::run(&ports, None, Some(&arm), &settings, &[], now).await;
        let took = t.elapsed();
        let (requests, throttled) =
            fake.with(|e| (e.requests.len() - before.0, e.throttled - before.1));
        total += requests;
        total_throttled += throttled;
        println!(
            "doors 4-5 pass {}: {requests} requests ({:.3} per watched VM), {throttled} answered 429, {:.2} s, {} VMs decided ({} from remembered NICs), {} open, {} not read",
            pass + 1,
            requests as f64 / vms as f64,
            took.as_secs_f64(),
            r.vms,
            r.nics_remembered,
            r.open,
            r.failed.len()
        );
        let calls: Vec<String> = counting
            .by_table()
            .into_iter()
            .map(|(op, table, n)| format!("{table} {op} {n}"))
            .collect();
        println!("  table calls this pass: {}", calls.join(", "));
        if pass + 1 >= to_decide {
            assert_eq!(r.vms, vms, "every VM decided: {:?}", r.failed.first());
        }
        assert_eq!(r.open, 0, "a clean estate has no door open");
        // A group per VM (and per network) costs 4 lists a VM (its NICs', its NSG's, its virtual
        // network's and its subnet's NSG's groups) when only the groups are granted; with the
        // subscription a scope (granted), a kind over more than 3 of its groups is listed once
        // for it, so no layout costs more than 3 a VM. Besides the host's one read.
        let most = if whole { 3 } else { 4 };
        assert!(
            requests <= most * vms + settings.hosts.len(),
            "more than {most} requests per watched VM"
        );
    }
    let average = total as f64 / (passes * vms) as f64;
    println!(
        "over {passes} passes: {total} requests, {average:.3} per watched VM per pass, {total_throttled} answered 429"
    );
    if elsewhere {
        assert!(
            average <= 3.0,
            "more than 3 requests per watched VM per pass on average"
        );
    }
}
