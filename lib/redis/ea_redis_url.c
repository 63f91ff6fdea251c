/*
 * ea_redis_url.c — REDIS_URL parsing: redis:// and rediss:// with [user:]password, host (name,
 * IPv4 or [IPv6]), port, database number and a few query options. Pure string work (plus one
 * access() check of REDIS_CA_FILE), unit-tested in tests/unit/redis.
 *
 * The URL carries a secret, so no message here ever quotes it: errors name the part that is
 * wrong ("bad port \"x\"", "bad percent-encoding in the password") and ea_redis_url_describe
 * writes the URL back with the password replaced by "***" for logs and errors.
 */
#include "ea_redis.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into dst (cap bytes with the NUL). false on a bad escape, an
 * encoded NUL or when it does not fit. */
static bool pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (len - i < 3)
                return false;
            int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return true;
}

#define BAD(...) ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_URL: " __VA_ARGS__)

static bool parse_long(const char *s, size_t len, long min, long max, long *out)
{
    if (len == 0 || len > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool is_word(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncmp(s, word, len) == 0;
}

/* ?name=value&... — the options a connection understands; anything else is refused so a typo
 * does not silently turn verification off or pick the wrong database. */
static ea_rc parse_query(const char *q, ea_redis_url *out, bool *db_given, struct ea_err *err)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq == NULL)
            return BAD("option \"%.*s\" is not name=value", (int)(n > 64 ? 64 : n), q);
        size_t nl = (size_t)(eq - q), vl = n - nl - 1;
        const char *v = eq + 1;
        if (is_word(q, nl, "db")) {
            long db;
            if (!parse_long(v, vl, 0, EA_REDIS_MAX_DB, &db))
                return BAD("bad db \"%.*s\" (0..%d)", (int)(vl > 16 ? 16 : vl), v, EA_REDIS_MAX_DB);
            if (*db_given && db != out->db)
                return BAD("db %ld in the query and db %d in the path differ", db, out->db);
            out->db = (int)db;
            *db_given = true;
        } else if (is_word(q, nl, "ssl_cert_reqs")) {
            if (is_word(v, vl, "required"))
                out->verify_peer = true;
            else if (is_word(v, vl, "none"))
                out->verify_peer = false;
            else
                return BAD("ssl_cert_reqs must be required or none");
            out->tls_option_set = true;
        } else if (is_word(q, nl, "ssl_check_hostname")) {
            if (is_word(v, vl, "true"))
                out->verify_host = true;
            else if (is_word(v, vl, "false"))
                out->verify_host = false;
            else
                return BAD("ssl_check_hostname must be true or false");
            out->tls_option_set = true;
        } else {
            return BAD("unknown option \"%.*s\" (known: db, ssl_cert_reqs, ssl_check_hostname)",
                       (int)(nl > 64 ? 64 : nl), q);
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return EA_OK;
}

ea_rc ea_redis_url_parse(const char *url, const char *ca_file, ea_redis_url *out,
                         struct ea_err *err)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    out->verify_peer = true;
    out->verify_host = true;
    if (url == NULL || url[0] == '\0')
        return BAD("empty");
    const char *p;
    if (strncmp(url, "redis://", 8) == 0) {
        p = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        out->tls = true;
        p = url + 9;
    } else {
        return BAD("expected redis:// or rediss:// (TLS)");
    }
    /* authority: up to the path, query or fragment; the password is inside it, so '/', '?',
     * '#' and '@' in a password must be percent-encoded */
    size_t alen = strcspn(p, "/?#");
    const char *auth_end = p + alen, *at = NULL;
    for (const char *s = p; s < auth_end; s++)
        if (*s == '@')
            at = s;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL) {
            if (!pct_decode(p, (size_t)(colon - p), out->user, sizeof(out->user)))
                return BAD("bad percent-encoding in the user name, or longer than %zu bytes",
                           sizeof(out->user) - 1);
            p = colon + 1;
        }
        if (!pct_decode(p, (size_t)(at - p), out->password, sizeof(out->password)))
            return BAD("bad percent-encoding in the password, or longer than %zu bytes",
                       sizeof(out->password) - 1);
        p = at + 1;
    }
    const char *host = p;
    size_t hlen;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(auth_end - p));
        if (close == NULL)
            return BAD("unterminated [ in the host");
        host = p + 1;
        hlen = (size_t)(close - host);
        p = close + 1;
    } else {
        hlen = strcspn(p, ":/?#");
        p += hlen;
    }
    if (hlen == 0)
        return BAD("no host");
    if (hlen >= sizeof(out->host))
        return BAD("host longer than %zu bytes", sizeof(out->host) - 1);
    for (size_t i = 0; i < hlen; i++)
        if (!isgraph((unsigned char)host[i]) || host[i] == '@' || host[i] == '[')
            return BAD("bad character in the host");
    memcpy(out->host, host, hlen);
    if (*p == ':') {
        long port;
        size_t plen = (size_t)(auth_end - (p + 1));
        if (!parse_long(p + 1, plen, 1, 65535, &port))
            return BAD("bad port \"%.*s\"", (int)(plen > 16 ? 16 : plen), p + 1);
        out->port = (int)port;
        p = auth_end;
    }
    if (p != auth_end)
        return BAD("unexpected text after the host");
    bool db_given = false;
    if (*p == '/') {
        size_t dlen = strcspn(p + 1, "?#");
        long db = 0;
        if (dlen > 0 && !parse_long(p + 1, dlen, 0, EA_REDIS_MAX_DB, &db))
            return BAD("bad db \"%.*s\" (0..%d)", (int)(dlen > 16 ? 16 : dlen), p + 1,
                       EA_REDIS_MAX_DB);
        out->db = (int)db;
        db_given = dlen > 0;
        p += 1 + dlen;
    }
    if (*p == '#')
        return BAD("a fragment (#...) is not allowed");
    if (*p == '?') {
        const char *q = p + 1;
        if (strchr(q, '#') != NULL)
            return BAD("a fragment (#...) is not allowed");
        ea_rc rc = parse_query(q, out, &db_given, err);
        if (rc != EA_OK)
            return rc;
    }
    if (out->tls_option_set && !out->tls)
        return BAD("ssl_* options need rediss://");
    if (out->user[0] != '\0' && out->password[0] == '\0')
        return BAD("user \"%s\" without a password (write rediss://user:password@host)", out->user);
    if (out->tls && ca_file != NULL && ca_file[0] != '\0') {
        if (strlen(ca_file) >= sizeof(out->ca_file))
            return ea_err_set(err, EA_ERR_INVALID, "invalid REDIS_CA_FILE: longer than %zu bytes",
                              sizeof(out->ca_file) - 1);
        if (access(ca_file, R_OK) != 0)
            return ea_err_set(err, EA_ERR_INVALID, "could not read REDIS_CA_FILE %s: %s", ca_file,
                              strerror(errno));
        snprintf(out->ca_file, sizeof(out->ca_file), "%s", ca_file);
    }
    return EA_OK;
}

const char *ea_redis_url_describe(const ea_redis_url *u, char *buf, size_t cap)
{
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(buf, cap, "%s://%s%s%s%s%s%s:%d/%d", u->tls ? "rediss" : "redis", u->user,
             u->password[0] != '\0' ? ":***" : "", u->user[0] || u->password[0] ? "@" : "",
             v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->db);
    return buf;
}
