/*
 * ea_redis.c — Redis connection helpers shared by ingest (rate limits), graphql-api (cache,
 * pub/sub) and the worker (change feed).
 */
#include "ea_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ea_rc ea_redis_url_parse(const char *url, ea_redis_url *out, struct ea_err *err)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    const char *p;
    if (strncmp(url, "redis://", 8) != 0)
        return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL \"%s\": expected redis://", url);
    p = url + 8;
    const char *at = strchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon != NULL ? colon + 1 : p;
        size_t len = (size_t)(at - pw);
        if (len >= sizeof(out->password))
            return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL: password too long");
        memcpy(out->password, pw, len);
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof(out->host))
        return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL \"%s\": bad host", url);
    memcpy(out->host, p, hlen);
    p += hlen;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535)
            return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL \"%s\": bad port", url);
        out->port = (int)port;
        p = end;
    }
    if (*p == '/') {
        char *end;
        long db = p[1] == '\0' ? 0 : strtol(p + 1, &end, 10);
        if (p[1] != '\0' && (end == p + 1 || *end != '\0' || db < 0 || db > 1000))
            return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL \"%s\": bad db", url);
        out->db = (int)db;
    } else if (*p != '\0') {
        return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL \"%s\"", url);
    }
    return EA_OK;
}

redisReply *ea_redis_check(redisContext *c, redisReply *reply, const char *what, struct ea_err *err)
{
    if (reply == NULL) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: %s", what,
                   c != NULL && c->errstr[0] ? c->errstr : "connection lost");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        ea_err_set(err, EA_ERR_REDIS, "could not %s: %s", what, reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

redisContext *ea_redis_connect(const char *url, int timeout_ms, struct ea_err *err)
{
    ea_redis_url u;
    if (ea_redis_url_parse(url, &u, err) != EA_OK)
        return NULL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (c == NULL || c->err) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to redis at %s:%d: %s", u.host,
                   u.port, c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r;
    if (u.password[0] != '\0') {
        r = ea_redis_check(c, redisCommand(c, "AUTH %s", u.password), "authenticate to redis", err);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    if (u.db != 0) {
        r = ea_redis_check(c, redisCommand(c, "SELECT %d", u.db), "select redis db", err);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}
