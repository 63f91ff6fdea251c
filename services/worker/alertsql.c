/*
 * alertsql.c — evaluating threshold alerts inside the closing or restating transaction (see
 * alertsql.h). The sums are read in SQL; the value is lib/rollup's, the comparison alerts.c's.
 */
#include "alertsql.h"
#include "ea_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wk_fired_free(wk_fired_list *f)
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

static bool fired_add(wk_fired_list *f, PGresult *res, int t, ea_rollup_gran g, double value)
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
    a->granularity = ea_rollup_gran_name(g);
    a->value = value;
    a->bucket_ms = strtoll(PQgetvalue(res, t, 8), NULL, 10);
    f->n++;
    if (a->tenant == NULL || a->name == NULL || a->metric == NULL || a->dims_json == NULL)
        return false; /* freed with the list */
    return true;
}

ea_rc wk_alerts_eval(PGconn *c, ea_pg_params *pp, ea_rollup_gran g, const ea_rollup_change *buckets,
                     size_t n, wk_fired_list *fired, struct ea_err *err)
{
    ea_pg_params_reset(pp);
    int pt = ea_pg_params_array(pp), pm = ea_pg_params_array(pp), pb = ea_pg_params_array(pp);
    for (size_t i = 0; i < n; i++) {
        ea_pg_array_cstr(pp, pt, buckets[i].tenant);
        ea_pg_array_cstr(pp, pm, buckets[i].metric);
        ea_pg_array_i64(pp, pb, buckets[i].bucket_ms);
    }
    ea_pg_params_text(pp, ea_rollup_gran_name(g)); /* $4 */
    /* one row per (alert, bucket): the sums over the bucket's rows whose dims contain the
     * alert's filter (r.dims @> filter, as graphql-api filters), and the metric's aggregation
     * ("count" for an automatic metric). FOR KEY SHARE: an alert deleted meanwhile must not make
     * the INSERT below fail its foreign key — in a batch that would be taken for bad data and
     * split until an innocent event is dead-lettered; the delete waits for us instead (or,
     * committed first, hides the alert). */
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
             ea_rollup_gran_table(g));
    PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    ea_rc rc = EA_OK;
    for (int t = 0; t < PQntuples(res) && rc == EA_OK; t++) {
        wk_cmp cmp;
        int agg = ea_catalog_agg_parse(PQgetvalue(res, t, 7));
        if (!wk_alert_cmp_parse(PQgetvalue(res, t, 5), &cmp) || agg < 0)
            continue; /* the CHECK constraints make this unreachable; never fire on doubt */
        ea_rollup_sums sums = {
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
        if (!ea_rollup_value((ea_catalog_agg)agg, &sums, &value) ||
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
            c,
            "INSERT INTO alert_events (tenant_id, alert_id, bucket, dims, value) "
            "VALUES ($1, $2::int8, 'epoch'::timestamptz + $3::int8 * interval '1 millisecond', "
            "$4::jsonb, $5::float8) ON CONFLICT DO NOTHING RETURNING 1",
            5, ip, PGRES_TUPLES_OK, err);
        if (ins == NULL) {
            rc = err->code;
            break;
        }
        bool inserted = PQntuples(ins) == 1;
        PQclear(ins);
        if (inserted && !fired_add(fired, res, t, g, value))
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

ea_rc wk_alerts_eval_restated(PGconn *c, ea_pg_params *pp, const ea_rollup_change *changes,
                              size_t n, wk_fired_list *fired, struct ea_err *err)
{
    wk_fired_free(fired); /* what a failed attempt inserted was rolled back */
    ea_rollup_change *sel = NULL;
    ea_rc rc = EA_OK;
    for (int g = EA_ROLLUP_HOUR; g < EA_ROLLUP_GRAN_N && rc == EA_OK; g++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += changes[i].restated && changes[i].gran == (ea_rollup_gran)g;
        if (k == 0)
            continue;
        ea_rollup_change *ns = realloc(sel, sizeof(*sel) * k);
        if (ns == NULL) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "out of memory");
            break;
        }
        sel = ns;
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (changes[i].restated && changes[i].gran == (ea_rollup_gran)g)
                sel[k++] = changes[i];
        rc = wk_alerts_eval(c, pp, (ea_rollup_gran)g, sel, k, fired, err);
    }
    free(sel);
    return rc;
}
