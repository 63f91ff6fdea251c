/*
 * ea_test_resp.h — a scripted Redis (RESP) peer for unit tests that talk to Redis through our
 * clients (tests/unit/redis, tests/unit/ratelimit): a thread accepts one connection at a time on a
 * loopback port, splits what it reads into commands (RESP arrays of bulk strings) and hands each
 * to the test's handler, which writes whatever reply — or none — the test scripts. One home for
 * the framing, so each test holds only its answers.
 */
#ifndef EA_TEST_RESP_H
#define EA_TEST_RESP_H

#include "ea_test_net.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EA_TEST_RESP_NARGS 8   /* arguments kept per command (more are read and dropped) */
#define EA_TEST_RESP_ARGLEN 64 /* each kept argument, truncated, NUL-terminated */

typedef struct ea_test_resp_peer ea_test_resp_peer;
struct ea_test_resp_peer {
    /* set by the test: one command of connection c (conn_flag: false on each new connection,
     * the handler's to use) */
    void (*on_cmd)(int c, char argv[EA_TEST_RESP_NARGS][EA_TEST_RESP_ARGLEN], int argc,
                   bool *conn_flag);
    /* kept by the peer */
    int fd, port;
    atomic_int accepted, stop;
    pthread_t thread;
};

/* Parses one RESP array of bulk strings from buf[0..len) (NUL-terminated at len): the bytes it
 * took (0: not complete yet), the first EA_TEST_RESP_NARGS arguments into argv, *argc of them. */
static inline size_t ea_test_resp_parse(const char *buf, size_t len,
                                        char argv[EA_TEST_RESP_NARGS][EA_TEST_RESP_ARGLEN],
                                        int *argc)
{
    const char *p = buf, *end = buf + len;
    if (p >= end || *p != '*')
        return 0;
    char *e;
    long n = strtol(p + 1, &e, 10);
    if (e + 2 > end)
        return 0;
    p = e + 2;
    *argc = 0;
    for (long i = 0; i < n; i++) {
        if (p >= end || *p != '$')
            return 0;
        long l = strtol(p + 1, &e, 10);
        if (e + 2 + l + 2 > end)
            return 0;
        const char *s = e + 2;
        if (i < EA_TEST_RESP_NARGS) {
            int k = (int)(l < EA_TEST_RESP_ARGLEN - 1 ? l : EA_TEST_RESP_ARGLEN - 1);
            memcpy(argv[i], s, (size_t)k);
            argv[i][k] = '\0';
            *argc = (int)i + 1;
        }
        p = s + l + 2;
    }
    return (size_t)(p - buf);
}

static inline void *ea_test_resp_run(void *arg)
{
    ea_test_resp_peer *peer = arg;
    static char buf[65536 + 1]; /* one peer at a time */
    for (;;) {
        int c = accept(peer->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        atomic_fetch_add(&peer->accepted, 1);
        size_t have = 0;
        bool conn_flag = false;
        for (;;) {
            struct pollfd p = {.fd = c, .events = POLLIN};
            if (poll(&p, 1, 20) == 0) {
                if (atomic_load(&peer->stop))
                    break;
                continue;
            }
            ssize_t n = recv(c, buf + have, sizeof(buf) - 1 - have, 0);
            if (n <= 0)
                break;
            have += (size_t)n;
            buf[have] = '\0'; /* strtol in the parser stops here */
            for (;;) {
                char argv[EA_TEST_RESP_NARGS][EA_TEST_RESP_ARGLEN];
                int argc = 0;
                size_t used = ea_test_resp_parse(buf, have, argv, &argc);
                if (used == 0)
                    break;
                memmove(buf, buf + used, have - used);
                have -= used;
                buf[have] = '\0';
                peer->on_cmd(c, argv, argc, &conn_flag);
            }
        }
        close(c);
    }
}

/* Listens on a free loopback port (peer->port) and starts the thread; false when it could not. */
static inline bool ea_test_resp_start(ea_test_resp_peer *peer)
{
    atomic_store(&peer->accepted, 0);
    atomic_store(&peer->stop, 0);
    peer->fd = ea_test_loopback(&peer->port, 1);
    if (peer->fd < 0)
        return false;
    return pthread_create(&peer->thread, NULL, ea_test_resp_run, peer) == 0;
}

/* Closes the connection (at the next idle poll) and the listener, and joins the thread. */
static inline void ea_test_resp_end(ea_test_resp_peer *peer)
{
    atomic_store(&peer->stop, 1);
    shutdown(peer->fd, SHUT_RDWR);
    pthread_join(peer->thread, NULL);
    close(peer->fd);
}

#endif
