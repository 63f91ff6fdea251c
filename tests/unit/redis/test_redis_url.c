/*
 * test_redis_url.c — REDIS_URL parsing (lib/redis/ea_redis_url.c): schemes, user and password
 * (percent-decoded), IPv6 hosts, ports, db in the path or the query, TLS options, REDIS_CA_FILE,
 * and that no error message or description ever contains the password.
 */
#include "ea_redis.h"
#include "../ea_test.h"

#include <string.h>

#define SECRET "s3cr3t-Pa55"

static ea_redis_url u;
static struct ea_err err;

static bool parse(const char *url)
{
    ea_err_clear(&err);
    return ea_redis_url_parse(url, NULL, &u, &err) == EA_OK;
}

/* The URL is refused and the message neither is empty nor leaks the secret. */
static bool refused(const char *url, const char *needle)
{
    if (parse(url))
        return false;
    if (err.code != EA_ERR_INVALID || strstr(err.message, "REDIS_URL") == NULL)
        return false;
    if (strstr(err.message, SECRET) != NULL || strstr(err.message, "hunter2") != NULL) {
        fprintf(stderr, "leaks the password: %s\n", err.message);
        return false;
    }
    if (needle != NULL && strstr(err.message, needle) == NULL) {
        fprintf(stderr, "\"%s\" does not say \"%s\"\n", err.message, needle);
        return false;
    }
    return true;
}

static void test_plain(void)
{
    EA_CHECK(parse("redis://127.0.0.1:56379/0"));
    EA_CHECK(!u.tls);
    EA_CHECK_STR(u.host, "127.0.0.1");
    EA_CHECK(u.port == 56379 && u.db == 0);
    EA_CHECK(u.user[0] == '\0' && u.password[0] == '\0');
    EA_CHECK(parse("redis://localhost"));
    EA_CHECK(u.port == 6379 && u.db == 0);
    EA_CHECK(parse("redis://cache.internal/"));
    EA_CHECK(u.db == 0);
    EA_CHECK(parse("redis://h:1/15"));
    EA_CHECK(u.port == 1 && u.db == 15);
}

static void test_tls_and_defaults(void)
{
    EA_CHECK(parse("rediss://default:" SECRET "@eu1-cool-cat-12345.upstash.io:6379"));
    EA_CHECK(u.tls);
    EA_CHECK_STR(u.user, "default");
    EA_CHECK_STR(u.password, SECRET);
    EA_CHECK_STR(u.host, "eu1-cool-cat-12345.upstash.io");
    EA_CHECK(u.verify_peer && u.verify_host);
    EA_CHECK(u.ca_file[0] == '\0');
}

static void test_userinfo(void)
{
    /* [user:]password@ : without a colon the whole userinfo is the password */
    EA_CHECK(parse("redis://" SECRET "@h"));
    EA_CHECK(u.user[0] == '\0');
    EA_CHECK_STR(u.password, SECRET);
    EA_CHECK(parse("redis://:" SECRET "@h:7000/2"));
    EA_CHECK(u.user[0] == '\0');
    EA_CHECK_STR(u.password, SECRET);
    EA_CHECK(u.port == 7000 && u.db == 2);
    EA_CHECK(parse("redis://app-user:" SECRET "@h"));
    EA_CHECK_STR(u.user, "app-user");
    EA_CHECK_STR(u.password, SECRET);
    /* reserved characters percent-encoded; a ':' after the first belongs to the password */
    EA_CHECK(parse("redis://us%40er:p%2Fa%3Fs%23s%40w%25d:x@h"));
    EA_CHECK_STR(u.user, "us@er");
    EA_CHECK_STR(u.password, "p/a?s#s@w%d:x");
    /* the last '@' of the authority ends the userinfo */
    EA_CHECK(parse("redis://:a@b@h:1"));
    EA_CHECK_STR(u.password, "a@b");
    EA_CHECK_STR(u.host, "h");
    EA_CHECK(refused("redis://:bad%zzpass@h", "percent-encoding in the password"));
    EA_CHECK(refused("redis://:bad%0@h", "percent-encoding"));
    EA_CHECK(refused("redis://:nul%00@h", "percent-encoding"));
    EA_CHECK(refused("redis://us%4:" SECRET "@h", "user name"));
    EA_CHECK(refused("redis://user:@h", "without a password"));
}

static void test_ipv6(void)
{
    EA_CHECK(parse("redis://:" SECRET "@[::1]:6380/3"));
    EA_CHECK_STR(u.host, "::1");
    EA_CHECK(u.port == 6380 && u.db == 3);
    char d[400];
    EA_CHECK_STR(ea_redis_url_describe(&u, d, sizeof(d)), "redis://:***@[::1]:6380/3");
    EA_CHECK(refused("redis://[::1:6380", "unterminated"));
}

