/*
 * test_http_conns.c — lib/http's connection counts (ea_http_conns.c): the per-address cap is
 * exact and per address (a neighbour never shares an attacker's count), the total cap holds,
 * releases free the slots (and the entries), IPv4-mapped IPv6 counts as its IPv4 address, and
 * the default total leaves a reserve under the open-file limit.
 */
#include "../ea_test.h"
#include "ea_http_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/resource.h>

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_per_address(void)
{
    ea_http_conns *c = ea_http_conns_new(1000, 3);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    ea_http_conn_slot *s[4], *other;
    for (int i = 0; i < 3; i++)
        EA_CHECK(ea_http_conns_admit(c, SA(a), &s[i]) == EA_HTTP_CONN_ADMITTED);
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s[3]) == EA_HTTP_CONN_ADDRESS_FULL);
    EA_CHECK(s[3] == NULL);
    EA_CHECK(ea_http_conns_admit(c, SA(b), &other) == EA_HTTP_CONN_ADMITTED);
    EA_CHECK(ea_http_conns_open(c) == 4);
    EA_CHECK(ea_http_conns_open_from(c, SA(a)) == 3);
    ea_http_conns_release(s[0]);
    EA_CHECK(ea_http_conns_open_from(c, SA(a)) == 2);
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s[0]) == EA_HTTP_CONN_ADMITTED);
    for (int i = 0; i < 3; i++)
        ea_http_conns_release(s[i]);
    ea_http_conns_release(other);
    EA_CHECK(ea_http_conns_open(c) == 0);
    EA_CHECK(ea_http_conns_open_from(c, SA(a)) == 0);
    ea_http_conns_free(c);
}

static void test_many_addresses_exact(void)
{
    /* 20,000 addresses (more than the table's buckets): every count stays its own */
    ea_http_conns *c = ea_http_conns_new(100000, 2);
    static ea_http_conn_slot *s[20000][2];
    int refused = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000000u + i)};
        for (int k = 0; k < 2; k++)
            EA_CHECK(ea_http_conns_admit(c, SA(a), &s[i][k]) == EA_HTTP_CONN_ADMITTED);
        ea_http_conn_slot *x;
        refused += ea_http_conns_admit(c, SA(a), &x) == EA_HTTP_CONN_ADDRESS_FULL;
    }
    EA_CHECK(refused == 20000);
    EA_CHECK(ea_http_conns_open(c) == 40000);
    for (uint32_t i = 0; i < 20000; i++)
        for (int k = 0; k < 2; k++)
            ea_http_conns_release(s[i][k]);
    EA_CHECK(ea_http_conns_open(c) == 0);
    ea_http_conns_free(c);
}

static void test_total(void)
{
    ea_http_conns *c = ea_http_conns_new(2, 0); /* no per-address limit */
    struct sockaddr_in a = v4("192.0.2.1");
    ea_http_conn_slot *s1, *s2, *s3;
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s1) == EA_HTTP_CONN_ADMITTED);
    EA_CHECK(ea_http_conns_admit(c, NULL, &s2) == EA_HTTP_CONN_ADMITTED); /* no address */
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s3) == EA_HTTP_CONN_FULL);
    ea_http_conns_release(s2);
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s3) == EA_HTTP_CONN_ADMITTED);
    EA_CHECK(ea_http_conns_open_from(c, SA(a)) == 2);
    ea_http_conns_release(s1);
    ea_http_conns_release(s3);
    EA_CHECK(ea_http_conns_open(c) == 0);
    ea_http_conns_free(c);
}

static void test_ipv6(void)
{
    ea_http_conns *c = ea_http_conns_new(100, 1);
    struct sockaddr_in a = v4("127.0.0.7");
    struct sockaddr_in6 mapped = v6("::ffff:127.0.0.7"), other = v6("2001:db8::7");
    ea_http_conn_slot *s1, *s2, *s3;
    EA_CHECK(ea_http_conns_admit(c, SA(a), &s1) == EA_HTTP_CONN_ADMITTED);
    EA_CHECK(ea_http_conns_admit(c, SA(mapped), &s2) == EA_HTTP_CONN_ADDRESS_FULL);
    EA_CHECK(ea_http_conns_admit(c, SA(other), &s3) == EA_HTTP_CONN_ADMITTED);
    ea_http_conns_release(s1);
    ea_http_conns_release(s3);
    ea_http_conns_free(c);
}

static void test_default_total(void)
{
    struct rlimit rl;
    EA_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    size_t d = ea_http_conns_default_total();
    EA_CHECK(d >= 16);
    if (rl.rlim_cur != RLIM_INFINITY)
        EA_CHECK(d < (size_t)rl.rlim_cur || rl.rlim_cur < 16);
}

EA_TEST_MAIN(EA_TEST(test_per_address), EA_TEST(test_many_addresses_exact), EA_TEST(test_total),
             EA_TEST(test_ipv6), EA_TEST(test_default_total))
