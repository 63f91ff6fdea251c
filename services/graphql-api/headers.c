/*
 * headers.c — security headers of graphql-api's answers (see headers.h). Why each one:
 *   X-Content-Type-Options: nosniff  a JSON answer is never sniffed into HTML or script;
 *   X-Frame-Options: DENY + CSP frame-ancestors 'none'  no page of another site may frame the
 *       dashboard, GraphiQL or an answer (clickjacking: a framed dashboard under a decoy);
 *   Referrer-Policy  URLs (GET /graphql carries the query and its variables) do not leave;
 *   Content-Security-Policy  API answers may run and load nothing; the dashboard only this
 *       origin's scripts (Vite emits no inline script), styles inline too (React style props,
 *       Recharts), fetch and WebSocket to this origin only; GraphiQL is a page of the dashboard
 *       (its own bundle, web/src/pages/GraphiQLPage.tsx) under the same policy: GET /graphql
 *       from a browser redirects there;
 *   Cache-Control: no-store  on API answers: a GET /graphql answer holds a tenant's data and may
 *       not be kept by a browser or proxy cache (the Redis cache is the server's business).
 */
#include "headers.h"
#include "ea_log.h"

#include <string.h>

static const char csp_api[] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                              "form-action 'none'";
static const char csp_dashboard[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static void set(h2o_req_t *req, const char *name, const char *value)
{
    h2o_set_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, value,
                          strlen(value), 1);
}

void gql_headers_set(h2o_req_t *req, gql_headers_kind kind)
{
    set(req, "X-Content-Type-Options", "nosniff");
    set(req, "X-Frame-Options", "DENY");
    set(req, "Referrer-Policy", kind == GQL_HEADERS_API ? "no-referrer" : "same-origin");
    switch (kind) {
    case GQL_HEADERS_API:
        set(req, "Content-Security-Policy", csp_api);
        set(req, "Cache-Control", "no-store");
        break;
    case GQL_HEADERS_DASHBOARD:
        set(req, "Content-Security-Policy", csp_dashboard);
        break;
    case GQL_HEADERS_ASSET:
        break;
    }
}

struct route {
    ea_http_handler_fn fn;
    void *ud;
};

/* the routes live as long as the process and are few: a fixed table, nothing to free */
static struct route routes[16];
static size_t nroutes;

static int with_headers(void *ud, h2o_req_t *req)
{
    struct route *r = ud;
    gql_headers_set(req, GQL_HEADERS_API);
    return r->fn(r->ud, req);
}

void gql_route(ea_http_server *s, const char *path, ea_http_handler_fn fn, void *ud)
{
    if (nroutes == sizeof(routes) / sizeof(routes[0])) {
        ea_log_error("startup", "gql_route: more than %zu routes; %s has no security headers",
                     nroutes, path);
        ea_http_route(s, path, fn, ud);
        return;
    }
    struct route *r = &routes[nroutes++];
    r->fn = fn;
    r->ud = ud;
    ea_http_route(s, path, with_headers, r);
}
