/*
 * auth.h — who is calling graphql-api: "Authorization: Bearer <api key>" (lib/apikey) or the
 * session cookie of an OIDC login (session.c). HTTP requests and WebSocket connection_init
 * payloads both end here, so every entry point authenticates the same way.
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
    GQL_AUTH_UNAVAILABLE, /* the database could not be asked */
} gql_auth_status;

/* Authenticates an HTTP request (Authorization header, else session cookie). */
gql_auth_status gql_auth_request(gql_app *app, const h2o_req_t *req, gql_principal *out);

/* Authenticates credentials given as values: an Authorization header value (may be NULL) and
 * a Cookie header value (may be NULL). Used for WebSocket connection_init payloads. */
gql_auth_status gql_auth_values(gql_app *app, const char *authorization, size_t alen,
                                const char *cookie, size_t clen, gql_principal *out);

#endif
