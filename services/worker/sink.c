/*
 * sink.c — the exactly-once commit protocol of the worker: claim, fence, one transaction per
 * batch. Not for: Kafka (consumer.c), aggregation arithmetic (processor.c), Redis (changefeed.c).
 *
 *   assign ──▶ claim (1) ──▶ seek(next_offset) ──▶ poll ─▶ batch ─▶ commit (2)(3) ─▶ publish (8)
 *                 ▲                                                     │
 *                 └──────────── fenced: drop batch part, re-claim ◀─────┘
 *
 *   commit = BEGIN; stored positions (5)(6); group watermark; dedup keys (4); classify late /
 *            too late (5); advisory locks for HLL and cardinality caps (7); COPY raw events,
 *            aggregating in memory while PostgreSQL inserts them (raw_start .. raw_finish);
 *            merge HLL; upsert rollups 15m/hour/day (7); cap registry;
 *            dead letters (9); fence + offsets + watermarks (2); COMMIT
 *            (+ alerts of restated closed hour/day buckets (10) after the upserts)
 *   close  = BEGIN; UPDATE closed 15m/hour/day; alerts of the closed hour/day buckets ->
 *            alert_events (10); COMMIT; publish closed buckets + fired alerts (8)
 *
 * Invariants (transition -> function):
 *  1. Claim (wk_sink_claim). On assignment a consumer claims each partition with one
 *     autocommitted statement that increments consumer_offsets.generation (creating the row with
 *     next_offset 0) and returns next_offset, generation and watermark. It seeks to next_offset;
 *     offsets committed to Kafka are never read.
 *  2. Fence (try_commit, step "offsets"). A batch commits only if, for EVERY partition in it,
 *     UPDATE consumer_offsets SET next_offset = last+1 .. WHERE generation = <ours> matches its
 *     row; otherwise it ROLLS BACK. A consumer that lost a partition can therefore never commit
 *     rows for it. The claim and the fence write the same row, so PostgreSQL's row lock orders
 *     them: a claim waits for an in-flight commit and then returns what that commit stored.
 *  3. Atomicity (try_commit). Dedup keys, raw events, rollup rows, dead letters and the offsets
 *     of a batch are written in ONE transaction: after a crash at any point (kill -9) the stored
 *     offsets point exactly after the last committed batch, and the next owner replays the rest.
 *  4. Dedup (step_dedup). An event counts only if its (tenant, event_id) key was inserted into
 *     event_dedup by this transaction; the table's primary key decides. The keys are COPYed in
 *     key order: optimistically under a savepoint, and when that meets a stored key
 *     (unique_violation), the stored keys are looked up and only the others COPYed. A key another
 *     transaction stores meanwhile fails the COPY again, and the batch is retried. Within a batch
 *     the first occurrence in poll order wins (wk_batch_seal). Keys older than the dedup window
 *     are deleted by maintenance.
 *  5. Determinism. What decides how an event counts — dedup keys, the partition's highest event
 *     time (consumer_offsets.watermark), the partitions that exist — is committed with the
 *     offsets or re-read per attempt, so a replay or a retried attempt decides like the lost one.
 *     Per-partition state in memory (wk_pstate) changes only after COMMIT succeeded.
 *  6. Order. Per partition, messages are committed in offset order; a message below the stored
 *     next_offset is skipped by the consumer (already committed). The consumer decodes the next
 *     batch while this one commits (committer.c), but one batch at most is in flight and
 *     batches commit in the order they were polled; when a commit gives up (stop while
 *     PostgreSQL is down), the batch polled after it is dropped too, never committed past it.
 *  7. Lock order. Rollup rows are upserted sorted by (table, tenant, metric, bucket, dims), and the
 *     advisory locks (ea_rollup_lock_key) guarding HLL read-merge-write and the admission of new
 *     dimension values under a cardinality cap are all taken in one statement, in key order,
 *     before any rollup row is locked, so workers never deadlock on each other. A deadlock with
 *     the bucket closer or any transient error rolls back and retries the same batch.
 *  8. Publish after commit. The change feed is published only after COMMIT returned; a failed
 *     publish is logged and counted and never blocks or undoes counting. The closer
 *     (wk_sink_close_buckets) publishes the (metric, granularity, bucket) it closed the same way,
 *     after its transaction (10) committed; a row created already closed is announced only as a
 *     change.
 *  9. Nothing is lost silently. An event that cannot be counted (undecodable, too late, past
 *     retention, rejected alone by PostgreSQL) is written to dead_letters with its reason,
 *     partition and offset by the same transaction that moves the offset past it. A batch that
 *     PostgreSQL rejects for its data is split in halves until the one event at fault is found.
 * 10. Alerts fire with the transaction that closes their bucket (wk_sink_close_buckets,
 *     step_alerts, close_eval_alerts). The closer (one worker at a time: session advisory lock
 *     CLOSER_LOCK_KEY) closes the rows of all three granularities and evaluates the enabled
 *     alerts on the HOUR/DAY buckets it closed in ONE transaction; a batch whose late events
 *     wrote rows of already closed HOUR/DAY buckets (restatements: rows created closed or
 *     updated while closed) evaluates those buckets in the batch transaction. Evaluation: value
 *     of the rows matching the alert's filter (dims @> filter) computed like graphql-api
 *     (alerts.c), compared with the threshold, INSERT INTO alert_events ON CONFLICT DO NOTHING
 *     in (tenant, alert, bucket) order. So a bucket is recorded as fired at most once per
 *     (alert, filter) — also when a restatement or a later row makes it be evaluated again, by
 *     any worker — and only together with the close or restatement that made it fire: a rolled
 *     back transaction takes its alert_events rows with it and the retry redoes both. Only rows
 *     the committed transaction inserted are published on ea:alerts, after COMMIT (8).
 * 11. Metric names (lib/catalog, docs/ARCHITECTURE.md "Metric names"). Every batch takes the
 *     metric-names advisory lock SHARED as its first statement, before reading the definitions
 *     version; catalog changes to definitions take it exclusively. So a batch counts with the
 *     definitions as they are for its whole transaction, and records the event names it counts
 *     in event_names (step_events_seen) in the same transaction — "events seen" is exact when
 *     a definition is checked against it, and a rename/delete never runs beside a batch.
 */
#include "sink.h"
#include "alerts.h"
#include "dims.h"
#include "ea_catalog.h"
#include "ea_hll.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "partitions.h"
#include "ea_pg_buf.h"
#include "strmap.h"
#include "watermark.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPARAM 12
/* After a batch held a replayed event, this many batches look their dedup keys up before
 * COPYing them (replays come in bursts: a client retrying, a producer re-sending). */
#define DEDUP_LOOKUP_BATCHES 16
#define CLOSER_LOCK_KEY "7305230303425315957"

/* The alert_events rows one transaction inserted, published after its COMMIT (10). */
typedef struct fired_list {
    wk_alert_fired *v;
    size_t n, cap;
} fired_list;
static void fired_free(fired_list *f);

struct wk_sink {
    const wk_config *cfg;
    wk_stats *stats;
    PGconn *conn;
    bool healthy;
    wk_defs *defs;
    long long defs_version; /* metric_definitions_version of s->defs; -1 before the first load */
    wk_parts *parts;
    wk_capset *caps;
    wk_agg *agg;
    ea_arena *attempt; /* per attempt: map keys, rows, change list */
    ea_pg_buf pb[NPARAM];
    wk_map keys;  /* dedup: tenant\0event_id -> wk_event* */
    wk_map names; /* events seen (11): tenant\0event name, per attempt */
    wk_publish_fn publish;
    void *publish_ctx;
    wk_alert_fn alert_publish;
    void *alert_ctx;
    fired_list fired;          /* alert_events rows the current batch attempt inserted (10) */
    int64_t closed_through_ms; /* group watermark at the last close, INT64_MIN: never */
    int dedup_lookups;         /* batches left that look their keys up first (step_dedup) */
    bool copy_inflight;        /* raw_start sent a COPY that raw_finish has not collected */
};

/* ---- small helpers ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void iso(int64_t ms, char buf[48])
{
    ea_time_format_iso8601(ms, buf);
}

static wk_pstate *find_st(wk_pstate *st, size_t nst, int32_t partition)
{
    for (size_t i = 0; i < nst; i++)
        if (st[i].partition == partition)
            return &st[i];
    return NULL;
}

static void rollback(wk_sink *s)
{
    PGresult *res = PQexec(s->conn, "ROLLBACK");
    PQclear(res);
}

/* Array literal builders: '{' elem ',' elem '}' */
static void arr_open(ea_pg_buf *b)
{
    ea_pg_buf_reset(b);
    ea_pg_buf_putc(b, '{');
}
static void arr_sep(ea_pg_buf *b)
{
    if (b->len > 1)
        ea_pg_buf_putc(b, ',');
}
static void arr_str(ea_pg_buf *b, const char *s, size_t n)
{
    arr_sep(b);
    ea_pg_buf_array_elem(b, s, n);
}
static void arr_cstr(ea_pg_buf *b, const char *s)
{
    if (s == NULL) {
        arr_sep(b);
        ea_pg_buf_puts(b, "NULL");
        return;
    }
    arr_str(b, s, strlen(s));
}
static void arr_i64(ea_pg_buf *b, int64_t v)
{
    arr_sep(b);
    ea_pg_buf_put_i64(b, v);
}
static void arr_f64(ea_pg_buf *b, double v, bool null)
{
    arr_sep(b);
    if (null)
        ea_pg_buf_puts(b, "NULL");
    else
        ea_pg_buf_printf(b, "%.17g", v);
}
static void arr_ts(ea_pg_buf *b, int64_t ms)
{
    arr_sep(b);
    ea_pg_buf_put_ts(b, ms);
}
static void arr_close(ea_pg_buf *b)
{
    ea_pg_buf_putc(b, '}');
}

static bool params_oom(wk_sink *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s->pb[i].oom)
            return true;
    return false;
}

