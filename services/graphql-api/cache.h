/*
 * cache.h — graphql-api's Redis side: the query-result cache, the per-key query rate limit and
 * the generation numbers that the change feed bumps. One blocking lib/redis connection used from
 * the loop thread with a short timeout; when Redis is down every call reports a miss (answers
 * come from the database) and reconnects are tried at most once per second.
 *
 * Cache keys: ea:qc:<tenant>:<epoch>.<gen>:<sha256(metric, normalized arguments)>, where gen is
 * ea:gen:<tenant>:<metric> (INCR'd by pubsub.c for every change of that metric) and epoch is
 * ea:gen:epoch (INCR'd whenever a change-feed subscriber (re)connects, because messages may
 * have been missed). A cached answer is therefore never older than the data by more than the
 * change feed's delivery time. Not for: documents (doccache.c) or pub/sub (pubsub.c).
 */
#ifndef GQL_CACHE_H
#define GQL_CACHE_H

#include "ea_redis.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct gql_cache gql_cache;

/* Creates the cache for redis_url (connects lazily; must outlive the cache); timeout_ms bounds
 * the connect, the TLS handshake and each command. */
gql_cache *gql_cache_new(const ea_redis_url *redis_url, int timeout_ms);
void gql_cache_free(gql_cache *c);

/* Looks up the answer for (tenant, metric, args_norm). On a hit returns true and sets *val (a
 * malloc'd NUL-terminated string the caller frees). Always fills slot (the full key to store a
 * miss under, "" when Redis is unavailable). */
bool gql_cache_get(gql_cache *c, const char *tenant, const char *metric, const char *args_norm,
                   char **val, char slot[256]);

/* Stores val under slot (from gql_cache_get) for ttl_s seconds; no-op when slot is "" or Redis
 * is down. */
void gql_cache_put(gql_cache *c, const char *slot, const char *val, size_t len, long ttl_s);

/* Raw get/set for the whole-response cache (transport.c). get returns a malloc'd value and its
 * length, NULL on a miss or when Redis is down. */
char *gql_cache_raw_get(gql_cache *c, const char *key, size_t *len);
void gql_cache_raw_put(gql_cache *c, const char *key, const char *val, size_t len, long ttl_s);

/* Drops the cached answers of tenant's metrics named in the JSON list (INCR of their
 * generations, as pubsub.c does for the change feed) before the caller answers; a failure is
 * logged (cached answers then live until their TTL). */
void gql_cache_forget(gql_cache *c, const char *tenant, const json_t *metrics);

/* The current "<epoch>.<gen>" of each (tenants[i], metrics[i]) in one round trip (MGET).
 * false when Redis is down. */
bool gql_cache_generations(gql_cache *c, int n, const char *const *tenants,
                           const char *const *metrics, char (*out)[48]);

/* Query rate limit: fixed one-minute window per subject (key id or user). True when allowed;
 * also true when Redis is down (fail open, like the ingest limiter). *retry_s: seconds left. */
bool gql_cache_rate_allow(gql_cache *c, const char *subject, long per_min, long *retry_s);

/* True when the last command reached Redis (for /readyz); otherwise *why says what failed
 * (connect, TLS handshake, authentication, timeout). */
bool gql_cache_up(const gql_cache *c, const char **why);

/* PINGs Redis (connecting first when needed and allowed) and answers as gql_cache_up. */
bool gql_cache_ping(gql_cache *c, const char **why);

#endif
