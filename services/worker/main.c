/*
 * main.c — the worker process: loads the configuration, wires the modules together and runs
 * the consumer loop until SIGTERM/SIGINT. Nothing else lives here.
 *
 *   wk_config ─▶ wk_stats ─▶ wk_httpd (thread: /healthz /readyz /metrics)
 *             ─▶ wk_sink (PostgreSQL) ◀─ wk_consumer (Kafka, main loop) ─▶ wk_feed (Redis)
 *             ─▶ wk_hook_sender (thread: alert webhooks, PostgreSQL + libcurl)
 *             ─▶ wk_recompute (thread: metric recomputations, PostgreSQL + its own feed)
 */
#include "changefeed.h"
#include "consumer.h"
#include "ea_kafka.h"
#include "ea_log.h"
#include "hook_sender.h"
#include "httpd.h"
#include "jalloc.h"
#include "recompute.h"
#include "sink.h"
#include "stats.h"
#include "worker_config.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int main(int argc, char **argv)
{
    wk_jalloc_install(); /* before any JSON value exists (jalloc.h) */
    wk_config cfg;
    int start = ea_config_start(&wk_config_program, argc, argv, &cfg);
    if (start >= 0)
        return start;
    struct ea_err err = {0};

    char brokers[4096];
    if (ea_kafka_resolve_brokers(cfg.kafka.brokers, cfg.kafka.bootstrap_file, brokers,
                                 sizeof(brokers), &err) != EA_OK) {
        ea_log_error("startup", "%s", err.message);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* before any thread exists: libcurl's global init is not thread-safe */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ea_log_error("startup", "could not initialise libcurl");
        return 1;
    }
    int rc = 1;
    wk_stats *stats = wk_stats_new();
    wk_sink *sink = stats != NULL ? wk_sink_new(&cfg, stats) : NULL;
    wk_feed *feed = stats != NULL ? wk_feed_new(&cfg, stats) : NULL;
    wk_httpd *httpd = NULL;
    wk_hook_sender *hooks = NULL;
    wk_recompute *recompute = NULL;
    wk_consumer *consumer = NULL;
    if (sink == NULL || feed == NULL) {
        ea_log_error("startup", "out of memory");
        goto out;
    }
    wk_sink_set_publisher(sink, wk_feed_publish, feed);
    wk_sink_set_alert_publisher(sink, wk_feed_publish_alerts, feed);
    if (cfg.http_port > 0) {
        httpd = wk_httpd_start(cfg.http_host, (int)cfg.http_port, stats, &err);
        if (httpd == NULL) {
            ea_log_error("startup", "%s", err.message);
            goto out;
        }
    }
    hooks = wk_hook_sender_start(&cfg, stats, &err);
    if (hooks == NULL) {
        ea_log_error("startup", "%s", err.message);
        goto out;
    }
    if (cfg.recompute_poll_ms > 0 && (recompute = wk_recompute_start(&cfg, stats, &err)) == NULL) {
        ea_log_error("startup", "%s", err.message);
        goto out;
    }
    consumer = wk_consumer_new(&cfg, brokers, sink, feed, stats, &err);
    if (consumer == NULL) {
        ea_log_error("startup", "%s", err.message);
        goto out;
    }
    ea_log_info("startup", "worker starting: brokers %s, topic %s, port %ld, raw events %s",
                brokers, cfg.kafka.topic, cfg.http_port, cfg.store_raw ? "on" : "off");
    rc = wk_consumer_run(consumer, &stop_flag) == EA_OK ? 0 : 1;
    ea_log_info("shutdown", "worker stopped");
out:
    wk_consumer_free(consumer);
    wk_recompute_stop(recompute);
    wk_hook_sender_stop(hooks);
    wk_httpd_stop(httpd);
    wk_feed_free(feed);
    wk_sink_free(sink);
    wk_stats_free(stats);
    curl_global_cleanup();
    return rc;
}
