//! `Retry-After`: how long a server asks a client to wait, as delay-seconds or an HTTP date
//! (all three date forms HTTP allows, parsed by `httpdate`). One parser for every client that
//! retries: the table client, the Resource Manager and Log Analytics client, notification delivery.

use std::time::{Duration, SystemTime};

/// The wait `value` asks for, seen at `now`; a date in the past is no wait. `None` when the
/// value is neither form (a negative number included).
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait an answer's `Retry-After` header asks for, from now.
pub fn of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse(value, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_http_date_form_and_plain_seconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        for later in [
            "Sun, 06 Nov 1994 08:50:37 GMT",
            "Sunday, 06-Nov-94 08:50:37 GMT",
            "Sun Nov  6 08:50:37 1994",
        ] {
            assert_eq!(parse(later, now), Some(Duration::from_secs(60)), "{later}");
        }
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:48:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse(" 7 ", now), Some(Duration::from_secs(7)));
        for bad in ["-1", "soon", "", "1.5"] {
            assert_eq!(parse(bad, now), None, "{bad}");
        }
    }
}
