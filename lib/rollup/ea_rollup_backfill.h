/*
 * ea_rollup_backfill.h — recomputing one metric's 15-minute, hourly and daily rollups from
 * raw_events, one UTC day at a time, with the aggregation the worker counts with
 * (ea_rollup_agg.h) and the REPLACE row writer (ea_rollup_write.h). Used by
 * `analytics-admin backfill` (and by anything that must make a metric include the past).
 *
 * Invariants:
 *  1. Exact. Each UTC day is one REPEATABLE READ transaction: its raw events and its rollup rows
 *     are read from one snapshot, so a worker batch that commits meanwhile and touches the same
 *     rows makes our writes fail with a serialization error (40001) and the day is redone; one
 *     that commits after us adds its events on top of totals that did not include them.
 *  2. Same locks as the worker. lib/catalog's metric-names lock (shared) and the (tenant,
 *     metric) advisory lock (exclusive; the worker's batches hold it shared for every row they
 *     write, exclusive while they merge HyperLogLog sketches or admit capped dimension values)
 *     are taken at session level BEFORE the day's snapshot, so the snapshot sees every batch,
 *     sketch, registry row and definition change committed before, and none of the metric's
 *     can commit until the day is written: batches that wait add on top of the recomputed
 *     totals. The definition is read again in that snapshot (a rename or delete since the
 *     caller loaded it is EA_ERR_CONFLICT). The cap registry (rollup_dim_values) is seeded from
 *     what is admitted already and only grows, as the worker's cache assumes.
 *  3. Idempotent. Events are aggregated in a fixed order (event time, partition, offset), rows
 *     equal to the stored ones are left untouched, stored rows the recomputation does not
 *     produce are deleted. A second run writes nothing.
 *  4. Revisions as the worker keeps them: a changed row of a closed bucket gets revision + 1, a
 *     new row behind the group watermark is created closed with revision 1.
 *  5. Refusal, not truncation: a day before raw-event retention is an error.
 *  6. Raw events complete: a day whose raw events are fewer than the worker's automatic count
 *     of the event (raw storage was off, or they are gone) is an error, not a smaller number.
 */
#ifndef EA_ROLLUP_BACKFILL_H
#define EA_ROLLUP_BACKFILL_H

#include "ea_err.h"
#include "ea_rollup_defs.h"
#include "ea_rollup_write.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* The metric to recompute: a definition, or without one the automatic count of the events
 * named like the metric ("x (event)": of the events named x, lib/catalog's rule). */
typedef struct ea_rollup_target {
    char *tenant, *metric, *event; /* owned */
    bool automatic;
    ea_rollup_defs *defs; /* every definition of the tenant (only the metric's rows are written) */
} ea_rollup_target;

/* Loads tenant's metric (its definition parsed exactly as the worker parses it). */
ea_rc ea_rollup_target_load(PGconn *c, const char *tenant, const char *metric,
                            ea_rollup_target *out, struct ea_err *err) EA_WUR;
void ea_rollup_target_free(ea_rollup_target *t);

/* Refuses [from_day, to_day) when it starts before raw-event retention (5; the message names
 * the oldest day that can be recomputed) and creates the rollup partitions it needs. */
ea_rc ea_rollup_backfill_check_range(PGconn *c, int64_t from_day, int64_t to_day,
                                     struct ea_err *err) EA_WUR;

typedef struct ea_rollup_backfill_stats {
    long long events;  /* raw events read */
    long long retries; /* attempts redone after a serialization failure */
    ea_rollup_replace_stats rows;
} ea_rollup_backfill_stats;

/* Recomputes the UTC day starting at day_ms (1-6), retrying serialization failures (40001,
 * 40P01) up to 50 times. On success the hour and day rows it changed are appended to out (for
 * the change feed, to publish after this returns) and *st holds the day's figures. The
 * connection must not be inside a transaction. */
ea_rc ea_rollup_backfill_day(PGconn *c, const ea_rollup_target *t, int64_t day_ms,
                             ea_rollup_backfill_stats *st, ea_rollup_changes *out,
                             struct ea_err *err) EA_WUR;

#endif
