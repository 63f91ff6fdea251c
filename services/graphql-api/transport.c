/*
 * transport.c — the HTTP face of the GraphQL engine. Status codes (SPEC §6): with
 * application/json every GraphQL result, errors included, is 200 (Apollo Client drops GraphQL
 * errors of non-200 responses); with application/graphql-response+json, request errors (parse,
 * validation, variables) are 400 and carry no "data". GET runs queries only (405 otherwise).
 */
#include "transport.h"
#include "auth.h"
#include "bcache.h"
#include "doccache.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_rollup_dec.h"
#include "exec.h"
#include "fair.h"
#include "headers.h"
#include "ea_ratelimit.h"
#include "respcache.h"
#include "ws.h"

#include <h2o/websocket.h>

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

/* ---- answers ----
 * An answer is built where the operation ran (the loop, or a pool thread: serializing a large
 * result is work the loop should not do) and sent by the loop. The X-Cache header and
 * `extensions` say, per `metrics` field, whether its buckets came from the cache (bcache.h:
 * HIT no closed bucket read from PostgreSQL, PARTIAL some, MISS none from the cache) and which
 * source served it (rollups or raw_events); the answer's X-Cache is HIT when every field's is,
 * MISS when every field's is, else PARTIAL. */
typedef struct answer {
    char *body; /* malloc'd */
    size_t len;
    int status;
    const char *xcache; /* NULL: no metrics field */
    /* for the response cache: the answer without its closing brace and the extensions a hit
     * carries (every field HIT); NULL when it may not be reused */
    char *reuse_ext;
    size_t core_len;
} answer;

static const char *overall_cache(const gql_request_ctx *rc)
{
    int hit = 0, miss = 0;
    for (int i = 0; i < rc->nfields; i++) {
        hit += strcmp(rc->fields[i].cache, "HIT") == 0;
        miss += strcmp(rc->fields[i].cache, "MISS") == 0 || strcmp(rc->fields[i].cache, "OFF") == 0;
    }
    return hit == rc->nfields ? "HIT" : miss == rc->nfields ? "MISS" : "PARTIAL";
}

static json_t *cache_ext(const gql_request_ctx *rc, bool as_hit)
{
    const char *all = as_hit ? "HIT" : overall_cache(rc);
    json_t *fields = json_array();
    for (int i = 0; i < rc->nfields; i++) {
        const gql_field_stat *f = &rc->fields[i];
        json_array_append_new(fields, json_pack("{s:s,s:s,s:s,s:i,s:i}", "path", f->path, "cache",
                                                as_hit ? "HIT" : f->cache, "source", f->source,
                                                "buckets", f->buckets, "bucketsFromCache",
                                                as_hit ? f->buckets : f->cached));
    }
    return json_pack("{s:s,s:b,s:o}", "cache", all, "cacheHit", strcmp(all, "HIT") == 0, "metrics",
                     fields);
}

