/*
 * test_oidc.c — unit tests of graphql-api's pure login pieces: base64url, PKCE (RFC 7636
 * Appendix B vector), ID-token verification against a JWKS (keys generated here with OpenSSL,
 * tokens signed here: RS256 and ES256 accepted; alg none, HS256 keyed with the public key,
 * another key, tampered payload, wrong iss/aud/azp/nonce, expired, future iat, unknown kid all
 * refused), the session cookie MAC and the Cookie/Set-Cookie helpers.
 */
#include "../ea_test.h"
#include "oidc.h"
#include "session.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <stdlib.h>

#define NOW 1780000000LL

static EVP_PKEY *rsa_a, *rsa_b, *ec_a;

static void keys_init(void)
{
    if (rsa_a != NULL)
        return;
    rsa_a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static char *b64(const unsigned char *d, size_t n)
{
    char *o = malloc(4 * (n / 3 + 1) + 1);
    gql_b64url_encode(d, n, o);
    return o;
}

static char *bn_b64(EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, name, &bn);
    unsigned char buf[512];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64(buf, (size_t)n);
}

static json_t *jwk_of(EVP_PKEY *k, const char *kid)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E);
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid, "use", "sig", "n",
                              n, "e", e);
        free(n);
        free(e);
        return j;
    }
    unsigned char pt[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len);
    char *x = b64(pt + 1, 32), *y = b64(pt + 33, 32);
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "kid", kid, "crv", "P-256", "x", x, "y", y);
    free(x);
    free(y);
    return j;
}

/* The issuer's JWKS: rsa_a as "ka", ec_a as "ke" (rsa_b is the attacker's key). */
static gql_jwks *issuer_jwks(void)
{
    keys_init();
    json_t *doc = json_pack("{s:[o,o]}", "keys", jwk_of(rsa_a, "ka"), jwk_of(ec_a, "ke"));
    char *s = json_dumps(doc, JSON_COMPACT);
    gql_jwks *k = gql_jwks_parse(s, strlen(s), NULL);
    free(s);
    json_decref(doc);
    return k;
}

static json_t *good_claims(void)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "iss", "https://issuer.example", "aud",
                     "client-1", "sub", "user-42", "iat", (json_int_t)NOW - 5, "exp",
                     (json_int_t)NOW + 300, "nonce", "n-123", "name", "Demo User", "email",
                     "demo@example.com");
}

/* Signs header.claims with key (NULL: unsigned). alg/kid go in the header. Steals claims. */
static char *sign(EVP_PKEY *key, const char *alg, const char *kid, json_t *claims)
{
    json_t *h = json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
    if (kid != NULL)
        json_object_set_new(h, "kid", json_string(kid));
    char *hs = json_dumps(h, JSON_COMPACT), *cs = json_dumps(claims, JSON_COMPACT);
    char *h64 = b64((unsigned char *)hs, strlen(hs)), *c64 = b64((unsigned char *)cs, strlen(cs));
    size_t cap = strlen(h64) + strlen(c64) + 1024;
    char *out = malloc(cap);
    snprintf(out, cap, "%s.%s", h64, c64);
    unsigned char sig[512];
    size_t sl = 0;
    if (key != NULL) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        sl = sizeof(sig);
        EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
        EVP_DigestSign(ctx, sig, &sl, (unsigned char *)out, strlen(out));
        EVP_MD_CTX_free(ctx);
        if (EVP_PKEY_is_a(key, "EC")) { /* DER → r || s */
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            sl = 64;
        }
    }
    char *s64 = b64(sig, sl);
    size_t used = strlen(out);
    snprintf(out + used, cap - used, ".%s", s64);
    free(hs);
    free(cs);
    free(h64);
    free(c64);
    free(s64);
    json_decref(h);
    json_decref(claims);
    return out;
}

static gql_idtoken_verdict check(const gql_jwks *k, char *jwt, gql_identity *who)
{
    gql_idtoken_expect ex = {.issuer = "https://issuer.example",
                             .client_id = "client-1",
                             .nonce = "n-123",
                             .now = NOW,
                             .leeway_s = 60};
    gql_identity tmp;
    gql_idtoken_verdict v = gql_idtoken_verify(jwt, strlen(jwt), k, &ex, who ? who : &tmp);
    free(jwt);
    return v;
}

