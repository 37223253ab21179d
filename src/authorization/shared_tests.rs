//! Shared VM accounts: people told apart in every form of their names, one account per VM.

use time::Duration;
use time::macros::datetime;

use super::shared::shared;
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
