/*
 * recompute.h — the background recomputation of metrics (issue 13, migration 0013): defining or
 * changing a metric enqueues a job (lib/catalog calls ea_metric_recompute_enqueue in the same
 * transaction); this thread runs the jobs, one worker of the group at a time, one UTC day per
 * transaction with lib/rollup's backfill (ea_rollup_backfill_day), and records each day's
 * progress in the job row, which GraphQL reports. Not for: what a day's rows are (lib/rollup) or
 * the live counting (the consumer and the sink, which keep running).
 */
#ifndef WK_RECOMPUTE_H
#define WK_RECOMPUTE_H

#include "ea_err.h"
#include "stats.h"
#include "worker_config.h"

typedef struct wk_recompute wk_recompute;

/* Starts the job thread (main.c does not when WORKER_RECOMPUTE_POLL_MS is 0) (its own PostgreSQL
 * connection and change-feed connection). NULL with err set when the thread cannot start. cfg and
 * stats must outlive it. */
wk_recompute *wk_recompute_start(const wk_config *cfg, wk_stats *stats, struct ea_err *err);

/* Stops the thread (a day in progress commits or rolls back first) and frees it. NULL is a
 * no-op. */
void wk_recompute_stop(wk_recompute *r);

#endif
