/*
 * ea_apikey.h — API keys: generate, split, verify and digest "ak_<id>_<secret>" keys (SPEC §4).
 *
 * A key is "ak_" + 12 lowercase hex (the key id, stored in clear as api_keys.key_id) + "_" + 32
 * lowercase hex (the secret, 128 bits from RAND_bytes). Only bcrypt "$2b$" of the secret is
 * stored. bcrypt is slow on purpose (cost 10 ≈ 70 ms), so services verify a key once and cache
 * the result under ea_apikey_digest() of the key; the cache never holds the key itself.
 * Not for: looking keys up in PostgreSQL, scopes or rate limits (services and the admin CLI).
 */
#ifndef EA_APIKEY_H
#define EA_APIKEY_H

#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>

#define EA_APIKEY_ID_LEN 12     /* lowercase hex */
#define EA_APIKEY_SECRET_LEN 32 /* lowercase hex, 128 bits from RAND_bytes */
#define EA_APIKEY_MAX_LEN 64    /* "ak_" + id + "_" + secret = 48 chars */
#define EA_APIKEY_HASH_MAX 128
#define EA_APIKEY_DEFAULT_COST 10 /* bcrypt cost: ~70 ms per hash on the reference machine */

/* Generates a new key: key_out = "ak_<id>_<secret>", id_out = id, hash_out = bcrypt $2b$ (cost) of
 * the secret. bcrypt_cost must be 4..31 (EA_ERR_INVALID otherwise); EA_ERR_IO when the random
 * generator or libcrypt fails. Outputs are NUL-terminated on success, zeroed on failure. */
ea_rc ea_apikey_generate(int bcrypt_cost, char key_out[EA_APIKEY_MAX_LEN + 1],
                         char id_out[EA_APIKEY_ID_LEN + 1], char hash_out[EA_APIKEY_HASH_MAX],
                         struct ea_err *err) EA_WUR;

/* Splits a presented key (len bytes, need not be NUL-terminated); EA_ERR_AUTH if malformed (wrong
 * prefix, lengths, non-hex or uppercase hex). Outputs are NUL-terminated only on EA_OK. */
ea_rc ea_apikey_parse(const char *key, size_t len, char id_out[EA_APIKEY_ID_LEN + 1],
                      char secret_out[EA_APIKEY_SECRET_LEN + 1]) EA_WUR;

/* bcrypt check of secret against stored hash ("$2b$"/"$2y$"/"$2a$" only), constant-time compare.
 * true when it matches; false for any malformed hash or libcrypt failure. Costs one bcrypt. */
bool ea_apikey_verify(const char *secret, const char *hash);

/* SHA-256 of the whole presented key as 64 lowercase hex chars plus NUL (cache key for verified
 * keys, so the cache never holds the key). */
void ea_apikey_digest(const char *key, size_t len, char out[65]);

#endif