static const char *const *param_ptrs(wk_sink *s, const char *out[NPARAM], int n)
{
    for (int i = 0; i < n; i++)
        out[i] = s->pb[i].p;
    return out;
}

/* ---- lifecycle ---- */

wk_sink *wk_sink_new(const wk_config *cfg, wk_stats *stats)
{
    wk_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    s->stats = stats;
    s->parts = wk_parts_new(cfg->store_raw);
    s->caps = wk_capset_new();
    s->agg = wk_agg_new();
    s->attempt = ea_arena_new(1 << 20);
    s->defs = wk_defs_new();
    s->defs_version = -1;
    s->closed_through_ms = INT64_MIN;
    if (s->parts == NULL || s->caps == NULL || s->agg == NULL || s->attempt == NULL ||
        s->defs == NULL) {
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
    wk_capset_free(s->caps);
    wk_agg_free(s->agg);
    ea_arena_free(s->attempt);
    wk_defs_free(s->defs);
    for (int i = 0; i < NPARAM; i++)
        ea_pg_buf_free(&s->pb[i]);
    wk_map_free(&s->keys);
    wk_map_free(&s->names);
    fired_free(&s->fired);
    free(s);
}

void wk_sink_set_publisher(wk_sink *s, wk_publish_fn fn, void *ctx)
{
    s->publish = fn;
    s->publish_ctx = ctx;
}

void wk_sink_set_alert_publisher(wk_sink *s, wk_alert_fn fn, void *ctx)
{
    s->alert_publish = fn;
    s->alert_ctx = ctx;
}

bool wk_sink_healthy(const wk_sink *s)
{
    return s->healthy;
}

static void set_healthy(wk_sink *s, bool ok)
{
    s->healthy = ok;
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
    wk_defs *d = wk_defs_load(s->conn, err);
    if (d == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    ea_log_info("defs", "loaded %zu metric definitions (version %lld)", wk_defs_count(d), version);
    wk_defs_free(s->defs);
    s->defs = d;
    s->defs_version = version;
    return EA_OK;
}

/* ---- (1) claim ---- */

ea_rc wk_sink_claim(wk_sink *s, int32_t partition, wk_pstate *st, struct ea_err *err)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", partition);
    const char *params[3] = {s->cfg->group_id, s->cfg->kafka_topic, p};
    PGresult *res = ea_pg_query(
        s->conn,
        "INSERT INTO consumer_offsets AS o (group_id, topic, partition, next_offset, generation) "
        "VALUES ($1, $2, $3::int, 0, 1) "
        "ON CONFLICT (group_id, topic, partition) DO UPDATE "
        "SET generation = o.generation + 1, updated_at = now() "
        "RETURNING next_offset, generation, "
        "(extract(epoch FROM watermark) * 1000)::int8",
        3, params, PGRES_TUPLES_OK, err);
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
    char p[16], off[24], gen[24];
    snprintf(p, sizeof(p), "%d", st->partition);
    snprintf(off, sizeof(off), "%lld", (long long)offset);
    snprintf(gen, sizeof(gen), "%lld", (long long)st->generation);
    const char *params[5] = {s->cfg->group_id, s->cfg->kafka_topic, p, off, gen};
    PGresult *res = ea_pg_query(s->conn,
                                "UPDATE consumer_offsets SET next_offset = $4::int8, "
                                "updated_at = now() WHERE group_id = $1 AND topic = $2 AND "
                                "partition = $3::int AND generation = $5::int8",
                                5, params, PGRES_COMMAND_OK, err);
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

/* Payload text of a dead event: the raw message, or the decoded one re-serialized. */
static void dead_payload(ea_pg_buf *b, const wk_event *ev)
{
    if (ev->payload != NULL) {
        ea_pg_buf_utf8_sanitize(b, ev->payload, ev->payload_len);
        return;
    }
    char *txt = ev->root != NULL ? json_dumps(ev->root, JSON_COMPACT) : NULL;
    if (txt != NULL) {
        ea_pg_buf_utf8_sanitize(b, txt, strlen(txt));
        free(txt);
    }
}

static ea_rc exec_params(wk_sink *s, const char *sql, int n, ExecStatusType expect, PGresult **out,
                         struct ea_err *err)
{
    const char *pp[NPARAM];
    if (params_oom(s, n))
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory building parameters");
    PGresult *res = ea_pg_query(s->conn, sql, n, param_ptrs(s, pp, n), expect, err);
    if (res == NULL)
        return err->code;
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return EA_OK;
}

/* COPY ... FROM STDIN of the text-format rows data[0..len). */
static ea_rc copy_in(wk_sink *s, const char *sql, const char *data, size_t len, const char *what,
                     struct ea_err *err)
{
    if (len > INT_MAX)
        return ea_err_set(err, EA_ERR_LIMIT, "%s: %zu bytes in one batch", what, len);
    PGresult *res = PQexec(s->conn, sql);
    ea_rc rc = ea_pg_result_check(res, PGRES_COPY_IN, what, err);
    PQclear(res);
    if (rc != EA_OK)
        return rc;
    if (PQputCopyData(s->conn, data, (int)len) != 1 || PQputCopyEnd(s->conn, NULL) != 1)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not send the %s: %s", what,
                          PQerrorMessage(s->conn));
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (rc == EA_OK)
            rc = ea_pg_result_check(res, PGRES_COMMAND_OK, what, err);
        PQclear(res);
    }
    return rc;
}

/* ---- COPY rows: built while decoding (consumer thread), gathered at commit ---- */

static void key_row(ea_pg_buf *o, const wk_event *ev)
{
    ea_pg_buf_copy_field(o, ev->tenant, strlen(ev->tenant));
    ea_pg_buf_putc(o, '\t');
    ea_pg_buf_copy_field(o, ev->event_id, strlen(ev->event_id));
    ea_pg_buf_putc(o, '\n');
}

/* One raw_events row in COPY binary format (the stream's header and trailer are added by
 * raw_start). */
static void raw_row(ea_pg_buf *o, const wk_event *ev)
{
    ea_pg_copybin_tuple(o, 8);
    ea_pg_copybin_text(o, ev->tenant, strlen(ev->tenant));
    ea_pg_copybin_text(o, ev->event_id, strlen(ev->event_id));
    ea_pg_copybin_text(o, ev->name, strlen(ev->name));
    ea_pg_copybin_timestamptz(o, ev->ts_ms);
    ea_pg_copybin_timestamptz(o, ev->received_ms);
    if (ev->props_text != NULL) {
        /* the message's own text: jansson already validated it (no re-serialization) */
        ea_pg_copybin_jsonb(o, ev->props_text, ev->props_len);
    } else {
        char *props = json_dumps(ev->properties, JSON_COMPACT);
        if (props == NULL) {
            o->oom = true;
            return;
        }
        ea_pg_copybin_jsonb(o, props, strlen(props));
        free(props);
    }
    ea_pg_copybin_i32(o, ev->partition);
    ea_pg_copybin_i64(o, ev->offset);
}

void wk_batch_prepare(wk_batch *b, wk_event *ev, bool store_raw)
{
    ev->key_len = ev->raw_len = 0;
    if (ev->state != WK_EV_PARSED)
        return;
    ev->key_off = b->key_rows.len;
    key_row(&b->key_rows, ev);
    if (!b->key_rows.oom)
        ev->key_len = b->key_rows.len - ev->key_off;
    if (store_raw) {
        ev->raw_off = b->raw_rows.len;
        raw_row(&b->raw_rows, ev);
        if (!b->raw_rows.oom)
            ev->raw_len = b->raw_rows.len - ev->raw_off;
    }
}

void wk_batch_reset_rows(wk_batch *b)
{
    ea_pg_buf_reset(&b->raw_rows);
    ea_pg_buf_reset(&b->key_rows);
    b->raw_rows.oom = b->key_rows.oom = false;
    b->key_order = NULL; /* was in the arena */
    b->nkey_order = 0;
}

struct key_ref {
    const char *p;
    size_t len;
    uint32_t idx;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx); /* equal keys: poll order */
}

void wk_batch_seal(wk_batch *b)
{
    b->key_order = NULL;
    b->nkey_order = 0;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->ev[i].key_len > 0;
    if (n < 2 || b->n > UINT32_MAX)
        return;
    struct key_ref *refs = malloc(n * sizeof(*refs));
    uint32_t *order = ea_arena_alloc(b->arena, n * sizeof(*order));
    if (refs == NULL || order == NULL) { /* unsorted is only slower */
        free(refs);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        b->ev[i].repeat = false;
        if (b->ev[i].key_len > 0)
            refs[k++] =
                (struct key_ref){b->key_rows.p + b->ev[i].key_off, b->ev[i].key_len, (uint32_t)i};
    }
    qsort(refs, n, sizeof(*refs), key_ref_cmp);
    for (size_t i = 0; i < n; i++) {
        order[i] = refs[i].idx;
        /* equal keys are adjacent, the first polled first: the others are repeats (4) */
        b->ev[refs[i].idx].repeat = i > 0 && refs[i].len == refs[i - 1].len &&
                                    memcmp(refs[i].p, refs[i - 1].p, refs[i].len) == 0;
    }
    free(refs);
    b->key_order = order;
    b->nkey_order = n;
}

/* The COPY text of the events of [lo, hi) in state `want`: their prepared rows (`raw`: raw_events,
 * else event_dedup), pointed at in place when they are one run of the buffer (the usual case:
 * every event of the batch counts), else gathered into out. An event without a prepared row
 * (not prepared, or out of memory then) gets it built here. *len 0: no rows; NULL: out of
 * memory. */
