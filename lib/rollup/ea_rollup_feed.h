/*
 * ea_rollup_feed.h — the change-feed message format (docs/event-format.md "Change feed"): which
 * rollup rows a commit changed, one message per tenant, published on Redis ea:changes by the
 * worker after every batch and by backfill after every day:
 *   {"tenant":"t","changes":[{"metric":..,"granularity":"HOUR"|"DAY","bucket":"..Z",
 *    "dims":{..},"revision":n}, ...]}
 * and, when buckets were closed (alerts, SPEC §8):
 *   {"tenant":"t","changes":[],"closed":[{"metric":..,"granularity":"HOUR"|"DAY","bucket":"..Z"}]}
 * Not for: the Redis connection or publishing policy (the callers').
 */
#ifndef EA_ROLLUP_FEED_H
#define EA_ROLLUP_FEED_H

#include "ea_pg_buf.h"
#include "ea_rollup_write.h"

#include <stdbool.h>
#include <stddef.h>

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
