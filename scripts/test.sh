#!/usr/bin/env bash
# scripts/test.sh — `make test` (and so .ci/run): installs what is missing, builds, then runs every
# gate in order and prints a table of phases with their result and time. Every phase runs even
# when an earlier one failed (the table shows all failures at once); exits non-zero when any did.
#
#   checksrc     scripts/checksrc.sh: banned unsafe calls in lib/ services/ tools/ bench/
#   unit         CTest in $BUILD_DIR (C unit tests, golden files, graphql-js differential test)
#   asan         the same CTest suite built with -DEA_SANITIZE=ON (ASan+UBSan) in $ASAN_BUILD_DIR;
#                leaks fail it (tests/sanitizers/lsan.supp lists what is libh2o's, with why)
#   fuzz         every libFuzzer driver (tests/fuzz/*/, clang -DEA_FUZZ=ON in $FUZZ_BUILD_DIR)
#                replays its corpus and fuzzes FUZZ_SECONDS (30) each: tests/fuzz/run.sh
#   tidy         clang-tidy (.clang-tidy: bugprone-*, clang-analyzer-*), any finding fails
#   integration  tests/run-integration.sh: integration and end-to-end suites on a test stack
#   services-asan  tests/sanitizers/services.sh: the services built in $ASAN_BUILD_DIR (ASan+UBSan)
#                run the spine, hostile-input, ingest-fault and WebSocket files; any report fails
#   load         tests/load/run.sh, 30 s (LOAD_DURATION): exact counts and GraphQL values vs the
#                seeded history, cache hits, p95 under generous ceilings
#   chaos        tests/chaos/run.sh, 20k events with the fault schedule: lost = duplicated = 0, each
#                of the 9 faults verified (its evidence printed)
#
# Counting: tests/manifest.txt lists every CTest test, fuzz driver and integration/e2e file with
# the number of checks it reports; the unit, asan, fuzz and integration phases fail when what
# ran differs from it (tests/manifest.mjs; how to register a test: tests/README.md).
#
# Env: BUILD_DIR (build), ASAN_BUILD_DIR (build-asan), FUZZ_BUILD_DIR (build-fuzz), FUZZ_SECONDS,
#      JOBS (2), and the TEST_* port variables of tests/run-integration.sh (also used by the load
#      and chaos phases). From .env only *_PORT and JOBS are read (scripts/lib.sh load_dotenv --test).
#      Developer switches, printed and marking the run PARTIAL: SKIP_DEPS=1, SKIP_BUILD=1,
#      SKIP_PHASES="asan fuzz ...", TEST_FILTER / TEST_FILES (integration), FUZZ_ONLY, TIDY_ONLY,
#      KEEP_TEST_DATA. Under CI=true (ci_mode) every one of them is ignored and every skip fails.
set -euo pipefail
export EA_SCRIPT=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
load_dotenv --test
cd "$REPO_ROOT"

# Developer switches that make the run partial: ignored under CI, printed otherwise.
partial=()
for v in SKIP_DEPS SKIP_BUILD SKIP_PHASES TEST_FILTER TEST_FILES FUZZ_ONLY TIDY_ONLY KEEP_TEST_DATA; do
    [[ -n "${!v:-}" && "${!v}" != 0 ]] || continue
    if ci_mode; then
        msg "CI=$CI: ignoring $v=${!v} (a CI run runs everything)"
        unset "$v"
    else
        partial+=("$v=${!v}")
    fi
