/*
 * ea_http.c — embedding libh2o-evloop. One process, one loop: the listener, the signalfd and
 * any dependency sockets (librdkafka's queue pipe, Redis) are all h2o sockets on the same loop,
 * so no handler ever needs a lock. Several processes can share the port with SO_REUSEPORT.
 *
 * Hardening of libh2o's defaults (docs/SECURITY.md, "HTTP"):
 * - the HTTP/1.1 → HTTP/2 upgrade (Upgrade: h2c, and the "PRI *" preface, which h2o gates on
 *   the same flag) is off: every service speaks HTTP/1.1 only, so libh2o 2.2's HTTP/2 code is
 *   never reachable from a client;
 * - h2o answers an oversize body itself (413, before buffering it) in plain text; a filter on
 *   every path rewrites that answer into SPEC §4's JSON error;
 * - connections are capped in all and per client address (ea_http_conns.c): one over a cap is
 *   answered 503/429 too_many_connections and closed at once, so a client holding thousands of
 *   idle connections can neither take every file descriptor nor make the loop spin on accept
 *   failing with EMFILE (which, should it happen anyway, pauses accepting for 100 ms).
 */
#include "ea_http.h"
#include "ea_hash.h"
#include "ea_http_conns.h"
#include "ea_log.h"
#include "ea_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct ea_http_route_handler {
    h2o_handler_t super;
    ea_http_handler_fn fn;
    void *ud;
};

/* The 413 filter: its JSON body, made once per path at start-up. */
struct json413_filter {
    h2o_filter_t super;
    h2o_iovec_t body;
};

struct json413_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
    bool sent;
};

struct ea_http_server {
    ea_http_config cfg;
    h2o_globalconf_t globalconf;
    h2o_hostconf_t *hostconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_socket_t *sigsock;
    bool stopping;
    ea_http_stop_fn on_stop;
    ea_http_conns *conns;
    /* the answers to a connection over a cap (made once), and a log line at most every 10 s */
    char refuse_full[384], refuse_addr[384];
    size_t refuse_full_len, refuse_addr_len;
    uint64_t refused_full, refused_addr;
    int64_t refused_logged_ms, paused_logged_ms;
    h2o_timeout_t accept_pause;
    h2o_timeout_entry_t accept_resume;
    void *stop_ud;
};

static void json413_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                            h2o_send_state_t state)
{
    struct json413_ostream *o = (struct json413_ostream *)self;
    if (h2o_send_state_is_in_progress(state) || o->sent) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    o->sent = true; /* h2o's plain-text body is dropped; ours goes instead */
    bool head = ea_http_method_is(req, "HEAD");
    h2o_ostream_send_next(self, req, &o->body, head ? 0 : 1, state);
}

