/*
 * backfill.c — `analytics-admin backfill --tenant T --metric M --from X --to Y` (SPEC §9):
 * recomputes one metric's 15-minute, hourly and daily rollups from raw_events, one UTC day at a
 * time, with a progress line per day. For a metric defined after its events were ingested, or
 * to repair one. Not for: other metrics of the same events (only M's rows are written), events
 * that are no longer in raw_events (past retention: refused), or worker-side counting — the
 * aggregation is the worker's own code (services/worker processor.c/dims.c, linked as
 * worker_core) so a backfilled row is byte for byte what the worker would have written.
 *
 * Invariants:
 *  1. Exact. Each UTC day is one REPEATABLE READ transaction: its raw events and its rollup rows
 *     are read from one snapshot, so a worker batch that commits meanwhile and touches the same
 *     rows makes our writes fail with a serialization error (40001) and the day is retried; one
 *     that commits after us adds its events on top of totals that did not include them.
 *  2. Same locks as the worker. The (tenant, metric) advisory lock (ea_rollup_lock_key, held by
 *     the worker while it merges HyperLogLog sketches or admits dimension values under a cap) is
 *     taken at session level BEFORE the day's snapshot, so the snapshot sees every sketch and
 *     registry row committed under it. The cardinality-cap registry (rollup_dim_values) is
 *     seeded from what is admitted already and only grows, as the worker's cache assumes.
 *  3. Idempotent. Events are aggregated in a fixed order (event time, partition, offset), rows
 *     equal to the stored ones are left untouched, stored rows the recomputation does not
 *     produce are deleted. A second run writes nothing ("0 inserted, 0 updated, 0 deleted").
 *  4. Revisions as the worker keeps them: a changed row of a closed bucket gets revision + 1, a
 *     new row behind the group watermark is created closed with revision 1.
 *  5. Refusal, not truncation: a range starting before raw-event retention is an error.
 *  6. Raw events complete: a day whose raw events are fewer than the worker's automatic count
 *     of the event (raw storage was off, or they are gone) is an error, not a smaller number.
 *  7. Announced like the worker's writes. After a day's COMMIT, the hour and day rows it
 *     inserted, updated or deleted are published on the worker's change feed (REDIS_URL,
 *     WORKER_CHANGES_CHANNEL; services/worker/changefeed.c), so graphql-api stops serving cached
 *     answers of the metric and live subscriptions re-read those buckets. Best effort like the
 *     worker's: a failed publish is reported at the end, with what it means.
 */
#include "admin.h"

#include "changefeed.h"
#include "dims.h"
#include "ea_hll.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "message.h"
#include "metricdefs.h"
#include "processor.h"
#include "ea_pg_buf.h"
#include "stats.h"
#include "worker_config.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: analytics-admin backfill --tenant T --metric M --from TIME --to TIME\n"
    "\n"
    "Recomputes the 15-minute, hourly and daily rollups of metric M of tenant T from raw events\n"
    "in the whole UTC days covering [from, to) (TIME: 2026-11-01 or 2026-11-01T06:00:00Z).\n"
    "A metric without a definition is the automatic count of the events named M. Exact and\n"
    "idempotent: running it twice changes nothing. Refuses ranges older than raw-event\n"
    "retention (partition_classes). Prints one progress line per day.\n";

#define FETCH_ROWS "5000"
#define MAX_RETRIES 50

struct day_stats {
    long long events, rows, inserted, updated, unchanged, deleted;
};

static bool parse_time(const char *s, int64_t *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 10) { /* a bare date means its UTC midnight */
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        s = buf;
        n = strlen(buf);
    }
    return ea_time_parse_iso8601(s, n, out);
}

static void iso(int64_t ms, char buf[48])
{
    ea_time_format_iso8601(ms, buf);
}

/* The definition named metric (or, without one, the automatic count of events named metric),
 * as a snapshot holding only it; *event_out is the event name it counts (owned by the caller). */
