/*
 * bcache.c — the bucket-level series cache (see bcache.h for what it holds and its invariants).
 *
 * Layout: a hash table of keys (chained), each key with a sorted array of non-overlapping
 * segments; keys hang off their (tenant, metric) group, which the change feed addresses, and sit
 * on one LRU list for the size bound. An invalidation walks only its group's keys.
 *
 * Cutting (invariant 1): a change [s, e) that overlaps a segment removes the PIECES it touches —
 * each non-empty bucket it overlaps, and each run of empty buckets it falls into, whole (the
 * bounds of the empty buckets inside a run are unknown, the run's own bounds are bucket bounds).
 * What is left of the segment is at most two segments, still unions of whole buckets.
 *
 * Sizes: a bucket counts what its points cost in memory (json_bytes: every jansson allocation of
 * the tree — object, hash buckets, one pair per key with the key inline, strings by length — at
 * glibc's chunk size), computed once per bucket outside the lock. A point of series.c costs
 * 1,008 bytes with no dimension and 1,168 with one (test_bcache.c checks the count against
 * mallinfo2 within 10 %); the old flat 200 bytes a point let the cache hold ~5x its bound
 * (red-team pass: 510-529 MB RSS at GRAPHQL_CACHE_MAX_MB=64). An entry's
 * key is counted at its length: a key is the series' filter, and a filter of a 200 KB list of
 * values that matches nothing was a small empty segment under a 200 KB key that the bound did
 * not see (red-team pass: 2,000 such queries took graphql-api from 13 to 441 MB).
 */
#include "bcache.h"
#include "ea_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PART_BYTES 64
#define SEG_BYTES 96
/* an entry and its key (the key holds the filter: up to a request body, GRAPHQL_MAX_BODY, long) */
#define ENTRY_BYTES 160
#define FAR_PAST INT64_MIN
#define FAR_FUTURE INT64_MAX

typedef struct bc_seg {
    int64_t start, end, closed_until;
    int64_t open_expires, closed_expires;
    gql_bc_part *b; /* sorted by start, inside [start, end) */
    size_t nb;
} bc_seg;

typedef struct bc_entry bc_entry;

typedef struct bc_tm {
    struct bc_tm *hnext;
    uint64_t hash;
    char *tenant, *metric;
    uint64_t last_gen; /* generation of the last invalidation of this metric */
    bc_entry *entries;
} bc_tm;

struct bc_entry {
    bc_entry *hnext, *tm_next, *tm_prev, *lru_prev, *lru_next;
    uint64_t hash;
    char *key;
    size_t klen;
    bc_tm *tm;
    bool utc_day;
    bool raw;
    bc_seg *seg;
    size_t nseg, segcap;
    size_t bytes;
};

typedef struct bc_logent {
    uint64_t gen, tmhash;
    int64_t s, e;
    bool whole, day;
} bc_logent;

struct gql_bcache {
    pthread_mutex_t mu;
    gql_bcache_config cfg;
    bc_entry **ht;
    size_t htcap, nentries;
    bc_tm **tmt;
    size_t tmcap, ntm;
    bc_entry lru; /* sentinel: lru.lru_next is the most recently used */
    uint64_t gen, flush_gen;
    bool live;
    bc_logent *log;
    size_t bytes;
    gql_bcache_stats st;
};

/* ---- small helpers ---- */

static uint64_t tm_hash(const char *tenant, const char *metric)
{
    size_t tl = strlen(tenant), ml = strlen(metric);
    char stack[512];
    char *buf = tl + ml + 1 <= sizeof(stack) ? stack : malloc(tl + ml + 1);
    if (buf == NULL)
        return ea_hash64(tenant, tl) ^ ea_hash64(metric, ml);
    memcpy(buf, tenant, tl);
    buf[tl] = '\0';
    memcpy(buf + tl + 1, metric, ml);
    uint64_t h = ea_hash64(buf, tl + ml + 1);
    if (buf != stack)
        free(buf);
    return h;
}

