/*
 * oidc.c — OpenID Connect relying-party protocol for graphql-api's login: base64url, PKCE,
 * JWKS parsing, ID-token verification and the HTTP calls to the issuer. Every cryptographic
 * operation is OpenSSL's (EVP signatures, SHA-256, RAND_bytes, base64 blocks); JSON is jansson;
 * HTTP is libcurl. Not for: routing, cookies or the database (login.c, session.c).
 *
 * Verification order (OIDC Core 3.1.3.7, RFC 8725 "JWT BCP"):
 *   1. split the compact JWS into header.payload.signature, base64url-decode each;
 *   2. the header's alg must be one we chose to accept (RS256, ES256) and there is no "crit" —
 *      deciding this before looking at any key is what defeats alg "none" and the HS256 trick
 *      (an attacker MACs a token with the issuer's public key as the HMAC secret);
 *   3. find the key by kid whose type matches alg (RSA for RS256, EC P-256 for ES256);
 *   4. verify the signature over "header.payload" with that key;
 *   5. only then trust the claims: iss, aud (+ azp), exp and iat with leeway, nonce, sub.
 */
#include "oidc.h"
#include "ea_buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JWT_MAX 16384        /* ID tokens are a few KB; anything larger is refused */
#define HTTP_BODY_MAX 262144 /* discovery, JWKS and token responses */
#define JWKS_MAX_KEYS 32

/* ---- base64url ------------------------------------------------------------------------------ */

size_t gql_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    out[len] = '\0';
    return (size_t)len;
}

long gql_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4 == 1 || n > 4 * (cap / 3) + 4)
        return -1;
    size_t padded = (n + 3) / 4 * 4;
    char *tmp = malloc(padded + 1);
    if (tmp == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            free(tmp); /* '+', '/', '=' and whitespace are not base64url */
            return -1;
        }
        tmp[i] = c;
    }
    size_t pad = padded - n;
    memset(tmp + n, '=', pad);
    tmp[padded] = '\0';
    long decoded = -1;
    /* EVP_DecodeBlock writes 3 bytes per 4 characters, padding included */
    if (padded / 4 * 3 <= cap) {
        int r = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)padded);
        if (r >= 0)
            decoded = r - (long)pad;
    } else {
        unsigned char *big = malloc(padded / 4 * 3);
        int r = big ? EVP_DecodeBlock(big, (const unsigned char *)tmp, (int)padded) : -1;
        if (r >= 0 && (size_t)(r - (long)pad) <= cap) {
            decoded = r - (long)pad;
            memcpy(out, big, (size_t)decoded);
        }
        free(big);
    }
    free(tmp);
    return decoded;
}

bool gql_random_token(char *out, size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof(buf) || RAND_bytes(buf, (int)nbytes) != 1)
        return false;
    gql_b64url_encode(buf, nbytes, out);
    OPENSSL_cleanse(buf, sizeof(buf));
    return true;
}

void gql_pkce_challenge(const char *verifier, char out[44])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    gql_b64url_encode(md, sizeof(md), out);
}

/* ---- JWKS ----------------------------------------------------------------------------------- */

typedef enum key_kind { KEY_RSA, KEY_EC256 } key_kind;

struct jwk {
    char kid[128];
    key_kind kind;
    EVP_PKEY *pkey;
};

struct gql_jwks {
    size_t n;
    struct jwk keys[JWKS_MAX_KEYS];
};

