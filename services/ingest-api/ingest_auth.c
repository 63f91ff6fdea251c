/*
 * ingest_auth.c — authentication, scope and rate limit for every front door (see ingest_auth.h).
 * The request may wait twice — for a key-verifier thread, then for its bucket's token refill
 * (ratelimit.c; only when no leased token is left): a small record in the request's pool holds
 * both waiters and a copy of the principal; its dispose callback cancels a wait when the client
 * goes away first, so a late result never touches a freed request. app->auth_waiting counts the
 * waits so SIGTERM answers them too.
 */
#include "ingest_auth.h"
#include "frontdoor.h"
#include "ea_buf.h"
#include "metrics.h"

#include <stdio.h>

struct auth_wait {
    ea_keyauth_waiter w; /* first: the callback gets &w */
    ingest_app *app;
    h2o_req_t *req;
    const ingest_door *door;
    ingest_auth_next_fn next;
    void *ctx;
    ea_rl_wait rl;
    ea_principal *who; /* a copy of the caller while the request waits for its token */
};

void ingest_auth_refuse(h2o_req_t *req, const ea_keyauth_result *r, const ingest_door *door)
{
    char num[24];
    switch (r->status) {
    case EA_KEYAUTH_UNAVAILABLE:
        ingest_door_error(req, door, 503, "unavailable",
                          "could not verify the API key: database unavailable");
        return;
    case EA_KEYAUTH_BUSY:
        snprintf(num, sizeof(num), "%ld", r->retry_after_s);
        ea_http_add_header(req, "Retry-After", num);
        ingest_door_error(req, door, 503, "auth_busy",
                          "too many API keys waiting for verification; retry in %s s", num);
        return;
    case EA_KEYAUTH_LIMITED:
        snprintf(num, sizeof(num), "%ld", r->retry_after_s);
        ea_http_add_header(req, "Retry-After", num);
        ingest_door_error(req, door, 429, "too_many_failed_attempts",
                          "too many failed API key attempts from this address or for this key; "
                          "retry in %s s",
                          num);
        return;
    default:
        ea_http_add_header(req, "WWW-Authenticate", "Bearer");
        ingest_door_error(req, door, 401, "unauthorized", "%s",
                          r->status == EA_KEYAUTH_MISSING ? door->missing_msg
                                                          : "unknown or revoked API key");
        return;
    }
}

/* A client over a failed-attempt limit gets its 429 AUTH_FAIL_DELAY_MS late: with a few
 * connections it could otherwise have the loop answer tens of thousands of 429s a second, which
 * costs every other client; a late answer bounds it to one per connection per delay. */
struct late_refusal {
    ingest_app *app;
    ea_keyauth_result r;
    const ingest_door *door;
};

static void refuse_late(h2o_req_t *req, void *ud)
{
    struct late_refusal *lr = ud;
    lr->app->auth_waiting--;
    ingest_auth_refuse(req, &lr->r, lr->door);
}

static void refuse(ingest_app *app, h2o_req_t *req, const ea_keyauth_result *r,
                   const ingest_door *door)
{
    if (r->status == EA_KEYAUTH_LIMITED) {
        ingest_stats.auth_limited++;
        struct late_refusal *lr = h2o_mem_alloc_pool(&req->pool, sizeof(*lr));
        *lr = (struct late_refusal){.app = app, .r = *r, .door = door};
        app->auth_waiting++; /* answered before a SIGTERM exit, like any request */
        ea_http_delay(app->tarpit, req, refuse_late, lr); /* AUTH_FAIL_DELAY_MS late */
        return;
    }
    ingest_auth_refuse(req, r, door);
}

