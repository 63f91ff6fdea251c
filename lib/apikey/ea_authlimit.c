/*
 * ea_authlimit.c — failed-attempt counters (see ea_authlimit.h): two Lua scripts in Redis, and a
 * local table used while Redis is unreachable. Redis keys: ea:authfail:a:<addr> and
 * ea:authfail:k:<key id>, integers that expire when their window ends (the window starts with
 * the first attempt counted in it). Shared by ingest-api and graphql-api: failing against one
 * counts against the other.
 */
#include "ea_authlimit.h"
#include "ea_log.h"
#include "ea_redis.h"
#include "ea_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define REDIS_TIMEOUT_MS 200
#define REDIS_RETRY_MS 2000
#define LOCAL_SLOTS 2048 /* per kind (addresses, key ids) */

/* KEYS: addr counter, key-id counter. ARGV: addr limit, key limit, window ms.
 * Returns {allowed, count_addr, pttl_addr, count_key, pttl_key}. */
static const char reserve_script[] =
    "local a = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local k = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if a >= tonumber(ARGV[1]) or k >= tonumber(ARGV[2]) then\n"
    "  return {0, a, redis.call('PTTL', KEYS[1]), k, redis.call('PTTL', KEYS[2])}\n"
    "end\n"
    "a = redis.call('INCR', KEYS[1])\n"
    "if a == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end\n"
    "k = redis.call('INCR', KEYS[2])\n"
    "if k == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end\n"
    "return {1, a, redis.call('PTTL', KEYS[1]), k, redis.call('PTTL', KEYS[2])}\n";

/* Takes back one reservation; never creates a key (a DECR on a missing key would leave one
 * without expiry) and never goes below zero. */
static const char release_script[] = "for i = 1, 2 do\n"
                                     "  local v = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
                                     "  if v > 0 then redis.call('DECR', KEYS[i]) end\n"
                                     "end\n"
                                     "return 1\n";

struct local_counter {
    char subject[72]; /* the address or key id; "" = free */
    long count;
    int64_t window_end_ms;
};

struct ea_authlimit {
    bool use_redis;
    ea_redis_url url;
    long limit_addr, limit_key;
    int64_t window_ms;
    uint64_t seed; /* random per process: nobody can aim two subjects at one local slot */
    pthread_mutex_t mu;
    struct local_counter addrs[LOCAL_SLOTS], keys[LOCAL_SLOTS];
};