/* glibc malloc: a request of n bytes takes a chunk of n + 8 rounded up to 16, at least 32 */
static size_t chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* Smallest power of two >= n, at least min (jansson's array and hash table growth). */
static size_t pow2_at_least(size_t n, size_t min)
{
    size_t c = min;
    while (c < n)
        c *= 2;
    return c;
}

/* What v's tree costs in the heap, modelled on jansson 2.14's allocations (64-bit): json_t is
 * {type, refcount}; an object is json_t + hashtable_t (72 bytes), its buckets (16 bytes each, 8
 * at first, doubled when full) and one pair per key (56 bytes + the key + NUL); a string is 32
 * bytes + a copy of its text; an integer or real 24; an array 40 + a table of pointers (8 at
 * first, doubled); true, false and null are shared. A tree shared by reference is counted
 * whole: the bound errs high, never low. */
size_t gql_bcache_json_bytes(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = chunk(72), size = json_object_size(v);
        n += chunk(16 * pow2_at_least(size, 8));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) n +=
            chunk(56 + strlen(k) + 1) + gql_bcache_json_bytes(x);
        return n;
    }
    case JSON_ARRAY: {
        size_t n = chunk(40) + chunk(8 * pow2_at_least(json_array_size(v), 8));
        for (size_t i = 0; i < json_array_size(v); i++)
            n += gql_bcache_json_bytes(json_array_get(v, i));
        return n;
    }
    case JSON_STRING:
        return chunk(32) + chunk(json_string_length(v) + 1);
    case JSON_INTEGER:
    case JSON_REAL:
        return chunk(24);
    default:
        return 0;
    }
}

static size_t seg_bytes(const bc_seg *s)
{
    size_t n = SEG_BYTES;
    for (size_t i = 0; i < s->nb; i++)
        n += s->b[i].bytes;
    return n;
}

static void seg_release(bc_seg *s)
{
    for (size_t i = 0; i < s->nb; i++)
        json_decref(s->b[i].points);
    free(s->b);
    s->b = NULL;
    s->nb = 0;
}

/* A new segment [start, end) holding copies of the parts of src that lie inside it. */
static bool seg_from(bc_seg *out, const bc_seg *src, int64_t start, int64_t end)
{
    *out = *src;
    out->start = start;
    out->end = end;
    out->closed_until = src->closed_until < start ? start
                        : src->closed_until > end ? end
                                                  : src->closed_until;
    out->b = NULL;
    out->nb = 0;
    size_t n = 0;
    for (size_t i = 0; i < src->nb; i++)
        n += src->b[i].start >= start && src->b[i].end <= end;
    if (n == 0)
        return true;
    out->b = malloc(n * sizeof(*out->b));
    if (out->b == NULL)
        return false;
    for (size_t i = 0; i < src->nb; i++) {
        if (src->b[i].start >= start && src->b[i].end <= end) {
            out->b[out->nb] = src->b[i];
            json_incref(out->b[out->nb].points);
            out->nb++;
        }
    }
    return true;
}

/* The bounds of the pieces of s that [cs, ce) touches (the file's head: "Cutting"). exact: cs and
 * ce are bucket bounds of the key, so the segment is cut exactly there. */
static void cut_bounds(const bc_seg *s, int64_t cs, int64_t ce, bool exact, int64_t *lo,
                       int64_t *hi)
{
    if (exact) {
        *lo = cs > s->start ? cs : s->start;
        *hi = ce < s->end ? ce : s->end;
        return;
    }
    if (cs <= s->start) {
        *lo = s->start;
    } else {
        size_t i = 0;
        while (i < s->nb && s->b[i].end <= cs)
            i++; /* first part ending after cs */
        if (i < s->nb && s->b[i].start <= cs)
            *lo = s->b[i].start; /* cs inside a bucket */
        else
            *lo = i > 0 ? s->b[i - 1].end : s->start; /* inside an empty run */
    }
    if (ce >= s->end) {
        *hi = s->end;
    } else {
        size_t j = s->nb;
        while (j > 0 && s->b[j - 1].start >= ce)
            j--; /* parts [0, j) start before ce */
        if (j > 0 && s->b[j - 1].end >= ce)
            *hi = s->b[j - 1].end; /* the last instant before ce is inside a bucket */
        else
            *hi = j < s->nb ? s->b[j].start : s->end;
    }
}

