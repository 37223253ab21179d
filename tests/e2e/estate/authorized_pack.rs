//! The evidence pack's "Authorization" section end to end: the real handler's `EstateCheck`
//! decides a day's sessions on host `b1` (a PIM activation, a standing assignment, two with no
//! evidence, one whose subscription refuses its schedules, 403; one VM account used by two
//! people), then `GET /api/evidence` builds the day's pack: its manifest's authorization figures
//! equal `GET /api/sessions/authorization`'s for the same day, in total and per host, and agree
//! with the sessions list's `?authorization=` filter; `unauthorized.csv` lists exactly the
//! sessions without a covering verdict and `sharedaccounts.csv` the shared account; the report
//! names the controls.

use serde_json::{Value, json};

use super::Rig;
use super::authorization::{DENIED, activation, instance, sessions_arrive, vm};
use super::fake_arm::SUB;
use crate::harness::{azurite, unique};

const DAY: &str = "from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z";

/// The rows of the pack's CSV file `name` (its header first).
fn csv_rows(dir: &std::path::Path, name: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(dir.join(name)).expect("csv");
    let head = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = r
        .records()
        .map(|x| x.expect("row").iter().map(str::to_owned).collect());
    std::iter::once(head).chain(rows).collect()
}

#[tokio::test]
async fn the_packs_authorization_figures_are_the_apis() {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("EVIDENCE_SIGNING_KEY", crate::evidence::KEY));
    let mut rig = Rig::new(&cs, &env).await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    rig.arm.with(|e| {
        let instances = vec![instance(
            "standing-erin",
            ("oid-erin", "erin@contoso.com"),
            &format!("/subscriptions/{SUB}"),
            false,
            ("2025-01-01T00:00:00Z", None),
        )];
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (instances, Vec::new()));
        e.forbid.push(format!("/subscriptions/{DENIED}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances"));
    });
    activation(
        &logs,
        "audit-alice",
        "alice@contoso.com",
        &rg.to_ascii_lowercase(),
        ("2026-11-25T07:30:00Z", "2026-11-25T10:00:00Z"),
    );
    let sessions = [
        ("00a", "alice@contoso.com", vm(SUB, "vm-a")),
        ("00b", "bob@contoso.com", vm(SUB, "vm-b")),
        ("00c", "carol@contoso.com", vm(DENIED, "vm-c")),
        ("00e", "erin@contoso.com", vm(SUB, "vm-e")),
        ("00f", "frank@contoso.com", vm(SUB, "vm-a")),
    ];
    sessions_arrive(&rig, &cs, &sessions).await;
    let at = ("2026-11-25T08:45:00Z", "2026-11-25T09:00:00Z");
    super::authorization::check_and_list_roles(&mut rig, at).await;

    let (status, api) = rig
        .handler
        .get_json(&format!("/api/sessions/authorization?{DAY}"))
        .await;
    assert_eq!(status, 200, "{api}");
    let res = reqwest::get(rig.handler.url(&format!("/api/evidence?{DAY}")))
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let dir = std::env::temp_dir().join(unique("authz-pack"));
    crate::evidence::unzip(res.bytes().await.expect("body").to_vec(), &dir);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let pack = &manifest["figures"]["authorization"];
    for k in ["total", "hosts", "sharedAccounts"] {
        assert_eq!(pack[k], api[k], "{k}: pack {pack} api {api}");
    }
    // The figures themselves, and the list filter of the same day.
    let total = &api["total"];
    assert_eq!(
        (total["sessions"].clone(), total["verdicts"].clone()),
        (
            json!(5),
            json!({"pim": 1, "pim-group": 0, "jit": 0, "standing": 1, "none": 2, "unknown": 1, "undecided": 0})
        ),
        "{api}\n{}",
        rig.handler.log_text()
    );
    assert_eq!(total["withoutAuthorization"], 3);
    let hosts = api["hosts"].as_object().expect("hosts");
    assert_eq!(hosts.values().collect::<Vec<_>>(), [&api["total"]], "{api}");
    for verdict in ["pim", "none", "unknown", "standing"] {
        let (_, page) = rig
            .handler
            .get_json(&format!("/api/sessions?{DAY}&authorization={verdict}"))
            .await;
        assert_eq!(
            page["count"], total["verdicts"][verdict],
            "{verdict}: {page}"
        );
    }
    // The lists: bob's and frank's `none`, carol's `unknown` naming the refused role; vm-a's
    // azureuser used by alice and frank.
    let unauthorized = csv_rows(&dir, "unauthorized.csv");
    let mut who: Vec<(String, String)> = (unauthorized[1..].iter())
        .map(|r| (r[3].clone(), r[0].clone()))
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            ("bob@contoso.com".to_owned(), "none".to_owned()),
            ("carol@contoso.com".to_owned(), "unknown".to_owned()),
            ("frank@contoso.com".to_owned(), "none".to_owned()),
        ]
    );
    let carol = unauthorized.iter().find(|r| r[3] == "carol@contoso.com");
    assert!(
        carol.is_some_and(|r| r[7].contains("Reader at subscription scope")),
        "{unauthorized:?}"
    );
    let shared = csv_rows(&dir, "sharedaccounts.csv");
    assert_eq!(shared.len(), 2, "{shared:?}");
    let row = shared[1].iter().map(|c| c.to_ascii_lowercase());
    assert_eq!(
        row.take(3).collect::<Vec<_>>(),
        ["vm-a", "azureuser", "alice@contoso.com, frank@contoso.com"]
    );
    assert_eq!(
        api["shared"][0]["people"],
        json!(["alice@contoso.com", "frank@contoso.com"])
    );
    let files: Vec<&str> = (manifest["files"].as_array().expect("files").iter())
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(files.contains(&"unauthorized.csv") && files.contains(&"sharedaccounts.csv"));
    let report = std::fs::read_to_string(dir.join("report.html")).expect("report");
    for control in [
        "ISO/IEC 27001:2022 A.8.2",
        "PCI DSS 4.0 8.2.2",
        "SOC 2 CC6.1",
    ] {
        assert!(report.contains(control), "{control}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
