//! CPU seconds of the processes a run measures: the bench's own children (the planner, each
//! instance's `devhost` and `handler`) and the bench's Azurite (its command line names
//! `.azurite-bench-fanout`), from `/proc/<pid>/stat` (user + system time, in clock ticks). A
//! process that ends between two reads loses what it spent since the first.

use std::collections::BTreeMap;

/// User + system seconds so far of every process measured.
pub(crate) fn seconds() -> f64 {
    let me = std::process::id();
    let mut parent = BTreeMap::new();
    let mut ticks = BTreeMap::new();
    let mut emulator = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command's `(...)`: state, ppid, …; utime and stime are fields 14 and 15.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        parent.insert(pid, num(1) as u32);
        ticks.insert(pid, num(11) + num(12));
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(".azurite-bench-fanout") {
            emulator.push(pid);
        }
    }
    let under_me = |mut p: u32| {
        for _ in 0..8 {
            match parent.get(&p) {
                Some(&q) if q == me => return true,
                Some(&q) if q > 1 => p = q,
                _ => return false,
            }
        }
        false
    };
    let measured = ticks
        .iter()
        .filter(|(p, _)| **p != me && (under_me(**p) || emulator.contains(p)));
    measured.map(|(_, t)| *t).sum::<u64>() as f64 / clock_ticks()
}

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
