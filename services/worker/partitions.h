/*
 * partitions.h — the worker's view of the time partitions (db/migrations: ea_partitions_maintain,
 * ea_partition_ensure). The periodic maintenance pass runs under a PostgreSQL advisory lock so
 * one worker of the group does it at a time. Before a batch, every event time is checked
 * against the partitions that exist and a missing one is created (outside the batch
 * transaction) — also for a day the maintenance has already dropped: an event ingest accepted
 * (lib/rollup's age rule) is always counted; its raw row then goes with the next drop, like
 * every raw event past retention.
 */
#ifndef WK_PARTITIONS_H
#define WK_PARTITIONS_H

#include "batch.h"
#include "ea_err.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct wk_parts wk_parts;

/* store_raw: whether raw_events partitions are needed too. */
wk_parts *wk_parts_new(bool store_raw);
void wk_parts_free(wk_parts *p);

/* Reloads the list of existing partitions and the retention of each class. */
ea_rc wk_parts_refresh(wk_parts *p, PGconn *c, struct ea_err *err) EA_WUR;

/* Whether every table an event at ts_ms is written to has its partition. Lookup in the cache. */
bool wk_parts_check(wk_parts *p, int64_t ts_ms);

/* raw_events' retention in days as partition_classes says (read at refresh). */
long wk_parts_retention_days(const wk_parts *p);

/* Creates the partitions for ts_ms (autocommit, short lock_timeout) and refreshes the cache. */
ea_rc wk_parts_ensure(wk_parts *p, PGconn *c, int64_t ts_ms, struct ea_err *err) EA_WUR;

/* Creates the partitions the events of b[lo, hi) need (outside any transaction; failures are
 * logged: the batch then waits, its events cannot be placed). */
void wk_parts_ensure_batch(wk_parts *p, PGconn *c, wk_batch *b, size_t lo, size_t hi);

/* The maintenance pass: under pg_try_advisory_lock, SELECT ea_partitions_maintain(back_days)
 * and expire event_dedup rows older than dedup_window_ms (in slices). *did says whether this
 * worker held the lock. Retries a lock_timeout a few times. */
ea_rc wk_parts_maintain(wk_parts *p, PGconn *c, int back_days, int64_t dedup_window_ms, bool *did,
                        struct ea_err *err) EA_WUR;

#endif
