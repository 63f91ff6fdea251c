/*
 * ea_redis.h — connecting to Redis from REDIS_URL (hiredis 0.14 has no URL parser and no TLS)
 * with timeouts, AUTH (password or ACL user + password) and SELECT, and checking replies.
 * Not for: cache, rate-limit or pub/sub policy, which the services own.
 */
#ifndef EA_REDIS_H
#define EA_REDIS_H

#include "ea_err.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>

#define EA_REDIS_MAX_DB 100000

typedef struct ea_redis_url {
    bool tls;            /* rediss:// */
    char host[256];      /* name or address, without [] */
    int port;            /* default 6379 */
    char user[128];      /* ACL user; "" = the default user */
    char password[512];  /* "" = no AUTH */
    int db;              /* SELECTed after connecting when not 0 */
    bool verify_peer;    /* ssl_cert_reqs=required (default) | none */
    bool verify_host;    /* ssl_check_hostname=true (default) | false */
    bool tls_option_set; /* an ssl_* option was given (refused on redis://) */
    char ca_file[1024];  /* REDIS_CA_FILE for rediss://; "" = the system's CAs */
} ea_redis_url;

/* Parses redis[s]://[[user:]password@]host[:port][/db][?option=value&...]. The user name and
 * password are percent-decoded; options: db=N, ssl_cert_reqs=required|none,
 * ssl_check_hostname=true|false. ca_file (REDIS_CA_FILE, may be NULL) must be readable when the
 * URL is rediss://. EA_ERR_INVALID on anything else, with a message that names the part that is
 * wrong and never contains the password. */
ea_rc ea_redis_url_parse(const char *url, const char *ca_file, ea_redis_url *out,
                         struct ea_err *err) EA_WUR;

/* Writes "redis[s]://[user][:***@]host:port/db" (no password) into buf; returns buf. */
const char *ea_redis_url_describe(const ea_redis_url *u, char *buf, size_t cap);

/* Connects (timeout_ms for connect and for each command), AUTHs and SELECTs as the URL says.
 * NULL with err filled on failure (the message names the server and the cause, never the
 * password); the caller owns the context (redisFree). */
redisContext *ea_redis_connect(const char *url, int timeout_ms, struct ea_err *err);

/* Returns reply when it is not NULL and not an error reply; otherwise frees it, fills err and
 * returns NULL. A NULL reply means the connection is broken (c->err set). */
redisReply *ea_redis_check(redisContext *c, redisReply *reply, const char *what,
                           struct ea_err *err);

#endif
