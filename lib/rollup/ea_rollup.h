/*
 * ea_rollup.h — the vocabulary of rollups shared by every module that counts or reads them
 * (worker, analytics-admin backfill, graphql-api): the three granularities and their tables,
 * one counted event, and THE value of a bucket for each aggregation (lib/catalog keeps the list
 * of aggregations, which definitions are validated against).
 * Not for: how events are aggregated (ea_rollup_agg.h), written (ea_rollup_write.h) or read as
 * series (migration 0006, ea_metric_series).
 */
#ifndef EA_ROLLUP_H
#define EA_ROLLUP_H

#include "ea_catalog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EA_ROLLUP_MAX_DIMS 8

typedef enum ea_rollup_gran {
    EA_ROLLUP_15M = 0, /* UTC quarter hours: local days in any IANA zone are unions of these */
    EA_ROLLUP_HOUR,
    EA_ROLLUP_DAY, /* UTC days */
    EA_ROLLUP_GRAN_N
} ea_rollup_gran;

/* Table name ("rollups_15m", "rollups_hourly", "rollups_daily"), change-feed name ("MINUTE15",
 * "HOUR", "DAY"), bucket length and bucket start of a granularity. */
const char *ea_rollup_gran_table(ea_rollup_gran g);
/* The table of the per-bucket totals of a granularity ("rollup_totals_hourly",
 * "rollup_totals_daily"; migration 0016), NULL for 15 minutes (no totals). */
const char *ea_rollup_gran_totals(ea_rollup_gran g);
const char *ea_rollup_gran_name(ea_rollup_gran g);
int64_t ea_rollup_gran_ms(ea_rollup_gran g);
int64_t ea_rollup_gran_floor(ea_rollup_gran g, int64_t ms);

/* The aggregations are lib/catalog's one list (ea_catalog_agg, ea_catalog_agg_parse/name). */

/* One counted event as the aggregation sees it (the worker's decoded message, or a raw_events
 * row for backfill). Strings and properties are borrowed. */
typedef struct ea_rollup_event {
    const char *tenant, *name;
    int64_t ts_ms;
    const json_t *properties; /* an object */
    /* the properties' JSON text as received (numbers keep their digits); NULL when unknown */
    const char *props_text;
    size_t props_len;
} ea_rollup_event;

/* The rollup rows of one bucket (and filter) summed: what every reader computes a value from.
 * Σcnt counts the events that carried the property (every event for count). Σsum, min and max
 * are PostgreSQL numeric text, exact. */
typedef struct ea_rollup_sums {
    long long rows;      /* rows summed; 0: the bucket has no value */
    long long cnt;       /* Σcnt */
    const char *sum;     /* Σsum (NULL: 0) */
    const char *min;     /* min(min), NULL when no event carried the property */
    const char *max;     /* max(max), likewise */
    const char *hll_hex; /* unique: the sketches as comma-separated hex (NULL: none) */
} ea_rollup_sums;

/* Significant digits of a value handed out as a double (GraphQL Float, alert comparisons): a
 * decimal of at most 15 digits reads back as the double it becomes, so 9.99 stays 9.99. */
#define EA_ROLLUP_VALUE_DIGITS 15

/* THE value of a bucket for aggregation a: count Σcnt, sum Σsum, min/max, avg Σsum/Σcnt (exact
 * division, rounded once to EA_ROLLUP_VALUE_DIGITS), unique the estimate of the merged
 * sketches. False when the bucket has no value: no row, avg with Σcnt = 0, min/max without any
 * value, unique without (or with an invalid) sketch. Used by the worker's alerts and
 * graphql-api's series, so a threshold compares what a chart shows. */
bool ea_rollup_value(ea_catalog_agg a, const ea_rollup_sums *s, double *value);

#endif
