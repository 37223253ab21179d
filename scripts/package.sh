#!/usr/bin/env bash
# Builds the deployment package for Linux x86_64 (Flex Consumption, Linux Consumption, Premium):
#   dist/host.json, dist/handler (0755), dist/<Function>/function.json, and dist/app.zip (same tree,
#   Unix mode bits preserved in the zip: only Linux (Flex) Consumption adds +x itself).
# The binary links against glibc 2.28 symbols at most (cargo-zigbuild, target x86_64-unknown-linux-gnu.2.28)
# so it runs on older hosts than the build machine. Installs its tools into ./.tools on first use:
# ziglang and cargo-zigbuild from PyPI (prebuilt wheels: seconds instead of a `cargo install`, which is
# the fallback). Environment: PACKAGE_SKIP_BUILD=1 reuses the last release binary (assembling only);
# PACKAGE_BUILD_ONLY=1 builds the release binary and leaves dist/ alone (scripts/test.sh runs it in the
# background while the tests run, and assembles later).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
TARGET=x86_64-unknown-linux-gnu
GLIBC=2.28
ZIGLANG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.0
DIST="$ROOT/dist"

log() { printf 'package: %s\n' "$*" >&2; }

ensure_tools() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
        log "installing ziglang $ZIGLANG_VERSION"
        # The venv is shared with scripts/ci-infra.sh's checkov, which may be installing at the same time.
        flock "$TOOLS/venv.lock" "$VENV/bin/pip" install --quiet "ziglang==$ZIGLANG_VERSION"
    fi
    if [ ! -x "$VENV/bin/cargo-zigbuild" ] && [ ! -x "$TOOLS/bin/cargo-zigbuild" ]; then
        log "installing cargo-zigbuild $ZIGBUILD_VERSION"
        flock "$TOOLS/venv.lock" "$VENV/bin/pip" install --quiet "cargo-zigbuild==$ZIGBUILD_VERSION" ||
            cargo install cargo-zigbuild --locked --version "$ZIGBUILD_VERSION" --root "$TOOLS"
    fi
    # cargo finds the `zigbuild` subcommand on PATH; cargo-zigbuild finds zig via `python3 -m ziglang`.
    export PATH="$VENV/bin:$TOOLS/bin:$PATH"
}

build() {
    ensure_tools
    log "cargo zigbuild --release --target $TARGET.$GLIBC"
    cargo zigbuild --locked --release --bin handler --target "$TARGET.$GLIBC"
}

# Writes dist/app.zip from the files under dist/ (except the zip) with explicit Unix modes.
make_zip() {
    python3 - "$DIST" <<'PY'
import os, sys, zipfile
dist = sys.argv[1]
out = os.path.join(dist, "app.zip")
tmp = out + ".tmp"
files = []
for base, _, names in os.walk(dist):
    for n in names:
        p = os.path.join(base, n)
        rel = os.path.relpath(p, dist)
        if rel not in ("app.zip", "app.zip.tmp"):
            files.append(rel)
with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
    for rel in sorted(files):
        mode = os.stat(os.path.join(dist, rel)).st_mode & 0o777
        info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
        info.create_system = 3  # Unix: the host reads the mode from the upper 16 bits
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(dist, rel), "rb") as f:
            z.writestr(info, f.read())
os.replace(tmp, out)
PY
}

assemble() {
    local bin="${CARGO_TARGET_DIR:-$ROOT/target}/$TARGET/release/handler"
    [ -f "$bin" ] || { log "missing $bin (run without PACKAGE_SKIP_BUILD)"; exit 1; }
    rm -rf "$DIST"
    mkdir -p "$DIST"
    install -m 0644 host.json "$DIST/host.json"
    install -m 0755 "$bin" "$DIST/handler"
    strip --strip-all "$DIST/handler"
    local n=0
    for f in functions/*/function.json; do
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" || { log "invalid JSON: $f"; exit 1; }
        local name
        name=$(basename "$(dirname "$f")")
        install -D -m 0644 "$f" "$DIST/$name/function.json"
        n=$((n + 1))
    done
    make_zip
    log "dist/ ready: $n functions, handler $(stat -c %s "$DIST/handler") bytes, app.zip $(stat -c %s "$DIST/app.zip") bytes"
}

if [ "${PACKAGE_SKIP_BUILD:-0}" != 1 ]; then
    build
fi
if [ "${PACKAGE_BUILD_ONLY:-0}" = 1 ]; then
    exit 0
fi
assemble
