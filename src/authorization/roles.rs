//! Whether a role allows a Bastion connection, read from its definition (pure).
//!
//! Connecting through Bastion takes reads of the VM, its NIC, the Bastion host and (peered) the
//! VM's virtual network, and with Entra VM sign-in the data action to log in. A role *allows the
//! connection* where it grants the part of these its scope can carry:
//!
//! - at a scope reaching the session's VM (the VM, its resource group, subscription, or a
//!   management group above): `Microsoft.Compute/virtualMachines/read`, or, for a session that
//!   signed in with Entra ID ([`super::decide::Session::entra`]), the data action
//!   `Microsoft.Compute/virtualMachines/login/action` or `…/loginAsAdmin/action`;
//! - at the session's Bastion host itself: `Microsoft.Network/bastionHosts/read`;
//! - at the session VM's virtual network (as its NICs' subnets name it, read by the other doors'
//!   pass), or at that network's resource group where it is not the VM's:
//!   `Microsoft.Network/virtualNetworks/read` (Reader on the target VM's virtual network is one
//!   of the roles Bastion documents, for a host in a peered network).
//!
//! A permission is granted by a block of the definition's `permissions` when one of its
//! `actions` (`dataActions` for a data action) matches it and none of the same block's
//! `notActions` (`notDataActions`) does; a pattern's `*` matches any run of characters, in any
//! case ([`crate::permissions::matches`]), so `*`, `*/read` and `Microsoft.Compute/*` grant the
//! VM's read, and `Microsoft.Compute/virtualMachines/*/read` does not (it reads the VM's
//! children). A role granting none of these where it is held does not count.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::arm::RoleDefinition;
use crate::arm::model::RolePermission;
use crate::permissions::matches;

/// The VM's read.
pub const VM_READ: &str = "Microsoft.Compute/virtualMachines/read";
/// The Bastion host's read.
pub const HOST_READ: &str = "Microsoft.Network/bastionHosts/read";
/// The virtual network's read.
pub const VNET_READ: &str = "Microsoft.Network/virtualNetworks/read";
/// The Entra VM sign-in data actions (either one).
pub const LOGIN: [&str; 2] = [
    "Microsoft.Compute/virtualMachines/login/action",
    "Microsoft.Compute/virtualMachines/loginAsAdmin/action",
];
/// The permission a definition's read needs (named when it is refused).
pub const READ_DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions/read";

/// What a definition grants of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    /// [`VM_READ`].
    pub vm: bool,
    /// [`HOST_READ`].
    pub host: bool,
    /// One of [`LOGIN`] (a data action).
    pub login: bool,
    /// [`VNET_READ`].
    pub vnet: bool,
}

/// Where a role is held, relative to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// At a scope reaching the session's VM.
    Vm,
    /// At the session's Bastion host.
    Host,
    /// At the session VM's virtual network, or its resource group (not the VM's).
    Vnet,
}

impl Reach {
    /// The [`GRANTS_VERSION`] since which kept grants tell what a role held here needs.
    pub fn since(self) -> u32 {
        match self {
            Self::Vm | Self::Host => 1,
            Self::Vnet => 2,
        }
    }
}

/// `op` is granted by `block`'s `allow` patterns and not taken back by its `deny` ones.
fn granted(allow: &[String], deny: &[String], op: &str) -> bool {
    allow.iter().any(|a| matches(a, op)) && !deny.iter().any(|a| matches(a, op))
}

/// What `permissions` grant of a connection (each block on its own: its `not…` lists take back
/// only its own grants).
pub fn grants(permissions: &[RolePermission]) -> Grants {
    let any = |f: &dyn Fn(&RolePermission) -> bool| permissions.iter().any(f);
    Grants {
        vm: any(&|p| granted(&p.actions, &p.not_actions, VM_READ)),
        host: any(&|p| granted(&p.actions, &p.not_actions, HOST_READ)),
        login: any(&|p| (LOGIN.iter()).any(|op| granted(&p.data_actions, &p.not_data_actions, op))),
        vnet: any(&|p| granted(&p.actions, &p.not_actions, VNET_READ)),
    }
}

impl Grants {
    /// A role granting these, held at `reach`, allows a session (`entra`: it signed in with
    /// Entra ID).
    pub fn allows(self, reach: Reach, entra: bool) -> bool {
        match reach {
            Reach::Vm => self.vm || (entra && self.login),
            Reach::Host => self.host,
            Reach::Vnet => self.vnet,
        }
    }

