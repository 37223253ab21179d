#!/usr/bin/env bash
# Audit-log parse + sessionize benchmark: Rust (the tail's own code) vs a straightforward Python
# reader, side by side on the same generated file, in one run.
#   scripts/bench-auditlogs.sh [megabytes=1024] [rust_repeats=5] [python_repeats=3]
# Prints each run, the medians (wall and CPU time: CPU is the per-core figure on a shared machine),
# MB/s, the ratios and the peak RSS of both.
# BENCH_PROFILE=dev builds the bench unoptimised (quicker to build on a busy machine; its figures are
# then a dev build's).
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-1024}
RUST_N=${2:-5}
PY_N=${3:-3}
FILE=${BENCH_FILE:-${TMPDIR:-/tmp}/auditlogs-bench-${MB}m.jsonl}

# Unstripped bench binary (same speed) so `perf record` on it shows symbols.
export CARGO_PROFILE_BENCH_STRIP=${CARGO_PROFILE_BENCH_STRIP:-false}
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench auditlogs --no-run 2>&1 | tail -1
BIN=$(cargo bench --profile "${BENCH_PROFILE:-bench}" --bench auditlogs --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and "auditlogs" in m["target"]["name"]][-1])')

[ -s "$FILE" ] || "$BIN" generate "$FILE" "$MB"
BYTES=$(stat -c %s "$FILE")
echo "file: $FILE ($BYTES bytes)"

# Peak RSS is also taken from /usr/bin/time -v (whole process, incl. the runtime) when available.
TIMEV=()
[ -x /usr/bin/time ] && TIMEV=(/usr/bin/time -v -o "$FILE.time")
maxrss() { [ -s "$FILE.time" ] && awk -F': ' '/Maximum resident/ {printf "%s", $2}' "$FILE.time" || echo 0; }
RUST_OUT=$("${TIMEV[@]}" "$BIN" run "$FILE" "$RUST_N" | tee /dev/stderr)
RUST_TIMEV=$(maxrss)
PY_OUT=$("${TIMEV[@]}" python3 scripts/bench/auditlogs_python.py "$FILE" "$PY_N" | tee /dev/stderr)
PY_TIMEV=$(maxrss)
rm -f "$FILE.time"
echo "/usr/bin/time -v maximum resident set size: rust ${RUST_TIMEV} KiB, python ${PY_TIMEV} KiB"

python3 - "$BYTES" "$RUST_OUT" "$PY_OUT" <<'PY'
import json, sys
size = int(sys.argv[1])
summary = lambda text: [json.loads(l) for l in text.splitlines() if "median_secs" in l][-1]
r, p = summary(sys.argv[2]), summary(sys.argv[3])
mb = size / 1e6
for name, x in (("rust", r), ("python", p)):
    print(f"{name:6} median {x['median_secs']:.3f} s wall {mb / x['median_secs']:8.1f} MB/s | "
          f"{x['median_cpu_secs']:.3f} s CPU {mb / x['median_cpu_secs']:8.1f} MB/s per core | "
          f"peak RSS {x['peak_rss_kib'] / 1024:7.1f} MiB")
print(f"ratio (python / rust time): wall {p['median_secs'] / r['median_secs']:.1f}x, "
      f"CPU {p['median_cpu_secs'] / r['median_cpu_secs']:.1f}x")
PY
