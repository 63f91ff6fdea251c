/*
 * session.c — session cookies and the rows behind them. A cookie is
 *     <id>.<expires>.<mac>     id = base64url(32 random bytes), expires = epoch seconds,
 *                              mac = base64url(HMAC-SHA256(SESSION_SECRET, "v1." id "." expires))
 * The MAC lets a forged or edited cookie be refused without touching the database (on the loop);
 * the row in `sessions` (stored as SHA-256 of the id) is what logout deletes, so a copied cookie
 * stops working at logout rather than at its expiry — it is read on a worker thread (auth.c).
 * Not for: OIDC (oidc.c) or routes (login.c).
 */
#include "session.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "oidc.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void session_mac(const char *secret, const char *id, size_t idlen, const char *exp,
                        size_t explen, char out[44])
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "v1.%.*s.%.*s", (int)idlen, id, (int)explen, exp);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, md,
         &mdlen);
    gql_b64url_encode(md, mdlen, out);
}

void gql_session_cookie_sign(const char *secret, const char *id, int64_t expires,
                             char out[GQL_SESSION_COOKIE_MAX])
{
    char exp[24], mac[48];
    snprintf(exp, sizeof(exp), "%" PRId64, expires);
    session_mac(secret, id, strlen(id), exp, strlen(exp), mac);
    snprintf(out, GQL_SESSION_COOKIE_MAX, "%s.%s.%s", id, exp, mac);
}

