#!/bin/sh
# broker.test.sh — integration test of tools/kafka-dev-broker against real Kafka clients (kcat,
# i.e. librdkafka): start the broker on temporary paths, produce and consume through it, drive the
# fault API over the control socket, stop it with SIGTERM. Not a test of our services.
#
# usage: tests/integration/broker.test.sh [path/to/kafka-dev-broker]
#        (default $BIN_DIR/kafka-dev-broker, BIN_DIR defaulting to build/bin; tests/run-integration.sh
#        exports BIN_DIR). Uses its own broker on temporary paths, never the shared test stack.
# Needs kcat (apt-get install -y kcat). Exits non-zero on any failure; last line:
# "broker: N passed, M failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${BIN_DIR:-$ROOT/build/bin}/kafka-dev-broker}
if ! command -v kcat >/dev/null 2>&1; then
    echo "broker: kcat not found (apt-get install -y kcat)" >&2
    exit 77
fi
if [ ! -x "$BIN" ]; then
    echo "broker: $BIN is not built" >&2
    exit 1
fi

TMP=$(mktemp -d /tmp/kdb-test.XXXXXX)
BS=$TMP/bootstrap
CTL=$TMP/control.sock
PID=
PASSED=0
FAILED=0

cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; shift; for l in "$@"; do echo "       $l"; done; }
ctl() { "$BIN" --ctl "$CTL" "$@"; }

# produce N keyed messages "k<i>:<prefix><i>" with extra kcat options
produce() {
    prefix=$1; n=$2; shift 2
    i=1
    while [ "$i" -le "$n" ]; do echo "k$i:$prefix$i"; i=$((i + 1)); done |
        timeout 30 kcat -b "$(cat "$BS")" -t events -P -K: -X message.timeout.ms=10000 "$@" 2>"$TMP/produce.err"
}
# every message of every partition, "<partition> <payload>" per line
consume_all() {
    timeout 30 kcat -b "$(cat "$BS")" -t events -C -e -q -f '%p %s\n' 2>"$TMP/consume.err"
}

# --- 1. start: bootstrap file appears (written last = ready), matches stdout, ping answers ---
"$BIN" --bootstrap-file "$BS" --control "$CTL" >"$TMP/stdout" 2>"$TMP/stderr" &
PID=$!
n=0
while [ ! -s "$BS" ] && [ "$n" -lt 100 ] && kill -0 "$PID" 2>/dev/null; do sleep 0.1; n=$((n + 1)); done
reply=$(ctl ping 2>&1)
if [ -s "$BS" ] && [ "$(cat "$BS")" = "$(head -n1 "$TMP/stdout")" ] && [ "$reply" = "ok pong" ] &&
    grep -q 'DEVELOPMENT AND TESTS ONLY' "$TMP/stderr" &&
    [ "$(stat -c %a "$CTL")" = 600 ]; then
    pass "starts, writes bootstrap $(cat "$BS"), warns, control socket 0600 answers ping"
else
    fail "start" "bootstrap: $(cat "$BS" 2>/dev/null)" "ping: $reply" "stderr: $(head -c 600 "$TMP/stderr")"
    echo "broker: $PASSED passed, $((FAILED + 1)) failed"
    exit 1
fi

# --- 2. 10 messages produced and consumed back, from all 3 partitions ---
produce v 10
out=$(consume_all)
count=$(printf '%s\n' "$out" | grep -c ' v')
parts=$(printf '%s\n' "$out" | awk '{print $1}' | sort -u | tr '\n' ' ')
if [ "$count" -eq 10 ] && [ "$parts" = "0 1 2 " ]; then
    pass "10 messages produced and consumed from partitions $parts"
else
    fail "produce/consume" "count=$count partitions=$parts" "$(cat "$TMP/produce.err" "$TMP/consume.err")"
fi

# --- 3. broker 1 down and up: replies, status, and a client really cannot reach it ---
addr1=$(ctl status | sed -n 's/.*"id":1,"addr":"\([^"]*\)".*/\1/p')
r1=$(ctl 'broker-down 1'); rc1=$?
st1=$(ctl status)
timeout 20 kcat -b "$addr1" -L -m 2 >/dev/null 2>&1; meta_down=$?
r2=$(ctl 'broker-up 1'); rc2=$?
st2=$(ctl status)
timeout 20 kcat -b "$addr1" -L -m 5 >/dev/null 2>&1; meta_up=$?
if [ "$r1" = "ok broker 1 down" ] && [ $rc1 -eq 0 ] && [ "$r2" = "ok broker 1 up" ] && [ $rc2 -eq 0 ] &&
    echo "$st1" | grep -q '"id":1,"addr":"[^"]*","up":false' &&
    echo "$st2" | grep -q '"id":1,"addr":"[^"]*","up":true' &&
    [ -n "$addr1" ] && [ $meta_down -ne 0 ] && [ $meta_up -eq 0 ]; then
    pass "broker-down 1 / broker-up 1 ($addr1 refused while down, served after up)"
else
    fail "broker-down/up" "down: $r1 ($rc1), up: $r2 ($rc2), metadata down=$meta_down up=$meta_up" \
        "status while down: $st1"
fi

# --- 4. idempotent producer (acks=all), also through injected retriable Produce errors ---
produce i 10 -X enable.idempotence=true -X acks=all; p1=$?
r3=$(ctl 'request-errors Produce 3 NOT_LEADER_FOR_PARTITION')
produce e 10 -X enable.idempotence=true -X acks=all; p2=$?
out=$(consume_all)
ni=$(printf '%s\n' "$out" | grep -c ' i')
ne=$(printf '%s\n' "$out" | grep -c ' e')
dups=$(printf '%s\n' "$out" | sort | uniq -d | wc -l)
if [ $p1 -eq 0 ] && [ $p2 -eq 0 ] && [ "$ni" -eq 10 ] && [ "$ne" -eq 10 ] && [ "$dups" -eq 0 ] &&
    [ "${r3%% *}" = ok ]; then
    pass "idempotent producer: 10 + 10 (through 3 NOT_LEADER_FOR_PARTITION) delivered once each"
else
    fail "idempotent producer" "rc=$p1/$p2 i=$ni e=$ne dups=$dups request-errors: $r3" \
        "$(cat "$TMP/produce.err")"
fi

# --- 5. protocol errors: unknown command, bad arguments, exit codes of --ctl ---
u=$(ctl 'frobnicate'); urc=$?
b=$(ctl 'broker-down 9'); brc=$?
a=$(ctl 'request-errors Fetch 1 request_timed_out' 'clear-errors 1'); arc=$?
if [ "$u" = "err unknown command" ] && [ $urc -eq 1 ] && [ "${b%% *}" = err ] && [ $brc -eq 1 ] &&
    [ $arc -eq 0 ] && [ "$(printf '%s\n' "$a" | grep -c '^ok ')" -eq 2 ]; then
    pass "unknown command and bad id answer err (exit 1); names accepted case-insensitively"
else
    fail "protocol errors" "unknown: $u ($urc)" "bad id: $b ($brc)" "names: $a ($arc)"
fi

# --- 6. SIGTERM: exit 0, control socket and bootstrap file removed ---
kill -TERM "$PID"
wait "$PID"; erc=$?
PID=
if [ $erc -eq 0 ] && [ ! -e "$CTL" ] && [ ! -e "$BS" ]; then
    pass "SIGTERM: exit 0, socket and bootstrap file removed"
else
    fail "shutdown" "exit=$erc socket:$(ls "$CTL" 2>&1) bootstrap:$(ls "$BS" 2>&1)"
fi

echo "broker: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
