/*
 * dbpool.c — the PostgreSQL thread of graphql-api's WebSocket side (see dbpool.h). The thread's
 * context is its connection: made on first use, dropped and made again when it broke, with the
 * session time zone UTC as gql_app_db sets it for the loop's connection (bucket times are
 * computed and printed in UTC whatever the server's default).
 */
#include "dbpool.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_pg.h"

#include <stdbool.h>
#include <stdlib.h>

struct gql_dbpool {
    ea_workpool *pool;
    ea_http_watch *watch;
    bool stopping;
};

typedef struct thread_ctx {
    const char *url;
    PGconn *db;
    bool down_logged; /* one warning per outage */
} thread_ctx;

static void *thread_init(void *ud)
{
    thread_ctx *t = calloc(1, sizeof(*t));
    if (t != NULL)
        t->url = ud;
    return t;
}

static void thread_fini(void *tctx)
{
    thread_ctx *t = tctx;
    if (t != NULL && t->db != NULL)
        PQfinish(t->db);
    free(t);
}

static PGconn *thread_db(thread_ctx *t)
{
    if (t == NULL)
        return NULL;
    if (t->db != NULL && !ea_pg_is_broken(t->db))
        return t->db;
    struct ea_err err;
    if (ea_pg_reuse(&t->db, t->url, &err) == NULL) {
        if (!t->down_logged)
            ea_log_warn("postgresql", "%s", err.message);
        t->down_logged = true;
        return NULL;
    }
    t->down_logged = false;
    if (ea_pg_exec(t->db, "SET TIME ZONE 'UTC'", &err) != EA_OK)
        ea_log_warn("postgresql", "%s", err.message);
    return t->db;
}

static void job_run(ea_work *w, void *tctx)
{
    gql_dbjob *j = (gql_dbjob *)w;
    j->run(j, thread_db(tctx));
}

static void job_done(ea_work *w)
{
    gql_dbjob *j = (gql_dbjob *)w;
    j->done(j, j->pool->stopping || !w->ran);
}

static void on_ready(void *ud)
{
    ea_workpool_complete(((gql_dbpool *)ud)->pool);
}

gql_dbpool *gql_dbpool_new(h2o_loop_t *loop, const char *database_url, size_t queue_max,
                           struct ea_err *err)
{
    gql_dbpool *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the WebSocket database thread: no memory");
        return NULL;
    }
    ea_workpool_config cfg = {.threads = 1,
                              .queue_max = queue_max,
                              .thread_init = thread_init,
                              .thread_fini = thread_fini,
                              .ud = (void *)database_url,
                              .name = "gql-wsdb"};
    p->pool = ea_workpool_new(&cfg, err);
    if (p->pool == NULL) {
        free(p);
        return NULL;
    }
    p->watch = ea_http_watch_new(loop, ea_workpool_fd(p->pool), on_ready, p);
    if (p->watch == NULL) {
        ea_workpool_free(p->pool);
        free(p);
        ea_err_set(err, EA_ERR_IO, "could not watch the WebSocket database thread");
        return NULL;
    }
    return p;
}

ea_rc gql_dbpool_submit(gql_dbpool *p, gql_dbjob *j)
{
    j->w.run = job_run;
    j->w.done = job_done;
    j->w.ran = false;
    j->w.next = NULL;
    j->pool = p;
    return ea_workpool_submit(p->pool, &j->w, false);
}

void gql_dbpool_free(gql_dbpool *p)
{
    if (p == NULL)
        return;
    ea_http_watch_free(p->watch);
    p->stopping = true;
    ea_workpool_free(p->pool); /* done() of everything still in it, delivering nothing */
    free(p);
}
