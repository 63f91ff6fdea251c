/*
 * test_origin.c — browser-key origins (lib/apikey/ea_origin.c): what is accepted and how it is
 * normalized, what is refused with which reason, list handling and exact matching.
 */
#include "ea_origin.h"
#include "../ea_test.h"

#include <string.h>

static const char *norm(const char *in)
{
    static char out[EA_ORIGIN_MAX_LEN + 1];
    struct ea_err err;
    if (ea_origin_normalize(in, strlen(in), out, &err) != EA_OK)
        return NULL;
    return out;
}

static void test_normalize(void)
{
    EA_CHECK_STR(norm("https://app.example.com"), "https://app.example.com");
    EA_CHECK_STR(norm("HTTPS://App.Example.COM:443/"), "https://app.example.com");
    EA_CHECK_STR(norm("http://localhost:8080"), "http://localhost:8080");
    EA_CHECK_STR(norm("http://localhost:80"), "http://localhost");
    EA_CHECK_STR(norm("https://a.com:80"), "https://a.com:80");
    EA_CHECK_STR(norm("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    EA_CHECK_STR(norm("http://[::1]:8080"), "http://[::1]:8080");
    EA_CHECK_STR(norm("  https://x-y.io  "), "https://x-y.io");
}

static void test_refused(void)
{
    const char *bad[] = {"",
                         "null",
                         "app.example.com",
                         "ftp://a.com",
                         "https://",
                         "https://a.com/path",
                         "https://a.com//",
                         "https://a.com?x=1",
                         "https://a.com#f",
                         "https://*.a.com",
                         "https://user@a.com",
                         "https://a.com:0",
                         "https://a.com:65536",
                         "https://a.com:99999999999999999999",
                         "https://a.com:",
                         "https://a.com:8x",
                         "https://.a.com",
                         "https://a..com",
                         "https://a.com.",
                         "https://-a.com",
                         "https://a b.com",
                         "https://[zz]",
                         "https://[::1",
                         "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[EA_ORIGIN_MAX_LEN + 1];
        struct ea_err err = {0};
        ea_rc rc = ea_origin_normalize(bad[i], strlen(bad[i]), out, &err);
        if (rc == EA_OK)
            fprintf(stderr, "accepted: %s -> %s\n", bad[i], out);
        EA_CHECK(rc == EA_ERR_INVALID);
        EA_CHECK(out[0] == '\0');
        EA_CHECK(strstr(err.message, "invalid origin") != NULL);
    }
    char host[400];
    memset(host, 'a', sizeof(host));
    memcpy(host, "https://", 8);
    host[sizeof(host) - 1] = '\0';
    EA_CHECK(norm(host) == NULL);
}

static void test_list(void)
{
    char out[EA_ORIGINS_TEXT_MAX];
    size_t n;
    struct ea_err err;
    EA_CHECK(ea_origin_list_normalize("https://App.com, http://localhost:8080,https://app.com/",
                                      out, &n, &err) == EA_OK);
    EA_CHECK_STR(out, "https://app.com,http://localhost:8080");
    EA_CHECK(n == 2);
    EA_CHECK(ea_origin_list_normalize("", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(ea_origin_list_normalize("https://a.com,", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(ea_origin_list_normalize("https://a.com,nope", out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(n == 0 && out[0] == '\0');
    char many[2048] = "";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%shttps://h%d.com",
                 i ? "," : "", i);
    EA_CHECK(ea_origin_list_normalize(many, out, &n, &err) == EA_ERR_INVALID);
    EA_CHECK(strstr(err.message, "at most 16") != NULL);
    /* 16 origins of 200 bytes each: within the count, over the joined size */
    many[0] = '\0';
    for (int i = 0; i < 16; i++) {
        char h[201];
        memset(h, 'a' + i, 190);
        h[190] = '\0';
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%shttps://%s.io", i ? "," : "",
                 h);
    }
    EA_CHECK(ea_origin_list_normalize(many, out, &n, &err) == EA_ERR_INVALID);
}

static void test_listed(void)
{
    const char *list = "https://app.com,http://localhost:8080";
    EA_CHECK(ea_origin_listed(list, "https://app.com", 15));
    EA_CHECK(ea_origin_listed(list, "http://localhost:8080", 21));
    EA_CHECK(!ea_origin_listed(list, "http://localhost:808", 20));
    EA_CHECK(!ea_origin_listed(list, "https://app.co", 14));
    EA_CHECK(!ea_origin_listed(list, "https://evil.app.com", 20));
    EA_CHECK(!ea_origin_listed(list, "https://app.com,http://localhost:8080", 37));
    EA_CHECK(!ea_origin_listed(list, "", 0));
    EA_CHECK(!ea_origin_listed("", "https://app.com", 15));
    EA_CHECK(!ea_origin_listed(list, "null", 4));
}

EA_TEST_MAIN(EA_TEST(test_normalize), EA_TEST(test_refused), EA_TEST(test_list),
             EA_TEST(test_listed))