    /// As kept: a letter per grant (`v`, `h`, `l`, `n`).
    pub fn as_text(self) -> String {
        let letters = [
            (self.vm, 'v'),
            (self.host, 'h'),
            (self.login, 'l'),
            (self.vnet, 'n'),
        ];
        (letters.into_iter())
            .filter(|(on, _)| *on)
            .map(|(_, c)| c)
            .collect()
    }

    /// From [`Grants::as_text`] (a text kept before [`GRANTS_VERSION`] 2 has no `n`: whether
    /// those grants include the network's read is not known, [`Definitions::knows`]).
    pub fn parse(s: &str) -> Self {
        Self {
            vm: s.contains('v'),
            host: s.contains('h'),
            login: s.contains('l'),
            vnet: s.contains('n'),
        }
    }
}

/// A definition's GUID: the last segment of its id, lower-case (an `AuditLogs` row may give the
/// GUID alone).
pub fn guid(role: &str) -> String {
    (role.trim().trim_end_matches('/').rsplit('/').next())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A kept definition list is read again when this old.
pub const REFRESH: Duration = Duration::days(1);
/// A list that failed is tried again no sooner than this.
pub const RETRY: Duration = Duration::hours(1);
/// What the kept grants tell: 1, the VM's and the host's reads and the login; 2, the virtual
/// network's read too. A list kept by an earlier version is read again at once
/// ([`Definitions::due`]), and until then tells nothing of the grants it did not read.
pub const GRANTS_VERSION: u32 = 2;

/// A subscription's role definitions as last listed (`{subscription}/providers/Microsoft.Authorization/roleDefinitions`:
/// those applicable at it and above).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Definitions {
    /// Each listed role's grants, by GUID.
    pub grants: BTreeMap<String, Grants>,
    /// When it was last listed whole (`None`: never).
    pub read_at: Option<OffsetDateTime>,
    /// The last list's failure, and when (cleared by a whole list).
    pub failed: Option<(OffsetDateTime, String)>,
    /// The [`GRANTS_VERSION`] its grants were read by (0: none read).
    pub version: u32,
}

impl Definitions {
    /// Of a whole list read at `now`.
    pub fn of(list: &[RoleDefinition], now: OffsetDateTime) -> Self {
        let grants = (list.iter())
            .map(|d| {
                let id = d.name.as_deref().or(d.id.as_deref()).unwrap_or_default();
                (guid(id), grants(&d.properties.permissions))
            })
            .filter(|(g, _)| !g.is_empty())
            .collect();
        Self {
            grants,
            read_at: Some(now),
            failed: None,
            version: GRANTS_VERSION,
        }
    }

    /// Its grants tell what a role held at `reach` needs: they were read by a version knowing
    /// that grant ([`Reach::since`]).
    pub fn knows(&self, reach: Reach) -> bool {
        self.version >= reach.since()
    }

    /// The list is to be read at `now`: never read whole, read [`REFRESH`] ago, or by an earlier
    /// [`GRANTS_VERSION`]; not within [`RETRY`] of a failure.
    pub fn due(&self, now: OffsetDateTime) -> bool {
        let stale =
            self.read_at.is_none_or(|at| at + REFRESH <= now) || self.version < GRANTS_VERSION;
        let resting = (self.failed.as_ref()).is_some_and(|(at, _)| *at + RETRY > now);
        stale && !resting
    }
}

/// What is known of one role's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Its grants.
    Known(Grants),
    /// Not read: why (the session it alone could cover is `unknown`).
    Unread(String),
    /// Not read yet (no list of its subscription yet, none failed): the session waits.
    Unlisted,
}

