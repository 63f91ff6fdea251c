/*
 * ea_rollup_feed.h — the change-feed message format (docs/event-format.md "Change feed"): which
 * rollup rows a commit changed, one message per tenant, published on Redis ea:changes by the
 * worker after every batch and by backfill after every day:
 *   {"tenant":"t","changes":[{"metric":..,"granularity":"HOUR"|"DAY","bucket":"..Z",
 *    "dims":{..},"revision":n}, ...]}
 * and, when buckets were closed (alerts, SPEC §8):
 *   {"tenant":"t","changes":[],"closed":[{"metric":..,"granularity":"HOUR"|"DAY","bucket":"..Z"}]}
 * Fired alerts travel on their own channel (ea:alerts, docs/event-format.md "Alerts"). The names
 * of both channels are configured here, once, for every program that publishes or listens.
 * Not for: the Redis connection or publishing policy (the callers').
 */
#ifndef EA_ROLLUP_FEED_H
#define EA_ROLLUP_FEED_H

#include "ea_err.h"
#include "ea_pg_buf.h"
#include "ea_rollup_write.h"

#include <stdbool.h>
#include <stddef.h>

/* The config entries (lib/config) of the two Redis pub/sub channels, for a struct `type` whose
 * members are const char *: one home for the names, defaults and help. Publishers (the worker,
 * analytics-admin backfill and metric commands) and the listener (graphql-api: cache
 * invalidation, subscriptions) must use the same channel, or graphql-api's cache stays "live"
 * on a channel nobody publishes on and serves stale numbers until its TTL. */
/* clang-format off */
#define EA_ROLLUP_CHANGES_CHANNEL_CONFIG_ENTRY(type, field)                                        \
    {"CHANGES_CHANNEL", EA_CFG_STR, "ea:changes", 0, 0, offsetof(type, field),                     \
     "Redis pub/sub channel of the change feed: the worker and analytics-admin publish on it, "    \
     "graphql-api drops cached answers and feeds subscriptions from it (one name for all three)"}
#define EA_ROLLUP_ALERTS_CHANNEL_CONFIG_ENTRY(type, field)                                         \
    {"ALERTS_CHANNEL", EA_CFG_STR, "ea:alerts", 0, 0, offsetof(type, field),                       \
     "Redis pub/sub channel of fired threshold alerts: the worker publishes, graphql-api pushes "  \
     "them to alertFired subscriptions (one name for both)"}
#define EA_ROLLUP_CHANNEL_CONFIG_ENTRIES(type, changes, alerts)                                    \
    EA_ROLLUP_CHANGES_CHANNEL_CONFIG_ENTRY(type, changes),                                         \
    EA_ROLLUP_ALERTS_CHANNEL_CONFIG_ENTRY(type, alerts)

/* The per-program names these replaced (lib/config ea_config_retired entries): a deploy that
 * still sets one refuses to start instead of running on a channel the others do not use. */
#define EA_ROLLUP_CHANNEL_RETIRED_ENTRIES                                                          \
    {"WORKER_CHANGES_CHANNEL", EA_ROLLUP_CHANGES_CHANNEL_USE},                                     \
    {"GRAPHQL_CHANGES_CHANNEL", EA_ROLLUP_CHANGES_CHANNEL_USE},                                    \
    {"WORKER_ALERTS_CHANNEL", EA_ROLLUP_ALERTS_CHANNEL_USE},                                       \
    {"GRAPHQL_ALERTS_CHANNEL", EA_ROLLUP_ALERTS_CHANNEL_USE}
#define EA_ROLLUP_CHANGES_CHANNEL_USE                                                              \
    "CHANGES_CHANNEL (one name for worker, graphql-api and analytics-admin)"
#define EA_ROLLUP_ALERTS_CHANNEL_USE "ALERTS_CHANNEL (one name for worker and graphql-api)"
/* clang-format on */

/* EA_OK when the two channels differ; else EA_ERR_INVALID naming both. On one channel graphql-api
 * takes every change message for an alert and never drops a cached bucket: a red-team pass saw a
 * restated hour answer its old value, a HIT and final, with no error anywhere. */
ea_rc ea_rollup_channels_check(const char *changes, const char *alerts, struct ea_err *err) EA_WUR;

/* Appends the message for changes[0..n) (all of one tenant) to out. */
void ea_rollup_feed_format(ea_buf *out, const char *tenant, const ea_rollup_change *changes,
                           size_t n);

/* Receives one message (valid during the call); false stops the sequence (connection lost). */
typedef bool (*ea_rollup_feed_fn)(void *ctx, const char *tenant, const char *msg, size_t len);

/* Splits changes[0..n) into messages: grouped by tenant (the commit's order kept inside a
 * tenant), at most max changes each, and hands each to fn. Returns the number of messages that
 * could not be formatted (out of memory) — each one a lost invalidation the caller counts. */
size_t ea_rollup_feed_each(const ea_rollup_change *changes, size_t n, size_t max,
                           ea_rollup_feed_fn fn, void *ctx);

#endif
