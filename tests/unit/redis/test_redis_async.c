/*
 * test_redis_async.c — lib/redis's ea_redis_async (ea_redis_async.h) against a scripted RESP
 * peer in this process, so the faults come at a chosen moment: replies arrive in order for
 * commands pipelined at once; a script is loaded per connection and run by EVALSHA, and sent
 * whole (EVAL) once after NOSCRIPT; a silent server fails every command in flight within the
 * timeout, and commands fail at once (no new connection) for retry_ms after it; a refused
 * connect names the server; the queue bound; every command comes back through done() exactly
 * once, also when the client is freed with commands pending. The test thread plays the event
 * loop: poll() on ea_redis_async_fd, then ea_redis_async_complete. (With a real redis-server:
 * tests/integration/ingest_redis_stall.test.mjs.)
 */
#include "../ea_test.h"
#include "../ea_test_resp.h"
#include "ea_redis_async.h"
#include "ea_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the scripted peer: one connection at a time, commands parsed from RESP arrays ---------- */

typedef enum { P_ANSWER, P_SILENT, P_NOSCRIPT_ONCE } peer_mode;

static struct {
    ea_test_resp_peer rp;
    peer_mode mode;
    atomic_int commands, evalsha, eval, script_loads;
} peer;

#define SHA40 "0123456789012345678901234567890123456789"

/* One command (ea_test_resp.h); the connection's flag: NOSCRIPT was sent on it. */
static void answer(int c, char argv[EA_TEST_RESP_NARGS][EA_TEST_RESP_ARGLEN], int argc,
                   bool *noscript_sent)
{
    const char *a0 = argc > 0 ? argv[0] : "", *a1 = argc > 1 ? argv[1] : "";
    bool loads = strcasecmp(a0, "SCRIPT") == 0;
    if (!loads)
        atomic_fetch_add(&peer.commands, 1);
    if (peer.mode == P_SILENT && !loads)
        return;
    char out[128];
    if (strcasecmp(a0, "SCRIPT") == 0) {
        atomic_fetch_add(&peer.script_loads, 1);
        snprintf(out, sizeof(out), "$40\r\n%s\r\n", SHA40);
    } else if (strcasecmp(a0, "EVALSHA") == 0) {
        atomic_fetch_add(&peer.evalsha, 1);
        if (peer.mode == P_NOSCRIPT_ONCE && !*noscript_sent) {
            *noscript_sent = true;
            snprintf(out, sizeof(out), "-NOSCRIPT No matching script.\r\n");
        } else {
            snprintf(out, sizeof(out), ":%d\r\n", strcmp(a1, SHA40) == 0 ? 1 : -1);
        }
    } else if (strcasecmp(a0, "EVAL") == 0) {
        atomic_fetch_add(&peer.eval, 1);
        snprintf(out, sizeof(out), ":%d\r\n", strstr(a1, "return") != NULL ? 2 : -2);
    } else if (strcasecmp(a0, "ECHO") == 0) {
        snprintf(out, sizeof(out), "$%zu\r\n%.63s\r\n", strlen(a1), a1); /* a1 < 64 */
    } else {
        snprintf(out, sizeof(out), "+PONG\r\n");
    }
    (void)send(c, out, strlen(out), MSG_NOSIGNAL);
}

static void peer_start(peer_mode mode)
{
    peer.mode = mode;
    atomic_store(&peer.commands, 0);
    atomic_store(&peer.evalsha, 0);
    atomic_store(&peer.eval, 0);
    atomic_store(&peer.script_loads, 0);
    peer.rp.on_cmd = answer;
    EA_CHECK(ea_test_resp_start(&peer.rp));
}

static void peer_end(void)
{
    ea_test_resp_end(&peer.rp);
}

/* ---- the client under test ------------------------------------------------------------------ */

static const char *const scripts[] = {"return 1"};

static ea_redis_async *client(int port, int timeout_ms, int retry_ms, size_t queue_max)
{
    char text[64];
    snprintf(text, sizeof(text), "redis://127.0.0.1:%d", port);
    ea_redis_url u;
    struct ea_err err = {0};
    EA_CHECK(ea_redis_url_parse(text, NULL, &u, &err) == EA_OK);
    ea_redis_async_config cfg = {.url = &u,
                                 .timeout_ms = timeout_ms,
                                 .retry_ms = retry_ms,
                                 .queue_max = queue_max,
                                 .scripts = scripts,
                                 .nscripts = 1,
                                 .name = "test-redis"};
    ea_redis_async *a = ea_redis_async_new(&cfg, &err);
    EA_CHECK(a != NULL);
    return a;
}

