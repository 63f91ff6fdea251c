/*
 * login.c — /auth/login, /auth/callback and /auth/logout: the OIDC authorization code flow with
 * PKCE (S256), state and nonce, ending in a session cookie (session.c).
 *
 * Threading. Calls to the issuer (discovery, token endpoint, JWKS) take tens to hundreds of
 * milliseconds and can hang until OIDC_HTTP_TIMEOUT_MS; made on the event loop they would stall
 * every GraphQL request and subscription of the process. They run instead on one worker thread
 * owned by this module, fed through a mutex/condition queue (at most QUEUE_MAX jobs) and handing
 * each finished job back through an h2o multithread queue, whose callback runs on the loop.
 * Only the worker touches the discovery and JWKS caches and its own database connection (the
 * login's rows: oidc_logins, users, sessions); only the loop touches requests. One thread is
 * enough: logins are rare and each holds a browser redirect, not a CPU. Logout deletes its
 * session row on a graphql-api pool thread (exec.h).
 *
 * A request may go away (client closed) while its job runs: the job keeps a pointer in the
 * request's pool whose dispose callback clears job->req, and the finished job is then dropped.
 *
 * Flow and invariants:
 *   login:    return_to checked (same-origin path) → state, nonce, verifier from RAND_bytes →
 *             worker: row in oidc_logins (state stored hashed), the authorize URL →
 *             302 with cookie ea_login=<state> (Path=/auth/callback) binding the login to
 *             this browser.
 *   callback: cookie state == query state (else refused: login CSRF) → worker: DELETE ...
 *             RETURNING of the row (single use across processes: a replay finds nothing),
 *             redeems the code with the verifier and verifies the ID token (oidc.c), upserts the
 *             user by (issuer, subject), creates the session row + signed cookie → loop: 302 to
 *             return_to.
 *   Every refusal answers 4xx/5xx JSON, clears ea_login and sets no session cookie.
 */
#include "login.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "exec.h"
#include "headers.h"
#include "oidc.h"
#include "session.h"

#include <h2o/multithread.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGIN_COOKIE "ea_login"
#define QUEUE_MAX 64          /* jobs waiting for the worker; more answer 503 */
#define PROVIDER_TTL_S 3600   /* discovery document refresh */
#define JWKS_TTL_S 86400      /* JWKS refresh even without an unknown kid */
#define JWKS_MIN_REFETCH_S 10 /* unknown kids cannot make us hammer the issuer */
#define RETURN_TO_MAX 512
#define TOKEN_CHARS 48 /* base64url of 32 random bytes is 43 chars */

typedef enum job_type { JOB_LOGIN, JOB_CALLBACK } job_type;

struct job {
    h2o_multithread_message_t msg; /* first: the h2o queue links messages through it */
    struct job *next;
    struct gql_login *lg;
    h2o_req_t *req;       /* NULL once the client went away */
    struct job **req_ref; /* in req's pool; cleared by its dispose callback */
    job_type type;
    char rid[EA_LOG_SUBJECT_MAX]; /* the request's id: the worker's log lines are about it */
    char state[TOKEN_CHARS], nonce[TOKEN_CHARS], verifier[TOKEN_CHARS];
    char return_to[RETURN_TO_MAX];
    char *code;
    /* results, written by the worker */
    ea_rc rc;
    struct ea_err err;
    bool db_down;   /* the database could not store or read the login */
    bool bad_state; /* callback: unknown, used or expired state */
    gql_idtoken_verdict verdict;
    char auth_url[4096];
    gql_identity who;
    long long uid;
    char cookie[GQL_SESSION_COOKIE_MAX]; /* the new session's cookie */
};

