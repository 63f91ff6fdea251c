/*
 * ea_redis.c — Redis connections (see ea_redis.h): TCP connect with a deadline, the byte
 * transport (plain socket or the TLS session ea_redis_tls.c set up), hiredis's request
 * formatter and reply reader on top, AUTH/SELECT, and PUBLISH with the reconnect-once rule.
 *
 * The socket is non-blocking from the start; every blocking call is a loop of "take a parsed
 * reply, else do non-blocking I/O, else poll until the deadline". Reads always continue until
 * the socket (or TLS) says "would block": TLS may hold decrypted bytes that poll() cannot see,
 * so nothing may be left inside OpenSSL between polls.
 */
#include "ea_redis_int.h"
#include "ea_time.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    return ea_time_mono_ns() / 1000000;
}

static void set_broken(ea_redis *c, bool peer_closed)
{
    c->broken = true;
    c->peer_closed = c->peer_closed || peer_closed;
}

ea_rc ea_redis__wait(ea_redis *c, short events, int64_t deadline, int timeout_ms, const char *what,
                     struct ea_err *err)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = c->fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return EA_OK;
        if (n < 0 && errno != EINTR) {
            set_broken(c, false);
            return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s on %s: poll: %s", what,
                              c->where, strerror(errno));
        }
    }
    set_broken(c, false);
    return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not %s on %s: timed out after %d ms", what,
                      c->where, timeout_ms);
}

/* ---- transport: bytes in and out --------------------------------------------------------- */

void ea_redis__sigpipe_hold(const ea_redis *c, ea_redis__sigpipe *s)
{
    s->active = c->guard_sigpipe;
    if (!s->active)
        return;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &s->old);
}

void ea_redis__sigpipe_release(ea_redis__sigpipe *s)
{
    if (!s->active)
        return;
    int saved = errno; /* the caller reads the OpenSSL call's errno after this */
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!sigismember(&s->old, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &s->old, NULL);
    errno = saved;
}

/* True when SIGPIPE is ignored process-wide (then OpenSSL's writes cannot kill us). */
static bool sigpipe_ignored(void)
{
    struct sigaction sa;
    return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

/* Sends queued bytes until done or the socket would block. */
static ea_rc flush_some(ea_redis *c, struct ea_err *err)
{
    while (c->opos < c->out.len) {
        size_t n = c->out.len - c->opos;
        if (n > 1 << 20)
            n = 1 << 20;
        if (c->ssl != NULL) {
            ERR_clear_error();
            ea_redis__sigpipe sp;
            ea_redis__sigpipe_hold(c, &sp);
            int w = SSL_write(c->ssl, c->out.p + c->opos, (int)n);
            ea_redis__sigpipe_release(&sp);
            if (w <= 0) {
                int e = SSL_get_error(c->ssl, w);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                    return EA_OK;
                ea_redis__tls_io_error(c, e, "send to", err);
                return EA_ERR_UNAVAILABLE;
            }
            c->opos += (size_t)w;
        } else {
            ssize_t w = send(c->fd, c->out.p + c->opos, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return EA_OK;
            if (w <= 0) {
                int e = errno;
                set_broken(c, e == EPIPE || e == ECONNRESET);
                return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not send to %s: %s", c->where,
                                  strerror(e));
            }
            c->opos += (size_t)w;
        }
    }
    c->opos = 0;
    ea_buf_reset(&c->out);
    return EA_OK;
}

static ea_rc closed_error(ea_redis *c, struct ea_err *err)
{
    set_broken(c, true);
    return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not read from %s: %s", c->where,
                      c->ssl != NULL ? "the server closed the connection"
                                     : "the server closed the connection (if the port speaks "
                                       "TLS only, use rediss://)");
}

/* Reads everything that has arrived into the reply reader, until the socket would block. */
static ea_rc read_some(ea_redis *c, struct ea_err *err)
{
    char buf[16384];
    c->tls_want_write = false;
    for (;;) {
        if (c->ssl != NULL) {
            ERR_clear_error();
            ea_redis__sigpipe sp;
            ea_redis__sigpipe_hold(c, &sp);
            int r = SSL_read(c->ssl, buf, sizeof(buf));
            ea_redis__sigpipe_release(&sp);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    return EA_OK;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->tls_want_write = true;
                    return EA_OK;
                }
                if (e == SSL_ERROR_ZERO_RETURN)
                    return closed_error(c, err);
                ea_redis__tls_io_error(c, e, "read from", err);
                return EA_ERR_UNAVAILABLE;
            }
            if (redisReaderFeed(c->reader, buf, (size_t)r) != REDIS_OK)
                goto nomem;
        } else {
            ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return EA_OK;
            if (r == 0)
                return closed_error(c, err);
            if (r < 0) {
                int e = errno;
                set_broken(c, e == ECONNRESET);
                return ea_err_set(
                    err, EA_ERR_UNAVAILABLE, "could not read from %s: %s%s", c->where, strerror(e),
                    e == ECONNRESET ? " (if the port speaks TLS only, use rediss://)" : "");
            }
            if (redisReaderFeed(c->reader, buf, (size_t)r) != REDIS_OK)
                goto nomem;
        }
    }
