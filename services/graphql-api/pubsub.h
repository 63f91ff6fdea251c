/*
 * pubsub.h — the change feed and fired alerts from Redis pub/sub, delivered on the event loop.
 * A small reader thread owns two lib/redis connections (one SUBSCRIBEd, one for INCR),
 * bumps the cache generation of every (tenant, metric) a change message names — before the
 * message reaches anyone, so invalidation never waits for the loop — and hands each message to
 * the loop through a pipe. After every (re)subscribe it bumps the cache epoch, because messages
 * may have been missed while disconnected (cache.h). Not for: interpreting messages beyond the
 * generation bump (ws.c pushes subscriptions).
 */
#ifndef GQL_PUBSUB_H
#define GQL_PUBSUB_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "ea_redis.h"

typedef struct gql_pubsub gql_pubsub;

/* Called on the loop thread: is_alert false for the changes channel, true for alerts. msg is
 * valid during the call only. */
typedef void (*gql_pubsub_fn)(void *ud, int is_alert, const char *msg, size_t len);

/* Starts the reader thread for redis_url (must outlive it) and the two channels. NULL when the
 * thread or pipe cannot be created. Redis being down is not an error: the thread retries every
 * second. */
gql_pubsub *gql_pubsub_start(h2o_loop_t *loop, const ea_redis_url *redis_url,
                             const char *changes_channel, const char *alerts_channel,
                             gql_pubsub_fn fn, void *ud);

/* Stops and joins the thread, closes the pipe. NULL allowed. */
void gql_pubsub_stop(gql_pubsub *p);

#endif
