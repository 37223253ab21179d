//! The authorization settings: `AUTHZ_TICKET_PATTERN`, a regular expression whose first match
//! in a PIM justification is the record's ticket when the request carries no `ticketInfo`
//! (unset: only `ticketInfo` gives a ticket; an invalid expression is a start-up problem);
//! `SHARED_ACCOUNT_DAYS`, how far back one VM account used by two people is a shared account;
//! `AUTHZ_ENFORCE` (`report`, default, or `disconnect`) and `AUTHZ_GRACE_MINUTES`, how long after
//! its start a live session whose verdict is `none` on a VM tagged for it is left connected
//! ([`super::enforce`]); `AUTHZ_PIM_GROUPS`, whether the PIM for Groups memberships of the groups
//! holding roles on watched scopes are read from Microsoft Graph (needs `GRAPH_ENDPOINT`), and
//! `AUTHZ_SIGNIN_MFA`, whether each session's Entra VM sign-in is looked up in `SigninLogs` for
//! MFA (both off by default).

use regex::Regex;

use crate::setting::Reader;

/// The ticket pattern's setting.
pub const TICKET_PATTERN: &str = "AUTHZ_TICKET_PATTERN";

/// A compiled ticket pattern (compared by its text).
#[derive(Debug, Clone)]
pub struct TicketPattern(pub Regex);

impl PartialEq for TicketPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for TicketPattern {}

/// The shared-account window's setting.
pub const SHARED_DAYS: &str = "SHARED_ACCOUNT_DAYS";

/// The enforcement's setting.
pub const ENFORCE: &str = "AUTHZ_ENFORCE";
/// The grace's setting.
pub const GRACE: &str = "AUTHZ_GRACE_MINUTES";

/// The PIM for Groups read's setting.
pub const PIM_GROUPS: &str = "AUTHZ_PIM_GROUPS";
/// The `SigninLogs` MFA read's setting.
pub const SIGNIN_MFA: &str = "AUTHZ_SIGNIN_MFA";

/// What a `none` verdict does to a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforce {
    /// Reported only (the default).
    Report,
    /// Disconnected after the grace, on a VM tagged for it.
    Disconnect,
}

/// The settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzSettings {
    /// `AUTHZ_TICKET_PATTERN`.
    pub ticket_pattern: Option<TicketPattern>,
    /// `SHARED_ACCOUNT_DAYS` (1–90, default 30).
    pub shared_days: i64,
    /// `AUTHZ_ENFORCE`.
    pub enforce: Enforce,
    /// `AUTHZ_GRACE_MINUTES` (0–1440, default 15), from the session's start.
    pub grace: time::Duration,
    /// `AUTHZ_PIM_GROUPS` (default off).
    pub pim_groups: bool,
    /// `AUTHZ_SIGNIN_MFA` (default off).
    pub signin_mfa: bool,
}

impl AuthzSettings {
    /// Reads them; problems go to `r`.
    pub fn from_reader(r: &mut Reader<'_>) -> Self {
        let ticket_pattern = r.get(TICKET_PATTERN).and_then(|p| {
            // At most 1 KiB of pattern, compiled to at most 1 MiB: a justification is short.
            let built = regex::RegexBuilder::new(&p)
                .size_limit(1 << 20)
                .build()
                .ok()
                .filter(|_| p.len() <= 1024);
            if built.is_none() {
                r.problem(
                    TICKET_PATTERN,
                    "expected a regular expression of at most 1024 characters",
                );
            }
            built.map(TicketPattern)
        });
        let shared_days = r.number(SHARED_DAYS, 30, 1..=90);
        let enforce = match r.get(ENFORCE).map(|v| v.trim().to_ascii_lowercase()) {
            None => Enforce::Report,
            Some(v) if v == "report" => Enforce::Report,
            Some(v) if v == "disconnect" => Enforce::Disconnect,
            Some(_) => {
                r.problem(ENFORCE, "report or disconnect");
                Enforce::Report
            }
        };
        let grace = time::Duration::minutes(r.number(GRACE, 15, 0..=1440));
        Self {
            ticket_pattern,
            shared_days,
            enforce,
            grace,
            pim_groups: r.flag(PIM_GROUPS, false),
            signin_mfa: r.flag(SIGNIN_MFA, false),
        }
    }

    /// Why `AUTHZ_ENFORCE=disconnect` cannot work: the disconnect action is off
    /// (`BASTION_DISCONNECT`, and with it the role infra grants) or no host is watched.
    pub fn cannot_enforce(&self, disconnect: bool, hosts: bool) -> Option<String> {
        let why = match (self.enforce, disconnect, hosts) {
            (Enforce::Report, ..) | (_, true, true) => return None,
            (_, false, _) => "needs BASTION_DISCONNECT=true (the disconnect action and its role)",
            (_, true, false) => "needs Bastion hosts watched (BASTION_HOSTS)",
        };
        Some(format!("{ENFORCE}: disconnect {why}"))
    }

