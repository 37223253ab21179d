//! "Other ways in" end to end on Azurite, through the real `handler evidence`: before any estate
//! check a pack says none found and that the Activity log was not read; after a check recorded a
//! Run Command (from its Activity log event, by the same code the check runs) and a public IP
//! that closed, a pack of that month lists both with their VM, actor, caller IP, opening and
//! closing (or still open) in `otherdoors.csv`, the signed manifest and the report, with the
//! outside caller a spreadsheet shows as text and the page as text, a door that opened twice as
//! two episodes; a pack of a month before them lists none and says the Activity log was read.
//! With `TEST_UI=1` (Chromium and poppler-utils) March's pack is printed too: the PDF's "Other
//! ways in" pages hold each episode, and their images go to `target/ui/evidence-doors-*.png`.

use std::path::Path;

use bastion_recordings::activity::events::{Event, Outcome};
use bastion_recordings::estate::bypass::{doors, flow};
use bastion_recordings::estate::findings::{Evaluation, Finding, Level};
use bastion_recordings::estate::store;
use serde_json::Value;
use time::macros::datetime;

use super::{cli, start, temp};

const SUB: &str = "/subscriptions/9f3c2b1a-0000-4000-8000-00000000d00e";
/// An outside caller that is a formula and markup.
const CALLER: &str = "=HYPERLINK<b>@evil.example";

fn vm(name: &str) -> String {
    format!("{SUB}/resourcegroups/rg-vms/providers/microsoft.compute/virtualmachines/{name}")
}

