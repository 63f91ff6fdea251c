/*
 * ws.c — graphql-transport-ws over h2o's WebSocket (wslay). State machine of one connection:
 *
 *   upgrade ─ over GRAPHQL_WS_MAX_PER_ADDRESS sockets from this address: 429, no upgrade
 *      │
 *   upgraded ──connection_init (auth ok)──▶ acked ──subscribe──▶ subscriptions run
 *      │  no init within WS_INIT_TIMEOUT: close 4408      │ complete: drop one
 *      │  bad credentials: 4403                           │ change feed: next
 *      │  over GRAPHQL_WS_MAX_PER_PRINCIPAL: 1008         │ error ends one (no complete)
 *      └─ second connection_init: 4429                    └─ mutation: error METHOD_NOT_ALLOWED
 *   anytime: invalid message 4400, subscribe before ack 4401, duplicate id 4409, server fault
 *   4500, subprotocol not offered 4406 (right after the upgrade), message over the frame cap 1009
 *   (wslay); more than WS_MAX_QUEUED bytes waiting for a client that does not read: dropped.
 *   closing ──WS_CLOSE_GRACE_MS without the client's close frame──▶ TCP connection dropped
 * The message rules (shapes, close codes, no mutations) are wsproto.c; this file does the I/O.
 *
 * Invariants:
 * 1. Message callbacks run inside h2o_websocket_proceed(): they only queue frames; whoever
 *    called proceed sends them. Code outside callbacks (timers, pushes) calls proceed last and
 *    never touches the connection afterwards, because proceed may close and free it.
 * 2. A subscription owns its prepared document, variables and arguments; the document cache
 *    is not used because entries there may be replaced while a subscription lives.
 * 3. Tenant access is checked when subscribing (gql_principal_may, read scope); pushes go only
 *    to subscriptions of the tenant named in the message.
 * 4. The session cookie authenticates a socket only when the upgrade's Origin is absent (not a
 *    browser: no ambient cookie to steal), the server's own origin (Origin's host = Host) or
 *    listed in GRAPHQL_WS_ORIGINS; otherwise the cookie is forgotten at the upgrade, so a page
 *    on another site (or another port of this host) cannot ride a signed-in user's session.
 * 5. Every close frame is followed by a deadline: a client that never answers it loses its TCP
 *    connection WS_CLOSE_GRACE_MS later, so refusing a client always frees its socket.
 * 6. An acked socket's principal is checked again every max(1 s, KEY_CACHE_TTL_S / 8), never
 *    blocking the loop: a key through the same verifier as HTTP (its cache, its refresh ahead of
 *    expiry and its pool thread), a session by one query for all signed-in sockets on the
 *    dbpool thread. A revoked key or an ended session (logout, expiry) closes the socket with
 *    4403 — within KEY_CACHE_TTL_S of the revocation, the bound HTTP requests have — and a
 *    subscription to a tenant the user is no longer a member of ends with FORBIDDEN. A database
 *    that cannot answer closes nothing (it is not a revocation).
 * 7. Nothing that waits runs on the loop: a subscribe that needs a rate-limit lease refill, a
 *    query the caches cannot answer and a subscription's checks that need the database run on a
 *    pool thread (exec.h); meanwhile the socket is busy and its later frames wait in order (at
 *    most WS_BACKLOG_MAX, else 1008), so a client sees its operations answered in the order sent
 *    (a subscription is registered before a query sent after it is answered).
 * Pushes from the change feed and alerts: wsfeed.c.
 */
#include "ea_rollup_dec.h"
#include "ea_http.h"
#include "exec.h"
#include "fair.h"
#include "ea_ratelimit.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "series.h"
#include "ws_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Frees s, which left c's list (wsfeed.c stops counting it as a follower of its key). */
static void sub_free(ws_conn *c, ws_sub *s)
{
    if (s->feed_key != NULL)
        gql_wsfeed_unfollow(c->srv->feed, s->feed_key);
    ea_gql_document_free(s->doc);
    json_decref(s->variables);
    json_decref(s->args);
    free(s->op_name);
    free(s->id);
    free(s->feed_key);
    free(s->doc_key);
    free(s->id_json);
    free(s);
}

/* An operation of a socket that needs a pool thread (exec.h): a query the loop could not answer
 * from memory, or a subscription's checks (a user's membership; a metricUpdated's arguments
 * against the metric). The socket is busy until it comes back (invariant 7); its answer is
 * dropped if the socket went away meanwhile. */
typedef struct ws_qjob {
    gql_job j;  /* first */
    ws_conn *c; /* NULL once the socket is gone */
    struct ws_qjob *next;
    gql_app *app;
    ea_gql_document *doc;
    char *id, *op_name, *query;
    json_t *vars;
    gql_request_ctx rc;
    /* a subscription (args set) or a query */
    json_t *args;
    int kind;
    ea_gql_error err;
    int rcode;
    json_t *res;
    bool request_error;
    bool refused;         /* never ran: the client's line met a full pool (fair.c) */
    gql_fair_ticket fair; /* its place in the client's share of the pool */
} ws_qjob;

/* A frame that arrived while its socket was busy (invariant 7), kept in order. */
typedef struct ws_frame {
    struct ws_frame *next;
    bool text;
    size_t len;
    char data[];
} ws_frame;

static void ws_qjob_free(ws_qjob *j);

