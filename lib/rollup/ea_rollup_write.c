/*
 * ea_rollup_write.c — the rollup row writer, HLL merge, locks and cap registry (see
 * ea_rollup_write.h). Rows travel as parallel arrays for unnest(), encoded by one function
 * (row_arrays) for both the worker's ADD and backfill's REPLACE, so the two cannot drift.
 */
#include "ea_rollup_write.h"
#include "ea_arena.h"
#include "ea_catalog.h"
#include "ea_log.h"
#include "ea_map.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- changes ---- */

ea_rc ea_rollup_changes_add(ea_rollup_changes *l, const ea_rollup_change *c)
{
    ea_rollup_change *nv = ea_array_grow(l->v, sizeof(*nv), l->n, &l->cap, 256);
    if (nv == NULL)
        return EA_ERR_NOMEM;
    l->v = nv;
    ea_rollup_change *d = &l->v[l->n];
    *d = *c;
    d->tenant = ea_arena_strndup(l->a, c->tenant, strlen(c->tenant));
    d->metric = ea_arena_strndup(l->a, c->metric, strlen(c->metric));
    d->dims_json =
        c->dims_json != NULL ? ea_arena_strndup(l->a, c->dims_json, strlen(c->dims_json)) : NULL;
    if (d->tenant == NULL || d->metric == NULL || (c->dims_json != NULL && d->dims_json == NULL))
        return EA_ERR_NOMEM;
    l->n++;
    return EA_OK;
}

void ea_rollup_changes_clear(ea_rollup_changes *l)
{
    l->n = 0;
}

void ea_rollup_changes_free(ea_rollup_changes *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* ---- locks ---- */

struct ea_rollup_locks {
    ea_arena *a;
    ea_map seen; /* "L" tenant \0 metric -> lk, "D" tenant \0 metric \0 day -> lk */
    struct lk {
        const char *tenant, *metric;
        int64_t day;    /* INT64_MIN: a lock; else a registry day */
        bool exclusive; /* a lock: HLL merge or cap admission (else shared) */
    } * v;
    size_t n, cap, nlock;
    ea_buf key;
};

ea_rollup_locks *ea_rollup_locks_new(void)
{
    ea_rollup_locks *l = calloc(1, sizeof(*l));
    if (l != NULL && (l->a = ea_arena_new(16384)) == NULL) {
        free(l);
        return NULL;
    }
    if (l != NULL)
        ea_buf_init(&l->key, EA_PG_VALUE_MAX);
    return l;
}

void ea_rollup_locks_free(ea_rollup_locks *l)
{
    if (l == NULL)
        return;
    ea_map_free(&l->seen);
    ea_arena_free(l->a);
    ea_buf_free(&l->key);
    free(l->v);
    free(l);
}

void ea_rollup_locks_reset(ea_rollup_locks *l)
{
    ea_map_clear(&l->seen);
    ea_arena_reset(l->a);
    l->n = l->nlock = 0;
}

/* Notes a lock of (tenant, metric) (day INT64_MIN; exclusive or shared, exclusive wins) or a
 * registry day. The strings must live until ea_rollup_locks_take. */
static ea_rc note(ea_rollup_locks *l, const char *tenant, const char *metric, int64_t day,
                  bool exclusive)
{
    ea_buf *k = &l->key;
    ea_buf_reset(k);
    ea_buf_putc(k, day == INT64_MIN ? 'L' : 'D');
    ea_buf_append(k, tenant, strlen(tenant) + 1);
    ea_buf_append(k, metric, strlen(metric) + 1);
    if (day != INT64_MIN)
        ea_buf_append(k, &day, sizeof(day));
    bool ins;
    void **slot = !ea_buf_ok(k) ? NULL : ea_map_upsert(&l->seen, k->p, k->len, l->a, &ins);
    if (slot == NULL)
        return EA_ERR_NOMEM;
    if (!ins) {
        l->v[(size_t)(uintptr_t)*slot].exclusive |= exclusive;
        return EA_OK;
    }
    struct lk *nv = ea_array_grow(l->v, sizeof(*nv), l->n, &l->cap, 64);
    if (nv == NULL)
        return EA_ERR_NOMEM;
    l->v = nv;
    *slot = (void *)(uintptr_t)l->n;
    l->v[l->n++] = (struct lk){tenant, metric, day, exclusive};
    l->nlock += day == INT64_MIN;
    return EA_OK;
}

ea_rc ea_rollup_locks_note(ea_rollup_locks *l, ea_rollup_caps *caps, const ea_rollup_prep *p)
{
    for (size_t i = 0; i < p->n; i++) {
        const ea_rollup_contrib *c = &p->c[i];
        const ea_rollup_def *d = c->def;
        ea_rc rc;
        if (d == NULL) { /* the automatic count: no caps, no sketch — shared */
            if ((rc = note(l, p->tenant, p->name, INT64_MIN, false)) != EA_OK)
                return rc;
            continue;
        }
        bool exclusive = d->agg == EA_CATALOG_AGG_UNIQUE, need_day = false;
        for (size_t j = 0; j < d->ndims && !need_day; j++)
            if (c->vals[j] != NULL &&
                ea_rollup_caps_state(caps, d->tenant, d->name, p->day_ms, d->dims[j], c->vals[j],
                                     c->lens[j], d->cap) == EA_ROLLUP_CAP_UNKNOWN)
                exclusive = need_day = true;
        rc = note(l, d->tenant, d->name, INT64_MIN, exclusive);
        if (rc == EA_OK && need_day)
            rc = note(l, d->tenant, d->name, p->day_ms, false);
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

void ea_rollup_locks_counts(const ea_rollup_locks *l, size_t *shared, size_t *exclusive,
                            size_t *days)
{
    *shared = *exclusive = *days = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].day != INT64_MIN)
            (*days)++;
        else if (l->v[i].exclusive)
            (*exclusive)++;
        else
            (*shared)++;
    }
}

