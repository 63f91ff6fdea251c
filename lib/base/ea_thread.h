/*
 * ea_thread.h — the two things every helper thread of the project needs: to start with every
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

#endif
