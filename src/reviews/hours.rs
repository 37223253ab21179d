//! Working hours (`REVIEW_WORKING_HOURS`): days, a daily time range and an IANA time zone, e.g.
//! `Mon-Fri 08:00-18:00 Europe/Berlin`. A session starting outside them is a review signal. The zone
//! rules come from the time-zone database compiled into the binary, so daylight-saving changes are
//! honoured wherever the app runs.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// Days, daily range and zone.
#[derive(Debug, Clone)]
pub struct WorkingHours {
    days: [bool; 7],
    start: Time,
    end: Time,
    tz: TimeZone,
    text: String,
}

impl PartialEq for WorkingHours {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for WorkingHours {}

/// `REVIEW_WORKING_HOURS` when unset.
pub const DEFAULT: &str = "Mon-Fri 08:00-18:00 UTC";

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(s: &str) -> Option<usize> {
    DAYS.iter().position(|n| n.eq_ignore_ascii_case(s))
}

fn clock(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    // 24:00 is the end of the day.
    if (h, m) == (24, 0) {
        return Some(Time::MAX);
    }
    Time::new(h, m, 0, 0).ok()
}

impl WorkingHours {
    /// What the setting expects (for the start-up error).
    pub const EXPECTED: &'static str =
        "expected `<days> <HH:MM>-<HH:MM> <IANA zone>`, e.g. `Mon-Fri 08:00-18:00 Europe/Berlin`";

    /// Parses `Mon-Fri 08:00-18:00 Europe/Berlin` (days: a range `Mon-Fri` or a list `Mon,Wed`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split_whitespace();
        let (days_text, range, zone) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let mut days = [false; 7];
        for item in days_text.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    // From a through b, wrapping past Sunday (`Sat-Mon`).
                    for k in 0..=(b + 7 - a) % 7 {
                        days[(a + k) % 7] = true;
                    }
                }
                None => days[day(item)?] = true,
            }
        }
        let (start, end) = range.split_once('-')?;
        let (start, end) = (clock(start)?, clock(end)?);
        if start >= end {
            return None;
        }
        let tz = TimeZone::get(zone).ok()?;
        Some(Self {
            days,
            start,
            end,
            tz,
            text: text.to_owned(),
        })
    }

    /// `Mon-Fri 08:00-18:00 UTC` (the default).
    pub fn office_utc() -> Self {
        Self {
            days: [true, true, true, true, true, false, false],
            start: Time::constant(8, 0, 0, 0),
            end: Time::constant(18, 0, 0, 0),
            tz: TimeZone::UTC,
            text: DEFAULT.to_owned(),
        }
    }

    /// True when `t` lies outside the working hours, read in the zone.
    pub fn outside(&self, t: OffsetDateTime) -> bool {
        let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else {
            return false;
        };
        let local = ts.to_zoned(self.tz.clone());
        let i = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or_default();
        let now = local.time();
        !(self.days[i] && now >= self.start && now < self.end)
    }

    /// The setting as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn berlin_office_hours_follow_daylight_saving() {
        let h = WorkingHours::parse("Mon-Fri 08:00-18:00 Europe/Berlin").expect("parses");
        // Winter: UTC+1. 07:30 UTC = 08:30 local (inside), 17:30 UTC = 18:30 (outside).
        assert!(!h.outside(datetime!(2025-01-15 07:30 UTC)));
        assert!(h.outside(datetime!(2025-01-15 17:30 UTC)));
        assert!(h.outside(datetime!(2025-01-15 06:59 UTC)));
        // Summer: UTC+2. 06:30 UTC = 08:30 local (inside), 16:30 UTC = 18:30 (outside).
        assert!(!h.outside(datetime!(2025-07-15 06:30 UTC)));
        assert!(h.outside(datetime!(2025-07-15 16:30 UTC)));
        // Saturday, and Friday 23:30 UTC = Saturday 00:30 local.
        assert!(h.outside(datetime!(2025-07-19 10:00 UTC)));
        assert!(h.outside(datetime!(2025-01-17 23:30 UTC)));
    }

    #[test]
    fn the_default_is_what_its_text_says() {
        let parsed = WorkingHours::parse(DEFAULT).expect("parses");
        let built = WorkingHours::office_utc();
        for t in [
            datetime!(2025-07-18 17:59 UTC),
            datetime!(2025-07-18 18:00 UTC),
            datetime!(2025-07-19 12:00 UTC),
            datetime!(2025-07-21 07:59 UTC),
        ] {
            assert_eq!(parsed.outside(t), built.outside(t), "{t}");
        }
        assert_eq!(parsed, built);
    }

    #[test]
    fn lists_wrapping_ranges_and_bad_values() {
        let h = WorkingHours::parse("Sat-Mon,Wed 00:00-24:00 UTC").expect("parses");
        assert!(!h.outside(datetime!(2025-07-19 23:59 UTC)), "Saturday");
        assert!(!h.outside(datetime!(2025-07-21 12:00 UTC)), "Monday");
        assert!(h.outside(datetime!(2025-07-22 12:00 UTC)), "Tuesday");
        assert!(!h.outside(datetime!(2025-07-23 12:00 UTC)), "Wednesday");
        for bad in [
            "",
            "Mon-Fri 08:00-18:00",
            "Mon-Fri 18:00-08:00 UTC",
            "Mon-Fry 08:00-18:00 UTC",
            "Mon-Fri 08:00-18:00 Mars/Olympus",
            "Mon-Fri 8-18 UTC",
            "Mon-Fri 08:00-18:00 UTC extra",
        ] {
            assert!(WorkingHours::parse(bad).is_none(), "{bad:?}");
        }
    }
}