/// A pack of `[from, to]` made by `handler evidence` into a new folder `name`, verified.
pub(super) fn pack(
    e: &crate::audit_logs::support::Env,
    name: &str,
    from: &str,
    to: &str,
) -> std::path::PathBuf {
    let dir = temp(name);
    let d = dir.to_str().expect("utf-8");
    let (code, out, err) = cli(
        e,
        &[
            "evidence", "--from", from, "--to", to, "--out", d, "--no-pdf",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = cli(e, &["evidence", "verify", d]);
    assert_eq!(code, Some(0), "{out}{err}");
    dir
}

fn read(dir: &Path) -> (Value, Vec<csv::StringRecord>, String) {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    let text = std::fs::read_to_string(dir.join("otherdoors.csv")).expect("otherdoors.csv");
    let rows = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row"))
        .collect();
    // The report's text (a long value may wrap after `@`, `/` or `-`: `<wbr>`).
    let html = std::fs::read_to_string(dir.join("report.html"))
        .expect("report")
        .replace("<wbr>", "");
    (m, rows, html)
}

#[tokio::test]
async fn a_pack_lists_the_doors_of_its_period_with_their_actor_or_says_none_and_what_was_read() {
    let Some(e) = start().await else { return };
    let tables = e.tables.as_ref();

    // No estate check yet: none found, the Activity log not read.
    let dir = pack(&e, "evidence-doors-none", "2025-03-01", "2025-03-31");
    let (m, rows, html) = read(&dir);
    assert!(rows.is_empty());
    let ways = &m["figures"]["otherWaysIn"];
    assert_eq!(ways["doors"], serde_json::json!([]), "{ways}");
    assert_eq!(ways["activityLog"], serde_json::json!([]), "{ways}");
    assert!(html.contains("<h2>Other ways in</h2>"), "{html}");
    assert!(html.contains("None found"), "{html}");
    assert!(html.contains("Activity log: not read."), "{html}");
    let listed = m["files"]
        .as_array()
        .expect("files")
        .iter()
        .any(|f| f["name"] == "otherdoors.csv" && f["rows"] == 0);
    assert!(listed, "{}", m["files"]);
    let _ = std::fs::remove_dir_all(&dir);

    // The estate check on 10 March: the subscription's Activity log read, a Run Command on vm1
    // (the event as the Activity log gave it, decided by the check's own code) and a public IP on
    // vm2, which cleared on the 12th.
    let opened = datetime!(2025-03-10 08:00 UTC);
    let run = Event {
        operation: "microsoft.compute/virtualmachines/runcommand/action".into(),
        resource: vm("vm1"),
        correlation: "6f1c0a5e-1d7b-4c55-9a7e-2b0f4e1c9a01".into(),
        outcome: Outcome::Succeeded,
        at: opened - time::Duration::minutes(3),
        caller: CALLER.into(),
        caller_ip: "203.0.113.7".into(),
        properties: Value::Null,
        jit: None,
    };
    let decided = doors::evaluate(&[vm("vm1")].into(), &[run], None, &[]);
    let ev = &decided[&vm("vm1")];
    assert_eq!(ev.findings.len(), 1, "{ev:?}");
    store::apply_host(tables, &vm("vm1"), ev, None, opened)
        .await
        .expect("vm1");
    let latest = [(SUB.trim_start_matches("/subscriptions/").to_owned(), opened)].into();
    let seen = flow::Seen {
        latest: Some(&latest),
        error: None,
        incomplete: &[],
        workspaces: 1,
    };
    let (sub, _) = flow::evaluate(
        SUB.trim_start_matches("/subscriptions/"),
        seen,
        None,
        opened,
    );
    store::apply_host(tables, SUB, &sub, None, opened)
        .await
        .expect("subscription");
    let public = Finding {
        code: "door:public-ip".into(),
        level: Level::Medium,
        evidence: "a public IP address on the VM's network interface, a way in beside Bastion: pip-vm2 on NIC nic-vm2 (ipconfig1)".into(),
    };
    let mut ev = Evaluation::default();
    ev.assessed.insert(public.code.clone());
    ev.findings.push(public);
    store::apply_host(tables, &vm("vm2"), &ev, None, opened)
        .await
        .expect("vm2 open");
    ev.findings.clear();
    store::apply_host(
        tables,
        &vm("vm2"),
        &ev,
        None,
        datetime!(2025-03-12 00:00 UTC),
    )
    .await
    .expect("vm2 closed");
    // ... and opened again on the 20th: a second episode of the same door on the same VM.
    let mut again = Evaluation::default();
    again.assessed.insert("door:public-ip".into());
    again.findings.push(Finding {
        code: "door:public-ip".into(),
        level: Level::Medium,
        evidence: "a public IP address on the VM's network interface, a way in beside Bastion: pip-vm2b on NIC nic-vm2 (ipconfig1)".into(),
    });
    store::apply_host(
        tables,
        &vm("vm2"),
        &again,
        None,
        datetime!(2025-03-20 09:00 UTC),
    )
    .await
    .expect("vm2 reopened");
    // vm3's network not read since the 15th (a refused list; its evidence carries outside text).
    let mut unread = Evaluation::default();
    unread.assessed.insert("check-failed:network".into());
    unread.findings.push(Finding {
        code: "check-failed:network".into(),
        level: Level::High,
        evidence: format!(
            "the network could not be read through Resource Manager at 2025-03-15T08:00:00Z: {SUB}/resourcegroups/rg-vms: 403: missing role Reader on {CALLER}; a path to SSH/RDP from outside the Bastion subnet and a public IP address cannot be decided and keep their last state"
        ),
    });
    store::apply_host(
        tables,
        &vm("vm3"),
        &unread,
        None,
        datetime!(2025-03-15 08:00 UTC),
    )
    .await
    .expect("vm3 unread");

    // March: both, vm1 still open, vm2 closed, with the actor the log named.
    let dir = pack(&e, "evidence-doors-march", "2025-03-01", "2025-03-31");
    let (m, rows, html) = read(&dir);
    let found: Vec<[&str; 8]> = rows
        .iter()
        .map(|r| [0, 2, 4, 5, 6, 7, 8, 1].map(|i| &r[i]))
        .collect();
    assert_eq!(
        found,
        [
            [
                "door:run-command",
                "vm1",
                "'=HYPERLINK<b>@evil.example",
                "203.0.113.7",
                "2025-03-10T08:00:00Z",
                "",
                "open",
                "high"
            ],
            [
                "door:public-ip",
                "vm2",
                "",
                "",
                "2025-03-10T08:00:00Z",
                "2025-03-12T00:00:00Z",
                "closed",
                "medium"
            ],
            [
                "door:public-ip",
                "vm2",
                "",
                "",
                "2025-03-20T09:00:00Z",
                "",
                "open",
                "medium"
            ],
        ]
    );
    assert!(rows[2][9].contains("pip-vm2b"), "{:?}", rows[2]);
    assert_eq!(&rows[0][3], vm("vm1"));
    let doors_json = &m["figures"]["otherWaysIn"]["doors"];
    assert_eq!(doors_json[0]["actor"], CALLER, "{doors_json}");
    assert_eq!(doors_json[0]["callerIp"], "203.0.113.7");
    assert_eq!(doors_json[0]["closedAt"], Value::Null);
    assert_eq!(doors_json[1]["closedAt"], "2025-03-12T00:00:00Z");
    let read_state = &m["figures"]["otherWaysIn"]["activityLog"][0];
    assert_eq!(read_state["state"], "read", "{read_state}");
    assert_eq!(doors_json[2]["openedAt"], "2025-03-20T09:00:00Z");
    assert_eq!(
        m["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["name"] == "otherdoors.csv")
            .map(|f| f["rows"].clone()),
        Some(serde_json::json!(3))
    );
    assert!(
        html.contains("Door episodes open in the period (3 in otherdoors.csv)"),
        "{html}"
    );
    assert!(html.contains("still open"), "{html}");
    let unread = &m["figures"]["otherWaysIn"]["networkUnread"];
    assert_eq!(unread[0]["resource"], vm("vm3"), "{unread}");
    assert_eq!(unread[0]["since"], "2025-03-15T08:00:00Z", "{unread}");
    assert!(
        html.contains("Network not read: doors 4 and 5 undecided (1)"),
        "{html}"
    );
    assert!(html.contains("=HYPERLINK&lt;b&gt;@evil.example"), "{html}");
    assert!(
        !html.contains("<b>@evil"),
        "markup from outside rendered: {html}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    printed(&e);

    // January: none found, and the Activity log said read.
    let dir = pack(&e, "evidence-doors-january", "2025-01-01", "2025-01-31");
    let (m, rows, html) = read(&dir);
    assert!(rows.is_empty());
    assert!(html.contains("None found"), "{html}");
    assert!(!html.contains("Activity log: not read."), "{html}");
    assert_eq!(
        m["figures"]["otherWaysIn"]["activityLog"][0]["state"],
        "read"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `TEST_UI=1`: March's pack printed through Chromium; its text holds the section with each
/// episode, its pages saved as images for a person to look at.
fn printed(e: &crate::audit_logs::support::Env) {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!("skipping the printed pack: TEST_UI is not 1");
        return;
    }
    let dir = temp("evidence-doors-pdf");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args([
            "evidence",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--out",
        ])
        .arg(&dir)
        .env_clear()
        .envs(e.env.vars.iter())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("run handler");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let pdf = dir.join("report.pdf");
    assert!(pdf.is_file(), "{said}");
    let p = pdf.to_str().expect("utf-8");
    let tool = |name: &str, args: &[&str]| {
        let o = std::process::Command::new(name)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("{name} runs (poppler-utils): {err}"));
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Whitespace and hyphens dropped: a long cell wraps, and pdftotext joins a word broken at
    // its hyphen.
    let flat = |t: &str| -> String { t.split_whitespace().collect::<String>().replace('-', "") };
    let text = flat(&tool("pdftotext", &[p, "-"]));
    let at = text
        .find(&flat(
            "Door episodes open in the period (3 in otherdoors.csv)",
        ))
        .unwrap_or_else(|| panic!("no door episodes printed: {text}"));
    let section = &text[at..];
    for needle in [
        "door:run-command",
        "=HYPERLINK<b>@evil.example",
        // Times as the report shows them.
        "2025-03-12 00:00:00Z",
        "2025-03-20 09:00:00Z",
        "still open",
    ] {
        assert!(
            section.contains(&flat(needle)),
            "`{needle}` not printed: {section}"
        );
    }
    assert_eq!(
        section.matches(&flat("door:public-ip")).count(),
        2,
        "{section}"
    );
    assert!(
        section.contains(&flat("Network not read: doors 4 and 5 undecided (1)"))
            && section.contains(&flat("missing role Reader on =HYPERLINK<b>@evil.example")),
        "the VM whose network was not read, printed: {section}"
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let images = format!("{root}/target/ui");
    std::fs::create_dir_all(&images).expect("target/ui");
    tool(
        "pdftoppm",
        &["-png", "-r", "70", p, &format!("{images}/evidence-doors")],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