static void test_base64url(void)
{
    char out[64];
    EA_CHECK(gql_b64url_encode((const unsigned char *)"\xfb\xff", 2, out) == 3);
    EA_CHECK_STR(out, "-_8");
    unsigned char d[8];
    EA_CHECK(gql_b64url_decode("-_8", 3, d, sizeof(d)) == 2 && d[0] == 0xfb && d[1] == 0xff);
    EA_CHECK(gql_b64url_decode("+/8", 3, d, sizeof(d)) == -1);  /* standard alphabet refused */
    EA_CHECK(gql_b64url_decode("QQ==", 4, d, sizeof(d)) == -1); /* padding refused */
    EA_CHECK(gql_b64url_decode("A", 1, d, sizeof(d)) == -1);    /* impossible length */
    EA_CHECK(gql_b64url_decode("aGVsbG8", 7, d, 4) == -1);      /* "hello" does not fit in 4 */
    EA_CHECK(gql_b64url_decode("aGVsbG8", 7, d, 5) == 5 && memcmp(d, "hello", 5) == 0);
}

static void test_pkce_and_tokens(void)
{
    char ch[44];
    gql_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch);
    EA_CHECK_STR(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    char a[48], b[48];
    EA_CHECK(gql_random_token(a, 32) && gql_random_token(b, 32));
    EA_CHECK(strlen(a) == 43 && strcmp(a, b) != 0);
}

static void test_idtoken_good(void)
{
    gql_jwks *k = issuer_jwks();
    EA_CHECK(k != NULL);
    gql_identity who;
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", good_claims()), &who) == GQL_IDTOKEN_OK);
    EA_CHECK_STR(who.subject, "user-42");
    EA_CHECK_STR(who.name, "Demo User");
    EA_CHECK_STR(who.email, "demo@example.com");
    EA_CHECK(check(k, sign(ec_a, "ES256", "ke", good_claims()), NULL) == GQL_IDTOKEN_OK);
    /* aud as an array with only us, and with several audiences when azp is us */
    json_t *c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s]", "client-1"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_OK);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", "other", "client-1"));
    json_object_set_new(c, "azp", json_string("client-1"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_OK);
    /* a long display name is cut at a character boundary (valid UTF-8 for the users table) */
    c = good_claims();
    char longname[400] = "";
    for (int i = 0; i < 150; i++)
        memcpy(longname + 2 * i, "\xc3\xa9", 2); /* U+00E9, two bytes each */
    json_object_set_new(c, "name", json_string(longname));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), &who) == GQL_IDTOKEN_OK);
    EA_CHECK(strlen(who.name) == 126 && memcmp(who.name, longname, 126) == 0);
    /* inside the leeway */
    c = good_claims();
    json_object_set_new(c, "exp", json_integer(NOW - 30));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_OK);
    gql_jwks_free(k);
}

static void test_idtoken_refused_alg(void)
{
    gql_jwks *k = issuer_jwks();
    EA_CHECK(check(k, sign(NULL, "none", "ka", good_claims()), NULL) == GQL_IDTOKEN_BAD_ALG);
    EA_CHECK(check(k, sign(NULL, "none", NULL, good_claims()), NULL) == GQL_IDTOKEN_BAD_ALG);
    /* HS256 keyed with the issuer's public key (the classic confusion attack) */
    char *h = sign(NULL, "HS256", "ka", good_claims());
    char *last = strrchr(h, '.');
    *last = '\0';
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(rsa_a, &der);
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), der, dl, (unsigned char *)h, strlen(h), mac, &ml);
    char *m64 = b64(mac, ml);
    size_t cap = strlen(h) + strlen(m64) + 2;
    char *jwt = malloc(cap);
    snprintf(jwt, cap, "%s.%s", h, m64);
    EA_CHECK(check(k, jwt, NULL) == GQL_IDTOKEN_BAD_ALG);
    OPENSSL_free(der);
    free(m64);
    free(h);
    /* an RSA-signed token claiming ES256 for an RSA kid: key type must match alg */
    EA_CHECK(check(k, sign(rsa_a, "ES256", "ka", good_claims()), NULL) != GQL_IDTOKEN_OK);
    EA_CHECK(check(k, sign(rsa_a, "PS256", "ka", good_claims()), NULL) == GQL_IDTOKEN_BAD_ALG);
    /* a "crit" header names extensions we do not understand: refused (RFC 7515 §4.1.11) */
    char *good = sign(rsa_a, "RS256", "ka", good_claims());
    const char *crit_hdr = "{\"alg\":\"RS256\",\"kid\":\"ka\",\"crit\":[\"x\"]}";
    char *ch64 = b64((const unsigned char *)crit_hdr, strlen(crit_hdr));
    cap = strlen(good) + strlen(ch64) + 1;
    char *crit = malloc(cap);
    snprintf(crit, cap, "%s%s", ch64, strchr(good, '.'));
    EA_CHECK(check(k, crit, NULL) == GQL_IDTOKEN_BAD_ALG);
    free(ch64);
    free(good);
    gql_jwks_free(k);
}

