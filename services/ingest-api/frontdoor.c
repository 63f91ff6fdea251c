/*
 * frontdoor.c — every front door's request, one pipeline. The stages, in order, each answering
 * in the door's shape (ingest_door_error) when it refuses:
 *
 *   OPTIONS              CORS preflight (cors.c), nothing else
 *   method               POST only (405)
 *   Content-Type         application/json, or text/plain (sendBeacon; browser keys only, 415)
 *   Content-Encoding     identity, or gzip inflated under INGEST_MAX_BODY (inflate.c: 413/400)
 *   key                  Authorization: Bearer <key> or Basic <key>: (Segment's write key as the
 *                        user name) — verified BEFORE the body is parsed, as /ingest always did;
 *                        without a header the door's body key (api_key, writeKey, PostHog's
 *                        token) is found by scanning the body's text (bodykey.c), never by
 *                        parsing it: an unauthenticated body costs a scan, and the parse waits
 *                        until the key is verified
 *   verification         ingest_auth.c: cache or worker pool, failed-attempt limit, scope,
 *                        the key's token bucket (401/403/429/503)
 *   browser rules        a browser key (ea_principal.origins) needs an Origin it lists (403) and
 *                        has a second token bucket per client address (429); a secret key is
 *                        refused with any Origin, in a body (except PostHog's ingest-only
 *                        secret keys) and with text/plain (403/415)
 *   events               the door's adapter (body.c / segment.c / posthog.c) → ingest_event_build
 *                        for every event (validation, limits, skew correction, event_id)
 *   produce              handler.c: every valid event to Kafka, answer after the acks
 *   answer               ingest_door_answer, in the door's shape
 *
 * Request memory: a `struct door_req` in the request's pool holds the parsed body (json) and an
 * inflated body (malloc) across the asynchronous key check; its dispose callback frees both when
 * h2o frees the request, whether the client waited or not.
 */
#include "frontdoor.h"
#include "bodykey.h"
#include "cors.h"
#include "ea_log.h"
#include "ea_time.h"
#include "handler.h"
#include "inflate.h"
#include "ingest_auth.h"
#include "ea_buf.h"
#include "posthog.h"
#include "segment.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ingest_door doors[INGEST_SOURCE_N] = {
    [INGEST_SOURCE_INGEST] = {INGEST_SOURCE_INGEST,
                              "missing API key: send Authorization: Bearer <key> (or a browser "
                              "key as \"api_key\" in the body)",
                              ingest_body_events, INGEST_BODYKEY_INGEST, false, false},
    [INGEST_SOURCE_SEGMENT] = {INGEST_SOURCE_SEGMENT,
                               "missing write key: send it as the HTTP Basic user name (or a "
                               "browser key as \"writeKey\" in the body)",
                               ingest_segment_events, INGEST_BODYKEY_SEGMENT, false, true},
    [INGEST_SOURCE_POSTHOG] = {INGEST_SOURCE_POSTHOG,
                               "missing API key: send it as \"api_key\" in the body",
                               ingest_posthog_events, INGEST_BODYKEY_POSTHOG, true, true},
};

struct door_req {
    const ingest_door *door;
    ingest_app *app;
    h2o_req_t *req;
    int call;         /* the adapter's call (Segment: track, page, ..., batch) */
    const char *body; /* the body to parse: the entity, or `plain` */
    size_t body_len;
    char *plain;               /* inflated body (malloc), freed with the request */
    json_t *root;              /* the parsed body, once parsed */
    const h2o_iovec_t *origin; /* the Origin header, or NULL */
    bool origin_listed;        /* CORS headers already on the response */
    bool text_plain;
    bool key_from_body;
    ea_rl_wait addr_wait; /* a browser key's address bucket, when it needed a refill */
    ea_principal *who;    /* a copy of the caller meanwhile */
};