struct tcmd {
    ea_redis_cmd c; /* first */
    int index, done_count, order;
    ea_rc status;
    bool ran;
    long long integer;
    char text[64];
};

static int done_seq;

static void on_done(ea_redis_cmd *c)
{
    struct tcmd *t = (struct tcmd *)c;
    t->done_count++;
    t->order = done_seq++;
    t->status = c->status;
    t->ran = c->ran;
    if (c->reply != NULL) {
        t->integer = c->reply->integer;
        if (c->reply->str != NULL)
            snprintf(t->text, sizeof(t->text), "%s", c->reply->str);
    }
}

static void set_cmd(struct tcmd *t, int script, const char *a0, const char *a1)
{
    memset(t, 0, sizeof(*t));
    t->c.script = script;
    t->c.argv[0] = a0;
    t->c.argvlen[0] = strlen(a0);
    t->c.argc = 1;
    if (a1 != NULL) {
        t->c.argv[1] = a1;
        t->c.argvlen[1] = strlen(a1);
        t->c.argc = 2;
    }
    t->c.done = on_done;
}

/* Plays the loop until every one of n commands came back or ms passed. */
static int run_loop(ea_redis_async *a, struct tcmd *cmds, int n, int ms)
{
    int64_t end = ea_time_now_ms() + ms;
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++)
            left += cmds[i].done_count == 0;
        if (left == 0 || ea_time_now_ms() >= end)
            return left;
        struct pollfd p = {.fd = ea_redis_async_fd(a), .events = POLLIN};
        if (poll(&p, 1, 10) > 0)
            ea_redis_async_complete(a);
    }
}

static void test_pipelined_in_order(void)
{
    peer_start(P_ANSWER);
    ea_redis_async *a = client(peer.rp.port, 1000, 1000, 1000);
    enum { N = 200 };
    static struct tcmd cmds[N];
    static char words[N][16];
    done_seq = 0;
    for (int i = 0; i < N; i++) {
        snprintf(words[i], sizeof(words[i]), "w%d", i);
        set_cmd(&cmds[i], -1, "ECHO", words[i]);
        EA_CHECK(ea_redis_async_submit(a, &cmds[i].c) == EA_OK);
    }
    EA_CHECK(ea_redis_async_pending(a) == N);
    EA_CHECK(run_loop(a, cmds, N, 5000) == 0);
    int in_order = 0;
    for (int i = 0; i < N; i++)
        in_order += cmds[i].status == EA_OK && strcmp(cmds[i].text, words[i]) == 0 &&
                    cmds[i].order == i && cmds[i].done_count == 1;
    EA_CHECK(in_order == N);
    EA_CHECK(ea_redis_async_pending(a) == 0);
    EA_CHECK(atomic_load(&peer.rp.accepted) == 1);
    char why[256];
    EA_CHECK(!ea_redis_async_error(a, why, sizeof(why)));
    ea_redis_async_free(a);
    peer_end();
}

static void test_script_evalsha_then_eval_after_noscript(void)
{
    peer_start(P_NOSCRIPT_ONCE);
    ea_redis_async *a = client(peer.rp.port, 1000, 1000, 100);
    struct tcmd cmds[2];
    set_cmd(&cmds[0], 0, "0", NULL); /* numkeys 0 */
    set_cmd(&cmds[1], 0, "0", NULL);
    EA_CHECK(ea_redis_async_submit(a, &cmds[0].c) == EA_OK);
    EA_CHECK(run_loop(a, cmds, 1, 3000) == 0);
    /* NOSCRIPT on the first EVALSHA: sent once more as EVAL with the whole script */
    EA_CHECK(cmds[0].status == EA_OK && cmds[0].integer == 2);
    EA_CHECK(atomic_load(&peer.script_loads) == 1 && atomic_load(&peer.evalsha) == 1 &&
             atomic_load(&peer.eval) == 1);
    EA_CHECK(ea_redis_async_submit(a, &cmds[1].c) == EA_OK);
    EA_CHECK(run_loop(a, &cmds[1], 1, 3000) == 0);
    /* later commands run by EVALSHA with the SHA that SCRIPT LOAD gave */
    EA_CHECK(cmds[1].status == EA_OK && cmds[1].integer == 1);
    EA_CHECK(atomic_load(&peer.evalsha) == 2 && atomic_load(&peer.eval) == 1);
    /* a script number the client does not have is refused at submit */
    struct tcmd bad;
    set_cmd(&bad, 1, "0", NULL);
    EA_CHECK(ea_redis_async_submit(a, &bad.c) == EA_ERR_INVALID);
    ea_redis_async_free(a);
    peer_end();
}

