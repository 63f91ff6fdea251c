#!/usr/bin/env bash
# tests/run-integration.sh — the integration and end-to-end suites against a separate test stack.
#
# Starts a fresh stack under .data/test on its own ports (scripts/stack.sh up), exports its
# stack.env plus DEMO_KEY, STACK_DIR, BIN_DIR and KAFKA_CONTROL (the dev broker's control socket),
# runs every tests/integration/*.test.sh (bash, each under a timeout) and every
# tests/integration/*.test.mjs and tests/e2e/*.test.mjs (`node --test`), tears the stack down
# whatever happens, and ends with `integration: N passed, M failed, K skipped (C checks)` (one
# count per test file).
#
# Counting (tests/manifest.txt, checked by tests/manifest.mjs): every file must be listed with the
# number of checks it reports; a file that reports another number, is not listed, is listed but
# missing, or skips without a printed reason fails. A skip with a reason is reported as skipped
# (a failure under CI=true). A selection that matches no file fails.
#
# Env: TEST_TIMEOUT (600 s per file), KEEP_TEST_DATA=1 (reuse .data/test instead of starting fresh),
#      TEST_STACK_DIR and TEST_{PG,REDIS,INGEST,GRAPHQL,WORKER}_PORT (run beside another test stack),
#      TEST_FILTER (substring: run only matching files), TEST_FILES (space-separated paths: run
#      exactly these), BIN_DIR (build/bin). From .env only the port variables are read
#      (scripts/lib.sh load_dotenv --test): .env never changes what the tests do.
set -euo pipefail
export EA_SCRIPT=integration
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
load_dotenv --test
cd "$REPO_ROOT"

