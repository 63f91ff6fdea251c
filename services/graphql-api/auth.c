/*
 * auth.c — credential checks for graphql-api. API keys go through the shared non-blocking
 * verifier (lib/apikey/ea_keyauth: cache, failed-attempt limits, pool threads); a key needs no
 * particular scope to authenticate — each resolver asks for the scope it needs through
 * gql_principal_may(). Without an Authorization header, the session cookie of an OIDC login
 * (session.c) identifies a user. An Authorization header wins over a cookie: a script holding a
 * key means the key, whatever cookies its client keeps.
 */
#include "auth.h"
#include "ea_http.h"
#include "exec.h"
#include "session.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* A session cookie whose signature is good, looked up on a pool thread. */
typedef struct auth_session_job {
    gql_job j;        /* first */
    gql_auth_wait *w; /* NULL once the request or socket is gone */
    const char *secret;
    char *cookie;
    gql_principal who;
    int status; /* gql_session_principal's */
} auth_session_job;

static void session_run(gql_job *j, gql_thread *t)
{
    auth_session_job *sj = (auth_session_job *)j;
    sj->status = gql_session_principal(gql_thread_db(t), sj->secret, sj->cookie, strlen(sj->cookie),
                                       &sj->who);
}

static gql_auth_status from_session(int st)
{
    switch (st) {
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

static void session_done(gql_job *j, bool ran)
{
    auth_session_job *sj = (auth_session_job *)j;
    gql_auth_wait *w = sj->w;
    if (w != NULL) {
        w->sjob = NULL;
        if (ran && sj->status == 0)
            *w->out = sj->who;
        w->cb(w, ran ? from_session(sj->status) : GQL_AUTH_UNAVAILABLE);
    }
    OPENSSL_cleanse(sj->cookie, strlen(sj->cookie));
    free(sj->cookie);
    free(sj);
}

static gql_auth_status from_key(gql_auth_wait *w, const ea_keyauth_result *r)
{
    switch (r->status) {
    case EA_KEYAUTH_OK:
        /* graphql-api takes keys with the read scope (SPEC §6): an ingest-only key, often
         * shipped inside a client app, must not even list its tenant through `me` */
        if ((r->principal.scopes & EA_SCOPE_READ) == 0)
            return GQL_AUTH_FORBIDDEN;
        w->out->key = r->principal;
        return GQL_AUTH_OK;
    case EA_KEYAUTH_MISSING:
        return GQL_AUTH_MISSING;
    case EA_KEYAUTH_UNAVAILABLE:
        return GQL_AUTH_UNAVAILABLE;
    case EA_KEYAUTH_LIMITED:
        w->retry_after_s = r->retry_after_s;
        return GQL_AUTH_LIMITED;
    case EA_KEYAUTH_BUSY:
        w->retry_after_s = r->retry_after_s;
        return GQL_AUTH_BUSY;
    case EA_KEYAUTH_PENDING:
        return GQL_AUTH_PENDING;
    default:
        return GQL_AUTH_INVALID;
    }
}

static void on_verified(ea_keyauth_waiter *kw, const ea_keyauth_result *r)
{
    gql_auth_wait *w = (gql_auth_wait *)kw;
    w->cb(w, from_key(w, r));
}

gql_auth_status gql_auth_begin(gql_app *app, gql_auth_wait *w, const char *authorization,
                               size_t alen, const char *cookie, size_t clen, const char *client,
                               gql_principal *out)
{
    memset(out, 0, sizeof(*out));
    w->app = app;
    w->out = out;
    w->retry_after_s = 0;
    w->kw.job = NULL;
    w->sjob = NULL;
    if (authorization == NULL) {
        if (cookie == NULL)
            return GQL_AUTH_MISSING;
        /* the signature is checked here; the session row on a pool thread */
        const char *secret = app->cfg->session_secret;
        int st = gql_session_cookie_state(secret, cookie, clen);
        if (st != 1)
            return st == 2 ? GQL_AUTH_INVALID : GQL_AUTH_MISSING;
        auth_session_job *sj = calloc(1, sizeof(*sj));
        if (sj == NULL || (sj->cookie = ea_http_value_dup(cookie, clen)) == NULL) {
            free(sj);
            return GQL_AUTH_UNAVAILABLE;
        }
        sj->w = w;
        sj->secret = secret;
        sj->j.run = session_run;
        sj->j.done = session_done;
        if (gql_exec_submit(app->fast, &sj->j, false) != EA_OK) {
            OPENSSL_cleanse(sj->cookie, clen);
            free(sj->cookie);
            free(sj);
            w->retry_after_s = 1;
            return GQL_AUTH_BUSY;
        }
        w->sjob = sj;
        return GQL_AUTH_PENDING;
    }
    out->kind = GQL_PRINCIPAL_KEY;
    const char *key;
    size_t klen;
    if (!ea_keyauth_bearer(authorization, alen, &key, &klen))
        return GQL_AUTH_MISSING;
    w->kw.cb = on_verified;
    ea_keyauth_result r;
    ea_keyauth_begin(app->auth, key, klen, client, &w->kw, &r);
    return from_key(w, &r);
}

gql_auth_status gql_auth_request(gql_app *app, gql_auth_wait *w, h2o_req_t *req, gql_principal *out)
{
    int na, nc;
    const h2o_iovec_t *a = ea_http_header(req, "authorization", &na);
    const h2o_iovec_t *c = ea_http_header(req, "cookie", &nc);
    if (na > 1) {
        memset(out, 0, sizeof(*out));
        w->kw.job = NULL;
        w->sjob = NULL;
        return GQL_AUTH_INVALID; /* two Authorization headers: ambiguous, refuse */
    }
    char peer[64];
    return gql_auth_begin(app, w, a ? a->base : NULL, a ? a->len : 0, c ? c->base : NULL,
                          c ? c->len : 0, ea_http_peer(req, peer, sizeof(peer)), out);
}

void gql_auth_cancel(gql_auth_wait *w)
{
    ea_keyauth_cancel(&w->kw);
    if (w->sjob != NULL) {
        w->sjob->w = NULL; /* it comes back and frees itself */
        w->sjob = NULL;
    }
}

bool gql_auth_pending(const gql_auth_wait *w)
{
    return w->kw.job != NULL || w->sjob != NULL;
}

void gql_auth_on_ready(void *app)
{
    ea_keyauth_complete(((gql_app *)app)->auth);
}
