/*
 * pubsub.c — Redis pub/sub reader thread → pipe → event loop (see pubsub.h).
 *
 * Thread cycle: connect → SUBSCRIBE changes alerts → wait for both confirmations → mark the
 * cache live → loop { read a message; for the changes channel drop the buckets it names from
 * the cache; write [u8 kind][u32 len][bytes] to the pipe }. Any error: mark the cache down, drop
 * the connection, wait 1 s, start over. The thread waits in poll() on the Redis socket and a
 * stop pipe, so gql_pubsub_stop() ends it at once.
 *
 * A quiet subscription is asked PING every PING_EVERY_MS; no reply of any kind within
 * PONG_WITHIN_MS of one is an error like a closed connection. Without it, a Redis that stops
 * answering without closing the socket (a stopped process, a dropped route, a managed Redis's
 * failover) left the cache live — serving answers whose invalidations could no longer arrive —
 * until TCP keepalive noticed, tens of seconds later.
 *
 * Why the cache goes live only once the subscription is confirmed: a change published before
 * then was committed before, so every bucket read after going live includes it; a change
 * published after then is received here. While down, the cache serves and stores nothing.
 */
#include "pubsub.h"
#include "ea_log.h"
#include "ea_redis.h"
#include "ea_time.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MSG (8u << 20)  /* a change message larger than this is dropped (and logged) */
#define PING_EVERY_MS 1000  /* a quiet subscription is asked PING this often... */
#define PONG_WITHIN_MS 1000 /* ...and is dead without a reply this long after the PING */

struct gql_pubsub {
    const ea_redis_url *url;
    char *changes, *alerts;
    int msg_pipe[2];  /* thread writes [1], loop reads [0] */
    int stop_pipe[2]; /* stop writes [1], thread polls [0] */
    pthread_t thread;
    h2o_socket_t *sock;
    gql_pubsub_fn fn;
    void *ud;
    gql_bcache *cache;
    bool down_logged; /* one warning per outage, not one per retry */
};

static bool write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* One message of either channel as JSON with its tenant (*tenant points into it); NULL, logged,
 * when it is not a JSON object naming a tenant. The caller decrefs. */
static json_t *parse(const char *msg, size_t len, const char *what, const char **tenant)
{
    json_error_t je;
    json_t *m = json_loadb(msg, len, 0, &je);
    *tenant = json_string_value(json_object_get(m, "tenant"));
    if (*tenant == NULL) {
        ea_log_warn("redis", "%s message without a tenant ignored", what);
        json_decref(m);
        return NULL;
    }
    return m;
}

void gql_pubsub_apply(gql_bcache *cache, const char *msg, size_t len)
{
    const char *tenant;
    json_t *m = parse(msg, len, "change", &tenant);
    if (m == NULL)
        return;
    /* a batch names every changed row (one per dims): drop each (metric, granularity, bucket)
     * once */
    json_t *seen = json_object();
    static const char *const lists[] = {"changes", "closed"};
    for (int li = 0; li < 2; li++) {
        size_t i;
        json_t *ch;
        json_array_foreach(json_object_get(m, lists[li]), i, ch)
        {
            const char *metric = json_string_value(json_object_get(ch, "metric"));
            const char *g = json_string_value(json_object_get(ch, "granularity"));
            const char *b = json_string_value(json_object_get(ch, "bucket"));
            if (metric == NULL)
                continue;
            char key[600];
            snprintf(key, sizeof(key), "%s\t%s\t%s", metric, g ? g : "", b ? b : "");
            if (json_object_get(seen, key) != NULL)
                continue;
            json_object_set_new(seen, key, json_true());
            int64_t start;
            bool day = g != NULL && strcmp(g, "DAY") == 0;
            bool hour = g != NULL && strcmp(g, "HOUR") == 0;
            if (b == NULL || (!day && !hour) || !ea_time_parse_iso8601(b, strlen(b), &start)) {
                /* no bucket (a definition changed), or one this reader does not know: all of it */
                gql_bcache_invalidate(cache, tenant, metric, true, false, 0, 0);
                continue;
            }
            gql_bcache_invalidate(cache, tenant, metric, false, day, start,
                                  start + (day ? EA_MS_PER_DAY : EA_MS_PER_HOUR));
        }
    }
    json_decref(seen);
    json_decref(m);
}

