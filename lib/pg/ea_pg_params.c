/*
 * ea_pg_params.c — the statement parameter builder and the array literal codec (see
 * ea_pg_params.h). An array parameter always holds a complete literal ending in '}': appending
 * an element replaces that brace, so the values can be handed to libpq at any moment.
 */
#include "ea_pg_params.h"
#include "ea_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ea_pg_params {
    ea_buf v[EA_PG_PARAMS_MAX];
    size_t elems[EA_PG_PARAMS_MAX]; /* array parameters: elements so far */
    bool null[EA_PG_PARAMS_MAX];
    bool array[EA_PG_PARAMS_MAX];
    const char *ptrs[EA_PG_PARAMS_MAX];
    int n;
    bool overflow; /* a parameter past EA_PG_PARAMS_MAX was asked for */
};

ea_pg_params *ea_pg_params_new(void)
{
    ea_pg_params *p = calloc(1, sizeof(ea_pg_params));
    for (int i = 0; p != NULL && i < EA_PG_PARAMS_MAX; i++)
        ea_buf_init(&p->v[i], EA_PG_VALUE_MAX);
    return p;
}

void ea_pg_params_free(ea_pg_params *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < EA_PG_PARAMS_MAX; i++)
        ea_buf_free(&p->v[i]);
    free(p);
}

void ea_pg_params_reset(ea_pg_params *p)
{
    for (int i = 0; i < p->n; i++) {
        ea_buf_reset(&p->v[i]);
        p->null[i] = p->array[i] = false;
        p->elems[i] = 0;
    }
    p->n = 0;
    p->overflow = false;
}

int ea_pg_params_count(const ea_pg_params *p)
{
    return p->n;
}

/* The next parameter's buffer (emptied), or NULL past the maximum. */
static ea_buf *next(ea_pg_params *p, int *n)
{
    if (p->n >= EA_PG_PARAMS_MAX) {
        p->overflow = true;
        *n = EA_PG_PARAMS_MAX; /* a valid index for callers that ignore the failure */
        return NULL;
    }
    int i = p->n++;
    ea_buf_reset(&p->v[i]);
    p->null[i] = p->array[i] = false;
    p->elems[i] = 0;
    *n = i + 1;
    return &p->v[i];
}

int ea_pg_params_textn(ea_pg_params *p, const char *s, size_t len)
{
    int n;
    ea_buf *b = next(p, &n);
    if (b == NULL)
        return n;
    if (s == NULL)
        p->null[n - 1] = true;
    else
        ea_buf_append(b, s, len);
    /* an empty text must still be a string, not a NULL pointer */
    if (!p->null[n - 1] && b->cap == 0)
        ea_buf_append(b, "", 0);
    return n;
}

int ea_pg_params_text(ea_pg_params *p, const char *s)
{
    return ea_pg_params_textn(p, s, s != NULL ? strlen(s) : 0);
}

int ea_pg_params_i64(ea_pg_params *p, int64_t v)
{
    char t[EA_BUF_I64_LEN];
    return ea_pg_params_textn(p, t, ea_buf_fmt_i64(t, v));
}

int ea_pg_params_ts(ea_pg_params *p, int64_t unix_ms)
{
    char t[48];
    ea_buf b;
    ea_buf_init_storage(&b, t, sizeof(t), sizeof(t) - 1);
    ea_pg_buf_put_ts(&b, unix_ms);
    return ea_pg_params_textn(p, ea_buf_str(&b), b.len);
}

int ea_pg_params_array(ea_pg_params *p)
{
    int n;
    ea_buf *b = next(p, &n);
    if (b != NULL) {
        p->array[n - 1] = true;
        ea_buf_puts(b, "{}");
    }
    return n;
}

/* The array buffer of parameter n opened for one more element (its closing brace removed and
 * a separator added), or NULL when n is not an array. ea_pg_array_end puts the brace back. */
