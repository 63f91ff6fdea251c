/*
 * ea_origin.h — the origins a browser key is bound to (SPEC §4 "browser key"): one rule for what
 * an origin looks like, written once for the code that stores them (analytics-admin, GraphQL,
 * via lib/catalog) and the code that checks them (ingest-api). An origin is what a browser sends
 * in its `Origin` header: scheme "://" host [":" port], lowercase, no path, no default port
 * (RFC 6454 serialization). Matching is exact on that form: no wildcards, so a listed origin
 * never admits a sibling subdomain. Not for: looking keys up (ea_keyauth) or CORS headers
 * (ingest-api's handler).
 */
#ifndef EA_ORIGIN_H
#define EA_ORIGIN_H

#include "ea_err.h"

#include <stdbool.h>
#include <stddef.h>

#define EA_ORIGIN_MAX_LEN 255 /* bytes of one serialized origin */
#define EA_ORIGINS_MAX 16     /* origins on one browser key */
/* bytes (NUL included) of a key's comma-joined origins, as ea_principal keeps them: bounded so
 * the verified-key cache stays small (4096 entries) */
#define EA_ORIGINS_TEXT_MAX 1024

/* Normalizes one origin as typed by a person ("HTTPS://App.Example.com:443/" →
 * "https://app.example.com") into out (NUL-terminated). Accepts http and https with a host of
 * letters, digits, '-', '.' or a bracketed IPv6 literal, and an optional port 1-65535; a single
 * trailing '/' is allowed, any other path, query, user info or "null" is EA_ERR_INVALID with err
 * saying what is wrong. */
ea_rc ea_origin_normalize(const char *in, size_t len, char out[EA_ORIGIN_MAX_LEN + 1],
                          struct ea_err *err) EA_WUR;

/* Splits a comma-separated list ("https://a.com, http://localhost:8080"), normalizes each origin
 * and writes them comma-joined without spaces, duplicates removed, into out; *count receives how
 * many. EA_ERR_INVALID for an empty list, more than EA_ORIGINS_MAX, more than
 * EA_ORIGINS_TEXT_MAX - 1 bytes joined, or any invalid origin. */
ea_rc ea_origin_list_normalize(const char *in, char out[EA_ORIGINS_TEXT_MAX], size_t *count,
                               struct ea_err *err) EA_WUR;

/* True when origin (the request's Origin header, len bytes) is one of the comma-joined
 * normalized origins in list. Exact byte comparison: browsers send the normalized form. */
bool ea_origin_listed(const char *list, const char *origin, size_t len);

#endif
