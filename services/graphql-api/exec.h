/*
 * exec.h — the worker pool that runs graphql-api's blocking work off the event loop: every
 * operation that needs PostgreSQL (a cache miss, every mutation, catalog lock waits), Redis
 * (/readyz, announcing changed metrics) or bcrypt (createApiKey). GRAPHQL_WORKERS threads
 * (lib/base ea_workpool), each with its own PostgreSQL connection (made on first use, made again
 * after it broke, session time zone UTC) and its own Redis connection, take jobs from one bounded
 * queue (GRAPHQL_QUEUE_MAX); a full queue is refused at once (the caller answers 503 with
 * Retry-After) instead of queueing without bound. A job's done() runs back on the loop.
 *
 * The loop keeps what never waits: parsing and validation (doccache.c), answers the in-process
 * caches hold (respcache.c, bcache.c), key checks from the verified-key cache. Not for: API key
 * verification (lib/apikey has its own pool) or the OIDC calls (login.c's thread).
 */
#ifndef GQL_EXEC_H
#define GQL_EXEC_H

#include "ea_err.h"
#include "ea_redis.h"
#include "ea_workpool.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

/* One pool thread's connections. Only its own thread touches it. */
typedef struct gql_thread gql_thread;

/* The thread's PostgreSQL connection (connecting, or reconnecting after a break, first); NULL
 * when PostgreSQL cannot be reached — then gql_thread_db_error() says why. */
PGconn *gql_thread_db(gql_thread *t);
const char *gql_thread_db_error(const gql_thread *t);

/* The thread's Redis connection (connecting at most once a second while Redis is down); NULL
 * when Redis cannot be reached — then *why says why. Call gql_thread_redis_broken() after a
 * failed command: a broken connection is dropped and made again later. */
ea_redis *gql_thread_redis(gql_thread *t, const char **why);
void gql_thread_redis_failed(gql_thread *t, const struct ea_err *err);

/* PUBLISHes msg on channel with the thread's Redis connection (reconnecting once when the
 * server had closed it, lib/redis's rule). EA_OK, or the failure (logged by the caller). */
ea_rc gql_thread_publish(gql_thread *t, const char *channel, const char *msg, size_t len,
                         struct ea_err *err) EA_WUR;

typedef struct gql_job gql_job;
struct gql_job {
    ea_work w; /* private; first */
    /* On a pool thread: touches only the job and t. */
    void (*run)(gql_job *j, gql_thread *t);
    /* On the loop thread, once per submitted job; frees it. ran is false when the pool is
     * shutting down (the job ran or not): deliver nothing. */
    void (*done)(gql_job *j, bool ran);
    struct gql_exec *exec; /* private */
};

typedef struct gql_exec gql_exec;

/* A job that answers one HTTP request. gql_exec_submit_req() ties it to req: if the client goes
 * away first, the request's pool dispose sets req NULL, so done() answers only when req is set;
 * done() calls gql_req_job_finish() before freeing the job. */
typedef struct gql_req_job {
    gql_job j; /* first */
    h2o_req_t *req;
    struct gql_req_ref *ref; /* private */
} gql_req_job;

typedef struct gql_exec_config {
    int threads;               /* GRAPHQL_WORKERS */
    size_t queue_max;          /* GRAPHQL_QUEUE_MAX */
    const char *database_url;  /* outlives the pool */
    const ea_redis_url *redis; /* outlives the pool */
    int redis_timeout_ms;      /* GRAPHQL_REDIS_TIMEOUT_MS */
    long statement_timeout_ms; /* GRAPHQL_STATEMENT_TIMEOUT_MS: each PostgreSQL statement */
    const char *name;          /* thread name prefix (at most 10 chars); NULL: "gql-exec" */
} gql_exec_config;

/* Starts the threads and watches their completions on loop. NULL with err filled on failure. */
gql_exec *gql_exec_new(h2o_loop_t *loop, const gql_exec_config *cfg, struct ea_err *err);

/* Queues j (urgent: at the front — cheap jobs that unblock a request, like a lease refill).
 * EA_ERR_LIMIT when the queue is full: j is untouched and the caller answers "busy". */
ea_rc gql_exec_submit(gql_exec *e, gql_job *j, bool urgent) EA_WUR;

/* gql_exec_submit for a request's job (see gql_req_job). */
ea_rc gql_exec_submit_req(gql_exec *e, gql_req_job *rj, h2o_req_t *req, bool urgent) EA_WUR;
void gql_req_job_finish(gql_req_job *rj);

/* Jobs waiting for a thread (for /metrics). */
size_t gql_exec_queued(gql_exec *e);

/* Stops the threads after the jobs running; queued jobs get done(j, false). NULL allowed. */
void gql_exec_free(gql_exec *e);

#endif
