#!/usr/bin/env bash
# worker_faults.test.sh — issue 4's "Prove" items beyond worker_exactly_once.test.sh: the
# rollups equal the ground truth after a PostgreSQL restart mid-stream and after broker faults
# injected through the dev broker's control socket (Fetch and OffsetCommit request errors, a
# broker down and up); and partitions: no DEFAULT partition, the next days exist, a partition
# past retention is dropped by the worker's maintenance, an event older than the raw retention
# is dead-lettered (reason too_old: lib/rollup's age rule, the one ingest applies), not lost.
#
# Ground truth: worker_gen.mjs (duplicates, late and old events, shuffled, two tenants,
# dimensions, a too-old and undecodable tail). Private stack from worker_stack.sh (its
# PostgreSQL is stopped and started here). Raw retention is 3 days (partition_classes and the
# worker's RAW_RETENTION_DAYS) before the worker starts.
#
# Env: BIN_DIR (build/bin), FAULTS_TEST_EVENTS (12000), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_faults
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"
N=${FAULTS_TEST_EVENTS:-12000}

ws_start
kctl() { "$BIN_DIR/kafka-dev-broker" --ctl "$KCTL" "$@" >>"$TMP/kctl.log" 2>&1 || bad "broker control: $*"; }
day_part() { date -u -d "@$(($(date +%s) + $1 * 86400))" +"$2_p%Y%m%d"; }

sql "INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one'), ('t2', 'Tenant two');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, dimensions) VALUES
       ('t1', 'page_views', 'page_view', 'count', NULL, '{page}'),
       ('t1', 'revenue', 'purchase', 'sum', 'amount', '{country}'),
       ('t1', 'avg_amount', 'purchase', 'avg', 'amount', '{}'),
       ('t2', 'views_by_country', 'page_view', 'count', NULL, '{country,page}')" >/dev/null ||
    { bad "metric definitions insert"; exit 1; }
OLD_PART=$(day_part -5 raw_events)
check "migrate created raw partitions back to the max lateness ($OLD_PART exists)" \
    test "$(sql "SELECT to_regclass('$OLD_PART') IS NOT NULL")" = t
sql "UPDATE partition_classes SET retention_days = 3 WHERE parent = 'raw_events'" >/dev/null

NOW=$(date +%s%3N)
node "$ROOT/tests/integration/worker_gen.mjs" gen "$TMP/gen" "$N" 4242 "$NOW" --max-old-days 3 >"$TMP/gen.json" ||
    { bad "generator runs"; exit 1; }
say "generated: $(cat "$TMP/gen.json")"
# 4 days old: past the raw retention (3 days here, RAW_RETENTION_DAYS of the worker too): too old
printf 't1/ret1|{"v":1,"tenant":"t1","event_id":"ret1","event":"page_view","ts":%s,"received_at":%s,"properties":{"page":"/"}}\n' \
    $((NOW - 4 * 86400000)) "$NOW" >"$TMP/retention.txt"

redis-cli -p "$REDIS_PORT" subscribe "$CHANGES_CHANNEL" >"$TMP/feed.txt" 2>&1 &
EXTRA_PIDS+=($!)
# a probe for close notices, produced before the worker starts: its first batch runs before any
# partition has a watermark, so the probe's hour is written open and closed later by the closer
PROBE_MS=$((NOW - 2 * 3600000))
PROBE_HOUR=$(date -u -d "@$((PROBE_MS / 1000))" +%Y-%m-%dT%H:00:00.000Z)
printf 't3/probe|{"v":1,"tenant":"t3","event_id":"probe","event":"closing_probe","ts":%s,"received_at":%s,"properties":{}}\n' \
    "$PROBE_MS" "$NOW" >"$TMP/probe.txt"
ws_produce "$TMP/probe.txt"
W_PORT=$(free_port)
ws_worker w1 "$W_PORT" WORKER_MAINTENANCE_INTERVAL_S=5 RAW_RETENTION_DAYS=3
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "worker claims all 3 partitions" wait_sql 30 'SELECT count(*) FROM consumer_offsets' 3

# ---- partitions ----
check "no partitioned table has a DEFAULT partition" \
    test "$(sql 'SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0')" = 0
check "the next 3 days exist for raw events, 15-minute and hourly rollups" test "$(sql "
    SELECT count(*) FROM unnest(ARRAY['$(day_part 1 raw_events)', '$(day_part 2 raw_events)', '$(day_part 3 raw_events)',
                                      '$(day_part 1 rollups_15m)', '$(day_part 3 rollups_15m)',
                                      '$(day_part 1 rollups_hourly)', '$(day_part 3 rollups_hourly)']) p
    WHERE to_regclass(p) IS NOT NULL")" = 7
check "next month's daily-rollup partition exists" test "$(sql "
    SELECT to_regclass('rollups_daily_p' || to_char(now() AT TIME ZONE 'UTC' + interval '1 month', 'YYYYMM')) IS NOT NULL")" = t
