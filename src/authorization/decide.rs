//! The verdict of one session (pure): which evidence covers its start, for its person, a role
//! counting only where its definition allows the connection ([`super::roles`]: at a scope reaching
//! the VM, at the session's Bastion host, or at the VM's virtual network). In order: a PIM activation (`pim`), a role held by a group whose
//! membership the person activated (`pim-group`), a just-in-time request to the VM opening the session's port (`jit`), a
//! standing assignment or membership (`standing`: PIM for Groups' assigned membership, or the
//! person among the group's members as read, [`super::members`]); with none, `unknown` when a
//! source the decision needs was not read (a group holding a role there whose members were not
//! read, a role that could cover it whose definition was not read, one at a virtual network of its
//! subscription while the VM's networks were not read, or the session names no
//! person), else `none`.
//!
//! A window covers the start when it began no later than [`SKEW`] after it and ended no earlier
//! than [`SKEW`] before it (an open window has not ended). A just-in-time request whose end is
//! not known covers [`JIT_MAX`] from its start, the longest Defender allows.
//!
//! A group's members are read as they are (Microsoft Graph has no membership at a past time): a
//! `standing` through membership, or a `none` beside a group holding a role there, whose members
//! were read after the session's start names that read time in its reasons.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use time::{Duration, OffsetDateTime};

use super::evidence::{Evidence, Kind};
use super::members::{Members, member_at_start};
use super::roles::{Definitions, Judged, Reach, guid, judge};
use crate::catalogue::person::forms;
use crate::names::named;

/// The clock skew allowed between the session's start and a window's ends.
pub const SKEW: Duration = Duration::minutes(5);
/// The longest a just-in-time request opens a port (`maxRequestAccessDuration` up to `PT24H`).
pub const JIT_MAX: Duration = Duration::hours(24);
/// The longest a PIM activation lasts (an Azure role's "Activation maximum duration", up to 24
/// hours): the history of `AuditLogs` a session's verdict needs begins this long before its start.
pub const ACTIVATION_MAX: Duration = Duration::hours(24);
/// How long before a window's start an approval counts as that window's.
pub const APPROVAL_BEFORE: Duration = Duration::hours(24);

named! {
    /// A session's verdict (`Unknown` until decided).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Verdict {
        /// A PIM activation allowed it.
        Pim = "pim",
        /// A PIM for Groups activation of a group holding the role allowed it.
        PimGroup = "pim-group",
        /// A just-in-time request allowed it.
        Jit = "jit",
        /// A standing assignment allowed it.
        Standing = "standing",
        /// Every source was read and none covers it.
        None = "none",
        /// A source the decision needs could not be read.
        #[default]
        Unknown = "unknown",
    }
}

/// What the decision needs of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Its person's UPN (`UserEmail`; empty: not logged).
    pub upn: String,
    /// Its person's object id, when bound.
    pub object_id: String,
    /// The target VM's resource id.
    pub vm: String,
    /// Its start.
    pub start: Option<OffsetDateTime>,
    /// Its protocol as logged (`ssh`, `rdp`; empty: not logged).
    pub protocol: String,
    /// Its Bastion host's name, lower-case.
    pub host: String,
    /// Whether it signed in with Entra ID ([`Entra`]): whether a role granting at its VM only
    /// the login data action allows it.
    pub entra: Entra,
}

/// Whether a session signed in with Entra ID: its VM account is in UPN form ([`upn_form`]) **and**
/// its VM showed an Entra ID login extension when its subscription's VM list was last read (an
/// AD DS domain-joined VM signs people in with their domain UPN too, so the name alone is no
/// proof).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Entra {
    /// It did not: its account is not in UPN form, or its VM showed no Entra ID login extension.
    #[default]
    No,
    /// It did: a UPN on a VM showing `AADSSHLoginForLinux` or `AADLoginForWindows`.
    Yes,
    /// Its account is in UPN form and whether its VM signs people in with Entra ID is not known:
    /// why (a role allowing it only through the login data action makes it `unknown`).
    Untold(String),
}

