/*
 * transport.c — the HTTP face of the GraphQL engine. Status codes (SPEC §6): with
 * application/json every GraphQL result, errors included, is 200 (Apollo Client drops GraphQL
 * errors of non-200 responses); with application/graphql-response+json, request errors (parse,
 * validation, variables) are 400 and carry no "data". GET runs queries only (405 otherwise).
 */
#include "transport.h"
#include "auth.h"
#include "ea_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

static const char *media_name(gql_media m)
{
    return m == GQL_MEDIA_GRAPHQL_JSON ? "application/graphql-response+json; charset=utf-8"
                                       : "application/json; charset=utf-8";
}

gql_media gql_negotiate(const char *accept, size_t len)
{
    if (accept == NULL || len == 0)
        return GQL_MEDIA_JSON;
    double best_q = 0;
    gql_media best = GQL_MEDIA_NONE;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && accept[i] != ',')
            i++;
        /* one media range: type/subtype *(; param) */
        const char *r = accept + start;
        size_t rl = i - start;
        i++; /* skip ',' */
        while (rl > 0 && (*r == ' ' || *r == '\t'))
            r++, rl--;
        size_t tl = 0;
        while (tl < rl && r[tl] != ';' && r[tl] != ' ')
            tl++;
        double q = 1.0;
        const char *qp = NULL;
        for (size_t k = tl; k + 2 < rl; k++) {
            if (r[k] == ';') {
                size_t m = k + 1;
                while (m < rl && r[m] == ' ')
                    m++;
                if (m + 1 < rl && (r[m] == 'q' || r[m] == 'Q') && r[m + 1] == '=')
                    qp = r + m + 2;
            }
        }
        if (qp != NULL) {
            char tmp[8] = {0};
            size_t ql = 0;
            while (ql < 7 && qp + ql < r + rl && qp[ql] != ';' && qp[ql] != ' ')
                ql++;
            memcpy(tmp, qp, ql);
            q = strtod(tmp, NULL);
        }
        if (q <= 0)
            continue;
        gql_media m = GQL_MEDIA_NONE;
        bool exact = false;
#define IS(s) (tl == sizeof(s) - 1 && strncasecmp(r, s, tl) == 0)
        if (IS("application/graphql-response+json"))
            m = GQL_MEDIA_GRAPHQL_JSON, exact = true;
        else if (IS("application/json"))
            m = GQL_MEDIA_JSON, exact = true;
        else if (IS("*/*") || IS("application/*"))
            m = GQL_MEDIA_JSON;
#undef IS
        if (m == GQL_MEDIA_NONE)
            continue;
        if (q > best_q || (q == best_q && exact && m == GQL_MEDIA_GRAPHQL_JSON)) {
            best_q = q;
            best = m;
        }
    }
    return best;
}

static json_t *error_list(const char *message, const char *code)
{
    return json_pack("{s:[{s:s,s:{s:s}}]}", "errors", "message", message, "extensions", "code",
                     code);
}

static void send_result(h2o_req_t *req, gql_media media, json_t *body, bool request_error)
{
    int status = request_error && media == GQL_MEDIA_GRAPHQL_JSON ? 400 : 200;
    ea_http_send_json(req, status, body, media_name(media));
}

/* Decodes %XX and '+' of a query-string value into a malloc'd string. */
static char *url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < len + 0 && isxdigit((unsigned char)s[i + 1]) &&
                   isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Finds name=value in the query string of req; returns a malloc'd decoded value or NULL. */
static char *query_param(const h2o_req_t *req, const char *name)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *q = req->path.base + req->query_at + 1;
    size_t len = req->path.len - req->query_at - 1, nl = strlen(name);
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end - i > nl && strncmp(q + i, name, nl) == 0 && q[i + nl] == '=')
            return url_decode(q + i + nl + 1, end - i - nl - 1);
        i = end + 1;
    }
    return NULL;
}

