/*
 * ea_redis_async.c — the thread behind ea_redis_async.h.
 *
 * State: one mutex guards what the loop and the thread share — the submitted list (`in`), the
 * finished list (`fin`), `signaled`, `stopping` and the last error. Everything else belongs to
 * one side: the connection, the in-flight FIFO and retry_at to the thread; `pending` to the loop.
 *
 * Thread cycle (thread_main):
 *   take `in` ─▶ connect if needed ─▶ format + queue each (EVALSHA for scripts) ─▶ send
 *   ─▶ post what finished ─▶ poll(wake pipe, socket; until the oldest command's deadline)
 *   ─▶ send/read what is ready, match replies to the FIFO ─▶ deadline passed? break the connection
 *
 * Invariants:
 * 1. Replies match commands in order: the FIFO holds exactly the commands written to the current
 *    connection and not answered; when the connection breaks, every one of them fails at once.
 * 2. Every submitted command comes back through done() exactly once, on the loop thread — also
 *    at shutdown (in flight: failed; never taken: ran false).
 * 3. A wake byte to the loop is unread at most once per batch of finished commands (`signaled`);
 *    complete() drains the pipe before taking the list, so nothing finished is left behind.
 *    Towards the thread, a byte is written when `in` goes from empty to non-empty; the thread
 *    drains its pipe before it takes `in`, so it never sleeps with commands waiting.
 * 4. The thread is the only one that blocks: connects and SCRIPT LOADs are bounded by the
 *    timeout, poll() by the oldest command's deadline.
 */
#include "ea_thread.h"
#include "ea_redis_async.h"
#include "ea_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cmd_list {
    ea_redis_cmd *head, *tail;
};

struct ea_redis_async {
    ea_redis_url url;
    int timeout_ms, retry_ms;
    size_t queue_max;
    char **scripts;
    size_t nscripts;
    pthread_t thread;
    bool started;
    int wake[2];  /* loop → thread */
    int ready[2]; /* thread → loop */
    /* shared, under mu */
    pthread_mutex_t mu;
    struct cmd_list in, fin;
    bool signaled, stopping;
    char error[512];
    /* loop thread only */
    size_t pending;
    /* the thread only */
    ea_redis *conn;
    char (*sha)[41]; /* per script, for the current connection */
    struct cmd_list flight;
    int64_t retry_at;
    bool error_set; /* mirror of error[0] != '\0' */
};

static int64_t now_ms(void)
{
    return ea_time_mono_ns() / 1000000;
}

static void list_push(struct cmd_list *l, ea_redis_cmd *c)
{
    c->next = NULL;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static ea_redis_cmd *list_pop(struct cmd_list *l)
{
    ea_redis_cmd *c = l->head;
    if (c != NULL) {
        l->head = c->next;
        if (l->head == NULL)
            l->tail = NULL;
        c->next = NULL;
    }
    return c;
}

static void list_append(struct cmd_list *to, struct cmd_list *from)
{
    if (from->head == NULL)
        return;
    if (to->tail != NULL)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

/* ---- the thread ------------------------------------------------------------------------------ */

static void set_error(ea_redis_async *a, const char *why)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->error, sizeof(a->error), "%s", why);
    pthread_mutex_unlock(&a->mu);
    a->error_set = true;
}

static void clear_error(ea_redis_async *a)
{
    if (!a->error_set)
        return;
    pthread_mutex_lock(&a->mu);
    a->error[0] = '\0';
    pthread_mutex_unlock(&a->mu);
    a->error_set = false;
}

/* Hands finished commands to the loop (invariant 3). */
static void post(ea_redis_async *a, struct cmd_list *done)
{
    if (done->head == NULL)
        return;
    pthread_mutex_lock(&a->mu);
    list_append(&a->fin, done);
    if (!a->signaled) {
        a->signaled = true;
        char b = 1;
        ssize_t w = write(a->ready[1], &b, 1); /* a full pipe wakes the loop just the same */
        (void)w;
    }
    pthread_mutex_unlock(&a->mu);
}

