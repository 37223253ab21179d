#!/usr/bin/env bash
# AuditLogTail at many Bastion hosts on Azurite (benches/tail/): this tree beside a base revision
# ("today": by default the merge base with main) in one run. The bench file is built against both
# trees (the base's sources from `git archive`, under target/bench-today/src), then each binary runs
# every point on a freshly started Azurite of its own (.azurite-bench-tail): the quiet points (storage
# calls per tick at 1, 20 and 100 hosts, 1 and 49 watched hour blobs each; 100 x 49 is the lag
# estate's, measured before its first append), then the lag run (100 hosts x 49 watched hour blobs,
# appends in random watched blobs; p50/p99/max lag; calls per record).
#   scripts/bench-tail.sh            the full run (about 20 minutes on 2 shared cores, builds aside)
#   scripts/bench-tail.sh --quick    the quiet points but 20 x 49 (the lag estate's) and 100 x 49; the
#                                    lag at 20 hosts x 49 (a cycle of today's design is 20 ticks)
#   BENCH_TAIL_QUIET="--points 1x49,20x49" BENCH_TAIL_LAG="--hosts 20 --ticks 30" scripts/bench-tail.sh
#   BENCH_TODAY_REV=<rev>       another base revision;  BENCH_TODAY=0  this tree only
#   BENCH_PROFILE=bench         optimised builds (the default, dev, builds in a fraction of the time;
#                               the figures are calls and simulated minutes, the wall time is small)
#   BENCH_TAIL_MODES="quiet"    one of the two modes only
# Prints every point as a JSON line, then one table per mode.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ "${1:-}" = --quick ]; then
  QUIET=${BENCH_TAIL_QUIET:---points 1x1,1x49,20x1,100x1}
  LAG=${BENCH_TAIL_LAG:---hosts 20 --watched 49 --appends 10 --append-ticks 5 --ticks 26}
else
  QUIET=${BENCH_TAIL_QUIET:---points 1x1,1x49,20x1,20x49,100x1}
  LAG=${BENCH_TAIL_LAG:---hosts 100 --watched 49}
fi
PROFILE=${BENCH_PROFILE:-dev}
MODES=${BENCH_TAIL_MODES:-quiet lag}

# The bench built in directory $1, copied to target/bench-tail/$2 (both trees build into this
# tree's target directory, sharing the dependencies; the base's package gets another version, so
# its artifacts do not replace this tree's).
build() {
  local exe
  (cd "$1" && CARGO_TARGET_DIR="$ROOT/target" cargo bench --profile "$PROFILE" --bench tail --no-run 2>&1 | tail -1 >&2)
  exe=$( (cd "$1" && CARGO_TARGET_DIR="$ROOT/target" cargo bench --profile "$PROFILE" --bench tail --no-run --message-format=json 2>/dev/null) \
    | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable") and m["target"]["name"] == "tail"][-1])')
  mkdir -p "$ROOT/target/bench-tail"
  cp "$exe" "$ROOT/target/bench-tail/$2"
  echo "$ROOT/target/bench-tail/$2"
}

LABELS=("listing")
BINS=("$(build "$ROOT" listing)")
if [ "${BENCH_TODAY:-1}" != 0 ]; then
  REV=${BENCH_TODAY_REV:-$(git merge-base HEAD main)}
  SRC="$ROOT/target/bench-today/src"
  rm -rf "$SRC" && mkdir -p "$SRC"
  git archive "$REV" | tar -x -C "$SRC"
  # This tree's Azurite install, so the base's scripts/azurite.sh does not install it again.
  [ -d .tools ] && ln -s "$ROOT/.tools" "$SRC/.tools"
  # This bench (and the helpers it shares), built against that tree's library.
  rm -rf "$SRC/benches/tail" && cp -r benches/tail "$SRC/benches/tail" && cp -r benches/common "$SRC/benches/"
  grep -q '^name = "tail"' "$SRC/Cargo.toml" || printf '\n[[bench]]\nname = "tail"\nharness = false\n' >>"$SRC/Cargo.toml"
  # Other versions, so its artifacts get names of their own beside this tree's in the shared target:
  # each workspace package's, and the requirements naming them (the test kit's on the product, the
  # product's on the test kit).
  for toml in "$SRC/Cargo.toml" "$SRC/testkit/Cargo.toml" "$SRC/devhost/Cargo.toml"; do
    [ -f "$toml" ] || continue
    sed -i -e '0,/^version = "\([0-9.]*\)"$/s//version = "\1-today"/' \
      -e 's/^\(bastion-[a-z]* = { path = "[^"]*", version = "[0-9.]*\)"/\1-today"/' "$toml"
  done
  LABELS=("today ($(git rev-parse --short "$REV"))" "${LABELS[@]}")
  BINS=("$(build "$SRC" today)" "${BINS[@]}")
fi

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for mode in $MODES; do
  args=$QUIET
  [ "$mode" = lag ] && args=$LAG
  for i in "${!BINS[@]}"; do
    echo "== $mode: ${LABELS[$i]}" >&2
    # shellcheck disable=SC2086
    "${BINS[$i]}" "$mode" --label "${LABELS[$i]}" $args | tee -a "$OUT"
  done
done

python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
quiet = [r for r in rows if r["mode"] == "quiet"]
# The lag estate's quiet ticks, before its first append.
quiet += [dict(r, watched=f"{r['watched']} (lag estate)", calls_per_tick=r["quiet_calls_per_tick"],
               calls_per_host=r["quiet_calls_per_tick"] / r["hosts"], by_op=r["quiet_by_op"])
          for r in rows if r["mode"] == "lag" and "quiet_by_op" in r]
if quiet:
    print("\nstorage calls per quiet tick (per host)")
    print("| design | hosts | watched per host | calls per tick | per host | list | read_range | table |")
    print("|---|---|---|---|---|---|---|---|")
    for r in quiet:
        ops = r["by_op"]
        table = sum(v for k, v in ops.items() if k.startswith("table."))
        print(f"| {r['label']} | {r['hosts']} | {r['watched']} | {r['calls_per_tick']:.1f} | "
              f"{r['calls_per_host']:.2f} | {ops.get('blob.list', 0):.1f} | {ops.get('blob.read_range', 0):.1f} | {table:.1f} |")
lag = [r for r in rows if r["mode"] == "lag"]
if lag:
    print("\nlag from an append to its session row (simulated minutes, plus each tick's wall time)")
    print("| design | hosts x watched | appends (unseen) | p50 | p99 | max | max in ticks | tick wall p50 / max | calls per record (beyond quiet ticks) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in lag:
        print(f"| {r['label']} | {r['hosts']} x {r['watched']} | {r['appended']} ({r['unseen']}) | "
              f"{r['p50_s']:.0f} s | {r['p99_s']:.0f} s | {r['max_s']:.0f} s | {r['max_ticks']:.2f} | "
              f"{r['tick_wall_p50_s']:.1f} / {r['tick_wall_max_s']:.1f} s | "
              f"{r['calls_per_record']:.1f} ({r['calls_per_record_beyond_quiet']:.1f}) |")
PY
