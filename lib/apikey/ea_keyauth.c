/*
 * ea_keyauth.c — the loop side of key verification (caches, coalescing, blocks) and the jobs the
 * pool threads run (key lookup, bcrypt, failed-attempt counters). See ea_keyauth.h for the
 * contract and docs/SECURITY.md for the defences and their limits.
 *
 * A presented key goes, on the loop thread (ea_keyauth_begin):
 *
 *   malformed ────────────────────────────────────────────────────────────▶ INVALID (no count)
 *   verified cache, younger than the TTL ─────────────────────────────────▶ OK (and, past 3/4 of
 *                                                    the TTL, one background refresh is started)
 *   refused cache ────────────────────────────────────────────────────────▶ INVALID
 *   address or key id blocked (mirror of the Redis counters) ─────────────▶ LIMITED
 *   a job for the same key already in flight ─────────────────────────────▶ PENDING (joins it)
 *   verified but expired: REFRESH job (front of the queue) ┐
 *   otherwise: VERIFY job ─────────────────────────────────┴─ queue full ─▶ BUSY
 *                                                           └ queued ────▶ PENDING
 * On a pool thread (job_run):
 *   VERIFY:  reserve a failed attempt (address, key id) → over the limit: LIMITED;
 *            lookup + bcrypt → OK (reservation released) or INVALID (it stays counted)
 *   REFRESH: lookup only; the same stored hash and not revoked → OK without bcrypt and without
 *            the limit (this key was proven before); revoked/gone → INVALID; hash changed → VERIFY
 *   PING:    SELECT 1
 *   after OK (VERIFY or REFRESH): api_keys.last_used_at, at most once a minute per key
 * Back on the loop (job_done): caches and block mirror updated, then every waiter's callback.
 *
 * Invariants:
 * 1. Verified and refused keys live in separate tables: a refused key never evicts a verified one.
 * 2. A verified entry's age starts when the database was asked (before the query), so a revoked
 *    key is accepted at most KEY_CACHE_TTL_S after the revocation committed.
 * 3. The loop never blocks: every database, Redis and bcrypt call is in job_run().
 * 4. Jobs hold the secret only while in flight; it is wiped before the job is freed.
 */
#include "ea_keyauth.h"
#include "ea_apikey.h"
#include "ea_authlimit.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"
#include "ea_workpool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define VERIFIED_SLOTS 4096
#define REFUSED_SLOTS 1024
#define BLOCK_SLOTS 1024
#define NEGATIVE_TTL_MS 5000 /* refused keys: short, so a key created just now works soon */
#define DB_SEEN_FRESH_MS 5000

struct verified {
    char digest[65];
    bool used, refreshing;
    int64_t checked_ms; /* when the database last confirmed it (invariant 2) */
    ea_principal p;
    char hash[EA_APIKEY_HASH_MAX]; /* the stored bcrypt hash this key matched */
};

struct refused {
    char digest[65];
    int64_t expires_ms;
};

struct block {
    char subject[64];
    int64_t until_ms;
};

enum job_kind { JOB_VERIFY, JOB_REFRESH, JOB_PING };

struct job {
    ea_work work;
    ea_keyauth *a;
    enum job_kind kind;
    char digest[65];
    char id[EA_APIKEY_ID_LEN + 1];
    char secret[EA_APIKEY_SECRET_LEN + 1];
    char client[64];
    char hash[EA_APIKEY_HASH_MAX]; /* REFRESH: hash the cached key matched; out: hash matched */
    int64_t asked_ms;              /* clock before the database was asked */
    /* outcome, written by the pool thread */
    ea_keyauth_status st;
    ea_principal p;
    int64_t retry_ms;
    int64_t block_addr_ms, block_key_ms; /* > 0: the loop mirrors a block this long */
    bool db_answered;
    /* loop side */
    ea_keyauth_waiter *waiters;
    struct job *next_inflight;
};

struct ea_keyauth {
    const char *url;
    int64_t ttl_ms;
    ea_workpool *pool;
    ea_authlimit *limit;
    struct job *inflight;
    bool closing;
    int64_t db_seen_ms;            /* last time a job got an answer from PostgreSQL */
    pthread_mutex_t db_error_lock; /* pool threads write db_error, /readyz reads it */
    char db_error[512];            /* why PostgreSQL last failed; "" once it answers */
    uint64_t seed;
    ea_keyauth_stats stats;
    struct verified verified[VERIFIED_SLOTS];
    struct refused refused[REFUSED_SLOTS];
    struct block blocked_addr[BLOCK_SLOTS], blocked_key[BLOCK_SLOTS];
};