static void test_query(void)
{
    EA_CHECK(parse("redis://h?db=4"));
    EA_CHECK(u.db == 4);
    EA_CHECK(parse("redis://h/4?db=4"));
    EA_CHECK(u.db == 4);
    EA_CHECK(refused("redis://h/3?db=4", "differ"));
    EA_CHECK(parse("rediss://h?ssl_cert_reqs=none&ssl_check_hostname=false"));
    EA_CHECK(!u.verify_peer && !u.verify_host);
    EA_CHECK(parse("rediss://h/1?ssl_cert_reqs=required&ssl_check_hostname=true"));
    EA_CHECK(u.verify_peer && u.verify_host && u.db == 1);
    EA_CHECK(refused("rediss://h?ssl_cert_reqs=optional", "ssl_cert_reqs"));
    EA_CHECK(refused("rediss://h?ssl_check_hostname=0", "ssl_check_hostname"));
    EA_CHECK(refused("redis://h?ssl_cert_reqs=none", "need rediss://"));
    EA_CHECK(refused("redis://h?timeout=5", "unknown option \"timeout\""));
    EA_CHECK(refused("redis://h?db", "not name=value"));
    EA_CHECK(refused("redis://h?db=x", "bad db"));
    EA_CHECK(refused("redis://h#frag", "fragment"));
    EA_CHECK(refused("redis://h?db=1#frag", "fragment"));
}

static void test_refused(void)
{
    EA_CHECK(refused("", "empty"));
    EA_CHECK(refused("http://h", "expected redis:// or rediss://"));
    EA_CHECK(refused("REDIS_URL=redis://h", "expected redis://"));
    EA_CHECK(refused("redis://", "no host"));
    EA_CHECK(refused("redis://:" SECRET "@", "no host"));
    EA_CHECK(refused("redis://:" SECRET "@:6379", "no host"));
    EA_CHECK(refused("redis://h:0", "bad port"));
    EA_CHECK(refused("redis://h:65536", "bad port"));
    EA_CHECK(refused("redis://h:63x79", "bad port"));
    EA_CHECK(refused("redis://h:", "bad port"));
    EA_CHECK(refused("redis://h/-1", "bad db"));
    EA_CHECK(refused("redis://h/100001", "bad db"));
    EA_CHECK(refused("redis://h/1/2", "bad db"));
    EA_CHECK(refused("redis://h/0 ", "bad db"));
    EA_CHECK(refused("redis://ho st:1", "host"));
    EA_CHECK(refused("redis://:hunter2@h:99999", "bad port"));
    char longhost[400];
    memset(longhost, 'a', sizeof(longhost));
    memcpy(longhost, "redis://", 8);
    longhost[sizeof(longhost) - 1] = '\0';
    EA_CHECK(refused(longhost, "longer than"));
}

static void test_describe_hides_password(void)
{
    char d[400];
    EA_CHECK(parse("rediss://app:" SECRET "@cache.example.com:6380/2?ssl_check_hostname=false"));
    ea_redis_url_describe(&u, d, sizeof(d));
    EA_CHECK_STR(d, "rediss://app:***@cache.example.com:6380/2");
    EA_CHECK(strstr(d, SECRET) == NULL);
    EA_CHECK(parse("redis://h"));
    EA_CHECK_STR(ea_redis_url_describe(&u, d, sizeof(d)), "redis://h:6379/0");
}

static void test_ca_file(void)
{
    ea_err_clear(&err);
    EA_CHECK(ea_redis_url_parse("rediss://h", "/nonexistent/ca.pem", &u, &err) != EA_OK);
    EA_CHECK(strstr(err.message, "REDIS_CA_FILE") != NULL);
    EA_CHECK(strstr(err.message, "/nonexistent/ca.pem") != NULL);
    /* a readable file is kept; plain redis:// ignores it (one .env may serve both) */
    EA_CHECK(ea_redis_url_parse("rediss://h", "/dev/null", &u, &err) == EA_OK);
    EA_CHECK_STR(u.ca_file, "/dev/null");
    EA_CHECK(ea_redis_url_parse("redis://h", "/nonexistent/ca.pem", &u, &err) == EA_OK);
    EA_CHECK(u.ca_file[0] == '\0');
}

EA_TEST_MAIN(EA_TEST(test_plain), EA_TEST(test_tls_and_defaults), EA_TEST(test_userinfo),
             EA_TEST(test_ipv6), EA_TEST(test_query), EA_TEST(test_refused),
             EA_TEST(test_describe_hides_password), EA_TEST(test_ca_file))
