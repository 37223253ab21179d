//! Whether a shared VM account's VM signs people in with Entra ID, end to end through the real
//! handler's `EstateCheck`: one Resource Manager call per subscription lists every VM with its
//! extensions (the Compute specification's "Virtual Machines - List All", one VM a page so the
//! list is followed through `nextLink`), within the subscription's budget of two calls in any 5
//! minutes. The first check spends the budget on PIM's lists and says the VMs `unknown: not read
//! yet`; the next (its budget's 5 minutes past, no session waiting for the lists) lists the VMs
//! instead: a VM with `AADSSHLoginForLinux` is `present` (remediated), one with other extensions
//! only `absent`, one listed without its extensions `unknown`, one whose extensions the list
//! gives by id alone `present` when an id names Entra's extension and else `unknown` (never
//! `absent`), and a subscription whose list is refused (403) `unknown` naming Reader. The session's detail (`GET /api/sessions/{id}`) says it.
//!
//! The same list tells whether a session signed in with Entra ID: a Virtual Machine User Login
//! activation (the login data action only) counts for a UPN session on a VM with
//! `AADSSHLoginForLinux`, not on one without, nor for a local account; the VM list read within the
//! budget, for the UPN sessions only.

use bastion_recordings::config::Config;
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;

use serde_json::{Value, json};

use super::Rig;
use super::authorization::{accounts_arrive_in, budget_passes, instance, sessions_arrive, vm};
use super::doors::check_at;
use super::fake_arm::SUB;
use crate::harness::azurite;

/// Virtual Machine User Login's GUID (Learn, "Azure built-in roles").
const VM_USER_LOGIN: &str = "fb879df8-f326-4884-b1cf-06f3ad86be52";

/// A subscription whose VM list Resource Manager refuses.
const REFUSED: &str = "77777777-6666-5555-4444-333333333333";

