/*
 * session.h — signed-in users' sessions for graphql-api: the session cookie (a random id and an
 * expiry, HMAC-SHA256-signed with SESSION_SECRET), its attributes, and the rows behind it
 * (users keyed by issuer + subject, sessions stored as SHA-256 of the id). The cookie codec is
 * pure and unit-tested (tests/unit/gqlapi/test_oidc.c); the database functions block and take
 * the connection of the thread that calls them — never the event loop's (auth.c and login.c call
 * them from worker threads). Not for: the OIDC protocol (oidc.c) or routing (login.c).
 */
#ifndef GQL_SESSION_H
#define GQL_SESSION_H

#include "app.h"
#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GQL_SESSION_COOKIE "ea_session"
#define GQL_SESSION_ID_LEN 43 /* base64url of 32 random bytes */
#define GQL_SESSION_COOKIE_MAX 160

/* Builds the cookie value "<id>.<expires>.<mac>" for a session id (43 base64url chars) and an
 * expiry (epoch seconds). out needs GQL_SESSION_COOKIE_MAX bytes. */
void gql_session_cookie_sign(const char *secret, const char *id, int64_t expires,
                             char out[GQL_SESSION_COOKIE_MAX]);

/* Checks a cookie value: well formed, MAC correct (constant-time compare), not expired at now.
 * On success copies the session id into id_out. */
bool gql_session_cookie_verify(const char *secret, const char *value, size_t len, int64_t now,
                               char id_out[GQL_SESSION_ID_LEN + 1]);

/* Finds the value of cookie `name` in a Cookie header, starting at *pos (0 the first time) so
 * several cookies of the same name can be tried in turn. Returns a pointer into header and its
 * length in *vlen, or NULL when there is no (further) such cookie. */
const char *gql_cookie_find(const char *header, size_t hlen, const char *name, size_t *pos,
                            size_t *vlen);

/* Formats a Set-Cookie header value: HttpOnly, SameSite=Lax, Path, Max-Age (0 clears), Secure
 * when secure. out needs len(name) + len(value) + len(path) + 96 bytes. */
void gql_cookie_format(char *out, size_t cap, const char *name, const char *value, const char *path,
                       long max_age, bool secure);

/* Upserts the user (issuer, subject) with its display name and e-mail; *user_id = users.id. */
ea_rc gql_user_upsert(PGconn *c, const char *issuer, const char *subject, const char *name,
                      const char *email, long long *user_id, struct ea_err *err) EA_WUR;

/* Creates a session for user_id that expires in ttl_s; writes the signed cookie value. */
ea_rc gql_session_create(PGconn *c, const char *secret, long long user_id, long ttl_s,
                         char cookie_out[GQL_SESSION_COOKIE_MAX], struct ea_err *err) EA_WUR;

/* What a Cookie header holds, without the database (the loop may ask): 0 no session cookie, 1 one
 * whose MAC and expiry are good (its row decides), 2 session cookies but none good. */
int gql_session_cookie_state(const char *secret, const char *cookie, size_t clen);

/* Resolves a Cookie header to a USER principal through its session row (blocking: a worker
 * thread's connection; c NULL counts as unavailable). GQL_AUTH-like result: 0 ok, 1 no session
 * cookie, 2 invalid (bad MAC, expired, logged out), 3 database unavailable. */
int gql_session_principal(PGconn *c, const char *secret, const char *cookie, size_t clen,
                          gql_principal *out);

/* Deletes the session named by a Cookie header (logout; blocking, a worker thread's connection);
 * a missing or invalid cookie is fine. */
void gql_session_destroy(PGconn *c, const char *secret, const char *cookie, size_t clen);

#endif