/// `account` is in UPN form: `name@domain`, both parts non-empty, no space or `\`.
pub fn upn_form(account: &str) -> bool {
    let account = account.trim();
    account.split_once('@').is_some_and(|(name, domain)| {
        !name.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !account.contains(|c: char| c.is_whitespace() || c == '\\')
    })
}

impl Session {
    /// The VM port the session connected to: its protocol's (22 for SSH, 3389 for RDP; the
    /// Bastion audit record names no port, so a custom port is not seen); `None` when the
    /// protocol is not known.
    pub fn port(&self) -> Option<u16> {
        match self.protocol.trim().to_ascii_lowercase().as_str() {
            "ssh" => Some(22),
            "rdp" => Some(3389),
            _ => None,
        }
    }
}

/// Whether just-in-time request `e` opened the port of `s` (any port when the session's or the
/// request's ports are not known).
fn opens(e: &Evidence, s: &Session) -> bool {
    s.port()
        .is_none_or(|p| e.ports.is_empty() || e.ports.contains(&p))
}

/// What could not be read for a session's subscription (or for all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    /// `(subscription, why)`; an empty subscription is every one (a workspace, Graph).
    pub failed: Vec<(String, String)>,
    /// Group memberships were read (Microsoft Graph's PIM for Groups).
    pub groups_read: bool,
    /// `(group, why)`: the groups whose memberships could not be read this time.
    pub groups_failed: Vec<(String, String)>,
    /// Per group: its transitive members as read ([`super::members`]).
    pub members: BTreeMap<String, Members>,
    /// `(group, why)`: the groups whose members could not be read this time.
    pub members_failed: Vec<(String, String)>,
    /// `(subscription, last read whole)`: PIM's lists were not read this pass (read within
    /// `PACE`, or its Resource Manager budget spent); a session there that started after that
    /// read and nothing covers waits for a fresh list, undecided (never `none`).
    pub deferred: Vec<(String, Option<OffsetDateTime>)>,
    /// Since when `AuditLogs` (PIM's rows, Entra's group membership changes) have been read
    /// without a gap in every workspace, no earlier than the earliest row each held (`None`: not
    /// read whole this pass): a group's membership at a session's start is told from its members
    /// read since only for a start after it, and a session nothing covers is `none` only when its
    /// history ([`ACTIVATION_MAX`] before its start) lies after it.
    pub changes_from: Option<OffsetDateTime>,
    /// Per subscription: its role definitions as last listed, or why not ([`super::roles`]); a
    /// subscription without an entry has none listed yet (its sessions a role may cover wait).
    pub roles: BTreeMap<String, Definitions>,
    /// The VMs' virtual networks, as the other doors' pass read their NICs.
    pub networks: Networks,
}

/// The VMs' virtual networks as read (the other doors' pass reads the watched VMs' NICs): a VM
/// in neither map was not read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks {
    /// Per VM read (lower-case id): the virtual networks its NICs' subnets lie in (lower-case).
    pub of: BTreeMap<String, BTreeSet<String>>,
    /// Per VM whose NICs could not be read (lower-case id): why.
    pub unread: BTreeMap<String, String>,
}

impl Reads {
    /// A session in `subscription` started at `start` needs a list not read this pass: its
    /// subscription's lists were deferred and last read before it started (or never).
    pub fn awaits_list(&self, subscription: &str, start: OffsetDateTime) -> bool {
        (self.deferred.iter()).any(|(s, last)| s == subscription && last.is_none_or(|l| l < start))
    }
}

