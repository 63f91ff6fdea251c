/*
 * resolvers.h — resolvers of the product schema. Each checks tenant access on entry (the
 * caller's key or session must belong to the tenant argument) and runs only parameterized SQL
 * filtered by tenant_id.
 */
#ifndef GQL_RESOLVERS_H
#define GQL_RESOLVERS_H

#include "ea_gql.h"

int gql_resolve_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_metric_definitions(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_me(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_define_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);

#endif