static ea_buf *elem_begin(ea_pg_params *p, int n)
{
    if (n < 1 || n > p->n || !p->array[n - 1]) {
        p->overflow = true;
        return NULL;
    }
    ea_buf *b = &p->v[n - 1];
    if (b->len > 0)
        b->len--; /* the '}' */
    if (p->elems[n - 1]++ > 0)
        ea_buf_putc(b, ',');
    return b;
}

static void elem_end(ea_buf *b)
{
    ea_buf_putc(b, '}');
}

/* One element written as it is (a number, NULL, t/f: nothing to quote). */
static void elem_raw(ea_pg_params *p, int n, const char *text, size_t len)
{
    ea_buf *b = elem_begin(p, n);
    if (b == NULL)
        return;
    ea_buf_append(b, text, len);
    elem_end(b);
}

void ea_pg_array_text(ea_pg_params *p, int n, const char *s, size_t len)
{
    ea_buf *b = elem_begin(p, n);
    if (b == NULL)
        return;
    ea_pg_buf_array_elem(b, s, len);
    elem_end(b);
}

void ea_pg_array_cstr(ea_pg_params *p, int n, const char *s)
{
    if (s == NULL)
        ea_pg_array_null(p, n);
    else
        ea_pg_array_text(p, n, s, strlen(s));
}

void ea_pg_array_null(ea_pg_params *p, int n)
{
    elem_raw(p, n, "NULL", 4);
}

void ea_pg_array_i64(ea_pg_params *p, int n, int64_t v)
{
    char t[EA_BUF_I64_LEN];
    elem_raw(p, n, t, ea_buf_fmt_i64(t, v));
}

void ea_pg_array_f64(ea_pg_params *p, int n, double v)
{
    char t[32];
    int k = snprintf(t, sizeof(t), "%.17g", v);
    elem_raw(p, n, t, k > 0 ? (size_t)k : 0);
}

void ea_pg_array_ts(ea_pg_params *p, int n, int64_t unix_ms)
{
    char t[48];
    ea_buf b;
    ea_buf_init_storage(&b, t, sizeof(t), sizeof(t) - 1);
    ea_pg_buf_put_ts(&b, unix_ms);
    elem_raw(p, n, ea_buf_str(&b), b.len);
}

void ea_pg_array_bool(ea_pg_params *p, int n, bool v)
{
    elem_raw(p, n, v ? "t" : "f", 1);
}

void ea_pg_array_bytea(ea_pg_params *p, int n, const uint8_t *bytes, size_t len)
{
    if (bytes == NULL) {
        ea_pg_array_null(p, n);
        return;
    }
    ea_buf *b = elem_begin(p, n);
    if (b == NULL)
        return;
    /* "\\x..": the element is quoted, so its backslash is escaped */
    ea_buf_puts(b, "\"\\");
    ea_pg_buf_bytea_hex(b, bytes, len);
    ea_buf_putc(b, '"');
    elem_end(b);
}

size_t ea_pg_array_len(const ea_pg_params *p, int n)
{
    return n >= 1 && n <= p->n ? p->elems[n - 1] : 0;
}

bool ea_pg_params_failed(const ea_pg_params *p)
{
    if (p->overflow)
        return true;
    for (int i = 0; i < p->n; i++)
        if (!ea_buf_ok(&p->v[i]))
            return true;
    return false;
}

const char *const *ea_pg_params_values(ea_pg_params *p)
{
    if (ea_pg_params_failed(p))
        return NULL;
    for (int i = 0; i < p->n; i++)
        p->ptrs[i] = p->null[i] ? NULL : p->v[i].p;
    return p->ptrs;
}

