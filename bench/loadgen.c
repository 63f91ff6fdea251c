/*
 * loadgen.c — ea-loadgen, the constant-arrival-rate HTTP/1.1 load generator behind the "p99 at
 * N req/s" benchmark, `make test-load` and `make test-chaos`. Open loop: request i is due at
 * start + i/rate whatever happened to earlier ones, and its latency is measured from that
 * intended send time, so a stalled server shows up in the percentiles instead of silently
 * slowing the generator down (no coordinated omission). Not a closed-loop throughput tool (wrk
 * does that in bench/run.sh).
 *
 * Usage: ea-loadgen --url URL --rate N --duration S [--connections C] [--method M]
 *                   [--header 'K: V']... [--body-file F] [--json-out FILE] [--timeout S]
 *                   [--max-response BYTES]
 * The body may contain {{seq}} (request number from 0), {{uuid}} (random v4 UUID) and
 * {{now_ms}} (epoch ms at send), replaced per request. Prints one JSON summary to stdout (and
 * to --json-out): {sent, ok, errors, status:{code:count}, achieved_rate, p50_ms, p95_ms, p99_ms,
 * max_ms, target_rate, duration_s, connections, unsent}. `ok` counts 2xx answers; `errors` counts
 * requests that got no HTTP answer (connect failure, reset, timeout, malformed response); the
 * percentiles cover every answered request whatever its status; `unsent` counts scheduled
 * requests never sent because every connection stayed busy until the end (--timeout after
 * --duration). Exit 0 when the run completed
 * (whatever the servers answered), 2 on bad usage.
 *
 * Design: one thread, epoll, C keep-alive connections, at most one request in flight per
 * connection (HTTP/1.1 without pipelining). Due requests wait in order for a free connection;
 * their wait counts in their latency. Responses are parsed with picohttpparser, which Debian's
 * libh2o-evloop exports (phr_parse_response) without installing its header. Every response is
 * buffered up to --max-response bytes (default 1 MiB); larger ones are counted as errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* picohttpparser's API as exported by libh2o-evloop (h2o/lib/common/picohttpparser) */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status,
                       const char **msg, size_t *msg_len, struct phr_header *headers,
                       size_t *num_headers, size_t last_len);

#define MAX_HEADERS 64
#define MAX_USER_HEADERS 32

enum seg_kind { SEG_TEXT, SEG_SEQ, SEG_UUID, SEG_NOW };
struct seg {
    enum seg_kind kind;
    const char *text;
    size_t len;
};

enum conn_state { C_CLOSED, C_IDLE, C_BUSY }; /* BUSY: a request is assigned */
struct conn {
    int fd;
    enum conn_state state;
    bool connected; /* false while the non-blocking connect is in progress */
    char *wbuf;
    size_t wlen, woff;
    char *rbuf;
    size_t rlen, rcap;
    int64_t intended_ns; /* of the request in flight */
    int64_t sent_ns;
};

struct opts {
    const char *url, *method, *body_file, *json_out;
    double rate, duration, timeout_s;
    int connections;
    size_t max_response;
    const char *headers[MAX_USER_HEADERS];
    int nheaders;
};

static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[256];
    char path[2048];
    struct seg *segs;
    size_t nsegs;
    char *head; /* request line + fixed headers, without Content-Length */
    size_t head_len;
    uint64_t rng[2];
    /* results */
    uint64_t sent, ok, errors, answered, unsent;
    uint64_t status[600];
    uint64_t status_other;
    int64_t *lat_us;
    size_t nlat, lat_cap;
    int64_t last_answer_ns;
} g;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift128+: fast, and {{uuid}} only has to be unique, not secret */
static uint64_t rng_next(void)
{
    uint64_t s1 = g.rng[0];
    const uint64_t s0 = g.rng[1];
    g.rng[0] = s0;
    s1 ^= s1 << 23;
    g.rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return g.rng[1] + s0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ea-loadgen --url URL --rate N --duration S [--connections C] [--method M]\n"
            "                  [--header 'K: V']... [--body-file F] [--json-out FILE]\n"
            "                  [--timeout S] [--max-response BYTES]\n"
            "body placeholders: {{seq}} {{uuid}} {{now_ms}}\n");
}

