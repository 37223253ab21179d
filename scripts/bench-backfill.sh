#!/usr/bin/env bash
# Backfill on Azurite: `handler backfill` (the release binary) over 10,000 recordings and 48 hours of
# audit logs for 5 Bastion hosts, from an empty catalogue, beside the same entry point run in process
# over counting clients (the storage calls) and the bare-client limit (benches/backfill/). The bench
# starts its own Azurite (scripts/azurite.sh, state in .azurite-bench) afresh for every contestant.
# Extra arguments go to the bench:
#   -- --recordings N --hosts N --hours N --untunnelled PCT --concurrency N --rounds N
#   -- --quick            (300 recordings, 2 hosts, 6 hours: a smoke check, well under a minute)
# BENCH_HANDLER_BIN=path[,path] adds other builds (given the same source lists).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench backfill "$@"