/* Serializes result (reference stolen) with the cache extensions into a. */
static void answer_build(const gql_request_ctx *rc, json_t *result, bool request_error,
                         gql_media media, answer *a)
{
    memset(a, 0, sizeof(*a));
    a->status = request_error && media == GQL_MEDIA_GRAPHQL_JSON ? 400 : 200;
    bool errors = json_object_get(result, "errors") != NULL;
    json_t *ext = rc->nfields > 0 ? cache_ext(rc, false) : NULL;
    if (ext != NULL)
        a->xcache = overall_cache(rc);
    char *core = dump_result(result);
    json_decref(result);
    char *ext_s = ext != NULL ? json_dumps(ext, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ext);
    size_t cl = core != NULL ? strlen(core) : 0, el = ext_s != NULL ? strlen(ext_s) : 0;
    if (core == NULL || cl < 2 || core[cl - 1] != '}' || (ext != NULL && ext_s == NULL)) {
        static const char oom[] = "{\"errors\":[{\"message\":\"out of memory\",\"extensions\":"
                                  "{\"code\":\"INTERNAL_SERVER_ERROR\"}}]}";
        a->body = strdup(oom);
        a->len = a->body != NULL ? strlen(a->body) : 0;
        a->status = 500;
        a->xcache = NULL;
        free(core);
        free(ext_s);
        return;
    }
    if (ext_s == NULL) {
        a->body = core;
        a->len = cl;
        return;
    }
    /* {"data":...} + ,"extensions":{...}} */
    a->body = malloc(cl + el + 16);
    if (a->body == NULL) {
        a->body = core;
        a->len = cl;
        free(ext_s);
        return;
    }
    memcpy(a->body, core, cl - 1);
    size_t off = cl - 1;
    static const char ext_key[] = ",\"extensions\":";
    memcpy(a->body + off, ext_key, sizeof(ext_key) - 1);
    off += sizeof(ext_key) - 1;
    memcpy(a->body + off, ext_s, el);
    off += el;
    a->body[off++] = '}';
    a->body[off] = '\0';
    a->len = off;
    a->core_len = cl - 1;
    free(core);
    free(ext_s);
    /* reusable: every root field a metrics field with its dependency recorded, no error */
    if (!errors && !request_error && rc->other_fields == 0 && rc->ndeps == rc->nfields &&
        rc->ndeps > 0) {
        json_t *hit = cache_ext(rc, true);
        a->reuse_ext = json_dumps(hit, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(hit);
    }
}

static void answer_send(h2o_req_t *req, gql_media media, answer *a)
{
    if (a->xcache != NULL)
        ea_http_add_header(req, "X-Cache", a->xcache);
    if (a->body == NULL) {
        ea_http_send_json(req, 500, error_list("out of memory", "INTERNAL_SERVER_ERROR"),
                          media_name(media));
        return;
    }
    ea_http_send_bytes(req, a->status, media_name(media), a->body, a->len);
}

static void answer_free(answer *a)
{
    free(a->body);
    free(a->reuse_ext);
    memset(a, 0, sizeof(*a));
}

/* Keeps a reusable answer (loop thread). */
static void answer_keep(gql_app *app, const gql_request_ctx *rc, const unsigned char *rkey,
                        const answer *a)
{
    if (a->reuse_ext == NULL || app->resp == NULL || rkey == NULL)
        return;
    gql_resp_dep deps[16];
    for (int i = 0; i < rc->ndeps; i++) {
        snprintf(deps[i].tenant, sizeof(deps[i].tenant), "%s", rc->deps[i].tenant);
        snprintf(deps[i].metric, sizeof(deps[i].metric), "%s", rc->deps[i].metric);
    }
    gql_respcache_put(app->resp, rkey, a->body, a->core_len, a->reuse_ext, deps, rc->ndeps,
                      rc->gen);
}

/* Answers from the response cache when the entry for rkey is still good: the caller's key may
 * read every tenant in it and no metric in it changed since it was read (bcache). Keys only: a
 * signed-in user's membership would need the database. */
static bool answer_from_cache(gql_app *app, const gql_request_ctx *rc, h2o_req_t *req,
                              gql_media media, const unsigned char *rkey)
{
    if (app->resp == NULL || rc->who.kind != GQL_PRINCIPAL_KEY)
        return false;
    const gql_resp_entry *e = gql_respcache_get(app->resp, rkey);
    if (e == NULL)
        return false;
    for (int i = 0; i < e->ndeps; i++) {
        if (gql_principal_may(NULL, &rc->who, e->deps[i].tenant, EA_SCOPE_READ) != 1)
            return false; /* let execution produce the FORBIDDEN error */
        if (!gql_bcache_unchanged(app->bcache, e->deps[i].tenant, e->deps[i].metric, e->gen)) {
            gql_respcache_drop(app->resp, rkey);
            return false;
        }
    }
    static const char ext_key[] = ",\"extensions\":";
    size_t n = e->len + sizeof(ext_key) - 1 + e->ext_len + 1;
    char *body = h2o_mem_alloc_pool(&req->pool, n);
    memcpy(body, e->body, e->len);
    memcpy(body + e->len, ext_key, sizeof(ext_key) - 1);
    memcpy(body + e->len + sizeof(ext_key) - 1, e->ext, e->ext_len);
    body[n - 1] = '}';
    ea_http_add_header(req, "X-Cache", "HIT");
    ea_http_send_bytes(req, 200, media_name(media), body, n);
    return true;
}

/* ---- one GraphQL request ----
 *   headers ─▶ auth (maybe a key-verifier thread) ─▶ query rate limit (maybe a lease refill)
 *     ─▶ parse + prepared document ─▶ response cache ─▶ run on the loop
 *     └─ a resolver needed PostgreSQL (deferred), or a mutation ─▶ run on a pool thread (op_job)
 * http_op lives in the request's pool; if the client goes away, its dispose callback cancels
 * what waits and detaches a running job (which then frees itself when it comes back). */
typedef struct op_job op_job;

typedef struct http_op {
    gql_auth_wait w; /* first: the auth callback gets &w */
    ea_rl_wait lw;
    gql_request_ctx rc;
    h2o_req_t *req;
    gql_media media;
    bool get;
    char *gq;               /* GET's query parameter (malloc'd) */
    struct op_job *waiting; /* its job while in the client's line (fair.c), not on the pool yet */
} http_op;

struct op_job {
    gql_req_job rj; /* first: req NULL once the client is gone */
    gql_app *app;
    gql_doc *doc;
    char *op_name;
    json_t *variables;
    gql_request_ctx rc;
    gql_media media;
    unsigned char rkey[GQL_RESP_KEY_LEN];
    bool has_rkey;
    answer a;             /* the thread's result */
    gql_fair_ticket fair; /* its place in the client's share of the pool */
    http_op *op;          /* while waiting in the client's line */
};

static void op_authed(http_op *op, gql_auth_status as);
static void op_limited(http_op *op, const ea_rl_result *r);
static void op_run(http_op *op);

/* 429 for a client over a failed-attempt limit (ud: the media type's name). */
static void send_limited(h2o_req_t *req, void *ud)
{
    ea_http_send_json(req, 429,
                      error_list("too many failed API key attempts from this address or for this "
                                 "key; retry later",
                                 "TOO_MANY_FAILED_ATTEMPTS"),
                      ud);
}

static void job_free(op_job *job);

static void http_op_dispose(void *obj)
{
    http_op *op = obj;
    if (op->waiting != NULL && gql_fair_cancel(op->rc.app->fair, &op->waiting->fair))
        job_free(op->waiting); /* gone before its turn: it never runs */
    op->waiting = NULL;
    gql_auth_cancel(&op->w);
    ea_ratelimit_cancel(&op->lw);
    free(op->gq);
}

static void on_authenticated(gql_auth_wait *w, gql_auth_status st)
{
    op_authed((http_op *)w, st);
}

static void on_limit(ea_rl_wait *w, const ea_rl_result *r)
{
    op_limited(H2O_STRUCT_FROM_MEMBER(http_op, lw, w), r);
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
     * not in the cache waits for a key-verifier thread: the rest runs in op_authed. */
    http_op *op = h2o_mem_alloc_shared(&req->pool, sizeof(*op), http_op_dispose);
    memset(op, 0, sizeof(*op));
    op->req = req;
    op->media = media;
    op->get = get;
    op->gq = gq;
    op->rc.app = app;
    op->w.cb = on_authenticated;
    op->lw.cb = on_limit;
    gql_auth_status as = gql_auth_request(app, &op->w, req, &op->rc.who);
    if (as != GQL_AUTH_PENDING)
        op_authed(op, as);
    return 0;
}

/* The rest of a GraphQL request once its caller is known (or refused). */
static void op_authed(http_op *op, gql_auth_status as)
{
    h2o_req_t *req = op->req;
    gql_app *app = op->rc.app;
    gql_media media = op->media;
    if (as != GQL_AUTH_OK) {
        char ra[32];
        snprintf(ra, sizeof(ra), "%ld", op->w.retry_after_s);
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
            /* late, like ingest-api's (docs/SECURITY.md) */
            ea_http_delay(app->tarpit, req, send_limited, (void *)media_name(media));
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
    /* per key (or user) query rate limit (lib/ratelimit): from a lease, or after one refill;
     * GRAPHQL_RATE_LIMIT_PER_MIN 0 (and no key limit) turns it off */
    char subject[160];
    long per_min = gql_principal_rate(app, &op->rc.who, subject, sizeof(subject));
    ea_rl_result r;
    if (per_min <= 0) {
        op_run(op);
        return;
    }
    if (ea_ratelimit_take(app->limiter, subject, per_min, &op->lw, &r) >= 0)
        op_limited(op, &r);
}

static void op_limited(http_op *op, const ea_rl_result *r)
{
    if (!r->allowed) {
        char ra[32];
        snprintf(ra, sizeof(ra), "%ld", r->retry_after_s > 0 ? r->retry_after_s : 1);
        ea_http_add_header(op->req, "Retry-After", ra);
        ea_http_send_json(op->req, 429,
                          error_list("query rate limit exceeded; retry later", "RATE_LIMITED"),
                          media_name(op->media));
        return;
    }
    op_run(op);
}

static void job_run(gql_job *j, gql_thread *t)
{
    op_job *job = (op_job *)j;
    job->rc.thread = t;
    bool request_error = false;
    ea_gql_exec_stats stats = {0, 0, false};
    json_t *result =
        ea_gql_execute_counted(job->app->schema, job->doc->doc, job->op_name, job->variables, NULL,
                               &job->rc, &job->app->limits, &request_error, &stats);
    answer_build(&job->rc, result, request_error, job->media, &job->a);
    gql_app_memory_release(&stats); /* the answer's tree is freed by now */
}

static void job_free(op_job *job)
{
    gql_doc_release(job->doc);
    json_decref(job->variables);
    free(job->op_name);
    answer_free(&job->a);
    free(job);
}

static void job_done(gql_job *j, bool ran)
{
    op_job *job = (op_job *)j;
    gql_fair_done(job->app->fair, &job->fair); /* the client's next waiting operation may start */
    h2o_req_t *req = job->rj.req;
    gql_req_job_finish(&job->rj);
    if (req != NULL && !ran) {
        ea_http_send_json(req, 503, error_list("shutting down", "SERVICE_UNAVAILABLE"),
                          media_name(job->media));
    } else if (req != NULL) {
        answer_keep(job->app, &job->rc, job->has_rkey ? job->rkey : NULL, &job->a);
        answer_send(req, job->media, &job->a);
    }
    job_free(job);
}

static void send_busy(h2o_req_t *req, gql_media media)
{
    ea_http_add_header(req, "Retry-After", "1");
    ea_http_send_json(req, 503,
                      error_list("too many operations waiting for the database; retry shortly",
                                 "SERVICE_UNAVAILABLE"),
                      media_name(media));
}

/* fair.c's start(): onto the pool, tied to the request from now on */
static ea_rc job_start(gql_fair_ticket *t)
{
    op_job *job = H2O_STRUCT_FROM_MEMBER(op_job, fair, t);
    ea_rc rc = gql_exec_submit_req(job->app->exec, &job->rj, job->op->req, false);
    if (rc == EA_OK) {
        job->op->waiting = NULL;
        job->op = NULL;
    }
    return rc;
}

/* fair.c's refused(): it waited its turn and the pool's queue was full (or shutting down) */
static void job_refused(gql_fair_ticket *t)
{
    op_job *job = H2O_STRUCT_FROM_MEMBER(op_job, fair, t);
    job->op->waiting = NULL;
    send_busy(job->op->req, job->media);
    job_free(job);
}

/* Hands the operation to a pool thread, within its client's share (fair.c: beyond it, it waits in
 * the client's own line); a full queue or line is answered 503 with Retry-After at once. */
static void op_submit(http_op *op, gql_doc *doc, const char *op_name, const json_t *variables,
                      const unsigned char *rkey)
{
    gql_app *app = op->rc.app;
    op_job *job = calloc(1, sizeof(*job));
    if (job != NULL && op_name != NULL && (job->op_name = strdup(op_name)) == NULL) {
        free(job);
        job = NULL;
    }
    if (job == NULL) {
        ea_http_send_json(op->req, 503, error_list("out of memory", "SERVICE_UNAVAILABLE"),
                          media_name(op->media));
        return;
    }
    job->app = app;
    job->doc = doc;
    doc->refs++;
    job->variables = variables != NULL ? json_incref((json_t *)variables) : NULL;
    job->rc.app = app;
    job->rc.who = op->rc.who;
    job->media = op->media;
    if (rkey != NULL) {
        memcpy(job->rkey, rkey, GQL_RESP_KEY_LEN);
        job->has_rkey = true;
    }
    job->rj.j.run = job_run;
    job->rj.j.done = job_done;
    job->fair.start = job_start;
    job->fair.refused = job_refused;
    job->op = op;
    op->waiting = job;
    gql_fair_owner owner;
    gql_fair_owner_of(&op->rc.who, &owner);
    if (gql_fair_submit(app->fair, &job->fair, &owner) != EA_OK) {
        op->waiting = NULL;
        job_free(job);
        send_busy(op->req, op->media);
    }
}

static void op_run(http_op *op)
{
    h2o_req_t *req = op->req;
    gql_request_ctx *rc = &op->rc;
    gql_app *app = rc->app;
    gql_media media = op->media;
    bool get = op->get;
    char *gq = op->gq;
    op->gq = NULL; /* freed below, not by the pool's dispose */
    json_t *params = NULL, *variables = NULL;
    const char *query = NULL, *op_name = NULL;
    char *gvars = NULL, *gop = NULL;
    gql_doc *doc = NULL;
    if (!get) {
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

    json_t *errors = NULL;
    doc = gql_doccache_get(app->docs, query, strlen(query), &errors);
    if (doc == NULL) {
        send_result(req, media, json_pack("{s:o}", "errors", errors), true);
        goto out;
    }
    ea_gql_op_type type;
    if (ea_gql_operation_type(doc->doc, op_name, &type, &errors) != 0) {
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
    if (type != EA_GQL_OP_QUERY) { /* mutations always need the database */
        op_submit(op, doc, op_name, variables, NULL);
        goto out;
    }
    unsigned char rkey[GQL_RESP_KEY_LEN];
    gql_respcache_key(query, op_name, variables, (int)media, rkey);
    if (answer_from_cache(app, rc, req, media, rkey))
        goto out;
    /* on the loop first: what memory can answer is answered here */
    bool request_error = false;
    ea_gql_exec_stats stats = {0, 0, false};
    rc->thread = NULL;
    json_t *result = ea_gql_execute_counted(app->schema, doc->doc, op_name, variables, NULL, rc,
                                            &app->limits, &request_error, &stats);
    if (rc->deferred) {
        json_decref(result);
        op_submit(op, doc, op_name, variables, rkey);
        goto out;
    }
    answer a;
    answer_build(rc, result, request_error, media, &a);
    answer_keep(app, rc, rkey, &a);
    answer_send(req, media, &a);
    answer_free(&a);
    gql_app_memory_release(&stats);
out:
    gql_doc_release(doc);
    json_decref(params);
    json_decref(variables);
    free(gq);
    free(gvars);
    free(gop);
}

static int on_healthz(void *ud, h2o_req_t *req)
{
    ea_http_send_json(req, 200, json_pack("{s:s}", "status", "ok"), NULL);
    return 0;
}

/* /readyz asks PostgreSQL and Redis from a pool thread (never from the loop). */
typedef struct ready_job {
    gql_req_job rj; /* first */
    bool db, redis;
    char db_why[512], redis_why[512];
} ready_job;

static void ready_run(gql_job *j, gql_thread *t)
{
    ready_job *r = (ready_job *)j;
    PGconn *c = gql_thread_db(t);
    if (c == NULL) {
        snprintf(r->db_why, sizeof(r->db_why), "%s", gql_thread_db_error(t));
    } else {
        PGresult *res = PQexec(c, "SELECT 1");
        struct ea_err err = {0};
        r->db = ea_pg_result_check(res, PGRES_TUPLES_OK, "ping postgresql", &err) == EA_OK;
        snprintf(r->db_why, sizeof(r->db_why), "%s", r->db ? "" : err.message);
        PQclear(res);
    }
    const char *why;
    ea_redis *rc = gql_thread_redis(t, &why);
    if (rc == NULL) {
        snprintf(r->redis_why, sizeof(r->redis_why), "%s", why);
        return;
    }
    struct ea_err err = {0};
    redisReply *p = ea_redis_command(rc, "ping", &err, "PING");
    if (p == NULL) {
        gql_thread_redis_failed(t, &err);
        snprintf(r->redis_why, sizeof(r->redis_why), "%s", err.message);
        return;
    }
    freeReplyObject(p);
    r->redis = true;
}

static void ready_done(gql_job *j, bool ran)
{
    ready_job *r = (ready_job *)j;
    h2o_req_t *req = r->rj.req;
    gql_req_job_finish(&r->rj);
    if (req != NULL && !ran) {
        ea_http_send_error(req, 503, "unavailable", "shutting down");
    } else if (req != NULL) {
        /* Redis is reported but not required: without it answers come from the database */
        ea_http_ready_part parts[] = {{"postgres", r->db, true, r->db_why},
                                      {"redis", r->redis, false, r->redis_why}};
        ea_http_send_ready(req, parts, sizeof(parts) / sizeof(parts[0]));
    }
    free(r);
}

static int on_readyz(void *ud, h2o_req_t *req)
{
    gql_app *app = ud;
    ready_job *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        ea_http_send_error(req, 503, "unavailable", "out of memory");
        return 0;
    }
    r->rj.j.run = ready_run;
    r->rj.j.done = ready_done;
    if (gql_exec_submit_req(app->fast, &r->rj, req, false) != EA_OK) {
        free(r);
        ea_http_add_header(req, "Retry-After", "1");
        ea_http_send_error(req, 503, "busy", "every worker thread is busy");
    }
    return 0;
}

/* /metrics (Prometheus text): how full the worker pool's queue and the clients' lines are, what
 * the series cache holds and drops, then the WebSocket server's figures. Everything here is read
 * in constant time: a count of cached buckets would walk every key under the cache's mutex, 3 ms
 * on the loop for a full 256 MB cache of one-bucket series (measured), so it is not offered. */
static int on_metrics(void *ud, h2o_req_t *req)
{
    enum { CAP = 8192 };
    gql_app *app = ud;
    char *buf = h2o_mem_alloc_pool(&req->pool, CAP);
    gql_bcache_stats bc = {0};
    if (app->bcache != NULL)
        gql_bcache_stats_get(app->bcache, &bc);
    int w = snprintf(
        buf, CAP,
        "# HELP graphql_operations_queued operations waiting for a worker thread\n"
        "# TYPE graphql_operations_queued gauge\ngraphql_operations_queued %zu\n"
        "# HELP graphql_operations_waiting operations waiting in their client's line for its share "
        "of the threads (GRAPHQL_WORKERS_PER_CLIENT, GRAPHQL_WORKERS_PER_TENANT)\n"
        "# TYPE graphql_operations_waiting gauge\ngraphql_operations_waiting %zu\n"
        "# HELP graphql_cache_series series (tenant, metric, granularity, zone, groupBy, filter) "
        "cached\n"
        "# TYPE graphql_cache_series gauge\ngraphql_cache_series %zu\n"
        "# HELP graphql_cache_bytes heap the cached buckets cost (GRAPHQL_CACHE_MAX_MB bounds it)\n"
        "# TYPE graphql_cache_bytes gauge\ngraphql_cache_bytes %zu\n"
        "# HELP graphql_cache_invalidations_total change-feed entries applied to the cache\n"
        "# TYPE graphql_cache_invalidations_total counter\n"
        "graphql_cache_invalidations_total %llu\n"
        "# HELP graphql_cache_evictions_total series dropped to stay within GRAPHQL_CACHE_MAX_MB\n"
        "# TYPE graphql_cache_evictions_total counter\ngraphql_cache_evictions_total %llu\n"
        "# HELP graphql_cache_flushes_total whole-cache drops (the change feed went down or came "
        "back)\n"
        "# TYPE graphql_cache_flushes_total counter\ngraphql_cache_flushes_total %llu\n",
        app->exec != NULL ? gql_exec_queued(app->exec) : 0,
        app->fair != NULL ? gql_fair_waiting(app->fair) : 0, bc.keys, bc.bytes,
        (unsigned long long)bc.invalidations, (unsigned long long)bc.evictions,
        (unsigned long long)bc.flushes);
    size_t n = w < 0 ? 0 : (size_t)w >= CAP ? CAP - 1 : (size_t)w;
    if (app->ws != NULL)
        n += gql_ws_metrics(app->ws, buf + n, CAP - n);
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