/* A base64url member of a JWK as a BIGNUM (NULL when missing or malformed). */
static BIGNUM *jwk_bn(const json_t *k, const char *name, size_t want_len)
{
    const char *s = json_string_value(json_object_get(k, name));
    if (s == NULL)
        return NULL;
    unsigned char buf[1024];
    long n = gql_b64url_decode(s, strlen(s), buf, sizeof(buf));
    if (n <= 0 || (want_len && (size_t)n != want_len))
        return NULL;
    return BN_bin2bn(buf, (int)n, NULL);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *jwk_rsa(const json_t *k)
{
    BIGNUM *n = jwk_bn(k, "n", 0), *e = jwk_bn(k, "e", 0);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (n != NULL && e != NULL && bld != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
        pkey = pkey_from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    /* RFC 7518 §3.3: 2048 bits or larger */
    if (pkey != NULL && EVP_PKEY_get_bits(pkey) < 2048) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static EVP_PKEY *jwk_ec256(const json_t *k)
{
    const char *crv = json_string_value(json_object_get(k, "crv"));
    const char *xs = json_string_value(json_object_get(k, "x"));
    const char *ys = json_string_value(json_object_get(k, "y"));
    if (crv == NULL || strcmp(crv, "P-256") != 0 || xs == NULL || ys == NULL)
        return NULL;
    unsigned char point[65];
    point[0] = 0x04; /* uncompressed point: 04 || x || y */
    if (gql_b64url_decode(xs, strlen(xs), point + 1, 32) != 32 ||
        gql_b64url_decode(ys, strlen(ys), point + 33, 32) != 32)
        return NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1)
        pkey = pkey_from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

gql_jwks *gql_jwks_parse(const char *json, size_t len, struct ea_err *err)
{
    json_error_t je;
    json_t *doc = json_loadb(json, len, 0, &je);
    const json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        ea_err_set(err, EA_ERR_INVALID, "could not parse jwks: no \"keys\" array");
        return NULL;
    }
    gql_jwks *set = calloc(1, sizeof(*set));
    if (set == NULL) {
        json_decref(doc);
        ea_err_set(err, EA_ERR_NOMEM, "could not parse jwks: out of memory");
        return NULL;
    }
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k)
    {
        if (set->n == JWKS_MAX_KEYS)
            break;
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
            continue; /* encryption keys are not for verifying ID tokens */
        struct jwk *slot = &set->keys[set->n];
        if (strcmp(kty, "RSA") == 0) {
            slot->kind = KEY_RSA;
            slot->pkey = jwk_rsa(k);
        } else if (strcmp(kty, "EC") == 0) {
            slot->kind = KEY_EC256;
            slot->pkey = jwk_ec256(k);
        }
        if (slot->pkey == NULL)
            continue;
        snprintf(slot->kid, sizeof(slot->kid), "%s", kid != NULL ? kid : "");
        set->n++;
    }
    json_decref(doc);
    if (set->n == 0) {
        free(set);
        ea_err_set(err, EA_ERR_INVALID, "could not parse jwks: no usable RSA or P-256 key");
        return NULL;
    }
    return set;
}

void gql_jwks_free(gql_jwks *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        EVP_PKEY_free(k->keys[i].pkey);
    free(k);
}

/* ---- ID tokens ------------------------------------------------------------------------------ */

const char *gql_idtoken_verdict_name(gql_idtoken_verdict v)
{
    switch (v) {
    case GQL_IDTOKEN_OK:
        return "ok";
    case GQL_IDTOKEN_MALFORMED:
        return "malformed";
    case GQL_IDTOKEN_BAD_ALG:
        return "bad_alg";
    case GQL_IDTOKEN_UNKNOWN_KID:
        return "unknown_kid";
    case GQL_IDTOKEN_BAD_SIGNATURE:
        return "bad_signature";
    case GQL_IDTOKEN_BAD_ISSUER:
        return "bad_issuer";
    case GQL_IDTOKEN_BAD_AUDIENCE:
        return "bad_audience";
    case GQL_IDTOKEN_EXPIRED:
        return "expired";
    case GQL_IDTOKEN_BAD_IAT:
        return "bad_iat";
    case GQL_IDTOKEN_BAD_NONCE:
        return "bad_nonce";
    case GQL_IDTOKEN_NO_SUBJECT:
        return "no_subject";
    }
    return "unknown";
}

static json_t *decode_json_part(const char *s, size_t n)
{
    unsigned char buf[JWT_MAX];
    long len = gql_b64url_decode(s, n, buf, sizeof(buf));
    if (len <= 0)
        return NULL;
    json_error_t je;
    json_t *v = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static const struct jwk *find_key(const gql_jwks *keys, const char *kid, key_kind kind)
{
    const struct jwk *only = NULL;
    size_t of_kind = 0;
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->keys[i].kind != kind)
            continue;
        of_kind++;
        only = &keys->keys[i];
        if (kid != NULL && strcmp(keys->keys[i].kid, kid) == 0)
            return &keys->keys[i];
    }
    /* a token without kid is accepted only when the issuer has exactly one key of that type */
    return kid == NULL && of_kind == 1 ? only : NULL;
}

