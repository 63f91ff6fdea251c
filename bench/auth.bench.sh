#!/usr/bin/env bash
# auth.bench.sh — issue 12 item 1: does a flood of wrong secrets stall a valid key? A valid key
# sends single-event POSTs at a constant rate (ea-loadgen, open loop: latency from the intended
# send time) while wrk keeps FLOOD_CONNECTIONS (32) requests in flight, each presenting a real key
# id with a fresh random secret (bench/auth_flood.lua), so no cache can answer them. Rows, each
# the median of AUTH_BENCH_ROUNDS runs:
#   auth: bare-h2o @R/s              the baseline, no flood
#   auth: bare-h2o @R/s +flood       the same while ingest is flooded (what the machine gives)
#   auth: valid key @R/s             ingest, no flood
#   auth: valid +flood other id      flood on another tenant's real key id
#   auth: valid +flood own id        flood on the valid key's own id (its failed-attempt limit)
#   auth: valid +flood no limit      a second ingest-api with the failed-attempt limits raised out
#                                    of reach: every flood request reaches the key verifier
#                                    (an attacker with many addresses and key ids)
# The flood's own answers (401/429/503 counts, req/s) are printed after each flood row.
# Measures, asserts nothing.
#
# Env: run by bench/run.sh (stack.env exported, DEMO_KEY, BIN_DIR, BARE_URL, BENCH_RESULTS);
# AUTH_BENCH_RATE (200 req/s), AUTH_BENCH_DURATION (10 s), AUTH_BENCH_CONNECTIONS (8),
# FLOOD_CONNECTIONS (32), AUTH_BENCH_ROUNDS (3; each round runs every row once).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
: "${INGEST_URL:?run through bench/run.sh (make bench)}" "${DEMO_KEY:?}" "${BARE_URL:?}"
: "${BIN_DIR:?}" "${DATABASE_URL:?}"
RATE=${AUTH_BENCH_RATE:-200}
SECS=${AUTH_BENCH_DURATION:-10}
CONNS=${AUTH_BENCH_CONNECTIONS:-8}
FLOOD_CONNS=${FLOOD_CONNECTIONS:-32}
ROUNDS=${AUTH_BENCH_ROUNDS:-3}
RESULTS=${BENCH_RESULTS:-/dev/null}
TMP=$(mktemp -d /tmp/ea-auth-bench.XXXXXX)
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf -- "$TMP"
}
trap cleanup EXIT

admin() { (cd "$ROOT" && "$BIN_DIR/analytics-admin" "$@"); }
key_id() { printf '%s' "${1:3:12}"; }

# The flood's target: a real key of another tenant (created once per bench stack).
admin tenant create "Auth bench" --id bench-auth >/dev/null 2>&1 || true
OTHER_KEY=$(admin key create --tenant bench-auth --scopes ingest | awk 'NF { l = $0 } END { print l }')
[[ $OTHER_KEY == ak_* ]] || { echo "auth.bench: could not create the flood target key" >&2; exit 1; }
OWN_ID=$(key_id "$DEMO_KEY")
OTHER_ID=$(key_id "$OTHER_KEY")
printf '{"event":"auth_bench","event_id":"{{uuid}}","seq":{{seq}}}' >"$TMP/body.json"

# A second ingest-api whose failed-attempt limits are out of reach (settings unknown to an older
# build are simply ignored, so the row then measures the same code as "other id").
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NOLIMIT_PORT=$(free_port)
INGEST_PORT=$NOLIMIT_PORT INGEST_REUSEPORT=false AUTH_FAIL_LIMIT_ADDR=100000000 \
    AUTH_FAIL_LIMIT_KEY=100000000 "$BIN_DIR/ingest-api" >"$TMP/nolimit.log" 2>&1 </dev/null &
PIDS+=("$!")
NOLIMIT_URL="http://127.0.0.1:$NOLIMIT_PORT"
for _ in $(seq 100); do
    curl -fsS -m 2 -o /dev/null "$NOLIMIT_URL/readyz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -m 2 -o /dev/null "$NOLIMIT_URL/readyz" || { cat "$TMP/nolimit.log" >&2; exit 1; }

# The failed-attempt counters live in the stack's Redis and this script's flood (all from
# 127.0.0.1) fills them: start from none, and leave none for the benchmarks that follow.
# (the stack's Redis password, from REDIS_URL, reaches redis-cli through its environment)
REDISCLI_AUTH=$(python3 -c 'import os, urllib.parse as u; print(u.unquote(u.urlsplit(os.environ["REDIS_URL"]).password or ""))')
export REDISCLI_AUTH
clear_counters() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --scan --pattern 'ea:authfail:*' 2>/dev/null |
        xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" del >/dev/null 2>&1 || true
}
clear_counters
trap 'clear_counters; cleanup' EXIT

