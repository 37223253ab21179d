//! The declarations: every kind the product reports, once. A kind names its notification type,
//! its subject, the levels it is raised at, the evidence fields it always carries, its episode
//! rule, its title, how its id follows from the fact, and the channels beyond the notification
//! and its `BastionDetections_CL` row (every alert is one): the Sentinel rule that reads it, the
//! evidence pack's file and the API route that show its fact, and the review queue's reason its
//! finding gives a session.

use super::message::Severity::{self, Critical, Info, Warning};
use super::reasons::{self, Reason};
use crate::export::Table::{self, Detections, Disconnects, Findings};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A Bastion session (tunnel id, or live session id).
    Session,
    /// A catalogued recording (or a burst of them in one container).
    Recording,
    /// A recording source (account and container).
    Source,
    /// A Bastion host, a watched VM or a subscription (an estate finding's row).
    Estate,
    /// A run of a timer (the retention sweep).
    Run,
}

/// How often a fact is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Episode {
    /// Once per fact (the key).
    OneShot,
    /// An episode opens (its store keeps it) and, when it clears, the named kind resolves it.
    Opens(&'static str),
    /// It resolves an episode opened by the named kind.
    Resolves(&'static str),
}

/// How the notification's id follows from the finding's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    /// [`super::stable_id`] of the kind's name and the key.
    Digest,
    /// The key (an earlier alert's id) with this suffix: a follow-up of that alert.
    Follows(&'static str),
}

/// One declared kind.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// The notification type (`DetectionType` in Sentinel).
    pub name: &'static str,
    /// What tells two declarations of one name apart (`burst`), else empty.
    pub form: &'static str,
    /// What it is about.
    pub subject: Subject,
    /// The levels it is raised at.
    pub levels: &'static [Severity],
    /// The `data` fields every finding of it carries, separated by spaces ([`Kind::fields`]).
    pub evidence: &'static str,
    /// Its episode rule.
    pub episode: Episode,
    /// The title: `{word}` takes the finding's word, `{word!}` it isolated (outside text).
    pub title: &'static str,
    /// Its id rule.
    pub id: Id,
    /// The Sentinel analytics rule (`sentinel/rules/…`) that reads it, and the table it reads.
    pub rule: Option<(Table, &'static str)>,
    /// The evidence pack's file that lists its facts.
    pub pack: Option<&'static str>,
    /// The API route that shows its facts.
    pub api: Option<&'static str>,
    /// The review queue's reason a finding of it gives its session.
    pub review: Option<Reason>,
}

impl Kind {
    /// The `data` fields every finding of it carries.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> {
        self.evidence.split_whitespace()
    }
}

const AUTHZ: &str =
    "tunnelId bastionHost targetVm targetResourceId userEmail userName sessionStart verdict";
const RECORDING: &str = "recordingId account container blobName";
const LIVE: &str = "bastionHost bastionHostId sessionId reason";
const BURST: &str = "account container count windowStart windowEnd folded";

const fn kind(name: &'static str, subject: Subject, levels: &'static [Severity]) -> Kind {
    Kind {
        name,
        form: "",
        subject,
        levels,
        evidence: "",
        episode: Episode::OneShot,
        title: "",
        id: Id::Digest,
        rule: None,
        pack: None,
        api: None,
        review: None,
    }
}