static wk_defs *load_def(PGconn *c, const char *tenant, const char *metric, char **event_out,
                         bool *automatic, struct ea_err *err)
{
    const char *p[2] = {tenant, metric};
    PGresult *res = adm_query(c, "read the metric definition",
                              "SELECT event_name FROM metric_definitions "
                              "WHERE tenant_id = $1 AND name = $2",
                              2, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return NULL;
    *automatic = PQntuples(res) == 0;
    *event_out = strdup(*automatic ? metric : PQgetvalue(res, 0, 0));
    PQclear(res);
    wk_defs *one = wk_defs_new();
    if (*event_out == NULL || one == NULL) {
        wk_defs_free(one);
        ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
        return NULL;
    }
    if (*automatic)
        return one; /* no definition: processor.c counts the event under its own name */
    /* the worker's own loader, so the definition is parsed exactly as the worker parses it */
    wk_defs *all = wk_defs_load(c, err);
    if (all == NULL) {
        wk_defs_free(one);
        return NULL;
    }
    size_t nd;
    const wk_metric_def *const *ds = wk_defs_for_event(all, tenant, *event_out, &nd);
    ea_rc rc = EA_ERR_NOTFOUND;
    for (size_t i = 0; i < nd; i++)
        if (strcmp(ds[i]->name, metric) == 0)
            rc = wk_defs_add(one, ds[i], err);
    wk_defs_free(all);
    if (rc != EA_OK) {
        if (rc == EA_ERR_NOTFOUND)
            ea_err_set(err, rc, "could not backfill: the definition of %s could not be loaded",
                       metric);
        wk_defs_free(one);
        return NULL;
    }
    return one;
}

/* The group watermark of the consumer group furthest along, in ms; INT64_MIN when none. Buckets
 * ending at or before it are closed (the same rule as the worker's closer). */
static ea_rc group_watermark(PGconn *c, int64_t *out, struct ea_err *err)
{
    PGresult *res = adm_query(c, "read the group watermark",
                              "SELECT (extract(epoch FROM max(w)) * 1000)::int8 FROM "
                              "(SELECT min(watermark) AS w FROM consumer_offsets "
                              "GROUP BY group_id, topic HAVING bool_and(watermark IS NOT NULL)) g",
                              0, NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    *out = PQgetisnull(res, 0, 0) ? INT64_MIN : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return EA_OK;
}

/* Seeds caps with the values already admitted for the day (invariant 2). */
static ea_rc seed_caps(PGconn *c, wk_capset *caps, const char *tenant, const char *metric,
                       int64_t day, struct ea_err *err)
{
    char d[48];
    iso(day, d);
    const char *p[3] = {tenant, metric, d};
    PGresult *res =
        adm_query(c, "read the cardinality-cap registry",
                  "SELECT dim, value FROM rollup_dim_values WHERE tenant_id = $1 "
                  "AND metric = $2 AND day = ($3::timestamptz AT TIME ZONE 'UTC')::date",
                  3, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    for (int i = 0; i < PQntuples(res); i++)
        if (!wk_capset_seed(caps, tenant, metric, day, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                            (size_t)PQgetlength(res, i, 1))) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
        }
    PQclear(res);
    return EA_OK;
}

/* Reads the day's raw events of the metric's event through a cursor and aggregates them. */
static ea_rc aggregate_day(PGconn *c, wk_agg *agg, const wk_defs *defs, wk_capset *caps,
                           const char *tenant, const char *event, int64_t day,
                           int64_t closed_before, ea_arena *a, long long *nevents,
                           struct ea_err *err)
{
    char lo[48], hi[48];
    iso(day, lo);
    iso(day + EA_MS_PER_DAY, hi);
    const char *p[4] = {tenant, event, lo, hi};
    PGresult *res = adm_query(
        c, "read raw events",
        "DECLARE bf CURSOR FOR SELECT event_id, (extract(epoch FROM event_time) * 1000)::int8, "
        "(extract(epoch FROM received_at) * 1000)::int8, properties::text, kafka_partition, "
        "kafka_offset FROM raw_events WHERE tenant_id = $1 AND event_name = $2 "
        "AND event_time >= $3::timestamptz AND event_time < $4::timestamptz "
        "ORDER BY event_time, kafka_partition, kafka_offset",
        4, p, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    for (;;) {
        res = adm_query(c, "read raw events", "FETCH " FETCH_ROWS " FROM bf", 0, NULL,
                        PGRES_TUPLES_OK, err);
        if (res == NULL)
            return err->code;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            wk_event ev = {0};
            json_error_t jerr;
            ev.state = WK_EV_COUNTED;
            ev.tenant = tenant; /* rows keep this pointer: it outlives the aggregation */
            ev.event_id = PQgetvalue(res, i, 0);
            ev.name = event;
            ev.ts_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10);
            ev.received_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            ev.partition = (int32_t)strtol(PQgetvalue(res, i, 4), NULL, 10);
            ev.offset = strtoll(PQgetvalue(res, i, 5), NULL, 10);
            ev.root = json_loadb(PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3), 0, &jerr);
            if (ev.root == NULL || !json_is_object(ev.root)) {
                json_decref(ev.root);
                PQclear(res);
                return ea_err_set(err, EA_ERR_DB,
                                  "could not backfill: raw event %s has unreadable properties",
                                  ev.event_id);
            }
            ev.properties = ev.root;
            bool restated = false;
            ea_rc rc = wk_agg_add(agg, defs, caps, &ev, closed_before, a, &restated);
            json_decref(ev.root);
            if (rc != EA_OK) {
                PQclear(res);
                return ea_err_set(err, rc, "could not backfill: could not aggregate: %s",
                                  ea_rc_name(rc));
            }
        }
        *nevents += n;
        PQclear(res);
        if (n == 0)
            break;
    }
    res = adm_query(c, "close the cursor", "CLOSE bf", 0, NULL, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

static void arr_sep(ea_pg_buf *b)
{
    if (b->len > 1)
        ea_pg_buf_putc(b, ',');
}

/* Writes the recomputed rows of one granularity: delete what is gone, upsert what changed. */
/* What each write returns for the change feed: bucket (ms), dims, revision. */
#define RETURNING_CHANGE "RETURNING (extract(epoch FROM bucket) * 1000)::int8, dims::text, revision"

/* The hour and day rows a day's transaction wrote, for the change feed (7). */
struct changes {
    wk_change *v;
    size_t n, cap;
    ea_arena *a; /* dims texts */
};

/* Adds the rows of a `RETURNING bucket_ms, dims::text, revision` result. */
static ea_rc add_changes(struct changes *ch, PGresult *res, wk_gran g, const char *tenant,
                         const char *metric, struct ea_err *err)
{
    if (g == WK_GRAN_15M) /* the worker announces hour and day rows only */
        return EA_OK;
    for (int i = 0; i < PQntuples(res); i++) {
        if (ch->n == ch->cap) {
            size_t ncap = ch->cap == 0 ? 256 : ch->cap * 2;
            wk_change *nv = realloc(ch->v, ncap * sizeof(*nv));
            if (nv == NULL)
                return ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
            ch->v = nv;
            ch->cap = ncap;
        }
        const char *dims =
            ea_arena_strndup(ch->a, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
        if (dims == NULL)
            return ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
        ch->v[ch->n++] = (wk_change){.tenant = tenant,
                                     .metric = metric,
                                     .gran = g,
                                     .bucket_ms = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                     .dims_json = dims,
                                     .revision = (int)strtol(PQgetvalue(res, i, 2), NULL, 10)};
    }
    return EA_OK;
}

static ea_rc write_gran(PGconn *c, wk_gran g, wk_row **rows, size_t nrows, const char *tenant,
                        const char *metric, int64_t day, struct day_stats *st, struct changes *ch,
                        struct ea_err *err)
{
    ea_pg_buf pb[10] = {{0}};
    ea_pg_buf tmp = {0};
    ea_rc rc = EA_OK;
    PGresult *res = NULL;
    for (int p = 0; p < 10; p++) {
        ea_pg_buf_reset(&pb[p]);
        ea_pg_buf_putc(&pb[p], '{');
    }
    for (size_t i = 0; i < nrows; i++) {
        wk_row *r = rows[i];
        if (r->gran != g || strcmp(r->metric, metric) != 0)
            continue;
        char t[48];
        iso(r->bucket_ms, t);
        arr_sep(&pb[0]);
        ea_pg_buf_puts(&pb[0], t);
        arr_sep(&pb[1]);
        ea_pg_buf_array_elem(&pb[1], r->dims, r->dims_len);
        arr_sep(&pb[2]);
        ea_pg_buf_printf(&pb[2], "%lld", (long long)r->cnt);
        arr_sep(&pb[3]);
        ea_pg_buf_printf(&pb[3], "%.17g", r->sum);
        arr_sep(&pb[4]);
        if (r->has_value)
            ea_pg_buf_printf(&pb[4], "%.17g", r->min);
        else
            ea_pg_buf_puts(&pb[4], "NULL");
        arr_sep(&pb[5]);
        if (r->has_value)
            ea_pg_buf_printf(&pb[5], "%.17g", r->max);
        else
            ea_pg_buf_puts(&pb[5], "NULL");
        arr_sep(&pb[6]);
        if (r->hll != NULL) {
            size_t sz = ea_hll_serialized_size(r->hll);
            uint8_t *bytes = malloc(sz);
            if (bytes == NULL || ea_hll_serialize(r->hll, bytes, sz) != sz) {
                free(bytes);
                rc = ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
                goto out;
            }
            ea_pg_buf_reset(&tmp);
            ea_pg_buf_bytea_hex(&tmp, bytes, sz);
            free(bytes);
            ea_pg_buf_array_elem(&pb[6], tmp.p, tmp.len);
        } else {
            ea_pg_buf_puts(&pb[6], "NULL");
        }
        arr_sep(&pb[7]);
        ea_pg_buf_puts(&pb[7], r->closed ? "t" : "f");
        st->rows++;
    }
    for (int p = 0; p < 8; p++)
        ea_pg_buf_putc(&pb[p], '}');
    char lo[48], hi[48];
    iso(day, lo);
    iso(day + EA_MS_PER_DAY, hi);
    for (int p = 0; p < 8; p++)
        if (pb[p].oom) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
            goto out;
        }
    const char *params[12] = {tenant,  metric,  lo,      hi,      pb[0].p, pb[1].p,
                              pb[2].p, pb[3].p, pb[4].p, pb[5].p, pb[6].p, pb[7].p};
    const char *table = wk_gran_table(g);
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "DELETE FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 "
             "AND r.bucket >= $3::timestamptz AND r.bucket < $4::timestamptz "
             "AND NOT EXISTS (SELECT 1 FROM unnest($5::timestamptz[], $6::jsonb[]) AS u(b, d) "
             "WHERE u.b = r.bucket AND u.d = r.dims) " RETURNING_CHANGE,
             table);
    res = adm_query(c, "delete stale rollup rows", sql, 6, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    st->deleted += PQntuples(res);
    rc = add_changes(ch, res, g, tenant, metric, err);
    PQclear(res);
    if (rc != EA_OK)
        goto out;
    /* unchanged rows are not written at all (invariant 3): no revision bump, no dead tuple.
     * UPDATE then INSERT .. DO NOTHING (RETURNING xmax is not available on partitioned tables);
     * under REPEATABLE READ a conflict with a row committed after our snapshot is a 40001. */
    snprintf(sql, sizeof(sql),
             "UPDATE %s AS r SET cnt = u.c, sum = u.s, min = u.mn, max = u.mx, hll = u.h, "
             "revision = r.revision + CASE WHEN r.closed THEN 1 ELSE 0 END, "
             "closed = r.closed OR u.cl, updated_at = now() "
             "FROM unnest($5::timestamptz[], $6::jsonb[], $7::int8[], $8::float8[], "
             "$9::float8[], $10::float8[], $11::bytea[], $12::bool[]) "
             "AS u(b, d, c, s, mn, mx, h, cl) "
             "WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket = u.b AND r.dims = u.d "
             "AND r.bucket >= $3::timestamptz AND r.bucket < $4::timestamptz "
             "AND (r.cnt, r.sum, r.min, r.max, r.hll) IS DISTINCT FROM (u.c, u.s, u.mn, u.mx, "
             "u.h) " RETURNING_CHANGE,
             table);
    res = adm_query(c, "update rollup rows", sql, 12, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    st->updated += PQntuples(res);
    rc = add_changes(ch, res, g, tenant, metric, err);
    PQclear(res);
    if (rc != EA_OK)
        goto out;
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (tenant_id, metric, bucket, dims, cnt, sum, min, max, hll, "
             "revision, closed) "
             "SELECT $1, $2, b, d, c, s, mn, mx, h, CASE WHEN cl THEN 1 ELSE 0 END, cl "
             "FROM unnest($5::timestamptz[], $6::jsonb[], $7::int8[], $8::float8[], "
             "$9::float8[], $10::float8[], $11::bytea[], $12::bool[]) "
             "AS u(b, d, c, s, mn, mx, h, cl) "
             "WHERE b >= $3::timestamptz AND b < $4::timestamptz "
             "ON CONFLICT (tenant_id, metric, bucket, dims) DO NOTHING " RETURNING_CHANGE,
             table);
    res = adm_query(c, "insert rollup rows", sql, 12, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    st->inserted += PQntuples(res);
    rc = add_changes(ch, res, g, tenant, metric, err);
    PQclear(res);
    if (rc != EA_OK)
        goto out;
out:
    for (int p = 0; p < 10; p++)
        ea_pg_buf_free(&pb[p]);
    ea_pg_buf_free(&tmp);
    return rc;
}

/* The values this day admitted under the cap, into the registry (it only grows). */
static ea_rc write_registry(PGconn *c, wk_capset *caps, const char *metric, struct ea_err *err)
{
    size_t n = wk_capset_staged_count(caps);
    if (n == 0)
        return EA_OK;
    ea_pg_buf pb[5] = {{0}};
    for (int p = 0; p < 5; p++)
        ea_pg_buf_putc(&pb[p], '{');
    for (size_t i = 0; i < n; i++) {
        const char *tenant, *m, *dim, *value;
        int64_t day;
        size_t len;
        char t[48];
        wk_capset_staged_get(caps, i, &tenant, &m, &day, &dim, &value, &len);
        if (strcmp(m, metric) != 0)
            continue;
        iso(day, t);
        const char *fields[4] = {tenant, m, t, dim};
        for (int p = 0; p < 4; p++) {
            arr_sep(&pb[p]);
            ea_pg_buf_array_elem(&pb[p], fields[p], strlen(fields[p]));
        }
        arr_sep(&pb[4]);
        ea_pg_buf_array_elem(&pb[4], value, len);
    }
    ea_rc rc = EA_OK;
    for (int p = 0; p < 5; p++) {
        ea_pg_buf_putc(&pb[p], '}');
        if (pb[p].oom)
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
    }
    if (rc == EA_OK) {
        const char *params[5] = {pb[0].p, pb[1].p, pb[2].p, pb[3].p, pb[4].p};
        PGresult *res = adm_query(
            c, "write the cardinality-cap registry",
            "INSERT INTO rollup_dim_values (tenant_id, metric, day, dim, value) "
            "SELECT t, m, (d AT TIME ZONE 'UTC')::date, k, v FROM unnest($1::text[], $2::text[], "
            "$3::timestamptz[], $4::text[], $5::text[]) AS u(t, m, d, k, v) ON CONFLICT DO NOTHING",
            5, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            rc = err->code;
        PQclear(res);
    }
    for (int p = 0; p < 5; p++)
        ea_pg_buf_free(&pb[p]);
    return rc;
}

/* Invariant 6: raw_events must hold every event the worker counted that day, or a backfill
 * would replace exact rows with smaller ones (raw storage off, a lost partition). The worker's
 * automatic count of the event (daily row, dims {}) is that number; when a definition replaces
 * the automatic metric there is nothing to compare with and the check is skipped. */
static ea_rc check_raw_complete(PGconn *c, const char *tenant, const char *event, int64_t day,
                                long long events, struct ea_err *err)
{
    char d[48];
    iso(day, d);
    const char *p[3] = {tenant, event, d};
    PGresult *res =
        adm_query(c, "read the automatic count",
                  "SELECT cnt FROM rollups_daily WHERE tenant_id = $1 AND metric = $2 "
                  "AND bucket = $3::timestamptz AND dims = '{}' AND NOT EXISTS (SELECT 1 "
                  "FROM metric_definitions WHERE tenant_id = $1 AND name = $2)",
                  3, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    long long counted = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if (counted > events)
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not backfill: raw_events holds %lld \"%s\" events of %.10s but "
                          "the worker counted %lld (raw events missing: was WORKER_STORE_RAW "
                          "off?); nothing was changed for that day",
                          events, event, d, counted);
    return EA_OK;
}

/* One attempt at one UTC day, inside REPEATABLE READ (invariant 1). */
static ea_rc backfill_day(PGconn *c, const wk_defs *defs, const char *tenant, const char *metric,
                          const char *event, int64_t day, struct day_stats *st, wk_feed *feed,
                          struct ea_err *err)
{
    ea_rc rc;
    int64_t wm = INT64_MIN;
    wk_agg *agg = wk_agg_new();
    wk_capset *caps = wk_capset_new();
    ea_arena *a = ea_arena_new(1 << 20);
    struct changes ch = {.a = a};
    memset(st, 0, sizeof(*st));
    if (agg == NULL || caps == NULL || a == NULL) {
        rc = ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
        goto out;
    }
    if ((rc = adm_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", err)) != EA_OK)
        goto out;
    if ((rc = group_watermark(c, &wm, err)) != EA_OK ||
        (rc = seed_caps(c, caps, tenant, metric, day, err)) != EA_OK ||
        (rc = aggregate_day(c, agg, defs, caps, tenant, event, day, wm, a, &st->events, err)) !=
            EA_OK)
        goto fail;
    if ((rc = check_raw_complete(c, tenant, event, day, st->events, err)) != EA_OK)
        goto fail;
    size_t nrows;
    wk_row **rows = wk_agg_rows(agg, &nrows);
    for (int g = 0; g < WK_GRAN_N; g++)
        if ((rc = write_gran(c, (wk_gran)g, rows, nrows, tenant, metric, day, st, &ch, err)) !=
            EA_OK)
            goto fail;
    if ((rc = write_registry(c, caps, metric, err)) != EA_OK)
        goto fail;
    if ((rc = adm_exec(c, "COMMIT", err)) != EA_OK)
        goto out;
    st->unchanged = st->rows - st->inserted - st->updated;
    if (feed != NULL && ch.n > 0) /* (7) after COMMIT, never before */
        wk_feed_publish(feed, ch.v, ch.n);
    goto out;
fail:
    adm_rollback(c);
out:
    free(ch.v);
    wk_agg_free(agg);
    wk_capset_free(caps);
    ea_arena_free(a);
    return rc;
}

static ea_rc lock_metric(PGconn *c, const char *tenant, const char *metric, bool lock,
                         struct ea_err *err)
{
    const char *p[2] = {tenant, metric};
    PGresult *res = adm_query(c, lock ? "lock the metric" : "unlock the metric",
                              lock ? "SELECT pg_advisory_lock(ea_rollup_lock_key($1, $2))"
                                   : "SELECT pg_advisory_unlock(ea_rollup_lock_key($1, $2))",
                              2, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

/* Refuses a range past raw retention (invariant 5); creates the rollup partitions it needs. */
static ea_rc check_range(PGconn *c, int64_t from_day, int64_t to_day, struct ea_err *err)
{
    PGresult *res = adm_query(c, "read raw-event retention",
                              "SELECT retention_days FROM partition_classes "
                              "WHERE parent = 'raw_events'",
                              0, NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    long days = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    int64_t oldest = ea_time_now_ms() - (int64_t)days * EA_MS_PER_DAY;
    if (from_day < oldest) {
        char f[48], o[48];
        iso(from_day, f);
        iso(ea_time_floor_day(oldest) + EA_MS_PER_DAY, o);
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not backfill: %s is past raw-event retention (raw_events keeps "
                          "%ld days; the oldest whole day that can be backfilled is %.10s)",
                          f, days, o);
    }
    char lo[48], hi[48];
    iso(from_day, lo);
    iso(to_day - 1, hi);
    const char *p[2] = {lo, hi};
    res = adm_query(c, "create rollup partitions",
                    "SELECT sum(ea_partition_ensure(parent, $1::timestamptz, $2::timestamptz)) "
                    "FROM partition_classes WHERE parent LIKE 'rollups%'",
                    2, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

int adm_cmd_backfill(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *metric = NULL, *from = NULL, *to = NULL;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"metric", &metric}, {"from", &from}, {"to", &to}};
    int prc = adm_opts_parse(argc, argv, opts, 4, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || metric == NULL || from == NULL || to == NULL)
        return adm_usage_error(usage, "--tenant, --metric, --from and --to are required");
    if (!ea_catalog_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    if (!ea_catalog_text_valid(metric, EA_CATALOG_EVENT_MAX + EA_CATALOG_EVENT_SUFFIX_LEN))
        return adm_usage_error(usage, "invalid metric name");
    int64_t from_ms, to_ms;
    if (!parse_time(from, &from_ms))
        return adm_usage_error(usage, "invalid --from \"%s\" (ISO-8601, e.g. 2026-11-01)", from);
    if (!parse_time(to, &to_ms))
        return adm_usage_error(usage, "invalid --to \"%s\" (ISO-8601, e.g. 2026-11-02)", to);
    if (from_ms >= to_ms)
        return adm_usage_error(usage, "--from must be before --to");
    /* rollups and the cap registry are per UTC day: recompute whole days */
    int64_t from_day = ea_time_floor_day(from_ms);
    int64_t to_day = ea_time_floor_day(to_ms - 1) + EA_MS_PER_DAY;
    long ndays = (long)((to_day - from_day) / EA_MS_PER_DAY);

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    int exit_code = ADM_EXIT_FAIL;
    /* (7) the worker's change feed, with the worker's settings (REDIS_URL, WORKER_CHANGES_*) */
    wk_config wcfg;
    wk_stats *stats = NULL;
    wk_feed *feed = NULL;
    if (wk_config_load(&wcfg, &err) == EA_OK && (stats = wk_stats_new()) != NULL)
        feed = wk_feed_new(&wcfg, stats);
    if (feed == NULL)
        fprintf(stderr,
                "warning: no change feed (%s): graphql-api may serve cached answers of "
                "%s for up to CACHE_TTL_DAY_S\n",
                err.message[0] ? err.message : "out of memory", metric);
    ea_err_clear(&err);
    char *event = NULL;
    bool automatic = false;
    wk_defs *defs = NULL;
    if (ea_catalog_tenant_require(c, tenant, "backfill", &err) != EA_OK ||
        check_range(c, from_day, to_day, &err) != EA_OK ||
        (defs = load_def(c, tenant, metric, &event, &automatic, &err)) == NULL) {
        adm_fail(&err);
        goto out;
    }
    char f[48], t[48];
    iso(from_day, f);
    iso(to_day, t);
    printf("backfill %s/%s (%s of events \"%s\"): UTC days %.10s .. %.10s (%ld)\n", tenant, metric,
           automatic ? "automatic count" : "definition", event, f, t, ndays);
    fflush(stdout);
    struct day_stats total = {0};
    for (long i = 0; i < ndays; i++) {
        int64_t day = from_day + i * EA_MS_PER_DAY;
        struct day_stats st = {0};
        ea_rc rc = EA_ERR_DB;
        for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
            ea_err_clear(&err);
            if ((rc = lock_metric(c, tenant, metric, true, &err)) != EA_OK)
                break;
            rc = backfill_day(c, defs, tenant, metric, event, day, &st, feed, &err);
            struct ea_err e2 = {0};
            if (lock_metric(c, tenant, metric, false, &e2) != EA_OK && rc == EA_OK) {
                err = e2;
                rc = e2.code;
            }
            /* a worker batch committed into the same rows meanwhile: redo the day */
            if (rc == EA_OK ||
                (strcmp(err.sqlstate, "40001") != 0 && strcmp(err.sqlstate, "40P01") != 0))
                break;
        }
        if (rc != EA_OK) {
            char d[48];
            iso(day, d);
            fprintf(stderr, "backfill stopped at %.10s (days before it are complete)\n", d);
            adm_fail(&err);
            goto out;
        }
        char d[48];
        iso(day, d);
        printf("  [%ld/%ld] %.10s: %lld events -> %lld rows (%lld inserted, %lld updated, "
               "%lld unchanged, %lld deleted)\n",
               i + 1, ndays, d, st.events, st.rows, st.inserted, st.updated, st.unchanged,
               st.deleted);
        fflush(stdout);
        total.events += st.events;
        total.rows += st.rows;
        total.inserted += st.inserted;
        total.updated += st.updated;
        total.unchanged += st.unchanged;
        total.deleted += st.deleted;
    }
    printf("backfilled %s/%s: %ld days, %lld events, %lld rows (%lld inserted, %lld updated, "
           "%lld unchanged, %lld deleted)\n",
           tenant, metric, ndays, total.events, total.rows, total.inserted, total.updated,
           total.unchanged, total.deleted);
    if (stats != NULL && wk_stats_publish_errors(stats) > 0)
        fprintf(stderr,
                "warning: %llu change-feed message(s) not published (Redis unreachable?): "
                "graphql-api may serve cached answers of %s for up to CACHE_TTL_DAY_S\n",
                (unsigned long long)wk_stats_publish_errors(stats), metric);
    exit_code = ADM_EXIT_OK;
out:
    wk_feed_free(feed);
    wk_stats_free(stats);
    wk_defs_free(defs);
    free(event);
    PQfinish(c);
    return exit_code;
}
