/*
 * ea_rollup_watermark.h — how old an event may be, lateness and closing rules (pure functions,
 * unit-tested apart from any database) and the one reader of the group watermark (SQL function
 * ea_group_watermark, migration 0009, which ea_metric_series calls too).
 *
 *   too old    ts < received_at - raw retention (RAW_RETENTION_DAYS, default 30 days): refused
 *              by ingest with the per-event error too_old; everything younger that ingest
 *              acknowledges is counted, exactly once (dedup covers the same window)
 *   high       highest event time a partition has committed (INT64_MIN: none yet)
 *   watermark  high - allowed lateness (WORKER_ALLOWED_LATENESS_S, default 10 min)
 *   late       ts < watermark: counted, its bucket may already be closed (restatement:
 *              revision + 1, alerts evaluated again)
 *   closed     a bucket [start, start+len) with start+len <= group watermark (the minimum of
 *              every partition's watermark, so no partition can still be on time for it)
 */
#ifndef EA_ROLLUP_WATERMARK_H
#define EA_ROLLUP_WATERMARK_H

#include "ea_err.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The RAW_RETENTION_DAYS entry of a config table (lib/config) for a struct `type` whose member
 * `field` is a long: one home for the name, default (30 days), bounds and help that ingest-api
 * and the worker must share, since the worker counts exactly what ingest accepted. */
/* clang-format off */
#define EA_ROLLUP_RETENTION_CONFIG_ENTRY(type, field)                                              \
    {"RAW_RETENTION_DAYS", EA_CFG_INT, "30", 1, 3650, offsetof(type, field),                       \
     "raw-event retention (ingest-api and worker alike): events older than this when received "    \
     "are refused (too_old), every younger one is counted, and event_ids repeated within it "      \
     "(+ 1 day) count once"}
/* clang-format on */

/* THE rule for how old an event may be: true when ts is older than received_ms minus the raw
 * retention. Ingest applies it as it receives the event (received = now) and refuses such an
 * event (too_old); the worker applies it to the message's received_at, so it decides exactly as
 * ingest did, and as any replay of the message will. */
bool ea_rollup_too_old(int64_t ts_ms, int64_t received_ms, long retention_days);

/* The per-event error text of a too_old event, naming the limit. */
void ea_rollup_too_old_message(char *buf, size_t cap, long retention_days);

/* How long a dedup key is kept (from when its event was counted): the raw retention plus a day,
 * so an event re-sent as long as ingest may accept it still counts once. */
int64_t ea_rollup_dedup_window_ms(long retention_days);

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
