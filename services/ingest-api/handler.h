/*
 * handler.h — the HTTP routes of ingest-api: the front doors (frontdoor.c: POST /ingest, /v1/...,
 * /batch/, /capture/) end here, in the produce stage; GET /healthz, /readyz, /metrics.
 * The lifecycle of a request: front door checks → key, scope, rate limit (ingest_auth.c; the key
 * may be verified off the loop, the request then waits) → body → produce every valid event →
 * wait for every delivery report → answer in the door's shape.
 */
#ifndef INGEST_HANDLER_H
#define INGEST_HANDLER_H

#include "body.h"
#include "cors.h"
#include "ea_keyauth.h"
#include "ea_http.h"
#include "ingest_config.h"
#include "producer.h"
#include "ea_ratelimit.h"

typedef struct ingest_app {
    const ingest_config *cfg;
    ea_keyauth *auth;
    ingest_producer *producer;
    ea_ratelimit *ratelimit;
    ingest_cors *cors;            /* listed origins for preflights (cors.c) */
    struct ingest_readyz *readyz; /* GET /readyz's checks (readyz.c) */
    h2o_timeout_t deadline;       /* INGEST_PRODUCE_TIMEOUT_MS per request, set up on first use */
    bool deadline_ready;
    /* waits in progress (a key-verifier thread, a token refill, the tarpit, /readyz's checks):
     * a stopping process runs its loop until none is left */
    uint64_t auth_waiting;
    ea_http_delayer *tarpit; /* late 429s for failed-attempt limits, AUTH_FAIL_DELAY_MS */
} ingest_app;

/* Registers every route of the service on s (the front doors through frontdoor.c). */
void ingest_handler_register(ea_http_server *s, ingest_app *app);

struct ingest_door;

/* The last stage of every front door: produces every accepted event of *batch (taken over: *batch
 * is emptied), waits for Kafka's acknowledgements (at most INGEST_PRODUCE_TIMEOUT_MS) and answers
 * req in door's shape (ingest_door_answer). */
void ingest_handler_produce(ingest_app *app, h2o_req_t *req, const struct ingest_door *door,
                            ingest_batch *batch);

/* The delivery callback to give ingest_producer_new. */
void ingest_handler_on_delivery(void *opaque, bool ok, const char *err);

#endif