struct gql_login {
    gql_app *app;
    ea_http_server *srv;
    bool enabled; /* OIDC_CLIENT_ID set */
    bool secure;  /* the public URL is https: cookies get Secure */
    char redirect_uri[1024];
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    pthread_t thread;
    bool thread_started;
    bool sync_init; /* mu and cv initialised */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail; /* waiting for the worker (under mu) */
    size_t queued;
    bool stopping;
    size_t in_flight; /* loop only: jobs submitted and not yet finished */
    /* worker thread only */
    PGconn *db;
    gql_oidc_provider provider;
    int64_t provider_at;
    gql_jwks *jwks;
    int64_t jwks_at;
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- worker thread -------------------------------------------------------------------------- */

static ea_rc ensure_provider(struct gql_login *lg, struct ea_err *err)
{
    if (lg->provider_at != 0 && now_s() - lg->provider_at < PROVIDER_TTL_S)
        return EA_OK;
    gql_oidc_provider p;
    const gql_config *cfg = lg->app->cfg;
    ea_rc rc = gql_oidc_discover(cfg->oidc_issuer, cfg->oidc_http_timeout_ms, &p, err);
    if (rc != EA_OK)
        return rc;
    lg->provider = p;
    lg->provider_at = now_s();
    return EA_OK;
}

static ea_rc refresh_jwks(struct gql_login *lg, struct ea_err *err)
{
    gql_jwks *k = NULL;
    ea_rc rc =
        gql_oidc_fetch_jwks(lg->provider.jwks_uri, lg->app->cfg->oidc_http_timeout_ms, &k, err);
    if (rc != EA_OK)
        return rc;
    gql_jwks_free(lg->jwks);
    lg->jwks = k;
    lg->jwks_at = now_s();
    return EA_OK;
}

static void run_callback(struct gql_login *lg, struct job *j)
{
    const gql_config *cfg = lg->app->cfg;
    char *id_token = NULL;
    j->rc = gql_oidc_redeem_code(&lg->provider, cfg->oidc_client_id, cfg->oidc_client_secret,
                                 lg->redirect_uri, j->code, j->verifier, cfg->oidc_http_timeout_ms,
                                 &id_token, &j->err);
    if (j->rc != EA_OK)
        return;
    if (lg->jwks == NULL || now_s() - lg->jwks_at >= JWKS_TTL_S) {
        j->rc = refresh_jwks(lg, &j->err);
        if (j->rc != EA_OK)
            goto out;
    }
    gql_idtoken_expect ex = {.issuer = lg->provider.issuer,
                             .client_id = cfg->oidc_client_id,
                             .nonce = j->nonce,
                             .now = now_s(),
                             .leeway_s = cfg->oidc_clock_skew_s};
    j->verdict = gql_idtoken_verify(id_token, strlen(id_token), lg->jwks, &ex, &j->who);
    /* the issuer rotated its keys: fetch the JWKS again (rate-limited) and retry once */
    if (j->verdict == GQL_IDTOKEN_UNKNOWN_KID && now_s() - lg->jwks_at >= JWKS_MIN_REFETCH_S &&
        refresh_jwks(lg, &j->err) == EA_OK) {
        ex.now = now_s();
        j->verdict = gql_idtoken_verify(id_token, strlen(id_token), lg->jwks, &ex, &j->who);
    }
out:
    if (id_token != NULL) {
        OPENSSL_cleanse(id_token, strlen(id_token));
        free(id_token);
    }
}

static void state_hash_hex(const char *state, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)state, strlen(state), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The worker's connection (made on first use, again after a break). */
static PGconn *worker_db(struct gql_login *lg)
{
    struct ea_err err;
    if (lg->db != NULL && !ea_pg_is_broken(lg->db))
        return lg->db;
    if (lg->db != NULL)
        PQfinish(lg->db);
    lg->db = ea_pg_connect(lg->app->database_url, &err);
    if (lg->db == NULL)
        ea_log_error("postgresql", "%s", err.message);
    return lg->db;
}

/* login: the row that the callback will consume (state hashed), and a sweep of abandoned ones */
static bool store_login(struct gql_login *lg, struct job *j)
{
    PGconn *c = worker_db(lg);
    if (c == NULL)
        return false;
    struct ea_err err;
    char hash[65], ttl[24];
    state_hash_hex(j->state, hash);
    snprintf(ttl, sizeof(ttl), "%ld", lg->app->cfg->oidc_login_ttl_s);
    const char *params[5] = {hash, j->nonce, j->verifier, j->return_to, ttl};
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO oidc_logins (state_hash, nonce,"
                              " code_verifier, return_to, expires_at) VALUES"
                              " (decode($1, 'hex'), $2, $3, $4,"
                              " now() + make_interval(secs => $5::int))",
                              5, params, PGRES_COMMAND_OK, &err);
    if (r == NULL) {
        ea_log_error("postgresql", "%s", err.message);
        return false;
    }
    PQclear(r);
    /* logins abandoned at the issuer leave rows behind: sweep them (indexed, usually none) */
    r = ea_pg_query(c, "DELETE FROM oidc_logins WHERE expires_at < now()", 0, NULL,
                    PGRES_COMMAND_OK, &err);
    PQclear(r);
    return true;
}

/* callback: single use — whoever deletes the row owns the login; a replay finds nothing */
static bool take_login(struct gql_login *lg, struct job *j)
{
    PGconn *c = worker_db(lg);
    if (c == NULL) {
        j->db_down = true;
        return false;
    }
    char hash[65];
    state_hash_hex(j->state, hash);
    const char *params[1] = {hash};
    struct ea_err err;
    PGresult *r = ea_pg_query(c,
                              "DELETE FROM oidc_logins WHERE state_hash = decode($1, 'hex')"
                              " RETURNING nonce, code_verifier, return_to, expires_at > now()",
                              1, params, PGRES_TUPLES_OK, &err);
    if (r == NULL) {
        ea_log_error("postgresql", "%s", err.message);
        j->db_down = true;
        return false;
    }
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 3), "t") != 0) {
        PQclear(r);
        ea_log_warn(j->rid, "callback refused: unknown, used or expired state");
        j->bad_state = true;
        return false;
    }
    snprintf(j->nonce, sizeof(j->nonce), "%s", PQgetvalue(r, 0, 0));
    snprintf(j->verifier, sizeof(j->verifier), "%s", PQgetvalue(r, 0, 1));
    snprintf(j->return_to, sizeof(j->return_to), "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    return true;
}

