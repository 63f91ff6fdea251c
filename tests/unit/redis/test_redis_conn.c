/*
 * test_redis_conn.c — lib/redis's connection rules (README "Rules kept here") against a scripted
 * TCP peer in this process that misbehaves on cue: it refuses, stays silent, answers an error,
 * or closes a connection the way a restarted server does — faults a real Redis cannot be made
 * to show at a chosen moment. Checked: the message names the server and never the password; a
 * timeout breaks the connection within its deadline and is not taken for a close; an error reply
 * keeps the connection; PUBLISH is sent once more on a new connection only when the server had
 * closed the old one, never after a timeout. (Redis itself: tests/integration, real
 * redis-server.)
 */
#include "../ea_test.h"
#include "../ea_test_net.h"
#include "ea_redis.h"
#include "ea_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum { CLOSE_AT_ONCE, ANSWER, SILENT } peer_act;

/* What the peer does with each connection it accepts, in order. */
static struct {
    int fd, port;
    peer_act acts[4];
    const char *answers[4][3]; /* per connection, one answer per command read */
    int nconn;
    atomic_int accepted, commands, stop;
    char last[256]; /* the last command bytes read */
} peer;

static void *peer_run(void *arg)
{
    for (int i = 0; i < peer.nconn; i++) {
        int c = accept(peer.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        atomic_fetch_add(&peer.accepted, 1);
        if (peer.acts[i] == CLOSE_AT_ONCE) {
            close(c);
            continue;
        }
        for (int k = 0; k < 3; k++) {
            char buf[256];
            ssize_t n = recv(c, buf, sizeof(buf) - 1, 0);
            if (n <= 0)
                break;
            buf[n] = '\0';
            snprintf(peer.last, sizeof(peer.last), "%s", buf);
            atomic_fetch_add(&peer.commands, 1);
            if (peer.acts[i] == SILENT) {
                while (!atomic_load(&peer.stop))
                    usleep(1000);
                break;
            }
            const char *a = peer.answers[i][k];
            if (a == NULL || send(c, a, strlen(a), MSG_NOSIGNAL) < 0)
                break;
        }
        close(c);
    }
    return NULL;
}

static pthread_t peer_start(void)
{
    peer.fd = ea_test_loopback(&peer.port, 1);
    EA_CHECK(peer.fd >= 0);
    atomic_store(&peer.accepted, 0);
    atomic_store(&peer.commands, 0);
    atomic_store(&peer.stop, 0);
    pthread_t t;
    pthread_create(&t, NULL, peer_run, NULL);
    return t;
}

static void peer_end(pthread_t t)
{
    atomic_store(&peer.stop, 1);
    shutdown(peer.fd, SHUT_RDWR); /* an accept still waiting returns */
    pthread_join(t, NULL);
    close(peer.fd);
}

static ea_redis_url url_of(int port, const char *password)
{
    char text[128];
    if (password != NULL)
        snprintf(text, sizeof(text), "redis://:%s@127.0.0.1:%d", password, port);
    else
        snprintf(text, sizeof(text), "redis://127.0.0.1:%d", port);
    ea_redis_url u;
    struct ea_err err = {0};
    EA_CHECK(ea_redis_url_parse(text, NULL, &u, &err) == EA_OK);
    return u;
}

static void test_refused_names_server_not_password(void)
{
    pthread_t t = peer_start(); /* bound, then closed: nothing listens on the port */
    peer.nconn = 0;
    int port = peer.port;
    peer_end(t);
    ea_redis_url u = url_of(port, "s3cret-pw");
    struct ea_err err = {0};
    EA_CHECK(ea_redis_connect(&u, 500, &err) == NULL);
    char where[32];
    snprintf(where, sizeof(where), "127.0.0.1:%d", port);
    EA_CHECK(strstr(err.message, where) != NULL);
    EA_CHECK(strstr(err.message, "s3cret-pw") == NULL && strstr(err.detail, "s3cret-pw") == NULL);
}

static void test_timeout_breaks_within_deadline(void)
{
    peer.nconn = 1;
    peer.acts[0] = SILENT;
    pthread_t t = peer_start();
    ea_redis_url u = url_of(peer.port, NULL);
    struct ea_err err = {0};
    ea_redis *c = ea_redis_connect(&u, 300, &err);
    EA_CHECK(c != NULL);
    if (c != NULL) {
        int64_t t0 = ea_time_mono_ns();
        redisReply *r = ea_redis_command(c, "ping", &err, "PING");
        int64_t ms = (ea_time_mono_ns() - t0) / 1000000;
        EA_CHECK(r == NULL && err.code == EA_ERR_UNAVAILABLE);
        EA_CHECK(ms >= 250 && ms < 3000);
        EA_CHECK(ea_redis_broken(c) && !ea_redis_closed_by_peer(c));
        struct ea_err e2 = {0};
        EA_CHECK(ea_redis_command(c, "ping", &e2, "PING") == NULL); /* broken stays broken */
        ea_redis_free(c);
    }
    peer_end(t);
}

static void test_error_reply_keeps_connection(void)
{
    peer.nconn = 1;
    peer.acts[0] = ANSWER;
    peer.answers[0][0] = "-ERR unknown command 'NOPE'\r\n";
    peer.answers[0][1] = ":5\r\n";
    peer.answers[0][2] = NULL;
    pthread_t t = peer_start();
    ea_redis_url u = url_of(peer.port, NULL);
    struct ea_err err = {0};
    ea_redis *c = ea_redis_connect(&u, 1000, &err);
    EA_CHECK(c != NULL);
    if (c != NULL) {
        EA_CHECK(ea_redis_command(c, "run nope", &err, "NOPE") == NULL);
        EA_CHECK(err.code == EA_ERR_REDIS && strstr(err.detail, "unknown command") != NULL);
        EA_CHECK(!ea_redis_broken(c));
        ea_err_clear(&err);
        redisReply *r = ea_redis_command(c, "incr", &err, "INCR %s", "k");
        EA_CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 5);
        if (r != NULL)
            freeReplyObject(r);
        ea_redis_free(c);
    }
    peer_end(t);
}

