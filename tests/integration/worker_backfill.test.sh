#!/usr/bin/env bash
# worker_backfill.test.sh — `analytics-admin backfill` (issue 4): a metric defined after its
# events were counted is backfilled from raw_events and its 15-minute, hourly and daily rollups
# equal the ground truth; a second run changes nothing; backfilling the automatic count the
# worker already wrote changes nothing (the same aggregation code); events the worker counts
# while the backfill runs are neither lost nor doubled; caps and unique sketches are rebuilt (each
# sketch compared with the distinct users of its bucket);
# ranges past raw retention, days whose raw events are incomplete and bad arguments are refused
# and change nothing.
#
# Env: BIN_DIR (build/bin), BACKFILL_TEST_EVENTS (6000), KEEP_TMP=1.
set -uo pipefail
TEST_NAME=worker_backfill
source "$(dirname "${BASH_SOURCE[0]}")/worker_stack.sh"
N=${BACKFILL_TEST_EVENTS:-6000}
ADMIN=$BIN_DIR/analytics-admin

ws_start
sql "INSERT INTO tenants (id, name) VALUES ('bf1', 'Backfill')" >/dev/null
NOW=$(date +%s%3N)
GEN="$ROOT/tests/integration/worker_backfill.mjs"
node "$GEN" gen "$TMP/gen" "$NOW" "$N" 11 a && node "$GEN" gen "$TMP/gen" "$NOW" 3000 12 b ||
    { bad "generator runs"; exit 1; }

W_PORT=$(free_port)
# this worker does not run the recompute jobs `metric define` enqueues: the backfill under test
# is analytics-admin's (the runner is tested by every_event_counts.test.mjs)
ws_worker w1 "$W_PORT" WORKER_RECOMPUTE_POLL_MS=0
check "worker answers /readyz 200" wait_until 30 ws_ready "$W_PORT"
ws_produce "$TMP/gen/a.txt"
check "worker counts the first $N events (no definitions yet)" wait_until 120 ws_caught_up
check "raw_events holds them" test "$(sql 'SELECT count(*) FROM raw_events')" = "$N"

rows() { # metric -> sorted "G bucket_ms dims cnt sum" (sum without the trailing zeros numeric keeps)
    sql "SELECT 'Q', (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, trim_scale(sum) FROM rollups_15m
           WHERE tenant_id = 'bf1' AND metric = '$1'
         UNION ALL SELECT 'H', (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, trim_scale(sum) FROM rollups_hourly
           WHERE tenant_id = 'bf1' AND metric = '$1'
         UNION ALL SELECT 'D', (extract(epoch FROM bucket) * 1000)::int8, dims::text, cnt, trim_scale(sum) FROM rollups_daily
           WHERE tenant_id = 'bf1' AND metric = '$1'" | tr '|' '\t' | LC_ALL=C sort
}
fingerprint() { # every column of every row of the tenant, and the cap registry
    sql "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
           SELECT r::text x FROM rollups_15m r WHERE tenant_id = 'bf1'
           UNION ALL SELECT r::text FROM rollups_hourly r WHERE tenant_id = 'bf1'
           UNION ALL SELECT r::text FROM rollups_daily r WHERE tenant_id = 'bf1'
           UNION ALL SELECT v::text FROM rollup_dim_values v WHERE tenant_id = 'bf1') s"
}
same_as_truth() { # metric files...
    local m=$1
    shift
    node "$GEN" truth "$TMP/gen" "$m" "$@" | LC_ALL=C sort >"$TMP/truth.tsv"
    rows "$m" >"$TMP/actual.tsv"
    [[ -s $TMP/truth.tsv ]] && diff "$TMP/truth.tsv" "$TMP/actual.tsv" >"$TMP/diff.txt" ||
        { head -10 "$TMP/diff.txt" | sed 's/^/#   /'; return 1; }
}
check "the worker's automatic count equals the truth" same_as_truth purchase "$TMP/gen/a.txt"

# ---- define metrics now, after their events were counted ----
"$ADMIN" metric define --tenant bf1 --name revenue --event purchase --aggregation sum --property amount \
    --dimensions country >/dev/null &&
"$ADMIN" metric define --tenant bf1 --name buyers --event purchase --aggregation unique --property user \
    >/dev/null &&
"$ADMIN" metric define --tenant bf1 --name capped --event purchase --aggregation count \
    --dimensions country --cardinality-cap 2 >/dev/null || { bad "metric define"; exit 1; }
check "the new metric has no rows before the backfill" test "$(rows revenue | wc -l)" = 0

