/*
 * series.c — Query.metrics over rollups or raw events, bucket range by bucket range (series.h).
 *
 * Three readers, one row shape. Each returns, per (bucket, group): bucket start and end (ms),
 * the group's dims as jsonb text, Σcnt, Σsum, min, max, the unique sketches (hex, comma-separated)
 * or — raw path — the distinct canonical values as a JSON array, the highest revision and whether
 * the bucket is closed. One function turns such a row into a MetricPoint whose value is
 * lib/rollup's ea_rollup_value (so a chart, an alert and a breakdown agree).
 *   rollup, UTC:     GROUP BY over rollups_hourly / rollups_daily (exact, and ~30x faster than
 *                    ea_metric_series, which converts every row's time to the zone);
 *   rollup, a zone:  whole-hour offsets over the range (most zones): the UTC statement for hours,
 *                    hourly rows or totals summed by local day for days; other zones (+5:30)
 *                    ea_metric_series() (migration 0006/0009): exact local buckets in any IANA
 *                    zone from the 15-minute, hourly or daily rollups;
 *   raw events:      one statement over raw_events of the range (partition-pruned), every value
 *                    by the SQL form of lib/rollup's rules (migration 0015), the groups of each
 *                    bucket past GRAPHQL_RAW_GROUP_CAP (by event count) folded into "__other__".
 */
#include "series.h"
#include "ea_hll.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_pg_buf.h"
#include "ea_pg_params.h"
#include "ea_rollup.h"
#include "ea_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The log subject of a series' lines: its metric, "<tenant>/<metric>" (ea_log.h); valid until the
 * next call on this thread. */
static const char *series_subject(const gql_series_req *q)
{
    static _Thread_local char buf[EA_LOG_SUBJECT_MAX];
    snprintf(buf, sizeof(buf), "%.40s/%.50s", q->tenant, q->name);
    return buf;
}

int gql_fail(ea_gql_error *err, const char *code, const char *fmt, const char *arg)
{
    snprintf(err->code, sizeof(err->code), "%s", code);
    char full[1024];
    int n = snprintf(full, sizeof(full), fmt, arg);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(full) ? sizeof(full) - 1 : (size_t)n;
    if (len >= sizeof(err->message)) { /* truncated: long names are cut, marked by "..." */
        len = sizeof(err->message) - 1;
        memcpy(full + len - 3, "...", 3);
    }
    memcpy(err->message, full, len);
    err->message[len] = '\0';
    return -1;
}

int gql_series_req_from_args(const json_t *args, gql_series_req *q, ea_gql_error *err)
{
    memset(q, 0, sizeof(*q));
    q->tenant = json_string_value(json_object_get(args, "tenant"));
    q->name = json_string_value(json_object_get(args, "name"));
    const char *start = json_string_value(json_object_get(args, "startTime"));
    const char *end = json_string_value(json_object_get(args, "endTime"));
    if (start == NULL || !ea_time_parse_iso8601(start, strlen(start), &q->from))
        return gql_fail(err, "BAD_USER_INPUT", "startTime \"%s\" is not an ISO-8601 date-time",
                        start ? start : "");
    if (end == NULL || !ea_time_parse_iso8601(end, strlen(end), &q->to))
        return gql_fail(err, "BAD_USER_INPUT", "endTime \"%s\" is not an ISO-8601 date-time",
                        end ? end : "");
    if (q->to < q->from)
        return gql_fail(err, "BAD_USER_INPUT", "%s", "endTime is before startTime");
    const char *gran = json_string_value(json_object_get(args, "granularity"));
    q->day = gran != NULL && strcmp(gran, "DAY") == 0;
    q->tz = json_string_value(json_object_get(args, "timezone"));
    if (q->tz == NULL)
        q->tz = "UTC";
    const json_t *g = json_object_get(args, "groupBy");
    q->group_by = json_is_array(g) ? g : NULL;
    const json_t *f = json_object_get(args, "filter");
    if (f != NULL && !json_is_null(f) && !json_is_object(f))
        return gql_fail(err, "BAD_USER_INPUT", "%s",
                        "filter must be a JSON object of dimension values");
    q->filter = json_is_object(f) ? f : NULL;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)q->filter, k, v)
    {
        size_t i;
        const json_t *x;
        bool ok = !json_is_object(v);
        json_array_foreach(v, i, x) ok &= !json_is_object(x) && !json_is_array(x);
        if (!ok)
            return gql_fail(err, "BAD_USER_INPUT",
                            "filter value of \"%s\" must be a scalar or a list of scalars (any of)",
                            k);
    }
    return 0;
}

bool gql_series_is_utc(const char *tz)
{
    return strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0;
}