done
((${#partial[@]} == 0)) || msg "PARTIAL RUN (developer switches): ${partial[*]}"
BUILD_DIR="${BUILD_DIR:-build}"
ASAN_BUILD_DIR="${ASAN_BUILD_DIR:-build-asan}"
FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"
export BIN_DIR="${BIN_DIR:-$BUILD_DIR/bin}"

t0="$(now_s)"
declare -a P_NAME=() P_RES=() P_SECS=() P_NOTE=()
LOG_DIR="$(mktemp -d /tmp/ea-test.XXXXXX)"
trap 'rm -rf "$LOG_DIR"' EXIT

# Runs one phase: phase NAME NOTE-EXTRACTOR COMMAND... ; output is shown live and kept for the
# extractor (an awk program printing a one-line summary of the phase's output, or "").
phase() {
    local name="$1" extract="$2" rc=0 ts note=""
    shift 2
    if [[ " ${SKIP_PHASES:-} " == *" $name "* ]]; then
        P_NAME+=("$name") P_RES+=(skipped) P_SECS+=(0) P_NOTE+=("SKIP_PHASES")
        return 0
    fi
    msg "---- phase $name ----"
    ts="$(now_s)"
    "$@" 2>&1 | tee "$LOG_DIR/$name.log" || rc=$?
    [[ -n "$extract" ]] && note="$(awk "$extract" "$LOG_DIR/$name.log" | tail -n 1)"
    P_NAME+=("$name") P_SECS+=("$(elapsed "$ts")") P_NOTE+=("$note")
    if ((rc == 0)); then P_RES+=(ok); else P_RES+=(FAIL); fi
    msg "phase $name: $([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)") in ${P_SECS[-1]} s"
    return 0
}

# Configures and builds a tree quietly (the log is shown when it fails). Usage: quiet_build DIR TARGET-ARGS... -- CMAKE-ARGS...
quiet_build() {
    local dir="$1" log="$LOG_DIR/build-$(basename "$1").log" targets=() cfg=()
    shift
    while (($#)) && [[ "$1" != -- ]]; do targets+=("$1"); shift; done
    (($#)) && shift
    cfg=("$@")
    if ! { cmake -S . -B "$dir" "${cfg[@]}" && cmake --build "$dir" -j"$JOBS" "${targets[@]}"; } >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "build of $dir failed"
        return 1
    fi
    echo "built $dir"
}
# CTest in a build tree, then the manifest check of what it ran (tests/manifest.mjs ctest).
run_ctest() {
    local dir="$1" junit="$LOG_DIR/ctest-$(basename "$1").xml" rc=0
    ctest --test-dir "$dir" --output-on-failure --output-junit "$junit" || rc=$?
    node tests/manifest.mjs ctest "$junit" || rc=1
    return "$rc"
}
run_asan() {
    quiet_build "$ASAN_BUILD_DIR" -- -DCMAKE_BUILD_TYPE=Debug -DEA_SANITIZE=ON || return 1
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        LSAN_OPTIONS="suppressions=$REPO_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0" \
        run_ctest "$ASAN_BUILD_DIR"
}
run_fuzz() {
    local targets=() d rc=0
    for d in tests/fuzz/*/; do
        ls "$d"/*.c >/dev/null 2>&1 && targets+=(--target "fuzz_$(basename "$d")")
    done
    CC=clang quiet_build "$FUZZ_BUILD_DIR" "${targets[@]}" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEA_FUZZ=ON ||
        return 1
    bash tests/fuzz/run.sh "$FUZZ_BUILD_DIR" | tee "$LOG_DIR/fuzz-run.log" || rc=$?
    node tests/manifest.mjs fuzz "$LOG_DIR/fuzz-run.log" || rc=1
    return "$rc"
}

[[ "${SKIP_DEPS:-0}" == 1 ]] || phase deps "" bash scripts/deps.sh
[[ "${SKIP_BUILD:-0}" == 1 ]] || phase build '/built in/ { sub(/^build: /, ""); print }' bash scripts/build.sh

phase checksrc '/^checksrc:/ { sub(/^checksrc: /, ""); print }' bash scripts/checksrc.sh
CTEST_NOTE='/tests failed out of/ { n = ($NF - $4) " passed, " $4 " failed of " $NF } /^manifest: [0-9]+ listed/ { n = n " (as listed)" } /^manifest: CTest/ { n = n " (NOT as listed)" } END { print n }'
phase unit "$CTEST_NOTE" run_ctest "$BUILD_DIR"
phase asan "$CTEST_NOTE" run_asan
phase fuzz '/^(ok  |FAIL) fuzz_/ { n = n $2 " " ($1 == "ok" ? "ok" : "FAIL") "; " } /^fuzz:/ { print n $2 " passed " $4 " failed" }' run_fuzz
phase tidy '/^tidy: / { sub(/^tidy: /, ""); print }' bash scripts/tidy.sh "$BUILD_DIR"
phase integration '/^integration: [0-9]+ passed/ { sub(/^integration: /, ""); print }' \
    bash tests/run-integration.sh
phase services-asan '/^services-asan: [0-9]+ passed/ { sub(/^services-asan: /, ""); print }' \
    bash tests/sanitizers/services.sh "$ASAN_BUILD_DIR"
phase load '/^(ingest|cached query|db query|dashboard) .* p95 </ { for (i = 1; $i != "p95"; i++); n = n $1 " p95 " $(i-3) " ms; " } /^cache: / { c = "cache " $2 "/" $4 " hits; " } /^load: (PASS|FAIL)/ { print n c $2 }' \
    env LOAD_DURATION="${LOAD_DURATION:-30}" bash tests/load/run.sh
phase chaos '/^  lost/ { l = $2 " lost, " $4 " duplicated" } /max lag/ { m = ", max lag " $3 ", drain " $8 " s" } /^  faults:/ { f = ", faults " $2 "/" $4 " verified" } /^chaos: (PASS|FAIL)/ { print l m f " " $2 }' \
    env CHAOS_EVENTS="${CHAOS_EVENTS:-20000}" CHAOS_RATE="${CHAOS_RATE:-500}" CHAOS_OUTAGE_S="${CHAOS_OUTAGE_S:-2}" \
    bash tests/chaos/run.sh

echo
printf '%-14s %-8s %8s  %s\n' PHASE RESULT SECONDS SUMMARY
failed=0
for i in "${!P_NAME[@]}"; do
    printf '%-14s %-8s %8s  %s\n' "${P_NAME[$i]}" "${P_RES[$i]}" "${P_SECS[$i]}" "${P_NOTE[$i]}"
    [[ "${P_RES[$i]}" == FAIL ]] && failed=$((failed + 1))
done
printf '%-14s %-8s %8s  %s\n' total "$( ((failed)) && echo FAIL || echo ok)" "$(elapsed "$t0")" \
    "$( ((${#partial[@]})) && echo "PARTIAL RUN: ${partial[*]}")"
echo "tests: ${#P_NAME[@]} phases, $failed failed"
((failed == 0))
