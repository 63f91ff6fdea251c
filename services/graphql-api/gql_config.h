/*
 * gql_config.h — graphql-api settings: one declarative table (gql_config.c) loaded from the
 * environment at start.
 */
#ifndef GQL_CONFIG_H
#define GQL_CONFIG_H

#include "ea_err.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct gql_config {
    long port;
    const char *listen_host;
    const char *database_url;
    const char *redis_url;
    long max_body;
    long max_depth;
    long max_aliases;
    long max_tokens;
    long max_cost;
    bool introspection;
    bool graphiql;
    long key_cache_ttl_s;
    long cache_ttl_hour_s;
    long cache_ttl_day_s;
    bool reuseport;
    const char *log_level;
} gql_config;

ea_rc gql_config_load(gql_config *cfg, struct ea_err *err) EA_WUR;
void gql_config_help(FILE *out);

#endif
