#!/usr/bin/env bash
# Workspace-source benchmark on the loopback fake of the Logs Query API (benches/workspace.rs):
#   scripts/bench-workspace.sh [rows=20000] [repeats=5] [megabytes=64]
# Prints the store rate (in-memory tables, then on Azurite) beside a bare client issuing the same
# queries (and their ratio), queries per 10,000 rows, the table calls per row of both (and the tick's by table), the peak RSS of
# reading one answer of `megabytes` (own process: nothing else raises its high-water mark) and
# the queries a quiet workspace costs per tick.
# BENCH_PROFILE=dev builds the bench unoptimised (quicker to build on a busy machine; its figures are
# then a dev build's).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-20000}
REPEATS=${2:-5}
MB=${3:-64}
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench workspace --no-run 2>&1 | tail -1
BIN=$(cargo bench --profile "${BENCH_PROFILE:-bench}" --bench workspace --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and m["target"]["name"] == "workspace"][-1])')
echo "== rate: a workspace hour of $ROWS records, $REPEATS runs"
"$BIN" rate "$ROWS" "$REPEATS"
echo "== rate on Azurite: the tables through the REST client, a fresh instance per contestant"
"$BIN" azurite "$ROWS" 3
echo "== table calls per row, by operation and table (counted, not timed)"
"$BIN" calls "$ROWS"
echo "== peak RSS: one answer of about $MB MB"
"$BIN" rss "$MB"
echo "== a quiet workspace"
"$BIN" quiet 5
