/*
 * test_apikey.c — unit tests of lib/apikey: generate → parse → verify round trip, wrong secrets
 * and malformed keys rejected, bcrypt and SHA-256 known vectors. Uses bcrypt cost 4 except for
 * one check of the default cost, so the suite stays fast (cost is a benchmark concern).
 */
#include "../ea_test.h"
#include "ea_apikey.h"

#include <stdio.h>
#include <string.h>

static void test_round_trip(void)
{
    char key[EA_APIKEY_MAX_LEN + 1], id[EA_APIKEY_ID_LEN + 1], hash[EA_APIKEY_HASH_MAX];
    char pid[EA_APIKEY_ID_LEN + 1], psecret[EA_APIKEY_SECRET_LEN + 1];
    struct ea_err err = {0};

    EA_CHECK(ea_apikey_generate(4, key, id, hash, &err) == EA_OK);
    EA_CHECK(strlen(key) == 48);
    EA_CHECK(strncmp(key, "ak_", 3) == 0);
    EA_CHECK(strlen(id) == EA_APIKEY_ID_LEN);
    EA_CHECK(strncmp(key + 3, id, EA_APIKEY_ID_LEN) == 0);
    EA_CHECK(strncmp(hash, "$2b$04$", 7) == 0);
    EA_CHECK(strlen(hash) == 60);

    EA_CHECK(ea_apikey_parse(key, strlen(key), pid, psecret) == EA_OK);
    EA_CHECK(strcmp(pid, id) == 0);
    EA_CHECK(strlen(psecret) == EA_APIKEY_SECRET_LEN);
    EA_CHECK(ea_apikey_verify(psecret, hash));
    /* The hash is of the secret, never of the whole key. */
    EA_CHECK(!ea_apikey_verify(key, hash));

    /* Wrong secret: flip one hex digit. */
    psecret[0] = psecret[0] == '0' ? '1' : '0';
    EA_CHECK(!ea_apikey_verify(psecret, hash));
    EA_CHECK(!ea_apikey_verify("", hash));

    /* Two keys never share id, secret or hash. */
    char key2[EA_APIKEY_MAX_LEN + 1], id2[EA_APIKEY_ID_LEN + 1], hash2[EA_APIKEY_HASH_MAX];
    EA_CHECK(ea_apikey_generate(4, key2, id2, hash2, &err) == EA_OK);
    EA_CHECK(strcmp(key, key2) != 0 && strcmp(id, id2) != 0 && strcmp(hash, hash2) != 0);
}

static void test_default_cost(void)
{
    char key[EA_APIKEY_MAX_LEN + 1], id[EA_APIKEY_ID_LEN + 1], hash[EA_APIKEY_HASH_MAX];
    char pid[EA_APIKEY_ID_LEN + 1], psecret[EA_APIKEY_SECRET_LEN + 1];
    EA_CHECK(ea_apikey_generate(EA_APIKEY_DEFAULT_COST, key, id, hash, NULL) == EA_OK);
    EA_CHECK(strncmp(hash, "$2b$10$", 7) == 0);
    EA_CHECK(ea_apikey_parse(key, strlen(key), pid, psecret) == EA_OK);
    EA_CHECK(ea_apikey_verify(psecret, hash));
}

