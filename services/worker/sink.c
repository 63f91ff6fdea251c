/*
 * sink.c — the exactly-once commit protocol of the worker: claim, fence, one transaction per
 * batch, retries and isolating a poison event. Not for: Kafka (consumer.c), the batch's memory
 * and COPY rows (batch.c), dedup (dedup.c), aggregation and the rollup row writer
 * (lib/rollup), alerts (alertsql.c), closing and maintenance (closer.c), Redis (changefeed.c).
 *
 *   assign ──▶ claim (1) ──▶ seek(next_offset) ──▶ poll ─▶ batch ─▶ commit (2)(3) ─▶ publish (8)
 *                 ▲                                                     │
 *                 └──────────── fenced: drop batch part, re-claim ◀─────┘
 *
 *   commit = BEGIN; stored positions (5)(6); group watermark; dedup keys (4); classify late /
 *            too late (5); prepare events + advisory locks for HLL and caps (7); COPY raw
 *            events, aggregating in memory while PostgreSQL inserts them; merge HLL; upsert
 *            rollups 15m/hour/day (7); alerts of restated closed hour/day buckets (10); cap
 *            registry; dead letters (9); fence + offsets + watermarks (2); COMMIT
 *   close  = BEGIN; UPDATE closed 15m/hour/day; alerts of the closed hour/day buckets ->
 *            alert_events (10); COMMIT; publish closed buckets + fired alerts (8)   [closer.c]
 *
 * Invariants (transition -> function):
 *  1. Claim (wk_sink_claim). On assignment a consumer claims each partition with one
 *     autocommitted statement that increments consumer_offsets.generation (creating the row with
 *     next_offset 0) and returns next_offset, generation and watermark. It seeks to next_offset;
 *     offsets committed to Kafka are never read.
 *  2. Fence (write_offsets). A batch commits only if, for EVERY partition in it,
 *     UPDATE consumer_offsets SET next_offset = last+1 .. WHERE generation = <ours> matches its
 *     row; otherwise it ROLLS BACK. A consumer that lost a partition can therefore never commit
 *     rows for it. The claim and the fence write the same row, so PostgreSQL's row lock orders
 *     them: a claim waits for an in-flight commit and then returns what that commit stored.
 *  3. Atomicity (try_commit). Dedup keys, raw events, rollup rows, dead letters and the offsets
 *     of a batch are written in ONE transaction: after a crash at any point (kill -9) the stored
 *     offsets point exactly after the last committed batch, and the next owner replays the rest.
 *  4. Dedup (dedup.c, wk_dedup_run). An event counts only if its (tenant, event_id) key was
 *     inserted into event_dedup by this transaction; the table's primary key decides. The keys
 *     are COPYed in key order: optimistically under a savepoint, and when that meets a stored
 *     key (unique_violation), the stored keys are looked up and only the others COPYed. A key
 *     another transaction stores meanwhile fails the COPY again, and the batch is retried.
 *     Within a batch the first occurrence in poll order wins (wk_batch_seal). Keys older than
 *     the dedup window are deleted by maintenance.
 *  5. Determinism (read_positions, classify). What decides how an event counts — dedup keys,
 *     the partition's highest event time (consumer_offsets.watermark), the partitions that
 *     exist — is committed with the offsets or re-read per attempt, so a replay or a retried
 *     attempt decides like the lost one. Per-partition state in memory (wk_pstate) changes only
 *     after COMMIT succeeded (apply_committed).
 *  6. Order. Per partition, messages are committed in offset order; a message below the stored
 *     next_offset is skipped (already committed). The consumer decodes the next batch while this
 *     one commits (committer.c), but one batch at most is in flight and batches commit in the
 *     order they were polled; when a commit gives up (stop while PostgreSQL is down), the batch
 *     polled after it is dropped too, never committed past it.
 *  7. Lock order. Rollup rows are upserted sorted by (table, tenant, metric, bucket, dims), and the
 *     advisory locks (ea_rollup_lock_key) guarding HLL read-merge-write and the admission of new
 *     dimension values under a cardinality cap are all taken in one statement, in key order,
 *     before any rollup row is locked (lib/rollup ea_rollup_locks_take), so workers never
 *     deadlock on each other. A deadlock with the bucket closer or any transient error rolls
 *     back and retries the same batch.
 *  8. Publish after commit. The change feed is published only after COMMIT returned; a failed
 *     publish is logged and counted and never blocks or undoes counting. The closer publishes
 *     the (metric, granularity, bucket) it closed the same way, after its transaction (10)
 *     committed; a row created already closed is announced only as a change.
 *  9. Nothing is lost silently (wk_batch_store_dead). An event that cannot be counted (undecodable,
 * too late, past retention, rejected alone by PostgreSQL) is written to dead_letters with its
 *     reason, partition and offset by the same transaction that moves the offset past it. A
 *     batch that PostgreSQL rejects for its data is split in halves until the one event at
 *     fault is found (commit_range).
 * 10. Alerts fire with the transaction that closes their bucket (closer.c, alertsql.c). The
 *     closer (one worker at a time: a session advisory lock) closes the rows of all three
 *     granularities and evaluates the enabled alerts on the HOUR/DAY buckets it closed in ONE
 *     transaction; a batch whose late events wrote rows of already closed HOUR/DAY buckets
 *     (restatements: rows created closed or updated while closed) evaluates those buckets in
 *     the batch transaction. Evaluation: value of the rows matching the alert's filter
 *     (dims @> filter) as graphql-api computes it (ea_rollup_value), compared with the
 *     threshold, INSERT INTO alert_events ON CONFLICT DO NOTHING in (tenant, alert, bucket)
 *     order. So a bucket is recorded as fired at most once per (alert, filter) — also when a
 *     restatement or a later row makes it be evaluated again, by any worker — and only together
 *     with the close or restatement that made it fire: a rolled back transaction takes its
 *     alert_events rows with it and the retry redoes both. Only rows the committed transaction
 *     inserted are published on ea:alerts, after COMMIT (8).
 * 11. Metric names (lib/catalog, docs/ARCHITECTURE.md "Metric names"). Every batch takes the
 *     metric-names advisory lock SHARED as its first statement, before reading the definitions
 *     version; catalog changes to definitions take it exclusively. So a batch counts with the
 *     definitions as they are for its whole transaction, and records the event names it counts
 *     in event_names (wk_batch_store_names) in the same transaction — "events seen" is exact when a
 *     definition is checked against it, and a rename/delete never runs beside a batch.
 */
