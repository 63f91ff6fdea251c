#!/usr/bin/env bash
# worker_sigterm_commit.test.sh — a worker stopped while it commits a batch (SPEC §5 exactly once,
# services/worker/sink.c): SIGTERM during the batch transaction must end with exit 0 and the
# batch either committed or rolled back (then replayed by the next worker) — counted exactly once
# either way; SIGKILL during the transaction must roll it back and the next worker replays it,
# again exactly once.
#
# To be sure the signal lands inside the commit, the test makes the commit slow: a trigger it
# installs on consumer_offsets (in this private database only) sleeps 3 s in the statement that
# stores the batch's offsets while a flag row exists. The signal is sent only once PostgreSQL
# shows the worker's backend sleeping inside that statement (pg_stat_activity), and the committed
# offsets right after the exit say which way the batch went.
#
# Env: BIN_DIR (build/bin), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_sigterm_commit
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"

ws_start
sql "INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one');
     CREATE TABLE test_slow_commit (x int);
     CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
         IF EXISTS (SELECT 1 FROM test_slow_commit) THEN PERFORM pg_sleep(3); END IF;
         RETURN NULL;
     END \$\$;
     CREATE TRIGGER test_slow_commit BEFORE UPDATE ON consumer_offsets
         FOR EACH STATEMENT EXECUTE FUNCTION test_slow_commit();" >/dev/null ||
    { bad "test tenant and slow-commit trigger"; exit 1; }
NOW=$(date +%s%3N)
gen() { # prefix count -> key|value lines
    local i
    for ((i = 0; i < $2; i++)); do
        printf 't1/%s%d|{"v":1,"tenant":"t1","event_id":"%s%d","event":"page_view","ts":%s,"received_at":%s,"properties":{"page":"/p%d"}}\n' \
            "$1" "$i" "$1" "$i" $((NOW - i * 1000)) "$NOW" $((i % 5))
    done
}
counted() { sql "SELECT coalesce(sum(cnt), 0) FROM rollups_hourly WHERE tenant_id = 't1' AND metric = 'page_view'"; }
in_commit() { # the batch's offset UPDATE is sleeping in the trigger
    [[ $(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'
              AND pid <> pg_backend_pid() AND query LIKE '%SET next_offset = u.n%'") -ge 1 ]]
}
exited_within() { # name seconds: waits for the worker's exit; sets RC to its status
    local pid=${WPID[$1]} deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && return 1
    RC=0
    wait "$pid" || RC=$?
    unset "WPID[$1]"
}
WORKER_ENV=(WORKER_CLOSE_INTERVAL_MS=600000) # no closer UPDATEs of consumer_offsets meanwhile

gen a 300 >"$TMP/a.txt"
gen b 300 >"$TMP/b.txt"
gen c 300 >"$TMP/c.txt"
ws_worker w1 "$(free_port)" "${WORKER_ENV[@]}"
check "worker claims all 3 partitions" wait_sql 30 'SELECT count(*) FROM consumer_offsets' 3
ws_produce "$TMP/a.txt"
check "the first 300 events are committed (fast commits)" wait_until 60 ws_caught_up

# ---- SIGTERM inside the commit ----
sql "INSERT INTO test_slow_commit VALUES (1)" >/dev/null
ws_produce "$TMP/b.txt"
if wait_until 30 in_commit; then
    before=$(ws_committed)
    kill -TERM "${WPID[w1]}"
    say "SIGTERM sent while the batch's offset UPDATE sleeps in PostgreSQL (committed offsets then: $before)"
    ok "the worker was inside a batch commit when SIGTERM arrived (pg_stat_activity: PgSleep in the offset UPDATE)"
else
    bad "the worker was inside a batch commit when SIGTERM arrived (never saw it sleeping in the offset UPDATE)"
    kill -TERM "${WPID[w1]}"
fi
sql "DELETE FROM test_slow_commit" >/dev/null
check "after SIGTERM the worker exits within 30 s" exited_within w1 30
check "... with status 0" test "${RC:-x}" = 0
after=$(ws_committed)
say "committed offsets right after the exit: $after of $produced ($([[ $after == "$produced" ]] && echo "the batch in hand was committed" || echo "the batch was rolled back: the next worker replays it"))"
check "the batch was committed whole or not at all (offsets 300 or 600: $after)" \
    bash -c '[[ $1 == 300 || $1 == 600 ]]' _ "$after"
check "the counts match the committed offsets (nothing half-written)" test "$(counted)" = "$after"
ws_worker w2 "$(free_port)" "${WORKER_ENV[@]}"
check "a new worker commits everything produced ($produced)" wait_until 60 ws_caught_up
check "600 events counted exactly once" test "$(counted)" = 600

# ---- SIGKILL inside the commit ----
sql "INSERT INTO test_slow_commit VALUES (1)" >/dev/null
ws_produce "$TMP/c.txt"
if wait_until 30 in_commit; then
    ws_kill9 w2
    ok "SIGKILL sent while the batch's offset UPDATE sleeps in PostgreSQL"
else
    bad "the worker was inside a batch commit when SIGKILL arrived"
    ws_kill9 w2
fi
sql "DELETE FROM test_slow_commit" >/dev/null
# PostgreSQL notices the dead client and rolls the transaction back
check "the killed worker's transaction was rolled back (offsets stay at 600)" \
    wait_sql 20 "SELECT (SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
                  AND query LIKE '%SET next_offset = u.n%' AND state <> 'idle') = 0
                 AND (SELECT sum(next_offset) FROM consumer_offsets) = 600" t
check "... and so were its rows (600 counted)" test "$(counted)" = 600
ws_worker w3 "$(free_port)" "${WORKER_ENV[@]}"
check "a new worker replays the batch ($produced committed)" wait_until 60 ws_caught_up
check "900 events counted exactly once" test "$(counted)" = 900
check "raw_events holds each of the 900 once" \
    test "$(sql "SELECT count(*) || '/' || count(DISTINCT event_id) FROM raw_events WHERE tenant_id = 't1'")" = 900/900
check "worker exits 0 on SIGTERM" ws_term w3
