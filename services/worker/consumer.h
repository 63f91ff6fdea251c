/*
 * consumer.h — the worker's Kafka side and main loop: a librdkafka high-level consumer in group
 * WORKER_GROUP_ID with auto-commit off, whose rebalance callback claims partitions in PostgreSQL
 * (sink.c invariant 1) and seeks to the stored offsets; the loop polls messages into a batch,
 * commits it through the sink when it is full or old enough, and runs the periodic tasks
 * (idle watermarks, bucket closing, metric definitions, partition maintenance).
 */
#ifndef WK_CONSUMER_H
#define WK_CONSUMER_H

#include "changefeed.h"
#include "ea_err.h"
#include "sink.h"
#include "stats.h"
#include "worker_config.h"

#include <signal.h>

typedef struct wk_consumer wk_consumer;

/* Creates the consumer (subscribes on run). NULL with err on a configuration error. */
wk_consumer *wk_consumer_new(const wk_config *cfg, const char *brokers, wk_sink *sink,
                             wk_feed *feed, wk_stats *stats, struct ea_err *err);

/* Runs until *stop: then commits the batch in hand, leaves the group (consumer close) and
 * returns EA_OK. */
ea_rc wk_consumer_run(wk_consumer *c, volatile sig_atomic_t *stop) EA_WUR;

void wk_consumer_free(wk_consumer *c);

#endif