/// One session's authorization record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The verdict.
    pub verdict: Verdict,
    /// The evidence it rests on (ids, sorted).
    pub evidence: Vec<String>,
    /// The covering window.
    pub from: Option<OffsetDateTime>,
    /// Its end (`None`: open or permanent).
    pub until: Option<OffsetDateTime>,
    /// Who approved it.
    pub approver: String,
    /// The requester's reason.
    pub justification: String,
    /// The ticket: `ticketInfo`, else the `AUTHZ_TICKET_PATTERN` match in the justification.
    pub ticket: String,
    /// For `unknown`: what could not be read.
    pub reasons: Vec<String>,
    /// Whether the session's Entra VM sign-in satisfied MFA (`None`: not looked up, or no VM
    /// sign-in found), set after the decision ([`super::mfa`]).
    pub mfa: Option<super::evidence::Mfa>,
    /// The `SigninLogs` row `mfa` rests on.
    pub mfa_sign_in: String,
}

/// The subscription of a resource id, lower-case.
pub fn subscription_of(id: &str) -> String {
    let id = id.to_ascii_lowercase();
    let mut parts = id.trim_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some("subscriptions"), Some(s)) => s.to_owned(),
        _ => String::new(),
    }
}

/// `scope` reaches `vm`: the VM itself or a parent (group, subscription), or a management group
/// or the root listed under the VM's subscription (the list shows what applies there).
pub fn reaches(e: &Evidence, vm: &str) -> bool {
    let vm = vm.to_ascii_lowercase();
    let scope = e.scope.trim_end_matches('/');
    if e.scope.is_empty() {
        return false;
    }
    if !scope.is_empty() && (vm == scope || vm.starts_with(&format!("{scope}/"))) {
        return true;
    }
    let above = scope.is_empty() || scope.starts_with("/providers/microsoft.management/");
    above && !e.seen_under.is_empty() && e.seen_under == subscription_of(&vm)
}

/// The name of the `Microsoft.Network` resource of `kind` (lower-case plural) that `scope` is
/// itself, if it is one.
fn network_resource<'a>(scope: &'a str, kind: &str) -> Option<&'a str> {
    let p: Vec<&str> = scope.trim_matches('/').split('/').collect();
    let shape = (
        "subscriptions",
        "resourcegroups",
        "providers",
        "microsoft.network",
        kind,
    );
    (p.len() == 8 && (p[0], p[2], p[4], p[5], p[6]) == shape).then(|| p[7])
}

/// `scope` is the Bastion host named `host` itself.
fn at_host(scope: &str, host: &str) -> bool {
    !host.is_empty() && network_resource(scope, "bastionhosts") == Some(host)
}

/// `scope` is a resource group (`/subscriptions/{id}/resourcegroups/{name}`).
fn group(scope: &str) -> bool {
    let p: Vec<&str> = scope.trim_matches('/').split('/').collect();
    p.len() == 4 && (p[0], p[2]) == ("subscriptions", "resourcegroups")
}

/// Whether `scope` (lower-case) reaches one of `vm`'s (lower-case) virtual networks: a network
/// itself, or a network's resource group (`Ok`); `Err(why)` when the VM's networks were not read
/// and `scope` is a virtual network or a resource group of its subscription (it may be one of
/// them, or hold one: a VM's NICs and their network lie in its subscription).
fn at_vnet(scope: &str, vm: &str, networks: &Networks) -> Result<bool, String> {
    let scope = scope.trim_end_matches('/');
    match networks.of.get(vm) {
        Some(vnets) => Ok(vnets.iter().any(|v| {
            let group = v.split_once("/providers/").map(|(g, _)| g);
            v == scope || group == Some(scope)
        })),
        None if (network_resource(scope, "virtualnetworks").is_some() || group(scope))
            && subscription_of(scope) == subscription_of(vm) =>
        {
            Err((networks.unread.get(vm).cloned()).unwrap_or_else(|| {
                "the other doors' pass read no network interface of it this time".to_owned()
            }))
        }
        None => Ok(false),
    }
}