static void finish(struct cmd_list *done, ea_redis_cmd *c, ea_rc status, redisReply *reply)
{
    c->status = status;
    c->reply = reply;
    c->ran = true;
    list_push(done, c);
}

/* The connection failed (why): every command in flight fails (invariant 1). */
static void conn_failed(ea_redis_async *a, const char *why, bool timed_out, struct cmd_list *done)
{
    /* an idle connection the server closed (a restart, its idle timeout) is no failure: the
     * next command connects again */
    if (a->flight.head != NULL || timed_out)
        set_error(a, why);
    for (ea_redis_cmd *c; (c = list_pop(&a->flight)) != NULL;)
        finish(done, c, EA_ERR_UNAVAILABLE, NULL);
    ea_redis_free(a->conn);
    a->conn = NULL;
    /* a stalled server would cost the next command the whole timeout again */
    if (timed_out)
        a->retry_at = now_ms() + a->retry_ms;
}

static bool connect_now(ea_redis_async *a)
{
    if (now_ms() < a->retry_at)
        return false;
    struct ea_err err;
    ea_err_clear(&err);
    a->conn = ea_redis_connect(&a->url, a->timeout_ms, &err);
    for (size_t i = 0; a->conn != NULL && i < a->nscripts; i++) {
        redisReply *r =
            ea_redis_command(a->conn, "load a script", &err, "SCRIPT LOAD %s", a->scripts[i]);
        bool ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40;
        if (ok)
            memcpy(a->sha[i], r->str, 41);
        else if (r != NULL)
            ea_err_set(&err, EA_ERR_REDIS, "could not load a script: unexpected reply");
        if (r != NULL)
            freeReplyObject(r);
        if (!ok) {
            ea_redis_free(a->conn);
            a->conn = NULL;
        }
    }
    if (a->conn == NULL) {
        set_error(a, err.message[0] != '\0' ? err.message : "could not connect to redis");
        a->retry_at = now_ms() + a->retry_ms;
        return false;
    }
    return true;
}

/* Formats c onto the connection. */
static ea_rc queue_cmd(ea_redis_async *a, ea_redis_cmd *c, struct ea_err *err)
{
    const char *argv[EA_REDIS_ASYNC_MAX_ARGS + 2];
    size_t len[EA_REDIS_ASYNC_MAX_ARGS + 2];
    int n = 0;
    if (c->script >= 0) {
        const char *body = c->as_eval ? a->scripts[c->script] : a->sha[c->script];
        argv[n] = c->as_eval ? "EVAL" : "EVALSHA";
        len[n] = strlen(argv[n]);
        n++;
        argv[n] = body;
        len[n] = strlen(body);
        n++;
    }
    for (int i = 0; i < c->argc; i++, n++) {
        argv[n] = c->argv[i];
        len[n] = c->argvlen[i];
    }
    return ea_redis_append_argv(a->conn, err, n, argv, len);
}

/* Sends what can be sent and takes every reply that arrived. */
static void io_step(ea_redis_async *a, struct cmd_list *done)
{
    struct ea_err err;
    ea_err_clear(&err);
    for (int round = 0; round < 2; round++) {
        if (ea_redis_io(a->conn, &err) != EA_OK) {
            conn_failed(a, err.message, false, done);
            return;
        }
        bool resent = false;
        for (;;) {
            redisReply *r;
            int n = ea_redis_reply_take(a->conn, &r, &err);
            if (n < 0) {
                conn_failed(a, err.message, false, done);
                return;
            }
            if (n == 0)
                break;
            ea_redis_cmd *c = list_pop(&a->flight);
            if (c == NULL) {
                freeReplyObject(r);
                conn_failed(a, "could not read from redis: a reply nobody asked for", false, done);
                return;
            }
            clear_error(a);
            if (c->script >= 0 && !c->as_eval && r->type == REDIS_REPLY_ERROR &&
                strncmp(r->str, "NOSCRIPT", 8) == 0) {
                /* the server lost the script (SCRIPT FLUSH): send it whole, once */
                freeReplyObject(r);
                c->as_eval = true;
                if (queue_cmd(a, c, &err) != EA_OK) {
                    finish(done, c, err.code, NULL);
                    continue;
                }
                c->sent_ms = now_ms();
                list_push(&a->flight, c);
                resent = true;
                continue;
            }
            finish(done, c, EA_OK, r);
        }
        if (!resent)
            return;
    }
}

