/*
 * committer.h — the batch transaction on a thread of its own, so the consumer polls and
 * decodes batch n+1 while batch n is being committed (two CPUs: ours and PostgreSQL's).
 *
 * One batch at most is in flight, and batches are committed in the order they were handed
 * over, so the protocol of sink.c is unchanged: the committer works on a snapshot of the
 * partition states and wk_committer_wait copies its outcome (next offsets, watermarks, fencing)
 * back. The sink (its connection) and the change feed belong to the committer while a batch is
 * in flight: the consumer waits before it uses either (claims, closing, maintenance).
 */
#ifndef WK_COMMITTER_H
#define WK_COMMITTER_H

#include "sink.h"

#include <signal.h>

typedef struct wk_committer wk_committer;

wk_committer *wk_committer_new(wk_sink *sink, volatile sig_atomic_t *stop, struct ea_err *err);
void wk_committer_free(wk_committer *c); /* waits for the batch in flight */

/* Starts committing b with a copy of st[0..nst). Nothing may be in flight (wait first). */
void wk_committer_start(wk_committer *c, wk_batch *b, const wk_pstate *st, size_t nst);

/* Waits for the batch in flight and copies the commit's partition state into st (the same
 * partitions, in the same order, as handed over). Returns that batch (NULL when none was in
 * flight) and its outcome in *rc. */
wk_batch *wk_committer_wait(wk_committer *c, wk_pstate *st, size_t nst, ea_rc *rc);

#endif