/// What a role held (evidence `e`) tells of session `s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allows {
    /// It allows the connection where it is held ([`super::roles`]).
    Yes,
    /// It does not: held elsewhere, or granting nothing the connection needs there.
    No,
    /// Its definition was not read, or it grants only the login data action and the session's
    /// Entra VM sign-in is not told ([`Entra::Untold`]): why.
    Unread(String),
    /// Its subscription's definitions are not listed yet.
    Unlisted,
}

/// Whether role `e` allows `s`: held at a scope reaching its VM, at its Bastion host, or at its
/// VM's virtual network (or that network's resource group), and granting there what the
/// connection needs, by the definitions of the VM's subscription. Held at a virtual network or a
/// resource group of the VM's subscription while the VM's networks were not read, a role granting
/// the network's read is unread (its session `unknown`, never `none`).
pub fn allows(e: &Evidence, s: &Session, reads: &Reads) -> Allows {
    let (reach, unread) = match () {
        () if reaches(e, &s.vm) => (Reach::Vm, None),
        () if at_host(&e.scope, &s.host) => (Reach::Host, None),
        () => match at_vnet(&e.scope, &s.vm, &reads.networks) {
            Ok(true) => (Reach::Vnet, None),
            Ok(false) => return Allows::No,
            Err(why) => (Reach::Vnet, Some(why)),
        },
    };
    match judge(reads.roles.get(&subscription_of(&s.vm)), &e.role, reach) {
        // Held at a virtual network that may be the VM's: not told it does not allow it.
        Judged::Known(g) if g.allows(reach, false) => match unread {
            None => Allows::Yes,
            Some(why) => Allows::Unread(format!(
                "role {} at {} may cover it and the VM's virtual network was not read: {why}",
                guid(&e.role),
                e.scope
            )),
        },
        // Only through the login data action: as the session's Entra VM sign-in is told.
        Judged::Known(g) if g.allows(reach, true) => match &s.entra {
            Entra::Yes => Allows::Yes,
            Entra::No => Allows::No,
            Entra::Untold(why) => Allows::Unread(format!(
                "role {} at {} allows it only through Entra VM sign-in (a login data action) and whether its VM signs people in with Entra ID is not known: {why} ({} at its subscription, for its VM list)",
                guid(&e.role),
                e.scope,
                super::roles::VM_READ
            )),
        },
        Judged::Known(_) => Allows::No,
        Judged::Unread(why) => Allows::Unread(format!(
            "role {} at {} may cover it and {why} ({})",
            guid(&e.role),
            e.scope,
            super::roles::READ_DEFINITIONS
        )),
        Judged::Unlisted => Allows::Unlisted,
    }
}

/// The roles that could cover `s` at its start whatever they grant: the person's own, and every
/// group's (its members may include the person).
fn roles_near<'a>(s: &'a Session, all: &'a [Evidence]) -> impl Iterator<Item = &'a Evidence> + 'a {
    let (at, mine) = (s.start.map(skewed), forms(&s.upn));
    (all.iter())
        .filter(|e| matches!(e.kind, Some(Kind::Pim | Kind::Standing)))
        .filter(move |e| at.is_some_and(|w| within(e, w)))
        .filter(move |e| e.group_principal || person_of(e, s, &mine))
}

/// A role of its person, or of a group, could cover `s` at its start (whatever it grants): its
/// VM's Entra ID login extensions may tell whether it allows `s`.
pub fn role_near(s: &Session, all: &[Evidence]) -> bool {
    roles_near(s, all).next().is_some()
}

/// A role that could cover `s` waits for its subscription's definitions (never listed yet): its
/// verdict waits too, undecided rather than `none`.
pub fn awaits_definition(s: &Session, all: &[Evidence], reads: &Reads) -> bool {
    roles_near(s, all).any(|e| allows(e, s, reads) == Allows::Unlisted)
}