/* The token bucket's decision: RateLimit-* headers, then 429 or the front door's own work. */
static void admit(ingest_app *app, h2o_req_t *req, const ea_principal *who, const ingest_door *door,
                  ingest_auth_next_fn next, void *ctx, const ea_rl_result *rl)
{
    /* three headers on every request: formatted without printf (it showed in perf) */
    char num[24];
    ea_buf_fmt_i64(num, rl->limit);
    ea_http_add_header(req, "RateLimit-Limit", num);
    ea_buf_fmt_i64(num, rl->remaining);
    ea_http_add_header(req, "RateLimit-Remaining", num);
    ea_buf_fmt_i64(num, rl->reset_s);
    ea_http_add_header(req, "RateLimit-Reset", num);
    if (!rl->allowed) {
        ea_buf_fmt_i64(num, rl->retry_after_s > 0 ? rl->retry_after_s : 1);
        ea_http_add_header(req, "Retry-After", num);
        ingest_stats.rate_limited++;
        ingest_door_error(req, door, 429, "rate_limited",
                          "rate limit of %ld requests per minute exceeded; retry in %s s",
                          rl->limit, num);
        return;
    }
    next(app, req, who, ctx);
}

static void on_token(ea_rl_wait *w, const ea_rl_result *r)
{
    struct auth_wait *aw = H2O_STRUCT_FROM_MEMBER(struct auth_wait, rl, w);
    aw->app->auth_waiting--;
    admit(aw->app, aw->req, aw->who, aw->door, aw->next, aw->ctx, r);
}

/* The caller is known: scope, token bucket, then the front door's own work. */
static void authorized(struct auth_wait *aw, const ea_principal *who)
{
    if ((who->scopes & EA_SCOPE_INGEST) == 0) {
        ingest_door_error(aw->req, aw->door, 403, "forbidden",
                          "this API key does not have the ingest scope");
        return;
    }
    ea_rl_result rl;
    aw->rl.cb = on_token;
    if (ea_ratelimit_take(aw->app->ratelimit, who->key_id, who->rate_limit, &aw->rl, &rl) < 0) {
        /* *who may not outlive this call (a verifier's result) */
        aw->who = h2o_mem_alloc_pool(&aw->req->pool, sizeof(*aw->who));
        *aw->who = *who;
        aw->app->auth_waiting++;
        return;
    }
    admit(aw->app, aw->req, who, aw->door, aw->next, aw->ctx, &rl);
}

static void wait_dispose(void *obj)
{
    struct auth_wait *aw = obj;
    if (aw->w.job != NULL) { /* the client left before the verification ended */
        ea_keyauth_cancel(&aw->w);
        aw->app->auth_waiting--;
    }
    if (ea_ratelimit_waiting(&aw->rl)) { /* ... or before its token came */
        ea_ratelimit_cancel(&aw->rl);
        aw->app->auth_waiting--;
    }
}

static void on_verified(ea_keyauth_waiter *w, const ea_keyauth_result *r)
{
    struct auth_wait *aw = (struct auth_wait *)w;
    aw->app->auth_waiting--;
    if (r->status == EA_KEYAUTH_OK)
        authorized(aw, &r->principal);
    else
        refuse(aw->app, aw->req, r, aw->door);
}

void ingest_auth_run(ingest_app *app, h2o_req_t *req, const char *key, size_t klen,
                     const ingest_door *door, ingest_auth_next_fn next, void *ctx)
{
    struct auth_wait *aw = h2o_mem_alloc_shared(&req->pool, sizeof(*aw), wait_dispose);
    *aw = (struct auth_wait){.app = app, .req = req, .door = door, .next = next, .ctx = ctx};
    aw->w.cb = on_verified;
    char peer[64];
    ea_keyauth_result r;
    ea_keyauth_status st =
        ea_keyauth_begin(app->auth, key, klen, ea_http_peer(req, peer, sizeof(peer)), &aw->w, &r);
    if (st == EA_KEYAUTH_PENDING) {
        app->auth_waiting++;
        return;
    }
    if (st == EA_KEYAUTH_OK)
        authorized(aw, &r.principal);
    else
        refuse(app, req, &r, door);
}

void ingest_auth_on_ready(void *app)
{
    ea_keyauth_complete(((ingest_app *)app)->auth);
}
