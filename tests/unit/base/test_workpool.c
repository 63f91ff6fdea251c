/*
 * test_workpool.c — lib/base/ea_workpool: every item runs on a pool thread and comes back
 * through done() on the calling thread, exactly once, after the pipe said so; the queue bound
 * refuses at once; urgent items jump the queue; free() hands back queued items unrun.
 */
#include "../ea_test.h"
#include "ea_workpool.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct item {
    ea_work w;
    int id;
    pthread_t ran_on;
    int *order; /* where done() records its id */
    int *ndone;
};

static atomic_int gate = 1; /* 0: run() waits, so the queue fills */

static void item_run(ea_work *w, void *tctx)
{
    struct item *it = (struct item *)w;
    while (atomic_load(&gate) == 0)
        usleep(1000);
    it->ran_on = pthread_self();
    EA_CHECK(tctx == (void *)0x1234);
}

static void item_done(ea_work *w)
{
    struct item *it = (struct item *)w;
    it->order[(*it->ndone)++] = it->id;
}

static void *tinit(void *ud)
{
    return ud;
}

/* Waits for the pipe, then completes; returns the number done so far. */
static int wait_and_complete(ea_workpool *p, int *ndone, int want)
{
    for (int tries = 0; *ndone < want && tries < 500; tries++) {
        struct pollfd pfd = {.fd = ea_workpool_fd(p), .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0)
            ea_workpool_complete(p);
    }
    return *ndone;
}

static void test_runs_off_thread_and_comes_back(void)
{
    struct ea_err err;
    ea_workpool_config c = {
        .threads = 2, .queue_max = 8, .thread_init = tinit, .ud = (void *)0x1234, .name = "t"};
    ea_workpool *p = ea_workpool_new(&c, &err);
    EA_CHECK(p != NULL);
    int order[16], ndone = 0;
    struct item items[6];
    for (int i = 0; i < 6; i++) {
        items[i] = (struct item){
            .w = {.run = item_run, .done = item_done}, .id = i, .order = order, .ndone = &ndone};
        EA_CHECK(ea_workpool_submit(p, &items[i].w, false) == EA_OK);
    }
    EA_CHECK(wait_and_complete(p, &ndone, 6) == 6);
    for (int i = 0; i < 6; i++) {
        EA_CHECK(items[i].w.ran);
        EA_CHECK(!pthread_equal(items[i].ran_on, pthread_self()));
    }
    ea_workpool_free(p);
    EA_CHECK(ndone == 6); /* nothing comes back twice */
}

static void test_bound_urgent_and_free(void)
{
    struct ea_err err;
    ea_workpool_config c = {
        .threads = 1, .queue_max = 3, .thread_init = tinit, .ud = (void *)0x1234};
    ea_workpool *p = ea_workpool_new(&c, &err);
    EA_CHECK(p != NULL);
    int order[16], ndone = 0;
    struct item items[6];
    for (int i = 0; i < 6; i++)
        items[i] = (struct item){
            .w = {.run = item_run, .done = item_done}, .id = i, .order = order, .ndone = &ndone};
    atomic_store(&gate, 0);
    EA_CHECK(ea_workpool_submit(p, &items[0].w, false) == EA_OK);
    for (int tries = 0; ea_workpool_queued(p) > 0 && tries < 1000; tries++)
        usleep(1000); /* item 0 is running (held at the gate) */
    EA_CHECK(ea_workpool_submit(p, &items[1].w, false) == EA_OK);
    EA_CHECK(ea_workpool_submit(p, &items[2].w, false) == EA_OK);
    EA_CHECK(ea_workpool_submit(p, &items[3].w, true) == EA_OK); /* urgent: before 1 and 2 */
    EA_CHECK(ea_workpool_queued(p) == 3);
    EA_CHECK(ea_workpool_submit(p, &items[4].w, false) == EA_ERR_LIMIT); /* full: refused now */
    atomic_store(&gate, 1);
    EA_CHECK(wait_and_complete(p, &ndone, 4) == 4);
    EA_CHECK(order[0] == 0 && order[1] == 3 && order[2] == 1 && order[3] == 2);

    /* free(): a queued item comes back unrun */
    atomic_store(&gate, 0);
    EA_CHECK(ea_workpool_submit(p, &items[4].w, false) == EA_OK);
    for (int tries = 0; ea_workpool_queued(p) > 0 && tries < 1000; tries++)
        usleep(1000);
    EA_CHECK(ea_workpool_submit(p, &items[5].w, false) == EA_OK);
    atomic_store(&gate, 1);
    ea_workpool_free(p);
    EA_CHECK(ndone == 6);
    EA_CHECK(items[4].w.ran);
    EA_CHECK(!items[5].w.ran);
}

EA_TEST_MAIN(EA_TEST(test_runs_off_thread_and_comes_back), EA_TEST(test_bound_urgent_and_free))
