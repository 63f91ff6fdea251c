/*
 * ea_http_conns.c — connection counts in all and per client address (see ea_http_conns.h).
 *
 * One entry per address that holds a connection, in a chained hash table keyed by the address
 * bytes (4 for IPv4, 16 for IPv6) with a per-process random seed, so nobody can choose
 * addresses that pile into one chain. An entry is freed with its last connection, so the table
 * holds at most max_total entries. The counts are exact: two addresses never share a count
 * (a shared slot would let an attacker's address use up an innocent neighbour's allowance).
 */
#include "ea_http_conns.h"
#include "ea_hash.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>

#define BUCKETS 4096 /* chains stay short up to tens of thousands of addresses */
#define FD_RESERVE 256

struct ea_http_conn_slot {
    struct ea_http_conn_slot *next;
    ea_http_conns *owner;
    size_t count;
    uint8_t len; /* 4, 16, or 0 for the shared entry */
    uint8_t key[16];
};

struct ea_http_conns {
    size_t max_total, max_per_address, open;
    uint64_t seed;
    struct ea_http_conn_slot *buckets[BUCKETS];
    struct ea_http_conn_slot unknown; /* no usable address, or out of memory: never freed */
};

ea_http_conns *ea_http_conns_new(size_t max_total, size_t max_per_address)
{
    ea_http_conns *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->max_total = max_total > 0 ? max_total : 1;
    c->max_per_address = max_per_address;
    if (getrandom(&c->seed, sizeof(c->seed), 0) != (ssize_t)sizeof(c->seed))
        c->seed = (uint64_t)(uintptr_t)c;
    c->unknown.owner = c;
    return c;
}

void ea_http_conns_free(ea_http_conns *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        for (struct ea_http_conn_slot *s = c->buckets[i], *n; s != NULL; s = n) {
            n = s->next;
            free(s);
        }
    free(c);
}

/* The address bytes of sa into key; 0 when it has none we count by. */
static uint8_t addr_key(const struct sockaddr *sa, uint8_t key[16])
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, sizeof(mapped)) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
        memcpy(key, b + 12, 4);
        return 4;
    }
    memcpy(key, b, 16);
    return 16;
}

static struct ea_http_conn_slot **chain(const ea_http_conns *c, const uint8_t *key, uint8_t len)
{
    uint8_t in[24];
    memcpy(in, &c->seed, 8);
    memcpy(in + 8, key, len);
    return (struct ea_http_conn_slot **)&c->buckets[ea_hash64(in, 8u + len) % BUCKETS];
}

static struct ea_http_conn_slot *find(const ea_http_conns *c, const uint8_t *key, uint8_t len)
{
    for (struct ea_http_conn_slot *s = *chain(c, key, len); s != NULL; s = s->next)
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return s;
    return NULL;
}

ea_http_conn_verdict ea_http_conns_admit(ea_http_conns *c, const struct sockaddr *sa,
                                         ea_http_conn_slot **slot)
{
    *slot = NULL;
    if (c->open >= c->max_total)
        return EA_HTTP_CONN_FULL;
    uint8_t key[16];
    uint8_t len = addr_key(sa, key);
    struct ea_http_conn_slot *s = len > 0 ? find(c, key, len) : &c->unknown;
    if (s != NULL && c->max_per_address > 0 && s->count >= c->max_per_address)
        return EA_HTTP_CONN_ADDRESS_FULL;
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            s = &c->unknown; /* counting beats refusing for want of memory */
        } else {
            s->owner = c;
            s->len = len;
            memcpy(s->key, key, len);
            struct ea_http_conn_slot **head = chain(c, key, len);
            s->next = *head;
            *head = s;
        }
    }
    s->count++;
    c->open++;
    *slot = s;
    return EA_HTTP_CONN_ADMITTED;
}

void ea_http_conns_release(ea_http_conn_slot *s)
{
    if (s == NULL)
        return;
    ea_http_conns *c = s->owner;
    if (c->open > 0)
        c->open--;
    if (s->count > 0)
        s->count--;
    if (s->count > 0 || s == &c->unknown)
        return;
    for (struct ea_http_conn_slot **p = chain(c, s->key, s->len); *p != NULL; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            free(s);
            return;
        }
}

size_t ea_http_conns_open(const ea_http_conns *c)
{
    return c->open;
}

size_t ea_http_conns_open_from(const ea_http_conns *c, const struct sockaddr *sa)
{
    uint8_t key[16];
    uint8_t len = addr_key(sa, key);
    const struct ea_http_conn_slot *s = len > 0 ? find(c, key, len) : &c->unknown;
    return s != NULL ? s->count : 0;
}

size_t ea_http_conns_default_total(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 65536;
    size_t n = (size_t)rl.rlim_cur;
    n = n > 2 * FD_RESERVE ? n - FD_RESERVE : n / 2;
    return n < 16 ? 16 : n;
}
