/*
 * ratelimit.c — the token bucket. Redis state per key: hash {t: tokens (float), ts: last refill
 * ms}, expiring once it would be full again. The script uses Redis TIME so instances with
 * skewed clocks still share one bucket correctly.
 *
 * Leases: a Redis round trip per request would cap ingest at Redis's Lua throughput (~18k
 * scripts/s here) and block the loop for each call. So an instance takes up to `want` tokens
 * at once (about 50 ms worth of the key's rate, at most 1000 and 5 % of the bucket) and spends
 * them locally for LEASE_MS. Tokens are taken from the shared bucket before they are spent, so
 * the sum admitted over all instances never exceeds the limit; unspent tokens of an expired
 * lease are simply not used (admission errs on the strict side). Low-rate keys get leases of 1:
 * exact, one call per request, and such keys are low-traffic by definition. After a Redis failure
 * the limiter stays on the local fallback for RETRY_MS before trying Redis again, so an outage
 * costs one timeout per RETRY_MS rather than one per request.
 */
#include "ratelimit.h"
#include "ea_log.h"
#include "ea_redis.h"
#include "ea_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_SLOTS 1024
#define RETRY_MS 2000
#define REDIS_TIMEOUT_MS 200
#define LEASE_MS 100
#define LEASE_SLOTS 4096

struct lease {
    char key_id[16];
    long tokens;             /* leased from Redis, not yet spent */
    int64_t until;           /* lease expiry, ms */
    long remaining, reset_s; /* what Redis said at the last lease, for headers */
};

static const char script[] =
    "local cap = tonumber(ARGV[1])\n"
    "local rate = tonumber(ARGV[2])\n" /* tokens per ms */
    "local want = tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local tokens = tonumber(b[1])\n"
    "local ts = tonumber(b[2])\n"
    "if tokens == nil or ts == nil then tokens = cap; ts = now end\n"
    "tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)\n"
    "local granted = math.min(want, math.floor(tokens))\n"
    "if granted < 0 then granted = 0 end\n"
    "tokens = tokens - granted\n"
    "redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)\n"
    "local full_ms = math.ceil((cap - tokens) / rate)\n"
    "redis.call('PEXPIRE', KEYS[1], full_ms + 1000)\n"
    "local retry_ms = 0\n"
    "if granted == 0 then retry_ms = math.ceil((1 - tokens) / rate) end\n"
    "return {granted, math.floor(tokens), full_ms, retry_ms}\n";

struct local_bucket {
    char key_id[16];
    double tokens;
    int64_t ts;
};

struct ingest_ratelimit {
    const ea_redis_url *url;
    long per_min, burst;
    ea_redis *redis;
    char sha[41];
    int64_t redis_retry_at;
    char last_error[512]; /* why Redis was last unusable ("" once it answers), for /readyz */
    struct local_bucket local[LOCAL_SLOTS];
    struct lease leases[LEASE_SLOTS];
};

ingest_ratelimit *ingest_ratelimit_new(const ea_redis_url *redis_url, long default_per_min,
                                       long burst)
{
    ingest_ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    rl->url = redis_url;
    rl->per_min = default_per_min;
    rl->burst = burst;
    return rl;
}

void ingest_ratelimit_free(ingest_ratelimit *rl)
{
    if (rl == NULL)
        return;
    ea_redis_free(rl->redis);
    free(rl);
}

static void drop_redis(ingest_ratelimit *rl, const char *why)
{
    ea_log_warn("ratelimit", "redis unavailable, using the local fallback bucket: %s", why);
    snprintf(rl->last_error, sizeof(rl->last_error), "%s", why);
    ea_redis_free(rl->redis);
    rl->redis = NULL;
    rl->sha[0] = '\0';
    rl->redis_retry_at = ea_time_now_ms() + RETRY_MS;
}

static ea_redis *redis_conn(ingest_ratelimit *rl)
{
    if (rl->redis != NULL)
        return rl->redis;
    if (ea_time_now_ms() < rl->redis_retry_at)
        return NULL;
    struct ea_err err = {0};
    rl->redis = ea_redis_connect(rl->url, REDIS_TIMEOUT_MS, &err);
    if (rl->redis == NULL) {
        drop_redis(rl, err.message);
        return NULL;
    }
    redisReply *r =
        ea_redis_command(rl->redis, "load the rate-limit script", &err, "SCRIPT LOAD %s", script);
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r != NULL)
            freeReplyObject(r);
        drop_redis(rl, err.message);
        return NULL;
    }
    snprintf(rl->sha, sizeof(rl->sha), "%s", r->str);
    freeReplyObject(r);
    return rl->redis;
}

