//! The wait an answer's `Retry-After` header asks for: delay-seconds or an HTTP date, read the
//! same way by the retry policy, the pacer, the long-running-operation poller and the errors.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, seen at `now`: delay-seconds or an HTTP date (all
/// three forms HTTP allows); a date in the past is no wait. `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait an answer's `Retry-After` header asks for, from now.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
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
            let got = parse_retry_after(later, now);
            assert_eq!(got, Some(Duration::from_secs(60)), "{later}");
        }
        let past = parse_retry_after("Sun, 06 Nov 1994 08:48:37 GMT", now);
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        for bad in ["-1", "soon", "", "1.5"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }
}