char *gql_text_array(const json_t *list)
{
    size_t n = json_array_size(list);
    const char **items = calloc(n + 1, sizeof(*items));
    if (items == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = json_string_value(json_array_get(list, i));
    ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_pg_buf_array(&b, items, n);
    free(items);
    if (!ea_buf_ok(&b)) {
        ea_buf_free(&b);
        return NULL;
    }
    return b.p; /* owned by the caller */
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* The rollup rows' test of a filter ($6, jsonb) on r.dims: containment (@>, which the dims index
 * serves) when every value is one scalar other than null; else ea_dims_match (migration 0006),
 * where a list is "any of" and a missing key is null, as groupBy and ea_metric_series read it.
 * Rows written before a dimension was added lack its key: under @> a filter {k: null} found
 * none of them (a red-team pass: UTC and whole-hour zones answered nothing where Asia/Kolkata,
 * through ea_metric_series, answered the days). */
static const char *filter_match(const json_t *filter)
{
    const char *k;
    const json_t *v;
    if (filter == NULL)
        return "$6::jsonb IS NOT NULL"; /* typed, unused */
    json_object_foreach((json_t *)filter, k, v)
    {
        if (json_is_array(v) || json_is_null(v))
            return "ea_dims_match(r.dims, $6::jsonb)";
    }
    return "r.dims @> $6::jsonb";
}

/* ---- the metric and the pipeline state ---- */

/* A database error as a GraphQL error: a series PostgreSQL refuses (22023/22004: zone, groupBy,
 * range) is BAD_USER_INPUT with its message and hint; anything else is logged and hidden. */
static int db_error(const gql_series_req *q, const struct ea_err *e, ea_gql_error *err)
{
    if (strcmp(e->sqlstate, "22023") == 0 || strcmp(e->sqlstate, "22004") == 0) {
        /* PostgreSQL's message is already "could not compute metric series: ..." */
        const char *m =
            strncmp(e->message, "could not run query: ", 21) == 0 ? e->message + 21 : e->message;
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s%s%s", m, e->hint[0] ? "; " : "", e->hint);
        return gql_fail(err, "BAD_USER_INPUT", "%s", msg);
    }
    if (strcmp(e->sqlstate, "57014") == 0) /* statement_timeout */
        return gql_fail(err, "SERVICE_UNAVAILABLE", "%s",
                        "the database took too long for this series; narrow the range");
    ea_log_error(series_subject(q), "%s", e->message);
    return gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read from the database");
}

int gql_series_def_load(PGconn *c, const gql_series_req *q, long raw_group_cap, gql_series_def *d,
                        ea_gql_error *err)
{
    memset(d, 0, sizeof(*d));
    d->raw_group_cap = raw_group_cap;
    struct ea_err e = {0};
    /* the zone (IANA names only), the group watermark, the raw retention: one round trip */
    const char *p[1] = {q->tz};
    PGresult *r = ea_pg_query(c,
                              "SELECT ea_tz_check($1), (extract(epoch FROM ea_group_watermark()) * "
                              "1000)::int8, (SELECT retention_days FROM partition_classes WHERE "
                              "parent = 'raw_events')",
                              1, p, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_error(q, &e, err);
    d->watermark = PQgetisnull(r, 0, 1) ? INT64_MIN : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    d->raw_retention_days = PQgetisnull(r, 0, 2) ? 30 : strtol(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    if (ea_catalog_metric_source(c, q->tenant, q->name, &d->src, &e) != EA_OK) {
        if (e.code == EA_ERR_NOTFOUND)
            return gql_fail(err, "NOT_FOUND", "%s", e.message);
        if (e.code == EA_ERR_UNAVAILABLE)
            return gql_fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
        ea_log_error(series_subject(q), "%s", e.message);
        return gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read from the database");
    }
    /* a key that is not a declared dimension sends the series to raw events */
    size_t i;
    const json_t *v;
    json_array_foreach(q->group_by, i, v)
    {
        if (!d->raw && !in_list(d->src.dims, json_string_value(v))) {
            d->raw = true;
            snprintf(d->raw_key, sizeof(d->raw_key), "%s", json_string_value(v));
        }
    }
    const char *k;
    json_object_foreach((json_t *)q->filter, k, v)
    {
        if (!d->raw && !in_list(d->src.dims, k)) {
            d->raw = true;
            snprintf(d->raw_key, sizeof(d->raw_key), "%s", k);
        }
    }
    return 0;
}

void gql_series_def_free(gql_series_def *d)
{
    json_decref(d->src.dims);
    d->src.dims = NULL;
}

/* ---- rows → points ---- */

/* Row columns: 0 bucket ms, 1 bucket end ms, 2 dims text, 3 Σcnt, 4 Σsum, 5 min, 6 max,
 * 7 sketches (hex list) or distinct values (JSON array, values_json), 8 revision, 9 closed. */
enum { C_B, C_END, C_DIMS, C_CNT, C_SUM, C_MIN, C_MAX, C_HLL, C_REV, C_FINAL, C_N };

/* Unique from raw events: the distinct canonical values hashed into a sketch exactly as the
 * worker hashes them (ea_hll_hash of the canonical JSON text), as hex for ea_rollup_value. */
static char *values_sketch(const char *values_json)
{
    json_error_t je;
    json_t *vals = json_loads(values_json, 0, &je);
    ea_hll *h = ea_hll_new();
    char *hex = NULL;
    size_t i;
    json_t *v;
    bool ok = h != NULL && json_is_array(vals);
    json_array_foreach(vals, i, v)
    {
        if (ok && json_is_string(v) &&
            ea_hll_add(h, json_string_value(v), json_string_length(v)) != EA_OK)
            ok = false;
    }
    size_t n = ok ? ea_hll_serialized_size(h) : 0;
    uint8_t *bytes = n > 0 ? malloc(n) : NULL;
    if (bytes != NULL && ea_hll_serialize(h, bytes, n) == n && (hex = malloc(2 * n + 1)) != NULL) {
        for (size_t k = 0; k < n; k++)
            snprintf(hex + 2 * k, 3, "%02x", bytes[k]);
    }
    free(bytes);
    ea_hll_free(h);
    json_decref(vals);
    return hex;
}

/* The point of row `row`, its value lib/rollup's for agg (a bucket without a value shows 0, as
 * before). NULL when the row holds an invalid sketch: the caller fails the query (never a wrong
 * number). */
static json_t *row_point(PGresult *r, int row, ea_catalog_agg agg, bool values_json)
{
    char *sketch = NULL;
    const char *hll = PQgetisnull(r, row, C_HLL) ? NULL : PQgetvalue(r, row, C_HLL);
    if (hll != NULL && values_json)
        hll = sketch = values_sketch(hll);
    ea_rollup_sums sums = {
        .rows = 1,
        .cnt = strtoll(PQgetvalue(r, row, C_CNT), NULL, 10),
        .sum = PQgetisnull(r, row, C_SUM) ? NULL : PQgetvalue(r, row, C_SUM),
        .min = PQgetisnull(r, row, C_MIN) ? NULL : PQgetvalue(r, row, C_MIN),
        .max = PQgetisnull(r, row, C_MAX) ? NULL : PQgetvalue(r, row, C_MAX),
        .hll_hex = hll,
    };
    double value = 0;
    bool ok = ea_rollup_value(agg, &sums, &value);
    free(sketch);
    if (!ok) {
        if (agg == EA_CATALOG_AGG_UNIQUE && hll != NULL)
            return NULL;
        value = 0;
    }
    char iso[48];
    ea_time_format_iso8601(strtoll(PQgetvalue(r, row, C_B), NULL, 10), iso);
    json_error_t je;
    json_t *g = json_loads(PQgetvalue(r, row, C_DIMS), 0, &je);
    return json_pack("{s:s,s:f,s:o,s:i,s:b}", "timestamp", iso, "value", value, "dimensions",
                     g != NULL ? g : json_object(), "revision",
                     (int)strtol(PQgetvalue(r, row, C_REV), NULL, 10), "final",
                     strcmp(PQgetvalue(r, row, C_FINAL), "t") == 0);
}

/* Groups the rows (ordered by bucket) into out->parts; closed_until is lowered to the first
 * bucket that is not closed. -1 on an invalid sketch or out of memory. */
static int rows_to_fill(PGresult *r, ea_catalog_agg agg, bool values_json, gql_bc_fill *out)
{
    int n = PQntuples(r);
    size_t nb = 0;
    for (int i = 0; i < n; i++)
        nb += i == 0 || strcmp(PQgetvalue(r, i, C_B), PQgetvalue(r, i - 1, C_B)) != 0;
    out->parts = nb > 0 ? calloc(nb, sizeof(*out->parts)) : NULL;
    if (nb > 0 && out->parts == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        int64_t b = strtoll(PQgetvalue(r, i, C_B), NULL, 10);
        gql_bc_part *p = out->nparts > 0 ? &out->parts[out->nparts - 1] : NULL;
        if (p == NULL || p->start != b) {
            p = &out->parts[out->nparts++];
            p->start = b;
            p->end = strtoll(PQgetvalue(r, i, C_END), NULL, 10);
            p->points = json_array();
            p->closed = true;
            if (p->points == NULL)
                return -1;
        }
        json_t *pt = row_point(r, i, agg, values_json);
        if (pt == NULL)
            return -1;
        p->closed &= strcmp(PQgetvalue(r, i, C_FINAL), "t") == 0;
        json_array_append_new(p->points, pt);
    }
    for (size_t i = 0; i < out->nparts; i++) {
        if (!out->parts[i].closed && out->parts[i].start < out->closed_until)
            out->closed_until = out->parts[i].start;
    }
    return 0;
}

/* ---- bounds ---- */

static int64_t floor_to(int64_t ms, int64_t step)
{
    int64_t q = ms / step;
    if (ms % step < 0)
        q--;
    return q * step;
}

/* The range a read of [from, to] covers and the closed horizon. UTC in C; a zone by
 * ea_series_bounds (migration 0015), which also says whether the hourly rollups answer the range
 * (*hourly): every UTC hour start of it is a local hour start (the zone's offsets there are whole
 * hours — most zones, not Asia/Kolkata's +5:30) and its hourly rows are still kept. When they
 * are not (the range starts before the hourly retention), *past_hours is that retention in
 * days, else 0. */
static int bounds(PGconn *c, const gql_series_req *q, int64_t wm, int64_t from, int64_t to,
                  gql_bc_fill *out, bool *hourly, long *past_hours, ea_gql_error *err)
{
    *hourly = false;
    *past_hours = 0;
    if (gql_series_is_utc(q->tz)) {
        int64_t step = q->day ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
        out->lo = floor_to(from, step);
        out->hi = floor_to(to, step) + step;
        out->closed_until = wm == INT64_MIN ? out->lo : floor_to(wm, step);
        return 0;
    }
    char f[48], t[48], w[48];
    ea_time_format_iso8601(from, f);
    ea_time_format_iso8601(to, t);
    if (wm != INT64_MIN)
        ea_time_format_iso8601(wm, w);
    const char *p[5] = {f, t, q->day ? "DAY" : "HOUR", q->tz, wm == INT64_MIN ? NULL : w};
    struct ea_err e = {0};
    /* the retention test first (CASE keeps the order): past it the hours are not walked */
    PGresult *r = ea_pg_query(
        c,
        "SELECT (extract(epoch FROM b.lo) * 1000)::int8, (extract(epoch FROM b.hi) * 1000)::int8, "
        "(extract(epoch FROM b.closed_until) * 1000)::int8, "
        "CASE WHEN k.kept THEN NOT EXISTS (SELECT 1 FROM generate_series(date_trunc('hour', "
        "b.lo, 'UTC'), b.hi, interval '1 hour') g WHERE date_trunc('hour', g AT TIME ZONE $4) <> "
        "g AT TIME ZONE $4) ELSE false END, CASE WHEN k.kept THEN 0 ELSE k.days END "
        "FROM ea_series_bounds($1::timestamptz, $2::timestamptz, $3, $4, $5::timestamptz) b "
        "LEFT JOIN LATERAL (SELECT retention_days AS days, b.lo >= now() - make_interval(days => "
        "retention_days) AS kept FROM partition_classes WHERE parent = 'rollups_hourly') k ON "
        "true",
        5, p, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_error(q, &e, err);
    out->lo = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    out->hi = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    out->closed_until = PQgetisnull(r, 0, 2) ? out->lo : strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    *hourly = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    *past_hours = PQgetisnull(r, 0, 4) ? 0 : strtol(PQgetvalue(r, 0, 4), NULL, 10);
    PQclear(r);
    return 0;
}

/* ---- the three readers ---- */

/* jsonb_build_object(k1, <value of k1>, ...) with the keys as elements of text[] parameter
 * $param, so no SQL is built from names or values. value_fmt has one %s for the key. */
static void group_expr(char *out, size_t cap, size_t nkeys, int param, const char *value_fmt)
{
    if (nkeys == 0) {
        snprintf(out, cap, "'{}'::jsonb");
        return;
    }
    size_t off = (size_t)snprintf(out, cap, "jsonb_build_object(");
    for (size_t i = 0; i < nkeys && i < 16 && off < cap; i++) {
        char key[32], val[160];
        snprintf(key, sizeof(key), "($%d::text[])[%zu]", param, i + 1);
        snprintf(val, sizeof(val), value_fmt, key);
        off += (size_t)snprintf(out + off, cap - off, "%s%s, %s", i > 0 ? ", " : "", key, val);
    }
    if (off < cap)
        snprintf(out + off, cap - off, ")");
}

static int run_rows(PGconn *c, const gql_series_req *q, const char *sql, int n,
                    const char *const *params, ea_catalog_agg agg, bool values_json,
                    gql_bc_fill *out, ea_gql_error *err)
{
    struct ea_err e = {0};
    PGresult *r = ea_pg_query(c, sql, n, params, PGRES_TUPLES_OK, &e);
    if (r == NULL)
        return db_error(q, &e, err);
    int rc = rows_to_fill(r, agg, values_json, out);
    PQclear(r);
    if (rc != 0) {
        gql_bc_fill_free(out);
        ea_log_error(series_subject(q), "invalid hll sketch or out of memory reading a series");
        return gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not merge stored sketches");
    }
    return 0;
}

/* run_rows for a raw-event statement, which may use parallel workers. A breakdown scans every
 * event of its range (a million in the bench) where a rollup read touches thousands of rows, and
 * its functions are PARALLEL SAFE (migrations 0015, 0017), but the planner does not choose
 * workers by itself: it takes each event for its own group (event_time is nearly unique), so a
 * partial aggregate looks useless and gathering every matching row expensive. Told that gathering
 * costs nothing, it scans the partitions in parallel and aggregates in the leader: 475 -> 340-380
 * ms for 1M events on an idle 2-core machine (EXPLAIN ANALYZE, 3 runs each; docs/ARCHITECTURE.md
 * "The slowest queries"). Set for this statement only, in its own read-only transaction. */
static int run_raw_rows(PGconn *c, const gql_series_req *q, const char *sql, int n,
                        const char *const *params, ea_catalog_agg agg, bool values_json,
                        gql_bc_fill *out, ea_gql_error *err)
{
    struct ea_err e = {0};
    if (ea_pg_exec(c,
                   "BEGIN READ ONLY; SET LOCAL parallel_setup_cost = 0; "
                   "SET LOCAL parallel_tuple_cost = 0; SET LOCAL enable_gathermerge = off",
                   &e) != EA_OK) {
        struct ea_err e2;
        if (ea_pg_exec(c, "ROLLBACK", &e2) != EA_OK) /* a broken connection is reopened */
            ea_log_warn("postgresql", "%s", e2.message);
        return db_error(q, &e, err);
    }
    int rc = run_rows(c, q, sql, n, params, agg, values_json, out, err);
    if (ea_pg_exec(c, rc == 0 ? "COMMIT" : "ROLLBACK", &e) != EA_OK)
        ea_log_warn("postgresql", "%s", e.message); /* read only: nothing is lost */
    return rc;
}

/* The aggregates of the row shape (columns 3..7) an aggregation needs; the others are NULL.
 * Measured on 144,000 hourly rows (30 days x 200 dimension rows): computing all five for a
 * count metric took 215 ms, the one it needs 75 ms. */
static const char *needed_sums(ea_catalog_agg agg)
{
    switch (agg) {
    case EA_CATALOG_AGG_SUM:
    case EA_CATALOG_AGG_AVG:
        return "sum(r.cnt), sum(r.sum), NULL::numeric, NULL::numeric, NULL::text";
    case EA_CATALOG_AGG_MIN:
        return "sum(r.cnt), NULL::numeric, min(r.min), NULL::numeric, NULL::text";
    case EA_CATALOG_AGG_MAX:
        return "sum(r.cnt), NULL::numeric, NULL::numeric, max(r.max), NULL::text";
    case EA_CATALOG_AGG_UNIQUE:
        return "sum(r.cnt), NULL::numeric, NULL::numeric, NULL::numeric, "
               "string_agg(encode(r.hll, 'hex'), ',')";
    default:
        return "sum(r.cnt), NULL::numeric, NULL::numeric, NULL::numeric, NULL::text";
    }
}

/* needed_sums over a bucket's total row (migration 0016) instead of its rollup rows. */
static const char *needed_totals(ea_catalog_agg agg)
{
    switch (agg) {
    case EA_CATALOG_AGG_SUM:
    case EA_CATALOG_AGG_AVG:
        return "t.cnt, t.sum, NULL::numeric, NULL::numeric, NULL::text";
    case EA_CATALOG_AGG_MIN:
        return "t.cnt, NULL::numeric, t.min, NULL::numeric, NULL::text";
    case EA_CATALOG_AGG_MAX:
        return "t.cnt, NULL::numeric, NULL::numeric, t.max, NULL::text";
    default:
        return "t.cnt, NULL::numeric, NULL::numeric, NULL::numeric, NULL::text";
    }
}

/* Runs a rollup statement over out's range with $1 tenant, $2 metric, $3 and $4 the range, $5 the
 * groupBy keys (text[]) and $6 the filter (jsonb, {} without one); with local_days also $7 the
 * zone and $8 the group watermark (NULL before there is one). */
static int run_rollup(PGconn *c, const gql_series_req *q, const gql_series_def *d, const char *sql,
                      bool local_days, gql_bc_fill *out, ea_gql_error *err)
{
    char lo[48], hi[48], wm[48];
    ea_time_format_iso8601(out->lo, lo);
    ea_time_format_iso8601(out->hi, hi);
    if (d->watermark != INT64_MIN)
        ea_time_format_iso8601(d->watermark, wm);
    char *groups = gql_text_array(q->group_by);
    char *filter = q->filter != NULL ? json_dumps(q->filter, JSON_COMPACT) : strdup("{}");
    const char *p[8] = {q->tenant, q->name, lo,    hi,
                        groups,    filter,  q->tz, d->watermark != INT64_MIN ? wm : NULL};
    int rc = groups == NULL || filter == NULL
                 ? gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory")
                 : run_rows(c, q, sql, local_days ? 8 : 6, p, d->src.agg, false, out, err);
    free(groups);
    free(filter);
    return rc;
}

/* Rollups in UTC: whole rows of rollups_hourly / rollups_daily; without groupBy one group per
 * bucket, and no dims test without a filter (PostgreSQL then plans a parallel aggregate).
 * Without groupBy and filter (and not unique: sketches merge only in C) one total row per bucket
 * (rollup_totals_*, migration 0016) instead of all its rows: the same Σcnt, Σsum, min, max and
 * highest revision, and "final" still from the rollup rows — no open row in the bucket, asked of
 * the partial index of open rows (0002) in the same statement, so in the same snapshot (a join,
 * not a correlated NOT EXISTS: that planned the rows' partitions once per totals partition, 961
 * index scans and 8-17 ms of planning for 30 days). */
static int fetch_rollup_utc(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                            gql_bc_fill *out, ea_gql_error *err)
{
    int64_t step = q->day ? EA_MS_PER_DAY : EA_MS_PER_HOUR;
    size_t ng = json_array_size(q->group_by);
    const char *table = ea_rollup_gran_table(q->day ? EA_ROLLUP_DAY : EA_ROLLUP_HOUR);
    if (ng == 0 && q->filter == NULL && d->src.agg != EA_CATALOG_AGG_UNIQUE) {
        char tsql[1536];
        snprintf(tsql, sizeof(tsql),
                 "SELECT (extract(epoch FROM t.bucket) * 1000)::int8, (extract(epoch FROM "
                 "t.bucket) * 1000)::int8 + %lld, '{}', %s, t.revision, o.bucket IS NULL "
                 "FROM %s t LEFT JOIN (SELECT DISTINCT bucket FROM %s WHERE NOT closed AND "
                 "tenant_id = $1 AND metric = $2 AND bucket >= $3 AND bucket < $4) o "
                 "ON o.bucket = t.bucket WHERE t.tenant_id = $1 AND t.metric = $2 AND "
                 "t.bucket >= $3 AND t.bucket < $4 ORDER BY t.bucket",
                 (long long)step, needed_totals(d->src.agg),
                 ea_rollup_gran_totals(q->day ? EA_ROLLUP_DAY : EA_ROLLUP_HOUR), table);
        char lo[48], hi[48];
        ea_time_format_iso8601(out->lo, lo);
        ea_time_format_iso8601(out->hi, hi);
        return run_rows(c, q, tsql, 4, (const char *const[]){q->tenant, q->name, lo, hi},
                        d->src.agg, false, out, err);
    }
    char group[1400];
    group_expr(group, sizeof(group), ng, 5, "coalesce(r.dims -> %s, 'null')");
    const char *match = filter_match(q->filter);
    char sql[3072];
    if (ng == 0)
        snprintf(sql, sizeof(sql),
                 "SELECT (extract(epoch FROM r.bucket) * 1000)::int8, (extract(epoch FROM "
                 "r.bucket) * 1000)::int8 + %lld, '{}', %s, max(r.revision), bool_and(r.closed) "
                 "FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket >= $3 AND "
                 "r.bucket < $4 AND %s AND $5::text[] IS NOT NULL "
                 "GROUP BY r.bucket ORDER BY r.bucket",
                 (long long)step, needed_sums(d->src.agg),
                 q->day ? "rollups_daily" : "rollups_hourly", match);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT (extract(epoch FROM r.bucket) * 1000)::int8 AS b, (extract(epoch FROM "
                 "r.bucket) * 1000)::int8 + %lld, (%s)::text AS g, %s, max(r.revision), "
                 "bool_and(r.closed) "
                 "FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket >= $3 AND "
                 "r.bucket < $4 AND %s AND $5::text[] IS NOT NULL "
                 "GROUP BY r.bucket, 3 ORDER BY r.bucket, 3",
                 (long long)step, group, needed_sums(d->src.agg),
                 q->day ? "rollups_daily" : "rollups_hourly", match);
    return run_rollup(c, q, d, sql, false, out, err);
}

/* Local days of a zone whose offsets are whole hours over the range (bounds() said so): each
 * day's hourly rows — or, without groupBy and filter and not unique, its hourly totals — summed
 * under ea_local_bucket(bucket, 'DAY', zone), as ea_metric_series maps them, with the day's end
 * from ea_series_bucket_end (23 or 25 hours across a DST change). Final once every row of the day
 * is closed and the day is behind the group watermark: hourly rows close hour by hour, so a day
 * whose last hours hold no events yet has closed rows and is not over. The same sums as
 * ea_metric_series (graphql_zones checks both against the events sent) without its plpgsql and
 * per-row subquery: 30 days of DAY buckets in Europe/Berlin, p50 418-433 ms through
 * ea_metric_series, 7.6-7.7 ms here (bench/README.md). Parameters as run_rollup's. */
static int fetch_rollup_local_days(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                                   gql_bc_fill *out, ea_gql_error *err)
{
    size_t ng = json_array_size(q->group_by);
    bool totals = ng == 0 && q->filter == NULL && d->src.agg != EA_CATALOG_AGG_UNIQUE;
    char group[1400];
    group_expr(group, sizeof(group), ng, 5, "coalesce(r.dims -> %s, 'null')");
    const char *match = filter_match(q->filter);
    /* totals: "closed" is whether the hour has no open row (the partial index of open rows) */
    const char *from =
        totals ? "(SELECT t.*, o.bucket IS NULL AS closed FROM rollup_totals_hourly t LEFT JOIN "
                 "(SELECT DISTINCT bucket FROM rollups_hourly WHERE NOT closed AND tenant_id = $1 "
                 "AND metric = $2 AND bucket >= $3 AND bucket < $4) o ON o.bucket = t.bucket "
                 "WHERE t.tenant_id = $1 AND t.metric = $2 AND t.bucket >= $3 AND t.bucket < $4 "
                 "AND $6::jsonb IS NOT NULL)"
               : "rollups_hourly";
    char sql[4096];
    snprintf(sql, sizeof(sql),
             "SELECT (extract(epoch FROM r.day) * 1000)::int8, (extract(epoch FROM "
             "ea_series_bucket_end(r.day, 'DAY', $7)) * 1000)::int8, (%s)::text, %s, "
             "max(r.revision), bool_and(r.closed) AND $8::timestamptz IS NOT NULL AND "
             "ea_series_bucket_end(r.day, 'DAY', $7) <= $8::timestamptz "
             "FROM (SELECT ea_local_bucket(r.bucket, 'DAY', $7) AS day, r.* FROM %s r "
             "WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket >= $3 AND r.bucket < $4 "
             "AND %s AND $5::text[] IS NOT NULL) r GROUP BY r.day, 3 ORDER BY r.day, 3",
             totals ? "'{}'::jsonb" : group, needed_sums(d->src.agg), from,
             totals ? "true" : match);
    return run_rollup(c, q, d, sql, true, out, err);
}

/* Rollups in a zone: ea_metric_series over [from, to]; each bucket's end from
 * ea_series_bucket_end. */
static int fetch_rollup_zone(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                             int64_t from, int64_t to, gql_bc_fill *out, ea_gql_error *err)
{
    char f[48], t[48];
    ea_time_format_iso8601(from, f);
    ea_time_format_iso8601(to, t);
    char *groups = gql_text_array(q->group_by);
    char *filter = q->filter != NULL ? json_dumps(q->filter, JSON_COMPACT) : NULL;
    if (groups == NULL || (q->filter != NULL && filter == NULL)) {
        free(groups);
        free(filter);
        return gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    }
    const char *p[8] = {q->tenant, q->name, f, t, q->day ? "DAY" : "HOUR", q->tz, groups, filter};
    int rc = run_rows(
        c, q,
        "SELECT (extract(epoch FROM s.bucket) * 1000)::int8, (extract(epoch FROM "
        "ea_series_bucket_end(s.bucket, $5, $6)) * 1000)::int8, s.dims::text, s.cnt, s.sum, "
        "s.min, s.max, (SELECT string_agg(encode(h, 'hex'), ',') FROM unnest(s.hlls) h), "
        "s.revision, s.final "
        "FROM ea_metric_series($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7::text[], "
        "$8::jsonb) s ORDER BY s.bucket, s.dims::text",
        8, p, d->src.agg, false, out, err);
    free(groups);
    free(filter);
    return rc;
}

/* The raw value columns of keys $param[1..nkeys]: ", r.properties -> ($5::text[])[1] AS g1, ..."
 * into cols and ", g1, ..." into names (prefix "g" or "f"). */
static void raw_cols(char *cols, char *names, size_t cap, size_t nkeys, int param, char prefix)
{
    size_t oc = 0, on = 0;
    cols[0] = names[0] = '\0';
    for (size_t i = 0; i < nkeys && i < 16 && oc < cap && on < cap; i++) {
        oc += (size_t)snprintf(cols + oc, cap - oc,
                               ", (r.properties -> ($%d::text[])[%zu])::text AS %c%zu", param,
                               i + 1, prefix, i + 1);
        on += (size_t)snprintf(names + on, cap - on, ", %c%zu", prefix, i + 1);
    }
}

/* jsonb_build_object(($5::text[])[1], ea_dim_value(g1::jsonb), ...): the canonical group of raw
 * columns g1.. (jsonb text, see raw_cols; or "'{}'::jsonb" without keys). */
static void canon_obj(char *out, size_t cap, size_t nkeys, int param, char prefix)
{
    if (nkeys == 0) {
        snprintf(out, cap, "'{}'::jsonb");
        return;
    }
    size_t off = (size_t)snprintf(out, cap, "jsonb_build_object(");
    for (size_t i = 0; i < nkeys && i < 16 && off < cap; i++)
        off += (size_t)snprintf(out + off, cap - off,
                                "%s($%d::text[])[%zu], ea_dim_value(%c%zu::jsonb)",
                                i > 0 ? ", " : "", param, i + 1, prefix, i + 1);
    if (off < cap)
        snprintf(out + off, cap - off, ")");
}

/* Raw events of the metric's event in [out->lo, out->hi): every groupBy and filter key read from
 * the properties, the aggregation's value from ea_property_number or, for unique, the distinct
 * canonical values; the groups of a bucket past the cap fold into "__other__".
 * Two steps, so no function runs per event on the keys: events are first counted by bucket and
 * the raw JSON values of the keys (a hash aggregate over each value's jsonb text: hashing text is
 * cheaper than hashing jsonb, and date_bin cheaper than date_trunc, which goes through the
 * session's zone; together ~15 % of this statement), then those few rows are made canonical
 * (ea_dim_value: 1 and 1.0 are one group), filtered (ea_dims_match) and merged. The result is
 * the one a per-event canonical group would give: every aggregate merges. */
static int fetch_raw(PGconn *c, const gql_series_req *q, const gql_series_def *d, gql_bc_fill *out,
                     ea_gql_error *err)
{
    bool utc = gql_series_is_utc(q->tz);
    ea_catalog_agg agg = d->src.agg;
    const bool uniq = agg == EA_CATALOG_AGG_UNIQUE, count = agg == EA_CATALOG_AGG_COUNT;
    const char *bucket = utc ? (q->day ? "date_bin('1 day', r.event_time, 'epoch')"
                                       : "date_bin('1 hour', r.event_time, 'epoch')")
                             : "ea_series_bucket(r.event_time, $10, $11)";
    const char *bucket_end = utc ? (q->day ? "b + interval '1 day'" : "b + interval '1 hour'")
                                 : "ea_series_bucket_end(b, $10, $11)";
    size_t ng = json_array_size(q->group_by), nf = json_object_size(q->filter);
    char gcols[1200], gnames[200], fcols[1200], fnames[200], group[1600], fobj[1600];
    raw_cols(gcols, gnames, sizeof(gcols), ng, 5, 'g');
    raw_cols(fcols, fnames, sizeof(fcols), nf, 6, 'f');
    canon_obj(group, sizeof(group), ng, 5, 'g');
    canon_obj(fobj, sizeof(fobj), nf, 6, 'f');
    /* the folded group: every groupBy key "__other__" */
    json_t *other = json_object();
    size_t i;
    json_t *k;
    json_array_foreach(q->group_by, i, k)
        json_object_set_new(other, json_string_value(k), json_string("__other__"));
    char *other_s = json_dumps(other, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(other);
    /* step 1 (per event): count: nothing more; unique: the raw value is one more group column;
     * sum/min/max/avg: the number, computed once per event (OFFSET 0 keeps it a column). */
    const char *src =
        count || uniq
            ? "raw_events r"
            : "raw_events r CROSS JOIN LATERAL (SELECT ea_property_number(r.properties -> $9) "
              "AS x OFFSET 0) v";
    const char *step1_aggs = count || uniq ? ""
                                           : ", count(v.x) AS c, sum(v.x) AS s, min(v.x) AS mn, "
                                             "max(v.x) AS mx";
    const char *step1_where = count  ? ""
                              : uniq ? " AND r.properties -> $9 <> 'null'::jsonb"
                                     : " AND v.x IS NOT NULL";
    /* a raw bucket is closed once its end is behind the watermark (raw rows carry no flag) */
    char closed[200] = "false";
    if (d->watermark != INT64_MIN)
        snprintf(closed, sizeof(closed), "%s <= $13::timestamptz", bucket_end);
    char sql[8192];
    snprintf(sql, sizeof(sql),
             "WITH e AS (SELECT %s AS b%s%s%s, count(*) AS n%s FROM %s "
             "WHERE r.tenant_id = $1 AND r.event_name = $2 AND r.event_time >= $3 AND "
             "r.event_time < $4%s GROUP BY b%s%s%s), "
             "a AS (SELECT b, %s AS g, sum(n) AS n, %s FROM e "
             "WHERE $7::jsonb IS NULL OR ea_dims_match(%s, $7::jsonb) GROUP BY b, g), "
             "k AS (SELECT a.*, CASE WHEN row_number() OVER (PARTITION BY b ORDER BY n DESC, "
             "g::text) <= $8::int THEN g ELSE $12::jsonb END AS g2 FROM a) "
             "SELECT (extract(epoch FROM b) * 1000)::int8, (extract(epoch FROM %s) * 1000)::int8, "
             "g2::text, %s, 0, %s FROM k%s "
             /* every parameter typed even where this statement does not need it (here, on the
              * grouped rows: in the scan it would be evaluated once per event) */
             "WHERE num_nulls($5::text[], $6::text[], $7::jsonb, $9::text, $10::text, $11::text, "
             "$13::timestamptz) >= 0 GROUP BY b, g2 ORDER BY b, g2::text",
             bucket, gcols, fcols, uniq ? ", (r.properties -> $9)::text AS x" : "", step1_aggs, src,
             step1_where, gnames, fnames, uniq ? ", x" : "", group,
             uniq    ? "array_agg(DISTINCT ea_dim_value(x::jsonb)::text) AS vals"
             : count ? "NULL::int8 AS c"
                     : "sum(c) AS c, sum(s) AS s, min(mn) AS mn, max(mx) AS mx",
             fobj, bucket_end,
             uniq    ? "count(*), NULL, NULL, NULL, json_agg(DISTINCT u)::text"
             : count ? "sum(n), NULL, NULL, NULL, NULL"
                     : "sum(c), sum(s), min(mn), max(mx), NULL",
             closed, uniq ? ", unnest(k.vals) u" : "");
    char wm[48] = "";
    if (d->watermark != INT64_MIN)
        ea_time_format_iso8601(d->watermark, wm);
    char lo[48], hi[48], cap[24];
    ea_time_format_iso8601(out->lo, lo);
    ea_time_format_iso8601(out->hi, hi);
    snprintf(cap, sizeof(cap), "%ld", d->raw_group_cap);
    char *groups = gql_text_array(q->group_by);
    json_t *fkeys = json_array();
    const char *fk;
    json_t *fv;
    json_object_foreach((json_t *)q->filter, fk, fv) json_array_append_new(fkeys, json_string(fk));
    char *fkeys_s = gql_text_array(fkeys);
    json_decref(fkeys);
    char *filter = q->filter != NULL ? json_dumps(q->filter, JSON_COMPACT) : NULL;
    int rc;
    if (groups == NULL || fkeys_s == NULL || other_s == NULL ||
        (q->filter != NULL && filter == NULL)) {
        rc = gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "out of memory");
    } else {
        const char *p[13] = {q->tenant,
                             d->src.event,
                             lo,
                             hi,
                             groups,
                             fkeys_s,
                             filter,
                             cap,
                             d->src.property,
                             q->day ? "DAY" : "HOUR",
                             q->tz,
                             other_s,
                             wm[0] ? wm : NULL};
        rc = run_raw_rows(c, q, sql, 13, p, agg, uniq, out, err);
    }
    free(groups);
    free(fkeys_s);
    free(filter);
    free(other_s);
    return rc;
}

/* A range starting before what is kept (oldest, ms): BAD_USER_INPUT with msg, and what to send
 * instead (the dashboard offers it) — the first start whose bucket is kept: the step after
 * oldest's, in a zone one step more (its bucket holding that instant may start before it: up to
 * 45 minutes for an hour of a :30 or :45 zone, 14 hours for a day; CI once saw Kolkata's retry
 * refused again). */
static int refuse_start(const gql_series_req *q, int64_t oldest, int64_t step, const char *msg,
                        const char *suggestion, ea_gql_error *err)
{
    char iso[48];
    ea_time_format_iso8601(floor_to(oldest, step) + (gql_series_is_utc(q->tz) ? 1 : 2) * step, iso);
    json_decref(err->extensions);
    err->extensions =
        json_pack("{s:s,s:{s:s}}", "suggestion", suggestion, "retryWith", "startTime", iso);
    return gql_fail(err, "BAD_USER_INPUT", "%s", msg);
}

int gql_series_fetch_range(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                           int64_t from, int64_t to, gql_bc_fill *out, ea_gql_error *err)
{
    memset(out, 0, sizeof(*out));
    bool hourly;
    long past_hours;
    if (bounds(c, q, d->watermark, from, to, out, &hourly, &past_hours, err) != 0)
        return -1;
    if (out->closed_until > out->hi)
        out->closed_until = out->hi;
    if (out->closed_until < out->lo)
        out->closed_until = out->lo;
    out->raw = d->raw;
    if (d->raw) {
        int64_t oldest = ea_time_now_ms() - d->raw_retention_days * EA_MS_PER_DAY;
        if (out->lo < oldest) {
            char msg[512];
            snprintf(msg, sizeof(msg),
                     "\"%s\" is not a dimension of metric \"%s\": it is answered from raw "
                     "events, which are kept %ld days; narrow the range to the last %ld days, "
                     "or group by a declared dimension",
                     d->raw_key, q->name, d->raw_retention_days, d->raw_retention_days);
            return refuse_start(q, oldest, q->day ? EA_MS_PER_DAY : EA_MS_PER_HOUR, msg,
                                "narrow the range to the raw-event retention", err);
        }
        return fetch_raw(c, q, d, out, err);
    }
    /* hours in a zone before the hourly (and 15-minute) rollups' retention: ea_metric_series
     * refuses them too, but only after walking every quarter hour of the range for its alignment
     * test — 17-21 s of a pool thread from year 1 (red-team pass) —, so they are refused here */
    if (!gql_series_is_utc(q->tz) && !q->day && past_hours > 0) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "could not compute metric series: hours in %.64s are kept %ld days, and the "
                 "range starts before that; query a shorter range, or days",
                 q->tz, past_hours);
        return refuse_start(q, ea_time_now_ms() - past_hours * EA_MS_PER_DAY, EA_MS_PER_HOUR, msg,
                            "narrow the range to the hourly rollups' retention", err);
    }
    /* a zone of whole-hour offsets: its hours are UTC hours, its days sums of them */
    if (gql_series_is_utc(q->tz) || (hourly && !q->day))
        return fetch_rollup_utc(c, q, d, out, err);
    if (hourly)
        return fetch_rollup_local_days(c, q, d, out, err);
    return fetch_rollup_zone(c, q, d, from, to, out, err);
}

double gql_series_estimate(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                           int64_t from, int64_t to)
{
    char f[48], t[48];
    ea_time_format_iso8601(from, f);
    ea_time_format_iso8601(to, t);
    const char *sql =
        d->raw
            ? "EXPLAIN (FORMAT JSON) SELECT 1 FROM raw_events WHERE tenant_id = $1 AND "
              "event_name = $2 AND event_time >= $3::timestamptz AND event_time <= $4::timestamptz"
        : q->day && gql_series_is_utc(q->tz)
            ? "EXPLAIN (FORMAT JSON) SELECT 1 FROM rollups_daily WHERE tenant_id = $1 AND "
              "metric = $2 AND bucket >= $3::timestamptz AND bucket <= $4::timestamptz"
            : "EXPLAIN (FORMAT JSON) SELECT 1 FROM rollups_hourly WHERE tenant_id = $1 AND "
              "metric = $2 AND bucket >= $3::timestamptz AND bucket <= $4::timestamptz";
    const char *p[4] = {q->tenant, d->raw ? d->src.event : q->name, f, t};
    struct ea_err e = {0};
    PGresult *r = ea_pg_query(c, sql, 4, p, PGRES_TUPLES_OK, &e);
    if (r == NULL) {
        ea_log_warn(series_subject(q), "%s", e.message);
        return -1;
    }
    json_error_t je;
    json_t *plan = json_loads(PQgetvalue(r, 0, 0), 0, &je);
    PQclear(r);
    json_t *rows = json_object_get(json_object_get(json_array_get(plan, 0), "Plan"), "Plan Rows");
    double n = json_is_number(rows) ? json_number_value(rows) : -1;
    json_decref(plan);
    return n;
}

int gql_series_fetch(PGconn *c, const gql_series_req *q, json_t **out, ea_gql_error *err)
{
    gql_series_def d;
    if (gql_series_def_load(c, q, 100, &d, err) != 0) {
        if (strcmp(err->code, "NOT_FOUND") != 0)
            return -1;
        /* a subscription may wait for a metric's first event: an empty series, as before */
        *out = json_array();
        return 0;
    }
    int64_t to = q->to;
    int64_t horizon = ea_time_now_ms() + GQL_SERIES_FUTURE_MS;
    if (to > horizon)
        to = horizon > q->from ? horizon : q->from;
    gql_bc_fill f;
    int rc = gql_series_fetch_range(c, q, &d, q->from, to, &f, err);
    gql_series_def_free(&d);
    if (rc != 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < f.nparts; i++)
        json_array_extend(list, f.parts[i].points);
    gql_bc_fill_free(&f);
    *out = list;
    return 0;
}

bool gql_series_dims_match(const json_t *row_dims, const json_t *group, const json_t *group_by)
{
    size_t i;
    const json_t *k;
    json_array_foreach(group_by, i, k)
    {
        const char *name = json_string_value(k);
        const json_t *a = json_object_get(row_dims, name), *b = json_object_get(group, name);
        if (a == NULL)
            a = json_null();
        if (b == NULL)
            b = json_null();
        if (!json_equal((json_t *)a, (json_t *)b))
            return false;
    }
    return true;
}
