#!/usr/bin/env bash
# worker_alert_clock.test.sh — alerts evaluated by the clock (issue 15, migration 0012): every
# whole bucket the group watermark passes is evaluated, with or without events. An empty hour is
# 0 for count and sum, so "= 0" and "below N" fire when traffic stops; min/avg of nothing never
# fire; a daily alert in Asia/Kolkata sums the local day (18:30 UTC to 18:30 UTC), not the UTC
# day; a bucket fires once (the row-driven closer and the clock agree); buckets before the alert
# existed (updated_at) are not evaluated; a paused alert is skipped and, resumed, starts over
# from the bucket of its resumption. Private stack (worker_stack.sh).
#
# Env: BIN_DIR (build/bin), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_alert_clock
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
NOW=$(date +%s%3N)
H=3600000
D=86400000
TODAY=$((NOW / D * D))
# hours: 5 hours ago (3 views, 1 purchase of 10) and the 4 hours after it (nothing)
H0=$((NOW / H * H - 5 * H))
# a day 3 days back: 2 signups at 10:00 UTC (the Kolkata day that began 18:30 UTC the day
# before) and 1 at 20:00 UTC (the next Kolkata day). UTC day: 3 signups.
D3=$((TODAY - 3 * D))
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%S.000Z; }
ev() { # id event ts properties
    printf 'tc|{"v":1,"tenant":"tc","event_id":"%s","event":"%s","ts":%s,"received_at":%s,"properties":%s}\n' \
        "$1" "$2" "$3" "$NOW" "$4"
}
{
    ev h1 page_view $((H0 + 60000)) '{}'
    ev h2 page_view $((H0 + 120000)) '{}'
    ev h3 page_view $((H0 + 180000)) '{}'
    ev p1 purchase $((H0 + 240000)) '{"amount":10}'
    ev d1 signup $((D3 + 10 * H)) '{}'
    ev d2 signup $((D3 + 10 * H + 60000)) '{}'
    ev d3 signup $((D3 + 20 * H)) '{}'
} >"$TMP/events.txt"
ws_produce "$TMP/events.txt"

# updated_at places each alert's first bucket: 6 hours ago for the hourly ones, 4 days ago for
# the daily ones; 'late' two hours after the hour of the views (the empty hours before that are
# not its business)
sql "INSERT INTO tenants (id, name) VALUES ('tc', 'Tenant C');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property) VALUES
       ('tc', 'revenue', 'purchase', 'sum', 'amount'), ('tc', 'avg_amount', 'purchase', 'avg', 'amount');
     INSERT INTO alerts (tenant_id, id, name, metric, filter, comparator, threshold, granularity,
                         timezone, updated_at) VALUES
       ('tc', 1, 'no views',       'page_view',  '{}', 'EQ', 0, 'HOUR', 'UTC', '$(iso $((H0 - H)))'),
       ('tc', 2, 'few views',      'page_view',  '{}', 'LT', 5, 'HOUR', 'UTC', '$(iso $((H0 - H)))'),
       ('tc', 3, 'no revenue',     'revenue',    '{}', 'LTE', 0, 'HOUR', 'UTC', '$(iso $((H0 - H)))'),
       ('tc', 4, 'low avg',        'avg_amount', '{}', 'LT', 100, 'HOUR', 'UTC', '$(iso $((H0 - H)))'),
       ('tc', 5, 'kolkata day',    'signup',     '{}', 'GTE', 2, 'DAY', 'Asia/Kolkata', '$(iso $((D3 - D)))'),
       ('tc', 6, 'utc day',        'signup',     '{}', 'GTE', 3, 'DAY', 'UTC', '$(iso $((D3 - D)))'),
       ('tc', 7, 'late',           'page_view',  '{}', 'EQ', 0, 'HOUR', 'UTC', '$(iso $((H0 + 2 * H + 1)))'),
       ('tc', 8, 'paused',         'page_view',  '{}', 'EQ', 0, 'HOUR', 'UTC', '$(iso $((H0 - H)))')" \
    >/dev/null || { bad "tenant, definitions and alerts insert"; exit 1; }
sql "UPDATE alerts SET enabled = false WHERE id = 8" >/dev/null

