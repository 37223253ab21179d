//! Segregation of duties: a reviewer may not sign off a session whose user is themselves. The
//! check ([`self_review`]) compares the authenticated principal with the session's user
//! ([`crate::catalogue::person`]: UPN/e-mail case-insensitively, a guest's `#EXT#` UPN as the
//! address it stands for, object id where both carry one); two people only by object ids. A review
//! it cannot decide is accepted but marked [`UNVERIFIED`] ([`identity_check`]), and checked again
//! once the join names its session ([`super::recheck`]); an application is refused
//! ([`application`]);
//! a refused attempt is recorded once ([`record_refusal`]) in table `reviewrefusals`:
//! `PartitionKey` = day of the attempt (UTC), `RowKey` = the attempt's review id (the id the review
//! would have had: a retry finds the row and adds nothing). [`refusals`] reads a period's rows, one
//! partition query per day, for the evidence pack.

use serde_json::json;
use time::OffsetDateTime;

use super::model::{Context, Subject};
use crate::azure::AzureError;
use crate::catalogue::person::{Duty, Person};
use crate::dates::{format_date, format_utc_millis};
use crate::tables::ops::{insert_once, query_all};
use crate::tables::{Entity, Filter, TableStore, get_str};

/// The refused attempts.
pub const REFUSALS_TABLE: &str = "reviewrefusals";

/// `IdentityCheck` of a review whose reviewer and session user are two people by their Entra
/// object ids (the token's `oid`; the session's `UserEmail` resolved through Microsoft Graph).
pub const VERIFIED: &str = "verified";
/// `IdentityCheck` of a review accepted although nothing shows reviewer and user to be two people:
/// an object id missing on one side (a session not joined yet, a VM login only, a person Graph did
/// not resolve or `GRAPH_ENDPOINT` unset, a function-key caller). Not counted as independent.
pub const UNVERIFIED: &str = "unverified-identity";
/// `IdentityCheck` of a review found, after the join named its session, to be by the session's
/// own user: kept in the log, not counted as reviewed, and recorded as refused.
pub const SELF_REVIEW: &str = "self-review";

/// The authenticated reviewer: the name reviews carry and the person the check compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// The name recorded as `Reviewer`.
    pub name: String,
    /// Its names and object id.
    pub person: Person,
}

impl Reviewer {
    /// A reviewer known by `name` only (a function-key caller, tests).
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            person: Person::new([name], None),
        }
    }
}

/// The reason a review by `reviewer` is refused whatever its subject: an application (a token
/// naming no user: no name it goes by) signs nothing off, as it releases no hold.
pub fn application(reviewer: &Reviewer) -> Option<String> {
    reviewer.person.names.is_empty().then(|| {
        "the caller names no user (an application token): a review is a person's sign-off, so \
         an application cannot record one"
            .to_owned()
    })
}

/// The reason a review by `reviewer` of a session whose user is `user` is refused, if it is.
pub fn self_review(reviewer: &Reviewer, user: &Person) -> Option<String> {
    reviewer.person.same_as(user).map(|m| {
        format!(
            "self-review refused: the reviewer is the session's user (same {})",
            m.as_str()
        )
    })
}

/// The `IdentityCheck` of a review by `reviewer` of a session whose user is `user`, when it is
/// not refused ([`self_review`] first).
pub fn identity_check(reviewer: &Reviewer, user: &Person) -> &'static str {
    match reviewer.person.duty(user) {
        Duty::Distinct => VERIFIED,
        Duty::Same(_) => SELF_REVIEW,
        Duty::Unverified => UNVERIFIED,
    }
}

/// One refused attempt.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// The id the review would have had.
    pub attempt: &'a str,
    /// Who tried.
    pub reviewer: &'a Reviewer,
    /// What.
    pub subject: &'a Subject,
    /// The subject's context.
    pub context: &'a Context,
    /// The session's user.
    pub user: &'a Person,
    /// Why it was refused.
    pub reason: &'a str,
    /// When.
    pub at: OffsetDateTime,
}

