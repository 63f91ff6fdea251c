/*
 * transport.c — the HTTP face of the GraphQL engine. Status codes (SPEC §6): with
 * application/json every GraphQL result, errors included, is 200 (Apollo Client drops GraphQL
 * errors of non-200 responses); with application/graphql-response+json, request errors (parse,
 * validation, variables) are 400 and carry no "data". GET runs queries only (405 otherwise).
 */
#include "transport.h"
#include "auth.h"
#include "cache.h"
#include "doccache.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_rollup_dec.h"
#include "headers.h"
#include "ws.h"

#include <h2o/websocket.h>
#include <openssl/sha.h>

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

/* A result as JSON text whose Float values print as the shortest text that reads back as the
 * same double (lib/rollup: 9.99, not 9.9900000000000002). malloc'd; NULL on out of memory. */
static char *dump_result(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                             JSON_REAL_PRECISION(ea_dec_real_precision(v)));
}

static void send_result(h2o_req_t *req, gql_media media, json_t *body, bool request_error)
{
    int status = request_error && media == GQL_MEDIA_GRAPHQL_JSON ? 400 : 200;
    char *text = dump_result(body);
    json_decref(body);
    if (text == NULL) {
        ea_http_send_json(req, 500, error_list("out of memory", "INTERNAL_SERVER_ERROR"), NULL);
        return;
    }
    ea_http_send_bytes(req, status, media_name(media), text, strlen(text));
    free(text);
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

static bool wants_html(const h2o_req_t *req)
{
    const h2o_iovec_t *a = ea_http_header(req, "accept", NULL);
    return a != NULL && a->len >= 9 && memmem(a->base, a->len, "text/html", 9) != NULL;
}

/* ---- whole-response cache ----
 * A query whose root fields are all `metrics` is stored whole (the bytes sent) next to the
 * (tenant, metric, generation) of each field, so a repeat costs two Redis round trips and no
 * JSON work. It is served only when every generation is still current and the caller may read
 * every tenant in it (checked again on each hit). Entry: "<n>\n" + n × "<tenant>\t<metric>\t
 * <gen>\n" + body. */
static void response_key(const char *query, const char *op_name, const json_t *variables,
                         gql_media media, char key[96])
{
    char *vars = variables != NULL ? json_dumps(variables, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    size_t ql = strlen(query), ol = op_name ? strlen(op_name) : 0, vl = vars ? strlen(vars) : 0;
    unsigned char *in = malloc(ql + ol + vl + 4), md[SHA256_DIGEST_LENGTH];
    key[0] = '\0';
    if (in != NULL) {
        size_t n = 0;
        memcpy(in + n, query, ql), n += ql, in[n++] = 0;
        if (ol)
            memcpy(in + n, op_name, ol), n += ol;
        in[n++] = 0;
        if (vl)
            memcpy(in + n, vars, vl), n += vl;
        in[n++] = (unsigned char)media;
        SHA256(in, n, md);
        int off = snprintf(key, 96, "ea:rc:");
        for (int i = 0; i < 20; i++)
            off += snprintf(key + off, 96 - (size_t)off, "%02x", md[i]);
    }
    free(in);
    free(vars);
}

/* Serves the cached response for key if still valid; true when it answered. *bytes: the size
 * of the entry read (its buffer is freed before returning). */
static bool response_from_cache(gql_app *app, gql_request_ctx *rc, h2o_req_t *req, gql_media media,
                                const char *key, size_t *bytes)
{
    size_t len = 0;
    char *v = gql_cache_raw_get(app->cache, key, &len);
    if (v == NULL)
        return false;
    *bytes = len;
    bool ok = false;
    char *p = v, *end = v + len;
    long n = strtol(p, &p, 10);
    const char *tenants[16], *metrics[16], *gens[16];
    if (n < 1 || n > 16 || *p != '\n')
        goto out;
    p++;
    for (long i = 0; i < n; i++) {
        char *t = p, *m = memchr(t, '\t', (size_t)(end - t));
        char *g = m ? memchr(m + 1, '\t', (size_t)(end - m - 1)) : NULL;
        char *nl = g ? memchr(g + 1, '\n', (size_t)(end - g - 1)) : NULL;
        if (nl == NULL)
            goto out;
        *m = *g = *nl = '\0';
        tenants[i] = t, metrics[i] = m + 1, gens[i] = g + 1;
        p = nl + 1;
        if (!gql_principal_can(app, &rc->who, tenants[i], EA_SCOPE_READ))
            goto out; /* let execution produce the FORBIDDEN error */
    }
    char now[16][48];
    if (p >= end || end[-1] != '}' ||
        !gql_cache_generations(app->cache, (int)n, tenants, metrics, now))
        goto out;
    for (long i = 0; i < n; i++)
        if (strcmp(now[i], gens[i]) != 0)
            goto out;
    static const char ext[] = ",\"extensions\":{\"cacheHit\":true}}";
    size_t blen = (size_t)(end - p) - 1;
    char *body = h2o_mem_alloc_pool(&req->pool, blen + sizeof(ext));
    memcpy(body, p, blen);
    memcpy(body + blen, ext, sizeof(ext));
    ea_http_add_header(req, "X-Cache", "HIT");
    ea_http_send_bytes(req, 200, media_name(media), body, blen + sizeof(ext) - 1);
    ok = true;
out:
    free(v);
    return ok;
}

/* Stores a just-computed response (before its extensions are added) when it may be reused. */
static void response_to_cache(gql_app *app, const gql_request_ctx *rc, const char *key,
                              const json_t *result)
{
    if (rc->ndeps < 1 || rc->other_fields > 0 || json_object_get(result, "errors") != NULL ||
        key[0] == '\0')
        return;
    char *body = dump_result(result);
    if (body == NULL)
        return;
    size_t bl = strlen(body), cap = bl + 16 + (size_t)rc->ndeps * 256, off = 0;
    char *e = malloc(cap);
    if (e != NULL) {
        off += (size_t)snprintf(e, cap, "%d\n", rc->ndeps);
        for (int i = 0; i < rc->ndeps; i++)
            off += (size_t)snprintf(e + off, cap - off, "%s\t%s\t%s\n", rc->deps[i].tenant,
                                    rc->deps[i].metric, rc->deps[i].gen);
        memcpy(e + off, body, bl);
        gql_cache_raw_put(app->cache, key, e, off + bl, rc->ttl_s);
    }
    free(e);
    free(body);
}

/* A request waiting for its caller's key to be verified: lives in the request's pool; if the
 * client goes away first, the dispose callback forgets the wait. */
struct http_wait {
    gql_auth_wait w; /* first: the callback gets &w */
    gql_request_ctx rc;
    h2o_req_t *req;
    gql_media media;
    char *gq; /* GET's query parameter (malloc'd) */
};

static void graphql_authed(struct http_wait *hw, gql_auth_status as);

/* 429 for a client over a failed-attempt limit (ud: the media type's name). */
static void send_limited(h2o_req_t *req, void *ud)
{
    ea_http_send_json(req, 429,
                      error_list("too many failed API key attempts from this address or for this "
                                 "key; retry later",
                                 "TOO_MANY_FAILED_ATTEMPTS"),
                      ud);
}

static void http_wait_dispose(void *obj)
{
    struct http_wait *hw = obj;
    gql_auth_cancel(&hw->w);
    free(hw->gq);
}

static void on_authenticated(gql_auth_wait *w, gql_auth_status st)
{
    graphql_authed((struct http_wait *)w, st);
}

static int on_graphql(void *ud, h2o_req_t *req)
{
    gql_app *app = ud;
    const char *ws_key = NULL;
    if (h2o_is_websocket_handshake(req, &ws_key) == 0 && ws_key != NULL && app->ws != NULL)
        return gql_ws_upgrade(app->ws, req, ws_key);
    bool get = ea_http_method_is(req, "GET"), post = ea_http_method_is(req, "POST");
    if (!get && !post) {
        ea_http_add_header(req, "Allow", "GET, POST");
        ea_http_send_error(req, 405, "method_not_allowed", "use GET or POST /graphql");
        return 0;
    }
    char *gq = get ? query_param(req, "query") : NULL;
    if (get && gq == NULL && wants_html(req) && app->cfg->graphiql) {
        /* GraphiQL is a page of the dashboard (web/, its own bundle: same origin, no CDN) */
        static const char body[] = "GraphiQL is at /graphiql\n";
        gql_headers_set(req, GQL_HEADERS_API);
        ea_http_add_header(req, "Location", "/graphiql");
        ea_http_send_bytes(req, 302, "text/plain; charset=utf-8", body, sizeof(body) - 1);
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

    /* authentication (auth.c): API key or session; scopes are checked by each resolver. A key
     * not in the cache waits for a key-verifier thread: the rest runs in graphql_authed. */
    struct http_wait *hw = h2o_mem_alloc_shared(&req->pool, sizeof(*hw), http_wait_dispose);
    memset(hw, 0, sizeof(*hw));
    hw->req = req;
    hw->media = media;
    hw->gq = gq;
    hw->rc.app = app;
    hw->w.cb = on_authenticated;
    gql_auth_status as = gql_auth_request(app, &hw->w, req, &hw->rc.who);
    if (as != GQL_AUTH_PENDING)
        graphql_authed(hw, as);
    return 0;
}

/* The rest of a GraphQL request once its caller is known (or refused). */
static void graphql_authed(struct http_wait *hw, gql_auth_status as)
{
    h2o_req_t *req = hw->req;
    gql_request_ctx *rc = &hw->rc;
    gql_app *app = rc->app;
    gql_media media = hw->media;
    bool get = ea_http_method_is(req, "GET"), post = !get;
    char *gq = hw->gq;
    hw->gq = NULL; /* freed below, not by the pool's dispose */
    if (as != GQL_AUTH_OK) {
        free(gq);
        char ra[32];
        snprintf(ra, sizeof(ra), "%ld", hw->w.retry_after_s);
        if (as == GQL_AUTH_UNAVAILABLE || as == GQL_AUTH_BUSY) {
            if (as == GQL_AUTH_BUSY)
                ea_http_add_header(req, "Retry-After", ra);
            ea_http_send_json(req, 503,
                              error_list(as == GQL_AUTH_BUSY
                                             ? "too many API keys waiting for verification; "
                                               "retry shortly"
                                             : "could not verify credentials: database unavailable",
                                         "SERVICE_UNAVAILABLE"),
                              media_name(media));
            return;
        }
        if (as == GQL_AUTH_LIMITED) {
            ea_http_add_header(req, "Retry-After", ra);
            if (app->tarpit != NULL) /* late, like ingest-api's (docs/SECURITY.md) */
                ea_http_delay(app->tarpit, req, send_limited, (void *)media_name(media));
            else
                send_limited(req, (void *)media_name(media));
            return;
        }
        if (as == GQL_AUTH_FORBIDDEN) {
            ea_http_send_json(req, 403,
                              error_list("this API key has no read scope: graphql-api answers "
                                         "keys with the read scope (or a signed-in user)",
                                         "FORBIDDEN"),
                              media_name(media));
            return;
        }
        ea_http_add_header(req, "WWW-Authenticate", "Bearer");
        ea_http_send_json(req, 401,
                          error_list(as == GQL_AUTH_MISSING
                                         ? "authentication required: send Authorization: Bearer "
                                           "<key> or sign in"
                                         : "unknown, revoked or expired credentials",
                                     "UNAUTHENTICATED"),
                          media_name(media));
        return;
    }

    /* per key (or user) query rate limit in Redis; open when Redis is down */
    long retry_s = 0;
    char subject[160];
    long per_min = gql_principal_rate(app, &rc->who, subject, sizeof(subject));
    if (app->cache != NULL && !gql_cache_rate_allow(app->cache, subject, per_min, &retry_s)) {
        free(gq);
        char ra[32];
        snprintf(ra, sizeof(ra), "%ld", retry_s);
        ea_http_add_header(req, "Retry-After", ra);
        ea_http_send_json(req, 429,
                          error_list("query rate limit exceeded; retry later", "RATE_LIMITED"),
                          media_name(media));
        return;
    }

    json_t *params = NULL, *variables = NULL;
    const char *query = NULL, *op_name = NULL;
    char *gvars = NULL, *gop = NULL;
    if (post) {
        const h2o_iovec_t *ct = ea_http_header(req, "content-type", NULL);
        if (ct == NULL || ct->len < 16 || strncasecmp(ct->base, "application/json", 16) != 0) {
            ea_http_send_json(
                req, 415,
                error_list("Content-Type must be application/json", "UNSUPPORTED_MEDIA_TYPE"),
                media_name(media));
            return;
        }
        json_error_t je;
        params = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, 0, &je);
        if (!json_is_object(params)) {
            json_decref(params);
            char msg[256];
            snprintf(msg, sizeof(msg), "request body is not a JSON object: %s", je.text);
            ea_http_send_json(req, 400, error_list(msg, "BAD_REQUEST"), media_name(media));
            return;
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
            return;
        }
        query = json_string_value(q);
        variables = json_is_object(v) ? json_incref((json_t *)v) : NULL;
        op_name = json_string_value(o);
    } else {
        if (gq == NULL) {
            ea_http_send_json(req, 400, error_list("missing query parameter", "BAD_REQUEST"),
                              media_name(media));
            return;
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
                return;
            }
        }
    }

    json_t *errors = NULL, *result = NULL;
    ea_gql_exec_stats stats = {0, 0, false};
    /* borrowed from the document cache: valid until the next lookup, which is after this
     * request is answered (one loop thread) */
    const ea_gql_document *doc = gql_doccache_get(app->docs, query, strlen(query), &errors);
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
        ea_http_send_json(
            req, 405,
            error_list("only queries may be sent with GET; use POST", "METHOD_NOT_ALLOWED"),
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
    char rkey[96] = "";
    if (type == EA_GQL_OP_QUERY && app->cache != NULL &&
        (app->cfg->cache_ttl_hour_s > 0 || app->cfg->cache_ttl_day_s > 0)) {
        response_key(query, op_name, variables, media, rkey);
        if (rkey[0] != '\0' && response_from_cache(app, rc, req, media, rkey, &stats.bytes))
            goto out;
    }
    bool request_error = false;
    result = ea_gql_execute_counted(app->schema, doc, op_name, variables, NULL, rc, &app->limits,
                                    &request_error, &stats);
    if (rkey[0] != '\0' && !request_error)
        response_to_cache(app, rc, rkey, result);
    /* a hit only when every metrics field came from the cache */
    if (rc->cache_hits + rc->cache_misses > 0) {
        bool hit = rc->cache_misses == 0;
        json_t *ext = json_object_get(result, "extensions");
        if (!json_is_object(ext)) {
            ext = json_object();
            json_object_set_new(result, "extensions", ext);
        }
        json_object_set_new(ext, "cacheHit", json_boolean(hit));
        ea_http_add_header(req, "X-Cache", hit ? "HIT" : "MISS");
    }
    send_result(req, media, result, request_error);
out:
    json_decref(params);
    json_decref(variables);
    free(gq);
    free(gvars);
    free(gop);
    gql_app_memory_release(&stats); /* the answer's tree is freed by now */
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
    const char *redis_why = NULL;
    bool db = false, redis = app->cache != NULL && gql_cache_ping(app->cache, &redis_why);
    if (c != NULL) {
        PGresult *r = PQexec(c, "SELECT 1");
        struct ea_err err = {0};
        db = ea_pg_result_check(r, PGRES_TUPLES_OK, "ping postgresql", &err) == EA_OK;
        snprintf(app->db_error, sizeof(app->db_error), "%s", db ? "" : err.message);
        PQclear(r);
    }
    /* Redis is reported but not required: without it answers come from the database */
    ea_http_ready_part parts[] = {{"postgres", db, true, app->db_error},
                                  {"redis", redis, false, redis_why}};
    ea_http_send_ready(req, parts, sizeof(parts) / sizeof(parts[0]));
    return 0;
}

/* Prometheus text: the WebSocket side's gauges and counters (ws.c). */
static int on_metrics(void *ud, h2o_req_t *req)
{
    gql_app *app = ud;
    char *buf = h2o_mem_alloc_pool(&req->pool, 4096);
    size_t n = app->ws != NULL ? gql_ws_metrics(app->ws, buf, 4096) : 0;
    ea_http_send_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, n);
    return 0;
}

void gql_transport_register(ea_http_server *s, gql_app *app)
{
    gql_route(s, "/graphql", on_graphql, app); /* headers.c: security headers on every answer */
    gql_route(s, "/healthz", on_healthz, app);
    gql_route(s, "/readyz", on_readyz, app);
    gql_route(s, "/metrics", on_metrics, app);
}
