//! `EstateCheck`'s unit spanning hosts takes each host's Bastion subnets from what the host's own
//! unit read of it this period (its marker row) instead of reading every host again: on Azurite
//! through the real `handler`, with watched VMs, counting the fake Resource Manager's host GETs.
//! While a host unit of its period has not ended, the unit spanning hosts is deferred (the queue
//! delivers it again); its last delivery reads the hosts still pending.

use super::doors::quiet_workspace;
use super::fake_arm::{SUB, host_id};
use super::network_doors::clean;
use super::{ACCOUNT, Rig, notifications};
use crate::harness::{azurite, queue_outputs};

/// The GETs of host `h` itself among `asked`.
fn host_gets(asked: &[String], h: &str) -> usize {
    let get = format!("GET {}", host_id(h));
    asked
        .iter()
        .filter(|a| a.eq_ignore_ascii_case(&get))
        .count()
}

#[tokio::test]
async fn the_doors_unit_reads_only_the_hosts_their_own_units_did_not_read_this_period() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = quiet_workspace().await;
    let scope = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    let hosts = ["b1", "b2"].map(host_id).join(",");
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.extend([("BYPASS_SCOPES", scope.as_str()), ("BASTION_HOSTS", &hosts)]);
    let mut rig = Rig::new(&cs, &extra).await;
    let container = rig.env.recordings().to_owned();
    rig.arm.with(|e| {
        clean(e);
        e.add_healthy("b2", ACCOUNT, &container, ACCOUNT);
        // b2 sits in the same AzureBastionSubnet as b1.
        let ip = e.host("b1")["properties"]["ipConfigurations"].clone();
        e.host("b2")["properties"]["ipConfigurations"] = ip;
    });
    assert!(rig.check().await.is_empty(), "a clean estate raises none");

    for ran_before in [&["b1"][..], &["b1", "b2"]] {
        let tick = rig.next_timer("EstateCheck");
        let (status, plan) = rig.handler.invoke_plan("EstateCheck", &tick).await;
        assert_eq!(status, 200, "{plan}");
        let units = queue_outputs(&plan, "workunits");
        let of = |unit: &str| units.iter().find(|u| u["unit"] == unit).cloned();
        for h in ran_before {
            let unit = of(&host_id(h)).expect("the host's unit");
            let (status, reply) = rig.handler.deliver(&unit, 1).await;
            assert_eq!(status, 200, "{h}: {reply}");
        }
        rig.arm.with(|e| e.requests.clear());
        let doors = of("doors-and-settling").expect("the unit spanning hosts");
        let pending = ran_before.len() < 2;
        let (status, reply) = rig.handler.deliver(&doors, 1).await;
        if pending {
            // b2's unit has not ended: the doors wait for it (the queue delivers them again).
            assert_ne!(status, 200, "{reply}");
            assert!(reply.to_string().contains("1 host unit(s)"), "{reply}");
            let asked = rig.arm.with(|e| e.requests.clone());
            assert!(asked.is_empty(), "nothing read while waiting: {asked:?}");
        }
        // Its last delivery runs whatever is still pending.
        let (status, reply) = if pending {
            rig.handler.deliver(&doors, 5).await
        } else {
            (status, reply)
        };
        assert_eq!(status, 200, "{reply}");
        let asked = rig.arm.with(|e| e.requests.clone());
        // A host whose unit has not ended this period is read, on the doors' last delivery only.
        let expected = |h: &str| usize::from(!ran_before.contains(&h));
        assert_eq!(
            [host_gets(&asked, "b1"), host_gets(&asked, "b2")],
            [expected("b1"), expected("b2")],
            "after {ran_before:?}: {asked:?}"
        );
        assert!(
            asked
                .iter()
                .any(|a| a.to_ascii_lowercase().contains("/networkinterfaces")),
            "the watched VMs' network was read: {asked:?}"
        );
        // The Bastion subnet known either way: the fenced VMs' doors decided, none failed.
        assert_eq!(notifications(&reply), Vec::<serde_json::Value>::new());
        assert!(reply.to_string().contains("0 finding(s) open"), "{reply}");
        // The rest of the period's units, so the next period plans every unit.
        for h in ["b1", "b2"].iter().filter(|h| !ran_before.contains(*h)) {
            let unit = of(&host_id(h)).expect("the host's unit");
            assert_eq!(rig.handler.deliver(&unit, 1).await.0, 200, "{h}");
        }
    }
}
