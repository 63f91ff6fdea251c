/*
 * main.c — ingest-api: wires config, logging, the API key verifier (its pool threads report
 * back through a pipe on the loop), the rate limiter (its Redis thread reports back the same
 * way), the Kafka producer and the HTTP routes onto one event loop,
 * then runs until SIGTERM: stop accepting, wait for in-flight requests' delivery reports, flush the
 * producer, exit 0.
 */
#include "ea_http.h"
#include "ea_kafka.h"
#include "ea_log.h"
#include "handler.h"
#include "ingest_auth.h"
#include "metrics.h"
#include "readyz.h"
#include "sdkjs.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    ingest_config cfg;
    int start = ea_config_start(&ingest_config_program, argc, argv, &cfg);
    if (start >= 0)
        return start;
    struct ea_err err;

    char brokers[1024];
    if (ea_kafka_resolve_brokers(cfg.kafka.brokers, cfg.kafka.bootstrap_file, brokers,
                                 sizeof(brokers), &err) != EA_OK) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    ea_http_server *srv = ea_http_server_for(&cfg.http);
    ingest_app app = {.cfg = &cfg};
    app.auth = ea_keyauth_new(cfg.database_url, &cfg.redis, &cfg.auth, &err);
    if (app.auth == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    if (srv == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    app.cors = ingest_cors_new(cfg.database_url, cfg.origins_refresh_s, &err);
    if (app.cors == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    ingest_handler_register(srv, &app);
    ingest_sdkjs_register(srv);
    if (ea_http_listen(srv, NULL, NULL, &err) != EA_OK) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    /* the loop exists once listening; requests are served only once it runs */
    ea_ratelimit_config rlc = {.redis = &cfg.redis,
                               .per_min = cfg.rate_limit,
                               .burst = cfg.rate_burst,
                               .key_prefix = "ea:rl:",
                               .thread_name = "ingest-redis"};
    app.ratelimit = ea_ratelimit_new(ea_http_loop(srv), &rlc, &err);
    if (app.ratelimit == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    /* finished key verifications come back to this loop (ingest_auth.c) */
    ea_http_watch *auth_watch =
        ea_http_watch_new(ea_http_loop(srv), ea_keyauth_fd(app.auth), ingest_auth_on_ready, &app);
    if (auth_watch == NULL) {
        ea_log_error("startup", "could not watch the key verifier");
        return 1;
    }
    /* ... and Redis's replies to the rate limiter (ratelimit.c) */
    ea_http_watch *rl_watch = ea_http_watch_new(ea_http_loop(srv), ea_ratelimit_fd(app.ratelimit),
                                                ea_ratelimit_on_ready, app.ratelimit);
    if (rl_watch == NULL) {
        ea_log_error("startup", "could not watch the rate limiter's redis client");
        return 1;
    }
    /* failed key attempts answered AUTH_FAIL_DELAY_MS late (0: at once) */
    app.tarpit = ea_http_delayer_new(ea_http_loop(srv), (uint64_t)cfg.auth.fail_delay_ms);
    if (app.tarpit == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    app.producer =
        ingest_producer_new(&cfg, brokers, ea_http_loop(srv), ingest_handler_on_delivery, &err);
    if (app.producer == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    if ((app.readyz = ingest_readyz_new(&app, ea_http_loop(srv), &err)) == NULL) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    ea_log_info("startup", "listening on %s:%ld, kafka %s topic %s", cfg.http.host, cfg.http.port,
                brokers, cfg.kafka.topic);

    while (!ea_http_stopping(srv) || ingest_stats.inflight > 0 || app.auth_waiting > 0) {
        ea_http_run_once(srv, 100);
        ingest_producer_poll(app.producer);
    }
    int left = ingest_producer_flush(app.producer, 10000);
    ea_log_info("shutdown", "stopped; %d messages left undelivered", left);
    ingest_readyz_free(app.readyz); /* before the producer its Kafka check uses */
    ingest_producer_free(app.producer);
    ea_http_watch_free(auth_watch);
    ea_http_watch_free(rl_watch);
    ea_keyauth_free(app.auth);
    ingest_cors_free(app.cors);
    ea_ratelimit_free(app.ratelimit);
    ea_http_delayer_free(app.tarpit);
    ea_http_server_free(srv);
    return 0;
}