static bool verify_signature(const struct jwk *key, const char *signed_part, size_t signed_len,
                             const unsigned char *sig, size_t sig_len)
{
    unsigned char der[80];
    const unsigned char *s = sig;
    size_t slen = sig_len;
    if (key->kind == KEY_EC256) {
        /* JWS carries ES256 as r || s (RFC 7518 §3.4); OpenSSL verifies DER ECDSA-Sig-Value */
        if (sig_len != 64)
            return false;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
        if (es == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(es, r, ss) != 1) {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(ss);
            return false;
        }
        unsigned char *p = der;
        int n = i2d_ECDSA_SIG(es, NULL);
        if (n <= 0 || (size_t)n > sizeof(der)) {
            ECDSA_SIG_free(es);
            return false;
        }
        n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        s = der;
        slen = (size_t)n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
              EVP_DigestVerify(ctx, s, slen, (const unsigned char *)signed_part, signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static bool audience_ok(const json_t *claims, const char *client_id)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    if (!json_is_array(aud))
        return false;
    bool found = false;
    size_t i;
    const json_t *a;
    json_array_foreach(aud, i, a)
    {
        if (json_is_string(a) && strcmp(json_string_value(a), client_id) == 0)
            found = true;
    }
    if (!found)
        return false;
    /* several audiences: the token must have been issued to us (azp), OIDC Core 3.1.3.7 #4-5 */
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    if (json_array_size(aud) > 1)
        return azp != NULL && strcmp(azp, client_id) == 0;
    return azp == NULL || strcmp(azp, client_id) == 0;
}

/* Copies a string claim when out is still empty, cut at a UTF-8 character boundary so a long
 * display name stays valid text for PostgreSQL. */
static void copy_claim(const json_t *claims, const char *name, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(claims, name));
    if (v == NULL || out[0] != '\0')
        return;
    size_t n = strlen(v);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--; /* v[n] is the first byte not copied: never split a character */
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

gql_idtoken_verdict gql_idtoken_verify(const char *jwt, size_t len, const gql_jwks *keys,
                                       const gql_idtoken_expect *expect, gql_identity *out)
{
    memset(out, 0, sizeof(*out));
    if (jwt == NULL || len == 0 || len > JWT_MAX)
        return GQL_IDTOKEN_MALFORMED;
    const char *d1 = memchr(jwt, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL)
        return GQL_IDTOKEN_MALFORMED;

    gql_idtoken_verdict v = GQL_IDTOKEN_MALFORMED;
    json_t *header = decode_json_part(jwt, (size_t)(d1 - jwt));
    json_t *claims = NULL;
    if (header == NULL)
        goto out;
    const char *alg = json_string_value(json_object_get(header, "alg"));
    if (alg == NULL || json_object_get(header, "crit") != NULL) {
        v = GQL_IDTOKEN_BAD_ALG;
        goto out;
    }
    key_kind kind;
    if (strcmp(alg, "RS256") == 0) {
        kind = KEY_RSA;
    } else if (strcmp(alg, "ES256") == 0) {
        kind = KEY_EC256;
    } else {
        v = GQL_IDTOKEN_BAD_ALG; /* none, HS*, PS*, anything we did not choose */
        goto out;
    }
    const json_t *kidv = json_object_get(header, "kid");
    if (kidv != NULL && !json_is_string(kidv))
        goto out;
    const struct jwk *key = find_key(keys, json_string_value(kidv), kind);
    if (key == NULL) {
        v = GQL_IDTOKEN_UNKNOWN_KID;
        goto out;
    }
    unsigned char sig[1024];
    long sl = gql_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), sig, sizeof(sig));
    if (sl <= 0)
        goto out;
    if (!verify_signature(key, jwt, (size_t)(d2 - jwt), sig, (size_t)sl)) {
        v = GQL_IDTOKEN_BAD_SIGNATURE;
        goto out;
    }
    claims = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (claims == NULL)
        goto out;

    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL || strcmp(iss, expect->issuer) != 0) {
        v = GQL_IDTOKEN_BAD_ISSUER;
        goto out;
    }
    if (!audience_ok(claims, expect->client_id)) {
        v = GQL_IDTOKEN_BAD_AUDIENCE;
        goto out;
    }
    const json_t *exp = json_object_get(claims, "exp");
    if (!json_is_number(exp) ||
        json_number_value(exp) + (double)expect->leeway_s <= (double)expect->now) {
        v = GQL_IDTOKEN_EXPIRED;
        goto out;
    }
    const json_t *iat = json_object_get(claims, "iat");
    if (!json_is_number(iat) ||
        json_number_value(iat) > (double)expect->now + (double)expect->leeway_s) {
        v = GQL_IDTOKEN_BAD_IAT;
        goto out;
    }
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    if (expect->nonce == NULL || nonce == NULL || strlen(nonce) != strlen(expect->nonce) ||
        CRYPTO_memcmp(nonce, expect->nonce, strlen(nonce)) != 0) {
        v = GQL_IDTOKEN_BAD_NONCE;
        goto out;
    }
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (sub == NULL || sub[0] == '\0' || strlen(sub) >= sizeof(out->subject)) {
        v = GQL_IDTOKEN_NO_SUBJECT;
        goto out;
    }
    snprintf(out->subject, sizeof(out->subject), "%s", sub);
    copy_claim(claims, "name", out->name, sizeof(out->name));
    copy_claim(claims, "preferred_username", out->name, sizeof(out->name));
    copy_claim(claims, "email", out->name, sizeof(out->name));
    copy_claim(claims, "email", out->email, sizeof(out->email));
    v = GQL_IDTOKEN_OK;