/// What `defs` (the session's subscription's) tell of `role` held at `reach`: grants kept by a
/// version that did not read what `reach` needs are as not listed yet (or, their list failing
/// since, unread), never a role that does not count.
pub fn judge(defs: Option<&Definitions>, role: &str, reach: Reach) -> Judged {
    let g = guid(role);
    if g.is_empty() {
        return Judged::Unread("the evidence names no role definition".into());
    }
    let Some(d) = defs else {
        return Judged::Unlisted;
    };
    let knows = d.knows(reach);
    if let Some(grants) = d.grants.get(&g).filter(|_| knows) {
        return Judged::Known(*grants);
    }
    match (d.read_at, &d.failed) {
        (_, Some((_, why))) => Judged::Unread(format!("its definition was not read: {why}")),
        (Some(at), None) if knows => Judged::Unread(format!(
            "its definition is not among those listed at its subscription at {}",
            crate::dates::format_utc_millis(at)
        )),
        (_, None) => Judged::Unlisted,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn block(actions: &[&str], not: &[&str], data: &[&str], not_data: &[&str]) -> RolePermission {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        RolePermission {
            actions: v(actions),
            not_actions: v(not),
            data_actions: v(data),
            not_data_actions: v(not_data),
        }
    }

    /// Wildcards in any case, `notActions` taking back their own block's grants only, data
    /// actions read apart from actions, and where a role is held deciding what it must grant.
    #[test]
    fn a_role_allows_the_connection_by_what_it_grants_where_it_is_held() {
        let of = |b: Vec<RolePermission>| grants(&b);
        // Owner and Contributor (`*`), Reader (`*/read`): the VM's and the host's read; no login.
        let owner = of(vec![block(&["*"], &[], &[], &[])]);
        assert_eq!((owner.vm, owner.host, owner.login), (true, true, false));
        let reader = of(vec![block(&["*/read"], &[], &[], &[])]);
        assert!(reader.vm && reader.host && !reader.login);
        // A provider's wildcard, any case.
        let compute = of(vec![block(&["MICROSOFT.COMPUTE/*"], &[], &[], &[])]);
        assert!(compute.vm && !compute.host);
        // A child's read is not the VM's read.
        let children = of(vec![block(
            &["Microsoft.Compute/virtualMachines/*/read"],
            &[],
            &[],
            &[],
        )]);
        assert!(!children.vm);
        // notActions take back their block's grant ...
        let not_vm = of(vec![block(&["*"], &["Microsoft.Compute/*"], &[], &[])]);
        assert!(!not_vm.vm && not_vm.host);
        // ... not another block's.
        let two = of(vec![
            block(&["*"], &["Microsoft.Compute/*"], &[], &[]),
            block(&["Microsoft.Compute/virtualMachines/read"], &[], &[], &[]),
        ]);
        assert!(two.vm);
        // An action does not grant a data action, nor the reverse.
        let login_action = of(vec![block(&[LOGIN[0]], &[], &[], &[])]);
        assert!(!login_action.login && !login_action.vm);
        let user_login = of(vec![block(
            &["Microsoft.Compute/virtualMachines/*/read"],
            &[],
            &["Microsoft.Compute/virtualMachines/login/action"],
            &[],
        )]);
        assert!(user_login.login && !user_login.vm);
        let admin = of(vec![block(
            &[],
            &[],
            &["Microsoft.Compute/virtualMachines/*"],
            &[],
        )]);
        assert!(admin.login);
        let no_admin = of(vec![block(
            &[],
            &[],
            &["Microsoft.Compute/*"],
            &["Microsoft.Compute/virtualMachines/login*"],
        )]);
        assert!(!no_admin.login);
        // Where it is held: the VM's scope wants the VM's read, or with Entra sign-in the login.
        assert!(reader.allows(Reach::Vm, false) && reader.allows(Reach::Vm, true));
        assert!(!user_login.allows(Reach::Vm, false));
        assert!(user_login.allows(Reach::Vm, true));
        // The host's scope wants the host's read.
        assert!(reader.allows(Reach::Host, false));
        assert!(!compute.allows(Reach::Host, false));
        assert!(!user_login.allows(Reach::Host, true));
        // Kept as text and back.
        for g in [owner, reader, compute, user_login, Grants::default()] {
            assert_eq!(Grants::parse(&g.as_text()), g);
        }
    }

    /// A listed role is judged by its grants; one not listed by a whole list, or whose list
    /// failed, is unread (its session `unknown`); with no list yet, pending.
    #[test]
    fn a_role_is_judged_from_its_subscriptions_list_or_said_unread() {
        let t = datetime!(2026-11-29 10:00 UTC);
        let item = |guid: &str, actions: &[&str]| -> RoleDefinition {
            serde_json::from_value(serde_json::json!({
                "properties": {"roleName": "r", "type": "BuiltInRole", "assignableScopes": ["/"],
                    "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}]},
                "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
                "type": "Microsoft.Authorization/roleDefinitions", "name": guid}))
            .expect("a definition")
        };
        let defs = Definitions::of(
            &[
                item("acdd72a7-3385-48ef-bd42-f606fba81ae7", &["*/read"]),
                item(
                    "4d97b98b-1d4f-4787-a291-c67834d212e7",
                    &["Microsoft.Network/*"],
                ),
            ],
            t,
        );
        let full = "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48ef-bd42-f606fba81ae7";
        assert!(matches!(judge(Some(&defs), full, Reach::Vm), Judged::Known(g) if g.vm));
        assert!(
            matches!(judge(Some(&defs), "4d97b98b-1d4f-4787-a291-c67834d212e7", Reach::Vm), Judged::Known(g) if !g.vm && g.host)
        );
        assert!(
            matches!(judge(Some(&defs), "other", Reach::Vm), Judged::Unread(w) if w.contains("not among"))
        );
        assert!(matches!(
            judge(Some(&defs), "", Reach::Vm),
            Judged::Unread(_)
        ));
        assert_eq!(judge(None, full, Reach::Vm), Judged::Unlisted);
        let failed = Definitions {
            failed: Some((t, format!("403: {READ_DEFINITIONS}"))),
            ..Definitions::default()
        };
        assert!(
            matches!(judge(Some(&failed), full, Reach::Vm), Judged::Unread(w) if w.contains(READ_DEFINITIONS))
        );
        // Read again a day on; a failure rests an hour.
        assert!(!defs.due(t + Duration::hours(23)) && defs.due(t + REFRESH));
        assert!(!failed.due(t + Duration::minutes(59)) && failed.due(t + RETRY));
        assert!(Definitions::default().due(t));
    }

    /// The virtual network's read is granted as the others (a block's `notActions` taking it
    /// back), counts at the network only, and is kept as `n`; a text kept before knew no `n`, so
    /// a list kept by version 1 is listed again and until then judges no role at a network (it
    /// waits, or is unread once the list fails), while its other grants still judge.
    #[test]
    fn the_networks_read_is_judged_only_by_a_list_that_read_it() {
        let of = |actions: &[&str], not: &[&str]| grants(&[block(actions, not, &[], &[])]);
        let reader = of(&["*/read"], &[]);
        assert!(reader.vnet && reader.allows(Reach::Vnet, false));
        let network = of(&["Microsoft.Network/*"], &[]);
        assert!(network.vnet && !network.vm && !network.allows(Reach::Vm, false));
        let join = of(
            &["Microsoft.Network/virtualNetworks/subnets/join/action"],
            &[],
        );
        assert!(!join.vnet && !join.allows(Reach::Vnet, true));
        let not_vnets = of(&["*"], &["Microsoft.Network/virtualNetworks/*"]);
        assert!(!not_vnets.vnet && not_vnets.vm && not_vnets.host);
        // The network's read counts at the network; the VM's read does not count there.
        let vm_only = of(&[VM_READ], &[]);
        assert!(!vm_only.allows(Reach::Vnet, true) && !join.allows(Reach::Host, false));
        assert_eq!(reader.as_text(), "vhn");
        assert_eq!(Grants::parse(&network.as_text()), network);
        // A text kept before the letter: no network read, known from the version only.
        assert_eq!(
            Grants::parse("vh"),
            Grants {
                vnet: false,
                ..reader
            }
        );
        let t = datetime!(2026-11-29 10:00 UTC);
        let kept = Definitions {
            grants: BTreeMap::from([("acdd72a7".to_owned(), Grants::parse("vh"))]),
            read_at: Some(t),
            failed: None,
            version: 1,
        };
        assert!(kept.due(t + Duration::minutes(1)));
        assert!(!kept.knows(Reach::Vnet) && kept.knows(Reach::Vm) && kept.knows(Reach::Host));
        assert_eq!(
            judge(Some(&kept), "acdd72a7", Reach::Vnet),
            Judged::Unlisted
        );
        assert_eq!(judge(Some(&kept), "other", Reach::Vnet), Judged::Unlisted);
        assert!(matches!(judge(Some(&kept), "acdd72a7", Reach::Vm), Judged::Known(g) if g.vm));
        let failing = Definitions {
            failed: Some((t, "throttled".into())),
            ..kept.clone()
        };
        assert!(!failing.due(t + Duration::minutes(1)) && failing.due(t + RETRY));
        assert!(
            matches!(judge(Some(&failing), "acdd72a7", Reach::Vnet), Judged::Unread(w) if w.contains("throttled"))
        );
        // Listed now: known, and due a day on only.
        let listed = Definitions {
            version: GRANTS_VERSION,
            ..kept
        };
        assert!(!listed.due(t + Duration::minutes(1)));
        assert!(matches!(
            judge(Some(&listed), "acdd72a7", Reach::Vnet),
            Judged::Known(g) if !g.vnet
        ));
    }
}