/* Replaces e->seg[i] by what is left after removing the pieces [cs, ce) touches. */
static void entry_cut(bc_entry *e, size_t i, int64_t cs, int64_t ce, bool exact)
{
    bc_seg *s = &e->seg[i];
    int64_t lo, hi;
    cut_bounds(s, cs, ce, exact, &lo, &hi);
    bc_seg left = {0}, right = {0};
    bool has_left = lo > s->start, has_right = hi < s->end;
    if ((has_left && !seg_from(&left, s, s->start, lo)) ||
        (has_right && !seg_from(&right, s, hi, s->end))) {
        seg_release(&left);
        /* out of memory: drop the whole segment (never keep what the change touched) */
        has_left = has_right = false;
    }
    e->bytes -= seg_bytes(s);
    seg_release(s);
    size_t keep = (size_t)has_left + (size_t)has_right;
    if (keep == 0) {
        memmove(&e->seg[i], &e->seg[i + 1], (e->nseg - i - 1) * sizeof(*e->seg));
        e->nseg--;
        return;
    }
    if (keep == 2) {
        if (e->nseg == e->segcap) {
            size_t cap = e->segcap * 2 + 4;
            bc_seg *n = realloc(e->seg, cap * sizeof(*n));
            if (n == NULL) {
                seg_release(&right); /* keep the left part only */
                keep = 1;
            } else {
                e->seg = n;
                e->segcap = cap;
            }
        }
    }
    if (keep == 2) {
        memmove(&e->seg[i + 2], &e->seg[i + 1], (e->nseg - i - 1) * sizeof(*e->seg));
        e->seg[i] = left;
        e->seg[i + 1] = right;
        e->nseg++;
        e->bytes += seg_bytes(&left) + seg_bytes(&right);
    } else {
        e->seg[i] = has_left ? left : right;
        e->bytes += seg_bytes(&e->seg[i]);
    }
}

/* Removes from e every piece that [cs, ce) touches (exact: cut at cs and ce themselves). */
static void entry_cut_range(bc_entry *e, int64_t cs, int64_t ce, bool exact)
{
    size_t i = 0;
    while (i < e->nseg) {
        const bc_seg *s = &e->seg[i];
        if (s->end <= cs) {
            i++;
            continue;
        }
        if (s->start >= ce)
            break;
        size_t before = e->nseg;
        entry_cut(e, i, cs, ce, exact);
        /* what is left (0, 1 or 2 segments at i) lies outside the cut: step over it */
        i += e->nseg + 1 - before;
    }
}

/* ---- keys, groups, LRU ---- */