static const char graphiql_page[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>GraphiQL — event analytics"
    "</title><link rel=\"stylesheet\" href=\"https://unpkg.com/graphiql@3/graphiql.min.css\">"
    "</head><body style=\"margin:0\"><div id=\"g\" style=\"height:100vh\"></div>"
    "<script src=\"https://unpkg.com/react@18/umd/react.production.min.js\"></script>"
    "<script src=\"https://unpkg.com/react-dom@18/umd/react-dom.production.min.js\"></script>"
    "<script src=\"https://unpkg.com/graphiql@3/graphiql.min.js\"></script><script>"
    "const f=GraphiQL.createFetcher({url:location.pathname});"
    "ReactDOM.createRoot(document.getElementById('g')).render(React.createElement(GraphiQL,"
    "{fetcher:f}));</script></body></html>";

static bool wants_html(const h2o_req_t *req)
{
    const h2o_iovec_t *a = ea_http_header(req, "accept", NULL);
    return a != NULL && a->len >= 9 && memmem(a->base, a->len, "text/html", 9) != NULL;
}

static int on_graphql(void *ud, h2o_req_t *req)
{
    gql_app *app = ud;
    bool get = ea_http_method_is(req, "GET"), post = ea_http_method_is(req, "POST");
    if (!get && !post) {
        ea_http_add_header(req, "Allow", "GET, POST");
        ea_http_send_error(req, 405, "method_not_allowed", "use GET or POST /graphql");
        return 0;
    }
    char *gq = get ? query_param(req, "query") : NULL;
    if (get && gq == NULL && wants_html(req) && app->cfg->graphiql) {
        ea_http_send_bytes(req, 200, "text/html; charset=utf-8", graphiql_page,
                           sizeof(graphiql_page) - 1);
        return 0;
    }
    const h2o_iovec_t *acc = ea_http_header(req, "accept", NULL);
    gql_media media = gql_negotiate(acc ? acc->base : NULL, acc ? acc->len : 0);
    if (media == GQL_MEDIA_NONE) {
        free(gq);
        ea_http_send_json(req, 406,
                          error_list("Accept must allow application/graphql-response+json or "
                                     "application/json",
                                     "NOT_ACCEPTABLE"),
                          NULL);
        return 0;
    }

    /* authentication (auth.c): API key or session; scopes are checked by each resolver */
    gql_request_ctx rc = {.app = app};
    gql_auth_status as = gql_auth_request(app, req, &rc.who);
    if (as != GQL_AUTH_OK) {
        free(gq);
        if (as == GQL_AUTH_UNAVAILABLE) {
            ea_http_send_json(req, 503,
                              error_list("could not verify credentials: database unavailable",
                                         "SERVICE_UNAVAILABLE"),
                              media_name(media));
            return 0;
        }
        ea_http_add_header(req, "WWW-Authenticate", "Bearer");
        ea_http_send_json(req, 401,
                          error_list(as == GQL_AUTH_MISSING
                                         ? "authentication required: send Authorization: Bearer "
                                           "<key> or sign in"
                                         : "unknown, revoked or expired credentials",
                                     "UNAUTHENTICATED"),
                          media_name(media));
        return 0;
    }

    json_t *params = NULL, *variables = NULL;
    const char *query = NULL, *op_name = NULL;
    char *gvars = NULL, *gop = NULL;
    if (post) {
        const h2o_iovec_t *ct = ea_http_header(req, "content-type", NULL);
        if (ct == NULL || ct->len < 16 || strncasecmp(ct->base, "application/json", 16) != 0) {
            ea_http_send_json(req, 415,
                              error_list("Content-Type must be application/json",
                                         "UNSUPPORTED_MEDIA_TYPE"),
                              media_name(media));
            return 0;
        }
        json_error_t je;
        params = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, 0, &je);
        if (!json_is_object(params)) {
            json_decref(params);
            char msg[256];
            snprintf(msg, sizeof(msg), "request body is not a JSON object: %s", je.text);
            ea_http_send_json(req, 400, error_list(msg, "BAD_REQUEST"), media_name(media));
            return 0;
        }
        const json_t *q = json_object_get(params, "query");
        const json_t *v = json_object_get(params, "variables");
        const json_t *o = json_object_get(params, "operationName");
        if (!json_is_string(q) || (v != NULL && !json_is_null(v) && !json_is_object(v)) ||
            (o != NULL && !json_is_null(o) && !json_is_string(o))) {
            json_decref(params);
            ea_http_send_json(req, 400,
                              error_list("body must be {\"query\": string, \"variables\"?: "
                                         "object, \"operationName\"?: string}",
                                         "BAD_REQUEST"),
                              media_name(media));
            return 0;
        }
        query = json_string_value(q);
        variables = json_is_object(v) ? json_incref((json_t *)v) : NULL;
        op_name = json_string_value(o);
    } else {
        if (gq == NULL) {
            ea_http_send_json(req, 400, error_list("missing query parameter", "BAD_REQUEST"),
                              media_name(media));
            return 0;
        }
        query = gq;
        gvars = query_param(req, "variables");
        gop = query_param(req, "operationName");
        op_name = gop != NULL && gop[0] != '\0' ? gop : NULL;
        if (gvars != NULL && gvars[0] != '\0') {
            json_error_t je;
            variables = json_loads(gvars, 0, &je);
            if (!json_is_object(variables)) {
                json_decref(variables);
                free(gq);
                free(gvars);
                free(gop);
                ea_http_send_json(req, 400,
                                  error_list("variables must be a JSON object", "BAD_REQUEST"),
                                  media_name(media));
                return 0;
            }
        }
    }

    json_t *errors = NULL, *result = NULL;
    ea_gql_document *doc = ea_gql_prepare(app->schema, query, strlen(query), &app->limits, &errors);
    if (doc == NULL) {
        send_result(req, media, json_pack("{s:o}", "errors", errors), true);
        goto out;
    }
    ea_gql_op_type type;
    if (ea_gql_operation_type(doc, op_name, &type, &errors) != 0) {
        send_result(req, media, json_pack("{s:o}", "errors", errors), true);
        goto out;
    }
    if (get && type != EA_GQL_OP_QUERY) {
        ea_http_add_header(req, "Allow", "POST");
        ea_http_send_json(req, 405,
                          error_list("only queries may be sent with GET; use POST",
                                     "METHOD_NOT_ALLOWED"),
                          media_name(media));
        goto out;
    }
    if (type == EA_GQL_OP_SUBSCRIPTION) {
        send_result(req, media,
                    error_list("subscriptions run over WebSocket (graphql-transport-ws) at "
                               "/graphql",
                               "BAD_REQUEST"),
                    true);
        goto out;
    }
    bool request_error = false;
    result = ea_gql_execute(app->schema, doc, op_name, variables, NULL, &rc, &app->limits,
                            &request_error);
    send_result(req, media, result, request_error);
out:
    ea_gql_document_free(doc);
    json_decref(params);
    json_decref(variables);
    free(gq);
    free(gvars);
    free(gop);
    return 0;
}

static int on_healthz(void *ud, h2o_req_t *req)
{
    ea_http_send_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return 0;
}

static int on_readyz(void *ud, h2o_req_t *req)
{
    gql_app *app = ud;
    PGconn *c = gql_app_db(app);
    bool db = false;
    if (c != NULL) {
        PGresult *r = PQexec(c, "SELECT 1");
        db = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    ea_http_send_json(req, db ? 200 : 503,
                      json_pack("{s:s,s:b}", "status", db ? "ready" : "not ready", "postgres", db),
                      NULL);
    return 0;
}

void gql_transport_register(ea_http_server *s, gql_app *app)
{
    ea_http_route(s, "/graphql", on_graphql, app);
    ea_http_route(s, "/healthz", on_healthz, app);
    ea_http_route(s, "/readyz", on_readyz, app);
}
