/*
 * processor.h — in-memory aggregation of one batch: every counted event becomes contributions to
 * rollup rows (automatic count metric + each matching definition) × granularities (15 minutes,
 * hour, UTC day). One wk_row per distinct (granularity, tenant, metric, bucket, dims), so the sink
 * sends one upsert per row, not per event. Reset between batches (and between retries).
 */
#ifndef WK_PROCESSOR_H
#define WK_PROCESSOR_H

#include "dims.h"
#include "ea_arena.h"
#include "ea_err.h"
#include "ea_hll.h"
#include "message.h"
#include "metricdefs.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum wk_gran {
    WK_GRAN_15M = 0, /* UTC quarter hours: local days in any IANA zone are unions of these */
    WK_GRAN_HOUR,
    WK_GRAN_DAY, /* UTC days */
    WK_GRAN_N
} wk_gran;

/* Table name and bucket length of a granularity. */
const char *wk_gran_table(wk_gran g);
const char *wk_gran_name(wk_gran g); /* "MINUTE15", "HOUR", "DAY" (change feed) */
int64_t wk_gran_ms(wk_gran g);
int64_t wk_gran_floor(wk_gran g, int64_t ms);

typedef struct wk_row {
    wk_gran gran;
    const char *tenant, *metric; /* arena */
    int64_t bucket_ms;
    const char *dims; /* canonical JSON object text, arena */
    size_t dims_len;
    int64_t cnt;
    double sum, min, max;
    bool has_value; /* min/max are meaningful */
    bool closed;    /* the bucket was behind the group watermark when the batch ran */
    ea_hll *hll;    /* unique metrics only; malloc'd, freed by wk_agg_reset */
    int revision;   /* filled from RETURNING after the upsert */
} wk_row;

typedef struct wk_agg wk_agg;

wk_agg *wk_agg_new(void);
void wk_agg_free(wk_agg *g);

/* Drops every row (and sketch); keys and rows lived in the arena given to wk_agg_add. */
void wk_agg_reset(wk_agg *g);

/* Adds one event. closed_before_ms: buckets ending at or before it are closed (group
 * watermark; INT64_MIN for none). caps may be NULL. Sets *touched_closed when any bucket the
 * event touched was closed (a restatement). */
ea_rc wk_agg_add(wk_agg *g, const wk_defs *defs, wk_capset *caps, const wk_event *ev,
                 int64_t closed_before_ms, ea_arena *a, bool *touched_closed) EA_WUR;

/* The rows sorted by (granularity, tenant, metric, bucket, dims) — the lock order every worker
 * uses, so two workers upserting overlapping rows never deadlock. Valid until reset. */
wk_row **wk_agg_rows(wk_agg *g, size_t *n);

/* Extracts a numeric property: JSON numbers, and strings that are entirely a finite number. */
bool wk_property_number(const json_t *v, double *out);

#endif
