/*
 * ingest_config.h — ingest-api settings: one declarative table (ingest_config.c), loaded from
 * the environment at start. Every limit on network input is here.
 */
#ifndef INGEST_CONFIG_H
#define INGEST_CONFIG_H

#include "ea_config.h"
#include "ea_err.h"
#include "ea_http_conns.h"
#include "ea_kafka.h"
#include "ea_redis.h"
#include "ea_keyauth.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct ingest_config {
    ea_http_settings http; /* INGEST_PORT, _HOST, _MAX_BODY (bytes per request body), _REUSEPORT,
                            * _MAX_CONNECTIONS* */
    const char *database_url;
    const char *redis_url;
    const char *redis_ca_file;
    ea_redis_url redis;      /* REDIS_URL + REDIS_CA_FILE, parsed and checked by the load */
    ea_kafka_settings kafka; /* KAFKA_*: brokers, topic, security (checked by load) */
    long max_event;          /* bytes per serialized event */
    long max_batch;          /* events per request */
    long max_depth;          /* JSON nesting depth of one event */
    long max_future_s;       /* timestamps at most this far ahead of now */
    long retention_days;     /* timestamps at most this old (raw-event retention) */
    long produce_timeout_ms; /* librdkafka message.timeout.ms: bound on waiting for acks */
    long linger_ms;
    ea_keyauth_settings auth;   /* KEY_CACHE_TTL_S, AUTH_*: key cache, verifier threads, limits */
    long rate_limit;            /* default requests/minute per key */
    long rate_burst;            /* bucket size; 0 means equal to rate_limit */
    long browser_rate_per_addr; /* requests/minute per client address with browser keys */
    long origins_refresh_s;     /* CORS: listed origins reloaded this often */
    const char *log_level;
} ingest_config;

/* The table and its checks (Redis URL parsed, Kafka security), for ea_config_start. */
extern const ea_config_program ingest_config_program;

#endif
