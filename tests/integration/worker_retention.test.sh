#!/usr/bin/env bash
# worker_retention.test.sh — SPEC §5 storage: rollup partitions past their class retention are
# dropped by the worker's maintenance even when they hold rows, and the partitions inside
# retention keep every row; tables of another class (daily rollups, raw events) are untouched.
#
# The worker counts 10 events at noon of each of 4 UTC days (1, 2, 5 and 6 days ago: inside the 7-day
# max lateness, so every one is counted into 15-minute and hourly partitions of its day). Then
# the retention of the 15-minute and hourly classes is lowered to 3 days (as an operator would,
# partition_classes) and the worker's maintenance (every 5 s here) must drop the partitions of
# days 5 and 6 — with their rows — and keep days 1 and 2 with exactly their rows.
#
# Env: BIN_DIR (build/bin), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_retention
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
sql "INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one')" >/dev/null || { bad "tenant insert"; exit 1; }
NOW=$(date +%s%3N)
DAY_MS=86400000
NOON=$((NOW / DAY_MS * DAY_MS + DAY_MS / 2)) # today 12:00 UTC: every day's events on one UTC day
for d in 1 2 5 6; do
    for i in 0 1 2 3 4 5 6 7 8 9; do
        printf 't1/d%s-%s|{"v":1,"tenant":"t1","event_id":"d%s-%s","event":"page_view","ts":%s,"received_at":%s,"properties":{"page":"/"}}\n' \
            "$d" "$i" "$d" "$i" $((NOON - d * DAY_MS + i * 60000)) "$NOW"
    done
done >"$TMP/events.txt"
part() { # class days-ago -> partition name of that UTC day
    sql "SELECT ea_partition_name('$1', 'day', to_timestamp(($NOON - $2 * $DAY_MS) / 1000.0))"
}
rows_in() { # partition -> row count (-1 when it does not exist)
    if [[ $(sql "SELECT to_regclass('$1') IS NOT NULL") == t ]]; then
        sql "SELECT coalesce(sum(cnt), 0) FROM $1 WHERE tenant_id = 't1' AND metric = 'page_view'"
    else
        echo -1
    fi
}

ws_produce "$TMP/events.txt"
W_PORT=$(free_port)
ws_worker w1 "$W_PORT" WORKER_MAINTENANCE_INTERVAL_S=5
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
check "worker counts the 40 events" wait_until 60 ws_caught_up
for cls in rollups_15m rollups_hourly; do
    for d in 1 2 5 6; do
        p=$(part "$cls" "$d")
        check "$p ($d days ago) holds its 10 events before the retention change" test "$(rows_in "$p")" = 10
    done
done

sql "UPDATE partition_classes SET retention_days = 3 WHERE parent IN ('rollups_15m', 'rollups_hourly')" >/dev/null
say "retention of rollups_15m and rollups_hourly lowered to 3 days"
for cls in rollups_15m rollups_hourly; do
    for d in 5 6; do
        p=$(part "$cls" "$d")
        check "maintenance drops $p ($d days ago, past the 3-day retention, holding rows)" \
            wait_sql 20 "SELECT to_regclass('$p') IS NULL" t
    done
    for d in 1 2; do
        p=$(part "$cls" "$d")
        check "$p ($d days ago, inside retention) keeps exactly its 10 events" test "$(rows_in "$p")" = 10
    done
    check "$cls now holds the 20 events of the days inside retention" \
        test "$(sql "SELECT sum(cnt) FROM $cls WHERE tenant_id = 't1' AND metric = 'page_view'")" = 20
done
check "daily rollups (retention 730 days) keep all 40 events" \
    test "$(sql "SELECT sum(cnt) FROM rollups_daily WHERE tenant_id = 't1' AND metric = 'page_view'")" = 40
check "raw events (retention 30 days) keep all 40 events" \
    test "$(sql "SELECT count(*) FROM raw_events WHERE tenant_id = 't1'")" = 40
check "the worker logged the maintenance pass" grep -q '"maintenance created' "$TMP/w1.log"
check "worker exits 0 on SIGTERM" ws_term w1