#include "sink.h"
#include "alertsql.h"
#include "dedup.h"
#include "ea_catalog.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_pg_params.h"
#include "ea_rollup_agg.h"
#include "ea_rollup_write.h"
#include "ea_rollup_watermark.h"
#include "ea_time.h"
#include "partitions.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wk_sink {
    const wk_config *cfg;
    wk_stats *stats;
    PGconn *conn;
    ea_rollup_defs *defs;
    long long defs_version; /* metric_definitions_version of s->defs; -1 before the first load */
    wk_parts *parts;
    ea_rollup_caps *caps;
    ea_rollup_agg *agg;
    ea_rollup_locks *locks;
    wk_dedup *dedup;
    wk_closer closer;          /* idle watermarks, closing, maintenance; holds the publishers */
    ea_arena *attempt;         /* per attempt: map keys, prepared events, rows, change list */
    ea_pg_params *pp;          /* the parameters of the statement being built */
    ea_buf rows;               /* COPY data gathered for the raw events */
    ea_rollup_changes changes; /* hour/day rows the attempt wrote (strings in attempt) */
    wk_fired_list fired;       /* alert_events rows the current batch attempt inserted (10) */
    bool copy_inflight;        /* a raw-events COPY was started and not finished */
};

/* Per-partition scratch of one attempt, parallel to st[]. */
struct pscratch {
    bool present;
    int64_t last_offset;
    int64_t high_ms;
};

static void rollback(wk_sink *s)
{
    PGresult *res = PQexec(s->conn, "ROLLBACK");
    PQclear(res);
}

/* ---- lifecycle ---- */

wk_sink *wk_sink_new(const wk_config *cfg, wk_stats *stats)
{
    wk_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    s->stats = stats;
    ea_buf_init(&s->rows, EA_PG_VALUE_MAX);
    s->parts = wk_parts_new(cfg->store_raw);
    s->caps = ea_rollup_caps_new();
    s->agg = ea_rollup_agg_new();
    s->locks = ea_rollup_locks_new();
    s->dedup = wk_dedup_new(stats);
    s->attempt = ea_arena_new(1 << 20);
    s->pp = ea_pg_params_new();
    s->defs = ea_rollup_defs_new();
    s->defs_version = -1;
    s->changes.a = s->attempt;
    wk_closer_init(&s->closer, cfg, stats);
    if (s->parts == NULL || s->caps == NULL || s->agg == NULL || s->locks == NULL ||
        s->dedup == NULL || s->attempt == NULL || s->pp == NULL || s->defs == NULL) {
        wk_sink_free(s);
        return NULL;
    }
    return s;
}

