/*
 * stats.h — the worker's counters, histograms and per-partition gauges, written by the consumer
 * thread and rendered as Prometheus text by the HTTP thread (one mutex; writers take it once per
 * batch, not per event). Also the readiness flags behind /readyz.
 */
#ifndef WK_STATS_H
#define WK_STATS_H

#include "ea_pg_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WK_FRESH_NB 12

/* What one committed batch did; filled by the sink, merged by wk_stats_add_batch. */
typedef struct wk_batch_report {
    size_t messages;   /* Kafka messages in the batch */
    size_t counted;    /* events that went into rollups */
    size_t duplicates; /* repeated event_id within the dedup window */
    size_t late;       /* behind the partition watermark, counted */
    size_t restated;   /* touched a closed bucket (revision bumped) */
    size_t dead;       /* dead-lettered, by reason below */
    const char *dead_reasons[64];
    size_t dead_counts[64];
    size_t ndead_reasons;
    size_t rows;                     /* rollup rows upserted */
    double latency_s;                /* first message polled -> commit returned */
    uint64_t fresh[WK_FRESH_NB + 1]; /* received_at -> visible, per event, bucketed */
    double fresh_sum_s;
} wk_batch_report;

typedef struct wk_stats wk_stats;

wk_stats *wk_stats_new(void);
void wk_stats_free(wk_stats *s);

/* Adds a dead-letter reason to a report (reasons are static or long-lived strings). */
void wk_report_dead(wk_batch_report *r, const char *reason);
/* Records one event's freshness (ms from received_at to commit). */
void wk_report_fresh(wk_batch_report *r, int64_t ms);

void wk_stats_add_batch(wk_stats *s, const wk_batch_report *r);
void wk_stats_inc_fenced(wk_stats *s);
void wk_stats_inc_db_error(wk_stats *s);
void wk_stats_inc_dedup_race(wk_stats *s);
void wk_stats_inc_publish_error(wk_stats *s);
/* Alert webhook attempts (hook_sender.c) by outcome. */
typedef enum {
    WK_HOOK_DELIVERED,
    WK_HOOK_RETRIED,
    WK_HOOK_FAILED,
    WK_HOOK_OUTCOMES
} wk_hook_outcome;
void wk_stats_inc_webhook(wk_stats *s, wk_hook_outcome o);
void wk_stats_inc_closed(wk_stats *s, uint64_t rows);

/* Per-partition gauges. next_offset: committed next offset; high: broker high watermark (-1
 * unknown); watermark_ms: INT64_MIN when none. assigned=false removes the partition. */
void wk_stats_partition(wk_stats *s, int32_t partition, bool assigned, int64_t next_offset,
                        int64_t high, int64_t watermark_ms);

typedef enum wk_ready_part {
    WK_READY_PG = 0,
    WK_READY_KAFKA,
    WK_READY_REDIS,
    WK_READY_N
} wk_ready_part;
void wk_stats_set_ready(wk_stats *s, wk_ready_part part, bool ok);
/* Marks part not ready and keeps why (truncated to 511 bytes) for /readyz. */
void wk_stats_set_unready(wk_stats *s, wk_ready_part part, const char *why);
/* True when every part is ok; names of failing parts are appended to why (may be NULL), and a
 * JSON object {"part": "reason", ...} of the failing parts with a known reason to errors (may
 * be NULL). */
bool wk_stats_ready(wk_stats *s, ea_buf *why, ea_buf *errors);

/* Appends the Prometheus text exposition of everything. */
void wk_stats_render(wk_stats *s, ea_buf *out);

#endif
