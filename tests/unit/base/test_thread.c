/*
 * test_thread.c — lib/base's helper-thread primitives: a thread started by ea_thread_start has
 * every signal blocked (SIGTERM belongs to the loop's signalfd) while the caller's mask is left as
 * it was; a nap runs its time out when nobody stops it, and ends at once (not after its 10 s) when
 * another thread requests the stop; a stop requested before the nap is seen at once; a task
 * (ea_task) is stopped, woken and joined by ea_task_stop.
 */
#include "../ea_test.h"
#include "ea_thread.h"
#include "ea_time.h"

#include <signal.h>

static int blocked_in_thread = -1;

static void *check_mask(void *arg)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    blocked_in_thread = sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT);
    return NULL;
}

static void test_thread_blocks_signals(void)
{
    pthread_t t;
    EA_CHECK(ea_thread_start(&t, check_mask, NULL) == 0);
    pthread_join(t, NULL);
    EA_CHECK(blocked_in_thread == 1);
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    EA_CHECK(!sigismember(&cur, SIGTERM)); /* the caller's mask is untouched */
}

static ea_stop stop;
static bool nap_result;
static int64_t nap_ms;

static void *napper(void *arg)
{
    int64_t t0 = ea_time_mono_ns();
    nap_result = ea_stop_nap(&stop, 10000);
    nap_ms = (ea_time_mono_ns() - t0) / 1000000;
    return NULL;
}

static void test_nap_and_stop(void)
{
    ea_stop_init(&stop);
    int64_t t0 = ea_time_mono_ns();
    EA_CHECK(!ea_stop_nap(&stop, 50)); /* nobody stops it: the time runs out */
    int64_t ms = (ea_time_mono_ns() - t0) / 1000000;
    EA_CHECK(ms >= 45 && ms < 5000);
    EA_CHECK(!ea_stop_requested(&stop));

    pthread_t t;
    EA_CHECK(ea_thread_start(&t, napper, NULL) == 0);
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    ea_stop_request(&stop);
    pthread_join(t, NULL);
    EA_CHECK(nap_result);
    EA_CHECK(nap_ms >= 50 && nap_ms < 5000); /* woken by the request, not by its 10 s */
    EA_CHECK(ea_stop_requested(&stop));
    t0 = ea_time_mono_ns();
    EA_CHECK(ea_stop_nap(&stop, 10000)); /* already stopped: returns at once */
    EA_CHECK((ea_time_mono_ns() - t0) / 1000000 < 1000);
    ea_stop_destroy(&stop);
}

/* a task: its function naps on the task's own stop; ea_task_stop wakes it, waits for it to
 * return (the function's last write is seen) and frees the stop */
static ea_task task;
static int task_state; /* 1 running, 2 returned after a stop */

static void *task_fn(void *arg)
{
    int *state = arg;
    *state = 1;
    while (!ea_stop_nap(&task.stop, 10000)) {
    }
    *state = 2;
    return NULL;
}

static void test_task(void)
{
    EA_CHECK(ea_task_start(&task, task_fn, &task_state) == 0);
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
    int64_t t0 = ea_time_mono_ns();
    ea_task_stop(&task);
    EA_CHECK((ea_time_mono_ns() - t0) / 1000000 < 5000); /* woken, not after its 10 s nap */
    EA_CHECK(task_state == 2);                           /* joined: the function had returned */
}

EA_TEST_MAIN(EA_TEST(test_thread_blocks_signals), EA_TEST(test_nap_and_stop), EA_TEST(test_task))