/* ---- pool threads -------------------------------------------------------------------------- */

struct thread_ctx {
    ea_keyauth *a;
    PGconn *db;
    ea_authlimit_conn redis;
};

static void *thread_init(void *ud)
{
    struct thread_ctx *t = calloc(1, sizeof(*t));
    if (t != NULL)
        t->a = ud;
    return t;
}

static void thread_fini(void *tctx)
{
    struct thread_ctx *t = tctx;
    if (t == NULL)
        return;
    if (t->db != NULL)
        PQfinish(t->db);
    ea_authlimit_conn_close(&t->redis);
    free(t);
}

/* A pool thread's view of PostgreSQL, for /readyz: why (NULL: it answered). */
static void note_db(ea_keyauth *a, const char *why)
{
    pthread_mutex_lock(&a->db_error_lock);
    snprintf(a->db_error, sizeof(a->db_error), "%s", why != NULL ? why : "");
    pthread_mutex_unlock(&a->db_error_lock);
}

bool ea_keyauth_db_error(ea_keyauth *a, char *buf, size_t cap)
{
    pthread_mutex_lock(&a->db_error_lock);
    snprintf(buf, cap, "%s", a->db_error);
    pthread_mutex_unlock(&a->db_error_lock);
    return buf[0] != '\0';
}

static PGconn *thread_db(struct thread_ctx *t)
{
    if (t->db != NULL && !ea_pg_is_broken(t->db))
        return t->db;
    if (t->db != NULL) {
        PQfinish(t->db);
        t->db = NULL;
    }
    struct ea_err err;
    t->db = ea_pg_connect(t->a->url, &err);
    if (t->db == NULL) {
        ea_log_warn("postgresql", "%s", err.message);
        note_db(t->a, err.message);
    }
    return t->db;
}

static unsigned parse_scopes(const char *arr)
{
    /* text[] output form: {ingest,read} */
    unsigned s = 0;
    if (strstr(arr, "ingest") != NULL)
        s |= EA_SCOPE_INGEST;
    if (strstr(arr, "read") != NULL)
        s |= EA_SCOPE_READ;
    if (strstr(arr, "admin") != NULL)
        s |= EA_SCOPE_ADMIN;
    return s;
}

/* Reads the key's row into j->p and hash: 1 found and not revoked, 0 unknown or revoked,
 * -1 database unavailable. */