    /// Why `AUTHZ_PIM_GROUPS=true` cannot work: Microsoft Graph is not set (`GRAPH_ENDPOINT`).
    pub fn cannot_read_groups(&self, graph: bool) -> Option<String> {
        (self.pim_groups && !graph).then(|| format!("{PIM_GROUPS}: true needs GRAPH_ENDPOINT"))
    }

    /// The pattern, if set.
    pub fn pattern(&self) -> Option<&Regex> {
        self.ticket_pattern.as_ref().map(|p| &p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setting::read_pairs;

    #[test]
    fn a_pattern_is_compiled_once_and_a_bad_one_is_a_problem() {
        let (s, problems) = read_pairs(
            &[(TICKET_PATTERN, r"(CHG|INC)\d{7}")],
            AuthzSettings::from_reader,
        );
        assert!(problems.is_empty());
        let m = s
            .pattern()
            .and_then(|p| p.find("for INC0001234 now"))
            .map(|m| m.as_str());
        assert_eq!(m, Some("INC0001234"));
        let (s, problems) =
            read_pairs(&[(TICKET_PATTERN, "(unclosed")], AuthzSettings::from_reader);
        assert!(s.pattern().is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("AUTHZ_TICKET_PATTERN:"),
            "{problems:?}"
        );
        let (s, _) = read_pairs(&[], AuthzSettings::from_reader);
        assert!(s.pattern().is_none());
        assert_eq!(s.shared_days, 30);
        let (_, problems) = read_pairs(&[(SHARED_DAYS, "0")], AuthzSettings::from_reader);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn enforcement_is_report_unless_disconnect_is_asked_and_a_bad_value_is_named() {
        let (s, problems) = read_pairs(&[], AuthzSettings::from_reader);
        assert!(problems.is_empty());
        assert_eq!(
            (s.enforce, s.grace),
            (Enforce::Report, time::Duration::minutes(15))
        );
        let pairs = [(ENFORCE, " Disconnect "), (GRACE, "0")];
        let (s, problems) = read_pairs(&pairs, AuthzSettings::from_reader);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (s.enforce, s.grace),
            (Enforce::Disconnect, time::Duration::ZERO)
        );
        let pairs = [(ENFORCE, "block"), (GRACE, "1441")];
        let (s, problems) = read_pairs(&pairs, AuthzSettings::from_reader);
        assert_eq!(s.enforce, Enforce::Report);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("AUTHZ_ENFORCE:"), "{problems:?}");
        assert!(
            problems[1].starts_with("AUTHZ_GRACE_MINUTES:"),
            "{problems:?}"
        );
    }

    #[test]
    fn graph_groups_and_signin_mfa_are_off_unless_asked_and_groups_need_graph() {
        let (s, problems) = read_pairs(&[], AuthzSettings::from_reader);
        assert!(problems.is_empty());
        assert!(!s.pim_groups && !s.signin_mfa);
        assert_eq!(s.cannot_read_groups(false), None);
        let pairs = [(PIM_GROUPS, "true"), (SIGNIN_MFA, "1")];
        let (s, problems) = read_pairs(&pairs, AuthzSettings::from_reader);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.pim_groups && s.signin_mfa);
        assert_eq!(s.cannot_read_groups(true), None);
        let refused = s.cannot_read_groups(false).unwrap_or_default();
        assert!(refused.starts_with("AUTHZ_PIM_GROUPS:") && refused.contains("GRAPH_ENDPOINT"));
        let (_, problems) = read_pairs(&[(SIGNIN_MFA, "yes")], AuthzSettings::from_reader);
        assert_eq!(problems, ["AUTHZ_SIGNIN_MFA: expected true or false"]);
    }

    #[test]
    fn disconnect_is_refused_at_start_up_when_the_product_cannot_disconnect() {
        let host = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b1";
        let base = [(ENFORCE, "disconnect"), ("BASTION_HOSTS", host)];
        let problems = |extra: &[(&str, &str)]| {
            // The first of a name counts: `extra` overrides `base`.
            let mut pairs: Vec<(&str, &str)> = extra.to_vec();
            pairs.extend_from_slice(&base);
            match crate::testkit::state::config(&pairs) {
                Ok(_) => Vec::new(),
                Err(e) => e.0,
            }
        };
        let off = problems(&[]);
        assert!(
            off.iter()
                .any(|p| p.starts_with("AUTHZ_ENFORCE:") && p.contains("BASTION_DISCONNECT")),
            "{off:?}"
        );
        assert!(problems(&[("BASTION_DISCONNECT", "true")]).is_empty());
        let hostless = problems(&[("BASTION_DISCONNECT", "true"), ("BASTION_HOSTS", "none")]);
        assert!(
            hostless
                .iter()
                .any(|p| p.starts_with("AUTHZ_ENFORCE:") && p.contains("BASTION_HOSTS")),
            "{hostless:?}"
        );
    }
}
