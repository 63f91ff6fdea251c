/*
 * cache.c — Redis query cache, generations and rate limit for graphql-api (see cache.h).
 * One Lua script reads the epoch, the generation and the cached value in a single round trip,
 * so a hit costs one Redis call; a miss stores under the key the lookup computed, which holds
 * the generation read *before* the database was asked — an answer computed while a change
 * arrived is stored under the old generation and never served again.
 */
#include "cache.h"
#include "ea_log.h"
#include "ea_redis.h"
#include "ea_time.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gql_cache {
    const ea_redis_url *url;
    int timeout_ms;
    ea_redis *rc;
    int64_t retry_at_ms; /* no reconnect before this (Redis down) */
    bool up;
    char last_error[512]; /* why the last call failed, for /readyz */
};

/* KEYS[1] = generation key, KEYS[2] = epoch key; ARGV[1] = key prefix, ARGV[2] = hash */
static const char get_script[] =
    "local g = (redis.call('GET', KEYS[2]) or '0') .. '.' .. (redis.call('GET', KEYS[1]) or '0')\n"
    "local k = ARGV[1] .. g .. ':' .. ARGV[2]\n"
    "return {k, redis.call('GET', k)}\n";

/* KEYS[1] = window key; ARGV[1] = limit. Returns {count, ttl}. */
static const char rate_script[] = "local n = redis.call('INCR', KEYS[1])\n"
                                  "if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end\n"
                                  "return {n, redis.call('TTL', KEYS[1])}\n";

gql_cache *gql_cache_new(const ea_redis_url *redis_url, int timeout_ms)
{
    gql_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->url = redis_url;
    c->timeout_ms = timeout_ms;
    snprintf(c->last_error, sizeof(c->last_error), "not connected yet");
    return c;
}

void gql_cache_free(gql_cache *c)
{
    if (c == NULL)
        return;
    ea_redis_free(c->rc);
    free(c);
}

bool gql_cache_up(const gql_cache *c, const char **why)
{
    *why = c->last_error;
    return c->up;
}

static ea_redis *conn(gql_cache *c);
static void answered(gql_cache *c);
static void broken(gql_cache *c, const struct ea_err *err);

bool gql_cache_ping(gql_cache *c, const char **why)
{
    ea_redis *rc = conn(c);
    if (rc != NULL) {
        struct ea_err err = {0};
        redisReply *r = ea_redis_command(rc, "ping", &err, "PING");
        if (r == NULL) {
            broken(c, &err);
            snprintf(c->last_error, sizeof(c->last_error), "%s", err.message);
            c->up = false;
        } else {
            freeReplyObject(r);
            answered(c);
        }
    }
    return gql_cache_up(c, why);
}

static ea_redis *conn(gql_cache *c)
{
    if (c->rc != NULL)
        return c->rc;
    int64_t now = ea_time_now_ms();
    if (now < c->retry_at_ms)
        return NULL;
    struct ea_err err = {0};
    c->rc = ea_redis_connect(c->url, c->timeout_ms, &err);
    if (c->rc == NULL) {
        if (c->up || c->retry_at_ms == 0) /* one warning per outage, not one per retry */
            ea_log_warn("cache", "%s; answering from the database", err.message);
        snprintf(c->last_error, sizeof(c->last_error), "%s", err.message);
        c->up = false;
        c->retry_at_ms = now + 1000;
    }
    return c->rc;
}

/* After a call that reached Redis. */
static void answered(gql_cache *c)
{
    c->up = true;
    c->last_error[0] = '\0';
}

/* After a failed command: drop a broken connection so the next call reconnects (after 1 s). */
static void broken(gql_cache *c, const struct ea_err *err)
{
    ea_log_warn("cache", "%s; answering from the database", err->message);
    if (c->rc != NULL && ea_redis_broken(c->rc)) {
        snprintf(c->last_error, sizeof(c->last_error), "%s", err->message);
        ea_redis_free(c->rc);
        c->rc = NULL;
        c->retry_at_ms = ea_time_now_ms() + 1000;
        c->up = false;
    }
}

bool gql_cache_get(gql_cache *c, const char *tenant, const char *metric, const char *args_norm,
                   char **val, char slot[256])
{
    slot[0] = '\0';
    *val = NULL;
    ea_redis *rc = conn(c);
    if (rc == NULL)
        return false;
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t ml = strlen(metric), al = strlen(args_norm);
    unsigned char *in = malloc(ml + 1 + al);
    if (in == NULL)
        return false;
    memcpy(in, metric, ml + 1); /* the NUL separates metric from args */
    memcpy(in + ml + 1, args_norm, al);
    SHA256(in, ml + 1 + al, md);
    free(in);
    char hash[2 * SHA256_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hash + 2 * i, 3, "%02x", md[i]);
    char genkey[512], prefix[128];
    snprintf(genkey, sizeof(genkey), "ea:gen:%s:%s", tenant, metric);
    snprintf(prefix, sizeof(prefix), "ea:qc:%s:", tenant);
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(rc, "read the query cache", &err, "EVAL %s 2 %s %s %s %s",
                                     get_script, genkey, "ea:gen:epoch", prefix, hash);
    if (r == NULL) {
        broken(c, &err);
        return false;
    }
    answered(c);
    bool hit = false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < 256) {
        memcpy(slot, r->element[0]->str, r->element[0]->len);
        slot[r->element[0]->len] = '\0';
        if (r->element[1]->type == REDIS_REPLY_STRING) {
            *val = strndup(r->element[1]->str, r->element[1]->len);
            hit = *val != NULL;
        }
    }
    freeReplyObject(r);
    return hit;
}

