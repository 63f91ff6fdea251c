/*
 * headers.h — the security headers of every graphql-api answer (docs/SECURITY.md, "Browser
 * headers"): nosniff, no framing (X-Frame-Options DENY and CSP frame-ancestors 'none'), no
 * Referer leaving the site, a Content-Security-Policy per kind of answer, and Cache-Control:
 * no-store on API answers (a GET /graphql answer holds a tenant's data: no browser or proxy
 * cache may keep it). Not for: CORS (graphql-api serves the dashboard same-origin) or cookies
 * (session.c).
 */
#ifndef GQL_HEADERS_H
#define GQL_HEADERS_H

#include "ea_http.h"

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef enum gql_headers_kind {
    GQL_HEADERS_API = 0,   /* JSON: GraphQL, health, /auth redirects; nothing may render or run */
    GQL_HEADERS_DASHBOARD, /* the dashboard's index.html: scripts and styles from this origin */
    GQL_HEADERS_ASSET,     /* the dashboard's hashed files: no CSP, caching as static.c says */
} gql_headers_kind;

/* Sets (replacing earlier values of the same names) the headers of kind on req's response. */
void gql_headers_set(h2o_req_t *req, gql_headers_kind kind);

/* ea_http_route, with the API headers set before fn runs (fn may replace them). */
void gql_route(ea_http_server *s, const char *path, ea_http_handler_fn fn, void *ud);

#endif
