/*
 * ea_http.h — the HTTP server every service embeds: libh2o-evloop on one event loop per
 * process, routes by path prefix, JSON responses with a Content-Length (so keep-alive survives),
 * graceful stop on SIGTERM/SIGINT through a signalfd on the same loop. Request memory is the
 * request's h2o pool (freed by h2o when the response is done). Not for: routing by method or
 * auth policy (handlers own those) or WebSocket protocols (graphql-api's ws.c).
 */
#ifndef EA_HTTP_H
#define EA_HTTP_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <jansson.h>

#include "ea_err.h"
#include "ea_http_conns.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ea_http_server ea_http_server;

/* A route handler: answer req now or later (from the same loop), return 0; return -1 to let
 * h2o answer 404. */
typedef int (*ea_http_handler_fn)(void *ud, h2o_req_t *req);

/* Called once when SIGTERM/SIGINT arrives (after the listener closed). */
typedef void (*ea_http_stop_fn)(void *ud);

typedef struct ea_http_config {
    const char *host; /* listen address, default "127.0.0.1" */
    int port;
    size_t max_body; /* h2o refuses larger bodies before buffering them */
    bool reuseport;  /* SO_REUSEPORT so several processes can share the port */
    /* TCP connections held at once (0: ea_http_conns_default_total(), the open-file limit
     * minus a reserve) and per client address (0: no limit). A connection over either is
     * answered 503/429 too_many_connections and closed at once (ea_http_conns.h). */
    size_t max_connections;
    size_t max_connections_per_address;
} ea_http_config;

/* The HTTP hardening every h2o server of the project gets, also one not built on ea_http_server
 * (the worker's operations port): HTTP/1.1 only (the h2c upgrade and the HTTP/2 preface are
 * refused) and bodies over max_body refused by h2o before they are buffered. Call after
 * h2o_config_init; then ea_http_harden_path on every path and on the host's fallback path, so
 * h2o's plain-text 413 is answered as {"error":{"code":"body_too_large",...}}. */
void ea_http_harden_config(h2o_globalconf_t *gc, size_t max_body);
void ea_http_harden_path(h2o_pathconf_t *pc);

/* Creates the server and its event loop (not yet listening). NULL on allocation failure. */
ea_http_server *ea_http_server_new(const ea_http_config *cfg);

/* ea_http_server_new with a front door's listening settings (ea_http_conns.h). */
ea_http_server *ea_http_server_for(const ea_http_settings *l);

/* Registers handler for every path that is `path` or continues it after a '/' ("/ping" takes
 * "/ping/x", not "/pingpong"). The first registered route that matches answers (h2o keeps
 * registration order, not the longest prefix): register specific paths first, "/" last. Call
 * before ea_http_listen. */
void ea_http_route(ea_http_server *s, const char *path, ea_http_handler_fn fn, void *ud);

/* Binds and listens; installs SIGTERM/SIGINT handling that closes the listener and calls
 * on_stop. EA_ERR_IO with the reason when the port cannot be bound. */
ea_rc ea_http_listen(ea_http_server *s, ea_http_stop_fn on_stop, void *ud,
                     struct ea_err *err) EA_WUR;

/* The server's loop, for registering other sockets (Kafka, Redis) on it. */
h2o_loop_t *ea_http_loop(ea_http_server *s);

/* Runs one iteration of the loop, waiting at most max_wait_ms. */
void ea_http_run_once(ea_http_server *s, int max_wait_ms);

/* True once a stop signal arrived (the listener is closed). */
bool ea_http_stopping(const ea_http_server *s);

/* Frees the server (call after the loop is no longer run). */
void ea_http_server_free(ea_http_server *s);

/* Sends body (a JSON value, reference stolen) with status and content type (NULL means
 * "application/json"). Extra headers may be added to req->res.headers before calling. */
void ea_http_send_json(h2o_req_t *req, int status, json_t *body, const char *content_type);