/// A session that ended without a recording.
pub const SESSION_UNRECORDED: Kind = Kind {
    evidence: "tunnelId bastionHost targetVm userName sessionStart ended",
    title: "Bastion session to {vm} {ending}",
    rule: Some((Detections, "unrecorded-session.kql")),
    pack: Some("unrecorded.csv"),
    api: Some("/api/sessions"),
    review: Some(reasons::UNRECORDED),
    ..kind("session.unrecorded", Subject::Session, &[Warning])
};
/// A live session on a host that will not record it.
pub const SESSION_UNRECORDABLE: Kind = Kind {
    evidence: LIVE,
    title: "Live Bastion session that will not be recorded on {host!}",
    rule: Some((Detections, "unrecorded-session.kql")),
    api: Some("/api/sessions/live"),
    ..kind("session.unrecordable", Subject::Session, &[Critical])
};
/// A live session no audit log shows.
pub const SESSION_UNAUDITED: Kind = Kind {
    evidence: LIVE,
    title: "Live Bastion session missing from the audit logs on {host!}",
    api: Some("/api/sessions/live"),
    ..kind("session.unaudited", Subject::Session, &[Critical])
};
/// A live session disconnected through the product.
pub const SESSION_DISCONNECTED: Kind = Kind {
    evidence: "bastionHost bastionHostId sessionId reason decidedBy state",
    title: "Bastion session disconnect on {host!}",
    rule: Some((Disconnects, "disconnect.kql")),
    api: Some("/api/sessions/live"),
    ..kind("session.disconnected", Subject::Session, &[Warning])
};
/// Failed logins by one user or from one client IP, on any VMs, within one fixed window.
pub const LOGIN_FAILED_BURST: Kind = Kind {
    evidence: "dimension value targetVm windowStart windowEnd count tunnelIds",
    title: "{count} failed Bastion logins {who} to {vm!} within {minutes} min",
    rule: Some((Detections, "failed-login-burst.kql")),
    pack: Some("bursts.csv"),
    api: Some("/api/sessions"),
    review: Some(reasons::FAILED_LOGIN_BURST),
    ..kind("login.failed.burst", Subject::Session, &[Warning])
};
/// A risky session not reviewed by its deadline.
pub const REVIEW_OVERDUE: Kind = Kind {
    evidence: "tunnelId bastionHost targetVm userName riskScore dueAt",
    title: "A risky session was not reviewed within {hours} hours",
    rule: Some((Detections, "review-overdue.kql")),
    pack: Some("unreviewed.csv"),
    api: Some("/api/reviews/queue"),
    ..kind("review.overdue", Subject::Session, &[Warning])
};
/// A blob naming a session that cannot be its recording.
pub const RECORDING_SUSPECT: Kind = Kind {
    evidence: "recordingId account container blobName etag reason",
    title: "A blob naming a session cannot be its recording; the session stays unrecorded",
    pack: Some("recordings.csv"),
    api: Some("/api/recordings/{id}"),
    ..kind("recording.suspect", Subject::Recording, &[Critical])
};
/// A recording deleted outside retention.
pub const RECORDING_DELETED: Kind = Kind {
    evidence: RECORDING,
    title: "Recording deleted {how}",
    rule: Some((Detections, "recording-deleted.kql")),
    pack: Some("custody.csv"),
    api: Some("/api/recordings/{id}"),
    ..kind("recording.deleted", Subject::Recording, &[Critical])
};
/// A catalogued recording overwritten with other content.
pub const RECORDING_REPLACED: Kind = Kind {
    evidence: "recordingId account container blobName etag",
    title: "A catalogued recording was overwritten with other content",
    review: Some(reasons::RECORDING_REPLACED),
    ..RECORDING_DELETED_AS_REPLACED
};
const RECORDING_DELETED_AS_REPLACED: Kind = Kind {
    name: "recording.replaced",
    ..RECORDING_DELETED
};
/// Many deletions in one container within a window, folded into one alert.
pub const RECORDING_DELETED_BURST: Kind = Kind {
    form: "burst",
    evidence: BURST,
    title: "{count} recording changes (deleted outside retention) in one container within {minutes} minutes",
    ..RECORDING_DELETED
};
/// Many replacements in one container within a window, folded into one alert.
pub const RECORDING_REPLACED_BURST: Kind = Kind {
    form: "burst",
    evidence: BURST,
    title: "{count} recording changes (replaced outside retention) in one container within {minutes} minutes",
    ..RECORDING_DELETED_AS_REPLACED
};
/// Who made a deletion or replacement, as the storage logs name it: a follow-up of its alert.
pub const RECORDING_ACTOR: Kind = Kind {
    evidence: "recordingId change alertId actorStatus",
    title: "Recording {change} outside retention{how}",
    id: Id::Follows(".actor"),
    rule: Some((Detections, "recording-deleted.kql")),
    pack: Some("custody.csv"),
    api: Some("/api/recordings/{id}"),
    ..kind("recording.actor", Subject::Recording, &[Critical])
};
/// Who made the folded changes of a burst: a follow-up of the burst's alert.
pub const RECORDING_ACTOR_BURST: Kind = Kind {
    form: "burst",
    evidence: "account container alertId foldedAlerts actors folded",
    title: "The storage logs name who made the {count} folded recording changes of a burst",
    ..RECORDING_ACTOR
};
/// A recording's retention tags changed outside the product.
pub const RECORDING_RETAGGED: Kind = Kind {
    evidence: "recordingId account container blobName restored",
    title: "A recording's {what} outside the product",
    rule: Some((Detections, "recording-deleted.kql")),
    api: Some("/api/recordings/{id}"),
    ..kind("recording.retagged", Subject::Recording, &[Critical])
};
/// A recording whose content no longer matches its hash.
pub const RECORDING_TAMPERED: Kind = Kind {
    evidence: "recordingId account container blobName expectedSha256 actualSha256",
    title: "A recording's content no longer matches its recorded SHA-256",
    rule: Some((Detections, "recording-deleted.kql")),
    pack: Some("integrity.csv"),
    api: Some("/api/recordings/{id}"),
    ..kind("recording.tampered", Subject::Recording, &[Critical])
};
/// A recording gone before its retain-until date.
pub const RECORDING_MISSING: Kind = Kind {
    evidence: "recordingId account container blobName retainUntil",
    title: "A catalogued recording is gone before its retain-until date",
    ..RECORDING_TAMPERED_AS_MISSING
};
const RECORDING_TAMPERED_AS_MISSING: Kind = Kind {
    name: "recording.missing",
    ..RECORDING_TAMPERED
};
/// A new recording catalogued.
pub const RECORDING_CATALOGUED: Kind = Kind {
    evidence: "recordingId account container blobName contentLength",
    title: "New Bastion session recording catalogued ({bytes} bytes)",
    pack: Some("recordings.csv"),
    api: Some("/api/recordings"),
    ..kind("recording.catalogued", Subject::Recording, &[Info])
};
/// A source with no new recording for hours although sessions ended.
pub const RECORDINGS_STALLED: Kind = Kind {
    evidence: "noRecordingSince endedSessions hours account container",
    title: "{host} for {hours} h in {source} although {ended} sessions ended: check the recording SAS/identity",
    ..kind("recordings.stalled", Subject::Source, &[Critical])
};
/// The retention sweep's digest of one run.
pub const RETENTION_DELETED: Kind = Kind {
    evidence: "dryRun today counts items moreItems",
    title: "Retention sweep {today}{dry}: {total} blobs {deleted}",
    pack: Some("deletions.csv"),
    ..kind("retention.deleted", Subject::Run, &[Info])
};
/// An estate finding that opened: what every code of [`CODES`] shares (a code stored by an
/// earlier version and no longer declared is told as this).
pub const ESTATE_FINDING: Kind = Kind {
    evidence: "bastionHost bastionHostId finding findingSeverity evidence firstSeen",
    episode: Episode::Opens("estate.resolved"),
    title: "Bastion estate found: {finding} on {host!}",
    api: Some("/api/estate"),
    review: Some(reasons::OPEN_ESTATE_FINDING),
    ..kind(
        "estate.finding",
        Subject::Estate,
        &[Info, Warning, Critical],
    )
};
/// An estate finding's episode that cleared.
pub const ESTATE_RESOLVED: Kind = Kind {
    name: "estate.resolved",
    levels: &[Info],
    episode: Episode::Resolves("estate.finding"),
    title: "Bastion estate cleared: {finding} on {host!}",
    rule: None,
    review: None,
    ..ESTATE_FINDING
};

