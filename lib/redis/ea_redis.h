/*
 * ea_redis.h — the one Redis connection every Redis user goes through (ingest rate limits,
 * graphql-api cache, query rate limit and pub/sub reader, the worker's change feed and alerts,
 * analytics-admin backfill): REDIS_URL parsing (redis://, rediss://, ACL user, password, db,
 * options), a plain or TLS (OpenSSL) transport, AUTH and SELECT, commands with a deadline.
 *
 * Debian's hiredis 0.14 has no TLS, so hiredis is used for the protocol only: redisFormatCommand
 * builds requests and its reader (redisReaderFeed/GetReply) parses replies from the bytes this
 * module moves; replies are ordinary redisReply objects (freeReplyObject).
 *
 * Two ways to drive a connection (one thread at a time):
 *   blocking:     ea_redis_command / ea_redis_append + ea_redis_reply, each bounded by the
 *                 connection's timeout (a timeout breaks the connection: a late reply would
 *                 otherwise be taken for the next command's);
 *   non-blocking: ea_redis_append, then on readiness of ea_redis_fd for ea_redis_poll_events:
 *                 ea_redis_io (never blocks) and ea_redis_reply_take until it returns 0.
 * Connecting itself blocks (bounded by the timeout); an event-loop user connects off the loop.
 *
 * Not for: cache, rate-limit or pub/sub policy, which the services own. No message from this
 * module contains the password.
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

typedef struct ea_redis ea_redis;

/* The most bytes of commands queued on one connection: Redis refuses a bulk string over
 * proto-max-bulk-len (512 MB by default), so a longer command could never run. */
#define EA_REDIS_VALUE_MAX ((size_t)512 << 20)

/* Connects to u: TCP (each address of the host in turn), then for rediss:// the TLS handshake
 * (peer and host name verified unless the URL says otherwise), then AUTH and SELECT. Each step
 * is bounded by timeout_ms, which also becomes the command timeout. NULL with err filled on
 * failure: the message names the server (without the password) and the cause — refused,
 * timeout, TLS handshake (certificate, host name, protocol), authentication. Caller frees. */
ea_redis *ea_redis_connect(const ea_redis_url *u, int timeout_ms, struct ea_err *err);

/* Closes the connection (TLS close_notify when possible) and frees it. NULL allowed. */
void ea_redis_free(ea_redis *c);

/* The command timeout (ms) for what follows. */
void ea_redis_set_timeout(ea_redis *c, int timeout_ms);

/* True once the transport failed, timed out or the stream could not be parsed: every later
 * call fails; free it and connect again. An error *reply* does not break a connection. */
bool ea_redis_broken(const ea_redis *c);

/* True when the break was the server closing the connection (EOF, reset, broken pipe) rather
 * than a timeout: a command sent on it was not executed, so sending it again on a new
 * connection cannot run it twice. */
bool ea_redis_closed_by_peer(const ea_redis *c);

/* Sends a command (hiredis format: %s, %b with a length, %d ...) and waits for its reply.
 * Returns the reply (caller frees with freeReplyObject) or NULL with err filled: an error reply
 * gives EA_ERR_REDIS (EA_ERR_AUTH for NOAUTH/WRONGPASS) with the server's text in err->detail
 * and keeps the connection; a transport failure or timeout gives EA_ERR_UNAVAILABLE and breaks
 * it. `what` completes "could not <what>: ...". */
redisReply *ea_redis_command(ea_redis *c, const char *what, struct ea_err *err, const char *fmt,
                             ...);

/* Queues a command without waiting (pipelining, or the non-blocking use). EA_ERR_NOMEM or
 * EA_ERR_INVALID (bad format) with err filled; nothing is sent before ea_redis_reply/_io. */
ea_rc ea_redis_append(ea_redis *c, struct ea_err *err, const char *fmt, ...) EA_WUR;
ea_rc ea_redis_append_argv(ea_redis *c, struct ea_err *err, int argc, const char **argv,
                           const size_t *argvlen) EA_WUR;

/* Sends what is queued and waits (up to the timeout) for the next reply; error replies and
 * failures as ea_redis_command. */
redisReply *ea_redis_reply(ea_redis *c, const char *what, struct ea_err *err);

/* Non-blocking use: the socket, the poll events to wait for (POLLIN, plus POLLOUT while queued
 * bytes remain or TLS needs to write), one step of I/O that never blocks (sends what it can,
 * reads what has arrived; EA_ERR_UNAVAILABLE and broken when the transport failed), and the
 * next parsed reply without any I/O (1 and *out set, 0 none yet, -1 protocol error: broken).
 * Replies taken this way are returned as they are, error replies included. */
int ea_redis_fd(const ea_redis *c);
short ea_redis_poll_events(const ea_redis *c);
ea_rc ea_redis_io(ea_redis *c, struct ea_err *err) EA_WUR;
int ea_redis_reply_take(ea_redis *c, redisReply **out, struct ea_err *err);

/* PUBLISH channel msg on *c (connected, not NULL). When the server had closed the connection
 * (a Redis restart shows only when the connection is next used) the message is published once
 * more on a new connection to u, which replaces *c; a timeout is not retried (the first PUBLISH
 * may have run). On failure err says why and *c is broken or NULL (the reconnect failed); on
 * success *receivers (may be NULL) is the number of subscribers that got it. */
ea_rc ea_redis_publish(ea_redis **c, const ea_redis_url *u, int timeout_ms, const char *channel,
                       const void *msg, size_t len, long long *receivers,
                       struct ea_err *err) EA_WUR;

/* The REDIS_URL and REDIS_CA_FILE entries of a config table (lib/config) for a struct `type`
 * whose members `url` and `ca` are const char *: one home for their names, defaults and help
 * (parse them with ea_redis_url_parse after the load); `use` says what the program needs Redis
 * for. */
/* clang-format off */
#define EA_REDIS_CONFIG_ENTRIES(type, url, ca, use)                                                \
    {"REDIS_URL", EA_CFG_STR, "redis://127.0.0.1:56379/0", 0, 0, offsetof(type, url),             \
     "Redis (" use "): redis[s]://[[user:]password@]host[:port][/db][?options]"},                  \
    {"REDIS_CA_FILE", EA_CFG_STR, NULL, 0, 0, offsetof(type, ca),                                 \
     "CA certificates (PEM) that sign a rediss:// server's certificate; unset: the system's"}
/* clang-format on */

#endif