W_PORT=$(free_port)
ws_worker w1 "$W_PORT" WORKER_ALLOWED_LATENESS_S=60
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "worker counted every message" wait_until 30 ws_caught_up
# the watermark reaches now - 60 s: every hour up to the previous one is whole and passed
last_hour=$(((NOW - 60000) / H * H - H))
check "the clock walked every alert up to the last whole hour" \
    wait_eval 60 '[[ $(sql "SELECT count(*) FROM alerts WHERE id IN (1, 2, 3, 4) AND evaluated_until >= '"'"'$(iso $((last_hour + H)))'"'"'") == 4 ]]'

# firings of alert $1 up to last_hour (an hour boundary may pass while the test runs: later
# hours are the clock's next work, not this test's)
fired() { sql "SELECT coalesce(string_agg(to_char(bucket AT TIME ZONE 'UTC', 'DD HH24:MI') || '=' || value, ' ' ORDER BY bucket), '') FROM alert_events WHERE alert_id = $1 AND bucket <= '$(iso "$last_hour")'"; }
hours_from() { # first_ms last_ms value_in_first value_in_rest
    local out="" t
    for ((t = $1; t <= $2; t += H)); do
        out+="$(date -u -d "@$((t / 1000))" '+%d %H:%M')=$([[ $t == "$1" ]] && echo "$3" || echo "$4") "
    done
    echo "${out% }"
}
# hour H0 - H (no events) .. last_hour: '= 0' fires for every empty hour, not for the hour of 3
want_zero=$(hours_from $((H0 - H)) "$last_hour" 0 0 | sed "s/$(date -u -d "@$((H0 / 1000))" '+%d %H:%M')=0 //")
check "count = 0 fires for every empty hour (and not for the hour with 3 views)" \
    test "$(fired 1)" = "$want_zero"
check "count < 5 fires for every hour, the one with 3 views included (value 3)" \
    test "$(fired 2)" = "$(hours_from $((H0 - H)) "$last_hour" 0 0 | sed "s/$(date -u -d "@$((H0 / 1000))" '+%d %H:%M')=0/$(date -u -d "@$((H0 / 1000))" '+%d %H:%M')=3/")"
check "sum <= 0 fires for the empty hours, not for the hour that summed 10" \
    test "$(fired 3)" = "$want_zero"
check "avg of nothing has no value: only the hour with a purchase (avg 10) fires" \
    test "$(fired 4)" = "$(date -u -d "@$((H0 / 1000))" '+%d %H:%M')=10"
check "buckets before the alert existed are not evaluated ('late' fires from the hour of its updated_at on)" \
    test "$(fired 7)" = "$(hours_from $((H0 + 2 * H)) "$last_hour" 0 0)"
check "a paused alert is not evaluated" test "$(fired 8)" = ""
# the Kolkata day of D3 runs 18:30 UTC the day before to 18:30 UTC: 2 signups (10:00, 10:01
# UTC); the 20:00 UTC one belongs to the next Kolkata day. The UTC day of D3 has 3.
K_START=$((D3 - D + 18 * H + 30 * 60000))
check "the Kolkata daily alert fires once, on the local day (bucket 18:30 UTC, value 2)" \
    wait_eval 30 '[[ $(fired 5) == "'"$(date -u -d "@$((K_START / 1000))" '+%d %H:%M')"'=2" ]]'
check "the UTC daily alert sums the UTC day (3)" \
    test "$(fired 6)" = "$(date -u -d "@$((D3 / 1000))" '+%d %H:%M')=3"
check "each bucket fired once per alert (row-driven closer and clock agree)" \
    test "$(sql "SELECT count(*) FROM (SELECT alert_id, bucket FROM alert_events GROUP BY 1, 2 HAVING count(*) > 1) x")" = 0

# resume: evaluation starts over from the bucket of the resumption, not from when it paused
before=$(sql "SELECT count(*) FROM alert_events WHERE alert_id = 8")
sql "UPDATE alerts SET enabled = true, evaluated_until = NULL, updated_at = now() WHERE id = 8" >/dev/null
sleep 3
check "a resumed alert does not fire for the hours it was paused" \
    test "$(sql "SELECT count(*) FROM alert_events WHERE alert_id = 8")" = "$before"
check "messages on ea:alerts are not needed for the record: alert_events has them" \
    test "$(sql "SELECT count(*) FROM alert_events WHERE tenant_id = 'tc'")" -gt 0
