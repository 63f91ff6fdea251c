/*
 * test_ratelimit.c — lib/ratelimit (ea_ratelimit.h) against a scripted Redis peer in this
 * process: the limiter's real ea_redis_async thread talks RESP over loopback to a peer that
 * answers the token-bucket script the way ea_ratelimit.c's Lua does (the same arithmetic on the
 * ARGV the limiter sends), stays silent, answers an error, or is not there at all. What is checked:
 * the arguments of the script call (key, bucket size, rate, lease size); leases spent on the loop
 * without a Redis call, refilled when spent, dropped when expired; a window never admits more than
 * the bucket plus its rate times the time elapsed, and never more than Redis granted; concurrent
 * waiters share one refill, answered in arrival order; remembered refusals; per-key isolation,
 * including two names sharing a lease slot; the local fallback bucket (Redis refused, silent,
 * answering errors or malformed grants) admits exactly the bucket, per key, and refills at the
 * bucket's rate.
 *
 * Time: the limiter reads ea_time_now_ms(); this executable is linked with
 * --wrap=ea_time_now_ms (CMakeLists.txt) so that clock only moves when a test advances it —
 * leases (100 ms), remembered refusals and local refills are checked at exact instants, and a
 * slow machine cannot expire a lease mid-test. Redis's side (TIME in the script) reads the same
 * clock. Only the waits' deadline (h2o's clock) and the Redis client's timeouts (monotonic) are
 * real: the silent-peer test spends one of them (~0.25 s). The test thread plays the event loop:
 * poll() on ea_ratelimit_fd, ea_ratelimit_on_ready, and h2o_evloop_run for the deadlines where a
 * test wants them. (With a real redis-server and the real Lua script:
 * tests/integration/ingest_redis_stall.test.mjs, ingest_ratelimit_fallback.test.mjs.)
 */
#include "../ea_test.h"
#include "../ea_test_net.h"
#include "../ea_test_resp.h"
#include "ea_ratelimit.h"
#include "ea_time.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the clock the limiter reads (and the peer's TIME) ----------------------------------------
 */

static _Atomic int64_t fake_now = INT64_C(1800000000000);

int64_t __wrap_ea_time_now_ms(void);
int64_t __wrap_ea_time_now_ms(void)
{
    return atomic_load(&fake_now);
}

static void advance(int64_t ms)
{
    atomic_fetch_add(&fake_now, ms);
}

static int64_t real_ms(void)
{
    return ea_time_mono_ns() / 1000000;
}

/* ---- the scripted peer ------------------------------------------------------------------------
 */

typedef enum { P_BUCKET, P_SILENT, P_ERROR, P_BADGRANT } peer_mode;

#define NARGS EA_TEST_RESP_NARGS
#define ARGLEN EA_TEST_RESP_ARGLEN
#define NKEYS 64
#define NWANTS 64
#define SHA40 "0123456789012345678901234567890123456789"

struct pkey {
    char key[ARGLEN];
    double tokens;
    int64_t ts;
    long granted; /* tokens this bucket gave out */
};

static struct {
    ea_test_resp_peer rp;
    peer_mode mode;
    pthread_mutex_t mu; /* the fields below */
    int evals;          /* script calls received */
    struct pkey keys[NKEYS];
    int nkeys;
    char last[NARGS][ARGLEN]; /* the last script call: EVALSHA sha numkeys key cap rate want */
    long wants[NWANTS];       /* the want of every script call, in order */
    int nwants;
} peer = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The bucket script of ea_ratelimit.c, step for step, on the test's clock. mu held. */
static void bucket_take(const char *key, double cap, double rate, double want, long long out[4])
{
    struct pkey *b = NULL;
    for (int i = 0; i < peer.nkeys && b == NULL; i++)
        if (strcmp(peer.keys[i].key, key) == 0)
            b = &peer.keys[i];
    int64_t now = atomic_load(&fake_now);
    if (b == NULL && peer.nkeys < NKEYS) {
        b = &peer.keys[peer.nkeys++];
        snprintf(b->key, sizeof(b->key), "%s", key);
        b->tokens = cap;
        b->ts = now;
        b->granted = 0;
    }
    if (b == NULL) { /* more keys than a test uses: refuse, the test's counts will say so */
        out[0] = out[1] = out[2] = 0;
        out[3] = 1000;
        return;
    }
    double tokens = fmin(cap, b->tokens + fmax(0, (double)(now - b->ts)) * rate);
    double granted = fmin(want, floor(tokens));
    if (granted < 0)
        granted = 0;
    tokens -= granted;
    b->tokens = tokens;
    b->ts = now;
    b->granted += (long)granted;
    out[0] = (long long)granted;
    out[1] = (long long)floor(tokens);
    out[2] = (long long)ceil((cap - tokens) / rate);
    out[3] = granted == 0 ? (long long)ceil((1 - tokens) / rate) : 0;
}