/// The session's `sharedAccount.entraLogin`, as its detail answers it.
async fn entra_login(rig: &Rig, tunnel: &str) -> String {
    let id = format!("5f0c2d7e-8b1a-4c3e-9d2f-0000000{tunnel}");
    let (status, item) = rig.handler.get_json(&format!("/api/sessions/{id}")).await;
    assert_eq!(status, 200, "{item}");
    let shared = &item["sharedAccount"];
    assert_eq!(shared["account"], "azureuser", "{item}");
    shared["entraLogin"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn one_vm_list_a_subscription_tells_each_shared_vms_entra_login_within_the_budget() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let low = |v: String| v.to_ascii_lowercase();
    rig.arm.with(|e| {
        e.page_size = 1;
        (e.extensions).push(low(format!(
            "{}/extensions/AADSSHLoginForLinux",
            vm(SUB, "vm-x")
        )));
        (e.extensions).push(low(format!(
            "{}/extensions/AzureMonitorLinuxAgent",
            vm(SUB, "vm-y")
        )));
        e.listed_vms.push(low(vm(SUB, "vm-z")));
        e.unexpanded.push(low(vm(SUB, "vm-z")));
        // Listed with their extensions by id alone: told by the name where it is Entra's.
        for (at, ext) in [
            ("vm-v", "AADSSHLoginForLinux"),
            ("vm-u", "AzureMonitorLinuxAgent"),
        ] {
            (e.extensions).push(low(format!("{}/extensions/{ext}", vm(SUB, at))));
            e.ids_only.push(low(vm(SUB, at)));
        }
        let refused =
            format!("/subscriptions/{REFUSED}/providers/Microsoft.Compute/virtualMachines");
        e.forbid.push(refused);
    });
    // Two people as `azureuser` on each VM: four shared accounts.
    let sessions = [
        ("0e1", "alice@contoso.com", vm(SUB, "vm-x")),
        ("0e2", "bob@contoso.com", vm(SUB, "vm-x")),
        ("0e3", "carol@contoso.com", vm(SUB, "vm-y")),
        ("0e4", "dave@contoso.com", vm(SUB, "vm-y")),
        ("0e5", "erin@contoso.com", vm(SUB, "vm-z")),
        ("0e6", "frank@contoso.com", vm(SUB, "vm-z")),
        ("0e7", "gina@contoso.com", vm(REFUSED, "vm-w")),
        ("0e8", "hank@contoso.com", vm(REFUSED, "vm-w")),
        ("0e9", "ivan@contoso.com", vm(SUB, "vm-v")),
        ("0ea", "judy@contoso.com", vm(SUB, "vm-v")),
        ("0eb", "kate@contoso.com", vm(SUB, "vm-u")),
        ("0ec", "liam@contoso.com", vm(SUB, "vm-u")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    let said = check_at(&mut rig, "2026-11-25T09:00:00Z").await;
    let shared = said.iter().filter(|s| s.0 == "shared-account").count();
    assert_eq!(shared, 6, "{said:?}");
    // The first check's two calls a subscription went to PIM's lists: no VM is read yet.
    let vm_lists = |asked: &[String]| {
        (asked.iter())
            .filter(|r| {
                let r = low((*r).clone());
                let list = r.split_once("/providers/microsoft.compute/virtualmachines");
                list.is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with('?'))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        vm_lists(&rig.arm.with(|e| e.requests.clone())),
        Vec::<String>::new()
    );
    for t in ["0e1", "0e3", "0e5", "0e7", "0e9", "0eb"] {
        assert_eq!(entra_login(&rig, t).await, "unknown: not read yet", "{t}");
    }
    // The budget's 5 minutes pass (its rows as they would be then: no call within the window).
    let config = Config::from_lookup(&|k| rig.env.vars.get(k).cloned()).expect("config");
    let app = &config.storage.app;
    let tables = TableRestClient::new(app, &config.table_prefix).expect("tables");
    tables
        .delete_table("authzbudget")
        .await
        .expect("budget aged");
    check_at(&mut rig, "2026-11-25T09:15:00Z").await;
    let told = [
        ("0e1", "present".to_owned()),
        ("0e3", "absent".to_owned()),
        (
            "0e5",
            "unknown: its subscription's VM list gave no extensions for it".to_owned(),
        ),
        ("0e9", "present".to_owned()),
        (
            "0eb",
            "unknown: its subscription's VM list gave an extension by its id alone, without its type"
                .to_owned(),
        ),
    ];
    for (t, want) in told {
        assert_eq!(
            entra_login(&rig, t).await,
            want,
            "{t}\n{}",
            rig.handler.log_text()
        );
    }
    let refused = entra_login(&rig, "0e7").await;
    assert!(
        refused.starts_with("unknown: ")
            && refused.contains(&format!(
                "Reader at subscription scope (/subscriptions/{REFUSED})"
            ))
            && refused.contains("Microsoft.Compute/virtualMachines/read"),
        "{refused}"
    );
    // One list a subscription (its pages through `nextLink`), and no VM read one by one.
    let asked = rig.arm.with(|e| e.requests.clone());
    let lists = vm_lists(&asked);
    let of = |sub: &str| lists.iter().filter(|r| r.contains(sub)).count();
    assert_eq!(
        (of(SUB), of(REFUSED)),
        (5, 1),
        "five pages of one VM each, and the refused list: {lists:?}"
    );
    assert!(
        !asked
            .iter()
            .any(|r| low(r.clone()).contains("/extensions/")),
        "{asked:?}"
    );
}

/// Virtual Machine User Login activated by each person at their VM: a UPN session on a VM with
/// `AADSSHLoginForLinux` is `pim`, on a VM with other extensions only `none`, and a local
/// account's session on the Entra VM `none` (the login data action is not what admits it). The
/// first check reads PIM's lists (the role kept, its definition not listed: undecided); the next,
/// its budget's 5 minutes past, lists the definitions and the VM list: two calls, one VM list.
#[tokio::test]
async fn a_login_only_activation_counts_on_a_vm_with_the_extension_only() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rig = Rig::new(&cs, &env).await;
    let low = |v: String| v.to_ascii_lowercase();
    let login = |name: &str, who: (&str, &str), at: &str| -> Value {
        let mut v = instance(
            name,
            who,
            &vm(SUB, at),
            true,
            ("2026-11-25T07:30:00Z", Some("2026-11-25T15:30:00Z")),
        );
        v["properties"]["roleDefinitionId"] = json!(format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{VM_USER_LOGIN}"
        ));
        v["properties"]["expandedProperties"]["roleDefinition"] = json!({"id": VM_USER_LOGIN,
            "displayName": "Virtual Machine User Login", "type": "BuiltInRole"});
        v
    };
    rig.arm.with(|e| {
        (e.definitions).insert(
            VM_USER_LOGIN.to_owned(),
            vec!["Microsoft.Compute/virtualMachines/login/action".to_owned()],
        );
        (e.extensions).push(low(format!(
            "{}/extensions/AADSSHLoginForLinux",
            vm(SUB, "vm-entra")
        )));
        (e.extensions).push(low(format!(
            "{}/extensions/AzureMonitorLinuxAgent",
            vm(SUB, "vm-ad")
        )));
        let instances = vec![
            login(
                "alice-login",
                ("oid-alice", "alice@contoso.com"),
                "vm-entra",
            ),
            login("bob-login", ("oid-bob", "bob@contoso.com"), "vm-ad"),
            login(
                "carol-login",
                ("oid-carol", "carol@contoso.com"),
                "vm-entra",
            ),
        ];
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (instances, Vec::new()));
    });
    let sessions = [
        (
            "0f1",
            "alice@contoso.com",
            "alice@contoso.com",
            vm(SUB, "vm-entra"),
        ),
        (
            "0f2",
            "bob@contoso.com",
            "bob@corp.example",
            vm(SUB, "vm-ad"),
        ),
        ("0f3", "carol@contoso.com", "azureuser", vm(SUB, "vm-entra")),
    ];
    accounts_arrive_in(&rig, &cs, &sessions, ("2026-11-25T08", None)).await;
    let calls = |rig: &Rig| {
        let asked = rig.arm.with(|e| std::mem::take(&mut e.requests));
        let of = |what: &str| {
            (asked.iter())
                .filter(|r| {
                    let r = low((*r).clone());
                    r.split_once(what)
                        .is_some_and(|(_, rest)| rest.is_empty() || rest.starts_with('?'))
                })
                .count()
        };
        (
            of("/providers/microsoft.compute/virtualmachines"),
            of("/providers/microsoft.authorization/roledefinitions"),
            of("/providers/microsoft.authorization/roleassignmentscheduleinstances"),
        )
    };
    check_at(&mut rig, "2026-11-25T08:45:00Z").await;
    assert_eq!(calls(&rig), (0, 0, 1), "the PIM lists only");
    budget_passes(&rig).await;
    check_at(&mut rig, "2026-11-25T09:00:00Z").await;
    assert_eq!(
        calls(&rig),
        (1, 1, 0),
        "the definitions and one VM list, the PIM lists waiting\n{}",
        rig.handler.log_text()
    );
    let (status, page) = rig
        .handler
        .get_json("/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{page}");
    let mut got: Vec<(String, String)> = (page["items"].as_array().cloned().unwrap_or_default())
        .iter()
        .map(|i| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&i["userEmail"]), s(&i["authorization"]))
        })
        .collect();
    got.sort();
    let want = [
        ("alice@contoso.com", "pim"),
        ("bob@contoso.com", "none"),
        ("carol@contoso.com", "none"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(got, want, "{page}\n{}", rig.handler.log_text());
}
