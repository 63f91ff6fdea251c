/*
 * readyz.c — GET /readyz (see readyz.h). A request holds a small record in its pool with one
 * slot per backend; each backend answers through a callback on the loop, and the last one sends
 * the answer. The record's dispose callback withdraws whatever is still pending when the client
 * goes away first. app->auth_waiting counts every pending part, so SIGTERM answers them.
 *
 * Kafka and Redis are shared checks: at most one in flight, every request that comes meanwhile
 * waits for it, and an answer younger than FRESH_MS answers at once. So a flood of /readyz costs
 * Kafka one metadata request and Redis one PING per second, and cannot fill the rate limiter's
 * Redis queue (refills would then be decided by the local bucket). PostgreSQL's check is the
 * key verifier's, which shares its answers likewise (ea_keyauth_ping).
 *
 * Kafka: librdkafka's metadata request is synchronous (it blocks up to KAFKA_TIMEOUT_MS when the
 * brokers are down), so it runs on a one-thread ea_workpool. Redis: a PING by the rate limiter's
 * Redis thread (ratelimit.h).
 */
#include "readyz.h"
#include "ea_http.h"
#include "ea_time.h"
#include "ea_workpool.h"
#include "handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_TIMEOUT_MS 1000
#define FRESH_MS 1000

enum { C_KAFKA = 0, C_REDIS, C_SHARED, C_DB = C_SHARED, C_N };

struct ready_req {
    ea_keyauth_waiter w; /* first: the verifier's callback gets &w */
    ingest_readyz *rz;
    h2o_req_t *req;
    bool pending[C_N];
    struct ready_req *prev[C_SHARED], *next[C_SHARED]; /* waiting for a shared check */
    bool ok[C_N];
    char why[C_N][512];
};

/* A check shared by the requests that wait for it. */
struct shared {
    struct ready_req *wait;
    bool inflight;
    int64_t at; /* when the last answer was asked for; 0: never */
    bool ok;
    char why[512];
};

struct kafka_job {
    ea_work work; /* first */
    ingest_readyz *rz;
    bool ok;
    char why[512];
};

struct ingest_readyz {
    ingest_app *app;
    ea_workpool *pool;
    ea_http_watch *watch;
    bool closing;
    struct shared check[C_SHARED];
    int64_t asked[C_SHARED]; /* when the check in flight was started */
    ea_rl_ping ping;
};

static void answer_if_done(struct ready_req *r)
{
    for (int i = 0; i < C_N; i++)
        if (r->pending[i])
            return;
    ea_http_ready_part parts[] = {{"kafka", r->ok[C_KAFKA], true, r->why[C_KAFKA]},
                                  {"postgres", r->ok[C_DB], true, r->why[C_DB]},
                                  {"redis", r->ok[C_REDIS], true, r->why[C_REDIS]}};
    ea_http_send_ready(r->req, parts, sizeof(parts) / sizeof(parts[0]));
}

static void part_answer(struct ready_req *r, int c, bool ok, const char *why)
{
    r->pending[c] = false;
    r->rz->app->auth_waiting--;
    r->ok[c] = ok;
    snprintf(r->why[c], sizeof(r->why[c]), "%s", ok ? "" : why);
    answer_if_done(r);
}

/* ---- the shared checks ------------------------------------------------------------------- */

static void wait_unlink(ingest_readyz *rz, struct ready_req *r, int c)
{
    if (r->prev[c] != NULL)
        r->prev[c]->next[c] = r->next[c];
    else
        rz->check[c].wait = r->next[c];
    if (r->next[c] != NULL)
        r->next[c]->prev[c] = r->prev[c];
    r->prev[c] = r->next[c] = NULL;
}

/* The check in flight answered: kept for FRESH_MS, and given to every request waiting. */
static void shared_done(ingest_readyz *rz, int c, bool ok, const char *why)
{
    struct shared *s = &rz->check[c];
    s->inflight = false;
    s->at = rz->asked[c];
    s->ok = ok;
    snprintf(s->why, sizeof(s->why), "%s", why);
    struct ready_req *r;
    while ((r = s->wait) != NULL) {
        wait_unlink(rz, r, c);
        part_answer(r, c, ok, why);
    }
}

static void kafka_run(ea_work *w, void *tctx)
{
    (void)tctx;
    struct kafka_job *j = (struct kafka_job *)w;
    j->ok = ingest_producer_ready(j->rz->app->producer, KAFKA_TIMEOUT_MS, j->why, sizeof(j->why));
}

static void kafka_done(ea_work *w)
{
    struct kafka_job *j = (struct kafka_job *)w;
    if (!j->rz->closing)
        shared_done(j->rz, C_KAFKA, j->work.ran && j->ok, j->work.ran ? j->why : "not checked");
    free(j);
}

static void on_kafka_ready(void *ud)
{
    ea_workpool_complete(((ingest_readyz *)ud)->pool);
}

