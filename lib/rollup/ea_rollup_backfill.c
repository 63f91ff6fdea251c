/*
 * ea_rollup_backfill.c — one metric's rollups recomputed from raw_events, a UTC day per
 * transaction (invariants in ea_rollup_backfill.h).
 */
#include "ea_rollup_backfill.h"
#include "ea_catalog.h"
#include "ea_pg.h"
#include "ea_rollup_agg.h"
#include "ea_rollup_watermark.h"
#include "ea_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ROWS "5000"
#define MAX_RETRIES 50

static void iso(int64_t ms, char buf[48])
{
    ea_time_format_iso8601(ms, buf);
}

void ea_rollup_target_free(ea_rollup_target *t)
{
    free(t->tenant);
    free(t->metric);
    free(t->event);
    ea_rollup_defs_free(t->defs);
    memset(t, 0, sizeof(*t));
}

ea_rc ea_rollup_target_load(PGconn *c, const char *tenant, const char *metric,
                            ea_rollup_target *out, struct ea_err *err)
{
    memset(out, 0, sizeof(*out));
    /* every definition of the tenant, with the worker's own loader: the definition is parsed
     * exactly as the worker parses it, and the automatic count's name (lib/catalog's rule)
     * depends on the other definitions */
    ea_rollup_defs *defs = ea_rollup_defs_load(c, tenant, NULL, err);
    if (defs == NULL)
        return err->code;
    const char *p[2] = {tenant, metric};
    PGresult *res = ea_pg_query(c,
                                "SELECT event_name FROM metric_definitions "
                                "WHERE tenant_id = $1 AND name = $2",
                                2, p, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        ea_rollup_defs_free(defs);
        return err->code;
    }
    out->automatic = PQntuples(res) == 0;
    if (out->automatic) /* "x (event)" counts the events named x */
        out->event = strndup(metric, ea_catalog_event_base_len(metric, strlen(metric)));
    else
        out->event = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    out->tenant = strdup(tenant);
    out->metric = strdup(metric);
    out->defs = defs;
    if (out->event == NULL || out->tenant == NULL || out->metric == NULL) {
        ea_rollup_target_free(out);
        return ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
    }
    if (!out->automatic && !ea_rollup_defs_has_metric(defs, tenant, metric)) {
        ea_rollup_target_free(out);
        return ea_err_set(err, EA_ERR_NOTFOUND,
                          "could not backfill: the definition of %s could not be loaded", metric);
    }
    return EA_OK;
}

