/*
 * ws_int.h — internals shared by ws.c (connections, protocol, re-checks) and wsfeed.c (pushes
 * from the change feed and alerts). Nothing else includes it: the API is ws.h.
 */
#ifndef GQL_WS_INT_H
#define GQL_WS_INT_H

#include "auth.h"
#include "dbpool.h"
#include "ea_ratelimit.h"
#include "ws.h"
#include "wsproto.h"

#include <h2o/websocket.h>
#include <stdbool.h>
#include <stdint.h>

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
    /* SUB_METRIC: what the change feed re-reads for it (wsfeed.c). Subscriptions with the same
     * key share one query per change message and its result. */
    char *feed_key;
    char *doc_key; /* SUB_METRIC: its query text, operation and variables — equal keys, equal
                    * answers to the same point (wsfeed.c runs the document once per key) */
    char *id_json; /* SUB_METRIC: the id as a JSON string, for pushes built as text */
} ws_sub;

typedef struct ws_conn {
    struct ws_conn *prev, *next;
    gql_ws_server *srv;
    h2o_websocket_conn_t *wc;
    char *cookie;        /* Cookie header of the upgrade, kept only when invariant 4 allows */
    bool cookie_refused; /* a cookie came from an Origin that may not use it */
    char *authorization; /* connection_init's Authorization value: re-checked (invariant 6) */
    gql_wsproto proto;
    bool closing;
    bool abort; /* the client stopped reading past the cap: drop the TCP connection */
    gql_principal who;
    gql_auth_wait auth;        /* connection_init's credentials, then each key re-check */
    gql_principal recheck_who; /* what a key re-check found (the socket keeps `who`) */
    char subject[160];         /* who, for the rate limit and the per-principal cap (once acked) */
    char peer[64];             /* the client's address, for the per-address cap */
    char log_subject[80];      /* "ws-<peer>": what this connection's log lines are about */
    h2o_timeout_entry_t init_timer;
    h2o_timeout_entry_t close_timer; /* invariant 5 */
    ws_sub *subs;
    size_t nsubs;
    struct ws_qjob *jobs; /* operations running on pool threads (ws.c) */
    /* invariant 7 (ws.c): an async step in flight, the frames that arrived meanwhile, and the
     * subscribe message waiting for a rate-limit lease */
    bool busy;
    struct ws_frame *backlog, *backlog_tail;
    size_t nbacklog;
    ea_rl_wait lw;
    gql_wsmsg held;
} ws_conn;

typedef struct ws_feed ws_feed; /* wsfeed.c */

/* Counters for /metrics. */
typedef struct ws_stats {
    uint64_t change_messages, change_queries, change_queries_failed, change_rereads_dropped, pushes;
    uint64_t rechecks, closed_revoked, closed_session_ended, dropped_unanswered_close;
} ws_stats;

struct gql_ws_server {
    gql_app *app;
    h2o_loop_t *loop;
    h2o_timeout_t init_timeout;
    h2o_timeout_t close_timeout;
    h2o_timeout_t recheck_timeout;
    h2o_timeout_entry_t recheck_timer;
    bool session_check_running;
    gql_dbpool *db;
    ws_feed *feed;
    ws_conn *conns;
    ws_stats stats;
};

/* ws.c */
void gql_ws_send_json(ws_conn *c, json_t *msg);
/* The same for a message already serialized (copied). */
void gql_ws_send_text(ws_conn *c, const char *s, size_t len);
void gql_ws_send_close(ws_conn *c, int code, const char *reason);
/* The last touch of c after work outside wslay's callbacks: send what was queued (or drop a
 * client that stopped reading). c may be freed. */
void gql_ws_finish(ws_conn *c);

/* wsfeed.c */
ws_feed *gql_wsfeed_new(gql_ws_server *s);
void gql_wsfeed_free(ws_feed *f);
/* The feed key of a metricUpdated subscription's coerced arguments (malloc'd), NULL when out of
 * memory. */
char *gql_wsfeed_key(const json_t *args);
/* A metricUpdated subscription with this feed key was added to / removed from a socket's list:
 * the feed counts each key's followers, and does not re-read a key nobody follows. */
void gql_wsfeed_follow(ws_feed *f, const char *key);
void gql_wsfeed_unfollow(ws_feed *f, const char *key);
/* Runs s's document on one event and queues the result as `next`. */
void gql_ws_push(ws_conn *c, ws_sub *s, json_t *payload);

#endif
