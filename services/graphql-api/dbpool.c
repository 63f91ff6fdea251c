/*
 * dbpool.c — the WebSocket side's one ordered PostgreSQL thread (see dbpool.h): a one-thread
 * gql_exec, whose thread keeps its connection as every pool thread does (exec.c).
 */
#include "dbpool.h"

#include <stdlib.h>

struct gql_dbpool {
    gql_exec *exec;
};

static void job_run(gql_job *w, gql_thread *t)
{
    gql_dbjob *j = (gql_dbjob *)w;
    j->run(j, gql_thread_db(t));
}

static void job_done(gql_job *w, bool ran)
{
    gql_dbjob *j = (gql_dbjob *)w;
    j->done(j, !ran);
}

gql_dbpool *gql_dbpool_new(h2o_loop_t *loop, const gql_config *cfg, size_t queue_max,
                           struct ea_err *err)
{
    gql_dbpool *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the WebSocket database thread: no memory");
        return NULL;
    }
    gql_exec_config ec = {.threads = 1,
                          .queue_max = queue_max,
                          .database_url = cfg->database_url,
                          .redis = &cfg->redis,
                          .redis_timeout_ms = (int)cfg->redis_timeout_ms,
                          .statement_timeout_ms = cfg->statement_timeout_ms,
                          .name = "gql-wsdb"};
    p->exec = gql_exec_new(loop, &ec, err);
    if (p->exec == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

ea_rc gql_dbpool_submit(gql_dbpool *p, gql_dbjob *j)
{
    j->w.run = job_run;
    j->w.done = job_done;
    return gql_exec_submit(p->exec, &j->w, false);
}

void gql_dbpool_free(gql_dbpool *p)
{
    if (p == NULL)
        return;
    gql_exec_free(p->exec); /* done(j, true) for everything still in it */
    free(p);
}