static void test_idtoken_refused_signature(void)
{
    gql_jwks *k = issuer_jwks();
    EA_CHECK(check(k, sign(rsa_b, "RS256", "ka", good_claims()), NULL) ==
             GQL_IDTOKEN_BAD_SIGNATURE);
    EA_CHECK(check(k, sign(rsa_b, "RS256", "kb", good_claims()), NULL) == GQL_IDTOKEN_UNKNOWN_KID);
    /* tampered payload: swap in other claims, keep the signature */
    char *good = sign(rsa_a, "RS256", "ka", good_claims());
    json_t *c = good_claims();
    json_object_set_new(c, "sub", json_string("admin"));
    char *evil = sign(rsa_a, "RS256", "ka", c);
    char *g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
    char *e1 = strchr(evil, '.'), *e2 = strrchr(evil, '.');
    size_t cap = strlen(good) + strlen(evil) + 1;
    char *mix = malloc(cap);
    snprintf(mix, cap, "%.*s%.*s%s", (int)(g1 - good), good, (int)(e2 - e1), e1, g2);
    EA_CHECK(check(k, mix, NULL) == GQL_IDTOKEN_BAD_SIGNATURE);
    free(good);
    free(evil);
    EA_CHECK(check(k, strdup("a.b"), NULL) == GQL_IDTOKEN_MALFORMED);
    EA_CHECK(check(k, strdup("a.b.c.d"), NULL) == GQL_IDTOKEN_MALFORMED);
    EA_CHECK(check(k, strdup("..."), NULL) == GQL_IDTOKEN_MALFORMED);
    gql_jwks_free(k);
}

static void test_idtoken_refused_claims(void)
{
    gql_jwks *k = issuer_jwks();
    json_t *c = good_claims();
    json_object_set_new(c, "iss", json_string("https://evil.example"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_ISSUER);
    c = good_claims();
    json_object_set_new(c, "aud", json_string("client-2"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_AUDIENCE);
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", "other", "client-1"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_AUDIENCE);
    c = good_claims();
    json_object_set_new(c, "exp", json_integer(NOW - 61));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_EXPIRED);
    c = good_claims();
    json_object_del(c, "exp");
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_EXPIRED);
    c = good_claims();
    json_object_set_new(c, "iat", json_integer(NOW + 3600));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_IAT);
    c = good_claims();
    json_object_set_new(c, "nonce", json_string("n-999"));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_NONCE);
    c = good_claims();
    json_object_del(c, "nonce");
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_BAD_NONCE);
    c = good_claims();
    json_object_set_new(c, "sub", json_string(""));
    EA_CHECK(check(k, sign(rsa_a, "RS256", "ka", c), NULL) == GQL_IDTOKEN_NO_SUBJECT);
    gql_jwks_free(k);
}

static void test_jwks_parse(void)
{
    keys_init();
    EA_CHECK(gql_jwks_parse("{}", 2, NULL) == NULL);
    EA_CHECK(gql_jwks_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}", 36, NULL) == NULL);
    /* a small RSA key is skipped */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    json_t *doc = json_pack("{s:[o]}", "keys", jwk_of(small, "s"));
    char *s = json_dumps(doc, JSON_COMPACT);
    EA_CHECK(gql_jwks_parse(s, strlen(s), NULL) == NULL);
    free(s);
    json_decref(doc);
    EVP_PKEY_free(small);
    /* no kid in the token: accepted only with a single key of the type */
    gql_jwks *k = issuer_jwks();
    EA_CHECK(check(k, sign(rsa_a, "RS256", NULL, good_claims()), NULL) == GQL_IDTOKEN_OK);
    gql_jwks_free(k);
}

