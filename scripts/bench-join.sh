#!/usr/bin/env bash
# Audit-log join cost (benches/join.rs): storage requests per audit record while tailing one audit
# hour, over sessions in the hour × unjoined recordings in its window; in memory, then (smaller) on
# Azurite. Prints one markdown table per store.
#   scripts/bench-join.sh                       # both grids
#   BENCH_JOIN_AZURITE=0 scripts/bench-join.sh  # in memory only
#   BENCH_BEFORE_BIN=path scripts/bench-join.sh # also runs another build's bench binary, same grids
# Grids: BENCH_JOIN_MEMORY="--sessions 10,100,1000 --recordings 0,10,100,1000",
#        BENCH_JOIN_AZ="--sessions 10,100 --recordings 0,100". Starts Azurite when
# AZURITE_CONNECTION_STRING is not set.
# BENCH_PROFILE=dev builds the bench unoptimised (quicker to build on a busy machine; its figures are
# then a dev build's).
set -euo pipefail
cd "$(dirname "$0")/.."
MEMORY=${BENCH_JOIN_MEMORY:---sessions 10,100,1000 --recordings 0,10,100,1000}
AZ=${BENCH_JOIN_AZ:---sessions 10,100 --recordings 0,100}
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench join --no-run 2>&1 | tail -1
BIN=$(cargo bench --profile "${BENCH_PROFILE:-bench}" --bench join --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and m["target"]["name"] == "join"][-1])')
BINS=("$BIN")
LABELS=("this build")
if [ -n "${BENCH_BEFORE_BIN:-}" ]; then
  BINS=("$BENCH_BEFORE_BIN" "$BIN")
  LABELS=("before" "this build")
fi
for i in "${!BINS[@]}"; do
  # shellcheck disable=SC2086
  "${BINS[$i]}" --label "${LABELS[$i]}" $MEMORY
done
[ "${BENCH_JOIN_AZURITE:-1}" = 0 ] && exit 0
if [ -z "${AZURITE_CONNECTION_STRING:-}" ]; then
  scripts/azurite.sh start
  # shellcheck disable=SC1091
  source .azurite/env
  trap 'scripts/azurite.sh stop >/dev/null 2>&1 || true' EXIT
fi
for i in "${!BINS[@]}"; do
  # shellcheck disable=SC2086
  "${BINS[$i]}" --label "${LABELS[$i]}" --azurite $AZ
done
