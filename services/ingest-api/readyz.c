/*
 * readyz.c — GET /readyz (see readyz.h). A request holds a small record in its pool with one
 * slot per backend; each backend answers through its own callback on the loop, and the last one
 * sends the answer. The record's dispose callback withdraws whatever is still pending when the
 * client goes away first. app->auth_waiting counts every pending part, so SIGTERM answers them.
 *
 * Kafka: librdkafka's metadata request is synchronous (it blocks up to KAFKA_TIMEOUT_MS when the
 * brokers are down), so it runs on a one-thread ea_workpool; requests that find a check in
 * flight wait for it, and an answer younger than KAFKA_FRESH_MS answers at once.
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
#define KAFKA_FRESH_MS 1000

struct ready_req {
    ea_keyauth_waiter w; /* first: the verifier's callback gets &w */
    ingest_readyz *rz;
    h2o_req_t *req;
    ingest_rl_ping ping;
    bool db_pending, redis_pending, kafka_pending;
    struct ready_req *kprev, *knext; /* waiting for the Kafka check */
    bool db, redis, kafka;
    char db_why[512], redis_why[512], kafka_why[512];
};

struct kafka_job {
    ea_work work; /* first */
    ingest_readyz *rz;
    int64_t asked_ms;
    bool ok;
    char why[512];
};

struct ingest_readyz {
    ingest_app *app;
    ea_workpool *pool;
    ea_http_watch *watch;
    bool closing;
    bool job_inflight;
    struct ready_req *kwait; /* waiting for the check in flight */
    int64_t kafka_at;        /* when the last answer was asked for; 0: never */
    bool kafka_ok;
    char kafka_why[512];
};

static void part_done(struct ready_req *r)
{
    if (r->db_pending || r->redis_pending || r->kafka_pending)
        return;
    ea_http_ready_part parts[] = {{"kafka", r->kafka, true, r->kafka_why},
                                  {"postgres", r->db, true, r->db_why},
                                  {"redis", r->redis, true, r->redis_why}};
    ea_http_send_ready(r->req, parts, sizeof(parts) / sizeof(parts[0]));
}

/* ---- Kafka ----------------------------------------------------------------------------------- */

static void kwait_unlink(ingest_readyz *rz, struct ready_req *r)
{
    if (r->kprev != NULL)
        r->kprev->knext = r->knext;
    else
        rz->kwait = r->knext;
    if (r->knext != NULL)
        r->knext->kprev = r->kprev;
    r->kprev = r->knext = NULL;
}

static void kafka_answer(struct ready_req *r, bool ok, const char *why)
{
    r->kafka_pending = false;
    r->rz->app->auth_waiting--;
    r->kafka = ok;
    snprintf(r->kafka_why, sizeof(r->kafka_why), "%s", ok ? "" : why);
    part_done(r);
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
    ingest_readyz *rz = j->rz;
    rz->job_inflight = false;
    if (!rz->closing) {
        if (j->work.ran) {
            rz->kafka_at = j->asked_ms;
            rz->kafka_ok = j->ok;
            snprintf(rz->kafka_why, sizeof(rz->kafka_why), "%s", j->why);
        }
        struct ready_req *r;
        while ((r = rz->kwait) != NULL) {
            kwait_unlink(rz, r);
            kafka_answer(r, j->work.ran && j->ok, j->work.ran ? j->why : "not checked");
        }
    }
    free(j);
}

static void kafka_ask(ingest_readyz *rz, struct ready_req *r)
{
    int64_t now = ea_time_now_ms();
    r->kafka_pending = true;
    rz->app->auth_waiting++;
    if (rz->kafka_at != 0 && now - rz->kafka_at < KAFKA_FRESH_MS) {
        kafka_answer(r, rz->kafka_ok, rz->kafka_why);
        return;
    }
    if (!rz->job_inflight) {
        struct kafka_job *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            kafka_answer(r, false, "out of memory");
            return;
        }
        j->rz = rz;
        j->asked_ms = now;
        j->work.run = kafka_run;
        j->work.done = kafka_done;
        if (ea_workpool_submit(rz->pool, &j->work, false) != EA_OK) {
            free(j);
            kafka_answer(r, false, "the readiness check could not be queued");
            return;
        }
        rz->job_inflight = true;
    }
    r->knext = rz->kwait;
    r->kprev = NULL;
    if (rz->kwait != NULL)
        rz->kwait->kprev = r;
    rz->kwait = r;
}

static void on_kafka_ready(void *ud)
{
    ea_workpool_complete(((ingest_readyz *)ud)->pool);
}

/* ---- PostgreSQL and Redis -------------------------------------------------------------------- */

static void on_db_answer(ea_keyauth_waiter *w, const ea_keyauth_result *res)
{
    struct ready_req *r = (struct ready_req *)w;
    r->db_pending = false;
    r->rz->app->auth_waiting--;
    r->db = res->status == EA_KEYAUTH_OK;
    if (!r->db && !ea_keyauth_db_error(r->rz->app->auth, r->db_why, sizeof(r->db_why)))
        snprintf(r->db_why, sizeof(r->db_why), "%s",
                 res->status == EA_KEYAUTH_BUSY ? "the key verifier's queue is full"
                                                : "no answer from the key verifier");
    part_done(r);
}

static void on_redis_answer(ingest_rl_ping *p, bool ok, const char *why)
{
    struct ready_req *r = H2O_STRUCT_FROM_MEMBER(struct ready_req, ping, p);
    r->redis_pending = false;
    r->rz->app->auth_waiting--;
    r->redis = ok;
    snprintf(r->redis_why, sizeof(r->redis_why), "%s", ok ? "" : why);
    part_done(r);
}

static void ready_dispose(void *obj)
{
    struct ready_req *r = obj;
    ingest_app *app = r->rz->app;
    if (r->db_pending) {
        ea_keyauth_cancel(&r->w);
        app->auth_waiting--;
    }
    if (r->redis_pending) {
        ingest_ratelimit_ping_cancel(&r->ping);
        app->auth_waiting--;
    }
    if (r->kafka_pending) {
        kwait_unlink(r->rz, r);
        app->auth_waiting--;
    }
}

void ingest_readyz_serve(ingest_readyz *rz, h2o_req_t *req)
{
    ingest_app *app = rz->app;
    struct ready_req *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), ready_dispose);
    memset(r, 0, sizeof(*r));
    r->rz = rz;
    r->req = req;
    /* every part pending first, so no callback answering at once sends the reply early */
    r->db_pending = r->redis_pending = true;
    app->auth_waiting += 2;
    kafka_ask(rz, r);
    r->ping.cb = on_redis_answer;
    ingest_ratelimit_ping(app->ratelimit, &r->ping);
    r->w.cb = on_db_answer;
    ea_keyauth_ping(app->auth, &r->w); /* may answer at once (recent database contact) */
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
    ea_workpool_free(rz->pool); /* a check in flight ends (≤ KAFKA_TIMEOUT_MS) and frees itself */
    ea_http_watch_free(rz->watch);
    free(rz);
}
