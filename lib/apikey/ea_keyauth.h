/*
 * ea_keyauth.h — API key authentication for every service, without ever blocking the event loop:
 * a presented key "ak_<id>_<secret>" → tenant and scopes (PostgreSQL api_keys). bcrypt (~70 ms
 * at cost 10) and the key lookup run on a small worker pool (AUTH_WORKERS threads, at most
 * AUTH_QUEUE_MAX waiting); the loop answers from its caches meanwhile and gets the outcome back
 * through a callback. Defences (docs/SECURITY.md, "API keys"):
 *   - verified keys are cached by SHA-256 of the key for KEY_CACHE_TTL_S, the bound on how long
 *     a revoked key keeps working; refused keys have their own smaller cache, so a refused key
 *     can never take a verified key's place;
 *   - failed attempts are limited BEFORE the lookup and bcrypt, per client address and per key
 *     id, in Redis (every instance sees them; a local count when Redis is down): over the limit
 *     the answer is EA_KEYAUTH_LIMITED with a retry time, at once;
 *   - a full queue answers EA_KEYAUTH_BUSY at once rather than queueing without bound.
 * One ea_keyauth belongs to one loop thread: every function here is called from that thread,
 * and callbacks run on it (from ea_keyauth_complete()).
 */
#ifndef EA_KEYAUTH_H
#define EA_KEYAUTH_H

#include "ea_config.h"
#include "ea_err.h"
#include "ea_redis.h"
#include "ea_origin.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EA_SCOPE_INGEST 1u
#define EA_SCOPE_READ 2u
#define EA_SCOPE_ADMIN 4u

typedef struct ea_principal {
    char tenant[64];
    char key_id[16];
    unsigned scopes;
    long rate_limit; /* requests/minute; 0 = the global default */
    /* A browser key's origins, comma-joined and normalized (ea_origin.h); "" for a secret key.
     * A browser key is ingest-only and accepted only from these origins (SPEC §4). */
    char origins[EA_ORIGINS_TEXT_MAX];
} ea_principal;

typedef enum ea_keyauth_status {
    EA_KEYAUTH_OK = 0,
    EA_KEYAUTH_MISSING,     /* no key presented */
    EA_KEYAUTH_INVALID,     /* malformed, unknown, wrong secret or revoked */
    EA_KEYAUTH_UNAVAILABLE, /* PostgreSQL unreachable and the key is not cached */
    EA_KEYAUTH_LIMITED,     /* too many failed attempts from this address or for this key id */
    EA_KEYAUTH_BUSY,        /* the verification queue is full: retry shortly */
    EA_KEYAUTH_PENDING,     /* not known yet: the waiter's callback will say */
} ea_keyauth_status;

typedef struct ea_keyauth_result {
    ea_keyauth_status status;
    ea_principal principal; /* EA_KEYAUTH_OK only */
    long retry_after_s;     /* EA_KEYAUTH_LIMITED and EA_KEYAUTH_BUSY: seconds, >= 1 */
} ea_keyauth_result;

/* Settings every service that verifies keys reads from its environment (see
 * EA_KEYAUTH_CONFIG_ENTRIES). */
typedef struct ea_keyauth_settings {
    long cache_ttl_s;     /* KEY_CACHE_TTL_S: verified keys are trusted this long */
    long workers;         /* AUTH_WORKERS: pool threads */
    long queue_max;       /* AUTH_QUEUE_MAX: verifications waiting for a thread */
    long fail_limit_addr; /* AUTH_FAIL_LIMIT_ADDR: failed attempts per window per client address */
    long fail_limit_key;  /* AUTH_FAIL_LIMIT_KEY: failed attempts per window per key id */
    long fail_window_s;   /* AUTH_FAIL_WINDOW_S */
    long fail_delay_ms;   /* AUTH_FAIL_DELAY_MS: how late the services send such a 429 */
    long worker_nice;     /* AUTH_WORKER_NICE: the pool threads' nice value over the loop's */
} ea_keyauth_settings;

/* Entries for a service's ea_config table: `type` is the service's config struct and `member`
 * its ea_keyauth_settings field. One definition of the names, bounds and defaults. */
