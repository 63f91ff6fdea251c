/*
 * ratelimit.h — per-key token bucket shared by every ingest instance: one atomic Lua script in
 * Redis (read, refill, take, write, expire in one step, on Redis's clock). When Redis is down
 * the limiter fails open to a local per-process bucket of the same shape: rate limiting must not
 * turn a cache outage into lost events (docs/ARCHITECTURE.md, "Rate limits").
 */
#ifndef INGEST_RATELIMIT_H
#define INGEST_RATELIMIT_H

#include "ea_redis.h"

#include <stdbool.h>

typedef struct ingest_ratelimit ingest_ratelimit;

typedef struct ingest_rl_result {
    bool allowed;
    long limit;         /* requests per minute */
    long remaining;     /* whole tokens left */
    long reset_s;       /* seconds until the bucket is full again */
    long retry_after_s; /* when refused: seconds until one token is back */
    bool local;         /* decided by the local fallback (Redis unreachable) */
} ingest_rl_result;

/* burst 0 means burst = per-minute limit. The Redis connection is made lazily; redis_url must
 * outlive the limiter (it is the config's). */
ingest_ratelimit *ingest_ratelimit_new(const ea_redis_url *redis_url, long default_per_min,
                                       long burst);
void ingest_ratelimit_free(ingest_ratelimit *rl);

/* Takes one token from key_id's bucket; per_min 0 means the default. */
void ingest_ratelimit_take(ingest_ratelimit *rl, const char *key_id, long per_min,
                           ingest_rl_result *out);

/* True when Redis answered PING (for /readyz); otherwise *why says what failed last (connect,
 * TLS handshake, authentication, timeout), valid until the next call. */
bool ingest_ratelimit_ping(ingest_ratelimit *rl, const char **why);

#endif