nomem:
    set_broken(c, false);
    return ea_err_set(err, EA_ERR_NOMEM, "could not read from %s: out of memory", c->where);
}

/* ---- the public non-blocking steps --------------------------------------------------------- */

int ea_redis_fd(const ea_redis *c)
{
    return c->fd;
}

short ea_redis_poll_events(const ea_redis *c)
{
    return (short)(POLLIN | (c->opos < c->out.len || c->tls_want_write ? POLLOUT : 0));
}

bool ea_redis_broken(const ea_redis *c)
{
    return c->broken;
}

bool ea_redis_closed_by_peer(const ea_redis *c)
{
    return c->broken && c->peer_closed;
}

void ea_redis_set_timeout(ea_redis *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

static ea_rc broken_error(ea_redis *c, struct ea_err *err)
{
    return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not use %s: the connection is broken",
                      c->where);
}

ea_rc ea_redis_io(ea_redis *c, struct ea_err *err)
{
    if (c->broken)
        return broken_error(c, err);
    ea_rc rc = flush_some(c, err);
    if (rc == EA_OK)
        rc = read_some(c, err);
    return rc;
}

int ea_redis_reply_take(ea_redis *c, redisReply **out, struct ea_err *err)
{
    void *r = NULL;
    *out = NULL;
    if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
        set_broken(c, false);
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not read from %s: protocol error: %s", c->where,
                   c->reader->errstr);
        return -1;
    }
    if (r == NULL)
        return 0;
    *out = r;
    return 1;
}

/* ---- queueing and blocking calls ----------------------------------------------------------- */

static ea_rc queue(ea_redis *c, char *cmd, int len, struct ea_err *err)
{
    if (len < 0 || cmd == NULL) {
        redisFreeCommand(cmd);
        return ea_err_set(err, len == -2 ? EA_ERR_INVALID : EA_ERR_NOMEM,
                          "could not format a redis command%s",
                          len == -2 ? ": invalid format" : ": out of memory");
    }
    bool queued = ea_buf_append(&c->out, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (queued)
        return EA_OK;
    bool too_big = c->out.err == EA_BUF_TOO_BIG;
    c->out.err = EA_BUF_OK; /* this command was not queued; the ones before it still are */
    return too_big
               ? ea_err_set(err, EA_ERR_LIMIT,
                            "could not queue a redis command: more than %zu bytes waiting",
                            (size_t)EA_REDIS_VALUE_MAX)
               : ea_err_set(err, EA_ERR_NOMEM, "could not queue a redis command: out of memory");
}

static ea_rc vappend(ea_redis *c, struct ea_err *err, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    return queue(c, cmd, len, err);
}

ea_rc ea_redis_append(ea_redis *c, struct ea_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ea_rc rc = vappend(c, err, fmt, ap);
    va_end(ap);
    return rc;
}

ea_rc ea_redis_append_argv(ea_redis *c, struct ea_err *err, int argc, const char **argv,
                           const size_t *argvlen)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    return queue(c, cmd, len, err);
}

/* An error reply: EA_ERR_REDIS (EA_ERR_AUTH for NOAUTH/WRONGPASS) with the server's text. */
static redisReply *check_reply(ea_redis *c, redisReply *r, const char *what, struct ea_err *err)
{
    if (r->type != REDIS_REPLY_ERROR)
        return r;
    bool noauth = strncmp(r->str, "NOAUTH", 6) == 0;
    bool auth = noauth || strncmp(r->str, "WRONGPASS", 9) == 0;
    ea_err_set(err, auth ? EA_ERR_AUTH : EA_ERR_REDIS, "could not %s on %s: %s%s", what, c->where,
               r->str, noauth ? " (the server wants a password: put it in REDIS_URL)" : "");
    if (err != NULL)
        snprintf(err->detail, sizeof(err->detail), "%s", r->str);
    freeReplyObject(r);
    return NULL;
}

redisReply *ea_redis_reply(ea_redis *c, const char *what, struct ea_err *err)
{
    if (c->broken) {
        broken_error(c, err);
        return NULL;
    }
    int64_t deadline = now_ms() + c->timeout_ms;
    for (;;) {
        redisReply *r;
        int n = ea_redis_reply_take(c, &r, err);
        if (n < 0)
            return NULL;
        if (n > 0)
            return check_reply(c, r, what, err);
        if (ea_redis_io(c, err) != EA_OK)
            return NULL;
        if ((n = ea_redis_reply_take(c, &r, err)) != 0)
            return n > 0 ? check_reply(c, r, what, err) : NULL;
        if (ea_redis__wait(c, ea_redis_poll_events(c), deadline, c->timeout_ms, what, err) != EA_OK)
            return NULL;
    }
}