static void json413_on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    struct json413_filter *f = (struct json413_filter *)self;
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    static const char plain[] = "text/plain";
    if (req->res.status == 413 && ct >= 0 &&
        req->res.headers.entries[ct].value.len >= sizeof(plain) - 1 &&
        memcmp(req->res.headers.entries[ct].value.base, plain, sizeof(plain) - 1) == 0) {
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        req->res.content_length = f->body.len;
        struct json413_ostream *o =
            (struct json413_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
        o->super.do_send = json413_do_send;
        o->body = f->body;
        o->sent = false;
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void ea_http_harden_config(h2o_globalconf_t *gc, size_t max_body)
{
    gc->max_request_entity_size = max_body;
    gc->http1.upgrade_to_http2 = 0;
}

void ea_http_harden_path(h2o_pathconf_t *pc)
{
    struct json413_filter *f = (struct json413_filter *)h2o_create_filter(pc, sizeof(*f));
    f->super.on_setup_ostream = json413_on_setup_ostream;
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"code\":\"body_too_large\",\"message\":\"request body is "
                     "larger than %zu bytes\"}}",
                     pc->global->max_request_entity_size);
    f->body = h2o_strdup(NULL, body, (size_t)n); /* lives as long as the process */
}

/* A whole HTTP/1.1 answer for a connection refused before h2o saw it (no request parsed). */
static size_t refusal(char *buf, size_t cap, int status, const char *message)
{
    char body[256];
    int bl =
        snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"%s\"}}", message);
    int n = snprintf(buf, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                     "Connection: close\r\nContent-Length: %d\r\n\r\n%s",
                     status, status == 429 ? "Too Many Requests" : "Service Unavailable", bl, body);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

ea_http_server *ea_http_server_new(const ea_http_config *cfg)
{
    ea_http_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cfg = *cfg;
    if (s->cfg.host == NULL)
        s->cfg.host = "127.0.0.1";
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = ea_http_conns_default_total();
    s->conns = ea_http_conns_new(s->cfg.max_connections, s->cfg.max_connections_per_address);
    if (s->conns == NULL) {
        free(s);
        return NULL;
    }
    s->refuse_full_len = refusal(s->refuse_full, sizeof(s->refuse_full), 503,
                                 "the server holds as many connections as it may; retry soon");
    s->refuse_addr_len =
        refusal(s->refuse_addr, sizeof(s->refuse_addr), 429,
                "too many connections from your address; close idle ones or reuse them");
    h2o_config_init(&s->globalconf);
    ea_http_harden_config(&s->globalconf, cfg->max_body > 0 ? cfg->max_body : 1024 * 1024);
    s->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("event-analytics"));
    s->hostconf =
        h2o_config_register_host(&s->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    ea_http_harden_path(&s->hostconf->fallback_path);
    return s;
}

ea_http_server *ea_http_server_for(const ea_http_settings *l)
{
    ea_http_config hc = {.host = l->host,
                         .port = (int)l->port,
                         .max_body = (size_t)l->max_body,
                         .reuseport = l->reuseport,
                         .max_connections = (size_t)l->conns.total,
                         .max_connections_per_address = (size_t)l->conns.per_address};
    return ea_http_server_new(&hc);
}

static int route_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct ea_http_route_handler *h = (struct ea_http_route_handler *)self;
    return h->fn(h->ud, req);
}

void ea_http_route(ea_http_server *s, const char *path, ea_http_handler_fn fn, void *ud)
{
    h2o_pathconf_t *pc = h2o_config_register_path(s->hostconf, path, 0);
    struct ea_http_route_handler *h =
        (struct ea_http_route_handler *)h2o_create_handler(pc, sizeof(*h));
    h->super.on_req = route_on_req;
    h->fn = fn;
    h->ud = ud;
    ea_http_harden_path(pc);
}

static void on_conn_closed(void *slot)
{
    ea_http_conns_release(slot);
}

static void on_refusal_written(h2o_socket_t *sock, const char *err)
{
    (void)err;
    h2o_socket_close(sock);
}

/* True at most once per 10 s per *last: a client cannot flood the log with refusals. */
static bool log_due(int64_t *last_ms)
{
    int64_t now = ea_time_mono_ns() / 1000000;
    if (*last_ms != 0 && now - *last_ms < 10000)
        return false;
    *last_ms = now;
    return true;
}

/* A connection over a cap: the answer goes into the fresh socket's empty send buffer, then the
 * socket is closed; h2o never sees it. One log line per 10 s says how many. */