static PGresult *exec_fmt(PGconn *c, const char *sql, ea_pg_params *p, ExecStatusType expect,
                          int result_format, struct ea_err *err)
{
    const char *const *values = ea_pg_params_values(p);
    if (values == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not run query: out of memory building parameters");
        return NULL;
    }
    PGresult *res = PQexecParams(c, sql, p->n, NULL, values, NULL, NULL, result_format);
    if (ea_pg_result_check(res, expect, "run query", err) != EA_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *ea_pg_params_exec(PGconn *c, const char *sql, ea_pg_params *p, ExecStatusType expect,
                            struct ea_err *err)
{
    return exec_fmt(c, sql, p, expect, 0, err);
}

PGresult *ea_pg_params_exec_binary(PGconn *c, const char *sql, ea_pg_params *p,
                                   ExecStatusType expect, struct ea_err *err)
{
    return exec_fmt(c, sql, p, expect, 1, err);
}

void ea_pg_buf_array(ea_buf *b, const char *const *items, size_t n)
{
    ea_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            ea_buf_putc(b, ',');
        if (items[i] == NULL)
            ea_buf_puts(b, "NULL");
        else
            ea_pg_buf_array_elem(b, items[i], strlen(items[i]));
    }
    ea_buf_putc(b, '}');
}

/* ---- decoding ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One pass of the decoder: counts elements and string bytes (out == NULL), or fills out. */
static bool decode_pass(const char *s, char **ptrs, char *store, size_t *nelems, size_t *nbytes)
{
    size_t n = 0, bytes = 0;
    const char *q = s;
    while (is_space(*q))
        q++;
    if (*q++ != '{')
        return false;
    while (is_space(*q))
        q++;
    if (*q == '}') {
        q++;
    } else {
        for (;;) {
            while (is_space(*q))
                q++;
            char *dst = store != NULL ? store + bytes : NULL;
            bool null = false;
            if (*q == '"') {
                for (q++; *q != '"'; q++) {
                    if (*q == '\0')
                        return false;
                    if (*q == '\\' && *++q == '\0')
                        return false;
                    if (store != NULL)
                        store[bytes] = *q;
                    bytes++;
                }
                q++;
                while (is_space(*q))
                    q++;
            } else {
                const char *start = q;
                while (*q != ',' && *q != '}' && *q != '\0') {
                    if (*q == '{' || *q == '"')
                        return false; /* nested arrays or a stray quote */
                    if (*q == '\\' && *++q == '\0')
                        return false;
                    q++;
                }
                const char *end = q;
                while (end > start && is_space(end[-1]))
                    end--;
                if (end == start)
                    return false; /* an empty unquoted element */
                null = end - start == 4 && strncasecmp(start, "NULL", 4) == 0;
                if (!null)
                    for (const char *c = start; c < end; c++) {
                        if (*c == '\\')
                            c++;
                        if (store != NULL)
                            store[bytes] = *c;
                        bytes++;
                    }
            }
            if (ptrs != NULL)
                ptrs[n] = null ? NULL : dst;
            if (!null) {
                if (store != NULL)
                    store[bytes] = '\0';
                bytes++;
            }
            n++;
            if (*q == ',') {
                q++;
                continue;
            }
            if (*q == '}') {
                q++;
                break;
            }
            return false;
        }
    }
    while (is_space(*q))
        q++;
    if (*q != '\0')
        return false;
    *nelems = n;
    *nbytes = bytes;
    return true;
}

char **ea_pg_array_decode(const char *text, size_t *n, struct ea_err *err)
{
    size_t count, bytes;
    *n = 0;
    if (text == NULL || !decode_pass(text, NULL, NULL, &count, &bytes)) {
        ea_err_set(err, EA_ERR_INVALID, "could not decode array: not a one-dimensional array");
        return NULL;
    }
    size_t head = (count + 1) * sizeof(char *);
    char **ptrs = malloc(head + bytes + 1);
    if (ptrs == NULL) {
        ea_err_set(err, EA_ERR_NOMEM, "could not decode array: out of memory");
        return NULL;
    }
    char *store = (char *)ptrs + head;
    if (!decode_pass(text, ptrs, store, &count, &bytes)) { /* cannot differ from the count */
        free(ptrs);
        ea_err_set(err, EA_ERR_INVALID, "could not decode array: not a one-dimensional array");
        return NULL;
    }
    ptrs[count] = NULL;
    *n = count;
    return ptrs;
}
