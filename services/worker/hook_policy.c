/*
 * hook_policy.c — the pure rules of webhook delivery (see hook_policy.h): HMAC signature on
 * OpenSSL, the private-address test on raw sockaddrs (no DNS here: hook_sender.c resolves, asks
 * this for every address, and pins curl to the address it checked), the backoff and the body.
 */
#include "hook_policy.h"
#include "ea_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wk_hook_signature(const char *secret, const char *body, size_t len, char out[WK_HOOK_SIG_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
             &n) == NULL ||
        n != 32)
        return false;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * n] = '\0';
    return true;
}

/* a.b.c.d as a host-order integer */
static bool v4_private(uint32_t a)
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
    return b0 == 0 ||                                          /* 0.0.0.0/8 "this network" */
           b0 == 10 ||                                         /* RFC 1918 */
           b0 == 127 ||                                        /* loopback */
           (b0 == 100 && (b1 & 0xc0) == 64) ||                 /* 100.64.0.0/10 carrier-grade NAT */
           (b0 == 169 && b1 == 254) ||                         /* link-local, cloud metadata */
           (b0 == 172 && (b1 & 0xf0) == 16) ||                 /* RFC 1918 */
           (b0 == 192 && b1 == 168) ||                         /* RFC 1918 */
           (b0 == 192 && b1 == 0 && (uint8_t)(a >> 8) == 0) || /* 192.0.0.0/24 IETF */
           (b0 == 198 && (b1 & 0xfe) == 18) ||                 /* 198.18.0.0/15 benchmarks */
           b0 >= 224;                                          /* multicast, reserved, broadcast */
}

bool wk_hook_addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_private(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return true;
    const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero10[10] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    bool mapped = memcmp(b, zero10, 10) == 0 && b[10] == 0xff && b[11] == 0xff;
    bool compat = memcmp(b, zero10, 10) == 0 && b[10] == 0 && b[11] == 0;
    if (mapped || compat || memcmp(b, nat64, 12) == 0) {
        uint32_t v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_private(v4); /* ::, ::1 fall here as 0.0.0.0 and 0.0.0.1: refused */
    }
    return (b[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local (deprecated) */
           b[0] == 0xff;                              /* multicast */
}

int64_t wk_hook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms)
{
    if (attempt <= 1)
        return 0;
    int64_t d = base_ms;
    for (int i = 2; i < attempt && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

char *wk_hook_body(const wk_hook_firing *f)
{
    char id[32], bucket[48], fired[48];
    snprintf(id, sizeof(id), "%lld", f->alert_id);
    ea_time_format_iso8601(f->bucket_ms, bucket);
    ea_time_format_iso8601(f->fired_ms, fired);
    json_error_t je;
    json_t *dims = json_loads(f->dims_json != NULL ? f->dims_json : "{}", 0, &je);
    json_t *o = json_pack("{s:{s:s,s:s,s:s},s:s,s:f,s:f,s:s,s:o,s:s}", "alert", "id", id, "name",
                          f->alert_name, "metric", f->metric, "bucket", bucket, "value", f->value,
                          "threshold", f->threshold, "comparator", f->comparator, "dimensions",
                          dims != NULL ? dims : json_object(), "firedAt", fired);
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}