static void refuse_connection(ea_http_server *s, h2o_socket_t *sock, ea_http_conn_verdict v)
{
    bool full = v == EA_HTTP_CONN_FULL;
    if (full)
        s->refused_full++;
    else
        s->refused_addr++;
    if (log_due(&s->refused_logged_ms))
        ea_log_warn("connections",
                    "refusing connections: %llu so far because the server held %zu (its cap), "
                    "%llu because one address held %zu",
                    (unsigned long long)s->refused_full, s->cfg.max_connections,
                    (unsigned long long)s->refused_addr, s->cfg.max_connections_per_address);
    h2o_iovec_t buf = full ? h2o_iovec_init(s->refuse_full, s->refuse_full_len)
                           : h2o_iovec_init(s->refuse_addr, s->refuse_addr_len);
    if (buf.len == 0) {
        h2o_socket_close(sock);
        return;
    }
    h2o_socket_write(sock, &buf, 1, on_refusal_written);
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_accept_resume(h2o_timeout_entry_t *entry)
{
    ea_http_server *s = H2O_STRUCT_FROM_MEMBER(ea_http_server, accept_resume, entry);
    if (s->listener != NULL)
        h2o_socket_read_start(s->listener, on_accept);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    ea_http_server *s = listener->data;
    /* accept a few per wakeup: keeps latency fair under connection storms */
    for (int i = 0; i < 16; i++) {
        errno = 0;
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            /* out of descriptors (the caps leave a reserve, but other code may use them up):
             * the listener stays readable, so waiting for the next wakeup would spin */
            if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
                !h2o_timeout_is_linked(&s->accept_resume)) {
                if (log_due(&s->paused_logged_ms))
                    ea_log_warn("connections",
                                "cannot accept connections: %s; pausing 100 ms at a time "
                                "(lower the connection cap or raise the open-file limit)",
                                strerror(errno));
                h2o_socket_read_stop(listener);
                h2o_timeout_link(s->ctx.loop, &s->accept_pause, &s->accept_resume);
            }
            break;
        }
        struct sockaddr_storage ss;
        socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
        ea_http_conn_slot *slot;
        ea_http_conn_verdict v =
            ea_http_conns_admit(s->conns, sl > 0 ? (struct sockaddr *)&ss : NULL, &slot);
        if (v != EA_HTTP_CONN_ADMITTED) {
            refuse_connection(s, sock, v);
            continue;
        }
        sock->on_close.cb = on_conn_closed;
        sock->on_close.data = slot;
        h2o_accept(&s->accept_ctx, sock);
    }
}

static void on_signal(h2o_socket_t *sock, const char *err)
{
    /* h2o's evloop has already read the signalfd into sock->input: consume it from there */
    ea_http_server *s = sock->data;
    if (err != NULL)
        return;
    size_t n = sock->input->size / sizeof(struct signalfd_siginfo);
    uint32_t signo = 0;
    if (n > 0)
        memcpy(&signo, sock->input->bytes + offsetof(struct signalfd_siginfo, ssi_signo),
               sizeof(signo));
    h2o_buffer_consume(&sock->input, n * sizeof(struct signalfd_siginfo));
    if (n == 0 || s->stopping)
        return;
    s->stopping = true;
    ea_log_info("shutdown", "received signal %u: no longer accepting connections", signo);
    if (s->listener != NULL) {
        h2o_socket_read_stop(s->listener);
        h2o_socket_close(s->listener);
        s->listener = NULL;
    }
    if (s->on_stop != NULL)
        s->on_stop(s->stop_ud);
}

ea_rc ea_http_listen(ea_http_server *s, ea_http_stop_fn on_stop, void *ud, struct ea_err *err)
{
    h2o_context_init(&s->ctx, h2o_evloop_create(), &s->globalconf);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->globalconf.hosts;

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->cfg.port)};
    if (inet_pton(AF_INET, s->cfg.host, &addr.sin_addr) != 1)
        return ea_err_set(err, EA_ERR_INVALID, "invalid listen address \"%s\"", s->cfg.host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return ea_err_set(err, EA_ERR_IO, "could not create socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s->cfg.reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return ea_err_set(err, EA_ERR_IO, "could not listen on %s:%d: %s", s->cfg.host, s->cfg.port,
                          strerror(e));
    }
    h2o_timeout_init(s->ctx.loop, &s->accept_pause, 100);
    s->accept_resume.cb = on_accept_resume;
    s->listener = h2o_evloop_socket_create(s->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    s->listener->data = s;
    h2o_socket_read_start(s->listener, on_accept);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        return ea_err_set(err, EA_ERR_IO, "could not create signalfd: %s", strerror(errno));
    s->sigsock = h2o_evloop_socket_create(s->ctx.loop, sfd, 0);
    s->sigsock->data = s;
    s->on_stop = on_stop;
    s->stop_ud = ud;
    h2o_socket_read_start(s->sigsock, on_signal);
    return EA_OK;
}