static void answer(int c, char argv[NARGS][ARGLEN], int argc, bool *conn_flag)
{
    (void)conn_flag;
    char out[256] = "+PONG\r\n";
    if (argc >= 1 && strcasecmp(argv[0], "SCRIPT") == 0) {
        snprintf(out, sizeof(out), "$40\r\n%s\r\n", SHA40);
    } else if (argc >= 1 &&
               (strcasecmp(argv[0], "EVALSHA") == 0 || strcasecmp(argv[0], "EVAL") == 0)) {
        pthread_mutex_lock(&peer.mu);
        peer.evals++;
        memset(peer.last, 0, sizeof(peer.last));
        for (int i = 0; i < argc; i++)
            memcpy(peer.last[i], argv[i], ARGLEN); /* argv[i] is NUL-terminated within ARGLEN */
        if (argc == 7 && peer.nwants < NWANTS)
            peer.wants[peer.nwants++] = strtol(argv[6], NULL, 10);
        peer_mode mode = peer.mode;
        long long g[4] = {0, 0, 0, 0};
        if (mode == P_BUCKET && argc == 7)
            bucket_take(argv[3], strtod(argv[4], NULL), strtod(argv[5], NULL),
                        strtod(argv[6], NULL), g);
        pthread_mutex_unlock(&peer.mu);
        if (mode == P_SILENT)
            return;
        if (mode == P_ERROR || argc != 7)
            snprintf(out, sizeof(out), "-ERR scripted failure\r\n");
        else if (mode == P_BADGRANT) /* claims 5 tokens, but the last element is not a number */
            snprintf(out, sizeof(out), "*4\r\n:5\r\n:0\r\n:0\r\n$2\r\nno\r\n");
        else
            snprintf(out, sizeof(out), "*4\r\n:%lld\r\n:%lld\r\n:%lld\r\n:%lld\r\n", g[0], g[1],
                     g[2], g[3]);
    }
    (void)send(c, out, strlen(out), MSG_NOSIGNAL);
}

static void peer_start(peer_mode mode)
{
    pthread_mutex_lock(&peer.mu);
    peer.mode = mode;
    peer.evals = peer.nkeys = peer.nwants = 0;
    memset(peer.last, 0, sizeof(peer.last));
    pthread_mutex_unlock(&peer.mu);
    peer.rp.on_cmd = answer;
    EA_CHECK(ea_test_resp_start(&peer.rp));
}

static void peer_end(void)
{
    ea_test_resp_end(&peer.rp);
}

/* A port nothing listens on: bound, then closed. */
static int dead_port(void)
{
    int port = 0, fd = ea_test_loopback(&port, 0);
    EA_CHECK(fd >= 0);
    close(fd);
    return port;
}

static int peer_evals(void)
{
    pthread_mutex_lock(&peer.mu);
    int n = peer.evals;
    pthread_mutex_unlock(&peer.mu);
    return n;
}

/* Tokens the peer's bucket `key` gave out (-1: the peer never saw the key). */
static long peer_granted(const char *key)
{
    long g = -1;
    pthread_mutex_lock(&peer.mu);
    for (int i = 0; i < peer.nkeys; i++)
        if (strcmp(peer.keys[i].key, key) == 0)
            g = peer.keys[i].granted;
    pthread_mutex_unlock(&peer.mu);
    return g;
}

static bool peer_last_is(int i, const char *want)
{
    pthread_mutex_lock(&peer.mu);
    bool ok = strcmp(peer.last[i], want) == 0;
    if (!ok)
        fprintf(stderr, "peer: argument %d is \"%s\", expected \"%s\"\n", i, peer.last[i], want);
    pthread_mutex_unlock(&peer.mu);
    return ok;
}

/* ---- the limiter under test and the loop the test thread plays ------------------------------- */

