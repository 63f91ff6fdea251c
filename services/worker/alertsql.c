/*
 * alertsql.c — evaluating threshold alerts inside the closing or restating transaction (see
 * alertsql.h). The sums are read in SQL; the value is alerts.c's (lib/rollup's, empty = 0 for
 * count and sum), the comparison too. Two ways a bucket gets evaluated:
 *   - by its rows: buckets the closer closed or a batch restated (UTC alerts only: their buckets
 *     are the rollup tables' UTC hours and days), so late events that push a closed bucket over
 *     a threshold fire;
 *   - by the clock (wk_alerts_eval_clock): every whole bucket the group watermark passed since
 *     alerts.evaluated_until, in the alert's zone, with or without events — the only way an
 *     empty bucket or a local day is evaluated.
 * Both insert with ON CONFLICT DO NOTHING on (tenant, alert, bucket, dims): a bucket fires once.
 */
#include "alertsql.h"
#include "ea_arena.h"
#include "ea_pg.h"
#include "ea_time.h"

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
    wk_alert_fired *nv = ea_array_grow(f->v, sizeof(*nv), f->n, &f->cap, 8);
    if (nv == NULL)
        return false;
    f->v = nv;
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

/* Row t of an evaluation query — columns 0 tenant, 1 alert id, 2 name, 3 metric, 4 filter,
 * 5 comparator, 6 threshold, 7 aggregation, 8 bucket (epoch ms), 9 matching rows, 10 Σcnt,
 * 11 Σsum, 12 min, 13 max, 14 sketches — compared, and recorded in alert_events (and fired)
 * when it crosses the threshold. */