redisReply *ea_redis_command(ea_redis *c, const char *what, struct ea_err *err, const char *fmt,
                             ...)
{
    if (c->broken) {
        broken_error(c, err);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    ea_rc rc = vappend(c, err, fmt, ap);
    va_end(ap);
    return rc == EA_OK ? ea_redis_reply(c, what, err) : NULL;
}

/* ---- connecting ------------------------------------------------------------------------------ */

/* Non-blocking connect to each address of the host until one answers or the deadline. */
static ea_rc tcp_connect(ea_redis *c, const ea_redis_url *u, int timeout_ms, struct ea_err *err)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", u->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(u->host, port, &hints, &res);
    if (g != 0)
        return ea_err_set(err, EA_ERR_UNAVAILABLE,
                          "could not connect to %s: could not resolve %s: %s", c->where, u->host,
                          gai_strerror(g));
    int64_t deadline = now_ms() + timeout_ms;
    int last = ECONNREFUSED;
    bool timed_out = false;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* idle pub/sub connections cross NATs and load balancers that drop silent flows */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        int idle = 60;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            c->fd = fd;
            break;
        }
        if (errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        c->fd = fd;
        struct ea_err werr;
        if (ea_redis__wait(c, POLLOUT, deadline, timeout_ms, "connect", &werr) != EA_OK) {
            timed_out = true;
            c->broken = false;
            close(fd);
            c->fd = -1;
            break; /* the deadline is for the whole connect */
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr == 0)
            break;
        last = soerr;
        close(fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    if (c->fd >= 0)
        return EA_OK;
    if (timed_out)
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: timed out after %d ms",
                          c->where, timeout_ms);
    return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: %s", c->where,
                      strerror(last));
}

ea_redis *ea_redis_connect(const ea_redis_url *u, int timeout_ms, struct ea_err *err)
{
    ea_redis *c = calloc(1, sizeof(*c));
    if (c != NULL)
        ea_buf_init(&c->out, EA_REDIS_VALUE_MAX);
    if (c == NULL || (c->reader = redisReaderCreate()) == NULL) {
        free(c);
        ea_err_set(err, EA_ERR_NOMEM, "could not connect to redis: out of memory");
        return NULL;
    }
    c->fd = -1;
    c->guard_sigpipe = !sigpipe_ignored();
    ea_redis_set_timeout(c, timeout_ms);
    ea_redis_url_describe(u, c->where, sizeof(c->where));
    SSL_CTX *ctx = NULL; /* before any deadline starts: see ea_redis__tls_ctx */
    if (u->tls && (ctx = ea_redis__tls_ctx(u, c->where, err)) == NULL)
        goto fail;
    if (tcp_connect(c, u, c->timeout_ms, err) != EA_OK)
        goto fail;
    if (u->tls) {
        ea_rc rc = ea_redis__tls_handshake(c, ctx, u, now_ms() + c->timeout_ms, err);
        SSL_CTX_free(ctx);
        ctx = NULL;
        if (rc != EA_OK)
            goto fail;
    }
    redisReply *r;
    if (u->password[0] != '\0') {
        r = u->user[0] != '\0'
                ? ea_redis_command(c, "authenticate", err, "AUTH %s %s", u->user, u->password)
                : ea_redis_command(c, "authenticate", err, "AUTH %s", u->password);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    if (u->db != 0) {
        char what[32];
        snprintf(what, sizeof(what), "select db %d", u->db);
        r = ea_redis_command(c, what, err, "SELECT %d", u->db);
        if (r == NULL)
            goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    SSL_CTX_free(ctx);
    ea_redis_free(c);
    return NULL;
}

void ea_redis_free(ea_redis *c)
{
    if (c == NULL)
        return;
    if (c->ssl != NULL) {
        if (!c->broken) {
            /* close_notify, best effort: the socket is non-blocking, nothing waits */
            ea_redis__sigpipe sp;
            ea_redis__sigpipe_hold(c, &sp);
            SSL_shutdown(c->ssl);
            ea_redis__sigpipe_release(&sp);
        }
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    if (c->reader != NULL)
        redisReaderFree(c->reader);
    ea_buf_free(&c->out);
    free(c);
}

/* ---- PUBLISH with the reconnect-once rule ---------------------------------------------------- */

ea_rc ea_redis_publish(ea_redis **c, const ea_redis_url *u, int timeout_ms, const char *channel,
                       const void *msg, size_t len, long long *receivers, struct ea_err *err)
{
    for (int attempt = 0;; attempt++) {
        redisReply *r = ea_redis_command(*c, "publish", err, "PUBLISH %s %b", channel, msg, len);
        if (r != NULL) {
            if (receivers != NULL)
                *receivers = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
            freeReplyObject(r);
            return EA_OK;
        }
        /* a connection the server closed (a Redis restart) shows only when used: once on a new
         * one, or the first message after every restart would be lost. Not after a timeout. */
        if (attempt > 0 || !ea_redis_closed_by_peer(*c))
            return err != NULL ? err->code : EA_ERR_UNAVAILABLE;
        ea_redis_free(*c);
        *c = ea_redis_connect(u, timeout_ms, err);
        if (*c == NULL)
            return err != NULL ? err->code : EA_ERR_UNAVAILABLE;
    }
}
