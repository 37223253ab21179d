//! Who a principal is, as far as rows can tell: the names it goes by (UPN, e-mail, preferred user
//! name, unique name) and its Entra object id when known. One matching rule for the
//! segregation-of-duties checks: two people are the same when a name of one equals a name of the
//! other (case-insensitive, trimmed, in any of its [`forms`]), or when both carry an object id and
//! the ids are equal (case-insensitive: a GUID).
//!
//! A guest's UPN in the inviting tenant is its outside address with `@` written `_`, then
//! `#EXT#@` and the tenant's domain (`alice_fabrikam.com#EXT#@contoso.onmicrosoft.com` stands for
//! `alice@fabrikam.com`), and a v1 token's `unique_name` of an outside account is
//! `<provider>#<address>` (`live.com#alice@outlook.com`): both also match as that address, so a
//! guest is the same person whichever side carries which form.
//!
//! The Bastion audit records name the portal user by `userEmail` (its Entra UPN) and the VM login
//! by `userName`; they carry no object id: a session's person gets one when its UPN is resolved
//! through Microsoft Graph (`reviews::people`). Names can show that two principals are the same
//! person, never that they are two: a user renamed since is another name of the same person. Two
//! people are told apart only by object ids, on both sides; otherwise the check is
//! [`Duty::Unverified`].

use crate::names::named;

/// A principal or a session's user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Names it goes by (UPN, e-mail, user name); empty ones are ignored.
    pub names: Vec<String>,
    /// Entra object id, when the source carries one.
    pub object_id: Option<String>,
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The forms a name is compared in: trimmed and in lower case, and for a guest's UPN
/// (`…#EXT#@…`) or an outside account's `<provider>#<address>` also the address it stands for.
pub fn forms(name: &str) -> Vec<String> {
    let n = norm(name);
    let mut out = vec![n.clone()];
    if let Some(at) = n.find("#ext#@") {
        // `alice_fabrikam.com`: the last `_` was the `@` (a domain has no `_`).
        if let Some((local, domain)) = n[..at].rsplit_once('_')
            && !local.is_empty()
            && domain.contains('.')
        {
            out.push(format!("{local}@{domain}"));
        }
    } else if let Some((provider, address)) = n.rsplit_once('#')
        && !provider.contains('@')
        && address.contains('@')
    {
        out.push(address.to_owned());
    }
    out
}

impl Person {
    /// A person with `names` and an optional object id (blank values dropped).
    pub fn new<I, S>(names: I, object_id: Option<&str>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            let n = n.as_ref().trim();
            if !n.is_empty() && !out.iter().any(|o| norm(o) == norm(n)) {
                out.push(n.to_owned());
            }
        }
        Self {
            names: out,
            object_id: object_id
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
        }
    }

    /// Why `self` and `other` are the same person (`None`: they are not, as far as known).
    pub fn same_as(&self, other: &Self) -> Option<Match> {
        if let (Some(a), Some(b)) = (&self.object_id, &other.object_id)
            && norm(a) == norm(b)
        {
            return Some(Match::ObjectId);
        }
        let mut guest = None;
        for a in &self.names {
            for b in &other.names {
                if norm(a) == norm(b) {
                    return Some(Match::Name);
                }
                let (fa, fb) = (forms(a), forms(b));
                if guest.is_none() && fa.iter().any(|x| fb.contains(x)) {
                    guest = Some(Match::Guest);
                }
            }
        }
        guest
    }

    /// True when it carries a sign-in name (a UPN or e-mail: with `@`).
    pub fn signs_in(&self) -> bool {
        self.names.iter().any(|n| n.contains('@'))
    }

    /// Whether `self` (a reviewer, an approver) is `user`: the same person (a name or the object
    /// id), two people (both carry an object id and they differ), or not known (an object id
    /// missing on either side: different names may be one person renamed).
    pub fn duty(&self, user: &Self) -> Duty {
        if let Some(m) = self.same_as(user) {
            return Duty::Same(m);
        }
        if self.object_id.is_some() && user.object_id.is_some() {
            Duty::Distinct
        } else {
            Duty::Unverified
        }
    }
}

/// The outcome of a segregation-of-duties comparison ([`Person::duty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// The same person, by what matched.
    Same(Match),
    /// Two people: their object ids differ.
    Distinct,
    /// Not known: an object id is missing on one side (names cannot tell two people apart).
    Unverified,
}

