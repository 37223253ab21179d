//! The authorization settings: `AUTHZ_TICKET_PATTERN`, a regular expression whose first match
//! in a PIM justification is the record's ticket when the request carries no `ticketInfo`
//! (unset: only `ticketInfo` gives a ticket; an invalid expression is a start-up problem);
//! `SHARED_ACCOUNT_DAYS`, how far back one VM account used by two people is a shared account.

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

/// The settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzSettings {
    /// `AUTHZ_TICKET_PATTERN`.
    pub ticket_pattern: Option<TicketPattern>,
    /// `SHARED_ACCOUNT_DAYS` (1–90, default 30).
    pub shared_days: i64,
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
        Self {
            ticket_pattern,
            shared_days,
        }
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
}
