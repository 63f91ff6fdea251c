#!/usr/bin/env bash
# ws_fanout.bench.sh — graphql-api's change-feed fan-out to WebSocket subscriptions, run by
# bench/run.sh with its stack (bench/ws_fanout.mjs does the work): WS_FANOUT_SUBS (200)
# metricUpdated subscriptions of one key, each round one ingest batch changing WS_FANOUT_BUCKETS
# (48) hours × 2 groups; prints and appends to $BENCH_RESULTS the push latency (ingest 202 → the
# last push; p50 of WS_FANOUT_ROUNDS rounds, 3) and the slowest `{ __typename }` meanwhile (does
# the fan-out stall the event loop?), with the re-reads per change message from /metrics.
# Measures, asserts nothing. Env: GRAPHQL_PORT, INGEST_PORT, BIN_DIR (from run.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${WS_FANOUT_SUBS:-200}
B=${WS_FANOUT_BUCKETS:-48}
R=${WS_FANOUT_ROUNDS:-3}
OUT=$(node "$HERE/ws_fanout.mjs" "http://127.0.0.1:$GRAPHQL_PORT" "http://127.0.0.1:$INGEST_PORT" \
    "$BIN_DIR" "$N" "$B" "$R")
f() { node -e "const r=JSON.parse(process.argv[1]); console.log(r['$1'] ?? '-')" "$OUT"; }
echo "ws fan-out: $N subscriptions, $B buckets x 2 groups per message, $R rounds"
echo "  push latency ms (202 -> last push): $(f push_ms) (p50 $(f push_p50_ms))"
echo "  slowest { __typename } meanwhile ms: $(f probe_max_ms) (p50 $(f probe_p50_max_ms))"
echo "  change messages $(f messages), re-reads $(f queries), pushes $(f pushes)"
if [[ -n ${BENCH_RESULTS:-} ]]; then
    printf 'ws fan-out %s subs push\t-\t-\t%s\t-\t-\n' "$N" "$(f push_p50_ms)" >>"$BENCH_RESULTS"
    printf 'ws fan-out %s subs loop stall\t-\t-\t%s\t-\t-\n' "$N" "$(f probe_p50_max_ms)" >>"$BENCH_RESULTS"
fi
