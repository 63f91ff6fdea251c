/*
 * ea_workpool.c — the thread pool behind ea_workpool.h. One mutex guards the queue (a list with
 * head and tail, urgent items go to the head) and the finished list; a condition variable wakes
 * idle threads. The loop learns about finished items through a non-blocking pipe.
 *
 * Invariants:
 * 1. At most one wake byte is unread per batch of finished items: a thread writes one only when
 *    `signaled` is false and sets it; complete() clears it when it takes the finished list. The
 *    pipe is read before the list is taken, so an item finished after the take always leaves a
 *    byte behind and the loop wakes again (a spurious wake costs one empty complete()).
 * 2. Every submitted item comes back through done() exactly once, also at shutdown.
 */
#include "ea_workpool.h"
#include "ea_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct ea_workpool {
    ea_workpool_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ea_work *head, *tail; /* waiting */
    size_t queued;
    ea_work *fin_head, *fin_tail; /* finished, not yet handed to done() */
    bool signaled;
    bool stopping;
    int pipefd[2];
    int nthreads; /* started */
    pthread_t *threads;
};

static void wake_loop(ea_workpool *p)
{
    /* under p->mu */
    if (p->signaled)
        return;
    p->signaled = true;
    char b = 1;
    ssize_t w = write(p->pipefd[1], &b, 1); /* a full pipe is fine: the loop is woken anyway */
    (void)w;
}

static void *thread_main(void *arg)
{
    ea_workpool *p = arg;
    if (p->cfg.nice > 0) {
        /* Linux applies setpriority(PRIO_PROCESS, tid) to one thread: the loop keeps its share */
        pid_t tid = gettid();
        errno = 0;
        int cur = getpriority(PRIO_PROCESS, (id_t)tid);
        if (errno == 0)
            (void)setpriority(PRIO_PROCESS, (id_t)tid, cur + p->cfg.nice);
    }
    void *tctx = p->cfg.thread_init != NULL ? p->cfg.thread_init(p->cfg.ud) : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping)
            break;
        ea_work *w = p->head;
        p->head = w->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        w->next = NULL;
        w->run(w, tctx);
        w->ran = true;
        pthread_mutex_lock(&p->mu);
        if (p->fin_tail != NULL)
            p->fin_tail->next = w;
        else
            p->fin_head = w;
        p->fin_tail = w;
        wake_loop(p);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->cfg.thread_fini != NULL)
        p->cfg.thread_fini(tctx);
    return NULL;
}

ea_workpool *ea_workpool_new(const ea_workpool_config *cfg, struct ea_err *err)
{
    if (cfg->threads < 1 || cfg->threads > 64 || cfg->queue_max < 1) {
        ea_err_set(err, EA_ERR_INVALID, "could not create work pool: bad size");
        return NULL;
    }
    ea_workpool *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->threads = calloc((size_t)cfg->threads, sizeof(pthread_t))) == NULL) {
        free(p);
        ea_err_set(err, EA_ERR_NOMEM, "could not create work pool: out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        ea_err_set(err, EA_ERR_IO, "could not create work pool pipe: %s", strerror(errno));
        p->pipefd[0] = p->pipefd[1] = -1;
        ea_workpool_free(p);
        return NULL;
    }
    /* the threads start with every signal blocked (ea_thread_start): SIGTERM and friends belong
     * to the loop thread */
    for (int i = 0; i < cfg->threads; i++) {
        int rc = ea_thread_start(&p->threads[i], thread_main, p);
        if (rc != 0) {
            ea_err_set(err, EA_ERR_IO, "could not start work pool thread: %s", strerror(rc));
            ea_workpool_free(p);
            return NULL;
        }
        p->nthreads++;
        char name[16]; /* the kernel keeps 15 bytes */
        snprintf(name, sizeof(name), "%.10s-%d", cfg->name != NULL ? cfg->name : "pool", i & 63);
        pthread_setname_np(p->threads[i], name);
    }
    return p;
}

ea_rc ea_workpool_submit(ea_workpool *p, ea_work *w, bool urgent)
{
    pthread_mutex_lock(&p->mu);
    if (p->queued >= p->cfg.queue_max || p->stopping) {
        pthread_mutex_unlock(&p->mu);
        return EA_ERR_LIMIT;
    }
    w->ran = false;
    if (urgent || p->head == NULL) {
        w->next = p->head;
        p->head = w;
        if (p->tail == NULL)
            p->tail = w;
    } else {
        w->next = NULL;
        p->tail->next = w;
        p->tail = w;
    }
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return EA_OK;
}

int ea_workpool_fd(const ea_workpool *p)
{
    return p->pipefd[0];
}

size_t ea_workpool_queued(ea_workpool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->queued;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void ea_workpool_complete(ea_workpool *p)
{
    char buf[64];
    while (read(p->pipefd[0], buf, sizeof(buf)) > 0) {
    }
    pthread_mutex_lock(&p->mu);
    ea_work *w = p->fin_head;
    p->fin_head = p->fin_tail = NULL;
    p->signaled = false;
    pthread_mutex_unlock(&p->mu);
    while (w != NULL) {
        ea_work *next = w->next;
        w->next = NULL;
        w->done(w);
        w = next;
    }
}

void ea_workpool_free(ea_workpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    if (p->pipefd[0] >= 0)
        ea_workpool_complete(p); /* items that ran */
    for (ea_work *w = p->head, *next; w != NULL; w = next) {
        next = w->next; /* never ran: ran stays false */
        w->next = NULL;
        w->done(w);
    }
    p->head = p->tail = NULL;
    if (p->pipefd[0] >= 0)
        close(p->pipefd[0]);
    if (p->pipefd[1] >= 0)
        close(p->pipefd[1]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}