static void conn_free(ws_conn *c)
{
    for (struct ws_qjob *j = c->jobs, *n; j != NULL; j = n) {
        n = j->next;
        if (gql_fair_cancel(c->srv->app->fair, &j->fair))
            ws_qjob_free(j); /* still waiting for its turn: it never runs */
        else
            j->c = NULL;
    }
    ea_ratelimit_cancel(&c->lw);
    gql_wsmsg_free(&c->held);
    for (ws_frame *f = c->backlog, *n; f != NULL; f = n) {
        n = f->next;
        free(f);
    }
    gql_auth_cancel(&c->auth);
    if (h2o_timeout_is_linked(&c->init_timer))
        h2o_timeout_unlink(&c->init_timer);
    if (h2o_timeout_is_linked(&c->close_timer))
        h2o_timeout_unlink(&c->close_timer);
    for (ws_sub *s = c->subs, *n; s != NULL; s = n) {
        n = s->next;
        sub_free(c, s);
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c->cookie);
    if (c->authorization != NULL) {
        OPENSSL_cleanse(c->authorization, strlen(c->authorization));
        free(c->authorization);
    }
    free(c);
}

/* Frees c and drops its TCP connection at once (outside wslay's callbacks only). */
static void conn_drop(ws_conn *c)
{
    h2o_websocket_conn_t *wc = c->wc;
    conn_free(c);
    h2o_websocket_close(wc);
}

static void proceed(ws_conn *c)
{
    if (c->wc->sock != NULL)
        h2o_websocket_proceed(c->wc);
}

/* Queues a close frame (reason cut to fit one: wsproto.h) and starts the grace deadline. */
void gql_ws_send_close(ws_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    char r[GQL_WS_REASON_MAX + 1];
    gql_ws_reason(r, "%s", reason);
    if (wslay_event_queue_close(c->wc->ws_ctx, (uint16_t)code, (const uint8_t *)r, strlen(r)) != 0)
        c->abort = true; /* nothing can be sent any more: the deadline drops it */
    h2o_timeout_link(c->srv->loop, &c->srv->close_timeout, &c->close_timer);
}

static void on_close_deadline(h2o_timeout_entry_t *entry)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, close_timer, entry);
    ea_log_debug(c->log_subject, "client %s did not answer the close frame: dropping it", c->peer);
    c->srv->stats.dropped_unanswered_close++;
    conn_drop(c);
}

/* Queues a JSON message (reference stolen). Backpressure: when more than WS_MAX_QUEUED bytes
 * wait for a client that does not read, nothing more is queued and the connection is dropped
 * (abort: a close frame would wait behind the unread bytes forever). Pushes drop it at once
 * (gql_ws_finish()); inside message callbacks the flag stops further frames and the close code 1013
 * is queued for a client that resumes reading. */
void gql_ws_send_json(ws_conn *c, json_t *msg)
{
    if (c->closing || msg == NULL) {
        json_decref(msg);
        return;
    }
    /* Float values print shortest (lib/rollup: 9.99 stays 9.99), as on HTTP */
    char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(ea_dec_real_precision(msg)));
    json_decref(msg);
    if (s == NULL) {
        gql_ws_send_close(c, 4500, "Internal error");
        return;
    }
    gql_ws_send_text(c, s, strlen(s));
    free(s);
}

void gql_ws_send_text(ws_conn *c, const char *s, size_t len)
{
    if (c->closing)
        return;
    if (wslay_event_get_queued_msg_length(c->wc->ws_ctx) + len >
        (size_t)c->srv->app->cfg->ws_max_queued) {
        ea_log_warn(c->log_subject, "client does not read: dropping it with %zu bytes queued",
                    wslay_event_get_queued_msg_length(c->wc->ws_ctx));
        gql_ws_send_close(c, 1013, "Client too slow");
        c->abort = true;
        return;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)s, len};
    if (wslay_event_queue_msg(c->wc->ws_ctx, &m) != 0) /* wslay copies the bytes */
        gql_ws_send_close(c, 4500, "Internal error");
}

static void send_error(ws_conn *c, const char *id, json_t *errors)
{
    gql_ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "error", "id", id, "payload", errors));
}

static json_t *one_error(const char *message, const char *code)
{
    return json_pack("[{s:s,s:{s:s}}]", "message", message, "extensions", "code", code);
}

static ws_sub *find_sub(ws_conn *c, const char *id, ws_sub ***link)
{
    ws_sub **l = &c->subs;
    for (; *l != NULL; l = &(*l)->next)
        if (strcmp((*l)->id, id) == 0)
            break;
    if (link != NULL)
        *link = l;
    return *l;
}

static bool has_sub(void *ud, const char *id)
{
    return find_sub(ud, id, NULL) != NULL;
}

/* Acked sockets of the same principal, c excluded. */
static long principal_sockets(const ws_conn *c)
{
    long n = 0;
    for (const ws_conn *o = c->srv->conns; o != NULL; o = o->next)
        n += o != c && o->proto.acked && !o->closing && strcmp(o->subject, c->subject) == 0;
    return n;
}

/* connection_init's outcome: ack, or close (4403 refused, 4500 database down, 1013 busy). */
static void init_answer(ws_conn *c, gql_auth_status st)
{
    switch (st) {
    case GQL_AUTH_OK:
        break;
    case GQL_AUTH_UNAVAILABLE:
        gql_ws_send_close(c, 4500, "Internal error");
        return;
    case GQL_AUTH_BUSY:
        gql_ws_send_close(c, 1013, "Try again later");
        return;
    case GQL_AUTH_LIMITED:
        gql_ws_send_close(c, 4403, "Forbidden: too many failed attempts");
        return;
    default:
        gql_ws_send_close(c, 4403,
                          st == GQL_AUTH_MISSING && c->cookie_refused
                              ? "Forbidden: the session cookie is not accepted from this Origin"
                              : "Forbidden");
        return;
    }
    gql_principal_rate(c->srv->app, &c->who, c->subject, sizeof(c->subject));
    if (principal_sockets(c) >= c->srv->app->cfg->ws_max_per_principal) {
        gql_ws_send_close(c, 1008, "Too many connections for this key or user");
        return;
    }
    c->proto.acked = true;
    gql_ws_send_json(c, json_pack("{s:s}", "type", "connection_ack"));
}

