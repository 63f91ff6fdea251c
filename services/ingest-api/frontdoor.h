/*
 * frontdoor.h — the ways into ingest-api: POST /ingest (our own API), /v1/... (Segment's HTTP
 * Tracking API), /batch/ and /capture/ (PostHog's capture API), each also reachable from a
 * browser with a browser key (CORS, key in the body, text/plain for sendBeacon). A front door is
 * a row of a table: where its key may be, which body adapter turns its body into events
 * (body.c, segment.c, posthog.c) and how its answers look. Everything else is one pipeline
 * (frontdoor.c's head comment): the same key check, rate limits, validation, limits, Kafka
 * acknowledgement and exactly-once for every door.
 */
#ifndef INGEST_FRONTDOOR_H
#define INGEST_FRONTDOOR_H

#include "body.h"
#include "bodykey.h"
#include "ea_http.h"
#include "metrics.h"

typedef struct ingest_app ingest_app;

typedef struct ingest_door {
    ingest_source source;         /* metrics label */
    const char *missing_msg;      /* the 401 message when no key was sent */
    ingest_adapt_fn adapt;        /* body → events */
    ingest_bodykey_form key_form; /* where a browser (or PostHog) client puts the key */
    /* PostHog's wire protocol has no other place for the key than the body: there, an
     * ingest-only secret key may travel in the body too (posthog-node). Elsewhere only a
     * browser key may. */
    bool secret_key_in_body;
    /* Segment and PostHog clients read the status only: a request with any event Kafka did not
     * acknowledge is answered 503 whole (they retry the batch; messageId/uuid keep it exactly
     * once). /ingest answers 202 with per-event results instead. */
    bool all_or_retry;
} ingest_door;

/* Registers the front doors' routes (/ingest, /v1/, /batch/, /capture/) on s. */
void ingest_frontdoor_register(ea_http_server *s, ingest_app *app);

/* Answers req with an error in the door's shape (counted in /metrics under its source):
 * /ingest {"error":{"code","message"}}; Segment adds {"success":false,"message"}; PostHog adds
 * {"type","code","detail","attr"}. door NULL means /ingest. */
void ingest_door_error(h2o_req_t *req, const ingest_door *door, int status, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Answers req for a produced batch in the door's shape (202 per-event results for /ingest;
 * {"success":true} or {"status":1} with the same results for Segment and PostHog, or 503 when
 * any event is unavailable). Counts the status under the door's source. */
void ingest_door_answer(h2o_req_t *req, const ingest_door *door, const ingest_batch *b);

#endif