/// `e`'s principal is the session's person, given `mine`, the [`forms`] of the session's UPN (a
/// pass compares each session with every piece of evidence: its forms are made once a session,
/// not once a comparison).
pub fn person_of(e: &Evidence, s: &Session, mine: &[String]) -> bool {
    if !e.principal.is_empty() && !s.object_id.is_empty() {
        return e.principal.eq_ignore_ascii_case(s.object_id.trim());
    }
    !s.upn.trim().is_empty() && e.names.iter().any(|n| named(n, mine))
}

/// One of `name`'s [`forms`] is among `mine` (forms, so in lower case). A name in ASCII without
/// `#` has one form, itself trimmed in lower case: compared as it stands, without a copy.
fn named(name: &str, mine: &[String]) -> bool {
    let n = name.trim();
    if n.is_ascii() && !n.contains('#') {
        return !n.is_empty() && mine.iter().any(|m| m.eq_ignore_ascii_case(n));
    }
    forms(name)
        .iter()
        .any(|f| !f.is_empty() && mine.contains(f))
}

/// `t` less and plus [`SKEW`]: the bounds [`within`] compares a window's ends with (reckoned once
/// a session, not once a piece of evidence).
fn skewed(t: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    (t - SKEW, t + SKEW)
}

/// `e`'s window covers the start whose [`skewed`] bounds are `(lo, hi)`.
fn within(e: &Evidence, (lo, hi): (OffsetDateTime, OffsetDateTime)) -> bool {
    let Some(start) = e.start else { return false };
    let end = match (e.end, e.kind) {
        (Some(end), _) => Some(end),
        (None, Some(Kind::Jit)) => Some(start + JIT_MAX),
        (None, _) => None,
    };
    start <= hi && end.is_none_or(|end| end >= lo)
}

