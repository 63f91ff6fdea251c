/*
 * wsproto.h — the graphql-transport-ws protocol rules without any I/O: the shape of one client
 * message (graphql-ws validateMessage), what a connection in its current state must do with it
 * (the protocol's close codes), which operations a socket may run (no mutations), and close
 * reasons that always fit a close frame. ws.c does the sockets, authentication and
 * subscriptions; the fuzz driver tests/fuzz/ws_message/ drives these functions directly.
 */
#ifndef GQL_WSPROTO_H
#define GQL_WSPROTO_H

#include "ea_gql.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A close frame carries a 2-byte code and at most 123 bytes of UTF-8 reason (RFC 6455 5.5). */
#define GQL_WS_REASON_MAX 123

typedef enum gql_wsmsg_type {
    GQL_WSMSG_INVALID = 0,
    GQL_WSMSG_INIT,
    GQL_WSMSG_PING,
    GQL_WSMSG_PONG,
    GQL_WSMSG_SUBSCRIBE,
    GQL_WSMSG_COMPLETE,
} gql_wsmsg_type;

/* One parsed client message. Every pointer borrows from root. */
typedef struct gql_wsmsg {
    gql_wsmsg_type type;
    json_t *root;               /* owned; NULL when the frame was not a JSON object */
    const char *id;             /* SUBSCRIBE, COMPLETE: non-empty */
    const json_t *payload;      /* an object, or NULL (absent or null) */
    const char *query;          /* SUBSCRIBE */
    const char *operation_name; /* SUBSCRIBE: NULL when absent or null */
    const json_t *variables;    /* SUBSCRIBE: an object, or NULL */
    const char *authorization;  /* INIT: payload.authorization when a string, else NULL */
} gql_wsmsg;

/* What the protocol says one connection knows. ws.c sets acked once credentials are accepted. */
typedef struct gql_wsproto {
    bool init_received;
    bool acked;
} gql_wsproto;

typedef enum gql_wsact_kind {
    GQL_WSACT_NONE = 0,  /* nothing to answer (a pong arrived) */
    GQL_WSACT_CLOSE,     /* close with code and reason */
    GQL_WSACT_AUTH,      /* connection_init: check the credentials, then ack or close 4403 */
    GQL_WSACT_PONG,      /* answer with a pong echoing the ping's payload */
    GQL_WSACT_SUBSCRIBE, /* run the operation with this id (queries) or register it */
    GQL_WSACT_COMPLETE,  /* the client ends the operation with this id (unknown ids: nothing) */
} gql_wsact_kind;

typedef struct gql_wsact {
    gql_wsact_kind kind;
    int code;                           /* CLOSE */
    char reason[GQL_WS_REASON_MAX + 1]; /* CLOSE */
} gql_wsact;

/* Decides what one received frame means for a connection in state st (text: a text frame, else
 * binary). has_id(ud, id) says whether an operation with that id is running (4409). The
 * protocol state is updated (init_received). *m is filled as far as parsed; free it with
 * gql_wsmsg_free() whatever the action. */
void gql_wsproto_step(gql_wsproto *st, const char *data, size_t len, bool text,
                      bool (*has_id)(void *ud, const char *id), void *ud, gql_wsmsg *m,
                      gql_wsact *act);

void gql_wsmsg_free(gql_wsmsg *m);

/* Prepares a SUBSCRIBE message's operation under limits and finds its type. Mutations are
 * refused over a socket (METHOD_NOT_ALLOWED): a socket may be authenticated by a cookie, and a
 * revoked credential reaches an open socket only at its next re-check. Returns the document
 * (caller frees) with *type set, or NULL with *errors (a new array of GraphQL errors). */
ea_gql_document *gql_wsproto_prepare(const ea_gql_schema *s, const ea_gql_limits *limits,
                                     const gql_wsmsg *m, ea_gql_op_type *type, json_t **errors);

/* printf into out, then cut to at most GQL_WS_REASON_MAX bytes on a UTF-8 character boundary
 * (arguments are valid UTF-8, as jansson guarantees for message strings). Returns out. */
const char *gql_ws_reason(char out[GQL_WS_REASON_MAX + 1], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
