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
 * 3. Tenant access is checked when subscribing (gql_principal_can, read scope); pushes go only
 *    to subscriptions of the tenant named in the message.
 * 4. The session cookie authenticates a socket only when the upgrade's Origin is absent (not a
 *    browser: no ambient cookie to steal), the server's own origin (Origin's host = Host) or
 *    listed in GRAPHQL_WS_ORIGINS; otherwise the cookie is forgotten at the upgrade, so a page
 *    on another site (or another port of this host) cannot ride a signed-in user's session.
 * 5. Every close frame is followed by a deadline: a client that never answers it loses its TCP
 *    connection WS_CLOSE_GRACE_MS later, so refusing a client always frees its socket.
 */
#include "ws.h"
#include "auth.h"
#include "cache.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_time.h"
#include "series.h"
#include "wsproto.h"

#include <h2o/websocket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How long a client has to answer our close frame before its TCP connection is dropped. */
#define WS_CLOSE_GRACE_MS 1000

enum { SUB_METRIC = 0, SUB_ALERT, SUB_OTHER };

typedef struct ws_sub {
    struct ws_sub *next;
    char *id;
    int kind;
    ea_gql_document *doc;
    char *op_name;
    json_t *variables;
    json_t *args; /* the root field's coerced arguments */
    const char *field;
} ws_sub;

typedef struct ws_conn {
    struct ws_conn *prev, *next;
    gql_ws_server *srv;
    h2o_websocket_conn_t *wc;
    char *cookie;        /* Cookie header of the upgrade, kept only when invariant 4 allows */
    bool cookie_refused; /* a cookie came from an Origin that may not use it */
    gql_wsproto proto;
    bool closing;
    bool abort; /* the client stopped reading past the cap: drop the TCP connection */
    gql_principal who;
    gql_auth_wait auth; /* connection_init's credentials, while a key-verifier thread decides */
    char subject[160];  /* who, for the rate limit and the per-principal cap (once acked) */
    char peer[64];      /* the client's address, for the per-address cap */
    h2o_timeout_entry_t init_timer;
    h2o_timeout_entry_t close_timer; /* invariant 5 */
    ws_sub *subs;
    size_t nsubs;
} ws_conn;

struct gql_ws_server {
    gql_app *app;
    h2o_loop_t *loop;
    h2o_timeout_t init_timeout;
    h2o_timeout_t close_timeout;
    ws_conn *conns;
};

static void sub_free(ws_sub *s)
{
    ea_gql_document_free(s->doc);
    json_decref(s->variables);
    json_decref(s->args);
    free(s->op_name);
    free(s->id);
    free(s);
}

static void conn_free(ws_conn *c)
{
    gql_auth_cancel(&c->auth);
    if (h2o_timeout_is_linked(&c->init_timer))
        h2o_timeout_unlink(&c->init_timer);
    if (h2o_timeout_is_linked(&c->close_timer))
        h2o_timeout_unlink(&c->close_timer);
    for (ws_sub *s = c->subs, *n; s != NULL; s = n) {
        n = s->next;
        sub_free(s);
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c->cookie);
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
static void send_close(ws_conn *c, int code, const char *reason)
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
    ea_log_debug("ws", "client %s did not answer the close frame: dropping it", c->peer);
    conn_drop(c);
}

/* Queues a JSON message (reference stolen). Backpressure: when more than WS_MAX_QUEUED bytes
 * wait for a client that does not read, nothing more is queued and the connection is dropped
 * (abort: a close frame would wait behind the unread bytes forever). Pushes drop it at once
 * (finish()); inside message callbacks the flag stops further frames and the close code 1013
 * is queued for a client that resumes reading. */
static void send_json(ws_conn *c, json_t *msg)
{
    if (c->closing || msg == NULL) {
        json_decref(msg);
        return;
    }
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (s == NULL) {
        send_close(c, 4500, "Internal error");
        return;
    }
    size_t len = strlen(s);
    if (wslay_event_get_queued_msg_length(c->wc->ws_ctx) + len >
        (size_t)c->srv->app->cfg->ws_max_queued) {
        free(s);
        ea_log_warn("ws", "client does not read: dropping it with %zu bytes queued",
                    wslay_event_get_queued_msg_length(c->wc->ws_ctx));
        send_close(c, 1013, "Client too slow");
        c->abort = true;
        return;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)s, len};
    if (wslay_event_queue_msg(c->wc->ws_ctx, &m) != 0) /* wslay copies the bytes */
        send_close(c, 4500, "Internal error");
    free(s);
}

