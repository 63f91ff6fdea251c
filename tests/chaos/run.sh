#!/usr/bin/env bash
# tests/chaos/run.sh — `make test-chaos`: CHAOS_EVENTS events (1,000,000) with known ground truth
# go through POST /ingest of a fresh stack of its own while a fault schedule runs; then the
# consumer lag must drain and every rollup row (15-minute, hourly, daily; three metrics) and a
# sample of GraphQL answers must equal the truth. Prints lost, duplicated, max lag, time to drain.
#
# Faults, at fixed fractions of the sending time (CHAOS_EVENTS / CHAOS_RATE seconds):
#   10 %  kill -9 the worker while it consumes (mid-batch), restart it
#   20 %  dev broker: broker 1 down for CHAOS_OUTAGE_S (4) s, then up (control socket)
#   30 %  dev broker: the next 30 Produce and 10 Fetch requests fail (NOT_LEADER_FOR_PARTITION)
#   40 %  PostgreSQL restart (pg_ctl restart -m fast)
#   50 %  Redis stopped for CHAOS_OUTAGE_S s, then started again
#   60 %  consumers scaled 1 -> 3 (two more worker processes, WORKER_PORT=0)
#   75 %  3 -> 1: one extra worker gets SIGTERM, the other kill -9
#   85 %  kill -9 the worker again, restart it
# tests/chaos/sender.mjs sends (retrying unacknowledged events with the same event_id, a tenth
# of the events up to 25 days old, re-sending every 20th batch once more and, at the end, the
# first twentieth of all events again, to exercise dedup over the raw retention) and computes
# the truth.
#
# Env: CHAOS_EVENTS (1000000), CHAOS_RATE events/s (2000), CHAOS_BATCH events/request (100),
#      CHAOS_OUTAGE_S (4), CHAOS_DRAIN_TIMEOUT_S (600), CHAOS_STACK_DIR (${TEST_STACK_DIR:-.data/test}-chaos),
#      CHAOS_KEEP=1 (keep the stack and files after the run), BIN_DIR,
#      TEST_{PG,REDIS,INGEST,GRAPHQL,WORKER}_PORT (see tests/load/lib.sh).
# `make test` runs CHAOS_EVENTS=20000 CHAOS_RATE=500 CHAOS_OUTAGE_S=2 (about 1.5 minutes).
# Last line: "chaos: PASS" or "chaos: FAIL (...)"; exit 1 on failure.
set -uo pipefail
export EA_SCRIPT=chaos
export STACK_DIR="${CHAOS_STACK_DIR:-${TEST_STACK_DIR:-.data/test}-chaos}"
source "$(dirname "${BASH_SOURCE[0]}")/../load/lib.sh"
cd "$REPO_ROOT"

N="${CHAOS_EVENTS:-1000000}"
RATE="${CHAOS_RATE:-2000}"
BATCH="${CHAOS_BATCH:-100}"
OUTAGE="${CHAOS_OUTAGE_S:-4}"
DRAIN_TIMEOUT="${CHAOS_DRAIN_TIMEOUT_S:-600}"
TENANT=acme-corp
RUN_ID="chaos$(date +%s)"
WORK="$STACK_DIR.work"
failures=()
fail() { failures+=("$1"); msg "FAIL: $1"; }
EXTRA_PIDS=()
MON_PID="" SENDER_PID=""

