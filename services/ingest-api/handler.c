/*
 * handler.c — /ingest and the health routes. A request waiting for Kafka is a `pending`
 * (malloc'd, owned by the producer callbacks). The h2o request may die first (client gone):
 * a small link object in the request pool has a dispose callback that detaches the pending, so
 * a late delivery report never touches freed memory; the events are still delivered or not, and
 * counted in /metrics either way.
 */
#include "handler.h"
#include "body.h"
#include "ingest_auth.h"
#include "jsonw.h"
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

/* Writes the per-event results array; counts accepted and unavailable events. Hand-written
 * (jsonw.h) rather than a jansson tree: this runs once per request on the hot path. */
static void results_write(ingest_jw *w, const ingest_batch *b, size_t *accepted,
                          size_t *unavailable)
{
    *accepted = *unavailable = 0;
    ingest_jw_lit(w, "[");
    for (size_t i = 0; i < b->n; i++) {
        const ingest_event *e = &b->events[i];
        if (i > 0)
            ingest_jw_lit(w, ",");
        ingest_jw_lit(w, "{\"index\":");
        ingest_jw_i64(w, (int64_t)i);
        if (e->event_id != NULL) {
            ingest_jw_lit(w, ",\"event_id\":");
            ingest_jw_str(w, e->event_id, strlen(e->event_id));
        }
        if (e->accepted) {
            ingest_jw_lit(w, ",\"status\":\"accepted\"}");
            (*accepted)++;
            continue;
        }
        ingest_jw_lit(w, ",\"status\":\"rejected\",\"code\":");
        ingest_jw_str(w, e->error_code, strlen(e->error_code));
        ingest_jw_lit(w, ",\"error\":");
        ingest_jw_str(w, e->error, strlen(e->error));
        ingest_jw_lit(w, "}");
        if (strcmp(e->error_code, "unavailable") == 0)
            (*unavailable)++;
    }
    ingest_jw_lit(w, "]");
}

static void respond_batch(h2o_req_t *req, const ingest_batch *b)
{
    char stack[2048];
    ingest_jw res;
    ingest_jw_init(&res, stack, sizeof(stack));
    size_t accepted, unavailable;
    results_write(&res, b, &accepted, &unavailable);
    size_t rejected = b->n - accepted;
    int status = 202;
    char head_stack[512];
    ingest_jw head;
    ingest_jw_init(&head, head_stack, sizeof(head_stack));
    if (accepted > 0) {
        ingest_jw_lit(&head, "{\"accepted\":");
        ingest_jw_i64(&head, (int64_t)accepted);
    } else {
        bool all_large = true;
        for (size_t i = 0; i < b->n; i++)
            all_large &= strcmp(b->events[i].error_code, "event_too_large") == 0;
        const char *code, *msg;
        if (unavailable > 0) {
            status = 503, code = "unavailable";
            msg = "kafka did not acknowledge the events; nothing was accepted, retry with the "
                  "same event_id values";
            ea_http_add_header(req, "Retry-After", "1");
        } else if (all_large) {
            status = 413, code = "event_too_large", msg = "every event is larger than the limit";
        } else {
            status = 400, code = "no_valid_event", msg = "no valid event in the body";
        }
        ingest_jw_lit(&head, "{\"error\":{\"code\":");
        ingest_jw_str(&head, code, strlen(code));
        ingest_jw_lit(&head, ",\"message\":");
        ingest_jw_str(&head, msg, strlen(msg));
        ingest_jw_lit(&head, "},\"accepted\":0");
    }
    ingest_jw_lit(&head, ",\"rejected\":");
    ingest_jw_i64(&head, (int64_t)rejected);
    ingest_jw_lit(&head, ",\"results\":");
    ingest_jw_raw(&head, res.buf, res.len);
    ingest_jw_lit(&head, "}");
    bool complete = res.ok && head.ok; /* a failed append leaves the text cut short */
    ingest_jw_free(&res);
    ingest_metrics_status(status);
    if (!complete) {
        ingest_jw_free(&head);
        ea_http_send_error(req, 500, "internal", "out of memory");
        return;
    }
    ea_http_send_bytes(req, status, "application/json", head.buf, head.len);
    ingest_jw_free(&head);
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
            ingest_stats.events_rejected_unavailable++;
        }
        if (e->accepted)
            ingest_stats.events_accepted++;
    }
    if (p->req != NULL) {
        if (p->link != NULL)
            p->link->p = NULL; /* the response may clear the pool: detach before sending */
        respond_batch(p->req, &p->batch);
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
        ingest_stats.events_rejected_unavailable++;
    }
    if (--p->outstanding == 0) {
        pending_answer(p);
        pending_free(p);
    }
}

