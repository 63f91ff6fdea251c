#!/usr/bin/env bash
# worker_log_reset.test.sh — a topic whose log was reset under the worker (topic recreated, or
# the in-memory dev broker restarted while PostgreSQL kept its data): the stored positions lie
# past the end of the new log. The worker must rewind to the new log's start and count every new
# event — not seek past them and skip them silently (consumer.c check_log_reset).
set -uo pipefail
TEST_NAME=worker_log_reset
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
sql "INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one')" >/dev/null
NOW=$(date +%s%3N)
gen() { # first count: lines of key|value page_view events with ids id<first>..
    local first=$1 n=$2 i
    for ((i = first; i < first + n; i++)); do
        printf 't1/id%d|{"v":1,"tenant":"t1","event_id":"id%d","event":"page_view","ts":%s,"received_at":%s,"properties":{"page":"/p%d"}}\n' \
            "$i" "$i" "$NOW" "$NOW" "$((i % 3))"
    done
}
counted() { sql "SELECT coalesce(sum(cnt), 0) FROM rollups_hourly WHERE tenant_id = 't1' AND metric = 'page_view'"; }
count_is() { [[ $(counted) == "$1" ]]; }

gen 0 30 >"$TMP/first.txt"
ws_produce "$TMP/first.txt"
ws_worker w1 0
check "the first 30 events are counted" wait_until 60 count_is 30
check "worker exits 0 on SIGTERM" ws_term w1

# a new, empty broker: same topic name, offsets start again at 0
kill "$BROKERPID" && wait "$BROKERPID" 2>/dev/null
rm -f "$TMP/kafka.bootstrap"
"$BIN_DIR/kafka-dev-broker" --bootstrap-file "$TMP/kafka.bootstrap" --control "$KCTL" \
    >"$TMP/broker2.out" 2>"$TMP/broker2.log" &
BROKERPID=$!
wait_until 20 test -s "$TMP/kafka.bootstrap" || { bad "second broker starts"; exit 1; }
BROKERS=$(cat "$TMP/kafka.bootstrap")
gen 100 12 >"$TMP/second.txt"
ws_produce "$TMP/second.txt"

ws_worker w2 0
check "the 12 events of the new log are counted too (42 in all)" wait_until 60 count_is 42
check "the rewind was logged" grep -q "past the end of the log" "$TMP/w2.log"
check "stored positions now match the new log (12 messages)" \
    test "$(sql "SELECT sum(next_offset) FROM consumer_offsets")" = 12
check "worker exits 0 on SIGTERM" ws_term w2

((failed == 0)) # the EXIT trap (worker_stack.sh) prints the summary line
