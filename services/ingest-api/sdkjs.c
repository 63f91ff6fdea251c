/*
 * sdkjs.c — serving the embedded tracker. The ETag is the first 128 bits of the script's SHA-256,
 * computed once; a matching If-None-Match is answered 304 without a body, which is what most
 * loads of a cached /sdk.js cost after max-age. The script is public and static, so it carries
 * `Access-Control-Allow-Origin: *` and `Cross-Origin-Resource-Policy: cross-origin` (pages with
 * COEP or <script crossorigin integrity=...> can load it) and `nosniff`.
 */
#include "sdkjs.h"
#include "metrics.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

extern const char ingest_sdk_version[];
extern const size_t ingest_sdk_js_len;
extern const unsigned char ingest_sdk_js[];

static char etag[40];      /* "\"<32 hex>\"" */
static char versioned[64]; /* "/sdk/<version>/sdk.js" */

static void init_once(void)
{
    if (etag[0] != '\0')
        return;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(ingest_sdk_js, ingest_sdk_js_len, md);
    static const char hex[] = "0123456789abcdef";
    char *p = etag;
    *p++ = '"';
    for (int i = 0; i < 16; i++) {
        *p++ = hex[md[i] >> 4];
        *p++ = hex[md[i] & 15];
    }
    *p++ = '"';
    *p = '\0';
    snprintf(versioned, sizeof(versioned), "/sdk/%s/sdk.js", ingest_sdk_version);
}

static bool path_is(const h2o_req_t *req, const char *path)
{
    size_t l = strlen(path);
    return req->path_normalized.len == l && memcmp(req->path_normalized.base, path, l) == 0;
}

/* True when an If-None-Match header lists our ETag (or is "*"). */
static bool not_modified(const h2o_req_t *req)
{
    int n;
    const h2o_iovec_t *inm = ea_http_header(req, "if-none-match", &n);
    if (inm == NULL)
        return false;
    size_t el = strlen(etag);
    for (size_t i = 0; i + el <= inm->len; i++)
        if (memcmp(inm->base + i, etag, el) == 0)
            return true;
    return inm->len == 1 && inm->base[0] == '*';
}

static int on_sdk(void *ud, h2o_req_t *req)
{
    (void)ud;
    init_once();
    bool pinned = path_is(req, versioned);
    if (!pinned && !path_is(req, "/sdk.js"))
        return -1; /* 404 */
    if (!ea_http_method_is(req, "GET") && !ea_http_method_is(req, "HEAD")) {
        ea_http_add_header(req, "Allow", "GET, HEAD");
        ea_http_send_error(req, 405, "method_not_allowed", "use GET %s", versioned);
        return 0;
    }
    ea_http_add_header(req, "ETag", etag);
    ea_http_add_header(req, "Cache-Control",
                       pinned ? "public, max-age=31536000, immutable" : "public, max-age=300");
    ea_http_add_header(req, "X-SDK-Version", ingest_sdk_version);
    ea_http_add_header(req, "Access-Control-Allow-Origin", "*");
    ea_http_add_header(req, "Cross-Origin-Resource-Policy", "cross-origin");
    ea_http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (not_modified(req)) {
        ingest_stats.sdk_js_not_modified++;
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, NULL, 0);
        return 0;
    }
    ingest_stats.sdk_js_served++;
    ea_http_send_bytes(req, 200, "application/javascript; charset=utf-8",
                       (const char *)ingest_sdk_js, ingest_sdk_js_len);
    return 0;
}

void ingest_sdkjs_register(ea_http_server *s)
{
    ea_http_route(s, "/sdk.js", on_sdk, NULL);
    ea_http_route(s, "/sdk/", on_sdk, NULL);
}