bool gql_session_cookie_verify(const char *secret, const char *value, size_t len, int64_t now,
                               char id_out[GQL_SESSION_ID_LEN + 1])
{
    if (len >= GQL_SESSION_COOKIE_MAX)
        return false;
    const char *d1 = memchr(value, '.', len);
    if (d1 == NULL || d1 - value != GQL_SESSION_ID_LEN)
        return false;
    const char *exp = d1 + 1;
    const char *d2 = memchr(exp, '.', len - (size_t)(exp - value));
    if (d2 == NULL || d2 == exp || d2 - exp > 19)
        return false;
    for (const char *p = exp; p < d2; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    const char *mac = d2 + 1;
    size_t maclen = len - (size_t)(mac - value);
    char want[48];
    session_mac(secret, value, GQL_SESSION_ID_LEN, exp, (size_t)(d2 - exp), want);
    if (maclen != strlen(want) || CRYPTO_memcmp(mac, want, maclen) != 0)
        return false;
    /* only our own (signed) digits get here; still, 19 digits can exceed int64: refuse those
     * rather than overflow (signed overflow is undefined behaviour) */
    int64_t expires = 0;
    for (const char *p = exp; p < d2; p++) {
        if (expires > (INT64_MAX - (*p - '0')) / 10)
            return false;
        expires = expires * 10 + (*p - '0');
    }
    if (expires <= now)
        return false;
    memcpy(id_out, value, GQL_SESSION_ID_LEN);
    id_out[GQL_SESSION_ID_LEN] = '\0';
    return true;
}

const char *gql_cookie_find(const char *header, size_t hlen, const char *name, size_t *pos,
                            size_t *vlen)
{
    size_t nl = strlen(name), i = *pos;
    while (i < hlen) {
        while (i < hlen && (header[i] == ' ' || header[i] == '\t' || header[i] == ';'))
            i++;
        size_t start = i;
        while (i < hlen && header[i] != ';')
            i++;
        /* one pair: header[start, i) */
        if (i - start > nl && memcmp(header + start, name, nl) == 0 && header[start + nl] == '=') {
            size_t vs = start + nl + 1, ve = i;
            while (ve > vs && (header[ve - 1] == ' ' || header[ve - 1] == '\t'))
                ve--;
            if (ve - vs >= 2 && header[vs] == '"' && header[ve - 1] == '"')
                vs++, ve--;
            *pos = i;
            *vlen = ve - vs;
            return header + vs;
        }
    }
    *pos = hlen;
    return NULL;
}

void gql_cookie_format(char *out, size_t cap, const char *name, const char *value, const char *path,
                       long max_age, bool secure)
{
    snprintf(out, cap, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name, value, path,
             max_age, secure ? "; Secure" : "");
}

ea_rc gql_user_upsert(PGconn *c, const char *issuer, const char *subject, const char *name,
                      const char *email, long long *user_id, struct ea_err *err)
{
    const char *params[4] = {issuer, subject, name != NULL && name[0] ? name : NULL,
                             email != NULL && email[0] ? email : NULL};
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO users (issuer, subject, name, email) VALUES ($1, $2, $3,"
                              " $4) ON CONFLICT (issuer, subject) DO UPDATE SET"
                              " name = EXCLUDED.name, email = EXCLUDED.email,"
                              " last_login_at = now() RETURNING id",
                              4, params, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return err->code;
    *user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return EA_OK;
}

static void id_hash_hex(const char *id, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, strlen(id), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

ea_rc gql_session_create(PGconn *c, const char *secret, long long user_id, long ttl_s,
                         char cookie_out[GQL_SESSION_COOKIE_MAX], struct ea_err *err)
{
    char id[GQL_SESSION_ID_LEN + 1], hash[65], uid[24], ttl[24];
    if (!gql_random_token(id, 32))
        return ea_err_set(err, EA_ERR_IO, "could not create a session: no random bytes");
    id_hash_hex(id, hash);
    snprintf(uid, sizeof(uid), "%lld", user_id);
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    const char *params[3] = {hash, uid, ttl};
    /* the expiry is the database's clock, the cookie's is ours: the earlier one wins */
    PGresult *r = ea_pg_query(c,
                              "INSERT INTO sessions (id_hash, user_id, expires_at) VALUES"
                              " (decode($1, 'hex'), $2, now() + make_interval(secs => $3::int))"
                              " RETURNING extract(epoch FROM expires_at)::bigint",
                              3, params, PGRES_TUPLES_OK, err);
    if (r == NULL)
        return err->code;
    int64_t expires = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    /* opportunistic clean-up of expired rows, cheap with the expires_at index */
    r = ea_pg_query(c, "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'", 0, NULL,
                    PGRES_COMMAND_OK, err);
    PQclear(r);
    gql_session_cookie_sign(secret, id, expires, cookie_out);
    OPENSSL_cleanse(id, sizeof(id));
    return EA_OK;
}

/* The next session cookie of the header from *pos whose MAC and expiry are good (its id into
 * id), or NULL; *seen becomes true once any session cookie was found. */
static const char *next_session_cookie(const char *secret, const char *cookie, size_t clen,
                                       size_t *pos, int64_t now, bool *seen,
                                       char id[GQL_SESSION_ID_LEN + 1])
{
    size_t vlen;
    const char *v;
    /* a browser may send several cookies of one name (other paths): any valid one counts */
    while ((v = gql_cookie_find(cookie, clen, GQL_SESSION_COOKIE, pos, &vlen)) != NULL) {
        *seen = true;
        if (gql_session_cookie_verify(secret, v, vlen, now, id))
            return v;
    }
    return NULL;
}

int gql_session_cookie_state(const char *secret, const char *cookie, size_t clen)
{
    if (cookie == NULL || secret == NULL || secret[0] == '\0')
        return 0;
    size_t pos = 0;
    bool seen = false;
    char id[GQL_SESSION_ID_LEN + 1];
    bool good = next_session_cookie(secret, cookie, clen, &pos, (int64_t)time(NULL), &seen, id);
    OPENSSL_cleanse(id, sizeof(id));
    return good ? 1 : seen ? 2 : 0;
}

int gql_session_principal(PGconn *c, const char *secret, const char *cookie, size_t clen,
                          gql_principal *out)
{
    if (cookie == NULL || secret == NULL || secret[0] == '\0')
        return 1;
    size_t pos = 0;
    bool seen = false;
    char id[GQL_SESSION_ID_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    while (next_session_cookie(secret, cookie, clen, &pos, now, &seen, id) != NULL) {
        if (c == NULL)
            return 3;
        char hash[65];
        id_hash_hex(id, hash);
        const char *params[1] = {hash};
        struct ea_err err;
        PGresult *r = ea_pg_query(c,
                                  "SELECT u.id, u.issuer, u.subject,"
                                  " coalesce(u.name, u.email, u.subject) FROM sessions s"
                                  " JOIN users u ON u.id = s.user_id"
                                  " WHERE s.id_hash = decode($1, 'hex') AND s.expires_at > now()",
                                  1, params, PGRES_TUPLES_OK, &err);
        if (r == NULL) {
            ea_log_warn("postgresql", "%s", err.message);
            return 3;
        }
        if (PQntuples(r) == 1) {
            memset(out, 0, sizeof(*out));
            out->kind = GQL_PRINCIPAL_USER;
            out->user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            snprintf(out->issuer, sizeof(out->issuer), "%s", PQgetvalue(r, 0, 1));
            snprintf(out->subject, sizeof(out->subject), "%s", PQgetvalue(r, 0, 2));
            snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(r, 0, 3));
            snprintf(out->session, sizeof(out->session), "%s", hash); /* for re-checks */
            PQclear(r);
            return 0;
        }
        PQclear(r);
    }
    return seen ? 2 : 1;
}

void gql_session_destroy(PGconn *c, const char *secret, const char *cookie, size_t clen)
{
    if (c == NULL || cookie == NULL || secret == NULL || secret[0] == '\0')
        return;
    size_t pos = 0, vlen;
    const char *v;
    char id[GQL_SESSION_ID_LEN + 1];
    /* a valid MAC proves we issued it; an expired one may still have a row, so delete anyway */
    while ((v = gql_cookie_find(cookie, clen, GQL_SESSION_COOKIE, &pos, &vlen)) != NULL) {
        if (!gql_session_cookie_verify(secret, v, vlen, 0, id))
            continue;
        char hash[65];
        id_hash_hex(id, hash);
        const char *params[1] = {hash};
        struct ea_err err;
        PGresult *r = ea_pg_query(c, "DELETE FROM sessions WHERE id_hash = decode($1, 'hex')", 1,
                                  params, PGRES_COMMAND_OK, &err);
        if (r == NULL)
            ea_log_warn("postgresql", "%s", err.message);
        PQclear(r);
    }
}
