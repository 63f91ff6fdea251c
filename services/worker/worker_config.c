/*
 * worker_config.c — the worker's declarative configuration table. Every tunable the worker has
 * is a row here (and a line in .env.example); nothing else reads the environment.
 */
#include "worker_config.h"
#include "ea_config.h"
#include "ea_pg.h"
#include "ea_rollup_feed.h"
#include "ea_rollup_watermark.h"

#include <stddef.h>

#define S(f) offsetof(wk_config, f)

static const ea_config_entry wk_config_table[] = {
    EA_PG_CONFIG_ENTRY(wk_config, database_url, "rollups, offsets, dedup, raw events"),
    EA_REDIS_CONFIG_ENTRIES(wk_config, redis_url, redis_ca_file, "change feed, alerts"),
    EA_KAFKA_CONFIG_ENTRIES(wk_config, kafka),
    {"WORKER_GROUP_ID", EA_CFG_STR, "analytics-worker", 0, 0, S(group_id),
     "Kafka consumer group and consumer_offsets.group_id"},
    /* Shorter than Kafka's defaults (45 s / 300 s): a killed worker's partitions move within
     * seconds, and a rebalance never waits minutes for a member that is gone. The loop polls at
     * least once per batch, so 60 s only expires while PostgreSQL is down (harmless: fenced). */
    {"WORKER_SESSION_TIMEOUT_MS", EA_CFG_INT, "10000", 1000, 3600000, S(session_timeout_ms),
     "Kafka session.timeout.ms: how soon the group notices a dead worker"},
    {"WORKER_MAX_POLL_INTERVAL_MS", EA_CFG_INT, "60000", 1000, 86400000, S(max_poll_interval_ms),
     "Kafka max.poll.interval.ms: also the longest a rebalance waits for a member"},
    EA_CONFIG_LOG_LEVEL_ENTRY(wk_config, log_level),
    {"WORKER_HOST", EA_CFG_STR, "0.0.0.0", 0, 0, S(http_host),
     "address of the /healthz /readyz /metrics port"},
    {"WORKER_PORT", EA_CFG_INT, "3003", 0, 65535, S(http_port),
     "port of /healthz /readyz /metrics (0 disables it)"},
    {"WORKER_BATCH_MAX_EVENTS", EA_CFG_INT, "5000", 1, 100000, S(batch_max_events),
     "events per batch (one PostgreSQL transaction)"},
    {"WORKER_BATCH_MAX_MS", EA_CFG_INT, "200", 1, 60000, S(batch_max_ms),
     "longest a batch collects before it is committed (freshness bound)"},
    {"WORKER_ALLOWED_LATENESS_S", EA_CFG_INT, "600", 0, 86400, S(allowed_lateness_s),
     "watermark = highest event time seen - this; buckets behind it are closed"},
    EA_ROLLUP_RETENTION_CONFIG_ENTRY(wk_config, retention_days),
    {"WORKER_STORE_RAW", EA_CFG_BOOL, "true", 0, 0, S(store_raw),
     "store every counted event in raw_events (needed for backfill)"},
    {"WORKER_MAINTENANCE_INTERVAL_S", EA_CFG_INT, "300", 5, 86400, S(maintenance_interval_s),
     "partition create/drop and dedup expiry interval (one worker at a time)"},
    {"WORKER_RECOMPUTE_POLL_MS", EA_CFG_INT, "1000", 0, 600000, S(recompute_poll_ms),
     "how often the runner of metric recomputations (defined or changed metrics) looks for "
     "work; 0: this worker never runs them"},
    {"WORKER_CLOSE_INTERVAL_MS", EA_CFG_INT, "1000", 100, 600000, S(close_interval_ms),
     "how often buckets behind the group watermark are marked closed"},
    {"WORKER_CHANGES_MAX", EA_CFG_INT, "1000", 1, 100000, S(changes_max_per_message),
     "changed buckets per change-feed message (more are split into several messages)"},
    EA_ROLLUP_CHANNEL_CONFIG_ENTRIES(wk_config, changes_channel, alerts_channel),
    {"WEBHOOK_ALLOW_PRIVATE", EA_CFG_BOOL, "false", 0, 0, S(webhook_allow_private),
     "let alert webhooks reach loopback, private and link-local addresses (local stacks only)"},
    {"WEBHOOK_TIMEOUT_MS", EA_CFG_INT, "10000", 100, 120000, S(webhook_timeout_ms),
     "time one webhook delivery attempt may take (connect + answer)"},
    {"WEBHOOK_RETRY_BASE_MS", EA_CFG_INT, "30000", 10, 3600000, S(webhook_retry_base_ms),
     "wait before the second attempt; each further attempt waits twice as long"},
    {"WEBHOOK_RETRY_MAX_MS", EA_CFG_INT, "3600000", 10, 86400000, S(webhook_retry_max_ms),
     "longest wait between two attempts"},
    {"WEBHOOK_RETRY_FOR_S", EA_CFG_INT, "86400", 1, 604800, S(webhook_retry_for_s),
     "a delivery is retried this long after its firing, then marked failed"},
    {"WEBHOOK_POLL_MS", EA_CFG_INT, "1000", 10, 60000, S(webhook_poll_ms),
     "how often the delivery thread looks for due deliveries when it has none"},
};

static const ea_config_retired wk_config_retired[] = {EA_ROLLUP_CHANNEL_RETIRED_ENTRIES};

/* What the table cannot say: the parsed Redis URL, Kafka security, and the bounds that join two
 * settings. */
static ea_rc check(void *c, struct ea_err *err)
{
    wk_config *cfg = c;
    ea_rc rc;
    if ((rc = ea_redis_url_parse(cfg->redis_url, cfg->redis_ca_file, &cfg->redis, err)) != EA_OK ||
        (rc = ea_kafka_security_check(&cfg->kafka.security, err)) != EA_OK ||
        (rc = ea_rollup_channels_check(cfg->changes_channel, cfg->alerts_channel, err)) != EA_OK)
        return rc;
    if (cfg->retention_days * 86400 < cfg->allowed_lateness_s)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid value for RAW_RETENTION_DAYS: %ld days is below "
                          "WORKER_ALLOWED_LATENESS_S (%ld s)",
                          cfg->retention_days, cfg->allowed_lateness_s);
    if (cfg->webhook_retry_max_ms < cfg->webhook_retry_base_ms)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid value for WEBHOOK_RETRY_MAX_MS: %ld is below "
                          "WEBHOOK_RETRY_BASE_MS (%ld)",
                          cfg->webhook_retry_max_ms, cfg->webhook_retry_base_ms);
    if (cfg->max_poll_interval_ms < cfg->session_timeout_ms)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid value for WORKER_MAX_POLL_INTERVAL_MS: %ld is below "
                          "WORKER_SESSION_TIMEOUT_MS (%ld)",
                          cfg->max_poll_interval_ms, cfg->session_timeout_ms);
    return EA_OK;
}

const ea_config_program wk_config_program = {
    .name = "worker",
    .about = "event analytics worker: Kafka -> PostgreSQL rollups.",
    .table = wk_config_table,
    .n = sizeof(wk_config_table) / sizeof(wk_config_table[0]),
    .retired = wk_config_retired,
    .n_retired = sizeof(wk_config_retired) / sizeof(wk_config_retired[0]),
    .log_level = S(log_level),
    .check = check,
};
