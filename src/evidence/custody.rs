//! The pack's segregation-of-duties and chain-of-custody rows: refused self-reviews, two-person
//! hold releases, and the recordings deleted outside retention or replaced in the period.

use super::hosts::{About, HostFilter, keeps};
use super::records::{cells, s};
use super::rows::{Facts, Row};
use crate::azure::AzureError;
use crate::catalogue::query::Query;
use crate::catalogue::recording::{Recording, STATUS_DELETED_OUTSIDE};
use crate::catalogue::repo;
use crate::catalogue::trail::OutsideDeletion;
use crate::dates::format_utc;
use crate::retention::hold::two_person;
use crate::reviews::refusal::refusals;
use crate::tables::filter::Op;
use crate::tables::{Filter, TableStore, get_str};

/// The columns of `refusedreviews.csv`, each `name=property` of the refused attempt's row.
pub const REFUSAL_COLUMNS: &str = "at=At,reviewer=Reviewer,reviewerObjectId=ReviewerObjectId,\
    subjectKind=SubjectKind,subjectId=SubjectId,sessionUser=SessionUser,tunnelId=TunnelId,\
    bastionHost=BastionHost,targetVm=TargetVm,reason=Reason,attemptId=AttemptId";

/// The columns of `holdreleases.csv`, each `name=property` of the release request row.
pub const RELEASE_COLUMNS: &str = "holdId=HoldId,recording=Recording,status=Status,\
    requestedBy=RequestedBy,requestedByObjectId=RequestedByObjectId,requestedAt=RequestedAt,\
    requestReason=RequestReason,approvedBy=ApprovedBy,approvedByObjectId=ApprovedByObjectId,\
    approvedAt=ApprovedAt,approveReason=ApproveReason,releasedAt=ReleasedAt,requestId=RowKey,\
    expiresAt=ExpiresAt";

/// The columns of `custody.csv` (`event` first, then the catalogue row's properties).
pub const CUSTODY_COLUMNS: &str = "event=,at=,recordingId=RecordingId,blobUrl=BlobUrl,\
    status=Status,etag=ETag,contentLength=ContentLength,sha256=Sha256,deletionReason=DeletionReason,\
    deletionRequestId=DeletionRequestId,replacedEtag=ReplacedEtag,replacedLength=ReplacedLength,\
    replacedSha256=ReplacedSha256,replacedAt=ReplacedAt,retentionClass=RetentionClass,\
    retainUntil=RetainUntil,legalHold=LegalHold,actorStatus=ActorStatus,actorOperation=ActorOperation,\
    actorUpn=ActorUpn,actorObjectId=ActorObjectId,actorAppId=ActorAppId,actorAt=ActorAt,\
    actorReason=ActorReason,person=UserEmail,vmUser=UserName,vm=TargetVm,bastionHost=BastionHost,\
    sessionStart=SessionStart,sessionEnd=SessionEnd,tunnelId=TunnelId,\
    matchConfidence=MatchConfidence";

/// The custody events `custody.csv` lists: a deletion outside retention of catalogued content.
pub const DELETED_OUTSIDE: &str = "deleted-outside-retention";
/// A deletion of a blob (or of content written again) the catalogue had not read.
pub const DELETED_BEFORE: &str = "deleted-before-catalogued";
/// A replacement.
pub const REPLACED: &str = "replaced";

/// The outside deletions of `r`: its trail, or for a row written before the trail existed, the
/// deletion its state records.
fn trail_of(r: &Recording) -> Vec<OutsideDeletion> {
    if !r.outside_deletions.is_empty() {
        return r.outside_deletions.clone();
    }
    r.deletion
        .as_ref()
        .filter(|_| r.status == STATUS_DELETED_OUTSIDE)
        .map(|d| OutsideDeletion {
            at: d.at.clone(),
            request_id: d.request_id.clone(),
            sequencer: r.sequencer.clone(),
            before_catalogued: false,
        })
        .into_iter()
        .collect()
}

/// The refused self-reviews of day partition `day` within the period.
///
/// # Errors
/// Storage failures.
pub async fn refused(
    tables: &dyn TableStore,
    q: &Query,
    day: &str,
    host: Option<&HostFilter>,
) -> anyhow::Result<Vec<Row>> {
    let rows = refusals(tables, day, q.from, q.to).await?;
    Ok(rows
        .iter()
        .filter(|e| host.is_none_or(|h| h.is(get_str(e, "BastionHost").unwrap_or_default())))
        .map(|e| {
            let cells = cells(e, REFUSAL_COLUMNS);
            // at, reviewer, subjectId, sessionUser, targetVm, bastionHost.
            let listed = [0, 1, 4, 5, 8, 7].map(|i| cells[i].clone());
            Row {
                cells,
                facts: Facts::Refusal(listed),
            }
        })
        .collect())
}

