/*
 * series.h — one metric's time series, read by bucket range: the database side of Query.metrics
 * and of every Subscription.metricUpdated push. A metric is read from its rollups when every
 * groupBy and filter key is one of its declared dimensions (the fast path), otherwise from raw
 * events within the raw retention (any property: exact, tenant-filtered, parameterized, at most
 * GRAPHQL_RAW_GROUP_CAP groups per bucket with the rest folded into "__other__"). Either way a
 * point's value is lib/rollup's ea_rollup_value of the bucket's sums — the one definition per
 * aggregation. Results come back per bucket (bcache.h's gql_bc_fill) so the cache can keep
 * closed buckets and fetch only what it lacks.
 * Not for: tenant access (callers check first) or caching (bcache.c, resolvers.c).
 */
#ifndef GQL_SERIES_H
#define GQL_SERIES_H

#include "bcache.h"
#include "ea_catalog.h"
#include "ea_gql.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct gql_series_req {
    const char *tenant, *name;
    int64_t from, to;       /* epoch ms, both inclusive */
    bool day;               /* DAY buckets, else HOUR */
    const char *tz;         /* IANA zone of the buckets */
    const json_t *group_by; /* array of property names, or NULL */
    const json_t *filter;   /* object {property: scalar | [scalars]}, or NULL */
} gql_series_req;

/* How far ahead of now a bucket can hold events: ingest refuses timestamps more than an hour in
 * the future, so a bucket starting later than now + this is empty (and is neither read nor
 * cached: a series to 2030 costs what its past costs). */
#define GQL_SERIES_FUTURE_MS (2 * 3600 * 1000LL)

/* Parses and checks Query.metrics-shaped arguments (startTime, endTime, granularity, timezone,
 * groupBy, filter) into q (pointers borrow from args). -1 with a BAD_USER_INPUT err. */
int gql_series_req_from_args(const json_t *args, gql_series_req *q, ea_gql_error *err);

/* True for the zones whose buckets are computed in C (UTC, Etc/UTC): others go through SQL. */
bool gql_series_is_utc(const char *tz);

/* What the series reads: the metric (lib/catalog's source), the path, and the state of the
 * pipeline at the time of reading. */
typedef struct gql_series_def {
    ea_catalog_metric_src src;
    bool raw;          /* a groupBy/filter key is not a declared dimension: raw events */
    char raw_key[129]; /* that key (for messages) */
    int64_t watermark; /* the group watermark (ms), INT64_MIN when there is none yet */
    long raw_retention_days;
    long raw_group_cap; /* GRAPHQL_RAW_GROUP_CAP */
} gql_series_def;

/* Reads the metric and the pipeline state (one round trip for the zone and the watermark, one
 * for the metric). -1 with err: NOT_FOUND (unknown metric, with suggestions), BAD_USER_INPUT
 * (unknown or POSIX-style zone; a raw-event range older than the raw retention), else
 * INTERNAL_SERVER_ERROR / SERVICE_UNAVAILABLE. */
int gql_series_def_load(PGconn *c, const gql_series_req *q, long raw_group_cap, gql_series_def *d,
                        ea_gql_error *err);
void gql_series_def_free(gql_series_def *d);

/* Reads the buckets overlapping [from, to] (inclusive) into *out: their UTC bounds [lo, hi),
 * every non-empty bucket with its points ({timestamp, value, dimensions, revision, final},
 * ordered by dimensions' text) and the time before which every bucket is closed. -1 with err
 * (BAD_USER_INPUT with PostgreSQL's message for a series it refuses; a raw-event range past the
 * retention also sets err->extensions — suggestion, retryWith — which the caller owns: err must
 * come zeroed). */
int gql_series_fetch_range(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                           int64_t from, int64_t to, gql_bc_fill *out, ea_gql_error *err);

/* PostgreSQL's planner estimate (EXPLAIN, nothing is read) of the rows a read of [from, to] scans:
 * rollup rows of the metric, or raw events of its event. -1 when it cannot say. */
double gql_series_estimate(PGconn *c, const gql_series_req *q, const gql_series_def *d,
                           int64_t from, int64_t to);

/* The whole series [q->from, q->to] as one JSON array, without any cache (subscriptions' checks
 * and re-reads); a name that is no metric (yet) is an empty series. */
int gql_series_fetch(PGconn *c, const gql_series_req *q, json_t **out, ea_gql_error *err);

/* True when the value of a changed row's dims (jsonb text from the change feed, parsed) falls
 * into point dimensions `group` for group_by: every groupBy key has the same value in both. */
bool gql_series_dims_match(const json_t *row_dims, const json_t *group, const json_t *group_by);

/* A JSON list of strings (NULL or not a list: empty) as a PostgreSQL text[] literal (lib/pg's
 * array codec), malloc'd (NULL on out of memory). */
char *gql_text_array(const json_t *list);

/* Sets err's code and message (fmt has one %s for arg); returns -1 for `return` chaining. */
int gql_fail(ea_gql_error *err, const char *code, const char *fmt, const char *arg);

#endif
