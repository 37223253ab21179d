//! How a one-shot command ends: its exit code, its output on stdout (a closed pipe ends it
//! quietly), its problems on stderr, and the state it runs over.

use std::process::ExitCode;

use crate::state::{AppState, Start};

/// What a command ends with: `Err` is an early exit whose message is already printed.
pub type Exit = Result<ExitCode, ExitCode>;

/// Prints `msg` to stderr and gives `code`, the exit code to end with.
pub fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

/// Writes `text` to stdout. A reader that has gone (`handler evidence public-key | head -1`) ends
/// the command quietly with exit 0, as other command-line tools do.
///
/// # Errors
/// The exit code to end with: 0 for a closed pipe, 1 for another failed write.
pub fn print(text: impl std::fmt::Display) -> Result<(), ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(written)
}

/// Writes `doc` to stdout as pretty JSON and a line break, as [`print()`] does.
///
/// # Errors
/// As [`print()`].
pub fn print_json(doc: &impl serde::Serialize) -> Result<(), ExitCode> {
    print(format_args!(
        "{}\n",
        serde_json::to_string_pretty(doc).unwrap_or_default()
    ))
}

/// A failed write of a command's output as the exit to end with: quietly 0 when the reader has
/// gone, else 1 with the reason.
pub fn written(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        fail(1, format!("write failed: {e}"))
    }
}

/// The state a one-shot command runs over, built by `start`; a bad setting is printed (named,
/// never its value) and the command exits 2.
///
/// # Errors
/// The exit code to end with.
pub fn state(start: Start) -> Result<AppState, ExitCode> {
    start().map_err(|e| fail(2, e))
}