/* A key-verifier thread decided (on the loop, outside wslay's callbacks: invariant 1). */
static void on_init_verified(gql_auth_wait *w, gql_auth_status st)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, auth, w);
    init_answer(c, st);
    gql_ws_finish(c);
}

static void on_init(ws_conn *c, const gql_wsmsg *m)
{
    if (h2o_timeout_is_linked(&c->init_timer))
        h2o_timeout_unlink(&c->init_timer);
    const char *a = m->authorization;
    if (a != NULL && (c->authorization = strdup(a)) == NULL) {
        gql_ws_send_close(c, 4500, "Internal error");
        return;
    }
    c->auth.cb = on_init_verified;
    gql_auth_status st = gql_auth_begin(c->srv->app, &c->auth, a, a ? strlen(a) : 0, c->cookie,
                                        c->cookie ? strlen(c->cookie) : 0, c->peer, &c->who);
    if (st != GQL_AUTH_PENDING) /* else on_init_verified answers */
        init_answer(c, st);
}

/* Checks a metricUpdated subscription's arguments against the metric (the zone must exist, the
 * metric must be readable) by asking for the current bucket — on a pool thread. */
static int check_metric_args(PGconn *db, const json_t *args, ea_gql_error *err)
{
    json_t *a = json_deep_copy(args);
    char now[48];
    ea_time_format_iso8601(ea_time_now_ms(), now); /* inside every table's retention */
    json_object_set_new(a, "startTime", json_string(now));
    json_object_set_new(a, "endTime", json_string(now));
    gql_series_req q;
    int rc = gql_series_req_from_args(a, &q, err);
    if (rc == 0) {
        json_t *list = NULL;
        if (db == NULL)
            rc = gql_fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
        else
            rc = gql_series_fetch(db, &q, &list, err);
        json_decref(list);
    }
    json_decref(a);
    return rc;
}

/* Queues the answer of a query sent over the socket (res stolen). */
static void ws_query_answer(ws_conn *c, const char *id, json_t *res, bool request_error)
{
    if (request_error) {
        send_error(c, id, json_incref(json_object_get(res, "errors")));
        json_decref(res);
    } else {
        gql_ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "next", "id", id, "payload", res));
        gql_ws_send_json(c, json_pack("{s:s,s:s}", "type", "complete", "id", id));
    }
}

static void ws_qjob_free(ws_qjob *j)
{
    ea_gql_document_free(j->doc);
    json_decref(j->vars);
    json_decref(j->res);
    json_decref(j->args);
    json_decref(j->err.extensions);
    free(j->id);
    free(j->op_name);
    free(j->query);
    free(j);
}

static void ws_qjob_run(gql_job *gj, gql_thread *t)
{
    ws_qjob *j = (ws_qjob *)gj;
    j->rc.thread = t;
    if (j->args != NULL) { /* a subscription's checks */
        PGconn *db = gql_thread_db(t);
        const char *tenant = json_string_value(json_object_get(j->args, "tenant"));
        int may = gql_principal_may(db, &j->rc.who, tenant, EA_SCOPE_READ);
        if (may != 1)
            j->rcode = gql_fail(&j->err, db == NULL ? "SERVICE_UNAVAILABLE" : "FORBIDDEN",
                                db == NULL ? "%s"
                                           : "not allowed to access tenant \"%s\" with this "
                                             "scope",
                                db == NULL ? "database unavailable"
                                : tenant   ? tenant
                                           : "");
        else if (j->kind == SUB_METRIC)
            j->rcode = check_metric_args(db, j->args, &j->err);
        return;
    }
    ea_gql_exec_stats stats = {0, 0, false};
    j->res = ea_gql_execute_counted(j->app->schema, j->doc, j->op_name, j->vars, NULL, &j->rc,
                                    &j->app->limits, &j->request_error, &stats);
    gql_app_memory_release(&stats);
}

static void become_idle(ws_conn *c);
static void sub_register(ws_conn *c, const char *id, int kind, ea_gql_document *doc,
                         const char *op_name, const char *query, const json_t *vars, json_t *args);

static void ws_qjob_done(gql_job *gj, bool ran)
{
    ws_qjob *j = (ws_qjob *)gj;
    ws_conn *c = j->c;
    gql_fair_done(j->app->fair, &j->fair); /* the client's next waiting operation may start */
    if (c != NULL) {
        for (ws_qjob **l = &c->jobs; *l != NULL; l = &(*l)->next) {
            if (*l == j) {
                *l = j->next;
                break;
            }
        }
        c->busy = false;
        if (j->refused) {
            send_error(c, j->id,
                       one_error("too many operations waiting for the database; retry shortly",
                                 "SERVICE_UNAVAILABLE"));
        } else if (!ran) {
            send_error(c, j->id, one_error("shutting down", "SERVICE_UNAVAILABLE"));
        } else if (j->args != NULL) {
            if (j->rcode != 0) {
                send_error(c, j->id, one_error(j->err.message, j->err.code));
            } else {
                sub_register(c, j->id, j->kind, j->doc, j->op_name, j->query, j->vars, j->args);
                j->doc = NULL;
                j->args = NULL;
            }
        } else if (j->res != NULL) {
            ws_query_answer(c, j->id, j->res, j->request_error);
            j->res = NULL;
        }
        ws_qjob_free(j);
        become_idle(c); /* outside wslay's callbacks: ends with the last touch (invariant 1) */
        return;
    }
    ws_qjob_free(j);
}