FROM=$(date -u -d '@'$(((NOW / 1000) - 2 * 86400)) +%Y-%m-%d)
TO=$(date -u -d '@'$(((NOW / 1000) + 86400)) +%Y-%m-%d)
# the second half of the events arrives while the backfill runs: the worker counts them with the
# new definition, the backfill recomputes the days; neither may lose or double an event
ws_produce "$TMP/gen/b.txt"
if "$ADMIN" backfill --tenant bf1 --metric revenue --from "$FROM" --to "$TO" >"$TMP/bf1.out" 2>&1; then
    ok "backfill revenue $FROM .. $TO exits 0"
else
    bad "backfill revenue exits 0"
    sed 's/^/#   /' "$TMP/bf1.out"
fi
sed 's/^/#   /' "$TMP/bf1.out"
check "backfill prints one progress line per day" test "$(grep -c '^  \[[0-9]/3\]' "$TMP/bf1.out")" = 3
check "worker catches up with the events sent during the backfill" wait_until 120 ws_caught_up
check "revenue 15m/hourly/daily rollups equal the truth over all $((N + 3000)) events" \
    same_as_truth revenue "$TMP/gen/a.txt" "$TMP/gen/b.txt"

before=$(fingerprint)
"$ADMIN" backfill --tenant bf1 --metric revenue --from "$FROM" --to "$TO" >"$TMP/bf2.out" 2>&1 ||
    bad "second backfill exits 0"
check "a second run writes nothing (0 inserted, 0 updated, 0 deleted)" \
    grep -q 'rows (0 inserted, 0 updated, [0-9]* unchanged, 0 deleted)$' "$TMP/bf2.out"
check "a second run leaves every row byte for byte (revision, updated_at, registry)" \
    test "$(fingerprint)" = "$before"
"$ADMIN" backfill --tenant bf1 --metric purchase --from "$FROM" --to "$TO" >"$TMP/bf3.out" 2>&1 ||
    bad "backfill of the automatic count exits 0"
check "backfilling the automatic count the worker wrote changes nothing (same code, exact)" \
    grep -q 'rows (0 inserted, 0 updated, [0-9]* unchanged, 0 deleted)$' "$TMP/bf3.out"
check "the automatic count still equals the truth" same_as_truth purchase "$TMP/gen/a.txt" "$TMP/gen/b.txt"

# ---- unique and capped metrics; the change feed ----
# the worker is idle now (caught up): a change naming buyers with dims can only come from the
# backfill, which publishes the rows it wrote after each day's COMMIT (graphql-api's cache)
redis-cli -p "$REDIS_PORT" subscribe "$CHANGES_CHANNEL" >"$TMP/bf_feed.txt" 2>&1 &
EXTRA_PIDS+=($!)
wait_until 10 grep -q '^subscribe$' "$TMP/bf_feed.txt" || bad "redis-cli subscribed to $CHANGES_CHANNEL"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" "$ADMIN" backfill --tenant bf1 --metric buyers \
    --from "$FROM" --to "$TO" >"$TMP/bf4.out" 2>&1 || bad "backfill buyers exits 0"
feed_changes() { # metric granularity: change entries (with dims) on the feed
    grep -o "\"metric\":\"$1\",\"granularity\":\"$2\",\"bucket\":\"[^\"]*\",\"dims\"" \
        "$TMP/bf_feed.txt" | sort -u | wc -l
}
written=$(sed -n 's/.* rows (\([0-9]*\) inserted, \([0-9]*\) updated, .*/\1 \2/p' "$TMP/bf4.out" | tail -1)
check "the backfill wrote buyers rows (got: $written)" test "${written:-0 0}" != "0 0"
check "the backfill announced buyers' DAY rows on the change feed" \
    wait_eval 10 '(($(feed_changes buyers DAY) > 0))'
check "... and its HOUR rows (one change per written hour bucket at least)" \
    wait_eval 10 '(($(feed_changes buyers HOUR) > 0))'
REDIS_URL="redis://127.0.0.1:1/0" "$ADMIN" backfill --tenant bf1 --metric capped \
    --from "$FROM" --to "$TO" >"$TMP/bf5.out" 2>&1 || bad "backfill capped exits 0"
check "with Redis unreachable the backfill still completes and says what is not published" \
    grep -q "change-feed message(s) not published" "$TMP/bf5.out"
check "unique: every row has a sketch and counts every event" test "$(sql "
    SELECT bool_and(hll IS NOT NULL) AND sum(cnt) = $((N + 3000)) FROM rollups_daily WHERE tenant_id = 'bf1' AND metric = 'buyers'")" = t
