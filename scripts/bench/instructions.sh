#!/usr/bin/env bash
# Per-request CPU cost, free of the noise of a shared machine: instructions executed by the server
# (valgrind callgrind) for RecordingCreated on the handler and for the bare axum echo of
# benches/handler, as (Ir after N2 requests - Ir after N1) / (N2 - N1), which cancels start-up.
# Usage: scripts/bench/instructions.sh HANDLER_BIN ECHO_BENCH_BIN [N1 N2]  (the handler logs JSON, as
# under the host; LOG_FORMAT=compact measures plain-text logs). HANDLER_BIN runs in memory: the test
# kit's target/release/handler-in-memory (`cargo build --release -p bastion-testkit --bins`).
set -euo pipefail
cd "$(dirname "$0")/../.."
handler=$1 echo_bin=$2 n1=${3:-200} n2=${4:-1200}
fixture=tests/fixtures/invocations/recording-created.invocation.json
export FUNCTIONS_CUSTOMHANDLER_PORT=0 HANDLER_IN_MEMORY_ACCOUNT=stbastrecweu01
export HANDLER_IN_MEMORY_SEED="w0x:$n2" RUST_LOG=info LOG_FORMAT=${LOG_FORMAT:-json}

# Runs "$@" under callgrind, posts $1 requests, dumps the counts while the server still runs (so
# tearing down N stored rows at exit, which grows with N, is not counted as per-request work),
# stops it; prints the instruction total of that dump.
instructions() {
  local n=$1; shift
  local out; out=$(mktemp -d)
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$@" >"$out/stdout" 2>"$out/stderr" &
  local pid=$!
  until grep -q '^listening addr=' "$out/stdout" 2>/dev/null; do sleep 0.2; done
  local addr; addr=$(sed -n 's/^listening addr=//p' "$out/stdout" | head -1)
  python3 scripts/bench/post_n.py "$addr" "$n" "$fixture"
  callgrind_control --dump=after-requests "$pid" >/dev/null 2>&1
  # The dump is written asynchronously (cg.1); wait for its last line.
  until grep -qs '^totals: ' "$out/cg.1"; do sleep 0.2; done
  kill -TERM "$pid"; wait "$pid" || true
  sed -n 's/^totals: //p' "$out/cg.1"
  rm -rf "$out"
}

for target in handler echo; do
  if [ "$target" = handler ]; then cmd=("$handler"); else cmd=("$echo_bin" --echo); fi
  a=$(instructions "$n1" "${cmd[@]}")
  b=$(instructions "$n2" "${cmd[@]}")
  echo "$target instructions_per_request=$(( (b - a) / (n2 - n1) ))"
done
