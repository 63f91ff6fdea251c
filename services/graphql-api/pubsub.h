/*
 * pubsub.h — the change feed and fired alerts from Redis pub/sub, delivered on the event loop.
 * A small reader thread owns one SUBSCRIBEd lib/redis connection, drops from the in-process
 * series cache (bcache.h) the buckets every change message names — before the message reaches
 * anyone, so invalidation never waits for the loop — and hands each message to the loop through
 * a pipe. The cache is used only while the subscription is live: the thread marks it down when
 * the connection breaks and live again once SUBSCRIBE is confirmed (each flushes it, because
 * messages may have been missed meanwhile). Not for: pushing subscriptions (ws.c).
 */
#ifndef GQL_PUBSUB_H
#define GQL_PUBSUB_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "bcache.h"
#include "ea_redis.h"

#include <jansson.h>

typedef struct gql_pubsub gql_pubsub;

/* Called on the loop thread: is_alert false for the changes channel, true for alerts; m is the
 * message (a JSON object) and tenant the one it names, valid during the call only. A message that
 * is not JSON or names no tenant is logged and dropped before. */
typedef void (*gql_pubsub_fn)(void *ud, int is_alert, const json_t *m, const char *tenant);

/* Starts the reader thread for redis_url (must outlive it) and the two channels. NULL when the
 * thread or pipe cannot be created. Redis being down is not an error: the thread retries every
 * second. */
gql_pubsub *gql_pubsub_start(h2o_loop_t *loop, const ea_redis_url *redis_url,
                             const char *changes_channel, const char *alerts_channel,
                             gql_bcache *cache, gql_pubsub_fn fn, void *ud);

/* Applies one change message to the cache (what the thread does for each): every entry of
 * "changes" and "closed" drops what it names (a bucket of a granularity, or without a bucket
 * the whole metric). Exposed for unit tests. */
void gql_pubsub_apply(gql_bcache *cache, const char *msg, size_t len);

/* Stops and joins the thread, closes the pipe. NULL allowed. */
void gql_pubsub_stop(gql_pubsub *p);

#endif
