#!/usr/bin/env bash
# tests/sanitizers/services.sh — the services themselves under AddressSanitizer + UBSan: the
# binaries of an -DEA_SANITIZE=ON build (ingest-api, worker, graphql-api, analytics-admin,
# kafka-dev-broker) run a test stack of their own (.data/test-asan) and the integration files
# that drive them hardest — the spine, hostile input (ingest, GraphQL, WebSocket), ingest faults
# and WebSocket subscriptions — through tests/run-integration.sh (counted by tests/manifest.txt
# like every run). Any sanitizer report fails the pass, even when every test passed: reports go
# to files (ASAN_OPTIONS/UBSAN_OPTIONS log_path), and the services' logs are searched as well.
# Leaks are reported at exit (SIGTERM at teardown); tests/sanitizers/lsan.supp lists libh2o's.
#
# Usage: tests/sanitizers/services.sh [ASAN_BUILD_DIR]   (default build-asan; built when missing)
# Env: SANITIZE_TEST_FILES (the files above), JOBS, and the TEST_* ports of run-integration.sh.
# Last line: "services-asan: N passed, M failed ... K sanitizer report(s)"; exit 1 on any failure.
set -uo pipefail
export EA_SCRIPT=services-asan
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
load_dotenv --test
cd "$REPO_ROOT"
BUILD="${1:-${ASAN_BUILD_DIR:-build-asan}}"
[[ "$BUILD" == /* ]] || BUILD="$REPO_ROOT/$BUILD"
FILES="${SANITIZE_TEST_FILES:-tests/integration/spine.test.mjs tests/integration/ingest_hostile.test.mjs tests/integration/graphql_hostile.test.mjs tests/integration/ingest_faults.test.mjs tests/integration/graphql_ws.test.mjs tests/integration/graphql_ws_hostile.test.mjs}"

need=(ingest-api worker graphql-api analytics-admin kafka-dev-broker)
missing=0
for b in "${need[@]}"; do [[ -x "$BUILD/bin/$b" ]] || missing=1; done
if ((missing)); then
    msg "building the services with -DEA_SANITIZE=ON in ${BUILD#"$REPO_ROOT"/}"
    { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DEA_SANITIZE=ON &&
        cmake --build "$BUILD" -j"${JOBS:-2}" --target "${need[@]}"; } >"$BUILD.services.log" 2>&1 ||
        { tail -n 30 "$BUILD.services.log"; echo "services-asan: 0 passed, 1 failed (build), 0 sanitizer report(s)"; exit 1; }
fi
# the binaries must really be instrumented (a plain build here would test nothing); grep reads
# all of nm's output (grep -q stops early, nm dies of SIGPIPE and pipefail calls that a failure)
if ! nm -D "$BUILD/bin/ingest-api" 2>/dev/null | grep __asan_init >/dev/null &&
    ! nm "$BUILD/bin/ingest-api" 2>/dev/null | grep __asan_init >/dev/null; then
    msg "$BUILD/bin/ingest-api is not built with AddressSanitizer (configure with -DEA_SANITIZE=ON)"
    echo "services-asan: 0 passed, 1 failed (not instrumented), 0 sanitizer report(s)"
    exit 1
fi

REPORTS="$(mktemp -d /tmp/ea-sanitizer-reports.XXXXXX)"
chmod 1777 "$REPORTS"
trap 'rm -rf "$REPORTS"' EXIT
STACK="$REPO_ROOT/.data/test-asan"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan"
export LSAN_OPTIONS="suppressions=$REPO_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
rc=0
BIN_DIR="$BUILD/bin" TEST_STACK_DIR="$STACK" TEST_FILES="$FILES" TEST_TIMEOUT="${TEST_TIMEOUT:-900}" \
    bash tests/run-integration.sh 2>&1 | tee "$REPORTS/run.log" || rc=$?
summary="$(grep -E '^integration: [0-9]+ passed' "$REPORTS/run.log" | tail -n 1)"

# every report: the log_path files, and report lines that reached a service log anyway
nrep=0
for f in "$REPORTS"/asan.* "$REPORTS"/ubsan.*; do
    [[ -s "$f" ]] || continue
    nrep=$((nrep + 1))
    msg "sanitizer report $(basename "$f"):"
    head -n 40 "$f" >&2
done
if [[ -d "$STACK/log" ]]; then
    while IFS= read -r hit; do
        nrep=$((nrep + 1))
        msg "sanitizer report in a service log: $hit"
    done < <(grep -HE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (Address|Undefined|Leak)' "$STACK"/log/*.log 2>/dev/null)
fi
((nrep == 0)) || rc=1
echo "services-asan: ${summary#integration: }, $nrep sanitizer report(s)"
exit "$rc"
