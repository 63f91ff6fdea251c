#!/usr/bin/env bash
# bench/footprint.sh — what the seed's load costs the managed services, measured: the bytes it puts
# on Kafka, the PostgreSQL storage it grows, and the Redis commands it spends, per event and per
# query, extrapolated to a day and a 30-day month at the measured rate. docs/DEPLOY.md ("What it
# costs") is written from its output; provider prices are not (they are not reachable from here).
#
# Runs a fresh stack of its own (tests/load/lib.sh, on the BENCH_* ports of .env when set), then
# for FOOTPRINT_DURATION seconds (60): POST /ingest at FOOTPRINT_RATE req/s (1000, one event each,
# the load test's page_view with page/country/user) plus the load test's query mix (20 cached and
# 10 uncached `metrics` queries per second). Waits until the worker has caught up, then reads:
#   Kafka      the payload and key bytes of every message on the topic (kcat; uncompressed — the
#              producer sends lz4 batches, so the bytes on the wire are fewer)
#   PostgreSQL pg_total_relation_size per table class (raw events, rollups, dedup, rest), before
#              and after, with the rows the run added
#   Redis      INFO commandstats before and after (every command the services sent)
# Env: FOOTPRINT_RATE, FOOTPRINT_DURATION, BIN_DIR. Not part of make test or make bench.
set -euo pipefail
export EA_SCRIPT=footprint
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
load_dotenv
export TEST_PG_PORT="${BENCH_PG_PORT:-${TEST_PG_PORT:-55433}}"
export TEST_REDIS_PORT="${BENCH_REDIS_PORT:-${TEST_REDIS_PORT:-56380}}"
export TEST_INGEST_PORT="${BENCH_INGEST_PORT:-${TEST_INGEST_PORT:-13001}}"
export TEST_GRAPHQL_PORT="${BENCH_GRAPHQL_PORT:-${TEST_GRAPHQL_PORT:-13002}}"
export TEST_WORKER_PORT="${BENCH_WORKER_PORT:-${TEST_WORKER_PORT:-13003}}"
export OIDC_DEV_PORT="${BENCH_OIDC_PORT:-$((TEST_GRAPHQL_PORT + 2))}"
export STACK_DIR="$REPO_ROOT/.data/footprint"
source "$REPO_ROOT/tests/load/lib.sh"
export OIDC_DEV_PORT="${BENCH_OIDC_PORT:-$((GRAPHQL_PORT + 2))}"

RATE="${FOOTPRINT_RATE:-1000}"
DURATION="${FOOTPRINT_DURATION:-60}"
LOADGEN="$BIN_DIR/ea-loadgen"
TMP="$(mktemp -d)"
cleanup() {
    stack down >/dev/null 2>&1 || msg "warning: the footprint stack did not stop cleanly"
    rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

msg "starting a fresh stack in ${STACK_DIR#"$REPO_ROOT"/}"
stack_fresh || die "the stack did not start"
KEY="$(new_key acme-corp ingest,read 2000000000)"
[[ "$KEY" == ak_* ]] || die "could not create an API key"
rcli() { redis-cli -u "$REDIS_URL" --no-auth-warning "$@"; }

# one row per table class: raw events, rollups, dedup, everything else (bytes, with indexes)
pg_sizes() {
    sql "SELECT CASE WHEN c.relname LIKE 'raw_events%' THEN 'raw_events'
                     WHEN c.relname LIKE 'rollups%' THEN 'rollups'
                     WHEN c.relname LIKE '%dedup%' THEN 'dedup'
                     ELSE 'other' END AS class,
                sum(pg_total_relation_size(c.oid))
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')
          GROUP BY 1 ORDER BY 1"
}
redis_cmds() { rcli info commandstats | awk -F'[:,=]' '/^cmdstat_/ { s += $3 } END { print s + 0 }'; }
raw_rows() { sql "SELECT count(*) FROM raw_events"; }

now_ms="$(date +%s%3N)"
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ; }
FROM="$(iso $((now_ms - 86400000)))"
TO="$(iso $((now_ms + 3600000)))"
printf '[{"event":"page_view","event_id":"fp-{{uuid}}","timestamp":{{now_ms}},"page":"/pricing","country":"DE","user":"u{{seq}}"}]' \
    >"$TMP/ingest.json"
node -e '
const [tenant, from, to] = process.argv.slice(1);
const m = (extra) => `views: metrics(tenant: "${tenant}", name: "page_views", startTime: "${from}", endTime: "${to}"${extra}) { timestamp value }`;
require("fs").writeFileSync(process.argv[4] + "/cached.json", JSON.stringify({ query: `{ ${m(", groupBy: [\"page\"]")} }` }));
require("fs").writeFileSync(process.argv[4] + "/db.json", JSON.stringify({ query: `query($f: JSON) { ${m(", groupBy: [\"page\"], filter: $f")} }`, variables: { f: { page: "/miss-{{uuid}}" } } }));
' acme-corp "$FROM" "$TO" "$TMP"

