#!/usr/bin/env bash
# worker_webhooks.test.sh — alert webhook delivery (SPEC §8, issue 15) against a local receiver
# (lib/hook_receiver.mjs): a firing of a real closed bucket is POSTed once with a valid
# X-Signature-256 (HMAC-SHA256 of the raw body with the alert's secret) and the documented body;
# a receiver that fails twice gets the same delivery again with backoff until it answers 2xx;
# one that always fails is given up after WEBHOOK_RETRY_FOR_S (state failed, the error kept);
# a worker without WEBHOOK_ALLOW_PRIVATE refuses loopback targets (by address and by name) and
# never connects; a deleted alert's pending delivery is dropped with it; /metrics counts outcomes.
# Private stack (worker_stack.sh); short retry settings so the schedule runs in seconds.
#
# Env: BIN_DIR (build/bin), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_webhooks
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
R_PORT=$(free_port)
node "$ROOT/tests/integration/lib/hook_receiver.mjs" "$R_PORT" "$TMP/hooks.jsonl" \
    '{"/ok":"whsec_ok_secret","/flaky":"whsec_flaky","/down":"whsec_down","/refused":"whsec_refused"}' \
    2>"$TMP/receiver.log" &
EXTRA_PIDS+=($!)
wait_until 10 grep -q listening "$TMP/hooks.jsonl" 2>/dev/null || { bad "the receiver listens"; exit 1; }
URL="http://127.0.0.1:$R_PORT"

sql "INSERT INTO tenants (id, name) VALUES ('ta', 'Tenant A');
     INSERT INTO alerts (tenant_id, id, name, metric, filter, comparator, threshold, granularity,
                         enabled, webhook_url, webhook_secret) VALUES
       ('ta', 1, 'many views', 'page_view', '{}', 'GT', 2, 'HOUR', true, '$URL/ok', 'whsec_ok_secret'),
       ('ta', 2, 'flaky',      'signup',    '{}', 'GT', 0, 'HOUR', true, '$URL/flaky', 'whsec_flaky'),
       ('ta', 3, 'down',       'signup',    '{}', 'GT', 0, 'HOUR', true, '$URL/down', 'whsec_down'),
       ('ta', 4, 'no hook',    'signup',    '{}', 'GT', 0, 'HOUR', true, NULL, NULL)" >/dev/null ||
    { bad "tenant and alerts insert"; exit 1; }

# 3 page views in an hour two days ago: alert 1 fires when the closer closes that hour
NOW=$(date +%s%3N)
HOUR_MS=$((NOW / 86400000 * 86400000 - 2 * 86400000 + 10 * 3600000))
HOUR_ISO=$(date -u -d "@$((HOUR_MS / 1000))" +%Y-%m-%dT%H:00:00.000Z)
for i in 1 2 3; do
    printf 'ta|{"v":1,"tenant":"ta","event_id":"v%s","event":"page_view","ts":%s,"received_at":%s,"properties":{}}\n' \
        "$i" $((HOUR_MS + i * 60000)) "$NOW"
done >"$TMP/events.txt"
ws_produce "$TMP/events.txt"

W_PORT=$(free_port)
ws_worker w1 "$W_PORT" WEBHOOK_ALLOW_PRIVATE=true WEBHOOK_RETRY_BASE_MS=300 WEBHOOK_RETRY_MAX_MS=600 \
    WEBHOOK_RETRY_FOR_S=4 WEBHOOK_POLL_MS=100 WEBHOOK_TIMEOUT_MS=2000
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"

hooks() { grep -c "\"path\":\"$1\"" "$TMP/hooks.jsonl"; }
state() { sql "SELECT delivery || ':' || attempts FROM alert_events WHERE alert_id = $1"; }

# 1. a real firing, delivered once, signed, with the documented body
check "the closed hour fires alert 1 and it is delivered" wait_eval 40 '[[ $(state 1) == delivered:1 ]]'
line=$(grep '"path":"/ok"' "$TMP/hooks.jsonl" | head -1)
check "exactly one POST reached /ok" test "$(hooks /ok)" = 1
check "its X-Signature-256 is the HMAC-SHA256 of the raw body with the alert's secret" \
    test "$(node -pe "JSON.parse(process.argv[1]).sigOk" "$line")" = true
check "POST, application/json, delivery id and attempt 1" \
    test "$(node -pe "const l=JSON.parse(process.argv[1]); [l.method,l.type,l.delivery>0,l.attempt].join(' ')" "$line")" = "POST application/json true 1"
