/*
 * ea_redis_int.h — internals shared by ea_redis.c (connection, commands) and ea_redis_tls.c
 * (OpenSSL contexts and the handshake). Not for use outside lib/redis.
 */
#ifndef EA_REDIS_INT_H
#define EA_REDIS_INT_H

#include "ea_redis.h"

#include "ea_buf.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>

struct ea_redis {
    int fd;
    SSL *ssl;            /* NULL on redis:// */
    redisReader *reader; /* hiredis: parses replies from the bytes read */
    ea_buf out;          /* queued request bytes; [opos, out.len) not yet sent */
    size_t opos;
    int timeout_ms;
    bool broken, peer_closed;
    bool guard_sigpipe;  /* the process did not ignore SIGPIPE at connect (see below) */
    bool tls_want_write; /* SSL_read asked for a write (renegotiation, key update) */
    char where[400];     /* ea_redis_url_describe: for messages */
};

/* OpenSSL writes through write(2) — in SSL_write, but also in SSL_read, SSL_connect and
 * SSL_shutdown when they send an alert — and on a connection the server closed that raises
 * SIGPIPE, which kills a process that does not ignore it (the services do; analytics-admin does
 * not). Around every OpenSSL I/O call: when c->guard_sigpipe, SIGPIPE is blocked in this thread
 * and one it raised is swallowed. Costs nothing when the process ignores SIGPIPE. */
typedef struct ea_redis__sigpipe {
    bool active;
    sigset_t old;
} ea_redis__sigpipe;
void ea_redis__sigpipe_hold(const ea_redis *c, ea_redis__sigpipe *s);
void ea_redis__sigpipe_release(ea_redis__sigpipe *s);

/* Waits until c's socket is ready for `events` or the deadline (ms, ea_time_now_ms clock).
 * EA_OK when ready; on timeout or poll failure marks c broken and fills err with
 * "could not <what>: ... timed out after N ms". */
ea_rc ea_redis__wait(ea_redis *c, short events, int64_t deadline, int timeout_ms, const char *what,
                     struct ea_err *err);

/* The process's client context for u's CA file, with a reference for the caller (SSL_CTX_free
 * it). Loading a CA bundle takes milliseconds (much more under a sanitizer): callers take the
 * context before a deadline starts, so no timeout is spent on it. NULL with err filled. */
SSL_CTX *ea_redis__tls_ctx(const ea_redis_url *u, const char *where, struct ea_err *err);

/* Runs the TLS handshake on c->fd with ctx for u (SNI, peer and host name verification as u
 * says), each wait bounded by the deadline. On success c->ssl is set; otherwise err names the
 * cause. ctx is not consumed. */
ea_rc ea_redis__tls_handshake(ea_redis *c, SSL_CTX *ctx, const ea_redis_url *u, int64_t deadline,
                              struct ea_err *err);

/* Fills err for a failed SSL_read/SSL_write (ssl_err from SSL_get_error), marks c broken. */
void ea_redis__tls_io_error(ea_redis *c, int ssl_err, const char *what, struct ea_err *err);

#endif