pg0="$(pg_sizes)"
r0="$(redis_cmds)"
rows0="$(raw_rows)"
msg "running ${DURATION}s: ingest $RATE req/s, cached queries 20/s, uncached 10/s"
lg() { # name url rate conns body
    "$LOADGEN" --url "$2" --rate "$3" --duration "$DURATION" --connections "$4" --method POST \
        --header "Authorization: Bearer $KEY" --header 'Content-Type: application/json' \
        --body-file "$5" --timeout 30 --json-out "$TMP/$1.out.json" >/dev/null 2>"$TMP/$1.err" &
}
lg ingest "$INGEST_URL/ingest" "$RATE" 64 "$TMP/ingest.json"
p1=$!
lg cached "$GRAPHQL_URL" 20 4 "$TMP/cached.json"
p2=$!
lg db "$GRAPHQL_URL" 10 4 "$TMP/db.json"
p3=$!
wait "$p1" "$p2" "$p3" || die "ea-loadgen failed: $(cat "$TMP"/*.err | head -c 400)"
msg "waiting for the worker to catch up"
for ((i = 0; i < 600; i++)); do
    lag="$(consumer_lag)"
    [[ "$lag" == 0 ]] && break
    sleep 0.5
done
[[ "$lag" == 0 ]] || die "the worker did not catch up (lag $lag)"
sleep 2
pg1="$(pg_sizes)"
r1="$(redis_cmds)"
rows1="$(raw_rows)"
rcli info commandstats | grep '^cmdstat_' >"$TMP/cmdstats.txt"
timeout 120 kcat -C -b "$KAFKA_BROKERS" -t "${KAFKA_TOPIC:-events}" -o beginning -e -q \
    -f '%K\t%S\n' >"$TMP/kafka.tsv" 2>/dev/null || true

node - "$TMP" "$RATE" "$DURATION" "$rows0" "$rows1" "$r0" "$r1" "$pg0" "$pg1" <<'EOF'
const fs = require("fs");
const [dir, rate, dur, rows0, rows1, r0, r1, pg0, pg1] = process.argv.slice(2);
const js = (n) => JSON.parse(fs.readFileSync(`${dir}/${n}.out.json`, "utf8"));
const ing = js("ingest"), cq = js("cached"), dq = js("db");
const events = Number(rows1) - Number(rows0);
const kafka = fs.readFileSync(`${dir}/kafka.tsv`, "utf8").split("\n").filter((l) => l.includes("\t"))
  .map((l) => { const [k, s] = l.split("\t"); return Buffer.byteLength(k) + Number(s); });
const kbytes = kafka.reduce((a, b) => a + b, 0);
const parse = (t) => Object.fromEntries(t.split("\n").filter(Boolean).map((l) => { const [c, b] = l.split("|"); return [c, Number(b)]; }));
const a = parse(pg0), b = parse(pg1);
const classes = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
const req = ing.ok + cq.ok + dq.ok;
const cmds = Number(r1) - Number(r0);
const perDay = Number(rate) * 86400;
const fmt = (x) => x >= 1e9 ? (x / 1e9).toFixed(2) + " G" : x >= 1e6 ? (x / 1e6).toFixed(2) + " M" : x >= 1e3 ? (x / 1e3).toFixed(1) + " k" : x.toFixed(1) + " ";
console.log(`\nrun: ${dur} s, ingest ${ing.ok}/${ing.sent} ok (${ing.achieved_rate.toFixed(0)}/s), cached queries ${cq.ok}, uncached ${dq.ok}`);
console.log(`events stored by the worker: ${events}`);
console.log(`\nKafka: ${kafka.length} messages on the topic (every message since the stack started), ${fmt(kbytes)}B of keys + payloads`);
const perMsg = kafka.length ? kbytes / kafka.length : 0;
console.log(`  per event: ${perMsg.toFixed(0)} B uncompressed -> at ${rate}/s: ${fmt(perMsg * perDay)}B/day written, the same read by the worker; ${fmt(perMsg * perDay * 30)}B per 30 days`);
console.log(`\nPostgreSQL (bytes with indexes; growth during the run / events stored):`);
let total = 0;
for (const c of classes) {
  const d = (b[c] || 0) - (a[c] || 0);
  total += d;
  console.log(`  ${c.padEnd(11)} ${fmt(d)}B  = ${(events ? d / events : 0).toFixed(0)} B/event`);
}
console.log(`  total       ${fmt(total)}B  = ${(events ? total / events : 0).toFixed(0)} B/event -> at ${rate}/s: ${fmt(total / Math.max(events, 1) * perDay)}B/day`);
console.log(`\nRedis: ${cmds} commands for ${ing.ok} ingest requests and ${cq.ok + dq.ok} queries (${(cmds / Math.max(req, 1)).toFixed(2)} per request)`);
console.log(`  at ${rate} ingest/s + 30 queries/s: ${fmt(cmds / Number(dur) * 86400)} commands/day, ${fmt(cmds / Number(dur) * 86400 * 30)} per 30 days`);
console.log(fs.readFileSync(`${dir}/cmdstats.txt`, "utf8").split("\n").filter(Boolean).map((l) => "    " + l.replace(/,usec.*/, "")).join("\n"));
EOF
