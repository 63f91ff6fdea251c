/*
 * gql_config.h — graphql-api settings: one declarative table (gql_config.c) loaded from the
 * environment at start.
 */
#ifndef GQL_CONFIG_H
#define GQL_CONFIG_H

#include "ea_config.h"
#include "ea_err.h"
#include "ea_http_conns.h"
#include "ea_redis.h"
#include "ea_keyauth.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct gql_config {
    ea_http_settings http; /* GRAPHQL_PORT, _HOST, _MAX_BODY, _REUSEPORT, _MAX_CONNECTIONS* */
    const char *database_url;
    const char *redis_url;
    const char *redis_ca_file;
    ea_redis_url redis; /* REDIS_URL + REDIS_CA_FILE, parsed and checked by the load */
    long max_depth;
    long max_aliases;
    long max_tokens;
    long max_cost;
    long max_work;
    long introspection_work;
    long max_response_bytes;
    bool introspection;
    bool graphiql;
    ea_keyauth_settings auth; /* KEY_CACHE_TTL_S, AUTH_*: key cache, verifier threads, limits */
    long cache_ttl_hour_s;
    long cache_ttl_day_s;
    long cache_closed_ttl_s;
    long cache_max_mb;
    long response_cache_max_mb;
    long workers;
    long queue_max;
    long workers_per_client;
    long workers_per_tenant;
    long statement_timeout_ms;
    long raw_group_cap;
    long max_rows;
    long max_raw_rows;
    long rate_limit_per_min;
    long redis_timeout_ms;
    long doc_cache_size;
    const char *changes_channel;
    const char *alerts_channel;
    long ws_init_timeout_ms;
    long ws_max_subscriptions;
    long ws_max_frame;
    long ws_max_queued;
    const char *ws_origins;
    long ws_max_per_address;
    long ws_max_per_principal;
    const char *log_level;
    const char *web_dist_dir;
    const char *oidc_issuer;
    const char *oidc_client_id;     /* NULL: login disabled */
    const char *oidc_client_secret; /* NULL: public client */
    const char *oidc_redirect_uri;  /* NULL: derived from host and port */
    long oidc_http_timeout_ms;
    long oidc_clock_skew_s;
    long oidc_login_ttl_s;
    const char *session_secret;
    long session_ttl_s;
} gql_config;

/* The table and its checks (the Redis URL parsed into redis), for ea_config_start. */
extern const ea_config_program gql_config_program;

#endif
