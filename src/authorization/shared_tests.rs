//! Shared VM accounts: people told apart in every form of their names, one account per VM.

use time::Duration;
use time::macros::datetime;

use super::shared::Shared;
use super::shared_store::{Accounts, add};
use crate::catalogue::days::DayRow;
use crate::catalogue::session::SessionRecord;
use crate::catalogue::session::outcome::{CONNECTED, LOGIN_FAILED};

fn row(i: i64, vm: &str, account: &str, email: &str, outcome: &str) -> DayRow {
    let mut s = SessionRecord::new(&format!("t{i}"));
    s.session_start = Some(datetime!(2026-11-01 08:00 UTC) + Duration::hours(i));
    s.target_resource_id = format!(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{vm}"
    );
    s.target_vm = vm.into();
    s.user_name = account.into();
    s.user_email = email.into();
    s.outcome = outcome.into();
    DayRow::of(&s).expect("row")
}

/// The accounts of `rows` used by two or more people, as the evidence pack counts them.
fn shared(rows: &[DayRow]) -> Vec<Shared> {
    let mut all = Accounts::new();
    rows.iter().for_each(|r| add(&mut all, r));
    super::shared_store::shared(&all, time::OffsetDateTime::UNIX_EPOCH)
}

#[test]
fn an_account_used_by_two_people_on_one_vm_is_shared() {
    let rows = [
        row(0, "vm1", "root", "alice@contoso.com", CONNECTED),
        row(1, "vm1", "ROOT", "Alice@Contoso.com", CONNECTED),
        row(
            2,
            "vm1",
            "root",
            "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
            CONNECTED,
        ),
        row(3, "vm2", "root", "bob@contoso.com", CONNECTED),
        row(4, "vm1", "azureuser", "bob@contoso.com", CONNECTED),
        row(5, "vm1", "root", "carol@contoso.com", LOGIN_FAILED),
        row(6, "vm1", "root", "", CONNECTED),
    ];
    // One person in three forms, another VM, another account, a failed login, no person: none.
    assert!(shared(&rows).is_empty());
    let mut more = rows.to_vec();
    more.push(row(9, "vm1", "root", "dave@contoso.com", CONNECTED));
    let found = shared(&more);
    assert_eq!(found.len(), 1, "{found:?}");
    let s = &found[0];
    assert_eq!((s.vm_name.as_str(), s.account.as_str()), ("vm1", "root"));
    assert_eq!(s.people, ["alice@contoso.com", "dave@contoso.com"]);
    assert_eq!(s.first, datetime!(2026-11-01 08:00 UTC));
    assert_eq!(s.last, datetime!(2026-11-01 17:00 UTC));
}

/// The kept state, fed one session at a time and kept between passes, finds what the 30-day
/// scan found, forgets a person last seen before the window, and counts a session read twice once.
#[tokio::test]
async fn the_kept_state_finds_what_the_scan_found_and_forgets_old_uses() {
    use super::shared_store::{load, save, shared as kept_shared};
    let tables = crate::testkit::tables::memory::InMemoryTables::new();
    let rows = [
        row(0, "vm1", "root", "alice@contoso.com", CONNECTED),
        row(1, "vm1", "ROOT", "Alice@Contoso.com", CONNECTED),
        row(2, "vm1", "root", "bob@contoso.com", CONNECTED),
        row(3, "vm2", "root", "bob@contoso.com", CONNECTED),
        row(4, "vm2", "root", "", CONNECTED),
    ];
    let from = datetime!(2026-10-01 00:00 UTC);
    // Two passes: the first reads rows 0-2, the second rows 1-4 (row 1 and 2 again).
    let mut first = Accounts::new();
    rows[..3].iter().for_each(|r| add(&mut first, r));
    save(&tables, &Accounts::new(), &mut first, from)
        .await
        .expect("saved");
    let mut second = load(&tables).await.expect("loaded");
    assert_eq!(second, first);
    let before = second.clone();
    rows[1..].iter().for_each(|r| add(&mut second, r));
    assert_eq!(kept_shared(&second, from), shared(&rows));
    assert_eq!(
        save(&tables, &before, &mut second, from)
            .await
            .expect("saved"),
        1,
        "only vm2's new row is written"
    );
    // A month on, alice (last seen at 09:00) is out of the window; bob (10:00) is not.
    let later = datetime!(2026-11-01 09:30 UTC);
    assert!(kept_shared(&second, later).is_empty());
    let mut third = load(&tables).await.expect("loaded");
    save(&tables, &second, &mut third, later)
        .await
        .expect("saved");
    let kept = load(&tables).await.expect("loaded");
    let people: Vec<&String> = kept.values().flat_map(|a| a.people.keys()).collect();
    assert_eq!(people, ["bob@contoso.com", "bob@contoso.com"], "{kept:?}");
}

