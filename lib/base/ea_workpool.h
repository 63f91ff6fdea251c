/*
 * ea_workpool.h — a few threads that run blocking work (bcrypt, a PostgreSQL or Redis round trip)
 * for one event-loop thread, with a bounded queue. The loop submits an item; a pool thread runs
 * item->run(); the finished item is handed back through a pipe the loop watches, and
 * ea_workpool_complete() (called by the loop when ea_workpool_fd() is readable) runs item->done()
 * on the loop thread. So the loop never blocks and never needs a lock for its own state.
 *
 * Not for: cancelling work (an item always runs and always comes back; the owner marks it
 * abandoned and done() frees it), or work that must survive the process.
 */
#ifndef EA_WORKPOOL_H
#define EA_WORKPOOL_H

#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ea_workpool ea_workpool;

/* One unit of work, embedded by the owner in its own struct. The pool only uses `next`. */
typedef struct ea_work {
    /* On a pool thread. tctx is that thread's context (ea_workpool_config.thread_init). */
    void (*run)(struct ea_work *w, void *tctx);
    /* On the loop thread, from ea_workpool_complete(); may free the item. */
    void (*done)(struct ea_work *w);
    bool ran; /* set by the pool: false only for items ea_workpool_free() dropped unrun */
    struct ea_work *next;
} ea_work;

typedef struct ea_workpool_config {
    int threads;      /* 1..64 */
    size_t queue_max; /* items waiting (not running) at most; submit fails beyond */
    int nice;         /* added to the pool threads' nice value (0: same priority as the loop) */
    /* Per-thread context, created on the thread before its first item and freed when it ends
     * (e.g. a database connection). Both may be NULL. */
    void *(*thread_init)(void *ud);
    void (*thread_fini)(void *tctx);
    void *ud;
    const char *name; /* thread name prefix for top/ps (at most 10 chars) */
} ea_workpool_config;

/* Starts the threads. NULL with err filled when a thread or the pipe cannot be created. */
ea_workpool *ea_workpool_new(const ea_workpool_config *cfg, struct ea_err *err);

/* Queues w (front of the queue when urgent). EA_ERR_LIMIT when queue_max items already wait:
 * the caller answers "busy" at once instead of waiting. Loop thread only. */
ea_rc ea_workpool_submit(ea_workpool *p, ea_work *w, bool urgent) EA_WUR;

/* The file descriptor that becomes readable when finished items wait for complete(). The owner
 * registers it on its loop and must not read from it. */
int ea_workpool_fd(const ea_workpool *p);

/* Drains the pipe and runs done() of every finished item, in the order they finished. */
void ea_workpool_complete(ea_workpool *p);

/* Items waiting in the queue (not running). Loop thread. */
size_t ea_workpool_queued(ea_workpool *p);

/* Stops the threads after the items already running; queued items are not run. Every item that
 * ran and every queued item gets done() (queued ones without run()) before this returns, so
 * owners can free their memory there. NULL is allowed. */
void ea_workpool_free(ea_workpool *p);

#endif