ea_rc ea_rollup_locks_take(ea_rollup_locks *l, PGconn *c, ea_pg_params *pp, ea_rollup_caps *caps,
                           struct ea_err *err)
{
    if (l->nlock == 0)
        return EA_OK;
    ea_pg_params_reset(pp);
    int t = ea_pg_params_array(pp), m = ea_pg_params_array(pp), x = ea_pg_params_array(pp);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].day == INT64_MIN) {
            ea_pg_array_cstr(pp, t, l->v[i].tenant);
            ea_pg_array_cstr(pp, m, l->v[i].metric);
            ea_pg_array_bool(pp, x, l->v[i].exclusive);
        }
    /* one statement, in key order; a key two metrics share is exclusive when either needs it */
    PGresult *res =
        ea_pg_params_exec(c,
                          "SELECT count(CASE WHEN x THEN pg_advisory_xact_lock(k) "
                          "ELSE pg_advisory_xact_lock_shared(k) END) FROM "
                          "(SELECT ea_rollup_lock_key(t, m) AS k, bool_or(x) AS x "
                          "FROM unnest($1::text[], $2::text[], $3::bool[]) AS u(t, m, x) "
                          "GROUP BY 1 ORDER BY 1 OFFSET 0) s",
                          pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    if (l->n == l->nlock)
        return EA_OK;
    ea_pg_params_reset(pp);
    t = ea_pg_params_array(pp);
    m = ea_pg_params_array(pp);
    int d = ea_pg_params_array(pp);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].day != INT64_MIN) {
            ea_pg_array_cstr(pp, t, l->v[i].tenant);
            ea_pg_array_cstr(pp, m, l->v[i].metric);
            ea_pg_array_ts(pp, d, l->v[i].day);
        }
    res =
        ea_pg_params_exec(c,
                          "SELECT r.tenant_id, r.metric, (extract(epoch FROM r.day) * 1000)::int8, "
                          "r.dim, r.value FROM rollup_dim_values r JOIN unnest($1::text[], "
                          "$2::text[], $3::timestamptz[]) AS u(t, m, d) ON r.tenant_id = u.t AND "
                          "r.metric = u.m AND r.day = (u.d AT TIME ZONE 'UTC')::date",
                          pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    for (int i = 0; i < PQntuples(res); i++)
        if (!ea_rollup_caps_seed(caps, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                 strtoll(PQgetvalue(res, i, 2), NULL, 10), PQgetvalue(res, i, 3),
                                 PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4))) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        }
    PQclear(res);
    return EA_OK;
}

