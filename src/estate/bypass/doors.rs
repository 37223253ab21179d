//! The doors beside Bastion, decided from the Activity log's events (pure): one finding per door
//! and watched VM while a use lies in the window read (a success, a start with no result yet, or
//! a failure of an operation that was accepted or started), and one `attempt:` finding per door
//! for the requests Azure refused before anything ran.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::extensions;
use crate::activity::events::{
    EXTENSION_WRITE, Event, JIT_INITIATE, Outcome, RUN_COMMAND, RUN_COMMANDS_WRITE, SERIAL_CONNECT,
};
use crate::activity::{failure, jit};
use crate::arm::cidr::AddrSet;
use crate::arm::ids::{subscription_of, under, vm_of};
use crate::dates::format_utc;
use crate::estate::findings::{Evaluation, Level};
use crate::names::named;

named! {
    /// A door onto a VM that skips the recording, seen in the Activity log (its short name: the
    /// finding is `door:<name>`, a failed use `attempt:<name>`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum Door {
        /// Run Command (action or managed).
        RunCommand = "run-command",
        /// A VM extension written that `BYPASS_EXTENSION_ALLOW` does not list.
        Extension = "vm-extension",
        /// A serial console connection.
        SerialConsole = "serial-console",
        /// Just-in-time access requested for a source outside the Bastion subnets.
        Jit = "jit",
    }
}

impl Door {
    /// The finding code of a use.
    pub fn code(self) -> String {
        format!("door:{}", self.as_str())
    }

    /// The finding code of a failed use.
    pub fn attempt(self) -> String {
        format!("attempt:{}", self.as_str())
    }

    fn label(self) -> &'static str {
        match self {
            Self::RunCommand => "Run Command (code runs as SYSTEM/root outside any session)",
            Self::Extension => {
                "a VM extension not on BYPASS_EXTENSION_ALLOW (it may grant access or run code)"
            }
            Self::SerialConsole => "a serial console connection",
            Self::Jit => "just-in-time access to a source outside the Bastion subnet",
        }
    }
}

/// The doors `e` opened or asked for, and their VMs (a just-in-time request names its VMs in
/// its body; whether its source lies outside the Bastion subnets is decided apart).
pub fn doors_of(e: &Event) -> Vec<(Door, String)> {
    if e.operation == JIT_INITIATE {
        return jit::requests(e)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (Door::Jit, r.vm))
            .collect();
    }
    door_of(e).into_iter().collect()
}

/// The door `e` opened, and the VM (an extension whatever its type: [`evaluate`] leaves out the
/// allowed ones).
pub fn door_of(e: &Event) -> Option<(Door, String)> {
    let vm = vm_of(&e.resource)?;
    let door = match e.operation.as_str() {
        RUN_COMMAND | RUN_COMMANDS_WRITE => Door::RunCommand,
        SERIAL_CONNECT => Door::SerialConsole,
        EXTENSION_WRITE => Door::Extension,
        _ => return None,
    };
    Some((door, vm))
}

/// The watched VMs: the targets of the watched hosts' sessions, and every VM under a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watched {
    /// VM resource ids (lower-case).
    pub vms: BTreeSet<String>,
    /// `BYPASS_SCOPES` (lower-case).
    pub scopes: Vec<String>,
}

impl Watched {
    /// True when VM `vm` (lower-case) is watched.
    pub fn covers(&self, vm: &str) -> bool {
        self.vms.contains(vm) || self.scopes.iter().any(|s| under(vm, s))
    }

    /// The subscriptions of the watched VMs and scopes.
    pub fn subscriptions(&self) -> BTreeSet<String> {
        self.vms
            .iter()
            .chain(&self.scopes)
            .filter_map(|v| subscription_of(v))
            .collect()
    }

    /// True when nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.vms.is_empty() && self.scopes.is_empty()
    }
}

/// The finding code of a subscription whose Activity log no workspace the app reads holds.
pub const NOT_READ: &str = "activity-log-not-read";
/// The finding code of a failed Activity log read.
pub const READ_FAILED: &str = "check-failed:activity-log";
/// The finding code of a subscription whose just-in-time policies were not all read.
pub const JIT_FAILED: &str = "check-failed:jit-policy";

/// The resource id of a subscription's rows.
pub fn subscription_id(sub: &str) -> String {
    format!("/subscriptions/{sub}")
}

/// Who did it: the caller and the address, as far as the row names them.
pub fn actor(e: &Event) -> String {
    let who = if e.caller.is_empty() {
        "a caller the log does not name"
    } else {
        e.caller.as_str()
    };
    let from = if e.caller_ip.is_empty() {
        String::new()
    } else {
        format!(" from {}", e.caller_ip)
    };
    format!("{who}{from}")
}

/// How an event is said: `at {time} by {actor} ({operation}, correlation {id})`.
pub(super) fn said(e: &Event) -> String {
    format!(
        "at {} by {} ({}, correlation {})",
        format_utc(e.at),
        actor(e),
        e.operation,
        e.correlation
    )
}

