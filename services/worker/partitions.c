/*
 * partitions.c — partition cache, on-demand creation and the maintenance pass.
 *
 * The cache is the set of child table names of the six partitioned tables, e.g.
 * "rollups_hourly_p20260126"; names are computed exactly as ea_partition_name() does. It is
 * refreshed after maintenance, after an ensure, and when a batch fails with "no partition".
 */
#include "partitions.h"
#include "ea_arena.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "ea_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Advisory lock key of the maintenance pass ("ea-maint" in ASCII). */
#define WK_MAINT_LOCK_KEY "7305230303425315956"

/* The bucket totals (migration 0016) are written in the same statements as their rollups, so a
 * batch needs their partitions too. */
enum { CLS_RAW, CLS_15M, CLS_HOURLY, CLS_DAILY, CLS_THOURLY, CLS_TDAILY, CLS_N };
static const char *const cls_parent[CLS_N] = {"raw_events",           "rollups_15m",
                                              "rollups_hourly",       "rollups_daily",
                                              "rollup_totals_hourly", "rollup_totals_daily"};
static const bool cls_monthly[CLS_N] = {false, false, false, true, false, true};

/* wk_parts_check runs for every event: the answer for a UTC day is memoized (a batch's events
 * fall on a day or two) instead of formatting and looking up four names per event. */
#define MEMO_N 8
struct day_memo {
    int64_t day; /* INT64_MIN: empty */
    bool all_exist;
};

struct wk_parts {
    bool store_raw;
    ea_arena *arena;
    ea_map names;
    long retention_days[CLS_N];
    struct day_memo memo[MEMO_N];
};

static void memo_clear(wk_parts *p)
{
    for (int i = 0; i < MEMO_N; i++)
        p->memo[i].day = INT64_MIN;
}

wk_parts *wk_parts_new(bool store_raw)
{
    wk_parts *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->store_raw = store_raw;
    p->arena = ea_arena_new(16384);
    if (p->arena == NULL) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < CLS_N; i++)
        p->retention_days[i] = 36500;
    memo_clear(p);
    return p;
}

void wk_parts_free(wk_parts *p)
{
    if (p == NULL)
        return;
    ea_map_free(&p->names);
    ea_arena_free(p->arena);
    free(p);
}