static void send_error(ws_conn *c, const char *id, json_t *errors)
{
    send_json(c, json_pack("{s:s,s:s,s:o}", "type", "error", "id", id, "payload", errors));
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
        send_close(c, 4500, "Internal error");
        return;
    case GQL_AUTH_BUSY:
        send_close(c, 1013, "Try again later");
        return;
    case GQL_AUTH_LIMITED:
        send_close(c, 4403, "Forbidden: too many failed attempts");
        return;
    default:
        send_close(c, 4403,
                   st == GQL_AUTH_MISSING && c->cookie_refused
                       ? "Forbidden: the session cookie is not accepted from this Origin"
                       : "Forbidden");
        return;
    }
    gql_principal_rate(c->srv->app, &c->who, c->subject, sizeof(c->subject));
    if (principal_sockets(c) >= c->srv->app->cfg->ws_max_per_principal) {
        send_close(c, 1008, "Too many connections for this key or user");
        return;
    }
    c->proto.acked = true;
    send_json(c, json_pack("{s:s}", "type", "connection_ack"));
}

static void finish(ws_conn *c);

/* A key-verifier thread decided (on the loop, outside wslay's callbacks: invariant 1). */
static void on_init_verified(gql_auth_wait *w, gql_auth_status st)
{
    ws_conn *c = H2O_STRUCT_FROM_MEMBER(ws_conn, auth, w);
    init_answer(c, st);
    finish(c);
}

static void on_init(ws_conn *c, const gql_wsmsg *m)
{
    if (h2o_timeout_is_linked(&c->init_timer))
        h2o_timeout_unlink(&c->init_timer);
    const char *a = m->authorization;
    c->auth.cb = on_init_verified;
    gql_auth_status st = gql_auth_begin(c->srv->app, &c->auth, a, a ? strlen(a) : 0, c->cookie,
                                        c->cookie ? strlen(c->cookie) : 0, c->peer, &c->who);
    if (st != GQL_AUTH_PENDING) /* else on_init_verified answers */
        init_answer(c, st);
}

/* Checks a metricUpdated subscription's arguments against the metric (groupBy and filter keys
 * must be dimensions, the zone must exist) by asking for the current bucket. */