static void door_req_dispose(void *obj)
{
    struct door_req *d = obj;
    if (ea_ratelimit_waiting(&d->addr_wait)) { /* the client left while it waited */
        ea_ratelimit_cancel(&d->addr_wait);
        d->app->auth_waiting--;
    }
    json_decref(d->root);
    free(d->plain);
}

/* ---- answers ---------------------------------------------------------------------------- */

static const char *posthog_type(int status)
{
    return status == 401 || status == 403 ? "authentication_error"
           : status == 429                ? "throttled"
           : status >= 500                ? "server_error"
                                          : "validation_error";
}

/* The error body in the door's shape; offset >= 0 adds the JSON error's byte offset. */
static void send_error(h2o_req_t *req, const ingest_door *door, int status, const char *code,
                       const char *msg, long offset)
{
    ingest_metrics_status(door != NULL ? door->source : INGEST_SOURCE_INGEST, status);
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", msg);
    if (err != NULL && offset >= 0)
        json_object_set_new(err, "offset", json_integer(offset));
    json_t *body;
    switch (door != NULL ? door->source : INGEST_SOURCE_INGEST) {
    case INGEST_SOURCE_SEGMENT:
        body = json_pack("{s:b,s:s,s:s,s:o}", "success", 0, "message", msg, "code", code, "error",
                         err);
        break;
    case INGEST_SOURCE_POSTHOG:
        body = json_pack("{s:s,s:s,s:s,s:n,s:o}", "type", posthog_type(status), "code", code,
                         "detail", msg, "attr", "error", err);
        break;
    default:
        body = json_pack("{s:o}", "error", err);
        break;
    }
    ea_http_send_json(req, status, body, NULL);
}

void ingest_door_error(h2o_req_t *req, const ingest_door *door, int status, const char *code,
                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_error(req, door, status, code, msg, -1);
}

/* The cap of the reply (ea_buf): per event its index, its event_id (at most 128 bytes) and our
 * own code and message (ingest_event.error, under 160 bytes), each at most 6x when escaped, fit
 * INGEST_RESULT_MAX; INGEST_MAX_BATCH bounds the events. */
#define INGEST_RESULT_MAX 2048
static size_t reply_max(const ingest_batch *b)
{
    return (b->n + 1) * INGEST_RESULT_MAX;
}

/* Writes the per-event results array; counts accepted and unavailable events. Hand-written
 * (ea_buf) rather than a jansson tree: this runs once per request on the hot path. */
static void results_write(ea_buf *w, const ingest_batch *b, size_t *accepted, size_t *unavailable)
{
    *accepted = *unavailable = 0;
    ea_buf_lit(w, "[");
    for (size_t i = 0; i < b->n; i++) {
        const ingest_event *e = &b->events[i];
        if (i > 0)
            ea_buf_lit(w, ",");
        ea_buf_lit(w, "{\"index\":");
        ea_buf_put_i64(w, (int64_t)i);
        if (e->event_id != NULL) {
            ea_buf_lit(w, ",\"event_id\":");
            ea_buf_json_string(w, e->event_id, strlen(e->event_id));
        }
        if (e->accepted) {
            ea_buf_lit(w, ",\"status\":\"accepted\"}");
            (*accepted)++;
            continue;
        }
        ea_buf_lit(w, ",\"status\":\"rejected\",\"code\":");
        ea_buf_json_string(w, e->error_code, strlen(e->error_code));
        ea_buf_lit(w, ",\"error\":");
        ea_buf_json_string(w, e->error, strlen(e->error));
        ea_buf_lit(w, "}");
        if (strcmp(e->error_code, "unavailable") == 0)
            (*unavailable)++;
    }
    ea_buf_lit(w, "]");
}