void wk_sink_free(wk_sink *s)
{
    if (s == NULL)
        return;
    if (s->conn != NULL)
        PQfinish(s->conn);
    wk_parts_free(s->parts);
    ea_rollup_caps_free(s->caps);
    ea_rollup_agg_free(s->agg);
    ea_rollup_locks_free(s->locks);
    wk_dedup_free(s->dedup);
    ea_arena_free(s->attempt);
    ea_pg_params_free(s->pp);
    ea_rollup_defs_free(s->defs);
    ea_buf_free(&s->rows);
    ea_rollup_changes_free(&s->changes);
    wk_fired_free(&s->fired);
    free(s);
}

void wk_sink_set_publisher(wk_sink *s, wk_publish_fn fn, void *ctx)
{
    s->closer.publish = fn;
    s->closer.publish_ctx = ctx;
}

void wk_sink_set_alert_publisher(wk_sink *s, wk_alert_fn fn, void *ctx)
{
    s->closer.alert_publish = fn;
    s->closer.alert_ctx = ctx;
}

/* /readyz's PostgreSQL part follows the last interaction. */
static void set_healthy(wk_sink *s, bool ok)
{
    wk_stats_set_ready(s->stats, WK_READY_PG, ok);
}

ea_rc wk_sink_connect(wk_sink *s, struct ea_err *err)
{
    if (s->conn != NULL && !ea_pg_is_broken(s->conn))
        return EA_OK;
    if (s->conn != NULL) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    s->conn = ea_pg_connect(s->cfg->database_url, err);
    if (s->conn == NULL) {
        set_healthy(s, false);
        if (err != NULL) /* /readyz says why: certificate, host name, password, refused ... */
            wk_stats_set_unready(s->stats, WK_READY_PG, err->message);
        return EA_ERR_UNAVAILABLE;
    }
    /* A statement stuck behind a lock for this long is better retried than waited on. */
    ea_rc rc = ea_pg_exec(s->conn,
                          "SET statement_timeout = '60s'; SET application_name = 'ea-worker'", err);
    if (rc == EA_OK)
        rc = wk_parts_refresh(s->parts, s->conn, err);
    set_healthy(s, rc == EA_OK);
    return rc;
}

