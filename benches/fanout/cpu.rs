//! CPU seconds of the processes a run measures: the bench's own children (the planner, each
//! instance's `devhost` and `handler`) and the bench's Azurite (`AZURITE_PID` of
//! `.azurite-bench-fanout/env`, started detached by `scripts/azurite.sh`), with their children,
//! from `/proc/<pid>/stat` (user + system time, in clock ticks). A process that ends between two
//! reads loses what it spent since the first.

use std::collections::BTreeMap;

/// User + system seconds so far of every process measured.
pub(crate) fn seconds() -> f64 {
    let me = std::process::id();
    let mut parent = BTreeMap::new();
    let mut ticks = BTreeMap::new();
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
    }
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/.azurite-bench-fanout/env");
    let env = std::fs::read_to_string(file).unwrap_or_default();
    let emulator =
        (env.split_whitespace()).find_map(|w| w.strip_prefix("AZURITE_PID=")?.parse::<u32>().ok());
    let roots = [Some(me), emulator];
    let under = |mut p: u32| {
        for _ in 0..8 {
            if roots.contains(&Some(p)) {
                return true;
            }
            match parent.get(&p) {
                Some(&q) if q > 1 => p = q,
                _ => return false,
            }
        }
        false
    };
    let measured = ticks.iter().filter(|(p, _)| **p != me && under(**p));
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