ea_authlimit *ea_authlimit_new(const ea_redis_url *redis, long limit_addr, long limit_key,
                               long window_s)
{
    ea_authlimit *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->use_redis = redis != NULL;
    if (redis != NULL)
        l->url = *redis;
    l->limit_addr = limit_addr;
    l->limit_key = limit_key;
    l->window_ms = (int64_t)window_s * 1000;
    if (getrandom(&l->seed, sizeof(l->seed), 0) != (ssize_t)sizeof(l->seed))
        l->seed = (uint64_t)ea_time_mono_ns() * 0x9e3779b97f4a7c15ull;
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

void ea_authlimit_free(ea_authlimit *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

long ea_authlimit_limit_addr(const ea_authlimit *l)
{
    return l->limit_addr;
}

long ea_authlimit_limit_key(const ea_authlimit *l)
{
    return l->limit_key;
}

void ea_authlimit_conn_close(ea_authlimit_conn *c)
{
    ea_redis_free(c->redis);
    memset(c, 0, sizeof(*c));
}

/* ---- local fallback ------------------------------------------------------------------------ */

/* FNV-1a with a secret seed, open addressing over a few probes: an expired or free slot is
 * reused; when every probe is live, the one ending soonest goes (it is the least informative). */
static uint64_t local_hash(const ea_authlimit *l, const char *subject)
{
    uint64_t h = 14695981039346656037ull ^ l->seed;
    for (const char *p = subject; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static struct local_counter *local_slot(ea_authlimit *l, struct local_counter *table,
                                        const char *subject, int64_t now)
{
    uint64_t h = local_hash(l, subject);
    struct local_counter *victim = NULL;
    for (unsigned i = 0; i < 8; i++) {
        struct local_counter *s = &table[(h + i) % LOCAL_SLOTS];
        if (strcmp(s->subject, subject) == 0) {
            if (s->window_end_ms <= now) {
                s->count = 0;
                s->window_end_ms = now + l->window_ms;
            }
            return s;
        }
        if (s->subject[0] == '\0' || s->window_end_ms <= now) {
            if (victim == NULL || victim->window_end_ms > now)
                victim = s;
        } else if (victim == NULL ||
                   (victim->window_end_ms > now && s->window_end_ms < victim->window_end_ms)) {
            victim = s;
        }
    }
    snprintf(victim->subject, sizeof(victim->subject), "%s", subject);
    victim->count = 0;
    victim->window_end_ms = now + l->window_ms;
    return victim;
}

static struct local_counter *local_find(ea_authlimit *l, struct local_counter *table,
                                        const char *subject, int64_t now)
{
    uint64_t h = local_hash(l, subject);
    for (unsigned i = 0; i < 8; i++) {
        struct local_counter *s = &table[(h + i) % LOCAL_SLOTS];
        if (strcmp(s->subject, subject) == 0)
            return s->window_end_ms > now ? s : NULL;
    }
    return NULL;
}

void ea_authlimit_local_reserve(ea_authlimit *l, const char *addr, const char *key_id,
                                int64_t now_ms, ea_authlimit_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->local = true;
    pthread_mutex_lock(&l->mu);
    struct local_counter *a = local_slot(l, l->addrs, addr, now_ms);
    struct local_counter *k = local_slot(l, l->keys, key_id, now_ms);
    out->allowed = a->count < l->limit_addr && k->count < l->limit_key;
    if (out->allowed) {
        a->count++;
        k->count++;
    } else {
        int64_t ra = a->count >= l->limit_addr ? a->window_end_ms - now_ms : 0;
        int64_t rk = k->count >= l->limit_key ? k->window_end_ms - now_ms : 0;
        out->retry_ms = ra > rk ? ra : rk;
    }
    out->count_addr = a->count;
    out->count_key = k->count;
    out->ttl_addr_ms = a->window_end_ms - now_ms;
    out->ttl_key_ms = k->window_end_ms - now_ms;
    pthread_mutex_unlock(&l->mu);
}

void ea_authlimit_local_release(ea_authlimit *l, const char *addr, const char *key_id,
                                int64_t now_ms)
{
    pthread_mutex_lock(&l->mu);
    struct local_counter *a = local_find(l, l->addrs, addr, now_ms);
    struct local_counter *k = local_find(l, l->keys, key_id, now_ms);
    if (a != NULL && a->count > 0)
        a->count--;
    if (k != NULL && k->count > 0)
        k->count--;
    pthread_mutex_unlock(&l->mu);
}

/* ---- Redis --------------------------------------------------------------------------------- */

static void drop_redis(ea_authlimit_conn *c, const char *why)
{
    ea_log_warn("redis", "redis unavailable for failed-attempt limits, counting locally: %s", why);
    ea_authlimit_conn_close(c);
    c->retry_at_ms = ea_time_now_ms() + REDIS_RETRY_MS;
}

static bool load_script(ea_authlimit_conn *c, const char *script, char sha[41], struct ea_err *err)
{
    redisReply *r =
        ea_redis_command(c->redis, "load the failed-attempt script", err, "SCRIPT LOAD %s", script);
    if (r == NULL)
        return false;
    bool ok = r->type == REDIS_REPLY_STRING && r->len == 40;
    if (ok)
        memcpy(sha, r->str, 41);
    freeReplyObject(r);
    return ok;
}

static ea_redis *conn(ea_authlimit *l, ea_authlimit_conn *c)
{
    if (!l->use_redis)
        return NULL;
    if (c->redis != NULL && !ea_redis_broken(c->redis))
        return c->redis;
    if (c->redis != NULL)
        ea_authlimit_conn_close(c);
    if (ea_time_now_ms() < c->retry_at_ms)
        return NULL;
    struct ea_err err;
    ea_err_clear(&err);
    c->redis = ea_redis_connect(&l->url, REDIS_TIMEOUT_MS, &err);
    if (c->redis == NULL || !load_script(c, reserve_script, c->sha_reserve, &err) ||
        !load_script(c, release_script, c->sha_release, &err)) {
        drop_redis(c, err.message[0] != '\0' ? err.message : "bad reply to SCRIPT LOAD");
        return NULL;
    }
    return c->redis;
}

/* EVALSHA, and once more with the whole script when Redis lost it (restart, SCRIPT FLUSH).
 * NULL with err filled on an error reply or a broken connection. */
static redisReply *eval(ea_redis *r, const char *sha, const char *script, const char *ka,
                        const char *kk, const char *a1, const char *a2, const char *a3,
                        struct ea_err *err)
{
    redisReply *rep = ea_redis_command(r, "count failed key attempts", err,
                                       "EVALSHA %s 2 %s %s %s %s %s", sha, ka, kk, a1, a2, a3);
    if (rep == NULL && err->code == EA_ERR_REDIS && strncmp(err->detail, "NOSCRIPT", 8) == 0)
        rep = ea_redis_command(r, "count failed key attempts", err, "EVAL %s 2 %s %s %s %s %s",
                               script, ka, kk, a1, a2, a3);
    return rep;
}

static void keys_for(const char *addr, const char *key_id, char ka[96], char kk[96])
{
    snprintf(ka, 96, "ea:authfail:a:%s", addr);
    snprintf(kk, 96, "ea:authfail:k:%s", key_id);
}

void ea_authlimit_reserve(ea_authlimit *l, ea_authlimit_conn *c, const char *addr,
                          const char *key_id, ea_authlimit_verdict *out)
{
    ea_redis *r = conn(l, c);
    if (r == NULL) {
        ea_authlimit_local_reserve(l, addr, key_id, ea_time_now_ms(), out);
        return;
    }
    struct ea_err err;
    ea_err_clear(&err);
    char ka[96], kk[96], la[24], lk[24], w[24];
    keys_for(addr, key_id, ka, kk);
    snprintf(la, sizeof(la), "%ld", l->limit_addr);
    snprintf(lk, sizeof(lk), "%ld", l->limit_key);
    snprintf(w, sizeof(w), "%lld", (long long)l->window_ms);
    redisReply *rep = eval(r, c->sha_reserve, reserve_script, ka, kk, la, lk, w, &err);
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 5) {
        drop_redis(c, rep == NULL ? err.message : "bad reply");
        if (rep != NULL)
            freeReplyObject(rep);
        ea_authlimit_local_reserve(l, addr, key_id, ea_time_now_ms(), out);
        return;
    }
    memset(out, 0, sizeof(*out));
    out->allowed = rep->element[0]->integer == 1;
    out->count_addr = (long)rep->element[1]->integer;
    out->ttl_addr_ms = rep->element[2]->integer;
    out->count_key = (long)rep->element[3]->integer;
    out->ttl_key_ms = rep->element[4]->integer;
    freeReplyObject(rep);
    if (!out->allowed) {
        int64_t ra = out->count_addr >= l->limit_addr ? out->ttl_addr_ms : 0;
        int64_t rk = out->count_key >= l->limit_key ? out->ttl_key_ms : 0;
        out->retry_ms = ra > rk ? ra : rk;
        if (out->retry_ms <= 0) /* a counter without expiry cannot happen; be safe anyway */
            out->retry_ms = l->window_ms;
    }
}

void ea_authlimit_release(ea_authlimit *l, ea_authlimit_conn *c, const char *addr,
                          const char *key_id, bool local)
{
    ea_redis *r = local ? NULL : conn(l, c);
    if (r == NULL) {
        ea_authlimit_local_release(l, addr, key_id, ea_time_now_ms());
        return;
    }
    struct ea_err err;
    ea_err_clear(&err);
    char ka[96], kk[96];
    keys_for(addr, key_id, ka, kk);
    redisReply *rep = eval(r, c->sha_release, release_script, ka, kk, "0", "0", "0", &err);
    if (rep == NULL)
        drop_redis(c, err.message);
    else
        freeReplyObject(rep);
}
