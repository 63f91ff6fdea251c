/*
 * ingest_config.c — the declarative table of ingest-api settings (name, type, bounds, default,
 * help). .env.example mirrors it.
 */
#include "ingest_config.h"
#include "ea_config.h"
#include "ea_pg.h"
#include "ea_rollup_watermark.h"

#include <stddef.h>

#define OFF(f) offsetof(ingest_config, f)

static const ea_config_entry table[] = {
    EA_HTTP_LISTEN_CONFIG_ENTRIES("INGEST", ingest_config, http, "3001", "1048576",
                                  64 * 1024 * 1024),
    EA_PG_CONFIG_ENTRY(ingest_config, database_url, "API key lookups, browser keys' origins"),
    EA_REDIS_CONFIG_ENTRIES(ingest_config, redis_url, redis_ca_file, "rate limits"),
    EA_KAFKA_CONFIG_ENTRIES(ingest_config, kafka),
    {"INGEST_MAX_EVENT", EA_CFG_INT, "32768", 256, 1024 * 1024, OFF(max_event),
     "max bytes of one event"},
    {"INGEST_MAX_BATCH", EA_CFG_INT, "1000", 1, 100000, OFF(max_batch), "max events per request"},
    {"INGEST_MAX_DEPTH", EA_CFG_INT, "32", 2, 1000, OFF(max_depth), "max JSON nesting depth"},
    {"INGEST_MAX_FUTURE_S", EA_CFG_INT, "3600", 0, 86400 * 7, OFF(max_future_s),
     "how far in the future a timestamp may be"},
    EA_ROLLUP_RETENTION_CONFIG_ENTRY(ingest_config, retention_days),
    {"INGEST_PRODUCE_TIMEOUT_MS", EA_CFG_INT, "10000", 100, 300000, OFF(produce_timeout_ms),
     "how long to wait for Kafka to acknowledge before answering 503"},
    {"INGEST_LINGER_MS", EA_CFG_INT, "5", 0, 1000, OFF(linger_ms), "producer batching delay"},
    EA_KEYAUTH_CONFIG_ENTRIES(ingest_config, auth),
    {"RATE_LIMIT_PER_MIN", EA_CFG_INT, "100", 1, 100000000, OFF(rate_limit),
     "default requests per minute per API key"},
    {"RATE_LIMIT_BURST", EA_CFG_INT, "0", 0, 100000000, OFF(rate_burst),
     "token bucket size; 0 = the per-minute limit"},
    {"INGEST_BROWSER_RATE_PER_ADDR", EA_CFG_INT, "120", 1, 100000000, OFF(browser_rate_per_addr),
     "requests per minute one client address may send with browser keys (on top of each key's "
     "own limit)"},
    {"INGEST_ORIGINS_REFRESH_S", EA_CFG_INT, "5", 1, 3600, OFF(origins_refresh_s),
     "how often the browser keys' origins are reloaded for CORS preflights"},
    EA_CONFIG_LOG_LEVEL_ENTRY(ingest_config, log_level),
};

static ea_rc check(void *cfg, struct ea_err *err)
{
    ingest_config *c = cfg;
    ea_rc rc = ea_redis_url_parse(c->redis_url, c->redis_ca_file, &c->redis, err);
    return rc == EA_OK ? ea_kafka_security_check(&c->kafka.security, err) : rc;
}

const ea_config_program ingest_config_program = {
    .name = "ingest-api",
    .table = table,
    .n = sizeof(table) / sizeof(table[0]),
    .log_level = OFF(log_level),
    .check = check,
};