static bool parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o =
        (struct opts){.method = "GET", .connections = 64, .timeout_s = 10, .max_response = 1 << 20};
    double d;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ea-loadgen: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--url") == 0) {
            o->url = v;
        } else if (strcmp(a, "--rate") == 0) {
            if (!parse_double(v, 0.001, 10000000, &o->rate))
                goto bad;
        } else if (strcmp(a, "--duration") == 0) {
            if (!parse_double(v, 0.001, 86400, &o->duration))
                goto bad;
        } else if (strcmp(a, "--connections") == 0) {
            if (!parse_double(v, 1, 10000, &d) || d != (int)d)
                goto bad;
            o->connections = (int)d;
        } else if (strcmp(a, "--timeout") == 0) {
            if (!parse_double(v, 0.001, 3600, &o->timeout_s))
                goto bad;
        } else if (strcmp(a, "--max-response") == 0) {
            if (!parse_double(v, 1024, 1 << 30, &d))
                goto bad;
            o->max_response = (size_t)d;
        } else if (strcmp(a, "--method") == 0) {
            o->method = v;
        } else if (strcmp(a, "--header") == 0) {
            if (o->nheaders == MAX_USER_HEADERS || strchr(v, ':') == NULL ||
                strpbrk(v, "\r\n") != NULL) {
                fprintf(stderr, "ea-loadgen: invalid or too many --header values: \"%s\"\n", v);
                return -1;
            }
            o->headers[o->nheaders++] = v;
        } else if (strcmp(a, "--body-file") == 0) {
            o->body_file = v;
        } else if (strcmp(a, "--json-out") == 0) {
            o->json_out = v;
        } else {
            fprintf(stderr, "ea-loadgen: unknown option %s\n", a);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "ea-loadgen: invalid value for %s: \"%s\"\n", a, v);
        return -1;
    }
    if (o->url == NULL || o->rate == 0 || o->duration == 0) {
        fprintf(stderr, "ea-loadgen: --url, --rate and --duration are required\n");
        return -1;
    }
    return 0;
}

/* http://host[:port][/path] → g.addr, g.host, g.path */
static int parse_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "ea-loadgen: only http:// URLs are supported: \"%s\"\n", url);
        return -1;
    }
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hostport_len = slash != NULL ? (size_t)(slash - h) : strlen(h);
    if (hostport_len == 0 || hostport_len >= sizeof(g.host)) {
        fprintf(stderr, "ea-loadgen: invalid host in \"%s\"\n", url);
        return -1;
    }
    memcpy(g.host, h, hostport_len);
    g.host[hostport_len] = '\0';
    snprintf(g.path, sizeof(g.path), "%s", slash != NULL ? slash : "/");
    char name[256];
    const char *port = "80";
    snprintf(name, sizeof(name), "%s", g.host);
    char *colon = strrchr(name, ':');
    if (colon != NULL) {
        *colon = '\0';
        port = colon + 1;
        port = g.host + (port - name);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(name, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ea-loadgen: could not resolve %s: %s\n", g.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&g.addr, res->ai_addr, res->ai_addrlen);
    g.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf != NULL && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Splits the body template into literal text and placeholders once, at start. */
static int compile_body(const char *body, size_t len)
{
    static const struct {
        const char *tok;
        enum seg_kind kind;
    } toks[] = {{"{{seq}}", SEG_SEQ}, {"{{uuid}}", SEG_UUID}, {"{{now_ms}}", SEG_NOW}};
    g.segs = calloc(len * 2 + 2, sizeof(*g.segs));
    if (g.segs == NULL)
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
            size_t tl = strlen(toks[t].tok);
            if (len - i >= tl && memcmp(body + i, toks[t].tok, tl) == 0) {
                if (i > start)
                    g.segs[g.nsegs++] = (struct seg){SEG_TEXT, body + start, i - start};
                g.segs[g.nsegs++] = (struct seg){toks[t].kind, NULL, 0};
                i += tl - 1;
                start = i + 1;
                break;
            }
        }
    }
    if (len > start)
        g.segs[g.nsegs++] = (struct seg){SEG_TEXT, body + start, len - start};
    return 0;
}

