#!/usr/bin/env bash
# bench/run.sh — `make bench`: the ingest benchmarks next to a bare h2o server measured in the
# same run, then every other bench/*.bench.sh, then one table. Builds nothing: it runs the
# binaries in $BIN_DIR (build/bin). Timing figures are for reading, never for asserting.
#
# What it does, in order:
#   1. starts its own stack (scripts/stack.sh up) under $STACK_DIR (.data/bench) on its own ports,
#      with the default rate limit raised so the limiter admits the whole benchmark;
#   2. starts INGEST_PROCS-1 extra ingest-api processes on the same port (SO_REUSEPORT) and
#      bare-h2o on BARE_PORT;
#   3. closed loop (wrk, keep-alive, BENCH_CONNECTIONS connections, BENCH_DURATION s each, median
#      of BENCH_ROUNDS runs): bare h2o POST, ingest single-event POST (bench/ingest.lua gives
#      every event a unique event_id and prints p50/p95/p99 from its done() hook);
#   4. open loop (ea-loadgen, constant arrival rate BENCH_RATE req/s, latency from the intended
#      send time): bare h2o and ingest single-event — the "p99 at 10k req/s" figure; then the
#      closed-loop ingest batch-of-100 POST and the same 100 events as a Segment /v1/batch body
#      (last, because the stack's worker is busy with their events for a while afterwards);
#   5. runs every other bench/*.bench.sh with the stack's environment exported (stack.env
#      variables, DEMO_KEY, BIN_DIR, BARE_URL, BENCH_RESULTS); a script may append rows to
#      $BENCH_RESULTS as tab-separated `scenario req/s events/s p50_ms p95_ms p99_ms [errors
#      [cpu_us_per_req]]` (`-` for a figure that does not apply);
#   6. prints the table (ratio = req/s ÷ bare h2o req/s of step 3; cpu us/r = CPU time of the
#      server processes, all threads, per request — steadier than req/s on a shared machine),
#      tears everything down and
#      checks that no process it started is left. Exit 1 when a scenario or a *.bench.sh failed.
#
# Env: BIN_DIR (build/bin), STACK_DIR (.data/bench), BENCH_PG_PORT (55470), BENCH_REDIS_PORT
#      (56470), BENCH_INGEST_PORT (14701), BENCH_GRAPHQL_PORT (14702), BENCH_WORKER_PORT (14703),
#      BENCH_OIDC_PORT (14704, the stack's local OIDC provider), BARE_PORT (14705), BENCH_DURATION (10), BENCH_WARMUP (2), BENCH_CONNECTIONS (64),
#      BENCH_THREADS (1), BENCH_RATE (10000), BENCH_RATE_DURATION (10), INGEST_PROCS (1),
#      BENCH_ROUNDS (3: every scenario runs this many times and the median by req/s is shown),
#      BENCH_ONLY (substring: run only matching ingest scenarios; "none" skips them),
#      BENCH_SKIP_EXTRA=1 (do not run the other *.bench.sh), BENCH_EXTRA (substring: run only the
#      matching *.bench.sh, e.g. BENCH_ONLY=none BENCH_EXTRA=auth for the auth flood scenario).
set -euo pipefail
export EA_SCRIPT=bench
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
load_dotenv
cd "$REPO_ROOT"