ea_rc wk_sink_refresh_defs(wk_sink *s, bool force, struct ea_err *err)
{
    /* one primary-key read; definitions reload only when their version moved (0003) */
    PGresult *res = ea_pg_query(s->conn, "SELECT version FROM metric_definitions_version", 0, NULL,
                                PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    long long version = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    if (!force && version == s->defs_version)
        return EA_OK;
    ea_rollup_defs *d = ea_rollup_defs_load(s->conn, NULL, NULL, err);
    if (d == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    ea_log_info("metric-definitions", "loaded %zu metric definitions (version %lld)",
                ea_rollup_defs_count(d), version);
    ea_rollup_defs_free(s->defs);
    s->defs = d;
    s->defs_version = version;
    return EA_OK;
}

/* ---- (1) claim ---- */

ea_rc wk_sink_claim(wk_sink *s, int32_t partition, wk_pstate *st, struct ea_err *err)
{
    ea_pg_params_reset(s->pp);
    ea_pg_params_text(s->pp, s->cfg->group_id);
    ea_pg_params_text(s->pp, s->cfg->kafka.topic);
    ea_pg_params_i64(s->pp, partition);
    PGresult *res = ea_pg_params_exec(
        s->conn,
        "INSERT INTO consumer_offsets AS o (group_id, topic, partition, next_offset, generation) "
        "VALUES ($1, $2, $3::int, 0, 1) "
        "ON CONFLICT (group_id, topic, partition) DO UPDATE "
        "SET generation = o.generation + 1, updated_at = now() "
        "RETURNING next_offset, generation, "
        "(extract(epoch FROM watermark) * 1000)::int8",
        s->pp, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        set_healthy(s, !ea_pg_is_broken(s->conn));
        return err != NULL ? err->code : EA_ERR_DB;
    }
    memset(st, 0, sizeof(*st));
    st->partition = partition;
    st->next_offset = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    st->generation = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    st->high_ms = PQgetisnull(res, 0, 2) ? INT64_MIN
                                         : strtoll(PQgetvalue(res, 0, 2), NULL, 10) +
                                               s->cfg->allowed_lateness_s * 1000;
    st->broker_high = -1;
    PQclear(res);
    return EA_OK;
}

ea_rc wk_sink_rewind(wk_sink *s, wk_pstate *st, int64_t offset, struct ea_err *err)
{
    ea_pg_params_reset(s->pp);
    ea_pg_params_text(s->pp, s->cfg->group_id);
    ea_pg_params_text(s->pp, s->cfg->kafka.topic);
    ea_pg_params_i64(s->pp, st->partition);
    ea_pg_params_i64(s->pp, offset);
    ea_pg_params_i64(s->pp, st->generation);
    PGresult *res = ea_pg_params_exec(s->conn,
                                      "UPDATE consumer_offsets SET next_offset = $4::int8, "
                                      "updated_at = now() WHERE group_id = $1 AND topic = $2 AND "
                                      "partition = $3::int AND generation = $5::int8",
                                      s->pp, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    bool ours = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!ours)
        return ea_err_set(err, EA_ERR_CONFLICT, "partition %d was claimed by another consumer",
                          st->partition);
    st->next_offset = offset;
    return EA_OK;
}

/* ---- (2)(3) one transaction ---- */

static void mark_fenced(wk_pstate *p, int64_t now, const char *what)
{
    p->fenced = true;
    p->reclaim_at_ms = now + 1000;
    char subj[EA_LOG_SUBJECT_MAX];
    ea_log_warn(ea_log_subject_part(subj, p->partition, -1),
                "partition %d fenced (generation %lld is stale): batch %s", p->partition,
                (long long)p->generation, what);
}

/* (5)(6) Re-reads the stored position of our partitions present in the range: a previous
 * attempt whose COMMIT reply was lost may have committed after all; its events are skipped, its
 * watermark used. EA_ERR_CONFLICT when one was claimed by someone else (marked fenced). */
static ea_rc read_positions(wk_sink *s, wk_pstate *st, size_t nst, struct pscratch *ps, int64_t now,
                            struct ea_err *err)
{
    const int64_t allowed = s->cfg->allowed_lateness_s * 1000;
    ea_pg_params_reset(s->pp);
    ea_pg_params_text(s->pp, s->cfg->group_id);
    ea_pg_params_text(s->pp, s->cfg->kafka.topic);
    int parts = ea_pg_params_array(s->pp);
    for (size_t i = 0; i < nst; i++)
        if (ps[i].present)
            ea_pg_array_i64(s->pp, parts, st[i].partition);
    PGresult *res = ea_pg_params_exec(
        s->conn,
        "SELECT partition, next_offset, generation, (extract(epoch FROM watermark) * 1000)::int8 "
        "FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int4[])",
        s->pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    bool fenced = false;
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        int row = -1;
        for (int t = 0; t < PQntuples(res); t++)
            if (strtol(PQgetvalue(res, t, 0), NULL, 10) == st[i].partition)
                row = t;
        if (row < 0 || strtoll(PQgetvalue(res, row, 2), NULL, 10) != st[i].generation) {
            mark_fenced(&st[i], now, "part dropped");
            fenced = true;
            continue;
        }
        int64_t stored = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        char subj[EA_LOG_SUBJECT_MAX];
        if (stored != st[i].next_offset)
            ea_log_warn(ea_log_subject_part(subj, st[i].partition, stored),
                        "partition %d: stored next offset %lld, expected %lld "
                        "(a commit whose reply was lost); resuming from the stored one",
                        st[i].partition, (long long)stored, (long long)st[i].next_offset);
        st[i].next_offset = stored;
        ps[i].high_ms = PQgetisnull(res, row, 3)
                            ? INT64_MIN
                            : strtoll(PQgetvalue(res, row, 3), NULL, 10) + allowed;
        st[i].high_ms = ps[i].high_ms;
        ps[i].present = false; /* recomputed from the events still in the range */
    }
    PQclear(res);
    if (fenced)
        return ea_err_set(err, EA_ERR_CONFLICT, "fenced");
    return EA_OK;
}

/* (5) Decides how each deduplicated event of [lo, hi) counts, in poll order (per partition:
 * offset order): too old (the rule ingest applies, on the message's received_at: only a message
 * that did not come through ingest can be) is a dead letter, the rest are COUNTED, prepared for
 * aggregation (dimension values encoded once per attempt) and their locks noted (7). */
static ea_rc classify(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_pstate *st, size_t nst,
                      struct pscratch *ps, wk_batch_report *rep, struct ea_err *err)
{
    const int64_t allowed = s->cfg->allowed_lateness_s * 1000;
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_PARSED)
            continue;
        struct pscratch *sc = &ps[wk_pstate_find(st, nst, ev->partition) - st];
        if (ea_rollup_too_old(ev->ts_ms, ev->received_ms, s->cfg->retention_days)) {
            ev->state = WK_EV_DEAD;
            ev->dead_reason = "too_old";
            continue;
        }
        if (!wk_parts_check(s->parts, ev->ts_ms)) /* creating it failed: retry later */
            return ea_err_set(err, EA_ERR_UNAVAILABLE,
                              "could not create the partitions for partition %d offset %lld",
                              ev->partition, (long long)ev->offset);
        ev->late = ea_rollup_watermark_advance(&sc->high_ms, ev->ts_ms, allowed);
        rep->late += ev->late;
        ev->state = WK_EV_COUNTED;
        rep->counted++;
        ea_rollup_event re = {ev->tenant,     ev->name,       ev->ts_ms,
                              ev->properties, ev->props_text, ev->props_len};
        ev->prep = ea_rollup_prepare(s->defs, &re, s->attempt);
        if (ev->prep == NULL || ea_rollup_locks_note(s->locks, s->caps, ev->prep) != EA_OK)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory preparing events");
    }
    return EA_OK;
}

