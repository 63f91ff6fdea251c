/*
 * ea_thread.c — helper threads (ea_thread.h): the start with signals blocked, the stop
 * request with its interruptible nap, and the two together as a task (a condition variable waited
 * on with CLOCK_REALTIME deadlines; spurious wake-ups go back to sleep until the deadline or the
 * stop).
 */
#include "ea_thread.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

int ea_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void ea_stop_init(ea_stop *s)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->stop = false;
}

void ea_stop_destroy(ea_stop *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

void ea_stop_request(ea_stop *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

bool ea_stop_requested(ea_stop *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

bool ea_stop_nap(ea_stop *s, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
    }
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

int ea_task_start(ea_task *t, void *(*fn)(void *), void *arg)
{
    ea_stop_init(&t->stop);
    int rc = ea_thread_start(&t->thread, fn, arg);
    if (rc != 0)
        ea_stop_destroy(&t->stop);
    return rc;
}

void ea_task_stop(ea_task *t)
{
    ea_stop_request(&t->stop);
    pthread_join(t->thread, NULL);
    ea_stop_destroy(&t->stop);
}