void ingest_door_answer(h2o_req_t *req, const ingest_door *door, const ingest_batch *b)
{
    ingest_source src = door != NULL ? door->source : INGEST_SOURCE_INGEST;
    char stack[2048];
    ea_buf res;
    ea_buf_init_storage(&res, stack, sizeof(stack), reply_max(b));
    size_t accepted, unavailable;
    results_write(&res, b, &accepted, &unavailable);
    size_t rejected = b->n - accepted;
    if (!ea_buf_ok(&res)) {
        ea_buf_free(&res);
        send_error(req, door, 500, "internal", "out of memory", -1);
        return;
    }
    const char *code = NULL, *msg = NULL;
    int status = src == INGEST_SOURCE_INGEST ? 202 : 200;
    if (unavailable > 0 && (accepted == 0 || (door != NULL && door->all_or_retry))) {
        status = 503, code = "unavailable";
        msg = accepted == 0 ? "kafka did not acknowledge the events; nothing was accepted, retry "
                              "with the same event_id values"
                            : "kafka did not acknowledge every event; retry the whole batch with "
                              "the same ids (the ones already accepted are counted once)";
        ea_http_add_header(req, "Retry-After", "1");
    } else if (accepted == 0) {
        bool all_large = true;
        for (size_t i = 0; i < b->n; i++)
            all_large &= strcmp(b->events[i].error_code, "event_too_large") == 0;
        if (all_large)
            status = 413, code = "event_too_large", msg = "every event is larger than the limit";
        else
            status = 400, code = "no_valid_event", msg = "no valid event in the body";
    }
    char head_stack[512];
    ea_buf head;
    ea_buf_init_storage(&head, head_stack, sizeof(head_stack), reply_max(b) + sizeof(head_stack));
    ea_buf_lit(&head, "{");
    if (code != NULL) {
        if (src == INGEST_SOURCE_SEGMENT) {
            ea_buf_lit(&head, "\"success\":false,\"message\":");
            ea_buf_json_string(&head, msg, strlen(msg));
            ea_buf_lit(&head, ",");
        } else if (src == INGEST_SOURCE_POSTHOG) {
            ea_buf_lit(&head, "\"type\":");
            ea_buf_json_string(&head, posthog_type(status), strlen(posthog_type(status)));
            ea_buf_lit(&head, ",\"code\":");
            ea_buf_json_string(&head, code, strlen(code));
            ea_buf_lit(&head, ",\"detail\":");
            ea_buf_json_string(&head, msg, strlen(msg));
            ea_buf_lit(&head, ",\"attr\":null,");
        }
        ea_buf_lit(&head, "\"error\":{\"code\":");
        ea_buf_json_string(&head, code, strlen(code));
        ea_buf_lit(&head, ",\"message\":");
        ea_buf_json_string(&head, msg, strlen(msg));
        ea_buf_lit(&head, "},");
    } else if (src == INGEST_SOURCE_SEGMENT) {
        ea_buf_lit(&head, "\"success\":true,");
    } else if (src == INGEST_SOURCE_POSTHOG) {
        ea_buf_lit(&head, "\"status\":1,");
    }
    ea_buf_lit(&head, "\"accepted\":");
    ea_buf_put_i64(&head, (int64_t)accepted);
    ea_buf_lit(&head, ",\"rejected\":");
    ea_buf_put_i64(&head, (int64_t)rejected);
    ea_buf_lit(&head, ",\"results\":");
    ea_buf_append(&head, res.p, res.len);
    ea_buf_lit(&head, "}");
    ea_buf_free(&res);
    if (!ea_buf_ok(&head)) { /* a failed append leaves the text cut short */
        ea_buf_free(&head);
        send_error(req, door, 500, "internal", "out of memory", -1);
        return;
    }
    ingest_metrics_status(src, status);
    ea_http_send_bytes(req, status, "application/json", head.p, head.len);
    ea_buf_free(&head);
}

/* ---- the pipeline ----------------------------------------------------------------------- */

/* application/json or text/plain, each with optional parameters (charset=UTF-8). */
static bool content_type(const h2o_req_t *req, bool *text_plain)
{
    int n;
    const h2o_iovec_t *ct = ea_http_header(req, "content-type", &n);
    if (ct == NULL || n != 1)
        return false;
    static const char *const types[] = {"application/json", "text/plain"};
    for (int i = 0; i < 2; i++) {
        size_t l = strlen(types[i]);
        if (ct->len >= l && strncasecmp(ct->base, types[i], l) == 0 &&
            (ct->len == l || ct->base[l] == ';' || ct->base[l] == ' ')) {
            *text_plain = i == 1;
            return true;
        }
    }
    return false;
}

