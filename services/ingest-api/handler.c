/*
 * handler.c — the produce stage every front door ends in (frontdoor.c hands over a validated
 * batch: ingest_handler_produce), and the health routes. A request waiting for Kafka is a `pending`
 * (malloc'd, owned by the producer callbacks). The h2o request may die first (client gone):
 * a small link object in the request pool has a dispose callback that detaches the pending, so
 * a late delivery report never touches freed memory; the events are still delivered or not, and
 * counted in /metrics either way.
 */
#include "handler.h"
#include "readyz.h"
#include "body.h"
#include "frontdoor.h"
#include "ea_log.h"
#include "ea_time.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending;

struct req_link {
    struct pending *p;
};

struct slot {
    struct pending *p;
    size_t index;
    bool reported; /* its delivery report arrived */
};

struct pending {
    h2o_req_t *req; /* NULL once the client is gone */
    struct req_link *link;
    ingest_app *app;
    const ingest_door *door; /* answers in its shape, counts under its source */
    ingest_batch batch;
    struct slot *slots;
    size_t outstanding; /* delivery reports still to come */
    bool answered;      /* the reply is out (or the client is gone): only reports remain */
    h2o_timeout_entry_t deadline;
    int64_t start_ns;
};

static void link_dispose(void *obj)
{
    struct req_link *l = obj;
    if (l->p != NULL)
        l->p->req = NULL;
}

/* Answers the request (once): every event still waiting for Kafka is reported unavailable. */
static void pending_answer(struct pending *p)
{
    if (p->answered)
        return;
    p->answered = true;
    if (h2o_timeout_is_linked(&p->deadline))
        h2o_timeout_unlink(&p->deadline);
    ingest_stats.inflight--;
    ingest_metrics_latency((double)(ea_time_mono_ns() - p->start_ns) / 1e9);
    for (size_t i = 0; i < p->batch.n; i++) {
        ingest_event *e = &p->batch.events[i];
        if (e->accepted && p->slots[i].p != NULL && !p->slots[i].reported) {
            e->accepted = false;
            e->error_code = "unavailable";
            snprintf(e->error, sizeof(e->error),
                     "kafka did not acknowledge within %ld ms; retry with the same event_id",
                     p->app->cfg->produce_timeout_ms);
            ingest_stats.events_rejected_unavailable[p->door->source]++;
        }
        if (e->accepted)
            ingest_stats.events_accepted[p->door->source]++;
    }
    if (p->req != NULL) {
        if (p->link != NULL)
            p->link->p = NULL; /* the response may clear the pool: detach before sending */
        ingest_door_answer(p->req, p->door, &p->batch);
        p->req = NULL;
    }
}

static void pending_free(struct pending *p)
{
    ingest_batch_free(&p->batch);
    free(p->slots);
    free(p);
}

/* INGEST_PRODUCE_TIMEOUT_MS passed without every report: answer now. librdkafka's own
 * message.timeout.ms is the same value, but with the idempotent producer it fails in-flight
 * messages only much later (19 s measured for a 10 s timeout with a broker down), so the
 * bound the API promises is kept here. The late reports still arrive and free the pending. */
static void on_deadline(h2o_timeout_entry_t *entry)
{
    struct pending *p = H2O_STRUCT_FROM_MEMBER(struct pending, deadline, entry);
    pending_answer(p);
}

void ingest_handler_on_delivery(void *opaque, bool ok, const char *err)
{
    struct slot *s = opaque;
    struct pending *p = s->p;
    s->reported = true;
    if (!ok && !p->answered) {
        ingest_event *e = &p->batch.events[s->index];
        e->accepted = false;
        e->error_code = "unavailable";
        snprintf(e->error, sizeof(e->error), "kafka did not acknowledge: %s",
                 err != NULL ? err : "unknown error");
        ingest_stats.events_rejected_unavailable[p->door->source]++;
    }
    if (--p->outstanding == 0) {
        pending_answer(p);
        pending_free(p);
    }
}

void ingest_handler_produce(ingest_app *app, h2o_req_t *req, const ingest_door *door,
                            ingest_batch *batchp)
{
    ingest_batch batch = *batchp;
    memset(batchp, 0, sizeof(*batchp));
    struct pending *p = calloc(1, sizeof(*p));
    struct slot *slots = calloc(batch.n, sizeof(*slots));
    if (p == NULL || slots == NULL) {
        free(p);
        free(slots);
        ingest_batch_free(&batch);
        ingest_door_error(req, door, 500, "internal", "out of memory");
        return;
    }
    p->req = req;
    p->app = app;
    p->door = door;
    p->batch = batch;
    p->slots = slots;
    p->start_ns = ea_time_mono_ns();
    p->deadline.cb = on_deadline;
    ingest_stats.inflight++;
    for (size_t i = 0; i < batch.n; i++) {
        ingest_event *e = &p->batch.events[i];
        if (!e->accepted) {
            ingest_stats.events_rejected_invalid[door->source]++;
            continue;
        }
        slots[i].p = p;
        slots[i].index = i;
        if (ingest_producer_send(app->producer, e->key, strlen(e->key), e->payload, e->payload_len,
                                 &slots[i]) != EA_OK) {
            e->accepted = false;
            e->error_code = "unavailable";
            snprintf(e->error, sizeof(e->error), "kafka producer queue is full");
            ingest_stats.events_rejected_unavailable[p->door->source]++;
            slots[i].p = NULL;
            continue;
        }
        p->outstanding++;
    }
    if (p->outstanding == 0) {
        pending_answer(p);
        pending_free(p);
        return;
    }
    p->link = h2o_mem_alloc_shared(&req->pool, sizeof(*p->link), link_dispose);
    p->link->p = p;
    if (!app->deadline_ready) {
        h2o_timeout_init(req->conn->ctx->loop, &app->deadline,
                         (uint64_t)app->cfg->produce_timeout_ms);
        app->deadline_ready = true;
    }
    h2o_timeout_link(req->conn->ctx->loop, &app->deadline, &p->deadline);
    /* delivery reports arrive through the producer's wake pipe on this loop */
}

static int on_healthz(void *ud, h2o_req_t *req)
{
    ea_http_send_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return 0;
}

static int on_readyz(void *ud, h2o_req_t *req)
{
    ingest_readyz_serve(((ingest_app *)ud)->readyz, req); /* readyz.c */
    return 0;
}

static int on_metrics(void *ud, h2o_req_t *req)
{
    size_t len;
    ea_keyauth_stats ks;
    ea_keyauth_stats_get(((ingest_app *)ud)->auth, &ks);
    ea_rl_stats rs;
    ea_ratelimit_stats(((ingest_app *)ud)->ratelimit, &rs);
    char *text = ingest_metrics_render(&ks, &rs, &len);
    if (text == NULL) {
        ea_http_send_error(req, 500, "internal", "out of memory");
        return 0;
    }
    ea_http_send_bytes(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
    return 0;
}

void ingest_handler_register(ea_http_server *s, ingest_app *app)
{
    ingest_frontdoor_register(s, app);
    ea_http_route(s, "/healthz", on_healthz, app);
    ea_http_route(s, "/readyz", on_readyz, app);
    ea_http_route(s, "/metrics", on_metrics, app);
}
