#!/usr/bin/env bash
# graphql.bench.sh — graphql-api query benchmarks on one tenant with 10M events' worth of rollups
# (seeded directly in SQL: 720 hours x 20 pages x 10 countries = 144,000 hourly rows whose counts
# add up to exactly 10,000,000, plus the matching daily rows) and 1,000,000 raw events of the last
# 7 days (also SQL), next to a bare h2o server measured in the same run. Measures, asserts nothing
# (it checks that every body answers without errors and that the totals are the seeded ones); the
# machine is shared, so read the ratios to bare h2o rather than the absolute figures.
#
# Scenarios (wrk, keep-alive, closed loop):
#   cached c1 / c8 / c64       24 h HOUR groupBy page (480 points) answered from the caches:
#                              latency at 1 connection, p99 at 8 (next to bare h2o's), req/s at 64 (ratio to bare h2o)
#   cached-small c64           24 h HOUR total (24 points)
#   trivial c64                { __typename } req/s next to bare h2o at 64 connections
#   db-miss, db-miss-day, db-miss-30d-hourly, db-miss-30d-hourly-zone, db-miss-30d-daily-zone
#   (the same 30 days in Europe/Berlin, as the dashboard asks in the browser's zone), dashboard-db
#                              the same queries on a second graphql-api with CACHE_TTL_*=0: every
#                              answer comes from PostgreSQL (1 connection: the service time)
#   raw-7d-breakdown           7 days HOUR groupBy plan (not a dimension: 1M raw events), cache off
#   live-30d                   the 30-day DAY query repeated (1 connection) on the caching process
#                              while ea-loadgen sends 1000 events/s into the same metric: how many
#                              answers were X-Cache HIT, and after the worker drained, whether the
#                              cached answer equals the one PostgreSQL gives (the truth)
# "cache off" is a second graphql-api process with CACHE_TTL_HOUR_S=CACHE_TTL_DAY_S=0 (the
# document cache still works, as in production).
#
# Env: with DATABASE_URL and REDIS_URL set (bench/run.sh exports its stack's), uses them;
# otherwise starts a private stack (scripts/stack.sh) under .data/gqlbench and stops it after.
# BIN_DIR (build/bin), GQL_BIN (the graphql-api to measure; default $BIN_DIR/graphql-api — set it
# to an older build for a before/after in one run), BARE_URL (else a bare-h2o is started),
# GQL_BENCH_PORT (14721: this and the next 15 ports), GQL_BENCH_SECONDS (10 per scenario),
# GQL_BENCH_RAW_EVENTS (1000000), GQL_BENCH_LIVE_RATE (1000), BENCH_RESULTS (rows for run.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
[[ $BIN_DIR == /* ]] || BIN_DIR="$ROOT/$BIN_DIR"
GQL_BIN=${GQL_BIN:-$BIN_DIR/graphql-api}
PORT0=${GQL_BENCH_PORT:-14721}
SECS=${GQL_BENCH_SECONDS:-10}
RAW_EVENTS=${GQL_BENCH_RAW_EVENTS:-1000000}
LIVE_RATE=${GQL_BENCH_LIVE_RATE:-1000}
TENANT=bench-query
TMP=$(mktemp -d /tmp/ea-gql-bench.XXXXXX)
PIDS=()
OWN_STACK=0

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if ((OWN_STACK)); then
        (cd "$ROOT" && bash scripts/stack.sh down >/dev/null 2>&1) || true
    fi
    rm -rf -- "$TMP"
}
trap cleanup EXIT

if [[ -z ${DATABASE_URL:-} || -z ${REDIS_URL:-} ]]; then
    export STACK_DIR="$ROOT/.data/gqlbench" BIN_DIR
    export PG_PORT=$((PORT0 + 10)) REDIS_PORT=$((PORT0 + 11)) INGEST_PORT=$((PORT0 + 12))
    export GRAPHQL_PORT=$((PORT0 + 13)) WORKER_PORT=$((PORT0 + 14)) OIDC_DEV_PORT=$((PORT0 + 15))
    export SAMPLE_DAYS=0
    OWN_STACK=1
    (cd "$ROOT" && bash scripts/stack.sh up) >"$TMP/stack.log" 2>&1 ||
        { cat "$TMP/stack.log" >&2; echo "graphql.bench: could not start a stack" >&2; exit 1; }
    # shellcheck source=/dev/null
    source "$STACK_DIR/stack.env"
fi
INGEST_URL="http://127.0.0.1:${INGEST_PORT:-3001}"

echo "graphql.bench: seeding 30 days of hourly rollups (10,000,000 events) and $RAW_EVENTS raw events (7 days) for $TENANT"
DAY0=$(date -u -d "$(date -u +%F) -30 days" +%FT00:00:00Z)
RAW0=$(date -u -d "$(date -u +%F) -7 days" +%FT00:00:00Z)
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -v day0="$DAY0" -v raw0="$RAW0" -v tenant="$TENANT" \
    -v nraw="$RAW_EVENTS" >/dev/null <<'SQL'
SELECT ea_partitions_maintain(32);
INSERT INTO tenants (id, name) VALUES (:'tenant', 'GraphQL benchmark') ON CONFLICT DO NOTHING;
INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, dimensions)
VALUES (:'tenant', 'page_views', 'page_view', 'count', '{page,country}') ON CONFLICT DO NOTHING;
DELETE FROM rollups_hourly WHERE tenant_id = :'tenant';
DELETE FROM rollups_daily WHERE tenant_id = :'tenant';
DELETE FROM rollup_totals_hourly WHERE tenant_id = :'tenant';
DELETE FROM rollup_totals_daily WHERE tenant_id = :'tenant';
DELETE FROM raw_events WHERE tenant_id = :'tenant';
-- vacuumed before the inserts, so they reuse the space the deletes freed: otherwise every run
-- (make bench reuses its data directory) adds a data set's worth of empty pages that the
-- measured scans read too (42,000 pages for 1M raw events instead of 21,000); a tenant's real
-- tables are insert-only and lose whole partitions, never rows
VACUUM rollups_hourly;
VACUUM rollups_daily;
VACUUM raw_events;
-- row i (0..143999) counts 69 events, the first 64,000 rows one more: 10,000,000 in total
INSERT INTO rollups_hourly (tenant_id, metric, bucket, dims, cnt, revision, closed)
SELECT :'tenant', 'page_views', :'day0'::timestamptz + make_interval(hours => h),
       jsonb_build_object('page', '/p' || p, 'country', 'c' || c),
       69 + CASE WHEN h * 200 + p * 10 + c < 64000 THEN 1 ELSE 0 END, 0, true
FROM generate_series(0, 719) h, generate_series(0, 19) p, generate_series(0, 9) c;
INSERT INTO rollups_daily (tenant_id, metric, bucket, dims, cnt, revision, closed)
SELECT tenant_id, metric, date_trunc('day', bucket), dims, sum(cnt), 0, true
FROM rollups_hourly WHERE tenant_id = :'tenant' GROUP BY 1, 2, 3, 4;
-- the bucket totals the worker keeps beside the rows (migration 0016), as it would have written
INSERT INTO rollup_totals_hourly (tenant_id, metric, bucket, cnt, sum, min, max, revision)
SELECT tenant_id, metric, bucket, sum(cnt), sum(sum), min(min), max(max), max(revision)
FROM rollups_hourly WHERE tenant_id = :'tenant' GROUP BY 1, 2, 3;
INSERT INTO rollup_totals_daily (tenant_id, metric, bucket, cnt, sum, min, max, revision)
SELECT tenant_id, metric, bucket, sum(cnt), sum(sum), min(min), max(max), max(revision)
FROM rollups_daily WHERE tenant_id = :'tenant' GROUP BY 1, 2, 3;
-- raw events of page_view spread evenly over the last 7 days (what breakdowns by a property
-- that is not a dimension read); they are not in the rollups above, which stand for history
INSERT INTO raw_events (tenant_id, event_id, event_name, event_time, received_at, properties,
                        kafka_partition, kafka_offset)
SELECT :'tenant', 'raw-' || i, 'page_view',
       :'raw0'::timestamptz + make_interval(secs => (i * (7 * 86400.0 / :nraw))),
       now(), jsonb_build_object('page', '/p' || (i % 20), 'country', 'c' || (i % 10),
                                 'plan', (ARRAY['free', 'pro', 'team', 'enterprise'])[1 + i % 4],
                                 'user', 'u' || (i % 5000)),
       0, i
FROM generate_series(0, :nraw - 1) i;
-- VACUUM, not only ANALYZE: sets the visibility map of the new rows now, not autovacuum during
-- the measurements
VACUUM (ANALYZE) rollups_hourly;
VACUUM (ANALYZE) rollups_daily;
VACUUM (ANALYZE) rollup_totals_hourly;
VACUUM (ANALYZE) rollup_totals_daily;
VACUUM (ANALYZE) raw_events;
SQL
TOTAL=$(psql "$DATABASE_URL" -tA -v tenant="$TENANT" <<'SQL'
SELECT sum(cnt) FROM rollups_hourly WHERE tenant_id = :'tenant';
SQL
)
echo "graphql.bench: seeded $TOTAL events' worth of hourly rows"
# A breakdown by a property scans every tenant's raw events of its days (raw_events has no tenant
# index: docs/ARCHITECTURE.md "Breakdowns by any property"), so the figure depends on what else
# the bench's data directory holds, e.g. the raw events of earlier worker benches: say it
RAWALL=$(psql "$DATABASE_URL" -tA -v raw0="$RAW0" <<'SQL'
SELECT count(*) FROM raw_events WHERE event_time >= :'raw0'::timestamptz;
SQL
)
echo "graphql.bench: raw events in the breakdown's days: $RAWALL (all tenants; $RAW_EVENTS of them $TENANT's)"
KEY=$("$BIN_DIR/analytics-admin" key create --tenant "$TENANT" --scopes ingest,read --rate-limit 1000000000 | tail -n 1)

start_api() { # port, extra env...
    local port=$1
    shift
    env GRAPHQL_PORT="$port" GRAPHQL_REUSEPORT=false LOG_LEVEL=warn "$@" "$GQL_BIN" \
        >>"$TMP/graphql-api.$port.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "graphql.bench: graphql-api on port $port did not start" >&2
    cat "$TMP/graphql-api.$port.log" >&2
    exit 1
}
CACHED_PORT=$PORT0
NOCACHE_PORT=$((PORT0 + 1))
start_api "$CACHED_PORT"
start_api "$NOCACHE_PORT" CACHE_TTL_HOUR_S=0 CACHE_TTL_DAY_S=0
if [[ -z ${BARE_URL:-} ]]; then
    "$BIN_DIR/bare-h2o" $((PORT0 + 2)) >/dev/null 2>&1 &
    PIDS+=($!)
    BARE_URL="http://127.0.0.1:$((PORT0 + 2))/"
    sleep 0.3
fi

# request bodies
END=$(date -u -d "$DAY0 +30 days -1 second" +%FT%TZ)
LAST24=$(date -u -d "$DAY0 +29 days" +%FT%TZ)
NOW=$(date -u +%FT%TZ)
Q='query($s: DateTime!, $e: DateTime!, $g: [String!], $gran: Granularity, $tz: String) { metrics(tenant: \"'$TENANT'\", name: \"page_views\", startTime: $s, endTime: $e, groupBy: $g, granularity: $gran, timezone: $tz) { timestamp value dimensions revision final } }'
printf '{"query":"%s","variables":{"s":"%s","e":"%s","g":["page"],"gran":"HOUR"}}' "$Q" "$LAST24" "$END" >"$TMP/cached.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"HOUR"}}' "$Q" "$DAY0" "$END" >"$TMP/miss.json"
# the same in a time zone (the dashboard asks in the browser's): whole-hour offsets, so hourly rows
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"HOUR","tz":"Europe/Berlin"}}' "$Q" "$DAY0" "$END" >"$TMP/misszone.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"DAY","tz":"Europe/Berlin"}}' "$Q" "$DAY0" "$END" >"$TMP/missdayzone.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"HOUR"}}' "$Q" "$LAST24" "$END" >"$TMP/small.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","g":["page"],"gran":"DAY"}}' "$Q" "$DAY0" "$END" >"$TMP/missday.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","g":["plan"],"gran":"HOUR"}}' "$Q" "$RAW0" "$NOW" >"$TMP/raw.json"
# the live query: 30 days of DAY buckets up to now (today open, events flowing into it)
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"DAY"}}' "$Q" "$DAY0" "$NOW" >"$TMP/live.json"
FIELDS=""
for i in 0 1 2 3 4 5 6 7 8 9; do
    case $((i % 5)) in
    0) args="startTime: \\\"$LAST24\\\", endTime: \\\"$END\\\", groupBy: [\\\"page\\\"]" ;;
    1) args="startTime: \\\"$DAY0\\\", endTime: \\\"$END\\\", granularity: DAY" ;;
    2) args="startTime: \\\"$DAY0\\\", endTime: \\\"$END\\\", granularity: DAY, groupBy: [\\\"country\\\"]" ;;
    3) args="startTime: \\\"$LAST24\\\", endTime: \\\"$END\\\", groupBy: [\\\"country\\\"], filter: {page: \\\"/p$i\\\"}" ;;
    4) args="startTime: \\\"$LAST24\\\", endTime: \\\"$END\\\", filter: {country: \\\"c$i\\\"}" ;;
    esac
    FIELDS+="m$i: metrics(tenant: \\\"$TENANT\\\", name: \\\"page_views\\\", $args) { timestamp value dimensions } "
done
printf '{"query":"{ %s}"}' "$FIELDS" >"$TMP/dashboard.json"
printf '{"query":"{ __typename }"}' >"$TMP/trivial.json"

ask() { # body port -> answer
    curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        --data-binary "@$TMP/$1.json" "http://127.0.0.1:$2/graphql"
}
# sanitiy: every body answers without errors, and the totals are the seeded ones
RAW_OK=1
for b in cached small miss misszone missdayzone missday dashboard raw; do
    out=$(ask "$b" "$NOCACHE_PORT")
    if [[ $(jq 'has("errors")' <<<"$out") != false ]]; then
        if [[ $b == raw ]]; then # a build without breakdowns by any property (before issue 14)
            echo "graphql.bench: raw breakdown not supported by this build: $(head -c 300 <<<"$out")"
            RAW_OK=0
            continue
        fi
        echo "graphql.bench: $b answered with errors: $(head -c 600 <<<"$out")" >&2
        exit 1
    fi
done
SUM=$(ask miss "$NOCACHE_PORT" | jq '[.data.metrics[].value] | add')
echo "graphql.bench: 30-day HOUR series adds up to $SUM (seeded $TOTAL); in Europe/Berlin to $(ask misszone "$NOCACHE_PORT" | jq '[.data.metrics[].value] | add')"
if ((RAW_OK)); then
    RAWSUM=$(ask raw "$NOCACHE_PORT" | jq '[.data.metrics[].value] | add')
    echo "graphql.bench: 7-day raw breakdown by plan adds up to $RAWSUM (seeded $RAW_EVENTS)"
fi

# wrk: one JSON line per run with req/s and percentiles; counts X-Cache values when asked
# response() runs in each wrk thread's Lua state and done() in the main one: the counters are
# globals of the thread states, summed through the threads setup() kept
cat >"$TMP/lat.lua" <<'LUA'
local body_file, key = os.getenv("GQL_BENCH_BODY"), os.getenv("GQL_BENCH_KEY")
local f = assert(io.open(body_file)); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
local threads = {}
setup = function(thread) table.insert(threads, thread) end
bad, hit, partial, miss = 0, 0, 0, 0
response = function(status, headers)
  if status ~= 200 then bad = bad + 1 end
  local x = headers["X-Cache"] or headers["x-cache"]
  if x == "HIT" then hit = hit + 1 elseif x == "PARTIAL" then partial = partial + 1 elseif x == "MISS" then miss = miss + 1 end
end
done = function(summary, latency)
  local b, h, p, m = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    b, h, p, m = b + t:get("bad"), h + t:get("hit"), p + t:get("partial"), m + t:get("miss")
  end
  io.write(string.format('{"rps":%.1f,"n":%d,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"errors":%d,"hit":%d,"partial":%d,"miss":%d}\n',
    summary.requests / (summary.duration / 1e6), summary.requests, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status + b, h, p, m))
end
LUA
# the response() hook makes wrk parse headers (slower per request): only where they are counted
cat >"$TMP/plain.lua" <<'LUA'
local body_file, key = os.getenv("GQL_BENCH_BODY"), os.getenv("GQL_BENCH_KEY")
local f = assert(io.open(body_file)); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
done = function(summary, latency)
  io.write(string.format('{"rps":%.1f,"n":%d,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"errors":%d}\n',
    summary.requests / (summary.duration / 1e6), summary.requests, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status))
end
LUA
# --timeout 30s: wrk's default (2 s) would count a slow answer as an error and leave it out of the
# percentiles (the raw breakdown took 2-10 s on a loaded machine)
run() { # script body port connections [seconds] -> one JSON line
    GQL_BENCH_BODY="$TMP/$2.json" GQL_BENCH_KEY="$KEY" \
        wrk -t1 -c"$4" -d"${5:-$SECS}"s --timeout 30s -s "$TMP/$1.lua" "http://127.0.0.1:$3/graphql" 2>/dev/null | tail -n 1
}
# bare h2o's p99 too: on a shared machine the p99 goal at 8 connections reads against it
cat >"$TMP/bare.lua" <<'LUA'
done = function(summary, latency)
  io.write(string.format('%.1f %.3f\n', summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000))
end
LUA
bare() { # connections -> "req/s p99_ms" of bare h2o (GET, its fixed answer)
    wrk -t1 -c"$1" -d"$SECS"s -s "$TMP/bare.lua" "$BARE_URL" 2>/dev/null | tail -n 1
}
# warm the caches (and the document caches of both processes)
for b in cached small dashboard live; do
    for port in "$CACHED_PORT" "$NOCACHE_PORT"; do ask "$b" "$port" >/dev/null; done
done
HIT=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data-binary "@$TMP/cached.json" "http://127.0.0.1:$CACHED_PORT/graphql" | tr -d '\r' |
    sed -n 's/^x-cache: //Ip')
echo "graphql.bench: warm cache answers X-Cache: $HIT"

declare -A R
R[cached-c1]=$(run lat cached "$CACHED_PORT" 1)
R[cached-c8]=$(run plain cached "$CACHED_PORT" 8)
R[cached-c64]=$(run plain cached "$CACHED_PORT" 64)
R[cached-small-c64]=$(run plain small "$CACHED_PORT" 64)
R[trivial-c64]=$(run plain trivial "$CACHED_PORT" 64)
read -r BARE64 BARE64_P99 <<<"$(bare 64)"
read -r BARE8 BARE8_P99 <<<"$(bare 8)"
R[dashboard-cached]=$(run lat dashboard "$CACHED_PORT" 1)
R[db-miss]=$(run lat cached "$NOCACHE_PORT" 1)
R[db-miss-30d-hourly]=$(run lat miss "$NOCACHE_PORT" 1)
R[db-miss-30d-hourly-zone]=$(run lat misszone "$NOCACHE_PORT" 1)
R[db-miss-30d-daily-zone]=$(run lat missdayzone "$NOCACHE_PORT" 1)
R[db-miss-day]=$(run lat missday "$NOCACHE_PORT" 1)
R[dashboard-db]=$(run lat dashboard "$NOCACHE_PORT" 1)
((RAW_OK)) && R[raw-7d-breakdown]=$(run lat raw "$NOCACHE_PORT" 1 $((SECS * 2)))

# live: 1000 events/s into page_view (the metric's event) while the 30-day query repeats
LIVE_OK=0
if [[ -x $BIN_DIR/ea-loadgen ]]; then
    printf '{"event":"page_view","page":"/p1","country":"c1","event_id":"{{uuid}}","timestamp":{{now_ms}}}' >"$TMP/event.json"
    "$BIN_DIR/ea-loadgen" --url "$INGEST_URL/ingest" --method POST --rate "$LIVE_RATE" --duration $((SECS + 4)) \
        --connections 32 --header "Authorization: Bearer $KEY" --header 'Content-Type: application/json' \
        --body-file "$TMP/event.json" --json-out "$TMP/live-ingest.json" >/dev/null 2>&1 &
    LG=$!
    sleep 2
    R[live-30d]=$(run lat live "$CACHED_PORT" 1)
    wait "$LG" || true
    # the worker drains; then the cached answer and PostgreSQL's must agree
    for _ in $(seq 60); do
        a=$(ask live "$CACHED_PORT" | jq -c '[.data.metrics[] | [.timestamp, .value]]')
        b=$(ask live "$NOCACHE_PORT" | jq -c '[.data.metrics[] | [.timestamp, .value]]')
        [[ $a == "$b" ]] && { LIVE_OK=1; break; }
        sleep 0.5
    done
    SENT=$(jq -r '"\(.ok) of \(.sent)"' "$TMP/live-ingest.json" 2>/dev/null || echo '?')
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
SCEN="cached-c1 cached-c8 cached-c64 cached-small-c64 trivial-c64 dashboard-cached db-miss db-miss-day db-miss-30d-hourly db-miss-30d-hourly-zone db-miss-30d-daily-zone dashboard-db raw-7d-breakdown live-30d"
printf '\n%-20s %9s %9s %9s %9s %9s %7s %7s\n' scenario "req/s" "requests" "p50 ms" "p95 ms" "p99 ms" errors ratio
for k in $SCEN; do
    [[ -n ${R[$k]:-} ]] || continue
    rps=$(jq -r .rps <<<"${R[$k]}")
    case $k in *c64) rt=$(ratio "$rps" "$BARE64") ;; *c8) rt=$(ratio "$rps" "$BARE8") ;; *) rt=- ;; esac
    jq -r --arg k "$k" --arg rt "$rt" '[$k, .rps, .n, .p50_ms, .p95_ms, .p99_ms, .errors, $rt] | @tsv' <<<"${R[$k]}" |
        awk -F'\t' '{printf "%-20s %9s %9s %9.3f %9.3f %9.3f %7s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
done
printf '%-20s %9s req/s at 64 connections (p99 %s ms), %s at 8 (p99 %s ms)\n' "bare h2o" "$BARE64" \
    "$BARE64_P99" "$BARE8" "$BARE8_P99"
if [[ -n ${R[live-30d]:-} ]]; then
    jq -r --arg sent "$SENT" --arg ok "$LIVE_OK" '"live-30d: \(.n) answers while ingest acknowledged \($sent) events: HIT \(.hit), PARTIAL \(.partial), MISS \(.miss) (\(if .n > 0 then (100 * .hit / .n | floor) else 0 end) % HIT); after the drain the cached answer \(if $ok == "1" then "equals" else "DIFFERS FROM" end) PostgreSQL'"'"'s"' <<<"${R[live-30d]}"
fi
echo "goals: cached c64 >= 0.3x bare, cached p99 <= 2 ms at c8, { __typename } >= 0.5x bare; db: 30 d hourly p95 <= 50 ms, 10-query dashboard p95 <= 100 ms, raw 7 d / 1M events p95 <= 500 ms; live >= 90 % HIT"

if [[ -n ${BENCH_RESULTS:-} ]]; then
    for k in $SCEN; do
        [[ -n ${R[$k]:-} ]] || continue
        jq -r --arg k "graphql $k" '[$k, .rps, "-", .p50_ms, .p95_ms, .p99_ms, .errors] | @tsv' \
            <<<"${R[$k]}" >>"$BENCH_RESULTS"
    done
fi
