/*
 * control.c — the control socket of kafka-dev-broker: command parsing and dispatch, a small
 * poll() server for several clients, and the one-shot client used by `--ctl`.
 *
 * Server invariants:
 *   1. Every buffer filled by a client is bounded: a command line is at most KDB_CONTROL_LINE_MAX
 *      bytes (longer: "err line too long", then the connection closes) and at most
 *      KDB_CONTROL_MAX_CLIENTS clients are connected (one more gets "err too many clients").
 *   2. A client's next command is read only once the reply to its previous one is fully sent, so
 *      a client that pipelines commands without reading replies holds at most one reply in memory.
 *   3. Exactly one reply line per command line, "ok ..." or "err <reason>".
 *
 *   accept ─▶ [reading] ──line──▶ exec ─▶ [writing] ──sent──▶ [reading]
 *                 │ EOF / error / too long                       │ error
 *                 ▼                                              ▼
 *              [closed] ◀────────────────────────────────────────┘
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ea_buf.h"
#include "ea_log.h"

#define MAX_ARGS 8
#define CLIENT_REPLY_MAX (4 * 1024 * 1024) /* --ctl: longest reply line accepted */
#define CLIENT_TIMEOUT_S 10

/* ---- commands --------------------------------------------------------------------------- */

static const struct api_key_name {
    const char *name;
    int16_t key;
} api_key_names[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"DescribeGroups", 15},
    {"ListGroups", 16},      {"ApiVersions", 18},
    {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

/* Returns a malloc'd "ok <text>" or "err <text>" and stores ok. */
static char *reply(int *okp, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *reply(int *okp, int ok, const char *fmt, ...)
{
    char *text = NULL, *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if (asprintf(&line, "%s %s", ok ? "ok" : "err", text) < 0)
        line = NULL;
    free(text);
    *okp = ok;
    return line;
}

/* Base-10 integer, the whole string, within [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *api_key_name(int16_t key)
{
    for (size_t i = 0; i < sizeof(api_key_names) / sizeof(api_key_names[0]); i++)
        if (api_key_names[i].key == key)
            return api_key_names[i].name;
    return "?";
}

/* ApiKey by number (0..99) or by name, case-insensitively. */
static int parse_api_key(const char *s, int16_t *key)
{
    long v;
    if (parse_long(s, 0, 99, &v) == 0) {
        *key = (int16_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(api_key_names) / sizeof(api_key_names[0]); i++) {
        if (strcasecmp(s, api_key_names[i].name) == 0) {
            *key = api_key_names[i].key;
            return 0;
        }
    }
    return -1;
}

/* An error code by number or by librdkafka name (rd_kafka_err2name), case-insensitively, with or
 * without the RD_KAFKA_RESP_ERR_ prefix and the leading underscore of internal errors (no two
 * names in librdkafka 2.0.2 differ only by it). Only codes librdkafka knows are accepted. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t ndescs;
    rd_kafka_get_err_descs(&descs, &ndescs);

    long v;
    int by_number = parse_long(s, -1000, 1000, &v) == 0;
    if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
        s += 18;
    if (s[0] == '_')
        s++;
    for (size_t i = 0; i < ndescs; i++) {
        const char *name = descs[i].name;
        if (name == NULL)
            continue;
        if (by_number ? descs[i].code == (rd_kafka_resp_err_t)v
                      : strcasecmp(s, name[0] == '_' ? name + 1 : name) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    return -1;
}

static char *from_err(int *ok, const struct ea_err *err)
{
    return reply(ok, 0, "%s", err->message);
}

static char *cmd_ping(kdb_cluster *c, char **argv, int *ok)
{
    return reply(ok, 1, "pong");
}

static char *cmd_help(kdb_cluster *c, char **argv, int *ok)
{
    return reply(ok, 1,
                 "commands: ping, status, broker-down ID, broker-up ID, all-down, all-up, "
                 "rtt ID MS, request-errors APIKEY CNT ERR, clear-errors APIKEY, "
                 "topic-error TOPIC ERR, leader TOPIC PARTITION BROKERID, help");
}

static char *cmd_status(kdb_cluster *c, char **argv, int *ok)
{
    json_t *st = kdb_cluster_status(c);
    char *s = st != NULL ? json_dumps(st, JSON_COMPACT) : NULL;
    json_decref(st);
    if (s == NULL)
        return reply(ok, 0, "out of memory");
    char *r = reply(ok, 1, "%s", s);
    free(s);
    return r;
}

static char *set_up(kdb_cluster *c, const char *id_s, int up, int *ok)
{
    long id;
    struct ea_err err;
    if (parse_long(id_s, -1, KDB_MAX_BROKERS, &id) != 0)
        return reply(ok, 0, "invalid broker id %.32s", id_s);
    if (kdb_cluster_broker_set_up(c, (int32_t)id, up, &err) != EA_OK)
        return from_err(ok, &err);
    if (id == -1)
        return reply(ok, 1, "all brokers %s", up ? "up" : "down");
    return reply(ok, 1, "broker %ld %s", id, up ? "up" : "down");
}

static char *cmd_broker_down(kdb_cluster *c, char **argv, int *ok)
{
    return set_up(c, argv[1], 0, ok);
}

static char *cmd_broker_up(kdb_cluster *c, char **argv, int *ok)
{
    return set_up(c, argv[1], 1, ok);
}

static char *cmd_all_down(kdb_cluster *c, char **argv, int *ok)
{
    return set_up(c, "-1", 0, ok);
}

static char *cmd_all_up(kdb_cluster *c, char **argv, int *ok)
{
    return set_up(c, "-1", 1, ok);
}

static char *cmd_rtt(kdb_cluster *c, char **argv, int *ok)
{
    long id, ms;
    struct ea_err err;
    if (parse_long(argv[1], -1, KDB_MAX_BROKERS, &id) != 0)
        return reply(ok, 0, "invalid broker id %.32s", argv[1]);
    if (parse_long(argv[2], 0, 600000, &ms) != 0)
        return reply(ok, 0, "invalid rtt %.32s: milliseconds 0..600000", argv[2]);
    if (kdb_cluster_broker_set_rtt(c, (int32_t)id, (int)ms, &err) != EA_OK)
        return from_err(ok, &err);
    if (id == -1)
        return reply(ok, 1, "all brokers rtt %ldms", ms);
    return reply(ok, 1, "broker %ld rtt %ldms", id, ms);
}

static char *cmd_request_errors(kdb_cluster *c, char **argv, int *ok)
{
    int16_t key;
    long cnt;
    rd_kafka_resp_err_t code;
    if (parse_api_key(argv[1], &key) != 0)
        return reply(ok, 0, "unknown api key %.32s", argv[1]);
    if (parse_long(argv[2], 1, 100000, &cnt) != 0)
        return reply(ok, 0, "invalid count %.32s: 1..100000", argv[2]);
    if (parse_err(argv[3], &code) != 0)
        return reply(ok, 0, "unknown error %.64s", argv[3]);
    kdb_cluster_push_request_errors(c, key, (size_t)cnt, code);
    return reply(ok, 1, "next %ld %s (%d) requests fail with %s (%d)", cnt, api_key_name(key),
                 (int)key, rd_kafka_err2name(code), (int)code);
}

static char *cmd_clear_errors(kdb_cluster *c, char **argv, int *ok)
{
    int16_t key;
    if (parse_api_key(argv[1], &key) != 0)
        return reply(ok, 0, "unknown api key %.32s", argv[1]);
    kdb_cluster_clear_request_errors(c, key);
    return reply(ok, 1, "cleared %s (%d) errors", api_key_name(key), (int)key);
}

static char *cmd_topic_error(kdb_cluster *c, char **argv, int *ok)
{
    rd_kafka_resp_err_t code;
    struct ea_err err;
    if (parse_err(argv[2], &code) != 0)
        return reply(ok, 0, "unknown error %.64s", argv[2]);
    if (kdb_cluster_topic_set_error(c, argv[1], code, &err) != EA_OK)
        return from_err(ok, &err);
    return reply(ok, 1, "topic %s error %s (%d)", argv[1], rd_kafka_err2name(code), (int)code);
}

static char *cmd_leader(kdb_cluster *c, char **argv, int *ok)
{
    long part, id;
    struct ea_err err;
    if (parse_long(argv[2], 0, KDB_MAX_PARTITIONS, &part) != 0)
        return reply(ok, 0, "invalid partition %.32s", argv[2]);
    if (parse_long(argv[3], -1, KDB_MAX_BROKERS, &id) != 0)
        return reply(ok, 0, "invalid broker id %.32s", argv[3]);
    if (kdb_cluster_partition_set_leader(c, argv[1], (int32_t)part, (int32_t)id, &err) != EA_OK)
        return from_err(ok, &err);
    return reply(ok, 1, "%s [%ld] leader %ld", argv[1], part, id);
}

static const struct command {
    const char *name;
    int nargs;
    const char *args;
    char *(*fn)(kdb_cluster *c, char **argv, int *ok);
    int quiet; /* polled by scripts: logged at debug level only */
} commands[] = {
    {"ping", 0, "", cmd_ping, 1},
    {"status", 0, "", cmd_status, 1},
    {"help", 0, "", cmd_help, 1},
    {"broker-down", 1, " ID", cmd_broker_down, 0},
    {"broker-up", 1, " ID", cmd_broker_up, 0},
    {"all-down", 0, "", cmd_all_down, 0},
    {"all-up", 0, "", cmd_all_up, 0},
    {"rtt", 2, " ID MS", cmd_rtt, 0},
    {"request-errors", 3, " APIKEY CNT ERR", cmd_request_errors, 0},
    {"clear-errors", 1, " APIKEY", cmd_clear_errors, 0},
    {"topic-error", 2, " TOPIC ERR", cmd_topic_error, 0},
    {"leader", 3, " TOPIC PARTITION BROKERID", cmd_leader, 0},
};

static char *usage(int *ok, const char *cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcasecmp(cmd, commands[i].name) == 0)
            return reply(ok, 0, "usage: %s%s", commands[i].name, commands[i].args);
    return reply(ok, 0, "unknown command");
}

char *kdb_control_exec(kdb_cluster *c, const char *line, int *ok)
{
    char buf[KDB_CONTROL_LINE_MAX + 1], *argv[MAX_ARGS], *save = NULL;
    int argc = 0;
    size_t len = strlen(line);
    if (len >= sizeof(buf))
        return reply(ok, 0, "line too long");
    memcpy(buf, line, len + 1);
    for (char *tok = strtok_r(buf, " \t\r", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MAX_ARGS)
            return reply(ok, 0, "too many arguments");
        argv[argc++] = tok;
    }
    if (argc == 0)
        return reply(ok, 0, "empty command");

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct command *cmd = &commands[i];
        if (strcasecmp(argv[0], cmd->name) != 0)
            continue;
        if (argc - 1 != cmd->nargs)
            return usage(ok, cmd->name);
        char *r = cmd->fn(c, argv, ok);
        if (r != NULL) {
            /* status replies can be long; the log keeps the head */
            ea_log(cmd->quiet ? EA_LOG_DEBUG : EA_LOG_INFO, "control", "%s -> %.200s", line, r);
        }
        return r;
    }
    return reply(ok, 0, "unknown command");
}