out:
    json_decref(header);
    json_decref(claims);
    return v;
}

/* ---- calls to the issuer -------------------------------------------------------------------- */

ea_rc gql_oidc_global_init(struct ea_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ea_err_set(err, EA_ERR_IO, "could not initialise libcurl");
    return EA_OK;
}

void gql_oidc_global_cleanup(void)
{
    curl_global_cleanup();
}

bool gql_oidc_url_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return url[8] != '\0';
    /* plain http only to this machine: the local development provider (SPEC §10) */
    static const char *const loopback[] = {"http://127.0.0.1:", "http://127.0.0.1/",
                                           "http://localhost:", "http://localhost/",
                                           "http://[::1]:",     "http://[::1]/"};
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
        if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
            return true;
    return false;
}

/* The issuer's answer, capped at HTTP_BODY_MAX: past it the transfer is aborted. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    return ea_buf_append(ud, ptr, n) ? n : 0; /* 0 aborts the transfer */
}

/* Performs a GET (form == NULL) or a form POST; *status = HTTP status. Body owned by caller. */
static ea_rc http_call(const char *url, const char *form, const char *user, const char *password,
                       long timeout_ms, long *status, ea_buf *b, struct ea_err *err)
{
    ea_buf_init(b, HTTP_BODY_MAX);
    if (!gql_oidc_url_allowed(url))
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not call %s: the issuer must be https (http only on loopback)",
                          url);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not create a libcurl handle");
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we run on a worker thread */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* endpoints are taken as published */
    if (form != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    if (user != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, password);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        bool too_big = b->err == EA_BUF_TOO_BIG;
        ea_buf_free(b);
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not call %s: %s", url,
                          too_big ? "response too large" : curl_easy_strerror(rc));
    }
    return EA_OK;
}