ea_rc ea_rollup_backfill_check_range(PGconn *c, int64_t from_day, int64_t to_day,
                                     struct ea_err *err)
{
    PGresult *res = ea_pg_query(c,
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
    res = ea_pg_query(c,
                      "SELECT sum(ea_partition_ensure(parent, $1::timestamptz, $2::timestamptz)) "
                      "FROM partition_classes WHERE parent LIKE 'rollup%'",
                      2, p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

/* Reads the day's raw events of the metric's event through a cursor and aggregates them. */
static ea_rc aggregate_day(PGconn *c, ea_rollup_agg *agg, const ea_rollup_target *t,
                           ea_rollup_caps *caps, int64_t day, int64_t closed_before, ea_arena *a,
                           long long *nevents, struct ea_err *err)
{
    char lo[48], hi[48];
    iso(day, lo);
    iso(day + EA_MS_PER_DAY, hi);
    const char *p[4] = {t->tenant, t->event, lo, hi};
    PGresult *res = ea_pg_query(
        c,
        "DECLARE bf CURSOR FOR SELECT event_id, (extract(epoch FROM event_time) * 1000)::int8, "
        "properties::text FROM raw_events WHERE tenant_id = $1 AND event_name = $2 "
        "AND event_time >= $3::timestamptz AND event_time < $4::timestamptz "
        "ORDER BY event_time, kafka_partition, kafka_offset",
        4, p, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    for (;;) {
        res = ea_pg_query(c, "FETCH " FETCH_ROWS " FROM bf", 0, NULL, PGRES_TUPLES_OK, err);
        if (res == NULL)
            return err->code;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            json_error_t jerr;
            json_t *props =
                json_loadb(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2), 0, &jerr);
            if (props == NULL || !json_is_object(props)) {
                json_decref(props);
                ea_rc rc = ea_err_set(err, EA_ERR_DB,
                                      "could not backfill: raw event %s has unreadable properties",
                                      PQgetvalue(res, i, 0));
                PQclear(res);
                return rc;
            }
            /* rows keep the tenant pointer: t outlives the aggregation */
            ea_rollup_event ev = {.tenant = t->tenant,
                                  .name = t->event,
                                  .ts_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                  .properties = props,
                                  /* jsonb prints numbers with every digit it stored */
                                  .props_text = PQgetvalue(res, i, 2),
                                  .props_len = (size_t)PQgetlength(res, i, 2)};
            bool restated = false;
            ea_rc rc =
                ea_rollup_agg_add_event(agg, t->defs, caps, &ev, closed_before, a, &restated);
            json_decref(props);
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
    res = ea_pg_query(c, "CLOSE bf", 0, NULL, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

/* Invariant 6: raw_events must hold every event the worker counted that day, or a backfill
 * would replace exact rows with smaller ones (raw storage off, a lost partition). The worker's
 * automatic count of the event (daily row, dims {}) is that number; when a definition replaces
 * the automatic metric there is nothing to compare with and the check is skipped. */
static ea_rc check_raw_complete(PGconn *c, const ea_rollup_target *t, int64_t day, long long events,
                                struct ea_err *err)
{
    char d[48];
    iso(day, d);
    const char *p[3] = {t->tenant, t->event, d};
    PGresult *res =
        ea_pg_query(c,
                    "SELECT cnt FROM rollups_daily WHERE tenant_id = $1 AND metric = $2 "
                    "AND bucket = $3::timestamptz AND dims = '{}' AND NOT EXISTS "
                    "(SELECT 1 FROM metric_definitions WHERE tenant_id = $1 AND "
                    "name = $2)",
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
                          events, t->event, d, counted);
    return EA_OK;
}

static void rollback(PGconn *c)
{
    PGresult *res = PQexec(c, "ROLLBACK");
    PQclear(res);
}

/* One attempt at one UTC day, inside REPEATABLE READ (1). */
static ea_rc attempt_day(PGconn *c, ea_pg_params *pp, const ea_rollup_target *t, int64_t day,
                         ea_rollup_backfill_stats *st, ea_rollup_changes *out, struct ea_err *err)
{
    ea_rc rc;
    int64_t wm = INT64_MIN;
    ea_rollup_target cur = {0}; /* the definition in force, read in the day's snapshot */
    ea_rollup_agg *agg = ea_rollup_agg_new();
    ea_rollup_caps *caps = ea_rollup_caps_new();
    ea_arena *a = ea_arena_new(1 << 20);
    if (agg == NULL || caps == NULL || a == NULL) {
        rc = ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
        goto out;
    }
    /* the caller holds the metric-names lock (shared) and the metric's lock: no definition is
     * changed, renamed or deleted while the day is recomputed, and this snapshot is taken after
     * both were granted, so the definition read here is the one in force */
    if ((rc = ea_pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", err)) != EA_OK) {
        rollback(c);
        goto out;
    }
    if ((rc = ea_rollup_target_load(c, t->tenant, t->metric, &cur, err)) != EA_OK)
        goto fail;
    if (cur.event == NULL || cur.automatic != t->automatic || strcmp(cur.event, t->event) != 0) {
        rc = ea_err_set(err, EA_ERR_CONFLICT,
                        "could not backfill: the definition of %s changed (renamed, deleted or "
                        "another event) since the backfill started",
                        t->metric);
        goto fail;
    }
    if ((rc = ea_rollup_group_watermark(c, NULL, NULL, &wm, err)) != EA_OK ||
        (rc = ea_rollup_caps_load_day(c, caps, cur.tenant, cur.metric, day, err)) != EA_OK ||
        (rc = aggregate_day(c, agg, &cur, caps, day, wm, a, &st->events, err)) != EA_OK ||
        (rc = check_raw_complete(c, &cur, day, st->events, err)) != EA_OK)
        goto fail;
    size_t nrows;
    ea_rollup_row **rows = ea_rollup_agg_rows(agg, &nrows);
    if ((rc = ea_rollup_write_replace(c, pp, rows, nrows, cur.tenant, cur.metric, day,
                                      day + EA_MS_PER_DAY, out, &st->rows, err)) != EA_OK ||
        (rc = ea_rollup_caps_store(c, pp, caps, cur.metric, err)) != EA_OK)
        goto fail;
    rc = ea_pg_exec(c, "COMMIT", err);
    goto out;
fail:
    rollback(c);
out:
    ea_rollup_target_free(&cur);
    ea_rollup_agg_free(agg);
    ea_rollup_caps_free(caps);
    ea_arena_free(a);
    return rc;
}

ea_rc ea_rollup_backfill_day(PGconn *c, const ea_rollup_target *t, int64_t day_ms,
                             ea_rollup_backfill_stats *st, ea_rollup_changes *out,
                             struct ea_err *err)
{
    ea_pg_params *pp = ea_pg_params_new();
    if (pp == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not backfill: out of memory");
    ea_rc rc = EA_ERR_DB;
    long long retries = 0;
    size_t keep = out != NULL ? out->n : 0;
    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        memset(st, 0, sizeof(*st));
        if (out != NULL)
            out->n = keep; /* what a failed attempt announced was rolled back */
        ea_err_clear(err);
        if ((rc = ea_rollup_lock_session(c, t->tenant, t->metric, true, err)) != EA_OK)
            break;
        rc = attempt_day(c, pp, t, day_ms, st, out, err);
        struct ea_err e2 = {0};
        if (ea_rollup_lock_session(c, t->tenant, t->metric, false, &e2) != EA_OK && rc == EA_OK) {
            *err = e2;
            rc = e2.code;
        }
        /* a worker batch committed into the same rows meanwhile: redo the day */
        if (rc == EA_OK ||
            (strcmp(err->sqlstate, "40001") != 0 && strcmp(err->sqlstate, "40P01") != 0))
            break;
        retries++;
    }
    st->retries = retries;
    if (rc != EA_OK && out != NULL)
        out->n = keep;
    ea_pg_params_free(pp);
    return rc;
}
