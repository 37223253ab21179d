#!/usr/bin/env bash
# Evidence pack benchmark: `handler evidence` for one month of a 5-host estate on Azurite (60,000
# sessions, 60,000 recordings, 5,000 reviews by default): wall time (goal <= 2 min) and peak RSS
# (goal <= 256 MB, /usr/bin/time's maxrss). The bench starts its own Azurite (scripts/azurite.sh,
# state in .azurite-bench), seeds the month (not measured), then runs the binary (benches/evidence.rs).
# Extra arguments go to the bench: -- --sessions N --reviews N --hosts N [--shared-azurite]
# BENCH_PROFILE=dev measures an unoptimised build (when a release build is too slow to make here);
# BENCH_HANDLER_BIN=path runs another build of the handler.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench evidence "$@"
