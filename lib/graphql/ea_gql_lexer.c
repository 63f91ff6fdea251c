/*
 * ea_gql_lexer.c — turns GraphQL source text into tokens (October 2021 spec, graphql-js 16
 * behaviour and error wording). Handles punctuators, names, numbers, strings with escapes
 * (\uXXXX, surrogate pairs, \u{...}), block strings with indentation removal, comments, BOM,
 * commas, and reports 1-based line/column positions counted in UTF-16 units like JavaScript.
 * Input must be valid UTF-8 (decoded values go into jansson strings). Not for: deciding what
 * tokens mean (ea_gql_parser.c) or limits (the parser counts tokens).
 */
#include "ea_gql_int.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_desc[] = {
    [EA_GQL__T_SOF] = "<SOF>",
    [EA_GQL__T_EOF] = "<EOF>",
    [EA_GQL__T_BANG] = "\"!\"",
    [EA_GQL__T_DOLLAR] = "\"$\"",
    [EA_GQL__T_AMP] = "\"&\"",
    [EA_GQL__T_PAREN_L] = "\"(\"",
    [EA_GQL__T_PAREN_R] = "\")\"",
    [EA_GQL__T_SPREAD] = "\"...\"",
    [EA_GQL__T_COLON] = "\":\"",
    [EA_GQL__T_EQUALS] = "\"=\"",
    [EA_GQL__T_AT] = "\"@\"",
    [EA_GQL__T_BRACKET_L] = "\"[\"",
    [EA_GQL__T_BRACKET_R] = "\"]\"",
    [EA_GQL__T_BRACE_L] = "\"{\"",
    [EA_GQL__T_PIPE] = "\"|\"",
    [EA_GQL__T_BRACE_R] = "\"}\"",
    [EA_GQL__T_NAME] = "Name",
    [EA_GQL__T_INT] = "Int",
    [EA_GQL__T_FLOAT] = "Float",
    [EA_GQL__T_STRING] = "String",
    [EA_GQL__T_BLOCK_STRING] = "BlockString",
    [EA_GQL__T_COMMENT] = "Comment",
};

const char *ea_gql__tok_kind_desc(ea_gql__tok_kind k)
{
    return kind_desc[k];
}

void ea_gql__lexer_init(ea_gql__lexer *lx, const char *src, size_t len, ea_arena *a)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->arena = a;
    /* a UTF-8 byte order mark is ignored */
    if (len >= 3 && (unsigned char)src[0] == 0xEF && (unsigned char)src[1] == 0xBB &&
        (unsigned char)src[2] == 0xBF) {
        lx->pos = 3;
    }
}

/* Location of byte offset p on the current line (p >= line_start). */
static ea_gql__loc loc_at(ea_gql__lexer *lx, size_t p)
{
    if (p < lx->col_pos || lx->col_pos < lx->line_start) {
        lx->col_pos = lx->line_start;
        lx->col_units = 0;
    }
    const unsigned char *s = (const unsigned char *)lx->src;
    for (size_t i = lx->col_pos; i < p; i++) {
        if ((s[i] & 0xC0) != 0x80)
            lx->col_units += s[i] >= 0xF0 ? 2 : 1;
    }
    lx->col_pos = p;
    ea_gql__loc l = {lx->line, lx->col_units + 1};
    return l;
}

static void new_line(ea_gql__lexer *lx, size_t next_line_start)
{
    lx->line++;
    lx->line_start = next_line_start;
    lx->col_pos = next_line_start;
    lx->col_units = 0;
}

