/*
 * committer.c — one thread, one batch in flight: start hands it over, wait takes the outcome.
 */
#include "committer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct wk_committer {
    wk_sink *sink;
    volatile sig_atomic_t *stop;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, quit;
    wk_batch *batch;
    wk_pstate st[WK_MAX_PARTITIONS]; /* the snapshot the commit works on */
    size_t nst;
    ea_rc rc;
};

static void *run(void *arg)
{
    wk_committer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->busy && !c->quit)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->quit && !c->busy)
            break;
        pthread_mutex_unlock(&c->mu);
        ea_rc rc = wk_sink_commit_batch(c->sink, c->batch, c->st, c->nst, c->stop);
        pthread_mutex_lock(&c->mu);
        c->rc = rc;
        c->busy = false;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

wk_committer *wk_committer_new(wk_sink *sink, volatile sig_atomic_t *stop, struct ea_err *err)
{
    wk_committer *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->sink = sink;
    c->stop = stop;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        ea_err_set(err, EA_ERR_IO, "could not start the committer thread");
        return NULL;
    }
    return c;
}

void wk_committer_free(wk_committer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void wk_committer_start(wk_committer *c, wk_batch *b, const wk_pstate *st, size_t nst)
{
    pthread_mutex_lock(&c->mu);
    c->batch = b;
    c->nst = nst < WK_MAX_PARTITIONS ? nst : WK_MAX_PARTITIONS;
    memcpy(c->st, st, c->nst * sizeof(*st));
    c->rc = EA_OK;
    c->busy = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

wk_batch *wk_committer_wait(wk_committer *c, wk_pstate *st, size_t nst, ea_rc *rc)
{
    pthread_mutex_lock(&c->mu);
    while (c->busy)
        pthread_cond_wait(&c->cv, &c->mu);
    wk_batch *b = c->batch;
    c->batch = NULL;
    *rc = c->rc;
    if (b != NULL) {
        /* what the commit decided; eof and broker_high are the consumer's own */
        for (size_t i = 0; i < nst && i < c->nst; i++) {
            st[i].generation = c->st[i].generation;
            st[i].next_offset = c->st[i].next_offset;
            st[i].high_ms = c->st[i].high_ms;
            st[i].fenced = c->st[i].fenced;
            st[i].reclaim_at_ms = c->st[i].reclaim_at_ms;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return b;
}
