/*
 * ea_authlimit.h — the failed-attempt limit of key verification (part of target ea_keyauth; the
 * services use it only through ea_keyauth.h). Two fixed-window counters per attempt, one per
 * client address and one per key id, shared by every instance in Redis:
 *   reserve: if either counter is at its limit → refused with the time until the window ends;
 *            else both +1 (one atomic script). Verification then runs.
 *   release: the verification succeeded (or the database could not be asked) → both −1.
 * So the counters hold exactly the failed attempts of the window, and no more than the limit of
 * verifications can be in flight for one subject even when many threads and instances race.
 *
 * Redis down: the same counters in this process (a fail-safe local fallback: each instance then
 * enforces the limit alone, so N instances admit up to N × the limit during the outage). Neither
 * fail-open (bcrypt for anyone while Redis is down) nor fail-closed (nobody uncached gets in).
 * Called from pool threads: the local table has its own mutex; each thread owns its connection.
 */
#ifndef EA_AUTHLIMIT_H
#define EA_AUTHLIMIT_H

#include "ea_redis.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ea_authlimit ea_authlimit;

/* A pool thread's Redis connection state (zero-initialised by the thread). */
typedef struct ea_authlimit_conn {
    ea_redis *redis;
    char sha_reserve[41], sha_release[41];
    int64_t retry_at_ms; /* after a failure, Redis is not tried again before this */
} ea_authlimit_conn;

typedef struct ea_authlimit_verdict {
    bool allowed;
    long count_addr, count_key; /* after this reservation (allowed) or as found (refused) */
    int64_t ttl_addr_ms, ttl_key_ms;
    int64_t retry_ms; /* refused: until the blocking window ends */
    bool local;       /* decided by the local fallback */
} ea_authlimit_verdict;

/* redis NULL means local counts only (it is copied). NULL on allocation failure. */
ea_authlimit *ea_authlimit_new(const ea_redis_url *redis, long limit_addr, long limit_key,
                               long window_s);
void ea_authlimit_free(ea_authlimit *l);
void ea_authlimit_conn_close(ea_authlimit_conn *c);

long ea_authlimit_limit_addr(const ea_authlimit *l);
long ea_authlimit_limit_key(const ea_authlimit *l);

/* See the file comment. addr and key_id are short printable strings. */
void ea_authlimit_reserve(ea_authlimit *l, ea_authlimit_conn *c, const char *addr,
                          const char *key_id, ea_authlimit_verdict *out);
void ea_authlimit_release(ea_authlimit *l, ea_authlimit_conn *c, const char *addr,
                          const char *key_id, bool local);

/* The local fallback alone, with an explicit clock (unit tests). */
void ea_authlimit_local_reserve(ea_authlimit *l, const char *addr, const char *key_id,
                                int64_t now_ms, ea_authlimit_verdict *out);
void ea_authlimit_local_release(ea_authlimit *l, const char *addr, const char *key_id,
                                int64_t now_ms);

#endif