/* Content-Encoding (or PostHog's ?compression=gzip-js): inflates into d->plain when gzip.
 * false when it answered. */
static bool decode_body(struct door_req *d)
{
    h2o_req_t *req = d->req;
    d->body = req->entity.base != NULL ? req->entity.base : "";
    d->body_len = req->entity.len;
    int n;
    const h2o_iovec_t *ce = ea_http_header(req, "content-encoding", &n);
    bool gzip = false;
    if (n > 1) {
        ingest_door_error(req, d->door, 415, "unsupported_encoding",
                          "one Content-Encoding only (gzip)");
        return false;
    }
    if (ce != NULL && h2o_lcstris(ce->base, ce->len, H2O_STRLIT("gzip"))) {
        gzip = true;
    } else if (ce != NULL && !h2o_lcstris(ce->base, ce->len, H2O_STRLIT("identity"))) {
        ingest_door_error(req, d->door, 415, "unsupported_encoding",
                          "Content-Encoding must be gzip or absent");
        return false;
    }
    if (!gzip && d->door->source == INGEST_SOURCE_POSTHOG && req->query_at != SIZE_MAX) {
        h2o_iovec_t q =
            h2o_iovec_init(req->path.base + req->query_at, req->path.len - req->query_at);
        gzip = h2o_strstr(q.base, q.len, H2O_STRLIT("compression=gzip")) != SIZE_MAX;
    }
    if (!gzip)
        return true;
    size_t max = (size_t)d->app->cfg->http.max_body;
    switch (ingest_gunzip(d->body, d->body_len, max, &d->plain, &d->body_len)) {
    case INGEST_INFLATE_OK:
        d->body = d->plain;
        return true;
    case INGEST_INFLATE_TOO_LARGE:
        ingest_stats.gzip_too_large++;
        ingest_door_error(req, d->door, 413, "body_too_large",
                          "request body is larger than %zu bytes once decompressed", max);
        return false;
    case INGEST_INFLATE_NOMEM:
        ingest_door_error(req, d->door, 500, "internal", "out of memory");
        return false;
    default:
        ingest_door_error(req, d->door, 400, "invalid_gzip",
                          "the body is not a single well-formed gzip stream");
        return false;
    }
}

/* Parses the body once into d->root. false when it answered (400). */
static bool parse_body(struct door_req *d)
{
    if (d->root != NULL)
        return true;
    ingest_body_error berr;
    ingest_body_status bs = ingest_body_load(d->body, d->body_len, &d->root, &berr);
    if (bs == INGEST_BODY_OK)
        return true;
    if (bs == INGEST_BODY_TOO_DEEP) {
        ingest_door_error(d->req, d->door, 400, "too_deep", "%s", berr.message);
        return false;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "invalid JSON: %s", berr.message);
    send_error(d->req, d->door, 400, "invalid_json", msg, (long)berr.offset);
    return false;
}

/* The key in a body sent without an Authorization header, found without parsing the body
 * (bodykey.c). false when it answered: 400 for a body whose structure is broken (invalid_json
 * with the byte offset, or too_deep) — the same codes the parse gives. */
static bool body_key(struct door_req *d, const char **key, size_t *klen)
{
    size_t at;
    switch (ingest_bodykey_scan(d->body, d->body_len, d->door->key_form, key, klen, &at)) {
    case INGEST_BODYKEY_FOUND:
        d->key_from_body = true;
        return true;
    case INGEST_BODYKEY_NONE:
        *key = NULL; /* 401: missing key */
        return true;
    case INGEST_BODYKEY_TOO_DEEP:
        ingest_door_error(d->req, d->door, 400, "too_deep",
                          "maximum parsing depth reached near byte %zu", at);
        return false;
    default:
        send_error(d->req, d->door, 400, "invalid_json",
                   "invalid JSON: the body is not a well-formed JSON value (no API key could be "
                   "read from it)",
                   (long)at);
        return false;
    }
}