/* ---- server ----------------------------------------------------------------------------- */

struct client {
    int fd;
    int eof;     /* peer shut down its side: answer what is buffered, then close */
    int closing; /* close once `out` is sent */
    size_t inlen;
    char in[KDB_CONTROL_LINE_MAX];
    char *out; /* pending reply with its newline, NULL when none */
    size_t outlen, outoff;
};

struct kdb_control_server {
    kdb_cluster *cluster;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int fd;
    dev_t dev;
    ino_t ino;
    struct client *clients[KDB_CONTROL_MAX_CLIENTS];
};

static ea_rc fill_addr(const char *path, struct sockaddr_un *sa, struct ea_err *err)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(sa->sun_path))
        return ea_err_set(err, EA_ERR_INVALID, "control socket path must be 1..%zu bytes",
                          sizeof(sa->sun_path) - 1);
    memcpy(sa->sun_path, path, len + 1);
    return EA_OK;
}

static int connect_unix(const char *path, struct ea_err *err)
{
    struct sockaddr_un sa;
    if (fill_addr(path, &sa, err) != EA_OK)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ea_err_set(err, EA_ERR_IO, "could not create socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        ea_err_set(err, EA_ERR_UNAVAILABLE, "could not connect to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

ea_rc kdb_control_server_open(const char *path, kdb_cluster *c, kdb_control_server **out,
                              struct ea_err *err)
{
    struct sockaddr_un sa;
    struct stat st;
    ea_rc rc = fill_addr(path, &sa, err);
    if (rc != EA_OK)
        return rc;

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ea_err_set(err, EA_ERR_INVALID, "%s exists and is not a socket", path);
        int probe = connect_unix(path, NULL);
        if (probe >= 0) {
            close(probe);
            return ea_err_set(err, EA_ERR_CONFLICT, "another process is listening on %s", path);
        }
        if (unlink(path) != 0 && errno != ENOENT)
            return ea_err_set(err, EA_ERR_IO, "could not remove stale %s: %s", path,
                              strerror(errno));
    } else if (errno != ENOENT) {
        return ea_err_set(err, EA_ERR_IO, "could not stat %s: %s", path, strerror(errno));
    }

    kdb_control_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "out of memory");
    srv->cluster = c;
    memcpy(srv->path, sa.sun_path, sizeof(srv->path));
    srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv->fd < 0) {
        rc = ea_err_set(err, EA_ERR_IO, "could not create socket: %s", strerror(errno));
        goto out;
    }
    /* umask closes the window between bind() and chmod() in which others could connect */
    mode_t old = umask(077);
    int bound = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (bound != 0) {
        rc = ea_err_set(err, EA_ERR_IO, "could not bind %s: %s", path, strerror(errno));
        goto out;
    }
    if (chmod(path, 0600) != 0 || stat(path, &st) != 0) {
        rc = ea_err_set(err, EA_ERR_IO, "could not chmod %s: %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
    srv->dev = st.st_dev;
    srv->ino = st.st_ino;
    if (listen(srv->fd, KDB_CONTROL_MAX_CLIENTS) != 0) {
        rc = ea_err_set(err, EA_ERR_IO, "could not listen on %s: %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
out:
    if (rc != EA_OK) {
        if (srv->fd >= 0)
            close(srv->fd);
        free(srv);
        return rc;
    }
    *out = srv;
    return EA_OK;
}

static void client_drop(kdb_control_server *srv, int slot)
{
    struct client *cl = srv->clients[slot];
    char subj[EA_LOG_SUBJECT_MAX];
    snprintf(subj, sizeof(subj), "control-client-%d", cl->fd);
    ea_log_debug(subj, "client %d disconnected", cl->fd);
    close(cl->fd);
    free(cl->out);
    free(cl);
    srv->clients[slot] = NULL;
}

/* Sends what is pending without blocking. Returns -1 when the connection is broken. */
static int client_flush(struct client *cl)
{
    while (cl->out != NULL) {
        ssize_t n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        cl->outoff += (size_t)n;
        if (cl->outoff == cl->outlen) {
            free(cl->out);
            cl->out = NULL;
            cl->outlen = cl->outoff = 0;
        }
    }
    return 0;
}

/* Takes ownership of `line` (may be NULL: out of memory) and queues it with its newline. */
static void client_queue(struct client *cl, char *line)
{
    static const char oom[] = "err out of memory\n";
    size_t len = line != NULL ? strlen(line) : 0;
    char *out = line != NULL ? realloc(line, len + 2) : NULL;
    if (out == NULL) {
        free(line);
        out = strdup(oom);
        len = sizeof(oom) - 2;
        if (out == NULL) {
            cl->closing = 1;
            return;
        }
    }
    out[len] = '\n';
    out[len + 1] = '\0';
    cl->out = out;
    cl->outlen = len + 1;
    cl->outoff = 0;
}

/* Runs buffered complete lines, one at a time, while no reply is pending (invariant 2). */
static void client_process(kdb_control_server *srv, struct client *cl)
{
    int ok;
    while (cl->out == NULL && !cl->closing) {
        char *nl = memchr(cl->in, '\n', cl->inlen);
        if (nl == NULL && cl->eof && cl->inlen > 0 && cl->inlen < sizeof(cl->in))
            nl = cl->in + cl->inlen; /* last line without newline before EOF */
        if (nl == NULL) {
            if (cl->inlen == sizeof(cl->in)) {
                client_queue(cl, reply(&ok, 0, "line too long"));
                cl->closing = 1;
            }
            return;
        }
        *nl = '\0';
        size_t used = (size_t)(nl - cl->in) + (nl < cl->in + cl->inlen ? 1 : 0);
        client_queue(cl, kdb_control_exec(srv->cluster, cl->in, &ok));
        memmove(cl->in, cl->in + used, cl->inlen - used);
        cl->inlen -= used;
        if (client_flush(cl) != 0)
            cl->closing = 1;
    }
}

static void accept_clients(kdb_control_server *srv)
{
    for (;;) {
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                ea_log_warn("control-socket", "could not accept: %s", strerror(errno));
            return;
        }
        int slot = -1;
        for (int i = 0; i < KDB_CONTROL_MAX_CLIENTS && slot < 0; i++)
            if (srv->clients[i] == NULL)
                slot = i;
        struct client *cl = slot >= 0 ? calloc(1, sizeof(*cl)) : NULL;
        if (cl == NULL) {
            static const char msg[] = "err too many clients\n";
            ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            close(fd);
            ea_log_warn("control-socket", "refused a client: %d already connected",
                        KDB_CONTROL_MAX_CLIENTS);
            continue;
        }
        cl->fd = fd;
        srv->clients[slot] = cl;
        char subj[EA_LOG_SUBJECT_MAX];
        snprintf(subj, sizeof(subj), "control-client-%d", fd);
        ea_log_debug(subj, "client %d connected", fd);
    }
}

static void client_read(struct client *cl)
{
    ssize_t n = read(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen);
    if (n > 0)
        cl->inlen += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        cl->eof = 1;
}

ea_rc kdb_control_server_run(kdb_control_server *srv, int stop_fd)
{
    struct pollfd pfds[2 + KDB_CONTROL_MAX_CLIENTS];
    int slots[2 + KDB_CONTROL_MAX_CLIENTS];
    for (;;) {
        nfds_t n = 0;
        pfds[n++] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
        pfds[n++] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
        for (int i = 0; i < KDB_CONTROL_MAX_CLIENTS; i++) {
            struct client *cl = srv->clients[i];
            if (cl == NULL)
                continue;
            short ev = cl->out != NULL                                            ? POLLOUT
                       : (!cl->eof && !cl->closing && cl->inlen < sizeof(cl->in)) ? POLLIN
                                                                                  : 0;
            slots[n] = i;
            pfds[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
        }
        if (poll(pfds, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            ea_log_error("control-socket", "could not poll: %s", strerror(errno));
            return EA_ERR_IO;
        }
        if (pfds[0].revents != 0)
            return EA_OK;
        for (nfds_t k = 2; k < n; k++) {
            struct client *cl = srv->clients[slots[k]];
            short re = pfds[k].revents;
            if (re & (POLLERR | POLLNVAL)) {
                client_drop(srv, slots[k]);
                continue;
            }
            /* POLLHUP: the send fails (EPIPE) and drops a client that is gone for good */
            if ((re & (POLLOUT | POLLHUP)) && client_flush(cl) != 0) {
                client_drop(srv, slots[k]);
                continue;
            }
            if ((re & (POLLIN | POLLHUP)) && cl->inlen < sizeof(cl->in))
                client_read(cl);
            client_process(srv, cl);
            /* after process(), no reply pending at EOF means every buffered line was answered */
            if (cl->out == NULL && (cl->closing || cl->eof))
                client_drop(srv, slots[k]);
        }
        /* after the clients: slots freed by clients that just hung up are reusable */
        if (pfds[1].revents & POLLIN)
            accept_clients(srv);
    }
}

void kdb_control_server_close(kdb_control_server *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; i < KDB_CONTROL_MAX_CLIENTS; i++)
        if (srv->clients[i] != NULL)
            client_drop(srv, i);
    close(srv->fd);
    /* only our own socket: a second broker may have taken the path over since */
    struct stat st;
    if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
        unlink(srv->path);
    free(srv);
}

/* ---- client (--ctl) ----------------------------------------------------------------------- */

struct line_reader {
    ea_buf b; /* capped at CLIENT_REPLY_MAX */
};

/* Reads one '\n'-terminated line from fd into r (the newline replaced by NUL). Bytes after it stay
 * buffered for the next call. Returns the line length, or -1 on EOF, error, timeout or overlong. */
static ssize_t read_line(int fd, struct line_reader *r, size_t *consumed)
{
    for (;;) {
        ea_buf *b = &r->b;
        char *nl = b->len > 0 ? memchr(b->p, '\n', b->len) : NULL;
        if (nl != NULL) {
            *nl = '\0';
            *consumed = (size_t)(nl - b->p) + 1;
            return nl - b->p;
        }
        if (b->cap <= b->len + 1) { /* full: twice the room, 4 KiB at first, within the cap */
            size_t want = b->len < 4096 ? 4096 : b->len;
            if (want > b->max - b->len)
                want = b->max - b->len;
            if (want == 0 || !ea_buf_reserve(b, want))
                return -1; /* an overlong line, or out of memory */
        }
        ssize_t n = read(fd, b->p + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        ea_buf_advance(b, (size_t)n);
    }
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends one command, prints its reply. Returns 0 ok, 1 err reply, 2 transport failure. */
static int client_command(int fd, const char *path, const char *cmd, struct line_reader *r)
{
    size_t len = strlen(cmd), consumed;
    if (len + 1 > KDB_CONTROL_LINE_MAX || memchr(cmd, '\n', len) != NULL) {
        fprintf(stderr, "kafka-dev-broker: command must be one line of at most %d bytes\n",
                KDB_CONTROL_LINE_MAX - 1);
        return 2;
    }
    if (send_all(fd, cmd, len) != 0 || send_all(fd, "\n", 1) != 0) {
        fprintf(stderr, "kafka-dev-broker: could not send to %s: %s\n", path, strerror(errno));
        return 2;
    }
    ssize_t n = read_line(fd, r, &consumed);
    if (n < 0) {
        fprintf(stderr, "kafka-dev-broker: no reply from %s%s%s\n", path, errno ? ": " : "",
                errno ? strerror(errno) : "");
        return 2;
    }
    const char *line = r->b.p;
    int ok = strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ');
    printf("%s\n", line);
    fflush(stdout);
    memmove(r->b.p, r->b.p + consumed, r->b.len - consumed);
    r->b.len -= consumed;
    return ok ? 0 : 1;
}

int kdb_control_client_main(const char *path, int ncmds, char *const *cmds)
{
    struct ea_err err;
    int fd = connect_unix(path, &err);
    if (fd < 0) {
        fprintf(stderr, "kafka-dev-broker: %s\n", err.message);
        return 2;
    }
    struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    struct line_reader r = {EA_BUF_INIT(CLIENT_REPLY_MAX)};
    int worst = 0;
    if (ncmds > 0) {
        for (int i = 0; i < ncmds && worst < 2; i++) {
            errno = 0;
            int rc = client_command(fd, path, cmds[i], &r);
            worst = rc > worst ? rc : worst;
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (worst < 2 && (n = getline(&line, &cap, stdin)) >= 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            if (n == 0)
                continue;
            errno = 0;
            int rc = client_command(fd, path, line, &r);
            worst = rc > worst ? rc : worst;
        }
        free(line);
    }
    ea_buf_free(&r.b);
    close(fd);
    return worst;
}
