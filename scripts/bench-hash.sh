#!/usr/bin/env bash
# RecordingHash benchmark: SHA-256 throughput in memory (raw and through the streaming ranged-read
# path; goal >= 500 MB/s) and from Azurite, plus the peak RSS of a process hashing a large Azurite
# blob (constant memory: it must not grow with the blob). Azurite part when TEST_AZURITE=1 and
# AZURITE_CONNECTION_STRING are set. Sizes: BENCH_HASH_MB, BENCH_HASH_AZURITE_MB (default 256;
# set 1024 for the 1 GB figure if the machine has the memory for Azurite to hold it).
# BENCH_PROFILE=dev builds the bench unoptimised (quicker to build on a busy machine; its figures are
# then a dev build's).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --profile "${BENCH_PROFILE:-bench}" --bench hash
