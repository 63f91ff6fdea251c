/*
 * httpd.h — the worker's small operations port: GET /healthz (alive), /readyz (PostgreSQL,
 * Kafka and Redis reachable, from the flags in wk_stats), /metrics (Prometheus text). Runs an
 * h2o evloop on its own thread; it only reads wk_stats, never the consumer's connections.
 */
#ifndef WK_HTTPD_H
#define WK_HTTPD_H

#include "ea_err.h"
#include "stats.h"

typedef struct wk_httpd wk_httpd;

/* Binds host:port and starts the thread. NULL with err on failure (e.g. port in use). */
wk_httpd *wk_httpd_start(const char *host, int port, wk_stats *stats, struct ea_err *err);

/* Stops the thread and closes the port. NULL allowed. */
void wk_httpd_stop(wk_httpd *h);

#endif