static h2o_loop_t *loop;
static ea_ratelimit *rl;
static ea_redis_url url;
static bool run_deadlines; /* run h2o's timers (the waits' deadlines) while playing the loop */
static bool stuck; /* a wait of this test was never answered: the rest of it does not wait again */

static void setup(int port, long per_min, long burst, bool deadlines)
{
    char text[64];
    snprintf(text, sizeof(text), "redis://127.0.0.1:%d", port);
    struct ea_err err = {0};
    EA_CHECK(ea_redis_url_parse(text, NULL, &url, &err) == EA_OK);
    loop = h2o_evloop_create();
    ea_ratelimit_config cfg = {.redis = &url,
                               .per_min = per_min,
                               .burst = burst,
                               .key_prefix = "t:rl:",
                               .thread_name = "test-rl"};
    rl = ea_ratelimit_new(loop, &cfg, &err);
    EA_CHECK(rl != NULL);
    run_deadlines = deadlines;
    stuck = false;
    h2o_evloop_run(loop, 0); /* h2o's idea of now, for the deadlines */
}

static void teardown(void)
{
    ea_ratelimit_free(rl);
    rl = NULL;
    h2o_evloop_destroy(loop);
    loop = NULL;
}

static ea_rl_stats stats(void)
{
    ea_rl_stats s;
    ea_ratelimit_stats(rl, &s);
    return s;
}

struct take {
    ea_rl_wait w; /* first */
    bool pending; /* take said -1 */
    int calls, order;
    ea_rl_result res;
};

static int decided_seq;

static void on_decided(ea_rl_wait *w, const ea_rl_result *r)
{
    struct take *t = (struct take *)w;
    t->calls++;
    t->order = decided_seq++;
    t->res = *r;
}

/* Starts a take: 1 / 0 decided now (t->res filled), -1 waiting (t->pending). */
static int take_start(struct take *t, const char *name, long per_min)
{
    memset(t, 0, sizeof(*t));
    t->w.cb = on_decided;
    int r = ea_ratelimit_take(rl, name, per_min, &t->w, &t->res);
    if (r < 0)
        t->pending = true;
    else
        EA_CHECK(r == (int)t->res.allowed && !ea_ratelimit_waiting(&t->w));
    return r;
}

/* Plays the loop until every waiting take of t[0..n) had its callback (a failure after 5 s of
 * real time: the waits are cancelled so nothing dangles, and later pumps of the test give up at
 * once, so a broken limiter fails the test quickly instead of hanging it). */
static void pump(struct take *t, int n)
{
    int64_t end = real_ms() + (stuck ? 0 : 5000);
    int left;
    for (;;) {
        left = 0;
        for (int i = 0; i < n; i++)
            left += t[i].pending && t[i].calls == 0;
        if (left == 0 || stuck || real_ms() >= end)
            break;
        struct pollfd p = {.fd = ea_ratelimit_fd(rl), .events = POLLIN};
        if (poll(&p, 1, 5) > 0)
            ea_ratelimit_on_ready(rl);
        if (run_deadlines)
            h2o_evloop_run(loop, 0);
    }
    EA_CHECK(left == 0);
    if (left != 0)
        stuck = true;
    for (int i = 0; i < n; i++) {
        if (t[i].pending && t[i].calls == 0)
            ea_ratelimit_cancel(&t[i].w);
        EA_CHECK(!t[i].pending || t[i].calls == 1); /* answered exactly once */
    }
}

/* One take, answered now (1 / 0, returned) or after the loop delivered its callback (-1
 * returned); either way it is over when this returns (nothing left linked) and *res (may be NULL)
 * holds the answer. */
static int take_now(const char *name, long per_min, ea_rl_result *res)
{
    struct take t;
    int r = take_start(&t, name, per_min);
    if (t.pending)
        pump(&t, 1);
    if (res != NULL)
        *res = t.res;
    return r;
}

/* One take, decided now or later: 1 admitted, 0 refused. */
static int take1(const char *name, long per_min, ea_rl_result *res)
{
    ea_rl_result r;
    take_now(name, per_min, &r);
    if (res != NULL)
        *res = r;
    return r.allowed ? 1 : 0;
}

/* n takes of one bucket: how many were admitted; *local counts local decisions (may be NULL). */
static int take_n(const char *name, long per_min, int n, int *local)
{
    int admitted = 0;
    for (int i = 0; i < n; i++) {
        ea_rl_result r;
        admitted += take1(name, per_min, &r);
        if (local != NULL)
            *local += r.local;
    }
    return admitted;
}