cleanup() {
    local rc=$?
    for p in "${EXTRA_PIDS[@]}" $MON_PID $SENDER_PID; do
        [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null
    done
    if [[ "${CHAOS_KEEP:-0}" == 1 ]]; then
        msg "kept the stack (STACK_DIR=$STACK_DIR) and $WORK"
    else
        msg "stopping the chaos stack"
        stack down >/dev/null 2>&1 || msg "warning: the chaos stack did not stop cleanly"
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in ingest-api worker graphql-api analytics-admin kafka-dev-broker; do
    [[ -x "$BIN_DIR/$b" ]] || die "$BIN_DIR/$b not built (make build)"
done
command -v kcat >/dev/null || die "kcat is missing (scripts/deps.sh)"

t_all="$(now_s)"
msg "fresh stack in ${STACK_DIR#"$REPO_ROOT"/}; $N events at $RATE/s in batches of $BATCH"
stack_fresh || die "the stack did not start"
rm -rf "$WORK" && mkdir -p "$WORK"
KEY="$(new_key "$TENANT" ingest,read 2000000000)"
[[ "$KEY" == ak_* ]] || die "could not create an API key"
admin metric define --tenant "$TENANT" --name chaos_by_page --event chaos_event --aggregation count \
    --dimensions page >/dev/null || die "metric define chaos_by_page failed"
admin metric define --tenant "$TENANT" --name chaos_amount --event chaos_event --aggregation sum \
    --property amount --dimensions country >/dev/null || die "metric define chaos_amount failed"
admin metric define --tenant "$TENANT" --name chaos_users --event chaos_event --aggregation unique \
    --property user >/dev/null || die "metric define chaos_users failed"
# (definitions apply to events produced after they committed: these come first)

PG_DATA="$(cat "$STACK_DIR/pg.path" 2>/dev/null || echo "$STACK_DIR/pg")"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
ctl() { "$BIN_DIR/kafka-dev-broker" --ctl "$KAFKA_CONTROL" "$@"; }
worker_pid() { read_pid "$STACK_DIR/run/worker.pid"; }
log_fault() { printf '%7.1f s  %s\n' "$(awk -v a="$t_send" -v b="$(now_s)" 'BEGIN { print b - a }')" "$*" | tee -a "$WORK/faults.txt" >&2; }
# Restarts whatever is not running (scripts/stack.sh up is idempotent); waits until all are ready.
restore() { stack up >>"$WORK/stack-up.log" 2>&1 || { fail "stack up after a fault: $(tail -n 3 "$WORK/stack-up.log")"; return 1; }; }

start_extra_worker() {
    local i=$1
    (
        # shellcheck source=/dev/null
        source "$STACK_DIR/stack.env"
        export WORKER_PORT=0 WORKER_HOST=127.0.0.1 WORKER_SESSION_TIMEOUT_MS=6000 \
            WORKER_MAX_POLL_INTERVAL_MS=20000 LOG_LEVEL=info
        exec setsid "$BIN_DIR/worker" >>"$STACK_DIR/log/worker-extra-$i.log" 2>&1 </dev/null
    ) &
    EXTRA_PIDS+=($!)
}

# ---- lag monitor: consumer lag every 0.5 s ----------------------------------------------------
(
    while :; do
        l="$(consumer_lag)"
        [[ -n "$l" ]] && echo "$(date +%s.%N) $l"
        sleep 0.5
    done
) >"$WORK/lag.txt" 2>/dev/null &
MON_PID=$!

# ---- send ---------------------------------------------------------------------------------------
NOW_MS="$(date +%s%3N)"
t_send="$(now_s)"
node "$REPO_ROOT/tests/chaos/sender.mjs" send "$INGEST_URL/ingest" "$KEY" "$N" "$RATE" "$BATCH" \
    "$RUN_ID" "$NOW_MS" "$WORK" >"$WORK/sender.out" 2>"$WORK/sender.err" &
SENDER_PID=$!
D="$(awk -v n="$N" -v r="$RATE" 'BEGIN { printf "%.3f", n / r }')"
at() { # fraction: sleeps until that fraction of the sending time (no-op when already past)
    local target wait
    target="$(awk -v t="$t_send" -v d="$D" -v f="$1" 'BEGIN { printf "%.3f", t + d * f }')"
    wait="$(awk -v t="$target" -v n="$(now_s)" 'BEGIN { w = t - n; printf "%.3f", (w > 0 ? w : 0) }')"
    sleep "$wait"
}
sender_alive() { kill -0 "$SENDER_PID" 2>/dev/null; }

# ---- fault verification ------------------------------------------------------------------------
# Every fault must take effect, and says how we know: a line per fault in faults.txt with its
# evidence. A fault that could not be injected or verified fails the run (a schedule that injects
# nothing must not PASS).
FAULTS_EXPECTED=9
faults_ok=0
fault_ok() { faults_ok=$((faults_ok + 1)); log_fault "fault $faults_ok/$FAULTS_EXPECTED ok: $*"; }
fault_bad() { log_fault "FAULT NOT VERIFIED: $*"; fail "fault not verified: $*"; }
# redis-cli to the stack's Redis, with its requirepass when it has one (Debian's redis-cli 7.0
# sends AUTH "" <password> for a redis://:password@ URL, which Redis refuses: REDISCLI_AUTH instead)
rcli() {
    local pw
    pw="$(cat "$STACK_DIR/redis.password" 2>/dev/null)"
    if [[ -n "$pw" ]]; then
        REDISCLI_AUTH="$pw" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@" 2>&1
    else
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>&1
    fi
}
redis_up() { [[ "$(rcli ping)" == PONG ]]; }
gone_within() { # pid seconds: true once the pid is gone (zombies count as gone)
    local i
    for ((i = 0; i < $2 * 10; i++)); do pid_alive "$1" || return 0; sleep 0.1; done
    return 1
}
ctl_ok() { # prints the control socket's replies on one line; true when each is "ok ..."
    local out rc=0
    out="$(ctl "$@" 2>&1)" || rc=$?
    printf '%s' "$(tr '\n' ';' <<<"$out")"
    ((rc == 0)) && [[ -n "$out" ]] && ! grep -qv '^ok' <<<"$out"
}
broker_up_state() { # broker id -> true/false from the broker's own status
    ctl status | sed 's/^ok //' | node -e '
        const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(String(s.brokers.find((b) => b.id === Number(process.argv[1])).up))' "$1"
}

# kill -9 the worker while it has work in hand: wait (up to 3 s) for a non-zero lag first; the
# pid must be a live worker before the kill and gone after it
kill_busy_worker() {
    local i l p
    for ((i = 0; i < 30; i++)); do
        l="$(consumer_lag)"
        [[ -n "$l" && "$l" -gt 0 ]] && break
        sleep 0.1
    done
    p="$(worker_pid)"
    if ! pid_is "$p" "$BIN_DIR/worker"; then
        fault_bad "kill -9 worker: run/worker.pid ($p) is not a live worker process"
        return
    fi
    kill -9 "$p"
    if gone_within "$p" 5; then
        fault_ok "kill -9 worker pid $p (alive, cmdline $BIN_DIR/worker; lag $l): gone"
    else
        fault_bad "kill -9 worker pid $p: still alive 5 s later"
    fi
}
restart_worker() {
    local old=$1 p
    restore || return
    p="$(worker_pid)"
    if [[ "$p" != "$old" ]] && pid_is "$p" "$BIN_DIR/worker"; then
        log_fault "worker restarted (pid $p)"
    else
        fail "worker restart after kill -9: pid '$p'"
    fi
}

at 0.10
w="$(worker_pid)"
kill_busy_worker
sleep 1
restart_worker "$w"

at 0.20
if r="$(ctl_ok 'broker-down 1')" && [[ "$(broker_up_state 1)" == false ]]; then
    fault_ok "broker 1 down: control replied '$r'; status says up=false"
    sleep "$OUTAGE"
    if r="$(ctl_ok 'broker-up 1')" && [[ "$(broker_up_state 1)" == true ]]; then
        log_fault "broker 1 up again: '$r'; status says up=true"
    else
        fail "broker 1 up: reply '$r', status up=$(broker_up_state 1)"
    fi
else
    fault_bad "broker 1 down: reply '$r', status up=$(broker_up_state 1)"
fi

at 0.30
if r="$(ctl_ok 'request-errors Produce 30 NOT_LEADER_FOR_PARTITION' 'request-errors Fetch 10 NOT_LEADER_FOR_PARTITION')"; then
    fault_ok "request errors armed: control replied '$r'"
else
    fault_bad "request errors: control replied '$r'"
fi

at 0.40
pg_t0="$(sql 'SELECT pg_postmaster_start_time()' 2>&1)"
if as_pg "$PG_BIN/pg_ctl" restart -D "$PG_DATA" -m fast -w -t 60 >>"$WORK/pg-restart.log" 2>&1 &&
    pg_t1="$(sql 'SELECT pg_postmaster_start_time()' 2>&1)" && [[ -n "$pg_t1" && "$pg_t1" != "$pg_t0" ]]; then
    fault_ok "postgresql restarted: postmaster start time $pg_t0 -> $pg_t1"
else
    fault_bad "postgresql restart: $(tail -n 3 "$WORK/pg-restart.log" | tr '\n' ' '); start time '$pg_t0' -> '${pg_t1:-?}'"
fi

at 0.50
if ! redis_up; then
    fault_bad "redis stop: Redis did not answer PING before the fault"
else
    r="$(rcli shutdown nosave)"
    for ((i = 0; i < 50; i++)); do redis_up || break; sleep 0.1; done
    if redis_up; then
        fault_bad "redis stop: PING still answers after SHUTDOWN ('$r')"
    else
        fault_ok "redis stopped: PING fails ($(rcli ping | head -n 1))"
        sleep "$OUTAGE"
        redis_up && fail "redis came back by itself during the outage"
    fi
fi
restore && redis_up && log_fault "redis started again: PING answers PONG" || fail "redis did not come back"

at 0.60
start_extra_worker 1
start_extra_worker 2
sleep 3
joined=0
for i in 1 2; do
    p="${EXTRA_PIDS[$((i - 1))]}"
    pid_is "$p" "$BIN_DIR/worker" && grep -q '"subscribed to' "$STACK_DIR/log/worker-extra-$i.log" && joined=$((joined + 1))
done
if ((joined == 2)); then
    fault_ok "consumers 1 -> 3: extra workers ${EXTRA_PIDS[*]} alive and subscribed to the group"
else
    fault_bad "consumers 1 -> 3: $joined of 2 extra workers alive and subscribed"
fi

at 0.75
# signal_extra SIGNAL PID STATUS: PID must be a live worker; after the signal it must exit STATUS
signal_extra() {
    local st=0
    if ! pid_is "$2" "$BIN_DIR/worker"; then
        fault_bad "$1 extra worker: pid $2 is not a live worker"
        return
    fi
    kill "-$1" "$2"
    wait "$2" || st=$?
    if ((st == $3)); then
        fault_ok "$1 extra worker $2 (a live worker before): exited with status $st"
    else
        fault_bad "$1 extra worker $2: exit status $st, not $3"
    fi
}
signal_extra TERM "${EXTRA_PIDS[0]}" 0
signal_extra KILL "${EXTRA_PIDS[1]}" 137

at 0.85
w="$(worker_pid)"
kill_busy_worker
sleep 1
restart_worker "$w"

wait "$SENDER_PID"
src=$?
SENDER_PID=""
t_sent="$(now_s)"
send_s="$(elapsed "$t_send")"
for p in "${EXTRA_PIDS[@]}"; do
    pid_alive "$p" && kill -9 "$p" 2>/dev/null
done
((faults_ok == FAULTS_EXPECTED)) ||
    fail "only $faults_ok of $FAULTS_EXPECTED faults were injected and verified (faults.txt)"
if ((src != 0)) || [[ ! -s "$WORK/truth.json" ]]; then
    fail "sender failed (exit $src): $(tail -n 5 "$WORK/sender.err")"
    echo "chaos: FAIL (${failures[*]})"
    exit 1
fi
msg "sender: $(cat "$WORK/sender.out")"
read -r acked unacked refused < <(node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(s.acked, s.unacked, s.refused_events)' "$WORK/sender.json")
((unacked == 0)) || fail "$unacked events never acknowledged (retried for CHAOS_GIVE_UP_MS)"
((refused == 0)) || fail "$refused valid events refused by the ingest API"

# ---- drain -----------------------------------------------------------------------------------
restore # everything up (a fault may have left something down)
deadline=$((SECONDS + DRAIN_TIMEOUT))
drained=0
while ((SECONDS < deadline)); do
    lag="$(consumer_lag)"
    got="$(sql "SELECT coalesce(sum(cnt), 0) FROM rollups_hourly WHERE tenant_id = '$TENANT' AND metric = 'chaos_event'" 2>/dev/null)"
    if [[ "$lag" == 0 && "$got" -ge "$acked" ]]; then drained=1; break; fi
    sleep 0.5
done
drain_s="$(elapsed "$t_sent")"
sleep 1.5 # the closer; late rows settle
kill "$MON_PID" 2>/dev/null
MON_PID=""
((drained)) || fail "lag did not drain within ${DRAIN_TIMEOUT}s (lag ${lag:-?}, counted ${got:-?} of $acked)"
max_lag="$(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/lag.txt")"

# ---- compare every rollup row with the truth ------------------------------------------------
HLLX="coalesce(encode(hll, 'hex'), '')"
sql "SELECT 'Q', metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, coalesce(sum, 0), $HLLX
       FROM rollups_15m WHERE tenant_id = '$TENANT' AND metric LIKE 'chaos\\_%'
     UNION ALL SELECT 'H', metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, coalesce(sum, 0), $HLLX
       FROM rollups_hourly WHERE tenant_id = '$TENANT' AND metric LIKE 'chaos\\_%'
     UNION ALL SELECT 'D', metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, coalesce(sum, 0), $HLLX
       FROM rollups_daily WHERE tenant_id = '$TENANT' AND metric LIKE 'chaos\\_%'" |
    tr '|' '\t' >"$WORK/actual.tsv" || fail "could not read the rollups"
node "$REPO_ROOT/tests/chaos/sender.mjs" check "$WORK/truth.json" "$WORK/actual.tsv" >"$WORK/check.txt"
check_rc=$?
read -r rows bad_rows lost dup sketches < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]);
    console.log(r.rows, r.bad_rows, r.lost, r.duplicated, r.unique_sketches_equal)' "$WORK/check.txt")
