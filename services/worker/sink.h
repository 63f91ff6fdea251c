/*
 * sink.h — the worker's PostgreSQL side: claiming partitions, committing a batch (rows, dedup
 * keys, dead letters and Kafka offsets in one transaction), advancing idle watermarks, closing
 * buckets behind the group watermark, and partition maintenance. The exactly-once protocol is
 * written as numbered invariants at the top of sink.c; the closer's and dedup's parts live in
 * closer.c and dedup.c.
 */
#ifndef WK_SINK_H
#define WK_SINK_H

#include "batch.h"
#include "closer.h"
#include "ea_err.h"
#include "pstate.h"
#include "stats.h"
#include "worker_config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct wk_sink wk_sink;

wk_sink *wk_sink_new(const wk_config *cfg, wk_stats *stats);
void wk_sink_free(wk_sink *s);

void wk_sink_set_publisher(wk_sink *s, wk_publish_fn fn, void *ctx);
void wk_sink_set_alert_publisher(wk_sink *s, wk_alert_fn fn, void *ctx);

/* Connects when not connected (or broken). EA_ERR_UNAVAILABLE when PostgreSQL is down. */
ea_rc wk_sink_connect(wk_sink *s, struct ea_err *err) EA_WUR;

/* Reloads metric definitions when metric_definitions_version changed since the last load (or
 * force). Called inside every batch transaction, so a committed definition counts every event
 * produced after it. */
ea_rc wk_sink_refresh_defs(wk_sink *s, bool force, struct ea_err *err) EA_WUR;

/* Claims a partition (invariant 1): bumps its generation and returns the stored position. */
ea_rc wk_sink_claim(wk_sink *s, int32_t partition, wk_pstate *st, struct ea_err *err) EA_WUR;

/* Moves our stored position of st's partition to offset (fenced on st->generation; EA_ERR_CONFLICT
 * when another consumer claimed it since). Used when the stored position lies past the end of
 * the partition's log: the topic was recreated or the in-memory dev broker restarted, and the
 * new log holds only events never counted (replays are harmless: dedup by event_id). */
ea_rc wk_sink_rewind(wk_sink *s, wk_pstate *st, int64_t offset, struct ea_err *err) EA_WUR;

/* Commits the batch: retries transient failures (reconnecting) until *stop, splits the batch to
 * isolate an event PostgreSQL rejects, drops the events of fenced partitions (st[i].fenced).
 * EA_OK when every event not dropped is committed; EA_ERR_UNAVAILABLE when it gave up (stop). */
ea_rc wk_sink_commit_batch(wk_sink *s, wk_batch *b, wk_pstate *st, size_t nst,
                           volatile sig_atomic_t *stop) EA_WUR;

/* Advances the watermark of partitions at end-of-partition to now - allowed lateness (an idle
 * partition must not hold back the group watermark forever). */
ea_rc wk_sink_idle_watermarks(wk_sink *s, wk_pstate *st, size_t nst, int64_t now_ms,
                              struct ea_err *err) EA_WUR;

/* Marks rows closed whose bucket ends at or before the group watermark (min over partitions)
 * and, in the same transaction, records the threshold alerts the closed HOUR/DAY buckets fire
 * (alert_events); publishes both after COMMIT. On failure nothing is closed or recorded and the
 * next call retries. */
ea_rc wk_sink_close_buckets(wk_sink *s, struct ea_err *err) EA_WUR;

/* Partition maintenance + dedup expiry under the advisory lock (closer.c). */
ea_rc wk_sink_maintain(wk_sink *s, struct ea_err *err) EA_WUR;

#endif
