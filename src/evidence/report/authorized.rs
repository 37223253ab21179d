//! The report's "Authorization" section: sessions per verdict and host, the sessions without a
//! covering verdict and the shared VM accounts (each the first rows of its CSV file), and the
//! control each answers.

use maud::{Markup, html};

use super::cells::{outside, table};
use crate::catalogue::query::rows::AUTHORIZATIONS;
use crate::evidence::figures::Figures;

/// The controls the section answers: (what, the control, its words).
const CONTROLS: [(&str, &str, &str); 3] = [
    (
        "Sessions per verdict; unauthorized.csv",
        "ISO/IEC 27001:2022 A.8.2",
        "privileged access rights: each use authorized, the rights granted on record",
    ),
    (
        "Sessions per verdict; unauthorized.csv",
        "SOC 2 CC6.1",
        "logical access: access to protected assets authorized",
    ),
    (
        "sharedaccounts.csv",
        "PCI DSS 4.0 8.2.2",
        "shared accounts used only when necessary, each use attributed to a person",
    ),
];

/// The section.
pub(super) fn section(f: &Figures) -> Markup {
    let a = &f.authorization;
    let mut head = vec!["Host", "Sessions"];
    head.extend(AUTHORIZATIONS.iter().copied());
    head.push("Without authorization");
    let hosts = a
        .hosts
        .iter()
        .map(|(h, v)| (h.as_str(), v))
        .chain(std::iter::once(("Total", &a.total)));
    html! {
        (table(None, html! { "Successful sessions per verdict, per Bastion host" }, &head, html! {
            @for (host, v) in hosts { tr {
                td { (outside(host)) } td { (v.sessions) }
                @for k in AUTHORIZATIONS { td { (v.verdicts.get(*k).copied().unwrap_or(0)) } }
                td { (v.without_authorization) }
            } }
        }))
        p { (a.total.without_authorization) " of " (a.total.sessions) " successful sessions without an authorization; "
            (a.shared_accounts) " VM account(s) used by two or more people." }
        @for l in &a.lists { (super::lists::list(l)) }
        (table(None, html! { "The control each list answers" }, &["List", "Control", "Asks for"], html! {
            @for (list, control, asks) in CONTROLS { tr { td { (list) } td { (control) } td { (asks) } } }
        }))
        p.note { "A verdict names what allowed the session at its start: pim (the person's PIM activation of an Azure role at the VM or a scope above it), pim-group (through PIM for Groups), jit (a Defender just-in-time request from the Bastion subnet), standing (a role assigned outside PIM). none: every source was read and none covers it; unknown: a source the decision needs could not be read (the reasons column says which), never counted as none; undecided: not decided yet. Without authorization: none, unknown and undecided, each in unauthorized.csv. The figures are those of GET /api/sessions/authorization for the same period and host. A shared account: one VM account on one VM used in the period's successful sessions by two or more people (their UserEmail, in every form a name has); the pack does not read whether the VM signs people in with Entra ID (the shared-account notification says so)." }
    }
}
