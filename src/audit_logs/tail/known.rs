//! What the planner knew of a host's cursors when it planned the host's `AuditLogTail` unit,
//! carried in the unit's message ([`crate::fanout::Unit::known`]): the length each active hour
//! blob was read to. The unit compares its listing with that first and reads the host's cursor
//! rows only when the listing differs (a blob grew, a new or late hour blob appeared, one is
//! gone): a quiet host costs its listing alone.
//!
//! Nothing is lost however late or often the message comes: an append blob only grows, and so
//! does the length a cursor was read to, so a listed length equal to the one known at any earlier
//! planning is the cursor's own as well; anything else reads the rows, as without this.

use time::{Duration, OffsetDateTime};

use crate::audit_logs::path::{Host, HostPath};
use crate::audit_logs::repo::Cursor;

/// What `host`'s unit may compare its listing with: one of its blob names (its path's spelling),
/// then each cursor's hour and length read (`<unix seconds>=<bytes>`). Empty (unknown: the unit
/// reads its rows) when a cursor is past the window at `now`, since that one is retired or read
/// once more whatever the listing says.
pub fn of(host: &Host, now: OffsetDateTime, window: Duration) -> String {
    let Some(sample) = host.cursors.first() else {
        return String::new();
    };
    if host.cursors.iter().any(|c| c.expired(now, window)) {
        return String::new();
    }
    let lengths: Vec<String> = (host.cursors.iter())
        .map(|c| format!("{}={}", c.hour.unix_timestamp(), c.seen_length))
        .collect();
    [sample.blob.as_str(), "\n", &lengths.join(" ")].concat()
}

/// The host of unit `(source, path)` as `known` describes it: a cursor per hour, named as its
/// path spells them, with the length known. `None` when `known` is empty, malformed or of
/// another host.
pub fn host(source: (String, String), path: &str, known: &str) -> Option<Host> {
    let (sample, lengths) = known.split_once('\n')?;
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
    Some(Host {
        source,
        path: spelled,
        cursors,
    })
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
        let known = of(&real, NOW, Duration::hours(48));
        let host = host(real.source.clone(), &real.path.host, &known).expect("known");
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
            of(&real, NOW + Duration::hours(50), Duration::hours(48)),
            ""
        );
        let known = of(&real, NOW, Duration::hours(48));
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
}