ea_rc ea_rollup_lock_session(PGconn *c, const char *tenant, const char *metric, bool lock,
                             struct ea_err *err)
{
    const char *p[2] = {tenant, metric};
    /* the names lock first, as every writer takes it (lib/catalog); released last */
    static const char *const sql[2][2] = {
        {"SELECT pg_advisory_lock_shared(" EA_CATALOG_NAMES_LOCK_KEY ")",
         "SELECT pg_advisory_lock(ea_rollup_lock_key($1, $2))"},
        {"SELECT pg_advisory_unlock(ea_rollup_lock_key($1, $2))",
         "SELECT pg_advisory_unlock_shared(" EA_CATALOG_NAMES_LOCK_KEY ")"}};
    ea_rc rc = EA_OK;
    for (int i = 0; i < 2; i++) {
        const char *q = sql[lock ? 0 : 1][i];
        bool named = strstr(q, "$1") != NULL;
        PGresult *res = ea_pg_query(c, q, named ? 2 : 0, named ? p : NULL, PGRES_TUPLES_OK, err);
        if (res == NULL) {
            rc = err->code;
            if (lock)
                break; /* a broken connection releases whatever it held */
            continue;
        }
        PQclear(res);
    }
    return rc;
}

/* ---- HLL ---- */

ea_rc ea_rollup_hll_load(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                         struct ea_err *err)
{
    size_t nh = 0;
    for (size_t i = 0; i < n; i++)
        nh += rows[i]->hll != NULL;
    if (nh == 0)
        return EA_OK;
    /* 1-based indexes into rows, as WITH ORDINALITY counts */
    size_t *idx = malloc(sizeof(size_t) * (nh + 1));
    if (idx == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    ea_rc rc = EA_OK;
    for (int g = 0; g < EA_ROLLUP_GRAN_N && rc == EA_OK; g++) {
        size_t k = 0;
        ea_pg_params_reset(pp);
        int t = ea_pg_params_array(pp), m = ea_pg_params_array(pp);
        int b = ea_pg_params_array(pp), d = ea_pg_params_array(pp);
        for (size_t i = 0; i < n; i++) {
            ea_rollup_row *r = rows[i];
            if (r->hll == NULL || r->gran != (ea_rollup_gran)g)
                continue;
            idx[++k] = i;
            ea_pg_array_cstr(pp, t, r->tenant);
            ea_pg_array_cstr(pp, m, r->metric);
            ea_pg_array_ts(pp, b, r->bucket_ms);
            ea_pg_array_text(pp, d, r->dims, r->dims_len);
        }
        if (k == 0)
            continue;
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT u.i, r.hll FROM unnest($1::text[], $2::text[], $3::timestamptz[], "
                 "$4::jsonb[]) WITH ORDINALITY AS u(t, m, b, d, i) JOIN %s r "
                 "ON r.tenant_id = u.t AND r.metric = u.m AND r.bucket = u.b AND r.dims = u.d "
                 "WHERE r.hll IS NOT NULL",
                 ea_rollup_gran_table((ea_rollup_gran)g));
        PGresult *res = ea_pg_params_exec_binary(c, sql, pp, PGRES_TUPLES_OK, err);
        if (res == NULL) {
            rc = err->code;
            break;
        }
        for (int i = 0; i < PQntuples(res); i++) {
            const unsigned char *ib = (const unsigned char *)PQgetvalue(res, i, 0);
            uint64_t ord = 0;
            for (int q = 0; q < 8; q++)
                ord = ord << 8 | ib[q];
            if (PQgetlength(res, i, 0) != 8 || ord < 1 || ord > k)
                continue;
            ea_rollup_row *r = rows[idx[ord]];
            if (ea_hll_merge_bytes(r->hll, (const uint8_t *)PQgetvalue(res, i, 1),
                                   (size_t)PQgetlength(res, i, 1)) != EA_OK) {
                char subj[EA_LOG_SUBJECT_MAX];
                snprintf(subj, sizeof(subj), "%s/%s", r->tenant, r->metric);
                ea_log_warn(subj, "stored sketch of %s/%s is invalid; replaced", r->tenant,
                            r->metric);
            }
        }
        PQclear(res);
    }
    free(idx);
    return rc;
}

/* ---- rows ---- */

/* Appends the arrays b, d, c, s, mn, mx, h, cl (8 parameters, in that order) of the rows of
 * granularity g (and of `metric` unless NULL); with tm, the arrays t and m first. Sums, minima
 * and maxima travel as numeric text (exact). Returns the number of rows encoded; *oom on
 * allocation failure. tmp: scratch. */
static size_t row_arrays(ea_pg_params *pp, ea_rollup_row **rows, size_t n, ea_rollup_gran g,
                         const char *metric, bool tm, ea_buf *tmp, bool *oom)
{
    int t = 0, m = 0;
    if (tm) {
        t = ea_pg_params_array(pp);
        m = ea_pg_params_array(pp);
    }
    int b = ea_pg_params_array(pp), d = ea_pg_params_array(pp), c = ea_pg_params_array(pp);
    int s = ea_pg_params_array(pp), mn = ea_pg_params_array(pp), mx = ea_pg_params_array(pp);
    int h = ea_pg_params_array(pp), cl = ea_pg_params_array(pp);
    size_t k = 0;
    *oom = false;
    for (size_t i = 0; i < n && !*oom; i++) {
        ea_rollup_row *r = rows[i];
        if (r->gran != g || (metric != NULL && strcmp(r->metric, metric) != 0))
            continue;
        k++;
        if (tm) {
            ea_pg_array_cstr(pp, t, r->tenant);
            ea_pg_array_cstr(pp, m, r->metric);
        }
        ea_pg_array_ts(pp, b, r->bucket_ms);
        ea_pg_array_text(pp, d, r->dims, r->dims_len);
        ea_pg_array_i64(pp, c, r->cnt);
        ea_buf_reset(tmp);
        ea_dec_sum_format(tmp, &r->sum);
        ea_pg_array_text(pp, s, tmp->p, tmp->len);
        if (r->has_value) {
            ea_buf_reset(tmp);
            ea_dec_format(tmp, r->min);
            ea_pg_array_text(pp, mn, tmp->p, tmp->len);
            ea_buf_reset(tmp);
            ea_dec_format(tmp, r->max);
            ea_pg_array_text(pp, mx, tmp->p, tmp->len);
        } else {
            ea_pg_array_null(pp, mn);
            ea_pg_array_null(pp, mx);
        }
        if (r->hll != NULL) {
            size_t sz = ea_hll_serialized_size(r->hll);
            uint8_t *bytes = malloc(sz);
            if (bytes == NULL || ea_hll_serialize(r->hll, bytes, sz) != sz)
                *oom = true;
            else
                ea_pg_array_bytea(pp, h, bytes, sz);
            free(bytes);
        } else {
            ea_pg_array_null(pp, h);
        }
        ea_pg_array_bool(pp, cl, r->closed);
    }
    *oom = *oom || !ea_buf_ok(tmp) || ea_pg_params_failed(pp);
    return k;
}

/* Appends the hour/day rows of a result (columns from `col`: bucket ms, dims::text, revision,
 * and with `restated_col` >= 0 the closed flag) to out. */
static ea_rc add_changes(ea_rollup_changes *out, PGresult *res, ea_rollup_gran g,
                         const char *tenant, const char *metric, int col, struct ea_err *err)
{
    if (g == EA_ROLLUP_15M || out == NULL) /* 15-minute rows are implied by their hour */
        return EA_OK;
    for (int i = 0; i < PQntuples(res); i++) {
        ea_rollup_change ch = {
            .tenant = tenant != NULL ? tenant : PQgetvalue(res, i, 0),
            .metric = metric != NULL ? metric : PQgetvalue(res, i, 1),
            .gran = g,
            .bucket_ms = strtoll(PQgetvalue(res, i, col), NULL, 10),
            .dims_json = PQgetvalue(res, i, col + 1),
            .revision = (int)strtol(PQgetvalue(res, i, col + 2), NULL, 10),
            .restated = PQnfields(res) > col + 3 && PQgetvalue(res, i, col + 3)[0] == 't',
        };
        if (ea_rollup_changes_add(out, &ch) != EA_OK)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    }
    return EA_OK;
}

/* The values the in-memory 128-bit sums could not take (ea_rollup_row.spill): added to the
 * numeric sums of the rows just written, by PostgreSQL, exactly. Rows of `metric` only unless
 * NULL. The rows are already locked by this transaction's upsert. */
static ea_rc write_spill(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                         const char *metric, struct ea_err *err)
{
    ea_buf tmp = EA_BUF_INIT(EA_PG_VALUE_MAX);
    ea_rc rc = EA_OK;
    for (int g = 0; g < EA_ROLLUP_GRAN_N && rc == EA_OK; g++) {
        ea_pg_params_reset(pp);
        int t = ea_pg_params_array(pp), m = ea_pg_params_array(pp), b = ea_pg_params_array(pp);
        int d = ea_pg_params_array(pp), v = ea_pg_params_array(pp);
        for (size_t i = 0; i < n; i++) {
            const ea_rollup_row *r = rows[i];
            if (r->gran != (ea_rollup_gran)g || r->spill == NULL ||
                (metric != NULL && strcmp(r->metric, metric) != 0))
                continue;
            for (const struct ea_rollup_spill *sp = r->spill; sp != NULL; sp = sp->next) {
                ea_pg_array_cstr(pp, t, r->tenant);
                ea_pg_array_cstr(pp, m, r->metric);
                ea_pg_array_ts(pp, b, r->bucket_ms);
                ea_pg_array_text(pp, d, r->dims, r->dims_len);
                ea_buf_reset(&tmp);
                ea_dec_format(&tmp, sp->v);
                ea_pg_array_text(pp, v, tmp.p, tmp.len);
            }
        }
        if (ea_pg_array_len(pp, t) == 0)
            continue;
        if (!ea_buf_ok(&tmp)) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory encoding rollup values");
            break;
        }
        char sql[768];
        snprintf(sql, sizeof(sql),
                 "UPDATE %s AS r SET sum = r.sum + u.s FROM (SELECT t, m, b, d, sum(v) AS s "
                 "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], "
                 "$5::numeric[]) AS x(t, m, b, d, v) GROUP BY 1, 2, 3, 4) u "
                 "WHERE r.tenant_id = u.t AND r.metric = u.m AND r.bucket = u.b AND r.dims = u.d",
                 ea_rollup_gran_table((ea_rollup_gran)g));
        PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_COMMAND_OK, err);
        if (res == NULL)
            rc = err->code;
        PQclear(res);
        const char *totals = ea_rollup_gran_totals((ea_rollup_gran)g);
        if (rc != EA_OK || totals == NULL)
            continue;
        /* and to the totals of their buckets (0016), locked already by the same upsert */
        snprintf(sql, sizeof(sql),
                 "UPDATE %s AS r SET sum = r.sum + u.s FROM (SELECT t, m, b, sum(v) AS s "
                 "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], "
                 "$5::numeric[]) AS x(t, m, b, d, v) GROUP BY 1, 2, 3) u "
                 "WHERE r.tenant_id = u.t AND r.metric = u.m AND r.bucket = u.b",
                 totals);
        if ((res = ea_pg_params_exec(c, sql, pp, PGRES_COMMAND_OK, err)) == NULL)
            rc = err->code;
        PQclear(res);
    }
    ea_buf_free(&tmp);
    return rc;
}

