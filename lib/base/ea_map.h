/*
 * ea_map.h — an open-addressing hash map from byte-string keys to pointers (rollup rows of a
 * batch, the metric-definition index, cap state, dedup keys). Keys are copied into the arena given
 * at insert; the slot array is malloc'd and grows at 50 % load. Not thread-safe.
 */
#ifndef EA_MAP_H
#define EA_MAP_H

#include "ea_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ea_map_slot {
    const char *key; /* NULL: empty */
    size_t klen;
    uint64_t hash;
    void *value;
};

typedef struct ea_map {
    struct ea_map_slot *slots;
    size_t cap, n;
} ea_map;

/* Returns the value slot for key, inserting a NULL value (and copying the key into a) when it
 * is new (*inserted = true). NULL when out of memory. */
void **ea_map_upsert(ea_map *m, const void *key, size_t klen, ea_arena *a, bool *inserted);

/* The value for key, or NULL. */
void *ea_map_get(const ea_map *m, const void *key, size_t klen);

/* Forgets every entry (keys live in their arena), keeps the slot array. */
void ea_map_clear(ea_map *m);

void ea_map_free(ea_map *m);

#endif
