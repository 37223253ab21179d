//! The bench's figures: a line per tick, a JSON line per (timer, hosts, instances) over its
//! measured ticks (the settling tick, the first, left out), and the table of them all.

use serde_json::{Value, json};

use crate::Tick;

/// Nearest-rank quantile of `v` (sorted here).
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
    s.get(rank - 1).copied().unwrap_or(f64::NAN)
}

/// Per subscription: its requests, and when its units ended (first, median, last).
fn subscriptions(t: &Tick) -> String {
    t.by_subscription
        .iter()
        .map(|(s, (r, ends))| {
            let s = if s.is_empty() {
                "shared"
            } else {
                &s[..s.len().min(8)]
            };
            let [first, median, last] = [0.0, 0.5, 1.0].map(|q| quantile(ends, q));
            format!("{s}: {r} req, units ended {first:.1}/{median:.1}/{last:.1} s")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A Resource Manager request (`METHOD path`) with its names left out: `GET
/// /subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/bastionHosts/{}`.
pub(crate) fn shape(request: &str) -> String {
    let (method, path) = request.split_once(' ').unwrap_or(("", request));
    let mut out = vec![method.to_owned()];
    let (mut name_next, mut after_namespace) = (false, false);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let lower = seg.to_ascii_lowercase();
        out.push(if name_next {
            "{}".to_owned()
        } else {
            seg.to_owned()
        });
        (name_next, after_namespace) = match lower.as_str() {
            _ if name_next => (false, after_namespace),
            "subscriptions" | "resourcegroups" => (true, false),
            "providers" => (false, true),
            _ if after_namespace && lower.contains('.') => (false, true),
            _ if after_namespace => (true, true),
            _ => (false, false),
        };
    }
    out.join("/").replacen('/', " /", 1)
}

/// One tick's line.
pub(crate) fn tick_line(timer: &str, k: usize, t: &Tick, load: String) -> String {
    format!(
        "{timer} tick {k}{}: {:.1} s (plan {:.3} s, CPU {:.1} s), {} units, calls {:?} ({} on the work queue), {} ARM requests, {} x 429 [{}] (load {load})",
        if t.grew { " (grew)" } else { "" },
        t.wall,
        t.plan,
        t.cpu,
        t.units,
        t.calls,
        t.work_queue,
        t.requests,
        t.throttled,
        subscriptions(t)
    )
}

/// The figures of `ticks` (the settling one first) of `timer` at `n` hosts on `p` instances.
pub(crate) fn row(
    timer: &str,
    n: usize,
    p: usize,
    ticks: &[Tick],
    lags: &[f64],
    unseen: usize,
    load: &str,
) -> Value {
    let measured = &ticks[1.min(ticks.len())..];
    let quiet: Vec<&Tick> = measured.iter().filter(|t| !t.grew).collect();
    let walls: Vec<f64> = measured.iter().map(|t| t.wall).collect();
    let per_host = |ts: &[&Tick], f: &dyn Fn(&Tick) -> u64| {
        ts.iter().map(|t| f(t)).sum::<u64>() as f64 / (n * ts.len().max(1)) as f64
    };
    let all: Vec<&Tick> = measured.iter().collect();
    let mut by_subscription = serde_json::Map::new();
    for t in measured {
        for (s, (r, ends)) in &t.by_subscription {
            let e = by_subscription
                .entry(s.clone())
                .or_insert_with(|| json!({"requests": 0, "units_ended_s": []}));
            e["requests"] = json!(e["requests"].as_u64().unwrap_or(0) + *r as u64);
            let [first, median, last] =
                [0.0, 0.5, 1.0].map(|q| (quantile(ends, q) * 10.0).round() / 10.0);
            if let Some(l) = e["units_ended_s"].as_array_mut() {
                l.push(json!({"first": first, "median": median, "last": last}));
            }
        }
    }
    json!({"timer": timer, "hosts": n, "instances": p, "ticks": measured.len(),
        "load_at_start": load, "load_at_end": crate::uptime(),
        "units": measured.first().map(|t| t.units),
        "wall_p50_s": quantile(&walls, 0.5), "wall_p99_s": quantile(&walls, 0.99),
        "wall_max_s": quantile(&walls, 1.0), "first_tick_s": ticks.first().map(|t| t.wall),
        "plan_s": measured.iter().map(|t| t.plan).collect::<Vec<_>>(),
        "cpu_s_per_host": measured.iter().map(|t| t.cpu / n as f64).collect::<Vec<_>>(),
        "storage_per_host": per_host(&all, &|t| t.calls.iter().sum()),
        "blob_per_host": per_host(&all, &|t| t.calls[0]),
        "queue_per_host": per_host(&all, &|t| t.calls[1]),
        "table_per_host": per_host(&all, &|t| t.calls[2]),
        "work_queue_per_host": per_host(&all, &|t| t.work_queue),
        "without_other_queues_per_host": per_host(&all, &|t| t.calls[0] + t.work_queue + t.calls[2]),
        "quiet_ticks": quiet.len(),
        "quiet_without_other_queues_per_host": per_host(&quiet, &|t| t.calls[0] + t.work_queue + t.calls[2]),
        "arm_per_host": per_host(&all, &|t| t.requests as u64),
        "throttled": measured.iter().map(|t| t.throttled).sum::<usize>(),
        "by_subscription": by_subscription,
        "lag_records": lags.len(), "lag_unseen": unseen,
        "lag_p50_ticks": quantile(lags, 0.5), "lag_p99_ticks": quantile(lags, 0.99),
        "lag_max_ticks": quantile(lags, 1.0)})
}

fn f(r: &Value, k: &str) -> f64 {
    r[k].as_f64().unwrap_or(f64::NAN)
}

/// The table of every row.
pub(crate) fn table(rows: &[Value]) {
    println!(
        "\n| timer | hosts | instances | ticks | tick p50 | p99 | storage calls per host per tick (blob, queue, table) | on the work queue | without the other queues' polls | the same, quiet ticks | ARM requests per host | 429s | lag p50, p99, max (ticks) | load |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.1} s | {:.1} s | {:.2} ({:.2}, {:.2}, {:.2}) | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2}, {:.2}, {:.2} | {} – {} |",
            r["timer"].as_str().unwrap_or_default(),
            r["hosts"],
            r["instances"],
            r["ticks"],
            f(r, "wall_p50_s"),
            f(r, "wall_p99_s"),
            f(r, "storage_per_host"),
            f(r, "blob_per_host"),
            f(r, "queue_per_host"),
            f(r, "table_per_host"),
            f(r, "work_queue_per_host"),
            f(r, "without_other_queues_per_host"),
            f(r, "quiet_without_other_queues_per_host"),
            f(r, "arm_per_host"),
            r["throttled"],
            f(r, "lag_p50_ticks"),
            f(r, "lag_p99_ticks"),
            f(r, "lag_max_ticks"),
            r["load_at_start"].as_str().unwrap_or_default(),
            r["load_at_end"].as_str().unwrap_or_default(),
        );
    }
}

/// The storage calls per host per tick of `ticks` by operation kind (`proxy::op`), and their sum
/// without the other queues' idle polls.
pub(crate) fn ops(timer: &str, n: usize, p: usize, which: &str, ticks: &[&Tick]) {
    if ticks.is_empty() {
        return;
    }
    let mut ops = std::collections::BTreeMap::<&str, u64>::new();
    for t in ticks {
        t.ops
            .iter()
            .for_each(|(k, v)| *ops.entry(k.as_str()).or_default() += v);
    }
    let per = |v: u64| v as f64 / (n * ticks.len()) as f64;
    let mut sum = 0;
    for (op, v) in &ops {
        let other_queue = op.starts_with("queue ") && !op.contains("workunits");
        if !other_queue {
            sum += v;
        }
        eprintln!(
            "  {timer} {n} hosts, {p} instance(s): {:.3} per host per {which}: {op}",
            per(*v)
        );
    }
    eprintln!(
        "  {timer} {n} hosts, {p} instance(s): {:.3} per host per {which} without the other queues' polls ({} ticks)",
        per(sum),
        ticks.len()
    );
}