((check_rc == 0)) || fail "rollups differ from the truth: $(sed -n '2,9p' "$WORK/check.txt" | tr '\n' ';')"
totals="$(sql "$(cat "$REPO_ROOT/tests/integration/lib/totals.sql")")"
[[ "${totals%% *}" == 0 && "${totals##* }" -gt 0 ]] ||
    fail "bucket totals differ from their rollup rows (mismatches, totals: ${totals:-?})"
msg "bucket totals: ${totals%% *} of ${totals##* } differ from their rollup rows"
raw="$(sql "SELECT count(*), count(DISTINCT event_id) FROM raw_events WHERE tenant_id = '$TENANT' AND event_id LIKE '$RUN_ID-%'")"
raw_rows="${raw%|*}" raw_distinct="${raw#*|}"
((raw_rows == raw_distinct && raw_distinct == acked)) ||
    fail "raw_events: $raw_rows rows, $raw_distinct distinct ids, $acked acknowledged"

# ---- a sample of GraphQL answers ------------------------------------------------------------
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ; }
# the whole range the events span (up to 25 days old)
FROM="$(iso $((NOW_MS - 26 * 86400000)))" TO="$(iso $((NOW_MS + 3600000)))"
gql_ok=0
for q in "chaos_by_page|HOUR|[\"page\"]|H" "chaos_amount|DAY|[\"country\"]|D" "chaos_event|HOUR|[]|H" "chaos_users|HOUR|[]|H"; do
    IFS='|' read -r metric gran groupby g <<<"$q"
    body="$(node -e 'const [t, m, f, to, gr, gb] = process.argv.slice(1);
        console.log(JSON.stringify({ query: `{ metrics(tenant: "${t}", name: "${m}", startTime: "${f}", endTime: "${to}", granularity: ${gr}, groupBy: ${gb}) { timestamp value dimensions } }` }))' \
        "$TENANT" "$metric" "$FROM" "$TO" "$gran" "$groupby")"
    curl -sS -m 30 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        --data-binary "$body" "$GRAPHQL_URL" >"$WORK/gql-$metric.json" 2>&1
    if node -e '
        const fs = require("fs");
        const [file, truthFile, g, metric] = process.argv.slice(1);
        const r = JSON.parse(fs.readFileSync(file, "utf8"));
        if (r.errors || !r.data) { console.log(JSON.stringify(r.errors).slice(0, 300)); process.exit(1); }
        const truth = JSON.parse(fs.readFileSync(truthFile, "utf8")).rows;
        const canon = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
        const want = new Map();
        for (const [k, v] of Object.entries(truth)) {
            const [gg, m, b, dims] = k.split("\t");
            if (gg === g && m === metric) want.set(`${b}\t${dims}`, m === "chaos_amount" ? v.sum : m === "chaos_users" ? v.distinct.length : v.cnt);
        }
        const got = new Map(r.data.metrics.filter((p) => p.value !== 0).map((p) => [`${Date.parse(p.timestamp)}\t${canon(p.dimensions)}`, p.value]));
        // unique users: the estimate within the stated 2 % (at least 2 values: ../integration/lib/hll.mjs)
        const same = (w, x) => metric === "chaos_users" ? Math.abs(w - x) <= Math.max(0.02 * w, 2) : w === x;
        let bad = 0;
        for (const k of new Set([...want.keys(), ...got.keys()])) if (!same(want.get(k) || 0, got.get(k) || 0)) bad++;
        if (bad) { console.log(`${bad} of ${want.size} points differ`); process.exit(1); }
        console.log(`${got.size} points equal`);' "$WORK/gql-$metric.json" "$WORK/truth.json" "$g" "$metric" \
        >"$WORK/gql-$metric.verdict"; then
        gql_ok=$((gql_ok + 1))
        msg "graphql $metric $gran: $(cat "$WORK/gql-$metric.verdict")"
    else
        fail "graphql $metric $gran answer equals the truth: $(cat "$WORK/gql-$metric.verdict")"
    fi