static void lru_unlink(bc_entry *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_front(gql_bcache *c, bc_entry *e)
{
    e->lru_prev = &c->lru;
    e->lru_next = c->lru.lru_next;
    c->lru.lru_next->lru_prev = e;
    c->lru.lru_next = e;
}

static bc_tm *tm_find(gql_bcache *c, const char *tenant, const char *metric, uint64_t h)
{
    for (bc_tm *t = c->tmt[h & (c->tmcap - 1)]; t != NULL; t = t->hnext)
        if (t->hash == h && strcmp(t->tenant, tenant) == 0 && strcmp(t->metric, metric) == 0)
            return t;
    return NULL;
}

static void tm_unlink_free(gql_bcache *c, bc_tm *t)
{
    bc_tm **l = &c->tmt[t->hash & (c->tmcap - 1)];
    while (*l != t)
        l = &(*l)->hnext;
    *l = t->hnext;
    c->ntm--;
    free(t->tenant);
    free(t->metric);
    free(t);
}

static void entry_free(gql_bcache *c, bc_entry *e)
{
    bc_entry **l = &c->ht[e->hash & (c->htcap - 1)];
    while (*l != e)
        l = &(*l)->hnext;
    *l = e->hnext;
    lru_unlink(e);
    if (e->tm_prev != NULL)
        e->tm_prev->tm_next = e->tm_next;
    else
        e->tm->entries = e->tm_next;
    if (e->tm_next != NULL)
        e->tm_next->tm_prev = e->tm_prev;
    if (e->tm->entries == NULL)
        tm_unlink_free(c, e->tm);
    for (size_t i = 0; i < e->nseg; i++)
        seg_release(&e->seg[i]);
    c->bytes -= e->bytes;
    c->nentries--;
    free(e->seg);
    free(e->key);
    free(e);
}

static bc_entry *entry_find(gql_bcache *c, const gql_bc_key *k, uint64_t h)
{
    for (bc_entry *e = c->ht[h & (c->htcap - 1)]; e != NULL; e = e->hnext)
        if (e->hash == h && e->klen == k->klen && memcmp(e->key, k->key, k->klen) == 0)
            return e;
    return NULL;
}

static void grow_tables(gql_bcache *c)
{
    if (c->nentries >= c->htcap) {
        size_t cap = c->htcap * 2;
        bc_entry **n = calloc(cap, sizeof(*n));
        if (n != NULL) {
            for (size_t i = 0; i < c->htcap; i++) {
                for (bc_entry *e = c->ht[i], *next; e != NULL; e = next) {
                    next = e->hnext;
                    e->hnext = n[e->hash & (cap - 1)];
                    n[e->hash & (cap - 1)] = e;
                }
            }
            free(c->ht);
            c->ht = n;
            c->htcap = cap;
        }
    }
    if (c->ntm >= c->tmcap) {
        size_t cap = c->tmcap * 2;
        bc_tm **n = calloc(cap, sizeof(*n));
        if (n != NULL) {
            for (size_t i = 0; i < c->tmcap; i++) {
                for (bc_tm *t = c->tmt[i], *next; t != NULL; t = next) {
                    next = t->hnext;
                    t->hnext = n[t->hash & (cap - 1)];
                    n[t->hash & (cap - 1)] = t;
                }
            }
            free(c->tmt);
            c->tmt = n;
            c->tmcap = cap;
        }
    }
}

static bc_entry *entry_create(gql_bcache *c, const gql_bc_key *k, uint64_t h)
{
    grow_tables(c);
    uint64_t th = tm_hash(k->tenant, k->metric);
    bc_tm *t = tm_find(c, k->tenant, k->metric, th);
    bool new_tm = t == NULL;
    if (new_tm) {
        t = calloc(1, sizeof(*t));
        if (t == NULL)
            return NULL;
        t->hash = th;
        t->tenant = strdup(k->tenant);
        t->metric = strdup(k->metric);
        /* unknown history: as if invalidated now (a response read before stays unusable) */
        t->last_gen = c->gen;
        if (t->tenant == NULL || t->metric == NULL) {
            free(t->tenant);
            free(t->metric);
            free(t);
            return NULL;
        }
    }
    bc_entry *e = calloc(1, sizeof(*e));
    if (e != NULL && (e->key = malloc(k->klen)) == NULL) {
        free(e);
        e = NULL;
    }
    if (e == NULL) {
        if (new_tm) {
            free(t->tenant);
            free(t->metric);
            free(t);
        }
        return NULL;
    }
    if (new_tm) {
        t->hnext = c->tmt[th & (c->tmcap - 1)];
        c->tmt[th & (c->tmcap - 1)] = t;
        c->ntm++;
    }
    memcpy(e->key, k->key, k->klen);
    e->klen = k->klen;
    e->bytes = ENTRY_BYTES + k->klen;
    c->bytes += e->bytes;
    e->hash = h;
    e->utc_day = k->utc_day;
    e->tm = t;
    e->tm_next = t->entries;
    if (t->entries != NULL)
        t->entries->tm_prev = e;
    t->entries = e;
    e->hnext = c->ht[h & (c->htcap - 1)];
    c->ht[h & (c->htcap - 1)] = e;
    c->nentries++;
    lru_front(c, e);
    return e;
}

static void drop_all(gql_bcache *c)
{
    /* the next entry is read before this one is freed (entry_free relinks the list) */
    for (bc_entry *e = c->lru.lru_next, *next; e != &c->lru; e = next) {
        next = e->lru_next;
        entry_free(c, e);
    }
}

/* ---- API ---- */

gql_bcache *gql_bcache_new(const gql_bcache_config *cfg)
{
    gql_bcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = *cfg;
    if (c->cfg.log_entries == 0)
        c->cfg.log_entries = 4096;
    c->htcap = c->tmcap = 256;
    c->ht = calloc(c->htcap, sizeof(*c->ht));
    c->tmt = calloc(c->tmcap, sizeof(*c->tmt));
    c->log = calloc(c->cfg.log_entries, sizeof(*c->log));
    if (c->ht == NULL || c->tmt == NULL || c->log == NULL) {
        free(c->ht);
        free(c->tmt);
        free(c->log);
        free(c);
        return NULL;
    }
    c->lru.lru_next = c->lru.lru_prev = &c->lru;
    c->gen = 1;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void gql_bcache_free(gql_bcache *c)
{
    if (c == NULL)
        return;
    drop_all(c);
    pthread_mutex_destroy(&c->mu);
    free(c->ht);
    free(c->tmt);
    free(c->log);
    free(c);
}

/* The part of segment s usable at now: [*us, *ue), empty when *us >= *ue. */
static void usable(const bc_seg *s, int64_t now, int64_t *us, int64_t *ue)
{
    *us = s->start;
    if (now >= s->closed_expires)
        *ue = s->start;
    else if (now >= s->open_expires)
        *ue = s->closed_until;
    else
        *ue = s->end;
}

static void add_gap(gql_bc_view *v, int64_t from, int64_t to)
{
    if (from > to)
        return;
    if (v->ngaps > 0 && v->gaps[v->ngaps - 1].to + 1 >= from) { /* adjacent: one gap */
        v->gaps[v->ngaps - 1].to = to;
        return;
    }
    if (v->ngaps < GQL_BC_MAX_GAPS) {
        v->gaps[v->ngaps++] = (gql_bc_gap){from, to};
        return;
    }
    v->gaps[GQL_BC_MAX_GAPS - 1].to = to; /* merge into the last: refetches some cached buckets */
}

void gql_bcache_lookup(gql_bcache *c, const gql_bc_key *k, int64_t from, int64_t to, int64_t now,
                       gql_bc_view *v)
{
    memset(v, 0, sizeof(*v));
    uint64_t h = ea_hash64(k->key, k->klen);
    pthread_mutex_lock(&c->mu);
    v->ticket = c->gen;
    bc_entry *e = c->live ? entry_find(c, k, h) : NULL;
    if (e == NULL) {
        pthread_mutex_unlock(&c->mu);
        add_gap(v, from, to);
        return;
    }
    lru_unlink(e);
    lru_front(c, e);
    v->raw = e->raw;
    /* count the parts first, then copy them */
    size_t n = 0, first = 0;
    while (first < e->nseg && e->seg[first].end <= from)
        first++;
    for (size_t i = first; i < e->nseg && e->seg[i].start <= to; i++) {
        int64_t us, ue;
        usable(&e->seg[i], now, &us, &ue);
        for (size_t j = 0; j < e->seg[i].nb; j++) {
            const gql_bc_part *p = &e->seg[i].b[j];
            n += p->start <= to && p->end > from && p->start >= us && p->end <= ue;
        }
    }
    if (n > 0 && (v->parts = malloc(n * sizeof(*v->parts))) == NULL) {
        pthread_mutex_unlock(&c->mu);
        add_gap(v, from, to);
        return;
    }
    int64_t cursor = from;
    for (size_t i = first; i < e->nseg && e->seg[i].start <= to && cursor <= to; i++) {
        const bc_seg *s = &e->seg[i];
        int64_t us, ue;
        usable(s, now, &us, &ue);
        if (us >= ue || ue <= cursor)
            continue;
        if (us > cursor)
            add_gap(v, cursor, us - 1 < to ? us - 1 : to);
        v->any_cached = true;
        for (size_t j = 0; j < s->nb; j++) {
            const gql_bc_part *p = &s->b[j];
            if (p->start <= to && p->end > from && p->start >= us && p->end <= ue) {
                v->parts[v->nparts] = *p;
                json_incref(p->points);
                v->nparts++;
            }
        }
        cursor = ue;
    }
    pthread_mutex_unlock(&c->mu);
    if (cursor <= to)
        add_gap(v, cursor, to);
}

/* Views and fills own their parts' points the same way: one reference each. */
static void parts_free(gql_bc_part **parts, size_t *nparts)
{
    for (size_t i = 0; i < *nparts; i++)
        json_decref((*parts)[i].points);
    free(*parts);
    *parts = NULL;
    *nparts = 0;
}

void gql_bc_view_free(gql_bc_view *v)
{
    parts_free(&v->parts, &v->nparts);
}

void gql_bc_fill_free(gql_bc_fill *f)
{
    parts_free(&f->parts, &f->nparts);
}

static bool follows(const bc_entry *e, const bc_logent *l)
{
    return l->whole || l->day == e->utc_day;
}

/* Inserts segment ns (owned) into e, replacing whatever e held in [ns.start, ns.end). */
static bool entry_put(bc_entry *e, bc_seg *ns)
{
    entry_cut_range(e, ns->start, ns->end, true);
    if (e->nseg == e->segcap) {
        size_t cap = e->segcap * 2 + 4;
        bc_seg *n = realloc(e->seg, cap * sizeof(*n));
        if (n == NULL)
            return false;
        e->seg = n;
        e->segcap = cap;
    }
    size_t i = 0;
    while (i < e->nseg && e->seg[i].start < ns->start)
        i++;
    memmove(&e->seg[i + 1], &e->seg[i], (e->nseg - i) * sizeof(*e->seg));
    e->seg[i] = *ns;
    e->nseg++;
    e->bytes += seg_bytes(ns);
    return true;
}

void gql_bcache_insert(gql_bcache *c, const gql_bc_key *k, uint64_t ticket, const gql_bc_fill *fill,
                       long open_ttl_s, int64_t now)
{
    if (fill->lo >= fill->hi)
        return;
    /* the new segment, built outside the lock */
    bc_entry tmp = {0};
    bc_seg ns = {.start = fill->lo,
                 .end = fill->hi,
                 .closed_until = fill->closed_until < fill->lo   ? fill->lo
                                 : fill->closed_until > fill->hi ? fill->hi
                                                                 : fill->closed_until,
                 .open_expires = now + open_ttl_s * 1000,
                 .closed_expires = now + c->cfg.closed_ttl_s * 1000};
    if (fill->nparts > 0) {
        ns.b = malloc(fill->nparts * sizeof(*ns.b));
        if (ns.b == NULL)
            return;
        for (size_t i = 0; i < fill->nparts; i++) {
            ns.b[i] = fill->parts[i];
            ns.b[i].bytes = PART_BYTES + gql_bcache_json_bytes(ns.b[i].points);
            json_incref(ns.b[i].points);
        }
        ns.nb = fill->nparts;
    }
    uint64_t h = ea_hash64(k->key, k->klen), th = tm_hash(k->tenant, k->metric);
    pthread_mutex_lock(&c->mu);
    bool ok = c->live && ticket >= c->flush_gen && c->gen - ticket < c->cfg.log_entries;
    /* invariant 3: what changed while the fetch ran is cut from it before it is stored */
    tmp.utc_day = k->utc_day;
    tmp.seg = NULL;
    if (ok) {
        tmp.seg = malloc(4 * sizeof(*tmp.seg));
        ok = tmp.seg != NULL;
        if (ok) {
            tmp.seg[0] = ns;
            tmp.nseg = 1;
            tmp.segcap = 4;
            tmp.bytes = seg_bytes(&ns);
            ns.b = NULL; /* owned by tmp now */
            ns.nb = 0;
            for (uint64_t g = ticket + 1; g <= c->gen && tmp.nseg > 0; g++) {
                const bc_logent *l = &c->log[g % c->cfg.log_entries];
                if (l->gen == g && l->tmhash == th && follows(&tmp, l))
                    entry_cut_range(&tmp, l->s, l->e, false);
            }
        }
    }
    if (ok && tmp.bytes + ENTRY_BYTES + k->klen > c->cfg.max_bytes)
        ok = false; /* alone over the bound: not cached at all */
    bc_entry *e = ok ? entry_find(c, k, h) : NULL;
    if (ok && e == NULL)
        e = entry_create(c, k, h);
    if (e != NULL) {
        e->raw = fill->raw;
        size_t before = e->bytes;
        for (size_t i = 0; i < tmp.nseg; i++) {
            if (!entry_put(e, &tmp.seg[i]))
                seg_release(&tmp.seg[i]);
            tmp.seg[i].b = NULL;
        }
        tmp.nseg = 0;
        c->bytes = c->bytes - before + e->bytes;
        lru_unlink(e);
        lru_front(c, e);
        if (e->nseg == 0)
            entry_free(c, e);
        while (c->bytes > c->cfg.max_bytes && c->lru.lru_prev != &c->lru) {
            entry_free(c, c->lru.lru_prev);
            c->st.evictions++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < tmp.nseg; i++)
        seg_release(&tmp.seg[i]);
    free(tmp.seg);
    seg_release(&ns);
}

void gql_bcache_invalidate(gql_bcache *c, const char *tenant, const char *metric, bool whole,
                           bool day, int64_t start, int64_t end)
{
    uint64_t th = tm_hash(tenant, metric);
    pthread_mutex_lock(&c->mu);
    uint64_t g = ++c->gen;
    bc_logent *l = &c->log[g % c->cfg.log_entries];
    *l = (bc_logent){.gen = g,
                     .tmhash = th,
                     .s = whole ? FAR_PAST : start,
                     .e = whole ? FAR_FUTURE : end,
                     .whole = whole,
                     .day = day};
    c->st.invalidations++;
    bc_tm *t = tm_find(c, tenant, metric, th);
    if (t != NULL) {
        t->last_gen = g;
        for (bc_entry *e = t->entries, *next; e != NULL; e = next) {
            next = e->tm_next;
            if (!follows(e, l))
                continue;
            size_t before = e->bytes;
            entry_cut_range(e, l->s, l->e, false);
            c->bytes = c->bytes - before + e->bytes;
            if (e->nseg == 0)
                entry_free(c, e); /* may free t: the loop ends with it */
        }
    }
    pthread_mutex_unlock(&c->mu);
}

void gql_bcache_set_live(gql_bcache *c, bool live)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    c->flush_gen = c->gen;
    c->live = live;
    c->st.flushes++;
    drop_all(c);
    pthread_mutex_unlock(&c->mu);
}

bool gql_bcache_unchanged(gql_bcache *c, const char *tenant, const char *metric, uint64_t gen)
{
    uint64_t th = tm_hash(tenant, metric);
    pthread_mutex_lock(&c->mu);
    bc_tm *t = c->live && gen >= c->flush_gen ? tm_find(c, tenant, metric, th) : NULL;
    bool ok = t != NULL && t->last_gen <= gen;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void gql_bcache_stats_get(gql_bcache *c, gql_bcache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->keys = c->nentries;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}
