#!/usr/bin/env bash
# Sentinel export benchmark (benches/sentinel.rs) on the bench's own Azurite and the loopback fake
# of the Logs Ingestion API:
#   scripts/bench-sentinel.sh [rows=20000] [repeats=3] [closed|open]
# closed (the default): a backlog recorded an hour ago, in a bucket no write lands in any more
# (retired by cursor moves and one Delete Table); open: the bucket being written (each sent row
# removed in transactions of 100: a burst drained within the half hour it is written).
# BENCH_PROFILE=dev measures an unoptimised build of the bench (when a release build is too slow to
# make here); Azurite does the storage work either way.
# Prints, per run, the rows/s of the exporter and of a bare client doing the same work (same
# calls, same retirement, the same state at the end, checked), and their ratio of medians; calls,
# gzip MB per 10,000 rows and calls per MB of gzip (the packing: at most 1 MB a call).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-20000}
REPEATS=${2:-3}
SHAPE=${3:-closed}
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench sentinel --no-run 2>&1 | tail -1
BIN=$(cargo bench --profile "${BENCH_PROFILE:-bench}" --bench sentinel --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and m["target"]["name"] == "sentinel"][-1])')
echo "== rate: $ROWS detection rows ($SHAPE bucket), $REPEATS runs (contestants alternating, a fresh Azurite each)"
"$BIN" rate "$ROWS" "$REPEATS" "$SHAPE"
