/*
 * ea_ratelimit.h — the per-key token bucket of every front door (ingest-api's ingest limit,
 * graphql-api's query limit), shared by every instance of a service: one atomic Lua script in
 * Redis (read, refill, take, write, expire in one step, on Redis's clock), spent on the event loop
 * from leases, and refilled through lib/redis's ea_redis_async thread, so the loop never waits on
 * Redis. A request whose bucket has no leased token left waits (a callback, with its own
 * deadline) for one refill that every concurrent request of that bucket shares; requests of
 * buckets that hold leased tokens never wait. When Redis is down, slow past its timeout, or the
 * wait's deadline passes, the limiter fails open to a local per-process bucket of the same shape:
 * rate limiting must not turn a cache outage into lost events (docs/ARCHITECTURE.md,
 * "Rate limits"). Loop thread only.
 */
#ifndef EA_RATELIMIT_H
#define EA_RATELIMIT_H

#include "ea_err.h"
#include "ea_redis.h"

#include <stdint.h>

#include <stdbool.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef struct ea_ratelimit ea_ratelimit;

typedef struct ea_rl_result {
    bool allowed;
    long limit;         /* requests per minute */
    long remaining;     /* whole tokens left */
    long reset_s;       /* seconds until the bucket is full again */
    long retry_after_s; /* when refused: seconds until one token is back */
    bool local;         /* decided by the local fallback (Redis unreachable or too slow) */
} ea_rl_result;

/* A request waiting for a refill, embedded by the caller in memory that lives until cb runs or
 * ea_ratelimit_cancel() (e.g. the request's pool, cancelled by its dispose callback). */
typedef struct ea_rl_wait ea_rl_wait;
typedef void (*ea_rl_cb)(ea_rl_wait *w, const ea_rl_result *r);
struct ea_rl_wait {
    ea_rl_cb cb; /* set by the caller */
    /* private */
    int state;
    struct ea_ratelimit *rl;
    struct rl_refill *rf;
    ea_rl_wait *prev, *next;
    h2o_timeout_entry_t timer;
    ea_rl_result res;
};

typedef struct ea_ratelimit_config {
    const ea_redis_url *redis; /* must outlive the limiter */
    long per_min;              /* default requests per minute of a bucket (take's per_min 0) */
    long burst;                /* bucket size; 0: per_min */
    const char *key_prefix;    /* the buckets' Redis keys: "<prefix><name>" (at most 15 bytes) */
    const char *thread_name;   /* the Redis client thread's name (at most 15 bytes) */
} ea_ratelimit_config;

/* Starts the Redis client thread (it connects at the first refill). NULL with err filled. */
ea_ratelimit *ea_ratelimit_new(h2o_loop_t *loop, const ea_ratelimit_config *cfg,
                               struct ea_err *err);
/* Stops the Redis thread; waiters still linked are dropped without their callback. */
void ea_ratelimit_free(ea_ratelimit *rl);

/* The descriptor the loop watches (ea_http_watch); when readable call ea_ratelimit_on_ready. */
int ea_ratelimit_fd(const ea_ratelimit *rl);
void ea_ratelimit_on_ready(void *rl);

/* Takes one token from bucket `name` (a key id, or a browser client address's bucket id; at most
 * 23 bytes); per_min 0 means the default. 1 allowed or 0 refused now (*out filled), or -1:
 * w->cb(w, result) runs later on the loop (within the wait's deadline) unless
 * ea_ratelimit_cancel(w) runs first. */
int ea_ratelimit_take(ea_ratelimit *rl, const char *name, long per_min, ea_rl_wait *w,
                      ea_rl_result *out);

/* Forgets a waiting request (its client is gone). Safe on a waiter that is not waiting. */
void ea_ratelimit_cancel(ea_rl_wait *w);
bool ea_ratelimit_waiting(const ea_rl_wait *w);

/* Whether Redis answers PING (for /readyz), asked by the Redis thread: p->cb runs later on the
 * loop with ok, or false and why (connect, TLS handshake, authentication, timeout; valid during
 * the callback), unless ea_ratelimit_ping_cancel(p) runs first. */
typedef struct ea_rl_ping ea_rl_ping;
struct ea_rl_ping {
    void (*cb)(ea_rl_ping *p, bool ok, const char *why); /* set by the caller */
    struct rl_ping_cmd *cmd;                             /* private */
};
void ea_ratelimit_ping(ea_ratelimit *rl, ea_rl_ping *p);
void ea_ratelimit_ping_cancel(ea_rl_ping *p);

/* Counters for /metrics. */
typedef struct ea_rl_stats {
    uint64_t refills;       /* Lua calls sent to Redis */
    uint64_t waits;         /* requests that waited for a refill */
    uint64_t wait_timeouts; /* waits ended by their deadline (then decided locally) */
    uint64_t local;         /* decisions by the local fallback bucket */
} ea_rl_stats;
void ea_ratelimit_stats(const ea_ratelimit *rl, ea_rl_stats *out);

#endif
