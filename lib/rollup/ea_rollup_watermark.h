/*
 * ea_rollup_watermark.h — lateness and closing rules (pure functions, unit-tested apart from
 * any database) and the one reader of the group watermark (SQL function ea_group_watermark,
 * migration 0009, which ea_metric_series calls too).
 *
 *   high       highest event time a partition has committed (INT64_MIN: none yet)
 *   watermark  high - allowed lateness (WORKER_ALLOWED_LATENESS_S, default 10 min)
 *   late       ts < watermark: counted, its bucket may already be closed (restatement)
 *   too late   ts < high - max lateness (WORKER_MAX_LATENESS_S, default 7 days): dead letter
 *   closed     a bucket [start, start+len) with start+len <= group watermark (the minimum of
 *              every partition's watermark, so no partition can still be on time for it)
 */
#ifndef EA_ROLLUP_WATERMARK_H
#define EA_ROLLUP_WATERMARK_H

#include "ea_err.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* True when an event at ts is older than the partition's max lateness allows. */
bool ea_rollup_watermark_too_late(int64_t high, int64_t ts, int64_t max_lateness_ms);

/* Records an accepted event: returns whether it was late, and raises *high to ts if newer. */
bool ea_rollup_watermark_advance(int64_t *high, int64_t ts, int64_t allowed_lateness_ms);

/* The watermark for high (INT64_MIN stays INT64_MIN). */
int64_t ea_rollup_watermark_of(int64_t high, int64_t allowed_lateness_ms);

/* True when the bucket starting at start (length len) is closed under group watermark gwm. */
bool ea_rollup_bucket_closed(int64_t start, int64_t len, int64_t gwm);

/* The group watermark in ms (INT64_MIN: none — some partition has no watermark yet) of consumer
 * group `group` on `topic`, or with both NULL of the group furthest along (backfill, which does
 * not know the worker's group). One SQL function, ea_group_watermark, defines it. */
ea_rc ea_rollup_group_watermark(PGconn *c, const char *group, const char *topic, int64_t *out_ms,
                                struct ea_err *err) EA_WUR;

#endif
