/*
 * ea_gql_util.c — small helpers the stages share: the cap of built texts (ea_buf), graphql-js
 * compatible printing of value literals (print/printString/printBlockString), of JSON values
 * (inspect) and of numbers (JavaScript Number#toString), "Did you mean" suggestions (graphql-js
 * suggestionList with its lexical distance), and GraphQL error objects. Not for: anything with
 * state of its own.
 */
#include "ea_gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ea_gql__text_max(const ea_gql_limits *l)
{
    return l != NULL && l->max_response_bytes > 0 ? l->max_response_bytes : EA_GQL__TEXT_MAX;
}

void ea_gql__print_string(ea_buf *b, const char *s, size_t n)
{
    ea_buf_append(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t chunk = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = u[i];
        const char *esc = NULL;
        char tmp[8];
        unsigned cp = 0;
        size_t skip = 1;
        if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f) {
            cp = c;
        } else if (c == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            cp = u[i + 1];
            skip = 2;
        } else {
            continue;
        }
        switch (cp) {
        case '\b':
            esc = "\\b";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        default:
            snprintf(tmp, sizeof(tmp), "\\u%04X", cp);
            esc = tmp;
        }
        ea_buf_append(b, s + chunk, i - chunk);
        ea_buf_puts(b, esc);
        i += skip - 1;
        chunk = i + 1;
    }
    ea_buf_append(b, s + chunk, n - chunk);
    ea_buf_append(b, "\"", 1);
}

static bool is_ws(int c)
{
    return c == ' ' || c == '\t';
}

/* graphql-js printBlockString (not minimized). */
static void print_block_string(ea_buf *b, const char *s, size_t n)
{
    ea_buf esc;
    ea_buf_init_arena(&esc, b->arena, b->max);
    size_t nlines = 1;
    bool lead_ws_all = true; /* every line after the first is empty or starts with whitespace */
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && s[i] == '"' && s[i + 1] == '"' && s[i + 2] == '"') {
            ea_buf_puts(&esc, "\\\"\"\"");
            i += 2;
            continue;
        }
        ea_buf_append(&esc, s + i, 1);
        if (s[i] == '\n' || s[i] == '\r') {
            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
                ea_buf_append(&esc, s + ++i, 1);
            nlines++;
            if (i + 1 < n && !is_ws(s[i + 1]) && s[i + 1] != '\n' && s[i + 1] != '\r')
                lead_ws_all = false;
        }
    }
    const char *e = ea_buf_str(&esc);
    bool single = nlines == 1;
    bool force_lead = nlines > 1 && lead_ws_all;
    bool trail_triple = esc.len >= 4 && strcmp(e + esc.len - 4, "\\\"\"\"") == 0;
    bool trail_quote = n > 0 && s[n - 1] == '"' && !trail_triple;
    bool trail_slash = n > 0 && s[n - 1] == '\\';
    bool force_trail = trail_quote || trail_slash;
    bool multi = !single || n > 70 || force_trail || force_lead || trail_triple;
    bool skip_lead = single && n > 0 && is_ws(s[0]);
    ea_buf_puts(b, "\"\"\"");
    if ((multi && !skip_lead) || force_lead)
        ea_buf_puts(b, "\n");
    ea_buf_append(b, e, esc.len);
    if (multi || force_trail)
        ea_buf_puts(b, "\n");
    ea_buf_puts(b, "\"\"\"");
}

void ea_gql__print_value(ea_buf *b, const ea_gql__value *v)
{
    switch (v->kind) {
    case EA_GQL__V_VARIABLE:
        ea_buf_puts(b, "$");
        ea_buf_puts(b, v->str);
        break;
    case EA_GQL__V_INT:
    case EA_GQL__V_FLOAT:
    case EA_GQL__V_ENUM:
        ea_buf_puts(b, v->str);
        break;
    case EA_GQL__V_STRING:
        if (v->block)
            print_block_string(b, v->str, v->len);
        else
            ea_gql__print_string(b, v->str, v->len);
        break;
    case EA_GQL__V_BOOLEAN:
        ea_buf_puts(b, v->boolean ? "true" : "false");
        break;
    case EA_GQL__V_NULL:
        ea_buf_puts(b, "null");
        break;
    case EA_GQL__V_LIST:
        ea_buf_puts(b, "[");
        for (const ea_gql__value *it = v->items; it; it = it->next) {
            ea_gql__print_value(b, it);
            if (it->next)
                ea_buf_puts(b, ", ");
        }
        ea_buf_puts(b, "]");
        break;
    case EA_GQL__V_OBJECT:
        ea_buf_puts(b, "{");
        for (const ea_gql__objfield *f = v->fields; f; f = f->next) {
            ea_buf_puts(b, f->name);
            ea_buf_puts(b, ": ");
            ea_gql__print_value(b, f->value);
            if (f->next)
                ea_buf_puts(b, ", ");
        }
        ea_buf_puts(b, "}");
        break;
    }
}

