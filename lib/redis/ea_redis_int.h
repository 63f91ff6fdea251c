/*
 * ea_redis_int.h — internals shared by ea_redis.c (connection, commands) and ea_redis_tls.c
 * (OpenSSL contexts and the handshake). Not for use outside lib/redis.
 */
#ifndef EA_REDIS_INT_H
#define EA_REDIS_INT_H

#include "ea_redis.h"

#include <openssl/ssl.h>
#include <stdint.h>

struct ea_redis {
    int fd;
    SSL *ssl;            /* NULL on redis:// */
    redisReader *reader; /* hiredis: parses replies from the bytes read */
    char *obuf;          /* queued request bytes; [opos, olen) not yet sent */
    size_t olen, opos, ocap;
    int timeout_ms;
    bool broken, peer_closed;
    bool tls_want_write; /* SSL_read asked for a write (renegotiation, key update) */
    char where[400];     /* ea_redis_url_describe: for messages */
};

/* Waits until c's socket is ready for `events` or the deadline (ms, ea_time_now_ms clock).
 * EA_OK when ready; on timeout or poll failure marks c broken and fills err with
 * "could not <what>: ... timed out after N ms". */
ea_rc ea_redis__wait(ea_redis *c, short events, int64_t deadline, int timeout_ms, const char *what,
                     struct ea_err *err);

/* Runs the TLS handshake on c->fd for u (SNI, peer and host name verification as u says), each
 * wait bounded by the deadline. On success c->ssl is set; otherwise err names the cause. */
ea_rc ea_redis__tls_handshake(ea_redis *c, const ea_redis_url *u, int64_t deadline,
                              struct ea_err *err);

/* Fills err for a failed SSL_read/SSL_write (ssl_err from SSL_get_error), marks c broken. */
void ea_redis__tls_io_error(ea_redis *c, int ssl_err, const char *what, struct ea_err *err);

#endif
