/*
 * handler.h — the HTTP routes of ingest-api: POST /ingest, GET /healthz, /readyz, /metrics.
 * The ingest request lifecycle: method → key, scope, rate limit (ingest_auth.c; the key may be
 * verified off the loop, the request then waits) → type, size → parse body → produce every valid
 * event → wait for every delivery report → answer 202/503 with per-event results.
 */
#ifndef INGEST_HANDLER_H
#define INGEST_HANDLER_H

#include "ea_keyauth.h"
#include "ea_http.h"
#include "ingest_config.h"
#include "producer.h"
#include "ratelimit.h"

typedef struct ingest_app {
    const ingest_config *cfg;
    ea_keyauth *auth;
    ingest_producer *producer;
    ingest_ratelimit *ratelimit;
    h2o_timeout_t deadline; /* INGEST_PRODUCE_TIMEOUT_MS per request, set up on first use */
    bool deadline_ready;
    uint64_t auth_waiting; /* requests waiting for a key-verifier thread (ingest_auth.c) */
} ingest_app;

/* Registers every route of the service on s. */
void ingest_handler_register(ea_http_server *s, ingest_app *app);

/* The delivery callback to give ingest_producer_new. */
void ingest_handler_on_delivery(void *opaque, bool ok, const char *err);

#endif
