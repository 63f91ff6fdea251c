#!/usr/bin/env bash
# tests/fuzz/run.sh — every libFuzzer driver under tests/fuzz/<name>/ (binary fuzz_<name> in a
# clang build with -DEA_FUZZ=ON): first replays its whole corpus once (any crash, leak, ASan or
# UBSan report fails), then fuzzes for FUZZ_SECONDS. The corpus is copied to a temp dir first, so
# the repository is never modified; new interesting inputs are discarded (set FUZZ_KEEP=DIR to
# keep them, one subdir per driver). A crashing input is saved under $BUILD_DIR/fuzz-artifacts/.
#
# Usage: tests/fuzz/run.sh [BUILD_DIR]   (default build-fuzz; must hold bin/fuzz_<name>)
# Env: FUZZ_SECONDS (30 per driver), FUZZ_MAX_LEN (8192), FUZZ_ONLY (substring of driver names).
# Last line: "fuzz: N passed, M failed"; exit 1 on any failure or missing driver binary.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD_DIR="${1:-${FUZZ_BUILD_DIR:-build-fuzz}}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
SECS="${FUZZ_SECONDS:-30}"
MAXLEN="${FUZZ_MAX_LEN:-8192}"
ART="$BUILD_DIR/fuzz-artifacts"
mkdir -p "$ART"
TMP="$(mktemp -d /tmp/ea-fuzz.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
# detect_leaks: the drivers free everything per input; halt_on_error so UBSan stops the run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

passed=0 failed=0
for dir in tests/fuzz/*/; do
    name="$(basename "$dir")"
    [[ -z "${FUZZ_ONLY:-}" || "$name" == *"$FUZZ_ONLY"* ]] || continue
    ls "$dir"/*.c >/dev/null 2>&1 || continue
    bin="$BUILD_DIR/bin/fuzz_$name"
    if [[ ! -x "$bin" ]]; then
        echo "FAIL fuzz_$name: $bin not built (configure with CC=clang -DEA_FUZZ=ON)"
        failed=$((failed + 1))
        continue
    fi
    corpus="$TMP/$name/corpus"
    mkdir -p "$corpus"
    [[ -d "$dir/corpus" ]] && cp -R "$dir/corpus/." "$corpus/"
    ncorpus="$(find "$corpus" -type f | wc -l)"
    dict=()
    for d in "$dir"/*.dict; do [[ -f "$d" ]] && dict=("-dict=$d"); done
    log="$TMP/$name.log"
    t0=$SECONDS
    # 1. replay: every corpus file once (-runs=0 with a directory executes each input once)
    "$bin" -runs=0 -max_len="$MAXLEN" -artifact_prefix="$ART/$name-" "$corpus" >"$log" 2>&1
    rc=$?
    if ((rc != 0)); then
        echo "FAIL fuzz_$name: replay of $ncorpus corpus inputs (exit $rc)"
        tail -n 40 "$log"
        failed=$((failed + 1))
        continue
    fi
    # 2. bounded fuzzing from the copied corpus
    "$bin" -max_total_time="$SECS" -max_len="$MAXLEN" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$ART/$name-" "${dict[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    execs="$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")"
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | awk '{ print $2 }')"
    nnew="$(find "$corpus" -type f | wc -l)"
    if ((rc != 0)); then
        echo "FAIL fuzz_$name: fuzzing found a failure (exit $rc); input saved under $ART/"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
        tail -n 40 "$log"
        failed=$((failed + 1))
        continue
    fi
    if [[ -n "${FUZZ_KEEP:-}" ]]; then mkdir -p "$FUZZ_KEEP/$name" && cp -R "$corpus/." "$FUZZ_KEEP/$name/"; fi
    echo "ok   fuzz_$name: replayed $ncorpus inputs, fuzzed ${SECS}s: ${execs:-?} execs, coverage ${cov:-?}, corpus $ncorpus -> $nnew ($((SECONDS - t0)) s)"
    passed=$((passed + 1))
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0 && passed > 0))
