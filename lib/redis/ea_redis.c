/*
 * ea_redis.c — Redis connection helpers shared by ingest (rate limits), graphql-api (cache,
 * pub/sub) and the worker (change feed).
 */
#include "ea_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

redisReply *ea_redis_check(redisContext *c, redisReply *reply, const char *what, struct ea_err *err)
{
    if (reply == NULL) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s: %s", what,
                   c != NULL && c->errstr[0] ? c->errstr : "connection lost");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOAUTH: the server has a password and the URL none; say where it goes */
        bool noauth = strncmp(reply->str, "NOAUTH", 6) == 0;
        bool auth = noauth || strncmp(reply->str, "WRONGPASS", 9) == 0;
        ea_err_set(err, auth ? EA_ERR_AUTH : EA_ERR_REDIS, "could not %s: %s%s", what, reply->str,
                   noauth ? " (put the password in REDIS_URL)" : "");
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

redisContext *ea_redis_connect(const char *url, int timeout_ms, struct ea_err *err)
{
    ea_redis_url u;
    char where[400];
    if (ea_redis_url_parse(url, NULL, &u, err) != EA_OK)
        return NULL;
    ea_redis_url_describe(&u, where, sizeof(where));
    if (u.tls) {
        ea_err_set(err, EA_ERR_INVALID, "could not connect to %s: TLS is not supported yet", where);
        return NULL;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (c == NULL || c->err) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: %s", where,
                   c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r;
    char what[480];
    if (u.password[0] != '\0') {
        snprintf(what, sizeof(what), "authenticate to %s", where);
        r = u.user[0] != '\0' ? redisCommand(c, "AUTH %s %s", u.user, u.password)
                              : redisCommand(c, "AUTH %s", u.password);
        r = ea_redis_check(c, r, what, err);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    if (u.db != 0) {
        snprintf(what, sizeof(what), "select db %d on %s", u.db, where);
        r = ea_redis_check(c, redisCommand(c, "SELECT %d", u.db), what, err);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}
