#!/usr/bin/env bash
# worker.bench.sh — worker throughput end to end (Kafka → committed rollups, events/s, raw event
# storage on and off) and freshness (event produced → visible in rollups, p50/p95/p99). Prints a
# small table; with $BENCH_RESULTS (bench/run.sh) also appends its rows there. Measures, asserts
# nothing; timing on a shared machine is noisy, so each throughput figure is the median of
# WORKER_BENCH_ROUNDS rounds.
#
# Each round uses a fresh topic (the dev broker creates it on first produce, 4 partitions) and a
# fresh consumer group, so a stack's own worker (topic events) is not disturbed:
#   throughput: WORKER_BENCH_EVENTS messages are produced first (the dev broker keeps ~5 MiB per
#     partition, so the backlog must fit), then one worker starts; the rate is counted from its
#     first commit to its last (group join excluded), from consumer_offsets.
#   freshness: one worker, WORKER_BENCH_RATE events/s of background load for WORKER_BENCH_SECONDS
#     plus a probe every 50 ms; a probe is visible when the change feed (published right after
#     COMMIT) names it (bench/worker_bench.mjs). With INGEST_PORT and DEMO_KEY (make bench) the
#     same again through the product: load and probes POSTed to the stack's ingest API and
#     counted by the stack's worker.
#
# Env: with DATABASE_URL, REDIS_URL and KAFKA_BROKERS set (bench/run.sh exports its stack's), uses
# them; otherwise starts a private stack (tests/integration/worker_stack.sh). BIN_DIR (build/bin),
# WORKER_BENCH_EVENTS (60000), WORKER_BENCH_ROUNDS (5), WORKER_BENCH_RATE (5000),
# WORKER_BENCH_SECONDS (20), WORKER_BENCH_BATCH (worker default), WORKER_BENCH_PROCS (1: worker
# processes in the throughput rounds; the topic has 4 partitions), WORKER_BENCH_PORT (free port).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${WORKER_BENCH_EVENTS:-60000}
ROUNDS=${WORKER_BENCH_ROUNDS:-5}
RATE=${WORKER_BENCH_RATE:-5000}
SECS=${WORKER_BENCH_SECONDS:-20}
PROCS=${WORKER_BENCH_PROCS:-1}
TENANT=bench-w