/* fair.c's start() and refused() */
static ea_rc ws_job_start(gql_fair_ticket *t)
{
    ws_qjob *j = H2O_STRUCT_FROM_MEMBER(ws_qjob, fair, t);
    return gql_exec_submit(j->app->exec, &j->j, false);
}

static void ws_job_refused(gql_fair_ticket *t)
{
    ws_qjob *j = H2O_STRUCT_FROM_MEMBER(ws_qjob, fair, t);
    j->refused = true;
    ws_qjob_done(&j->j, false);
}

/* Runs j on a pool thread, within its client's share (fair.c: beyond it, j waits in the client's
 * line), and marks the socket busy; a full pool or line answers an error at once (and frees j). */
static void ws_job_submit(ws_conn *c, ws_qjob *j)
{
    gql_app *app = c->srv->app;
    j->c = c;
    j->app = app;
    j->rc.app = app;
    j->rc.who = c->who;
    j->j.run = ws_qjob_run;
    j->j.done = ws_qjob_done;
    j->fair.start = ws_job_start;
    j->fair.refused = ws_job_refused;
    gql_fair_owner owner;
    gql_fair_owner_of(&c->who, &owner);
    if (gql_fair_submit(app->fair, &j->fair, &owner) != EA_OK) {
        send_error(c, j->id,
                   one_error("too many operations waiting for the database; retry shortly",
                             "SERVICE_UNAVAILABLE"));
        ws_qjob_free(j);
        return;
    }
    j->next = c->jobs;
    c->jobs = j;
    c->busy = true;
}

/* A job for operation id (doc stolen); NULL when out of memory (doc freed, error sent). */
static ws_qjob *ws_job_new(ws_conn *c, const char *id, ea_gql_document *doc, const char *op_name,
                           const char *query, const json_t *vars)
{
    ws_qjob *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->id = strdup(id)) == NULL ||
        (op_name != NULL && (j->op_name = strdup(op_name)) == NULL) ||
        (query != NULL && (j->query = strdup(query)) == NULL)) {
        if (j != NULL) {
            free(j->id);
            free(j->op_name);
        }
        free(j);
        ea_gql_document_free(doc);
        send_error(c, id, one_error("out of memory", "INTERNAL_SERVER_ERROR"));
        return NULL;
    }
    j->doc = doc;
    j->vars = vars != NULL ? json_deep_copy(vars) : NULL;
    return j;
}

