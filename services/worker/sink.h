/*
 * sink.h — the worker's PostgreSQL side: claiming partitions, committing a batch (rows, dedup
 * keys, dead letters and Kafka offsets in one transaction), advancing idle watermarks, closing
 * buckets behind the group watermark, and partition maintenance. The exactly-once protocol is
 * written as numbered invariants at the top of sink.c.
 */
#ifndef WK_SINK_H
#define WK_SINK_H

#include "ea_arena.h"
#include "ea_err.h"
#include "message.h"
#include "metricdefs.h"
#include "processor.h"
#include "ea_pg_buf.h"
#include "stats.h"
#include "worker_config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* What the worker knows about one assigned partition. */
/* Most partitions of the topic one worker tracks (consumer and committer state arrays). */
#define WK_MAX_PARTITIONS 1024

typedef struct wk_pstate {
    int32_t partition;
    int64_t generation;  /* ours, from the claim; the fence of every commit */
    int64_t next_offset; /* committed: first offset not yet in PostgreSQL */
    int64_t high_ms;     /* highest event time committed (watermark + allowed lateness);
                            INT64_MIN when none */
    bool fenced;         /* another consumer claimed it after us */
    int64_t reclaim_at_ms;
    bool eof;            /* consumer reached the end of the partition */
    int64_t broker_high; /* broker high watermark (lag), -1 unknown */
} wk_pstate;

/* The messages of one batch, in the order they were polled (per partition: offset order). */
typedef struct wk_batch {
    ea_arena *arena; /* events and their strings; reset after the batch */
    wk_event *ev;
    size_t n, cap;
    int64_t started_ns; /* monotonic time the first message was polled */
    /* COPY text of the events' raw_events and event_dedup rows, built as they are decoded on
     * the consumer thread (wk_batch_prepare), so the committer only sends them */
    ea_pg_buf raw_rows, key_rows;
    uint32_t *key_order; /* event indices by dedup key (wk_batch_seal; arena), NULL: not sealed */
    size_t nkey_order;
} wk_batch;

/* One changed rollup row, for the change feed (strings valid during the publish callback). */
typedef struct wk_change {
    const char *tenant, *metric;
    wk_gran gran;
    int64_t bucket_ms;
    const char *dims_json; /* NULL for a close notice */
    int revision;
    bool closed;   /* a close notice: the bucket (all its dims) went behind the group watermark */
    bool restated; /* a change to a row of a closed bucket (late event): alerts re-evaluate it */
} wk_change;

/* Called after each successful COMMIT with the rows it changed (hour and day granularity), and
 * after the closer with the (tenant, metric, granularity, bucket) it closed (closed = true). */
typedef void (*wk_publish_fn)(void *ctx, const wk_change *changes, size_t n);

typedef struct wk_sink wk_sink;

struct wk_alert_fired;
/* Called after the closer's COMMIT with the alert_events rows it inserted (invariant 10). */
typedef void (*wk_alert_fn)(void *ctx, const struct wk_alert_fired *fired, size_t n);

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
/* Builds ev's COPY rows into b->raw_rows (when store_raw) and b->key_rows. Call after decoding
 * an event (state WK_EV_PARSED); on out of memory the buffers say so (oom) and the commit
 * fails as it would for any allocation failure. */
void wk_batch_prepare(wk_batch *b, wk_event *ev, bool store_raw);

/* Completes a filled batch before it is handed to the committer (consumer thread): sorts its
 * dedup keys, so event_dedup's primary key is inserted in key order (measured: 40 % less
 * PostgreSQL time for that COPY than in arrival order) and concurrent batches lock keys in
 * one order. */
void wk_batch_seal(wk_batch *b);

/* Empties the row buffers (with the batch). */
void wk_batch_reset_rows(wk_batch *b);

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

/* Partition maintenance + dedup expiry under the advisory lock. */
ea_rc wk_sink_maintain(wk_sink *s, struct ea_err *err) EA_WUR;

/* True when the last PostgreSQL interaction succeeded. */
bool wk_sink_healthy(const wk_sink *s);

#endif
