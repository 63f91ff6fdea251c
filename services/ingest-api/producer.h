/*
 * producer.h — the ingest Kafka producer: idempotent, acks=all, linger batching. Delivery
 * reports are served on the HTTP event loop (librdkafka's queue wakes a pipe registered on the
 * loop), so the callback that completes a request runs on the same thread as the request.
 */
#ifndef INGEST_PRODUCER_H
#define INGEST_PRODUCER_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "ea_err.h"
#include "ingest_config.h"

#include <stdbool.h>

typedef struct ingest_producer ingest_producer;

/* Called once per message: ok when Kafka acknowledged it (acks=all), else err says why. */
typedef void (*ingest_delivery_fn)(void *opaque, bool ok, const char *err);

ingest_producer *ingest_producer_new(const ingest_config *cfg, const char *brokers,
                                     h2o_loop_t *loop, ingest_delivery_fn on_delivery,
                                     struct ea_err *err);

/* Enqueues one message; the delivery callback fires later with opaque. EA_ERR_KAFKA when the
 * local queue refuses it (then no callback fires). */
ea_rc ingest_producer_send(ingest_producer *p, const char *key, size_t klen, const char *val,
                           size_t vlen, void *opaque) EA_WUR;

/* Serves pending delivery reports (non-blocking). */
void ingest_producer_poll(ingest_producer *p);

/* Waits up to timeout_ms for every message to be delivered; returns how many are left. */
int ingest_producer_flush(ingest_producer *p, int timeout_ms);

/* True when the topic's metadata can be fetched within timeout_ms. Blocks up to timeout_ms:
 * never call it on the loop (readyz.c calls it from a thread of its own). */
bool ingest_producer_ready(ingest_producer *p, int timeout_ms, char *why, size_t cap);

void ingest_producer_free(ingest_producer *p);

#endif