/* The totals of the rows an ADD statement writes (migration 0016's invariant), for the same
 * statement: CTE "u" holds the arrays, "w" the upserted rows' RETURNING. The values added are
 * the deltas in u; the revision is the highest a written row now has (revisions only grow under
 * ADD, so the total's stays the maximum of its rows'). ORDER BY: every writer locks totals rows in
 * key order, after the rollup rows of the statement (no deadlock between concurrent batches). */
#define TOTALS_ADD                                                                                 \
    "x AS (INSERT INTO %s AS x (tenant_id, metric, bucket, cnt, sum, min, max, revision) "         \
    "SELECT a.t, a.m, a.b, a.c, a.s, a.mn, a.mx, v.rev FROM (SELECT t, m, b, sum(c)::int8 AS c, "  \
    "sum(s) AS s, min(mn) AS mn, max(mx) AS mx FROM u GROUP BY 1, 2, 3) a JOIN (SELECT "           \
    "tenant_id, metric, bucket, max(revision) AS rev FROM w GROUP BY 1, 2, 3) v "                  \
    "ON v.tenant_id = a.t AND v.metric = a.m AND v.bucket = a.b ORDER BY 1, 2, 3 "                 \
    "ON CONFLICT (tenant_id, metric, bucket) DO UPDATE SET cnt = x.cnt + EXCLUDED.cnt, "           \
    "sum = x.sum + EXCLUDED.sum, min = LEAST(x.min, EXCLUDED.min), "                               \
    "max = GREATEST(x.max, EXCLUDED.max), revision = GREATEST(x.revision, EXCLUDED.revision)) "