static bool copy_url(const json_t *doc, const char *name, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(doc, name));
    if (v == NULL || strlen(v) >= cap || !gql_oidc_url_allowed(v))
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false; /* endpoints end up in a Location header: no spaces, no CR/LF */
    snprintf(out, cap, "%s", v);
    return true;
}

ea_rc gql_oidc_discover(const char *issuer, long timeout_ms, gql_oidc_provider *out,
                        struct ea_err *err)
{
    char url[1100];
    size_t il = strlen(issuer);
    if (il == 0 || il >= sizeof(out->issuer))
        return ea_err_set(err, EA_ERR_INVALID, "could not discover the issuer: bad OIDC_ISSUER");
    snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
             (int)(issuer[il - 1] == '/' ? il - 1 : il), issuer);
    long status = 0;
    ea_buf b;
    ea_rc rc = http_call(url, NULL, NULL, NULL, timeout_ms, &status, &b, err);
    if (rc != EA_OK)
        return rc;
    json_error_t je;
    json_t *doc = status == 200 ? json_loadb(ea_buf_str(&b), b.len, 0, &je) : NULL;
    ea_buf_free(&b);
    memset(out, 0, sizeof(*out));
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    if (doc == NULL || iss == NULL) {
        json_decref(doc);
        return ea_err_set(err, EA_ERR_UNAVAILABLE,
                          "could not discover the issuer: %s answered %ld without a document", url,
                          status);
    }
    /* OIDC Discovery §4.3: the issuer in the document must be exactly the one we asked */
    if (strcmp(iss, issuer) != 0) {
        json_decref(doc);
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not discover the issuer: document names issuer %s, not %s", iss,
                          issuer);
    }
    snprintf(out->issuer, sizeof(out->issuer), "%s", iss);
    bool ok = copy_url(doc, "authorization_endpoint", out->authorization_endpoint,
                       sizeof(out->authorization_endpoint)) &&
              copy_url(doc, "token_endpoint", out->token_endpoint, sizeof(out->token_endpoint)) &&
              copy_url(doc, "jwks_uri", out->jwks_uri, sizeof(out->jwks_uri));
    json_decref(doc);
    if (!ok)
        return ea_err_set(err, EA_ERR_INVALID,
                          "could not discover the issuer: missing or non-https endpoints");
    return EA_OK;
}

ea_rc gql_oidc_fetch_jwks(const char *uri, long timeout_ms, gql_jwks **out, struct ea_err *err)
{
    long status = 0;
    ea_buf b;
    *out = NULL;
    ea_rc rc = http_call(uri, NULL, NULL, NULL, timeout_ms, &status, &b, err);
    if (rc != EA_OK)
        return rc;
    if (status != 200) {
        ea_buf_free(&b);
        return ea_err_set(err, EA_ERR_UNAVAILABLE, "could not fetch jwks: %s answered %ld", uri,
                          status);
    }
    *out = gql_jwks_parse(ea_buf_str(&b), b.len, err);
    ea_buf_free(&b);
    return *out != NULL ? EA_OK : err->code;
}

/* Appends name=urlencoded(value)& to a form body. */
static bool form_add(CURL *c, char *form, size_t cap, const char *name, const char *value)
{
    char *esc = curl_easy_escape(c, value, 0);
    if (esc == NULL)
        return false;
    size_t used = strlen(form);
    int n = snprintf(form + used, cap - used, "%s%s=%s", used ? "&" : "", name, esc);
    curl_free(esc);
    return n > 0 && (size_t)n < cap - used;
}

