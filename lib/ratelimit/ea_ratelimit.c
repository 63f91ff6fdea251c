/*
 * ea_ratelimit.c — the token bucket (see ea_ratelimit.h). Redis state per bucket: hash {t: tokens
 * (float), ts: last refill ms}, expiring once it would be full again. The script uses Redis TIME
 * so instances with skewed clocks still share one bucket correctly.
 *
 * Leases: a Redis round trip per request would cap a service at Redis's Lua throughput (~18k
 * scripts/s here). So an instance takes up to `want` tokens at once (about 50 ms worth of the
 * bucket's rate, at most 1000 and 5 % of the bucket) and spends them locally for LEASE_MS.
 * Tokens are taken from the shared bucket before they are spent, so the sum admitted over all
 * instances never exceeds the limit; unspent tokens of an expired lease are simply not used
 * (admission errs on the strict side). Low-rate buckets get leases of 1: exact, one call per
 * request. When the shared bucket is empty its answer (no token before retry_ms) is remembered,
 * so a refused client costs no Redis call until a token can be there again.
 *
 * Off the loop (issue 12/14's rule): every Redis call goes through an ea_redis_async thread.
 * Written for ingest-api (issue 12) and shared with graphql-api's query limit (issue 14): one
 * rule, one home.
 *
 *   take ──lease token / remembered refusal──────────────────────────────▶ answer now
 *     ├──a refill of this bucket in flight ──▶ wait on it
 *     ├──Redis failed lately (local_until), or a probe of Redis in flight ─▶ local bucket now
 *     └──submit a refill (want tokens) ──▶ wait on it (deadline WAIT_MS, then the local bucket)
 *   refill done (loop): lease_put(grant) ──▶ each waiter, in arrival order: a token, or refused
 *     └──waiters the grant did not cover ──▶ the same refill again, want = max(want, waiters)
 *   refill failed ──▶ every waiter decided locally; local_until = now + RETRY_MS, after which
 *                     one refill probes Redis while the others still decide locally
 *
 * Invariants:
 * 1. The loop never waits on Redis: it only submits commands and handles their replies.
 * 2. At most one refill per bucket is in flight; tokens it brings are spent by the requests that
 *    waited for it, in order, and the rest become the lease (strict: never more than granted).
 * 3. Every waiting request is answered exactly once: by a refill's outcome, by its deadline
 *    (local bucket), or never when it was cancelled first. Callbacks run from the `ready` list,
 *    one at a time, so a callback may cancel or start other waits safely.
 * 4. An outage costs each bucket at most one wait (≤ WAIT_MS) per RETRY_MS, never one per request.
 */
#include "ea_ratelimit.h"
#include "ea_log.h"
#include "ea_redis_async.h"
#include "ea_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_SLOTS 1024
#define LEASE_SLOTS 4096
#define INFLIGHT_SLOTS 1024
#define LEASE_MS 100
#define RETRY_MS 2000           /* after Redis failed: local decisions this long, then a probe */
#define REDIS_TIMEOUT_MS 200    /* connect steps and each reply */
#define REDIS_RECONNECT_MS 1000 /* the client thread's own delay after a failed connect */
#define WAIT_MS 250             /* a request's deadline for its refill; then the local bucket */
#define QUEUE_MAX 4096          /* refills and pings in flight; beyond, the local bucket */
#define NAME_MAX_ 24

enum { W_IDLE = 0, W_REFILL, W_READY };

struct lease {
    char name[NAME_MAX_];
    long tokens;             /* leased from Redis, not yet spent */
    int64_t until;           /* lease expiry, ms */
    long remaining, reset_s; /* what Redis said at the last lease, for headers */
    int64_t refused_until;   /* the shared bucket had no token before then */
};

struct local_bucket {
    char name[NAME_MAX_];
    double tokens;
    int64_t ts;
};

struct shape {
    double cap, rate; /* tokens, tokens per ms */
    long limit;       /* per minute, for headers */
};

static const char script[] =
    "local cap = tonumber(ARGV[1])\n"
    "local rate = tonumber(ARGV[2])\n" /* tokens per ms */
    "local want = tonumber(ARGV[3])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local tokens = tonumber(b[1])\n"
    "local ts = tonumber(b[2])\n"
    "if tokens == nil or ts == nil then tokens = cap; ts = now end\n"
    "tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)\n"
    "local granted = math.min(want, math.floor(tokens))\n"
    "if granted < 0 then granted = 0 end\n"
    "tokens = tokens - granted\n"
    "redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)\n"
    "local full_ms = math.ceil((cap - tokens) / rate)\n"
    "redis.call('PEXPIRE', KEYS[1], full_ms + 1000)\n"
    "local retry_ms = 0\n"
    "if granted == 0 then retry_ms = math.ceil((1 - tokens) / rate) end\n"
    "return {granted, math.floor(tokens), full_ms, retry_ms}\n";