ea_rc wk_parts_refresh(wk_parts *p, PGconn *c, struct ea_err *err)
{
    PGresult *res = ea_pg_query(c,
                                "SELECT child.relname FROM pg_inherits i "
                                "JOIN pg_class child ON child.oid = i.inhrelid "
                                "JOIN pg_class par ON par.oid = i.inhparent "
                                "WHERE par.relname IN ('raw_events', 'rollups_15m', "
                                "'rollups_hourly', 'rollups_daily', 'rollup_totals_hourly', "
                                "'rollup_totals_daily')",
                                0, NULL, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    ea_map_clear(&p->names);
    ea_arena_reset(p->arena);
    memo_clear(p);
    for (int i = 0; i < PQntuples(res); i++) {
        bool ins;
        const char *n = PQgetvalue(res, i, 0);
        void **slot = ea_map_upsert(&p->names, n, strlen(n), p->arena, &ins);
        if (slot == NULL) {
            PQclear(res);
            return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        }
        *slot = (void *)1;
    }
    PQclear(res);
    res = ea_pg_query(c, "SELECT parent, retention_days FROM partition_classes", 0, NULL,
                      PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    for (int i = 0; i < PQntuples(res); i++)
        for (int k = 0; k < CLS_N; k++)
            if (strcmp(PQgetvalue(res, i, 0), cls_parent[k]) == 0)
                p->retention_days[k] = strtol(PQgetvalue(res, i, 1), NULL, 10);
    PQclear(res);
    return EA_OK;
}

/* Name of the partition of class k holding ts. */
static void part_name(int k, int64_t ts, char *buf, size_t cap)
{
    char iso[48];
    ea_time_format_iso8601(ts, iso); /* YYYY-MM-DD... */
    int y = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 + (iso[2] - '0') * 10 + (iso[3] - '0');
    int m = (iso[5] - '0') * 10 + (iso[6] - '0');
    int d = (iso[8] - '0') * 10 + (iso[9] - '0');
    if (cls_monthly[k])
        snprintf(buf, cap, "%s_p%04d%02d", cls_parent[k], y, m);
    else
        snprintf(buf, cap, "%s_p%04d%02d%02d", cls_parent[k], y, m, d);
}

bool wk_parts_check(wk_parts *p, int64_t ts_ms)
{
    int64_t day = ea_time_floor_day(ts_ms);
    struct day_memo *m = &p->memo[(uint64_t)(day / EA_MS_PER_DAY) % MEMO_N];
    if (m->day != day) {
        m->day = day;
        m->all_exist = true;
        for (int k = p->store_raw ? CLS_RAW : CLS_15M; k < CLS_N; k++) {
            char name[96];
            part_name(k, ts_ms, name, sizeof(name));
            if (ea_map_get(&p->names, name, strlen(name)) == NULL)
                m->all_exist = false;
        }
    }
    return m->all_exist;
}

long wk_parts_retention_days(const wk_parts *p)
{
    return p->retention_days[CLS_RAW];
}

ea_rc wk_parts_ensure(wk_parts *p, PGconn *c, int64_t ts_ms, struct ea_err *err)
{
    char iso[48];
    ea_time_format_iso8601(ts_ms, iso);
    for (int k = p->store_raw ? CLS_RAW : CLS_15M; k < CLS_N; k++) {
        const char *params[2] = {cls_parent[k], iso};
        PGresult *res = ea_pg_query(c,
                                    "SELECT ea_partition_ensure($1, $2::timestamptz, "
                                    "$2::timestamptz)",
                                    2, params, PGRES_TUPLES_OK, err);
        if (res == NULL)
            return err != NULL ? err->code : EA_ERR_DB;
        PQclear(res);
    }
    ea_log_info("maintenance", "created partitions for %.10s", iso);
    return wk_parts_refresh(p, c, err);
}

static bool is_lock_timeout(const struct ea_err *err)
{
    return strcmp(err->sqlstate, "55P03") == 0;
}

ea_rc wk_parts_maintain(wk_parts *p, PGconn *c, int back_days, int64_t dedup_window_ms, bool *did,
                        struct ea_err *err)
{
    *did = false;
    PGresult *res = ea_pg_query(c, "SELECT pg_try_advisory_lock(" WK_MAINT_LOCK_KEY ")", 0, NULL,
                                PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    bool got = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    ea_rc rc = EA_OK;
    if (got) {
        *did = true;
        char days[16], window[32];
        snprintf(days, sizeof(days), "%d", back_days);
        snprintf(window, sizeof(window), "%lld milliseconds", (long long)dedup_window_ms);
        for (int attempt = 0; attempt < 5; attempt++) {
            const char *params[1] = {days};
            res = ea_pg_query(c, "SELECT ea_partitions_maintain($1::int)", 1, params,
                              PGRES_TUPLES_OK, err);
            if (res != NULL) {
                ea_log_info("maintenance", "maintenance created %s partitions",
                            PQgetvalue(res, 0, 0));
                PQclear(res);
                rc = EA_OK;
                break;
            }
            rc = err->code;
            if (!is_lock_timeout(err))
                break;
            ea_log_warn("maintenance", "maintenance: %s; retrying", err->message);
            struct timespec ts = {0, 200000000L * (attempt + 1)};
            nanosleep(&ts, NULL);
        }
        /* Expire dedup keys in slices: short transactions, no long lock on the table. */
        for (int slice = 0; rc == EA_OK && slice < 100; slice++) {
            const char *params[1] = {window};
            res = ea_pg_query(c,
                              "DELETE FROM event_dedup WHERE ctid IN (SELECT ctid FROM "
                              "event_dedup WHERE seen_at < now() - $1::interval LIMIT 10000)",
                              1, params, PGRES_COMMAND_OK, err);
            if (res == NULL) {
                rc = err->code;
                break;
            }
            long n = strtol(PQcmdTuples(res), NULL, 10);
            PQclear(res);
            if (n < 10000)
                break;
        }
        struct ea_err uerr = {0};
        res = ea_pg_query(c, "SELECT pg_advisory_unlock(" WK_MAINT_LOCK_KEY ")", 0, NULL,
                          PGRES_TUPLES_OK, &uerr);
        PQclear(res);
    }
    if (rc != EA_OK)
        return rc;
    return wk_parts_refresh(p, c, err);
}

void wk_parts_ensure_batch(wk_parts *p, PGconn *c, wk_batch *b, size_t lo, size_t hi)
{
    int64_t last_day = INT64_MIN;
    for (size_t i = lo; i < hi; i++) {
        wk_event *ev = &b->ev[i];
        if (ev->root == NULL || ev->dropped)
            continue;
        int64_t day = ea_time_floor_day(ev->ts_ms);
        if (day == last_day)
            continue;
        last_day = day;
        if (wk_parts_check(p, ev->ts_ms))
            continue;
        struct ea_err err = {0};
        char subj[EA_LOG_SUBJECT_MAX];
        if (wk_parts_ensure(p, c, ev->ts_ms, &err) != EA_OK)
            ea_log_warn(ea_log_subject_part(subj, ev->partition, ev->offset),
                        "could not create partitions for an event of partition "
                        "%d offset %lld: %s",
                        ev->partition, (long long)ev->offset, err.message);
    }
}