bool gql_oidc_authorize_url(const gql_oidc_provider *p, const char *client_id,
                            const char *redirect_uri, const char *state, const char *nonce,
                            const char *challenge, char *out, size_t cap)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return false;
    char form[4096] = "";
    bool ok = form_add(c, form, sizeof(form), "response_type", "code") &&
              form_add(c, form, sizeof(form), "client_id", client_id) &&
              form_add(c, form, sizeof(form), "redirect_uri", redirect_uri) &&
              form_add(c, form, sizeof(form), "scope", "openid profile email") &&
              form_add(c, form, sizeof(form), "state", state) &&
              form_add(c, form, sizeof(form), "nonce", nonce) &&
              form_add(c, form, sizeof(form), "code_challenge", challenge) &&
              form_add(c, form, sizeof(form), "code_challenge_method", "S256");
    curl_easy_cleanup(c);
    if (!ok)
        return false;
    /* an endpoint may already carry a query string */
    const char *sep = strchr(p->authorization_endpoint, '?') != NULL ? "&" : "?";
    int n = snprintf(out, cap, "%s%s%s", p->authorization_endpoint, sep, form);
    return n > 0 && (size_t)n < cap;
}

ea_rc gql_oidc_redeem_code(const gql_oidc_provider *p, const char *client_id,
                           const char *client_secret, const char *redirect_uri, const char *code,
                           const char *verifier, long timeout_ms, char **id_token,
                           struct ea_err *err)
{
    *id_token = NULL;
    char form[8192] = "";
    CURL *esc = curl_easy_init();
    if (esc == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not create a libcurl handle");
    bool public_client = client_secret == NULL || client_secret[0] == '\0';
    /* RFC 6749 §2.3.1: client_secret_basic form-urlencodes id and secret before Basic */
    char *uid = curl_easy_escape(esc, client_id, 0);
    char *upw = public_client ? NULL : curl_easy_escape(esc, client_secret, 0);
    bool ok = form_add(esc, form, sizeof(form), "grant_type", "authorization_code") &&
              form_add(esc, form, sizeof(form), "code", code) &&
              form_add(esc, form, sizeof(form), "redirect_uri", redirect_uri) &&
              form_add(esc, form, sizeof(form), "code_verifier", verifier) &&
              (!public_client || form_add(esc, form, sizeof(form), "client_id", client_id));
    curl_easy_cleanup(esc);
    if (!ok || uid == NULL || (!public_client && upw == NULL)) {
        curl_free(uid);
        curl_free(upw);
        return ea_err_set(err, EA_ERR_INVALID, "could not build the token request");
    }
    long status = 0;
    ea_buf b;
    ea_rc rc = http_call(p->token_endpoint, form, public_client ? NULL : uid, upw, timeout_ms,
                         &status, &b, err);
    curl_free(uid);
    if (upw != NULL) {
        OPENSSL_cleanse(upw, strlen(upw));
        curl_free(upw);
    }
    OPENSSL_cleanse(form, sizeof(form));
    if (rc != EA_OK)
        return rc;
    json_error_t je;
    json_t *doc = json_loadb(ea_buf_str(&b), b.len, 0, &je);
    ea_buf_free(&b);
    const char *tok = json_string_value(json_object_get(doc, "id_token"));
    if (status != 200 || tok == NULL) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        rc = ea_err_set(err, EA_ERR_AUTH, "could not redeem the authorization code: %s (%ld)",
                        e != NULL ? e : "no id_token in the answer", status);
        json_decref(doc);
        return rc;
    }
    *id_token = strdup(tok);
    json_decref(doc);
    return *id_token != NULL ? EA_OK : ea_err_set(err, EA_ERR_NOMEM, "out of memory");
}
