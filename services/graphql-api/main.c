/*
 * main.c — graphql-api: wires config, logging, the schema, the key verifier, the caches, the
 * worker pool and the HTTP transport onto one event loop; runs until SIGTERM, then exits 0 once
 * the loop is idle.
 */
#include "app.h"
#include "auth.h"
#include "bcache.h"
#include "doccache.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "exec.h"
#include "fair.h"
#include "ea_ratelimit.h"
#include "login.h"
#include "pubsub.h"
#include "respcache.h"
#include "schema.h"
#include "static.h"
#include "transport.h"
#include "ws.h"

#include <stdio.h>
#include <string.h>

/* change feed and alerts (pubsub.c, on the loop thread) → subscriptions (ws.c) */
static void on_pubsub(void *ud, int is_alert, const json_t *m, const char *tenant)
{
    if (is_alert)
        gql_ws_on_alert(ud, m, tenant);
    else
        gql_ws_on_change(ud, m, tenant);
}

int main(int argc, char **argv)
{
    gql_config cfg;
    int start = ea_config_start(&gql_config_program, argc, argv, &cfg);
    if (start >= 0)
        return start;
    struct ea_err err;
    gql_app app = {.cfg = &cfg, .database_url = cfg.database_url};
    char errbuf[256];
    app.schema = gql_schema_build(errbuf, sizeof(errbuf));
    if (app.schema == NULL) {
        ea_log_error("startup", "could not build schema: %s", errbuf);
        return 1;
    }
    ea_gql_limits_default(&app.limits);
    app.limits.max_depth = (size_t)cfg.max_depth;
    app.limits.max_aliases = (size_t)cfg.max_aliases;
    app.limits.max_tokens = (size_t)cfg.max_tokens;
    app.limits.max_cost = cfg.max_cost;
    app.limits.max_work = (size_t)cfg.max_work;
    app.limits.introspection_work = (size_t)cfg.introspection_work;
    app.limits.max_response_bytes = (size_t)cfg.max_response_bytes;
    app.limits.introspection = cfg.introspection;
    app.limits.cost_fn = gql_schema_cost;
    app.auth = ea_keyauth_new(cfg.database_url, &cfg.redis, &cfg.auth, &err);
    if (app.auth == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }

    ea_http_server *srv = ea_http_server_for(&cfg.http);
    if (srv == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    gql_bcache_config bc = {.max_bytes = (size_t)cfg.cache_max_mb << 20,
                            .closed_ttl_s = cfg.cache_closed_ttl_s};
    app.bcache = gql_bcache_new(&bc);
    app.resp = cfg.response_cache_max_mb > 0
                   ? gql_respcache_new((size_t)cfg.response_cache_max_mb << 20)
                   : NULL;
    app.docs = gql_doccache_new(app.schema, &app.limits, (size_t)cfg.doc_cache_size);
    if (app.bcache == NULL || app.docs == NULL ||
        (cfg.response_cache_max_mb > 0 && app.resp == NULL)) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    gql_transport_register(srv, &app);
    if (gql_login_start(srv, &app, &err) != EA_OK) { /* /auth/ routes, OIDC worker thread */
        ea_log_error("startup", "%s", err.message);
        gql_login_stop(srv, &app);
        return 1;
    }
    gql_static_register(srv, cfg.web_dist_dir); /* last: h2o takes the first matching prefix */
    if (ea_http_listen(srv, NULL, NULL, &err) != EA_OK) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    /* the loop exists once listening: the worker pool, finished key verifications (auth.c),
     * subscriptions and the change feed live on it */
    gql_exec_config ec = {.threads = (int)cfg.workers,
                          .queue_max = (size_t)cfg.queue_max,
                          .database_url = cfg.database_url,
                          .redis = &cfg.redis,
                          .redis_timeout_ms = (int)cfg.redis_timeout_ms,
                          .statement_timeout_ms = cfg.statement_timeout_ms};
    app.exec = gql_exec_new(ea_http_loop(srv), &ec, &err);
    /* short work on a thread of its own: a pool full of slow reads must not hold up a signed-in
     * user's session lookup (every request of theirs needs one) or /readyz */
    gql_exec_config fc = ec;
    fc.threads = 1;
    fc.queue_max = 4096;
    fc.name = "gql-fast";
    app.fast = app.exec != NULL ? gql_exec_new(ea_http_loop(srv), &fc, &err) : NULL;
    if (app.exec == NULL || app.fast == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    /* one client's share of the pool's threads (fair.c): slow queries queue behind their own */
    app.fair = gql_fair_new((size_t)cfg.workers_per_client, (size_t)cfg.workers_per_tenant,
                            (size_t)cfg.workers, (size_t)cfg.queue_max);
    if (app.fair == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    /* the query rate limit: lib/ratelimit's leases on the loop, refills on its Redis thread */
    ea_ratelimit_config rlc = {.redis = &cfg.redis,
                               .per_min = cfg.rate_limit_per_min,
                               .key_prefix = "ea:gqlrl:",
                               .thread_name = "gql-redis"};
    app.limiter = ea_ratelimit_new(ea_http_loop(srv), &rlc, &err);
    ea_http_watch *rl_watch =
        app.limiter != NULL ? ea_http_watch_new(ea_http_loop(srv), ea_ratelimit_fd(app.limiter),
                                                ea_ratelimit_on_ready, app.limiter)
                            : NULL;
    if (app.limiter == NULL || rl_watch == NULL) {
        ea_log_error("startup", "%s", app.limiter == NULL ? err.message : "out of resources");
        return 1;
    }
    ea_http_watch *auth_watch =
        ea_http_watch_new(ea_http_loop(srv), ea_keyauth_fd(app.auth), gql_auth_on_ready, &app);
    if (auth_watch == NULL) {
        ea_log_error("startup", "could not watch the key verifier");
        return 1;
    }
    /* failed key attempts answered AUTH_FAIL_DELAY_MS late (0: at once) */
    app.tarpit = ea_http_delayer_new(ea_http_loop(srv), (uint64_t)cfg.auth.fail_delay_ms);
    if (app.tarpit == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    app.ws = gql_ws_new(&app, ea_http_loop(srv));
    gql_pubsub *feed = app.ws == NULL
                           ? NULL
                           : gql_pubsub_start(ea_http_loop(srv), &cfg.redis, cfg.changes_channel,
                                              cfg.alerts_channel, app.bcache, on_pubsub, app.ws);
    if (feed == NULL) {
        ea_log_error("startup", "could not start the change feed: out of resources");
        return 1;
    }
    ea_log_info("startup", "listening on %s:%ld", cfg.http.host, cfg.http.port);
    while (!ea_http_stopping(srv))
        ea_http_run_once(srv, 100);
    gql_login_stop(srv, &app);
    gql_pubsub_stop(feed);
    gql_ws_free(app.ws);
    gql_fair_free(app.fair); /* waiting operations answered 503; the pool's last done()s see NULL */
    app.fair = NULL;
    gql_exec_free(app.exec); /* jobs still queued are dropped (their clients get 503) */
    gql_exec_free(app.fast);
    ea_http_watch_free(rl_watch);
    ea_ratelimit_free(app.limiter);
    gql_respcache_free(app.resp);
    gql_bcache_free(app.bcache);
    gql_doccache_free(app.docs);
    ea_log_info("shutdown", "stopped");
    ea_http_watch_free(auth_watch);
    ea_keyauth_free(app.auth);
    ea_gql_schema_free(app.schema);
    ea_http_delayer_free(app.tarpit);
    ea_http_server_free(srv);
    return 0;
}
