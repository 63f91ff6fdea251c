/*
 * test_http.c — lib/http in one process: a server on a loopback port and a plain-socket client on
 * a thread. Routes by path prefix (whole segments) in registration order, no route → 404, a handler
 * that declines → 404; JSON answers with Content-Length (keep-alive survives); JSON errors; a body
 * over max_body → 413 with the JSON error, not h2o's text; the h2c upgrade is not taken; a
 * request's id is made once, is 16 hex characters, is sent back as X-Request-Id and differs between
 * requests; SIGTERM closes the listener and calls on_stop once.
 */
#include "../ea_test.h"
#include "../ea_test_net.h"
#include "ea_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static atomic_int client_done;
static int stops;
static char ids[2][32]; /* ea_http_request_id as the handler saw it, twice per request */

static int h_ping(void *ud, h2o_req_t *req)
{
    const char *a = ea_http_request_id(req), *b = ea_http_request_id(req);
    snprintf(ids[0], sizeof(ids[0]), "%s", a);
    snprintf(ids[1], sizeof(ids[1]), "%s", b);
    ea_http_send_json(req, 200, json_pack("{s:b,s:s}", "ok", 1, "route", (const char *)ud), NULL);
    return 0;
}

static int h_decline(void *ud, h2o_req_t *req)
{
    return -1;
}

static int h_error(void *ud, h2o_req_t *req)
{
    ea_http_send_error(req, 422, "bad_thing", "value %d is wrong", 7);
    return 0;
}

static void on_stop(void *ud)
{
    stops++;
}

/* One request on a new connection; the whole answer (headers and body) into out. */
static size_t request(const char *text, size_t len, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    size_t n = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        for (size_t off = 0; off < len;) {
            ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        ssize_t r;
        while (n + 1 < cap && (r = recv(fd, out + n, cap - 1 - n, 0)) > 0)
            n += (size_t)r;
    }
    out[n] = '\0';
    close(fd);
    return n;
}

static size_t get(const char *path, const char *extra, char *out, size_t cap)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
                     path, extra);
    return request(req, (size_t)n, out, cap);
}

static int status_of(const char *answer)
{
    int st = 0;
    return sscanf(answer, "HTTP/1.1 %d", &st) == 1 ? st : -1;
}

static const char *body_of(const char *answer)
{
    const char *b = strstr(answer, "\r\n\r\n");
    return b != NULL ? b + 4 : "";
}

/* The value of header name (lowercase, as h2o sends them) into out ("" when absent). */
static void header_of(const char *answer, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s: ", name);
    const char *h = strcasestr(answer, key);
    if (h == NULL)
        return;
    h += strlen(key);
    size_t n = strcspn(h, "\r");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), h);
}

static char answers[10][8192];

static void *client(void *arg)
{
    get("/ping", "", answers[0], sizeof(answers[0]));
    get("/ping/deeper/x", "", answers[1], sizeof(answers[1]));
    get("/ping/shadowed", "", answers[8], sizeof(answers[8]));
    get("/pingpong", "", answers[9], sizeof(answers[9]));
    get("/nothing-here", "", answers[2], sizeof(answers[2]));
    get("/declines", "", answers[3], sizeof(answers[3]));
    get("/error", "", answers[4], sizeof(answers[4]));
    get("/ping", "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n", answers[5],
        sizeof(answers[5]));
    static char big[3000];
    memset(big, 'x', sizeof(big));
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\nConnection: "
                     "close\r\n\r\n%.*s",
                     sizeof(big), (int)sizeof(big), big);
    request(req, (size_t)n, answers[6], sizeof(answers[6]));
    get("/ping", "", answers[7], sizeof(answers[7]));
    kill(getpid(), SIGTERM);
    atomic_store(&client_done, 1);
    return NULL;
}

static int free_port(void)
{
    int p = -1, fd = ea_test_loopback(&p, 0);
    if (fd >= 0)
        close(fd);
    return p;
}