/* Builds request seq into c->wbuf (reused across requests). */
static int build_request(struct conn *c, uint64_t seq)
{
    char body_extra[64];
    size_t body_len = 0;
    for (size_t i = 0; i < g.nsegs; i++)
        body_len += g.segs[i].kind == SEG_TEXT ? g.segs[i].len : 36; /* upper bound */
    size_t need = g.head_len + 64 + body_len;
    char *w = realloc(c->wbuf, need);
    if (w == NULL)
        return -1;
    c->wbuf = w;
    /* body first, after room for the head, then the head with the real Content-Length */
    char *body = w + g.head_len + 64;
    size_t bl = 0;
    for (size_t i = 0; i < g.nsegs; i++) {
        const struct seg *s = &g.segs[i];
        int n = 0;
        switch (s->kind) {
        case SEG_TEXT:
            memcpy(body + bl, s->text, s->len);
            bl += s->len;
            continue;
        case SEG_SEQ:
            n = snprintf(body_extra, sizeof(body_extra), "%llu", (unsigned long long)seq);
            break;
        case SEG_NOW:
            n = snprintf(body_extra, sizeof(body_extra), "%lld", (long long)wall_ms());
            break;
        case SEG_UUID: {
            uint64_t a = rng_next(), b = rng_next();
            a = (a & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
            b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant */
            n = snprintf(body_extra, sizeof(body_extra), "%08x-%04x-%04x-%04x-%012llx",
                         (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff,
                         (unsigned)(b >> 48), (unsigned long long)(b & 0xffffffffffffULL));
            break;
        }
        }
        memcpy(body + bl, body_extra, (size_t)n);
        bl += (size_t)n;
    }
    char cl[48];
    int cll = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n", bl);
    /* move the head right before the body so the request is one contiguous buffer */
    size_t start = g.head_len + 64 - (g.head_len + (size_t)cll);
    memcpy(w + start, g.head, g.head_len);
    memcpy(w + start + g.head_len, cl, (size_t)cll);
    memmove(w, w + start, g.head_len + (size_t)cll + bl);
    c->wlen = g.head_len + (size_t)cll + bl;
    c->woff = 0;
    return 0;
}

static int epfd;

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_CLOSED;
    c->rlen = 0;
}

static void record_error(struct conn *c)
{
    g.errors++;
    conn_close(c);
}

static void record_answer(struct conn *c, int status, int64_t now)
{
    g.answered++;
    if (status >= 200 && status < 300)
        g.ok++;
    if (status >= 0 && status < 600)
        g.status[status]++;
    else
        g.status_other++;
    if (g.nlat == g.lat_cap) {
        size_t cap = g.lat_cap ? g.lat_cap * 2 : 1 << 16;
        int64_t *n = realloc(g.lat_us, cap * sizeof(*n));
        if (n == NULL) {
            fprintf(stderr, "ea-loadgen: out of memory\n");
            exit(1);
        }
        g.lat_us = n, g.lat_cap = cap;
    }
    g.lat_us[g.nlat++] = (now - c->intended_ns) / 1000;
    g.last_answer_ns = now;
}

static int conn_open(struct conn *c)
{
    c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->connected = false;
    return 0;
}

static void conn_want_write(struct conn *c, bool on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what it can; 0 on progress or would-block, -1 on error. */
static int conn_flush(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_want_write(c, true);
                return 0;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->woff += (size_t)n;
    }
    conn_want_write(c, false);
    return 0;
}

static void conn_start(struct conn *c, uint64_t seq, int64_t intended)
{
    c->intended_ns = intended;
    c->sent_ns = mono_ns();
    g.sent++;
    if (build_request(c, seq) != 0) {
        fprintf(stderr, "ea-loadgen: out of memory\n");
        exit(1);
    }
    bool was_closed = c->state == C_CLOSED;
    c->state = C_BUSY;
    if (was_closed) {
        if (conn_open(c) != 0)
            record_error(c);
        return; /* the EPOLLOUT of connect completion sends it */
    }
    if (conn_flush(c) != 0)
        record_error(c);
}

/* Parses what was read; completes the request when the whole response is in. */
static void conn_parse(struct conn *c, size_t last_len, const struct opts *o)
{
    int minor, status;
    const char *msg;
    size_t msg_len, nh = MAX_HEADERS;
    struct phr_header h[MAX_HEADERS];
    /* last_len 0: once the header was complete, picohttpparser would look for its end after
     * last_len and report -2 forever, so a body longer than one recv() never completed */
    int hl = phr_parse_response(c->rbuf, c->rlen, &minor, &status, &msg, &msg_len, h, &nh, 0);
    (void)last_len;
    if (hl == -2) {
        if (c->rlen >= o->max_response)
            record_error(c);
        return;
    }
    if (hl < 0) {
        record_error(c);
        return;
    }
    long long cl = -1;
    bool close_after = minor == 0;
    for (size_t i = 0; i < nh; i++) {
        if (h[i].name_len == 14 && strncasecmp(h[i].name, "content-length", 14) == 0)
            cl = strtoll(h[i].value, NULL, 10);
        else if (h[i].name_len == 10 && strncasecmp(h[i].name, "connection", 10) == 0)
            close_after = h[i].value_len == 5 && strncasecmp(h[i].value, "close", 5) == 0;
    }
    if (cl < 0 || (size_t)cl > o->max_response) {
        /* our servers always send Content-Length; anything else is not worth supporting */
        record_error(c);
        return;
    }
    if (c->rlen < (size_t)hl + (size_t)cl)
        return;
    record_answer(c, status, mono_ns());
    size_t used = (size_t)hl + (size_t)cl;
    if (close_after || c->rlen > used) {
        conn_close(c); /* pipelined garbage or close requested: start clean */
        return;
    }
    c->rlen = 0;
    c->state = C_IDLE;
}

static void conn_on_event(struct conn *c, uint32_t events, const struct opts *o)
{
    if (c->fd < 0)
        return;
    if (!c->connected) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            record_error(c); /* connections are only opened for a request */
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        c->connected = true;
    }
    if ((events & EPOLLOUT) && c->state == C_BUSY && conn_flush(c) != 0) {
        record_error(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
            if (c->rcap - c->rlen < 4096) {
                size_t cap = c->rcap ? c->rcap * 2 : 16384;
                if (cap > o->max_response + 16384)
                    cap = o->max_response + 16384;
                if (cap <= c->rcap) {
                    if (c->state == C_BUSY)
                        record_error(c);
                    else
                        conn_close(c);
                    return;
                }
                char *nb = realloc(c->rbuf, cap);
                if (nb == NULL) {
                    fprintf(stderr, "ea-loadgen: out of memory\n");
                    exit(1);
                }
                c->rbuf = nb, c->rcap = cap;
            }
            ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                if (c->state == C_BUSY)
                    record_error(c); /* closed mid-request */
                else
                    conn_close(c); /* idle keep-alive closed by the server: reopen on use */
                return;
            }
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return;
            }
            size_t last = c->rlen;
            c->rlen += (size_t)n;
            if (c->state != C_BUSY) {
                conn_close(c); /* bytes nobody asked for */
                return;
            }
            conn_parse(c, last, o);
            if (c->state != C_BUSY)
                return;
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (g.nlat == 0)
        return 0;
    size_t idx = (size_t)(p / 100.0 * (double)g.nlat);
    if (idx >= g.nlat)
        idx = g.nlat - 1;
    return (double)g.lat_us[idx] / 1000.0;
}