fn evidence(door: Door, events: &[&Event], what: &str) -> String {
    let n = events.len();
    let latest = events.iter().max_by_key(|e| e.at);
    let Some(e) = latest else {
        return String::new();
    };
    let mut text = format!(
        "{}: {n} {what} in the Activity log read; latest {} {}",
        door.label(),
        e.outcome.as_str(),
        said(e)
    );
    if door == Door::Extension {
        text.push_str(&format!("; {}", extensions::described(e)));
    }
    if matches!(e.outcome, Outcome::Failed | Outcome::FailedAfterStart) {
        let why = failure::text(&e.properties);
        let why = why.as_deref().unwrap_or("the row names no error");
        text.push_str(&format!("; its failure: {why}"));
    }
    text
}

/// Each VM's evaluation: `vms` are those decided (watched, in a subscription whose Activity log
/// was read); a door is open while a use (succeeded, started, or failed after it started) lies
/// among `events`; a request refused before anything ran is an attempt. An extension on `allow`
/// (lower-case `publisher/type`) is no door. A just-in-time request counts when a source it asks
/// for lies outside `bastion` (the Bastion subnets; `None`: not known, so that door is not
/// decided).
pub fn evaluate(
    vms: &BTreeSet<String>,
    events: &[Event],
    bastion: Option<&AddrSet>,
    allow: &[String],
) -> BTreeMap<String, Evaluation> {
    let mut by: BTreeMap<(String, Door), Vec<&Event>> = BTreeMap::new();
    let mut sources: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events {
        if e.operation == JIT_INITIATE {
            let Some(b) = bastion else { continue };
            for r in jit::requests(e).unwrap_or_default() {
                let outside = jit::outside(&r, b);
                if vms.contains(&r.vm) && !outside.is_empty() {
                    sources.entry(r.vm.clone()).or_default().extend(outside);
                    by.entry((r.vm, Door::Jit)).or_default().push(e);
                }
            }
            continue;
        }
        let allowed = e.operation == EXTENSION_WRITE && extensions::allowed(e, allow);
        if let Some((door, vm)) = door_of(e).filter(|(_, vm)| vms.contains(vm) && !allowed) {
            by.entry((vm, door)).or_default().push(e);
        }
    }
    let mut out = BTreeMap::new();
    for vm in vms {
        let mut ev = Evaluation::default();
        for door in Door::ALL {
            if door == Door::Jit && bastion.is_none() {
                continue;
            }
            let all = by.get(&(vm.clone(), door)).cloned().unwrap_or_default();
            let (failed, used): (Vec<&Event>, Vec<&Event>) =
                all.into_iter().partition(|e| e.outcome == Outcome::Failed);
            ev.decide(&door.code(), !used.is_empty(), || {
                let mut said = evidence(door, &used, "use(s)");
                if let Some(s) = sources.get(vm).filter(|_| door == Door::Jit) {
                    let s: Vec<&str> = s.iter().map(String::as_str).collect();
                    said.push_str(&format!("; source(s) asked for: {}", s.join(", ")));
                }
                said
            });
            ev.decide(&door.attempt(), !failed.is_empty(), || {
                evidence(
                    door,
                    &failed,
                    "attempt(s) refused before anything ran, not a door used",
                )
            });
        }
        out.insert(vm.clone(), ev);
    }
    out
}

/// The level of a failed read: high when a role is missing, `info` (shown, not announced) when
/// the next check reads again (throttled after the retries, a timeout, a transient failure),
/// medium otherwise.
pub(super) fn failure_level(e: &crate::azure::AzureError) -> Level {
    match e {
        crate::azure::AzureError::Forbidden { .. } => Level::High,
        e if e.is_retryable() => Level::Info,
        _ => Level::Medium,
    }
}

/// What a failed read's evidence ends with: at `info`, that the next check reads it again.
pub(super) fn read_again(level: Level) -> &'static str {
    if level == Level::Info {
        "; the next check reads it again"
    } else {
        ""
    }
}

/// A subscription's finding when a just-in-time policy of it could not be read: the requests the
/// Activity log shows without a body are not tied to a VM, so its VMs' just-in-time doors keep
/// their last state ([`keep_jit`]); high on a 403, `info` when worth trying again, medium otherwise.
pub fn policy_failed(unread: &jit::Unread, at: OffsetDateTime) -> Evaluation {
    let level = failure_level(&unread.error);
    let mut ev = Evaluation::default();
    ev.decide_at(JIT_FAILED, true, level, || {
        format!(
            "the just-in-time policy {} could not be read at {}: {}; the just-in-time requests the Activity log shows without a body are not tied to a VM, so the just-in-time doors of this subscription's VMs keep their last state{}",
            unread.policy,
            format_utc(at),
            unread.error,
            read_again(level)
        )
    });
    ev
}

/// `ev` (a VM's evaluation) without the just-in-time door's decision unless it found the door
/// open: its state is kept while a policy of its subscription is unread.
pub fn keep_jit(ev: &mut Evaluation) {
    for code in [Door::Jit.code(), Door::Jit.attempt()] {
        if !ev.findings.iter().any(|f| f.code == code) {
            ev.assessed.remove(&code);
        }
    }
}
