/*
 * ea_thread.h — the things every helper thread of the project needs: to start with every
 * signal blocked (SIGTERM and SIGINT belong to the event loop's signalfd, lib/http; a helper that
 * took one would die, whatever order the process set things up in), and a stop request it can
 * check between rounds and nap on (a nap ends at once when the stop is requested, so shutdown
 * never waits out a poll interval). Not for: pools of workers (ea_workpool.h builds on this).
 */
#ifndef EA_THREAD_H
#define EA_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* pthread_create with every signal blocked in the new thread (the caller's mask is restored).
 * Returns 0 or pthread_create's error. */
int ea_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

typedef struct ea_stop {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} ea_stop;

void ea_stop_init(ea_stop *s);
void ea_stop_destroy(ea_stop *s);
/* Asks the thread to stop and wakes a nap in progress. */
void ea_stop_request(ea_stop *s);
bool ea_stop_requested(ea_stop *s);
/* Sleeps up to ms milliseconds, less when a stop is requested; true when one was. */
bool ea_stop_nap(ea_stop *s, long ms);

/* A helper thread with its stop request: the ingest-api CORS refresher, the worker's webhook
 * sender and recompute runner. Its function checks and naps on &t->stop; ea_task_stop asks it to
 * end, wakes its nap and waits for it. One home for the order (init the stop before the thread
 * may read it, undo it when the thread cannot start, join before destroying it). */
typedef struct ea_task {
    pthread_t thread;
    ea_stop stop;
} ea_task;

/* Initialises t->stop and runs fn(arg) on a new thread with every signal blocked. Returns 0, or
 * pthread_create's error with nothing left to undo (t is not to be stopped then). */
int ea_task_start(ea_task *t, void *(*fn)(void *), void *arg);
/* Requests the stop, waits for the thread's function to return, and frees the stop. */
void ea_task_stop(ea_task *t);

#endif