/* ---- tests ------------------------------------------------------------------------------------
 */

/* 60000/min = 1 token/ms, bucket 200: leases of 10 (5 % of the bucket; 50 ms of rate is more). */
static void test_lease_protocol(void)
{
    peer_start(P_BUCKET);
    setup(peer.rp.port, 60000, 200, false);
    ea_rl_result r;
    EA_CHECK(take_now("k1", 0, &r) == -1); /* nothing leased yet: it waits for a refill */
    EA_CHECK(r.allowed && !r.local && r.limit == 60000);
    EA_CHECK(r.remaining == 190 + 9); /* Redis's 190 plus the 9 leased tokens not spent */
    EA_CHECK(peer_evals() == 1);
    EA_CHECK(peer_last_is(0, "EVALSHA") && peer_last_is(1, SHA40) && peer_last_is(2, "1"));
    EA_CHECK(peer_last_is(3, "t:rl:k1") && peer_last_is(4, "200") && peer_last_is(5, "1") &&
             peer_last_is(6, "10"));
    /* the other 9 leased tokens are spent on the loop, each at once, without Redis */
    int now_ok = 0;
    for (int i = 0; i < 9; i++)
        now_ok += take_now("k1", 0, NULL) == 1;
    EA_CHECK(now_ok == 9);
    EA_CHECK(peer_evals() == 1);
    /* the lease is spent: the next take refills it */
    EA_CHECK(take_now("k1", 0, &r) == -1);
    EA_CHECK(r.allowed && !r.local && peer_evals() == 2);
    /* a lease lives 100 ms: at 99 ms a leased token is still spent, at 100 ms the 8 left are
     * dropped (never spent late) and the next take asks Redis again */
    advance(99);
    EA_CHECK(take_now("k1", 0, NULL) == 1 && peer_evals() == 2);
    advance(1);
    EA_CHECK(take_now("k1", 0, &r) == -1);
    EA_CHECK(r.allowed && peer_evals() == 3);
    ea_rl_stats s = stats();
    EA_CHECK(s.refills == 3 && s.waits == 3 && s.local == 0 && s.wait_timeouts == 0);
    /* 12 admitted, 30 granted: the dropped lease errs on the strict side */
    EA_CHECK(peer_granted("t:rl:k1") == 30);
    teardown();
    peer_end();
}

/* Within a window the bucket admits its size plus rate × elapsed, never more, and every token
 * admitted was granted by Redis. */
static void test_window_never_exceeds_rate(void)
{
    peer_start(P_BUCKET);
    setup(peer.rp.port, 60000, 200, false);
    int local = 0;
    int a = take_n("w", 0, 1000, &local);
    EA_CHECK(a == 200); /* the bucket, no time elapsed */
    EA_CHECK(local == 0);
    EA_CHECK(peer_granted("t:rl:w") == 200);
    /* 20 leases of 10, then one refusal that is remembered (no Redis call per refused take) */
    EA_CHECK(peer_evals() == 21);
    ea_rl_result r;
    EA_CHECK(take1("w", 0, &r) == 0 && r.retry_after_s == 1 && !r.local && peer_evals() == 21);
    /* 50 ms later: 50 tokens more (1 per ms), exactly */
    advance(50);
    a = take_n("w", 0, 1000, &local);
    EA_CHECK(a == 50);
    EA_CHECK(peer_granted("t:rl:w") == 250);
    /* idle for a minute: the bucket is full again, and holds no more than its size */
    advance(60000);
    a = take_n("w", 0, 1000, &local);
    EA_CHECK(a == 200);
    EA_CHECK(peer_granted("t:rl:w") == 450);
    EA_CHECK(local == 0);
    EA_CHECK(stats().local == 0);
    teardown();
    peer_end();
}

/* Refused: the shared bucket's "no token before retry_ms" is remembered; at that instant Redis is
 * asked again and the refilled token admitted. 7500/min = 1 token per 8 ms, bucket 4. */
