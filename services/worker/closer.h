/*
 * closer.h — the worker's periodic PostgreSQL work between batches (consumer thread, after the
 * batch in flight settled): advancing the watermark of idle partitions, closing buckets behind
 * the group watermark together with the alerts they fire (sink.c invariant 10), and the
 * maintenance pass (partitions, dedup expiry, cap registry). Not for: the batch transaction.
 */
#ifndef WK_CLOSER_H
#define WK_CLOSER_H

#include "alerts.h"
#include "ea_err.h"
#include "ea_pg_params.h"
#include "ea_rollup_dims.h"
#include "ea_rollup_write.h"
#include "partitions.h"
#include "pstate.h"
#include "stats.h"
#include "worker_config.h"

#include <libpq-fe.h>

/* Called after a COMMIT with the rollup rows it changed (hour and day granularity), and after
 * the closer with the (tenant, metric, granularity, bucket) it closed (closed = true). */
typedef void (*wk_publish_fn)(void *ctx, const ea_rollup_change *changes, size_t n);
/* Called after a COMMIT with the alert_events rows it inserted (invariant 10). */
typedef void (*wk_alert_fn)(void *ctx, const wk_alert_fired *fired, size_t n);

typedef struct wk_closer {
    const wk_config *cfg;
    wk_stats *stats;
    wk_publish_fn publish;
    void *publish_ctx;
    wk_alert_fn alert_publish;
    void *alert_ctx;
    int64_t closed_through_ms; /* group watermark at the last close, INT64_MIN: never */
} wk_closer;

void wk_closer_init(wk_closer *cl, const wk_config *cfg, wk_stats *stats);

/* Advances the watermark of partitions at end-of-partition to now - allowed lateness (an idle
 * partition must not hold back the group watermark forever). A partition claimed by someone
 * else meanwhile is marked fenced. */
ea_rc wk_closer_idle_watermarks(wk_closer *cl, PGconn *c, ea_pg_params *pp, wk_pstate *st,
                                size_t nst, int64_t now_ms, struct ea_err *err) EA_WUR;

/* Marks rows closed whose bucket ends at or before the group watermark and, in the same
 * transaction, records the threshold alerts the closed HOUR/DAY buckets fire; publishes both
 * after COMMIT. One worker at a time (session advisory lock). On failure nothing is closed or
 * recorded and the next call retries. */
ea_rc wk_closer_close_buckets(wk_closer *cl, PGconn *c, ea_pg_params *pp,
                              struct ea_err *err) EA_WUR;

/* Partition maintenance and dedup expiry under the advisory lock, the cap registry and the
 * in-memory cap state trimmed to the lateness horizon. */
ea_rc wk_closer_maintain(wk_closer *cl, PGconn *c, wk_parts *parts, ea_rollup_caps *caps,
                         struct ea_err *err) EA_WUR;

#endif
