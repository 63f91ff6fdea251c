/*
 * ea_hll.h — HyperLogLog distinct-count sketches: 2^14 registers (standard error 0.81 %), a
 * 64-bit hash, Ertl's improved estimator (no empirical bias tables), sparse storage while few
 * registers are set. Sketches merge by register-wise max, so a sketch of the union of buckets or
 * dimension values is exactly the merge of their sketches. The byte format (see ea_hll.c) is
 * what rollups.hll stores; every reader of that column must use this module.
 * Not for: deciding what to hash (the worker hashes a canonical text form of the value).
 */
#ifndef EA_HLL_H
#define EA_HLL_H

#include "ea_err.h"

#include <stddef.h>
#include <stdint.h>

#define EA_HLL_P 14
#define EA_HLL_M (1u << EA_HLL_P)

typedef struct ea_hll ea_hll;

/* A new empty sketch (malloc'd, sparse). NULL when out of memory. Free with ea_hll_free. */
ea_hll *ea_hll_new(void);

/* Frees the sketch. NULL is allowed. */
void ea_hll_free(ea_hll *h);

/* The 64-bit hash used for every value (MurmurHash64A, fixed seed): stable across versions and
 * processes, because stored sketches from different writers are merged. */
uint64_t ea_hll_hash(const void *data, size_t len);

/* Adds a value by its hash. EA_ERR_NOMEM when growing the sparse list fails (sketch unchanged). */
ea_rc ea_hll_add_hash(ea_hll *h, uint64_t hash) EA_WUR;

/* Adds the bytes [data, data+len) (hashing them with ea_hll_hash). */
ea_rc ea_hll_add(ea_hll *h, const void *data, size_t len) EA_WUR;

/* dst := dst ∪ src (register-wise max). src is unchanged. */
ea_rc ea_hll_merge(ea_hll *dst, const ea_hll *src) EA_WUR;

/* Merges a serialized sketch into dst. EA_ERR_INVALID when buf is not a valid sketch of the same
 * precision (dst unchanged then). */
ea_rc ea_hll_merge_bytes(ea_hll *dst, const uint8_t *buf, size_t len) EA_WUR;

/* Estimated number of distinct values added. */
double ea_hll_estimate(const ea_hll *h);

/* The distinct-count estimate of the union of the sketches in s: serialized sketches as lowercase
 * hex, separated by commas (what PostgreSQL's string_agg(encode(hll, 'hex'), ',') returns).
 * Rounded to a whole number (a count of distinct values; the estimator's fraction is noise).
 * -1 when a sketch is not valid hex or not a valid sketch, or memory runs out — a reader
 * reports that as an error, never as a number. "" estimates 0. */
double ea_hll_estimate_hex_list(const char *s);

/* Bytes ea_hll_serialize will write. */
size_t ea_hll_serialized_size(const ea_hll *h);

/* Writes the sketch into out (cap >= ea_hll_serialized_size); returns bytes written, 0 when cap
 * is too small. */
size_t ea_hll_serialize(const ea_hll *h, uint8_t *out, size_t cap);

/* Number of non-zero registers (for tests and sizing). */
size_t ea_hll_nonzero(const ea_hll *h);

#endif
