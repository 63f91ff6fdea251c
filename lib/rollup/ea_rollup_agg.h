/*
 * ea_rollup_agg.h — in-memory aggregation: every counted event becomes contributions to rollup
 * rows (its automatic count metric + each matching definition) × granularities (15 minutes,
 * hour, UTC day). One ea_rollup_row per distinct (granularity, tenant, metric, bucket, dims), so
 * a writer sends one upsert per row, not per event. The worker aggregates a batch with it and
 * analytics-admin backfill a day of raw events: one definition of how an event counts.
 *
 * Two steps per event, so its dimension values are encoded once per attempt:
 *   ea_rollup_prepare  — which metrics the event feeds, its canonical dimension values, the
 *                        numeric value or unique hash (no cap decision yet);
 *   ea_rollup_agg_add  — applies the cardinality caps and adds the contributions to rows.
 * Between the two the worker takes the advisory locks the prepared events need
 * (ea_rollup_write.h, ea_rollup_locks_*), since a cap decision may need the registry.
 */
#ifndef EA_ROLLUP_AGG_H
#define EA_ROLLUP_AGG_H

#include "ea_arena.h"
#include "ea_err.h"
#include "ea_hll.h"
#include "ea_rollup.h"
#include "ea_rollup_dec.h"
#include "ea_rollup_defs.h"
#include "ea_rollup_dims.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ea_rollup_row {
    ea_rollup_gran gran;
    const char *tenant, *metric; /* arena */
    int64_t bucket_ms;
    const char *dims; /* canonical JSON object text, arena */
    size_t dims_len;
    int64_t cnt;
    ea_dec_sum sum;  /* exact (ea_rollup_dec.h) */
    ea_dec min, max; /* meaningful when has_value */
    bool has_value;
    /* values the 128-bit sum could not take (a span of more than 38 digits): added to the
     * stored numeric sum by PostgreSQL (ea_rollup_write.c), nothing is rounded. Arena list. */
    struct ea_rollup_spill {
        ea_dec v;
        struct ea_rollup_spill *next;
    } * spill;
    bool closed; /* the bucket was behind the group watermark when aggregated */
    ea_hll *hll; /* unique metrics only; malloc'd, freed by ea_rollup_agg_reset */
} ea_rollup_row;

/* What one event contributes to one metric, before caps (arena). */
typedef struct ea_rollup_contrib {
    const ea_rollup_def *def; /* NULL: the automatic count of the event (metric = event name) */
    const char *vals[EA_ROLLUP_MAX_DIMS]; /* canonical JSON of each dimension value; NULL:
                                             missing or null (never capped) */
    uint32_t lens[EA_ROLLUP_MAX_DIMS];
    bool has_value; /* sum/min/max/avg: the numeric property, exact */
    ea_dec value;
    bool has_hash; /* unique: hash of the canonical value */
    uint64_t hash;
} ea_rollup_contrib;

/* An event ready to be added (arena; valid until the arena is reset). */
typedef struct ea_rollup_prep {
    const char *tenant; /* borrowed from the event */
    const char *name;   /* the automatic count's metric name (lib/catalog's rule), NULL: none */
    int64_t ts_ms, day_ms;
    size_t n;
    ea_rollup_contrib *c;
} ea_rollup_prep;

/* Prepares ev against defs: NULL only on out of memory. An event that feeds no metric gets a
 * prep with n = 0 (cannot happen today: every event has its automatic count unless a
 * definition takes its name). Strings of ev must outlive the rows (the batch or the day). */
ea_rollup_prep *ea_rollup_prepare(const ea_rollup_defs *defs, const ea_rollup_event *ev,
                                  ea_arena *a);

typedef struct ea_rollup_agg ea_rollup_agg;

ea_rollup_agg *ea_rollup_agg_new(void);
void ea_rollup_agg_free(ea_rollup_agg *g);

/* Drops every row (and sketch); keys and rows lived in the arena given to ea_rollup_agg_add. */
void ea_rollup_agg_reset(ea_rollup_agg *g);

/* Adds a prepared event. closed_before_ms: buckets ending at or before it are closed (group
 * watermark; INT64_MIN for none). caps may be NULL (no caps). Sets *touched_closed when any
 * bucket the event touched was closed (a restatement). */
ea_rc ea_rollup_agg_add(ea_rollup_agg *g, ea_rollup_caps *caps, const ea_rollup_prep *p,
                        int64_t closed_before_ms, ea_arena *a, bool *touched_closed) EA_WUR;

/* ea_rollup_prepare + ea_rollup_agg_add, for callers that need no locks in between. */
ea_rc ea_rollup_agg_add_event(ea_rollup_agg *g, const ea_rollup_defs *defs, ea_rollup_caps *caps,
                              const ea_rollup_event *ev, int64_t closed_before_ms, ea_arena *a,
                              bool *touched_closed) EA_WUR;

/* The rows sorted by (granularity, tenant, metric, bucket, dims) — the lock order every writer
 * uses, so two workers upserting overlapping rows never deadlock. Valid until reset. */
ea_rollup_row **ea_rollup_agg_rows(ea_rollup_agg *g, size_t *n);

/* The numeric value of property `prop` of ev, exactly as sent: JSON integers; JSON reals from
 * their own text in ev->props_text (the parsed double only when that text cannot be located);
 * strings that are entirely a decimal number (ea_dec_parse). False for anything else. */
bool ea_rollup_property_number(const ea_rollup_event *ev, const char *prop, ea_dec *out);

#endif
