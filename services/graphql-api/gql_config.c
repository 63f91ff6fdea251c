/*
 * gql_config.c — the declarative table of graphql-api settings. .env.example mirrors it.
 */
#include "gql_config.h"
#include "ea_config.h"

#include <stddef.h>

#define OFF(f) offsetof(gql_config, f)

static const ea_config_entry table[] = {
    {"GRAPHQL_PORT", EA_CFG_INT, "3002", 1, 65535, OFF(port), "HTTP port"},
    {"GRAPHQL_HOST", EA_CFG_STR, "127.0.0.1", 0, 0, OFF(listen_host), "listen address"},
    {"DATABASE_URL", EA_CFG_STR, "postgresql://analytics@127.0.0.1:55432/analytics", 0, 0,
     OFF(database_url), "PostgreSQL"},
    {"REDIS_URL", EA_CFG_STR, "redis://127.0.0.1:56379/0", 0, 0, OFF(redis_url),
     "Redis (query cache, change feed)"},
    {"GRAPHQL_MAX_BODY", EA_CFG_INT, "262144", 1024, 16 * 1024 * 1024, OFF(max_body),
     "max request body bytes"},
    {"GRAPHQL_MAX_DEPTH", EA_CFG_INT, "8", 1, 100, OFF(max_depth), "max selection depth"},
    {"GRAPHQL_MAX_ALIASES", EA_CFG_INT, "15", 0, 1000, OFF(max_aliases), "max aliases"},
    {"GRAPHQL_MAX_TOKENS", EA_CFG_INT, "2000", 10, 1000000, OFF(max_tokens),
     "max tokens in a document"},
    {"GRAPHQL_MAX_COST", EA_CFG_INT, "10000", 0, 100000000, OFF(max_cost),
     "max query cost (buckets x groups); 0 disables"},
    {"GRAPHQL_INTROSPECTION", EA_CFG_BOOL, "true", 0, 0, OFF(introspection),
     "allow __schema/__type"},
    {"GRAPHQL_GRAPHIQL", EA_CFG_BOOL, "true", 0, 0, OFF(graphiql),
     "serve GraphiQL at GET /graphql to browsers"},
    {"KEY_CACHE_TTL_S", EA_CFG_INT, "30", 0, 3600, OFF(key_cache_ttl_s),
     "verified API keys are cached this long"},
    {"CACHE_TTL_HOUR_S", EA_CFG_INT, "300", 0, 86400, OFF(cache_ttl_hour_s),
     "Redis cache TTL of HOUR results"},
    {"CACHE_TTL_DAY_S", EA_CFG_INT, "3600", 0, 86400 * 7, OFF(cache_ttl_day_s),
     "Redis cache TTL of DAY results"},
    {"GRAPHQL_REUSEPORT", EA_CFG_BOOL, "true", 0, 0, OFF(reuseport),
     "SO_REUSEPORT so several processes share the port"},
    {"LOG_LEVEL", EA_CFG_STR, "info", 0, 0, OFF(log_level), "debug, info, warn or error"},
};

ea_rc gql_config_load(gql_config *cfg, struct ea_err *err)
{
    return ea_config_load(table, sizeof(table) / sizeof(table[0]), cfg, err);
}

void gql_config_help(FILE *out)
{
    ea_config_print_help(table, sizeof(table) / sizeof(table[0]), out);
}