static void send_batch(ea_redis_async *a, ea_redis_cmd *batch, struct cmd_list *done)
{
    if (a->conn == NULL && !connect_now(a)) {
        for (ea_redis_cmd *c = batch, *next; c != NULL; c = next) {
            next = c->next;
            finish(done, c, EA_ERR_UNAVAILABLE, NULL);
        }
        return;
    }
    int64_t now = now_ms();
    struct ea_err err;
    for (ea_redis_cmd *c = batch, *next; c != NULL; c = next) {
        next = c->next;
        c->as_eval = false;
        if (queue_cmd(a, c, &err) != EA_OK) {
            finish(done, c, err.code, NULL);
            continue;
        }
        c->sent_ms = now;
        list_push(&a->flight, c);
    }
    io_step(a, done);
}

static void *thread_main(void *arg)
{
    ea_redis_async *a = arg;
    struct cmd_list done = {0};
    for (;;) {
        pthread_mutex_lock(&a->mu);
        bool stop = a->stopping;
        ea_redis_cmd *batch = NULL;
        if (!stop) {
            batch = a->in.head;
            a->in.head = a->in.tail = NULL;
        }
        pthread_mutex_unlock(&a->mu);
        if (stop)
            break;
        if (batch != NULL)
            send_batch(a, batch, &done);
        post(a, &done);

        struct pollfd p[2] = {{.fd = a->wake[0], .events = POLLIN}};
        nfds_t n = 1;
        if (a->conn != NULL) {
            p[1] = (struct pollfd){.fd = ea_redis_fd(a->conn),
                                   .events = ea_redis_poll_events(a->conn)};
            n = 2;
        }
        int timeout = -1;
        if (a->flight.head != NULL) {
            int64_t left = a->flight.head->sent_ms + a->timeout_ms - now_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        int r = poll(p, n, timeout);
        if (r < 0 && errno != EINTR)
            break; /* cannot happen with valid descriptors; the loop gets every command back */
        if (p[0].revents != 0)
            drain(a->wake[0]);
        if (n == 2 && p[1].revents != 0)
            io_step(a, &done);
        if (a->flight.head != NULL && now_ms() >= a->flight.head->sent_ms + a->timeout_ms) {
            char why[600];
            snprintf(why, sizeof(why), "could not get a reply from redis: timed out after %d ms",
                     a->timeout_ms);
            conn_failed(a, why, true, &done);
        }
        post(a, &done);
    }
    for (ea_redis_cmd *c; (c = list_pop(&a->flight)) != NULL;)
        finish(&done, c, EA_ERR_UNAVAILABLE, NULL);
    post(a, &done);
    ea_redis_free(a->conn);
    a->conn = NULL;
    return NULL;
}

/* ---- the loop side --------------------------------------------------------------------------- */

ea_redis_async *ea_redis_async_new(const ea_redis_async_config *cfg, struct ea_err *err)
{
    ea_redis_async *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the redis client: out of memory");
        return NULL;
    }
    a->url = *cfg->url;
    a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 1;
    a->retry_ms = cfg->retry_ms;
    a->queue_max = cfg->queue_max > 0 ? cfg->queue_max : 1;
    a->wake[0] = a->wake[1] = a->ready[0] = a->ready[1] = -1;
    pthread_mutex_init(&a->mu, NULL);
    a->nscripts = cfg->nscripts;
    a->scripts = calloc(cfg->nscripts + 1, sizeof(*a->scripts));
    a->sha = calloc(cfg->nscripts + 1, sizeof(*a->sha));
    bool ok = a->scripts != NULL && a->sha != NULL;
    for (size_t i = 0; ok && i < cfg->nscripts; i++)
        ok = (a->scripts[i] = strdup(cfg->scripts[i])) != NULL;
    if (!ok) {
        ea_err_set(err, EA_ERR_NOMEM, "could not start the redis client: out of memory");
        goto fail;
    }
    if (pipe2(a->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        pipe2(a->ready, O_NONBLOCK | O_CLOEXEC) != 0) {
        ea_err_set(err, EA_ERR_IO, "could not start the redis client: pipe: %s", strerror(errno));
        goto fail;
    }
    int rc = ea_thread_start(&a->thread, thread_main, a); /* signals belong to the loop thread */
    if (rc != 0) {
        ea_err_set(err, EA_ERR_IO, "could not start the redis client thread: %s", strerror(rc));
        goto fail;
    }
    a->started = true;
    char name[16];
    snprintf(name, sizeof(name), "%.15s", cfg->name != NULL ? cfg->name : "redis");
    pthread_setname_np(a->thread, name);
    return a;
fail:
    ea_redis_async_free(a);
    return NULL;
}

ea_rc ea_redis_async_submit(ea_redis_async *a, ea_redis_cmd *c)
{
    if (c->argc < 0 || c->argc > EA_REDIS_ASYNC_MAX_ARGS || (c->script < 0 && c->argc == 0) ||
        (c->script >= 0 && (size_t)c->script >= a->nscripts))
        return EA_ERR_INVALID;
    if (a->pending >= a->queue_max)
        return EA_ERR_LIMIT;
    c->status = EA_ERR_UNAVAILABLE;
    c->reply = NULL;
    c->ran = false;
    c->as_eval = false;
    pthread_mutex_lock(&a->mu);
    if (a->stopping) {
        pthread_mutex_unlock(&a->mu);
        return EA_ERR_LIMIT;
    }
    bool was_empty = a->in.head == NULL;
    list_push(&a->in, c);
    if (was_empty) {
        char b = 1;
        ssize_t w = write(a->wake[1], &b, 1);
        (void)w;
    }
    pthread_mutex_unlock(&a->mu);
    a->pending++;
    return EA_OK;
}

int ea_redis_async_fd(const ea_redis_async *a)
{
    return a->ready[0];
}

static void run_done(ea_redis_async *a, ea_redis_cmd *c)
{
    redisReply *r = c->reply;
    a->pending--;
    c->done(c); /* may free c */
    if (r != NULL)
        freeReplyObject(r);
}

void ea_redis_async_complete(ea_redis_async *a)
{
    drain(a->ready[0]);
    pthread_mutex_lock(&a->mu);
    ea_redis_cmd *c = a->fin.head;
    a->fin.head = a->fin.tail = NULL;
    a->signaled = false;
    pthread_mutex_unlock(&a->mu);
    while (c != NULL) {
        ea_redis_cmd *next = c->next;
        c->next = NULL;
        run_done(a, c);
        c = next;
    }
}

bool ea_redis_async_error(ea_redis_async *a, char *buf, size_t cap)
{
    pthread_mutex_lock(&a->mu);
    snprintf(buf, cap, "%s", a->error);
    pthread_mutex_unlock(&a->mu);
    return buf[0] != '\0';
}

size_t ea_redis_async_pending(ea_redis_async *a)
{
    return a->pending;
}

void ea_redis_async_free(ea_redis_async *a)
{
    if (a == NULL)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = true;
        pthread_mutex_unlock(&a->mu);
        char b = 1;
        ssize_t w = write(a->wake[1], &b, 1);
        (void)w;
        pthread_join(a->thread, NULL);
        ea_redis_async_complete(a);
        for (ea_redis_cmd *c; (c = list_pop(&a->in)) != NULL;)
            run_done(a, c); /* never sent: ran false */
    }
    for (int i = 0; i < 2; i++) {
        if (a->wake[i] >= 0)
            close(a->wake[i]);
        if (a->ready[i] >= 0)
            close(a->ready[i]);
    }
    for (size_t i = 0; a->scripts != NULL && i < a->nscripts; i++)
        free(a->scripts[i]);
    free(a->scripts);
    free(a->sha);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
