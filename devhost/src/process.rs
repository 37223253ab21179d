//! The handler process: start, readiness check, log relay, restart policy, stop (protocol §1.2).
//!
//! Like the host: a fresh free port on every start, `GET /` every 25 ms until any HTTP answer
//! (30 s limit), restart after a non-zero exit, give up after 3 failures within 30 minutes, and
//! no restart after exit 0. The current state is published on a `watch` channel for the invoker.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Readiness poll interval (`WorkerReadyCheckPollingIntervalMilliseconds`).
const READY_POLL: Duration = Duration::from_millis(25);
/// Initialization timeout (`HttpWorkerOptions.InitializationTimeout`).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// `ErrorEventsThreshold` within `WorkerRestartErrorIntervalThresholdInMinutes`.
const MAX_FAILURES: usize = 3;
const FAILURE_WINDOW: Duration = Duration::from_secs(30 * 60);

/// What the invoker may do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerState {
    /// Starting or restarting: wait.
    Starting,
    /// Ready on this port.
    Ready(u16),
    /// Exited for good (exit 0, too many failures, or shutdown).
    Stopped,
}

/// How to start the handler.
#[derive(Debug, Clone)]
pub(crate) struct HandlerSpec {
    /// Executable (absolute, or a bare name looked up on PATH).
    pub(crate) exe: PathBuf,
    /// Arguments after `%VAR%` expansion.
    pub(crate) args: Vec<String>,
    /// Working directory.
    pub(crate) cwd: PathBuf,
    /// App root (`FUNCTIONS_APP_ROOT_PATH`).
    pub(crate) app_root: PathBuf,
}

/// Expands `%NAME%` from the environment; unresolved references are removed (host behaviour for args).
pub(crate) fn expand_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('%') {
        let Some(len) = rest[start + 1..].find('%') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&env(&rest[start + 1..start + 1 + len]).unwrap_or_default());
        rest = &rest[start + 2 + len..];
    }
    out.push_str(rest);
    out
}

/// `defaultExecutablePath` resolution: joined to the app root if that file exists, else as given
/// (so a bare name is found on PATH). An explicit `--handler` wins.
pub(crate) fn resolve_executable(root: &Path, raw: &str, override_path: Option<&Path>) -> PathBuf {
    if let Some(p) = override_path {
        return std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    }
    let joined = root.join(raw);
    if joined.is_file() {
        joined
    } else {
        PathBuf::from(raw)
    }
}

fn free_port() -> std::io::Result<u16> {
    // Like `GetUnusedTcpPort`: bind port 0, read it, release it.
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// The handler's process and the tasks relaying its output (awaited before its exit is told, so
/// its last lines come first).
fn spawn(spec: &HandlerSpec, port: u16) -> std::io::Result<(Child, Vec<JoinHandle<()>>)> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut cmd = Command::new(&spec.exe);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_CUSTOMHANDLER_WORKER_ID", &id)
        .env("FUNCTIONS_HTTPWORKER_PORT", port.to_string())
        .env("FUNCTIONS_HTTPWORKER_ID", &id)
        .env("FUNCTIONS_APP_ROOT_PATH", &spec.app_root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let mut relays = Vec::new();
    if let Some(out) = child.stdout.take() {
        relays.push(relay(out, false));
    }
    if let Some(err) = child.stderr.take() {
        relays.push(relay(err, true));
    }
    Ok((child, relays))
}

/// Relays each line: stdout as information, stderr as warning if it mentions "warn", else error.
fn relay(stream: impl AsyncRead + Unpin + Send + 'static, is_stderr: bool) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if !is_stderr {
                println!("[handler] {line}");
            } else if line.to_ascii_lowercase().contains("warn") {
                eprintln!("[handler:warn] {line}");
            } else {
                eprintln!("[handler:error] {line}");
            }
        }
    })
}

async fn wait_ready(port: u16) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        match client
            .get(format!("http://127.0.0.1:{port}/"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(_) => return true,
            // Only a refused/failed connection means "not listening yet"; any other failure counts as ready.
            Err(e) if e.is_connect() => tokio::time::sleep(READY_POLL).await,
            Err(_) => return true,
        }
    }
    false
}