h2o_loop_t *ea_http_loop(ea_http_server *s)
{
    return s->ctx.loop;
}

void ea_http_run_once(ea_http_server *s, int max_wait_ms)
{
    h2o_evloop_run(s->ctx.loop, max_wait_ms);
}

bool ea_http_stopping(const ea_http_server *s)
{
    return s->stopping;
}

void ea_http_server_free(ea_http_server *s)
{
    if (s == NULL)
        return;
    /* h2o 2.2 has no evloop destroy; the process is exiting, the OS reclaims the loop. The
     * loop no longer runs, so no socket's close can reach the counts after this. */
    ea_http_conns_free(s->conns);
    free(s);
}

const char *ea_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

void ea_http_send_bytes(h2o_req_t *req, int status, const char *content_type, const char *body,
                        size_t len)
{
    req->res.status = status;
    req->res.reason = ea_http_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_send_inline(req, body, len);
}

void ea_http_send_json(h2o_req_t *req, int status, json_t *body, const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        ea_http_send_bytes(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    ea_http_send_bytes(req, status, content_type != NULL ? content_type : "application/json", text,
                       strlen(text));
    free(text);
}

void ea_http_send_error(h2o_req_t *req, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ea_http_send_json(req, status,
                      json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg), NULL);
}

void ea_http_add_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    char *n = h2o_mem_alloc_pool(&req->pool, nlen), *v = h2o_mem_alloc_pool(&req->pool, vlen);
    memcpy(n, name, nlen);
    memcpy(v, value, vlen);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n, nlen, 0, NULL, v, vlen);
}

const h2o_iovec_t *ea_http_header(const h2o_req_t *req, const char *name, int *count)
{
    const h2o_iovec_t *found = NULL;
    int n = 0;
    size_t nlen = strlen(name);
    for (size_t i = 0; i != req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name->len == nlen && strncasecmp(h->name->base, name, nlen) == 0) {
            if (found == NULL)
                found = &h->value;
            n++;
        }
    }
    if (count != NULL)
        *count = n;
    return found;
}

char *ea_http_value_dup(const char *base, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    if (len > 0)
        memcpy(s, base, len);
    s[len] = '\0';
    return s;
}

bool ea_http_method_is(const h2o_req_t *req, const char *m)
{
    size_t len = strlen(m);
    return req->method.len == len && memcmp(req->method.base, m, len) == 0;
}

const char *ea_http_peer(h2o_req_t *req, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername != NULL
                       ? req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss)
                       : 0;
    const void *a = NULL;
    if (sl > 0 && ss.ss_family == AF_INET)
        a = &((struct sockaddr_in *)&ss)->sin_addr;
    else if (sl > 0 && ss.ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (a == NULL || inet_ntop(ss.ss_family, a, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "-");
    return buf;
}

const char *ea_http_request_id(h2o_req_t *req)
{
    /* Kept as the answer's x-request-id header: found there again, and sent to the client, who
     * can quote it. Made only when first asked (a request that logs nothing pays nothing); never
     * taken from the request, so a client cannot put its own text into our logs. */
    static const char name[] = "x-request-id";
    ssize_t i = h2o_find_header_by_str(&req->res.headers, name, sizeof(name) - 1, -1);
    if (i >= 0)
        return req->res.headers.entries[i].value.base;
    static _Atomic uint64_t seq;
    static _Thread_local uint64_t seed;
    if (seed == 0) { /* per process: ids of two processes differ even for the same sequence */
        uint64_t s = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seq;
        seed = ea_hash64(&s, sizeof(s)) | 1;
    }
    uint64_t in[2] = {seed, ++seq}, v = ea_hash64(in, sizeof(in));
    char *id = h2o_mem_alloc_pool(&req->pool, 17);
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++)
        id[k] = hex[(v >> (60 - 4 * k)) & 15];
    id[16] = '\0';
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, sizeof(name) - 1, 0, NULL, id, 16);
    return id;
}

struct ea_http_delayer {
    h2o_loop_t *loop;
    h2o_timeout_t timeout;
    uint64_t delay_ms;
    size_t pending;
};

