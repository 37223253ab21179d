#!/usr/bin/env bash
# CI checks for infra/ and packaging (called from .ci/run):
#   1. every inline checkov suppression carries a reason;  2. checkov over infra/ (infra/.checkov.yaml);
#   3. structural Bicep checks and the rules of how Resource Manager evaluates and re-runs the templates
#      (infra/tests/check_bicep.py, arm_rules.py; no Bicep CLI can be installed offline), the
#      KQL shipped for Microsoft Sentinel through Microsoft's Kusto language service (scripts/kql.sh: rules,
#      parser and workbook queries and the docs' arrival queries against the declared table schemas, the
#      workbook's template shape), the
#      preflight and deploy.sh against recorded az answers (infra/tests/preflight/) and the cost model's arithmetic;
#   4. scripts/package.sh (release build for glibc 2.28, dist/, dist/app.zip);
#   5. the package, release (no test double in the release build) and settings-drift e2e tests,
#      with REQUIRE_PACKAGE=1 so a missing zip fails.
# Installs checkov into ./.tools/venv itself. One argument runs a part: --tools-only (checkov and
# the Kusto language service's npm install), --checks-only (steps 1-3: scripts/test.sh runs them
# beside cargo test, and a local quick run), --package-only (steps 4-5).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.tools/venv
CHECKOV_VERSION=3.3.30

step() { printf '\n== ci-infra: %s\n' "$*"; }
elapsed() { printf 'ci-infra: %s took %ss\n' "$1" "$(($(date +%s) - $2))"; }

PART="${1:-}"
case "$PART" in
    "" | --tools-only | --checks-only | --package-only) ;;
    *) echo "ci-infra.sh: unknown argument $PART (--tools-only, --checks-only or --package-only)" >&2; exit 2 ;;
esac

tools() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
        step "installing checkov $CHECKOV_VERSION"
        # The venv is shared with scripts/package.sh's tools, which may be installing at the same time.
        flock .tools/venv.lock "$VENV/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
    fi
}

checks() {
    step "checkov suppressions carry reasons"
    local bad t
    bad=$(grep -rn 'checkov:skip=' infra --include='*.bicep' | grep -Ev 'checkov:skip=CKV2?_[A-Z0-9_]+:.{20,}' || true)
    if [ -n "$bad" ]; then
        # shellcheck disable=SC2016 # the backticks are text
        printf 'suppression without a reason (write `// checkov:skip=<ID>:<why>`):\n%s\n' "$bad" >&2
        exit 1
    fi
    grep -rhoE 'checkov:skip=CKV2?_[A-Z0-9_]+' infra --include='*.bicep' | sort | uniq -c

    step "checkov"
    t=$(date +%s)
    "$VENV/bin/checkov" --config-file infra/.checkov.yaml
    elapsed checkov "$t"

    step "Bicep structure"
    "$VENV/bin/python" infra/tests/check_bicep.py

    step "Sentinel KQL (Kusto language service) and workbook shape"
    scripts/kql.sh

    step "preflight and deploy.sh against recorded az answers"
    t=$(date +%s)
    python3 infra/tests/preflight/run.py
    python3 infra/tests/preflight/deploy_test.py
    elapsed preflight "$t"

    step "cost model arithmetic, product line counter"
    python3 scripts/cost_test.py
    python3 scripts/product_lines_test.py
}

package() {
    step "package"
    local t
    t=$(date +%s)
    scripts/package.sh
    elapsed package "$t"

    step "package, release and settings drift tests"
    # release:: checks the compiler's dep-info (every source file compiled in), which stripping, LTO and inlining cannot hide as they hide symbols.
    REQUIRE_PACKAGE=1 cargo test --locked --test e2e -- package:: release:: settings_drift::
}

# One command per line: `set -e` does not reach into a function run as part of an `&&` list.
case "$PART" in
    --tools-only)
        tools
        scripts/kql.sh --install-only
        ;;
    --checks-only)
        tools
        checks
        ;;
    --package-only) package ;;
    *)
        tools
        checks
        package
        ;;
esac
