/*
 * bcache.h — graphql-api's in-process cache of metric series by bucket. A closed bucket does not
 * change until it is restated, and every restatement is named by the worker's change feed (its
 * metric, granularity and bucket time), so cached buckets are dropped only where a change message
 * says, never per metric: a 30-day query keeps its 29 closed days while events flow into today.
 *
 * A series key is (tenant, metric, granularity, time zone, groupBy, filter) as one canonical
 * string (the caller's). Per key the cache holds SEGMENTS: a UTC interval [start, end) that is a
 * union of whole buckets of the key, the non-empty buckets inside it (their [start, end) and
 * their points, a JSON array) — empty buckets cost nothing — and the point `closed_until` before
 * which every bucket is closed. The part before closed_until lives until CLOSED_TTL (a safety
 * net: restatements invalidate it), the rest until the open TTL (CACHE_TTL_HOUR_S/DAY_S).
 *
 * Invariants (bcache.c):
 * 1. A segment's bounds and every bucket bound in it are bucket bounds of its key, so removing
 *    "the pieces a change touches" (the buckets it overlaps and the empty runs it falls into,
 *    whole) leaves unions of whole buckets; an interval covered by segments answers every bucket
 *    overlapping it.
 * 2. A change invalidates what it overlaps in the keys that follow its granularity: UTC-day keys
 *    follow DAY changes, every other key follows HOUR changes (every event writes both; a UTC day
 *    change would otherwise drop a local yesterday). A change without a bucket drops the metric.
 * 3. Every invalidation advances the cache's generation and is logged (a ring); a fetch carries
 *    the generation read before it asked PostgreSQL (its ticket), and at insert the changes
 *    logged since then are applied to what it fetched — a change that arrived while the fetch
 *    ran is never cached over. A ticket older than the ring, or from before a flush, caches
 *    nothing.
 * 4. While the change feed is down (pubsub.c), nothing is served and nothing is stored; each
 *    transition flushes everything (messages may have been missed).
 * Thread-safe (one mutex): pool threads look up and insert, the loop invalidates.
 */
#ifndef GQL_BCACHE_H
#define GQL_BCACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gql_bcache gql_bcache;

typedef struct gql_bcache_config {
    size_t max_bytes;  /* size bound (heap bytes, within 10 %); least recently used keys go first */
    long closed_ttl_s; /* closed buckets: safety-net age */
    size_t log_entries; /* invalidation log ring (invariant 3); 0: 4096 */
} gql_bcache_config;

gql_bcache *gql_bcache_new(const gql_bcache_config *cfg);
void gql_bcache_free(gql_bcache *c);

typedef struct gql_bc_key {
    const char *tenant, *metric;
    const char *key; /* the canonical series key; tenant and metric included */
    size_t klen;
    bool utc_day; /* follows DAY changes (invariant 2) */
} gql_bc_key;

/* A non-empty bucket: its UTC bounds, its points (a JSON array) and whether it is closed. */
typedef struct gql_bc_part {
    int64_t start, end;
    json_t *points;
    bool closed;
    size_t bytes; /* set by the cache at insert: what the bucket costs in memory */
} gql_bc_part;

typedef struct gql_bc_gap {
    int64_t from, to; /* inclusive, like a query's range */
} gql_bc_gap;

#define GQL_BC_MAX_GAPS 8

/* What the cache knows for [from, to]: the cached non-empty buckets overlapping it (their points
 * referenced: the view owns them) and the gaps to fetch (at most GQL_BC_MAX_GAPS; beyond that,
 * one gap over the whole range). */
typedef struct gql_bc_view {
    gql_bc_part *parts;
    size_t nparts;
    gql_bc_gap gaps[GQL_BC_MAX_GAPS];
    size_t ngaps;
    bool any_cached; /* some cached coverage met [from, to] */
    bool raw;        /* the cached buckets came from raw events (else rollups) */
    uint64_t ticket; /* the generation before anything was read (invariant 3) */
} gql_bc_view;

/* Fills v for key k over [from, to] at time now (ms). Never fails: out of memory or a key not
 * cached gives one gap over everything. */
void gql_bcache_lookup(gql_bcache *c, const gql_bc_key *k, int64_t from, int64_t to, int64_t now,
                       gql_bc_view *v);
void gql_bc_view_free(gql_bc_view *v);

/* What one fetch of the range [lo, hi) learned: every non-empty bucket in it (points stolen by
 * the insert, bounds within [lo, hi)) and the time before which every bucket is closed. */
typedef struct gql_bc_fill {
    int64_t lo, hi, closed_until;
    gql_bc_part *parts;
    size_t nparts;
    bool raw; /* read from raw events */
} gql_bc_fill;
void gql_bc_fill_free(gql_bc_fill *f);

/* Stores fill under k (the buckets' points are referenced, not stolen), applying the
 * invalidations logged since ticket; its open part lives open_ttl_s. No-op when the feed is down,
 * the ticket is too old, or the key alone exceeds the size bound. */
void gql_bcache_insert(gql_bcache *c, const gql_bc_key *k, uint64_t ticket, const gql_bc_fill *fill,
                       long open_ttl_s, int64_t now);

/* A change message entry: tenant's metric changed in [start, end) at granularity day (else
 * hour); whole: every bucket of the metric. */
void gql_bcache_invalidate(gql_bcache *c, const char *tenant, const char *metric, bool whole,
                           bool day, int64_t start, int64_t end);

/* The change feed went down (live false) or came back (live true): everything is dropped. */
void gql_bcache_set_live(gql_bcache *c, bool live);

/* True when nothing of (tenant, metric) was invalidated after generation gen (a lookup's ticket),
 * no flush happened since, and the feed is live. */
bool gql_bcache_unchanged(gql_bcache *c, const char *tenant, const char *metric, uint64_t gen);

/* What a jansson value's tree costs in the heap (allocations at malloc's chunk sizes): the unit
 * of the size bound. */
size_t gql_bcache_json_bytes(const json_t *v);

/* What the cache holds and has dropped, read in constant time (graphql-api's /metrics reads it
 * on the loop). */
typedef struct gql_bcache_stats {
    size_t keys, bytes;
    uint64_t invalidations, evictions, flushes;
} gql_bcache_stats;
void gql_bcache_stats_get(gql_bcache *c, gql_bcache_stats *out);

#endif