/* The key from Authorization: "Bearer <key>" or "Basic base64(<key>:<anything>)". Returns 1
 * with key and klen set (in req's pool), 0 when there is no Authorization header, -1 when it is
 * there but unusable (two headers, another scheme, bad base64). */
static int header_key(h2o_req_t *req, const char **key, size_t *klen)
{
    int n;
    const h2o_iovec_t *a = ea_http_header(req, "authorization", &n);
    if (a == NULL)
        return 0;
    if (n > 1)
        return -1;
    if (ea_keyauth_bearer(a->base, a->len, key, klen))
        return 1;
    if (a->len <= 6 || strncasecmp(a->base, "Basic ", 6) != 0)
        return -1;
    const char *b64 = a->base + 6;
    size_t bl = a->len - 6;
    while (bl > 0 && b64[bl - 1] == ' ')
        bl--;
    if (bl == 0 || bl > 256 || bl % 4 != 0)
        return -1;
    unsigned char *out = h2o_mem_alloc_pool(&req->pool, bl);
    int ol = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)bl);
    if (ol < 0)
        return -1;
    for (size_t i = bl; i > 0 && b64[i - 1] == '='; i--)
        ol--; /* EVP_DecodeBlock counts the padding as zero bytes */
    const unsigned char *colon = memchr(out, ':', (size_t)ol);
    *key = (const char *)out;
    *klen = colon != NULL ? (size_t)(colon - out) : (size_t)ol;
    return 1;
}

static void events_stage(struct door_req *d, const ea_principal *who);

/* The address bucket refused: 429 (with the CORS headers already set, the page can read it). */
static void address_refused(struct door_req *d, const ea_rl_result *rl)
{
    char num[24];
    snprintf(num, sizeof(num), "%ld", rl->retry_after_s > 0 ? rl->retry_after_s : 1);
    ea_http_add_header(d->req, "Retry-After", num);
    ingest_stats.rate_limited++;
    ingest_door_error(d->req, d->door, 429, "rate_limited",
                      "rate limit of %ld requests per minute from one address exceeded for "
                      "browser keys; retry in %s s",
                      rl->limit, num);
}

static void on_address_token(ea_rl_wait *w, const ea_rl_result *rl)
{
    struct door_req *d = H2O_STRUCT_FROM_MEMBER(struct door_req, addr_wait, w);
    d->app->auth_waiting--;
    if (rl->allowed)
        events_stage(d, d->who);
    else
        address_refused(d, rl);
}

/* A browser key's second bucket, per client address: a public key must not let one address
 * spend the whole key's budget. The address is hashed into a bucket id ("ip" + 12 hex).
 * 1 allowed, 0 refused (answered), -1 waiting for a refill (on_address_token goes on). */
static int address_allowed(struct door_req *d, const ea_principal *who)
{
    char peer[64], id[16];
    ea_http_peer(d->req, peer, sizeof(peer));
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)peer, strlen(peer), md);
    static const char hex[] = "0123456789abcdef";
    id[0] = 'i', id[1] = 'p';
    for (int i = 0; i < 6; i++) {
        id[2 + 2 * i] = hex[md[i] >> 4];
        id[3 + 2 * i] = hex[md[i] & 15];
    }
    id[14] = '\0';
    ea_rl_result rl;
    d->addr_wait.cb = on_address_token;
    int r = ea_ratelimit_take(d->app->ratelimit, id, d->app->cfg->browser_rate_per_addr,
                              &d->addr_wait, &rl);
    if (r < 0) {
        d->who = h2o_mem_alloc_pool(&d->req->pool, sizeof(*d->who));
        *d->who = *who; /* *who lives only during ingest_auth's callback */
        d->app->auth_waiting++;
        return -1;
    }
    if (r == 0)
        address_refused(d, &rl);
    return r;
}