/* Registers a subscription whose checks passed (doc and args stolen). */
static void sub_register(ws_conn *c, const char *id, int kind, ea_gql_document *doc,
                         const char *op_name, const char *query, const json_t *vars, json_t *args)
{
    ws_sub *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->id = strdup(id)) == NULL) {
        free(s);
        ea_gql_document_free(doc);
        json_decref(args);
        gql_ws_send_close(c, 4500, "Internal error");
        return;
    }
    s->kind = kind;
    s->doc = doc;
    s->op_name = op_name != NULL ? strdup(op_name) : NULL;
    s->variables = vars != NULL ? json_deep_copy(vars) : NULL;
    s->args = args;
    s->field = kind == SUB_METRIC ? "metricUpdated" : "alertFired";
    s->feed_key = kind == SUB_METRIC ? gql_wsfeed_key(args) : NULL;
    if (kind == SUB_METRIC) { /* what pushes of one re-read share (wsfeed.c) */
        json_t *dk = json_pack("[s,s?,O?]", query, op_name, vars);
        s->doc_key = dk != NULL ? json_dumps(dk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(dk);
        json_t *idj = json_string(id);
        s->id_json = idj != NULL ? json_dumps(idj, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(idj);
    }
    if (s->feed_key != NULL)
        gql_wsfeed_follow(c->srv->feed, s->feed_key);
    s->next = c->subs;
    c->subs = s;
    c->nsubs++;
}

/* A subscribe message once its rate-limit token is spent. */
static void subscribe_run(ws_conn *c, const gql_wsmsg *m)
{
    const char *id = m->id;
    gql_app *app = c->srv->app;
    json_t *errors = NULL;
    ea_gql_op_type type;
    ea_gql_document *doc = gql_wsproto_prepare(app->schema, &app->limits, m, &type, &errors);
    if (doc == NULL) {
        send_error(c, id, errors);
        return;
    }
    const char *op_name = m->operation_name;
    const json_t *vars = m->variables;
    gql_request_ctx rc = {.app = app, .who = c->who};
    if (type != EA_GQL_OP_SUBSCRIPTION) {
        /* queries over the socket: one next, then complete (graphql-ws); on the loop when memory
         * can answer, else on a pool thread */
        bool request_error = false;
        ea_gql_exec_stats stats = {0, 0, false};
        json_t *res = ea_gql_execute_counted(app->schema, doc, op_name, vars, NULL, &rc,
                                             &app->limits, &request_error, &stats);
        if (rc.deferred) {
            json_decref(res);
            ws_qjob *j = ws_job_new(c, id, doc, op_name, NULL, vars);
            if (j != NULL)
                ws_job_submit(c, j);
            return;
        }
        ea_gql_document_free(doc);
        ws_query_answer(c, id, res, request_error);
        gql_app_memory_release(&stats);
        return;
    }
    const char *field = NULL;
    json_t *args = NULL;
    if (ea_gql_subscription_field(app->schema, doc, op_name, vars, &field, &args, &errors) != 0) {
        ea_gql_document_free(doc);
        send_error(c, id, errors);
        return;
    }
    const char *tenant = json_string_value(json_object_get(args, "tenant"));
    int kind = strcmp(field, "metricUpdated") == 0 ? SUB_METRIC
               : strcmp(field, "alertFired") == 0  ? SUB_ALERT
                                                   : SUB_OTHER;
    ea_gql_error err = {{0}, {0}, NULL};
    int may = gql_principal_may(NULL, &c->who, tenant, EA_SCOPE_READ);
    int rcode = 0;
    if (kind == SUB_OTHER)
        rcode = gql_fail(&err, "BAD_REQUEST", "subscription field %s has no source", field);
    else if (may == 0)
        rcode = gql_fail(&err, "FORBIDDEN", "not allowed to access tenant \"%s\" with this scope",
                         tenant != NULL ? tenant : "");
    if (rcode != 0) {
        ea_gql_document_free(doc);
        json_decref(args);
        send_error(c, id, one_error(err.message, err.code));
        return;
    }
    if (kind == SUB_ALERT && may == 1) { /* nothing else to check */
        sub_register(c, id, kind, doc, op_name, m->query, vars, args);
        return;
    }
    /* a user's membership, a metric's arguments: on a pool thread */
    ws_qjob *j = ws_job_new(c, id, doc, op_name, m->query, vars);
    if (j == NULL) {
        json_decref(args);
        return;
    }
    j->args = args;
    j->kind = kind;
    ws_job_submit(c, j);
}

static void on_limited(ea_rl_wait *w, const ea_rl_result *r);

static void on_subscribe(ws_conn *c, gql_wsmsg *m)
{
    const char *id = m->id;
    gql_app *app = c->srv->app;
    if (c->nsubs >= (size_t)app->cfg->ws_max_subscriptions) {
        char msg[128];
        snprintf(msg, sizeof(msg), "too many subscriptions on this connection (at most %ld)",
                 app->cfg->ws_max_subscriptions);
        send_error(c, id, one_error(msg, "TOO_MANY_SUBSCRIPTIONS"));
        return;
    }
    /* every operation on a socket counts against its principal's query rate limit, as over
     * HTTP (one budget per key or user, whatever the transport) */
    long per_min = gql_principal_rate(app, &c->who, c->subject, sizeof(c->subject));
    ea_rl_result rl;
    c->lw.cb = on_limited;
    int d = per_min <= 0 ? 1 : ea_ratelimit_take(app->limiter, c->subject, per_min, &c->lw, &rl);
    if (d < 0) { /* a lease refill decides: keep the message, the socket waits (invariant 7) */
        c->held = *m;
        m->root = NULL;
        c->busy = true;
        return;
    }
    if (d == 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "query rate limit exceeded; retry in %ld s", rl.retry_after_s);
        send_error(c, id, one_error(msg, "RATE_LIMITED"));
        return;
    }
    subscribe_run(c, m);
}

static void on_limited(ea_rl_wait *w, const ea_rl_result *r)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, lw, w);
    gql_wsmsg m = c->held;
    memset(&c->held, 0, sizeof(c->held));
    c->busy = false;
    if (!r->allowed) {
        char msg[128];
        snprintf(msg, sizeof(msg), "query rate limit exceeded; retry in %ld s", r->retry_after_s);
        send_error(c, m.id, one_error(msg, "RATE_LIMITED"));
    } else {
        subscribe_run(c, &m);
    }
    gql_wsmsg_free(&m);
    become_idle(c);
}

static void on_complete_msg(ws_conn *c, const gql_wsmsg *m)
{
    ws_sub **link;
    ws_sub *s = find_sub(c, m->id, &link);
    if (s != NULL) {
        *link = s->next;
        sub_free(c, s);
        c->nsubs--;
    }
}

static void process_frame(ws_conn *c, const char *data, size_t len, bool text)
{
    gql_wsmsg m;
    gql_wsact act;
    gql_wsproto_step(&c->proto, data, len, text, has_sub, c, &m, &act);
    switch (act.kind) {
    case GQL_WSACT_CLOSE:
        gql_ws_send_close(c, act.code, act.reason);
        break;
    case GQL_WSACT_AUTH:
        on_init(c, &m);
        break;
    case GQL_WSACT_PONG: {
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (m.payload != NULL)
            json_object_set(pong, "payload", (json_t *)m.payload);
        gql_ws_send_json(c, pong);
        break;
    }
    case GQL_WSACT_SUBSCRIBE:
        on_subscribe(c, &m);
        break;
    case GQL_WSACT_COMPLETE:
        on_complete_msg(c, &m);
        break;
    case GQL_WSACT_NONE:
        break;
    }
    gql_wsmsg_free(&m);
}

/* Invariant 7: a busy socket's frames wait, in order, at most WS_BACKLOG_MAX of them. */
#define WS_BACKLOG_MAX 64