/* callback, once the ID token is good: the user and a new session */
static void open_session(struct gql_login *lg, struct job *j)
{
    const gql_config *cfg = lg->app->cfg;
    PGconn *c = worker_db(lg);
    struct ea_err err;
    if (c == NULL ||
        gql_user_upsert(c, cfg->oidc_issuer, j->who.subject, j->who.name, j->who.email, &j->uid,
                        &err) != EA_OK ||
        gql_session_create(c, cfg->session_secret, j->uid, cfg->session_ttl_s, j->cookie, &err) !=
            EA_OK) {
        if (c != NULL)
            ea_log_error("postgresql", "%s", err.message);
        j->db_down = true;
    }
}

static void run_job(struct gql_login *lg, struct job *j)
{
    ea_err_clear(&j->err);
    if (j->type == JOB_LOGIN && !store_login(lg, j)) {
        j->db_down = true;
        return;
    }
    if (j->type == JOB_CALLBACK && !take_login(lg, j))
        return;
    j->rc = ensure_provider(lg, &j->err);
    if (j->rc != EA_OK)
        return;
    if (j->type == JOB_LOGIN) {
        char challenge[44];
        gql_pkce_challenge(j->verifier, challenge);
        if (!gql_oidc_authorize_url(&lg->provider, lg->app->cfg->oidc_client_id, lg->redirect_uri,
                                    j->state, j->nonce, challenge, j->auth_url,
                                    sizeof(j->auth_url)))
            j->rc = ea_err_set(&j->err, EA_ERR_LIMIT, "could not build the authorize URL");
        return;
    }
    run_callback(lg, j);
    if (j->rc == EA_OK && j->verdict == GQL_IDTOKEN_OK)
        open_session(lg, j);
}

