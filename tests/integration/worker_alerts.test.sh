#!/usr/bin/env bash
# worker_alerts.test.sh — threshold alerts (SPEC §8, issue 7): when the watermark closes an
# HOUR/DAY bucket the worker evaluates the tenant's enabled alerts in the closer's transaction,
# records the ones that fire in alert_events with the exact value, and publishes them on Redis
# ea:alerts in the shape graphql-api's ws.c reads. Covers: a count alert that fires (GT), one at
# its boundary that must not (GT with value = threshold), dimension filters (one fires, one
# does not), sum with a filter on the DAY bucket, avg, a disabled alert, another tenant's alert;
# a late event into the closed hour (a restatement: the batch evaluates the bucket, two alerts
# fire, the one already fired does not again); and a second worker run after the bucket's rows
# were reopened (the closer closes and evaluates the bucket again): no second row or message.
#
# Events are produced before the worker starts, on one partition: the first batch runs before
# any partition has a watermark, so the rows are written open and closed later by the closer
# (idle partitions' watermarks move to now - allowed lateness), as in production.
#
# Env: BIN_DIR (build/bin), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_alerts
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
sql "INSERT INTO tenants (id, name) VALUES ('ta', 'Tenant A'), ('tb', 'Tenant B');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, dimensions) VALUES
       ('ta', 'views_by_page', 'page_view', 'count', NULL, '{page}'),
       ('ta', 'revenue', 'purchase', 'sum', 'amount', '{country}'),
       ('ta', 'avg_amount', 'purchase', 'avg', 'amount', '{}');
     INSERT INTO alerts (tenant_id, id, name, metric, filter, comparator, threshold, granularity, enabled) VALUES
       ('ta', 1, 'many views',       'page_view',     '{}',                 'GT',  4,  'HOUR', true),
       ('ta', 2, 'views at boundary','page_view',     '{}',                 'GT',  5,  'HOUR', true),
       ('ta', 3, 'page a busy',      'views_by_page', '{\"page\": \"/a\"}', 'GTE', 3,  'HOUR', true),
       ('ta', 4, 'page b busy',      'views_by_page', '{\"page\": \"/b\"}', 'GTE', 3,  'HOUR', true),
       ('ta', 5, 'revenue DE',       'revenue',       '{\"country\": \"DE\"}', 'EQ', 30, 'DAY', true),
       ('ta', 6, 'low avg',          'avg_amount',    '{}',                 'LT',  12, 'HOUR', true),
       ('ta', 7, 'disabled',         'page_view',     '{}',                 'GT',  0,  'HOUR', false),
       ('tb', 8, 'other tenant',     'page_view',     '{}',                 'GT',  0,  'HOUR', true)" \
    >/dev/null || { bad "tenants, definitions and alerts insert"; exit 1; }

# one hour two days ago (10:00 UTC): behind the watermark for both its hour and its day
NOW=$(date +%s%3N)
DAY_MS=$((NOW / 86400000 * 86400000 - 2 * 86400000))
HOUR_MS=$((DAY_MS + 10 * 3600000))
HOUR_ISO=$(date -u -d "@$((HOUR_MS / 1000))" +%Y-%m-%dT%H:00:00.000Z)
DAY_ISO=$(date -u -d "@$((DAY_MS / 1000))" +%Y-%m-%dT00:00:00.000Z)
ev() { # id event minute properties
    printf 'ta|{"v":1,"tenant":"ta","event_id":"%s","event":"%s","ts":%s,"received_at":%s,"properties":%s}\n' \
        "$1" "$2" $((HOUR_MS + $3 * 60000)) "$NOW" "$4"
}
{
    ev v1 page_view 1 '{"page":"/a"}'
    ev v2 page_view 2 '{"page":"/a"}'
    ev v3 page_view 3 '{"page":"/a"}'
    ev v4 page_view 4 '{"page":"/b"}'
    ev v5 page_view 5 '{"page":"/b"}'
    ev v1 page_view 6 '{"page":"/a"}' # duplicate event_id: counts once
    ev p1 purchase 7 '{"amount":10,"country":"DE"}'
    ev p2 purchase 8 '{"amount":20,"country":"DE"}'
    ev p3 purchase 9 '{"amount":5,"country":"FR"}'
} >"$TMP/events.txt"
printf 'tb|{"v":1,"tenant":"tb","event_id":"x1","event":"page_view","ts":%s,"received_at":%s,"properties":{}}\n' \
    $((HOUR_MS + 60000)) "$NOW" >>"$TMP/events.txt"
