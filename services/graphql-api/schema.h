/*
 * schema.h — the product's GraphQL schema (SDL text in schema.c) with its resolvers attached.
 */
#ifndef GQL_SCHEMA_H
#define GQL_SCHEMA_H

#include "ea_gql.h"

#include <stddef.h>

/* Builds the schema and attaches every resolver. NULL with errbuf filled on failure. */
ea_gql_schema *gql_schema_build(char *errbuf, size_t errlen);

/* The cost function: metrics costs buckets x groups (groups estimated from groupBy length). */
long gql_schema_cost(const char *parent_type, const char *field, const json_t *args, void *ud);

#endif