static void *worker_main(void *ud)
{
    struct gql_login *lg = ud;
    for (;;) {
        pthread_mutex_lock(&lg->mu);
        while (lg->head == NULL && !lg->stopping)
            pthread_cond_wait(&lg->cv, &lg->mu);
        if (lg->stopping) {
            pthread_mutex_unlock(&lg->mu);
            return NULL; /* queued jobs are freed by gql_login_stop */
        }
        struct job *j = lg->head;
        lg->head = j->next;
        if (lg->head == NULL)
            lg->tail = NULL;
        lg->queued--;
        pthread_mutex_unlock(&lg->mu);
        run_job(lg, j);
        h2o_multithread_send_message(&lg->receiver, &j->msg);
    }
}

/* ---- jobs on the loop ----------------------------------------------------------------------- */

static void on_results(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

static void on_req_dispose(void *p)
{
    struct job **ref = p;
    if (*ref != NULL)
        (*ref)->req = NULL;
}

static void job_free(struct job *j)
{
    if (j->req != NULL && j->req_ref != NULL)
        *j->req_ref = NULL;
    if (j->code != NULL) {
        OPENSSL_cleanse(j->code, strlen(j->code));
        free(j->code);
    }
    OPENSSL_cleanse(j, sizeof(*j));
    free(j);
}

static void refuse(struct gql_login *lg, h2o_req_t *req, int status, const char *code,
                   const char *message);

/* A job for req; NULL when out of memory, req answered 503. */
static struct job *job_new(struct gql_login *lg, h2o_req_t *req, job_type type)
{
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        refuse(lg, req, 503, "unavailable", "out of memory");
        return NULL;
    }
    j->lg = lg;
    j->req = req;
    j->type = type;
    snprintf(j->rid, sizeof(j->rid), "%s", ea_http_request_id(req));
    j->req_ref = h2o_mem_alloc_shared(&req->pool, sizeof(*j->req_ref), on_req_dispose);
    *j->req_ref = j;
    return j;
}

/* The loop exists only once the server listens (ea_http_listen), after the routes were
 * registered: the queue and the worker thread are therefore created on the first login. */
static bool worker_ensure(struct gql_login *lg)
{
    if (lg->thread_started)
        return true;
    if (lg->queue == NULL) {
        lg->queue = h2o_multithread_create_queue(ea_http_loop(lg->srv));
        h2o_multithread_register_receiver(lg->queue, &lg->receiver, on_results);
    }
    if (pthread_create(&lg->thread, NULL, worker_main, lg) != 0) {
        ea_log_error("startup", "could not start the login worker thread");
        return false;
    }
    lg->thread_started = true;
    return true;
}

/* Queues j for the login thread; when too many logins are in progress (or the thread cannot
 * start), frees j and answers req 503. */
static void job_submit(struct gql_login *lg, h2o_req_t *req, struct job *j)
{
    bool ok = worker_ensure(lg);
    pthread_mutex_lock(&lg->mu);
    ok = ok && lg->queued < QUEUE_MAX && !lg->stopping;
    if (ok) {
        if (lg->tail != NULL)
            lg->tail->next = j;
        else
            lg->head = j;
        lg->tail = j;
        lg->queued++;
        pthread_cond_signal(&lg->cv);
    }
    pthread_mutex_unlock(&lg->mu);
    if (ok) {
        lg->in_flight++;
        return;
    }
    job_free(j);
    refuse(lg, req, 503, "busy", "too many logins in progress, try again");
}

/* ---- HTTP helpers --------------------------------------------------------------------------- */