bool ingest_ratelimit_ping(ingest_ratelimit *rl, const char **why)
{
    *why = rl->last_error;
    ea_redis *c = redis_conn(rl);
    if (c == NULL)
        return false;
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(c, "ping", &err, "PING");
    if (r == NULL) {
        drop_redis(rl, err.message);
        return false;
    }
    freeReplyObject(r);
    rl->last_error[0] = '\0';
    return true;
}

static unsigned key_hash(const char *key_id)
{
    unsigned h = 5381;
    for (const char *p = key_id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h;
}

static void take_local(ingest_ratelimit *rl, const char *key_id, double cap, double rate,
                       ingest_rl_result *out)
{
    struct local_bucket *b = &rl->local[key_hash(key_id) % LOCAL_SLOTS];
    int64_t now = ea_time_now_ms();
    if (strcmp(b->key_id, key_id) != 0) {
        snprintf(b->key_id, sizeof(b->key_id), "%s", key_id);
        b->tokens = cap;
        b->ts = now;
    }
    b->tokens = fmin(cap, b->tokens + (double)(now - b->ts) * rate);
    b->ts = now;
    out->allowed = b->tokens >= 1;
    if (out->allowed)
        b->tokens -= 1;
    out->remaining = (long)b->tokens;
    out->reset_s = (long)ceil((cap - b->tokens) / rate / 1000.0);
    out->retry_after_s = out->allowed ? 0 : (long)ceil((1 - b->tokens) / rate / 1000.0);
    out->local = true;
}

void ingest_ratelimit_take(ingest_ratelimit *rl, const char *key_id, long per_min,
                           ingest_rl_result *out)
{
    memset(out, 0, sizeof(*out));
    long limit = per_min > 0 ? per_min : rl->per_min;
    double cap = (double)(rl->burst > 0 ? rl->burst : limit);
    double rate = (double)limit / 60000.0;
    out->limit = limit;
    struct lease *l = &rl->leases[key_hash(key_id) % LEASE_SLOTS];
    int64_t now = ea_time_now_ms();
    if (strcmp(l->key_id, key_id) == 0 && l->tokens > 0 && now < l->until) {
        l->tokens--;
        out->allowed = true;
        out->remaining = l->remaining + l->tokens;
        out->reset_s = l->reset_s;
        return;
    }
    ea_redis *c = redis_conn(rl);
    if (c == NULL) {
        take_local(rl, key_id, cap, rate, out);
        return;
    }
    double want = ceil(rate * 50.0);
    if (want > 1000)
        want = 1000;
    if (want > cap / 20)
        want = floor(cap / 20);
    if (want < 1)
        want = 1;
    char cap_s[32], rate_s[48], want_s[32], key[64];
    snprintf(cap_s, sizeof(cap_s), "%.0f", cap);
    snprintf(rate_s, sizeof(rate_s), "%.17g", rate);
    snprintf(want_s, sizeof(want_s), "%.0f", want);
    snprintf(key, sizeof(key), "ea:rl:%s", key_id);
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(c, "take rate-limit tokens", &err, "EVALSHA %s 1 %s %s %s %s",
                                     rl->sha, key, cap_s, rate_s, want_s);
    if (r == NULL && strncmp(err.detail, "NOSCRIPT", 8) == 0) {
        /* Redis restarted and lost the script: send it whole once */
        r = ea_redis_command(c, "take rate-limit tokens", &err, "EVAL %s 1 %s %s %s %s", script,
                             key, cap_s, rate_s, want_s);
    }
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        drop_redis(rl, r == NULL ? err.message : "could not take rate-limit tokens: bad reply");
        if (r != NULL)
            freeReplyObject(r);
        take_local(rl, key_id, cap, rate, out);
        return;
    }
    long granted = (long)r->element[0]->integer;
    snprintf(l->key_id, sizeof(l->key_id), "%s", key_id);
    l->tokens = granted > 0 ? granted - 1 : 0;
    l->until = now + LEASE_MS;
    l->remaining = (long)r->element[1]->integer;
    l->reset_s = (long)((r->element[2]->integer + 999) / 1000);
    out->allowed = granted > 0;
    out->remaining = l->remaining + l->tokens;
    out->reset_s = l->reset_s;
    out->retry_after_s = (long)((r->element[3]->integer + 999) / 1000);
    freeReplyObject(r);
}
