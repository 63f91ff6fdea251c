#!/usr/bin/env bash
# kafka_security.test.sh — the Kafka security settings (lib/kafka, issue 17) against the real
# services. librdkafka 2.0.2's mock cluster (our dev broker) has no SASL and no TLS listener, so
# a service configured for SASL or TLS cannot connect to it: this proves that such a service
# reports the cause on /readyz (503 with the librdkafka reason and what to check) and answers
# ingest requests with 503 within its produce timeout instead of hanging; and that bad values
# stop ingest-api and the worker at start-up naming the variable, without printing the password.
# That each setting reaches librdkafka's configuration is tests/unit/kafka; a SASL/SCRAM broker
# is the compose `redpanda-sasl` profile (docs/DEPLOY.md), which cannot run here (no Docker).
#
# Uses the main test stack (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, DEMO_KEY from
# tests/run-integration.sh); the extra ingest-api and worker run on free ports and are stopped by
# pid. Prints "kafka_security: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
TMP=$(mktemp -d /tmp/ea-kafkasec.XXXXXX)
PIDS=()
# shellcheck source=lib/check.sh
source "$ROOT/tests/integration/lib/check.sh"
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    if ((failed > 0)); then
        for f in "$TMP"/*.log; do
            [[ -f $f ]] || continue
            say "last lines of ${f#"$TMP"/}:"
            tail -6 "$f" | sed 's/^/#   /'
        done
    fi
    rm -rf -- "$TMP"
    ((rc != 0 && failed == 0)) && failed=1
    summary kafka_security
    ((failed == 0)) || exit 1
    exit 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for v in DATABASE_URL REDIS_URL KAFKA_BROKERS DEMO_KEY; do
    [[ -n ${!v:-} ]] || { bad "$v is set (run through tests/run-integration.sh)"; exit 1; }
done
PW="kpw-$(openssl rand -hex 10)" # the SASL password: must never show up below
SASL=(KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=SCRAM-SHA-256
    KAFKA_SASL_USERNAME=analytics KAFKA_SASL_PASSWORD="$PW")

# ---- ingest-api configured for SASL against the dev broker ----------------------------------------
IP=$(free_port)
env "${SASL[@]}" INGEST_PORT="$IP" INGEST_REUSEPORT=false INGEST_PRODUCE_TIMEOUT_MS=2000 \
    "$BIN_DIR/ingest-api" >"$TMP/ingest.log" 2>&1 &
PIDS+=($!)
ready_says() { # port text: /readyz answers 503 and errors.kafka contains text
    local code
    code=$(curl -s -m 5 -o "$TMP/ready.json" -w '%{http_code}' "http://127.0.0.1:$1/readyz")
    [[ $code == 503 ]] && jget "$TMP/ready.json" 'd.errors && d.errors.kafka' | grep -qF -- "$2"
}
check "ingest-api with SASL against a broker without SASL: /readyz 503 naming the cause" \
    wait_until 30 ready_says "$IP" "SASL Handshake not supported by broker"
say "ingest /readyz: $(cat "$TMP/ready.json")"
check "... and what to check (KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_MECHANISM)" \
    grep -q 'check KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_MECHANISM' "$TMP/ready.json"
t0=$(date +%s%N)
code=$(curl -s -m 30 -o "$TMP/post.json" -w '%{http_code}' -X POST "http://127.0.0.1:$IP/ingest" \
    -H "Authorization: Bearer $DEMO_KEY" -H 'Content-Type: application/json' -d '{"event":"sasl_probe"}')
ms=$((($(date +%s%N) - t0) / 1000000))
say "POST /ingest answered $code in $ms ms: $(cat "$TMP/post.json")"
check "POST /ingest answers 503 (nothing acknowledged) within the produce timeout, not hanging" \
    bash -c "[[ $code == 503 ]] && ((ms < 10000))"

# ---- the worker configured for SASL ---------------------------------------------------------------
WP=$(free_port)
env "${SASL[@]}" WORKER_HOST=127.0.0.1 WORKER_PORT="$WP" "$BIN_DIR/worker" >"$TMP/worker.log" 2>&1 &
PIDS+=($!)
check "worker with SASL against a broker without SASL: /readyz 503 naming the cause" \
    wait_until 30 ready_says "$WP" "SASL Handshake not supported by broker"
say "worker /readyz: $(cat "$TMP/ready.json")"

# ---- TLS to a plain listener ---------------------------------------------------------------------
TP=$(free_port)
env KAFKA_SECURITY_PROTOCOL=SSL INGEST_PORT="$TP" INGEST_REUSEPORT=false \
    "$BIN_DIR/ingest-api" >"$TMP/ingest-ssl.log" 2>&1 &
PIDS+=($!)
check "ingest-api with SSL against a plain listener: /readyz 503 saying the TLS handshake failed" \
    wait_until 30 ready_says "$TP" "SSL handshake failed"
say "ingest (SSL) /readyz: $(cat "$TMP/ready.json")"

# ---- bad values stop the services at start-up, naming the variable ---------------------------------
starts_not() { # svc text VAR=VALUE... : exits 2 at once, printing text and never the password
    local svc=$1 text=$2 rc=0
    shift 2
    env "$@" INGEST_PORT="$(free_port)" WORKER_PORT=0 timeout 10 "$BIN_DIR/$svc" \
        >"$TMP/start.log" 2>&1 || rc=$?
    ((rc == 2)) && grep -qF -- "$text" "$TMP/start.log" && ! grep -qF -- "$PW" "$TMP/start.log"
}
for svc in ingest-api worker; do
    check "$svc refuses KAFKA_SECURITY_PROTOCOL=TLS at start-up, naming it" \
        starts_not "$svc" 'invalid KAFKA_SECURITY_PROTOCOL' KAFKA_SECURITY_PROTOCOL=TLS
    check "$svc refuses SASL_SSL without a mechanism, naming KAFKA_SASL_MECHANISM" \
        starts_not "$svc" 'KAFKA_SASL_MECHANISM is required' KAFKA_SECURITY_PROTOCOL=SASL_SSL \
        KAFKA_SASL_USERNAME=u KAFKA_SASL_PASSWORD="$PW"
    check "$svc refuses KAFKA_SASL_MECHANISM=GSSAPI" \
        starts_not "$svc" 'invalid KAFKA_SASL_MECHANISM' "${SASL[@]}" KAFKA_SASL_MECHANISM=GSSAPI
    check "$svc refuses a SASL password without a SASL protocol" \
        starts_not "$svc" 'KAFKA_SASL_PASSWORD is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT' \
        KAFKA_SASL_PASSWORD="$PW"
    check "$svc refuses an unknown librdkafka property in KAFKA_PROPERTIES" \
        starts_not "$svc" 'invalid KAFKA_PROPERTIES: fetch.max.wiat.ms' \
        KAFKA_PROPERTIES='socket.keepalive.enable=true;fetch.max.wiat.ms=100'
    check "$svc refuses KAFKA_PROPERTIES overriding acks (exactly-once)" \
        starts_not "$svc" 'acks is set by the services' KAFKA_PROPERTIES='acks=1'
    check "$svc refuses an unreadable KAFKA_SSL_CA_FILE, naming it" \
        starts_not "$svc" 'could not read KAFKA_SSL_CA_FILE /nonexistent/ca.pem' \
        KAFKA_SECURITY_PROTOCOL=SSL KAFKA_SSL_CA_FILE=/nonexistent/ca.pem
done

# ---- the password stays secret -------------------------------------------------------------------------
curl -s "http://127.0.0.1:$IP/metrics" >"$TMP/metrics.txt"
curl -s "http://127.0.0.1:$WP/metrics" >>"$TMP/metrics.txt"
check "the SASL password is in no log, /readyz or /metrics of the SASL-configured services" \
    bash -c "! grep -qF -- '$PW' '$TMP'/*.log '$TMP'/*.json '$TMP/metrics.txt'"
check "the logs were not empty (the grep saw librdkafka's complaints)" \
    grep -q 'SASL' "$TMP/ingest.log"
