/*
 * jalloc.h — jansson's allocations from the batch arena while a message is decoded.
 *
 * Decoding is most of the worker's CPU, and most of that was malloc/free of jansson's small
 * nodes (one per object, string and number, freed again when the batch is reset). The worker
 * installs jansson allocation hooks (json_set_alloc_funcs, once, before any JSON exists) that
 * take memory from the arena named by wk_jalloc_begin on the calling thread, and from malloc
 * otherwise. A tree decoded in arena scope is never decref'd: it is dropped with its arena
 * (wk_event_release knows from ev->root_in_arena). Outside arena scope the hooks are plain
 * malloc/free, so every other jansson use (and json_dumps + free) behaves as without them.
 */
#ifndef WK_JALLOC_H
#define WK_JALLOC_H

#include "ea_arena.h"

#include <stdbool.h>

/* Installs the hooks. Call once at process start, before any jansson value is created. */
void wk_jalloc_install(void);

/* Until wk_jalloc_end, jansson allocations of this thread come from a (frees are no-ops).
 * Returns false (and does nothing) when the hooks are not installed: then trees must be
 * decref'd as usual. */
bool wk_jalloc_begin(ea_arena *a);
void wk_jalloc_end(void);

#endif
