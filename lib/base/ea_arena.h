/*
 * ea_arena.h — a bump allocator for one unit of work (a request, a Kafka batch, a GraphQL
 * operation). Everything allocated from an arena is freed at once by ea_arena_reset/free;
 * nothing is freed individually. Lifetimes are listed in docs/MEMORY.md.
 */
#ifndef EA_ARENA_H
#define EA_ARENA_H

#include <stddef.h>

typedef struct ea_arena ea_arena;

/* Creates an arena whose chunks are at least chunk_size bytes. NULL on allocation failure. */
ea_arena *ea_arena_new(size_t chunk_size);

/* Frees every chunk and the arena itself. NULL is allowed. */
void ea_arena_free(ea_arena *a);

/* Releases everything allocated so far but keeps the first chunk for reuse. */
void ea_arena_reset(ea_arena *a);

/* Returns n bytes aligned to 16, owned by the arena; NULL on allocation failure. */
void *ea_arena_alloc(ea_arena *a, size_t n);

/* Like ea_arena_alloc but zero-filled. */
void *ea_arena_calloc(ea_arena *a, size_t n);

/* Copies len bytes of s and appends a NUL; NULL on failure. */
char *ea_arena_strndup(ea_arena *a, const char *s, size_t len);

/* Room for element n of an array of elem-byte elements that has *cap slots (NULL and 0 to
 * start): returns old when n < *cap, else a copy with twice the slots (8 at first) and *cap
 * updated; the old block stays in the arena until it is reset. NULL when memory is short or the
 * size overflows, with *cap unchanged (old is still valid). */
void *ea_arena_grow(ea_arena *a, void *old, size_t elem, size_t n, size_t *cap);

/* The heap counterpart, for arrays that outlive an arena: room for element n of a malloc'd array
 * of elem-byte elements with *cap slots (NULL and 0 to start). Returns old when n < *cap, else
 * old realloc'd to twice the slots (`first` at first) with *cap updated; NULL when memory is
 * short or the size overflows, with old and *cap unchanged (the caller still owns and frees
 * old). */
void *ea_array_grow(void *old, size_t elem, size_t n, size_t *cap, size_t first);

/* Bytes handed out since creation or the last reset (for limits and metrics). */
size_t ea_arena_used(const ea_arena *a);

#endif