static int check_metric_args(ws_conn *c, const json_t *args, ea_gql_error *err)
{
    json_t *a = json_deep_copy(args);
    char now[48];
    ea_time_format_iso8601(ea_time_now_ms(), now); /* inside every table's retention */
    json_object_set_new(a, "startTime", json_string(now));
    json_object_set_new(a, "endTime", json_string(now));
    gql_series_req q;
    int rc = gql_series_req_from_args(a, &q, err);
    if (rc == 0) {
        PGconn *db = gql_app_db(c->srv->app);
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

static void on_subscribe(ws_conn *c, const gql_wsmsg *m)
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
    long retry_s = 0, per_min = gql_principal_rate(app, &c->who, c->subject, sizeof(c->subject));
    if (app->cache != NULL && !gql_cache_rate_allow(app->cache, c->subject, per_min, &retry_s)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "query rate limit exceeded; retry in %ld s", retry_s);
        send_error(c, id, one_error(msg, "RATE_LIMITED"));
        return;
    }
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
        /* queries over the socket: one next, then complete (graphql-ws) */
        bool request_error = false;
        ea_gql_exec_stats stats = {0, 0, false};
        json_t *res = ea_gql_execute_counted(app->schema, doc, op_name, vars, NULL, &rc,
                                             &app->limits, &request_error, &stats);
        ea_gql_document_free(doc);
        if (request_error) {
            send_error(c, id, json_incref(json_object_get(res, "errors")));
            json_decref(res);
        } else {
            send_json(c, json_pack("{s:s,s:s,s:o}", "type", "next", "id", id, "payload", res));
            send_json(c, json_pack("{s:s,s:s}", "type", "complete", "id", id));
        }
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
    ea_gql_error err = {{0}, {0}};
    int kind = strcmp(field, "metricUpdated") == 0 ? SUB_METRIC
               : strcmp(field, "alertFired") == 0  ? SUB_ALERT
                                                   : SUB_OTHER;
    int rcode = 0;
    if (kind == SUB_OTHER)
        rcode = gql_fail(&err, "BAD_REQUEST", "subscription field %s has no source", field);
    else if (!gql_principal_can(app, &c->who, tenant, EA_SCOPE_READ))
        rcode = gql_fail(&err, "FORBIDDEN", "not allowed to access tenant \"%s\" with this scope",
                         tenant != NULL ? tenant : "");
    else if (kind == SUB_METRIC)
        rcode = check_metric_args(c, args, &err);
    if (rcode != 0) {
        ea_gql_document_free(doc);
        json_decref(args);
        send_error(c, id, one_error(err.message, err.code));
        return;
    }
    ws_sub *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->id = strdup(id)) == NULL) {
        free(s);
        ea_gql_document_free(doc);
        json_decref(args);
        send_close(c, 4500, "Internal error");
        return;
    }
    s->kind = kind;
    s->doc = doc;
    s->op_name = op_name != NULL ? strdup(op_name) : NULL;
    s->variables = vars != NULL ? json_deep_copy(vars) : NULL;
    s->args = args;
    s->field = kind == SUB_METRIC ? "metricUpdated" : "alertFired";
    s->next = c->subs;
    c->subs = s;
    c->nsubs++;
}

static void on_complete_msg(ws_conn *c, const gql_wsmsg *m)
{
    ws_sub **link;
    ws_sub *s = find_sub(c, m->id, &link);
    if (s != NULL) {
        *link = s->next;
        sub_free(s);
        c->nsubs--;
    }
}

