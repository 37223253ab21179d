//! Pure parsing of `host.json` / `function.json` values into the app-root model.

use std::time::Duration;

use serde_json::Value;

use super::{
    FunctionDef, HostConfig, MessageEncoding, QueueOutput, RetryDelay, RetryPolicy, Trigger,
};

/// Case-insensitive property lookup (the host binds configuration case-insensitively).
pub(crate) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn path_ci<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |cur, k| get_ci(cur, k))
}

fn str_ci(v: &Value, key: &str) -> Option<String> {
    get_ci(v, key).and_then(Value::as_str).map(str::to_owned)
}

fn bool_ci(v: &Value, key: &str) -> Option<bool> {
    match get_ci(v, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses a .NET TimeSpan string: `[d.]hh:mm:ss[.fffffff]`; `-1` means unbounded (`None`).
pub(crate) fn parse_timespan(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if !d.contains(':') => (d.parse::<u64>().ok()?, r),
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let secs: f64 = sec.parse().ok()?;
    if !(0.0..60.0).contains(&secs) {
        return None;
    }
    let whole = days * 86_400 + h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(secs))
}

/// Parses host.json.
pub(crate) fn host_config(v: &Value) -> Result<HostConfig, String> {
    // `customHandler` wins over the legacy `httpWorker` (§1.1).
    let handler = get_ci(v, "customHandler")
        .or_else(|| get_ci(v, "httpWorker"))
        .ok_or("host.json has no customHandler section")?;
    let desc = get_ci(handler, "description").ok_or("Missing worker Description.")?;
    let executable = str_ci(desc, "defaultExecutablePath").unwrap_or_default();
    if executable.trim().is_empty() {
        return Err("WorkerDescription DefaultExecutablePath cannot be empty".into());
    }
    let arguments = get_ci(desc, "arguments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let queues = path_ci(v, &["extensions", "queues"])
        .cloned()
        .unwrap_or(Value::Null);
    let num = |key: &str, default: u64| {
        get_ci(&queues, key)
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    let timespan = |val: Option<&Value>, default: Duration| -> Result<Duration, String> {
        match val.and_then(Value::as_str) {
            None => Ok(default),
            Some("-1") => Ok(Duration::from_secs(u64::from(u32::MAX))),
            Some(s) => parse_timespan(s).ok_or_else(|| format!("not a TimeSpan: {s}")),
        }
    };
    let encoding = match str_ci(&queues, "messageEncoding")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("base64") => MessageEncoding::Base64,
        Some("none") => MessageEncoding::None,
        Some(other) => {
            return Err(format!(
                "extensions.queues.messageEncoding: unknown value {other}"
            ));
        }
    };
    Ok(HostConfig {
        executable,
        arguments,
        working_directory: str_ci(desc, "workingDirectory").unwrap_or_default(),
        forwarding: bool_ci(handler, "enableForwardingHttpRequest").unwrap_or(false),
        route_prefix: path_ci(v, &["extensions", "http", "routePrefix"])
            .and_then(Value::as_str)
            .unwrap_or("api")
            .to_owned(),
        function_timeout: timespan(get_ci(v, "functionTimeout"), Duration::from_secs(30 * 60))?,
        max_dequeue_count: u32::try_from(num("maxDequeueCount", 5)).unwrap_or(5).max(1),
        visibility_timeout: timespan(get_ci(&queues, "visibilityTimeout"), Duration::ZERO)?,
        batch_size: u32::try_from(num("batchSize", 16))
            .unwrap_or(16)
            .clamp(1, 32),
        message_encoding: encoding,
    })
}

/// Parses one function.json.
pub(crate) fn function_def(name: &str, v: &Value) -> Result<FunctionDef, String> {
    let bindings = get_ci(v, "bindings")
        .and_then(Value::as_array)
        .ok_or("no bindings array")?;
    let mut trigger = None;
    let (mut inputs, mut outputs, mut http_out) = (0, 0, false);
    let mut queue_outputs = Vec::new();
    for b in bindings {
        let kind = str_ci(b, "type").unwrap_or_default();
        let bname = str_ci(b, "name").unwrap_or_default();
        let dir = str_ci(b, "direction")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let connection = str_ci(b, "connection").unwrap_or_else(|| "AzureWebJobsStorage".into());
        if dir == "out" {
            outputs += 1;
            if kind.eq_ignore_ascii_case("http") && (bname == "res" || bname == "$return") {
                http_out = true;
            }
            if kind.eq_ignore_ascii_case("queue") {
                let queue = str_ci(b, "queueName")
                    .ok_or_else(|| format!("queue output {bname} has no queueName"))?;
                queue_outputs.push(QueueOutput {
                    name: bname,
                    queue,
                    connection,
                });
            }
            continue;
        }
        inputs += 1;
        if !kind.to_ascii_lowercase().ends_with("trigger") {
            continue;
        }
        if trigger.is_some() {
            return Err("more than one trigger".into());
        }
        trigger = Some(match kind.to_ascii_lowercase().as_str() {
            "eventgridtrigger" => Trigger::EventGrid { name: bname },
            "timertrigger" => Trigger::Timer {
                name: bname,
                schedule: str_ci(b, "schedule").ok_or("timerTrigger has no schedule")?,
                run_on_startup: bool_ci(b, "runOnStartup").unwrap_or(false),
                use_monitor: bool_ci(b, "useMonitor").unwrap_or(true),
            },
            "queuetrigger" => Trigger::Queue {
                name: bname,
                queue: str_ci(b, "queueName").ok_or("queueTrigger has no queueName")?,
                connection,
            },
            "httptrigger" => Trigger::Http { name: bname },
            _ => Trigger::Other(kind),
        });
    }
    let trigger = trigger.ok_or("no trigger binding")?;
    let retry = get_ci(v, "retry").map(retry_policy).transpose()?;
    Ok(FunctionDef {
        name: name.to_owned(),
        trigger,
        queue_outputs,
        outputs,
        inputs,
        http_out,
        retry,
    })
}

fn retry_policy(v: &Value) -> Result<RetryPolicy, String> {
    let max = get_ci(v, "maxRetryCount")
        .and_then(Value::as_i64)
        .ok_or("retry.maxRetryCount is required")?;
    // -1 is "retry forever" in the host; a dev tool caps it so a broken handler cannot spin endlessly.
    let max_retry_count = if max < 0 {
        100
    } else {
        u32::try_from(max).unwrap_or(100)
    };
    let span = |key: &str| -> Result<Duration, String> {
        let s = str_ci(v, key).ok_or_else(|| format!("retry.{key} is required"))?;
        parse_timespan(&s).ok_or_else(|| format!("retry.{key}: not a TimeSpan: {s}"))
    };
    let delay = match str_ci(v, "strategy")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "fixeddelay" => RetryDelay::Fixed(span("delayInterval")?),
        "exponentialbackoff" => RetryDelay::Exponential {
            min: span("minimumInterval")?,
            max: span("maximumInterval")?,
        },
        other => return Err(format!("retry.strategy: unknown value {other:?}")),
    };
    Ok(RetryPolicy {
        max_retry_count,
        delay,
    })
}
