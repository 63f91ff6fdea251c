# worker_stack.sh — sourced by the worker's integration tests (worker_*.test.sh): a private
# stack for one test file — PostgreSQL 15 (migrated), Redis and the Kafka dev broker on free
# ports in a temp dir — plus helpers to start workers, produce messages with kcat, run SQL and
# count checks. Everything started here is stopped by the EXIT trap, by pid.
# Not a test itself (no .test.sh suffix): tests/run-integration.sh does not run it.
#
# A test file sets TEST_NAME, sources this, calls ws_start, then uses: sql, ok/bad/check,
# ws_worker NAME PORT [VAR=VALUE...], ws_kill9 NAME, ws_term NAME, ws_produce FILE,
# ws_caught_up, as_pg, and the polling helpers of lib/check.sh (wait_until, wait_eval, wait_sql). Variables: ROOT, BIN_DIR, TMP, PG_PORT,
# REDIS_PORT, BROKERS, KCTL (broker control socket), PGDATA_DIR, PGBIN.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
PGBIN=/usr/lib/postgresql/15/bin
TMP=$(mktemp -d "/tmp/ea-${TEST_NAME:-worker}.XXXXXX")
chmod 755 "$TMP"
PGDATA_DIR=$TMP/pg
passed=0
failed=0
produced=0
declare -A WPID=()
EXTRA_PIDS=() # other helpers a test starts (e.g. redis-cli subscribe), killed at exit
# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
ws_cleanup() {
    local rc=$?
    for w in "${!WPID[@]}"; do kill -9 "${WPID[$w]}" 2>/dev/null; done
    for p in "${EXTRA_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [[ -n ${BROKERPID:-} ]] && kill "$BROKERPID" 2>/dev/null && wait "$BROKERPID" 2>/dev/null
    [[ -n ${REDIS_PORT:-} ]] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
    [[ -d $PGDATA_DIR ]] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1
    if ((failed > 0)); then
        for f in "$TMP"/w*.log; do
            [[ -f $f ]] || continue
            say "last lines of $(basename "$f"):"
            tail -15 "$f" | sed 's/^/#   /'
        done
    fi
    if [[ ${KEEP_TMP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf -- "$TMP"; fi
    ((rc != 0 && failed == 0)) && failed=1
    summary "${TEST_NAME:-worker}"
    ((failed == 0)) || exit 1
    exit 0
}

pg_start() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$TMP/pgrun/pg.log" -w \
        -o "-p $PG_PORT -k $TMP/pgrun -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m "${1:-fast}" -w stop >/dev/null; }

ws_start() {
    trap ws_cleanup EXIT
    trap 'exit 1' INT TERM
    for b in worker kafka-dev-broker analytics-admin; do
        [[ -x $BIN_DIR/$b ]] || { bad "binary $BIN_DIR/$b exists (build it first)"; exit 1; }
    done
    command -v kcat >/dev/null || { bad "kcat is installed"; exit 1; }
    PG_PORT=$(free_port)
    REDIS_PORT=$(free_port)
    mkdir "$PGDATA_DIR" "$TMP/pgrun" && chown postgres "$PGDATA_DIR" "$TMP/pgrun" 2>/dev/null
    as_pg "$PGBIN/initdb" -A trust -U postgres -D "$PGDATA_DIR" >"$TMP/initdb.log" 2>&1 ||
        { bad "initdb"; cat "$TMP/initdb.log"; exit 1; }
    pg_start || { bad "postgresql starts"; cat "$TMP/pgrun/pg.log"; exit 1; }
    PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
    "${PSQL[@]}" -c "CREATE DATABASE analytics" >/dev/null
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/analytics"
    "$BIN_DIR/analytics-admin" migrate >"$TMP/migrate.log" 2>&1 ||
        { bad "analytics-admin migrate"; cat "$TMP/migrate.log"; exit 1; }
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --daemonize yes \
        --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log" >/dev/null
    wait_until 10 redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || { bad "redis starts"; exit 1; }
    KCTL=$TMP/kafka.sock
    "$BIN_DIR/kafka-dev-broker" --bootstrap-file "$TMP/kafka.bootstrap" --control "$KCTL" \
        >"$TMP/broker.out" 2>"$TMP/broker.log" &
    BROKERPID=$!
    wait_until 20 test -s "$TMP/kafka.bootstrap" || { bad "kafka-dev-broker starts"; exit 1; }
    BROKERS=$(cat "$TMP/kafka.bootstrap")
    ok "private stack: postgresql :$PG_PORT (migrated), redis :$REDIS_PORT, broker $BROKERS"
}

sql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d analytics -At -c "$1"; }

ws_worker() { # name port [VAR=value ...]
    local name=$1 port=$2
    shift 2
    env DATABASE_URL="$DATABASE_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        KAFKA_BROKERS="$BROKERS" WORKER_HOST=127.0.0.1 WORKER_PORT="$port" \
        WORKER_BATCH_MAX_EVENTS=1000 WORKER_BATCH_MAX_MS=50 WORKER_CLOSE_INTERVAL_MS=300 \
        WORKER_SESSION_TIMEOUT_MS=6000 WORKER_MAX_POLL_INTERVAL_MS=20000 LOG_LEVEL=info "$@" \
        "$BIN_DIR/worker" >>"$TMP/$name.out" 2>>"$TMP/$name.log" &
    WPID[$name]=$!
}
ws_ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz") == 200 ]]; }
ws_kill9() {
    kill -9 "${WPID[$1]}" 2>/dev/null
    wait "${WPID[$1]}" 2>/dev/null
    unset "WPID[$1]"
    say "killed $1 with SIGKILL"
}
ws_term() { # name: SIGTERM, true when it exits 0
    kill -TERM "${WPID[$1]}" 2>/dev/null
    local rc=0
    wait "${WPID[$1]}" || rc=$?
    unset "WPID[$1]"
    return "$rc"
}
ws_produce() { # file of key|value lines
    kcat -P -b "$BROKERS" -t events -K '|' -X partitioner=murmur2_random -X linger.ms=5 <"$1" ||
        bad "kcat produces $(basename "$1")"
    produced=$((produced + $(wc -l <"$1")))
}
ws_committed() { sql "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets" 2>/dev/null; }
ws_caught_up() { [[ $(ws_committed) == "$produced" ]]; }