static void on_message(ws_conn *c, const struct wslay_event_on_msg_recv_arg *arg)
{
    if (arg->opcode >= 0x8 || c->closing) /* control frames are wslay's business */
        return;
    gql_wsmsg m;
    gql_wsact act;
    gql_wsproto_step(&c->proto, (const char *)arg->msg, arg->msg_length,
                     arg->opcode == WSLAY_TEXT_FRAME, has_sub, c, &m, &act);
    switch (act.kind) {
    case GQL_WSACT_CLOSE:
        send_close(c, act.code, act.reason);
        break;
    case GQL_WSACT_AUTH:
        on_init(c, &m);
        break;
    case GQL_WSACT_PONG: {
        json_t *pong = json_pack("{s:s}", "type", "pong");
        if (m.payload != NULL)
            json_object_set(pong, "payload", (json_t *)m.payload);
        send_json(c, pong);
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
static void finish(ws_conn *c)
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
    send_close(c, 4408, "Connection initialisation timeout");
    finish(c); /* the close deadline drops a client that ignores it (invariant 5) */
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
    const h2o_iovec_t *proto = ea_http_header(req, "sec-websocket-protocol", NULL);
    bool ok = offers_protocol(proto);
    const h2o_iovec_t *cookie = ea_http_header(req, "cookie", NULL);
    if (cookie != NULL && origin_may_use_cookie(s, req))
        c->cookie = strndup(cookie->base, cookie->len);
    else if (cookie != NULL)
        c->cookie_refused = true;
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
        send_close(c, 4406, "Subprotocol not acceptable");
    else
        h2o_timeout_link(s->loop, &s->init_timeout, &c->init_timer);
    return 0;
}

gql_ws_server *gql_ws_new(gql_app *app, h2o_loop_t *loop)
{
    gql_ws_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->app = app;
    s->loop = loop;
    h2o_timeout_init(loop, &s->init_timeout, (uint64_t)app->cfg->ws_init_timeout_ms);
    h2o_timeout_init(loop, &s->close_timeout, WS_CLOSE_GRACE_MS);
    return s;
}

void gql_ws_free(gql_ws_server *s)
{
    if (s == NULL)
        return;
    while (s->conns != NULL)
        conn_drop(s->conns);
    h2o_timeout_dispose(s->loop, &s->init_timeout);
    h2o_timeout_dispose(s->loop, &s->close_timeout);
    free(s);
}

void gql_ws_counts(const gql_ws_server *s, size_t *connections, size_t *subscriptions)
{
    *connections = *subscriptions = 0;
    for (const ws_conn *c = s->conns; c != NULL; c = c->next) {
        ++*connections;
        *subscriptions += c->nsubs;
    }
}

/* Runs the subscription's document on one event and queues the result as `next`. */
static void push(ws_conn *c, ws_sub *s, json_t *payload)
{
    gql_request_ctx rc = {.app = c->srv->app, .who = c->who};
    json_t *root = json_pack("{s:o}", s->field, payload);
    bool request_error = false;
    json_t *res = ea_gql_execute(c->srv->app->schema, s->doc, s->op_name, s->variables, root, &rc,
                                 &c->srv->app->limits, &request_error);
    json_decref(root);
    send_json(c, json_pack("{s:s,s:s,s:o}", "type", "next", "id", s->id, "payload", res));
}

/* metricUpdated for one subscription: re-reads the changed buckets and pushes the points whose
 * group a changed row belongs to. */
static void push_metric(ws_conn *c, ws_sub *s, const json_t *changes)
{
    const char *name = json_string_value(json_object_get(s->args, "name"));
    const char *gran = json_string_value(json_object_get(s->args, "granularity"));
    const char *tz = json_string_value(json_object_get(s->args, "timezone"));
    bool day = gran != NULL && strcmp(gran, "DAY") == 0;
    bool utc = tz == NULL || strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0;
    /* HOUR subscriptions and local days elsewhere follow HOUR changes; UTC days follow DAY */
    const char *want = day && utc ? "DAY" : "HOUR";
    const json_t *group_by = json_object_get(s->args, "groupBy");
    json_t *done = json_object(); /* buckets already re-read for this subscription */
    size_t i;
    const json_t *ch;
    PGconn *db = NULL;
    json_array_foreach(changes, i, ch)
    {
        const char *metric = json_string_value(json_object_get(ch, "metric"));
        const char *g = json_string_value(json_object_get(ch, "granularity"));
        const char *b = json_string_value(json_object_get(ch, "bucket"));
        int64_t bms;
        if (metric == NULL || g == NULL || b == NULL || strcmp(metric, name) != 0 ||
            strcmp(g, want) != 0 || !ea_time_parse_iso8601(b, strlen(b), &bms) ||
            json_object_get(done, b) != NULL)
            continue;
        json_object_set_new(done, b, json_true());
        if (db == NULL && (db = gql_app_db(c->srv->app)) == NULL)
            break;
        json_t *a = json_deep_copy(s->args);
        char from[48], to[48];
        int64_t lo = bms, hi = bms + (want[0] == 'D' ? EA_MS_PER_DAY : EA_MS_PER_HOUR) - 1;
        if (day && !utc)
            lo = bms - EA_MS_PER_DAY; /* the local day holding this hour starts before it */
        json_object_set_new(a, "startTime", json_string(ea_time_format_iso8601(lo, from)));
        json_object_set_new(a, "endTime", json_string(ea_time_format_iso8601(hi, to)));
        gql_series_req q;
        ea_gql_error err;
        json_t *points = NULL;
        if (gql_series_req_from_args(a, &q, &err) == 0 &&
            gql_series_fetch(db, &q, &points, &err) == 0) {
            size_t k;
            json_t *pt;
            json_array_foreach(points, k, pt)
            {
                int64_t pms;
                const char *ts = json_string_value(json_object_get(pt, "timestamp"));
                if (!ea_time_parse_iso8601(ts, strlen(ts), &pms))
                    continue;
                /* the local day of this hour: the last day starting at or before it */
                if (day && !utc) {
                    const json_t *nx = json_array_get(points, k + 1);
                    int64_t nms;
                    const char *nts = json_string_value(json_object_get(nx, "timestamp"));
                    if (pms > bms || (nts != NULL &&
                                      ea_time_parse_iso8601(nts, strlen(nts), &nms) && nms <= bms))
                        continue;
                } else if (pms != bms) {
                    continue;
                }
                /* only groups that a changed row of this bucket belongs to */
                size_t j;
                const json_t *ch2;
                bool touched = false;
                json_array_foreach(changes, j, ch2)
                {
                    const char *b2 = json_string_value(json_object_get(ch2, "bucket"));
                    const char *m2 = json_string_value(json_object_get(ch2, "metric"));
                    const char *g2 = json_string_value(json_object_get(ch2, "granularity"));
                    if (b2 != NULL && m2 != NULL && g2 != NULL && strcmp(b2, b) == 0 &&
                        strcmp(m2, name) == 0 && strcmp(g2, want) == 0 &&
                        gql_series_dims_match(json_object_get(ch2, "dims"),
                                              json_object_get(pt, "dimensions"), group_by))
                        touched = true;
                }
                if (touched)
                    push(c, s, json_incref(pt));
            }
        } else {
            ea_log_warn("ws", "could not re-read %s for subscription %s: %s", name, s->id,
                        err.message);
        }
        json_decref(points);
        json_decref(a);
    }
    json_decref(done);
}

void gql_ws_on_change(gql_ws_server *s, const char *msg, size_t len)
{
    json_error_t je;
    json_t *m = json_loadb(msg, len, 0, &je);
    const char *tenant = json_string_value(json_object_get(m, "tenant"));
    const json_t *changes = json_object_get(m, "changes");
    if (tenant == NULL || !json_is_array(changes)) {
        ea_log_warn("ws", "change message without tenant or changes ignored");
        json_decref(m);
        return;
    }
    for (ws_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        bool any = false;
        for (ws_sub *sub = c->subs; sub != NULL; sub = sub->next) {
            if (sub->kind != SUB_METRIC || c->closing ||
                strcmp(json_string_value(json_object_get(sub->args, "tenant")), tenant) != 0)
                continue;
            push_metric(c, sub, changes);
            any = true;
        }
        if (any || c->abort)
            finish(c); /* last touch of c (invariant 1) */
    }
    json_decref(m);
}

void gql_ws_on_alert(gql_ws_server *s, const char *msg, size_t len)
{
    json_error_t je;
    json_t *m = json_loadb(msg, len, 0, &je);
    const char *tenant = json_string_value(json_object_get(m, "tenant"));
    if (tenant == NULL) {
        ea_log_warn("ws", "alert message without tenant ignored");
        json_decref(m);
        return;
    }
    /* the worker's message shape is open: take the alert as an object or an id */
    const json_t *alert = json_object_get(m, "alert");
    const json_t *aid = json_is_object(alert) ? json_object_get(alert, "id") : alert;
    if (aid == NULL)
        aid = json_object_get(m, "alertId");
    char idbuf[64] = "";
    if (json_is_integer(aid))
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(aid));
    else if (json_is_string(aid))
        snprintf(idbuf, sizeof(idbuf), "%s", json_string_value(aid));
    const json_t *dims = json_object_get(m, "dims");
    if (dims == NULL)
        dims = json_object_get(m, "dimensions");
    const json_t *ts = json_object_get(m, "bucket");
    if (ts == NULL)
        ts = json_object_get(m, "timestamp");
    for (ws_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        bool any = false;
        for (ws_sub *sub = c->subs; sub != NULL; sub = sub->next) {
            if (sub->kind != SUB_ALERT || c->closing ||
                strcmp(json_string_value(json_object_get(sub->args, "tenant")), tenant) != 0)
                continue;
            json_t *d = json_is_object(dims) ? json_incref((json_t *)dims) : json_object();
            json_t *p = json_pack(
                "{s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:o,s:O}", "tenant", tenant, "alertId", idbuf, "name",
                json_is_object(alert) ? json_object_get(alert, "name") : NULL, "metric",
                json_is_object(alert) ? json_object_get(alert, "metric")
                                      : json_object_get(m, "metric"),
                "timestamp", ts, "value", json_object_get(m, "value"), "dimensions", d, "payload",
                m);
            push(c, sub, p);
            any = true;
        }
        if (any || c->abort)
            finish(c);
    }
    json_decref(m);
}