static void test_session_cookie(void)
{
    const char *secret = "0123456789abcdef0123456789abcdef";
    char id[48], cookie[GQL_SESSION_COOKIE_MAX], got[GQL_SESSION_ID_LEN + 1];
    EA_CHECK(gql_random_token(id, 32));
    gql_session_cookie_sign(secret, id, NOW + 100, cookie);
    EA_CHECK(gql_session_cookie_verify(secret, cookie, strlen(cookie), NOW, got));
    EA_CHECK_STR(got, id);
    EA_CHECK(!gql_session_cookie_verify(secret, cookie, strlen(cookie), NOW + 100, got));
    EA_CHECK(!gql_session_cookie_verify("another secret of at least 32 bytes!", cookie,
                                        strlen(cookie), NOW, got));
    /* moving the expiry invalidates the MAC */
    char edited[GQL_SESSION_COOKIE_MAX];
    snprintf(edited, sizeof(edited), "%s", cookie);
    char *dot = strchr(edited, '.');
    dot[1] = dot[1] == '9' ? '8' : (char)(dot[1] + 1);
    EA_CHECK(!gql_session_cookie_verify(secret, edited, strlen(edited), NOW, got));
    snprintf(edited, sizeof(edited), "%s", cookie);
    edited[0] = edited[0] == 'A' ? 'B' : 'A';
    EA_CHECK(!gql_session_cookie_verify(secret, edited, strlen(edited), NOW, got));
    EA_CHECK(!gql_session_cookie_verify(secret, "x.1.y", 5, NOW, got));
    /* a 19-digit expiry past int64 (issue 12): refused, without signed overflow (the ASan+UBSan
     * unit run aborts on one), whether its MAC is forged or right */
    const char *big = "9999999999999999999";
    char msg[128], mac[48];
    int n = snprintf(msg, sizeof(msg), "v1.%s.%s", id, big);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, md,
         &mdlen);
    gql_b64url_encode(md, mdlen, mac);
    snprintf(edited, sizeof(edited), "%s.%s.%s", id, big, mac);
    EA_CHECK(!gql_session_cookie_verify(secret, edited, strlen(edited), NOW, got));
    snprintf(edited, sizeof(edited), "%s.%s.%s", id, big, "forged");
    EA_CHECK(!gql_session_cookie_verify(secret, edited, strlen(edited), NOW, got));
    /* the largest expiry that fits is still accepted (a far-future cookie we signed) */
    gql_session_cookie_sign(secret, id, INT64_MAX, cookie);
    EA_CHECK(gql_session_cookie_verify(secret, cookie, strlen(cookie), NOW, got));
}

static void test_cookie_helpers(void)
{
    const char *h = "a=1; ea_session=first; ea_sessionx=no;  ea_session=\"second\" ";
    size_t pos = 0, vl;
    const char *v = gql_cookie_find(h, strlen(h), "ea_session", &pos, &vl);
    EA_CHECK(v != NULL && vl == 5 && memcmp(v, "first", 5) == 0);
    v = gql_cookie_find(h, strlen(h), "ea_session", &pos, &vl);
    EA_CHECK(v != NULL && vl == 6 && memcmp(v, "second", 6) == 0);
    EA_CHECK(gql_cookie_find(h, strlen(h), "ea_session", &pos, &vl) == NULL);
    pos = 0;
    EA_CHECK(gql_cookie_find(h, strlen(h), "missing", &pos, &vl) == NULL);
    char out[256];
    gql_cookie_format(out, sizeof(out), "ea_session", "v", "/", 60, true);
    EA_CHECK_STR(out, "ea_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
    gql_cookie_format(out, sizeof(out), "ea_login", "", "/auth/callback", 0, false);
    EA_CHECK_STR(out, "ea_login=; Path=/auth/callback; Max-Age=0; HttpOnly; SameSite=Lax");
}

static void test_url_allowed(void)
{
    EA_CHECK(gql_oidc_url_allowed("https://accounts.google.com"));
    EA_CHECK(gql_oidc_url_allowed("http://127.0.0.1:3004/"));
    EA_CHECK(gql_oidc_url_allowed("http://localhost:3004"));
    EA_CHECK(!gql_oidc_url_allowed("http://evil.example"));
    EA_CHECK(!gql_oidc_url_allowed("http://127.0.0.1.evil.example/"));
    EA_CHECK(!gql_oidc_url_allowed("file:///etc/passwd"));
}

static void test_cleanup(void)
{
    EVP_PKEY_free(rsa_a);
    EVP_PKEY_free(rsa_b);
    EVP_PKEY_free(ec_a);
    rsa_a = rsa_b = ec_a = NULL;
    EA_CHECK(1);
}

EA_TEST_MAIN(EA_TEST(test_base64url), EA_TEST(test_pkce_and_tokens), EA_TEST(test_idtoken_good),
             EA_TEST(test_idtoken_refused_alg), EA_TEST(test_idtoken_refused_signature),
             EA_TEST(test_idtoken_refused_claims), EA_TEST(test_jwks_parse),
             EA_TEST(test_session_cookie), EA_TEST(test_cookie_helpers), EA_TEST(test_url_allowed),
             EA_TEST(test_cleanup))