ea_rc ea_rollup_write_add(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                          ea_rollup_changes *out, struct ea_err *err)
{
    for (int g = 0; g < EA_ROLLUP_GRAN_N; g++) {
        bool oom;
        ea_pg_params_reset(pp);
        ea_buf tmp = EA_BUF_INIT(EA_PG_VALUE_MAX);
        size_t k = row_arrays(pp, rows, n, (ea_rollup_gran)g, NULL, true, &tmp, &oom);
        ea_buf_free(&tmp);
        if (oom)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory encoding rollup rows");
        if (k == 0)
            continue;
        const char *totals = ea_rollup_gran_totals((ea_rollup_gran)g);
        char tsql[1024] = "";
        if (totals != NULL)
            snprintf(tsql, sizeof(tsql), ", " TOTALS_ADD, totals);
        char sql[3072];
        snprintf(sql, sizeof(sql),
                 "WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], "
                 "$4::jsonb[], $5::int8[], $6::numeric[], $7::numeric[], $8::numeric[], "
                 "$9::bytea[], $10::bool[]) AS u(t, m, b, d, c, s, mn, mx, h, cl)), "
                 "w AS (INSERT INTO %s AS r (tenant_id, metric, bucket, dims, cnt, sum, min, max, "
                 "hll, revision, closed) "
                 "SELECT t, m, b, d, c, s, mn, mx, h, CASE WHEN cl THEN 1 ELSE 0 END, cl FROM u "
                 "ON CONFLICT (tenant_id, metric, bucket, dims) DO UPDATE SET "
                 "cnt = r.cnt + EXCLUDED.cnt, sum = r.sum + EXCLUDED.sum, "
                 "min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max), "
                 "hll = COALESCE(EXCLUDED.hll, r.hll), "
                 "revision = r.revision + CASE WHEN r.closed THEN 1 ELSE 0 END, "
                 "closed = r.closed OR EXCLUDED.closed, updated_at = now() "
                 "RETURNING tenant_id, metric, bucket, dims, revision, closed)%s "
                 "SELECT tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, "
                 "dims::text, revision, closed FROM w",
                 ea_rollup_gran_table((ea_rollup_gran)g), tsql);
        PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_TUPLES_OK, err);
        if (res == NULL)
            return err->code;
        ea_rc rc = add_changes(out, res, (ea_rollup_gran)g, NULL, NULL, 2, err);
        PQclear(res);
        if (rc != EA_OK)
            return rc;
    }
    return write_spill(c, pp, rows, n, NULL, err);
}