static void test_bad_cost(void)
{
    char key[EA_APIKEY_MAX_LEN + 1], id[EA_APIKEY_ID_LEN + 1], hash[EA_APIKEY_HASH_MAX];
    struct ea_err err = {0};
    EA_CHECK(ea_apikey_generate(3, key, id, hash, &err) == EA_ERR_INVALID);
    EA_CHECK(err.code == EA_ERR_INVALID &&
             strstr(err.message, "could not generate api key") != NULL);
    EA_CHECK(key[0] == '\0' && id[0] == '\0' && hash[0] == '\0');
    EA_CHECK(ea_apikey_generate(32, key, id, hash, NULL) == EA_ERR_INVALID);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "ak_",
        "ak_0123456789ab_0123456789abcdef0123456789abcdef0", /* secret too long */
        "ak_0123456789ab_0123456789abcdef0123456789abcde",   /* secret too short */
        "ak_0123456789a_0123456789abcdef0123456789abcdef0",  /* id too short */
        "ak_0123456789abc0123456789abcdef0123456789abcdef",  /* no separator */
        "AK_0123456789ab_0123456789abcdef0123456789abcdef",  /* prefix case */
        "sk_0123456789ab_0123456789abcdef0123456789abcdef",  /* prefix */
        "ak-0123456789ab_0123456789abcdef0123456789abcdef",  /* prefix separator */
        "ak_0123456789AB_0123456789abcdef0123456789abcdef",  /* uppercase hex in id */
        "ak_0123456789ab_0123456789ABCDEF0123456789abcdef",  /* uppercase hex in secret */
        "ak_0123456789ag_0123456789abcdef0123456789abcdef",  /* non-hex in id */
        "ak_0123456789ab_0123456789abcdef0123456789abcdez",  /* non-hex in secret */
        "ak_0123456789ab-0123456789abcdef0123456789abcdef",  /* wrong separator */
        " ak_0123456789ab_0123456789abcdef0123456789abcde",  /* leading space */
    };
    char id[EA_APIKEY_ID_LEN + 1], secret[EA_APIKEY_SECRET_LEN + 1];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int ok = ea_apikey_parse(bad[i], strlen(bad[i]), id, secret) == EA_ERR_AUTH;
        EA_CHECK(ok);
        if (!ok)
            fprintf(stderr, "  accepted malformed key #%zu \"%s\"\n", i, bad[i]);
    }
    /* An embedded NUL within the stated length is not hex. */
    char nul[] = "ak_0123456789ab_0123456789abcdef0123456789abcdef";
    nul[20] = '\0';
    EA_CHECK(ea_apikey_parse(nul, 48, id, secret) == EA_ERR_AUTH);
    EA_CHECK(ea_apikey_parse(NULL, 0, id, secret) == EA_ERR_AUTH);

    /* The well-formed one parses, and len bounds the read (trailing bytes are not part of it). */
    const char *good = "ak_0123456789ab_0123456789abcdef0123456789abcdefTRAILING";
    EA_CHECK(ea_apikey_parse(good, 48, id, secret) == EA_OK);
    EA_CHECK(strcmp(id, "0123456789ab") == 0);
    EA_CHECK(strcmp(secret, "0123456789abcdef0123456789abcdef") == 0);
    EA_CHECK(ea_apikey_parse(good, strlen(good), id, secret) == EA_ERR_AUTH);
}

static void test_verify_vectors(void)
{
    /* crypt_blowfish's published test vector (identical under $2a$ and $2b$ for short input). */
    EA_CHECK(
        ea_apikey_verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
    EA_CHECK(
        ea_apikey_verify("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
    EA_CHECK(
        !ea_apikey_verify("U*V", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
    /* Truncated or non-bcrypt hashes never verify. */
    EA_CHECK(
        !ea_apikey_verify("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe"));
    EA_CHECK(!ea_apikey_verify("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC."));
    EA_CHECK(!ea_apikey_verify("", ""));
    EA_CHECK(!ea_apikey_verify("x", "*0"));
    EA_CHECK(!ea_apikey_verify("x", "$1$abcdefgh$"));
    EA_CHECK(!ea_apikey_verify("x", "$6$salt$"));
    EA_CHECK(
        !ea_apikey_verify(NULL, "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
    EA_CHECK(!ea_apikey_verify("U*U", NULL));
}

static void test_digest(void)
{
    char out[65];
    ea_apikey_digest("abc", 3, out);
    EA_CHECK(strcmp(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    ea_apikey_digest("", 0, out);
    EA_CHECK(strcmp(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    /* len, not NUL, bounds the input. */
    ea_apikey_digest("abcdef", 3, out);
    EA_CHECK(strcmp(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    EA_CHECK(strlen(out) == 64);
}

EA_TEST_MAIN(EA_TEST(test_round_trip), EA_TEST(test_default_cost), EA_TEST(test_bad_cost),
             EA_TEST(test_malformed), EA_TEST(test_verify_vectors), EA_TEST(test_digest))
