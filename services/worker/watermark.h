/*
 * watermark.h — lateness rules, pure functions so they are unit-tested apart from the sink.
 *
 *   high       highest event time a partition has committed (INT64_MIN: none yet)
 *   watermark  high - allowed lateness (WORKER_ALLOWED_LATENESS_S, default 10 min)
 *   late       ts < watermark: counted, its bucket may already be closed (restatement)
 *   too late   ts < high - max lateness (WORKER_MAX_LATENESS_S, default 7 days): dead letter
 *   closed     a bucket [start, start+len) with start+len <= group watermark (the minimum of
 *              every partition's watermark, so no partition can still be on time for it)
 */
#ifndef WK_WATERMARK_H
#define WK_WATERMARK_H

#include <stdbool.h>
#include <stdint.h>

/* True when an event at ts is older than the partition's max lateness allows. */
bool wk_watermark_too_late(int64_t high, int64_t ts, int64_t max_lateness_ms);

/* Records an accepted event: returns whether it was late, and raises *high to ts if newer. */
bool wk_watermark_advance(int64_t *high, int64_t ts, int64_t allowed_lateness_ms);

/* The watermark for high (INT64_MIN stays INT64_MIN). */
int64_t wk_watermark_of(int64_t high, int64_t allowed_lateness_ms);

/* True when the bucket starting at start (length len) is closed under group watermark gwm. */
bool wk_bucket_closed(int64_t start, int64_t len, int64_t gwm);

#endif