/* `member.field` is an offsetof member designator, which cannot be parenthesized */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
/* clang-format off */
#define EA_KEYAUTH_CONFIG_ENTRIES(type, member)                                                    \
    {"KEY_CACHE_TTL_S", EA_CFG_INT, "30", 0, 3600, offsetof(type, member.cache_ttl_s),             \
     "verified API keys are cached this long (revocation takes effect within it)"},                \
    {"AUTH_WORKERS", EA_CFG_INT, "2", 1, 64, offsetof(type, member.workers),                       \
     "threads that verify API keys (bcrypt, key lookup) off the event loop"},                      \
    {"AUTH_QUEUE_MAX", EA_CFG_INT, "64", 1, 100000, offsetof(type, member.queue_max),              \
     "key verifications that may wait for a thread; beyond, 503 with Retry-After"},                \
    {"AUTH_FAIL_LIMIT_ADDR", EA_CFG_INT, "20", 1, 100000000,                                       \
     offsetof(type, member.fail_limit_addr),                                                       \
     "failed key attempts per client address per window; beyond, 429"},                           \
    {"AUTH_FAIL_LIMIT_KEY", EA_CFG_INT, "20", 1, 100000000,                                        \
     offsetof(type, member.fail_limit_key),                                                        \
     "failed attempts per key id per window (a cached verified key is unaffected); beyond, 429"},  \
    {"AUTH_FAIL_WINDOW_S", EA_CFG_INT, "60", 1, 86400, offsetof(type, member.fail_window_s),       \
     "window of the failed-attempt limits, seconds"},                                              \
    {"AUTH_FAIL_DELAY_MS", EA_CFG_INT, "1000", 0, 10000, offsetof(type, member.fail_delay_ms),     \
     "a client over a failed-attempt limit gets its 429 this late (a tarpit; 0: at once)"},        \
    {"AUTH_WORKER_NICE", EA_CFG_INT, "10", 0, 19, offsetof(type, member.worker_nice),              \
     "nice value added to the key-verifier threads, so bcrypt yields to serving requests"}
/* clang-format on */
/* NOLINTEND(bugprone-macro-parentheses) */

typedef struct ea_keyauth ea_keyauth;

/* A request waiting for a verification, embedded by the caller in memory that lives until the
 * callback runs or ea_keyauth_cancel() is called. Fields are private. */
typedef struct ea_keyauth_waiter ea_keyauth_waiter;
typedef void (*ea_keyauth_cb)(ea_keyauth_waiter *w, const ea_keyauth_result *r);
struct ea_keyauth_waiter {
    ea_keyauth_cb cb;
    struct ea_keyauth_waiter *prev, *next;
    void *job;
};

/* Creates the verifier and starts its pool threads (each connects to database_url and redis
 * lazily; redis NULL keeps the failed-attempt counts local; it is copied). Verified keys are
 * cached s->cache_ttl_s seconds. NULL with err filled when the threads cannot be started. */
ea_keyauth *ea_keyauth_new(const char *database_url, const ea_redis_url *redis,
                           const ea_keyauth_settings *s, struct ea_err *err);

/* Stops the pool. Waiters still linked are dropped without their callback. NULL is allowed. */
void ea_keyauth_free(ea_keyauth *a);

/* The descriptor to watch on the loop; when it is readable call ea_keyauth_complete(). */
int ea_keyauth_fd(const ea_keyauth *a);
void ea_keyauth_complete(ea_keyauth *a);

/* Extracts the key from an Authorization header value ("Bearer <key>", scheme case-insensitive).
 * false when header is NULL or not a Bearer credential. */
bool ea_keyauth_bearer(const char *header, size_t len, const char **key, size_t *klen);

/* Starts checking a presented key (key NULL or klen 0: EA_KEYAUTH_MISSING). client is the
 * caller's address as text (for the per-address limit). Any status but EA_KEYAUTH_PENDING is
 * final and *out holds it; EA_KEYAUTH_PENDING means w->cb(w, result) will run later on the loop
 * thread (w->cb must be set by the caller), unless ea_keyauth_cancel(w) runs first. */
ea_keyauth_status ea_keyauth_begin(ea_keyauth *a, const char *key, size_t klen, const char *client,
                                   ea_keyauth_waiter *w, ea_keyauth_result *out);

/* Forgets a pending waiter (its request is gone). Safe on a waiter that is not pending. */
void ea_keyauth_cancel(ea_keyauth_waiter *w);

/* Whether PostgreSQL answers (for /readyz): w->cb gets EA_KEYAUTH_OK or EA_KEYAUTH_UNAVAILABLE
 * (EA_KEYAUTH_BUSY when the queue is full). When a job got an answer in the last 5 s, w->cb runs
 * before this returns; otherwise a pool thread asks (SELECT 1) and w->cb runs later. */
void ea_keyauth_ping(ea_keyauth *a, ea_keyauth_waiter *w);

/* Why PostgreSQL last failed for the verifier's threads (connection: certificate, host name,
 * password, timeout; or a query), into buf; false (buf "") once it answered again. */
bool ea_keyauth_db_error(ea_keyauth *a, char *buf, size_t cap);

/* Counters for /metrics. */
typedef struct ea_keyauth_stats {
    uint64_t cache_hits, verified, refused, limited, busy, refreshes;
    size_t queued; /* waiting for a thread now */
} ea_keyauth_stats;
void ea_keyauth_stats_get(ea_keyauth *a, ea_keyauth_stats *out);

#endif
