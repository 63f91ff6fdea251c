/*
 * dbpool.h — the WebSocket side's session re-checks off the event loop: a gql_exec (exec.h) of
 * ONE thread, so the periodic re-check of signed-in sockets' sessions runs one at a time in the
 * order submitted, and each job's done() runs back on the loop (ws.c). Not for: the change
 * feed's re-reads (wsfeed.c: they run on the worker pool within each tenant's share, fair.c —
 * on this one thread, one tenant's slow re-reads held every tenant's pushes), operations of
 * requests (the shared pool, exec.h) or key verification (lib/apikey has its own pool).
 */
#ifndef GQL_DBPOOL_H
#define GQL_DBPOOL_H

#include "ea_err.h"
#include "exec.h"
#include "gql_config.h"

#include <libpq-fe.h>
#include <stddef.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef struct gql_dbjob gql_dbjob;
struct gql_dbjob {
    gql_job w; /* private; first */
    /* On the pool thread. db is NULL when PostgreSQL cannot be reached. Touches only the job. */
    void (*run)(gql_dbjob *j, PGconn *db);
    /* On the loop thread; frees the job. stopping: the server is shutting down (or the job
     * never ran): free, deliver nothing. */
    void (*done)(gql_dbjob *j, bool stopping);
};

typedef struct gql_dbpool gql_dbpool;

/* Starts the thread (it connects lazily, and again after a failure). NULL with err filled when
 * the thread or its wake-up watch cannot be made. */
gql_dbpool *gql_dbpool_new(h2o_loop_t *loop, const gql_config *cfg, size_t queue_max,
                           struct ea_err *err);

/* Queues j. EA_ERR_LIMIT when queue_max jobs already wait (j untouched: the caller keeps it). */
ea_rc gql_dbpool_submit(gql_dbpool *p, gql_dbjob *j) EA_WUR;

/* Stops the thread after the job running; every job still queued gets done(j, true). NULL ok. */
void gql_dbpool_free(gql_dbpool *p);

#endif
