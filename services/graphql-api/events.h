/*
 * events.h — Query.events (events.c): the tenant's event names with their counts and the
 * properties seen on a sample of their raw events. For the dashboard's list of what can be
 * charted and its Events page.
 */
#ifndef GQL_EVENTS_H
#define GQL_EVENTS_H

#include "ea_gql.h"

int gql_resolve_events(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err);

#endif
