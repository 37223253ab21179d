#!/usr/bin/env bash
# RecordingCreated on Azurite: the real handler (release build, JSON logs as under the host) beside a
# bare client making the same storage calls (checked equal, operation by operation, against the
# handler's own code path), at concurrency 16 and 64, the contestants taking turns slice by slice,
# each on a freshly started Azurite of its own (benches/azurite/; state in .azurite-bench*, apart
# from the tests'). Extra arguments go to the bench (`-- --recordings 2000 --slices 10
# --concurrency 16,64 --warmup 50`,
# `--shared-azurite` to use AZURITE_CONNECTION_STRING as it is); BENCH_HANDLER_BIN=path[,path] adds
# other builds (before/after in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench azurite "$@"
