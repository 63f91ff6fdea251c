/*
 * ea_err.h — error codes and the optional rich error context shared by every module.
 *
 * Functions return an `ea_rc` (EA_OK on success). When the caller wants details it passes a
 * `struct ea_err`; the callee fills code, message and (for PostgreSQL errors) SQLSTATE/detail/hint.
 * Not for: HTTP status mapping (services own that) or logging (see ea_log.h).
 */
#ifndef EA_ERR_H
#define EA_ERR_H

#include <stddef.h>

#define EA_WUR __attribute__((warn_unused_result))

typedef enum ea_rc {
    EA_OK = 0,
    EA_ERR_INVALID,     /* bad input from a caller or a client */
    EA_ERR_NOMEM,       /* allocation failed */
    EA_ERR_IO,          /* a socket, file or process call failed */
    EA_ERR_DB,          /* PostgreSQL reported an error */
    EA_ERR_KAFKA,       /* librdkafka reported an error */
    EA_ERR_REDIS,       /* Redis reported an error or is unreachable */
    EA_ERR_NOTFOUND,    /* the thing asked for does not exist */
    EA_ERR_LIMIT,       /* a configured limit was exceeded */
    EA_ERR_AUTH,        /* authentication or authorization failed */
    EA_ERR_CONFLICT,    /* a compare-and-set lost, e.g. a fenced consumer */
    EA_ERR_UNAVAILABLE, /* a dependency is down; retry later */
} ea_rc;

struct ea_err {
    ea_rc code;
    char sqlstate[6];  /* PostgreSQL SQLSTATE, "" otherwise */
    char message[512]; /* lowercase, "could not X: reason" */
    char detail[256];
    char hint[128];
};

/* Fills err (if non-NULL) with code and a printf-style message; returns code so callers can
 * `return ea_err_set(err, EA_ERR_IO, "could not open %s: %s", path, strerror(errno));`. */
ea_rc ea_err_set(struct ea_err *err, ea_rc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to EA_OK with empty strings. NULL is allowed. */
void ea_err_clear(struct ea_err *err);

/* A stable lowercase name for a code ("invalid", "db", ...), for logs and JSON. */
const char *ea_rc_name(ea_rc code);

#endif