/* Which key may be used from where (SPEC §4). 1 go on, 0 answered, -1 waiting (address bucket). */
static int browser_rules(struct door_req *d, const ea_principal *who)
{
    h2o_req_t *req = d->req;
    if (who->origins[0] != '\0') {
        if (d->origin == NULL) {
            ingest_door_error(req, d->door, 403, "origin_required",
                              "a browser key is accepted only from the origins it lists, and "
                              "this request has no Origin header");
            return 0;
        }
        if (!ea_origin_listed(who->origins, d->origin->base, d->origin->len)) {
            ingest_door_error(req, d->door, 403, "origin_not_allowed",
                              "origin %.*s is not one of this browser key's origins",
                              (int)(d->origin->len > 200 ? 200 : d->origin->len), d->origin->base);
            return 0;
        }
        if (!d->origin_listed)
            ingest_cors_allow(req, d->origin->base, d->origin->len);
        ingest_stats.browser_requests[d->door->source]++;
        return address_allowed(d, who);
    }
    if (d->origin != NULL) {
        ingest_door_error(req, d->door, 403, "secret_key_from_browser",
                          "a secret API key must never be used in a browser (this request has an "
                          "Origin header): create a browser key with analytics-admin key create "
                          "--scopes ingest --origins <origin>");
        return 0;
    }
    if (d->key_from_body && !(d->door->secret_key_in_body && who->scopes == EA_SCOPE_INGEST)) {
        ingest_door_error(req, d->door, 403, "secret_key_in_body",
                          d->door->secret_key_in_body
                              ? "a secret API key in the body must have the ingest scope only"
                              : "a secret API key is accepted in the Authorization header only; "
                                "keys in the body are for browser keys");
        return 0;
    }
    if (d->text_plain) {
        ingest_door_error(req, d->door, 415, "unsupported_media_type",
                          "Content-Type text/plain is for browser keys (sendBeacon); send "
                          "application/json");
        return 0;
    }
    return 1;
}

/* The caller may ingest (ingest_auth.c checked the key, its scope and its token bucket). */
static void authorized(ingest_app *app, h2o_req_t *req, const ea_principal *who, void *ctx)
{
    (void)app;
    (void)req;
    struct door_req *d = ctx;
    if (browser_rules(d, who) == 1)
        events_stage(d, who);
}

/* The door's adapter, validation, then the produce stage. */
static void events_stage(struct door_req *d, const ea_principal *who)
{
    ingest_app *app = d->app;
    h2o_req_t *req = d->req;
    if (!parse_body(d))
        return;
    int64_t now = ea_time_now_ms();
    ingest_limits lim = {
        .max_event = (size_t)app->cfg->max_event,
        .max_batch = (size_t)app->cfg->max_batch,
        .max_depth = (size_t)app->cfg->max_depth,
        .max_future_ms = app->cfg->max_future_s * 1000,
        .retention_days = app->cfg->retention_days,
    };
    ingest_batch batch;
    ingest_body_error berr;
    ingest_body_status bs = d->door->adapt(d->root, d->call, who->tenant, now, &lim, &batch, &berr);
    /* the events hold their own copies now: the parsed and inflated body need not wait for
     * Kafka's acknowledgements with the request */
    json_decref(d->root);
    d->root = NULL;
    free(d->plain);
    d->plain = NULL;
    switch (bs) {
    case INGEST_BODY_OK:
        ingest_handler_produce(app, req, d->door, &batch);
        return;
    case INGEST_BODY_TOO_MANY:
        ingest_door_error(req, d->door, 413, "batch_too_large", "%s", berr.message);
        return;
    case INGEST_BODY_NOMEM:
        ingest_door_error(req, d->door, 500, "internal", "out of memory");
        return;
    default:
        ingest_door_error(req, d->door, 400,
                          bs == INGEST_BODY_EMPTY ? "no_valid_event" : "invalid_body", "%s",
                          berr.message);
        return;
    }
}