static const char *gather_rows(wk_batch *b, size_t lo, size_t hi, wk_event_state want, bool raw,
                               ea_pg_buf *out, size_t *len)
{
    const ea_pg_buf *src = raw ? &b->raw_rows : &b->key_rows;
    size_t run_off = 0, run_len = 0;
    bool copied = false;
    ea_pg_buf_reset(out);
    for (size_t i = lo; i < hi; i++) {
        const wk_event *ev = &b->ev[i];
        if (ev->state != want)
            continue;
        size_t off = raw ? ev->raw_off : ev->key_off, n = raw ? ev->raw_len : ev->key_len;
        if (n > 0 && run_len > 0 && run_off + run_len == off) {
            run_len += n;
            continue;
        }
        if (run_len > 0) {
            ea_pg_buf_append(out, src->p + run_off, run_len);
            copied = true;
        }
        run_off = off;
        run_len = n;
        if (n == 0) {
            if (raw)
                raw_row(out, ev);
            else
                key_row(out, ev);
            copied = true;
        }
    }
    if (!copied) {
        *len = run_len;
        return run_len > 0 ? src->p + run_off : "";
    }
    if (run_len > 0)
        ea_pg_buf_append(out, src->p + run_off, run_len);
    *len = out->len;
    return out->oom ? NULL : out->p;
}

/* Indexes the PARSED events of [lo, hi) by dedup key in s->keys; an event whose key an
 * earlier one has is marked DUPLICATE (first one wins). With `arrays`, also lists the keys in
 * $1/$2 for dedup_lookup. */
static ea_rc index_keys(wk_sink *s, wk_batch *b, size_t lo, size_t hi, bool arrays,
                        struct ea_err *err)
{
    wk_map_clear(&s->keys);
    if (arrays) {
        arr_open(&s->pb[0]);
        arr_open(&s->pb[1]);
    }
    ea_pg_buf key = {0};
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->state != WK_EV_PARSED)
            continue;
        ea_pg_buf_reset(&key);
        ea_pg_buf_append(&key, ev->tenant, strlen(ev->tenant) + 1);
        ea_pg_buf_puts(&key, ev->event_id);
        bool ins;
        void **slot = key.oom ? NULL : wk_map_upsert(&s->keys, key.p, key.len, s->attempt, &ins);
        if (slot == NULL) {
            ea_pg_buf_free(&key);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory in dedup");
        }
        if (!ins) {
            ev->state = WK_EV_DUPLICATE; /* repeated inside the batch: first one wins */
            continue;
        }
        *slot = ev;
        if (arrays) {
            arr_cstr(&s->pb[0], ev->tenant);
            arr_cstr(&s->pb[1], ev->event_id);
        }
    }
    ea_pg_buf_free(&key);
    if (arrays) {
        arr_close(&s->pb[0]);
        arr_close(&s->pb[1]);
    }
    return EA_OK;
}

/* Marks the events of [lo, hi) whose keys are already stored as duplicates. */
static ea_rc dedup_lookup(wk_sink *s, wk_batch *b, size_t lo, size_t hi, struct ea_err *err)
{
    ea_rc rc = index_keys(s, b, lo, hi, true, err);
    if (rc != EA_OK)
        return rc;
    PGresult *res = NULL;
    rc = exec_params(s,
                     "SELECT d.tenant_id, d.event_id "
                     "FROM unnest($1::text[], $2::text[]) AS u(t, e) "
                     "JOIN event_dedup d ON d.tenant_id = u.t AND d.event_id = u.e",
                     2, PGRES_TUPLES_OK, &res, err);
    if (rc != EA_OK)
        return rc;
    ea_pg_buf key = {0};
    for (int r = 0; r < PQntuples(res); r++) {
        ea_pg_buf_reset(&key);
        ea_pg_buf_append(&key, PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0) + 1);
        ea_pg_buf_append(&key, PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1));
        wk_event *ev = key.oom ? NULL : wk_map_get(&s->keys, key.p, key.len);
        if (ev != NULL)
            ev->state = WK_EV_DUPLICATE; /* counted by an earlier batch */
    }
    PQclear(res);
    bool oom = key.oom;
    ea_pg_buf_free(&key);
    return oom ? ea_err_set(err, EA_ERR_NOMEM, "out of memory in dedup") : EA_OK;
}

/* COPYs the keys of the batch's events still PARSED (new) into event_dedup, in key order
 * when the batch was sealed. */
static ea_rc dedup_copy(wk_sink *s, wk_batch *b, size_t lo, size_t hi, struct ea_err *err)
{
    size_t len;
    const char *rows;
    if (b->key_order != NULL) {
        ea_pg_buf *o = &s->pb[2];
        ea_pg_buf_reset(o);
        for (size_t k = 0; k < b->nkey_order; k++) {
            const wk_event *ev = &b->ev[b->key_order[k]];
            if (b->key_order[k] >= lo && b->key_order[k] < hi && ev->state == WK_EV_PARSED)
                ea_pg_buf_append(o, b->key_rows.p + ev->key_off, ev->key_len);
        }
        for (size_t i = lo; i < hi; i++) /* keys that were not prepared (out of memory then) */
            if (b->ev[i].state == WK_EV_PARSED && b->ev[i].key_len == 0)
                key_row(o, &b->ev[i]);
        rows = o->oom ? NULL : o->p;
        len = o->len;
    } else {
        rows = gather_rows(b, lo, hi, WK_EV_PARSED, false, &s->pb[2], &len);
    }
    if (rows == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory building the dedup keys");
    if (len == 0)
        return EA_OK;
    return copy_in(s, "COPY event_dedup (tenant_id, event_id) FROM STDIN", rows, len, "dedup keys",
                   err);
}

/* (4) Dedup. The primary key of event_dedup is what decides: a batch's keys are COPYed in, and
 * a key already stored fails the COPY (unique_violation). Most batches hold no replayed event,
 * so the keys are first COPYed optimistically under a savepoint; only when that fails (or a
 * recent batch held a replay) are the stored keys looked up first and only the new ones
 * COPYed. Either way an event counts only if this transaction inserted its key. (One
 * INSERT .. ON CONFLICT DO NOTHING RETURNING does the same at twice the cost: speculative
 * insertion is row by row, COPY inserts in bulk.) A key stored by another transaction between
 * the lookup and the COPY (possible only while a partition changes owner, or after the topic's
 * partition count changed) still fails the COPY, or makes it wait for that transaction and then
 * fail: the batch is retried, and its lookup sees the key. */
static ea_rc step_dedup(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_batch_report *rep,
                        struct ea_err *err)
{
    ea_rc rc;
    size_t n = 0;
    if (lo == 0 && hi == b->n && b->key_order != NULL) {
        /* the whole sealed batch: its repeats are known already */
        for (size_t i = lo; i < hi; i++) {
            wk_event *ev = &b->ev[i];
            if (ev->state == WK_EV_PARSED && ev->repeat)
                ev->state = WK_EV_DUPLICATE;
            n += ev->state == WK_EV_PARSED;
        }
    } else {
        if ((rc = index_keys(s, b, lo, hi, false, err)) != EA_OK)
            return rc;
        for (size_t i = lo; i < hi; i++)
            n += b->ev[i].state == WK_EV_PARSED;
    }
    if (n > 0 && s->dedup_lookups == 0) {
        if ((rc = ea_pg_exec(s->conn, "SAVEPOINT dedup", err)) != EA_OK)
            return rc;
        rc = dedup_copy(s, b, lo, hi, err);
        if (rc == EA_OK) {
            rc = ea_pg_exec(s->conn, "RELEASE SAVEPOINT dedup", err);
            n = 0; /* done */
        } else if (strcmp(err->sqlstate, "23505") == 0) {
            /* a replayed event: look the keys up, for this and the next batches */
            ea_err_clear(err);
            rc = ea_pg_exec(s->conn, "ROLLBACK TO SAVEPOINT dedup", err);
            s->dedup_lookups = DEDUP_LOOKUP_BATCHES;
        }
        if (rc != EA_OK)
            return rc;
    }
    if (n > 0) {
        if ((rc = dedup_lookup(s, b, lo, hi, err)) != EA_OK)
            return rc;
        bool any = false;
        for (size_t i = lo; i < hi && !any; i++)
            any = b->ev[i].state == WK_EV_DUPLICATE && !b->ev[i].repeat;
        if (any)
            s->dedup_lookups = DEDUP_LOOKUP_BATCHES;
        else if (s->dedup_lookups > 0)
            s->dedup_lookups--;
        rc = dedup_copy(s, b, lo, hi, err);
        if (rc != EA_OK && strcmp(err->sqlstate, "23505") == 0) {
            err->code = EA_ERR_UNAVAILABLE; /* not the data's fault: retry, the lookup decides */
            wk_stats_inc_dedup_race(s->stats);
        }
        if (rc != EA_OK)
            return rc;
    }
    for (size_t i = lo; i < hi; i++)
        if (b->ev[i].state == WK_EV_DUPLICATE)
            rep->duplicates++;
    return EA_OK;
}

/* Raw events, overlapped with the aggregation: raw_start sends the COPY in non-blocking mode
 * and returns while PostgreSQL is still inserting; raw_pump (called as events are aggregated)
 * sends what the socket takes; raw_finish sends the rest and collects the outcome. The
 * connection is then back in blocking mode; if anything fails half way it is dropped (its
 * state is unknown) and the batch is retried on a new one. */
static ea_rc raw_start(wk_sink *s, wk_batch *b, size_t lo, size_t hi, struct ea_err *err)
{
    size_t len;
    const char *rows = gather_rows(b, lo, hi, WK_EV_COUNTED, true, &s->pb[0], &len);
    if (rows == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory building the raw events");
    if (len == 0)
        return EA_OK;
    if (len > INT_MAX)
        return ea_err_set(err, EA_ERR_LIMIT, "raw events: %zu bytes in one batch", len);
    PGresult *res = PQexec(s->conn, "COPY raw_events (tenant_id, event_id, event_name, "
                                    "event_time, received_at, properties, kafka_partition, "
                                    "kafka_offset) FROM STDIN WITH (FORMAT binary)");
    ea_rc rc = ea_pg_result_check(res, PGRES_COPY_IN, "raw events", err);
    PQclear(res);
    if (rc != EA_OK)
        return rc;
    s->copy_inflight = true;
    if (PQsetnonblocking(s->conn, 1) != 0 ||
        PQputCopyData(s->conn, ea_pg_copybin_header, (int)sizeof(ea_pg_copybin_header)) != 1 ||
        PQputCopyData(s->conn, rows, (int)len) != 1 ||
        PQputCopyData(s->conn, ea_pg_copybin_trailer, (int)sizeof(ea_pg_copybin_trailer)) != 1 ||
        PQputCopyEnd(s->conn, NULL) != 1)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not send the raw events: %s",
                          PQerrorMessage(s->conn));
    return EA_OK;
}

static void raw_pump(wk_sink *s)
{
    if (s->copy_inflight)
        (void)PQflush(s->conn); /* non-blocking: errors surface in raw_finish */
}

static ea_rc raw_finish(wk_sink *s, struct ea_err *err)
{
    if (!s->copy_inflight)
        return EA_OK;
    PGconn *c = s->conn;
    int r;
    while ((r = PQflush(c)) == 1) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLOUT | POLLIN};
        if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN) && PQconsumeInput(c) != 1)
            break;
    }
    if (r != 0 || PQsetnonblocking(c, 0) != 0)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not send the raw events: %s",
                          PQerrorMessage(c));
    s->copy_inflight = false;
    ea_rc rc = EA_OK;
    PGresult *res;
    while ((res = PQgetResult(c)) != NULL) {
        if (rc == EA_OK)
            rc = ea_pg_result_check(res, PGRES_COMMAND_OK, "raw events", err);
        PQclear(res);
    }
    return rc;
}