/* A query-string parameter, percent-decoded (libcurl), malloc'd; NULL when absent. */
static char *query_param(const h2o_req_t *req, const char *name)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *q = req->path.base + req->query_at + 1;
    size_t len = req->path.len - req->query_at - 1, nl = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end - i > nl && memcmp(q + i, name, nl) == 0 && q[i + nl] == '=') {
            size_t vlen = end - i - nl - 1;
            if (vlen == 0) /* curl_easy_unescape takes a length of 0 as "up to a NUL": none here */
                return strdup("");
            int outlen = 0;
            char *v = curl_easy_unescape(NULL, q + i + nl + 1, (int)vlen, &outlen);
            if (v == NULL)
                return NULL;
            char *copy = NULL;
            if (memchr(v, '\0', (size_t)outlen) == NULL) /* %00 is never a valid value */
                copy = strndup(v, (size_t)outlen);
            curl_free(v);
            return copy;
        }
        i = end + 1;
    }
    return NULL;
}

/* A same-origin path to come back to: "/..." but not "//host" or "/\host" (browsers treat
 * both as another origin), no control characters, no scheme. */
static bool return_to_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= RETURN_TO_MAX || p[0] != '/' || p[1] == '/' || p[1] == '\\')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\')
            return false;
    return true;
}

static void add_cookie(h2o_req_t *req, const char *name, const char *value, const char *path,
                       long max_age, bool secure)
{
    char buf[512];
    gql_cookie_format(buf, sizeof(buf), name, value, path, max_age, secure);
    ea_http_add_header(req, "Set-Cookie", buf);
}

static void clear_login_cookie(struct gql_login *lg, h2o_req_t *req)
{
    add_cookie(req, LOGIN_COOKIE, "", "/auth/callback", 0, lg->secure);
}

static void refuse(struct gql_login *lg, h2o_req_t *req, int status, const char *code,
                   const char *message)
{
    clear_login_cookie(lg, req); /* Cache-Control: no-store comes with every /auth answer */
    ea_http_send_error(req, status, code, "%s", message);
}

/* A 302 that keeps the Set-Cookie headers already added (h2o_send_redirect resets them). */
static void redirect(h2o_req_t *req, const char *url)
{
    static const char body[] = "redirecting\n";
    ea_http_add_header(req, "Location", url);
    ea_http_send_bytes(req, 302, "text/plain; charset=utf-8", body, sizeof(body) - 1);
}

/* The start of GET /auth/login and GET /auth/callback: a GET, with sign-in configured; false when
 * the request has been answered (405 naming `path`, or 503). */
static bool login_get(struct gql_login *lg, h2o_req_t *req, const char *path)
{
    if (!ea_http_method_is(req, "GET")) {
        ea_http_add_header(req, "Allow", "GET");
        ea_http_send_error(req, 405, "method_not_allowed", "use GET %s", path);
        return false;
    }
    if (lg->enabled)
        return true;
    refuse(lg, req, 503, "login_not_configured",
           "sign-in is not configured: set OIDC_CLIENT_ID (and OIDC_ISSUER, SESSION_SECRET)");
    return false;
}

/* ---- GET /auth/login ------------------------------------------------------------------------ */

static int on_login(void *ud, h2o_req_t *req)
{
    struct gql_login *lg = ud;
    if (!login_get(lg, req, "/auth/login"))
        return 0;
    char *rt = query_param(req, "return_to");
    const char *return_to = rt != NULL ? rt : "/";
    if (!return_to_ok(return_to)) {
        free(rt);
        refuse(lg, req, 400, "bad_return_to",
               "return_to must be a path on this site, like /dashboards");
        return 0;
    }
    struct job *j = job_new(lg, req, JOB_LOGIN);
    if (j == NULL) {
        free(rt);
        return 0;
    }
    snprintf(j->return_to, sizeof(j->return_to), "%s", return_to);
    free(rt);
    if (!gql_random_token(j->state, 32) || !gql_random_token(j->nonce, 32) ||
        !gql_random_token(j->verifier, 32)) {
        job_free(j);
        refuse(lg, req, 503, "unavailable", "could not draw random bytes");
        return 0;
    }
    job_submit(lg, req, j);
    return 0;
}

/* The thread could not talk to the identity provider (j->rc): logged, answered 502. */
static bool issuer_failed(struct gql_login *lg, h2o_req_t *req, const struct job *j)
{
    if (j->rc == EA_OK)
        return false;
    ea_log_warn(ea_http_request_id(req), "%s", j->err.message);
    refuse(lg, req, 502, "issuer_unavailable",
           "could not reach the identity provider; try again later");
    return true;
}

