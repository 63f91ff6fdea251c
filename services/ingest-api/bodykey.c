/*
 * bodykey.c — the key a body carries, by scanning its text (see bodykey.h for why). One pass,
 * no allocation: the top-level object is walked member by member; a member's value is skipped
 * by counting brackets outside strings, except PostHog's "properties" object, whose members are
 * walked the same way for "token". The first member of a name wins (a body with two is refused
 * as invalid JSON by the parse after authentication anyway).
 */
#include "bodykey.h"

#include <stdbool.h>
#include <string.h>

typedef struct scan {
    const char *s;
    size_t n, i;
    ingest_bodykey_status err; /* MALFORMED or TOO_DEEP once failed; FOUND means "no error" */
    size_t err_at;
} scan;

/* a member found: its value as a key (the string's bytes, or "" for another type) */
typedef struct found {
    bool seen;
    const char *key;
    size_t len;
} found;

static bool failed(const scan *sc)
{
    return sc->err != INGEST_BODYKEY_FOUND;
}

static void fail(scan *sc, ingest_bodykey_status st)
{
    if (!failed(sc)) {
        sc->err = st;
        sc->err_at = sc->i < sc->n ? sc->i : sc->n;
    }
}

static void ws(scan *sc)
{
    while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' ||
                             sc->s[sc->i] == '\r'))
        sc->i++;
}

/* At '"': moves past the closing quote; the contents' span in *start and *len. */
static void string(scan *sc, size_t *start, size_t *len)
{
    size_t i = sc->i + 1;
    *start = i;
    while (i < sc->n && sc->s[i] != '"')
        i += sc->s[i] == '\\' ? 2 : 1;
    if (i >= sc->n) {
        sc->i = sc->n;
        fail(sc, INGEST_BODYKEY_MALFORMED); /* unterminated */
        return;
    }
    *len = i - *start;
    sc->i = i + 1;
}

/* Skips one value that starts at sc->i inside nesting `depth`. */
static void skip_value(scan *sc, int depth)
{
    if (sc->i >= sc->n) {
        fail(sc, INGEST_BODYKEY_MALFORMED);
        return;
    }
    char c = sc->s[sc->i];
    size_t a, l;
    if (c == '"') {
        string(sc, &a, &l);
        return;
    }
    if (c == '{' || c == '[') {
        int d = 0;
        while (sc->i < sc->n) {
            c = sc->s[sc->i];
            if (c == '"') {
                string(sc, &a, &l);
                if (failed(sc))
                    return;
                continue;
            }
            if (c == '{' || c == '[') {
                if (depth + ++d > INGEST_BODYKEY_MAX_DEPTH) {
                    fail(sc, INGEST_BODYKEY_TOO_DEEP);
                    return;
                }
            } else if ((c == '}' || c == ']') && --d == 0) {
                sc->i++;
                return;
            }
            sc->i++;
        }
        fail(sc, INGEST_BODYKEY_MALFORMED); /* unclosed */
        return;
    }
    size_t start = sc->i; /* number, true, false, null (checked by the parse later) */
    /* (no NUL here: ingest_bodykey_scan refused the body, and strchr would match one) */
    while (sc->i < sc->n && strchr(",}] \t\r\n", sc->s[sc->i]) == NULL)
        sc->i++;
    if (sc->i == start)
        fail(sc, INGEST_BODYKEY_MALFORMED);
}

static bool name_is(const scan *sc, size_t a, size_t l, const char *name)
{
    return l == strlen(name) && memcmp(sc->s + a, name, l) == 0;
}

static void take(scan *sc, found *f)
{
    if (f->seen)
        return;
    f->seen = true;
    f->key = "";
    f->len = 0;
    if (sc->i < sc->n && sc->s[sc->i] == '"') {
        size_t a, l;
        size_t at = sc->i;
        string(sc, &a, &l);
        if (!failed(sc)) {
            f->key = sc->s + a;
            f->len = l;
        }
        sc->i = at; /* skipped again by the caller */
    }
}