/* Raw events (when stored) go to PostgreSQL by COPY while the batch is aggregated in memory:
 * the COPY is started non-blocking, pumped every 128 events, and finished before the rows are
 * written. */
static ea_rc aggregate(wk_sink *s, wk_batch *b, size_t lo, size_t hi, int64_t closed_before,
                       wk_batch_report *rep, struct ea_err *err)
{
    ea_rc rc;
    if (s->cfg->store_raw) {
        size_t len;
        const char *rows = wk_batch_rows(b, lo, hi, WK_EV_COUNTED, true, &s->rows, &len);
        if (rows == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory building the raw events");
        if (len > 0) {
            const char *chunks[3] = {ea_pg_copybin_header, rows, ea_pg_copybin_trailer};
            const size_t lens[3] = {sizeof(ea_pg_copybin_header), len,
                                    sizeof(ea_pg_copybin_trailer)};
            s->copy_inflight = true;
            rc = ea_pg_copy_start(s->conn,
                                  "COPY raw_events (tenant_id, event_id, event_name, event_time, "
                                  "received_at, properties, kafka_partition, kafka_offset) "
                                  "FROM STDIN WITH (FORMAT binary)",
                                  chunks, lens, 3, "copy the raw events", err);
            if (rc != EA_OK)
                return rc;
        }
    }
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_COUNTED)
            continue;
        if ((i & 127) == 0 && s->copy_inflight)
            ea_pg_copy_pump(s->conn);
        bool restated = false;
        rc = ea_rollup_agg_add(s->agg, s->caps, ev->prep, closed_before, s->attempt, &restated);
        if (rc != EA_OK)
            return ea_err_set(err, rc, "could not aggregate: %s", ea_rc_name(rc));
        rep->restated += restated;
    }
    if (s->copy_inflight) {
        if ((rc = ea_pg_copy_finish(s->conn, "copy the raw events", err)) != EA_OK)
            return rc;
        s->copy_inflight = false;
    }
    return EA_OK;
}

/* (2) Fence + offsets + watermarks of every partition present. EA_ERR_CONFLICT (partitions
 * marked) when someone claimed one after read_positions. */
static ea_rc write_offsets(wk_sink *s, wk_pstate *st, size_t nst, struct pscratch *ps,
                           size_t npresent, int64_t now, struct ea_err *err)
{
    const int64_t allowed = s->cfg->allowed_lateness_s * 1000;
    ea_pg_params *pp = s->pp;
    ea_pg_params_reset(pp);
    ea_pg_params_text(pp, s->cfg->group_id);
    ea_pg_params_text(pp, s->cfg->kafka.topic);
    int pp_ = ea_pg_params_array(pp), pn = ea_pg_params_array(pp), pw = ea_pg_params_array(pp);
    int pg = ea_pg_params_array(pp);
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        ea_pg_array_i64(pp, pp_, st[i].partition);
        ea_pg_array_i64(pp, pn, ps[i].last_offset + 1);
        if (ps[i].high_ms == INT64_MIN)
            ea_pg_array_null(pp, pw);
        else
            ea_pg_array_ts(pp, pw, ps[i].high_ms - allowed);
        ea_pg_array_i64(pp, pg, st[i].generation);
    }
    PGresult *res = ea_pg_params_exec(
        s->conn,
        "UPDATE consumer_offsets AS o SET next_offset = u.n, "
        "watermark = GREATEST(o.watermark, u.w), updated_at = now() "
        "FROM unnest($3::int4[], $4::int8[], $5::timestamptz[], $6::int8[]) AS u(p, n, w, g) "
        "WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.p AND o.generation = u.g "
        "RETURNING o.partition",
        pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    if ((size_t)PQntuples(res) == npresent) {
        PQclear(res);
        return EA_OK;
    }
    /* someone claimed after read_positions: mark the partitions we lost */
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        bool ok = false;
        for (int t = 0; t < PQntuples(res); t++)
            ok = ok || strtol(PQgetvalue(res, t, 0), NULL, 10) == st[i].partition;
        if (!ok)
            mark_fenced(&st[i], now, "rolled back");
    }
    PQclear(res);
    return ea_err_set(err, EA_ERR_CONFLICT, "fenced");
}