static ea_rc judge(PGconn *c, PGresult *res, int t, ea_rollup_gran g, wk_fired_list *fired,
                   struct ea_err *err)
{
    wk_cmp cmp;
    int agg = ea_catalog_agg_parse(PQgetvalue(res, t, 7));
    if (!wk_alert_cmp_parse(PQgetvalue(res, t, 5), &cmp) || agg < 0)
        return EA_OK; /* the CHECK constraints make this unreachable; never fire on doubt */
    ea_rollup_sums sums = {
        .rows = strtoll(PQgetvalue(res, t, 9), NULL, 10),
        .cnt = strtoll(PQgetvalue(res, t, 10), NULL, 10),
        .sum = PQgetvalue(res, t, 11),
        .min = PQgetisnull(res, t, 12) ? NULL : PQgetvalue(res, t, 12),
        .max = PQgetisnull(res, t, 13) ? NULL : PQgetvalue(res, t, 13),
        .hll_hex = PQgetisnull(res, t, 14) ? NULL : PQgetvalue(res, t, 14),
    };
    double value;
    if (!wk_alert_value((ea_catalog_agg)agg, &sums, &value) ||
        !wk_alert_compare(cmp, value, strtod(PQgetvalue(res, t, 6), NULL)))
        return EA_OK;
    char vbuf[64];
    snprintf(vbuf, sizeof(vbuf), "%.17g", value); /* round-trips a double exactly */
    const char *ip[5] = {PQgetvalue(res, t, 0), PQgetvalue(res, t, 1), PQgetvalue(res, t, 8),
                         PQgetvalue(res, t, 4), vbuf};
    /* the key (tenant, alert, bucket, dims) makes a bucket fire once per alert and filter,
     * also when a restatement, the clock or a row created later in the bucket brings it back
     * here; (tenant, alert, bucket) order keeps concurrent evaluators from deadlocking */
    PGresult *ins = ea_pg_query(
        c,
        "INSERT INTO alert_events (tenant_id, alert_id, bucket, dims, value) "
        "VALUES ($1, $2::int8, 'epoch'::timestamptz + $3::int8 * interval '1 millisecond', "
        "$4::jsonb, $5::float8) ON CONFLICT DO NOTHING RETURNING 1",
        5, ip, PGRES_TUPLES_OK, err);
    if (ins == NULL)
        return err->code;
    bool inserted = PQntuples(ins) == 1;
    PQclear(ins);
    if (inserted && !fired_add(fired, res, t, g, value))
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    return EA_OK;
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
             "JOIN (SELECT * FROM alerts WHERE enabled AND granularity = $4 AND timezone = 'UTC' "
             "AND (tenant_id, "
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
    for (int t = 0; t < PQntuples(res) && rc == EA_OK; t++)
        rc = judge(c, res, t, g, fired, err);
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

/* ---- the clock: buckets the watermark passed, events or not (migration 0012) ---------------- */

ea_rc wk_alerts_eval_clock(PGconn *c, ea_pg_params *pp, int64_t wm_ms, wk_fired_list *fired,
                           struct ea_err *err)
{
    char w[48], maxn[16];
    ea_time_format_iso8601(wm_ms, w);
    snprintf(maxn, sizeof(maxn), "%d", WK_ALERT_CLOCK_MAX_BUCKETS);
    ea_pg_params_reset(pp);
    ea_pg_params_text(pp, w);    /* $1 */
    ea_pg_params_text(pp, maxn); /* $2 */
    /* per enabled alert, its whole buckets since evaluated_until (or since the bucket holding
     * updated_at) that end at or before the watermark, in its zone; per bucket the sums of the
     * 15-minute rows whose dims contain the filter (LEFT JOIN: a bucket without rows has
     * rows = 0). Only alerts that can have a whole bucket due are read (a bucket is at least an
     * hour). FOR UPDATE OF al orders this against updateAlert/setAlertEnabled, which reset
     * evaluated_until (the closer's advisory lock already keeps closers apart). */
    static const char sql[] =
        "WITH a AS (SELECT al.*, coalesce(al.evaluated_until, ea_alert_bucket_floor("
        "al.granularity, al.timezone, al.updated_at)) AS from_t FROM alerts al WHERE al.enabled "
        "AND (al.evaluated_until IS NULL OR al.evaluated_until <= $1::timestamptz - interval "
        "'1 hour') ORDER BY al.tenant_id, al.id FOR UPDATE OF al), "
        "due AS (SELECT a.tenant_id, a.id, a.name, a.metric, a.filter, a.comparator, a.threshold, "
        "a.granularity, b.s, b.e FROM a CROSS JOIN LATERAL ea_alert_buckets(a.granularity, "
        "a.timezone, a.from_t, $1::timestamptz, $2::int) b) "
        "SELECT due.tenant_id, due.id, due.name, due.metric, due.filter::text, due.comparator, "
        "due.threshold, coalesce(d.aggregation, 'count'), "
        "(extract(epoch FROM due.s) * 1000)::int8, "
        "count(r.cnt), coalesce(sum(r.cnt), 0), coalesce(sum(r.sum), 0), min(r.min), max(r.max), "
        "string_agg(encode(r.hll, 'hex'), ','), (extract(epoch FROM due.e) * 1000)::int8, "
        "due.granularity "
        "FROM due LEFT JOIN metric_definitions d ON d.tenant_id = due.tenant_id AND "
        "d.name = due.metric "
        "LEFT JOIN rollups_15m r ON r.tenant_id = due.tenant_id AND r.metric = due.metric "
        "AND r.bucket >= due.s AND r.bucket < due.e AND r.dims @> due.filter "
        "GROUP BY due.tenant_id, due.id, due.name, due.metric, due.filter, due.comparator, "
        "due.threshold, d.aggregation, due.s, due.e, due.granularity ORDER BY 1, 2, 9";
    PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    ea_rc rc = EA_OK;
    for (int t = 0; t < PQntuples(res) && rc == EA_OK; t++) {
        ea_rollup_gran g =
            strcmp(PQgetvalue(res, t, 16), "DAY") == 0 ? EA_ROLLUP_DAY : EA_ROLLUP_HOUR;
        /* evaluated, fired or not: the bucket is done for this alert */
        const char *up[3] = {PQgetvalue(res, t, 0), PQgetvalue(res, t, 1), PQgetvalue(res, t, 15)};
        PGresult *u = ea_pg_query(c,
                                  "UPDATE alerts SET evaluated_until = 'epoch'::timestamptz + "
                                  "$3::int8 * interval '1 millisecond' WHERE tenant_id = $1 AND "
                                  "id = $2::int8",
                                  3, up, PGRES_COMMAND_OK, err);
        if (u == NULL) {
            rc = err->code;
            break;
        }
        PQclear(u);
        rc = judge(c, res, t, g, fired, err);
    }
    PQclear(res);
    return rc;
}