void ea_gql__js_number(ea_buf *b, double d)
{
    if (d != d) {
        ea_buf_puts(b, "NaN");
        return;
    }
    if (d == 0) {
        ea_buf_puts(b, "0");
        return;
    }
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
        ea_buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    /* shortest round-trip digits */
    char tmp[64];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
    char digits[32];
    size_t nd = 0;
    const char *q = tmp;
    bool neg = *q == '-';
    if (neg)
        q++;
    for (; *q && *q != 'e'; q++) {
        if (*q >= '0' && *q <= '9')
            digits[nd++] = *q;
    }
    int exp10 = (int)strtol(q + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int n = exp10 + 1; /* position of the decimal point relative to the digits */
    if (neg)
        ea_buf_puts(b, "-");
    if (n >= (int)nd && n <= 21) {
        ea_buf_append(b, digits, nd);
        for (int i = (int)nd; i < n; i++)
            ea_buf_puts(b, "0");
    } else if (n > 0 && n <= 21) {
        ea_buf_append(b, digits, (size_t)n);
        ea_buf_puts(b, ".");
        ea_buf_append(b, digits + n, nd - (size_t)n);
    } else if (n > -6 && n <= 0) {
        ea_buf_puts(b, "0.");
        for (int i = 0; i < -n; i++)
            ea_buf_puts(b, "0");
        ea_buf_append(b, digits, nd);
    } else {
        ea_buf_append(b, digits, 1);
        if (nd > 1) {
            ea_buf_puts(b, ".");
            ea_buf_append(b, digits + 1, nd - 1);
        }
        ea_buf_printf(b, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
}

static void inspect(ea_buf *b, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        ea_buf_puts(b, s ? s : "\"\"");
        free(s);
        break;
    }
    case JSON_INTEGER:
        ea_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        ea_gql__js_number(b, json_real_value(v));
        break;
    case JSON_TRUE:
        ea_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        ea_buf_puts(b, "false");
        break;
    case JSON_NULL:
        ea_buf_puts(b, "null");
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) {
            ea_buf_puts(b, "[]");
            break;
        }
        if (depth > 2) {
            ea_buf_puts(b, "[Array]");
            break;
        }
        ea_buf_puts(b, "[");
        size_t shown = n > 10 ? 10 : n;
        for (size_t i = 0; i < shown; i++) {
            if (i)
                ea_buf_puts(b, ", ");
            inspect(b, json_array_get(v, i), depth + 1);
        }
        if (n > shown)
            ea_buf_printf(b, ", ... %zu more item%s", n - shown, n - shown > 1 ? "s" : "");
        ea_buf_puts(b, "]");
        break;
    }
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            ea_buf_puts(b, "{}");
            break;
        }
        if (depth > 2) {
            ea_buf_puts(b, "[Object]");
            break;
        }
        ea_buf_puts(b, "{ ");
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x)
        {
            if (!first)
                ea_buf_puts(b, ", ");
            first = false;
            ea_buf_puts(b, k);
            ea_buf_puts(b, ": ");
            inspect(b, x, depth + 1);
        }
        ea_buf_puts(b, " }");
        break;
    }
    }
}

void ea_gql__inspect_json(ea_buf *b, const json_t *v)
{
    inspect(b, v, 1);
}

/* ---------------------------------------------------------------- suggestions */