unique_rows() {
    sql "SELECT 'Q', (extract(epoch FROM bucket) * 1000)::int8, cnt, encode(hll, 'hex') FROM rollups_15m
           WHERE tenant_id = 'bf1' AND metric = 'buyers'
         UNION ALL SELECT 'H', (extract(epoch FROM bucket) * 1000)::int8, cnt, encode(hll, 'hex') FROM rollups_hourly
           WHERE tenant_id = 'bf1' AND metric = 'buyers'
         UNION ALL SELECT 'D', (extract(epoch FROM bucket) * 1000)::int8, cnt, encode(hll, 'hex') FROM rollups_daily
           WHERE tenant_id = 'bf1' AND metric = 'buyers'" | tr '|' '\t' >"$TMP/unique.tsv"
    node "$GEN" unique "$TMP/unique.tsv" "$TMP/gen/a.txt" "$TMP/gen/b.txt" >"$TMP/unique.txt"
    local rc=$?
    say "$(tail -n 1 "$TMP/unique.txt")"
    ((rc == 0)) || sed 's/^/#   /' "$TMP/unique.txt"
    return "$rc"
}
check "unique (buyers): every 15m/hourly/daily sketch holds exactly its distinct users; all days merged estimate them within 2 %" unique_rows
check "cap 2: at most 2 countries + __other__ per UTC day, totals preserved" test "$(sql "
    SELECT bool_and(n <= 2) AND sum(c) = $((N + 3000)) FROM (
      SELECT bucket, count(*) FILTER (WHERE dims->>'country' <> '__other__') n, sum(cnt) c
      FROM rollups_daily WHERE tenant_id = 'bf1' AND metric = 'capped' GROUP BY bucket) d")" = t
check "cap registry: at most 2 values per day" test "$(sql "
    SELECT coalesce(max(n), 0) <= 2 FROM (SELECT count(*) n FROM rollup_dim_values
      WHERE tenant_id = 'bf1' AND metric = 'capped' GROUP BY day, dim) r")" = t
check "hourly capped rows add up to the daily ones per country" test "$(sql "
    SELECT count(*) FROM (SELECT date_trunc('day', bucket AT TIME ZONE 'UTC') d, dims, sum(cnt) c
                          FROM rollups_hourly WHERE tenant_id = 'bf1' AND metric = 'capped' GROUP BY 1, 2) h
    FULL JOIN (SELECT bucket AT TIME ZONE 'UTC' d, dims, cnt c FROM rollups_daily
               WHERE tenant_id = 'bf1' AND metric = 'capped') y USING (d, dims) WHERE h.c IS DISTINCT FROM y.c")" = 0
before=$(fingerprint)
"$ADMIN" backfill --tenant bf1 --metric capped --from "$FROM" --to "$TO" >/dev/null 2>&1 &&
"$ADMIN" backfill --tenant bf1 --metric buyers --from "$FROM" --to "$TO" >/dev/null 2>&1 ||
    bad "repeat backfills exit 0"
check "repeating the capped and unique backfills changes nothing" test "$(fingerprint)" = "$before"
TOTALS=$(sql "$(cat "$ROOT/tests/integration/lib/totals.sql")")
check "after backfills beside live batches, bucket totals equal their rows ($TOTALS: mismatches, totals)" \
    test "${TOTALS%% *}" = 0 -a "${TOTALS##* }" -gt 0

# ---- refusals change nothing ----
OLD=$(date -u -d '@'$(((NOW / 1000) - 40 * 86400)) +%Y-%m-%d)
out=$("$ADMIN" backfill --tenant bf1 --metric revenue --from "$OLD" --to "$TO" 2>&1)
rc=$?
check "a range past raw retention exits 1 with a clear error" \
    bash -c '[[ $1 == 1 ]] && grep -q "past raw-event retention (raw_events keeps 30 days" <<<"$2"' _ "$rc" "$out"
say "$out"
"$ADMIN" backfill --tenant bf1 --metric revenue --from "$TO" --to "$FROM" >/dev/null 2>&1
check "--from after --to is a usage error (exit 2)" test $? = 2
"$ADMIN" backfill --tenant nobody --metric revenue --from "$FROM" --to "$TO" >/dev/null 2>&1
check "an unknown tenant exits 1" test $? = 1
"$ADMIN" backfill --tenant bf1 --metric revenue >/dev/null 2>&1
check "missing --from/--to is a usage error (exit 2)" test $? = 2
# raw events missing (as with WORKER_STORE_RAW=false): refused, not replaced by smaller numbers
sql "DELETE FROM raw_events WHERE ctid IN (SELECT ctid FROM raw_events WHERE tenant_id = 'bf1' LIMIT 5)" >/dev/null
out=$("$ADMIN" backfill --tenant bf1 --metric revenue --from "$FROM" --to "$TO" 2>&1)
rc=$?
check "a day with fewer raw events than the worker counted is refused (exit 1)" \
    bash -c '[[ $1 == 1 ]] && grep -q "the worker counted .* (raw events missing" <<<"$2"' _ "$rc" "$out"
say "$(grep 'could not' <<<"$out")"
check "refused runs changed nothing" test "$(fingerprint)" = "$before"
check "worker exits 0 on SIGTERM" ws_term w1