static void finish_login(struct gql_login *lg, struct job *j)
{
    h2o_req_t *req = j->req;
    if (j->db_down) {
        refuse(lg, req, 503, "unavailable", "could not start the login: database unavailable");
        return;
    }
    if (issuer_failed(lg, req, j))
        return;
    add_cookie(req, LOGIN_COOKIE, j->state, "/auth/callback", lg->app->cfg->oidc_login_ttl_s,
               lg->secure);
    redirect(req, j->auth_url);
}

/* ---- GET /auth/callback --------------------------------------------------------------------- */

static bool state_matches_cookie(h2o_req_t *req, const char *state)
{
    int n;
    const h2o_iovec_t *ck = ea_http_header(req, "cookie", &n);
    if (ck == NULL)
        return false;
    size_t pos = 0, vlen, sl = strlen(state);
    const char *v;
    while ((v = gql_cookie_find(ck->base, ck->len, LOGIN_COOKIE, &pos, &vlen)) != NULL)
        if (vlen == sl && CRYPTO_memcmp(v, state, sl) == 0)
            return true;
    return false;
}

static int on_callback(void *ud, h2o_req_t *req)
{
    struct gql_login *lg = ud;
    if (!login_get(lg, req, "/auth/callback"))
        return 0;
    char *error = query_param(req, "error");
    char *state = query_param(req, "state"), *code = query_param(req, "code");
    struct job *j = NULL;
    if (error != NULL) {
        ea_log_info(ea_http_request_id(req), "the issuer refused the login: %.100s", error);
        refuse(lg, req, 401, "login_refused", "the identity provider did not sign you in");
        goto out;
    }
    if (state == NULL || code == NULL || strlen(state) >= TOKEN_CHARS || strlen(code) > 2048) {
        refuse(lg, req, 400, "bad_callback", "the callback needs code and state");
        goto out;
    }
    if (!state_matches_cookie(req, state)) {
        ea_log_warn(ea_http_request_id(req),
                    "callback refused: state does not match this browser's login");
        refuse(lg, req, 400, "bad_state", "this login was not started by this browser");
        goto out;
    }
    j = job_new(lg, req, JOB_CALLBACK);
    if (j == NULL)
        goto out;
    snprintf(j->state, sizeof(j->state), "%s", state);
    j->code = code;
    code = NULL;
    job_submit(lg, req, j);
out:
    free(error);
    free(state);
    free(code);
    return 0;
}

static void finish_callback(struct gql_login *lg, struct job *j)
{
    h2o_req_t *req = j->req;
    gql_app *app = lg->app;
    if (j->bad_state) {
        refuse(lg, req, 400, "bad_state", "unknown, expired or already used login");
        return;
    }
    if (j->db_down && j->verdict != GQL_IDTOKEN_OK) {
        refuse(lg, req, 503, "unavailable", "database unavailable");
        return;
    }
    if (j->rc == EA_ERR_AUTH) {
        ea_log_warn(ea_http_request_id(req), "%s", j->err.message);
        refuse(lg, req, 401, "login_failed", "the identity provider refused the code");
        return;
    }
    if (issuer_failed(lg, req, j))
        return;
    if (j->verdict != GQL_IDTOKEN_OK) {
        const char *why = gql_idtoken_verdict_name(j->verdict);
        ea_log_warn(ea_http_request_id(req), "id token refused: %s", why);
        char msg[128];
        snprintf(msg, sizeof(msg), "the ID token was refused (%s)", why);
        refuse(lg, req, 401, "bad_id_token", msg);
        return;
    }
    if (j->db_down) {
        refuse(lg, req, 503, "unavailable", "could not create the session: database unavailable");
        return;
    }
    ea_log_info(ea_http_request_id(req), "user %lld signed in", j->uid);
    clear_login_cookie(lg, req);
    add_cookie(req, GQL_SESSION_COOKIE, j->cookie, "/", app->cfg->session_ttl_s, lg->secure);
    redirect(req, j->return_to);
}