/// Records a refused attempt (insert; 409 = this attempt is recorded already).
///
/// # Errors
/// Storage failures.
pub async fn record_refusal(tables: &dyn TableStore, r: &Refusal<'_>) -> Result<(), AzureError> {
    let (by, c) = (r.reviewer, r.context);
    let e = crate::tables::entity(json!({
        "PartitionKey": format_date(r.at.date()), "RowKey": r.attempt,
        "AttemptId": r.attempt, "At": format_utc_millis(r.at), "Reviewer": by.name,
        "ReviewerObjectId": by.person.object_id.clone().unwrap_or_default(),
        "SubjectKind": r.subject.kind.as_str(), "SubjectId": r.subject.id,
        "SessionUser": r.user.names.join(", "), "TunnelId": c.tunnel_id,
        "BastionHost": c.bastion_host, "TargetVm": c.target_vm, "Reason": r.reason,
    }));
    insert_once(tables, REFUSALS_TABLE, &e).await.map(drop)
}

/// The refused attempts of day partition `day` whose time lies in `[from, to)`, oldest first.
///
/// # Errors
/// Storage failures (a missing table is no attempt).
pub async fn refusals(
    tables: &dyn TableStore,
    day: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<Entity>, AzureError> {
    let (from, to) = (format_utc_millis(from), format_utc_millis(to));
    let rows = query_all(tables, REFUSALS_TABLE, &Filter::partition(day), usize::MAX).await?;
    let mut out: Vec<Entity> = rows
        .into_iter()
        .map(|s| s.entity)
        .filter(|e| get_str(e, "At").is_some_and(|a| a >= from.as_str() && a < to.as_str()))
        .collect();
    out.sort_by(|a, b| get_str(a, "At").cmp(&get_str(b, "At")));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sessions_user_may_not_review_it() {
        let alice = Reviewer {
            name: "Alice@Contoso.com".into(),
            person: Person::new(["Alice@Contoso.com"], Some("oid-1")),
        };
        let user = Person::new(["alice@contoso.com", "azureuser"], None);
        let why = self_review(&alice, &user).expect("refused");
        assert!(why.contains("UPN/e-mail"), "{why}");
        let bob = Reviewer::named("bob@contoso.com");
        assert_eq!(self_review(&bob, &user), None);
        // A user without any name is no one's session.
        assert_eq!(self_review(&alice, &Person::default()), None);
        // Other names are not another person: without the session's object id, unverified.
        assert_eq!(identity_check(&bob, &user), UNVERIFIED);
        let resolved = Person::new(["alice@contoso.com", "azureuser"], Some("oid-1"));
        let bob = Reviewer {
            name: "bob@contoso.com".into(),
            person: Person::new(["bob@contoso.com"], Some("oid-2")),
        };
        assert_eq!(identity_check(&bob, &resolved), VERIFIED);
        // Alice renamed since: her object id still refuses her.
        let renamed = Reviewer {
            name: "alice.new@contoso.com".into(),
            person: Person::new(["alice.new@contoso.com"], Some("OID-1")),
        };
        let why = self_review(&renamed, &resolved).expect("refused");
        assert!(why.contains("object id"), "{why}");
        assert_eq!(identity_check(&bob, &Person::default()), UNVERIFIED);
        assert_eq!(
            identity_check(&bob, &Person::new(["azureuser"], None)),
            UNVERIFIED
        );
        let key = Reviewer::named("function-key caller");
        assert_eq!(identity_check(&key, &user), UNVERIFIED);
    }

    #[test]
    fn a_guest_reviewing_their_own_session_is_refused_in_either_form() {
        let guest = Reviewer {
            name: "alice@fabrikam.com".into(),
            person: Person::new(["alice@fabrikam.com"], Some("oid-g")),
        };
        let audit = Person::new(
            [
                "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
                "azureuser",
            ],
            None,
        );
        let why = self_review(&guest, &audit).expect("refused");
        assert!(why.contains("guest UPN/e-mail"), "{why}");
    }
}
