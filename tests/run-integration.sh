#!/usr/bin/env bash
# tests/run-integration.sh — the integration and end-to-end suites against a separate test stack.
#
# Starts a fresh stack under .data/test on its own ports (scripts/stack.sh up), exports its
# stack.env plus DEMO_KEY, STACK_DIR, BIN_DIR and KAFKA_CONTROL (the dev broker's control socket),
# runs every tests/integration/*.test.sh (bash, each under a timeout) and every
# tests/integration/*.test.mjs and tests/e2e/*.test.mjs (`node --test`), tears the stack down
# whatever happens, and ends with `integration: N passed, M failed` (one count per test file).
#
# Env: TEST_TIMEOUT (600 s per file), KEEP_TEST_DATA=1 (reuse .data/test instead of starting fresh),
#      TEST_STACK_DIR and TEST_{PG,REDIS,INGEST,GRAPHQL,WORKER}_PORT (run beside another test stack),
#      TEST_FILTER (substring: run only matching files), BIN_DIR (build/bin).
set -euo pipefail
export EA_SCRIPT=integration
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
load_dotenv
cd "$REPO_ROOT"

export STACK_DIR="${TEST_STACK_DIR:-$REPO_ROOT/.data/test}"
export PG_PORT="${TEST_PG_PORT:-55433}" REDIS_PORT="${TEST_REDIS_PORT:-56380}"
export INGEST_PORT="${TEST_INGEST_PORT:-13001}" GRAPHQL_PORT="${TEST_GRAPHQL_PORT:-13002}"
export WORKER_PORT="${TEST_WORKER_PORT:-13003}"
BIN_DIR="${BIN_DIR:-build/bin}"
[[ "$BIN_DIR" == /* ]] || BIN_DIR="$REPO_ROOT/$BIN_DIR"
export BIN_DIR
TEST_TIMEOUT="${TEST_TIMEOUT:-600}"

tests=()
for f in tests/integration/*.test.sh tests/integration/*.test.mjs tests/e2e/*.test.mjs; do
    [[ -f "$f" ]] || continue
    [[ -z "${TEST_FILTER:-}" || "$f" == *"$TEST_FILTER"* ]] || continue
    tests+=("$f")
done
if ((${#tests[@]} == 0)); then
    msg "no test files in tests/integration or tests/e2e"
    echo "integration: 0 passed, 0 failed"
    exit 0
fi

teardown() {
    msg "tearing the test stack down"
    bash scripts/stack.sh down
}
on_exit() {
    local rc=$?
    teardown || rc=1
    exit "$rc"
}

# A stack left by an interrupted run may hold old binaries: stop it and start from nothing.
bash scripts/stack.sh down >/dev/null 2>&1 || true
if [[ "${KEEP_TEST_DATA:-0}" != 1 ]]; then
    [[ -f "$STACK_DIR/pg.path" ]] && rm -rf -- "$(cat "$STACK_DIR/pg.path")"
    rm -rf -- "$STACK_DIR"
fi
trap on_exit EXIT

if ! bash scripts/stack.sh up; then
    msg "the test stack did not start"
    echo "integration: 0 passed, ${#tests[@]} failed"
    exit 1
fi
# shellcheck source=/dev/null
source "$STACK_DIR/stack.env"
DEMO_KEY="$(cat "$STACK_DIR/demo-key")"
export DEMO_KEY
export KAFKA_CONTROL="${KAFKA_CONTROL:-$STACK_DIR/run/kafka-dev-broker.sock}"

passed=0
failed=0
failures=()
for f in "${tests[@]}"; do
    printf '\n===== %s =====\n' "$f"
    t0="$(now_s)"
    rc=0
    case "$f" in
        *.test.sh) timeout --kill-after=10 "$TEST_TIMEOUT" bash "$f" || rc=$? ;;
        *.test.mjs) timeout --kill-after=10 "$TEST_TIMEOUT" node --test --test-reporter=spec "$f" || rc=$? ;;
    esac
    if ((rc == 0)); then
        passed=$((passed + 1))
        printf -- '----- ok   %s (%s s)\n' "$f" "$(elapsed "$t0")"
    else
        failed=$((failed + 1))
        failures+=("$f")
        ((rc == 124)) && msg "$f timed out after ${TEST_TIMEOUT}s"
        printf -- '----- FAIL %s (exit %s, %s s)\n' "$f" "$rc" "$(elapsed "$t0")"
    fi
done

if ((failed)); then
    msg "failed: ${failures[*]}"
    for svc in ingest-api worker graphql-api kafka-dev-broker; do
        [[ -s "$STACK_DIR/log/$svc.log" ]] || continue
        printf -- '---- last lines of .data/test/log/%s.log ----\n' "$svc" >&2
        tail -n 20 "$STACK_DIR/log/$svc.log" >&2
    done
fi
trap - EXIT
down_rc=0
teardown || down_rc=$?
((down_rc == 0)) || msg "the test stack did not stop cleanly"
echo
echo "integration: $passed passed, $failed failed"
((failed == 0 && down_rc == 0))
