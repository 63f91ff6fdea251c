/*
 * ea_hash.c — MurmurHash64A (Austin Appleby, public domain algorithm) with the project's fixed
 * seed. Moved here from lib/hll so lib/base's hash map and the sketches share one function.
 */
#include "ea_hash.h"

#include <string.h>

uint64_t ea_hash64(const void *data, size_t len)
{
    /* MurmurHash64A (Austin Appleby, public domain algorithm), seed fixed forever. */
    const uint64_t m = UINT64_C(0xc6a4a7935bd1e995);
    const int r = 47;
    const unsigned char *p = data;
    uint64_t h = UINT64_C(0x5eed0fea11c0ffee) ^ (len * m);
    size_t nblocks = len / 8;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k;
        memcpy(&k, p + i * 8, 8); /* little-endian hosts only; see the check below */
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *tail = p + nblocks * 8;
    switch (len & 7) {
    case 7:
        h ^= (uint64_t)tail[6] << 48; /* fall through */
    case 6:
        h ^= (uint64_t)tail[5] << 40; /* fall through */
    case 5:
        h ^= (uint64_t)tail[4] << 32; /* fall through */
    case 4:
        h ^= (uint64_t)tail[3] << 24; /* fall through */
    case 3:
        h ^= (uint64_t)tail[2] << 16; /* fall through */
    case 2:
        h ^= (uint64_t)tail[1] << 8; /* fall through */
    case 1:
        h ^= (uint64_t)tail[0];
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ea_hash64 assumes little endian");
