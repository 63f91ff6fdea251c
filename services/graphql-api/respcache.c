/*
 * respcache.c — the whole-answer cache (see respcache.h): a chained hash table of entries on one
 * LRU list, each entry one malloc (header, body, extensions, dependencies).
 */
#include "respcache.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

typedef struct rc_entry {
    struct rc_entry *hnext, *prev, *next;
    unsigned char key[GQL_RESP_KEY_LEN];
    size_t bytes;
    gql_resp_entry e;
} rc_entry;

struct gql_respcache {
    rc_entry **ht;
    size_t cap, n, bytes, max_bytes;
    rc_entry lru; /* lru.next: most recent */
};

gql_respcache *gql_respcache_new(size_t max_bytes)
{
    gql_respcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cap = 1024;
    c->ht = calloc(c->cap, sizeof(*c->ht));
    if (c->ht == NULL) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes;
    c->lru.next = c->lru.prev = &c->lru;
    return c;
}

static size_t slot_of(const gql_respcache *c, const unsigned char *key)
{
    size_t h;
    memcpy(&h, key, sizeof(h));
    return h & (c->cap - 1);
}

static void unlink_entry(gql_respcache *c, rc_entry *e)
{
    rc_entry **l = &c->ht[slot_of(c, e->key)];
    while (*l != e)
        l = &(*l)->hnext;
    *l = e->hnext;
    e->prev->next = e->next;
    e->next->prev = e->prev;
    c->bytes -= e->bytes;
    c->n--;
    free(e);
}

void gql_respcache_free(gql_respcache *c)
{
    if (c == NULL)
        return;
    for (rc_entry *e = c->lru.next, *next; e != &c->lru; e = next) {
        next = e->next;
        unlink_entry(c, e);
    }
    free(c->ht);
    free(c);
}

void gql_respcache_key(const char *query, const char *op_name, const json_t *vars, int media,
                       unsigned char key[GQL_RESP_KEY_LEN])
{
    char *v = vars != NULL ? json_dumps(vars, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    size_t ql = strlen(query), ol = op_name != NULL ? strlen(op_name) : 0;
    size_t vl = v != NULL ? strlen(v) : 0, n = ql + ol + vl + 3;
    char stack[4096];
    char *buf = n <= sizeof(stack) ? stack : malloc(n);
    if (buf == NULL) { /* no key: a key of zeros never matches a stored answer's */
        memset(key, 0, GQL_RESP_KEY_LEN);
        free(v);
        return;
    }
    size_t off = 0;
    memcpy(buf + off, query, ql + 1), off += ql + 1; /* NULs separate the parts */
    if (ol > 0)
        memcpy(buf + off, op_name, ol), off += ol;
    buf[off++] = '\0';
    if (vl > 0)
        memcpy(buf + off, v, vl), off += vl;
    buf[off++] = (char)media;
    SHA256((const unsigned char *)buf, off, key);
    if (buf != stack)
        free(buf);
    free(v);
}

static rc_entry *find(gql_respcache *c, const unsigned char *key)
{
    for (rc_entry *e = c->ht[slot_of(c, key)]; e != NULL; e = e->hnext)
        if (memcmp(e->key, key, GQL_RESP_KEY_LEN) == 0)
            return e;
    return NULL;
}

const gql_resp_entry *gql_respcache_get(gql_respcache *c, const unsigned char key[GQL_RESP_KEY_LEN])
{
    static const unsigned char zero[GQL_RESP_KEY_LEN];
    if (memcmp(key, zero, GQL_RESP_KEY_LEN) == 0)
        return NULL;
    rc_entry *e = find(c, key);
    if (e == NULL)
        return NULL;
    e->prev->next = e->next; /* to the front */
    e->next->prev = e->prev;
    e->prev = &c->lru;
    e->next = c->lru.next;
    c->lru.next->prev = e;
    c->lru.next = e;
    return &e->e;
}

void gql_respcache_drop(gql_respcache *c, const unsigned char key[GQL_RESP_KEY_LEN])
{
    rc_entry *e = find(c, key);
    if (e != NULL)
        unlink_entry(c, e);
}

void gql_respcache_put(gql_respcache *c, const unsigned char key[GQL_RESP_KEY_LEN],
                       const char *body, size_t len, const char *ext, const gql_resp_dep *deps,
                       int ndeps, uint64_t gen)
{
    size_t el = strlen(ext), dl = (size_t)ndeps * sizeof(*deps);
    size_t bytes = sizeof(rc_entry) + dl + len + el + 2;
    if (bytes > c->max_bytes)
        return;
    gql_respcache_drop(c, key);
    rc_entry *e = malloc(bytes);
    if (e == NULL)
        return;
    char *p = (char *)(e + 1);
    memcpy(p, deps, dl); /* gql_resp_dep holds chars only: any alignment works */
    e->e.deps = (const gql_resp_dep *)p;
    p += dl;
    memcpy(p, body, len);
    p[len] = '\0';
    e->e.body = p;
    e->e.len = len;
    p += len + 1;
    memcpy(p, ext, el + 1);
    e->e.ext = p;
    e->e.ext_len = el;
    e->e.ndeps = ndeps;
    e->e.gen = gen;
    memcpy(e->key, key, GQL_RESP_KEY_LEN);
    e->bytes = bytes;
    size_t s = slot_of(c, key);
    e->hnext = c->ht[s];
    c->ht[s] = e;
    e->prev = &c->lru;
    e->next = c->lru.next;
    c->lru.next->prev = e;
    c->lru.next = e;
    c->bytes += bytes;
    c->n++;
    /* evict from the old end; the next victim is read before this one is freed */
    for (rc_entry *v = c->lru.prev, *older; c->bytes > c->max_bytes && v != &c->lru; v = older) {
        older = v->prev;
        unlink_entry(c, v);
    }
}
