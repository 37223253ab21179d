//! What the planner knew of a host's cursors when it planned the host's `AuditLogTail` unit,
//! carried in the unit's message ([`crate::fanout::Unit::known`]): the length each active hour
//! blob was read to, and the planner's own listing of the host when it listed it
//! ([`super::unchanged`]) and the message stays within the queue's limit ([`KNOWN_MAX`]). The unit
//! compares the listing (the planner's, else its own) with those lengths and reads the host's
//! cursor rows only when the listing differs (a blob grew, a new or late hour blob appeared, one
//! is gone): a quiet host costs its listing alone, and a host that grew is listed once a tick.
//!
//! Nothing is lost however late or often the message comes: an append blob only grows, and so
//! does the length a cursor was read to, so a listed length equal to the one known at any earlier
//! planning is the cursor's own as well; anything else reads the rows, as without this. A unit
//! running on the planner's listing reads each blob that listing shows grown to the blob's end
//! when it runs (growth after the planning included); a blob the listing showed unchanged that
//! grew after it, or an hour blob begun after it, is read by the next period, whose planner lists
//! the host again (and, while this unit still runs, by the first period planned after it ends).

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::audit_logs::path::{Host, HostPath};
use crate::audit_logs::repo::Cursor;
use crate::storage::{BlobItem, BlobProps};

/// The most `known` may take, as JSON, with the planner's listing in it (more: the listing is
/// left out and the unit lists the host itself). A queue message is at most 64 KiB counted after
/// its base64, so 48 KiB of JSON; the message's other fields (the unit's name, its id, times,
/// ETag) take under 2 KiB, so 40 KiB leaves room to spare. A host's watched hours (48 by default)
/// take about 1 KiB of lengths, and the listing only the blobs that differ from them.
pub const KNOWN_MAX: usize = 40 * 1024;

/// The line that begins the planner's listing.
const LISTED: &str = "listed";

/// What `host`'s unit may compare its listing with: one of its blob names (its path's spelling),
/// then each cursor's hour and length read (`<unix seconds>=<bytes>`), then, when `listed` (the
/// planner's listing of the host) fits within [`KNOWN_MAX`], that listing as far as it differs
/// from those lengths. Empty (unknown: the unit reads its rows) when a cursor is past the window
/// at `now`, since that one is retired or read once more whatever the listing says.
pub fn of(
    host: &Host,
    now: OffsetDateTime,
    window: Duration,
    listed: Option<&[BlobItem]>,
) -> String {
    let expired = host.cursors.iter().any(|c| c.expired(now, window));
    let Some(sample) = host.cursors.first().filter(|_| !expired) else {
        return String::new();
    };
    let lengths: Vec<String> = (host.cursors.iter())
        .map(|c| format!("{}={}", c.hour.unix_timestamp(), c.seen_length))
        .collect();
    let known = [sample.blob.as_str(), "\n", &lengths.join(" ")].concat();
    let Some(items) = listed else {
        return known;
    };
    let with = [known.as_str(), "\n", &differing(host, items)].concat();
    let json = serde_json::to_string(&with).map_or(usize::MAX, |j| j.len());
    if json <= KNOWN_MAX { with } else { known }
}

/// The listing `items` of `host` as far as it differs from its cursors: [`LISTED`], then a line a
/// blob whose listed length is not its cursor's (`<length> <last modified> <created> <tags>
/// <name>`, times in unix seconds, `-` when not listed) and one a cursor whose blob is not listed
/// (`gone <hour>`).
fn differing(host: &Host, items: &[BlobItem]) -> String {
    let known: BTreeMap<&str, u64> = (host.cursors.iter())
        .map(|c| (c.blob.as_str(), c.seen_length))
        .collect();
    let unix = |t: Option<OffsetDateTime>| t.map_or("-".into(), |t| t.unix_timestamp().to_string());
    let mut lines = vec![LISTED.to_owned()];
    for i in items {
        let p = &i.props;
        if known.get(i.name.as_str()) != Some(&p.content_length) {
            let tags = p.tag_count.map_or("-".into(), |n| n.to_string());
            let (m, c) = (unix(p.last_modified), unix(p.created));
            lines.push(format!("{} {m} {c} {tags} {}", p.content_length, i.name));
        }
    }
    let listed: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    for c in &host.cursors {
        if !listed.contains(&c.blob.as_str()) {
            lines.push(format!("gone {}", c.hour.unix_timestamp()));
        }
    }
    lines.join("\n")
}

/// The host of unit `(source, path)` as `known` describes it: a cursor per hour, named as its
/// path spells them, with the length known; and the planner's listing of it when `known` carries
/// one (each cursor's blob listed at its length but those the listing names otherwise or gone).
/// `None` when `known` is empty, malformed or of another host.
pub fn host(
    source: (String, String),
    path: &str,
    known: &str,
) -> Option<(Host, Option<Vec<BlobItem>>)> {
    let mut lines = known.split('\n');
    let (sample, lengths) = (lines.next()?, lines.next()?);
    let spelled = HostPath::of(sample).filter(|p| p.host == path)?;
    let cursors = (lengths.split(' '))
        .map(|pair| {
            let (hour, length) = pair.split_once('=')?;
            let hour = OffsetDateTime::from_unix_timestamp(hour.parse().ok()?).ok()?;
            let mut c = Cursor::new(&spelled.blob(hour), hour, hour, "");
            c.seen_length = length.parse().ok()?;
            Some(c.in_source(source.clone()))
        })
        .collect::<Option<Vec<Cursor>>>()?;
    let listed = match lines.next() {
        None => None,
        Some(LISTED) => Some(listing(&cursors, lines)?),
        Some(_) => return None,
    };
    let host = Host {
        source,
        path: spelled,
        cursors,
    };
    Some((host, listed))
}

