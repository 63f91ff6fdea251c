/*
 * ea_rollup_dec.c — exact decimals (see ea_rollup_dec.h). Arithmetic in 64/128-bit integers:
 * a value has at most 18 significant digits, so aligning two values for a comparison never
 * needs more than 10^35, and a sum fits 10^38 unless its values span more than 38 digits (then
 * the caller leaves that value to PostgreSQL). Division (an average) is long division on the
 * digits of PostgreSQL's numeric text, rounded once.
 */
#include "ea_rollup_dec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

static const int64_t P18 = INT64_C(1000000000000000000);

/* 10^k for k in 0..38 as unsigned 128-bit. */
static u128 pow10u(int k)
{
    u128 p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

bool ea_dec_parse(const char *s, size_t n, ea_dec *out)
{
    size_t i = 0;
    bool neg = false, any = false, nonzero = false, sticky = false;
    int64_t coef = 0;
    int nd = 0, first = -1;
    long adj = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (int part = 0; part < 2; part++) {
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            int d = s[i] - '0';
            any = true;
            if (!nonzero && d == 0) {
                adj -= part; /* a leading zero after the point moves the exponent */
                continue;
            }
            nonzero = true;
            if (nd < EA_DEC_DIGITS) {
                coef = coef * 10 + d;
                nd++;
                adj -= part;
            } else {
                if (first < 0)
                    first = d;
                else
                    sticky |= d != 0;
                adj += 1 - part; /* a dropped integer digit still counts as a power of ten */
            }
        }
        if (part == 0) {
            if (i < n && s[i] == '.')
                i++;
            else
                break;
        }
    }
    if (!any)
        return false;
    long e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || s[i] < '0' || s[i] > '9')
            return false;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 1000000)
                e = e * 10 + (s[i] - '0');
        if (eneg)
            e = -e;
    }
    if (i != n)
        return false;
    if (first >= 0 && (first > 5 || (first == 5 && (sticky || (coef & 1)))))
        coef++; /* half-even */
    if (coef == P18) {
        coef /= 10;
        adj++;
    }
    long exp = adj + e;
    if (coef == 0 && (exp > EA_DEC_EXP_MAX || exp < -EA_DEC_EXP_MAX))
        exp = 0;
    if (exp > EA_DEC_EXP_MAX || exp < -EA_DEC_EXP_MAX)
        return false;
    out->coef = neg ? -coef : coef;
    out->exp = (int32_t)exp;
    return true;
}

ea_dec ea_dec_from_i64(int64_t v)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (u < (uint64_t)P18)
        return (ea_dec){v, 0};
    /* 19 digits: one is dropped, half-even */
    uint64_t q = u / 10, r = u % 10;
    if (r > 5 || (r == 5 && (q & 1)))
        q++;
    int32_t exp = 1;
    if (q == (uint64_t)P18) {
        q /= 10;
        exp++;
    }
    return (ea_dec){v < 0 ? -(int64_t)q : (int64_t)q, exp};
}

bool ea_dec_from_double(double v, ea_dec *out)
{
    if (!isfinite(v))
        return false;
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return ea_dec_parse(tmp, strlen(tmp), out);
}

static int ndigits(uint64_t u)
{
    int n = 1;
    while (u >= 10) {
        u /= 10;
        n++;
    }
    return n;
}

int ea_dec_cmp(ea_dec a, ea_dec b)
{
    int sa = (a.coef > 0) - (a.coef < 0), sb = (b.coef > 0) - (b.coef < 0);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    uint64_t ua = a.coef < 0 ? 0 - (uint64_t)a.coef : (uint64_t)a.coef;
    uint64_t ub = b.coef < 0 ? 0 - (uint64_t)b.coef : (uint64_t)b.coef;
    long oa = (long)ndigits(ua) + a.exp, ob = (long)ndigits(ub) + b.exp; /* orders of magnitude */
    int mag;
    if (oa != ob) {
        mag = oa < ob ? -1 : 1;
    } else { /* same order: the exponents differ by at most 17, 10^35 fits */
        u128 xa = ua, xb = ub;
        if (a.exp > b.exp)
            xa *= pow10u(a.exp - b.exp);
        else
            xb *= pow10u(b.exp - a.exp);
        mag = (xa > xb) - (xa < xb);
    }
    return sa > 0 ? mag : -mag;
}