sed -i 's/^tb|/ta|/' "$TMP/events.txt" # same key: one partition, one first batch
ws_produce "$TMP/events.txt"

redis-cli -p "$REDIS_PORT" subscribe "$ALERTS_CHANNEL" >"$TMP/alerts.txt" 2>&1 &
EXTRA_PIDS+=($!)
wait_until 10 grep -q '^subscribe$' "$TMP/alerts.txt" || bad "redis-cli subscribed to $ALERTS_CHANNEL"

fired() { sql "SELECT count(*) FROM alert_events"; }
closed_day() { # the hour and the day of both tenants are closed
    [[ $(sql "SELECT bool_and(closed) FROM (SELECT closed FROM rollups_daily UNION ALL
              SELECT closed FROM rollups_hourly) r") == t ]]
}
messages() { grep -c '^{' "$TMP/alerts.txt"; }

W_PORT=$(free_port)
ws_worker w1 "$W_PORT"
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "worker counted every message" wait_until 30 ws_caught_up
if wait_until 30 closed_day; then
    ok "the hour and the day are closed"
else
    bad "the hour and the day are closed"
    say "consumer_offsets: $(sql "SELECT string_agg(partition || ':' || next_offset || ':' || coalesce(watermark::text, 'NULL'), ' ') FROM consumer_offsets")"
fi
check "the hour's rows were written open (revision 0), so the closer closed them" test "$(sql "
    SELECT bool_and(revision = 0) FROM rollups_hourly WHERE tenant_id = 'ta'")" = t
check "alert_events holds 5 rows" wait_eval 15 '[[ $(fired) == 5 ]]'
check "5 messages on $ALERTS_CHANNEL" wait_eval 10 '[[ $(messages) == 5 ]]'
sleep 1 # more closer passes (300 ms): nothing more may fire

check "exactly the alerts that must fire, each with its exact value" test "$(sql "
    SELECT string_agg(tenant_id || ':' || alert_id || ':' || to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24') || ':' || dims::text || ':' || value::text, ' ' ORDER BY tenant_id, alert_id)
    FROM alert_events")" = "ta:1:${HOUR_ISO:0:13}:{}:5 ta:3:${HOUR_ISO:0:13}:{\"page\": \"/a\"}:3 ta:5:${DAY_ISO:0:10}T00:{\"country\": \"DE\"}:30 ta:6:${HOUR_ISO:0:13}:{}:11.6666666666667 tb:8:${HOUR_ISO:0:13}:{}:1"
check "avg value is Σsum/Σcnt exact, rounded once to 15 significant digits (35/3, what a chart shows)" test "$(sql "
    SELECT value = round(35::numeric / 3, 13)::float8 FROM alert_events WHERE alert_id = 6")" = t
check "not fired: value at the GT boundary (2), filter /b below (4), disabled (7)" test "$(sql "
    SELECT count(*) FROM alert_events WHERE alert_id IN (2, 4, 7)")" = 0

msg() { grep "\"id\":$1," "$TMP/alerts.txt"; }
check "message of alert 1 is exactly what graphql-api parses" test "$(msg 1)" = \
    "{\"tenant\":\"ta\",\"alert\":{\"id\":1,\"name\":\"many views\",\"metric\":\"page_view\"},\"value\":5,\"dims\":{},\"granularity\":\"HOUR\",\"bucket\":\"$HOUR_ISO\"}"
check "message of alert 3 carries its filter as dims and value 3" test "$(msg 3 | jq -c '[.tenant, .alert.name, .alert.metric, .value, .dims, .bucket]')" = \
    "[\"ta\",\"page a busy\",\"views_by_page\",3,{\"page\":\"/a\"},\"$HOUR_ISO\"]"
check "message of alert 5 is the DAY bucket, value 30" test "$(msg 5 | jq -c '[.value, .granularity, .bucket]')" = \
    "[30,\"DAY\",\"$DAY_ISO\"]"
check "message of alert 6 has the avg value" test "$(msg 6 | jq -c '.value')" = 11.6666666666667
check "message of alert 8 is for tenant tb" test "$(msg 8 | jq -r '.tenant')" = tb
check "no message for alerts 2, 4, 7" test "$(grep -cE '"id":(2|4|7),' "$TMP/alerts.txt")" = 0

# ---- a restatement: a late event into the closed hour (the worker is running, the group
# watermark is past it, so the batch writes the closed rows and evaluates their alerts) ----
ev v6 page_view 10 '{"page":"/b"}' >"$TMP/late.txt"
ws_produce "$TMP/late.txt"
check "worker counted the late event" wait_until 30 ws_caught_up
check "the late event restated the closed hour (revision 1, still closed)" test "$(sql "
    SELECT revision || ':' || closed FROM rollups_hourly WHERE tenant_id = 'ta' AND metric = 'views_by_page'
    AND dims = '{\"page\": \"/b\"}'")" = "1:true"
check "alert_events holds 7 rows" wait_eval 15 '[[ $(fired) == 7 ]]'
check "7 messages on $ALERTS_CHANNEL" wait_eval 10 '[[ $(messages) == 7 ]]'
check "the restatement fired alert 2 (6 views > 5) and alert 4 (/b = 3), kept alert 1 at 5" test "$(sql "
    SELECT string_agg(alert_id || ':' || value::text, ' ' ORDER BY alert_id) FROM alert_events
    WHERE alert_id IN (1, 2, 4)")" = "1:5 2:6 4:3"
check "message of alert 4 (restated bucket) has value 3 and its filter" test "$(msg 4 | jq -c '[.value, .dims, .bucket]')" = \
    "[3,{\"page\":\"/b\"},\"$HOUR_ISO\"]"
check "alert 1 was published once" test "$(grep -c '"id":1,' "$TMP/alerts.txt")" = 1
FIRED_AT=$(sql "SELECT string_agg(fired_at::text, ',' ORDER BY alert_id) FROM alert_events")

# ---- second run: the bucket is closed again (rows reopened, as a restatement would) ----
check "worker stops on SIGTERM" ws_term w1
sql "UPDATE rollups_hourly SET closed = false WHERE tenant_id IN ('ta', 'tb');
     UPDATE rollups_daily SET closed = false WHERE tenant_id IN ('ta', 'tb')" >/dev/null
ws_produce "$TMP/events.txt" # the same events again: deduplicated
ws_worker w2 "$W_PORT"
check "second worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "second worker counted every message" wait_until 30 ws_caught_up
check "the reopened hour and day are closed again" wait_until 30 closed_day
sleep 1.5
check "still 7 alert_events rows (ON CONFLICT DO NOTHING), same fired_at" test \
    "$(fired):$(sql "SELECT string_agg(fired_at::text, ',' ORDER BY alert_id) FROM alert_events")" = "7:$FIRED_AT"
check "still 7 messages: a conflict is not published again" test "$(messages)" = 7
check "re-sent events did not change the counts (still 6 views)" test "$(sql "
    SELECT sum(cnt) FROM rollups_hourly WHERE tenant_id = 'ta' AND metric = 'page_view'")" = 6
check "workers log no closer error" bash -c "! cat '$TMP'/w1.log '$TMP'/w2.log | grep -q 'could not close buckets'"
