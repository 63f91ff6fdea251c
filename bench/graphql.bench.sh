#!/usr/bin/env bash
# graphql.bench.sh — graphql-api query latency on 30 days of hourly rollups for one tenant with
# 10M events' worth of data (seeded directly in SQL: 720 hours x 20 pages x 10 countries =
# 144,000 hourly rows whose counts add up to exactly 10,000,000, plus the matching daily rows),
# next to a bare h2o server measured in the same run. Measures, asserts nothing; the machine is
# shared, so read the ratio to bare h2o rather than the absolute figures.
#
# Scenarios (wrk, one keep-alive connection, closed loop: the service time of one request):
#   cached        24 h HOUR groupBy page (480 points) from the Redis cache     p50/p99
#   cached-small  24 h HOUR total (24 points) from the Redis cache
#   db-miss       24 h HOUR groupBy page (480 points from 4,800 rows), cache off   p50/p95
#   db-miss-day   30 d DAY groupBy page (600 points from 6,000 daily rows), cache off
#   db-miss-30d-hourly  30 d HOUR total (720 points from 144,000 rows), cache off
#   dashboard     one request with 10 metrics fields (mixed ranges/groupings), cached and cache off
#   trivial       { __typename } closed loop (wrk) req/s next to bare h2o req/s
# "cache off" is a second graphql-api process with CACHE_TTL_HOUR_S=CACHE_TTL_DAY_S=0, so every
# answer comes from PostgreSQL (the document cache still works, as in production).
#
# Env: with DATABASE_URL and REDIS_URL set (bench/run.sh exports its stack's), uses them;
# otherwise starts a private stack (scripts/stack.sh) under .data/gqlbench and stops it after.
# BIN_DIR (build/bin), BARE_URL (else a bare-h2o is started), GQL_BENCH_PORT (14721: this and the
# next 15 ports), GQL_BENCH_SECONDS (10 per scenario), BENCH_RESULTS (rows appended for run.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
[[ $BIN_DIR == /* ]] || BIN_DIR="$ROOT/$BIN_DIR"
PORT0=${GQL_BENCH_PORT:-14721}
SECS=${GQL_BENCH_SECONDS:-10}
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
    OWN_STACK=1
    (cd "$ROOT" && bash scripts/stack.sh up) >"$TMP/stack.log" 2>&1 ||
        { cat "$TMP/stack.log" >&2; echo "graphql.bench: could not start a stack" >&2; exit 1; }
    # shellcheck source=/dev/null
    source "$STACK_DIR/stack.env"
fi

echo "graphql.bench: seeding 30 days of hourly rollups (10,000,000 events) for $TENANT"
DAY0=$(date -u -d "$(date -u +%F) -30 days" +%FT00:00:00Z)
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -v day0="$DAY0" -v tenant="$TENANT" >/dev/null <<'SQL'
SELECT ea_partitions_maintain(32);
INSERT INTO tenants (id, name) VALUES (:'tenant', 'GraphQL benchmark') ON CONFLICT DO NOTHING;
INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, dimensions)
VALUES (:'tenant', 'page_views', 'page_view', 'count', '{page,country}') ON CONFLICT DO NOTHING;
DELETE FROM rollups_hourly WHERE tenant_id = :'tenant';
DELETE FROM rollups_daily WHERE tenant_id = :'tenant';
-- row i (0..143999) counts 69 events, the first 64,000 rows one more: 10,000,000 in total
INSERT INTO rollups_hourly (tenant_id, metric, bucket, dims, cnt, revision, closed)
SELECT :'tenant', 'page_views', :'day0'::timestamptz + make_interval(hours => h),
       jsonb_build_object('page', '/p' || p, 'country', 'c' || c),
       69 + CASE WHEN h * 200 + p * 10 + c < 64000 THEN 1 ELSE 0 END, 0, true
FROM generate_series(0, 719) h, generate_series(0, 19) p, generate_series(0, 9) c;
INSERT INTO rollups_daily (tenant_id, metric, bucket, dims, cnt, revision, closed)
SELECT tenant_id, metric, date_trunc('day', bucket), dims, sum(cnt), 0, true
FROM rollups_hourly WHERE tenant_id = :'tenant' GROUP BY 1, 2, 3, 4;
ANALYZE rollups_hourly;
ANALYZE rollups_daily;
SQL
TOTAL=$(psql "$DATABASE_URL" -tA -v tenant="$TENANT" <<'SQL'
SELECT sum(cnt) FROM rollups_hourly WHERE tenant_id = :'tenant';
SQL
)
echo "graphql.bench: seeded $TOTAL events' worth of hourly rows"
KEY=$("$BIN_DIR/analytics-admin" key create --tenant "$TENANT" --scopes read --rate-limit 1000000000 | tail -n 1)

start_api() { # port, extra env...
    local port=$1
    shift
    env GRAPHQL_PORT="$port" GRAPHQL_REUSEPORT=false LOG_LEVEL=warn "$@" "$BIN_DIR/graphql-api" \
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
Q='query($s: DateTime!, $e: DateTime!, $g: [String!], $gran: Granularity) { metrics(tenant: \"'$TENANT'\", name: \"page_views\", startTime: $s, endTime: $e, groupBy: $g, granularity: $gran) { timestamp value dimensions revision final } }'
printf '{"query":"%s","variables":{"s":"%s","e":"%s","g":["page"],"gran":"HOUR"}}' "$Q" "$LAST24" "$END" >"$TMP/cached.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"HOUR"}}' "$Q" "$DAY0" "$END" >"$TMP/miss.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","gran":"HOUR"}}' "$Q" "$LAST24" "$END" >"$TMP/small.json"
printf '{"query":"%s","variables":{"s":"%s","e":"%s","g":["page"],"gran":"DAY"}}' "$Q" "$DAY0" "$END" >"$TMP/missday.json"
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

# sanity: every body answers without errors, and the totals are the seeded ones
for b in cached small miss missday dashboard; do
    out=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        --data-binary "@$TMP/$b.json" "http://127.0.0.1:$NOCACHE_PORT/graphql")
    if [[ $(jq 'has("errors")' <<<"$out") != false ]]; then
        echo "graphql.bench: $b answered with errors: $(head -c 600 <<<"$out")" >&2
        exit 1
    fi
done
SUM=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data-binary "@$TMP/miss.json" "http://127.0.0.1:$NOCACHE_PORT/graphql" |
    jq '[.data.metrics[].value] | add')
echo "graphql.bench: 30-day HOUR series adds up to $SUM (seeded $TOTAL)"

# One keep-alive connection, closed loop (wrk): each figure is the service time of one request
# at a time, so queueing on a shared machine does not hide in the percentiles. (ea-loadgen's
# open loop stalled on these 20-60 KB answers here; see the note in the report.)
cat >"$TMP/lat.lua" <<'LUA'
local body_file, key = os.getenv("GQL_BENCH_BODY"), os.getenv("GQL_BENCH_KEY")
local f = assert(io.open(body_file)); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
local bad = 0
response = function(status) if status ~= 200 then bad = bad + 1 end end
done = function(summary, latency)
  io.write(string.format('{"rps":%.1f,"n":%d,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"errors":%d}\n',
    summary.requests / (summary.duration / 1e6), summary.requests, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status + bad))
end
LUA
lat() { # body port -> one JSON line
    GQL_BENCH_BODY="$TMP/$1.json" GQL_BENCH_KEY="$KEY" \
        wrk -t1 -c1 -d"$SECS"s -s "$TMP/lat.lua" "http://127.0.0.1:$2/graphql" 2>/dev/null | tail -n 1
}
# warm the cache (and the document caches of both processes)
for b in cached dashboard; do
    for port in "$CACHED_PORT" "$NOCACHE_PORT"; do
        curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
            --data-binary "@$TMP/$b.json" "http://127.0.0.1:$port/graphql"
    done
done
HIT=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data-binary "@$TMP/cached.json" "http://127.0.0.1:$CACHED_PORT/graphql" | tr -d '\r' |
    sed -n 's/^x-cache: //Ip')
echo "graphql.bench: warm cache answers X-Cache: $HIT"

declare -A R
R[cached]=$(lat cached "$CACHED_PORT")
R[cached-small]=$(lat small "$CACHED_PORT")
R[db-miss]=$(lat cached "$NOCACHE_PORT")
R[db-miss-30d-hourly]=$(lat miss "$NOCACHE_PORT")
R[db-miss-day]=$(lat missday "$NOCACHE_PORT")
R[dashboard-cached]=$(lat dashboard "$CACHED_PORT")
R[dashboard-db]=$(lat dashboard "$NOCACHE_PORT")

# trivial query vs bare h2o, closed loop with 32 connections
cat >"$TMP/trivial.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
rps() { wrk -t1 -c32 -d"$SECS"s "$@" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
BARE_RPS=$(rps "$BARE_URL")
TRIVIAL_RPS=$(rps -s "$TMP/trivial.lua" "http://127.0.0.1:$CACHED_PORT/graphql")

SCEN="cached cached-small db-miss db-miss-day db-miss-30d-hourly dashboard-cached dashboard-db"
printf '\n%-20s %9s %9s %9s %9s %9s %7s\n' scenario "req/s" "requests" "p50 ms" "p95 ms" "p99 ms" errors
for k in $SCEN; do
    jq -r --arg k "$k" '[$k, .rps, .n, .p50_ms, .p95_ms, .p99_ms, .errors] | @tsv' <<<"${R[$k]}" |
        awk -F'\t' '{printf "%-20s %9s %9s %9.3f %9.3f %9.3f %7s\n", $1, $2, $3, $4, $5, $6, $7}'
done
RATIO=$(awk -v a="$TRIVIAL_RPS" -v b="$BARE_RPS" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
printf '%-20s %9s req/s   bare h2o %s req/s   ratio %s\n' trivial "$TRIVIAL_RPS" "$BARE_RPS" "$RATIO"
echo "targets: cached p99 <= 2 ms, database p95 <= 25 ms, 10-query dashboard p95 <= 100 ms"

if [[ -n ${BENCH_RESULTS:-} ]]; then
    for k in $SCEN; do
        jq -r --arg k "graphql $k" '[$k, .rps, "-", .p50_ms, .p95_ms, .p99_ms, .errors] | @tsv' \
            <<<"${R[$k]}" >>"$BENCH_RESULTS"
    done
    printf 'graphql trivial\t%s\t-\t-\t-\t-\n' "$TRIVIAL_RPS" >>"$BENCH_RESULTS"
fi
