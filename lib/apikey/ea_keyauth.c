/*
 * ea_keyauth.c — the verified-key cache and the PostgreSQL lookup behind it. The cache is a fixed
 * open-addressed table (no allocation per request, bounded memory); a colliding entry simply
 * replaces the older one, which at worst costs one more bcrypt.
 */
#include "ea_keyauth.h"
#include "ea_apikey.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096
#define NEGATIVE_TTL_MS 5000 /* refused keys: short, so a key created just now works soon */

struct cache_entry {
    char digest[65];
    bool valid;
    int64_t expires_ms;
    ea_principal p;
};

struct ea_keyauth {
    const char *url;
    PGconn *db;
    int64_t ttl_ms;
    bool db_ok;
    struct cache_entry cache[CACHE_SLOTS];
};

ea_keyauth *ea_keyauth_new(const char *database_url, long cache_ttl_s)
{
    ea_keyauth *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->url = database_url;
    a->ttl_ms = cache_ttl_s * 1000;
    return a;
}

void ea_keyauth_free(ea_keyauth *a)
{
    if (a == NULL)
        return;
    if (a->db != NULL)
        PQfinish(a->db);
    free(a);
}

static PGconn *db(ea_keyauth *a)
{
    if (a->db != NULL && !ea_pg_is_broken(a->db))
        return a->db;
    if (a->db != NULL) {
        PQfinish(a->db);
        a->db = NULL;
    }
    struct ea_err err;
    a->db = ea_pg_connect(a->url, &err);
    if (a->db == NULL)
        ea_log_warn("auth", "%s", err.message);
    return a->db;
}

bool ea_keyauth_db_ping(ea_keyauth *a)
{
    PGconn *c = db(a);
    if (c == NULL)
        return a->db_ok = false;
    PGresult *r = PQexec(c, "SELECT 1");
    a->db_ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return a->db_ok;
}

static unsigned parse_scopes(const char *arr)
{
    /* text[] output form: {ingest,read} */
    unsigned s = 0;
    if (strstr(arr, "ingest") != NULL)
        s |= EA_SCOPE_INGEST;
    if (strstr(arr, "read") != NULL)
        s |= EA_SCOPE_READ;
    if (strstr(arr, "admin") != NULL)
        s |= EA_SCOPE_ADMIN;
    return s;
}

/* Looks the key up and bcrypt-verifies it. Returns OK/INVALID/UNAVAILABLE. */
static ea_keyauth_status lookup(ea_keyauth *a, const char *id, const char *secret,
                                ea_principal *out)
{
    PGconn *c = db(a);
    if (c == NULL)
        return EA_KEYAUTH_UNAVAILABLE;
    const char *params[1] = {id};
    struct ea_err err;
    PGresult *r = ea_pg_query(c,
                              "SELECT tenant_id, secret_hash, scopes::text, "
                              "coalesce(rate_limit, 0), revoked_at IS NOT NULL, "
                              "coalesce(array_to_string(origins, ','), '') "
                              "FROM api_keys WHERE key_id = $1",
                              1, params, PGRES_TUPLES_OK, &err);
    if (r == NULL) {
        ea_log_warn("auth", "%s", err.message);
        return EA_KEYAUTH_UNAVAILABLE;
    }
    ea_keyauth_status st = EA_KEYAUTH_INVALID;
    if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 4), "f") == 0 &&
        ea_apikey_verify(secret, PQgetvalue(r, 0, 1))) {
        memset(out, 0, sizeof(*out));
        snprintf(out->tenant, sizeof(out->tenant), "%s", PQgetvalue(r, 0, 0));
        snprintf(out->key_id, sizeof(out->key_id), "%s", id);
        out->scopes = parse_scopes(PQgetvalue(r, 0, 2));
        out->rate_limit = strtol(PQgetvalue(r, 0, 3), NULL, 10);
        /* stored normalized by whoever created the key; a list longer than a principal holds
         * is truncated at an origin boundary, never mid-origin (creation refuses it anyway) */
        const char *o = PQgetvalue(r, 0, 5);
        size_t ol = strlen(o);
        while (ol >= sizeof(out->origins)) {
            const char *c = memrchr(o, ',', ol);
            ol = c != NULL ? (size_t)(c - o) : 0;
        }
        memcpy(out->origins, o, ol);
        out->origins[ol] = '\0';
        st = EA_KEYAUTH_OK;
    }
    PQclear(r);
    return st;
}

ea_keyauth_status ea_keyauth_check(ea_keyauth *a, const char *header, size_t len, ea_principal *out)
{
    static const char bearer[] = "Bearer ";
    if (header == NULL || len <= sizeof(bearer) - 1 ||
        strncasecmp(header, bearer, sizeof(bearer) - 1) != 0)
        return EA_KEYAUTH_MISSING;
    const char *key = header + sizeof(bearer) - 1;
    size_t klen = len - (sizeof(bearer) - 1);
    char id[EA_APIKEY_ID_LEN + 1], secret[EA_APIKEY_SECRET_LEN + 1];
    if (ea_apikey_parse(key, klen, id, secret) != EA_OK)
        return EA_KEYAUTH_INVALID;

    char digest[65];
    ea_apikey_digest(key, klen, digest);
    unsigned slot = (unsigned)strtoul((char[9]){digest[0], digest[1], digest[2], digest[3],
                                                digest[4], digest[5], digest[6], digest[7], 0},
                                      NULL, 16) %
                    CACHE_SLOTS;
    struct cache_entry *ce = &a->cache[slot];
    int64_t now = ea_time_now_ms();
    if (ce->expires_ms > now && memcmp(ce->digest, digest, 64) == 0) {
        if (!ce->valid)
            return EA_KEYAUTH_INVALID;
        *out = ce->p;
        return EA_KEYAUTH_OK;
    }
    ea_keyauth_status st = lookup(a, id, secret, out);
    if (st == EA_KEYAUTH_UNAVAILABLE)
        return st;
    memcpy(ce->digest, digest, 65);
    ce->valid = st == EA_KEYAUTH_OK;
    ce->expires_ms = now + (ce->valid ? a->ttl_ms : NEGATIVE_TTL_MS);
    if (ce->valid)
        ce->p = *out;
    return st;
}