/* What each REPLACE statement returns for the change feed: bucket (ms), dims, revision. */
#define RETURNING_CHANGE "RETURNING (extract(epoch FROM bucket) * 1000)::int8, dims::text, revision"

/* $1..$4 of every REPLACE statement: the metric and the bucket range it owns. */
static void scope_params(ea_pg_params *pp, const char *tenant, const char *metric, int64_t from_ms,
                         int64_t to_ms)
{
    ea_pg_params_reset(pp);
    ea_pg_params_text(pp, tenant);
    ea_pg_params_text(pp, metric);
    ea_pg_params_ts(pp, from_ms);
    ea_pg_params_ts(pp, to_ms);
}

/* Runs one REPLACE statement: *count += rows it returned, which go to out as changes. */
static ea_rc replace_step(PGconn *c, const char *sql, ea_pg_params *pp, ea_rollup_gran g,
                          const char *tenant, const char *metric, ea_rollup_changes *out,
                          long long *count, struct ea_err *err)
{
    PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    *count += PQntuples(res);
    ea_rc rc = add_changes(out, res, g, tenant, metric, 0, err);
    PQclear(res);
    return rc;
}

/* The totals of a replaced range made again from its rollup rows (0016's invariant): changed
 * buckets updated (unchanged ones not written: no dead tuple), missing ones inserted, those whose
 * rows are gone deleted. The metric's rows are this transaction's alone (REPLACE holds the
 * metric's lock exclusively), so reading them back is exact. */