/* Walks the object at sc->i (nesting `depth`), recording the members named want[0..nwant) into
 * got[], and with props != NULL the "token" member of its "properties" object into *props. */
static void object(scan *sc, int depth, const char *const *want, found *got, size_t nwant,
                   found *props)
{
    sc->i++; /* '{' */
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return;
    }
    while (!failed(sc)) {
        if (sc->i >= sc->n || sc->s[sc->i] != '"') {
            fail(sc, INGEST_BODYKEY_MALFORMED);
            return;
        }
        size_t a = 0, l = 0;
        string(sc, &a, &l);
        ws(sc);
        if (failed(sc) || sc->i >= sc->n || sc->s[sc->i] != ':') {
            fail(sc, INGEST_BODYKEY_MALFORMED);
            return;
        }
        sc->i++;
        ws(sc);
        for (size_t k = 0; k < nwant; k++)
            if (name_is(sc, a, l, want[k]))
                take(sc, &got[k]);
        if (props != NULL && name_is(sc, a, l, "properties") && sc->i < sc->n &&
            sc->s[sc->i] == '{' && !props->seen) {
            static const char *const token[] = {"token"};
            found t = {0};
            object(sc, depth + 1, token, &t, 1, NULL);
            if (t.seen)
                *props = t;
            props->seen = true; /* the first "properties" decides */
            props->key = t.seen ? t.key : NULL;
        } else {
            skip_value(sc, depth);
        }
        ws(sc);
        if (failed(sc) || sc->i >= sc->n) {
            fail(sc, INGEST_BODYKEY_MALFORMED);
            return;
        }
        if (sc->s[sc->i] == '}') {
            sc->i++;
            return;
        }
        if (sc->s[sc->i] != ',') {
            fail(sc, INGEST_BODYKEY_MALFORMED);
            return;
        }
        sc->i++;
        ws(sc);
    }
}

ingest_bodykey_status ingest_bodykey_scan(const char *body, size_t len, ingest_bodykey_form form,
                                          const char **key, size_t *klen, size_t *offset)
{
    *key = NULL;
    *klen = 0;
    *offset = 0;
    /* a raw NUL byte is never JSON, anywhere: refused here as the parse refuses it (body.c) */
    const char *nul = memchr(body, '\0', len);
    if (nul != NULL) {
        *offset = (size_t)(nul - body);
        return INGEST_BODYKEY_MALFORMED;
    }
    scan sc = {.s = body, .n = len, .err = INGEST_BODYKEY_FOUND};
    ws(&sc);
    if (sc.i >= sc.n) {
        *offset = sc.i;
        return INGEST_BODYKEY_MALFORMED; /* empty */
    }
    if (sc.s[sc.i] != '{')
        return INGEST_BODYKEY_NONE; /* an array or a scalar holds no key */
    static const char *const ingest[] = {"api_key"}, *const segment[] = {"writeKey"},
                             *const posthog[] = {"api_key", "token", "batch"};
    found got[3] = {{0}}, props = {0};
    if (form == INGEST_BODYKEY_POSTHOG)
        object(&sc, 1, posthog, got, 3, &props);
    else
        object(&sc, 1, form == INGEST_BODYKEY_SEGMENT ? segment : ingest, got, 1, NULL);
    if (!failed(&sc)) {
        ws(&sc);
        if (sc.i < sc.n)
            fail(&sc, INGEST_BODYKEY_MALFORMED); /* something after the object */
    }
    if (failed(&sc)) {
        *offset = sc.err_at;
        return sc.err;
    }
    const found *f = &got[0];
    if (form == INGEST_BODYKEY_POSTHOG && !f->seen)
        f = got[1].seen ? &got[1] : !got[2].seen && props.key != NULL ? &props : NULL;
    if (f == NULL || !f->seen)
        return INGEST_BODYKEY_NONE;
    *key = f->key;
    *klen = f->len;
    return INGEST_BODYKEY_FOUND;
}
