/*
 * readyz.h — GET /readyz of ingest-api: Kafka (the topic's metadata), PostgreSQL (a key-verifier
 * thread's SELECT 1) and Redis (a PING by the rate limiter's Redis thread), asked at the same
 * time and never on the event loop; the answer (lib/http ea_http_send_ready) goes out once all
 * three said. Kafka's metadata is fetched by a thread of its own. Kafka and Redis are asked one
 * check at a time and an answer younger than a second is reused: concurrent or repeated /readyz
 * (an unauthenticated route) cost Kafka one metadata request and Redis one PING per second, and
 * the loop nothing. The price: a backend that just went down may be reported up for a second.
 */
#ifndef INGEST_READYZ_H
#define INGEST_READYZ_H

#include "ea_err.h"

#define H2O_USE_LIBUV 0
#include <h2o.h>

struct ingest_app;
typedef struct ingest_readyz ingest_readyz;

/* Starts the Kafka-check thread and watches it on loop. NULL with err filled. */
ingest_readyz *ingest_readyz_new(struct ingest_app *app, h2o_loop_t *loop, struct ea_err *err);
/* Once the loop no longer runs and no /readyz waits. NULL is allowed. */
void ingest_readyz_free(ingest_readyz *rz);

/* Answers req (later, on the loop); counts the wait in app->auth_waiting meanwhile. */
void ingest_readyz_serve(ingest_readyz *rz, h2o_req_t *req);

#endif
