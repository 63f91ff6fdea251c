#!/usr/bin/env bash
# worker_timezones.test.sh — issue 4 "Time zones": daily series in UTC, Asia/Kolkata (+5:30),
# Asia/Kathmandu (+5:45) and America/New_York across a DST change equal the truth, through the
# one function the query layer calls (ea_metric_series, migration 0006). Hourly series in a :45
# zone and across the New York change too, and bad arguments get clear errors.
#
# Events are produced to Kafka in the docs/event-format.md format (the ingest API refuses event
# times older than retention, and the last New York DST change may be months old), around the
# most recent New York change; a private stack (worker_stack.sh) keeps 400 days of every table.
# The worker counts them; worker_tz.mjs computes the truth with Intl.DateTimeFormat.
#
# Env: BIN_DIR (build/bin), TZ_TEST_EVENTS (4000), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_timezones
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"
N=${TZ_TEST_EVENTS:-4000}

ws_start
# the change may be up to a year old: keep every table that long in this private database
sql "UPDATE partition_classes SET retention_days = 400" >/dev/null
sql "INSERT INTO tenants (id, name) VALUES ('tz1', 'Time zones');
     INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property, dimensions)
     VALUES ('tz1', 'revenue', 'purchase', 'sum', 'amount', '{country}'),
            ('tz1', 'buyers', 'purchase', 'unique', 'user', '{}')" >/dev/null ||
    { bad "metric definitions insert"; exit 1; }

NOW=$(date +%s%3N)
node "$ROOT/tests/integration/worker_tz.mjs" gen "$TMP/gen" "$NOW" "$N" 7 >"$TMP/gen.json" ||
    { bad "generator runs"; exit 1; }
say "generated: $(cat "$TMP/gen.json")"
meta() { node -e "console.log(new Date(JSON.parse(require('fs').readFileSync('$TMP/gen/meta.json'))['$1']).toISOString())"; }
FROM=$(meta from)
TO=$(meta to)
HFROM=$(meta hfrom)
HTO=$(meta hto)

# events up to a year old: counted under a raw retention of 400 days (the same rule as ingest's
# too_old, lib/rollup ea_rollup_too_old), matching the partition classes above
ws_produce "$TMP/gen/events.txt"
W_PORT=$(free_port)
ws_worker w1 "$W_PORT" RAW_RETENTION_DAYS=400
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "worker commits all $produced messages" wait_until 120 ws_caught_up
check "no event was dead-lettered" test "$(sql 'SELECT count(*) FROM dead_letters')" = 0
check "daily rollups hold all $N events" \
    test "$(sql "SELECT sum(cnt) FROM rollups_daily WHERE metric = 'revenue'")" = "$N"

series() { # zone gran from to -> TSV bucket_ms, dims, cnt, sum
    sql "SELECT (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum
         FROM ea_metric_series('tz1', 'revenue', '$3', '$4', '$2', '$1', '{country}', NULL)" |
        tr '|' '\t'
}
for zone in UTC Asia/Kolkata Asia/Kathmandu America/New_York; do
    series "$zone" DAY "$FROM" "$TO" >"$TMP/day.tsv"
    if out=$(node "$ROOT/tests/integration/worker_tz.mjs" check "$TMP/gen" "$zone" DAY "$TMP/day.tsv"); then
        ok "daily series in $zone equal the truth ($(tail -1 <<<"$out"))"
    else
        bad "daily series in $zone equal the truth"
        sed 's/^/#   /' <<<"$out"
    fi
    [[ $zone == America/New_York ]] && check "the New York DST day is 23 or 25 hours long" \
        grep -Eq 'bucket lengths \(h\) (23,24|24,25)' <<<"$out"
done
for zone in Asia/Kathmandu America/New_York Asia/Kolkata; do
    series "$zone" HOUR "$HFROM" "$HTO" >"$TMP/hour.tsv"
    if out=$(node "$ROOT/tests/integration/worker_tz.mjs" check "$TMP/gen" "$zone" HOUR "$TMP/hour.tsv"); then
        ok "hourly series in $zone across the change equal the truth ($(tail -1 <<<"$out"))"
    else
        bad "hourly series in $zone equal the truth"
        sed 's/^/#   /' <<<"$out"
    fi
done

# totals, filters, unique sketches
check "a filter keeps only the matching dimension values" test "$(sql "
    SELECT count(*) FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'Asia/Kolkata', '{country}',
                                          '{\"country\": [\"de\", \"np\"]}') WHERE dims->>'country' NOT IN ('de', 'np')")" = 0
check "without group_by every bucket is one row with dims {} and the same total" test "$(sql "
    SELECT (SELECT sum(cnt) FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'Asia/Kathmandu', '{}', NULL) WHERE dims = '{}')
         = (SELECT sum(cnt) FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'Asia/Kathmandu', '{country}', NULL))")" = t
check "unique metric rows carry their sketches (one per covered source row)" test "$(sql "
    SELECT bool_and(cardinality(hlls) >= 1 AND cnt > 0)
    FROM ea_metric_series('tz1', 'buyers', '$FROM', '$TO', 'DAY', 'Asia/Kathmandu', '{}', NULL)")" = t
check "buckets behind the watermark are final" test "$(sql "
    SELECT bool_and(final) FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'America/New_York', '{}', NULL)")" = t

# bad input: a clear error, never a guess
err_has() { # expected-substring sql
    local out
    out=$(sql "$2" 2>&1) && return 1
    grep -q "$1" <<<"$out" || { say "got: $out"; return 1; }
}
check "POSIX zone strings are refused" err_has 'is not an IANA zone name' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'UTC+5')"
check "unknown zones are refused" err_has 'unknown time zone "Mars/Olympus"' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'Mars/Olympus')"
check "granularity other than HOUR/DAY is refused" err_has 'is not HOUR or DAY' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'WEEK', 'UTC')"
check "from after to is refused" err_has 'is after to' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', '$TO', '$FROM', 'DAY', 'UTC')"
check "group_by a property that is not a dimension is refused" err_has 'is not a dimension of metric' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', '$FROM', '$TO', 'DAY', 'UTC', '{user}')"
check "a range past the 15-minute rollups' retention is refused for Kolkata days" err_has 'need rollups_15m' \
    "SELECT * FROM ea_metric_series('tz1', 'revenue', now() - interval '500 days', now(), 'DAY', 'Asia/Kolkata')"

check "worker exits 0 on SIGTERM" ws_term w1