/// A session signed in with Entra ID when its account is in UPN form and its VM showed the login
/// extension as last read (any account of the VM, a new one taking the VM's answer): a local
/// account never, whatever the VM; `absent` no; never read, or read without an answer, untold
/// (naming why); Resource Manager not set up, untold.
#[test]
fn a_sign_in_is_entra_by_the_upn_form_and_the_vms_extension_as_last_read() {
    use super::decide::Entra;
    use super::shared_store::{LIST_UNREAD, entra};
    let at = datetime!(2026-11-02 08:00 UTC);
    let vm = |name: &str| row(0, name, "x", "x@contoso.com", CONNECTED).target_resource_id;
    let vm = |name: &str| vm(name).to_ascii_lowercase();
    let mut all = Accounts::new();
    for (name, told) in [
        ("vm1", "present"),
        ("vm2", "absent"),
        (
            "vm3",
            "unknown: its subscription's VM list gave no extensions for it",
        ),
    ] {
        add(
            &mut all,
            &row(1, name, "root", "bob@contoso.com", CONNECTED),
        );
        let a = all.get_mut(&(vm(name), "root".to_owned())).expect("kept");
        (a.entra, a.entra_at) = (told.to_owned(), Some(at));
    }
    let failed = all.entry((vm("vm4"), "a@b.c".to_owned())).or_default();
    (failed.entra, failed.entra_at) = (format!("{LIST_UNREAD}403 Reader"), Some(at));
    // A new account on a read VM takes its answer.
    add(
        &mut all,
        &row(
            2,
            "vm1",
            "alice@contoso.com",
            "alice@contoso.com",
            CONNECTED,
        ),
    );
    let told = |name: &str, account: &str, arm: bool| entra(&all, (&vm(name), account), arm);
    assert_eq!(told("vm1", "alice@contoso.com", true), Entra::Yes);
    assert_eq!(told("vm1", "carol@corp.example", true), Entra::Yes);
    assert_eq!(told("vm1", "root", true), Entra::No);
    assert_eq!(told("vm2", "alice@contoso.com", true), Entra::No);
    assert_eq!(told("vm9", "root", true), Entra::No);
    let untold = |e: Entra, why: &str| matches!(e, Entra::Untold(w) if w.contains(why));
    assert!(untold(told("vm3", "a@b.c", true), "gave no extensions"));
    assert!(untold(told("vm9", "a@b.c", true), "not read yet"));
    assert!(untold(
        told("vm9", "a@b.c", false),
        "Resource Manager is not set up"
    ));
    assert!(untold(told("vm4", "a@b.c", true), "403 Reader"));
}

/// The VMs of sessions that need their sign-in told are due as the shared accounts' are: never
/// read, read a day ago, or their list not read; a fresh answer is not due.
#[test]
fn the_vms_of_sessions_needing_their_sign_in_are_due_unless_fresh() {
    use std::collections::BTreeSet;

    use super::shared_store::{Account, ENTRA_AGAIN, LIST_UNREAD, due};
    let now = datetime!(2026-11-02 08:00 UTC);
    let kept = |told: &str, at| Account {
        entra: told.to_owned(),
        entra_at: Some(at),
        ..Account::default()
    };
    let all: Accounts = [
        ("/fresh", kept("absent", now - Duration::hours(1))),
        ("/old", kept("present", now - ENTRA_AGAIN)),
        ("/failed", kept(&format!("{LIST_UNREAD}503"), now)),
    ]
    .into_iter()
    .map(|(vm, a)| ((vm.to_owned(), "a@b.c".to_owned()), a))
    .collect();
    let needing: BTreeSet<String> = ["/fresh", "/old", "/failed", "/never"]
        .map(str::to_owned)
        .into();
    assert_eq!(due(&all, &[], &needing, now), ["/never", "/old", "/failed"]);
    assert!(due(&all, &[], &BTreeSet::new(), now).is_empty());
}
