/*
 * ea_hash.h — the project's one 64-bit hash of bytes (MurmurHash64A with a seed fixed forever):
 * hash maps key with it and HyperLogLog sketches store its values, so it must never change.
 */
#ifndef EA_HASH_H
#define EA_HASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash64A of [data, data+len) with the project's fixed seed. Stable across versions and
 * builds (sketches stored in PostgreSQL depend on it); little-endian hosts only. */
uint64_t ea_hash64(const void *data, size_t len);

#endif
