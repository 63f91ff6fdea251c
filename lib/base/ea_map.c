/*
 * ea_map.c — linear probing, power-of-two capacity. Hash: ea_hash64 (MurmurHash64A), the same
 * function the sketches use, so the project carries one hash.
 */
#include "ea_map.h"
#include "ea_hash.h"

#include <stdlib.h>
#include <string.h>

static bool resize(ea_map *m, size_t ncap)
{
    struct ea_map_slot *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        struct ea_map_slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

static struct ea_map_slot *find(const ea_map *m, const void *key, size_t klen, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t j = h & (m->cap - 1);
    for (;;) {
        struct ea_map_slot *s = &m->slots[j];
        if (s->key == NULL)
            return s;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
        j = (j + 1) & (m->cap - 1);
    }
}

void **ea_map_upsert(ea_map *m, const void *key, size_t klen, ea_arena *a, bool *inserted)
{
    *inserted = false;
    if ((m->n + 1) * 2 > m->cap && !resize(m, m->cap == 0 ? 64 : m->cap * 2))
        return NULL;
    uint64_t h = ea_hash64(key, klen);
    struct ea_map_slot *s = find(m, key, klen, h);
    if (s->key != NULL)
        return &s->value;
    char *k = ea_arena_strndup(a, key, klen);
    if (k == NULL)
        return NULL;
    s->key = k;
    s->klen = klen;
    s->hash = h;
    s->value = NULL;
    m->n++;
    *inserted = true;
    return &s->value;
}

void *ea_map_get(const ea_map *m, const void *key, size_t klen)
{
    struct ea_map_slot *s = find(m, key, klen, ea_hash64(key, klen));
    return s != NULL && s->key != NULL ? s->value : NULL;
}

void ea_map_clear(ea_map *m)
{
    if (m->cap > 0)
        memset(m->slots, 0, m->cap * sizeof(*m->slots));
    m->n = 0;
}

void ea_map_free(ea_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