check "maintenance dropped the raw partition past retention ($OLD_PART)" \
    wait_sql 15 "SELECT to_regclass('$OLD_PART') IS NULL" t

# ---- faults while the stream flows ----
chunks=("$TMP"/gen/chunk_0*.txt)
ws_produce "${chunks[0]}"
ws_produce "${chunks[1]}"
sleep 0.3
pg_stop fast && say "postgresql stopped (fast) mid-stream"
ws_produce "${chunks[2]}"
sleep 3
check "/readyz says 503 while PostgreSQL is down" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W_PORT/readyz")" = 503
pg_start && say "postgresql started again"
ws_produce "${chunks[3]}"
check "worker catches up after the PostgreSQL restart" wait_until 90 ws_caught_up

kctl 'request-errors Fetch 30 NOT_LEADER_FOR_PARTITION' 'request-errors OffsetCommit 10 REQUEST_TIMED_OUT'
ws_produce "${chunks[4]}"
ws_produce "${chunks[5]}"
kctl 'request-errors Fetch 20 TRANSPORT'
ws_produce "${chunks[6]}"
# 50 injected Fetch errors each cost librdkafka a backoff (up to seconds under load): a
# generous bound, since the check is that the worker catches up, not how fast
check "worker catches up through Fetch/OffsetCommit errors" wait_until 240 ws_caught_up
kctl 'clear-errors Fetch' 'clear-errors OffsetCommit'

ws_produce "${chunks[7]}"
kctl 'broker-down 2'
sleep 3
kctl 'broker-up 2'
ws_produce "${chunks[8]}"
kctl 'rtt -1 200'
ws_produce "${chunks[9]}"
ws_produce "${chunks[3]}" # an ingest retry: every event of chunk 3 again
kctl 'rtt -1 0'
check "worker catches up after broker 2 went down and up (and 200 ms round trips)" wait_until 120 ws_caught_up
ws_produce "$TMP/gen/chunk_tail.txt"
ws_produce "$TMP/retention.txt"
check "worker commits the too-old and undecodable tail" wait_until 60 ws_caught_up

# ---- ground truth ----
sql "SELECT 'Q', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum FROM rollups_15m
       WHERE tenant_id <> 't3'
     UNION ALL SELECT 'H', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum FROM rollups_hourly
       WHERE tenant_id <> 't3'
     UNION ALL SELECT 'D', tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum FROM rollups_daily
       WHERE tenant_id <> 't3'" |
    tr '|' '\t' >"$TMP/actual.tsv"
if node "$ROOT/tests/integration/worker_gen.mjs" check "$TMP/gen/expected.json" "$TMP/actual.tsv" >"$TMP/check.txt"; then
    ok "15m, hourly and daily rollups equal the ground truth after the faults ($(tail -1 "$TMP/check.txt"))"
else
    bad "rollups equal the ground truth after the faults"
    sed 's/^/#   /' "$TMP/check.txt"
fi
COUNTED=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$TMP/gen/expected.json')).counted)")
check "raw_events holds each counted event once ($COUNTED)" \
    test "$(sql "SELECT count(*) FROM raw_events WHERE tenant_id <> 't3'")" = "$COUNTED"
check "the event older than raw retention is dead-lettered too_old with its offset" test "$(sql "
    SELECT count(*) FROM dead_letters WHERE reason = 'too_old' AND event_id = 'ret1' AND kafka_offset >= 0")" = 1
check "... and counted nowhere" test "$(sql "SELECT count(*) FROM raw_events WHERE event_id = 'ret1'")" = 0
check "dead_letters: 21 too_old, 5 undecodable" test "$(sql "
    SELECT string_agg(reason || '=' || n, ',' ORDER BY reason) FROM (
      SELECT CASE WHEN reason = 'too_old' THEN reason ELSE 'undecodable' END AS reason, count(*) n
      FROM dead_letters GROUP BY 1) d")" = "too_old=21,undecodable=5"
check "still no DEFAULT partition" test "$(sql 'SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0')" = 0
check "the worker counted database errors (the restart was seen, not skipped)" \
    bash -c "curl -s http://127.0.0.1:$W_PORT/metrics | grep -Eq '^worker_db_errors_total [1-9]'"
# bucket closing on the change feed (alerts, docs/event-format.md)
check "the closer's notice is published: {\"tenant\":\"t3\",\"changes\":[],\"closed\":[...$PROBE_HOUR...]}" \
    grep -q "^{\"tenant\":\"t3\",\"changes\":\\[\\],\"closed\":\\[.*{\"metric\":\"closing_probe\",\"granularity\":\"HOUR\",\"bucket\":\"$PROBE_HOUR\"}" "$TMP/feed.txt"
check "the probe's hour row was written open (revision 0) and is closed now" test "$(sql "
    SELECT closed AND revision = 0 FROM rollups_hourly WHERE tenant_id = 't3' AND bucket = '$PROBE_HOUR'")" = t
check "worker exits 0 on SIGTERM" ws_term w1