check "the body: alert {id,name,metric}, bucket, value, threshold, comparator, dimensions, firedAt" \
    test "$(node -pe "const b=JSON.parse(process.argv[1]).body; [b.alert.id,b.alert.name,b.alert.metric,b.bucket,b.value,b.threshold,b.comparator,JSON.stringify(b.dimensions),Object.keys(b).sort().join(),!isNaN(Date.parse(b.firedAt))].join('|')" "$line")" \
    = "1|many views|page_view|$HOUR_ISO|3|2|GT|{}|alert,bucket,comparator,dimensions,firedAt,threshold,value|true"
check "the firing recorded the condition it fired on" \
    test "$(sql "SELECT threshold || comparator || last_status FROM alert_events WHERE alert_id = 1")" = "2GT204"

# 2. retries with backoff until the receiver answers 2xx; 3. given up after the retry window
sql "INSERT INTO alert_events (tenant_id, alert_id, bucket, value) VALUES
       ('ta', 2, '$HOUR_ISO', 1), ('ta', 3, '$HOUR_ISO', 1), ('ta', 4, '$HOUR_ISO', 1)" >/dev/null
check "a firing of an alert without a webhook is not delivered (state none)" test "$(state 4)" = "none:0"
check "the flaky receiver got the delivery until it answered 200 (3 attempts)" \
    wait_eval 20 '[[ $(state 2) == delivered:3 ]]'
check "each of the 3 requests carried the same delivery id, attempts 1..3, valid signatures" \
    test "$(grep '"path":"/flaky"' "$TMP/hooks.jsonl" | node -e '
        const l = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
        console.log([l.length, new Set(l.map((x) => x.delivery)).size, l.map((x) => x.attempt).join(","), l.every((x) => x.sigOk)].join(" "))')" \
    = "3 1 1,2,3 true"
check "the always-failing receiver is given up after WEBHOOK_RETRY_FOR_S (state failed)" \
    wait_eval 30 '[[ $(sql "SELECT delivery FROM alert_events WHERE alert_id = 3") == failed ]]'
check "it was retried before giving up, and the last error is kept" \
    test "$(sql "SELECT attempts >= 3 AND last_status = 500 AND last_error LIKE '%HTTP 500%' FROM alert_events WHERE alert_id = 3")" = t
n_down=$(hooks /down)
sleep 1
check "nothing is sent after giving up" test "$(hooks /down)" = "$n_down"
check "/metrics counts delivered, retried and failed attempts" \
    bash -c "curl -s http://127.0.0.1:$W_PORT/metrics | grep -q 'worker_webhook_attempts_total{outcome=\"delivered\"} 2' &&
             curl -s http://127.0.0.1:$W_PORT/metrics | grep -q 'worker_webhook_attempts_total{outcome=\"failed\"} 1'"

# 4. without WEBHOOK_ALLOW_PRIVATE: loopback targets are refused, by address and by name
check "worker w1 stops on SIGTERM" ws_term w1
sql "INSERT INTO alerts (tenant_id, id, name, metric, filter, comparator, threshold, granularity,
                         webhook_url, webhook_secret) VALUES
       ('ta', 5, 'by address', 'signup', '{}', 'GT', 0, 'HOUR', '$URL/refused', 'whsec_refused'),
       ('ta', 6, 'by name',    'signup', '{}', 'GT', 0, 'HOUR', 'http://localhost:$R_PORT/refused', 'whsec_refused'),
       ('ta', 7, 'deleted',    'signup', '{}', 'GT', 0, 'HOUR', '$URL/refused', 'whsec_refused');
     INSERT INTO alert_events (tenant_id, alert_id, bucket, value) VALUES
       ('ta', 5, '$HOUR_ISO', 1), ('ta', 6, '$HOUR_ISO', 1), ('ta', 7, '$HOUR_ISO', 1);
     DELETE FROM alerts WHERE id = 7" >/dev/null
W2_PORT=$(free_port)
ws_worker w2 "$W2_PORT" WEBHOOK_POLL_MS=100
check "worker w2 (default settings) answers /readyz 200" wait_until 30 ws_ready "$W2_PORT"
check "a loopback address is refused at once (state failed)" wait_eval 20 '[[ $(state 5) == failed:1 ]]'
check "a name resolving to loopback is refused too" wait_eval 20 '[[ $(state 6) == failed:1 ]]'
check "the refusal says why" \
    test "$(sql "SELECT count(*) FROM alert_events WHERE alert_id IN (5, 6) AND last_error LIKE 'refused: % resolves to %WEBHOOK_ALLOW_PRIVATE%'")" = 2
check "the receiver never saw a refused delivery" test "$(hooks /refused)" = 0
check "a deleted alert's firings (and deliveries) are gone with it" \
    test "$(sql "SELECT count(*) FROM alert_events WHERE alert_id = 7")" = 0
check "no secret in the worker logs" bash -c "! grep -q whsec_ $TMP/w1.log $TMP/w2.log"