named! {
    /// What matched.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Match {
        /// The same Entra object id.
        ObjectId = "object id",
        /// The same UPN / e-mail / user name (case-insensitive).
        Name = "UPN/e-mail",
        /// A guest's UPN and the outside address it stands for.
        Guest = "guest UPN/e-mail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_case_insensitively_and_object_ids_only_when_both_have_one() {
        let alice = Person::new(["Alice@Contoso.com"], Some("0000-AAAA"));
        let same_upn = Person::new(["", " alice@contoso.COM "], None);
        let same_oid = Person::new(["a.l@contoso.com"], Some("0000-aaaa"));
        let other = Person::new(["bob@contoso.com", "alice"], Some("1111"));
        assert_eq!(alice.same_as(&same_upn), Some(Match::Name));
        assert_eq!(same_upn.same_as(&alice), Some(Match::Name));
        assert_eq!(alice.same_as(&same_oid), Some(Match::ObjectId));
        assert_eq!(alice.same_as(&other), None);
        assert_eq!(Person::default().same_as(&Person::default()), None);
        assert_eq!(Person::new(["x"], Some(" ")).object_id, None);
    }

    #[test]
    fn a_guest_is_the_same_person_in_either_form_on_either_side() {
        let token = Person::new(["alice@fabrikam.com"], Some("oid-home"));
        let audit = Person::new(
            [
                "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
                "azureuser",
            ],
            None,
        );
        assert_eq!(token.same_as(&audit), Some(Match::Guest));
        assert_eq!(audit.same_as(&token), Some(Match::Guest));
        // The guest form in the token (its `upn`), the address in the audit record.
        let guest_token = Person::new(["ALICE_Fabrikam.com#EXT#@contoso.onmicrosoft.com"], None);
        let plain = Person::new(["Alice@Fabrikam.com"], None);
        assert_eq!(guest_token.same_as(&plain), Some(Match::Guest));
        // A v1 `unique_name` of an outside account.
        let v1 = Person::new(["live.com#alice@fabrikam.com"], None);
        assert_eq!(v1.same_as(&plain), Some(Match::Guest));
        // A local part with `_` of its own; another guest; another tenant's same guest.
        let underscored = Person::new(["a_b_fabrikam.com#EXT#@contoso.onmicrosoft.com"], None);
        assert_eq!(
            underscored.same_as(&Person::new(["a_b@fabrikam.com"], None)),
            Some(Match::Guest)
        );
        assert_eq!(
            underscored.same_as(&Person::new(["b@fabrikam.com"], None)),
            None
        );
        let elsewhere = Person::new(["alice_fabrikam.com#EXT#@other.onmicrosoft.com"], None);
        assert_eq!(elsewhere.same_as(&audit), Some(Match::Guest));
        assert_eq!(
            forms("bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            [
                "bob_fabrikam.com#ext#@contoso.onmicrosoft.com",
                "bob@fabrikam.com"
            ]
        );
        assert_eq!(forms(" Bob "), ["bob"]);
    }

    #[test]
    fn two_people_are_told_apart_only_by_object_ids() {
        let alice = Person::new(["alice@contoso.com"], Some("oid-a"));
        let bob = Person::new(["bob@contoso.com"], None);
        let vm_login = Person::new(["azureuser"], None);
        let nobody = Person::default();
        let app = Person::new(Vec::<String>::new(), Some("oid-app"));
        // Different names, no object id on the session's side: alice renamed, for all we know.
        assert_eq!(alice.duty(&bob), Duty::Unverified);
        assert_eq!(
            alice.duty(&Person::new(["bob@contoso.com"], Some("oid-b"))),
            Duty::Distinct
        );
        // Renamed since the session: the same object id under another name.
        assert_eq!(
            Person::new(["alice.renamed@contoso.com"], Some("OID-A"))
                .duty(&Person::new(["alice@contoso.com"], Some("oid-a"))),
            Duty::Same(Match::ObjectId)
        );
        assert_eq!(
            alice.duty(&Person::new(["ALICE@contoso.com"], None)),
            Duty::Same(Match::Name)
        );
        assert_eq!(alice.duty(&vm_login), Duty::Unverified);
        assert_eq!(alice.duty(&nobody), Duty::Unverified);
        assert_eq!(app.duty(&bob), Duty::Unverified);
        assert_eq!(app.duty(&Person::new(["x"], Some("oid-b"))), Duty::Distinct);
    }
}