/// Decides `s` from `all` the evidence known, what could not be read, and the ticket pattern.
pub fn decide(s: &Session, all: &[Evidence], reads: &Reads, pattern: Option<&Regex>) -> Record {
    let mut record = Record::default();
    let Some(t) = s.start else {
        record
            .reasons
            .push("the session's start is not known".into());
        return record;
    };
    if s.upn.trim().is_empty() && s.object_id.trim().is_empty() {
        record
            .reasons
            .push("the session names no person (no UserEmail)".into());
        return record;
    }
    let (at, names) = (skewed(t), forms(&s.upn));
    let of = |k: Kind| {
        all.iter()
            .filter(move |e| e.kind == Some(k) && within(e, at))
    };
    let role_here = |e: &&Evidence| allows(e, s, reads) == Allows::Yes;
    let mine = |e: &&Evidence| person_of(e, s, &names);
    // The roles held by groups here.
    let group_roles: Vec<&Evidence> = all
        .iter()
        .filter(|e| e.group_principal && matches!(e.kind, Some(Kind::Pim | Kind::Standing)))
        .filter(|e| within(e, at) && allows(e, s, reads) == Allows::Yes)
        .collect();
    // 1. PIM, the person's own activation.
    let pim: Vec<&Evidence> = of(Kind::Pim).filter(mine).filter(role_here).collect();
    // 2. A group's role, with the person's activated membership of it.
    let grouped = |k: Kind| -> Vec<&Evidence> {
        let mut out = Vec::new();
        for m in of(k).filter(mine) {
            let roles: Vec<&Evidence> = (group_roles.iter())
                .filter(|e| e.principal == m.group)
                .copied()
                .collect();
            if !roles.is_empty() {
                out.push(m);
                out.extend(roles);
            }
        }
        out
    };
    let pim_group = grouped(Kind::GroupActivation);
    let vm = s.vm.to_ascii_lowercase();
    let jit: Vec<&Evidence> = of(Kind::Jit)
        .filter(|e| e.scope == vm)
        .filter(|e| opens(e, s))
        .filter(mine)
        .collect();
    let mut standing: Vec<&Evidence> = of(Kind::Standing)
        .filter(|e| !e.group_principal)
        .filter(mine)
        .filter(role_here)
        .collect();
    standing.extend(grouped(Kind::GroupMember));
    // The person's membership at the start: the members as read, undone by the changes after it.
    let mut as_read: Vec<String> = Vec::new();
    let memberships: Vec<(Evidence, &Evidence)> = (group_roles.iter())
        .filter_map(|role| {
            let g = &role.principal;
            let m = reads.members.get(g)?;
            let person = (s.upn.as_str(), s.object_id.as_str());
            let mine = |e: &Evidence| person_of(e, s, &names);
            let (id, why) = member_at_start((g, m), (person, &mine), t, (all, reads.changes_from));
            as_read.extend(why);
            Some((membership(g, &id?), *role))
        })
        .collect();
    as_read.sort();
    as_read.dedup();
    let member: Vec<&Evidence> = (memberships.iter())
        .flat_map(|(m, role)| [m, *role])
        .collect();
    let chosen = [
        (Verdict::Pim, pim),
        (Verdict::PimGroup, pim_group),
        (Verdict::Jit, jit),
        (Verdict::Standing, standing),
        (Verdict::Standing, member),
    ]
    .into_iter()
    .find(|(_, found)| !found.is_empty());
    if let Some((verdict, found)) = chosen {
        fill(&mut record, verdict, &found, all, s, pattern);
        if found
            .iter()
            .any(|e| e.kind == Some(Kind::GroupMember) && e.id.starts_with("member:"))
        {
            record.reasons = as_read;
        }
        if verdict == Verdict::Jit && s.port().is_none() {
            record.reasons.push(
                "the session's protocol is not logged: the request's ports were not compared with its port"
                    .to_owned(),
            );
        }
        return record;
    }
    // Nothing covers it: was everything read?
    let sub = subscription_of(&s.vm);
    record.reasons = reads
        .failed
        .iter()
        .filter(|(at, _)| at.is_empty() || *at == sub)
        .map(|(_, why)| why.clone())
        .collect();
    // A role that could cover it whose definition was not read: not told it does not allow it.
    for e in roles_near(s, all) {
        if let Allows::Unread(why) = allows(e, s, reads) {
            record.reasons.push(why);
        }
    }
    // The person's just-in-time request for the VM covering the start opened other ports than the
    // protocol's: the audit record names no port, so a session on a custom port cannot be told
    // from one the request did not open.
    let other_ports: Vec<u16> = of(Kind::Jit)
        .filter(|e| e.scope == vm)
        .filter(mine)
        .filter(|e| !opens(e, s))
        .flat_map(|e| e.ports.iter().copied())
        .collect();
    if let (Some(port), false) = (s.port(), other_ports.is_empty()) {
        record.reasons.push(format!(
            "a just-in-time request of this person opened port(s) {other_ports:?} of the VM at its start, not {port}; the audit record names no port, so a custom port cannot be told"
        ));
    }
    // An activation that ended before PIM's lists were first read is only in `AuditLogs`: before
    // the rows read (a workspace keeping them less long), it cannot be told absent.
    if let Some(from) = reads.changes_from.filter(|from| t - ACTIVATION_MAX < *from) {
        record.reasons.push(format!(
            "AuditLogs are read only since {} (the earliest row a workspace held when first read), later than {}, 24 hours before the session's start: a PIM activation covering it may have ended unseen",
            crate::dates::format_utc_millis(from),
            crate::dates::format_utc_millis(t - ACTIVATION_MAX)
        ));
    }
    for g in group_roles {
        let id = &g.principal;
        let failed = |list: &[(String, String)]| list.iter().find(|(at, _)| at == id).cloned();
        let mut why: Vec<String> = (failed(&reads.groups_failed).into_iter())
            .map(|(_, w)| format!("its members were not read: {w}"))
            .chain(failed(&reads.members_failed).map(|(_, w)| w))
            .collect();
        match reads.members.get(id) {
            _ if !reads.groups_read => why.push("its members were not read".to_owned()),
            None if why.is_empty() => why.push("its members were not read".to_owned()),
            Some(m) if m.unnamed > 0 && s.object_id.trim().is_empty() => why.push(format!(
                "{} of its members were read without a userPrincipalName (User.ReadBasic.All)",
                m.unnamed
            )),
            _ => {}
        }
        for w in why {
            (record.reasons).push(format!("group {id} holds a role here and {w}"));
        }
    }
    record.reasons.sort();
    record.reasons.dedup();
    record.verdict = if record.reasons.is_empty() {
        record.reasons = as_read;
        Verdict::None
    } else {
        Verdict::Unknown
    };
    record
}