/* x * 10^k into *out; false on overflow. */
static bool scale(__int128 x, int k, __int128 *out)
{
    if (k > 38)
        return x == 0 ? (*out = 0, true) : false;
    return !__builtin_mul_overflow(x, (__int128)pow10u(k), out);
}

bool ea_dec_sum_add(ea_dec_sum *s, ea_dec v)
{
    int32_t e = s->exp < v.exp ? s->exp : v.exp;
    __int128 a, b, r;
    if (scale(s->coef, s->exp - e, &a) && scale(v.coef, v.exp - e, &b) &&
        !__builtin_add_overflow(a, b, &r)) {
        s->coef = r;
        s->exp = e;
        return true;
    }
    if (s->coef == 0) { /* nothing to align: take the value as it is */
        s->coef = v.coef;
        s->exp = v.exp;
        return true;
    }
    return false;
}

static void put_u128(ea_buf *b, u128 u)
{
    char tmp[48];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    ea_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static void format(ea_buf *b, __int128 coef, int32_t exp)
{
    if (coef < 0)
        ea_buf_putc(b, '-');
    put_u128(b, coef < 0 ? (u128)0 - (u128)coef : (u128)coef);
    ea_buf_printf(b, "E%d", (int)exp);
}

void ea_dec_format(ea_buf *b, ea_dec d)
{
    format(b, d.coef, d.exp);
}

void ea_dec_sum_format(ea_buf *b, const ea_dec_sum *s)
{
    format(b, s->coef, s->exp);
}

double ea_dec_text_div(const char *num, long long den, int sig)
{
    if (num == NULL || den <= 0 || sig < 1 || sig > 40)
        return NAN;
    const char *p = num;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    /* [a, b) integer digits, [c, d) fraction digits, then an optional exponent */
    const char *a = p;
    while (*p >= '0' && *p <= '9')
        p++;
    const char *b = p, *c = p, *d = p;
    if (*p == '.') {
        c = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        d = p;
    }
    if (b == a && d == c)
        return NAN;
    long e = 0;
    if (*p == 'e' || *p == 'E') {
        char *end;
        e = strtol(p + 1, &end, 10);
        if (end == p + 1)
            return NAN;
        p = end;
    }
    if (*p != '\0' || e > 100000 || e < -100000)
        return NAN;
    /* the significant digits, and the weight (power of ten) of the first one */
    char digits[2048];
    size_t nd = 0;
    long w = 0;
    for (const char *x = a; x < d; x++) {
        if (x == b) {
            x = c - 1; /* skip the point */
            continue;
        }
        if (nd == 0 && *x == '0')
            continue;
        if (nd == 0)
            w = (x < b ? (long)(b - x) - 1 : -(long)(x - c) - 1) + e;
        if (nd < sizeof(digits))
            digits[nd++] = *x;
    }
    if (nd == 0)
        return neg ? -0.0 : 0.0;
    char q[64];
    int nq = 0;
    long wq = 0;
    u128 rem = 0;
    bool sticky = false;
    for (size_t k = 0;; k++) {
        int dg = k < nd ? digits[k] - '0' : 0;
        rem = rem * 10 + (u128)dg;
        int qd = (int)(rem / (u128)den);
        rem %= (u128)den;
        if (nq == 0 && qd == 0) {
            if (k >= nd && rem == 0)
                break;
            continue;
        }
        if (nq == 0)
            wq = w - (long)k;
        q[nq++] = (char)('0' + qd);
        if (nq == sig + 1) {
            sticky = rem != 0;
            for (size_t j = k + 1; j < nd && !sticky; j++)
                sticky = digits[j] != '0';
            break;
        }
        if (k >= nd && rem == 0)
            break;
    }
    if (nq == 0)
        return neg ? -0.0 : 0.0;
    if (nq > sig) { /* round half-even at sig digits */
        int guard = q[sig] - '0';
        nq = sig;
        if (guard > 5 || (guard == 5 && (sticky || ((q[sig - 1] - '0') & 1)))) {
            int k = sig - 1;
            while (k >= 0 && q[k] == '9')
                q[k--] = '0';
            if (k >= 0) {
                q[k]++;
            } else {
                memmove(q + 1, q, (size_t)sig - 1);
                q[0] = '1';
                wq++;
            }
        }
    }
    char text[96];
    int off = snprintf(text, sizeof(text), "%s%c.", neg ? "-" : "", q[0]);
    for (int k = 1; k < nq && off < (int)sizeof(text) - 16; k++)
        text[off++] = q[k];
    snprintf(text + off, sizeof(text) - (size_t)off, "e%ld", wq);
    return strtod(text, NULL);
}

/* ---- the number's own text ---- */

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* i at '"': index after the closing quote (n when malformed); *escaped when it holds a '\'. */
static size_t skip_string(const char *p, size_t i, size_t n, bool *escaped)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\') {
            *escaped = true;
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return n;
}