struct delayed {
    h2o_timeout_entry_t entry;
    ea_http_delayer *d;
    h2o_req_t *req;
    void (*fn)(h2o_req_t *req, void *ud);
    void *ud;
};

ea_http_delayer *ea_http_delayer_new(h2o_loop_t *loop, uint64_t delay_ms)
{
    ea_http_delayer *d = calloc(1, sizeof(*d)); /* freed by ea_http_delayer_free */
    if (d != NULL) {
        d->loop = loop;
        d->delay_ms = delay_ms;
        h2o_timeout_init(loop, &d->timeout, delay_ms);
    }
    return d;
}

void ea_http_delayer_free(ea_http_delayer *d)
{
    /* with requests still waiting their entries are linked into the timeout: it stays with the
     * loop, which a stopping process abandons anyway */
    if (d == NULL || d->pending > 0)
        return;
    h2o_timeout_dispose(d->loop, &d->timeout);
    free(d);
}

static void delayed_dispose(void *obj)
{
    struct delayed *x = obj;
    if (h2o_timeout_is_linked(&x->entry)) { /* the client went away first */
        h2o_timeout_unlink(&x->entry);
        x->d->pending--;
    }
}

static void delayed_fire(h2o_timeout_entry_t *entry)
{
    struct delayed *x = H2O_STRUCT_FROM_MEMBER(struct delayed, entry, entry);
    x->d->pending--;
    x->fn(x->req, x->ud);
}

void ea_http_delay(ea_http_delayer *d, h2o_req_t *req, void (*fn)(h2o_req_t *req, void *ud),
                   void *ud)
{
    if (d == NULL || d->delay_ms == 0) {
        fn(req, ud);
        return;
    }
    struct delayed *x = h2o_mem_alloc_shared(&req->pool, sizeof(*x), delayed_dispose);
    *x = (struct delayed){.entry = {.cb = delayed_fire}, .d = d, .req = req, .fn = fn, .ud = ud};
    d->pending++;
    h2o_timeout_link(req->conn->ctx->loop, &d->timeout, &x->entry);
}

struct ea_http_watch {
    h2o_socket_t *sock;
    void (*cb)(void *ud);
    void *ud;
};

static void watch_on_read(h2o_socket_t *sock, const char *err)
{
    ea_http_watch *w = sock->data;
    h2o_buffer_consume(&sock->input, sock->input->size); /* wake bytes carry no data */
    if (err == NULL)
        w->cb(w->ud);
}

ea_http_watch *ea_http_watch_new(h2o_loop_t *loop, int fd, void (*cb)(void *ud), void *ud)
{
    ea_http_watch *w = calloc(1, sizeof(*w));
    int dfd = w != NULL ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (dfd < 0) {
        free(w);
        return NULL;
    }
    w->cb = cb;
    w->ud = ud;
    w->sock = h2o_evloop_socket_create(loop, dfd, 0);
    w->sock->data = w;
    h2o_socket_read_start(w->sock, watch_on_read);
    return w;
}

void ea_http_watch_free(ea_http_watch *w)
{
    if (w == NULL)
        return;
    h2o_socket_read_stop(w->sock);
    h2o_socket_close(w->sock);
    free(w);
}

void ea_http_send_ready(h2o_req_t *req, const ea_http_ready_part *parts, size_t n)
{
    bool ready = true;
    for (size_t i = 0; i < n; i++)
        ready = ready && (parts[i].ok || !parts[i].required);
    json_t *body = json_pack("{s:s}", "status", ready ? "ready" : "not ready");
    json_t *errors = json_object();
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(body, parts[i].name, json_boolean(parts[i].ok));
        if (!parts[i].ok && parts[i].why != NULL && parts[i].why[0] != '\0')
            json_object_set_new(errors, parts[i].name, json_string(parts[i].why));
    }
    if (json_object_size(errors) > 0)
        json_object_set_new(body, "errors", errors);
    else
        json_decref(errors);
    ea_http_send_json(req, ready ? 200 : 503, body, NULL);
}
