/*
 * ea_origin.c — origin normalization and matching for browser keys. Hand-written on purpose:
 * the grammar accepted is deliberately smaller than a URL parser's (http/https, host, port, no
 * path), and what it refuses is what a person most often pastes by mistake (a page URL, a
 * wildcard, "null").
 */
#include "ea_origin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

ea_rc ea_origin_normalize(const char *in, size_t len, char out[EA_ORIGIN_MAX_LEN + 1],
                          struct ea_err *err)
{
    out[0] = '\0';
    /* trim spaces a comma-separated list leaves around each entry */
    while (len > 0 && (*in == ' ' || *in == '\t'))
        in++, len--;
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
        len--;
    const char *what = NULL;
    bool https;
    size_t p;
    if (len >= 8 && strncasecmp(in, "https://", 8) == 0) {
        https = true, p = 8;
    } else if (len >= 7 && strncasecmp(in, "http://", 7) == 0) {
        https = false, p = 7;
    } else {
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid origin \"%.*s\": expected http://host[:port] or "
                          "https://host[:port]",
                          (int)(len > 100 ? 100 : len), in);
    }
    if (len > 1 && in[len - 1] == '/')
        len--; /* "https://a.com/" is how browsers print the page; the origin has no '/' */
    char host[EA_ORIGIN_MAX_LEN + 1];
    size_t hl = 0;
    if (p < len && in[p] == '[') { /* IPv6 literal: keep it as written, lowercased */
        while (p < len && in[p] != ']') {
            char c = lower(in[p]);
            if (hl >= sizeof(host) - 2 || !(c == '[' || c == ':' || c == '.' ||
                                            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                what = "an IPv6 host must be [hex:hex:...]";
                goto bad;
            }
            host[hl++] = c;
            p++;
        }
        if (p >= len || hl < 3) {
            what = "an IPv6 host must be [hex:hex:...]";
            goto bad;
        }
        host[hl++] = ']';
        p++;
    } else {
        while (p < len && in[p] != ':') {
            char c = lower(in[p]);
            if (!host_char(c)) {
                what = c == '/' || c == '?' || c == '#' ? "an origin has no path, query or fragment"
                       : c == '*'                       ? "wildcards are not allowed"
                       : c == '@'                       ? "an origin has no user name"
                                  : "the host may hold letters, digits, '-' and '.'";
                goto bad;
            }
            if (hl >= sizeof(host) - 1) {
                what = "the host is too long";
                goto bad;
            }
            host[hl++] = c;
            p++;
        }
        if (hl == 0 || host[0] == '.' || host[hl - 1] == '.' || host[0] == '-' ||
            memmem(host, hl, "..", 2) != NULL) {
            what = "the host is empty or malformed";
            goto bad;
        }
    }
    host[hl] = '\0';
    long port = -1;
    if (p < len) {
        if (in[p] != ':' || p + 1 >= len) {
            what = "an origin has no path, query or fragment";
            goto bad;
        }
        port = 0;
        for (p++; p < len; p++) {
            if (in[p] < '0' || in[p] > '9' || port > 65535) {
                what = in[p] == '/' ? "an origin has no path" : "the port must be 1 to 65535";
                goto bad;
            }
            port = port * 10 + (in[p] - '0');
        }
        if (port < 1 || port > 65535) {
            what = "the port must be 1 to 65535";
            goto bad;
        }
        if (port == (https ? 443 : 80))
            port = -1; /* browsers omit the default port */
    }
    int n = port < 0
                ? snprintf(out, EA_ORIGIN_MAX_LEN + 1, "%s://%s", https ? "https" : "http", host)
                : snprintf(out, EA_ORIGIN_MAX_LEN + 1, "%s://%s:%ld", https ? "https" : "http",
                           host, port);
    if (n < 0 || n > EA_ORIGIN_MAX_LEN) {
        out[0] = '\0';
        what = "it is longer than 255 bytes";
        goto bad;
    }
    return EA_OK;
bad:
    out[0] = '\0';
    return ea_err_set(err, EA_ERR_INVALID, "invalid origin \"%.*s\": %s",
                      (int)(len > 100 ? 100 : len), in, what);
}

ea_rc ea_origin_list_normalize(const char *in, char out[EA_ORIGINS_TEXT_MAX], size_t *count,
                               struct ea_err *err)
{
    out[0] = '\0';
    *count = 0;
    size_t used = 0;
    const char *p = in;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char one[EA_ORIGIN_MAX_LEN + 1];
        ea_rc rc = ea_origin_normalize(p, len, one, err);
        if (rc != EA_OK) {
            out[0] = '\0';
            *count = 0;
            return rc;
        }
        if (!ea_origin_listed(out, one, strlen(one))) {
            if (*count == EA_ORIGINS_MAX) {
                out[0] = '\0';
                *count = 0;
                return ea_err_set(err, EA_ERR_INVALID, "at most %d origins per key",
                                  EA_ORIGINS_MAX);
            }
            size_t ol = strlen(one);
            if (used + 1 + ol >= EA_ORIGINS_TEXT_MAX) {
                out[0] = '\0';
                *count = 0;
                return ea_err_set(err, EA_ERR_INVALID, "the origins take more than %d bytes",
                                  EA_ORIGINS_TEXT_MAX - 1);
            }
            if (used > 0)
                out[used++] = ',';
            memcpy(out + used, one, ol + 1);
            used += ol;
            (*count)++;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return EA_OK;
}

bool ea_origin_listed(const char *list, const char *origin, size_t len)
{
    if (len == 0 || list == NULL)
        return false;
    for (const char *p = list; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t l = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (l == len && memcmp(p, origin, len) == 0)
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}