static ea_rc totals_recount(PGconn *c, ea_pg_params *pp, const char *tenant, const char *metric,
                            int64_t from_ms, int64_t to_ms, struct ea_err *err)
{
    for (int g = 0; g < EA_ROLLUP_GRAN_N; g++) {
        const char *totals = ea_rollup_gran_totals((ea_rollup_gran)g);
        if (totals == NULL)
            continue;
        const char *table = ea_rollup_gran_table((ea_rollup_gran)g);
        char sql[1536];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s AS x (tenant_id, metric, bucket, cnt, sum, min, max, revision) "
                 "SELECT $1::text, $2::text, bucket, sum(cnt), sum(sum), min(min), max(max), "
                 "max(revision) "
                 "FROM %s WHERE tenant_id = $1 AND metric = $2 AND bucket >= $3::timestamptz AND "
                 "bucket < $4::timestamptz GROUP BY bucket ORDER BY bucket "
                 "ON CONFLICT (tenant_id, metric, bucket) DO UPDATE SET cnt = EXCLUDED.cnt, "
                 "sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, "
                 "revision = EXCLUDED.revision WHERE (x.cnt, x.sum, x.min, x.max, x.revision) "
                 "IS DISTINCT FROM (EXCLUDED.cnt, EXCLUDED.sum, EXCLUDED.min, EXCLUDED.max, "
                 "EXCLUDED.revision)",
                 totals, table);
        scope_params(pp, tenant, metric, from_ms, to_ms);
        PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        PQclear(res);
        snprintf(sql, sizeof(sql),
                 "DELETE FROM %s x WHERE x.tenant_id = $1 AND x.metric = $2 "
                 "AND x.bucket >= $3::timestamptz AND x.bucket < $4::timestamptz "
                 "AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 "
                 "AND r.bucket = x.bucket)",
                 totals, table);
        if ((res = ea_pg_params_exec(c, sql, pp, PGRES_COMMAND_OK, err)) == NULL)
            return err->code;
        PQclear(res);
    }
    return EA_OK;
}

ea_rc ea_rollup_write_replace(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                              const char *tenant, const char *metric, int64_t from_ms,
                              int64_t to_ms, ea_rollup_changes *out, ea_rollup_replace_stats *st,
                              struct ea_err *err)
{
    for (int gi = 0; gi < EA_ROLLUP_GRAN_N; gi++) {
        ea_rollup_gran g = (ea_rollup_gran)gi;
        const char *table = ea_rollup_gran_table(g);
        /* rows no longer produced: $5/$6 are the (bucket, dims) keys that are */
        scope_params(pp, tenant, metric, from_ms, to_ms);
        int kb = ea_pg_params_array(pp), kd = ea_pg_params_array(pp);
        for (size_t i = 0; i < n; i++)
            if (rows[i]->gran == g && strcmp(rows[i]->metric, metric) == 0) {
                ea_pg_array_ts(pp, kb, rows[i]->bucket_ms);
                ea_pg_array_text(pp, kd, rows[i]->dims, rows[i]->dims_len);
            }
        char sql[2048];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM %s r WHERE r.tenant_id = $1 AND r.metric = $2 "
                 "AND r.bucket >= $3::timestamptz AND r.bucket < $4::timestamptz "
                 "AND NOT EXISTS (SELECT 1 FROM unnest($5::timestamptz[], $6::jsonb[]) AS u(b, d) "
                 "WHERE u.b = r.bucket AND u.d = r.dims) " RETURNING_CHANGE,
                 table);
        ea_rc rc = replace_step(c, sql, pp, g, tenant, metric, out, &st->deleted, err);
        if (rc != EA_OK)
            return rc;
        bool oom;
        scope_params(pp, tenant, metric, from_ms, to_ms);
        ea_buf tmp = EA_BUF_INIT(EA_PG_VALUE_MAX);
        st->rows += (long long)row_arrays(pp, rows, n, g, metric, false, &tmp, &oom); /* $5..$12 */
        ea_buf_free(&tmp);
        if (oom)
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory encoding rollup rows");
        /* unchanged rows are not written at all: no revision bump, no dead tuple. UPDATE then
         * INSERT .. DO NOTHING (RETURNING xmax is not available on partitioned tables); under
         * REPEATABLE READ a conflict with a row committed after the snapshot is a 40001. */
        snprintf(sql, sizeof(sql),
                 "UPDATE %s AS r SET cnt = u.c, sum = u.s, min = u.mn, max = u.mx, hll = u.h, "
                 "revision = r.revision + CASE WHEN r.closed THEN 1 ELSE 0 END, "
                 "closed = r.closed OR u.cl, updated_at = now() "
                 "FROM unnest($5::timestamptz[], $6::jsonb[], $7::int8[], $8::numeric[], "
                 "$9::numeric[], $10::numeric[], $11::bytea[], $12::bool[]) "
                 "AS u(b, d, c, s, mn, mx, h, cl) "
                 "WHERE r.tenant_id = $1 AND r.metric = $2 AND r.bucket = u.b AND r.dims = u.d "
                 "AND r.bucket >= $3::timestamptz AND r.bucket < $4::timestamptz "
                 "AND (r.cnt, r.sum, r.min, r.max, r.hll) IS DISTINCT FROM (u.c, u.s, u.mn, u.mx, "
                 "u.h) " RETURNING_CHANGE,
                 table);
        if ((rc = replace_step(c, sql, pp, g, tenant, metric, out, &st->updated, err)) != EA_OK)
            return rc;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s (tenant_id, metric, bucket, dims, cnt, sum, min, max, hll, "
                 "revision, closed) "
                 "SELECT $1, $2, b, d, c, s, mn, mx, h, CASE WHEN cl THEN 1 ELSE 0 END, cl "
                 "FROM unnest($5::timestamptz[], $6::jsonb[], $7::int8[], $8::numeric[], "
                 "$9::numeric[], $10::numeric[], $11::bytea[], $12::bool[]) "
                 "AS u(b, d, c, s, mn, mx, h, cl) "
                 "WHERE b >= $3::timestamptz AND b < $4::timestamptz "
                 "ON CONFLICT (tenant_id, metric, bucket, dims) DO NOTHING " RETURNING_CHANGE,
                 table);
        if ((rc = replace_step(c, sql, pp, g, tenant, metric, out, &st->inserted, err)) != EA_OK)
            return rc;
    }
    ea_rc rc = write_spill(c, pp, rows, n, metric, err);
    return rc == EA_OK ? totals_recount(c, pp, tenant, metric, from_ms, to_ms, err) : rc;
}

