//! Open-enum classification of audit records (`operationName`/`message` are matched tolerantly;
//! unknown values are kept raw by the session, never rejected).

/// What one record says about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `Successfully Connected.`
    Connected,
    /// `Login Failed`.
    LoginFailed,
    /// A disconnect / end-of-session record (unconfirmed shape).
    Ended,
    /// Anything else.
    Other,
}

/// Classifies a record from its open-enum `operationName` and `message`.
pub fn classify(operation: &str, message: &str) -> RecordKind {
    let has = |text: &str, needle: &str| {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if has(message, "fail") {
        RecordKind::LoginFailed
    } else if has(operation, "disconnect") || has(message, "disconnect") || has(message, "ended") {
        RecordKind::Ended
    } else if has(message, "success") {
        RecordKind::Connected
    } else {
        RecordKind::Other
    }
}
