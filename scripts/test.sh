#!/usr/bin/env bash
# scripts/test.sh — `make test` (and so .ci/run): installs what is missing, builds, runs the unit
# tests (CTest) and then the integration and end-to-end suites (tests/run-integration.sh) against a
# separate test stack. Both suites always run; exits non-zero when either failed.
# Env: SKIP_DEPS=1, SKIP_BUILD=1, BUILD_DIR (build).
set -euo pipefail
export EA_SCRIPT=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv
cd "$REPO_ROOT"
BUILD_DIR="${BUILD_DIR:-build}"

t0="$(now_s)"
[[ "${SKIP_DEPS:-0}" == 1 ]] || bash scripts/deps.sh
[[ "${SKIP_BUILD:-0}" == 1 ]] || bash scripts/build.sh

out="$(mktemp)"
trap 'rm -f "$out"' EXIT

unit_rc=0
msg "unit tests (ctest)"
ctest --test-dir "$BUILD_DIR" --output-on-failure 2>&1 | tee "$out" || unit_rc=$?
# "100% tests passed, 0 tests failed out of 12" (no line at all when there is no test yet)
read -r unit_total unit_failed < <(awk '/tests failed out of/ { print $NF, $4 }' "$out") || true
unit_total="${unit_total:-0}" unit_failed="${unit_failed:-0}"
((unit_rc == 0 || unit_failed > 0)) || unit_failed=1

int_rc=0
msg "integration tests"
BIN_DIR="${BIN_DIR:-$BUILD_DIR/bin}" bash tests/run-integration.sh 2>&1 | tee "$out" || int_rc=$?
read -r int_passed int_failed < <(awk '/^integration: [0-9]+ passed, [0-9]+ failed$/ { print $2, $4 }' "$out") || true
int_passed="${int_passed:-0}" int_failed="${int_failed:-0}"
((int_rc == 0 || int_failed > 0)) || int_failed=1

msg "unit: $((unit_total - unit_failed)) passed, $unit_failed failed; integration: $int_passed passed, $int_failed failed; $(elapsed "$t0") s"
echo "tests: $((unit_total - unit_failed + int_passed)) passed, $((unit_failed + int_failed)) failed"
((unit_rc == 0 && int_rc == 0))
