/*
 * series.h — one metric's time series from the rollup tables: the query behind
 * Query.metrics and behind every Subscription.metricUpdated push. Validates the request
 * against the metric's definition (groupBy and filter keys must be its dimensions, the time
 * zone must be known) and returns MetricPoint objects. Not for: tenant access (callers check
 * gql_principal_can first) or caching (cache.c).
 */
#ifndef GQL_SERIES_H
#define GQL_SERIES_H

#include "ea_gql.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct gql_series_req {
    const char *tenant, *name;
    int64_t from, to;       /* epoch ms, both inclusive */
    bool day;               /* DAY buckets, else HOUR */
    const char *tz;         /* IANA zone of the buckets */
    const json_t *group_by; /* array of dimension names, or NULL */
    const json_t *filter;   /* object {dimension: scalar}, or NULL */
} gql_series_req;

/* Parses and checks Query.metrics-shaped arguments (startTime, endTime, granularity, timezone,
 * groupBy, filter) into q (pointers borrow from args). -1 with a BAD_USER_INPUT err. */
int gql_series_req_from_args(const json_t *args, gql_series_req *q, ea_gql_error *err);

/* Runs the query on c. 0 with *out = a new JSON array of {timestamp, value, dimensions,
 * revision, final} ordered by time then dimensions; -1 with err (BAD_USER_INPUT for groupBy or
 * filter keys that are not dimensions of the metric and for unknown time zones). */
int gql_series_fetch(PGconn *c, const gql_series_req *q, json_t **out, ea_gql_error *err);

/* True when the value of a changed row's dims (jsonb text from the change feed, parsed) falls
 * into point dimensions `group` for group_by: every groupBy key has the same value in both. */
bool gql_series_dims_match(const json_t *row_dims, const json_t *group, const json_t *group_by);

/* A JSON list of strings (NULL or not a list: empty) as a PostgreSQL text[] literal, and the
 * text[] output back as a new JSON list — lib/pg's array codec. gql_text_array's result is
 * malloc'd (NULL on out of memory). */
char *gql_text_array(const json_t *list);
json_t *gql_text_array_json(const char *pg);

/* Sets err's code and message (fmt has one %s for arg); returns -1 for `return` chaining. */
int gql_fail(ea_gql_error *err, const char *code, const char *fmt, const char *arg);

#endif
