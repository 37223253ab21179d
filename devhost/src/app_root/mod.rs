//! The function app on disk: `host.json` and `functions/*/function.json`, parsed the way the host reads them.
//!
//! Owns the binding model devhost acts on ([`FunctionDef`], [`Trigger`], [`QueueOutput`],
//! [`RetryPolicy`]) and the host settings it honours ([`HostConfig`]). Property names are matched
//! case-insensitively, as the .NET configuration binder does (protocol §1.1).

mod parse;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use parse::get_ci;

/// How queue message text is encoded on the wire (`extensions.queues.messageEncoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageEncoding {
    /// Storage extension ≥ 5 default: the message body is base64 of the UTF-8 bytes.
    Base64,
    /// Plain text.
    None,
}

/// The `host.json` settings devhost honours.
#[derive(Debug, Clone)]
pub(crate) struct HostConfig {
    /// `customHandler.description.defaultExecutablePath` (raw, `%ENV%` not yet expanded).
    pub(crate) executable: String,
    /// `customHandler.description.arguments`.
    pub(crate) arguments: Vec<String>,
    /// `customHandler.description.workingDirectory` (empty = app root).
    pub(crate) working_directory: String,
    /// `customHandler.enableForwardingHttpRequest`.
    pub(crate) forwarding: bool,
    /// `extensions.http.routePrefix` (default `api`).
    pub(crate) route_prefix: String,
    /// `functionTimeout` (default 30 min, the non-Consumption default).
    pub(crate) function_timeout: Duration,
    /// `extensions.queues.maxDequeueCount` (default 5).
    pub(crate) max_dequeue_count: u32,
    /// `extensions.queues.visibilityTimeout`: delay before a failed message is visible again (default 0).
    pub(crate) visibility_timeout: Duration,
    /// `extensions.queues.batchSize` (default 16, at most 32).
    pub(crate) batch_size: u32,
    /// `extensions.queues.messageEncoding` (default base64).
    pub(crate) message_encoding: MessageEncoding,
}

/// A function's trigger.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Trigger {
    /// `eventGridTrigger`.
    EventGrid {
        /// Binding name (`Data.<name>`).
        name: String,
    },
    /// `timerTrigger`.
    Timer {
        /// Binding name.
        name: String,
        /// NCRONTAB expression (`%Setting%` allowed).
        schedule: String,
        /// Fire once when devhost starts.
        run_on_startup: bool,
        /// Whether `ScheduleStatus` is tracked (else `null`).
        use_monitor: bool,
    },
    /// `queueTrigger`.
    Queue {
        /// Binding name.
        name: String,
        /// Queue name.
        queue: String,
        /// Connection setting name.
        connection: String,
    },
    /// `httpTrigger`.
    Http {
        /// Binding name.
        name: String,
    },
    /// Anything else (devhost cannot fire it).
    Other(String),
}

/// A `queue` output binding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueueOutput {
    /// Binding name (`Outputs.<name>`).
    pub(crate) name: String,
    /// Queue name.
    pub(crate) queue: String,
    /// Connection setting name.
    pub(crate) connection: String,
}

/// A function.json `retry` block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt (`-1` in JSON = unbounded, capped here).
    pub(crate) max_retry_count: u32,
    /// Delay schedule.
    pub(crate) delay: RetryDelay,
}

/// How long to wait before retry `n`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RetryDelay {
    /// `fixedDelay` with `delayInterval`.
    Fixed(Duration),
    /// `exponentialBackoff` between `minimumInterval` and `maximumInterval`.
    Exponential {
        /// First delay.
        min: Duration,
        /// Cap.
        max: Duration,
    },
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based).
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        match &self.delay {
            RetryDelay::Fixed(d) => *d,
            RetryDelay::Exponential { min, max } => {
                let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(20));
                min.saturating_mul(factor).min(*max)
            }
        }
    }
}

/// One function folder.
#[derive(Debug, Clone)]
pub(crate) struct FunctionDef {
    /// Folder name (case preserved: it is the invocation path).
    pub(crate) name: String,
    /// The trigger.
    pub(crate) trigger: Trigger,
    /// Queue output bindings.
    pub(crate) queue_outputs: Vec<QueueOutput>,
    /// Number of output bindings of any type (for the "HTTP in and out" rule).
    pub(crate) outputs: usize,
    /// Number of input bindings, trigger included.
    pub(crate) inputs: usize,
    /// Whether an `http` output named `res` or `$return` exists.
    pub(crate) http_out: bool,
    /// `retry` block.
    pub(crate) retry: Option<RetryPolicy>,
}

impl FunctionDef {
    /// Exactly one `httpTrigger` input and one `http` output: forwarded when forwarding is on (§1.3).
    pub(crate) fn is_http_in_and_out(&self) -> bool {
        matches!(self.trigger, Trigger::Http { .. })
            && self.inputs == 1
            && self.outputs == 1
            && self.http_out
    }
}

/// The parsed app root.
#[derive(Debug, Clone)]
pub(crate) struct AppRoot {
    /// Absolute app root.
    pub(crate) root: PathBuf,
    /// host.json.
    pub(crate) host: HostConfig,
    /// Functions, sorted by name.
    pub(crate) functions: Vec<FunctionDef>,
}

impl AppRoot {
    /// Reads `host.json` and every `functions/*/function.json` (or `*/function.json`) under `root`.
    ///
    /// # Errors
    /// A message naming the file when something is missing or malformed.
    pub(crate) fn load(root: &Path) -> Result<Self, String> {
        let root =
            std::path::absolute(root).map_err(|e| format!("app root {}: {e}", root.display()))?;
        let host_text = std::fs::read_to_string(root.join("host.json"))
            .map_err(|e| format!("{}/host.json: {e}", root.display()))?;
        let host_json: serde_json::Value =
            serde_json::from_str(&host_text).map_err(|e| format!("host.json: {e}"))?;
        let host = parse::host_config(&host_json)?;
        let mut functions = Vec::new();
        // The repository keeps function folders under `functions/`; a deployed app has them at the root.
        for dir in [root.join("functions"), root.clone()] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path().join("function.json");
                if !path.is_file() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let json: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                functions.push(
                    parse::function_def(&name, &json)
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                );
            }
        }
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        functions.dedup_by(|a, b| a.name == b.name);
        Ok(Self {
            root,
            host,
            functions,
        })
    }

    /// The function called `name` (exact case, as the host's lookup).
    pub(crate) fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name == name)
    }
}
