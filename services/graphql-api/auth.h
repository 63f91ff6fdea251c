/*
 * auth.h — who is calling graphql-api: "Authorization: Bearer <api key>" (lib/apikey) or the
 * session cookie of an OIDC login (session.c). HTTP requests and WebSocket connection_init
 * payloads both end here, so every entry point authenticates the same way. An API key that is
 * not in the verified-key cache is checked by a key-verifier thread (bcrypt never runs on the
 * loop): the caller then gets GQL_AUTH_PENDING and its callback later, on the loop. A session
 * cookie whose signature is good is looked up the same way, on a pool thread (exec.h): the loop
 * never waits on the database.
 */
#ifndef GQL_AUTH_H
#define GQL_AUTH_H

#include "app.h"

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef enum gql_auth_status {
    GQL_AUTH_OK = 0,
    GQL_AUTH_MISSING,     /* no credentials at all */
    GQL_AUTH_INVALID,     /* malformed, unknown, revoked or expired */
    GQL_AUTH_FORBIDDEN,   /* a valid API key without the read scope (SPEC §6): nothing here */
    GQL_AUTH_UNAVAILABLE, /* the database could not be asked */
    GQL_AUTH_LIMITED,     /* too many failed key attempts (address or key id): retry_after_s */
    GQL_AUTH_BUSY,        /* the key-verification queue (or the pool) is full: retry_after_s */
    GQL_AUTH_PENDING,     /* a thread decides: the callback will say */
} gql_auth_status;

/* One authentication in progress, embedded by the caller in memory that outlives it (or until
 * gql_auth_cancel). Set cb before gql_auth_begin. */
typedef struct gql_auth_wait gql_auth_wait;
typedef void (*gql_auth_cb)(gql_auth_wait *w, gql_auth_status st);
struct gql_auth_wait {
    ea_keyauth_waiter kw;          /* private */
    gql_app *app;                  /* private */
    gql_principal *out;            /* private */
    struct auth_session_job *sjob; /* private: a session being looked up on a pool thread */
    gql_auth_cb cb;
    long retry_after_s; /* GQL_AUTH_LIMITED / GQL_AUTH_BUSY */
};

/* Authenticates credentials given as values: an Authorization header value (may be NULL), a
 * Cookie header value (may be NULL) and the client's address (per-address failed-attempt
 * limit). Fills *out on GQL_AUTH_OK, now or before w->cb runs. */
gql_auth_status gql_auth_begin(gql_app *app, gql_auth_wait *w, const char *authorization,
                               size_t alen, const char *cookie, size_t clen, const char *client,
                               gql_principal *out);

/* The same for an HTTP request's headers (two Authorization headers: GQL_AUTH_INVALID). */
gql_auth_status gql_auth_request(gql_app *app, gql_auth_wait *w, h2o_req_t *req,
                                 gql_principal *out);

/* Forgets a pending authentication (its request or socket is gone). Safe when not pending. */
void gql_auth_cancel(gql_auth_wait *w);

/* True while the authentication waits for a key-verifier thread. */
bool gql_auth_pending(const gql_auth_wait *w);

/* The loop-side callback for ea_http_watch_new() on ea_keyauth_fd(): runs finished checks. */
void gql_auth_on_ready(void *app);

#endif