/* ---- cap registry ---- */

ea_rc ea_rollup_caps_store(PGconn *c, ea_pg_params *pp, const ea_rollup_caps *caps,
                           const char *metric, struct ea_err *err)
{
    size_t n = ea_rollup_caps_staged_count(caps), k = 0;
    if (n == 0)
        return EA_OK;
    ea_pg_params_reset(pp);
    int pt = ea_pg_params_array(pp), pm = ea_pg_params_array(pp), pd = ea_pg_params_array(pp);
    int pk = ea_pg_params_array(pp), pv = ea_pg_params_array(pp);
    for (size_t i = 0; i < n; i++) {
        const char *tenant, *m, *dim, *value;
        int64_t day;
        size_t len;
        ea_rollup_caps_staged_get(caps, i, &tenant, &m, &day, &dim, &value, &len);
        if (metric != NULL && strcmp(m, metric) != 0)
            continue;
        k++;
        ea_pg_array_cstr(pp, pt, tenant);
        ea_pg_array_cstr(pp, pm, m);
        ea_pg_array_ts(pp, pd, day);
        ea_pg_array_cstr(pp, pk, dim);
        ea_pg_array_text(pp, pv, value, len);
    }
    if (k == 0)
        return EA_OK;
    PGresult *res =
        ea_pg_params_exec(c,
                          "INSERT INTO rollup_dim_values (tenant_id, metric, day, dim, value) "
                          "SELECT t, m, (d AT TIME ZONE 'UTC')::date, k, v FROM unnest($1::text[], "
                          "$2::text[], $3::timestamptz[], $4::text[], $5::text[]) "
                          "AS u(t, m, d, k, v) ON CONFLICT DO NOTHING",
                          pp, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

ea_rc ea_rollup_caps_load_day(PGconn *c, ea_rollup_caps *caps, const char *tenant,
                              const char *metric, int64_t day_ms, struct ea_err *err)
{
    char d[48];
    ea_time_format_iso8601(day_ms, d);
    const char *p[3] = {tenant, metric, d};
    PGresult *res =
        ea_pg_query(c,
                    "SELECT dim, value FROM rollup_dim_values WHERE tenant_id = $1 "
                    "AND metric = $2 AND day = ($3::timestamptz AT TIME ZONE 'UTC')::date",
                    3, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    for (int i = 0; i < PQntuples(res); i++)
        if (!ea_rollup_caps_seed(caps, tenant, metric, day_ms, PQgetvalue(res, i, 0),
                                 PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1))) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        }
    PQclear(res);
    return EA_OK;
}