BIN_DIR="${BIN_DIR:-build/bin}"
[[ "$BIN_DIR" == /* ]] || BIN_DIR="$REPO_ROOT/$BIN_DIR"
export BIN_DIR
export STACK_DIR="${STACK_DIR:-$REPO_ROOT/.data/bench}"
[[ "$STACK_DIR" == /* ]] || STACK_DIR="$REPO_ROOT/$STACK_DIR"
export PG_PORT="${BENCH_PG_PORT:-55470}" REDIS_PORT="${BENCH_REDIS_PORT:-56470}"
export INGEST_PORT="${BENCH_INGEST_PORT:-14701}" GRAPHQL_PORT="${BENCH_GRAPHQL_PORT:-14702}"
export WORKER_PORT="${BENCH_WORKER_PORT:-14703}"
export OIDC_DEV_PORT="${BENCH_OIDC_PORT:-14704}"
BARE_PORT="${BARE_PORT:-14705}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-1}"
RATE="${BENCH_RATE:-10000}"
RATE_DURATION="${BENCH_RATE_DURATION:-10}"
INGEST_PROCS="${INGEST_PROCS:-1}"
ROUNDS="${BENCH_ROUNDS:-3}"
ONLY="${BENCH_ONLY:-}"
# The benchmark measures ingest, not the limiter's refusals: admit everything (the limiter still
# runs, leasing tokens from Redis as in production).
export RATE_LIMIT_PER_MIN="${RATE_LIMIT_PER_MIN:-100000000}"
export RATE_LIMIT_BURST="${RATE_LIMIT_BURST:-100000000}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"

for b in ingest-api bare-h2o ea-loadgen kafka-dev-broker analytics-admin; do
    [[ -x "$BIN_DIR/$b" ]] || die "$BIN_DIR/$b not found: build first (make build)"
done
command -v wrk >/dev/null 2>&1 || die "wrk not found: run scripts/deps.sh (it installs wrk)"

WORK="$STACK_DIR/bench"
RESULTS="$WORK/results.tsv"
started_pids=()

cleanup() {
    local rc=$? pid
    for pid in "${started_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${started_pids[@]}"; do
        for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    bash scripts/stack.sh down >/dev/null 2>&1 || { msg "stack.sh down failed"; rc=1; }
    for pid in "${started_pids[@]}"; do
        pid_alive "$pid" && { msg "process $pid is still running"; rc=1; }
    done
    exit "$rc"
}

bash scripts/stack.sh down >/dev/null 2>&1 || true
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
mkdir -p "$STACK_DIR"
msg "starting the bench stack under ${STACK_DIR#"$REPO_ROOT"/}"
bash scripts/stack.sh up >"$STACK_DIR/stack-up.log" 2>&1 || {
    tail -n 30 "$STACK_DIR/stack-up.log" >&2
    die "the bench stack did not start"
}
mkdir -p "$WORK"
: >"$RESULTS"
# shellcheck source=/dev/null
source "$STACK_DIR/stack.env"
DEMO_KEY="$(cat "$STACK_DIR/demo-key")"
export DEMO_KEY BENCH_RESULTS="$RESULTS" BARE_URL="http://127.0.0.1:$BARE_PORT"

# Extra ingest processes share the port through SO_REUSEPORT (docs/ARCHITECTURE.md, "One event
# loop per process"); the kernel spreads connections over them.
for ((i = 1; i < INGEST_PROCS; i++)); do
    "$BIN_DIR/ingest-api" >>"$STACK_DIR/log/ingest-api.extra$i.log" 2>&1 </dev/null &
    started_pids+=("$!")
done
"$BIN_DIR/bare-h2o" "$BARE_PORT" >"$WORK/bare-h2o.log" 2>&1 </dev/null &
BARE_PID=$!
started_pids+=("$BARE_PID")
INGEST_PIDS=("$(cat "$STACK_DIR/run/ingest-api.pid")" "${started_pids[@]:0:$((INGEST_PROCS - 1))}")
for _ in $(seq 100); do
    port_open "$BARE_PORT" && break
    sleep 0.1
done
port_open "$BARE_PORT" || die "bare-h2o did not listen on $BARE_PORT"
for ((i = 1; i < INGEST_PROCS; i++)); do
    for _ in $(seq 100); do
        grep -q '"listening on' "$STACK_DIR/log/ingest-api.extra$i.log" 2>/dev/null && break
        sleep 0.1
    done
done
sleep 1 # let the extra producers fetch metadata before they get traffic

# check_ok URL BODY: one request must be answered 202 before a scenario measures anything, so
# a misconfigured run fails loudly instead of benchmarking error responses.
check_ok() {
    local code
    code="$(curl -sS -o "$WORK/check.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $DEMO_KEY" --data "$2" "$1")"
    [[ "$code" == 202 ]] || { cat "$WORK/check.out" >&2; die "POST $1 answered $code, not 202"; }
}

slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9' _; }
# cpu_ticks PID...: user+system clock ticks the processes (all their threads) have used so far.
cpu_ticks() {
    local pid sum=0 f
    for pid in "$@"; do
        f="$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null)" || continue
        # after "pid (comm)": field 3 is state, so utime and stime are the 12th and 13th here
        sum=$((sum + $(awk '{ print $12 + $13 }' <<<"$f")))
    done
    echo "$sum"
}
TICK_HZ="$(getconf CLK_TCK)"

want() { [[ -z "$ONLY" || "$1" == *"$ONLY"* ]]; }

# wrk_run NAME URL BATCH PID...: closed loop; appends a row (ms with 2 decimals, and the CPU
# time the server processes PID... used per request) to $RESULTS.
wrk_once() {
    local name="$1" url="$2" batch="$3" line out c0 c1
    shift 3
    out="$WORK/$(slug "$1").wrk"
    want "$name" || return 0
    msg "$name: wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s)"
    BENCH_KEY="$DEMO_KEY" BATCH="$batch" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
        -s bench/ingest.lua "$url" >/dev/null 2>&1 || true
    c0="$(cpu_ticks "$@")"
    BENCH_KEY="$DEMO_KEY" BATCH="$batch" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        -s bench/ingest.lua "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $name"; }
    c1="$(cpu_ticks "$@")"
    line="$(grep '^BENCH ' "$out" | tail -n1)"
    [[ -n "$line" ]] || { cat "$out" >&2; die "wrk printed no BENCH line for $name"; }
    awk -v name="$name" -v batch="$batch" -v line="$line" -v ticks="$((c1 - c0))" -v hz="$TICK_HZ" 'BEGIN {
        n = split(line, kv, " ")
        for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
        bad = v["errors"] + v["non2xx"]
        rps = (v["requests"] - bad) / (v["duration_us"] / 1e6)
        cpu = v["requests"] > 0 ? ticks / hz * 1e6 / v["requests"] : 0
        printf "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\n", name, rps, rps * batch, v["p50_us"] / 1000,
            v["p95_us"] / 1000, v["p99_us"] / 1000, bad, cpu
    }' >>"$ROUND_OUT"
}

# rate_run NAME URL BODYFILE PID...: open loop at $RATE req/s; appends a row to $RESULTS.
rate_once() {
    local name="$1" url="$2" body="$3" out c0 c1
    shift 3
    out="$WORK/$(slug "$1").json"
    want "$name" || return 0
    msg "$name: ea-loadgen --rate $RATE --duration $RATE_DURATION --connections $CONNS"
    c0="$(cpu_ticks "$@")"
    "$BIN_DIR/ea-loadgen" --url "$url" --rate "$RATE" --duration "$RATE_DURATION" \
        --connections "$CONNS" --method POST --header 'Content-Type: application/json' \
        --header "Authorization: Bearer $DEMO_KEY" --body-file "$body" --json-out "$out" \
        >/dev/null || die "ea-loadgen failed for $name"
    c1="$(cpu_ticks "$@")"
    python3 - "$name" "$out" "$((c1 - c0))" "$TICK_HZ" >>"$ROUND_OUT" <<'PY'
import json, sys
name, path, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = json.load(open(path))
bad = s["sent"] - s["ok"]
cpu = ticks / hz * 1e6 / s["sent"] if s["sent"] else 0
print("%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t%.0f" % (name, s["achieved_rate"], s["achieved_rate"],
      s["p50_ms"], s["p95_ms"], s["p99_ms"], bad, cpu))
PY
}

# rounds FN NAME ARGS...: runs FN $ROUNDS times and appends the median row (by req/s) to
# $RESULTS; the machine is shared, so single runs mislead.
rounds() {
    local fn="$1" name="$2" n
    want "$name" || return 0
    ROUND_OUT="$WORK/$(slug "$name").rounds"
    : >"$ROUND_OUT"
    for ((r = 1; r <= ROUNDS; r++)); do
        "$fn" "${@:2}"
    done
    n="$(wc -l <"$ROUND_OUT")"
    sort -t$'\t' -k2,2n "$ROUND_OUT" | sed -n "$(((n + 1) / 2))p" >>"$RESULTS"
}

if [[ "$ONLY" != none ]]; then
    check_ok "$BARE_URL/ingest" '{"event":"bench_check"}'
    check_ok "$INGEST_URL/ingest" '{"event":"bench_check"}'
    code="$(curl -sS -o "$WORK/check.out" -w '%{http_code}' -u "$DEMO_KEY:" -H 'Content-Type: application/json' \
        --data '{"batch":[{"type":"track","event":"bench_check"}]}' "$INGEST_URL/v1/batch")"
    [[ "$code" == 200 ]] || { cat "$WORK/check.out" >&2; die "POST /v1/batch answered $code, not 200"; }
    printf '{"event":"bench_rate","event_id":"{{uuid}}","seq":{{seq}},"sent":{{now_ms}}}' \
        >"$WORK/rate-body.json"
    rounds wrk_once "bare-h2o POST" "$BARE_URL/ingest" 1 "$BARE_PID"
    rounds wrk_once "ingest 1 event" "$INGEST_URL/ingest" 1 "${INGEST_PIDS[@]}"
    rounds rate_once "bare-h2o @${RATE}/s" "$BARE_URL/ingest" "$WORK/rate-body.json" "$BARE_PID"
    rounds rate_once "ingest 1 event @${RATE}/s" "$INGEST_URL/ingest" "$WORK/rate-body.json" \
        "${INGEST_PIDS[@]}"
    # last: they leave the stack's worker (and the broker serving it) busy catching up for a while
    rounds wrk_once "ingest batch 100" "$INGEST_URL/ingest" 100 "${INGEST_PIDS[@]}"
    # the Segment front door (issue 16): the same 100 events per request as a /v1/batch body
    BENCH_FORMAT=segment BENCH_PATH=/v1/batch \
        rounds wrk_once "segment /v1/batch 100" "$INGEST_URL/v1/batch" 100 "${INGEST_PIDS[@]}"
fi

extra_failed=()
if [[ "${BENCH_SKIP_EXTRA:-0}" != 1 ]]; then
    for f in bench/*.bench.sh; do
        [[ -f "$f" ]] || continue
        [[ -z "${BENCH_EXTRA:-}" || "$f" == *"$BENCH_EXTRA"* ]] || continue
        msg "running $f"
        printf '\n===== %s =====\n' "$f"
        rc=0
        bash "$f" || rc=$?
        ((rc == 0)) || { msg "$f failed (exit $rc)"; extra_failed+=("$f"); }
    done
fi

bare_rps="$(awk -F'\t' '$1 == "bare-h2o POST" { print $2 }' "$RESULTS")"
printf '\n'
awk -F'\t' -v bare="${bare_rps:-0}" 'BEGIN {
    printf "%-28s %10s %10s %9s %9s %9s %7s %7s %8s\n", "scenario", "req/s", "events/s", "p50 ms",
        "p95 ms", "p99 ms", "ratio", "errors", "cpu us/r"
}
{
    ratio = (bare > 0 && $1 !~ /@/ && $2 ~ /^[0-9.]+$/) ? sprintf("%.2f", $2 / bare) : "-"
    printf "%-28s %10s %10s %9s %9s %9s %7s %7s %8s\n", $1, $2, $3, $4, $5, $6, ratio, ($7 == "" ? "-" : $7),
        ($8 == "" ? "-" : $8)
}' "$RESULTS"
printf '(ratio: req/s over the bare h2o POST req/s of this run; cpu us/r: CPU time of the server\n'
printf ' processes, all threads, per request; %s ingest process(es); %s connections)\n' \
    "$INGEST_PROCS" "$CONNS"
if ((${#extra_failed[@]} > 0)); then
    msg "failed: ${extra_failed[*]}"
    exit 1
fi