/* Waits for the next reply on c or a stop request: 1 reply, 0 stop, -1 error (err says). A
 * subscribed connection is quiet until something is published, so the wait sends PING when it
 * has heard nothing for PING_EVERY_MS, and fails when that PING is not answered in time. */
static int next_reply(gql_pubsub *p, ea_redis *c, redisReply **out, struct ea_err *err)
{
    int64_t heard = ea_time_mono_ns() / 1000000, pinged = 0;
    for (;;) {
        int n = ea_redis_reply_take(c, out, err);
        if (n != 0)
            return n; /* any reply (a message, a pong) shows the connection alive */
        int64_t now = ea_time_mono_ns() / 1000000;
        if (pinged == 0 && now - heard >= PING_EVERY_MS) {
            if (ea_redis_append(c, err, "PING") != EA_OK)
                return -1;
            pinged = now;
        }
        int64_t wait = (pinged != 0 ? pinged + PONG_WITHIN_MS : heard + PING_EVERY_MS) - now;
        struct pollfd fds[2] = {{.fd = ea_redis_fd(c), .events = ea_redis_poll_events(c)},
                                {.fd = p->stop_pipe[0], .events = POLLIN}};
        /* past the deadline (this thread was not scheduled for a while) the poll still looks
         * once, without waiting: a pong that did arrive is read, not taken for silence */
        int ready = poll(fds, 2, wait > 0 ? (int)wait : 0);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            ea_err_set(err, EA_ERR_IO, "could not wait for Redis pub/sub: %s", strerror(errno));
            return -1;
        }
        if (ready == 0) {
            if (pinged != 0 && ea_time_mono_ns() / 1000000 - pinged >= PONG_WITHIN_MS) {
                ea_err_set(err, EA_ERR_UNAVAILABLE,
                           "Redis did not answer a PING on the pub/sub connection within %d ms",
                           PONG_WITHIN_MS);
                return -1;
            }
            continue;
        }
        if (fds[1].revents)
            return 0;
        if (ea_redis_io(c, err) != EA_OK)
            return -1;
    }
}

/* One connected session. Returns 0 when stopping, -1 on an error (reconnect). */
static int session(gql_pubsub *p)
{
    struct ea_err err = {0};
    snprintf(err.message, sizeof(err.message), "could not subscribe to Redis pub/sub");
    int rc = -1;
    ea_redis *sub = ea_redis_connect(p->url, 1000, &err);
    if (sub == NULL)
        goto out;
    /* the confirmations are ordinary replies: take them with the connect timeout */
    if (ea_redis_append(sub, &err, "SUBSCRIBE %s %s", p->changes, p->alerts) != EA_OK)
        goto out;
    for (int confirmed = 0; confirmed < 2; confirmed++) {
        redisReply *r = ea_redis_reply(sub, "subscribe", &err);
        if (r == NULL)
            goto out;
        freeReplyObject(r);
    }
    gql_bcache_set_live(p->cache, true);
    ea_log_info("redis", "subscribed to %s and %s", p->changes, p->alerts);
    p->down_logged = false;
    for (;;) {
        redisReply *r;
        int n = next_reply(p, sub, &r, &err);
        if (n <= 0) {
            rc = n;
            goto out;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(r->element[0]->str, "message") == 0 &&
            r->element[2]->type == REDIS_REPLY_STRING) {
            uint8_t alert = strcmp(r->element[1]->str, p->alerts) == 0;
            const char *msg = r->element[2]->str;
            uint32_t len = (uint32_t)r->element[2]->len;
            if (len > MAX_MSG) {
                /* its changes are unknown: nothing cached may be trusted */
                ea_log_warn("redis", "message of %u bytes dropped; cache flushed", len);
                if (!alert)
                    gql_bcache_set_live(p->cache, true);
            } else {
                if (!alert)
                    gql_pubsub_apply(p->cache, msg, len);
                if (!write_all(p->msg_pipe[1], &alert, 1) ||
                    !write_all(p->msg_pipe[1], &len, sizeof(len)) ||
                    !write_all(p->msg_pipe[1], msg, len)) {
                    freeReplyObject(r);
                    rc = 0; /* the loop side is gone */
                    goto out;
                }
            }
        }
        freeReplyObject(r);
    }
out:
    gql_bcache_set_live(p->cache, false);
    if (rc < 0 && !p->down_logged) {
        ea_log_warn("redis",
                    "%s; retrying every second (answers come from the database "
                    "meanwhile)",
                    err.message);
        p->down_logged = true;
    }
    ea_redis_free(sub);
    return rc;
}

