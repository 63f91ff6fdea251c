/*
 * dedup.h — invariant 4 of sink.c: an event counts only if its (tenant, event_id) key was
 * inserted into event_dedup by the batch's transaction; the table's primary key decides. Runs
 * inside the batch transaction, on the committer thread. Not for: expiring old keys
 * (partitions.c, maintenance).
 */
#ifndef WK_DEDUP_H
#define WK_DEDUP_H

#include "batch.h"
#include "ea_err.h"
#include "ea_pg_params.h"
#include "stats.h"

#include <libpq-fe.h>

typedef struct wk_dedup wk_dedup;

wk_dedup *wk_dedup_new(wk_stats *stats);
void wk_dedup_free(wk_dedup *d);

/* Marks the PARSED events of b[lo, hi) that repeat a key — stored already, or earlier in the
 * range — as WK_EV_DUPLICATE and stores the keys of the others; *duplicates counts them. A key
 * another transaction stores meanwhile fails with EA_ERR_UNAVAILABLE (retry the batch: its
 * lookup then sees the key). `attempt` holds per-attempt memory (reset by the caller). */
ea_rc wk_dedup_run(wk_dedup *d, PGconn *c, ea_pg_params *pp, wk_batch *b, size_t lo, size_t hi,
                   ea_arena *attempt, size_t *duplicates, struct ea_err *err) EA_WUR;

#endif