done

# ---- every process of the stack survived (or was restarted) ----------------------------------
stack status >"$WORK/status.txt" 2>&1 || fail "stack status after the run: $(grep -v ' up ' "$WORK/status.txt" | tr '\n' ';')"

echo
echo "chaos summary ($N events, $RATE/s, batches of $BATCH)"
sed 's/^/  fault at /' "$WORK/faults.txt"
node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`  requests ${s.requests} (retried ${s.retried_requests}, connection errors ${s.net_errors}), statuses ${JSON.stringify(s.statuses)}`);
    console.log(`  events acknowledged ${s.acked}/${s.n}, retried as unavailable ${s.unavailable_events}, re-sent duplicates ${s.resent_events} (old events re-sent at the end ${s.resent_old_events || 0})`);
' "$WORK/sender.json"
printf '  lost %s   duplicated %s   rollup rows %s (wrong %s, unique sketches equal to the truth %s)   graphql samples %s/4\n' "$lost" "$dup" "$rows" "$bad_rows" "$sketches" "$gql_ok"
printf '  max lag %s messages   time to drain %s s   sending %s s   total %s s\n' "$max_lag" "$drain_s" "$send_s" "$(elapsed "$t_all")"
printf '  faults: %s of %s injected and verified\n' "$faults_ok" "$FAULTS_EXPECTED"
if ((${#failures[@]})); then
    for svc in ingest-api worker graphql-api; do
        grep -E '"level":"(error|fatal)"' "$STACK_DIR/log/$svc.log" 2>/dev/null | tail -n 5 | sed "s/^/$svc: /" >&2
    done
    echo "chaos: FAIL (${#failures[@]}: ${failures[*]})"
    exit 1
fi
echo "chaos: PASS"
