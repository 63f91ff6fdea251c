/*
 * gql_config.c — the declarative table of graphql-api settings. .env.example mirrors it.
 */
#include "gql_config.h"
#include "ea_config.h"
#include "ea_pg.h"
#include "ea_redis.h"
#include "ea_rollup_feed.h"

#include <stddef.h>

#define OFF(f) offsetof(gql_config, f)

static const ea_config_entry table[] = {
    EA_HTTP_LISTEN_CONFIG_ENTRIES("GRAPHQL", gql_config, http, "3002", "262144", 16 * 1024 * 1024),
    EA_PG_CONFIG_ENTRY(gql_config, database_url, "every query, keys, sessions"),
    EA_REDIS_CONFIG_ENTRIES(gql_config, redis_url, redis_ca_file,
                            "query cache, rate limit, change feed"),
    {"GRAPHQL_MAX_DEPTH", EA_CFG_INT, "8", 1, 100, OFF(max_depth), "max selection depth"},
    {"GRAPHQL_MAX_ALIASES", EA_CFG_INT, "15", 0, 1000, OFF(max_aliases), "max aliases"},
    {"GRAPHQL_MAX_TOKENS", EA_CFG_INT, "2000", 10, 1000000, OFF(max_tokens),
     "max tokens in a document"},
    {"GRAPHQL_MAX_COST", EA_CFG_INT, "10000", 0, 100000000, OFF(max_cost),
     "max query cost: the buckets metrics fields can touch (ranges clipped to what the tables "
     "hold); 0 disables"},
    {"GRAPHQL_MAX_ROWS", EA_CFG_INT, "2000000", 0, 1000000000, OFF(max_rows),
     "a metrics field may read at most this many rollup rows (PostgreSQL's estimate, before the "
     "read; past it COST_LIMIT saying what to change); 0 disables"},
    {"GRAPHQL_MAX_RAW_ROWS", EA_CFG_INT, "3000000", 0, 1000000000, OFF(max_raw_rows),
     "the same for breakdowns answered from raw events; 0 disables"},
    {"GRAPHQL_MAX_WORK", EA_CFG_INT, "1000000", 0, 1000000000, OFF(max_work),
     "work budget of one operation: fields resolved (introspection fields count "
     "GRAPHQL_INTROSPECTION_WORK each); past it WORK_LIMIT; 0 disables"},
    {"GRAPHQL_INTROSPECTION_WORK", EA_CFG_INT, "50", 1, 1000000, OFF(introspection_work),
     "work units of one introspection field (GraphiQL's full introspection is ~2,300 fields)"},
    {"GRAPHQL_MAX_RESPONSE_BYTES", EA_CFG_INT, "33554432", 0, 1024L * 1024 * 1024,
     OFF(max_response_bytes),
     "largest answer (compact JSON bytes); past it RESPONSE_TOO_LARGE; 0 disables"},
    {"GRAPHQL_INTROSPECTION", EA_CFG_BOOL, "true", 0, 0, OFF(introspection),
     "allow __schema/__type"},
    {"GRAPHQL_GRAPHIQL", EA_CFG_BOOL, "true", 0, 0, OFF(graphiql),
     "serve GraphiQL at GET /graphql to browsers"},
    EA_KEYAUTH_CONFIG_ENTRIES(gql_config, auth),
    {"CACHE_TTL_HOUR_S", EA_CFG_INT, "300", 0, 86400, OFF(cache_ttl_hour_s),
     "HOUR series: how long cached buckets that are not closed yet live (changes drop them "
     "sooner); 0 turns caching of HOUR series off"},
    {"CACHE_TTL_DAY_S", EA_CFG_INT, "3600", 0, 86400 * 7, OFF(cache_ttl_day_s),
     "DAY series: the same for DAY buckets; 0 turns caching of DAY series off"},
    {"GRAPHQL_CACHE_CLOSED_TTL_S", EA_CFG_INT, "86400", 1, 86400 * 30, OFF(cache_closed_ttl_s),
     "closed buckets stay cached until restated, or this long at most"},
    {"GRAPHQL_CACHE_MAX_MB", EA_CFG_INT, "256", 1, 1024 * 64, OFF(cache_max_mb),
     "in-process series cache size bound in heap bytes (within 10 %); least recently used series "
     "go first. A cached point costs ~1.2 KB: a month hourly by 200 pages (144,000 points) ~170 "
     "MB"},
    {"GRAPHQL_RESPONSE_CACHE_MAX_MB", EA_CFG_INT, "32", 0, 1024 * 64, OFF(response_cache_max_mb),
     "in-process cache of whole answers to repeated metrics queries; 0 turns it off"},
    {"GRAPHQL_WORKERS", EA_CFG_INT, "4", 1, 64, OFF(workers),
     "threads that run operations needing PostgreSQL or Redis (each its own connections)"},
    {"GRAPHQL_QUEUE_MAX", EA_CFG_INT, "256", 1, 1000000, OFF(queue_max),
     "operations waiting for a worker thread at most; beyond, 503 SERVICE_UNAVAILABLE with "
     "Retry-After"},
    {"GRAPHQL_WORKERS_PER_CLIENT", EA_CFG_INT, "0", 0, 64, OFF(workers_per_client),
     "operations of one API key or signed-in user on the worker threads at once; the rest wait in "
     "its own line (GRAPHQL_QUEUE_MAX in all lines together, beyond: 503), so one client's slow "
     "queries cannot "
     "take every thread (0: GRAPHQL_WORKERS / 4, at least 1)"},
    {"GRAPHQL_WORKERS_PER_TENANT", EA_CFG_INT, "0", 0, 64, OFF(workers_per_tenant),
     "the same for all keys of one tenant together (its clients take turns) (0: GRAPHQL_WORKERS / "
     "2, at least 1)"},
    {"GRAPHQL_STATEMENT_TIMEOUT_MS", EA_CFG_INT, "30000", 100, 3600000, OFF(statement_timeout_ms),
     "PostgreSQL statement_timeout of the worker threads"},
    {"GRAPHQL_RAW_GROUP_CAP", EA_CFG_INT, "100", 1, 100000, OFF(raw_group_cap),
     "breakdowns by a property that is not a declared dimension (raw events): groups kept per "
     "bucket, by event count; the rest fold into \"__other__\""},
    {"GRAPHQL_RATE_LIMIT_PER_MIN", EA_CFG_INT, "600", 0, 10000000, OFF(rate_limit_per_min),
     "queries per minute per key or user (a key's own rate_limit wins); 0 disables"},
    {"GRAPHQL_REDIS_TIMEOUT_MS", EA_CFG_INT, "50", 1, 10000, OFF(redis_timeout_ms),
     "Redis connect/command timeout (worker threads: rate-limit lease refills, /readyz, change "
     "announcements)"},
    {"GRAPHQL_DOC_CACHE_SIZE", EA_CFG_INT, "512", 1, 1000000, OFF(doc_cache_size),
     "prepared documents kept by query hash"},
    EA_ROLLUP_CHANNEL_CONFIG_ENTRIES(gql_config, changes_channel, alerts_channel),
    {"GRAPHQL_WS_INIT_TIMEOUT_MS", EA_CFG_INT, "3000", 100, 600000, OFF(ws_init_timeout_ms),
     "WebSocket: connection_init must arrive within this (else close 4408)"},
    {"GRAPHQL_WS_MAX_SUBSCRIPTIONS", EA_CFG_INT, "50", 1, 100000, OFF(ws_max_subscriptions),
     "WebSocket: subscriptions per connection"},
    {"GRAPHQL_WS_MAX_FRAME", EA_CFG_INT, "65536", 1024, 16 * 1024 * 1024, OFF(ws_max_frame),
     "WebSocket: max message bytes from a client (else close 1009)"},
    {"GRAPHQL_WS_MAX_QUEUED", EA_CFG_INT, "1048576", 4096, 1024 * 1024 * 1024, OFF(ws_max_queued),
     "WebSocket: bytes queued to a client that does not read (past it: dropped)"},
    {"GRAPHQL_WS_ORIGINS", EA_CFG_STR, "", 0, 0, OFF(ws_origins),
     "WebSocket: Origins (scheme://host[:port], comma-separated) whose sockets may be "
     "authenticated by the session cookie, besides the server's own origin (Origin = Host)"},
    {"GRAPHQL_WS_MAX_PER_ADDRESS", EA_CFG_INT, "64", 1, 1000000, OFF(ws_max_per_address),
     "WebSocket: open sockets per client address (past it: 429 before the upgrade)"},
    {"GRAPHQL_WS_MAX_PER_PRINCIPAL", EA_CFG_INT, "32", 1, 1000000, OFF(ws_max_per_principal),
     "WebSocket: open sockets per API key or user (past it: close 1008 after connection_init)"},
    EA_CONFIG_LOG_LEVEL_ENTRY(gql_config, log_level),
    {"WEB_DIST_DIR", EA_CFG_STR, "web/dist", 0, 0, OFF(web_dist_dir),
     "the dashboard's production build served at / (empty: not served)"},
    /* login (OIDC, login.c) and sessions (session.c); no client id = login disabled */
    {"OIDC_ISSUER", EA_CFG_STR, "https://accounts.google.com", 0, 0, OFF(oidc_issuer),
     "OpenID Connect issuer (https, or http on loopback)"},
    {"OIDC_CLIENT_ID", EA_CFG_STR, NULL, 0, 0, OFF(oidc_client_id),
     "OAuth client id; unset disables /auth/login"},
    {"OIDC_CLIENT_SECRET", EA_CFG_STR, NULL, 0, 0, OFF(oidc_client_secret),
     "OAuth client secret (unset: public client with PKCE only)"},
    {"OIDC_REDIRECT_URI", EA_CFG_STR, NULL, 0, 0, OFF(oidc_redirect_uri),
     "public URL of /auth/callback (default http://GRAPHQL_HOST:GRAPHQL_PORT/auth/callback)"},
    {"OIDC_HTTP_TIMEOUT_MS", EA_CFG_INT, "5000", 100, 60000, OFF(oidc_http_timeout_ms),
     "timeout of each call to the issuer"},
    {"OIDC_CLOCK_SKEW_S", EA_CFG_INT, "60", 0, 600, OFF(oidc_clock_skew_s),
     "leeway on ID token exp/iat"},
    {"OIDC_LOGIN_TTL_S", EA_CFG_INT, "600", 30, 3600, OFF(oidc_login_ttl_s),
     "how long a started login may take to come back"},
    {"SESSION_SECRET", EA_CFG_STR, NULL, 0, 0, OFF(session_secret),
     "HMAC key of session cookies, >= 32 bytes (required with OIDC_CLIENT_ID)"},
    {"SESSION_TTL_S", EA_CFG_INT, "43200", 60, 2592000, OFF(session_ttl_s), "session lifetime"},
};

static const ea_config_retired retired[] = {EA_ROLLUP_CHANNEL_RETIRED_ENTRIES};

static ea_rc check(void *cfg, struct ea_err *err)
{
    gql_config *c = cfg;
    ea_rc rc = ea_rollup_channels_check(c->changes_channel, c->alerts_channel, err);
    return rc == EA_OK ? ea_redis_url_parse(c->redis_url, c->redis_ca_file, &c->redis, err) : rc;
}

const ea_config_program gql_config_program = {
    .name = "graphql-api",
    .table = table,
    .n = sizeof(table) / sizeof(table[0]),
    .retired = retired,
    .n_retired = sizeof(retired) / sizeof(retired[0]),
    .log_level = OFF(log_level),
    .check = check,
};