void gql_cache_put(gql_cache *c, const char *slot, const char *val, size_t len, long ttl_s)
{
    if (slot[0] == '\0' || ttl_s <= 0)
        return;
    ea_redis *rc = conn(c);
    if (rc == NULL)
        return;
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(rc, "write the query cache", &err, "SET %s %b EX %ld", slot,
                                     val, len, ttl_s);
    if (r == NULL) {
        broken(c, &err);
        return;
    }
    answered(c);
    freeReplyObject(r);
}

void gql_cache_forget(gql_cache *c, const char *tenant, const json_t *metrics)
{
    size_t n = json_array_size(metrics), i;
    const json_t *m;
    if (n == 0)
        return;
    ea_redis *rc = conn(c);
    if (rc == NULL) {
        ea_log_warn("cache", "could not drop cached answers of changed metrics: they live until "
                             "their TTL");
        return;
    }
    struct ea_err err = {0};
    json_array_foreach(metrics, i, m)
    {
        if (ea_redis_append(rc, &err, "INCR ea:gen:%s:%s", tenant, json_string_value(m)) != EA_OK) {
            broken(c, &err);
            return;
        }
    }
    for (i = 0; i < n; i++) {
        redisReply *r = ea_redis_reply(rc, "drop cached answers of changed metrics", &err);
        if (r == NULL) {
            broken(c, &err);
            return;
        }
        freeReplyObject(r);
    }
    answered(c);
}

bool gql_cache_rate_allow(gql_cache *c, const char *subject, long per_min, long *retry_s)
{
    *retry_s = 0;
    if (per_min <= 0)
        return true;
    ea_redis *rc = conn(c);
    if (rc == NULL)
        return true;
    char key[256];
    snprintf(key, sizeof(key), "ea:gqlrl:%s", subject);
    char lim[32];
    snprintf(lim, sizeof(lim), "%ld", per_min);
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(rc, "update the query rate limit", &err, "EVAL %s 1 %s %s",
                                     rate_script, key, lim);
    if (r == NULL) {
        broken(c, &err);
        return true;
    }
    answered(c);
    bool ok = true;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        ok = r->element[0]->integer <= per_min;
        *retry_s = r->element[1]->integer > 0 ? r->element[1]->integer : 1;
    }
    freeReplyObject(r);
    return ok;
}

char *gql_cache_raw_get(gql_cache *c, const char *key, size_t *len)
{
    ea_redis *rc = conn(c);
    if (rc == NULL)
        return NULL;
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(rc, "read the response cache", &err, "GET %s", key);
    if (r == NULL) {
        broken(c, &err);
        return NULL;
    }
    answered(c);
    char *v = NULL;
    if (r->type == REDIS_REPLY_STRING && (v = malloc(r->len + 1)) != NULL) {
        memcpy(v, r->str, r->len);
        v[r->len] = '\0';
        *len = r->len;
    }
    freeReplyObject(r);
    return v;
}

void gql_cache_raw_put(gql_cache *c, const char *key, const char *val, size_t len, long ttl_s)
{
    gql_cache_put(c, key, val, len, ttl_s);
}

bool gql_cache_generations(gql_cache *c, int n, const char *const *tenants,
                           const char *const *metrics, char (*out)[48])
{
    if (n <= 0 || n > 16)
        return false;
    ea_redis *rc = conn(c);
    if (rc == NULL)
        return false;
    char keys[16][512];
    const char *argv[18];
    size_t argl[18];
    argv[0] = "MGET";
    argv[1] = "ea:gen:epoch";
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "ea:gen:%s:%s", tenants[i], metrics[i]);
        argv[i + 2] = keys[i];
    }
    for (int i = 0; i < n + 2; i++)
        argl[i] = strlen(argv[i]);
    struct ea_err err = {0};
    redisReply *r = ea_redis_command_argv(rc, "read cache generations", &err, n + 2, argv, argl);
    if (r == NULL) {
        broken(c, &err);
        return false;
    }
    answered(c);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n + 1;
    for (int i = 0; ok && i < n; i++) {
        const redisReply *e = r->element[0], *g = r->element[i + 1];
        snprintf(out[i], 48, "%.20s.%.20s", e->type == REDIS_REPLY_STRING ? e->str : "0",
                 g->type == REDIS_REPLY_STRING ? g->str : "0");
    }
    freeReplyObject(r);
    return ok;
}