# The valid key is a client already at work: verified once on each instance before any flood.
for url in "$INGEST_URL" "$NOLIMIT_URL"; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $DEMO_KEY" --data '{"event":"auth_bench_warm"}' "$url/ingest")
    [[ $code == 202 ]] || { echo "auth.bench: the valid key got $code from $url" >&2; exit 1; }
done

# once NAME URL KEY [FLOOD_URL FLOOD_ID]: one open-loop run, optionally under a flood.
once() {
    local name=$1 url=$2 key=$3 furl=${4:-} fid=${5:-} fpid=""
    if [[ -n $furl ]]; then
        FLOOD_KEY_ID=$fid wrk -t1 -c"$FLOOD_CONNS" -d"$((SECS + 3))s" --timeout 30s \
            -s "$HERE/auth_flood.lua" "$furl/ingest" >"$TMP/flood.out" 2>&1 &
        fpid=$!
        sleep 1 # the flood is running before the first measured request
    fi
    "$BIN_DIR/ea-loadgen" --url "$url/ingest" --rate "$RATE" --duration "$SECS" \
        --connections "$CONNS" --method POST --header 'Content-Type: application/json' \
        --header "Authorization: Bearer $key" --body-file "$TMP/body.json" \
        --json-out "$TMP/run.json" --timeout 30 >/dev/null || true
    if [[ -n $fpid ]]; then
        wait "$fpid" || true
        grep '^FLOOD ' "$TMP/flood.out" | awk -v n="$name" '{ print "  " n ": " $0 }' >>"$TMP/flood.lines" || true
    fi
    python3 - "$name" "$TMP/run.json" >>"$TMP/rounds.$(slug "$name")" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
s = json.load(open(path))
print("%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%d\t-" % (name, s["achieved_rate"], s["achieved_rate"],
      s["p50_ms"], s["p95_ms"], s["p99_ms"], s["sent"] - s["ok"]))
if s["sent"] != s["ok"]:
    sys.stderr.write("auth.bench: %s: answers %s\n" % (name, json.dumps(s["status"])))
PY
}

slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9' _; }

# The rows; each round runs every row once, in this order, so that a slow minute of the shared
# machine spreads over all rows instead of spoiling one. A row's figure: the median by p95.
ROWS=(
    "auth: bare-h2o @${RATE}/s|$BARE_URL|$DEMO_KEY||"
    "auth: bare-h2o @${RATE}/s +flood|$BARE_URL|$DEMO_KEY|$INGEST_URL|$OTHER_ID"
    "auth: valid key @${RATE}/s|$INGEST_URL|$DEMO_KEY||"
    "auth: valid +flood other id|$INGEST_URL|$DEMO_KEY|$INGEST_URL|$OTHER_ID"
    "auth: valid +flood own id|$INGEST_URL|$DEMO_KEY|$INGEST_URL|$OWN_ID"
    "auth: valid +flood no limit|$NOLIMIT_URL|$DEMO_KEY|$NOLIMIT_URL|$OTHER_ID"
)
: >"$TMP/flood.lines"
: >"$TMP/table"
for ((r = 1; r <= ROUNDS; r++)); do
    for spec in "${ROWS[@]}"; do
        IFS='|' read -r name url key furl fid <<<"$spec"
        echo "auth.bench: $name (round $r/$ROUNDS)"
        once "$name" "$url" "$key" "$furl" "$fid"
        sleep 1
    done
done
for spec in "${ROWS[@]}"; do
    name=${spec%%|*}
    f="$TMP/rounds.$(slug "$name")"
    n=$(wc -l <"$f")
    sort -t$'\t' -k5,5g "$f" | sed -n "$(((n + 1) / 2))p" | tee -a "$TMP/table" >>"$RESULTS"
done

echo
echo "auth.bench: valid key at ${RATE} req/s over $CONNS connections, ${SECS} s, median of $ROUNDS by p95;"
echo "flood: wrk -c$FLOOD_CONNS, random secrets for a real key id"
awk -F'\t' '{ printf "  %-34s p50 %8s  p95 %8s  p99 %8s ms  errors %s\n", $1, $4, $5, $6, $7 }' "$TMP/table"
echo "flood answers (every round):"
cat "$TMP/flood.lines"