/* One bucket's trip to Redis and the requests waiting for it. */
struct rl_refill {
    ea_redis_cmd cmd; /* first */
    ea_ratelimit *rl;
    struct rl_refill *next; /* in its inflight slot */
    char name[NAME_MAX_];
    struct shape s;
    bool probe; /* sent after an outage: its outcome says whether Redis is back */
    ea_rl_wait *head, *tail;
    size_t nwait;
    char key[NAME_MAX_ + 16], cap_s[32], rate_s[48], want_s[24];
};

struct rl_ping_cmd {
    ea_redis_cmd cmd; /* first */
    ea_ratelimit *rl;
    ea_rl_ping *p; /* NULL once cancelled */
};

struct ea_ratelimit {
    char prefix[16]; /* the buckets' Redis keys: prefix + name */
    long per_min, burst;
    h2o_loop_t *loop;
    ea_redis_async *redis;
    h2o_timeout_t wait_timeout;
    int64_t local_until; /* Redis failed: decide locally until then */
    bool probing;        /* a refill after an outage is in flight: others decide locally */
    bool down_logged;
    bool closing;
    ea_rl_wait *ready_head, *ready_tail; /* decided, callbacks not run yet (invariant 3) */
    ea_rl_stats stats;
    struct rl_refill *inflight[INFLIGHT_SLOTS];
    struct local_bucket local[LOCAL_SLOTS];
    struct lease leases[LEASE_SLOTS];
};

