#!/usr/bin/env bash
# worker_exactly_once.sh — the worker's exactly-once proof against real PostgreSQL 15, Redis and
# the Kafka dev broker, all started here on free ports in a temp dir and stopped at the end.
#
# tests/integration/worker_gen.mjs generates N events (two tenants, ids shared across tenants,
# dimensions, ~10 % duplicate re-sends, ~10 % late, shuffled) and computes the rollups an exact
# worker must produce. Meanwhile the worker is killed with SIGKILL mid-stream and restarted, a
# second worker joins (rebalance, fencing) and is killed too, whole chunks are re-sent (ingest
# retries). At the end the 15-minute, hourly and daily rollups must equal the truth row by row
# (unique metrics: the stored sketch is the sketch of exactly the row's distinct values, its
# estimate within 2 % of their number),
# and raw events, dedup keys, dead letters (too late, undecodable), closed buckets, the change
# feed, /metrics and a clean SIGTERM exit are checked.
#
# Env: BIN_DIR (build/bin), WORKER_TEST_EVENTS (20000), WORKER_TEST_SEED (42), KEEP_TMP=1.
# Last line: "worker: N passed, M failed"; exit status 1 on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
N=${WORKER_TEST_EVENTS:-20000}
SEED=${WORKER_TEST_SEED:-42}
PGBIN=/usr/lib/postgresql/15/bin
TMP=$(mktemp -d /tmp/ea-worker-test.XXXXXX)
chmod 755 "$TMP"
passed=0
failed=0
produced=0
declare -A WPID=()

# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
cleanup() {
    local rc=$?
    for w in "${!WPID[@]}"; do kill -9 "${WPID[$w]}" 2>/dev/null; done
    [[ -n ${SUBPID:-} ]] && kill "$SUBPID" 2>/dev/null
    [[ -n ${BROKERPID:-} ]] && kill "$BROKERPID" 2>/dev/null && wait "$BROKERPID" 2>/dev/null
    [[ -n ${REDIS_PORT:-} ]] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
    [[ -d $TMP/pg ]] && as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1
    if [[ ${KEEP_TMP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf -- "$TMP"; fi
    ((rc != 0 && failed == 0)) && failed=1
    summary worker
    ((failed == 0)) || exit 1
    exit 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for b in worker kafka-dev-broker; do
    [[ -x $BIN_DIR/$b ]] || { bad "binary $BIN_DIR/$b exists (build it first)"; exit 1; }
done
command -v kcat >/dev/null || { bad "kcat is installed"; exit 1; }

# ---- stack ----
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
W1_PORT=$(free_port)
W2_PORT=$(free_port)
mkdir "$TMP/pg" "$TMP/pgrun" && chown postgres "$TMP/pg" "$TMP/pgrun" 2>/dev/null
as_pg "$PGBIN/initdb" -A trust -U postgres -D "$TMP/pg" >"$TMP/initdb.log" 2>&1 ||
    { bad "initdb"; cat "$TMP/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pgrun/pg.log" -w \
    -o "-p $PG_PORT -k $TMP/pgrun -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
    { bad "postgresql starts"; cat "$TMP/pgrun/pg.log"; exit 1; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -c "CREATE DATABASE analytics" >/dev/null
DB=(${PSQL[@]} -d analytics)
sql() { "${DB[@]}" -At -c "$1"; }
for m in "$ROOT"/db/migrations/*.sql; do
    # one transaction per file, as analytics-admin migrate runs them
    "${DB[@]}" -1 -f "$m" >/dev/null || { bad "migration $(basename "$m") applies"; exit 1; }
done
ok "postgresql 15 on port $PG_PORT, migrations applied"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --daemonize yes \
    --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log" >/dev/null
wait_until 10 redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || { bad "redis starts"; exit 1; }

"$BIN_DIR/kafka-dev-broker" --bootstrap-file "$TMP/kafka.bootstrap" --control "$TMP/kafka.sock" \
    >"$TMP/broker.out" 2>"$TMP/broker.log" &
BROKERPID=$!
wait_until 20 test -s "$TMP/kafka.bootstrap" || { bad "kafka-dev-broker starts"; exit 1; }
BROKERS=$(cat "$TMP/kafka.bootstrap")
ok "redis on $REDIS_PORT, kafka-dev-broker at $BROKERS"

sql "INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one'), ('t2', 'Tenant two');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, dimensions) VALUES
       ('t1', 'page_views', 'page_view', 'count', NULL, '{page}'),
       ('t1', 'revenue', 'purchase', 'sum', 'amount', '{country}'),
       ('t1', 'avg_amount', 'purchase', 'avg', 'amount', '{}'),
       ('t2', 'views_by_country', 'page_view', 'count', NULL, '{country,page}');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, dimensions, cardinality_cap)
       VALUES ('t2', 'pages_capped', 'page_view', 'count', NULL, '{page}', 3),
              ('t1', 'buyers', 'purchase', 'unique', 'country', '{}', 1000),
              ('t1', 'visitors', 'page_view', 'unique', 'user_id', '{page}', 1000)" >/dev/null ||
    { bad "metric definitions insert"; exit 1; }

NOW=$(date +%s%3N)
node "$ROOT/tests/integration/worker_gen.mjs" gen "$TMP/gen" "$N" "$SEED" "$NOW" --unique >"$TMP/gen.json" ||
    { bad "generator runs"; exit 1; }
say "generated: $(cat "$TMP/gen.json")"

redis-cli -p "$REDIS_PORT" subscribe "$CHANGES_CHANNEL" >"$TMP/feed.txt" 2>&1 &
SUBPID=$!

# ---- worker control ----
start_worker() { # name port
    DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/analytics" \
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" KAFKA_BROKERS="$BROKERS" \
        WORKER_HOST=127.0.0.1 WORKER_PORT="$2" WORKER_BATCH_MAX_EVENTS=400 WORKER_BATCH_MAX_MS=50 \
        WORKER_CLOSE_INTERVAL_MS=300 LOG_LEVEL=info \
        WORKER_SESSION_TIMEOUT_MS=6000 WORKER_MAX_POLL_INTERVAL_MS=20000 \
        "$BIN_DIR/worker" >>"$TMP/$1.out" 2>>"$TMP/$1.log" &
    WPID[$1]=$!
}
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz") == 200 ]]; }
kill9() {
    kill -9 "${WPID[$1]}" 2>/dev/null
    wait "${WPID[$1]}" 2>/dev/null
    unset "WPID[$1]"
    say "killed $1 with SIGKILL"
}
produce() { # file
    kcat -P -b "$BROKERS" -t events -K '|' -X partitioner=murmur2_random -X linger.ms=5 <"$1" ||
        bad "kcat produces $(basename "$1")"
    produced=$((produced + $(wc -l <"$1")))
}
committed() { sql "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets"; }
caught_up() { [[ $(committed) == "$produced" ]]; }

start_worker w1 "$W1_PORT"
check "worker w1 answers /readyz 200" wait_until 30 ready "$W1_PORT"
check "worker claims all 3 partitions" wait_sql 30 'SELECT count(*) FROM consumer_offsets' 3

chunks=("$TMP"/gen/chunk_0*.txt)
produce "${chunks[0]}"
produce "${chunks[1]}"
sleep 0.3
kill9 w1 # mid-stream, most likely mid-batch
produce "${chunks[2]}"
start_worker w1 "$W1_PORT"
produce "${chunks[3]}"
start_worker w2 "$W2_PORT" # a second member: rebalance, claims bump generations
sleep 1
produce "${chunks[4]}"
produce "${chunks[5]}"
sleep 0.2
kill9 w1
produce "${chunks[6]}"
produce "${chunks[1]}" # an ingest retry: every event of chunk 1 again
sleep 0.5
start_worker w1 "$W1_PORT"
produce "${chunks[7]}"
sleep 0.3
kill9 w2
produce "${chunks[8]}"
produce "${chunks[9]}"
produce "${chunks[5]}"
check "workers catch up with everything produced ($produced messages)" wait_until 120 caught_up
produce "$TMP/gen/chunk_tail.txt"
check "workers commit the too-late and undecodable tail" wait_until 60 caught_up
sleep 1.5 # let the closer run

# ---- ground truth ----
# every row (the capped metric is checked below); unique metrics (buyers, visitors) with their
# sketches: worker_gen.mjs compares their registers and estimates with the distinct values
sql "SELECT 'Q', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum,
            coalesce(encode(hll, 'hex'), '')
       FROM rollups_15m WHERE metric <> 'pages_capped'
     UNION ALL SELECT 'H', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum,
            coalesce(encode(hll, 'hex'), '')
       FROM rollups_hourly WHERE metric <> 'pages_capped'
     UNION ALL SELECT 'D', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum,
            coalesce(encode(hll, 'hex'), '')
       FROM rollups_daily WHERE metric <> 'pages_capped'" |
    tr '|' '\t' >"$TMP/actual.tsv"
if node "$ROOT/tests/integration/worker_gen.mjs" check "$TMP/gen/expected.json" "$TMP/actual.tsv" \
    >"$TMP/check.txt"; then
    ok "15m, hourly and daily rollups equal the ground truth exactly ($(tail -1 "$TMP/check.txt"))"
else
    bad "rollups equal the ground truth"
    sed 's/^/#   /' "$TMP/check.txt"
fi
exp() { node -e "console.log(JSON.parse(require('fs').readFileSync('$TMP/gen/expected.json'))['$1'])"; }
COUNTED=$(exp counted)
check "raw_events holds each counted event once ($COUNTED)" \
    test "$(sql 'SELECT count(*) FROM raw_events')" = "$COUNTED"
check "raw_events has no (tenant, event_id) twice" \
    test "$(sql 'SELECT count(*) FROM (SELECT 1 FROM raw_events GROUP BY tenant_id, event_id HAVING count(*) > 1) d')" = 0
check "event_dedup holds counted + too-old keys" \
    test "$(sql 'SELECT count(*) FROM event_dedup')" = $((COUNTED + 20))
check "dead_letters: 20 too_old (past the raw retention)" \
    test "$(sql "SELECT count(*) FROM dead_letters WHERE reason = 'too_old'")" = 20
check "dead_letters: 5 undecodable with reasons" \
    test "$(sql "SELECT count(*) FROM dead_letters WHERE reason <> 'too_old'")" = 5
OLD=$(exp old)
check "events 2 to 25 days old are counted, none dead-lettered ($OLD in raw_events)" \
    test "$(sql "SELECT count(*) FROM raw_events WHERE event_time < now() - interval '1 day'")" = "$OLD"
check "dead letters carry partition, offset and payload" \
    test "$(sql "SELECT count(*) FROM dead_letters WHERE kafka_offset >= 0 AND payload <> ''")" = 25
say "dead-letter reasons: $(sql "SELECT string_agg(DISTINCT reason, ',') FROM dead_letters")"
check "hourly rows sum to daily rows (every metric and dims)" test "$(sql "
    SELECT count(*) FROM (SELECT tenant_id, metric, date_trunc('day', bucket AT TIME ZONE 'UTC') d, dims, sum(cnt) c
                          FROM rollups_hourly GROUP BY 1, 2, 3, 4) h
    FULL JOIN (SELECT tenant_id, metric, bucket AT TIME ZONE 'UTC' d, dims, cnt c FROM rollups_daily) y
    USING (tenant_id, metric, d, dims) WHERE h.c IS DISTINCT FROM y.c")" = 0
TOTALS=$(sql "$(cat "$ROOT/tests/integration/lib/totals.sql")")
check "bucket totals equal the sum, min, max and revision of their rows, none missing or extra ($TOTALS: mismatches, totals)" \
    test "${TOTALS%% *}" = 0 -a "${TOTALS##* }" -gt 0
check "cardinality cap 3: at most 3 pages + __other__ per day, total preserved" test "$(sql "
    SELECT (SELECT count(*) FROM (SELECT bucket, count(*) FILTER (WHERE dims->>'page' <> '__other__') n
                                  FROM rollups_daily WHERE metric = 'pages_capped' GROUP BY bucket) x WHERE n > 3)
         + (SELECT count(*) FROM (SELECT bucket, sum(cnt) c FROM rollups_daily WHERE metric = 'pages_capped' GROUP BY bucket) p
            JOIN (SELECT bucket, cnt c FROM rollups_daily WHERE metric = 'page_view' AND tenant_id = 't2') q
            USING (bucket) WHERE p.c <> q.c)")" = 0
check "__other__ used when a day has more than 3 pages" \
    test "$(sql "SELECT count(*) > 0 FROM rollups_daily WHERE metric = 'pages_capped' AND dims->>'page' = '__other__'")" = t
check "unique metrics: every row has a sketch, and there are rows (buyers, visitors)" test "$(sql "
    SELECT count(*) FILTER (WHERE metric = 'buyers') > 0 AND count(*) FILTER (WHERE metric = 'visitors') > 0
           AND bool_and(hll IS NOT NULL) FROM rollups_hourly WHERE metric IN ('buyers', 'visitors')")" = t
check "buckets behind the group watermark are closed" test "$(sql "
    SELECT count(*) FROM rollups_hourly WHERE NOT closed
    AND bucket + interval '1 hour' <= (SELECT min(watermark) FROM consumer_offsets)")" = 0
check "late events restated closed buckets (revision > 0 somewhere)" \
    test "$(sql 'SELECT count(*) > 0 FROM rollups_hourly WHERE revision > 0')" = t
check "partitions were re-claimed (generation > 1)" \
    test "$(sql 'SELECT min(generation) > 1 FROM consumer_offsets')" = t
check "no DEFAULT partition anywhere" \
    test "$(sql 'SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0')" = 0
check "change feed published for both tenants" \
    bash -c "grep -q '\"tenant\":\"t1\"' '$TMP/feed.txt' && grep -q '\"tenant\":\"t2\"' '$TMP/feed.txt'"
METRICS=$(curl -s "http://127.0.0.1:$W1_PORT/metrics")
check "/metrics exposes lag, late, restated, dead-lettered, batch latency, freshness" bash -c '
    for m in worker_partition_lag worker_events_late_total worker_events_restated_total \
             worker_events_dead_lettered_total worker_batch_latency_seconds_bucket \
             worker_freshness_seconds_bucket worker_events_per_second; do
        grep -q "^$m" <<<"$1" || { echo "missing $m"; exit 1; }
    done' _ "$METRICS"
check "/metrics counts the 20 too-old dead letters" \
    grep -q 'worker_events_dead_lettered_total{reason="too_old"} 20' <<<"$METRICS"

# ---- a restart replays nothing; SIGTERM leaves cleanly ----
before=$(sql 'SELECT sum(cnt) FROM rollups_hourly')
start_worker w2 "$W2_PORT"
sleep 3
check "a restart with everything committed changes no count" \
    test "$(sql 'SELECT sum(cnt) FROM rollups_hourly')" = "$before"
for w in w1 w2; do
    kill -TERM "${WPID[$w]}"
    if wait "${WPID[$w]}"; then ok "$w exits 0 on SIGTERM"; else bad "$w exits 0 on SIGTERM"; fi
    unset "WPID[$w]"
done
check "worker logs its clean stop" grep -q '"worker stopped"' "$TMP/w1.log"
if ((failed > 0)); then
    say "worker log tail:"
    tail -20 "$TMP/w1.log" | sed 's/^/#   /'
fi
