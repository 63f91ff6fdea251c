/*
 * exec.c — graphql-api's worker pool (see exec.h): ea_workpool threads whose context is a
 * PostgreSQL and a Redis connection, and the loop-side watch that runs finished jobs' done().
 *
 * Why several threads with a connection each (not one thread, not a shared connection): libpq
 * runs one statement at a time per connection, and a slow statement (a month of raw events, a
 * definition change waiting 5 s for the metric-names lock) must not hold every other miss behind
 * it. Why bounded: a flood of misses must cost a fast 503 rather than memory and latency for
 * everyone.
 */
#include "exec.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gql_thread {
    const gql_exec_config *cfg;
    PGconn *db;
    char db_error[512]; /* why the last connect failed ("" once connected) */
    bool db_down_logged;
    ea_redis *redis;
    int64_t redis_retry_at; /* no reconnect before this (ms) */
    char redis_error[512];
};

struct gql_exec {
    gql_exec_config cfg;
    ea_workpool *pool;
    ea_http_watch *watch;
    bool stopping;
};

static void *thread_init(void *ud)
{
    gql_thread *t = calloc(1, sizeof(*t));
    if (t != NULL) {
        t->cfg = ud;
        snprintf(t->redis_error, sizeof(t->redis_error), "not connected yet");
    }
    return t;
}

static void thread_fini(void *tctx)
{
    gql_thread *t = tctx;
    if (t == NULL)
        return;
    if (t->db != NULL)
        PQfinish(t->db);
    ea_redis_free(t->redis);
    free(t);
}

PGconn *gql_thread_db(gql_thread *t)
{
    if (t == NULL)
        return NULL;
    if (t->db != NULL && !ea_pg_is_broken(t->db))
        return t->db;
    if (t->db != NULL)
        PQfinish(t->db);
    struct ea_err err;
    t->db = ea_pg_connect(t->cfg->database_url, &err);
    if (t->db == NULL) {
        if (!t->db_down_logged)
            ea_log_warn("postgresql", "%s", err.message);
        t->db_down_logged = true;
        snprintf(t->db_error, sizeof(t->db_error), "%s", err.message);
        return NULL;
    }
    t->db_down_logged = false;
    t->db_error[0] = '\0';
    /* bucket times are computed and printed in UTC whatever the server's default; a statement
     * that runs away (a huge raw-event scan) gives its thread back after the timeout; no JIT:
     * only raw-event breakdowns pass jit_above_cost, and compiling theirs took 47-154 ms a query
     * with no measurable gain (docs/ARCHITECTURE.md, "The slowest queries, before and after") */
    char sql[128];
    snprintf(sql, sizeof(sql), "SET TIME ZONE 'UTC'; SET statement_timeout = %ld; SET jit = off",
             t->cfg->statement_timeout_ms);
    if (ea_pg_exec(t->db, sql, &err) != EA_OK)
        ea_log_warn("postgresql", "%s", err.message);
    return t->db;
}

const char *gql_thread_db_error(const gql_thread *t)
{
    return t->db_error;
}

ea_redis *gql_thread_redis(gql_thread *t, const char **why)
{
    *why = t->redis_error;
    if (t->redis != NULL)
        return t->redis;
    int64_t now = ea_time_now_ms();
    if (now < t->redis_retry_at)
        return NULL;
    struct ea_err err = {0};
    t->redis = ea_redis_connect(t->cfg->redis, t->cfg->redis_timeout_ms, &err);
    if (t->redis == NULL) {
        snprintf(t->redis_error, sizeof(t->redis_error), "%s", err.message);
        t->redis_retry_at = now + 1000;
        return NULL;
    }
    t->redis_error[0] = '\0';
    return t->redis;
}

void gql_thread_redis_failed(gql_thread *t, const struct ea_err *err)
{
    snprintf(t->redis_error, sizeof(t->redis_error), "%s", err->message);
    if (t->redis != NULL && ea_redis_broken(t->redis)) {
        ea_redis_free(t->redis);
        t->redis = NULL;
        t->redis_retry_at = ea_time_now_ms() + 1000;
    }
}

ea_rc gql_thread_publish(gql_thread *t, const char *channel, const char *msg, size_t len,
                         struct ea_err *err)
{
    const char *why;
    if (gql_thread_redis(t, &why) == NULL)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "%s", why);
    ea_rc rc = ea_redis_publish(&t->redis, t->cfg->redis, t->cfg->redis_timeout_ms, channel, msg,
                                len, NULL, err);
    if (rc != EA_OK && t->redis != NULL && ea_redis_broken(t->redis)) {
        ea_redis_free(t->redis);
        t->redis = NULL;
        t->redis_retry_at = ea_time_now_ms() + 1000;
    }
    return rc;
}

static void job_run(ea_work *w, void *tctx)
{
    gql_job *j = (gql_job *)w;
    j->run(j, tctx);
}

static void job_done(ea_work *w)
{
    gql_job *j = (gql_job *)w;
    j->done(j, w->ran && !j->exec->stopping);
}

static void on_ready(void *ud)
{
    ea_workpool_complete(((gql_exec *)ud)->pool);
}

gql_exec *gql_exec_new(h2o_loop_t *loop, const gql_exec_config *cfg, struct ea_err *err)
{
    gql_exec *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the query workers: out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    ea_workpool_config wc = {.threads = cfg->threads,
                             .queue_max = cfg->queue_max,
                             .thread_init = thread_init,
                             .thread_fini = thread_fini,
                             .ud = &e->cfg,
                             .name = cfg->name != NULL ? cfg->name : "gql-exec"};
    e->pool = ea_workpool_new(&wc, err);
    if (e->pool == NULL) {
        free(e);
        return NULL;
    }
    e->watch = ea_http_watch_new(loop, ea_workpool_fd(e->pool), on_ready, e);
    if (e->watch == NULL) {
        ea_workpool_free(e->pool);
        free(e);
        ea_err_set(err, EA_ERR_IO, "could not watch the query workers");
        return NULL;
    }
    return e;
}

ea_rc gql_exec_submit(gql_exec *e, gql_job *j, bool urgent)
{
    j->w.run = job_run;
    j->w.done = job_done;
    j->w.next = NULL;
    j->exec = e;
    return ea_workpool_submit(e->pool, &j->w, urgent);
}

/* in the request's pool: its dispose detaches the job */
struct gql_req_ref {
    gql_req_job *job;
};

static void req_ref_dispose(void *obj)
{
    struct gql_req_ref *ref = obj;
    if (ref->job != NULL) {
        ref->job->req = NULL;
        ref->job->ref = NULL;
    }
}

ea_rc gql_exec_submit_req(gql_exec *e, gql_req_job *rj, h2o_req_t *req, bool urgent)
{
    rj->req = req;
    rj->ref = NULL;
    ea_rc rc = gql_exec_submit(e, &rj->j, urgent);
    if (rc != EA_OK)
        return rc;
    rj->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*rj->ref), req_ref_dispose);
    rj->ref->job = rj;
    return EA_OK;
}

void gql_req_job_finish(gql_req_job *rj)
{
    if (rj->ref != NULL)
        rj->ref->job = NULL;
    rj->ref = NULL;
    rj->req = NULL;
}

size_t gql_exec_queued(gql_exec *e)
{
    return ea_workpool_queued(e->pool);
}

void gql_exec_free(gql_exec *e)
{
    if (e == NULL)
        return;
    ea_http_watch_free(e->watch);
    e->stopping = true;
    ea_workpool_free(e->pool); /* done(j, false) for everything still queued */
    free(e);
}