/* Unique metrics (locked by step_locks): read stored sketches, merge them into ours. */
static ea_rc step_hll(wk_sink *s, wk_row **rows, size_t nrows, struct ea_err *err)
{
    size_t nh = 0;
    arr_open(&s->pb[0]);
    arr_open(&s->pb[1]);
    for (size_t i = 0; i < nrows; i++) {
        if (rows[i]->hll == NULL)
            continue;
        arr_cstr(&s->pb[0], rows[i]->tenant);
        arr_cstr(&s->pb[1], rows[i]->metric);
        nh++;
    }
    arr_close(&s->pb[0]);
    arr_close(&s->pb[1]);
    if (nh == 0)
        return EA_OK;
    ea_rc rc;
    for (int g = 0; g < WK_GRAN_N; g++) {
        /* indexes into rows, 1-based as WITH ORDINALITY counts */
        size_t *idx = ea_arena_alloc(s->attempt, sizeof(size_t) * (nh + 1));
        if (idx == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        size_t k = 0;
        for (int p = 0; p < 4; p++)
            arr_open(&s->pb[p]);
        for (size_t i = 0; i < nrows; i++) {
            wk_row *r = rows[i];
            if (r->hll == NULL || r->gran != (wk_gran)g)
                continue;
            idx[++k] = i;
            arr_cstr(&s->pb[0], r->tenant);
            arr_cstr(&s->pb[1], r->metric);
            arr_ts(&s->pb[2], r->bucket_ms);
            arr_str(&s->pb[3], r->dims, r->dims_len);
        }
        for (int p = 0; p < 4; p++)
            arr_close(&s->pb[p]);
        if (k == 0)
            continue;
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT u.i, r.hll FROM unnest($1::text[], $2::text[], $3::timestamptz[], "
                 "$4::jsonb[]) WITH ORDINALITY AS u(t, m, b, d, i) JOIN %s r "
                 "ON r.tenant_id = u.t AND r.metric = u.m AND r.bucket = u.b AND r.dims = u.d "
                 "WHERE r.hll IS NOT NULL",
                 wk_gran_table((wk_gran)g));
        const char *pp[NPARAM];
        if (params_oom(s, 4))
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory building parameters");
        PGresult *res = PQexecParams(s->conn, sql, 4, NULL, param_ptrs(s, pp, 4), NULL, NULL, 1);
        rc = ea_pg_result_check(res, PGRES_TUPLES_OK, "read hll sketches", err);
        if (rc != EA_OK) {
            PQclear(res);
            return rc;
        }
        for (int t = 0; t < PQntuples(res); t++) {
            const unsigned char *ib = (const unsigned char *)PQgetvalue(res, t, 0);
            uint64_t ord = 0;
            for (int q = 0; q < 8; q++)
                ord = ord << 8 | ib[q];
            if (PQgetlength(res, t, 0) != 8 || ord < 1 || ord > k)
                continue;
            wk_row *r = rows[idx[ord]];
            if (ea_hll_merge_bytes(r->hll, (const uint8_t *)PQgetvalue(res, t, 1),
                                   (size_t)PQgetlength(res, t, 1)) != EA_OK)
                ea_log_warn("hll", "stored sketch of %s/%s is invalid; replaced", r->tenant,
                            r->metric);
        }
        PQclear(res);
    }
    return EA_OK;
}

/* (7) Advisory locks, all at once and in key order, before any rollup row is locked:
 *  - (tenant, metric) of every unique metric touched: its sketches are read, merged, written;
 *  - (tenant, metric) of every capped metric for which this batch brings a dimension value the
 *    worker does not know yet while the cap is not reached: under the lock, the registry
 *    rollup_dim_values is re-read for the days concerned, so the cap is exact across workers.
 * Values already admitted, or a cap already full, need no lock (both only ever grow). */
static ea_rc step_locks(wk_sink *s, wk_batch *b, size_t lo, size_t hi, struct ea_err *err)
{
    wk_map seen = {0};
    ea_pg_buf key = {0}, val = {0};
    size_t nlock = 0, nday = 0;
    ea_rc rc = EA_OK;
    for (int p = 0; p < 5; p++)
        arr_open(&s->pb[p]);
    for (size_t i = lo; i < hi && rc == EA_OK; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_COUNTED)
            continue;
        size_t nd;
        const wk_metric_def *const *ds = wk_defs_for_event(s->defs, ev->tenant, ev->name, &nd);
        int64_t day = wk_gran_floor(WK_GRAN_DAY, ev->ts_ms);
        for (size_t k = 0; k < nd && rc == EA_OK; k++) {
            const wk_metric_def *d = ds[k];
            bool need_lock = d->agg == WK_AGG_UNIQUE, need_day = false;
            for (size_t j = 0; j < d->ndims && !need_day; j++) {
                const json_t *v = json_object_get(ev->properties, d->dims[j]);
                if (v == NULL || json_is_null(v))
                    continue;
                ea_pg_buf_reset(&val);
                wk_dims_value_json(&val, v);
                if (!val.oom && wk_capset_state(s->caps, d->tenant, d->name, day, d->dims[j], val.p,
                                                val.len, d->cap) == WK_CAP_UNKNOWN)
                    need_lock = need_day = true;
            }
            bool ins;
            if (need_lock) {
                ea_pg_buf_reset(&key);
                ea_pg_buf_printf(&key, "L%s%c%s", d->tenant, 0, d->name);
                if (key.oom || wk_map_upsert(&seen, key.p, key.len, s->attempt, &ins) == NULL) {
                    rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
                    break;
                }
                if (ins) {
                    arr_cstr(&s->pb[0], d->tenant);
                    arr_cstr(&s->pb[1], d->name);
                    nlock++;
                }
            }
            if (need_day) {
                ea_pg_buf_reset(&key);
                ea_pg_buf_printf(&key, "D%s%c%s%c%lld", d->tenant, 0, d->name, 0, (long long)day);
                if (key.oom || wk_map_upsert(&seen, key.p, key.len, s->attempt, &ins) == NULL) {
                    rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
                    break;
                }
                if (ins) {
                    arr_cstr(&s->pb[2], d->tenant);
                    arr_cstr(&s->pb[3], d->name);
                    arr_ts(&s->pb[4], day);
                    nday++;
                }
            }
        }
    }
    for (int p = 0; p < 5; p++)
        arr_close(&s->pb[p]);
    wk_map_free(&seen);
    ea_pg_buf_free(&key);
    ea_pg_buf_free(&val);
    if (rc != EA_OK || nlock == 0)
        return rc;
    rc = exec_params(s,
                     "SELECT count(pg_advisory_xact_lock(k)) FROM "
                     "(SELECT DISTINCT ea_rollup_lock_key(t, m) AS k "
                     "FROM unnest($1::text[], $2::text[]) AS u(t, m) ORDER BY 1 OFFSET 0) s",
                     2, PGRES_TUPLES_OK, NULL, err);
    if (rc != EA_OK || nday == 0)
        return rc;
    /* shift the day arrays to $1..$3 */
    for (int p = 0; p < 3; p++) {
        ea_pg_buf t = s->pb[p];
        s->pb[p] = s->pb[p + 2];
        s->pb[p + 2] = t;
    }
    PGresult *res = NULL;
    rc = exec_params(s,
                     "SELECT r.tenant_id, r.metric, (extract(epoch FROM r.day) * 1000)::int8, "
                     "r.dim, r.value FROM rollup_dim_values r JOIN unnest($1::text[], "
                     "$2::text[], $3::timestamptz[]) AS u(t, m, d) ON r.tenant_id = u.t AND "
                     "r.metric = u.m AND r.day = (u.d AT TIME ZONE 'UTC')::date",
                     3, PGRES_TUPLES_OK, &res, err);
    if (rc != EA_OK)
        return rc;
    for (int t = 0; t < PQntuples(res); t++)
        if (!wk_capset_seed(s->caps, PQgetvalue(res, t, 0), PQgetvalue(res, t, 1),
                            strtoll(PQgetvalue(res, t, 2), NULL, 10), PQgetvalue(res, t, 3),
                            PQgetvalue(res, t, 4), (size_t)PQgetlength(res, t, 4))) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        }
    PQclear(res);
    return EA_OK;
}