static void on_message(ws_conn *c, const struct wslay_event_on_msg_recv_arg *arg)
{
    if (arg->opcode >= 0x8 || c->closing) /* control frames are wslay's business */
        return;
    bool text = arg->opcode == WSLAY_TEXT_FRAME;
    if (!c->busy) {
        process_frame(c, (const char *)arg->msg, arg->msg_length, text);
        return;
    }
    if (c->nbacklog >= WS_BACKLOG_MAX) {
        gql_ws_send_close(c, 1008, "Too many messages waiting for an answer");
        return;
    }
    ws_frame *f = malloc(sizeof(*f) + arg->msg_length);
    if (f == NULL) {
        gql_ws_send_close(c, 4500, "Internal error");
        return;
    }
    f->next = NULL;
    f->text = text;
    f->len = arg->msg_length;
    memcpy(f->data, arg->msg, arg->msg_length);
    *(c->backlog != NULL ? &c->backlog_tail->next : &c->backlog) = f;
    c->backlog_tail = f;
    c->nbacklog++;
}

/* After an async step's completion ran (outside wslay's callbacks; it cleared busy before): the
 * frames that waited run in order until one makes the socket busy again; then the last touch of
 * c (invariant 1). */
static void become_idle(ws_conn *c)
{
    while (!c->busy && c->backlog != NULL && !c->closing) {
        ws_frame *f = c->backlog;
        c->backlog = f->next;
        c->nbacklog--;
        process_frame(c, f->data, f->len, f->text);
        free(f);
    }
    gql_ws_finish(c);
}

static void on_ws(h2o_websocket_conn_t *wc, const struct wslay_event_on_msg_recv_arg *arg)
{
    ws_conn *c = wc->data;
    if (arg == NULL) { /* closed (by either side) or broken */
        conn_free(c);
        h2o_websocket_close(wc);
        return;
    }
    on_message(c, arg);
}

/* End of a push to c (invariant 1: the last touch): send what was queued, or drop a client
 * that stopped reading. */
void gql_ws_finish(ws_conn *c)
{
    if (c->abort) {
        conn_drop(c);
        return;
    }
    proceed(c);
}

static void on_init_timeout(h2o_timeout_entry_t *entry)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, init_timer, entry);
    if (c->proto.init_received)
        return;
    gql_ws_send_close(c, 4408, "Connection initialisation timeout");
    gql_ws_finish(c); /* the close deadline drops a client that ignores it (invariant 5) */
}

/* True when the comma-separated list in v names graphql-transport-ws. */
static bool offers_protocol(const h2o_iovec_t *v)
{
    static const char want[] = "graphql-transport-ws";
    size_t i = 0;
    while (v != NULL && i < v->len) {
        while (i < v->len && (v->base[i] == ' ' || v->base[i] == ','))
            i++;
        size_t s = i;
        while (i < v->len && v->base[i] != ',' && v->base[i] != ' ')
            i++;
        if (i - s == sizeof(want) - 1 && memcmp(v->base + s, want, i - s) == 0)
            return true;
    }
    return false;
}

/* Invariant 4: may the upgrade request's cookie authenticate the socket? */
static bool origin_may_use_cookie(const gql_ws_server *s, const h2o_req_t *req)
{
    const h2o_iovec_t *o = ea_http_header(req, "origin", NULL);
    if (o == NULL)
        return true; /* not a browser: nothing ambient to steal */
    const char *list = s->app->cfg->ws_origins;
    for (size_t i = 0, n = list != NULL ? strlen(list) : 0; i < n;) {
        while (i < n && (list[i] == ',' || list[i] == ' '))
            i++;
        size_t b = i;
        while (i < n && list[i] != ',' && list[i] != ' ')
            i++;
        if (i > b && i - b == o->len && strncasecmp(list + b, o->base, o->len) == 0)
            return true;
    }
    /* the server's own origin: Origin's host[:port] is the Host the browser connected to */
    const char *sep = o->len > 3 ? memmem(o->base, o->len, "://", 3) : NULL;
    if (sep == NULL)
        return false; /* "null" (sandboxed frames, files) and anything malformed */
    const char *host = sep + 3;
    size_t hlen = o->len - (size_t)(host - o->base);
    const h2o_iovec_t *h = &req->input.authority;
    return hlen > 0 && hlen == h->len && strncasecmp(host, h->base, hlen) == 0;
}

int gql_ws_upgrade(gql_ws_server *s, h2o_req_t *req, const char *client_key)
{
    char peer[64];
    ea_http_peer(req, peer, sizeof(peer));
    long same = 0;
    for (const ws_conn *o = s->conns; o != NULL; o = o->next)
        same += strcmp(o->peer, peer) == 0;
    if (same >= s->app->cfg->ws_max_per_address) {
        char msg[160];
        snprintf(msg, sizeof(msg), "too many WebSocket connections from this address (at most %ld)",
                 s->app->cfg->ws_max_per_address);
        ea_http_add_header(req, "Retry-After", "10");
        ea_http_send_json(req, 429,
                          json_pack("{s:[{s:s,s:{s:s}}]}", "errors", "message", msg, "extensions",
                                    "code", "TOO_MANY_CONNECTIONS"),
                          NULL);
        return 0;
    }
    ws_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ea_http_send_error(req, 503, "unavailable", "out of memory");
        return 0;
    }
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    snprintf(c->log_subject, sizeof(c->log_subject), "ws-%s", c->peer);
    const h2o_iovec_t *proto = ea_http_header(req, "sec-websocket-protocol", NULL);
    bool ok = offers_protocol(proto);
    const h2o_iovec_t *cookie = ea_http_header(req, "cookie", NULL);
    if (cookie != NULL && origin_may_use_cookie(s, req)) {
        c->cookie = ea_http_value_dup(cookie->base, cookie->len);
    } else if (cookie != NULL) {
        c->cookie_refused = true;
    }
    if (ok)
        ea_http_add_header(req, "Sec-WebSocket-Protocol", "graphql-transport-ws");
    c->srv = s;
    c->init_timer.cb = on_init_timeout;
    c->close_timer.cb = on_close_deadline;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    c->wc = h2o_upgrade_to_websocket(req, client_key, c, on_ws);
    wslay_event_config_set_max_recv_msg_length(c->wc->ws_ctx, (uint64_t)s->app->cfg->ws_max_frame);
    if (!ok)
        gql_ws_send_close(c, 4406, "Subprotocol not acceptable");
    else
        h2o_timeout_link(s->loop, &s->init_timeout, &c->init_timer);
    return 0;
}

