/*
 * test_hook_policy.c — unit tests of services/worker/hook_policy.c: the X-Signature-256 value
 * against RFC 4231's HMAC-SHA256 vector and an independent digest, which addresses a webhook may
 * not reach (IPv4, IPv6 and IPv4 inside IPv6), the retry schedule, and the JSON body.
 */
#include "../ea_test.h"
#include "hook_policy.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void test_signature(void)
{
    char sig[WK_HOOK_SIG_LEN];
    /* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
    EA_CHECK(wk_hook_signature("Jefe", "what do ya want for nothing?", 28, sig));
    EA_CHECK_STR(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* the signature covers the exact bytes: one byte more changes it */
    char sig2[WK_HOOK_SIG_LEN];
    EA_CHECK(wk_hook_signature("Jefe", "what do ya want for nothing?!", 29, sig2));
    EA_CHECK(strcmp(sig, sig2) != 0);
    EA_CHECK(strlen(sig) == WK_HOOK_SIG_LEN - 1);
}

static bool priv4(const char *ip)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        return false;
    return wk_hook_addr_private((struct sockaddr *)&a);
}

static bool priv6(const char *ip)
{
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1)
        return false;
    return wk_hook_addr_private((struct sockaddr *)&a);
}

static void test_private_addresses(void)
{
    const char *blocked4[] = {
        "127.0.0.1",   "127.255.0.9",     "10.1.2.3",   "172.16.0.1",      "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0",
        "224.0.0.1",   "255.255.255.255", "198.18.0.1", "192.0.0.8"};
    for (size_t i = 0; i < sizeof(blocked4) / sizeof(blocked4[0]); i++)
        EA_CHECK(priv4(blocked4[i]));
    const char *open4[] = {"8.8.8.8",        "1.1.1.1",       "172.32.0.1",
                           "172.15.255.255", "100.128.0.1",   "169.253.1.1",
                           "192.169.0.1",    "93.184.216.34", "198.20.0.1"};
    for (size_t i = 0; i < sizeof(open4) / sizeof(open4[0]); i++)
        EA_CHECK(!priv4(open4[i]));
    const char *blocked6[] = {"::1",
                              "::",
                              "fc00::1",
                              "fd12:3456::1",
                              "fe80::1",
                              "ff02::1",
                              "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1",
                              "::127.0.0.1",
                              "64:ff9b::a9fe:a9fe",
                              "fec0::1"};
    for (size_t i = 0; i < sizeof(blocked6) / sizeof(blocked6[0]); i++)
        EA_CHECK(priv6(blocked6[i]));
    const char *open6[] = {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8",
                           "64:ff9b::808:808"};
    for (size_t i = 0; i < sizeof(open6) / sizeof(open6[0]); i++)
        EA_CHECK(!priv6(open6[i]));
    struct sockaddr unix_like = {0};
    unix_like.sa_family = AF_UNIX;
    EA_CHECK(wk_hook_addr_private(&unix_like));
}

static void test_backoff(void)
{
    EA_CHECK(wk_hook_backoff_ms(1, 30000, 3600000) == 0);
    EA_CHECK(wk_hook_backoff_ms(2, 30000, 3600000) == 30000);
    EA_CHECK(wk_hook_backoff_ms(3, 30000, 3600000) == 60000);
    EA_CHECK(wk_hook_backoff_ms(4, 30000, 3600000) == 120000);
    EA_CHECK(wk_hook_backoff_ms(9, 30000, 3600000) == 3600000);    /* 30 s * 2^7 > 1 h: capped */
    EA_CHECK(wk_hook_backoff_ms(1000, 30000, 3600000) == 3600000); /* no overflow */
    /* with the defaults, 24 h hold about 30 attempts: 30 s .. 1 h, then hourly */
    int64_t t = 0;
    int n = 1;
    while (t + wk_hook_backoff_ms(n + 1, 30000, 3600000) <= 86400000LL) {
        n++;
        t += wk_hook_backoff_ms(n, 30000, 3600000);
    }
    EA_CHECK(n >= 25 && n <= 35);
}

static void test_body(void)
{
    wk_hook_firing f = {.alert_id = 42,
                        .alert_name = "Traffic \"dropped\"",
                        .metric = "page_view",
                        .bucket_ms = 1764547200000LL, /* 2025-12-01T00:00:00Z */
                        .fired_ms = 1764550800123LL,
                        .value = 0,
                        .threshold = 1.5,
                        .comparator = "LT",
                        .dims_json = "{\"page\": \"/pricing\"}"};
    char *s = wk_hook_body(&f);
    EA_CHECK(s != NULL);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    EA_CHECK(o != NULL);
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(o, "alert"), "id")), "42");
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(o, "alert"), "name")),
                 "Traffic \"dropped\"");
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(o, "alert"), "metric")),
                 "page_view");
    EA_CHECK_STR(json_string_value(json_object_get(o, "bucket")), "2025-12-01T00:00:00.000Z");
    EA_CHECK_STR(json_string_value(json_object_get(o, "firedAt")), "2025-12-01T01:00:00.123Z");
    EA_CHECK(json_number_value(json_object_get(o, "value")) == 0);
    EA_CHECK(json_number_value(json_object_get(o, "threshold")) == 1.5);
    EA_CHECK_STR(json_string_value(json_object_get(o, "comparator")), "LT");
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(o, "dimensions"), "page")),
                 "/pricing");
    EA_CHECK(json_object_size(o) == 7);
    json_decref(o);
    free(s);
}

EA_TEST_MAIN({"signature", test_signature}, {"private_addresses", test_private_addresses},
             {"backoff", test_backoff}, {"body", test_body})
