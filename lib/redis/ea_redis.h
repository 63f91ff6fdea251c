/*
 * ea_redis.h — connecting to Redis from a redis:// URL (hiredis 0.14 has no URL parser and no
 * TLS) with timeouts, and checking replies. Not for: cache, rate-limit or pub/sub policy, which
 * the services own.
 */
#ifndef EA_REDIS_H
#define EA_REDIS_H

#include "ea_err.h"

#include <hiredis/hiredis.h>

typedef struct ea_redis_url {
    char host[256];
    int port;
    char password[256]; /* "" when none */
    int db;
} ea_redis_url;

/* Parses redis://[:password@]host[:port][/db]. EA_ERR_INVALID on anything else. */
ea_rc ea_redis_url_parse(const char *url, ea_redis_url *out, struct ea_err *err) EA_WUR;

/* Connects (timeout_ms for connect and for each command), AUTHs and SELECTs as the URL says.
 * NULL with err filled on failure; the caller owns the context (redisFree). */
redisContext *ea_redis_connect(const char *url, int timeout_ms, struct ea_err *err);

/* Returns reply when it is not NULL and not an error reply; otherwise frees it, fills err and
 * returns NULL. A NULL reply means the connection is broken (c->err set). */
redisReply *ea_redis_check(redisContext *c, redisReply *reply, const char *what,
                           struct ea_err *err);

#endif