/// The two-person release requests requested or approved in the period.
///
/// # Errors
/// Storage failures.
pub async fn releases(
    tables: &dyn TableStore,
    q: &Query,
    host: Option<&HostFilter>,
    names: &mut super::named::Names,
) -> anyhow::Result<Vec<Row>> {
    let rows = two_person::requests(tables, &format_utc(q.from), &format_utc(q.to)).await?;
    let mut out = Vec::new();
    for e in &rows {
        if keeps(host, names, tables, About::Hold(&s(e, "HoldId"))).await? {
            let cells = cells(e, RELEASE_COLUMNS);
            // holdId, recording, status, requestedBy, requestedAt, approvedBy, approvedAt.
            let listed = [0, 1, 2, 3, 5, 7, 9].map(|i| cells[i].clone());
            out.push(Row {
                cells,
                facts: Facts::Release(listed),
            });
        }
    }
    Ok(out)
}

/// One page of the recordings deleted outside retention or replaced in the period, and the next
/// page's token: a scan, since a recording of any day can be; one row per event.
///
/// # Errors
/// Storage failures.
pub async fn custody(
    tables: &dyn TableStore,
    q: &Query,
    token: Option<String>,
    host: Option<&HostFilter>,
) -> anyhow::Result<(Vec<Row>, Option<String>)> {
    let (from, to) = (format_utc(q.from), format_utc(q.to));
    let between = |k: &str| {
        Filter::And(vec![
            Filter::str(k, Op::Ge, from.clone()),
            Filter::str(k, Op::Lt, to.clone()),
        ])
    };
    // Every outside deletion is in the row's trail, the newest in `OutsideDeletedAt`: a row with
    // one in the period has its newest at or after the period's start.
    // (A row written before the trail existed holds its one deletion only as its state.)
    let filter = Filter::Or(vec![
        Filter::str("OutsideDeletedAt", Op::Ge, from.clone()),
        Filter::And(vec![
            Filter::str("Status", Op::Eq, STATUS_DELETED_OUTSIDE),
            between("DeletedAt"),
        ]),
        between("ReplacedAt"),
    ]);
    let (found, next) = match repo::page(tables, &filter, token).await {
        Err(AzureError::NotFound) => return Ok((Vec::new(), None)),
        other => other?,
    };
    let within = |t: &str| !t.is_empty() && t >= from.as_str() && t < to.as_str();
    let mut out = Vec::new();
    for (r, e) in &found {
        if host.is_some_and(|h| !h.is(r.bastion())) {
            continue;
        }
        let trail = trail_of(r);
        let deleted = trail.iter().filter(|d| within(&d.at)).map(|d| {
            let event = if d.before_catalogued {
                DELETED_BEFORE
            } else {
                DELETED_OUTSIDE
            };
            (event, d.at.clone(), Some(d.request_id.clone()))
        });
        let replaced = r
            .replaced
            .as_ref()
            .filter(|x| within(&x.at))
            .map(|x| (REPLACED, x.at.clone(), None));
        let session = r.session();
        let of_session = |f: fn(&crate::catalogue::recording::SessionView) -> &String| {
            session.map(f).cloned().unwrap_or_default()
        };
        // The report names the recording by its container and blob (custody.csv keeps its id).
        let blob = format!("{}/{}", r.container, r.blob_name);
        for (event, at, request) in deleted.chain(replaced) {
            let mut row = cells(e, CUSTODY_COLUMNS);
            row[0] = event.to_owned();
            row[1].clone_from(&at);
            // Each deletion with its own reason and request, whatever the row holds now.
            if let Some(request) = request {
                row[8] = crate::recordings::outside::REASON_OUTSIDE.to_owned();
                row[9] = request;
            }
            // The host as the pack files it (the session's, else the source's).
            let at_host =
                super::records::columns(CUSTODY_COLUMNS).position(|(n, _)| n == "bastionHost");
            if let Some(host) = at_host.and_then(|i| row.get_mut(i)) {
                *host = r.bastion().to_owned();
            }
            out.push(Row {
                cells: row,
                facts: Facts::Custody([
                    at,
                    event.to_owned(),
                    blob.clone(),
                    of_session(|v| &v.user_email),
                    of_session(|v| &v.user_name),
                    of_session(|v| &v.target_vm),
                    r.bastion().to_owned(),
                ]),
            });
        }
    }
    Ok((out, next))
}