static unsigned name_hash(const char *name)
{
    unsigned h = 5381;
    for (const char *p = name; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h;
}

static struct shape shape_of(const ea_ratelimit *rl, long per_min)
{
    long limit = per_min > 0 ? per_min : rl->per_min;
    return (struct shape){.cap = (double)(rl->burst > 0 ? rl->burst : limit),
                          .rate = (double)limit / 60000.0,
                          .limit = limit};
}

static long lease_want(const struct shape *s)
{
    double want = ceil(s->rate * 50.0);
    if (want > 1000)
        want = 1000;
    if (want > s->cap / 20)
        want = floor(s->cap / 20);
    if (want < 1)
        want = 1;
    return (long)want;
}

/* ---- decisions from memory --------------------------------------------------------------- */

/* 1 a leased token was spent, 0 refused (a remembered refusal is current), -1 Redis is needed. */
static int lease_spend(ea_ratelimit *rl, const char *name, const struct shape *s, int64_t now,
                       ea_rl_result *out)
{
    struct lease *l = &rl->leases[name_hash(name) % LEASE_SLOTS];
    memset(out, 0, sizeof(*out));
    out->limit = s->limit;
    if (strcmp(l->name, name) != 0)
        return -1;
    if (l->tokens > 0 && now < l->until) {
        l->tokens--;
        out->allowed = true;
        out->remaining = l->remaining + l->tokens;
        out->reset_s = l->reset_s;
        return 1;
    }
    if (now < l->refused_until) {
        out->reset_s = l->reset_s;
        out->retry_after_s = (long)((l->refused_until - now + 999) / 1000);
        return 0;
    }
    return -1;
}

static void lease_put(ea_ratelimit *rl, const char *name, const redisReply *r, int64_t now)
{
    struct lease *l = &rl->leases[name_hash(name) % LEASE_SLOTS];
    snprintf(l->name, sizeof(l->name), "%s", name);
    long granted = (long)r->element[0]->integer;
    l->tokens = granted > 0 ? granted : 0;
    l->until = now + LEASE_MS;
    l->remaining = (long)r->element[1]->integer;
    l->reset_s = (long)((r->element[2]->integer + 999) / 1000);
    long long retry = r->element[3]->integer;
    l->refused_until = granted > 0 ? 0 : now + (retry > 0 ? retry : 1);
}

static void take_local(ea_ratelimit *rl, const char *name, const struct shape *s, ea_rl_result *out)
{
    struct local_bucket *b = &rl->local[name_hash(name) % LOCAL_SLOTS];
    int64_t now = ea_time_now_ms();
    if (strcmp(b->name, name) != 0) {
        /* Only an unused slot starts full. A slot another name holds keeps its tokens: names
         * that collide share one bucket while Redis is out — stricter, never looser (resetting
         * it let two alternating names each pass unlimited). */
        bool unused = b->name[0] == '\0';
        snprintf(b->name, sizeof(b->name), "%s", name);
        if (unused) {
            b->tokens = s->cap;
            b->ts = now;
        }
    }
    b->tokens = fmin(s->cap, b->tokens + (double)(now - b->ts) * s->rate);
    b->ts = now;
    memset(out, 0, sizeof(*out));
    out->limit = s->limit;
    out->allowed = b->tokens >= 1;
    if (out->allowed)
        b->tokens -= 1;
    out->remaining = (long)b->tokens;
    out->reset_s = (long)ceil((s->cap - b->tokens) / s->rate / 1000.0);
    out->retry_after_s = out->allowed ? 0 : (long)ceil((1 - b->tokens) / s->rate / 1000.0);
    out->local = true;
    rl->stats.local++;
}

/* ---- waiters ----------------------------------------------------------------------------- */

static void waiter_unlink(ea_rl_wait *w)
{
    if (w->state == W_REFILL) {
        struct rl_refill *rf = w->rf;
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            rf->head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        else
            rf->tail = w->prev;
        rf->nwait--;
    } else if (w->state == W_READY) {
        ea_ratelimit *rl = w->rl;
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            rl->ready_head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        else
            rl->ready_tail = w->prev;
    }
    w->prev = w->next = NULL;
    w->rf = NULL;
    w->state = W_IDLE;
}

static void waiter_join(struct rl_refill *rf, ea_rl_wait *w)
{
    w->state = W_REFILL;
    w->rf = rf;
    w->next = NULL;
    w->prev = rf->tail;
    if (rf->tail != NULL)
        rf->tail->next = w;
    else
        rf->head = w;
    rf->tail = w;
    rf->nwait++;
}

/* Moves w, decided (w->res), to the ready list. */
static void waiter_ready(ea_ratelimit *rl, ea_rl_wait *w)
{
    waiter_unlink(w);
    if (h2o_timeout_is_linked(&w->timer))
        h2o_timeout_unlink(&w->timer);
    w->state = W_READY;
    w->prev = rl->ready_tail;
    w->next = NULL;
    if (rl->ready_tail != NULL)
        rl->ready_tail->next = w;
    else
        rl->ready_head = w;
    rl->ready_tail = w;
}

/* Runs the ready callbacks one at a time (invariant 3). */
static void deliver(ea_ratelimit *rl)
{
    ea_rl_wait *w;
    while ((w = rl->ready_head) != NULL) {
        waiter_unlink(w);
        w->cb(w, &w->res);
    }
}

static void on_wait_deadline(h2o_timeout_entry_t *entry)
{
    ea_rl_wait *w = H2O_STRUCT_FROM_MEMBER(ea_rl_wait, timer, entry);
    ea_ratelimit *rl = w->rl;
    struct rl_refill *rf = w->rf;
    rl->stats.wait_timeouts++;
    take_local(rl, rf->name, &rf->s, &w->res);
    waiter_ready(rl, w);
    deliver(rl);
}

/* ---- refills ----------------------------------------------------------------------------- */

static struct rl_refill **inflight_slot(ea_ratelimit *rl, const char *name)
{
    return &rl->inflight[name_hash(name) % INFLIGHT_SLOTS];
}

static struct rl_refill *inflight_find(ea_ratelimit *rl, const char *name)
{
    for (struct rl_refill *rf = *inflight_slot(rl, name); rf != NULL; rf = rf->next)
        if (strcmp(rf->name, name) == 0)
            return rf;
    return NULL;
}

static void inflight_remove(ea_ratelimit *rl, struct rl_refill *rf)
{
    for (struct rl_refill **p = inflight_slot(rl, rf->name); *p != NULL; p = &(*p)->next) {
        if (*p == rf) {
            *p = rf->next;
            rf->next = NULL;
            return;
        }
    }
}

static void refill_done(ea_redis_cmd *c);

/* Sends rf (want tokens) and records it in flight. false: the client's queue is full. */
static bool refill_submit(ea_ratelimit *rl, struct rl_refill *rf, long want)
{
    snprintf(rf->want_s, sizeof(rf->want_s), "%ld", want);
    rf->cmd.script = 0;
    rf->cmd.argc = 5;
    const char *args[5] = {"1", rf->key, rf->cap_s, rf->rate_s, rf->want_s};
    for (int i = 0; i < 5; i++) {
        rf->cmd.argv[i] = args[i];
        rf->cmd.argvlen[i] = strlen(args[i]);
    }
    rf->cmd.done = refill_done;
    if (ea_redis_async_submit(rl->redis, &rf->cmd) != EA_OK)
        return false;
    struct rl_refill **slot = inflight_slot(rl, rf->name);
    rf->next = *slot;
    *slot = rf;
    rl->stats.refills++;
    return true;
}

static bool grant_ok(const ea_redis_cmd *c)
{
    const redisReply *r = c->reply;
    if (c->status != EA_OK || r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return false;
    for (size_t i = 0; i < 4; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return false;
    return true;
}

static void redis_failed(ea_ratelimit *rl, const ea_redis_cmd *c, int64_t now)
{
    char why[512];
    if (c->reply != NULL && c->reply->type == REDIS_REPLY_ERROR)
        snprintf(why, sizeof(why), "could not take rate-limit tokens: %s", c->reply->str);
    else if (c->status == EA_OK)
        snprintf(why, sizeof(why), "could not take rate-limit tokens: bad reply");
    else if (!ea_redis_async_error(rl->redis, why, sizeof(why)))
        snprintf(why, sizeof(why), "could not take rate-limit tokens: redis unavailable");
    if (now >= rl->local_until) /* once per outage and per probe, as before: not per request */
        ea_log_warn("redis", "redis unavailable, using the local fallback bucket: %s", why);
    rl->down_logged = true;
    rl->local_until = now + RETRY_MS;
}

static void refill_done(ea_redis_cmd *c)
{
    struct rl_refill *rf = (struct rl_refill *)c;
    ea_ratelimit *rl = rf->rl;
    inflight_remove(rl, rf);
    if (rl->closing) {
        while (rf->head != NULL) {
            ea_rl_wait *w = rf->head;
            if (h2o_timeout_is_linked(&w->timer))
                h2o_timeout_unlink(&w->timer);
            waiter_unlink(w);
        }
        free(rf);
        return;
    }
    int64_t now = ea_time_now_ms();
    if (rf->probe)
        rl->probing = false;
    if (!grant_ok(c)) {
        redis_failed(rl, c, now);
        while (rf->head != NULL) {
            ea_rl_wait *w = rf->head;
            take_local(rl, rf->name, &rf->s, &w->res);
            waiter_ready(rl, w);
        }
        free(rf);
        deliver(rl);
        return;
    }
    if (rl->down_logged && now >= rl->local_until) {
        ea_log_info("redis", "redis answers again: using the shared buckets");
        rl->down_logged = false;
    }
    rl->local_until = 0;
    lease_put(rl, rf->name, c->reply, now);
    /* the waiters in arrival order; those the grant did not cover stay for another round */
    for (ea_rl_wait *w = rf->head, *next; w != NULL; w = next) {
        next = w->next;
        if (lease_spend(rl, rf->name, &rf->s, now, &w->res) >= 0)
            waiter_ready(rl, w);
    }
    if (rf->head != NULL) {
        long want = lease_want(&rf->s);
        if ((long)rf->nwait > want)
            want = (long)rf->nwait;
        rf->probe = false;
        if (!refill_submit(rl, rf, want)) {
            while (rf->head != NULL) {
                ea_rl_wait *w = rf->head;
                take_local(rl, rf->name, &rf->s, &w->res);
                waiter_ready(rl, w);
            }
            free(rf);
        }
    } else {
        free(rf);
    }
    deliver(rl);
}

/* ---- the API ----------------------------------------------------------------------------- */

int ea_ratelimit_take(ea_ratelimit *rl, const char *name, long per_min, ea_rl_wait *w,
                      ea_rl_result *out)
{
    struct shape s = shape_of(rl, per_min);
    int64_t now = ea_time_now_ms();
    int d = lease_spend(rl, name, &s, now, out);
    if (d >= 0)
        return d;
    struct rl_refill *rf = inflight_find(rl, name);
    if (rf == NULL) {
        if (now < rl->local_until || rl->probing || rl->closing || strlen(name) >= NAME_MAX_) {
            take_local(rl, name, &s, out);
            return out->allowed;
        }
        rf = calloc(1, sizeof(*rf));
        if (rf == NULL) {
            take_local(rl, name, &s, out);
            return out->allowed;
        }
        rf->rl = rl;
        rf->s = s;
        snprintf(rf->name, sizeof(rf->name), "%s", name);
        snprintf(rf->key, sizeof(rf->key), "%s%s", rl->prefix, name);
        snprintf(rf->cap_s, sizeof(rf->cap_s), "%.0f", s.cap);
        snprintf(rf->rate_s, sizeof(rf->rate_s), "%.17g", s.rate);
        rf->probe = rl->local_until != 0;
        if (!refill_submit(rl, rf, lease_want(&s))) {
            free(rf);
            take_local(rl, name, &s, out);
            return out->allowed;
        }
        if (rf->probe)
            rl->probing = true;
    }
    memset(out, 0, sizeof(*out));
    w->rl = rl;
    w->timer = (h2o_timeout_entry_t){.cb = on_wait_deadline};
    waiter_join(rf, w);
    h2o_timeout_link(rl->loop, &rl->wait_timeout, &w->timer);
    rl->stats.waits++;
    return -1;
}

void ea_ratelimit_cancel(ea_rl_wait *w)
{
    if (w->state == W_IDLE)
        return;
    if (h2o_timeout_is_linked(&w->timer))
        h2o_timeout_unlink(&w->timer);
    waiter_unlink(w);
}

bool ea_ratelimit_waiting(const ea_rl_wait *w)
{
    return w->state != W_IDLE;
}

static void ping_done(ea_redis_cmd *c)
{
    struct rl_ping_cmd *pc = (struct rl_ping_cmd *)c;
    ea_rl_ping *p = pc->p;
    if (p != NULL && !pc->rl->closing) {
        p->cmd = NULL;
        char why[512] = "";
        bool ok = c->status == EA_OK && c->reply != NULL && c->reply->type != REDIS_REPLY_ERROR;
        if (!ok && c->reply != NULL && c->reply->type == REDIS_REPLY_ERROR)
            snprintf(why, sizeof(why), "could not ping redis: %s", c->reply->str);
        else if (!ok && !ea_redis_async_error(pc->rl->redis, why, sizeof(why)))
            snprintf(why, sizeof(why), "could not ping redis");
        p->cb(p, ok, why);
    }
    free(pc);
}

void ea_ratelimit_ping(ea_ratelimit *rl, ea_rl_ping *p)
{
    struct rl_ping_cmd *pc = calloc(1, sizeof(*pc));
    if (pc == NULL) {
        p->cmd = NULL;
        p->cb(p, false, "out of memory");
        return;
    }
    pc->rl = rl;
    pc->p = p;
    pc->cmd.script = -1;
    pc->cmd.argc = 1;
    pc->cmd.argv[0] = "PING";
    pc->cmd.argvlen[0] = 4;
    pc->cmd.done = ping_done;
    p->cmd = pc;
    if (ea_redis_async_submit(rl->redis, &pc->cmd) != EA_OK) {
        free(pc);
        p->cmd = NULL;
        p->cb(p, false, "too many redis commands waiting");
    }
}

void ea_ratelimit_ping_cancel(ea_rl_ping *p)
{
    if (p->cmd != NULL) {
        p->cmd->p = NULL; /* it comes back and frees itself */
        p->cmd = NULL;
    }
}

ea_ratelimit *ea_ratelimit_new(h2o_loop_t *loop, const ea_ratelimit_config *cfg, struct ea_err *err)
{
    ea_ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not create the rate limiter: out of memory");
        return NULL;
    }
    rl->loop = loop;
    rl->per_min = cfg->per_min;
    rl->burst = cfg->burst;
    snprintf(rl->prefix, sizeof(rl->prefix), "%s", cfg->key_prefix);
    const char *scripts[1] = {script};
    ea_redis_async_config rc = {.url = cfg->redis,
                                .timeout_ms = REDIS_TIMEOUT_MS,
                                .retry_ms = REDIS_RECONNECT_MS,
                                .queue_max = QUEUE_MAX,
                                .scripts = scripts,
                                .nscripts = 1,
                                .name = cfg->thread_name};
    rl->redis = ea_redis_async_new(&rc, err);
    if (rl->redis == NULL) {
        free(rl);
        return NULL;
    }
    h2o_timeout_init(loop, &rl->wait_timeout, WAIT_MS);
    return rl;
}

void ea_ratelimit_free(ea_ratelimit *rl)
{
    if (rl == NULL)
        return;
    rl->closing = true;
    ea_redis_async_free(rl->redis); /* every refill's done() runs: they free themselves */
    while (rl->ready_head != NULL)
        waiter_unlink(rl->ready_head);
    h2o_timeout_dispose(rl->loop, &rl->wait_timeout);
    free(rl);
}

int ea_ratelimit_fd(const ea_ratelimit *rl)
{
    return ea_redis_async_fd(rl->redis);
}

void ea_ratelimit_on_ready(void *rl)
{
    ea_redis_async_complete(((ea_ratelimit *)rl)->redis);
}

void ea_ratelimit_stats(const ea_ratelimit *rl, ea_rl_stats *out)
{
    *out = rl->stats;
}