/* Decodes one UTF-8 code point at p; returns its length (0 when invalid or at the end). */
static size_t utf8_decode(const ea_gql__lexer *lx, size_t p, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)lx->src + p;
    size_t avail = lx->len - p;
    if (avail == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

static int fail(ea_gql__lexer *lx, size_t p, const char *fmt, const char *arg)
{
    lx->err_loc = loc_at(lx, p);
    snprintf(lx->err, sizeof(lx->err), fmt, arg);
    return -1;
}

/* graphql-js printCodePointAt: "x" for printable ASCII, U+XXXX otherwise, <EOF> at the end. */
static void print_cp_at(ea_gql__lexer *lx, size_t p, char *out, size_t n)
{
    uint32_t cp;
    if (p >= lx->len) {
        snprintf(out, n, "<EOF>");
        return;
    }
    size_t l = utf8_decode(lx, p, &cp);
    if (l == 0)
        cp = 0xFFFD;
    if (cp >= 0x20 && cp <= 0x7E)
        snprintf(out, n, cp == '"' ? "'\"'" : "\"%c\"", (char)cp);
    else
        snprintf(out, n, "U+%04X", (unsigned)cp);
}

static int fail_cp(ea_gql__lexer *lx, size_t p, const char *fmt)
{
    char buf[16];
    print_cp_at(lx, p, buf, sizeof(buf));
    return fail(lx, p, fmt, buf);
}

static bool is_name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int peekc(const ea_gql__lexer *lx, size_t p)
{
    return p < lx->len ? (unsigned char)lx->src[p] : -1;
}

/* Growable byte buffer for decoded string values. */
/* Decoded string values are built in an ea_buf in the lexer's arena, capped at the source's
 * length: a decoded string is never longer than its text (escapes only shrink). */
static int sbuf_add(ea_buf *b, const char *s, size_t n)
{
    return ea_buf_append(b, s, n) ? 0 : -1;
}

static int sbuf_add_cp(ea_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return sbuf_add(b, u, n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p; -1 when not all are hex. */
static long read_hex4(const ea_gql__lexer *lx, size_t p)
{
    if (p + 4 > lx->len)
        return -1;
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = hexval((unsigned char)lx->src[p + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static int fail_escape(ea_gql__lexer *lx, size_t p, size_t n, bool unicode)
{
    char tmp[64];
    if (p + n > lx->len)
        n = lx->len - p;
    if (n > 40)
        n = 40;
    memcpy(tmp, lx->src + p, n);
    tmp[n] = '\0';
    return fail(lx, p,
                unicode ? "Invalid Unicode escape sequence: \"%s\"."
                        : "Invalid character escape sequence: \"%s\".",
                tmp);
}

/* Decodes an escape starting at the backslash at p; appends it and advances *pp. */
static int read_escape(ea_gql__lexer *lx, size_t *pp, ea_buf *b)
{
    size_t p = *pp;
    int c = peekc(lx, p + 1);
    const char *simple = NULL;
    switch (c) {
    case '"':
        simple = "\"";
        break;
    case '\\':
        simple = "\\";
        break;
    case '/':
        simple = "/";
        break;
    case 'b':
        simple = "\b";
        break;
    case 'f':
        simple = "\f";
        break;
    case 'n':
        simple = "\n";
        break;
    case 'r':
        simple = "\r";
        break;
    case 't':
        simple = "\t";
        break;
    default:
        break;
    }
    if (simple != NULL) {
        *pp = p + 2;
        return sbuf_add(b, simple, 1);
    }
    if (c != 'u')
        return fail_escape(lx, p, 2, false);
    if (peekc(lx, p + 2) == '{') {
        /* variable-width \u{...} */
        uint32_t cp = 0;
        size_t q = p + 3;
        int h;
        while (q < lx->len && (h = hexval((unsigned char)lx->src[q])) >= 0) {
            cp = cp * 16 + (uint32_t)h;
            q++;
            if (cp > 0x10FFFF)
                return fail_escape(lx, p, q - p, true);
        }
        if (q == p + 3 || peekc(lx, q) != '}' || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_escape(lx, p, q - p + (peekc(lx, q) == '}' ? 1 : 0), true);
        *pp = q + 1;
        return sbuf_add_cp(b, cp);
    }
    long v = read_hex4(lx, p + 2);
    if (v < 0)
        return fail_escape(lx, p, 6, true);
    uint32_t cp = (uint32_t)v;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* a leading surrogate must be followed by \u + trailing surrogate */
        if (peekc(lx, p + 6) == '\\' && peekc(lx, p + 7) == 'u') {
            long t = read_hex4(lx, p + 8);
            if (t >= 0xDC00 && t <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)t - 0xDC00);
                *pp = p + 12;
                return sbuf_add_cp(b, cp);
            }
        }
        return fail_escape(lx, p, 6, true);
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_escape(lx, p, 6, true);
    *pp = p + 6;
    return sbuf_add_cp(b, cp);
}

/* Steps over one UTF-8 character of a string's source; fails on an invalid sequence. */
static int skip_utf8(ea_gql__lexer *lx, size_t *pp)
{
    uint32_t cp;
    size_t n = utf8_decode(lx, *pp, &cp);
    if (n == 0)
        return fail(lx, *pp, "%s", "Invalid UTF-8 byte sequence.");
    *pp += n;
    return 0;
}

static int read_string(ea_gql__lexer *lx, size_t start, ea_gql__token *t)
{
    ea_buf b;
    ea_buf_init_arena(&b, lx->arena, lx->len);
    size_t p = start + 1, chunk = p;
    while (p < lx->len) {
        int c = (unsigned char)lx->src[p];
        if (c == '"') {
            if (sbuf_add(&b, lx->src + chunk, p - chunk) < 0)
                return fail(lx, start, "%s", "out of memory");
            t->kind = EA_GQL__T_STRING;
            t->end = p + 1;
            t->value = ea_buf_str(&b);
            t->value_len = b.len;
            return 0;
        }
        if (c == '\\') {
            if (sbuf_add(&b, lx->src + chunk, p - chunk) < 0)
                return fail(lx, start, "%s", "out of memory");
            if (read_escape(lx, &p, &b) < 0)
                return -1;
            chunk = p;
            continue;
        }
        if (c == '\n' || c == '\r')
            break;
        if (skip_utf8(lx, &p) < 0)
            return -1;
    }
    return fail(lx, p, "%s", "Unterminated string.");
}

static size_t leading_ws(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* graphql-js dedentBlockStringLines over the raw (escape-resolved) block string text. */
static int block_dedent(ea_gql__lexer *lx, const char *raw, size_t n, ea_gql__token *t)
{
    /* split into lines on \r\n, \n, \r */
    size_t nlines = 1;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '\n' || (raw[i] == '\r' && !(i + 1 < n && raw[i + 1] == '\n')))
            nlines++;
    }
    size_t *ls = ea_arena_alloc(lx->arena, sizeof(size_t) * nlines * 2);
    if (ls == NULL)
        return -1;
    size_t li = 0, s0 = 0;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '\n' || raw[i] == '\r') {
            ls[2 * li] = s0, ls[2 * li + 1] = i - s0, li++;
            if (raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n')
                i++;
            s0 = i + 1;
        }
    }
    ls[2 * li] = s0, ls[2 * li + 1] = n - s0, li++;
    size_t common = (size_t)-1;
    long first = -1, last = -1;
    for (size_t i = 0; i < nlines; i++) {
        size_t ind = leading_ws(raw + ls[2 * i], ls[2 * i + 1]);
        if (ind == ls[2 * i + 1])
            continue;
        if (first < 0)
            first = (long)i;
        last = (long)i;
        if (i != 0 && ind < common)
            common = ind;
    }
    ea_buf b;
    ea_buf_init_arena(&b, lx->arena, lx->len);
    if (first >= 0) {
        for (long i = first; i <= last; i++) {
            const char *l = raw + ls[2 * i];
            size_t ll = ls[2 * i + 1];
            if (i != 0) {
                size_t cut = common < ll ? common : ll;
                l += cut, ll -= cut;
            }
            if (i != first && sbuf_add(&b, "\n", 1) < 0)
                return -1;
            if (sbuf_add(&b, l, ll) < 0)
                return -1;
        }
    }
    t->value = ea_buf_str(&b);
    t->value_len = b.len;
    return 0;
}

static int read_block_string(ea_gql__lexer *lx, size_t start, ea_gql__token *t)
{
    ea_buf raw;
    ea_buf_init_arena(&raw, lx->arena, lx->len);
    size_t p = start + 3, chunk = p;
    while (p < lx->len) {
        int c = (unsigned char)lx->src[p];
        if (c == '"' && peekc(lx, p + 1) == '"' && peekc(lx, p + 2) == '"') {
            if (sbuf_add(&raw, lx->src + chunk, p - chunk) < 0 ||
                block_dedent(lx, ea_buf_str(&raw), raw.len, t) < 0)
                return fail(lx, start, "%s", "out of memory");
            t->kind = EA_GQL__T_BLOCK_STRING;
            t->end = p + 3;
            return 0;
        }
        if (c == '\\' && peekc(lx, p + 1) == '"' && peekc(lx, p + 2) == '"' &&
            peekc(lx, p + 3) == '"') {
            if (sbuf_add(&raw, lx->src + chunk, p - chunk) < 0 || sbuf_add(&raw, "\"\"\"", 3) < 0)
                return fail(lx, start, "%s", "out of memory");
            p += 4;
            chunk = p;
            continue;
        }
        if (c == '\n' || c == '\r') {
            size_t nl = (c == '\r' && peekc(lx, p + 1) == '\n') ? 2 : 1;
            p += nl;
            new_line(lx, p);
            continue;
        }
        if (skip_utf8(lx, &p) < 0)
            return -1;
    }
    return fail(lx, p, "%s", "Unterminated string.");
}

/* Reads digits at *pp; fails unless at least one. */
static int read_digits(ea_gql__lexer *lx, size_t *pp)
{
    size_t p = *pp;
    if (!is_digit(peekc(lx, p)))
        return fail_cp(lx, p, "Invalid number, expected digit but got: %s.");
    while (is_digit(peekc(lx, p)))
        p++;
    *pp = p;
    return 0;
}

static int read_number(ea_gql__lexer *lx, size_t start, ea_gql__token *t)
{
    size_t p = start;
    bool is_float = false;
    if (peekc(lx, p) == '-')
        p++;
    if (peekc(lx, p) == '0') {
        p++;
        if (is_digit(peekc(lx, p)))
            return fail_cp(lx, p, "Invalid number, unexpected digit after 0: %s.");
    } else if (read_digits(lx, &p) < 0) {
        return -1;
    }
    if (peekc(lx, p) == '.') {
        is_float = true;
        p++;
        if (read_digits(lx, &p) < 0)
            return -1;
    }
    if (peekc(lx, p) == 'e' || peekc(lx, p) == 'E') {
        is_float = true;
        p++;
        if (peekc(lx, p) == '+' || peekc(lx, p) == '-')
            p++;
        if (read_digits(lx, &p) < 0)
            return -1;
    }
    if (peekc(lx, p) == '.' || is_name_start(peekc(lx, p)))
        return fail_cp(lx, p, "Invalid number, expected digit but got: %s.");
    t->kind = is_float ? EA_GQL__T_FLOAT : EA_GQL__T_INT;
    t->end = p;
    t->value = ea_arena_strndup(lx->arena, lx->src + start, p - start);
    t->value_len = p - start;
    return t->value ? 0 : fail(lx, start, "%s", "out of memory");
}

int ea_gql__lexer_next(ea_gql__lexer *lx, ea_gql__token *t)
{
    memset(t, 0, sizeof(*t));
    size_t p = lx->pos;
    for (;;) {
        if (p >= lx->len) {
            t->kind = EA_GQL__T_EOF;
            t->start = t->end = lx->len;
            t->loc = loc_at(lx, lx->len);
            lx->pos = lx->len;
            return 0;
        }
        int c = (unsigned char)lx->src[p];
        /* ignored: BOM (U+FEFF), whitespace, line terminators, commas */
        if (c == ' ' || c == '\t' || c == ',') {
            p++;
            continue;
        }
        if (c == 0xEF && peekc(lx, p + 1) == 0xBB && peekc(lx, p + 2) == 0xBF) {
            p += 3;
            continue;
        }
        if (c == '\n' || c == '\r') {
            p += (c == '\r' && peekc(lx, p + 1) == '\n') ? 2 : 1;
            new_line(lx, p);
            continue;
        }
        break;
    }
    int c = (unsigned char)lx->src[p];
    t->start = p;
    t->loc = loc_at(lx, p);
    ea_gql__tok_kind punct = EA_GQL__T_SOF;
    switch (c) {
    case '!':
        punct = EA_GQL__T_BANG;
        break;
    case '$':
        punct = EA_GQL__T_DOLLAR;
        break;
    case '&':
        punct = EA_GQL__T_AMP;
        break;
    case '(':
        punct = EA_GQL__T_PAREN_L;
        break;
    case ')':
        punct = EA_GQL__T_PAREN_R;
        break;
    case ':':
        punct = EA_GQL__T_COLON;
        break;
    case '=':
        punct = EA_GQL__T_EQUALS;
        break;
    case '@':
        punct = EA_GQL__T_AT;
        break;
    case '[':
        punct = EA_GQL__T_BRACKET_L;
        break;
    case ']':
        punct = EA_GQL__T_BRACKET_R;
        break;
    case '{':
        punct = EA_GQL__T_BRACE_L;
        break;
    case '|':
        punct = EA_GQL__T_PIPE;
        break;
    case '}':
        punct = EA_GQL__T_BRACE_R;
        break;
    default:
        break;
    }
    if (punct != EA_GQL__T_SOF) {
        t->kind = punct;
        t->end = p + 1;
        lx->pos = t->end;
        return 0;
    }
    int rc;
    if (c == '#') {
        size_t q = p + 1;
        while (q < lx->len && lx->src[q] != '\n' && lx->src[q] != '\r') {
            uint32_t cp;
            size_t n = utf8_decode(lx, q, &cp);
            if (n == 0)
                return fail(lx, q, "%s", "Invalid UTF-8 byte sequence.");
            q += n;
        }
        t->kind = EA_GQL__T_COMMENT;
        t->end = q;
        lx->pos = q;
        return 0;
    }
    if (c == '.') {
        if (peekc(lx, p + 1) == '.' && peekc(lx, p + 2) == '.') {
            t->kind = EA_GQL__T_SPREAD;
            t->end = p + 3;
            lx->pos = t->end;
            return 0;
        }
        return fail_cp(lx, p, "Unexpected character: %s.");
    }
    if (is_name_start(c)) {
        size_t q = p + 1;
        while (q < lx->len && (is_name_start(lx->src[q]) || is_digit(lx->src[q])))
            q++;
        t->kind = EA_GQL__T_NAME;
        t->end = q;
        t->value = ea_arena_strndup(lx->arena, lx->src + p, q - p);
        t->value_len = q - p;
        lx->pos = q;
        return t->value ? 0 : fail(lx, p, "%s", "out of memory");
    }
    if (is_digit(c) || c == '-') {
        rc = read_number(lx, p, t);
    } else if (c == '"') {
        if (peekc(lx, p + 1) == '"' && peekc(lx, p + 2) == '"')
            rc = read_block_string(lx, p, t);
        else
            rc = read_string(lx, p, t);
    } else if (c == '\'') {
        return fail(lx, p, "%s",
                    "Unexpected single quote character ('), did you mean to use a double quote "
                    "(\")?");
    } else {
        uint32_t cp;
        if (utf8_decode(lx, p, &cp) == 0)
            return fail(lx, p, "%s", "Invalid UTF-8 byte sequence.");
        return fail_cp(lx, p, "Unexpected character: %s.");
    }
    if (rc == 0)
        lx->pos = t->end;
    return rc;
}
