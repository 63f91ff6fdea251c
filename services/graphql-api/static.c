/*
 * static.c — the dashboard's built files at `/` (see static.h). Files are sent by h2o's file
 * sender (h2o_file_send: file cache, ETag/Last-Modified headers, HEAD) with a Content-Type from
 * h2o's default mime map. It does not answer conditional requests with 304 (h2o does that only in
 * its file *handler*, which needs a path config ea_http does not expose); the hashed assets are
 * cached as immutable anyway and index.html is half a kilobyte.
 *
 * Routing: h2o picks the first registered path that prefixes the request, so main.c registers `/`
 * last and /graphql, /auth and the health routes keep precedence.
 *
 * Path safety: h2o's path_normalized has no "." or ".." segments, and we refuse any segment that
 * starts with a dot, so nothing outside dist_dir (nor a dotfile inside it) can be named.
 * Caching: Vite names the files under /assets/ by content hash, so they are immutable for a
 * year; index.html must be revalidated on each load so a new build is picked up.
 */
#include "static.h"
#include "ea_log.h"
#include "headers.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct gql_static {
    const char *dir;
    h2o_mimemap_t *mimemap;
};

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static h2o_iovec_t mime_of(struct gql_static *st, const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot == NULL || (slash != NULL && dot < slash))
        return h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
    h2o_mimemap_type_t *t =
        h2o_mimemap_get_type_by_extension(st->mimemap, h2o_iovec_init(dot + 1, strlen(dot + 1)));
    if (t == NULL || t->type != H2O_MIMEMAP_TYPE_MIMETYPE)
        return h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
    return t->data.mimetype;
}

static int on_static(void *ud, h2o_req_t *req)
{
    struct gql_static *st = ud;
    if (!ea_http_method_is(req, "GET") && !ea_http_method_is(req, "HEAD")) {
        ea_http_add_header(req, "Allow", "GET, HEAD");
        ea_http_send_error(req, 405, "method_not_allowed", "the dashboard is read with GET");
        return 0;
    }
    h2o_iovec_t p = req->path_normalized;
    if (p.len >= 6 && memcmp(p.base, "/auth/", 6) == 0) { /* login is not configured */
        ea_http_send_error(req, 404, "not_found", "sign-in is not enabled on this server");
        return 0;
    }
    /* refuse dot segments (dotfiles; ".." is already gone) and NUL bytes */
    for (size_t i = 0; i < p.len; i++) {
        if (p.base[i] == '\0' || (p.base[i] == '/' && i + 1 < p.len && p.base[i + 1] == '.')) {
            ea_http_send_error(req, 404, "not_found", "no such file");
            return 0;
        }
    }
    char index[PATH_MAX], file[PATH_MAX];
    int n = snprintf(index, sizeof(index), "%s/index.html", st->dir);
    if (n < 0 || (size_t)n >= sizeof(index) || !is_file(index)) {
        ea_http_send_error(req, 404, "dashboard_not_built",
                           "the dashboard is not built: run `npm --prefix web run build` "
                           "(WEB_DIST_DIR=%s)",
                           st->dir);
        return 0;
    }
    n = snprintf(file, sizeof(file), "%s%.*s%s", st->dir, (int)p.len, p.base,
                 p.len > 0 && p.base[p.len - 1] == '/' ? "index.html" : "");
    bool found = n > 0 && (size_t)n < sizeof(file) && is_file(file);
    if (!found) {
        /* a path whose last segment has an extension names a file that is missing: 404;
         * anything else is a dashboard route: index.html */
        const char *last = memrchr(p.base, '/', p.len);
        size_t off = last != NULL ? (size_t)(last - p.base) : 0;
        if (memchr(p.base + off, '.', p.len - off) != NULL) {
            ea_http_send_error(req, 404, "not_found", "no such file");
            return 0;
        }
        snprintf(file, sizeof(file), "%s", index);
    }
    bool asset = found && p.len > 8 && memcmp(p.base, "/assets/", 8) == 0;
    ea_http_add_header(req, "Cache-Control",
                       asset ? "public, max-age=31536000, immutable" : "no-cache");
    gql_headers_set(req, asset ? GQL_HEADERS_ASSET : GQL_HEADERS_DASHBOARD); /* nosniff, CSP */
    if (h2o_file_send(req, 200, "OK", file, mime_of(st, file), 0) != 0) {
        ea_log_warn(file, "could not open %s", file);
        ea_http_send_error(req, 404, "not_found", "no such file");
    }
    return 0;
}

void gql_static_register(ea_http_server *s, const char *dist_dir)
{
    if (dist_dir == NULL || dist_dir[0] == '\0')
        return;
    static struct gql_static st; /* one per process, lives as long as the server */
    st.dir = dist_dir;
    st.mimemap = h2o_mimemap_create();
    ea_http_route(s, "/", on_static, &st);
}
