/*
 * ea_hll.c — HyperLogLog with p = 14.
 *
 * Byte format (rollups_*.hll, version 1), little surprises avoided by being explicit:
 *   byte 0   version (1)
 *   byte 1   p (14)
 *   byte 2   encoding: 0 sparse, 1 dense
 *   sparse:  n entries of 3 bytes {idx_hi, idx_lo, rho}, strictly ascending idx, rho in 1..51
 *   dense:   2^p bytes, register i = rho (0 = empty)
 * The sparse form is used while 3n < 2^p, so a bucket with a handful of users costs a few bytes
 * instead of 16 KiB.
 *
 * In memory a sketch is sparse (sorted uint32 entries idx<<8|rho) until it holds EA_HLL_M/4
 * entries, then dense. Estimation uses Otmar Ertl's "improved raw estimator" (arXiv:1702.01284),
 * which is unbiased over the whole range without HLL++'s empirical tables.
 */
#include "ea_hll.h"
#include "ea_arena.h"
#include "ea_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HLL_Q (64 - EA_HLL_P) /* bits left after the index */
#define HLL_VERSION 1
#define HLL_SPARSE_MAX (EA_HLL_M / 4)

struct ea_hll {
    uint8_t *dense;   /* EA_HLL_M registers, or NULL while sparse */
    uint32_t *sparse; /* sorted idx<<8 | rho */
    size_t n, cap;
};

ea_hll *ea_hll_new(void)
{
    return calloc(1, sizeof(ea_hll));
}

void ea_hll_free(ea_hll *h)
{
    if (h == NULL)
        return;
    free(h->dense);
    free(h->sparse);
    free(h);
}

uint64_t ea_hll_hash(const void *data, size_t len)
{
    return ea_hash64(data, len); /* lib/base: one hash for maps and sketches */
}

static ea_rc to_dense(ea_hll *h)
{
    uint8_t *d = calloc(EA_HLL_M, 1);
    if (d == NULL)
        return EA_ERR_NOMEM;
    for (size_t i = 0; i < h->n; i++)
        d[h->sparse[i] >> 8] = (uint8_t)(h->sparse[i] & 0xff);
    free(h->sparse);
    h->sparse = NULL;
    h->n = h->cap = 0;
    h->dense = d;
    return EA_OK;
}

/* Sets register idx to max(current, rho). */
static ea_rc set_register(ea_hll *h, uint32_t idx, uint8_t rho)
{
    if (h->dense != NULL) {
        if (h->dense[idx] < rho)
            h->dense[idx] = rho;
        return EA_OK;
    }
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((h->sparse[mid] >> 8) < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->n && (h->sparse[lo] >> 8) == idx) {
        if ((h->sparse[lo] & 0xff) < rho)
            h->sparse[lo] = idx << 8 | rho;
        return EA_OK;
    }
    if (h->n >= HLL_SPARSE_MAX) {
        ea_rc rc = to_dense(h);
        if (rc != EA_OK)
            return rc;
        h->dense[idx] = rho;
        return EA_OK;
    }
    uint32_t *ns = ea_array_grow(h->sparse, sizeof(*ns), h->n, &h->cap, 16);
    if (ns == NULL)
        return EA_ERR_NOMEM;
    h->sparse = ns;
    memmove(h->sparse + lo + 1, h->sparse + lo, (h->n - lo) * sizeof(*h->sparse));
    h->sparse[lo] = idx << 8 | rho;
    h->n++;
    return EA_OK;
}

ea_rc ea_hll_add_hash(ea_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> HLL_Q);
    uint64_t w = hash << EA_HLL_P;
    uint8_t rho = w == 0 ? HLL_Q + 1 : (uint8_t)(__builtin_clzll(w) + 1);
    if (rho > HLL_Q + 1)
        rho = HLL_Q + 1;
    return set_register(h, idx, rho);
}

ea_rc ea_hll_add(ea_hll *h, const void *data, size_t len)
{
    return ea_hll_add_hash(h, ea_hll_hash(data, len));
}