if [[ -z ${DATABASE_URL:-} || -z ${KAFKA_BROKERS:-} || -z ${REDIS_URL:-} ]]; then
    TEST_NAME=worker_bench
    source "$HERE/../tests/integration/worker_stack.sh"
    ws_start
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" KAFKA_BROKERS="$BROKERS"
else
    ROOT=$(cd "$HERE/.." && pwd)
    BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
    [[ $BIN_DIR == /* ]] || BIN_DIR="$ROOT/$BIN_DIR"
    TMP=$(mktemp -d /tmp/ea-worker-bench.XXXXXX)
    declare -A WPID=()
    trap 'for w in "${!WPID[@]}"; do kill -9 "${WPID[$w]}" 2>/dev/null; done; rm -rf -- "$TMP"' EXIT
    free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
fi
REDIS_HOSTPORT=${REDIS_URL#redis://}
REDIS_HOSTPORT=${REDIS_HOSTPORT%%/*}
REDIS_P=${REDIS_HOSTPORT##*:}
psql_() { psql -X -q -At "$DATABASE_URL" -c "$1"; }
now_ms() { date +%s%3N; }

"$BIN_DIR/analytics-admin" tenant create "$TENANT" --id "$TENANT" >/dev/null 2>&1 || true
"$BIN_DIR/analytics-admin" metric define --tenant "$TENANT" --name page_views --event page_view \
    --dimensions page >/dev/null
"$BIN_DIR/analytics-admin" metric define --tenant "$TENANT" --name views_by_country --event page_view \
    --dimensions country >/dev/null
"$BIN_DIR/analytics-admin" metric define --tenant "$TENANT" --name revenue --event purchase \
    --aggregation sum --property amount --dimensions country >/dev/null
# Defining a metric starts its recount over the raw retention (a background job of the stack's
# worker). While a day of a metric is recounted, batches with that metric's events wait for it:
# the rounds measure the steady state, so they start when the recounts are done (the wait is
# printed; WORKER_BENCH_WAIT_RECOUNT=0 measures during them instead).
RECOUNT_S=-
if [[ ${WORKER_BENCH_WAIT_RECOUNT:-1} == 1 ]]; then
    t0=$(date +%s%3N)
    open_jobs() { psql_ "SELECT count(*) FROM metric_recompute_jobs WHERE tenant_id = '$TENANT'
                         AND state IN ('pending', 'running')" 2>/dev/null || echo 0; }
    for ((i = 0; i < 1200; i++)); do (($(open_jobs) == 0)) && break; sleep 0.1; done
    RECOUNT_S=$(awk -v ms=$(($(date +%s%3N) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
    echo "# waited ${RECOUNT_S} s for the recount of the definitions (open jobs now: $(open_jobs))" >&2
fi

start_worker() { # name topic group store_raw
    local port
    port=$(free_port)
    ((PROCS == 1)) && [[ -n ${WORKER_BENCH_PORT:-} ]] && port=$WORKER_BENCH_PORT
    env DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" KAFKA_BROKERS="$KAFKA_BROKERS" \
        KAFKA_TOPIC="$2" WORKER_GROUP_ID="$3" WORKER_STORE_RAW="$4" WORKER_HOST=127.0.0.1 \
        WORKER_PORT="$port" WORKER_SESSION_TIMEOUT_MS=6000 LOG_LEVEL=warn \
        ${WORKER_BENCH_BATCH:+WORKER_BATCH_MAX_EVENTS=$WORKER_BENCH_BATCH} \
        "$BIN_DIR/worker" >>"$TMP/$1.log" 2>&1 &
    WPID[$1]=$!
}
stop_worker() {
    kill -TERM "${WPID[$1]}" 2>/dev/null
    wait "${WPID[$1]}" 2>/dev/null
    unset "WPID[$1]"
}
committed() { psql_ "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = '$1'"; }
# The throughput rounds poll committed offsets every 50 ms over one psql session (a coprocess):
# a new psql per poll would fork a PostgreSQL backend 20 times a second, CPU the measured
# worker and its backend compete for on a small machine.
poll_open() { coproc POLL { psql -X -q -At "$DATABASE_URL" 2>&1; }; }
poll_committed() { # group
    echo "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = '$1';" >&"${POLL[1]}"
    local line
    read -r -t 10 line <&"${POLL[0]}" || line=0
    echo "$line"
}
poll_close() { [[ -n ${POLL_PID:-} ]] && { exec {POLL[1]}>&-; wait "$POLL_PID" 2>/dev/null; }; }

# CPU ticks (user + system) of processes on this host (pids not here count 0)
ticks() {
    local t=0 p
    for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    echo "$t"
}
backend_pids() { # the newest $1 worker backends
    psql_ "SELECT pid FROM pg_stat_activity WHERE application_name = 'ea-worker'
           ORDER BY backend_start DESC LIMIT $1"
}
HZ=$(getconf CLK_TCK)

# one throughput round: prints "events/s worker_ns_per_event postgres_ns_per_event"; the CPU
# figures (summed over the PROCS workers and their backends) do not depend on what else the
# machine runs, the wall-clock rate does
round() { # store_raw round_no
    local id topic group first=0 t_first=0 c t_end w0=0 w1 b0=0 b1 k
    local -a wpids=() bpids=()
    id="$1-$2-$(now_ms)"
    topic="bench-$id"
    group="bench-$id"
    node "$HERE/worker_bench.mjs" gen "$TMP/events.txt" "$N" "$TENANT" "$(now_ms)"
    kcat -P -b "$KAFKA_BROKERS" -t "$topic" -K '|' -X partitioner=murmur2_random <"$TMP/events.txt" ||
        { echo "could not produce the bench events" >&2; return 1; }
    # all members start together, so the group's first assignment already includes each
    for ((k = 1; k <= PROCS; k++)); do
        start_worker "w$id-$k" "$topic" "$group" "$1"
        wpids+=("${WPID[w$id-$k]}")
    done
    local deadline=$((SECONDS + 300))
    poll_open
    while ((SECONDS < deadline)); do
        c=$(poll_committed "$group")
        if ((first == 0 && c > 0)); then
            first=$c
            t_first=$(now_ms)
            mapfile -t bpids < <(backend_pids "$PROCS")
            w0=$(ticks "${wpids[@]}")
            b0=$(ticks "${bpids[@]}")
        fi
        ((c >= N)) && break
        sleep 0.05
    done
    t_end=$(now_ms)
    poll_close
    w1=$(ticks "${wpids[@]}")
    b1=$(ticks "${bpids[@]}")
    for ((k = 1; k <= PROCS; k++)); do stop_worker "w$id-$k"; done
    psql_ "DELETE FROM consumer_offsets WHERE group_id = '$group'" >/dev/null
    if ((c < N || t_end <= t_first)); then
        echo "round $id: only $c of $N committed" >&2
        echo "0 - -"
        return
    fi
    local n=$((c - first)) wus=- bus=-
    ((w1 > w0)) && wus=$(((w1 - w0) * 1000000000 / HZ / n))
    ((b1 > b0)) && bus=$(((b1 - b0) * 1000000000 / HZ / n))
    echo "$((n * 1000 / (t_end - t_first))) $wus $bus"
}
median() { grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR + 1) / 2)] : "-")}'; }

declare -A TPUT=() WUS=() BUS=()
for raw in true false; do
    rates=() wus=() bus=()
    for ((r = 1; r <= ROUNDS; r++)); do
        read -r rate w b < <(round "$raw" "$r")
        rates+=("$rate")
        wus+=("$w")
        bus+=("$b")
        echo "# raw storage $raw, round $r: $rate events/s, worker ${w} ns/event, postgresql ${b} ns/event" >&2
    done
    TPUT[$raw]=$(printf '%s\n' "${rates[@]}" | median)
    WUS[$raw]=$(printf '%s\n' "${wus[@]}" | median)
    BUS[$raw]=$(printf '%s\n' "${bus[@]}" | median)
done

# freshness
id="fresh-$(now_ms)"
printf '%s/warm|{"v":1,"tenant":"%s","event_id":"warm","event":"warm","ts":%s,"received_at":%s,"properties":{}}\n' \
    "$TENANT" "$TENANT" "$(now_ms)" "$(now_ms)" | kcat -P -b "$KAFKA_BROKERS" -t "bench-$id" -K '|'
start_worker "w$id" "bench-$id" "bench-$id" true
deadline=$((SECONDS + 60))
until (($(committed "bench-$id") >= 1)) || ((SECONDS >= deadline)); do sleep 0.1; done
FRESH=$(node "$HERE/worker_bench.mjs" fresh "bench-$id" "$TENANT" "$RATE" "$SECS" "$REDIS_P" ea:changes)
stop_worker "w$id"
psql_ "DELETE FROM consumer_offsets WHERE group_id = 'bench-$id'" >/dev/null
f() { node -e "console.log(JSON.parse(process.argv[1])['$1'])" "$FRESH"; }
# the same through the whole product when a stack's ingest API is there (make bench): POST ->
# Kafka -> the stack's own worker -> change feed
FRESH_HTTP=
if [[ -n ${INGEST_PORT:-} && -n ${DEMO_KEY:-} ]]; then
    FRESH_HTTP=$(node "$HERE/worker_bench.mjs" fresh-http "http://127.0.0.1:$INGEST_PORT/ingest" \
        "$DEMO_KEY" "$RATE" "$SECS" "$REDIS_P" ea:changes)
fi
fh() { node -e "console.log(JSON.parse(process.argv[1])['$1'])" "$FRESH_HTTP"; }

printf '\nworker (%s process(es), %s events per round, median of %s rounds)\n' "$PROCS" "$N" "$ROUNDS"
printf '%-30s %10s %14s %14s %18s\n' "scenario" "events/s" "worker ns/ev" "postgres ns/ev" "1e9/(sum) ev/s"
for raw in true false; do
    cap=-
    [[ ${WUS[$raw]} =~ ^[0-9]+$ && ${BUS[$raw]} =~ ^[0-9]+$ ]] && ((WUS[$raw] + BUS[$raw] > 0)) &&
        cap=$((1000000000 / (WUS[$raw] + BUS[$raw])))
    printf '%-30s %10s %14s %14s %18s\n' "throughput, raw storage $([[ $raw == true ]] && echo on || echo off)" \
        "${TPUT[$raw]}" "${WUS[$raw]}" "${BUS[$raw]}" "$cap"
done
printf '(load average now: %s; last column: the rate if worker and PostgreSQL work did not overlap;\n' \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf ' rounds started after the recount of the definitions: %s s)\n' "$RECOUNT_S"
printf '\nfreshness (produced -> visible in rollups), %s events/s load, %s s, %s probes (%s seen)\n' \
    "$RATE" "$SECS" "$(f probes)" "$(f seen)"
printf '%-10s %-10s %-10s %-10s\n' "p50 ms" "p95 ms" "p99 ms" "max ms"
printf '%-10s %-10s %-10s %-10s\n' "$(f p50_ms)" "$(f p95_ms)" "$(f p99_ms)" "$(f max_ms)"
if [[ -n $FRESH_HTTP ]]; then
    printf '\nfreshness end to end (POST /ingest -> visible in rollups, the stack'"'"'s worker), %s events/s\n' "$RATE"
    printf 'load in batches of 100, %s s, %s probes (%s seen, %s failed requests)\n' "$SECS" "$(fh probes)" \
        "$(fh seen)" "$(fh failed_requests)"
    printf '%-10s %-10s %-10s %-10s\n' "p50 ms" "p95 ms" "p99 ms" "max ms"
    printf '%-10s %-10s %-10s %-10s\n' "$(fh p50_ms)" "$(fh p95_ms)" "$(fh p99_ms)" "$(fh max_ms)"
fi
if [[ -n ${BENCH_RESULTS:-} ]]; then
    printf 'worker x%s, raw storage on\t-\t%s\t-\t-\t-\n' "$PROCS" "${TPUT[true]}" >>"$BENCH_RESULTS"
    printf 'worker x%s, raw storage off\t-\t%s\t-\t-\t-\n' "$PROCS" "${TPUT[false]}" >>"$BENCH_RESULTS"
    printf 'worker freshness @%s ev/s\t-\t-\t%s\t%s\t%s\n' "$RATE" "$(f p50_ms)" "$(f p95_ms)" "$(f p99_ms)" >>"$BENCH_RESULTS"
    [[ -n $FRESH_HTTP ]] &&
        printf 'fresh POST->rollup @%s ev/s\t-\t-\t%s\t%s\t%s\n' "$RATE" "$(fh p50_ms)" "$(fh p95_ms)" \
            "$(fh p99_ms)" >>"$BENCH_RESULTS"
fi