/// `estate.finding` for the finding code `form` (its stored level is the alert's: `info`,
/// `medium`, `high`), shown by `/api/estate`; only the codes a rule or a pack file names say so.
const fn estate(form: &'static str, levels: &'static [Severity]) -> Kind {
    Kind {
        form,
        levels,
        ..ESTATE_FINDING
    }
}

/// The pack's file of the doors onto the period's VMs.
pub const OTHER_DOORS: &str = "otherdoors.csv";

/// A door onto a watched VM: listed in the pack's [`OTHER_DOORS`] with its episodes.
const fn door(form: &'static str, levels: &'static [Severity]) -> Kind {
    Kind {
        pack: Some(OTHER_DOORS),
        review: Some(reasons::OTHER_DOOR_OPEN),
        ..estate(form, levels)
    }
}

/// A setting under which nothing is recorded: the rule `estate-finding.kql` reads it.
const fn recording(form: &'static str) -> Kind {
    Kind {
        rule: Some((Findings, "estate-finding.kql")),
        ..estate(form, HIGH)
    }
}

const HIGH: &[Severity] = &[Critical];
const MEDIUM: &[Severity] = &[Warning];
const INFO: &[Severity] = &[Info];
/// Any level: a part not read (high when a role is missing, medium otherwise, `info` where
/// optional or read again by the next check), a path whose level a setting chooses.
const ANY: &[Severity] = &[Info, Warning, Critical];

