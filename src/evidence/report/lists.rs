//! The report's lists: the sessions unrecorded, not reviewed or reviewed late, the incidents and
//! follow-ups (each the first rows of its CSV file, in its order), the refused self-reviews and
//! two-person releases, and the custody events; each row with the person, the VM and the host
//! where the row has them, every value an isolated `<bdi>`.

use maud::{Markup, html};

use super::{outside, table};
use crate::evidence::figures::Figures;
use crate::evidence::lists::LISTED;

/// The session-level lists (`unrecorded.csv`, `unreviewed.csv`, `findings.csv`).
pub(super) fn sessions(f: &Figures) -> Markup {
    html! {
        @for l in &f.lists {
            @if let Some(spec) = l.spec {
                @let head: Vec<&str> = spec.shown.iter().map(|i| spec.columns[*i]).collect();
                (table(Some("list"),
                    html! { (spec.title) " (" (l.rows) " in " (spec.file) (shown_of(l.first.len(), l.rows)) ")" },
                    &head,
                    html! { @for row in &l.first { tr { @for c in row { td { (outside(c)) } } } } }))
            }
        }
        p.note { "person: the portal user (the Entra user the Bastion audit record names); vmUser: the account signed in on the VM. Unrecorded: sessions past the login that no recording names (the coverage figure's definition). Not reviewed or reviewed late: sessions with no review of them or of their recordings made in the period, or whose first review came after dueAt (the review deadline after the session's end); their counts are the sessions minus reviewed, and reviewed minus reviewed on time. Incidents and follow-ups: the reviews of the period with those verdicts, with their comment and ticket." }
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
        p { (f.refused_reviews) " self-reviews refused; " (f.two_person_releases)
            " two-person hold releases took effect, " (f.two_person_pending) " awaiting a second principal." }
        (table(Some("list"),
            html! { "Self-reviews refused (first " (f.refused_list.len()) " of " (f.refused_reviews) "; all in refusedreviews.csv)" },
            &["At", "Reviewer", "Subject", "Session user (person, VM account)", "VM", "Host"],
            html! { @for row in &f.refused_list { tr { @for c in row { td { (outside(c)) } } } } }))
        (table(Some("list"),
            html! { "Two-person hold releases (first " (f.release_list.len()) "; all in holdreleases.csv)" },
            &["Hold", "Recording", "Status", "Requested by", "Requested at", "Approved by", "Approved at"],
            html! { @for row in &f.release_list { tr { @for c in row { td { (outside(c)) } } } } }))
        p.note { "A reviewer whose UPN/e-mail (a guest's #EXT# UPN as its address; or object id, where both carry one) is the session's user is refused with the reason, and the attempt recorded; a review signed off before the join named its session and found then to be the user's own is listed as self-review, recorded as refused and not counted as reviewed; a review names could not decide is listed as unverified-identity. With HOLD_RELEASE_TWO_PERSON a hold is released only when a second person with Catalogue.Hold approves, by naming it, the request of a first; requests expire, and an application token is no person." }
    }
}

pub(super) fn custody(f: &Figures) -> Markup {
    html! {
        (table(None, html! { "Custody events in the period (custody.csv)" }, &["Event", "Recordings"], html! {
            tr { td { "deleted-outside-retention" } td { (f.deleted_outside_retention) } }
            tr { td { "replaced" } td { (f.replaced) } }
        }))
        (table(Some("list"),
            html! { "Recordings deleted outside retention or replaced (first " (f.custody_list.len()) "; all in custody.csv)" },
            &["At", "Event", "Recording", "Blob", "Person", "VM account", "VM", "Host"],
            html! { @for row in &f.custody_list { tr { @for c in row { td { (outside(c)) } } } } }))
        p.note { "A deletion the retention sweep did not make leaves the catalogue row with status deleted-outside-retention; a replacement keeps the replaced ETag, length and digest (ReplacedEtag, ReplacedLength, ReplacedSha256) beside the new ones. custody.csv also names the actor the storage logs found." }
    }
}