/* The dimension values this batch admitted under the cap, into the registry. */
static ea_rc step_dim_values(wk_sink *s, struct ea_err *err)
{
    size_t n = wk_capset_staged_count(s->caps);
    if (n == 0)
        return EA_OK;
    for (int p = 0; p < 5; p++)
        arr_open(&s->pb[p]);
    for (size_t i = 0; i < n; i++) {
        const char *tenant, *metric, *dim, *value;
        int64_t day;
        size_t len;
        wk_capset_staged_get(s->caps, i, &tenant, &metric, &day, &dim, &value, &len);
        arr_cstr(&s->pb[0], tenant);
        arr_cstr(&s->pb[1], metric);
        arr_ts(&s->pb[2], day);
        arr_cstr(&s->pb[3], dim);
        arr_str(&s->pb[4], value, len);
    }
    for (int p = 0; p < 5; p++)
        arr_close(&s->pb[p]);
    return exec_params(s,
                       "INSERT INTO rollup_dim_values (tenant_id, metric, day, dim, value) "
                       "SELECT t, m, (d AT TIME ZONE 'UTC')::date, k, v FROM unnest($1::text[], "
                       "$2::text[], $3::timestamptz[], $4::text[], $5::text[]) AS u(t, m, d, k, v) "
                       "ON CONFLICT DO NOTHING",
                       5, PGRES_COMMAND_OK, NULL, err);
}

static ea_rc step_upsert(wk_sink *s, wk_row **rows, size_t nrows, wk_change **changes,
                         size_t *nchanges, struct ea_err *err)
{
    ea_pg_buf tmp = {0};
    for (int g = 0; g < WK_GRAN_N; g++) {
        size_t k = 0;
        for (int p = 0; p < 10; p++)
            arr_open(&s->pb[p]);
        for (size_t i = 0; i < nrows; i++) {
            wk_row *r = rows[i];
            if (r->gran != (wk_gran)g)
                continue;
            k++;
            arr_cstr(&s->pb[0], r->tenant);
            arr_cstr(&s->pb[1], r->metric);
            arr_ts(&s->pb[2], r->bucket_ms);
            arr_str(&s->pb[3], r->dims, r->dims_len);
            arr_i64(&s->pb[4], r->cnt);
            arr_f64(&s->pb[5], r->sum, false);
            arr_f64(&s->pb[6], r->min, !r->has_value);
            arr_f64(&s->pb[7], r->max, !r->has_value);
            if (r->hll != NULL) {
                size_t sz = ea_hll_serialized_size(r->hll);
                uint8_t *bytes = ea_arena_alloc(s->attempt, sz);
                if (bytes == NULL || ea_hll_serialize(r->hll, bytes, sz) != sz) {
                    ea_pg_buf_free(&tmp);
                    return ea_err_set(err, EA_ERR_NOMEM, "out of memory serializing hll");
                }
                ea_pg_buf_reset(&tmp);
                ea_pg_buf_bytea_hex(&tmp, bytes, sz);
                arr_str(&s->pb[8], tmp.p, tmp.len);
            } else {
                arr_cstr(&s->pb[8], NULL);
            }
            arr_sep(&s->pb[9]);
            ea_pg_buf_puts(&s->pb[9], r->closed ? "t" : "f");
        }
        for (int p = 0; p < 10; p++)
            arr_close(&s->pb[p]);
        if (k == 0)
            continue;
        char sql[1536];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s AS r (tenant_id, metric, bucket, dims, cnt, sum, min, max, hll, "
                 "revision, closed) "
                 "SELECT t, m, b, d, c, s, mn, mx, h, CASE WHEN cl THEN 1 ELSE 0 END, cl "
                 "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], "
                 "$5::int8[], $6::float8[], $7::float8[], $8::float8[], $9::bytea[], "
                 "$10::bool[]) AS u(t, m, b, d, c, s, mn, mx, h, cl) "
                 "ON CONFLICT (tenant_id, metric, bucket, dims) DO UPDATE SET "
                 "cnt = r.cnt + EXCLUDED.cnt, sum = r.sum + EXCLUDED.sum, "
                 "min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max), "
                 "hll = COALESCE(EXCLUDED.hll, r.hll), "
                 "revision = r.revision + CASE WHEN r.closed THEN 1 ELSE 0 END, "
                 "closed = r.closed OR EXCLUDED.closed, updated_at = now() "
                 "RETURNING tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, "
                 "dims::text, revision, closed",
                 wk_gran_table((wk_gran)g));
        PGresult *res = NULL;
        ea_rc rc = exec_params(s, sql, 10, PGRES_TUPLES_OK, &res, err);
        if (rc != EA_OK) {
            ea_pg_buf_free(&tmp);
            return rc;
        }
        if (g != WK_GRAN_15M) {
            int nt = PQntuples(res);
            wk_change *c = ea_arena_alloc(s->attempt, sizeof(*c) * (*nchanges + (size_t)nt + 1));
            if (c == NULL) {
                PQclear(res);
                ea_pg_buf_free(&tmp);
                return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            }
            if (*nchanges > 0)
                memcpy(c, *changes, sizeof(*c) * *nchanges);
            for (int t = 0; t < nt; t++) {
                wk_change *ch = &c[(*nchanges)++];
                ch->tenant = ea_arena_strndup(s->attempt, PQgetvalue(res, t, 0),
                                              (size_t)PQgetlength(res, t, 0));
                ch->metric = ea_arena_strndup(s->attempt, PQgetvalue(res, t, 1),
                                              (size_t)PQgetlength(res, t, 1));
                ch->bucket_ms = strtoll(PQgetvalue(res, t, 2), NULL, 10);
                ch->dims_json = ea_arena_strndup(s->attempt, PQgetvalue(res, t, 3),
                                                 (size_t)PQgetlength(res, t, 3));
                ch->revision = (int)strtol(PQgetvalue(res, t, 4), NULL, 10);
                ch->gran = (wk_gran)g;
                ch->closed = false;
                ch->restated = PQgetvalue(res, t, 5)[0] == 't';
                if (ch->tenant == NULL || ch->metric == NULL || ch->dims_json == NULL) {
                    PQclear(res);
                    ea_pg_buf_free(&tmp);
                    return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
                }
            }
            *changes = c;
        }
        PQclear(res);
    }
    ea_pg_buf_free(&tmp);
    return EA_OK;
}

static ea_rc step_dead(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_batch_report *rep,
                       struct ea_err *err)
{
    size_t n = 0;
    ea_pg_buf tmp = {0};
    for (int p = 0; p < 6; p++)
        arr_open(&s->pb[p]);
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->state != WK_EV_DEAD || ev->dropped)
            continue;
        n++;
        wk_report_dead(rep, ev->dead_reason);
        arr_cstr(&s->pb[0], ev->tenant);
        arr_cstr(&s->pb[1], ev->event_id);
        arr_cstr(&s->pb[2], ev->dead_reason);
        arr_i64(&s->pb[3], ev->partition);
        arr_i64(&s->pb[4], ev->offset);
        ea_pg_buf_reset(&tmp);
        dead_payload(&tmp, ev);
        arr_str(&s->pb[5], tmp.p != NULL ? tmp.p : "", tmp.len);
        ea_log_info("dead-letter", "partition %d offset %lld: %s", ev->partition,
                    (long long)ev->offset, ev->dead_reason);
    }
    ea_pg_buf_free(&tmp);
    for (int p = 0; p < 6; p++)
        arr_close(&s->pb[p]);
    if (n == 0)
        return EA_OK;
    return exec_params(s,
                       "INSERT INTO dead_letters (tenant_id, event_id, reason, kafka_partition, "
                       "kafka_offset, payload) SELECT * FROM unnest($1::text[], $2::text[], "
                       "$3::text[], $4::int4[], $5::int8[], $6::text[])",
                       6, PGRES_COMMAND_OK, NULL, err);
}

/* Per-partition scratch of one attempt, parallel to st[]. */
struct pscratch {
    bool present;
    int64_t last_offset;
    int64_t high_ms;
};

static void fired_free(fired_list *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->v[i].tenant);
        free((char *)f->v[i].name);
        free((char *)f->v[i].metric);
        free((char *)f->v[i].dims_json);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

static bool fired_add(fired_list *f, PGresult *res, int t, wk_gran g, double value)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        wk_alert_fired *nv = realloc(f->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return false;
        f->v = nv;
        f->cap = ncap;
    }
    wk_alert_fired *a = &f->v[f->n];
    a->tenant = strdup(PQgetvalue(res, t, 0));
    a->alert_id = strtoll(PQgetvalue(res, t, 1), NULL, 10);
    a->name = strdup(PQgetvalue(res, t, 2));
    a->metric = strdup(PQgetvalue(res, t, 3));
    a->dims_json = strdup(PQgetvalue(res, t, 4));
    a->granularity = wk_gran_name(g);
    a->value = value;
    a->bucket_ms = strtoll(PQgetvalue(res, t, 8), NULL, 10);
    f->n++;
    if (a->tenant == NULL || a->name == NULL || a->metric == NULL || a->dims_json == NULL)
        return false; /* freed with the list */
    return true;
}

/* Evaluates the enabled alerts of granularity g on the buckets notes[0..n) (closed by the
 * closer's transaction, or restated closed ones in a batch's: invariant 10) and inserts the ones
 * that fire into alert_events. The sums are read in SQL; the value and the comparison come from
 * alerts.c (unit-tested). What was inserted is appended to fired for publishing after COMMIT. */
