/*
 * ws.h — GraphQL subscriptions over WebSocket at /graphql with the graphql-transport-ws
 * protocol (the graphql-ws library's; SPEC §6): connection_init with {"authorization": "Bearer
 * <key>"} or the session cookie of the upgrade request, ping/pong, subscribe/next/error/
 * complete, the protocol's close codes, caps on subscriptions, frame size and queued bytes.
 * Subscription.metricUpdated is fed by the worker's change feed, alertFired by ea:alerts (both
 * through pubsub.c). Not for: HTTP GraphQL (transport.c) or authentication rules (auth.c).
 */
#ifndef GQL_WS_H
#define GQL_WS_H

#include "app.h"

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef struct gql_ws_server gql_ws_server;

/* The WebSocket side of app on loop. NULL when out of memory. */
gql_ws_server *gql_ws_new(gql_app *app, h2o_loop_t *loop);

/* Closes every connection and frees the server. NULL allowed. */
void gql_ws_free(gql_ws_server *s);

/* Upgrades a WebSocket handshake request (h2o_is_websocket_handshake gave client_key). A client
 * that did not offer graphql-transport-ws is upgraded and closed with 4406. Returns 0. */
int gql_ws_upgrade(gql_ws_server *s, h2o_req_t *req, const char *client_key);

/* A message from the change feed (docs/event-format.md): pushes metricUpdated to matching
 * subscriptions. */
void gql_ws_on_change(gql_ws_server *s, const json_t *m, const char *tenant);

/* A message from ea:alerts ({"tenant", "alert", ...}): pushes alertFired to the tenant's
 * subscriptions. */
void gql_ws_on_alert(gql_ws_server *s, const json_t *m, const char *tenant);

/* Open connections and active subscriptions (for /metrics and tests). */
void gql_ws_counts(const gql_ws_server *s, size_t *connections, size_t *subscriptions);

/* The WebSocket side's counters as Prometheus text into buf; returns the length written. */
size_t gql_ws_metrics(const gql_ws_server *s, char *buf, size_t cap);

#endif
