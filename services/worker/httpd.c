/*
 * httpd.c — minimal h2o evloop server for the operations port (lib/http did not exist when the
 * worker was written; when it does, this file should become a user of it). The loop wakes every
 * 200 ms to notice a stop request, which is plenty for a port that serves probes and scrapes.
 * It takes lib/http's hardening (HTTP/1.1 only, a small body cap, the JSON 413).
 */
#include "httpd.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_pg_buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The cap of an answer's text: /metrics for WK_MAX_PARTITIONS partitions is ~100 KB; the
 * readiness reasons are a few lines. */
#define WK_HTTP_TEXT_MAX ((size_t)16 << 20)

struct wk_httpd {
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    pthread_t thread;
    atomic_bool stop;
    wk_stats *stats;
};

struct handler {
    h2o_handler_t super;
    wk_httpd *httpd;
    int kind; /* 0 healthz, 1 readyz, 2 metrics */
};

static void reply(h2o_req_t *req, int status, const char *reason, const char *ctype,
                  const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct handler *h = (struct handler *)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        static const char m[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"use "
                                "GET\"}}";
        reply(req, 405, "Method Not Allowed", "application/json", m, sizeof(m) - 1);
        return 0;
    }
    ea_buf b = EA_BUF_INIT(WK_HTTP_TEXT_MAX);
    switch (h->kind) {
    case 0:
        reply(req, 200, "OK", "application/json", "{\"status\":\"ok\"}", 15);
        break;
    case 1: {
        ea_buf why = EA_BUF_INIT(WK_HTTP_TEXT_MAX), errors = EA_BUF_INIT(WK_HTTP_TEXT_MAX);
        bool ok = wk_stats_ready(h->httpd->stats, &why, &errors);
        if (ok) {
            ea_buf_puts(&b, "{\"status\":\"ready\"}");
        } else {
            ea_buf_puts(&b, "{\"status\":\"not_ready\",\"failing\":\"");
            ea_buf_puts(&b, why.p != NULL ? why.p : "");
            ea_buf_putc(&b, '"');
            if (errors.len > 0) {
                ea_buf_puts(&b, ",\"errors\":");
                ea_buf_puts(&b, errors.p);
            }
            ea_buf_putc(&b, '}');
        }
        ea_buf_free(&why);
        ea_buf_free(&errors);
        reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "application/json",
              b.p != NULL ? b.p : "", b.len);
        break;
    }
    default:
        wk_stats_render(h->httpd->stats, &b);
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.p != NULL ? b.p : "",
              b.len);
    }
    ea_buf_free(&b);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    wk_httpd *h = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(&h->accept_ctx, sock);
}

static void *run(void *arg)
{
    wk_httpd *h = arg;
    while (!atomic_load(&h->stop))
        h2o_evloop_run(h->ctx.loop, 200);
    return NULL;
}

static void add_path(wk_httpd *h, h2o_hostconf_t *host, const char *path, int kind)
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    struct handler *hd = (struct handler *)h2o_create_handler(pc, sizeof(*hd));
    hd->super.on_req = on_req;
    hd->httpd = h;
    hd->kind = kind;
    ea_http_harden_path(pc);
}

wk_httpd *wk_httpd_start(const char *host, int port, wk_stats *stats, struct ea_err *err)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        ea_err_set(err, EA_ERR_INVALID, "invalid WORKER_HOST %s: expected an IPv4 address", host);
        return NULL;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, SOMAXCONN) != 0) {
        ea_err_set(err, EA_ERR_IO, "could not listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    wk_httpd *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        close(fd);
        ea_err_set(err, EA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->stats = stats;
    h2o_config_init(&h->config);
    ea_http_harden_config(&h->config, 16 * 1024); /* probes and scrapes send no body */
    h2o_hostconf_t *hc =
        h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    ea_http_harden_path(&hc->fallback_path);
    add_path(h, hc, "/healthz", 0);
    add_path(h, hc, "/readyz", 1);
    add_path(h, hc, "/metrics", 2);
    h2o_context_init(&h->ctx, h2o_evloop_create(), &h->config);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
    h->listener = h2o_evloop_socket_create(h->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    h->listener->data = h;
    h2o_socket_read_start(h->listener, on_accept);
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        ea_err_set(err, EA_ERR_IO, "could not start the http thread");
        h2o_socket_close(h->listener);
        free(h);
        return NULL;
    }
    return h;
}

void wk_httpd_stop(wk_httpd *h)
{
    if (h == NULL)
        return;
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    /* The process is exiting: close the port and leave h2o's loop and context to the OS
     * (h2o_evloop_destroy asserts when connections are still open). */
    h2o_socket_close(h->listener);
    h2o_evloop_run(h->ctx.loop, 0);
    free(h);
}