static bool content_type_is_json(const h2o_req_t *req)
{
    int n;
    const h2o_iovec_t *ct = ea_http_header(req, "content-type", &n);
    if (ct == NULL || n != 1)
        return false;
    static const char json[] = "application/json";
    size_t l = sizeof(json) - 1;
    return ct->len >= l && strncasecmp(ct->base, json, l) == 0 &&
           (ct->len == l || ct->base[l] == ';' || ct->base[l] == ' ');
}

/* POST /ingest once the caller may ingest (ingest_auth.c): type, size, parse, produce. */
static void ingest_authorized(ingest_app *app, h2o_req_t *req, const ea_principal *who, void *ctx)
{
    (void)ctx;
    if (!content_type_is_json(req)) {
        ingest_metrics_status(415);
        ea_http_send_error(req, 415, "unsupported_media_type",
                           "Content-Type must be application/json");
        return;
    }
    if (req->entity.len > (size_t)app->cfg->max_body) {
        ingest_metrics_status(413);
        ea_http_send_error(req, 413, "body_too_large", "request body is larger than %ld bytes",
                           app->cfg->max_body);
        return;
    }

    int64_t now = ea_time_now_ms();
    ingest_limits lim = {
        .max_event = (size_t)app->cfg->max_event,
        .max_batch = (size_t)app->cfg->max_batch,
        .max_depth = (size_t)app->cfg->max_depth,
        .max_future_ms = app->cfg->max_future_s * 1000,
        .max_age_ms = app->cfg->retention_days * EA_MS_PER_DAY,
    };
    ingest_batch batch;
    ingest_body_error berr;
    ingest_body_status bs =
        ingest_body_parse(req->entity.base != NULL ? req->entity.base : "", req->entity.len,
                          who->tenant, now, &lim, &batch, &berr);
    switch (bs) {
    case INGEST_BODY_OK:
        break;
    case INGEST_BODY_INVALID_JSON:
        ingest_metrics_status(400);
        ea_http_send_json(req, 400,
                          json_pack("{s:{s:s,s:s+,s:I}}", "error", "code", "invalid_json",
                                    "message", "invalid JSON: ", berr.message, "offset",
                                    (json_int_t)berr.offset),
                          NULL);
        return;
    case INGEST_BODY_TOO_MANY:
        ingest_metrics_status(413);
        ea_http_send_error(req, 413, "batch_too_large", "%s", berr.message);
        return;
    case INGEST_BODY_NOMEM:
        ingest_metrics_status(500);
        ea_http_send_error(req, 500, "internal", "out of memory");
        return;
    default:
        ingest_metrics_status(400);
        ea_http_send_error(req, 400,
                           bs == INGEST_BODY_TOO_DEEP ? "too_deep"
                           : bs == INGEST_BODY_EMPTY  ? "no_valid_event"
                                                      : "invalid_body",
                           "%s", berr.message);
        return;
    }

    struct pending *p = calloc(1, sizeof(*p));
    struct slot *slots = calloc(batch.n, sizeof(*slots));
    if (p == NULL || slots == NULL) {
        free(p);
        free(slots);
        ingest_batch_free(&batch);
        ingest_metrics_status(500);
        ea_http_send_error(req, 500, "internal", "out of memory");
        return;
    }
    p->req = req;
    p->app = app;
    p->batch = batch;
    p->slots = slots;
    p->start_ns = ea_time_mono_ns();
    p->deadline.cb = on_deadline;
    ingest_stats.inflight++;
    for (size_t i = 0; i < batch.n; i++) {
        ingest_event *e = &p->batch.events[i];
        if (!e->accepted) {
            ingest_stats.events_rejected_invalid++;
            continue;
        }
        slots[i].p = p;
        slots[i].index = i;
        if (ingest_producer_send(app->producer, e->key, strlen(e->key), e->payload, e->payload_len,
                                 &slots[i]) != EA_OK) {
            e->accepted = false;
            e->error_code = "unavailable";
            snprintf(e->error, sizeof(e->error), "kafka producer queue is full");
            ingest_stats.events_rejected_unavailable++;
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

static const char missing_bearer[] = "missing API key: send Authorization: Bearer <key>";

static int on_ingest(void *ud, h2o_req_t *req)
{
    ingest_app *app = ud;
    if (!ea_http_method_is(req, "POST")) {
        ea_http_add_header(req, "Allow", "POST");
        ingest_metrics_status(405);
        ea_http_send_error(req, 405, "method_not_allowed", "use POST /ingest");
        return 0;
    }
    int n;
    const h2o_iovec_t *auth = ea_http_header(req, "authorization", &n);
    const char *key = NULL;
    size_t klen = 0;
    if (n > 1 || (auth != NULL && !ea_keyauth_bearer(auth->base, auth->len, &key, &klen))) {
        /* two Authorization headers are ambiguous; another scheme is not an API key */
        ea_keyauth_result r = {.status = n > 1 ? EA_KEYAUTH_INVALID : EA_KEYAUTH_MISSING};
        ingest_auth_refuse(req, &r, missing_bearer);
        return 0;
    }
    ingest_auth_run(app, req, key, klen, missing_bearer, ingest_authorized, NULL);
    return 0;
}

static int on_healthz(void *ud, h2o_req_t *req)
{
    ea_http_send_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return 0;
}

/* /readyz: PostgreSQL is asked by a key-verifier thread (never on the loop); Kafka metadata and
 * Redis PING as before. */
struct ready_wait {
    ea_keyauth_waiter w; /* first */
    ingest_app *app;
    h2o_req_t *req;
};

static void ready_dispose(void *obj)
{
    struct ready_wait *rw = obj;
    if (rw->w.job != NULL) {
        ea_keyauth_cancel(&rw->w);
        rw->app->auth_waiting--;
    }
}

static void on_db_answer(ea_keyauth_waiter *w, const ea_keyauth_result *r)
{
    struct ready_wait *rw = (struct ready_wait *)w;
    ingest_app *app = rw->app;
    char kafka_why[512];
    bool kafka = ingest_producer_ready(app->producer, 1000, kafka_why, sizeof(kafka_why));
    char db_why[512];
    bool db = r->status == EA_KEYAUTH_OK;
    if (!db && !ea_keyauth_db_error(app->auth, db_why, sizeof(db_why)))
        snprintf(db_why, sizeof(db_why), "%s",
                 r->status == EA_KEYAUTH_BUSY ? "the key verifier's queue is full"
                                              : "no answer from the key verifier");
    const char *redis_why = NULL;
    bool redis = ingest_ratelimit_ping(app->ratelimit, &redis_why);
    ea_http_ready_part parts[] = {{"kafka", kafka, true, kafka_why},
                                  {"postgres", db, true, db_why},
                                  {"redis", redis, true, redis_why}};
    ea_http_send_ready(rw->req, parts, sizeof(parts) / sizeof(parts[0]));
}

static void on_db_answer_later(ea_keyauth_waiter *w, const ea_keyauth_result *r)
{
    ((struct ready_wait *)w)->app->auth_waiting--;
    on_db_answer(w, r);
}

static int on_readyz(void *ud, h2o_req_t *req)
{
    ingest_app *app = ud;
    struct ready_wait *rw = h2o_mem_alloc_shared(&req->pool, sizeof(*rw), ready_dispose);
    *rw = (struct ready_wait){.app = app, .req = req};
    rw->w.cb = on_db_answer;
    ea_keyauth_ping(app->auth, &rw->w); /* may answer at once (recent database contact) */
    if (rw->w.job != NULL) {
        rw->w.cb = on_db_answer_later;
        app->auth_waiting++;
    }
    return 0;
}

static int on_metrics(void *ud, h2o_req_t *req)
{
    size_t len;
    ea_keyauth_stats ks;
    ea_keyauth_stats_get(((ingest_app *)ud)->auth, &ks);
    char *text = ingest_metrics_render(&ks, &len);
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
    ea_http_route(s, "/ingest", on_ingest, app);
    ea_http_route(s, "/healthz", on_healthz, app);
    ea_http_route(s, "/readyz", on_readyz, app);
    ea_http_route(s, "/metrics", on_metrics, app);
}