/* One backend in a /readyz answer. */
typedef struct ea_http_ready_part {
    const char *name; /* "kafka", "postgres", "redis" */
    bool ok;
    bool required;   /* false: reported, but the service answers without it (graphql-api's cache) */
    const char *why; /* when !ok: the cause (TLS handshake, authentication, timeout ...); may be
                      * NULL or "" */
} ea_http_ready_part;

/* Answers /readyz, the same shape on every service: {"status": "ready" | "not ready", "<name>":
 * ok ..., "errors": {"<name>": why ...}} (errors only for failing parts with a cause), 200 when
 * every required part is ok, else 503. */
void ea_http_send_ready(h2o_req_t *req, const ea_http_ready_part *parts, size_t n);

/* Sends {"error":{"code":code,"message":...}} with status. */
void ea_http_send_error(h2o_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends a byte body with status and content type; body is copied into the request pool. */
void ea_http_send_bytes(h2o_req_t *req, int status, const char *content_type, const char *body,
                        size_t len);

/* Adds a response header by name (copied into the request pool). */
void ea_http_add_header(h2o_req_t *req, const char *name, const char *value);

/* Finds a request header by lowercase name; returns NULL when absent. *count receives how many
 * times it occurs (duplicate Content-Length and the like are refused by callers). */
const h2o_iovec_t *ea_http_header(const h2o_req_t *req, const char *name, int *count);

/* A header value (or any of its bytes) as a heap C string: exactly len bytes and a NUL, never
 * read past — h2o's values are not NUL-terminated, so strndup, which may look for a NUL, is
 * wrong for them (ASan's strict string checks stop on it). NULL when out of memory; free(). */
char *ea_http_value_dup(const char *base, size_t len) EA_WUR;

/* True when the request method equals m (e.g. "POST"). */
bool ea_http_method_is(const h2o_req_t *req, const char *m);

/* The reason phrase for a status code ("Accepted"). */
const char *ea_http_reason(int status);

/* The client's address as text ("127.0.0.1", "::1"; "-" when unknown) in buf (>= 64 bytes is
 * enough); returns buf. The TCP peer: a proxy in front means the proxy's address. */
const char *ea_http_peer(h2o_req_t *req, char *buf, size_t len);

/* The request's id, the subject of every log line about it (ea_log.h): 16 hex characters, made
 * on first use and sent back as the X-Request-Id header; the string lives in req's pool. */
const char *ea_http_request_id(h2o_req_t *req);

/* Deliberately late answers (a tarpit for clients that are refused anyway): ea_http_delay calls
 * fn(req, ud) on the loop after the delayer's fixed delay, unless the client went away first
 * (then never). A delay of 0 (or a NULL delayer) answers at once: fn runs before ea_http_delay
 * returns. ud must live in req's pool (or longer). Each waiting request holds its connection and
 * its pool, nothing else. */
typedef struct ea_http_delayer ea_http_delayer;
ea_http_delayer *ea_http_delayer_new(h2o_loop_t *loop, uint64_t delay_ms);
void ea_http_delay(ea_http_delayer *d, h2o_req_t *req, void (*fn)(h2o_req_t *req, void *ud),
                   void *ud);
/* Frees the delayer when no request waits (otherwise it is left to the loop). NULL is allowed. */
void ea_http_delayer_free(ea_http_delayer *d);

/* Calls cb(ud) on the loop thread whenever fd is readable, after discarding what it holds (for
 * wake-up pipes such as ea_workpool_fd()). The watcher uses its own duplicate of fd; the owner
 * keeps and closes the original. NULL when fd cannot be duplicated. */
typedef struct ea_http_watch ea_http_watch;
ea_http_watch *ea_http_watch_new(h2o_loop_t *loop, int fd, void (*cb)(void *ud), void *ud);
void ea_http_watch_free(ea_http_watch *w);

#endif
