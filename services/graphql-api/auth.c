/*
 * auth.c — credential checks for graphql-api. API keys go through the shared caching verifier
 * (lib/apikey/ea_keyauth); a key needs no particular scope to authenticate — each resolver asks
 * for the scope it needs through gql_principal_can(). Without an Authorization header, the
 * session cookie of an OIDC login (session.c) identifies a user. An Authorization header wins
 * over a cookie: a script holding a key means the key, whatever cookies its client keeps.
 */
#include "auth.h"
#include "ea_http.h"
#include "session.h"

#include <string.h>

gql_auth_status gql_auth_values(gql_app *app, const char *authorization, size_t alen,
                                const char *cookie, size_t clen, gql_principal *out)
{
    memset(out, 0, sizeof(*out));
    if (authorization == NULL) {
        switch (gql_session_principal(app, cookie, clen, out)) {
        case 0:
            return GQL_AUTH_OK;
        case 2:
            return GQL_AUTH_INVALID;
        case 3:
            return GQL_AUTH_UNAVAILABLE;
        default:
            return GQL_AUTH_MISSING;
        }
    }
    out->kind = GQL_PRINCIPAL_KEY;
    switch (ea_keyauth_check(app->auth, authorization, alen, &out->key)) {
    case EA_KEYAUTH_OK:
        return GQL_AUTH_OK;
    case EA_KEYAUTH_MISSING:
        return GQL_AUTH_MISSING;
    case EA_KEYAUTH_UNAVAILABLE:
        return GQL_AUTH_UNAVAILABLE;
    default:
        return GQL_AUTH_INVALID;
    }
}

gql_auth_status gql_auth_request(gql_app *app, const h2o_req_t *req, gql_principal *out)
{
    int na, nc;
    const h2o_iovec_t *a = ea_http_header(req, "authorization", &na);
    const h2o_iovec_t *c = ea_http_header(req, "cookie", &nc);
    if (na > 1)
        return GQL_AUTH_INVALID; /* two Authorization headers: ambiguous, refuse */
    return gql_auth_values(app, a ? a->base : NULL, a ? a->len : 0, c ? c->base : NULL,
                           c ? c->len : 0, out);
}