static void on_ping(ea_rl_ping *p, bool ok, const char *why)
{
    ingest_readyz *rz = H2O_STRUCT_FROM_MEMBER(ingest_readyz, ping, p);
    if (!rz->closing)
        shared_done(rz, C_REDIS, ok, why);
}

/* Starts check c; false when it could not (why says so). */
static bool shared_start(ingest_readyz *rz, int c, char *why, size_t cap)
{
    rz->asked[c] = ea_time_now_ms();
    rz->check[c].inflight = true;
    if (c == C_REDIS) {
        rz->ping.cb = on_ping;
        ea_ratelimit_ping(rz->app->ratelimit, &rz->ping); /* may answer at once */
        return true;
    }
    struct kafka_job *j = calloc(1, sizeof(*j));
    if (j != NULL) {
        j->rz = rz;
        j->work.run = kafka_run;
        j->work.done = kafka_done;
        if (ea_workpool_submit(rz->pool, &j->work, false) == EA_OK)
            return true;
        free(j);
    }
    rz->check[c].inflight = false;
    snprintf(why, cap, "the readiness check could not be started");
    return false;
}

static void shared_ask(ingest_readyz *rz, struct ready_req *r, int c)
{
    struct shared *s = &rz->check[c];
    r->pending[c] = true;
    rz->app->auth_waiting++;
    if (s->at != 0 && ea_time_now_ms() - s->at < FRESH_MS) {
        part_answer(r, c, s->ok, s->why);
        return;
    }
    /* waiting first: a check that answers at once finds this request in the list */
    r->prev[c] = NULL;
    r->next[c] = s->wait;
    if (s->wait != NULL)
        s->wait->prev[c] = r;
    s->wait = r;
    char why[128];
    if (!s->inflight && !shared_start(rz, c, why, sizeof(why))) {
        wait_unlink(rz, r, c);
        part_answer(r, c, false, why);
    }
}

/* ---- PostgreSQL ---------------------------------------------------------------------------- */

static void on_db_answer(ea_keyauth_waiter *w, const ea_keyauth_result *res)
{
    struct ready_req *r = (struct ready_req *)w;
    char why[512] = "";
    bool ok = res->status == EA_KEYAUTH_OK;
    if (!ok && !ea_keyauth_db_error(r->rz->app->auth, why, sizeof(why)))
        snprintf(why, sizeof(why), "%s",
                 res->status == EA_KEYAUTH_BUSY ? "the key verifier's queue is full"
                                                : "no answer from the key verifier");
    part_answer(r, C_DB, ok, why);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void ready_dispose(void *obj)
{
    struct ready_req *r = obj;
    ingest_app *app = r->rz->app;
    if (r->pending[C_DB]) {
        ea_keyauth_cancel(&r->w);
        app->auth_waiting--;
    }
    for (int c = 0; c < C_SHARED; c++) {
        if (r->pending[c]) {
            wait_unlink(r->rz, r, c);
            app->auth_waiting--;
        }
    }
}

void ingest_readyz_serve(ingest_readyz *rz, h2o_req_t *req)
{
    struct ready_req *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), ready_dispose);
    memset(r, 0, sizeof(*r));
    r->rz = rz;
    r->req = req;
    /* PostgreSQL's part pending first, so no shared check answering at once sends the reply */
    r->pending[C_DB] = true;
    rz->app->auth_waiting++;
    shared_ask(rz, r, C_KAFKA);
    shared_ask(rz, r, C_REDIS);
    r->w.cb = on_db_answer;
    ea_keyauth_ping(rz->app->auth, &r->w); /* may answer at once (recent database contact) */
}

ingest_readyz *ingest_readyz_new(ingest_app *app, h2o_loop_t *loop, struct ea_err *err)
{
    ingest_readyz *rz = calloc(1, sizeof(*rz));
    if (rz == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the readiness checks: out of memory");
        return NULL;
    }
    rz->app = app;
    ea_workpool_config pc = {.threads = 1, .queue_max = 4, .name = "readyz"};
    if ((rz->pool = ea_workpool_new(&pc, err)) == NULL) {
        free(rz);
        return NULL;
    }
    rz->watch = ea_http_watch_new(loop, ea_workpool_fd(rz->pool), on_kafka_ready, rz);
    if (rz->watch == NULL) {
        ea_err_set(err, EA_ERR_IO, "could not watch the readiness checks");
        ingest_readyz_free(rz);
        return NULL;
    }
    return rz;
}

void ingest_readyz_free(ingest_readyz *rz)
{
    if (rz == NULL)
        return;
    rz->closing = true;
    ea_ratelimit_ping_cancel(&rz->ping);
    ea_workpool_free(rz->pool); /* a check in flight ends (≤ KAFKA_TIMEOUT_MS) and frees itself */
    ea_http_watch_free(rz->watch);
    free(rz);
}
