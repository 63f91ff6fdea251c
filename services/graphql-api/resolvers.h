/*
 * resolvers.h — resolvers of the product schema. Each checks tenant access on entry (the
 * caller's key or session must reach the tenant argument with the field's scope); catalog
 * objects go through lib/catalog, the series through series.c.
 */
#ifndef GQL_RESOLVERS_H
#define GQL_RESOLVERS_H

#include "ea_gql.h"

int gql_resolve_metrics(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_metric_definitions(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_dashboards(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_alerts(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_api_keys(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_me(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_define_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_save_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_create_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_rename_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_delete_dashboard(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_update_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_set_alert_enabled(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_delete_alert(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_alert_history(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_members(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_create_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_revoke_api_key(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_delete_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);
int gql_resolve_rename_metric(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);

#endif
