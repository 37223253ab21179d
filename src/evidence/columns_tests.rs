//! The CSV files' column order is a contract: readers parse by position, so a column added later
//! goes at the end and no column ever moves. Each header is pinned here as it is written, both by
//! the evidence pack and by the API's `format=csv` answers that share its shape.

use super::lists::LISTS;
use super::source::Kind;
use crate::catalogue::days::DayRow;
use crate::catalogue::query::shape::Shape;
use crate::catalogue::recording::Recording;
use crate::reviews::model::Review;

/// Every pack file's header, in order. A new column is appended to its line; an edit anywhere
/// else breaks every reader that counts columns.
const PINNED: [(&str, &str); 15] = [
    (
        "reviews.csv",
        "reviewId,reviewedAt,reviewer,verdict,subjectKind,subjectId,comment,ticket,bastionHost,\
         targetVm,userName,sessionStart,tunnelId,deletedAt,deletedReason,identityCheck,userEmail",
    ),
    (
        "sessions.csv",
        "sessionId,userName,userEmail,clientIp,targetVm,targetResourceId,bastionHost,protocol,start,\
         end,durationMs,outcome,recorded,recordingId,recordingIds,joinPending,reviewVerdict,reviewer,\
         reviewedAt,kind,matchConfidence,recordingReplaced,authorization",
    ),
    (
        "bursts.csv",
        "notificationId,windowStart,windowEnd,dimension,value,targetVm,bastionHost,attempts",
    ),
    (
        "recordings.csv",
        "id,sessionStart,sessionEnd,durationMs,blobCreated,userName,userEmail,clientIp,protocol,\
         targetVm,targetResourceId,tunnelId,matchConfidence,bastionHost,account,container,blobName,\
         contentLength,status,retentionClass,retainUntil,legalHold,sha256,hashedLength,\
         reviewVerdict,reviewer,reviewedAt,replaced",
    ),
    (
        "holds.csv",
        "holdId,scope,status,setBy,setAt,reason,selector,releasedBy,releasedAt",
    ),
    (
        "deletions.csv",
        "id,deletedAt,outcome,reason,retentionClass,retainUntil,sha256,blobUrl,catalogueKey,\
         invocationId,etag",
    ),
    (
        "accessaudit.csv",
        "at,who,action,target,outcome,clientIp,userAgent,link,blob,bastionHost,person",
    ),
    (
        "refusedreviews.csv",
        "at,reviewer,reviewerObjectId,subjectKind,subjectId,sessionUser,tunnelId,bastionHost,\
         targetVm,reason,attemptId",
    ),
    (
        "holdreleases.csv",
        "holdId,recording,status,requestedBy,requestedByObjectId,requestedAt,requestReason,\
         approvedBy,approvedByObjectId,approvedAt,approveReason,releasedAt,requestId,expiresAt",
    ),
    (
        "custody.csv",
        "event,at,recordingId,blobUrl,status,etag,contentLength,sha256,deletionReason,\
         deletionRequestId,replacedEtag,replacedLength,replacedSha256,replacedAt,retentionClass,\
         retainUntil,legalHold,actorStatus,actorOperation,actorUpn,actorObjectId,actorAppId,actorAt,\
         actorReason,person,vmUser,vm,bastionHost,sessionStart,sessionEnd,tunnelId,matchConfidence",
    ),
    (
        "unrecorded.csv",
        "start,end,person,vmUser,vm,bastionHost,outcome,clientIp,tunnelId",
    ),
    (
        "unreviewed.csv",
        "review,start,end,person,vmUser,vm,bastionHost,kind,dueAt,firstReviewAt,tunnelId",
    ),
    (
        "findings.csv",
        "reviewedAt,verdict,reviewer,comment,ticket,person,vmUser,vm,bastionHost,sessionStart,\
         sessionEnd,subjectKind,subjectId,tunnelId,reviewId",
    ),
    (
        "otherdoors.csv",
        "door,severity,vm,vmResourceId,actor,callerIp,openedAt,closedAt,state,evidence",
    ),
    ("vmreach.csv", "vm,vmResourceId,reach,lastChecked,why"),
];

fn pinned(file: &str) -> &'static str {
    PINNED
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, h)| *h)
        .unwrap_or_else(|| panic!("{file}: its header is not pinned"))
}

#[test]
fn every_packs_csv_keeps_its_columns_in_their_pinned_order() {
    let mut seen = Vec::new();
    for kind in Kind::ALL {
        let (file, columns) = kind.file();
        assert_eq!(columns.join(","), pinned(file), "{file}");
        seen.push(file);
    }
    for list in LISTS {
        assert_eq!(list.head().join(","), pinned(list.file), "{}", list.file);
        seen.push(list.file);
    }
    let doors = super::doors::DOORS_FILE;
    assert_eq!(super::doors::DOOR_COLUMNS.replace(' ', ","), pinned(doors));
    seen.push(doors);
    let reach = super::reach::REACH_FILE;
    assert_eq!(super::reach::REACH_COLUMNS.join(","), pinned(reach));
    seen.push(reach);
    seen.sort_unstable();
    let mut all: Vec<_> = PINNED.iter().map(|(f, _)| *f).collect();
    all.sort_unstable();
    assert_eq!(seen, all, "a pinned file no longer written");
}

#[test]
fn the_apis_csv_answers_have_the_packs_column_order() {
    // `/api/reviews`, `/api/sessions` and `/api/recordings` with `format=csv` write these headers.
    for (header, file) in [
        (Review::csv_header(), "reviews.csv"),
        (DayRow::csv_header(), "sessions.csv"),
        (Recording::csv_header(), "recordings.csv"),
    ] {
        assert_eq!(header, format!("{}\r\n", pinned(file)), "{file}");
    }
    // The person of a review is the last column, after the columns readers already count.
    let columns = Review::columns();
    assert_eq!(columns.last(), Some(&"userEmail"));
    assert_eq!(columns.get(10), Some(&"userName"));
}