/* After COMMIT: in-memory state (5), stats, publish (8). */
static void apply_committed(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_pstate *st,
                            size_t nst, const struct pscratch *ps, wk_batch_report *rep)
{
    const int64_t allowed = s->cfg->allowed_lateness_s * 1000;
    int64_t done = ea_time_now_ms();
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        st[i].next_offset = ps[i].last_offset + 1;
        st[i].high_ms = ps[i].high_ms;
        /* eof is left alone: the consumer clears it when a message arrives after the end. The
         * end-of-partition event usually arrives while this batch is still collecting; clearing
         * it here lost it for good on a partition that then stays quiet, so its idle watermark
         * never moved and the buckets (and their alerts) behind it never closed. */
        wk_stats_partition(s->stats, st[i].partition, true, st[i].next_offset, st[i].broker_high,
                           st[i].high_ms == INT64_MIN ? INT64_MIN : st[i].high_ms - allowed);
    }
    ea_rollup_caps_commit(s->caps);
    for (size_t i = lo; i < hi; i++)
        if (b->ev[i].state == WK_EV_COUNTED)
            wk_report_fresh(rep, done - b->ev[i].received_ms);
    rep->latency_s = (double)(ea_time_mono_ns() - b->started_ns) / 1e9;
    wk_stats_add_batch(s->stats, rep);
    set_healthy(s, true);
    char subj[EA_LOG_SUBJECT_MAX];
    ea_log_debug(wk_batch_subject(b, 0, b->n, subj),
                 "committed %zu messages: %zu counted, %zu duplicates, %zu dead, %zu rows",
                 rep->messages, rep->counted, rep->duplicates, rep->dead, rep->rows);
    wk_closer *cl = &s->closer;
    if (cl->publish != NULL && s->changes.n > 0)
        cl->publish(cl->publish_ctx, s->changes.v, s->changes.n);
    for (size_t i = 0; i < s->fired.n; i++) {
        snprintf(subj, sizeof(subj), "alert-%lld", s->fired.v[i].alert_id);
        ea_log_info(subj, "alert %lld of tenant %s fired on a restated bucket: %s %s value %.17g",
                    s->fired.v[i].alert_id, s->fired.v[i].tenant, s->fired.v[i].metric,
                    s->fired.v[i].granularity, s->fired.v[i].value);
    }
    if (cl->alert_publish != NULL && s->fired.n > 0)
        cl->alert_publish(cl->alert_ctx, s->fired.v, s->fired.n);
    wk_fired_free(&s->fired);
}