static void test_server(void)
{
    port = free_port();
    EA_CHECK(port > 0);
    ea_http_config cfg = {.host = "127.0.0.1", .port = port, .max_body = 2048};
    ea_http_server *s = ea_http_server_new(&cfg);
    EA_CHECK(s != NULL);
    if (s == NULL)
        return;
    /* h2o matches in registration order: the more specific path first (/ last, like static.c) */
    ea_http_route(s, "/ping/deeper", h_ping, "deeper");
    ea_http_route(s, "/ping", h_ping, "ping");
    ea_http_route(s, "/ping/shadowed", h_ping, "shadowed");
    ea_http_route(s, "/declines", h_decline, NULL);
    ea_http_route(s, "/error", h_error, NULL);
    struct ea_err err = {0};
    EA_CHECK(ea_http_listen(s, on_stop, NULL, &err) == EA_OK);
    pthread_t t;
    pthread_create(&t, NULL, client, NULL);
    for (int i = 0; i < 1000 && !(atomic_load(&client_done) && ea_http_stopping(s)); i++)
        ea_http_run_once(s, 10);
    pthread_join(t, NULL);

    char v[128];
    EA_CHECK(status_of(answers[0]) == 200);
    header_of(answers[0], "content-type", v, sizeof(v));
    EA_CHECK_STR(v, "application/json");
    header_of(answers[0], "content-length", v, sizeof(v));
    EA_CHECK((size_t)atoi(v) == strlen(body_of(answers[0])));
    EA_CHECK_STR(body_of(answers[0]), "{\"ok\":true,\"route\":\"ping\"}");

    EA_CHECK(status_of(answers[1]) == 200); /* the first registered prefix that matches */
    EA_CHECK(strstr(body_of(answers[1]), "\"route\":\"deeper\"") != NULL);
    EA_CHECK(strstr(body_of(answers[8]), "\"route\":\"ping\"") != NULL); /* /ping came first */
    EA_CHECK(status_of(answers[9]) == 404); /* a prefix ends at a '/': /ping is not /pingpong */
    EA_CHECK(status_of(answers[2]) == 404);
    EA_CHECK(status_of(answers[3]) == 404);

    EA_CHECK(status_of(answers[4]) == 422);
    json_error_t je;
    json_t *e = json_loads(body_of(answers[4]), 0, &je);
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                 "bad_thing");
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
                 "value 7 is wrong");
    json_decref(e);

    EA_CHECK(status_of(answers[5]) == 200); /* answered in HTTP/1.1, not 101 Switching */

    EA_CHECK(status_of(answers[6]) == 413);
    header_of(answers[6], "content-type", v, sizeof(v));
    EA_CHECK_STR(v, "application/json");
    EA_CHECK(strstr(body_of(answers[6]), "\"code\":\"body_too_large\"") != NULL);

    /* the request id: made once per request, sent back, 16 hex characters, new per request */
    EA_CHECK_STR(ids[0], ids[1]);
    header_of(answers[7], "x-request-id", v, sizeof(v));
    EA_CHECK_STR(v, ids[0]);
    EA_CHECK(strlen(v) == 16);
    bool hex = true;
    for (const char *p = v; *p; p++)
        hex &= isxdigit((unsigned char)*p) && !isupper((unsigned char)*p);
    EA_CHECK(hex);
    char first[32];
    header_of(answers[0], "x-request-id", first, sizeof(first));
    EA_CHECK(strlen(first) == 16 && strcmp(first, v) != 0);

    EA_CHECK(ea_http_stopping(s)); /* SIGTERM reached the loop */
    EA_CHECK(stops == 1);
    ea_http_server_free(s);
}

/* A header value is copied by its length: bytes after it (no NUL there) are never part of it. */
static void test_value_dup(void)
{
    const char hdr[8] = {'s', 'i', 'd', '=', 'a', 'b', 'X', 'Y'}; /* no NUL anywhere */
    char *v = ea_http_value_dup(hdr, 6);
    EA_CHECK(v != NULL && strcmp(v, "sid=ab") == 0);
    free(v);
    v = ea_http_value_dup(hdr, 0);
    EA_CHECK(v != NULL && v[0] == '\0');
    free(v);
}

EA_TEST_MAIN(EA_TEST(test_server), EA_TEST(test_value_dup))