static void print_summary(FILE *f, const struct opts *o, double elapsed_s)
{
    fprintf(f, "{\"sent\":%llu,\"ok\":%llu,\"errors\":%llu,\"status\":{",
            (unsigned long long)g.sent, (unsigned long long)g.ok, (unsigned long long)g.errors);
    bool first = true;
    for (int s = 0; s < 600; s++) {
        if (g.status[s] == 0)
            continue;
        fprintf(f, "%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)g.status[s]);
        first = false;
    }
    if (g.status_other > 0)
        fprintf(f, "%s\"other\":%llu", first ? "" : ",", (unsigned long long)g.status_other);
    fprintf(f,
            "},\"achieved_rate\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,\"p99_ms\":%.3f,"
            "\"max_ms\":%.3f,\"target_rate\":%.1f,\"duration_s\":%.3f,\"connections\":%d,"
            "\"unsent\":%llu}\n",
            elapsed_s > 0 ? (double)g.answered / elapsed_s : 0, pct_ms(50), pct_ms(95), pct_ms(99),
            g.nlat ? (double)g.lat_us[g.nlat - 1] / 1000.0 : 0, o->rate, elapsed_s, o->connections,
            (unsigned long long)g.unsent);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (parse_url(o.url) != 0)
        return 2;
    size_t blen = 0;
    char *body = NULL;
    if (o.body_file != NULL) {
        body = read_file(o.body_file, &blen);
        if (body == NULL) {
            fprintf(stderr, "ea-loadgen: could not read %s: %s\n", o.body_file, strerror(errno));
            return 2;
        }
    }
    if (compile_body(body != NULL ? body : "", blen) != 0) {
        fprintf(stderr, "ea-loadgen: out of memory\n");
        return 1;
    }
    if (getrandom(g.rng, sizeof(g.rng), 0) != (ssize_t)sizeof(g.rng) || (g.rng[0] | g.rng[1]) == 0)
        g.rng[0] = (uint64_t)mono_ns() | 1, g.rng[1] = (uint64_t)getpid();
    /* the fixed part of every request */
    size_t cap = 256 + strlen(o.method) + strlen(g.path) + strlen(g.host);
    for (int i = 0; i < o.nheaders; i++)
        cap += strlen(o.headers[i]) + 2;
    g.head = malloc(cap);
    if (g.head == NULL)
        return 1;
    int hl = snprintf(g.head, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n", o.method, g.path, g.host);
    for (int i = 0; i < o.nheaders; i++)
        hl += snprintf(g.head + hl, cap - (size_t)hl, "%s\r\n", o.headers[i]);
    g.head_len = (size_t)hl;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct conn *conns = calloc((size_t)o.connections, sizeof(*conns));
    if (epfd < 0 || conns == NULL)
        return 1;
    for (int i = 0; i < o.connections; i++)
        conns[i].fd = -1;

    const uint64_t total = (uint64_t)(o.rate * o.duration + 0.5);
    const double interval_ns = 1e9 / o.rate;
    const int64_t timeout_ns = (int64_t)(o.timeout_s * 1e9);
    int64_t start = mono_ns();
    uint64_t next = 0; /* next request to send */
    struct epoll_event evs[256];
    int64_t deadline = start + (int64_t)(o.duration * 1e9) + timeout_ns;
    int rr = 0;
    for (;;) {
        int64_t now = mono_ns();
        /* dispatch every due request that has a free connection, in order */
        while (next < total && start + (int64_t)((double)next * interval_ns) <= now) {
            struct conn *c = NULL;
            for (int k = 0; k < o.connections; k++) {
                struct conn *cand = &conns[(rr + k) % o.connections];
                if (cand->state == C_IDLE || cand->state == C_CLOSED) {
                    c = cand;
                    rr = (rr + k + 1) % o.connections;
                    break;
                }
            }
            if (c == NULL)
                break; /* all busy: it waits, and the wait counts in its latency */
            conn_start(c, next, start + (int64_t)((double)next * interval_ns));
            next++;
        }
        /* requests stuck longer than --timeout are errors */
        for (int k = 0; k < o.connections; k++) {
            struct conn *c = &conns[k];
            if (c->state == C_BUSY && now - c->sent_ns > timeout_ns)
                record_error(c);
        }
        bool busy = false;
        for (int k = 0; k < o.connections && !busy; k++)
            busy = conns[k].state == C_BUSY;
        if ((next >= total && !busy) || interrupted || now > deadline)
            break;
        int wait_ms = 1;
        if (next >= total || !busy) {
            int64_t due = start + (int64_t)((double)next * interval_ns) - now;
            wait_ms = due > 1000000 ? (int)(due / 1000000) : 1;
            if (wait_ms > 100)
                wait_ms = 100;
        }
        int n = epoll_wait(epfd, evs, 256, wait_ms);
        for (int i = 0; i < n; i++)
            conn_on_event(evs[i].data.ptr, evs[i].events, &o);
    }
    /* whatever is still in flight at the deadline never got an answer */
    for (int k = 0; k < o.connections; k++) {
        if (conns[k].state == C_BUSY)
            record_error(&conns[k]);
        conn_close(&conns[k]);
        free(conns[k].wbuf);
        free(conns[k].rbuf);
    }
    /* due but never sent (every connection stayed busy until the deadline, or interrupted) */
    g.unsent = total - next;
    qsort(g.lat_us, g.nlat, sizeof(*g.lat_us), cmp_i64);
    int64_t end = g.last_answer_ns > 0 ? g.last_answer_ns : mono_ns();
    double elapsed = (double)(end - start) / 1e9;
    print_summary(stdout, &o, elapsed);
    if (o.json_out != NULL) {
        FILE *f = fopen(o.json_out, "w");
        if (f == NULL) {
            fprintf(stderr, "ea-loadgen: could not write %s: %s\n", o.json_out, strerror(errno));
            return 1;
        }
        print_summary(f, &o, elapsed);
        fclose(f);
    }
    free(conns);
    free(g.lat_us);
    free(g.segs);
    free(g.head);
    free(body);
    close(epfd);
    return interrupted ? 130 : 0;
}