/* One attempt at events [lo, hi). EA_ERR_CONFLICT when a partition was fenced (st marked). */
static ea_rc try_commit(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_pstate *st, size_t nst,
                        struct ea_err *err)
{
    wk_batch_report rep;
    memset(&rep, 0, sizeof(rep));
    /* the aggregate's rows live in the attempt arena: release them (their sketches) before the
     * arena, or a retry after a failed attempt reads freed chunks */
    ea_rollup_agg_reset(s->agg);
    ea_arena_reset(s->attempt);
    ea_rollup_caps_rollback(s->caps);
    ea_rollup_locks_reset(s->locks);
    ea_rollup_changes_clear(&s->changes);
    struct pscratch *ps = ea_arena_calloc(s->attempt, sizeof(*ps) * (nst + 1));
    if (ps == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nst; i++)
        ps[i].high_ms = st[i].high_ms;
    /* reset per-attempt event state */
    int64_t now = ea_time_now_ms();
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped)
            continue;
        if (ev->forced_reason != NULL) {
            ev->state = WK_EV_DEAD;
            ev->dead_reason = ev->forced_reason;
        } else if (ev->root != NULL) {
            ev->state = WK_EV_PARSED;
        }
        ev->late = false;
        ev->prep = NULL;
        wk_pstate *p = wk_pstate_find(st, nst, ev->partition);
        if (p == NULL || p->fenced)
            ev->dropped = true; /* not ours any more */
        else
            ps[p - st].present = true;
    }

    /* (11) the metric-names lock, shared, before the definitions are read: a definition change
     * (lib/catalog, exclusive) never happens while this batch counts */
    ea_rc rc = ea_pg_exec(s->conn, "BEGIN; " EA_CATALOG_SQL_NAMES_LOCK_SHARED, err);
    if (rc != EA_OK) {
        rollback(s);
        return rc;
    }
    /* definitions committed before these events were produced must count them: check the
     * definitions version inside the batch transaction (see migration 0003) */
    if ((rc = wk_sink_refresh_defs(s, false, err)) != EA_OK)
        goto fail;
    if ((rc = read_positions(s, st, nst, ps, now, err)) != EA_OK) {
        if (rc == EA_ERR_CONFLICT)
            wk_stats_inc_fenced(s->stats);
        goto fail;
    }
    size_t npresent = 0;
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped)
            continue;
        wk_pstate *p = wk_pstate_find(st, nst, ev->partition);
        if (ev->offset < p->next_offset) {
            ev->dropped = true; /* already committed */
            continue;
        }
        struct pscratch *sc = &ps[p - st];
        npresent += !sc->present;
        sc->present = true;
        sc->last_offset = ev->offset;
        rep.messages++;
    }
    if (npresent == 0) {
        rollback(s);
        return EA_OK; /* everything was dropped */
    }
    /* buckets ending before the group watermark are closed */
    int64_t closed_before;
    if ((rc = ea_rollup_group_watermark(s->conn, s->cfg->group_id, s->cfg->kafka.topic,
                                        &closed_before, err)) != EA_OK ||
        (rc = wk_dedup_run(s->dedup, s->conn, s->pp, b, lo, hi, s->attempt, &rep.duplicates,
                           err)) != EA_OK ||
        (rc = classify(s, b, lo, hi, st, nst, ps, &rep, err)) != EA_OK ||
        (rc = ea_rollup_locks_take(s->locks, s->conn, s->pp, s->caps, err)) != EA_OK ||
        (rc = aggregate(s, b, lo, hi, closed_before, &rep, err)) != EA_OK)
        goto fail;
    if ((rc = wk_batch_store_names(b, lo, hi, s->conn, s->pp, s->attempt, err)) != EA_OK)
        goto fail;
    size_t nrows;
    ea_rollup_row **rows = ea_rollup_agg_rows(s->agg, &nrows);
    rep.rows = nrows;
    if ((rc = ea_rollup_hll_load(s->conn, s->pp, rows, nrows, err)) != EA_OK ||
        (rc = ea_rollup_write_add(s->conn, s->pp, rows, nrows, &s->changes, err)) != EA_OK ||
        (rc = wk_alerts_eval_restated(s->conn, s->pp, s->changes.v, s->changes.n, &s->fired,
                                      err)) != EA_OK ||
        (rc = ea_rollup_caps_store(s->conn, s->pp, s->caps, NULL, err)) != EA_OK ||
        (rc = wk_batch_store_dead(b, lo, hi, s->conn, s->pp, &rep, err)) != EA_OK)
        goto fail;
    if ((rc = write_offsets(s, st, nst, ps, npresent, now, err)) != EA_OK) {
        if (rc == EA_ERR_CONFLICT)
            wk_stats_inc_fenced(s->stats);
        goto fail;
    }
    if ((rc = ea_pg_exec(s->conn, "COMMIT", err)) != EA_OK) {
        /* the connection may have died in COMMIT: the outcome is unknown. The retry re-reads
         * the stored next_offset first and skips what did commit, so nothing counts twice. */
        set_healthy(s, !ea_pg_is_broken(s->conn));
        return rc;
    }
    apply_committed(s, b, lo, hi, st, nst, ps, &rep);
    return EA_OK;

fail:
    if (s->copy_inflight) { /* the connection is mid-COPY, in an unknown state: drop it */
        PQfinish(s->conn);
        s->conn = NULL;
        s->copy_inflight = false;
    } else {
        rollback(s);
    }
    if (rc == EA_OK)
        rc = err->code != EA_OK ? err->code : EA_ERR_DB;
    return rc;
}

static bool is_transient(const struct ea_err *err, PGconn *c)
{
    if (ea_pg_is_broken(c) || err->code == EA_ERR_UNAVAILABLE || err->code == EA_ERR_NOMEM)
        return true;
    const char *ss = err->sqlstate;
    /* data errors: 21 cardinality, 22 data exception, 23 integrity, 54 program limit */
    if (strncmp(ss, "21", 2) == 0 || strncmp(ss, "22", 2) == 0 || strncmp(ss, "23", 2) == 0 ||
        strncmp(ss, "54", 2) == 0)
        return false;
    return true; /* everything else (connection, deadlock, timeouts, missing table): retry */
}

