/*
 * ea_rollup_write.h — writing aggregated rows to the rollup tables, the one way both the worker
 * and backfill do it:
 *   - the advisory locks (ea_rollup_lock_key(tenant, metric), migration 0002): every writer of
 *     a metric's rows holds its lock — shared for adding, exclusive for HLL read-merge-write,
 *     the admission of new dimension values under a cardinality cap, and recomputing the metric
 *     (backfill: so live batches of the metric wait for a recomputed day and add on top of it)
 *     — taken in one statement in key order before any rollup row is locked (no deadlocks);
 *   - merging the stored HLL sketches into the batch's (ea_rollup_hll_load);
 *   - the row writer: ADD (the worker: upsert, values added, revision + 1 on a closed row) or
 *     REPLACE (backfill: rows set to recomputed values, stale rows deleted, unchanged untouched);
 *     both keep the hourly and daily bucket totals (migration 0016) in the same statements and
 *     transaction: ADD adds the same values to them, REPLACE recounts its range's from the rows;
 *   - the cap registry (rollup_dim_values);
 *   - the changed hour/day rows, for the change feed (ea_rollup_feed.h).
 * Every statement is one round trip per granularity, parameters built with lib/pg's builder.
 * Not for: transactions (the caller's), dedup, offsets, dead letters (the worker's).
 */
#ifndef EA_ROLLUP_WRITE_H
#define EA_ROLLUP_WRITE_H

#include "ea_arena.h"
#include "ea_err.h"
#include "ea_pg_params.h"
#include "ea_rollup.h"
#include "ea_rollup_agg.h"
#include "ea_rollup_dims.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* One changed rollup row (or a close notice), for the change feed. */
typedef struct ea_rollup_change {
    const char *tenant, *metric;
    ea_rollup_gran gran;
    int64_t bucket_ms;
    const char *dims_json; /* jsonb text as PostgreSQL prints it; NULL for a close notice */
    int revision;
    bool closed;   /* a close notice: the bucket (all its dims) went behind the group watermark */
    bool restated; /* a change to a row of a closed bucket (late event): alerts re-evaluate it */
} ea_rollup_change;

/* A growing list of changes; strings are copied into `a` (the caller's arena, which must
 * outlive the list's use). */
typedef struct ea_rollup_changes {
    ea_rollup_change *v;
    size_t n, cap;
    ea_arena *a;
} ea_rollup_changes;

/* Appends a copy of c (strings into l->a). EA_ERR_NOMEM on failure. */
ea_rc ea_rollup_changes_add(ea_rollup_changes *l, const ea_rollup_change *c) EA_WUR;
/* Forgets the changes (keeps the vector); the arena is the caller's to reset. */
void ea_rollup_changes_clear(ea_rollup_changes *l);
void ea_rollup_changes_free(ea_rollup_changes *l);

/* ---- advisory locks (7 in the worker's sink.c) ---- */

typedef struct ea_rollup_locks ea_rollup_locks;

ea_rollup_locks *ea_rollup_locks_new(void);
void ea_rollup_locks_free(ea_rollup_locks *l);
/* Forgets what was noted (call per attempt). */
void ea_rollup_locks_reset(ea_rollup_locks *l);

/* Notes what adding p needs: the (tenant, metric) lock of every metric it feeds, shared, and
 * exclusive for a unique metric and for a capped metric for which it brings a dimension value
 * caps does not know while the cap is not reached (then also the registry of that UTC day).
 * Values already admitted, or a cap already full, need nothing more (both only ever grow). */
ea_rc ea_rollup_locks_note(ea_rollup_locks *l, ea_rollup_caps *caps,
                           const ea_rollup_prep *p) EA_WUR;

/* What is noted: locks taken shared, locks taken exclusively, registry days to re-read. */
void ea_rollup_locks_counts(const ea_rollup_locks *l, size_t *shared, size_t *exclusive,
                            size_t *days);

/* Takes the noted locks (pg_advisory_xact_lock[_shared], in key order, one statement) and
 * re-reads the cap registry of the noted days into caps (ea_rollup_caps_seed), so a cap is exact
 * across writers. Inside the caller's transaction. */
ea_rc ea_rollup_locks_take(ea_rollup_locks *l, PGconn *c, ea_pg_params *pp, ea_rollup_caps *caps,
                           struct ea_err *err) EA_WUR;

/* Takes (lock) or releases, at session level, lib/catalog's metric-names lock shared and the
 * (tenant, metric) lock exclusively: backfill holds them around a day's transaction, so its
 * snapshot (taken after both are granted) sees every definition change, sketch and registry row
 * committed before, and none can commit until the day is written. */
ea_rc ea_rollup_lock_session(PGconn *c, const char *tenant, const char *metric, bool lock,
                             struct ea_err *err) EA_WUR;

/* ---- writing ---- */

/* Merges the stored sketches of the rows that have one (unique metrics) into rows[i]->hll.
 * Call holding the rows' (tenant, metric) locks. An invalid stored sketch is replaced (logged). */
ea_rc ea_rollup_hll_load(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                         struct ea_err *err) EA_WUR;

/* ADD: upserts rows (sorted, ea_rollup_agg_rows), adding cnt/sum, min/max, replacing hll (merged
 * by ea_rollup_hll_load), revision + 1 on a closed row (a new row created closed starts at 1).
 * Appends the hour and day rows it wrote to out (revision, restated = the row is closed). */
ea_rc ea_rollup_write_add(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                          ea_rollup_changes *out, struct ea_err *err) EA_WUR;

typedef struct ea_rollup_replace_stats {
    long long rows, inserted, updated, deleted; /* unchanged = rows - inserted - updated */
} ea_rollup_replace_stats;

/* REPLACE: makes tenant/metric's rows with buckets in [from_ms, to_ms) exactly rows (those of
 * that metric): rows not produced are deleted, differing rows updated (revision + 1 when
 * closed, closed kept), new rows inserted (closed with revision 1 when they are closed), equal
 * rows left untouched. Appends the hour and day rows it inserted, updated or deleted to out. */
ea_rc ea_rollup_write_replace(PGconn *c, ea_pg_params *pp, ea_rollup_row **rows, size_t n,
                              const char *tenant, const char *metric, int64_t from_ms,
                              int64_t to_ms, ea_rollup_changes *out, ea_rollup_replace_stats *st,
                              struct ea_err *err) EA_WUR;

/* Writes the values caps staged (admitted by this transaction) into rollup_dim_values; only
 * those of `metric` unless it is NULL. */
ea_rc ea_rollup_caps_store(PGconn *c, ea_pg_params *pp, const ea_rollup_caps *caps,
                           const char *metric, struct ea_err *err) EA_WUR;

/* Re-reads the registry of (tenant, metric, UTC day of day_ms) into caps. */
ea_rc ea_rollup_caps_load_day(PGconn *c, ea_rollup_caps *caps, const char *tenant,
                              const char *metric, int64_t day_ms, struct ea_err *err) EA_WUR;

#endif