static ea_rc close_eval_alerts(wk_sink *s, wk_gran g, const wk_change *notes, size_t n,
                               fired_list *fired, struct ea_err *err)
{
    ea_pg_buf bt = {0}, bm = {0}, bb = {0};
    PGresult *res = NULL;
    ea_rc rc = EA_OK;
    arr_open(&bt);
    arr_open(&bm);
    arr_open(&bb);
    for (size_t i = 0; i < n; i++) {
        arr_cstr(&bt, notes[i].tenant);
        arr_cstr(&bm, notes[i].metric);
        arr_i64(&bb, notes[i].bucket_ms);
    }
    arr_close(&bt);
    arr_close(&bm);
    arr_close(&bb);
    if (bt.oom || bm.oom || bb.oom) {
        rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* one row per (alert, closed bucket): the sums over the bucket's rows whose dims contain
     * the alert's filter (r.dims @> filter, as graphql-api filters), and the metric's
     * aggregation ("count" for an automatic metric, as graphql-api assumes). FOR KEY SHARE:
     * an alert deleted meanwhile must not make the INSERT below fail its foreign key — in a
     * batch that would be taken for bad data and split until an innocent event is
     * dead-lettered; the delete waits for us instead (or, committed first, hides the alert). */
    char sql[1536];
    snprintf(sql, sizeof(sql),
             "SELECT a.tenant_id, a.id, a.name, a.metric, a.filter::text, a.comparator, "
             "a.threshold, coalesce(d.aggregation, 'count'), b.ms, count(r.cnt), "
             "coalesce(sum(r.cnt), 0), coalesce(sum(r.sum), 0), min(r.min), max(r.max), "
             "string_agg(encode(r.hll, 'hex'), ',') "
             "FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::int8[])) "
             "AS b(tenant_id, metric, ms) "
             "JOIN (SELECT * FROM alerts WHERE enabled AND granularity = $4 AND (tenant_id, "
             "metric) IN (SELECT * FROM unnest($1::text[], $2::text[])) FOR KEY SHARE) a "
             "ON a.tenant_id = b.tenant_id AND a.metric = b.metric "
             "LEFT JOIN metric_definitions d ON d.tenant_id = a.tenant_id AND d.name = a.metric "
             "LEFT JOIN %s r ON r.tenant_id = b.tenant_id AND r.metric = b.metric "
             "AND r.bucket = 'epoch'::timestamptz + b.ms * interval '1 millisecond' "
             "AND r.dims @> a.filter "
             "GROUP BY a.tenant_id, a.id, a.name, a.metric, a.filter, a.comparator, "
             "a.threshold, b.ms, d.aggregation ORDER BY 1, 2, 9",
             wk_gran_table(g));
    const char *params[4] = {bt.p, bm.p, bb.p, wk_gran_name(g)};
    res = ea_pg_query(s->conn, sql, 4, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    for (int t = 0; t < PQntuples(res); t++) {
        wk_cmp cmp;
        if (!wk_alert_cmp_parse(PQgetvalue(res, t, 5), &cmp))
            continue; /* the CHECK constraint makes this unreachable; never fire on doubt */
        wk_alert_agg agg = {
            .rows = strtoll(PQgetvalue(res, t, 9), NULL, 10),
            .cnt = strtoll(PQgetvalue(res, t, 10), NULL, 10),
            .sum = strtod(PQgetvalue(res, t, 11), NULL),
            .has_min = !PQgetisnull(res, t, 12),
            .min = strtod(PQgetvalue(res, t, 12), NULL),
            .has_max = !PQgetisnull(res, t, 13),
            .max = strtod(PQgetvalue(res, t, 13), NULL),
            .hll_hex = PQgetisnull(res, t, 14) ? NULL : PQgetvalue(res, t, 14),
        };
        double value;
        if (!wk_alert_value(PQgetvalue(res, t, 7), &agg, &value) ||
            !wk_alert_compare(cmp, value, strtod(PQgetvalue(res, t, 6), NULL)))
            continue;
        char vbuf[64];
        snprintf(vbuf, sizeof(vbuf), "%.17g", value); /* round-trips a double exactly */
        const char *ip[5] = {PQgetvalue(res, t, 0), PQgetvalue(res, t, 1), PQgetvalue(res, t, 8),
                             PQgetvalue(res, t, 4), vbuf};
        /* the key (tenant, alert, bucket, dims) makes a bucket fire once per alert and filter,
         * also when a restatement or a row created later in the bucket brings it back here;
         * (tenant, alert, bucket) order keeps concurrent evaluators from deadlocking */
        PGresult *ins = ea_pg_query(
            s->conn,
            "INSERT INTO alert_events (tenant_id, alert_id, bucket, dims, value) "
            "VALUES ($1, $2::int8, 'epoch'::timestamptz + $3::int8 * interval '1 millisecond', "
            "$4::jsonb, $5::float8) ON CONFLICT DO NOTHING RETURNING 1",
            5, ip, PGRES_TUPLES_OK, err);
        if (ins == NULL) {
            rc = err->code;
            goto out;
        }
        bool inserted = PQntuples(ins) == 1;
        PQclear(ins);
        if (inserted && !fired_add(fired, res, t, g, value)) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
out:
    PQclear(res);
    ea_pg_buf_free(&bt);
    ea_pg_buf_free(&bm);
    ea_pg_buf_free(&bb);
    return rc;
}

/* (10) Late events that changed closed HOUR/DAY buckets (restatements): their alerts are
 * evaluated in this batch's transaction, as the closer does at close, so a bucket that crosses
 * its threshold only through late events fires too — once, by the same alert_events key. */
static ea_rc step_alerts(wk_sink *s, const wk_change *changes, size_t n, struct ea_err *err)
{
    fired_free(&s->fired); /* what a failed attempt inserted was rolled back */
    for (int g = WK_GRAN_HOUR; g < WK_GRAN_N; g++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += changes[i].restated && changes[i].gran == (wk_gran)g;
        if (k == 0)
            continue;
        wk_change *sel = ea_arena_alloc(s->attempt, sizeof(*sel) * k);
        if (sel == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (changes[i].restated && changes[i].gran == (wk_gran)g)
                sel[k++] = changes[i];
        ea_rc rc = close_eval_alerts(s, (wk_gran)g, sel, k, &s->fired, err);
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

/* (11) Records the event names this batch counts (lib/catalog's events seen), after the
 * advisory locks of step_locks and before any rollup row, like every batch. */
static ea_rc step_events_seen(wk_sink *s, wk_batch *b, size_t lo, size_t hi, struct ea_err *err)
{
    wk_map_clear(&s->names);
    arr_open(&s->pb[0]);
    arr_open(&s->pb[1]);
    ea_pg_buf *k = &s->pb[2];
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) {
        const wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_COUNTED)
            continue;
        ea_pg_buf_reset(k);
        ea_pg_buf_append(k, ev->tenant, strlen(ev->tenant) + 1);
        ea_pg_buf_puts(k, ev->name);
        bool ins;
        if (k->oom || wk_map_upsert(&s->names, k->p, k->len, s->attempt, &ins) == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory recording event names");
        if (!ins)
            continue;
        arr_cstr(&s->pb[0], ev->tenant);
        arr_cstr(&s->pb[1], ev->name);
        n++;
    }
    arr_close(&s->pb[0]);
    arr_close(&s->pb[1]);
    return n == 0 ? EA_OK
                  : exec_params(s, EA_CATALOG_SQL_EVENTS_SEEN, 2, PGRES_COMMAND_OK, NULL, err);
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

/* One attempt at events [lo, hi). EA_ERR_CONFLICT when a partition was fenced (st marked). */
static ea_rc try_commit(wk_sink *s, wk_batch *b, size_t lo, size_t hi, wk_pstate *st, size_t nst,
                        struct ea_err *err)
{
    const wk_config *cfg = s->cfg;
    const int64_t allowed = cfg->allowed_lateness_s * 1000, maxlate = cfg->max_lateness_s * 1000;
    wk_batch_report rep;
    memset(&rep, 0, sizeof(rep));
    /* the aggregate's rows live in the attempt arena: release them (their sketches) before the
     * arena, or a retry after a failed attempt reads freed chunks */
    wk_agg_reset(s->agg);
    ea_arena_reset(s->attempt);
    wk_capset_rollback(s->caps);
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
        wk_pstate *p = find_st(st, nst, ev->partition);
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

    /* (5)(6) re-read the stored position of our partitions: a previous attempt whose COMMIT
     * reply was lost may have committed after all; its events are skipped, its watermark used */
    arr_open(&s->pb[2]);
    for (size_t i = 0; i < nst; i++)
        if (ps[i].present)
            arr_i64(&s->pb[2], st[i].partition);
    arr_close(&s->pb[2]);
    ea_pg_buf_reset(&s->pb[0]);
    ea_pg_buf_puts(&s->pb[0], cfg->group_id);
    ea_pg_buf_reset(&s->pb[1]);
    ea_pg_buf_puts(&s->pb[1], cfg->kafka_topic);
    PGresult *res = NULL;
    if ((rc = exec_params(s,
                          "SELECT partition, next_offset, generation, "
                          "(extract(epoch FROM watermark) * 1000)::int8 FROM consumer_offsets "
                          "WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int4[])",
                          3, PGRES_TUPLES_OK, &res, err)) != EA_OK)
        goto fail;
    bool fenced = false;
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        int row = -1;
        for (int t = 0; t < PQntuples(res); t++)
            if (strtol(PQgetvalue(res, t, 0), NULL, 10) == st[i].partition)
                row = t;
        if (row < 0 || strtoll(PQgetvalue(res, row, 2), NULL, 10) != st[i].generation) {
            st[i].fenced = true;
            st[i].reclaim_at_ms = now + 1000;
            fenced = true;
            ea_log_warn("sink",
                        "partition %d fenced (generation %lld is stale): batch part "
                        "dropped",
                        st[i].partition, (long long)st[i].generation);
            continue;
        }
        int64_t stored = strtoll(PQgetvalue(res, row, 1), NULL, 10);
        if (stored != st[i].next_offset)
            ea_log_warn("sink",
                        "partition %d: stored next offset %lld, expected %lld "
                        "(a commit whose reply was lost); resuming from the stored one",
                        st[i].partition, (long long)stored, (long long)st[i].next_offset);
        st[i].next_offset = stored;
        ps[i].high_ms = PQgetisnull(res, row, 3)
                            ? INT64_MIN
                            : strtoll(PQgetvalue(res, row, 3), NULL, 10) + allowed;
        st[i].high_ms = ps[i].high_ms;
        ps[i].present = false; /* recomputed below from the events still in the range */
    }
    PQclear(res);
    if (fenced) {
        rollback(s);
        wk_stats_inc_fenced(s->stats);
        return ea_err_set(err, EA_ERR_CONFLICT, "fenced");
    }
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped)
            continue;
        wk_pstate *p = find_st(st, nst, ev->partition);
        if (ev->offset < p->next_offset) {
            ev->dropped = true; /* already committed */
            continue;
        }
        struct pscratch *sc = &ps[p - st];
        sc->present = true;
        sc->last_offset = ev->offset;
        rep.messages++;
    }

    /* group watermark: buckets ending before it are closed */
    const char *gp[2] = {cfg->group_id, cfg->kafka_topic};
    res = ea_pg_query(s->conn,
                      "SELECT CASE WHEN bool_or(watermark IS NULL) THEN NULL ELSE "
                      "(extract(epoch FROM min(watermark)) * 1000)::int8 END "
                      "FROM consumer_offsets WHERE group_id = $1 AND topic = $2",
                      2, gp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        goto fail;
    int64_t closed_before =
        PQgetisnull(res, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    if ((rc = step_dedup(s, b, lo, hi, &rep, err)) != EA_OK)
        goto fail;

    /* classify in poll order (per partition: offset order) and aggregate */
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_PARSED)
            continue;
        wk_pstate *p = find_st(st, nst, ev->partition);
        struct pscratch *sc = &ps[p - st];
        if (wk_watermark_too_late(sc->high_ms, ev->ts_ms, maxlate)) {
            ev->state = WK_EV_DEAD;
            ev->dead_reason = "too_late";
            continue;
        }
        wk_part_status ps_st = wk_parts_check(s->parts, ev->ts_ms, now);
        if (ps_st == WK_PART_PAST_RETENTION) {
            ev->state = WK_EV_DEAD;
            ev->dead_reason = "past_retention";
            continue;
        }
        if (ps_st == WK_PART_MISSING) { /* creating it failed (lock timeout?): retry later */
            rc = ea_err_set(err, EA_ERR_UNAVAILABLE,
                            "could not create the partitions for partition %d offset %lld",
                            ev->partition, (long long)ev->offset);
            goto fail;
        }
        ev->late = wk_watermark_advance(&sc->high_ms, ev->ts_ms, allowed);
        rep.late += ev->late;
        ev->state = WK_EV_COUNTED;
        rep.counted++;
    }
    if ((rc = step_locks(s, b, lo, hi, err)) != EA_OK)
        goto fail;
    if (cfg->store_raw && (rc = raw_start(s, b, lo, hi, err)) != EA_OK)
        goto fail;
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->dropped || ev->state != WK_EV_COUNTED)
            continue;
        if ((i & 127) == 0)
            raw_pump(s);
        bool restated = false;
        rc = wk_agg_add(s->agg, s->defs, s->caps, ev, closed_before, s->attempt, &restated);
        if (rc != EA_OK) {
            ea_err_set(err, rc, "could not aggregate: %s", ea_rc_name(rc));
            goto fail;
        }
        rep.restated += restated;
    }

    if ((rc = raw_finish(s, err)) != EA_OK)
        goto fail;
    if ((rc = step_events_seen(s, b, lo, hi, err)) != EA_OK)
        goto fail;
    size_t nrows;
    wk_row **rows = wk_agg_rows(s->agg, &nrows);
    rep.rows = nrows;
    if ((rc = step_hll(s, rows, nrows, err)) != EA_OK)
        goto fail;
    wk_change *changes = NULL;
    size_t nchanges = 0;
    if ((rc = step_upsert(s, rows, nrows, &changes, &nchanges, err)) != EA_OK)
        goto fail;
    if ((rc = step_alerts(s, changes, nchanges, err)) != EA_OK)
        goto fail;
    if ((rc = step_dim_values(s, err)) != EA_OK)
        goto fail;
    if ((rc = step_dead(s, b, lo, hi, &rep, err)) != EA_OK)
        goto fail;

    /* (2) fence + offsets + watermarks, every partition of the range */
    size_t npresent = 0;
    for (int p = 0; p < 4; p++)
        arr_open(&s->pb[p]);
    for (size_t i = 0; i < nst; i++) {
        if (!ps[i].present)
            continue;
        npresent++;
        arr_i64(&s->pb[0], st[i].partition);
        arr_i64(&s->pb[1], ps[i].last_offset + 1);
        if (ps[i].high_ms == INT64_MIN)
            arr_cstr(&s->pb[2], NULL);
        else
            arr_ts(&s->pb[2], ps[i].high_ms - allowed);
        arr_i64(&s->pb[3], st[i].generation);
    }
    for (int p = 0; p < 4; p++)
        arr_close(&s->pb[p]);
    if (npresent == 0) {
        rollback(s);
        return EA_OK; /* everything was dropped */
    }
    for (int p = 3; p >= 0; p--) { /* shift to $3..$6 after group and topic */
        ea_pg_buf t = s->pb[p + 2];
        s->pb[p + 2] = s->pb[p];
        s->pb[p] = t;
    }
    ea_pg_buf_reset(&s->pb[0]);
    ea_pg_buf_puts(&s->pb[0], cfg->group_id);
    ea_pg_buf_reset(&s->pb[1]);
    ea_pg_buf_puts(&s->pb[1], cfg->kafka_topic);
    if ((rc = exec_params(s,
                          "UPDATE consumer_offsets AS o SET next_offset = u.n, "
                          "watermark = GREATEST(o.watermark, u.w), updated_at = now() "
                          "FROM unnest($3::int4[], $4::int8[], $5::timestamptz[], $6::int8[]) "
                          "AS u(p, n, w, g) "
                          "WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = u.p "
                          "AND o.generation = u.g RETURNING o.partition",
                          6, PGRES_TUPLES_OK, &res, err)) != EA_OK)
        goto fail;
    if ((size_t)PQntuples(res) != npresent) {
        /* (2) someone claimed after our check above: roll back, mark the partitions we lost */
        for (size_t i = 0; i < nst; i++) {
            if (!ps[i].present)
                continue;
            bool ok = false;
            for (int t = 0; t < PQntuples(res); t++)
                if (strtol(PQgetvalue(res, t, 0), NULL, 10) == st[i].partition)
                    ok = true;
            if (!ok) {
                st[i].fenced = true;
                st[i].reclaim_at_ms = now + 1000;
                ea_log_warn("sink",
                            "partition %d fenced (generation %lld is stale): batch "
                            "rolled back",
                            st[i].partition, (long long)st[i].generation);
            }
        }
        PQclear(res);
        rollback(s);
        wk_stats_inc_fenced(s->stats);
        return ea_err_set(err, EA_ERR_CONFLICT, "fenced");
    }
    PQclear(res);
    if ((rc = ea_pg_exec(s->conn, "COMMIT", err)) != EA_OK) {
        /* the connection may have died in COMMIT: the outcome is unknown. The retry re-reads
         * the stored next_offset first and skips what did commit, so nothing counts twice. */
        set_healthy(s, !ea_pg_is_broken(s->conn));
        return rc;
    }

    /* committed: apply in-memory state (5), stats, publish (8) */
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
    wk_capset_commit(s->caps);
    for (size_t i = lo; i < hi; i++)
        if (b->ev[i].state == WK_EV_COUNTED)
            wk_report_fresh(&rep, done - b->ev[i].received_ms);
    rep.latency_s = (double)(ea_time_mono_ns() - b->started_ns) / 1e9;
    wk_stats_add_batch(s->stats, &rep);
    set_healthy(s, true);
    ea_log_debug("sink", "committed %zu messages: %zu counted, %zu duplicates, %zu dead, %zu rows",
                 rep.messages, rep.counted, rep.duplicates, rep.dead, rep.rows);
    if (s->publish != NULL && nchanges > 0)
        s->publish(s->publish_ctx, changes, nchanges);
    for (size_t i = 0; i < s->fired.n; i++)
        ea_log_info("sink", "alert %lld of tenant %s fired on a restated bucket: %s %s value %.17g",
                    s->fired.v[i].alert_id, s->fired.v[i].tenant, s->fired.v[i].metric,
                    s->fired.v[i].granularity, s->fired.v[i].value);
    if (s->alert_publish != NULL && s->fired.n > 0)
        s->alert_publish(s->alert_ctx, s->fired.v, s->fired.n);
    fired_free(&s->fired);
    return EA_OK;

fail:
    if (s->copy_inflight) { /* the connection is mid-COPY, in an unknown state: drop it */
        PQfinish(s->conn);
        s->conn = NULL;
        s->copy_inflight = false;
    }
    rollback(s);
    if (rc == EA_OK)
        rc = err->code != EA_OK ? err->code : EA_ERR_DB;
    return rc;
}

/* Creates partitions that events of the range need (outside any transaction). */
static void ensure_partitions(wk_sink *s, wk_batch *b, size_t lo, size_t hi)
{
    int64_t now = ea_time_now_ms(), last_day = INT64_MIN;
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->root == NULL || ev->dropped)
            continue;
        int64_t day = ea_time_floor_day(ev->ts_ms);
        if (day == last_day)
            continue;
        last_day = day;
        if (wk_parts_check(s->parts, ev->ts_ms, now) != WK_PART_MISSING)
            continue;
        struct ea_err err = {0};
        if (wk_parts_ensure(s->parts, s->conn, ev->ts_ms, &err) != EA_OK)
            ea_log_warn("partitions",
                        "could not create partitions for an event of partition "
                        "%d offset %lld: %s",
                        ev->partition, (long long)ev->offset, err.message);
    }
}

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
            ensure_partitions(s, b, lo, hi);
            rc = try_commit(s, b, lo, hi, st, nst, &err);
        }
        if (rc == EA_OK)
            return EA_OK;
        if (rc == EA_ERR_CONFLICT) {
            /* drop the fenced partitions' events and commit the rest */
            bool any = false;
            for (size_t i = lo; i < hi; i++) {
                wk_pstate *p = find_st(st, nst, b->ev[i].partition);
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
        if (!is_transient(&err, s->conn)) {
            ea_log_warn("sink", "batch of %zu rejected (%s %s): isolating the event at fault",
                        hi - lo, err.sqlstate, err.message);
            if (strcmp(err.sqlstate, "23514") == 0 && !refreshed) {
                struct ea_err e2 = {0};
                refreshed = wk_parts_refresh(s->parts, s->conn, &e2) == EA_OK;
                continue;
            }
            if (hi - lo == 1) {
                wk_event *ev = &b->ev[lo];
                if (ev->forced_reason != NULL) {
                    /* even the dead letter was refused: nothing sane is left; keep retrying */
                    ea_log_error("sink", "partition %d offset %lld: could not dead-letter: %s",
                                 ev->partition, (long long)ev->offset, err.message);
                    sleep_ms(5000);
                    continue;
                }
                ev->forced_reason =
                    strcmp(err.sqlstate, "23514") == 0 ? "past_retention" : "rejected_by_database";
                ea_log_error("sink", "partition %d offset %lld: rejected by postgresql (%s %s)",
                             ev->partition, (long long)ev->offset, err.sqlstate, err.message);
                continue;
            }
            size_t mid = lo + (hi - lo) / 2;
            rc = commit_range(s, b, lo, mid, st, nst, stop, depth + 1);
            if (rc != EA_OK)
                return rc;
            return commit_range(s, b, mid, hi, st, nst, stop, depth + 1);
        }
        ea_log_warn("sink", "batch of %zu not committed (attempt %d): %s%s%s; retrying in %ld ms",
                    hi - lo, attempt + 1, err.message, err.sqlstate[0] ? " sqlstate " : "",
                    err.sqlstate, backoff);
        set_healthy(s, s->conn != NULL && !ea_pg_is_broken(s->conn));
        if (stop != NULL && *stop)
            return EA_ERR_UNAVAILABLE;
        sleep_ms(backoff);
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

/* ---- watermarks, closing, maintenance ---- */

ea_rc wk_sink_idle_watermarks(wk_sink *s, wk_pstate *st, size_t nst, int64_t now_ms,
                              struct ea_err *err)
{
    const int64_t allowed = s->cfg->allowed_lateness_s * 1000;
    for (size_t i = 0; i < nst; i++) {
        wk_pstate *p = &st[i];
        if (!p->eof || p->fenced || (p->high_ms != INT64_MIN && p->high_ms >= now_ms - 1000))
            continue;
        char part[16], gen[24], wm[48];
        snprintf(part, sizeof(part), "%d", p->partition);
        snprintf(gen, sizeof(gen), "%lld", (long long)p->generation);
        iso(now_ms - allowed, wm);
        const char *params[5] = {s->cfg->group_id, s->cfg->kafka_topic, part, wm, gen};
        PGresult *res = ea_pg_query(
            s->conn,
            "UPDATE consumer_offsets SET watermark = GREATEST(watermark, $4::timestamptz), "
            "updated_at = now() WHERE group_id = $1 AND topic = $2 AND partition = $3::int "
            "AND generation = $5::int8",
            5, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        if (strcmp(PQcmdTuples(res), "1") == 0) {
            if (p->high_ms == INT64_MIN || p->high_ms < now_ms)
                p->high_ms = now_ms;
            wk_stats_partition(s->stats, p->partition, true, p->next_offset, p->broker_high,
                               p->high_ms - allowed);
        } else {
            p->fenced = true;
            p->reclaim_at_ms = now_ms + 1000;
            ea_log_warn("sink", "partition %d fenced while idle", p->partition);
        }
        PQclear(res);
    }
    return EA_OK;
}

ea_rc wk_sink_close_buckets(wk_sink *s, struct ea_err *err)
{
    PGresult *res = ea_pg_query(s->conn, "SELECT pg_try_advisory_lock(" CLOSER_LOCK_KEY ")", 0,
                                NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    bool got = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!got)
        return EA_OK;
    wk_change *notes = NULL; /* close notices, malloc'd */
    size_t nnotes = 0, cap = 0;
    fired_list fired = {0};
    bool in_tx = false;
    const char *gp[2] = {s->cfg->group_id, s->cfg->kafka_topic};
    ea_rc rc = EA_OK;
    res = ea_pg_query(s->conn,
                      "SELECT CASE WHEN bool_or(watermark IS NULL) THEN NULL ELSE "
                      "(extract(epoch FROM min(watermark)) * 1000)::int8 END "
                      "FROM consumer_offsets WHERE group_id = $1 AND topic = $2",
                      2, gp, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    int64_t wm = PQgetisnull(res, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (wm == INT64_MIN || wm <= s->closed_through_ms)
        goto out;
    /* closing and the alerts it fires commit together (10): an alert is recorded exactly when
     * its bucket is closed, and a failed close leaves both to the next pass */
    res = ea_pg_query(s->conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    PQclear(res);
    in_tx = true;
    uint64_t closed = 0;
    for (int g = 0; g < WK_GRAN_N; g++) {
        char sql[768], hi[48], lo[48];
        iso(wm - wk_gran_ms((wk_gran)g), hi);
        /* the first pass after start sweeps everything; later ones only what the last left */
        iso(s->closed_through_ms == INT64_MIN ? 0
                                              : s->closed_through_ms - 2 * wk_gran_ms((wk_gran)g),
            lo);
        /* rows closed, and the distinct buckets they belong to (published for alerts) */
        snprintf(sql, sizeof(sql),
                 "WITH u AS (UPDATE %s SET closed = true, updated_at = now() "
                 "WHERE NOT closed AND bucket >= $1::timestamptz AND bucket <= $2::timestamptz "
                 "RETURNING tenant_id, metric, bucket) "
                 "SELECT tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, count(*) "
                 "FROM u GROUP BY 1, 2, 3 ORDER BY 1, 3, 2",
                 wk_gran_table((wk_gran)g));
        const char *params[2] = {lo, hi};
        res = ea_pg_query(s->conn, sql, 2, params, PGRES_TUPLES_OK, err);
        if (res == NULL) {
            rc = err->code;
            goto out;
        }
        int nt = PQntuples(res);
        for (int t = 0; t < nt; t++)
            closed += strtoull(PQgetvalue(res, t, 3), NULL, 10);
        if (g != WK_GRAN_15M && nt > 0) { /* 15-minute buckets are implied by their hour */
            if (nnotes + (size_t)nt > cap) {
                size_t ncap = nnotes + (size_t)nt;
                wk_change *nn = realloc(notes, ncap * sizeof(*nn));
                if (nn == NULL) {
                    PQclear(res);
                    rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
                    goto out;
                }
                notes = nn;
                cap = ncap;
            }
            size_t first = nnotes;
            for (int t = 0; t < nt; t++) {
                wk_change *c = &notes[nnotes++];
                memset(c, 0, sizeof(*c));
                c->tenant = strdup(PQgetvalue(res, t, 0));
                c->metric = strdup(PQgetvalue(res, t, 1));
                c->bucket_ms = strtoll(PQgetvalue(res, t, 2), NULL, 10);
                c->gran = (wk_gran)g;
                c->closed = true;
                if (c->tenant == NULL || c->metric == NULL) {
                    PQclear(res);
                    rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
                    goto out; /* an alert must not be skipped for want of memory */
                }
            }
            PQclear(res);
            rc = close_eval_alerts(s, (wk_gran)g, notes + first, nnotes - first, &fired, err);
            if (rc != EA_OK)
                goto out;
            continue;
        }
        PQclear(res);
    }
    res = ea_pg_query(s->conn, "COMMIT", 0, NULL, PGRES_COMMAND_OK, err);
    in_tx = false;
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    PQclear(res);
    s->closed_through_ms = wm;
    if (closed > 0) {
        wk_stats_inc_closed(s->stats, closed);
        ea_log_debug("closer", "closed %llu rollup rows", (unsigned long long)closed);
    }
    for (size_t i = 0; i < fired.n; i++)
        ea_log_info("closer", "alert %lld of tenant %s fired: %s %s value %.17g",
                    fired.v[i].alert_id, fired.v[i].tenant, fired.v[i].metric,
                    fired.v[i].granularity, fired.v[i].value);
    /* published after COMMIT, like batch changes (8) */
    if (s->publish != NULL && nnotes > 0)
        s->publish(s->publish_ctx, notes, nnotes);
    if (s->alert_publish != NULL && fired.n > 0)
        s->alert_publish(s->alert_ctx, fired.v, fired.n);
out:
    if (in_tx)
        rollback(s);
    for (size_t i = 0; i < nnotes; i++) {
        free((char *)notes[i].tenant);
        free((char *)notes[i].metric);
    }
    free(notes);
    fired_free(&fired);
    struct ea_err e2 = {0};
    res = ea_pg_query(s->conn, "SELECT pg_advisory_unlock(" CLOSER_LOCK_KEY ")", 0, NULL,
                      PGRES_TUPLES_OK, &e2);
    PQclear(res);
    return rc;
}

ea_rc wk_sink_maintain(wk_sink *s, struct ea_err *err)
{
    bool did;
    int back_days = (int)((s->cfg->max_lateness_s + 86399) / 86400) + 1;
    ea_rc rc = wk_parts_maintain(s->parts, s->conn, back_days, s->cfg->dedup_window_s, &did, err);
    if (rc == EA_OK && did) {
        /* the cap registry is only consulted inside the lateness horizon */
        char days[16];
        snprintf(days, sizeof(days), "%d", back_days + 1);
        const char *params[1] = {days};
        PGresult *res = ea_pg_query(s->conn,
                                    "DELETE FROM rollup_dim_values WHERE day < "
                                    "(now() AT TIME ZONE 'UTC')::date - $1::int",
                                    1, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            rc = err->code;
        PQclear(res);
    }
    /* cap state older than the lateness horizon can no longer be written to */
    wk_capset_expire(s->caps, ea_time_floor_day(ea_time_now_ms() - s->cfg->max_lateness_s * 1000) -
                                  EA_MS_PER_DAY);
    return rc;
}
