/*
 * ea_keyauth.h — API key authentication for every service: "Authorization: Bearer ak_..." →
 * tenant and scopes, looked up in PostgreSQL (api_keys). bcrypt (~70 ms at cost 10) runs only on a
 * cache miss: verified and refused keys are cached by SHA-256 of the presented key for
 * KEY_CACHE_TTL_S, which is therefore also the bound on how long a revoked key keeps working
 * (docs/ARCHITECTURE.md, "API keys").
 */
#ifndef EA_KEYAUTH_H
#define EA_KEYAUTH_H

#include "ea_err.h"
#include "ea_origin.h"

#include <stdbool.h>
#include <stddef.h>

#define EA_SCOPE_INGEST 1u
#define EA_SCOPE_READ 2u
#define EA_SCOPE_ADMIN 4u

typedef struct ea_principal {
    char tenant[64];
    char key_id[16];
    unsigned scopes;
    long rate_limit; /* requests/minute; 0 = the global default */
    /* A browser key's origins, comma-joined and normalized (ea_origin.h); "" for a secret key.
     * A browser key is ingest-only and accepted only from these origins (SPEC §4). */
    char origins[EA_ORIGINS_TEXT_MAX];
} ea_principal;

typedef enum ea_keyauth_status {
    EA_KEYAUTH_OK = 0,
    EA_KEYAUTH_MISSING,     /* no Authorization: Bearer header */
    EA_KEYAUTH_INVALID,     /* malformed, unknown, wrong secret or revoked */
    EA_KEYAUTH_UNAVAILABLE, /* PostgreSQL unreachable and the key is not cached */
} ea_keyauth_status;

typedef struct ea_keyauth ea_keyauth;

/* Creates the verifier; it connects to database_url lazily. NULL on allocation failure. */
ea_keyauth *ea_keyauth_new(const char *database_url, long cache_ttl_s);
void ea_keyauth_free(ea_keyauth *a);

/* Checks an Authorization header value (may be NULL). Fills *out on EA_KEYAUTH_OK. */
ea_keyauth_status ea_keyauth_check(ea_keyauth *a, const char *header, size_t len,
                                   ea_principal *out);

/* True when the database answered the last time it was asked (for /readyz). */
bool ea_keyauth_db_ping(ea_keyauth *a);

#endif