/* ---- invariant 6: re-checking acked sockets' principals ---- */

static void recheck_key_answer(ws_conn *c, gql_auth_status st)
{
    if (st != GQL_AUTH_INVALID && st != GQL_AUTH_MISSING)
        return; /* still valid, or the verifier cannot tell now (database down, busy): keep */
    c->srv->stats.closed_revoked++;
    gql_ws_send_close(c, 4403, "Forbidden: the API key was revoked");
}

static void on_recheck_verified(gql_auth_wait *w, gql_auth_status st)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, auth, w);
    recheck_key_answer(c, st);
    gql_ws_finish(c);
}

typedef struct session_job {
    gql_dbjob j; /* first */
    gql_ws_server *srv;
    json_t *asked; /* session hashes (hex) → true */
    json_t *alive; /* session hash → [tenant ids its user may read]; NULL when the query failed */
    char error[512];
} session_job;

static void session_run(gql_dbjob *j, PGconn *db)
{
    session_job *sj = (session_job *)j;
    if (db == NULL) {
        snprintf(sj->error, sizeof(sj->error), "database unavailable");
        return;
    }
    /* {h1,h2,...}: hex only, nothing to quote */
    size_t n = json_object_size(sj->asked), off = 0, cap = n * 66 + 3;
    char *list = malloc(cap);
    if (list == NULL) {
        snprintf(sj->error, sizeof(sj->error), "out of memory");
        return;
    }
    list[off++] = '{';
    const char *h;
    json_t *v;
    json_object_foreach(sj->asked, h, v) off +=
        (size_t)snprintf(list + off, cap - off, "%s%s", off > 1 ? "," : "", h);
    snprintf(list + off, cap - off, "}");
    const char *params[1] = {list};
    struct ea_err err;
    PGresult *r =
        ea_pg_query(db,
                    "SELECT encode(s.id_hash, 'hex'), m.tenant_id FROM sessions s"
                    " JOIN users u ON u.id = s.user_id"
                    " LEFT JOIN memberships m ON m.issuer = u.issuer"
                    " AND m.subject = u.subject AND m.role IN ('viewer', 'admin')"
                    " WHERE s.id_hash IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) h)"
                    " AND s.expires_at > now()",
                    1, params, PGRES_TUPLES_OK, &err);
    free(list);
    if (r == NULL) {
        snprintf(sj->error, sizeof(sj->error), "%s", err.message);
        return;
    }
    sj->alive = json_object();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *tenants = json_object_get(sj->alive, PQgetvalue(r, i, 0));
        if (tenants == NULL) {
            tenants = json_array();
            json_object_set_new(sj->alive, PQgetvalue(r, i, 0), tenants);
        }
        if (!PQgetisnull(r, i, 1))
            json_array_append_new(tenants, json_string(PQgetvalue(r, i, 1)));
    }
    PQclear(r);
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i,
                       v) if (s != NULL && strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static void session_done(gql_dbjob *j, bool stopping)
{
    session_job *sj = (session_job *)j;
    gql_ws_server *s = sj->srv;
    if (!stopping)
        s->session_check_running = false;
    if (!stopping && sj->alive == NULL)
        ea_log_warn("postgresql", "could not re-check signed-in sockets: %s", sj->error);
    for (ws_conn *c = stopping || sj->alive == NULL ? NULL : s->conns, *next; c != NULL; c = next) {
        next = c->next;
        const char *h = c->who.session;
        if (!c->proto.acked || c->closing || c->who.kind != GQL_PRINCIPAL_USER ||
            json_object_get(sj->asked, h) == NULL)
            continue;
        const json_t *tenants = json_object_get(sj->alive, h);
        if (tenants == NULL) {
            s->stats.closed_session_ended++;
            gql_ws_send_close(c, 4403, "Forbidden: the session ended");
            gql_ws_finish(c);
            continue;
        }
        bool any = false;
        for (ws_sub **l = &c->subs; *l != NULL;) {
            ws_sub *sub = *l;
            const char *tenant = json_string_value(json_object_get(sub->args, "tenant"));
            if (in_list(tenants, tenant)) {
                l = &sub->next;
                continue;
            }
            char msg[200];
            snprintf(msg, sizeof(msg), "no longer a member of tenant \"%.100s\"", tenant);
            send_error(c, sub->id, one_error(msg, "FORBIDDEN"));
            *l = sub->next;
            sub_free(c, sub);
            c->nsubs--;
            any = true;
        }
        if (any)
            gql_ws_finish(c);
    }
    json_decref(sj->asked);
    json_decref(sj->alive);
    free(sj);
}

static void on_recheck(h2o_timeout_entry_t *entry)
{
    gql_ws_server *s = H2O_STRUCT_FROM_MEMBER(gql_ws_server, recheck_timer, entry);
    session_job *sj = NULL;
    for (ws_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (!c->proto.acked || c->closing)
            continue;
        s->stats.rechecks++;
        if (c->who.kind == GQL_PRINCIPAL_KEY) {
            if (c->authorization == NULL || gql_auth_pending(&c->auth))
                continue;
            c->auth.cb = on_recheck_verified;
            gql_auth_status st =
                gql_auth_begin(s->app, &c->auth, c->authorization, strlen(c->authorization), NULL,
                               0, c->peer, &c->recheck_who);
            if (st != GQL_AUTH_PENDING && (st == GQL_AUTH_INVALID || st == GQL_AUTH_MISSING)) {
                recheck_key_answer(c, st);
                gql_ws_finish(c);
            }
        } else if (!s->session_check_running && c->who.session[0] != '\0') {
            if (sj == NULL && (sj = calloc(1, sizeof(*sj))) != NULL) {
                sj->srv = s;
                sj->asked = json_object();
            }
            if (sj != NULL)
                json_object_set_new(sj->asked, c->who.session, json_true());
        }
    }
    if (sj != NULL) {
        sj->j.run = session_run;
        sj->j.done = session_done;
        if (gql_dbpool_submit(s->db, &sj->j) == EA_OK) {
            s->session_check_running = true;
        } else {
            json_decref(sj->asked);
            free(sj);
        }
    }
    h2o_timeout_link(s->loop, &s->recheck_timeout, &s->recheck_timer);
}

gql_ws_server *gql_ws_new(gql_app *app, h2o_loop_t *loop)
{
    gql_ws_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->app = app;
    s->loop = loop;
    struct ea_err err;
    s->db = gql_dbpool_new(loop, app->cfg, 65536, &err);
    s->feed = s->db != NULL ? gql_wsfeed_new(s) : NULL;
    if (s->feed == NULL) {
        ea_log_error("startup", "%s", s->db == NULL ? err.message : "out of memory");
        gql_dbpool_free(s->db);
        free(s);
        return NULL;
    }
    h2o_timeout_init(loop, &s->init_timeout, (uint64_t)app->cfg->ws_init_timeout_ms);
    h2o_timeout_init(loop, &s->close_timeout, WS_CLOSE_GRACE_MS);
    long every = app->cfg->auth.cache_ttl_s * 1000 / 8;
    h2o_timeout_init(loop, &s->recheck_timeout, (uint64_t)(every > 1000 ? every : 1000));
    s->recheck_timer.cb = on_recheck;
    h2o_timeout_link(loop, &s->recheck_timeout, &s->recheck_timer);
    return s;
}

void gql_ws_free(gql_ws_server *s)
{
    if (s == NULL)
        return;
    for (ws_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        conn_drop(c); /* unlinks c; next stays valid */
    }
    gql_dbpool_free(s->db); /* before the feed: its jobs' done() no longer touch the keys */
    gql_wsfeed_free(s->feed);
    if (h2o_timeout_is_linked(&s->recheck_timer))
        h2o_timeout_unlink(&s->recheck_timer);
    h2o_timeout_dispose(s->loop, &s->init_timeout);
    h2o_timeout_dispose(s->loop, &s->close_timeout);
    h2o_timeout_dispose(s->loop, &s->recheck_timeout);
    free(s);
}

size_t gql_ws_metrics(const gql_ws_server *s, char *buf, size_t cap)
{
    size_t conns = 0, subs = 0;
    gql_ws_counts(s, &conns, &subs);
    const ws_stats *st = &s->stats;
    int n = snprintf(
        buf, cap,
        "# TYPE graphql_ws_connections gauge\ngraphql_ws_connections %zu\n"
        "# TYPE graphql_ws_subscriptions gauge\ngraphql_ws_subscriptions %zu\n"
        "# TYPE graphql_ws_change_messages_total counter\n"
        "graphql_ws_change_messages_total %llu\n"
        "# HELP graphql_ws_change_queries_total re-reads of the change feed (one per key and "
        "message at most, on the worker pool in the tenant's share)\n"
        "# TYPE graphql_ws_change_queries_total counter\ngraphql_ws_change_queries_total %llu\n"
        "# TYPE graphql_ws_change_queries_failed_total counter\n"
        "graphql_ws_change_queries_failed_total %llu\n"
        "# HELP graphql_ws_change_rereads_dropped_total re-reads not run: every subscription of "
        "the key had ended\n"
        "# TYPE graphql_ws_change_rereads_dropped_total counter\n"
        "graphql_ws_change_rereads_dropped_total %llu\n"
        "# TYPE graphql_ws_pushes_total counter\ngraphql_ws_pushes_total %llu\n"
        "# TYPE graphql_ws_rechecks_total counter\ngraphql_ws_rechecks_total %llu\n"
        "# TYPE graphql_ws_closed_total counter\n"
        "graphql_ws_closed_total{reason=\"key_revoked\"} %llu\n"
        "graphql_ws_closed_total{reason=\"session_ended\"} %llu\n"
        "graphql_ws_closed_total{reason=\"close_unanswered\"} %llu\n",
        conns, subs, (unsigned long long)st->change_messages,
        (unsigned long long)st->change_queries, (unsigned long long)st->change_queries_failed,
        (unsigned long long)st->change_rereads_dropped, (unsigned long long)st->pushes,
        (unsigned long long)st->rechecks, (unsigned long long)st->closed_revoked,
        (unsigned long long)st->closed_session_ended,
        (unsigned long long)st->dropped_unanswered_close);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void gql_ws_counts(const gql_ws_server *s, size_t *connections, size_t *subscriptions)
{
    *connections = *subscriptions = 0;
    for (const ws_conn *c = s->conns; c != NULL; c = c->next) {
        ++*connections;
        *subscriptions += c->nsubs;
    }
}