static void test_publish_once_more_after_close(void)
{
    /* connection 1 answers the connect-time nothing and is then closed by the "restarted"
     * server; PUBLISH finds it closed and goes once more on connection 2 */
    peer.nconn = 2;
    peer.acts[0] = CLOSE_AT_ONCE;
    peer.acts[1] = ANSWER;
    peer.answers[1][0] = ":3\r\n";
    peer.answers[1][1] = NULL;
    pthread_t t = peer_start();
    ea_redis_url u = url_of(peer.port, NULL);
    struct ea_err err = {0};
    ea_redis *c = ea_redis_connect(&u, 1000, &err);
    EA_CHECK(c != NULL);
    usleep(50000); /* the close reaches us before the PUBLISH is written */
    long long receivers = -1;
    EA_CHECK(ea_redis_publish(&c, &u, 1000, "ea:changes", "hello", 5, &receivers, &err) == EA_OK);
    EA_CHECK(receivers == 3);
    EA_CHECK(atomic_load(&peer.accepted) == 2 && atomic_load(&peer.commands) == 1);
    EA_CHECK(strstr(peer.last, "PUBLISH") != NULL && strstr(peer.last, "hello") != NULL);
    ea_redis_free(c);
    peer_end(t);
}

static void test_publish_not_again_after_timeout(void)
{
    peer.nconn = 2;
    peer.acts[0] = SILENT; /* read the PUBLISH (it may have run) and never answer */
    peer.acts[1] = ANSWER;
    peer.answers[1][0] = ":1\r\n";
    pthread_t t = peer_start();
    ea_redis_url u = url_of(peer.port, NULL);
    struct ea_err err = {0};
    ea_redis *c = ea_redis_connect(&u, 300, &err);
    EA_CHECK(c != NULL);
    EA_CHECK(ea_redis_publish(&c, &u, 300, "ea:changes", "x", 1, NULL, &err) == EA_ERR_UNAVAILABLE);
    EA_CHECK(atomic_load(&peer.accepted) == 1 && atomic_load(&peer.commands) == 1);
    EA_CHECK(c != NULL && ea_redis_broken(c));
    ea_redis_free(c);
    peer_end(t);
}

EA_TEST_MAIN(EA_TEST(test_refused_names_server_not_password),
             EA_TEST(test_timeout_breaks_within_deadline),
             EA_TEST(test_error_reply_keeps_connection),
             EA_TEST(test_publish_once_more_after_close),
             EA_TEST(test_publish_not_again_after_timeout))