static int lexical_distance(const char *in, const char *opt, int threshold)
{
    if (strcmp(in, opt) == 0)
        return 0;
    size_t la = strlen(opt), lb = strlen(in);
    if (la > 256 || lb > 256)
        return -1;
    char a[257], b[257];
    for (size_t i = 0; i <= la; i++)
        a[i] = (char)((opt[i] >= 'A' && opt[i] <= 'Z') ? opt[i] + 32 : opt[i]);
    for (size_t i = 0; i <= lb; i++)
        b[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    if (strcmp(a, b) == 0)
        return 1;
    const char *A = a, *B = b;
    if (la < lb) {
        A = b, B = a;
        size_t t = la;
        la = lb, lb = t;
    }
    if ((int)(la - lb) > threshold)
        return -1;
    int rows[3][258];
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int *up = rows[(i - 1) % 3], *cur = rows[i % 3];
        int smallest = cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = A[i - 1] == B[j - 1] ? 0 : 1;
            int c = up[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            if (up[j - 1] + cost < c)
                c = up[j - 1] + cost;
            if (i > 1 && j > 1 && A[i - 1] == B[j - 2] && A[i - 2] == B[j - 1]) {
                int dd = rows[(i - 2) % 3][j - 2] + 1;
                if (dd < c)
                    c = dd;
            }
            if (c < smallest)
                smallest = c;
            cur[j] = c;
        }
        if (smallest > threshold)
            return -1;
    }
    int d = rows[la % 3][lb];
    return d <= threshold ? d : -1;
}

/* graphql-js naturalCompare: digit runs compare numerically. */
static int natural_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            unsigned long long x = 0, y = 0;
            while (*a >= '0' && *a <= '9')
                x = x * 10 + (unsigned)(*a++ - '0');
            while (*b >= '0' && *b <= '9')
                y = y * 10 + (unsigned)(*b++ - '0');
            if (x != y)
                return x < y ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++, b++;
    }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

const char *ea_gql__did_you_mean(ea_arena *a, const char *input, const char *const *cands, size_t n,
                                 const char *prefix)
{
    int threshold = (int)(strlen(input) * 4 / 10) + 1;
    const char **sel = ea_arena_alloc(a, sizeof(*sel) * (n + 1));
    int *dist = ea_arena_alloc(a, sizeof(*dist) * (n + 1));
    if (sel == NULL || dist == NULL)
        return "";
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < m; j++)
            dup |= strcmp(sel[j], cands[i]) == 0;
        if (dup)
            continue;
        int d = lexical_distance(input, cands[i], threshold);
        if (d < 0)
            continue;
        /* insertion sort by (distance, natural order) */
        size_t k = m++;
        while (k > 0 && (dist[k - 1] > d ||
                         (dist[k - 1] == d && natural_compare(sel[k - 1], cands[i]) > 0))) {
            sel[k] = sel[k - 1];
            dist[k] = dist[k - 1];
            k--;
        }
        sel[k] = cands[i];
        dist[k] = d;
    }
    return ea_gql__did_you_mean_list(a, sel, m, prefix);
}

const char *ea_gql__did_you_mean_list(ea_arena *a, const char *const *sel, size_t m,
                                      const char *prefix)
{
    if (m == 0)
        return "";
    ea_buf b;
    ea_buf_init_arena(&b, a, EA_GQL__TEXT_MAX);
    ea_buf_puts(&b, " Did you mean ");
    if (prefix) {
        ea_buf_puts(&b, prefix);
        ea_buf_puts(&b, " ");
    }
    if (m > 5)
        m = 5;
    for (size_t i = 0; i < m; i++) {
        if (i > 0)
            ea_buf_puts(&b, m == 2 ? " or " : (i == m - 1 ? ", or " : ", "));
        ea_buf_printf(&b, "\"%s\"", sel[i]);
    }
    ea_buf_puts(&b, "?");
    return ea_buf_str(&b);
}

int ea_gql__natural_compare(const char *a, const char *b)
{
    return natural_compare(a, b);
}

json_t *ea_gql__error_new(const char *message, const ea_gql__loc *locs, size_t nlocs, json_t *path,
                          const char *code)
{
    json_t *e = json_object();
    if (e == NULL) {
        json_decref(path);
        return NULL;
    }
    json_t *m = json_string(message);
    if (m == NULL) /* not valid UTF-8: keep the error readable */
        m = json_string("invalid error message");
    json_object_set_new(e, "message", m);
    if (nlocs > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nlocs; i++)
            json_array_append_new(
                arr, json_pack("{s:i,s:i}", "line", (int)locs[i].line, "column", (int)locs[i].col));
        json_object_set_new(e, "locations", arr);
    }
    if (path != NULL)
        json_object_set_new(e, "path", path);
    if (code != NULL)
        json_object_set_new(e, "extensions", json_pack("{s:s}", "code", code));
    return e;
}
