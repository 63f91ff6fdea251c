/*
 * batch.h — the batch: the messages of one poll cycle, in the order they were polled (per
 * partition: offset order), decoded, with the COPY rows of their raw_events and event_dedup
 * rows built while they are decoded (on the consumer thread), so the committer only sends them.
 * This file owns a batch's memory from its first message to its reset: the consumer fills and
 * seals it, the committer's transaction (sink.c) reads it and marks its events' states, the
 * consumer resets it; its dead events and the event names it counts are written by
 * wk_batch_store_dead and wk_batch_store_names. Not for: the
 * transaction itself (sink.c) or deduplication (dedup.c).
 */
#ifndef WK_BATCH_H
#define WK_BATCH_H

#include "ea_arena.h"
#include "ea_err.h"
#include "ea_pg_buf.h"
#include "ea_pg_params.h"
#include "message.h"
#include "stats.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wk_batch {
    ea_arena *arena; /* events' strings, JSON nodes (jalloc.h); reset with the batch */
    wk_event *ev;
    size_t n, cap;
    int64_t started_ns; /* monotonic time the first message was polled */
    /* COPY rows of the events' raw_events (binary) and event_dedup (text) rows */
    ea_buf raw_rows, key_rows;
    uint32_t *key_order; /* event indices by dedup key (wk_batch_seal; arena), NULL: not sealed */
    size_t nkey_order;
} wk_batch;

/* Prepares an empty batch (its arena). EA_ERR_NOMEM on failure. */
ea_rc wk_batch_init(wk_batch *b) EA_WUR;
/* Frees everything the batch holds (reset first). */
void wk_batch_destroy(wk_batch *b);
/* Drops every event (JSON trees, arena, rows); keeps the memory for the next batch. */
void wk_batch_reset(wk_batch *b);

/* Decodes one message into a new event of b (a bad message becomes a DEAD event with its
 * reason) and builds its COPY rows. false on out of memory: nothing was added. */
bool wk_batch_add(wk_batch *b, int32_t partition, int64_t offset, const void *payload, size_t len,
                  bool store_raw);

/* Builds ev's COPY rows into b->raw_rows (when store_raw) and b->key_rows. Called by
 * wk_batch_add after decoding (state WK_EV_PARSED); on out of memory the buffers say so (oom)
 * and the rows are rebuilt at commit (wk_batch_rows). Exposed for the fuzz driver. */
void wk_batch_prepare(wk_batch *b, wk_event *ev, bool store_raw);

/* Completes a filled batch before it is handed to the committer (consumer thread): sorts its
 * dedup keys, so event_dedup's primary key is inserted in key order (measured: 40 % less
 * PostgreSQL time for that COPY than in arrival order) and concurrent batches lock keys in
 * one order; marks events repeating an earlier key of the batch (ev->repeat). */
void wk_batch_seal(wk_batch *b);

/* The COPY data of the events of [lo, hi) in state `want`: their prepared rows (`raw`:
 * raw_events binary tuples, else event_dedup text lines), pointed at in place when they are
 * one run of the buffer (the usual case: every event counts), else gathered into out. *len 0:
 * no rows; NULL: out of memory. */
const char *wk_batch_rows(wk_batch *b, size_t lo, size_t hi, wk_event_state want, bool raw,
                          ea_buf *out, size_t *len);

/* The log subject (ea_log.h) of the events [lo, hi) of b: per partition its first and last
 * offset in the order partitions first appear, "p0@100-199,p2@5-9", cut with ",..." to fit buf
 * (EA_LOG_SUBJECT_MAX bytes). Returns buf. */
const char *wk_batch_subject(const wk_batch *b, size_t lo, size_t hi, char *buf);

/* Appends ev's event_dedup COPY line (tenant \t event_id \n). */
void wk_batch_key_row(ea_buf *o, const wk_event *ev);

/* Appends the payload text of a dead event: the raw message, or the decoded one re-serialized,
 * as valid UTF-8 without NUL (dead_letters.payload is text). */
void wk_batch_dead_payload(ea_buf *b, const wk_event *ev);

/* Sink invariant 9: writes the DEAD events of [lo, hi) (not dropped) to dead_letters with their
 * reason, partition, offset and payload — inside the batch transaction — and counts them in
 * rep by reason. */
ea_rc wk_batch_store_dead(wk_batch *b, size_t lo, size_t hi, PGconn *c, ea_pg_params *pp,
                          wk_batch_report *rep, struct ea_err *err) EA_WUR;

/* Sink invariant 11: records the event names the COUNTED events of [lo, hi) carry in
 * event_names (lib/catalog's "events seen"), inside the batch transaction; a in which to keep
 * per-attempt keys. */
ea_rc wk_batch_store_names(wk_batch *b, size_t lo, size_t hi, PGconn *c, ea_pg_params *pp,
                           ea_arena *a, struct ea_err *err) EA_WUR;

#endif
