#!/usr/bin/env bash
# worker_timezones.test.sh — issue 4 "Time zones": daily series in UTC, Asia/Kolkata (+5:30),
# Asia/Kathmandu (+5:45) and America/New_York across a DST change equal the truth, through the
# one function the query layer calls (ea_metric_series, migration 0006). Hourly series in a :45
# zone and across the New York change too, and bad arguments get clear errors. graphql-api's series
# equal the function's across the change, in New York (answered from the hourly rows by series.c,
# not the function) and Kolkata.
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

series() { # zone gran from to [filter json] -> TSV bucket_ms, dims, cnt, sum
    local f=NULL
    [[ -n ${5:-} ]] && f="'$5'::jsonb"
    sql "SELECT (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, sum
         FROM ea_metric_series('tz1', 'revenue', '$3', '$4', '$2', '$1', '{country}', $f)" |
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

# the same series through graphql-api on this stack: New York's offsets are whole hours, so
# series.c answers its days by summing the hourly rows of each local day and its hours as UTC
# hours, without ea_metric_series; across the DST change both give the same buckets and values
# (Kolkata, a :30 zone, still goes through the function: the control)
G_PORT=$(free_port)
KEY=$(DATABASE_URL="$DATABASE_URL" "$BIN_DIR/analytics-admin" key create --tenant tz1 --scopes read | tail -n 1)
env DATABASE_URL="$DATABASE_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" GRAPHQL_HOST=127.0.0.1 \
    GRAPHQL_PORT="$G_PORT" GRAPHQL_REUSEPORT=false LOG_LEVEL=warn "$BIN_DIR/graphql-api" \
    >>"$TMP/graphql-api.log" 2>&1 &
WPID[graphql-api]=$!
check "graphql-api answers /healthz" wait_until 20 curl -fs -o /dev/null "http://127.0.0.1:$G_PORT/healthz"
same_as_function() { # zone gran from to [filter json]: graphql-api's points = ea_metric_series' rows
    series "$1" "$2" "$3" "$4" "${5:-}" >"$TMP/fn.tsv"
    GQL="http://127.0.0.1:$G_PORT/graphql" KEY="$KEY" FN="$TMP/fn.tsv" Z="$1" G="$2" S="$3" E="$4" F="${5:-null}" node -e '
      const fs = require("fs"), env = process.env;
      const canon = (d) => JSON.stringify(d, Object.keys(d).sort());
      const want = fs.readFileSync(env.FN, "utf8").trim().split("\n").filter(Boolean).map((l) => {
        const [b, d, , s] = l.split("\t");
        return [`${b}|${canon(JSON.parse(d))}`, Number(s)];
      });
      const query = `query($z: String, $g: Granularity, $s: DateTime!, $e: DateTime!, $f: JSON) {
        metrics(tenant: "tz1", name: "revenue", startTime: $s, endTime: $e, granularity: $g,
                timezone: $z, groupBy: ["country"], filter: $f) { timestamp value dimensions } }`;
      fetch(env.GQL, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${env.KEY}` },
        body: JSON.stringify({ query, variables: { z: env.Z, g: env.G, s: env.S, e: env.E, f: JSON.parse(env.F) } }) })
        .then((r) => r.json()).then((j) => {
          if (j.errors) throw new Error(JSON.stringify(j.errors));
          const got = new Map(j.data.metrics.map((p) => [`${Date.parse(p.timestamp)}|${canon(p.dimensions)}`, p.value]));
          if (want.length === 0) throw new Error("the function answers nothing: nothing to compare");
          if (got.size !== want.length) throw new Error(`${got.size} points, the function has ${want.length} rows`);
          for (const [k, v] of want)
            if (!got.has(k) || Math.abs(got.get(k) - v) > 1e-9 * Math.max(1, Math.abs(v))) throw new Error(`${k}: ${got.get(k)} vs ${v}`);
          console.log(`${want.length} buckets x groups equal`);
        }).catch((e) => { console.error(e.message); process.exit(1); });'
}
for zone in America/New_York Asia/Kolkata; do
    check "graphql-api's daily series in $zone equal ea_metric_series' across the DST change" \
        same_as_function "$zone" DAY "$FROM" "$TO"
    check "graphql-api's hourly series in $zone equal ea_metric_series' across the DST change" \
        same_as_function "$zone" HOUR "$HFROM" "$HTO"
done
# rows written before a dimension was added lack its key, and a filter {key: null} finds them on
# every path (ea_dims_match: missing is null), not only through ea_metric_series: one such hour
# (and its quarter hours, which Kolkata reads) in the middle of the range
H1=$(sql "SELECT date_trunc('hour', '$HFROM'::timestamptz + interval '2 hours')")
sql "INSERT INTO rollups_hourly (tenant_id, metric, bucket, dims, cnt, sum, revision, closed)
     VALUES ('tz1', 'revenue', '$H1', '{}', 4, 40, 0, true);
     INSERT INTO rollups_15m (tenant_id, metric, bucket, dims, cnt, sum, revision, closed)
     SELECT 'tz1', 'revenue', '$H1'::timestamptz + q * interval '15 minutes', '{}', 1, 10, 0, true
     FROM generate_series(0, 3) q" >/dev/null || bad "rows without the country key inserted"
for zone in America/New_York Asia/Kolkata; do
    check "graphql-api's daily series in $zone with filter {country: null} equal ea_metric_series'" \
        same_as_function "$zone" DAY "$FROM" "$TO" '{"country": null}'
    check "graphql-api's hourly series in $zone with filter {country: null} equal ea_metric_series'" \
        same_as_function "$zone" HOUR "$HFROM" "$HTO" '{"country": null}'
done
check "and in UTC hours" same_as_function UTC HOUR "$HFROM" "$HTO" '{"country": null}'

check "worker exits 0 on SIGTERM" ws_term w1
