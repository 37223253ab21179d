//! The report's lists: the sessions unrecorded, not reviewed or reviewed late, the incidents and
//! follow-ups (each the first rows of its CSV file, in its order), the refused self-reviews and
//! two-person releases, the custody events, and the other ways in (doors beside Bastion); each
//! row with the person, the VM and the host where the row has them, every value an isolated
//! `<bdi>`.

use maud::{Markup, html};

use super::cells::{listed, outside, table};
use crate::evidence::figures::Figures;
use crate::evidence::lists::{LISTED, Shown};

/// The session-level lists (`unrecorded.csv`, `unreviewed.csv`, `findings.csv`).
pub(super) fn sessions(f: &Figures) -> Markup {
    html! {
        @for l in &f.lists { (list(l)) }
        p.note { "person: the portal user (the Entra user the Bastion audit record names); vmUser: the account signed in on the VM. Unrecorded: sessions past the login that no recording names (the coverage figure's definition). Not reviewed or reviewed late: sessions with no review of them or of their recordings made in the period, or whose first review came after dueAt (the review deadline after the session's end); their counts are the sessions minus reviewed, and reviewed minus reviewed on time. Incidents and follow-ups: the reviews of the period with those verdicts, with their comment and ticket." }
    }
}

/// One list's table: the first rows of its CSV file, the shown columns.
pub(super) fn list(l: &Shown) -> Markup {
    html! {
        @if let Some(spec) = l.spec {
            @let names = spec.head();
            @let head: Vec<&str> = spec.shown.iter().map(|i| names[*i]).collect();
            (listed(html! { (spec.title) " (" (l.rows) " in " (spec.file) (shown_of(l.first.len(), l.rows)) ")" },
                &head, &l.first))
        }
    }
}

fn shown_of(shown: usize, rows: u64) -> String {
    if u64::try_from(shown).unwrap_or(u64::MAX) < rows {
        format!("; the first {LISTED} shown")
    } else {
        String::new()
    }
}

pub(super) fn duties(f: &Figures) -> Markup {
    html! {
        p { (f.refused_reviews) " reviews refused (self-reviews, applications); " (f.two_person_releases)
            " two-person hold releases took effect, " (f.two_person_open) " awaiting a second principal." }
        (listed(html! { "Self-reviews refused (first " (f.refused_list.len()) " of " (f.refused_reviews) "; all in refusedreviews.csv)" },
            &["At", "Reviewer", "Subject", "Session user (person, VM account)", "VM", "Host"], &f.refused_list))
        (listed(html! { "Two-person hold releases (first " (f.release_list.len()) "; all in holdreleases.csv)" },
            &["Hold", "Recording", "Status", "Requested by", "Requested at", "Approved by", "Approved at"], &f.release_list))
        p.note { "A reviewer who is the session's user by Entra object id (the session's UPN resolved through Microsoft Graph) or by UPN/e-mail (a guest's #EXT# UPN as its address) is refused with the reason, and the attempt recorded; so is an application token. A review signed off before the join named its session and found then to be the user's own is listed as self-review, recorded as refused and not counted as reviewed; a review whose reviewer and user are not shown to be two people by object id is listed as unverified-identity: reviewed, not independently. With HOLD_RELEASE_TWO_PERSON a hold is released only when a second person with Catalogue.Hold approves, by naming it, the request of a first; the approval is used once, by its approver; requests expire, and an application token is no person." }
    }
}

pub(super) fn custody(f: &Figures) -> Markup {
    html! {
        (table(None, html! { "Custody events in the period (custody.csv)" }, &["Event", "Recordings"], html! {
            tr { td { "deleted-outside-retention" } td { (f.deleted_outside_retention) } }
            tr { td { "replaced" } td { (f.replaced) } }
        }))
        (listed(html! { "Recordings deleted outside retention or replaced (first " (f.custody_list.len()) "; all in custody.csv)" },
            &["At", "Event", "Recording", "Person", "VM account", "VM", "Host"], &f.custody_list))
        p.note { "A deletion the retention sweep did not make leaves the catalogue row with status deleted-outside-retention; a replacement keeps the replaced ETag, length and digest (ReplacedEtag, ReplacedLength, ReplacedSha256) beside the new ones. custody.csv also names the actor the storage logs found." }
    }
}

/// "Other ways in": each door episode open in the period (`otherdoors.csv`), or "none found", and what
/// was read to find them.
pub(super) fn other_ways(f: &Figures) -> Markup {
    let w = &f.other_ways_in;
    html! {
        @if w.doors.is_empty() {
            p { "None found: no door beside Bastion was open on the VMs of this pack in the period (otherdoors.csv has no row)." }
        } @else {
            (table(Some("list"),
                html! { "Door episodes open in the period (" (w.doors.len()) " in otherdoors.csv)" },
                &["Door", "VM", "Actor", "Caller IP", "Opened", "Closed"],
                html! { @for d in &w.doors { tr {
                    td { (outside(&d.door)) } td { (outside(&d.vm)) } td { (outside(&d.actor)) }
                    td { (outside(&d.caller_ip)) } td { (outside(&d.opened_at)) }
                    td { @match &d.closed_at { Some(c) => (outside(c)), None => "still open" } }
                } } }))
        }
        @if w.activity_log.is_empty() {
            p { "Activity log: not read. No estate check has read the Activity log (AzureActivity) of a watched VM's subscription, so Run Command, extensions, serial console and just-in-time requests could not be seen; network paths and public IPs come from Resource Manager." }
        } @else {
            (table(None, html! { "Activity log (AzureActivity) of each subscription, as the estate check last read it" },
                &["Subscription", "Read", "Last checked", "Why not"],
                html! { @for a in &w.activity_log { tr {
                    td { (outside(&a.subscription)) } td { (outside(&a.state)) }
                    td { (outside(&a.last_checked)) } td { (outside(&a.why)) }
                } } }))
        }
        p { (w.vms_checked) " VM(s) of this pack checked by the estate check: " (w.reach.bastion_only)
            " reachable on SSH/RDP only through Bastion, " (w.reach.other_ways) " another way (an open network path or public IP), "
            (w.reach.unknown) " not known (their last check did not decide their network); each in vmreach.csv." }
        @if !w.network_unread.is_empty() {
            (table(Some("list"), html! { "Network not read: doors 4 and 5 undecided (" (w.network_unread.len()) ")" },
                &["VM or scope", "Since", "Why"],
                html! { @for n in &w.network_unread { tr {
                    td { (outside(&n.resource)) } td { (outside(&n.since)) } td { (outside(&n.why)) }
                } } }))
        }
        p.note { "A door: Run Command, a VMAccess or CustomScript extension, the serial console or just-in-time access to a source outside the Bastion subnet (from the Activity log), a network path to SSH/RDP from anywhere but the Bastion subnet (reason outside: a public source; internal: the virtual network, a connected network, an application security group or a private range, the default rules included) or a public IP on the VM's network interface (from Resource Manager, and opened and closed between two checks from the Activity log). Opened: when the estate check first saw it; closed: when it saw it gone. Actor and caller IP: as the Activity log names them (empty where no log names one). Every episode open at some instant of the period is listed: a door that opened, closed and opened again on one VM is one row per episode. With a host named, the VMs are those its sessions of the period reached." }
    }
}
