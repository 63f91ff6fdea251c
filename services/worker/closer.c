/*
 * closer.c — idle watermarks, closing buckets (+ alerts) and maintenance (see closer.h).
 */
#include "closer.h"
#include "alertsql.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_rollup_watermark.h"
#include "ea_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOSER_LOCK_KEY "7305230303425315957"

void wk_closer_init(wk_closer *cl, const wk_config *cfg, wk_stats *stats)
{
    memset(cl, 0, sizeof(*cl));
    cl->cfg = cfg;
    cl->stats = stats;
    cl->closed_through_ms = INT64_MIN;
}

ea_rc wk_closer_idle_watermarks(wk_closer *cl, PGconn *c, ea_pg_params *pp, wk_pstate *st,
                                size_t nst, int64_t now_ms, struct ea_err *err)
{
    const int64_t allowed = cl->cfg->allowed_lateness_s * 1000;
    for (size_t i = 0; i < nst; i++) {
        wk_pstate *p = &st[i];
        if (!p->eof || p->fenced || (p->high_ms != INT64_MIN && p->high_ms >= now_ms - 1000))
            continue;
        ea_pg_params_reset(pp);
        ea_pg_params_text(pp, cl->cfg->group_id);    /* $1 */
        ea_pg_params_text(pp, cl->cfg->kafka.topic); /* $2 */
        ea_pg_params_i64(pp, p->partition);          /* $3 */
        ea_pg_params_ts(pp, now_ms - allowed);       /* $4 */
        ea_pg_params_i64(pp, p->generation);         /* $5 */
        PGresult *res = ea_pg_params_exec(
            c,
            "UPDATE consumer_offsets SET watermark = GREATEST(watermark, $4::timestamptz), "
            "updated_at = now() WHERE group_id = $1 AND topic = $2 AND partition = $3::int "
            "AND generation = $5::int8",
            pp, PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        if (strcmp(PQcmdTuples(res), "1") == 0) {
            if (p->high_ms == INT64_MIN || p->high_ms < now_ms)
                p->high_ms = now_ms;
            wk_stats_partition(cl->stats, p->partition, true, p->next_offset, p->broker_high,
                               p->high_ms - allowed);
        } else {
            p->fenced = true;
            p->reclaim_at_ms = now_ms + 1000;
            char subj[EA_LOG_SUBJECT_MAX];
            ea_log_warn(ea_log_subject_part(subj, p->partition, -1),
                        "partition %d fenced while idle", p->partition);
        }
        PQclear(res);
    }
    return EA_OK;
}

/* Closes the rows of granularity g in [lo_ms, hi_ms] and appends the distinct (tenant, metric,
 * bucket) it closed to notes (HOUR and DAY only: 15-minute buckets are implied by their hour);
 * *closed counts the rows. */
static ea_rc close_gran(PGconn *c, ea_pg_params *pp, ea_rollup_gran g, int64_t lo_ms, int64_t hi_ms,
                        ea_rollup_changes *notes, uint64_t *closed, struct ea_err *err)
{
    char sql[768];
    snprintf(sql, sizeof(sql),
             "WITH u AS (UPDATE %s SET closed = true, updated_at = now() "
             "WHERE NOT closed AND bucket >= $1::timestamptz AND bucket <= $2::timestamptz "
             "RETURNING tenant_id, metric, bucket) "
             "SELECT tenant_id, metric, (extract(epoch FROM bucket) * 1000)::int8, count(*) "
             "FROM u GROUP BY 1, 2, 3 ORDER BY 1, 3, 2",
             ea_rollup_gran_table(g));
    ea_pg_params_reset(pp);
    ea_pg_params_ts(pp, lo_ms); /* $1 */
    ea_pg_params_ts(pp, hi_ms); /* $2 */
    PGresult *res = ea_pg_params_exec(c, sql, pp, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    for (int t = 0; t < PQntuples(res); t++) {
        *closed += strtoull(PQgetvalue(res, t, 3), NULL, 10);
        if (g == EA_ROLLUP_15M)
            continue;
        ea_rollup_change n = {.tenant = PQgetvalue(res, t, 0),
                              .metric = PQgetvalue(res, t, 1),
                              .gran = g,
                              .bucket_ms = strtoll(PQgetvalue(res, t, 2), NULL, 10),
                              .closed = true};
        if (ea_rollup_changes_add(notes, &n) != EA_OK) {
            PQclear(res);
            /* an alert must not be skipped for want of memory: fail the close */
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        }
    }
    PQclear(res);
    return EA_OK;
}

ea_rc wk_closer_close_buckets(wk_closer *cl, PGconn *c, ea_pg_params *pp, struct ea_err *err)
{
    PGresult *res = ea_pg_query(c, "SELECT pg_try_advisory_lock(" CLOSER_LOCK_KEY ")", 0, NULL,
                                PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    bool got = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!got)
        return EA_OK;
    ea_arena *a = ea_arena_new(16384);
    ea_rollup_changes notes = {.a = a}; /* close notices */
    wk_fired_list fired = {0};
    bool in_tx = false;
    int64_t wm = INT64_MIN;
    uint64_t closed = 0;
    ea_rc rc = a == NULL ? ea_err_set(err, EA_ERR_NOMEM, "out of memory") : EA_OK;
    if (rc == EA_OK)
        rc = ea_rollup_group_watermark(c, cl->cfg->group_id, cl->cfg->kafka.topic, &wm, err);
    if (rc != EA_OK || wm == INT64_MIN || wm <= cl->closed_through_ms)
        goto out;
    /* closing and the alerts it fires commit together (10): an alert is recorded exactly when
     * its bucket is closed, and a failed close leaves both to the next pass */
    if ((rc = ea_pg_exec(c, "BEGIN", err)) != EA_OK)
        goto out;
    in_tx = true;
    for (int g = 0; g < EA_ROLLUP_GRAN_N && rc == EA_OK; g++) {
        int64_t len = ea_rollup_gran_ms((ea_rollup_gran)g);
        /* the first pass after start sweeps everything; later ones only what the last left */
        int64_t lo = cl->closed_through_ms == INT64_MIN ? 0 : cl->closed_through_ms - 2 * len;
        size_t first = notes.n;
        rc = close_gran(c, pp, (ea_rollup_gran)g, lo, wm - len, &notes, &closed, err);
        if (rc == EA_OK && notes.n > first)
            rc = wk_alerts_eval(c, pp, (ea_rollup_gran)g, notes.v + first, notes.n - first, &fired,
                                err);
    }
    /* and every bucket the watermark passed, events or not, in each alert's zone */
    if (rc == EA_OK)
        rc = wk_alerts_eval_clock(c, pp, wm, &fired, err);
    if (rc != EA_OK)
        goto out;
    in_tx = false;
    if ((rc = ea_pg_exec(c, "COMMIT", err)) != EA_OK)
        goto out;
    cl->closed_through_ms = wm;
    if (closed > 0) {
        wk_stats_inc_closed(cl->stats, closed);
        ea_log_debug("maintenance", "closed %llu rollup rows", (unsigned long long)closed);
    }
    for (size_t i = 0; i < fired.n; i++) {
        char subj[EA_LOG_SUBJECT_MAX];
        snprintf(subj, sizeof(subj), "alert-%lld", fired.v[i].alert_id);
        ea_log_info(subj, "alert %lld of tenant %s fired: %s %s value %.17g", fired.v[i].alert_id,
                    fired.v[i].tenant, fired.v[i].metric, fired.v[i].granularity, fired.v[i].value);
    }
    /* published after COMMIT, like batch changes (8) */
    if (cl->publish != NULL && notes.n > 0)
        cl->publish(cl->publish_ctx, notes.v, notes.n);
    if (cl->alert_publish != NULL && fired.n > 0)
        cl->alert_publish(cl->alert_ctx, fired.v, fired.n);
out:
    if (in_tx) {
        res = PQexec(c, "ROLLBACK");
        PQclear(res);
    }
    ea_rollup_changes_free(&notes);
    ea_arena_free(a);
    wk_fired_free(&fired);
    struct ea_err e2 = {0};
    res = ea_pg_query(c, "SELECT pg_advisory_unlock(" CLOSER_LOCK_KEY ")", 0, NULL, PGRES_TUPLES_OK,
                      &e2);
    PQclear(res);
    return rc;
}

ea_rc wk_closer_maintain(wk_closer *cl, PGconn *c, wk_parts *parts, ea_rollup_caps *caps,
                         struct ea_err *err)
{
    bool did;
    /* every event younger than the raw retention may still arrive (lib/rollup's age rule) */
    long keep = cl->cfg->retention_days;
    int back_days = (int)keep + 1;
    ea_rc rc = wk_parts_maintain(parts, c, back_days, ea_rollup_dedup_window_ms(keep), &did, err);
    if (rc == EA_OK && did) {
        if (wk_parts_retention_days(parts) != keep)
            ea_log_warn("maintenance",
                        "raw_events keeps %ld days (partition_classes) but RAW_RETENTION_DAYS is "
                        "%ld: ingest accepts events that old, and backfill can only recompute "
                        "the days raw_events still holds",
                        wk_parts_retention_days(parts), keep);
        /* the cap registry is only consulted inside the retention */
        char days[16];
        snprintf(days, sizeof(days), "%d", back_days + 1);
        const char *params[1] = {days};
        PGresult *res = ea_pg_query(c,
                                    "DELETE FROM rollup_dim_values WHERE day < "
                                    "(now() AT TIME ZONE 'UTC')::date - $1::int",
                                    1, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            rc = err->code;
        PQclear(res);
    }
    /* cap state older than the retention can no longer be written to */
    ea_rollup_caps_expire(caps, ea_time_floor_day(ea_time_now_ms() - keep * EA_MS_PER_DAY) -
                                    EA_MS_PER_DAY);
    return rc;
}