static int lookup(struct thread_ctx *t, struct job *j, char hash[EA_APIKEY_HASH_MAX])
{
    j->asked_ms = ea_time_now_ms();
    PGconn *c = thread_db(t);
    if (c == NULL)
        return -1;
    const char *params[1] = {j->id};
    struct ea_err err;
    PGresult *r = ea_pg_query(c,
                              "SELECT tenant_id, secret_hash, scopes::text, "
                              "coalesce(rate_limit, 0), revoked_at IS NOT NULL, "
                              "coalesce(array_to_string(origins, ','), '') "
                              "FROM api_keys WHERE key_id = $1",
                              1, params, PGRES_TUPLES_OK, &err);
    if (r == NULL) {
        char subj[EA_LOG_SUBJECT_MAX];
        snprintf(subj, sizeof(subj), "key-%s", j->id);
        ea_log_warn(subj, "%s", err.message);
        note_db(t->a, err.message);
        return -1;
    }
    j->db_answered = true;
    note_db(t->a, NULL);
    int found = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 4), "f") == 0;
    if (found) {
        memset(&j->p, 0, sizeof(j->p));
        snprintf(j->p.tenant, sizeof(j->p.tenant), "%s", PQgetvalue(r, 0, 0));
        snprintf(j->p.key_id, sizeof(j->p.key_id), "%s", j->id);
        j->p.scopes = parse_scopes(PQgetvalue(r, 0, 2));
        j->p.rate_limit = strtol(PQgetvalue(r, 0, 3), NULL, 10);
        /* stored normalized by whoever created the key; a list longer than a principal holds
         * is truncated at an origin boundary, never mid-origin (creation refuses it anyway) */
        const char *o = PQgetvalue(r, 0, 5);
        size_t ol = strlen(o);
        while (ol >= sizeof(j->p.origins)) {
            const char *c = memrchr(o, ',', ol);
            ol = c != NULL ? (size_t)(c - o) : 0;
        }
        memcpy(j->p.origins, o, ol);
        j->p.origins[ol] = '\0';
        snprintf(hash, EA_APIKEY_HASH_MAX, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return found;
}

/* Records that a proven key is in use (api_keys.last_used_at, the dashboard's key list): at most
 * one write a minute per key, on this pool thread; a failure only costs the date's precision. */
static void touch_last_used(struct thread_ctx *t, const struct job *j)
{
    PGconn *c = thread_db(t);
    if (c == NULL)
        return;
    const char *params[1] = {j->id};
    struct ea_err err;
    PGresult *r =
        ea_pg_query(c,
                    "UPDATE api_keys SET last_used_at = now() WHERE key_id = $1 AND "
                    "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
                    1, params, PGRES_COMMAND_OK, &err);
    if (r == NULL) {
        char subj[EA_LOG_SUBJECT_MAX];
        snprintf(subj, sizeof(subj), "key-%s", j->id);
        ea_log_debug(subj, "could not record the key's last use: %s", err.message);
    }
    PQclear(r);
}

static void run_verify(struct thread_ctx *t, struct job *j)
{
    ea_keyauth *a = t->a;
    ea_authlimit_verdict v;
    ea_authlimit_reserve(a->limit, &t->redis, j->client, j->id, &v);
    if (!v.allowed) {
        j->st = EA_KEYAUTH_LIMITED;
        j->retry_ms = v.retry_ms;
        if (v.count_addr >= ea_authlimit_limit_addr(a->limit))
            j->block_addr_ms = v.ttl_addr_ms;
        if (v.count_key >= ea_authlimit_limit_key(a->limit))
            j->block_key_ms = v.ttl_key_ms;
        return;
    }
    char hash[EA_APIKEY_HASH_MAX] = "";
    int found = lookup(t, j, hash);
    if (found < 0) {
        ea_authlimit_release(a->limit, &t->redis, j->client, j->id, v.local);
        j->st = EA_KEYAUTH_UNAVAILABLE;
        return;
    }
    if (found == 1 && ea_apikey_verify(j->secret, hash)) {
        ea_authlimit_release(a->limit, &t->redis, j->client, j->id, v.local);
        memcpy(j->hash, hash, sizeof(hash));
        j->st = EA_KEYAUTH_OK;
        touch_last_used(t, j);
        return;
    }
    j->st = EA_KEYAUTH_INVALID; /* the reservation stays: one failed attempt counted */
    if (v.count_addr >= ea_authlimit_limit_addr(a->limit))
        j->block_addr_ms = v.ttl_addr_ms;
    if (v.count_key >= ea_authlimit_limit_key(a->limit))
        j->block_key_ms = v.ttl_key_ms;
}

static void job_run(ea_work *w, void *tctx)
{
    struct job *j = (struct job *)w;
    struct thread_ctx *t = tctx;
    if (t == NULL) { /* the thread could not allocate its context */
        j->st = EA_KEYAUTH_UNAVAILABLE;
        return;
    }
    switch (j->kind) {
    case JOB_PING: {
        PGconn *c = thread_db(t);
        PGresult *r = c != NULL ? PQexec(c, "SELECT 1") : NULL;
        j->db_answered = r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK;
        j->st = j->db_answered ? EA_KEYAUTH_OK : EA_KEYAUTH_UNAVAILABLE;
        if (j->db_answered) {
            note_db(t->a, NULL);
        } else if (c != NULL) {
            struct ea_err err = {0};
            if (ea_pg_result_check(r, PGRES_TUPLES_OK, "ping postgresql", &err) != EA_OK)
                note_db(t->a, err.message);
        }
        PQclear(r);
        break;
    }
    case JOB_REFRESH: {
        char hash[EA_APIKEY_HASH_MAX] = "";
        int found = lookup(t, j, hash);
        if (found < 0)
            j->st = EA_KEYAUTH_UNAVAILABLE;
        else if (found == 0)
            j->st = EA_KEYAUTH_INVALID;
        else if (strcmp(hash, j->hash) == 0) {
            j->st = EA_KEYAUTH_OK;
            touch_last_used(t, j);
        } else
            run_verify(t, j); /* the stored hash changed: prove the secret again */
        break;
    }
    case JOB_VERIFY:
        run_verify(t, j);
        break;
    }
}

/* ---- loop side ----------------------------------------------------------------------------- */

static uint64_t subject_hash(const ea_keyauth *a, const char *s)
{
    uint64_t h = 14695981039346656037ull ^ a->seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int64_t block_left(const ea_keyauth *a, const struct block *table, const char *subject,
                          int64_t now)
{
    const struct block *b = &table[subject_hash(a, subject) % BLOCK_SLOTS];
    return b->until_ms > now && strcmp(b->subject, subject) == 0 ? b->until_ms - now : 0;
}

static void block_set(ea_keyauth *a, struct block *table, const char *subject, int64_t until)
{
    struct block *b = &table[subject_hash(a, subject) % BLOCK_SLOTS];
    snprintf(b->subject, sizeof(b->subject), "%s", subject);
    b->until_ms = until;
}

static unsigned digest_slot(const char digest[65], unsigned slots)
{
    unsigned v = 0;
    for (int i = 0; i < 8; i++) {
        char c = digest[i];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v % slots;
}

static long retry_seconds(int64_t ms)
{
    long s = (long)((ms + 999) / 1000);
    return s < 1 ? 1 : s;
}

static void job_free(struct job *j)
{
    explicit_bzero(j->secret, sizeof(j->secret));
    free(j);
}

static void inflight_remove(ea_keyauth *a, struct job *j)
{
    for (struct job **l = &a->inflight; *l != NULL; l = &(*l)->next_inflight)
        if (*l == j) {
            *l = j->next_inflight;
            break;
        }
}

static void cache_outcome(ea_keyauth *a, struct job *j, int64_t now)
{
    struct verified *v = &a->verified[digest_slot(j->digest, VERIFIED_SLOTS)];
    bool same = v->used && memcmp(v->digest, j->digest, 64) == 0;
    if (same)
        v->refreshing = false;
    if (j->st == EA_KEYAUTH_OK) {
        memcpy(v->digest, j->digest, 65);
        v->used = true;
        v->refreshing = false;
        v->checked_ms = j->asked_ms;
        v->p = j->p;
        memcpy(v->hash, j->hash, sizeof(v->hash));
        struct refused *r = &a->refused[digest_slot(j->digest, REFUSED_SLOTS)];
        if (memcmp(r->digest, j->digest, 64) == 0)
            r->expires_ms = 0;
    } else if (j->st == EA_KEYAUTH_INVALID) {
        if (same) /* revoked or gone */
            memset(v, 0, sizeof(*v));
        struct refused *r = &a->refused[digest_slot(j->digest, REFUSED_SLOTS)];
        memcpy(r->digest, j->digest, 65);
        r->expires_ms = now + NEGATIVE_TTL_MS;
    }
    if (j->block_addr_ms > 0)
        block_set(a, a->blocked_addr, j->client, now + j->block_addr_ms);
    if (j->block_key_ms > 0)
        block_set(a, a->blocked_key, j->id, now + j->block_key_ms);
}

static void job_done(ea_work *w)
{
    struct job *j = (struct job *)w;
    ea_keyauth *a = j->a;
    int64_t now = ea_time_now_ms();
    inflight_remove(a, j);
    if (!w->ran)
        j->st = EA_KEYAUTH_UNAVAILABLE; /* dropped at shutdown */
    if (j->db_answered)
        a->db_seen_ms = now;
    if (j->kind != JOB_PING) {
        cache_outcome(a, j, now);
        switch (j->st) {
        case EA_KEYAUTH_OK:
            a->stats.verified++;
            break;
        case EA_KEYAUTH_INVALID:
            a->stats.refused++;
            break;
        case EA_KEYAUTH_LIMITED:
            a->stats.limited++;
            break;
        default:
            break;
        }
    }
    ea_keyauth_result r = {.status = j->st};
    if (j->st == EA_KEYAUTH_OK)
        r.principal = j->p;
    if (j->st == EA_KEYAUTH_LIMITED)
        r.retry_after_s = retry_seconds(j->retry_ms);
    while (j->waiters != NULL) {
        ea_keyauth_waiter *wt = j->waiters;
        j->waiters = wt->next;
        if (j->waiters != NULL)
            j->waiters->prev = NULL;
        wt->next = wt->prev = NULL;
        wt->job = NULL;
        if (!a->closing)
            wt->cb(wt, &r);
    }
    job_free(j);
}

static void waiter_attach(struct job *j, ea_keyauth_waiter *w)
{
    w->job = j;
    w->prev = NULL;
    w->next = j->waiters;
    if (j->waiters != NULL)
        j->waiters->prev = w;
    j->waiters = w;
}

void ea_keyauth_cancel(ea_keyauth_waiter *w)
{
    struct job *j = w->job;
    if (j == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        j->waiters = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->job = NULL;
}

static struct job *job_new(ea_keyauth *a, enum job_kind kind)
{
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->a = a;
    j->kind = kind;
    j->work.run = job_run;
    j->work.done = job_done;
    return j;
}

/* Queues j (urgent: front of the queue). false when the queue is full (j is freed). */
static bool job_submit(ea_keyauth *a, struct job *j, bool urgent)
{
    if (ea_workpool_submit(a->pool, &j->work, urgent) != EA_OK) {
        a->stats.busy++;
        job_free(j);
        return false;
    }
    if (j->kind != JOB_PING) {
        j->next_inflight = a->inflight;
        a->inflight = j;
    }
    return true;
}

bool ea_keyauth_bearer(const char *header, size_t len, const char **key, size_t *klen)
{
    static const char bearer[] = "Bearer ";
    if (header == NULL || len <= sizeof(bearer) - 1 ||
        strncasecmp(header, bearer, sizeof(bearer) - 1) != 0)
        return false;
    *key = header + sizeof(bearer) - 1;
    *klen = len - (sizeof(bearer) - 1);
    return true;
}

ea_keyauth_status ea_keyauth_begin(ea_keyauth *a, const char *key, size_t klen, const char *client,
                                   ea_keyauth_waiter *w, ea_keyauth_result *out)
{
    memset(out, 0, sizeof(*out));
    w->job = NULL;
    w->prev = w->next = NULL;
    if (key == NULL || klen == 0)
        return out->status = EA_KEYAUTH_MISSING;
    char id[EA_APIKEY_ID_LEN + 1], secret[EA_APIKEY_SECRET_LEN + 1];
    if (ea_apikey_parse(key, klen, id, secret) != EA_OK)
        return out->status = EA_KEYAUTH_INVALID;
    if (client == NULL || client[0] == '\0')
        client = "-";

    char digest[65];
    ea_apikey_digest(key, klen, digest);
    int64_t now = ea_time_now_ms();
    struct verified *v = &a->verified[digest_slot(digest, VERIFIED_SLOTS)];
    bool known = v->used && memcmp(v->digest, digest, 64) == 0;
    if (known && now - v->checked_ms < a->ttl_ms) {
        a->stats.cache_hits++;
        out->principal = v->p;
        if (!v->refreshing && now - v->checked_ms >= a->ttl_ms / 4 * 3) {
            /* refresh ahead, so a key in steady use never waits for its refresh */
            struct job *j = job_new(a, JOB_REFRESH);
            if (j != NULL) {
                memcpy(j->digest, digest, 65);
                memcpy(j->id, id, sizeof(id));
                memcpy(j->secret, secret, sizeof(secret));
                snprintf(j->client, sizeof(j->client), "%s", client);
                memcpy(j->hash, v->hash, sizeof(v->hash));
                if (job_submit(a, j, true)) {
                    v->refreshing = true;
                    a->stats.refreshes++;
                }
            }
        }
        explicit_bzero(secret, sizeof(secret));
        return out->status = EA_KEYAUTH_OK;
    }
    struct refused *r = &a->refused[digest_slot(digest, REFUSED_SLOTS)];
    if (!known && r->expires_ms > now && memcmp(r->digest, digest, 64) == 0) {
        explicit_bzero(secret, sizeof(secret));
        return out->status = EA_KEYAUTH_INVALID;
    }
    if (!known) {
        int64_t left = block_left(a, a->blocked_addr, client, now);
        int64_t lk = block_left(a, a->blocked_key, id, now);
        if (lk > left)
            left = lk;
        if (left > 0) {
            a->stats.limited++;
            explicit_bzero(secret, sizeof(secret));
            out->retry_after_s = retry_seconds(left);
            return out->status = EA_KEYAUTH_LIMITED;
        }
    }
    for (struct job *j = a->inflight; j != NULL; j = j->next_inflight)
        if (memcmp(j->digest, digest, 64) == 0) {
            explicit_bzero(secret, sizeof(secret));
            waiter_attach(j, w);
            return out->status = EA_KEYAUTH_PENDING;
        }
    struct job *j = job_new(a, known ? JOB_REFRESH : JOB_VERIFY);
    if (j == NULL) {
        explicit_bzero(secret, sizeof(secret));
        return out->status = EA_KEYAUTH_UNAVAILABLE;
    }
    memcpy(j->digest, digest, 65);
    memcpy(j->id, id, sizeof(id));
    memcpy(j->secret, secret, sizeof(secret));
    explicit_bzero(secret, sizeof(secret));
    snprintf(j->client, sizeof(j->client), "%s", client);
    if (known) {
        memcpy(j->hash, v->hash, sizeof(v->hash));
        v->refreshing = true;
        a->stats.refreshes++;
    }
    if (!job_submit(a, j, known)) {
        if (known)
            v->refreshing = false;
        out->retry_after_s = 1;
        return out->status = EA_KEYAUTH_BUSY;
    }
    waiter_attach(j, w);
    return out->status = EA_KEYAUTH_PENDING;
}

void ea_keyauth_ping(ea_keyauth *a, ea_keyauth_waiter *w)
{
    w->job = NULL;
    w->prev = w->next = NULL;
    ea_keyauth_result r = {.status = EA_KEYAUTH_OK};
    if (ea_time_now_ms() - a->db_seen_ms < DB_SEEN_FRESH_MS && a->db_seen_ms > 0) {
        w->cb(w, &r);
        return;
    }
    struct job *j = job_new(a, JOB_PING);
    if (j == NULL || !job_submit(a, j, true)) {
        r.status = j == NULL ? EA_KEYAUTH_UNAVAILABLE : EA_KEYAUTH_BUSY;
        r.retry_after_s = 1;
        w->cb(w, &r);
        return;
    }
    waiter_attach(j, w);
}

ea_keyauth *ea_keyauth_new(const char *database_url, const ea_redis_url *redis,
                           const ea_keyauth_settings *s, struct ea_err *err)
{
    ea_keyauth *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not create the key verifier: out of memory");
        return NULL;
    }
    a->url = database_url;
    a->ttl_ms = s->cache_ttl_s * 1000;
    pthread_mutex_init(&a->db_error_lock, NULL);
    if (getrandom(&a->seed, sizeof(a->seed), 0) != (ssize_t)sizeof(a->seed))
        a->seed = (uint64_t)ea_time_mono_ns();
    a->limit = ea_authlimit_new(redis, s->fail_limit_addr, s->fail_limit_key, s->fail_window_s);
    if (a->limit == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not create the key verifier: out of memory");
        free(a);
        return NULL;
    }
    /* niced: under a flood of bcrypt work the loop thread keeps its share of a busy core */
    ea_workpool_config pc = {.threads = (int)s->workers,
                             .queue_max = (size_t)s->queue_max,
                             .nice = (int)s->worker_nice,
                             .thread_init = thread_init,
                             .thread_fini = thread_fini,
                             .ud = a,
                             .name = "keyauth"};
    a->pool = ea_workpool_new(&pc, err);
    if (a->pool == NULL) {
        ea_authlimit_free(a->limit);
        free(a);
        return NULL;
    }
    return a;
}

void ea_keyauth_free(ea_keyauth *a)
{
    if (a == NULL)
        return;
    a->closing = true; /* job_done() calls no callback from here on */
    ea_workpool_free(a->pool);
    ea_authlimit_free(a->limit);
    pthread_mutex_destroy(&a->db_error_lock);
    free(a);
}

int ea_keyauth_fd(const ea_keyauth *a)
{
    return ea_workpool_fd(a->pool);
}

void ea_keyauth_complete(ea_keyauth *a)
{
    ea_workpool_complete(a->pool);
}

void ea_keyauth_stats_get(ea_keyauth *a, ea_keyauth_stats *out)
{
    *out = a->stats;
    out->queued = ea_workpool_queued(a->pool);
}
