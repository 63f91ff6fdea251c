/*
 * ratelimit.h — per-key token bucket shared by every ingest instance: one atomic Lua script in
 * Redis (read, refill, take, write, expire in one step, on Redis's clock), spent on the event loop
 * from leases, and refilled through lib/redis's ea_redis_async thread, so the loop never waits on
 * Redis. A request whose bucket has no leased token left waits (a callback, with its own
 * deadline) for one refill that every concurrent request of that bucket shares; requests of
 * buckets that hold leased tokens never wait. When Redis is down, slow past its timeout, or the
 * wait's deadline passes, the limiter fails open to a local per-process bucket of the same shape:
 * rate limiting must not turn a cache outage into lost events (docs/ARCHITECTURE.md,
 * "Rate limits"). Loop thread only.
 */
#ifndef INGEST_RATELIMIT_H
#define INGEST_RATELIMIT_H

#include "ea_redis.h"

#include <stdbool.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef struct ingest_ratelimit ingest_ratelimit;

typedef struct ingest_rl_result {
    bool allowed;
    long limit;         /* requests per minute */
    long remaining;     /* whole tokens left */
    long reset_s;       /* seconds until the bucket is full again */
    long retry_after_s; /* when refused: seconds until one token is back */
    bool local;         /* decided by the local fallback (Redis unreachable or too slow) */
} ingest_rl_result;

/* A request waiting for a refill, embedded by the caller in memory that lives until cb runs or
 * ingest_ratelimit_cancel() (e.g. the request's pool, cancelled by its dispose callback). */
typedef struct ingest_rl_wait ingest_rl_wait;
typedef void (*ingest_rl_cb)(ingest_rl_wait *w, const ingest_rl_result *r);
struct ingest_rl_wait {
    ingest_rl_cb cb; /* set by the caller */
    /* private */
    int state;
    struct ingest_ratelimit *rl;
    struct rl_refill *rf;
    ingest_rl_wait *prev, *next;
    h2o_timeout_entry_t timer;
    ingest_rl_result res;
};

/* burst 0 means burst = per-minute limit. Starts the Redis client thread (it connects at the
 * first refill). NULL with err filled. */
ingest_ratelimit *ingest_ratelimit_new(h2o_loop_t *loop, const ea_redis_url *redis_url,
                                       long default_per_min, long burst, struct ea_err *err);
/* Stops the Redis thread; waiters still linked are dropped without their callback. */
void ingest_ratelimit_free(ingest_ratelimit *rl);

/* The descriptor the loop watches (ea_http_watch); when readable call ingest_ratelimit_on_ready. */
int ingest_ratelimit_fd(const ingest_ratelimit *rl);
void ingest_ratelimit_on_ready(void *rl);

/* Takes one token from bucket `name` (a key id, or a browser client address's bucket id; at most
 * 23 bytes); per_min 0 means the default. 1 allowed or 0 refused now (*out filled), or -1:
 * w->cb(w, result) runs later on the loop (within the wait's deadline) unless
 * ingest_ratelimit_cancel(w) runs first. */
int ingest_ratelimit_take(ingest_ratelimit *rl, const char *name, long per_min, ingest_rl_wait *w,
                          ingest_rl_result *out);

/* Forgets a waiting request (its client is gone). Safe on a waiter that is not waiting. */
void ingest_ratelimit_cancel(ingest_rl_wait *w);
bool ingest_ratelimit_waiting(const ingest_rl_wait *w);

/* Whether Redis answers PING (for /readyz), asked by the Redis thread: p->cb runs later on the
 * loop with ok, or false and why (connect, TLS handshake, authentication, timeout; valid during
 * the callback), unless ingest_ratelimit_ping_cancel(p) runs first. */
typedef struct ingest_rl_ping ingest_rl_ping;
struct ingest_rl_ping {
    void (*cb)(ingest_rl_ping *p, bool ok, const char *why); /* set by the caller */
    struct rl_ping_cmd *cmd;                                 /* private */
};
void ingest_ratelimit_ping(ingest_ratelimit *rl, ingest_rl_ping *p);
void ingest_ratelimit_ping_cancel(ingest_rl_ping *p);

/* Counters for /metrics. */
typedef struct ingest_rl_stats {
    uint64_t refills;       /* Lua calls sent to Redis */
    uint64_t waits;         /* requests that waited for a refill */
    uint64_t wait_timeouts; /* waits ended by their deadline (then decided locally) */
    uint64_t local;         /* decisions by the local fallback bucket */
} ingest_rl_stats;
void ingest_ratelimit_stats(const ingest_ratelimit *rl, ingest_rl_stats *out);

#endif
