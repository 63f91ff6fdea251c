/*
 * worker_config.h — every setting of the worker, loaded once at start from the environment
 * through the declarative table in worker_config.c (lib/config). Read-only after load.
 */
#ifndef WK_WORKER_CONFIG_H
#define WK_WORKER_CONFIG_H

#include "ea_config.h"
#include "ea_err.h"
#include "ea_kafka.h"
#include "ea_redis.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct wk_config {
    const char *database_url;
    const char *redis_url;
    const char *redis_ca_file;
    ea_redis_url redis;      /* REDIS_URL + REDIS_CA_FILE, parsed and checked by the load */
    ea_kafka_settings kafka; /* KAFKA_*: brokers, topic, security (checked by load) */
    const char *group_id;
    long session_timeout_ms;
    long max_poll_interval_ms;
    const char *log_level;
    const char *http_host;
    long http_port;
    long batch_max_events;
    long batch_max_ms;
    long allowed_lateness_s;
    long retention_days; /* RAW_RETENTION_DAYS: the age rule (lib/rollup) and the dedup window */
    bool store_raw;
    long maintenance_interval_s;
    long close_interval_ms;
    long recompute_poll_ms; /* recompute.c */
    long changes_max_per_message;
    const char *changes_channel;
    const char *alerts_channel;
    bool webhook_allow_private; /* hook_sender.c */
    long webhook_timeout_ms;
    long webhook_retry_base_ms;
    long webhook_retry_max_ms;
    long webhook_retry_for_s;
    long webhook_poll_ms;
} wk_config;

/* The table and its checks (Redis URL parsed, Kafka security, the bounds that join two
 * settings), for ea_config_start: EA_ERR_INVALID names the bad variable. */
extern const ea_config_program wk_config_program;

#endif
