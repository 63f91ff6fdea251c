/*
 * recompute.c — the job thread (see recompute.h).
 *
 *   connect ─▶ pg_try_advisory_lock(RECOMPUTE) ──(another worker has it)──▶ sleep, retry
 *      │ held for the connection's life: one runner in the group
 *      ▼
 *   oldest open job (pending | running) ─▶ running ─▶ per UTC day from next_day:
 *      job still running? (a newer request supersedes it) ─▶ day past retention: skip
 *      ─▶ ea_rollup_backfill_day (one transaction; the metric's lock exclusive, so live batches
 *         of the metric wait and then add on top: never counted twice) ─▶ publish its changes
 *      ─▶ next_day + 1, days_done + 1 (after the day's COMMIT: a crash in between redoes the
 *         day, which then writes nothing)
 *   ─▶ done | failed (raw events are incomplete) | superseded (a newer request; the definition
 *      was deleted) | read again (the metric was renamed: lib/catalog moved the job to the new
 *      name; every day re-reads the definition in its own snapshot) | retried later
 *      (PostgreSQL down, serialization failures beyond the backfill's retries)
 */
#include "recompute.h"
#include "changefeed.h"
#include "ea_thread.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_rollup_backfill.h"
#include "ea_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Session advisory lock of the job runner ("ea-maint" + 2). */
#define RECOMPUTE_LOCK_KEY "7305230303425315958"

struct wk_recompute {
    const wk_config *cfg;
    wk_stats *stats;
    wk_feed *feed;
    PGconn *conn;
    bool runner;  /* this connection holds RECOMPUTE_LOCK_KEY */
    ea_task task; /* the job thread and its stop */
};

typedef struct job {
    long long id;
    char tenant[64], metric[300];
    int64_t next_day, to_day;
} job;

/* The log subject of a job's lines: its metric, "<tenant>/<metric>" (ea_log.h); valid until the
 * next call on this thread (the runner's). */
static const char *job_subject(const job *j)
{
    static _Thread_local char buf[EA_LOG_SUBJECT_MAX];
    snprintf(buf, sizeof(buf), "%.40s/%.50s", j->tenant, j->metric);
    return buf;
}

static void disconnect(wk_recompute *r)
{
    if (r->conn != NULL)
        PQfinish(r->conn); /* also releases the runner's lock */
    r->conn = NULL;
    r->runner = false;
}

/* Connected and holding the runner's lock: true. */
static bool become_runner(wk_recompute *r)
{
    struct ea_err err = {0};
    if (r->conn != NULL && ea_pg_is_broken(r->conn))
        disconnect(r);
    if (r->conn == NULL && (r->conn = ea_pg_connect(r->cfg->database_url, &err)) == NULL)
        return false;
    if (r->runner)
        return true;
    PGresult *res = ea_pg_query(r->conn, "SELECT pg_try_advisory_lock(" RECOMPUTE_LOCK_KEY ")", 0,
                                NULL, PGRES_TUPLES_OK, &err);
    r->runner = res != NULL && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return r->runner;
}

static int64_t day_ms(const char *date)
{
    char iso[40];
    snprintf(iso, sizeof(iso), "%.10sT00:00:00Z", date);
    int64_t ms = 0;
    return ea_time_parse_iso8601(iso, strlen(iso), &ms) ? ms : 0;
}

