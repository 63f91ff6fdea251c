/*
 * strmap.h — an open-addressing hash map from byte-string keys to pointers, for the worker's
 * per-batch aggregation and the metric-definition index. Keys are copied into the arena given
 * at insert; the slot array is malloc'd and grows at 50 % load. Not thread-safe.
 */
#ifndef WK_STRMAP_H
#define WK_STRMAP_H

#include "ea_arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wk_map_slot {
    const char *key; /* NULL: empty */
    size_t klen;
    uint64_t hash;
    void *value;
};

typedef struct wk_map {
    struct wk_map_slot *slots;
    size_t cap, n;
} wk_map;

/* Returns the value slot for key, inserting a NULL value (and copying the key into a) when it
 * is new (*inserted = true). NULL when out of memory. */
void **wk_map_upsert(wk_map *m, const void *key, size_t klen, ea_arena *a, bool *inserted);

/* The value for key, or NULL. */
void *wk_map_get(const wk_map *m, const void *key, size_t klen);

/* Forgets every entry (keys live in their arena), keeps the slot array. */
void wk_map_clear(wk_map *m);

void wk_map_free(wk_map *m);

#endif
