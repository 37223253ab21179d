//! Who a principal is, as far as rows can tell: the names it goes by (UPN, e-mail, preferred user
//! name) and its Entra object id when known. One matching rule for the segregation-of-duties
//! checks: two people are the same when a name of one equals a name of the other (case-insensitive,
//! trimmed), or when both carry an object id and the ids are equal (case-insensitive: a GUID).
//!
//! The Bastion audit records name the portal user by `userEmail` (its Entra UPN) and the VM login
//! by `userName`; they carry no object id, so a session's person is matched on names only.

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
        self.names
            .iter()
            .find(|a| other.names.iter().any(|b| norm(a) == norm(b)))
            .map(|_| Match::Name)
    }
}

/// What matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The same Entra object id.
    ObjectId,
    /// The same UPN / e-mail / user name (case-insensitive).
    Name,
}

impl Match {
    /// How the reason names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObjectId => "object id",
            Self::Name => "UPN/e-mail",
        }
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
}