/// Asks the child to stop (SIGTERM), then kills it after 5 s.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        // `kill -TERM` avoids unsafe libc calls (the crate forbids unsafe code).
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Records a failure; true when the host would give up.
fn too_many(failures: &mut VecDeque<Instant>) -> bool {
    let now = Instant::now();
    failures.push_back(now);
    while failures
        .front()
        .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
    {
        failures.pop_front();
    }
    failures.len() >= MAX_FAILURES
}

/// Runs the handler until shutdown. `Err` when it failed too often (devhost should exit non-zero).
pub(crate) async fn supervise(
    spec: HandlerSpec,
    state: watch::Sender<WorkerState>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut failures = VecDeque::new();
    loop {
        let _ = state.send(WorkerState::Starting);
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let (mut child, relays) = match spawn(&spec, port) {
            Ok(c) => c,
            Err(e) => {
                let _ = state.send(WorkerState::Stopped);
                return Err(format!("cannot start handler {}: {e}", spec.exe.display()));
            }
        };
        println!(
            "devhost handler started exe={} port={port}",
            spec.exe.display()
        );
        let mut ready = false;
        let exit = tokio::select! {
            answered = wait_ready(port) => {
                ready = answered;
                if answered {
                    println!("devhost handler ready port={port}");
                    let _ = state.send(WorkerState::Ready(port));
                    tokio::select! {
                        status = child.wait() => status.ok().and_then(|s| s.code()),
                        _ = shutdown.changed() => None,
                    }
                } else {
                    eprintln!("devhost: Initializing HttpWorker timed out; restarting the handler");
                    stop(&mut child).await;
                    Some(-1)
                }
            }
            status = child.wait() => status.ok().and_then(|s| s.code()),
            _ = shutdown.changed() => None,
        };
        if *shutdown.borrow() {
            let _ = state.send(WorkerState::Stopped);
            stop(&mut child).await;
            return Ok(());
        }
        match exit {
            Some(0) => {
                eprintln!(
                    "devhost: handler exited with code 0; not restarting it (host behaviour)"
                );
                let _ = state.send(WorkerState::Stopped);
                let _ = shutdown.changed().await;
                return Ok(());
            }
            // Exit 2 before it answered: it refused its configuration (its reason is above), which
            // no restart changes.
            Some(2) if !ready => {
                let _ = state.send(WorkerState::Stopped);
                // The reason is in its last lines: relayed to their end (the pipes close with it).
                let relayed = futures::future::join_all(relays);
                let _ = tokio::time::timeout(Duration::from_secs(5), relayed).await;
                return Err(
                    "the handler refused to start (exit code 2, reason above); not restarting it"
                        .into(),
                );
            }
            code => {
                eprintln!("devhost: handler exited with code {code:?}; restarting");
                if too_many(&mut failures) {
                    let _ = state.send(WorkerState::Stopped);
                    return Err(
                        "Exceeded http worker restart retry count. Shutting down devhost".into(),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_and_unknown_ones_vanish() {
        let env = |k: &str| (k == "HOME").then(|| "/h".to_owned());
        assert_eq!(expand_env("%HOME%/bin", &env), "/h/bin");
        assert_eq!(expand_env("a%NOPE%b", &env), "ab");
        assert_eq!(expand_env("50%", &env), "50%");
        assert_eq!(expand_env("plain", &env), "plain");
    }

    #[test]
    fn executable_falls_back_to_path_lookup() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            resolve_executable(root, "Cargo.toml", None),
            root.join("Cargo.toml")
        );
        assert_eq!(
            resolve_executable(root, "no-such-handler", None),
            PathBuf::from("no-such-handler")
        );
        assert_eq!(
            resolve_executable(root, "x", Some(Path::new("/bin/sh"))),
            PathBuf::from("/bin/sh")
        );
    }

    #[test]
    fn three_failures_in_the_window_stop_the_host() {
        let mut f = VecDeque::new();
        assert!(!too_many(&mut f));
        assert!(!too_many(&mut f));
        assert!(too_many(&mut f));
    }
}
