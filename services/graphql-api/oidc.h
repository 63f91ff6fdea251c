/*
 * oidc.h — the OpenID Connect relying-party protocol pieces graphql-api needs for login, apart
 * from HTTP routing and sessions (login.c, session.c): base64url, PKCE (RFC 7636, S256), the
 * issuer's JWKS, ID-token verification (OIDC Core 3.1.3.7) and the three calls to the issuer
 * (discovery, token endpoint, JWKS) over libcurl. The verification functions are pure and
 * unit-tested (tests/unit/gqlapi/test_oidc.c); the fetch functions block and run only on login.c's
 * worker thread, never on the event loop. Not for: sessions, cookies or users.
 */
#ifndef GQL_OIDC_H
#define GQL_OIDC_H

#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- base64url (RFC 4648 §5, no padding), random tokens, PKCE ------------------------------- */

/* Encodes n bytes into out (capacity >= 4*ceil(n/3)+1); returns the length written. */
size_t gql_b64url_encode(const unsigned char *in, size_t n, char *out);

/* Decodes an unpadded base64url string into out (capacity cap); returns the decoded length, or
 * -1 on a character outside the alphabet, padding, an impossible length or too small a cap. */
long gql_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Fills out with nbytes of CSPRNG output, base64url-encoded (out capacity >= 4*ceil(nbytes/3)+1).
 * False when the random generator failed (the caller must refuse the login). */
bool gql_random_token(char *out, size_t nbytes) __attribute__((warn_unused_result));

/* The S256 code challenge of a PKCE verifier: base64url(SHA-256(verifier)), 43 chars + NUL. */
void gql_pkce_challenge(const char *verifier, char out[44]);

/* ---- JWKS and ID tokens ------------------------------------------------------------------- */

typedef struct gql_jwks gql_jwks; /* the issuer's public signing keys, by kid */

/* Parses a JWKS document. Keys it cannot use (kty other than RSA or EC P-256, use other than
 * "sig", RSA below 2048 bits) are skipped. NULL with err filled when the document is not a JWKS
 * or holds no usable key. Free with gql_jwks_free. */
gql_jwks *gql_jwks_parse(const char *json, size_t len, struct ea_err *err);
void gql_jwks_free(gql_jwks *k);

typedef enum gql_idtoken_verdict {
    GQL_IDTOKEN_OK = 0,
    GQL_IDTOKEN_MALFORMED,     /* not three base64url parts of JSON */
    GQL_IDTOKEN_BAD_ALG,       /* alg not RS256/ES256 (none, HS256, ...) or "crit" present */
    GQL_IDTOKEN_UNKNOWN_KID,   /* no key of the right type with that kid: refresh the JWKS */
    GQL_IDTOKEN_BAD_SIGNATURE, /* the signature does not verify */
    GQL_IDTOKEN_BAD_ISSUER,    /* iss differs from the configured issuer */
    GQL_IDTOKEN_BAD_AUDIENCE,  /* aud does not name our client (or azp is someone else) */
    GQL_IDTOKEN_EXPIRED,       /* exp missing or in the past beyond the leeway */
    GQL_IDTOKEN_BAD_IAT,       /* iat missing or in the future beyond the leeway */
    GQL_IDTOKEN_BAD_NONCE,     /* nonce missing or not the one this login sent */
    GQL_IDTOKEN_NO_SUBJECT,    /* sub missing, empty or longer than 255 bytes */
} gql_idtoken_verdict;

/* What the ID token must say. */
typedef struct gql_idtoken_expect {
    const char *issuer;    /* exact match with iss */
    const char *client_id; /* must be in aud */
    const char *nonce;     /* exact match with nonce */
    int64_t now;           /* seconds since the epoch */
    long leeway_s;         /* clock skew allowed on exp and iat */
} gql_idtoken_expect;

/* Who the ID token is about. */
typedef struct gql_identity {
    char subject[256];
    char name[128];  /* name, else preferred_username, else e-mail, else "" (may be cut) */
    char email[256]; /* informational only */
} gql_identity;

/* Verifies a compact JWS ID token: the algorithm is chosen by us (RS256 with an RSA key, ES256
 * with a P-256 key; the header's alg must match the key's type, so alg "none" and HS256 signed
 * with a public key are refused before any key is used), then the signature, then the claims.
 * Fills *out on GQL_IDTOKEN_OK. Pure apart from OpenSSL. */
gql_idtoken_verdict gql_idtoken_verify(const char *jwt, size_t len, const gql_jwks *keys,
                                       const gql_idtoken_expect *expect, gql_identity *out);

/* A stable lowercase name of a verdict, for logs and error pages ("bad_nonce"). */
const char *gql_idtoken_verdict_name(gql_idtoken_verdict v);

/* ---- calls to the issuer (blocking, libcurl; worker thread only) ------------------------------
 */

typedef struct gql_oidc_provider {
    char issuer[512];
    char authorization_endpoint[1024];
    char token_endpoint[1024];
    char jwks_uri[1024];
} gql_oidc_provider;

/* Global libcurl set-up; call once at start before any thread uses the fetch functions. */
ea_rc gql_oidc_global_init(struct ea_err *err) EA_WUR;
void gql_oidc_global_cleanup(void);

/* True when url is https, or http to a loopback host (the local development provider). */
bool gql_oidc_url_allowed(const char *url);

/* Builds the authorization request URL (code flow, scope "openid profile email", state, nonce,
 * S256 code challenge), each value percent-encoded. False when it does not fit in cap. */
bool gql_oidc_authorize_url(const gql_oidc_provider *p, const char *client_id,
                            const char *redirect_uri, const char *state, const char *nonce,
                            const char *challenge, char *out, size_t cap);

/* GET <issuer>/.well-known/openid-configuration; the document's issuer must equal `issuer`. */
ea_rc gql_oidc_discover(const char *issuer, long timeout_ms, gql_oidc_provider *out,
                        struct ea_err *err) EA_WUR;

/* GET the JWKS at uri; *out owned by the caller. */
ea_rc gql_oidc_fetch_jwks(const char *uri, long timeout_ms, gql_jwks **out,
                          struct ea_err *err) EA_WUR;

/* POSTs the authorization code with the PKCE verifier to the token endpoint (client_secret_basic
 * when a secret is configured, else a public client) and returns the id_token (malloc'd) in
 * *id_token. EA_ERR_AUTH when the issuer refused the code. */
ea_rc gql_oidc_redeem_code(const gql_oidc_provider *p, const char *client_id,
                           const char *client_secret, const char *redirect_uri, const char *code,
                           const char *verifier, long timeout_ms, char **id_token,
                           struct ea_err *err) EA_WUR;

#endif
