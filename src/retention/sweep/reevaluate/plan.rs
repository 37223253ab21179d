//! Pure planning of a re-evaluation: which classes a policy change lengthens or shortens.

use std::collections::BTreeMap;

use crate::catalogue::policy::Policy;

/// Days per class with a finite retention.
pub type ClassDays = BTreeMap<String, u32>;

/// The classes of `policy` with their days.
pub fn class_days(policy: &Policy) -> ClassDays {
    policy
        .classes
        .iter()
        .filter(|(_, c)| !c.hold)
        .filter_map(|(n, c)| Some((n.clone(), c.days?)))
        .collect()
}

/// What a policy change asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Classes whose retention got longer: re-tag their not-yet-due blobs.
    pub lengthen: Vec<String>,
    /// Classes whose retention got shorter and shortening is allowed: re-tag, logged and recorded.
    pub shorten: Vec<String>,
    /// Classes whose retention got shorter without the override: left alone (reported).
    pub kept_longer: Vec<String>,
}

impl Plan {
    /// The classes to visit, in order.
    pub fn classes(&self) -> impl Iterator<Item = &String> {
        self.lengthen.iter().chain(&self.shorten)
    }
}

/// Compares the class days the tags reflect with the policy's (new or removed classes: no visit).
pub fn plan(applied: &ClassDays, current: &ClassDays, allow_shortening: bool) -> Plan {
    let mut p = Plan::default();
    for (class, new) in current {
        match applied.get(class) {
            Some(old) if new > old => p.lengthen.push(class.clone()),
            Some(old) if new < old && allow_shortening => p.shorten.push(class.clone()),
            Some(old) if new < old => p.kept_longer.push(class.clone()),
            _ => {}
        }
    }
    p
}