ea_rc ea_hll_merge(ea_hll *dst, const ea_hll *src)
{
    if (src->dense != NULL && dst->dense == NULL) {
        ea_rc rc = to_dense(dst);
        if (rc != EA_OK)
            return rc;
    }
    if (src->dense != NULL) {
        for (size_t i = 0; i < EA_HLL_M; i++)
            if (dst->dense[i] < src->dense[i])
                dst->dense[i] = src->dense[i];
        return EA_OK;
    }
    for (size_t i = 0; i < src->n; i++) {
        ea_rc rc = set_register(dst, src->sparse[i] >> 8, (uint8_t)(src->sparse[i] & 0xff));
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

ea_rc ea_hll_merge_bytes(ea_hll *dst, const uint8_t *buf, size_t len)
{
    if (len < 3 || buf[0] != HLL_VERSION || buf[1] != EA_HLL_P)
        return EA_ERR_INVALID;
    const uint8_t *p = buf + 3;
    size_t n = len - 3;
    if (buf[2] == 1) {
        if (n != EA_HLL_M)
            return EA_ERR_INVALID;
        for (size_t i = 0; i < EA_HLL_M; i++)
            if (p[i] > HLL_Q + 1)
                return EA_ERR_INVALID;
        if (dst->dense == NULL) {
            ea_rc rc = to_dense(dst);
            if (rc != EA_OK)
                return rc;
        }
        for (size_t i = 0; i < EA_HLL_M; i++)
            if (dst->dense[i] < p[i])
                dst->dense[i] = p[i];
        return EA_OK;
    }
    if (buf[2] != 0 || n % 3 != 0)
        return EA_ERR_INVALID;
    /* validate everything first so a bad sketch leaves dst unchanged */
    long prev = -1;
    for (size_t i = 0; i < n; i += 3) {
        long idx = (long)p[i] << 8 | p[i + 1];
        if (idx <= prev || idx >= (long)EA_HLL_M || p[i + 2] == 0 || p[i + 2] > HLL_Q + 1)
            return EA_ERR_INVALID;
        prev = idx;
    }
    for (size_t i = 0; i < n; i += 3) {
        ea_rc rc = set_register(dst, (uint32_t)p[i] << 8 | p[i + 1], p[i + 2]);
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

size_t ea_hll_nonzero(const ea_hll *h)
{
    if (h->dense == NULL)
        return h->n;
    size_t n = 0;
    for (size_t i = 0; i < EA_HLL_M; i++)
        n += h->dense[i] != 0;
    return n;
}

static void histogram(const ea_hll *h, unsigned c[HLL_Q + 2])
{
    memset(c, 0, sizeof(unsigned) * (HLL_Q + 2));
    if (h->dense != NULL) {
        for (size_t i = 0; i < EA_HLL_M; i++)
            c[h->dense[i]]++;
        return;
    }
    c[0] = EA_HLL_M - (unsigned)h->n;
    for (size_t i = 0; i < h->n; i++)
        c[h->sparse[i] & 0xff]++;
}

static double ertl_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (z != zp);
    return z;
}

static double ertl_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != zp);
    return z / 3.0;
}

double ea_hll_estimate(const ea_hll *h)
{
    unsigned c[HLL_Q + 2];
    histogram(h, c);
    const double m = EA_HLL_M;
    if (c[0] == EA_HLL_M)
        return 0.0;
    double z = m * ertl_tau((m - c[HLL_Q + 1]) / m);
    for (int k = HLL_Q; k >= 1; k--) {
        z += c[k];
        z *= 0.5;
    }
    z += m * ertl_sigma(c[0] / m);
    return (m / (2.0 * log(2.0))) * m / z;
}

size_t ea_hll_serialized_size(const ea_hll *h)
{
    if (h->dense == NULL && h->n * 3 < EA_HLL_M)
        return 3 + h->n * 3;
    return 3 + EA_HLL_M;
}

size_t ea_hll_serialize(const ea_hll *h, uint8_t *out, size_t cap)
{
    size_t need = ea_hll_serialized_size(h);
    if (cap < need)
        return 0;
    out[0] = HLL_VERSION;
    out[1] = EA_HLL_P;
    if (need == 3 + EA_HLL_M) {
        out[2] = 1;
        if (h->dense != NULL) {
            memcpy(out + 3, h->dense, EA_HLL_M);
        } else {
            memset(out + 3, 0, EA_HLL_M);
            for (size_t i = 0; i < h->n; i++)
                out[3 + (h->sparse[i] >> 8)] = (uint8_t)(h->sparse[i] & 0xff);
        }
        return need;
    }
    out[2] = 0;
    for (size_t i = 0; i < h->n; i++) {
        uint32_t idx = h->sparse[i] >> 8;
        out[3 + i * 3] = (uint8_t)(idx >> 8);
        out[4 + i * 3] = (uint8_t)(idx & 0xff);
        out[5 + i * 3] = (uint8_t)(h->sparse[i] & 0xff);
    }
    return need;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

double ea_hll_estimate_hex_list(const char *s)
{
    ea_hll *h = ea_hll_new();
    uint8_t *buf = malloc(strlen(s) / 2 + 1);
    double est = -1;
    if (h == NULL || buf == NULL)
        goto out;
    while (*s) {
        size_t n = strcspn(s, ","), len = 0;
        if (n % 2 != 0)
            goto out;
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(s[i]), lo = hexval(s[i + 1]);
            if (hi < 0 || lo < 0)
                goto out;
            buf[len++] = (uint8_t)(hi << 4 | lo);
        }
        if (len > 0 && ea_hll_merge_bytes(h, buf, len) != EA_OK)
            goto out;
        s += n;
        if (*s == ',')
            s++;
    }
    est = (double)llround(ea_hll_estimate(h));
out:
    free(buf);
    ea_hll_free(h);
    return est;
}