static int on_door(ingest_app *app, h2o_req_t *req, const ingest_door *door, int call)
{
    if (ea_http_method_is(req, "OPTIONS")) {
        ingest_cors_preflight(app->cors, req);
        return 0;
    }
    int norigin;
    ea_http_header(req, "origin", &norigin);
    if (norigin > 1) { /* no browser sends two: never let it pass as "no Origin" */
        ingest_door_error(req, door, 400, "invalid_origin", "send at most one Origin header");
        return 0;
    }
    const h2o_iovec_t *origin = ingest_cors_origin(req);
    bool listed = origin != NULL && ingest_cors_listed(app->cors, origin->base, origin->len);
    if (listed) /* the page may read every answer, errors included, so its script stops retrying */
        ingest_cors_allow(req, origin->base, origin->len);
    if (!ea_http_method_is(req, "POST")) {
        ea_http_add_header(req, "Allow", "POST, OPTIONS");
        ingest_door_error(req, door, 405, "method_not_allowed", "use POST");
        return 0;
    }
    bool text_plain = false;
    if (!content_type(req, &text_plain)) {
        ingest_door_error(req, door, 415, "unsupported_media_type",
                          "Content-Type must be application/json (or text/plain with a browser "
                          "key)");
        return 0;
    }
    if (req->entity.len > (size_t)app->cfg->http.max_body) {
        ingest_door_error(req, door, 413, "body_too_large", "request body is larger than %ld bytes",
                          app->cfg->http.max_body);
        return 0;
    }
    struct door_req *d = h2o_mem_alloc_shared(&req->pool, sizeof(*d), door_req_dispose);
    *d = (struct door_req){.door = door,
                           .app = app,
                           .req = req,
                           .call = call,
                           .origin = origin,
                           .origin_listed = listed,
                           .text_plain = text_plain};
    if (!decode_body(d))
        return 0;
    const char *key = NULL;
    size_t klen = 0;
    int hk = header_key(req, &key, &klen);
    if (hk < 0) {
        ea_http_add_header(req, "WWW-Authenticate", "Bearer");
        ingest_door_error(req, door, 401, "unauthorized",
                          "unusable Authorization header: send one, as Bearer <key> or Basic "
                          "<base64 of key:>");
        return 0;
    }
    if (hk == 0 && !body_key(d, &key, &klen))
        return 0;
    ingest_auth_run(app, req, key, klen, door, authorized, d);
    return 0;
}

static int on_ingest(void *ud, h2o_req_t *req)
{
    if (req->path_normalized.len != 7) /* "/ingest" exactly: /ingestx is not ours */
        return -1;
    return on_door(ud, req, &doors[INGEST_SOURCE_INGEST], 0);
}

static int on_segment(void *ud, h2o_req_t *req)
{
    int call =
        ingest_segment_call_from_path(req->path_normalized.base + 4, req->path_normalized.len - 4);
    if (call < 0)
        return -1; /* 404 */
    return on_door(ud, req, &doors[INGEST_SOURCE_SEGMENT], call);
}

static int on_posthog(void *ud, h2o_req_t *req)
{
    const h2o_iovec_t *p = &req->path_normalized;
    if (!h2o_memis(p->base, p->len, H2O_STRLIT("/batch/")) &&
        !h2o_memis(p->base, p->len, H2O_STRLIT("/batch")) &&
        !h2o_memis(p->base, p->len, H2O_STRLIT("/capture/")) &&
        !h2o_memis(p->base, p->len, H2O_STRLIT("/capture")))
        return -1;
    return on_door(ud, req, &doors[INGEST_SOURCE_POSTHOG], 0);
}

void ingest_frontdoor_register(ea_http_server *s, ingest_app *app)
{
    ea_http_route(s, "/ingest", on_ingest, app);
    ea_http_route(s, "/v1/", on_segment, app);
    ea_http_route(s, "/batch", on_posthog, app);
    ea_http_route(s, "/capture", on_posthog, app);
}