static void test_remembered_refusal_then_refill(void)
{
    peer_start(P_BUCKET);
    setup(peer.rp.port, 7500, 4, false);
    EA_CHECK(take_n("r", 0, 4, NULL) == 4);
    int evals = peer_evals();
    EA_CHECK(evals == 4); /* bucket 4: leases of 1, one Redis call per admitted take */
    EA_CHECK(peer_last_is(4, "4") && peer_last_is(5, "0.125") && peer_last_is(6, "1"));
    ea_rl_result r;
    EA_CHECK(take1("r", 0, &r) == 0 && r.retry_after_s == 1 && peer_evals() == evals + 1);
    EA_CHECK(take_n("r", 0, 100, NULL) == 0);
    advance(7);
    EA_CHECK(take_n("r", 0, 100, NULL) == 0);
    EA_CHECK(peer_evals() == evals + 1); /* all 200 refused from memory */
    advance(1);                          /* 8 ms: one token is back */
    EA_CHECK(take_n("r", 0, 100, NULL) == 1);
    EA_CHECK(peer_evals() == evals + 3); /* the refill that took it, and the next refusal */
    EA_CHECK(peer_granted("t:rl:r") == 5);
    teardown();
    peer_end();
}

/* Concurrent takes of one bucket share refills: a refill asks max(lease, waiters), the tokens go
 * to the waiters in arrival order, the rest are refused. 1 token/ms, bucket 30: leases of 1. */
static void test_waiters_share_refills(void)
{
    peer_start(P_BUCKET);
    setup(peer.rp.port, 60000, 30, false);
    enum { N = 50 };
    static struct take t[N];
    int waiting = 0;
    for (int i = 0; i < N; i++)
        waiting += take_start(&t[i], "c", 0) == -1;
    EA_CHECK(waiting == N);
    decided_seq = 0;
    pump(t, N);
    int first_admitted = 0, rest_refused = 0, in_order = 0;
    for (int i = 0; i < N; i++) {
        first_admitted += i < 30 && t[i].res.allowed;
        rest_refused += i >= 30 && !t[i].res.allowed && t[i].res.retry_after_s == 1;
        in_order += t[i].order == i && !t[i].res.local;
    }
    EA_CHECK(first_admitted == 30 && rest_refused == 20 && in_order == N);
    /* 1 (the lease), then 49 for the 49 still waiting (29 granted), then 20 (none) */
    pthread_mutex_lock(&peer.mu);
    EA_CHECK(peer.nwants == 3 && peer.wants[0] == 1 && peer.wants[1] == 49 && peer.wants[2] == 20);
    pthread_mutex_unlock(&peer.mu);
    EA_CHECK(peer_granted("t:rl:c") == 30);
    ea_rl_stats s = stats();
    EA_CHECK(s.refills == 3 && s.waits == N);
    teardown();
    peer_end();
}

/* ea_ratelimit.c's name_hash (djb2), to pick two names that share a lease slot (4096 slots). If
 * the hash or the slot count changes, the check that the first name's lease is gone fails: pick
 * the names again. */