/// Every estate finding code, each `estate.finding` in its code's form: a host's, a door onto a
/// watched VM, a subscription's, and a part not read (`check-failed:<part>`).
pub const CODES: &[Kind] = &[
    estate("sku-not-premium", HIGH),
    recording("recording-off"),
    recording("native-client-on"),
    estate("shareable-link-on", INFO),
    estate("ip-connect-on", INFO),
    estate("not-succeeded", MEDIUM),
    estate("recording-target-unknown", INFO),
    estate("recording-target-missing", HIGH),
    estate("recording-target-unwatched", HIGH),
    estate("recording-target-not-writable", HIGH),
    estate("entra-rdp-recording", MEDIUM),
    estate("audit-logs-not-sent", HIGH),
    estate("audit-logs-azurediagnostics", INFO),
    estate("audit-logs-silent", HIGH),
    estate("custody-logs-not-sent", MEDIUM),
    estate("recording-account-unknown", HIGH),
    estate("container-versioning", HIGH),
    estate("cors-missing", MEDIUM),
    estate("container-immutability", HIGH),
    door("door:run-command", HIGH),
    door("door:vm-extension", HIGH),
    door("door:serial-console", HIGH),
    door("door:jit", HIGH),
    door("door:network-path", ANY),
    door("door:public-ip", MEDIUM),
    estate("attempt:run-command", INFO),
    estate("attempt:vm-extension", INFO),
    estate("attempt:serial-console", INFO),
    estate("attempt:jit", INFO),
    estate("activity-log-not-read", HIGH),
    estate("check-failed:host", ANY),
    estate("check-failed:diagnostics", ANY),
    estate("check-failed:blob-service", ANY),
    estate("check-failed:container", ANY),
    estate("check-failed:recording-access", ANY),
    estate("check-failed:entra-rdp", ANY),
    estate("check-failed:audit-trail", ANY),
    estate("check-failed:blob-diagnostics", ANY),
    estate("check-failed:live-sessions", ANY),
    estate("check-failed:activity-log", ANY),
    estate("check-failed:jit-policy", ANY),
    Kind {
        pack: Some("vmreach.csv"),
        ..estate("check-failed:network", ANY)
    },
];

/// A session no authorization covers: every source was read and none covers it.
pub const SESSION_UNAUTHORIZED: Kind = Kind {
    evidence: AUTHZ,
    episode: Episode::Opens("session.authorized"),
    title: "Bastion session to {vm!} by {user!} without authorization",
    rule: Some((Detections, "session-unauthorized.kql")),
    pack: Some("unauthorized.csv"),
    api: Some("/api/sessions"),
    review: Some(reasons::UNAUTHORIZED),
    ..kind("session.unauthorized", Subject::Session, &[Critical])
};
/// A session told unauthorized whose authorization was read later (it resolves the first).
pub const SESSION_AUTHORIZED: Kind = Kind {
    name: "session.authorized",
    levels: &[Info],
    episode: Episode::Resolves("session.unauthorized"),
    title: "Bastion session to {vm!} by {user!}: authorization found ({verdict})",
    rule: None,
    review: None,
    ..SESSION_UNAUTHORIZED
};
/// An authorization source that could not be read, leaving sessions `unknown`.
pub const AUTHORIZATION_UNKNOWN: Kind = Kind {
    evidence: "subscription reason sessions",
    title: "Who allowed Bastion sessions cannot be decided: {reason!}",
    pack: Some("unauthorized.csv"),
    api: Some("/api/sessions"),
    ..kind("authorization.unknown", Subject::Estate, &[Warning])
};
/// One VM account used by two or more people.
pub const SHARED_ACCOUNT: Kind = Kind {
    evidence: "targetResourceId targetVm account people firstUse lastUse entraLogin",
    title: "VM account {account!} on {vm!} used by several people",
    pack: Some("sharedaccounts.csv"),
    api: Some("/api/sessions/authorization"),
    ..kind("shared-account", Subject::Estate, &[Warning])
};

/// Every declared kind.
pub const KINDS: &[&Kind] = &[
    &SESSION_UNRECORDED,
    &SESSION_UNRECORDABLE,
    &SESSION_UNAUDITED,
    &SESSION_DISCONNECTED,
    &LOGIN_FAILED_BURST,
    &REVIEW_OVERDUE,
    &RECORDING_SUSPECT,
    &RECORDING_DELETED,
    &RECORDING_REPLACED,
    &RECORDING_DELETED_BURST,
    &RECORDING_REPLACED_BURST,
    &RECORDING_ACTOR,
    &RECORDING_ACTOR_BURST,
    &RECORDING_RETAGGED,
    &RECORDING_TAMPERED,
    &RECORDING_MISSING,
    &RECORDING_CATALOGUED,
    &RECORDINGS_STALLED,
    &RETENTION_DELETED,
    &ESTATE_FINDING,
    &ESTATE_RESOLVED,
    &SESSION_UNAUTHORIZED,
    &SESSION_AUTHORIZED,
    &AUTHORIZATION_UNKNOWN,
    &SHARED_ACCOUNT,
];

/// Every declared kind: [`KINDS`], then [`CODES`].
pub fn all() -> impl Iterator<Item = &'static Kind> {
    KINDS.iter().copied().chain(CODES)
}

/// The declaration of `name` in `form` (`""`, `burst`, or an estate finding's code).
pub fn named(name: &str, form: &str) -> Option<&'static Kind> {
    all().find(|k| k.name == name && k.form == form)
}

/// The declaration of estate finding `code`; [`ESTATE_FINDING`] for a code no longer declared
/// (a row an earlier version stored).
pub fn estate_code(code: &str) -> &'static Kind {
    named(ESTATE_FINDING.name, code).unwrap_or(&ESTATE_FINDING)
}