/// The membership of member `id` in `group` as its members were read (its id names both).
fn membership(group: &str, id: &str) -> Evidence {
    Evidence {
        id: format!("member:{group}:{id}"),
        kind: Some(Kind::GroupMember),
        principal: id.to_owned(),
        group: group.to_owned(),
        ..Evidence::default()
    }
}

/// Whether two role ids name one role definition: Resource Manager gives its full id
/// (`…/roleDefinitions/{guid}`), an `AuditLogs` row's `Role` target may give the GUID alone.
fn same_role(a: &str, b: &str) -> bool {
    let guid = |r: &str| r.rsplit('/').next().unwrap_or(r).to_owned();
    guid(a).eq_ignore_ascii_case(&guid(b))
}

/// The record of a verdict resting on `found`: its ids, the primary window (the latest start),
/// and the justification, ticket and approver of the request or approval behind it.
fn fill(
    record: &mut Record,
    verdict: Verdict,
    found: &[&Evidence],
    all: &[Evidence],
    s: &Session,
    pattern: Option<&Regex>,
) {
    record.verdict = verdict;
    let primary = found
        .iter()
        .max_by(|a, b| a.start.cmp(&b.start).then_with(|| b.id.cmp(&a.id)))
        .copied();
    let Some(p) = primary else { return };
    record.from = p.start;
    record.until = p.end;
    // The requests behind the primary window: its schedule, or the same role, scope and start.
    let behind: Vec<&Evidence> = all
        .iter()
        .filter(|e| e.kind == p.kind && e.id != p.id)
        .filter(|e| {
            (!p.schedule.is_empty() && e.schedule == p.schedule)
                || (e.role == p.role
                    && e.scope == p.scope
                    && e.principal == p.principal
                    && matches!((e.start, p.start), (Some(a), Some(b)) if (a - b).abs() <= SKEW))
        })
        .collect();
    let mut ids: Vec<String> = found.iter().map(|e| e.id.clone()).collect();
    ids.extend(behind.iter().map(|e| e.id.clone()));
    let text = |f: fn(&Evidence) -> &str| {
        std::iter::once(p)
            .chain(behind.iter().copied())
            .map(f)
            .find(|v| !v.trim().is_empty())
            .unwrap_or_default()
            .to_owned()
    };
    record.justification = text(|e| &e.justification);
    record.ticket = text(|e| &e.ticket);
    record.approver = text(|e| &e.approver);
    if record.ticket.is_empty()
        && let Some(m) = pattern.and_then(|re| re.find(&record.justification))
    {
        record.ticket = m.as_str().to_owned();
    }
    if record.approver.is_empty()
        && let Some(start) = p.start
    {
        let approval = all
            .iter()
            .filter(|e| e.kind == Some(Kind::Approval) && person_of(e, s, &forms(&s.upn)))
            .filter(|e| p.role.is_empty() || e.role.is_empty() || same_role(&e.role, &p.role))
            .filter(|e| {
                e.start
                    .is_some_and(|at| at <= start + SKEW && at >= start - APPROVAL_BEFORE)
            })
            .max_by_key(|e| e.start);
        if let Some(a) = approval {
            record.approver = a.approver.clone();
            ids.push(a.id.clone());
        }
    }
    ids.sort();
    ids.dedup();
    record.evidence = ids;
}