/// The planner's listing from its lines ([`differing`]) and the `cursors` it differs from.
fn listing<'a>(cursors: &[Cursor], lines: impl Iterator<Item = &'a str>) -> Option<Vec<BlobItem>> {
    let mut listed: BTreeMap<String, BlobProps> = (cursors.iter())
        .map(|c| (c.blob.clone(), props(c.seen_length, None, None, None)))
        .collect();
    let time = |t: &str| match t {
        "-" => Some(None),
        t => Some(Some(
            OffsetDateTime::from_unix_timestamp(t.parse().ok()?).ok()?,
        )),
    };
    for line in lines {
        let mut f = line.splitn(5, ' ');
        let first = f.next()?;
        if first == "gone" {
            let hour: i64 = f.next()?.parse().ok()?;
            let gone = cursors.iter().find(|c| c.hour.unix_timestamp() == hour)?;
            listed.remove(&gone.blob);
            continue;
        }
        let (m, c, tags) = (time(f.next()?)?, time(f.next()?)?, f.next()?);
        let tags = if tags == "-" {
            None
        } else {
            Some(tags.parse().ok()?)
        };
        listed.insert(f.next()?.to_owned(), props(first.parse().ok()?, m, c, tags));
    }
    let items = listed
        .into_iter()
        .map(|(name, props)| BlobItem { name, props });
    Some(items.collect())
}

fn props(
    content_length: u64,
    last_modified: Option<OffsetDateTime>,
    created: Option<OffsetDateTime>,
    tag_count: Option<u32>,
) -> BlobProps {
    BlobProps {
        content_length,
        last_modified,
        created,
        tag_count,
        ..BlobProps::default()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::audit_logs::path::hosts;
    use crate::testkit::audit::PATH;

    const NOW: OffsetDateTime = datetime!(2025-03-14 09:30 UTC);

    fn cursor(h: u8, seen: u64) -> Cursor {
        let blob = PATH.replace("/h=09/", &format!("/h={h:02}/"));
        let hour = NOW
            .replace_hour(h)
            .expect("hour")
            .replace_minute(0)
            .expect("minute");
        let mut c = Cursor::new(&blob, hour, hour, "bas").in_source(("acct".into(), "logs".into()));
        c.seen_length = seen;
        c
    }

    #[test]
    fn the_known_host_has_the_cursors_hours_names_and_lengths() {
        let real = hosts(vec![cursor(8, 120), cursor(9, 0)]).remove(0);
        let known = of(&real, NOW, Duration::hours(48), None);
        let (host, listed) = host(real.source.clone(), &real.path.host, &known).expect("known");
        assert_eq!(listed, None, "no listing handed");
        let got: Vec<(String, OffsetDateTime, u64)> = (host.cursors.iter())
            .map(|c| (c.blob.clone(), c.hour, c.seen_length))
            .collect();
        let want: Vec<(String, OffsetDateTime, u64)> = (real.cursors.iter())
            .map(|c| (c.blob.clone(), c.hour, c.seen_length))
            .collect();
        assert_eq!(got, want);
        assert_eq!(host.source, real.source);
    }

    #[test]
    fn nothing_is_known_past_the_window_of_another_host_or_malformed() {
        let real = hosts(vec![cursor(8, 120)]).remove(0);
        assert_eq!(
            of(&real, NOW + Duration::hours(50), Duration::hours(48), None),
            ""
        );
        let known = of(&real, NOW, Duration::hours(48), None);
        let other = real.path.host.replace("BAS-HUB-WEU", "BAS-HUB-NEU");
        assert!(host(real.source.clone(), &other, &known).is_none());
        for bad in [
            "",
            "no newline",
            &known.replace('=', ":"),
            &format!("{known} x"),
        ] {
            assert!(
                host(real.source.clone(), &real.path.host, bad).is_none(),
                "{bad}"
            );
        }
    }

    fn item(name: &str, length: u64) -> BlobItem {
        let at = Some(NOW - Duration::minutes(3));
        let props = props(length, at, Some(NOW - Duration::hours(2)), Some(1));
        BlobItem {
            name: name.to_owned(),
            props,
        }
    }

    #[test]
    fn the_planners_listing_is_handed_as_far_as_it_differs_and_dropped_past_the_limit() {
        let real = hosts(vec![cursor(7, 50), cursor(8, 120), cursor(9, 0)]).remove(0);
        let name = |h: u8| PATH.replace("/h=09/", &format!("/h={h:02}/"));
        // Hour 8 grew, hour 9 did not, hour 7 is gone, hour 5 has no cursor.
        let items = vec![item(&name(8), 180), item(&name(9), 0), item(&name(5), 40)];
        let known = of(&real, NOW, Duration::hours(48), Some(&items));
        assert_eq!(
            known.lines().skip(2).count(),
            4,
            "listed, two blobs, one gone:\n{known}"
        );
        let (_, listed) = host(real.source.clone(), &real.path.host, &known).expect("known");
        let got: Vec<(String, u64)> = (listed.expect("the listing").iter())
            .map(|i| (i.name.clone(), i.props.content_length))
            .collect();
        let want = [(name(5), 40), (name(8), 180), (name(9), 0)];
        assert_eq!(got, want.to_vec());
        let unlisted = of(&real, NOW, Duration::hours(48), None);
        assert!(known.starts_with(&unlisted));
        // A listing too long for one queue message: left out, the unit lists the host itself.
        let many: Vec<BlobItem> = (0..400)
            .map(|i| item(&format!("{}-{i:03}", name(4)), 1))
            .collect();
        assert_eq!(of(&real, NOW, Duration::hours(48), Some(&many)), unlisted);
    }
}