/* The oldest open job, marked running. false when there is none (or on error). */
static bool next_job(wk_recompute *r, job *j)
{
    struct ea_err err = {0};
    PGresult *res = ea_pg_query(
        r->conn,
        "UPDATE metric_recompute_jobs SET state = 'running', updated_at = now(), "
        "started_at = coalesce(started_at, now()) WHERE id = (SELECT id FROM "
        "metric_recompute_jobs WHERE state IN ('pending', 'running') ORDER BY id LIMIT 1) "
        "RETURNING id, tenant_id, metric, next_day::text, to_day::text",
        0, NULL, PGRES_TUPLES_OK, &err);
    if (res == NULL) {
        ea_log_warn("postgresql", "could not read the job queue: %s", err.message);
        return false;
    }
    bool found = PQntuples(res) == 1;
    if (found) {
        j->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(j->tenant, sizeof(j->tenant), "%s", PQgetvalue(res, 0, 1));
        snprintf(j->metric, sizeof(j->metric), "%s", PQgetvalue(res, 0, 2));
        j->next_day = day_ms(PQgetvalue(res, 0, 3));
        j->to_day = day_ms(PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    return found;
}

/* One statement on the job row (state checks in sql); false when the job is no longer running
 * (superseded) or on error. */
static bool job_update(wk_recompute *r, const job *j, const char *sql, const char *a, const char *b)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", j->id);
    const char *p[3] = {id, a, b};
    struct ea_err err = {0};
    PGresult *res = ea_pg_query(r->conn, sql, 3, p, PGRES_COMMAND_OK, &err);
    if (res == NULL) {
        ea_log_warn(job_subject(j), "job %lld: %s", j->id, err.message);
        return false;
    }
    bool ok = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return ok;
}

static void job_end(wk_recompute *r, const job *j, const char *state, const char *error)
{
    job_update(r, j,
               "UPDATE metric_recompute_jobs SET state = $2, error = $3, finished_at = now(), "
               "updated_at = now() WHERE id = $1::int8 AND state = 'running'",
               state, error);
    ea_log_info(job_subject(j), "job %lld (%s/%s): %s%s%s", j->id, j->tenant, j->metric, state,
                error != NULL ? ": " : "", error != NULL ? error : "");
}

/* Runs job j from its next day. Returns when it ended, was superseded, or must be retried. */
static void run_job(wk_recompute *r, job *j)
{
    struct ea_err err = {0};
    ea_rollup_target t;
    if (ea_rollup_target_load(r->conn, j->tenant, j->metric, &t, &err) != EA_OK) {
        if (err.code == EA_ERR_UNAVAILABLE || ea_pg_is_broken(r->conn))
            return; /* retried */
        job_end(r, j, "failed", err.message);
        return;
    }
    if (t.automatic) { /* the definition was deleted or renamed since: nothing to recompute */
        ea_rollup_target_free(&t);
        job_end(r, j, "superseded", "the metric is no longer defined");
        return;
    }
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_changes ch = {.a = a};
    bool finished = a != NULL;
    for (int64_t day = j->next_day; finished && day < j->to_day; day += EA_MS_PER_DAY) {
        if (ea_stop_requested(&r->task.stop)) {
            finished = false;
            break;
        }
        char d[48], events[24];
        ea_time_format_iso8601(day, d);
        ea_rollup_backfill_stats st = {0};
        ea_err_clear(&err);
        ea_rollup_changes_clear(&ch);
        ea_arena_reset(a);
        /* past retention now (the job is older than a day): its raw events are partly gone */
        bool skip = ea_rollup_backfill_check_range(r->conn, day, day + EA_MS_PER_DAY, &err) ==
                    EA_ERR_INVALID;
        if (!skip && err.code != EA_OK) {
            finished = false;
            break; /* retried later */
        }
        if (!skip && ea_rollup_backfill_day(r->conn, &t, day, &st, &ch, &err) != EA_OK) {
            finished = false;
            if (err.code == EA_ERR_INVALID) /* raw events incomplete: a smaller number never */
                job_end(r, j, "failed", err.message);
            else if (err.code == EA_ERR_CONFLICT) /* renamed (the job moved with it: picked up */
                ea_log_info(job_subject(j), /* again) or deleted (superseded when picked up) */
                            "job %lld (%s/%s): the definition changed; reading the job again",
                            j->id, j->tenant, j->metric);
            else
                ea_log_warn(job_subject(j), "job %lld (%s/%s) day %.10s: %s; retrying later", j->id,
                            j->tenant, j->metric, d, err.message);
            break;
        }
        if (ch.n > 0)
            wk_feed_publish(r->feed, ch.v, ch.n); /* after the day's COMMIT */
        snprintf(events, sizeof(events), "%lld", st.events);
        char next[48];
        ea_time_format_iso8601(day + EA_MS_PER_DAY, next);
        if (!job_update(r, j,
                        "UPDATE metric_recompute_jobs SET next_day = ($2::timestamptz AT TIME "
                        "ZONE 'UTC')::date, days_done = days_done + 1, events = events + "
                        "$3::int8, updated_at = now() WHERE id = $1::int8 AND state = 'running'",
                        next, events)) {
            finished = false; /* superseded by a newer request (or the update failed) */
            break;
        }
        j->next_day = day + EA_MS_PER_DAY;
        ea_log_debug(job_subject(j), "job %lld (%s/%s) day %.10s: %lld events, %lld rows", j->id,
                     j->tenant, j->metric, d, st.events, st.rows.rows);
    }
    if (finished)
        job_end(r, j, "done", NULL);
    ea_rollup_changes_free(&ch);
    ea_arena_free(a);
    ea_rollup_target_free(&t);
}

static void *run(void *arg)
{
    wk_recompute *r = arg;
    while (!ea_stop_requested(&r->task.stop)) {
        job j;
        if (!become_runner(r) || !next_job(r, &j)) {
            ea_stop_nap(&r->task.stop, r->cfg->recompute_poll_ms);
            continue;
        }
        run_job(r, &j);
        if (r->conn != NULL && ea_pg_is_broken(r->conn))
            ea_stop_nap(&r->task.stop, r->cfg->recompute_poll_ms);
    }
    disconnect(r);
    return NULL;
}

wk_recompute *wk_recompute_start(const wk_config *cfg, wk_stats *stats, struct ea_err *err)
{
    wk_recompute *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->feed = wk_feed_new(cfg, stats)) == NULL) {
        free(r);
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->stats = stats;
    if (ea_task_start(&r->task, run, r) != 0) {
        wk_feed_free(r->feed);
        free(r);
        ea_err_set(err, EA_ERR_IO, "could not start the recompute thread");
        return NULL;
    }
    return r;
}

void wk_recompute_stop(wk_recompute *r)
{
    if (r == NULL)
        return;
    ea_task_stop(&r->task);
    wk_feed_free(r->feed);
    free(r);
}