static void *thread_main(void *arg)
{
    gql_pubsub *p = arg;
    while (session(p) != 0) {
        struct pollfd fd = {.fd = p->stop_pipe[0], .events = POLLIN};
        if (poll(&fd, 1, 1000) > 0)
            break;
    }
    return NULL;
}

/* Loop side: parse whole frames from the pipe's input buffer and dispatch them. */
static void on_pipe_read(h2o_socket_t *sock, const char *err)
{
    gql_pubsub *p = sock->data;
    if (err != NULL) {
        h2o_socket_read_stop(sock);
        return;
    }
    h2o_buffer_t *in = sock->input;
    while (in->size >= 5) {
        uint32_t len;
        memcpy(&len, in->bytes + 1, sizeof(len));
        if (in->size < 5 + (size_t)len)
            break;
        int is_alert = in->bytes[0] != 0;
        const char *tenant;
        json_t *m = parse(in->bytes + 5, len, is_alert ? "alert" : "change", &tenant);
        if (m != NULL)
            p->fn(p->ud, is_alert, m, tenant);
        json_decref(m);
        h2o_buffer_consume(&sock->input, 5 + (size_t)len);
        in = sock->input;
    }
}

gql_pubsub *gql_pubsub_start(h2o_loop_t *loop, const ea_redis_url *redis_url,
                             const char *changes_channel, const char *alerts_channel,
                             gql_bcache *cache, gql_pubsub_fn fn, void *ud)
{
    gql_pubsub *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->msg_pipe[0] = p->msg_pipe[1] = p->stop_pipe[0] = p->stop_pipe[1] = -1;
    p->url = redis_url;
    p->changes = strdup(changes_channel);
    p->alerts = strdup(alerts_channel);
    p->fn = fn;
    p->ud = ud;
    p->cache = cache;
    if (p->changes == NULL || p->alerts == NULL || pipe2(p->msg_pipe, O_CLOEXEC) != 0 ||
        pipe2(p->stop_pipe, O_CLOEXEC) != 0)
        goto fail;
    fcntl(p->msg_pipe[0], F_SETFL, O_NONBLOCK);
    p->sock = h2o_evloop_socket_create(loop, p->msg_pipe[0], 0);
    p->msg_pipe[0] = -1; /* owned by the socket now */
    p->sock->data = p;
    h2o_socket_read_start(p->sock, on_pipe_read);
    if (pthread_create(&p->thread, NULL, thread_main, p) != 0) {
        h2o_socket_close(p->sock);
        p->sock = NULL;
        goto fail;
    }
    return p;
fail:
    for (int i = 0; i < 2; i++) {
        if (p->msg_pipe[i] >= 0)
            close(p->msg_pipe[i]);
        if (p->stop_pipe[i] >= 0)
            close(p->stop_pipe[i]);
    }
    free(p->changes);
    free(p->alerts);
    free(p);
    return NULL;
}

void gql_pubsub_stop(gql_pubsub *p)
{
    if (p == NULL)
        return;
    /* close the reading side first: a thread blocked writing to a full pipe gets EPIPE
     * (SIGPIPE is ignored by lib/http) instead of waiting forever */
    h2o_socket_close(p->sock);
    char b = 1;
    (void)!write(p->stop_pipe[1], &b, 1);
    pthread_join(p->thread, NULL);
    close(p->msg_pipe[1]);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    free(p->changes);
    free(p->alerts);
    free(p);
}