/* ---- /auth/logout --------------------------------------------------------------------------- */

/* The session row goes on a pool thread; the answer (cookie cleared, 200 or a redirect) waits for
 * it, so a copy of the cookie stops working before the browser hears it is signed out. */
typedef struct logout_job {
    gql_req_job rj; /* first */
    struct gql_login *lg;
    char *cookie;
    char *return_to; /* GET: where to go after (checked), else NULL */
    bool get;
} logout_job;

static void logout_run(gql_job *j, gql_thread *t)
{
    logout_job *lj = (logout_job *)j;
    gql_session_destroy(gql_thread_db(t), lj->lg->app->cfg->session_secret, lj->cookie,
                        strlen(lj->cookie));
}

static void logout_answer(struct gql_login *lg, h2o_req_t *req, bool get, const char *return_to)
{
    add_cookie(req, GQL_SESSION_COOKIE, "", "/", 0, lg->secure);
    if (!get) {
        ea_http_send_json(req, 200, json_pack("{s:s}", "status", "signed out"), NULL);
        return;
    }
    redirect(req, return_to != NULL && return_to_ok(return_to) ? return_to : "/");
}

static void logout_free(logout_job *lj)
{
    OPENSSL_cleanse(lj->cookie, strlen(lj->cookie));
    free(lj->cookie);
    free(lj->return_to);
    free(lj);
}

static void logout_done(gql_job *j, bool ran)
{
    logout_job *lj = (logout_job *)j;
    h2o_req_t *req = lj->rj.req;
    gql_req_job_finish(&lj->rj);
    (void)ran; /* the cookie is cleared either way */
    if (req != NULL)
        logout_answer(lj->lg, req, lj->get, lj->return_to);
    logout_free(lj);
}

static int on_logout(void *ud, h2o_req_t *req)
{
    struct gql_login *lg = ud;
    bool get = ea_http_method_is(req, "GET");
    if (!get && !ea_http_method_is(req, "POST")) {
        ea_http_add_header(req, "Allow", "GET, POST");
        ea_http_send_error(req, 405, "method_not_allowed", "use GET or POST /auth/logout");
        return 0;
    }
    char *rt = get ? query_param(req, "return_to") : NULL;
    int n;
    const h2o_iovec_t *ck = ea_http_header(req, "cookie", &n);
    if (ck == NULL || gql_session_cookie_state(lg->app->cfg->session_secret, ck->base, ck->len) ==
                          0) { /* no session cookie: nothing to delete */
        logout_answer(lg, req, get, rt);
        free(rt);
        return 0;
    }
    logout_job *lj = calloc(1, sizeof(*lj));
    if (lj == NULL || (lj->cookie = ea_http_value_dup(ck->base, ck->len)) == NULL) {
        free(lj);
        free(rt);
        refuse(lg, req, 503, "unavailable", "out of memory");
        return 0;
    }
    lj->lg = lg;
    lj->get = get;
    lj->return_to = rt;
    lj->rj.j.run = logout_run;
    lj->rj.j.done = logout_done;
    if (gql_exec_submit_req(lg->app->fast, &lj->rj, req, false) != EA_OK) {
        logout_free(lj);
        ea_http_add_header(req, "Retry-After", "1");
        refuse(lg, req, 503, "busy", "too busy to sign out right now; try again");
    }
    return 0;
}

/* ---- results back on the loop ---------------------------------------------------------------- */

static void on_results(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct gql_login *lg = H2O_STRUCT_FROM_MEMBER(struct gql_login, receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct job *j = (struct job *)m;
        lg->in_flight--;
        if (j->req != NULL) {
            if (j->type == JOB_LOGIN)
                finish_login(lg, j);
            else
                finish_callback(lg, j);
        }
        job_free(j);
    }
}