export STACK_DIR="${TEST_STACK_DIR:-$REPO_ROOT/.data/test}"
export PG_PORT="${TEST_PG_PORT:-55433}" REDIS_PORT="${TEST_REDIS_PORT:-56380}"
export INGEST_PORT="${TEST_INGEST_PORT:-13001}" GRAPHQL_PORT="${TEST_GRAPHQL_PORT:-13002}"
export WORKER_PORT="${TEST_WORKER_PORT:-13003}"
# the test stack's local OIDC provider sits next to its graphql-api (GRAPHQL_PORT + 2), never on
# the development stack's port; the stack starts without sample data (tests count what they send)
unset OIDC_DEV_PORT
export SAMPLE_DAYS=0
BIN_DIR="${BIN_DIR:-build/bin}"
[[ "$BIN_DIR" == /* ]] || BIN_DIR="$REPO_ROOT/$BIN_DIR"
export BIN_DIR
TEST_TIMEOUT="${TEST_TIMEOUT:-600}"
# Every test client connects from 127.0.0.1, so the per-address limit on failed API key attempts
# (default 20 a minute) would count all the suites' deliberate wrong keys together and refuse
# fresh keys at random. The test stack raises it; ingest_auth.test.mjs tests the limit itself on
# its own instances, its clients spread over 127.0.0.0/8.
export AUTH_FAIL_LIMIT_ADDR="${AUTH_FAIL_LIMIT_ADDR:-100000}"
# The test stack's Redis channels are not the defaults: every suite that checks cache
# invalidation, subscriptions, alerts or backfill's announcements then also checks that the
# worker, graphql-api and analytics-admin all read the one CHANGES_CHANNEL / ALERTS_CHANNEL
# (lib/rollup ea_rollup_feed.h). A test that subscribes itself uses these variables.
export CHANGES_CHANNEL="${CHANGES_CHANNEL:-ea:test:changes}" ALERTS_CHANNEL="${ALERTS_CHANNEL:-ea:test:alerts}"

all=()
for f in tests/integration/*.test.sh tests/integration/*.test.mjs tests/e2e/*.test.mjs; do
    [[ -f "$f" ]] && all+=("$f")
done
tests=()
selection=""
if [[ -n "${TEST_FILES:-}" ]]; then
    selection="TEST_FILES=$TEST_FILES"
    for f in $TEST_FILES; do
        [[ -f "$f" ]] || { msg "TEST_FILES names $f, which does not exist"; echo "integration: 0 passed, 1 failed, 0 skipped (0 checks)"; exit 1; }
        tests+=("$f")
    done
elif [[ -n "${TEST_FILTER:-}" ]]; then
    selection="TEST_FILTER=$TEST_FILTER"
    for f in "${all[@]}"; do [[ "$f" == *"$TEST_FILTER"* ]] && tests+=("$f"); done
else
    tests=("${all[@]}")
fi
if ((${#tests[@]} == 0)); then
    msg "no test file matches ${selection:-the globs (tests/integration/*.test.sh|mjs, tests/e2e/*.test.mjs)}: nothing would be tested"
    echo "integration: 0 passed, 1 failed, 0 skipped (0 checks)"
    exit 1
fi
[[ -n "$selection" ]] && msg "running ${#tests[@]} of ${#all[@]} test files ($selection)"
# Every file must be in tests/manifest.txt (and, for a full run, every listed file must exist).
manifest_rc=0
if [[ -n "$selection" ]]; then
    node tests/manifest.mjs files --partial "${tests[@]}" || manifest_rc=1
else
    node tests/manifest.mjs files "${all[@]}" || manifest_rc=1
fi
# Polling must re-evaluate its condition: in `wait_until 10 test "$(sql ...)" = 3` the shell runs
# the SQL once, before wait_until starts (tests/README.md, "Polling"). Refuse that form.
bad_polls="$(awk '
    /^[ \t]*#/ { next }
    { line = held $0; held = "" }
    /\\$/ { sub(/\\$/, "", line); held = line; next }
    line ~ /wait_until[ \t]+[^ \t]+[ \t].*\$\(/ { print FILENAME ": " line }
' tests/integration/*.sh tests/integration/lib/*.sh)"
if [[ -n "$bad_polls" ]]; then
    msg "polling that evaluates its condition once (use wait_sql / wait_eval, tests/integration/lib/check.sh):"
    printf '%s\n' "$bad_polls" >&2
    manifest_rc=1
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
    echo "integration: 0 passed, ${#tests[@]} failed, 0 skipped (0 checks)"
    exit 1
fi
# shellcheck source=/dev/null
source "$STACK_DIR/stack.env"
DEMO_KEY="$(cat "$STACK_DIR/demo-key")"
export DEMO_KEY
export KAFKA_CONTROL="${KAFKA_CONTROL:-$STACK_DIR/run/kafka-dev-broker.sock}"

passed=0
failed=0
skipped=0
checks=0
failures=()
skips=()
RES_DIR="$(mktemp -d /tmp/ea-integration.XXXXXX)"
for f in "${tests[@]}"; do
    printf '\n===== %s =====\n' "$f"
    t0="$(now_s)"
    rc=0
    log="$RES_DIR/$(echo "$f" | tr / _).log"
    tap="$RES_DIR/$(echo "$f" | tr / _).tap"
    case "$f" in
        *.test.sh) timeout --kill-after=10 "$TEST_TIMEOUT" bash "$f" 2>&1 | tee "$log" || rc=$? ;;
        *.test.mjs) timeout --kill-after=10 "$TEST_TIMEOUT" node --test --test-reporter=spec \
            --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$tap" \
            "$f" 2>&1 | tee "$log" || rc=$? ;;
    esac
    ((rc == 124)) && msg "$f timed out after ${TEST_TIMEOUT}s"
    vrc=0
    verdict="$(node tests/manifest.mjs result "$f" "$rc" "$log" "$tap")" || vrc=$?
    [[ -n "$verdict" ]] && printf '%s\n' "$verdict"
    n="$(sed -n 's/.*manifest: \([0-9]*\) of \([0-9]*\) checks passed.*/\2/p' <<<"$verdict" | tail -n 1)"
    checks=$((checks + ${n:-0}))
    if ((vrc == 0)); then
        passed=$((passed + 1))
        printf -- '----- ok   %s (%s checks, %s s)\n' "$f" "${n:-?}" "$(elapsed "$t0")"
    elif ((vrc == 3)); then
        skipped=$((skipped + 1))
        skips+=("$f")
        printf -- '----- SKIP %s (%s checks, some skipped with the reason above; %s s)\n' "$f" "${n:-?}" "$(elapsed "$t0")"
    else
        failed=$((failed + 1))
        failures+=("$f")
        printf -- '----- FAIL %s (exit %s, %s s)\n' "$f" "$rc" "$(elapsed "$t0")"
    fi
done
rm -rf "$RES_DIR"
if ((manifest_rc)); then
    failed=$((failed + 1))
    failures+=("tests/manifest.txt (see the manifest: lines at the top)")
fi

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
((skipped)) && msg "skipped with a reason (a failure under CI=true): ${skips[*]}"
echo "integration: $passed passed, $failed failed, $skipped skipped ($checks checks)"
((failed == 0 && down_rc == 0))