static unsigned djb2(const char *name)
{
    unsigned h = 5381;
    for (const char *p = name; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h;
}

static void test_per_key_isolation(void)
{
    peer_start(P_BUCKET);
    setup(peer.rp.port, 60000, 0, false);
    /* per-key limits (take's per_min): buckets of 5 and 7, each its own */
    int a = 0, b = 0;
    for (int i = 0; i < 20; i++) {
        a += take1("a", 5, NULL);
        b += take1("b", 7, NULL);
    }
    EA_CHECK(a == 5 && b == 7);
    EA_CHECK(peer_granted("t:rl:a") == 5 && peer_granted("t:rl:b") == 7);
    /* a third key is untouched by the other two being empty */
    EA_CHECK(take_n("c", 5, 5, NULL) == 5);
    /* two names in one lease slot: one never spends the other's lease */
    char other[24] = "";
    for (int i = 0; i < 1000000 && other[0] == '\0'; i++) {
        char cand[24];
        snprintf(cand, sizeof(cand), "n%d", i);
        if (strcmp(cand, "x") != 0 && djb2(cand) % 4096 == djb2("x") % 4096)
            snprintf(other, sizeof(other), "%s", cand);
    }
    EA_CHECK(other[0] != '\0');
    ea_rl_result r;
    EA_CHECK(take1("x", 0, NULL) == 1); /* lease of 50, 49 left */
    EA_CHECK(take_now("x", 0, NULL) == 1);
    EA_CHECK(take1(other, 0, NULL) == 1); /* its lease takes the slot */
    EA_CHECK(take_now("x", 0, &r) == -1);
    EA_CHECK(r.allowed);
    char key[48];
    snprintf(key, sizeof(key), "t:rl:%s", other);
    EA_CHECK(peer_granted("t:rl:x") == 100 && peer_granted(key) == 50);
    EA_CHECK(take_now(other, 0, &r) == -1); /* and "x"'s new lease took it back */
    EA_CHECK(r.allowed && peer_granted(key) == 100);
    teardown();
    peer_end();
}

/* Redis down (connection refused): every decision is the local bucket of the same shape —
 * exactly the bucket per key, refilled at the rate; Redis is probed again once per RETRY_MS
 * (2 s), never per request. 1/min, bucket 10. */
static void test_local_fallback_redis_down(void)
{
    setup(dead_port(), 1, 10, true);
    int local = 0;
    EA_CHECK(take_n("k", 0, 30, &local) == 10);
    EA_CHECK(local == 30);
    ea_rl_result r;
    EA_CHECK(take1("k", 0, &r) == 0 && r.local && r.retry_after_s == 60 && r.remaining == 0 &&
             r.limit == 1);
    EA_CHECK(take_n("j", 0, 30, NULL) == 10); /* another key: its own bucket */
    ea_rl_stats s = stats();
    EA_CHECK(s.refills == 1 && s.local == 61);
    /* 59 s later: 0.98 of a token, still refused (a probe of Redis fails, decided locally) */
    advance(59000);
    EA_CHECK(take1("k", 0, &r) == 0 && r.local);
    /* 61 s: one token is back, one more take admitted */
    advance(2000);
    EA_CHECK(take_n("k", 0, 20, &local) == 1);
    s = stats();
    EA_CHECK(s.refills == 3 && s.local == 61 + 21);
    teardown();
}

/* Redis down, two names in one local slot (1,024 slots): they share that bucket while they
 * collide instead of resetting it for each other (before: alternating names each passed 30 of
 * 30 with a bucket of 10). */
static void test_local_fallback_colliding_names(void)
{
    setup(dead_port(), 1, 10, true);
    char other[24] = "";
    for (int i = 0; i < 1000000 && other[0] == '\0'; i++) {
        char cand[24];
        snprintf(cand, sizeof(cand), "n%d", i);
        if (strcmp(cand, "k") != 0 && djb2(cand) % 1024 == djb2("k") % 1024)
            snprintf(other, sizeof(other), "%s", cand);
    }
    EA_CHECK(other[0] != '\0');
    int admitted = 0;
    for (int i = 0; i < 30; i++) {
        admitted += take1("k", 0, NULL);
        admitted += take1(other, 0, NULL);
    }
    EA_CHECK(admitted == 10);
    teardown();
}

/* Redis connected but silent, answering errors, or a grant that is not four integers: the take
 * is decided by the local bucket (bucket 3), and nothing the bad reply claims is admitted. */
static void fallback_case(peer_mode mode)
{
    peer_start(mode);
    setup(peer.rp.port, 1, 3, true);
    int64_t t0 = real_ms();
    int local = 0;
    EA_CHECK(take_n("s", 0, 10, &local) == 3);
    EA_CHECK(local == 10);
    EA_CHECK(peer_evals() == 1); /* one refill; then local for RETRY_MS, not a call per take */
    ea_rl_stats s = stats();
    EA_CHECK(s.refills == 1 && s.local == 10);
    if (mode == P_SILENT) /* the wait's deadline (250 ms) or the reply timeout (200 ms) */
        EA_CHECK(real_ms() - t0 >= 150);
    teardown();
    peer_end();
}

static void test_local_fallback_redis_silent(void)
{
    fallback_case(P_SILENT);
}

static void test_local_fallback_redis_error(void)
{
    fallback_case(P_ERROR);
}

static void test_local_fallback_bad_grant(void)
{
    fallback_case(P_BADGRANT);
}

EA_TEST_MAIN(EA_TEST(test_lease_protocol), EA_TEST(test_window_never_exceeds_rate),
             EA_TEST(test_remembered_refusal_then_refill), EA_TEST(test_waiters_share_refills),
             EA_TEST(test_per_key_isolation), EA_TEST(test_local_fallback_redis_down),
             EA_TEST(test_local_fallback_colliding_names),
             EA_TEST(test_local_fallback_redis_silent), EA_TEST(test_local_fallback_redis_error),
             EA_TEST(test_local_fallback_bad_grant))
