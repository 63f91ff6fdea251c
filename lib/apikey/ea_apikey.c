/*
 * ea_apikey.c — API key generation and checking on OpenSSL (randomness, SHA-256, constant-time
 * compare) and libcrypt (bcrypt). Keeps secrets out of memory it does not own: every local copy
 * of a secret is wiped with OPENSSL_cleanse before returning.
 * Not for: storage or caching; see ea_apikey.h for who does those.
 */
#include "ea_apikey.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "ak_"
#define KEY_PREFIX_LEN 3
#define KEY_LEN (KEY_PREFIX_LEN + EA_APIKEY_ID_LEN + 1 + EA_APIKEY_SECRET_LEN)
#define BCRYPT_SALT_BYTES 16

_Static_assert(KEY_LEN <= EA_APIKEY_MAX_LEN, "key must fit EA_APIKEY_MAX_LEN");

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

ea_rc ea_apikey_generate(int bcrypt_cost, char key_out[EA_APIKEY_MAX_LEN + 1],
                         char id_out[EA_APIKEY_ID_LEN + 1], char hash_out[EA_APIKEY_HASH_MAX],
                         struct ea_err *err)
{
    unsigned char id_raw[EA_APIKEY_ID_LEN / 2], secret_raw[EA_APIKEY_SECRET_LEN / 2],
        salt_raw[BCRYPT_SALT_BYTES];
    char secret[EA_APIKEY_SECRET_LEN + 1], setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = NULL;
    ea_rc rc = EA_OK;

    memset(key_out, 0, EA_APIKEY_MAX_LEN + 1);
    memset(id_out, 0, EA_APIKEY_ID_LEN + 1);
    memset(hash_out, 0, EA_APIKEY_HASH_MAX);

    if (bcrypt_cost < 4 || bcrypt_cost > 31)
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not generate api key: bcrypt cost %d is not in 4..31",
                          bcrypt_cost);
    if (RAND_bytes(id_raw, sizeof(id_raw)) != 1 ||
        RAND_bytes(secret_raw, sizeof(secret_raw)) != 1 ||
        RAND_bytes(salt_raw, sizeof(salt_raw)) != 1) {
        rc = ea_err_set(err, EA_ERR_IO, "could not generate api key: RAND_bytes failed: %s",
                        ERR_reason_error_string(ERR_get_error()));
        goto out;
    }
    hex_encode(id_raw, sizeof(id_raw), id_out);
    hex_encode(secret_raw, sizeof(secret_raw), secret);

    if (crypt_gensalt_rn("$2b$", (unsigned long)bcrypt_cost, (const char *)salt_raw,
                         sizeof(salt_raw), setting, sizeof(setting)) == NULL) {
        rc = ea_err_set(err, EA_ERR_IO, "could not generate api key: crypt_gensalt_rn failed");
        goto out;
    }
    /* struct crypt_data is 32 KiB: too big for a service thread's stack. */
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        rc = ea_err_set(err, EA_ERR_NOMEM, "could not generate api key: out of memory");
        goto out;
    }
    const char *h = crypt_rn(secret, setting, cd, sizeof(*cd));
    if (h == NULL || h[0] == '*' || strlen(h) >= EA_APIKEY_HASH_MAX) {
        rc = ea_err_set(err, EA_ERR_IO, "could not generate api key: bcrypt failed");
        goto out;
    }
    memcpy(hash_out, h, strlen(h) + 1);
    snprintf(key_out, EA_APIKEY_MAX_LEN + 1, KEY_PREFIX "%s_%s", id_out, secret);

out:
    if (rc != EA_OK) {
        memset(key_out, 0, EA_APIKEY_MAX_LEN + 1);
        memset(id_out, 0, EA_APIKEY_ID_LEN + 1);
        memset(hash_out, 0, EA_APIKEY_HASH_MAX);
    }
    if (cd != NULL) {
        OPENSSL_cleanse(cd, sizeof(*cd));
        free(cd);
    }
    OPENSSL_cleanse(secret_raw, sizeof(secret_raw));
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

ea_rc ea_apikey_parse(const char *key, size_t len, char id_out[EA_APIKEY_ID_LEN + 1],
                      char secret_out[EA_APIKEY_SECRET_LEN + 1])
{
    if (key == NULL || len != KEY_LEN || memcmp(key, KEY_PREFIX, KEY_PREFIX_LEN) != 0)
        return EA_ERR_AUTH;
    const char *id = key + KEY_PREFIX_LEN;
    const char *sep = id + EA_APIKEY_ID_LEN;
    const char *secret = sep + 1;
    if (*sep != '_' || !is_lower_hex(id, EA_APIKEY_ID_LEN) ||
        !is_lower_hex(secret, EA_APIKEY_SECRET_LEN))
        return EA_ERR_AUTH;
    memcpy(id_out, id, EA_APIKEY_ID_LEN);
    id_out[EA_APIKEY_ID_LEN] = '\0';
    memcpy(secret_out, secret, EA_APIKEY_SECRET_LEN);
    secret_out[EA_APIKEY_SECRET_LEN] = '\0';
    return EA_OK;
}

bool ea_apikey_verify(const char *secret, const char *hash)
{
    if (secret == NULL || hash == NULL)
        return false;
    size_t hlen = strnlen(hash, EA_APIKEY_HASH_MAX);
    /* Only bcrypt: a stored "*" or DES/MD5 setting must never verify anything. */
    if (hlen == EA_APIKEY_HASH_MAX || hlen < 7 ||
        !(memcmp(hash, "$2b$", 4) == 0 || memcmp(hash, "$2y$", 4) == 0 ||
          memcmp(hash, "$2a$", 4) == 0))
        return false;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return false;
    bool ok = false;
    const char *h = crypt_rn(secret, hash, cd, sizeof(*cd));
    if (h != NULL && h[0] != '*' && strlen(h) == hlen)
        ok = CRYPTO_memcmp(h, hash, hlen) == 0;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return ok;
}

void ea_apikey_digest(const char *key, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        /* Only on an OpenSSL internal failure: never return a digest that could collide. */
        memset(out, 0, 65);
        abort();
    }
    hex_encode(md, 32, out);
}