static size_t skip_value(const char *p, size_t i, size_t n)
{
    bool esc = false;
    if (i >= n)
        return n;
    if (p[i] == '"')
        return skip_string(p, i, n, &esc);
    if (p[i] == '{' || p[i] == '[') {
        int depth = 0;
        while (i < n) {
            if (p[i] == '"') {
                i = skip_string(p, i, n, &esc);
                continue;
            }
            if (p[i] == '{' || p[i] == '[')
                depth++;
            else if ((p[i] == '}' || p[i] == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
           p[i] != '\n' && p[i] != '\r')
        i++;
    return i;
}

bool ea_dec_json_member(const char *obj, size_t len, const char *key, const char **val,
                        size_t *vlen)
{
    size_t klen = strlen(key), i = skip_ws(obj, 0, len);
    bool found = false;
    if (i >= len || obj[i] != '{')
        return false;
    i = skip_ws(obj, i + 1, len);
    if (i < len && obj[i] == '}')
        return false;
    while (i < len && obj[i] == '"') {
        bool escaped = false;
        size_t kend = skip_string(obj, i, len, &escaped);
        if (kend >= len || escaped)
            return false;
        bool match = kend - i - 2 == klen && memcmp(obj + i + 1, key, klen) == 0;
        i = skip_ws(obj, kend, len);
        if (i >= len || obj[i] != ':')
            return false;
        i = skip_ws(obj, i + 1, len);
        size_t vend = skip_value(obj, i, len);
        if (vend > len || vend == i)
            return false;
        if (match) {
            *val = obj + i;
            *vlen = vend - i;
            found = true;
        }
        i = skip_ws(obj, vend, len);
        if (i < len && obj[i] == ',')
            i = skip_ws(obj, i + 1, len);
        else
            break;
    }
    return found && i < len && obj[i] == '}';
}

/* ---- printing doubles ---- */

static int real_digits(double v)
{
    char tmp[40];
    for (int p = 15; p < 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*g", p, v);
        if (strtod(tmp, NULL) == v)
            return p;
    }
    return 17;
}

static int walk(const json_t *v, int depth)
{
    int p = 15;
    if (depth > 64)
        return 17; /* deeper than any answer: the safe precision */
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) ? real_digits(d) : 15;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            int q = walk(x, depth + 1);
            if (q > p && (p = q) == 17)
                break;
        }
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            int q = walk(x, depth + 1);
            if (q > p && (p = q) == 17)
                break;
        }
    }
    return p;
}

int ea_dec_real_precision(const json_t *v)
{
    return walk(v, 0);
}