/* (9) Retries [lo, hi) until it commits: transient errors after a back-off, a data error by
 * halving the range until the one event PostgreSQL rejects is dead-lettered alone. */
static ea_rc commit_range(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_pstate *st, size_t nst,
                          volatile sig_atomic_t *stop, int depth)
{
    long backoff = 100;
    bool refreshed = false;
    for (int attempt = 0;; attempt++) {
        struct ea_err err = {0};
        if (attempt > 0 && stop != NULL && *stop)
            return EA_ERR_UNAVAILABLE;
        ea_rc rc = wk_sink_connect(s, &err);
        if (rc == EA_OK) {
            wk_parts_ensure_batch(s->parts, s->conn, b, lo, hi);
            rc = try_commit(s, b, lo, hi, st, nst, &err);
        }
        if (rc == EA_OK)
            return EA_OK;
        if (rc == EA_ERR_CONFLICT) {
            /* drop the fenced partitions' events and commit the rest */
            bool any = false;
            for (size_t i = lo; i < hi; i++) {
                wk_pstate *p = wk_pstate_find(st, nst, b->ev[i].partition);
                if (p == NULL || p->fenced)
                    b->ev[i].dropped = true;
                else if (!b->ev[i].dropped)
                    any = true;
            }
            if (!any)
                return EA_OK;
            continue;
        }
        wk_stats_inc_db_error(s->stats);
        char subj[EA_LOG_SUBJECT_MAX];
        if (!is_transient(&err, s->conn)) {
            ea_log_warn(wk_batch_subject(b, lo, hi, subj),
                        "batch of %zu rejected (%s %s): isolating the event at fault", hi - lo,
                        err.sqlstate, err.message);
            if (strcmp(err.sqlstate, "23514") == 0 && !refreshed) {
                struct ea_err e2 = {0};
                refreshed = wk_parts_refresh(s->parts, s->conn, &e2) == EA_OK;
                continue;
            }
            if (hi - lo == 1) {
                wk_event *ev = &b->ev[lo];
                if (ev->forced_reason != NULL) {
                    /* even the dead letter was refused: nothing sane is left; keep retrying */
                    ea_log_error(ea_log_subject_part(subj, ev->partition, ev->offset),
                                 "partition %d offset %lld: could not dead-letter: %s",
                                 ev->partition, (long long)ev->offset, err.message);
                    ea_time_sleep_ms(5000);
                    continue;
                }
                ev->forced_reason =
                    strcmp(err.sqlstate, "23514") == 0 ? "past_retention" : "rejected_by_database";
                ea_log_error(ea_log_subject_part(subj, ev->partition, ev->offset),
                             "partition %d offset %lld: rejected by postgresql (%s %s)",
                             ev->partition, (long long)ev->offset, err.sqlstate, err.message);
                continue;
            }
            size_t mid = lo + (hi - lo) / 2;
            rc = commit_range(s, b, lo, mid, st, nst, stop, depth + 1);
            if (rc != EA_OK)
                return rc;
            return commit_range(s, b, mid, hi, st, nst, stop, depth + 1);
        }
        ea_log_warn(wk_batch_subject(b, lo, hi, subj),
                    "batch of %zu not committed (attempt %d): %s%s%s; retrying in %ld ms", hi - lo,
                    attempt + 1, err.message, err.sqlstate[0] ? " sqlstate " : "", err.sqlstate,
                    backoff);
        set_healthy(s, s->conn != NULL && !ea_pg_is_broken(s->conn));
        if (stop != NULL && *stop)
            return EA_ERR_UNAVAILABLE;
        ea_time_sleep_ms(backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
}

ea_rc wk_sink_commit_batch(wk_sink *s, wk_batch *b, wk_pstate *st, size_t nst,
                           volatile sig_atomic_t *stop)
{
    if (b->n == 0)
        return EA_OK;
    return commit_range(s, b, 0, b->n, st, nst, stop, 0);
}

/* ---- between batches: closer.c on the sink's connection ---- */

ea_rc wk_sink_idle_watermarks(wk_sink *s, wk_pstate *st, size_t nst, int64_t now_ms,
                              struct ea_err *err)
{
    return wk_closer_idle_watermarks(&s->closer, s->conn, s->pp, st, nst, now_ms, err);
}

ea_rc wk_sink_close_buckets(wk_sink *s, struct ea_err *err)
{
    return wk_closer_close_buckets(&s->closer, s->conn, s->pp, err);
}

ea_rc wk_sink_maintain(wk_sink *s, struct ea_err *err)
{
    return wk_closer_maintain(&s->closer, s->conn, s->parts, s->caps, err);
}