static void test_silent_server_fails_within_timeout_then_fast(void)
{
    peer_start(P_SILENT);
    ea_redis_async *a = client(peer.rp.port, 200, 1000, 100);
    enum { N = 5 };
    struct tcmd cmds[N];
    for (int i = 0; i < N; i++) {
        set_cmd(&cmds[i], -1, "PING", NULL);
        EA_CHECK(ea_redis_async_submit(a, &cmds[i].c) == EA_OK);
    }
    int64_t t0 = ea_time_now_ms();
    EA_CHECK(run_loop(a, cmds, N, 3000) == 0);
    int64_t ms = ea_time_now_ms() - t0;
    EA_CHECK(ms >= 150 && ms < 2000);
    int failed = 0;
    for (int i = 0; i < N; i++)
        failed += cmds[i].status == EA_ERR_UNAVAILABLE && cmds[i].ran && cmds[i].done_count == 1;
    EA_CHECK(failed == N);
    char why[256];
    EA_CHECK(ea_redis_async_error(a, why, sizeof(why)) && strstr(why, "timed out") != NULL);
    /* within retry_ms: fails at once, without a new connection */
    struct tcmd more;
    set_cmd(&more, -1, "PING", NULL);
    t0 = ea_time_now_ms();
    EA_CHECK(ea_redis_async_submit(a, &more.c) == EA_OK);
    EA_CHECK(run_loop(a, &more, 1, 3000) == 0);
    EA_CHECK(more.status == EA_ERR_UNAVAILABLE && ea_time_now_ms() - t0 < 150);
    EA_CHECK(atomic_load(&peer.rp.accepted) == 1);
    ea_redis_async_free(a);
    peer_end();
}

static void test_refused_connect_and_queue_bound(void)
{
    peer_start(P_ANSWER); /* bound and closed: nothing listens on the port */
    int port = peer.rp.port;
    peer_end();
    ea_redis_async *a = client(port, 300, 1000, 3);
    struct tcmd cmds[4];
    for (int i = 0; i < 4; i++)
        set_cmd(&cmds[i], -1, "PING", NULL);
    for (int i = 0; i < 3; i++)
        EA_CHECK(ea_redis_async_submit(a, &cmds[i].c) == EA_OK);
    EA_CHECK(ea_redis_async_submit(a, &cmds[3].c) == EA_ERR_LIMIT); /* queue_max 3 */
    EA_CHECK(run_loop(a, cmds, 3, 3000) == 0);
    for (int i = 0; i < 3; i++)
        EA_CHECK(cmds[i].status == EA_ERR_UNAVAILABLE);
    EA_CHECK(cmds[3].done_count == 0);
    char why[256], where[32];
    snprintf(where, sizeof(where), "127.0.0.1:%d", port);
    EA_CHECK(ea_redis_async_error(a, why, sizeof(why)) && strstr(why, where) != NULL);
    ea_redis_async_free(a);
}

static void test_free_returns_every_command(void)
{
    peer_start(P_SILENT);
    ea_redis_async *a = client(peer.rp.port, 5000, 1000, 100);
    enum { N = 20 };
    struct tcmd cmds[N];
    for (int i = 0; i < N; i++) {
        set_cmd(&cmds[i], -1, "PING", NULL);
        EA_CHECK(ea_redis_async_submit(a, &cmds[i].c) == EA_OK);
    }
    usleep(100 * 1000); /* sent and waiting for replies that never come */
    ea_redis_async_free(a);
    int once = 0;
    for (int i = 0; i < N; i++)
        once += cmds[i].done_count == 1 && cmds[i].status == EA_ERR_UNAVAILABLE;
    EA_CHECK(once == N);
    peer_end();
}

EA_TEST_MAIN(EA_TEST(test_pipelined_in_order),
             EA_TEST(test_script_evalsha_then_eval_after_noscript),
             EA_TEST(test_silent_server_fails_within_timeout_then_fast),
             EA_TEST(test_refused_connect_and_queue_bound),
             EA_TEST(test_free_returns_every_command))