/* ---- start / stop ---------------------------------------------------------------------------- */

ea_rc gql_login_start(ea_http_server *s, gql_app *app, struct ea_err *err)
{
    const gql_config *cfg = app->cfg;
    struct gql_login *lg = calloc(1, sizeof(*lg));
    if (lg == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    lg->app = app;
    lg->srv = s;
    lg->enabled = cfg->oidc_client_id != NULL && cfg->oidc_client_id[0] != '\0';
    if (cfg->oidc_redirect_uri != NULL && cfg->oidc_redirect_uri[0] != '\0') {
        snprintf(lg->redirect_uri, sizeof(lg->redirect_uri), "%s", cfg->oidc_redirect_uri);
    } else {
        const char *host = cfg->http.host;
        if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
            host = "127.0.0.1";
        snprintf(lg->redirect_uri, sizeof(lg->redirect_uri), "http://%s:%ld/auth/callback", host,
                 cfg->http.port);
    }
    lg->secure = strncmp(lg->redirect_uri, "https://", 8) == 0;
    app->login = lg;
    /* the routes exist either way: without a client id they explain what to configure */
    gql_route(s, "/auth/login", on_login, lg); /* headers.c: security headers, no-store */
    gql_route(s, "/auth/callback", on_callback, lg);
    gql_route(s, "/auth/logout", on_logout, lg);
    if (!lg->enabled) {
        ea_log_info("startup", "sign-in disabled: OIDC_CLIENT_ID is not set");
        return EA_OK;
    }
    if (cfg->session_secret == NULL || strlen(cfg->session_secret) < 32)
        return ea_err_set(err, EA_ERR_INVALID,
                          "SESSION_SECRET must be at least 32 bytes when OIDC_CLIENT_ID is set "
                          "(e.g. openssl rand -hex 32)");
    if (!gql_oidc_url_allowed(cfg->oidc_issuer))
        return ea_err_set(err, EA_ERR_INVALID,
                          "OIDC_ISSUER must be https (plain http only on 127.0.0.1/localhost): %s",
                          cfg->oidc_issuer);
    if (strncmp(lg->redirect_uri, "http://", 7) != 0 && !lg->secure)
        return ea_err_set(err, EA_ERR_INVALID, "OIDC_REDIRECT_URI must be an http(s) URL");
    if (gql_oidc_global_init(err) != EA_OK)
        return err->code;
    pthread_mutex_init(&lg->mu, NULL);
    pthread_cond_init(&lg->cv, NULL);
    lg->sync_init = true;
    ea_log_info("startup", "sign-in via %s, callback %s", cfg->oidc_issuer, lg->redirect_uri);
    return EA_OK;
}

void gql_login_stop(ea_http_server *s, gql_app *app)
{
    struct gql_login *lg = app->login;
    if (lg == NULL)
        return;
    if (lg->thread_started) {
        pthread_mutex_lock(&lg->mu);
        lg->stopping = true;
        pthread_cond_broadcast(&lg->cv);
        pthread_mutex_unlock(&lg->mu);
        pthread_join(lg->thread, NULL);
    }
    /* jobs never picked up by the worker */
    while (lg->head != NULL) {
        struct job *j = lg->head;
        lg->head = j->next;
        lg->in_flight--;
        job_free(j);
    }
    if (lg->queue != NULL) {
        /* results already sent: deliver them (their requests get an answer or are gone) */
        for (int i = 0; i < 10 && lg->in_flight > 0; i++)
            ea_http_run_once(s, 10);
        h2o_multithread_unregister_receiver(lg->queue, &lg->receiver);
        h2o_multithread_destroy_queue(lg->queue);
    }
    if (lg->sync_init) {
        pthread_cond_destroy(&lg->cv);
        pthread_mutex_destroy(&lg->mu);
        gql_oidc_global_cleanup();
    }
    gql_jwks_free(lg->jwks);
    if (lg->db != NULL)
        PQfinish(lg->db);
    free(lg);
    app->login = NULL;
}
