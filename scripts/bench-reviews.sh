#!/usr/bin/env bash
# Review queue benchmark on Azurite: the answer time of GET /api/reviews/queue (goal <= 1 s) and the
# storage calls of one ReviewQueue run, at 2,000 and 20,000 sessions a day with the unreviewed
# backlog of --days days in the queue (benches/reviews.rs). The bench starts its own Azurite
# (scripts/azurite.sh, state in .azurite-bench) and restarts it for every rate.
# Extra arguments go to the bench: -- --rates 2000,20000 --days 3 --requests 30 [--shared-azurite]
# BENCH_PROFILE=dev measures an unoptimised build (when a release build is too slow to make here);
# BENCH_HANDLER_BIN=path runs another build of the handler.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench reviews "$@"
