/*
 * ea_gql_prepare.c — the front half of the pipeline: ea_gql_prepare turns query text into a
 * read-only, validated document under the service's limits, in this order (cheapest first, so a
 * hostile document is rejected before any costly work):
 *   1. byte length            → QUERY_TOO_LARGE
 *   2. lex + parse            → GRAPHQL_PARSE_FAILED, TOKEN_LIMIT (counted while parsing),
 *                               DEPTH_LIMIT (structural nesting cap while parsing)
 *   3. introspection switch   → INTROSPECTION_DISABLED
 *   4. selection depth        → DEPTH_LIMIT (fragments expanded and memoized, __schema/__type
 *                               subtrees exempt)
 *   5. aliases, directives    → ALIAS_LIMIT, DIRECTIVE_LIMIT (counted in the text)
 *   6. validation rules       → GRAPHQL_VALIDATION_FAILED (ea_gql_validate.c)
 * The document owns one arena holding its AST; nothing mutates it afterwards, so a cached
 * document may be executed by many requests at once. Not for: execution (ea_gql_execute.c).
 */
#include "ea_gql_int.h"

#include <stdio.h>
#include <string.h>

void ea_gql_limits_default(ea_gql_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->max_bytes = 100000;
    l->max_tokens = 2000;
    l->max_depth = 8;
    l->max_aliases = 15;
    l->max_directives = 50;
    l->max_cost = 10000;
    l->max_work = 1000000;
    l->introspection_work = 50;
    l->max_response_bytes = 32u << 20;
    l->introspection = true;
}

static json_t *one_error(const char *msg, const ea_gql__loc *loc, const char *code)
{
    json_t *arr = json_array();
    json_array_append_new(arr, ea_gql__error_new(msg, loc, loc ? 1 : 0, NULL, code));
    return arr;
}

/* ---------------------------------------------------------------- limit walks */

typedef struct limit_walk {
    const ea_gql_document *d;
    size_t aliases, directives;
    const ea_gql__sel *introspection; /* first __schema/__type field seen */
    int *frag_depth;                  /* memo per fragment: -2 unknown, -1 in progress */
} limit_walk;

static size_t count_dirs(const ea_gql__directive *d)
{
    size_t n = 0;
    for (; d; d = d->next)
        n++;
    return n;
}

static bool is_introspection_field(const ea_gql__sel *s)
{
    return s->kind == EA_GQL__SEL_FIELD &&
           (strcmp(s->name, "__schema") == 0 || strcmp(s->name, "__type") == 0);
}

/* Counts aliases and directives, finds introspection fields: a plain walk over the text. */
static void count_selset(limit_walk *w, const ea_gql__selset *ss)
{
    for (const ea_gql__sel *s = ss ? ss->first : NULL; s; s = s->next) {
        w->directives += count_dirs(s->directives);
        if (s->kind == EA_GQL__SEL_FIELD) {
            if (s->alias)
                w->aliases++;
            if (w->introspection == NULL && is_introspection_field(s))
                w->introspection = s;
        }
        count_selset(w, s->selset);
    }
}

static size_t frag_index(const ea_gql_document *d, const char *name)
{
    for (size_t i = 0; i < d->nfrags; i++) {
        if (strcmp(d->frags[i]->name, name) == 0)
            return i;
    }
    return (size_t)-1;
}

/* Selection depth with fragments expanded; each fragment is measured once. */
static int selset_depth(limit_walk *w, const ea_gql__selset *ss)
{
    int best = 0;
    for (const ea_gql__sel *s = ss ? ss->first : NULL; s; s = s->next) {
        int d = 0;
        if (s->kind == EA_GQL__SEL_FIELD) {
            if (is_introspection_field(s))
                continue;
            d = 1 + selset_depth(w, s->selset);
        } else if (s->kind == EA_GQL__SEL_INLINE) {
            d = selset_depth(w, s->selset);
        } else {
            size_t i = frag_index(w->d, s->name);
            if (i == (size_t)-1)
                continue;
            if (w->frag_depth[i] == -1)
                continue; /* a cycle: validation reports it */
            if (w->frag_depth[i] == -2) {
                w->frag_depth[i] = -1;
                w->frag_depth[i] = selset_depth(w, w->d->frags[i]->selset);
            }
            d = w->frag_depth[i];
        }
        if (d > best)
            best = d;
    }
    return best;
}

static json_t *check_limits(const ea_gql_document *d, const ea_gql_limits *l)
{
    limit_walk w = {d, 0, 0, NULL, NULL};
    w.frag_depth = ea_arena_alloc(d->arena, sizeof(int) * (d->nfrags + 1));
    if (w.frag_depth == NULL)
        return one_error("out of memory", NULL, "INTERNAL_SERVER_ERROR");
    for (size_t i = 0; i < d->nfrags; i++)
        w.frag_depth[i] = -2;
    for (const ea_gql__def *def = d->defs; def; def = def->next) {
        if (def->kind != EA_GQL__D_OPERATION && def->kind != EA_GQL__D_FRAGMENT)
            continue;
        w.directives += count_dirs(def->directives);
        for (const ea_gql__vardef *v = def->vars; v; v = v->next)
            w.directives += count_dirs(v->directives);
        count_selset(&w, def->selset);
    }
    char msg[200];
    if (!l->introspection && w.introspection) {
        snprintf(msg, sizeof(msg),
                 "GraphQL introspection has been disabled, but the requested query contained the "
                 "field \"%s\".",
                 w.introspection->name);
        return one_error(msg, &w.introspection->loc, "INTROSPECTION_DISABLED");
    }
    if (l->max_depth) {
        for (size_t i = 0; i < d->nops; i++) {
            int depth = selset_depth(&w, d->ops[i]->selset);
            if ((size_t)depth > l->max_depth) {
                snprintf(msg, sizeof(msg), "Query depth %d exceeds the maximum depth of %zu.",
                         depth, l->max_depth);
                return one_error(msg, &d->ops[i]->loc, "DEPTH_LIMIT");
            }
        }
    }
    if (l->max_aliases && w.aliases > l->max_aliases) {
        snprintf(msg, sizeof(msg), "Query uses %zu aliases, more than the maximum of %zu.",
                 w.aliases, l->max_aliases);
        return one_error(msg, NULL, "ALIAS_LIMIT");
    }
    if (l->max_directives && w.directives > l->max_directives) {
        snprintf(msg, sizeof(msg), "Query uses %zu directives, more than the maximum of %zu.",
                 w.directives, l->max_directives);
        return one_error(msg, NULL, "DIRECTIVE_LIMIT");
    }
    return NULL;
}

/* ---------------------------------------------------------------- prepare */

ea_gql_document *ea_gql_prepare(const ea_gql_schema *s, const char *query, size_t len,
                                const ea_gql_limits *limits, json_t **errors)
{
    ea_gql_limits defl;
    if (limits == NULL) {
        ea_gql_limits_default(&defl);
        limits = &defl;
    }
    *errors = NULL;
    char msg[200];
    if (limits->max_bytes && len > limits->max_bytes) {
        snprintf(msg, sizeof(msg), "Document is %zu bytes, larger than the maximum of %zu.", len,
                 limits->max_bytes);
        *errors = one_error(msg, NULL, "QUERY_TOO_LARGE");
        return NULL;
    }
    ea_arena *a = ea_arena_new(len * 4 + 4096);
    ea_gql_document *d = a ? ea_arena_calloc(a, sizeof(*d)) : NULL;
    if (d == NULL) {
        ea_arena_free(a);
        *errors = one_error("out of memory", NULL, "INTERNAL_SERVER_ERROR");
        return NULL;
    }
    d->arena = a;
    ea_gql__parse_result r;
    ea_gql__parse_status st =
        ea_gql__parse(a, query ? query : "", query ? len : 0, limits->max_tokens, &r);
    if (st != EA_GQL__PARSE_OK) {
        const char *code = st == EA_GQL__PARSE_SYNTAX    ? "GRAPHQL_PARSE_FAILED"
                           : st == EA_GQL__PARSE_TOKENS  ? "TOKEN_LIMIT"
                           : st == EA_GQL__PARSE_NESTING ? "DEPTH_LIMIT"
                                                         : "INTERNAL_SERVER_ERROR";
        *errors = one_error(r.err, r.err_loc.line ? &r.err_loc : NULL, code);
        goto fail;
    }
    d->defs = r.defs;
    size_t nops = 0, nfrags = 0;
    for (const ea_gql__def *def = d->defs; def; def = def->next) {
        nops += def->kind == EA_GQL__D_OPERATION;
        nfrags += def->kind == EA_GQL__D_FRAGMENT;
    }
    d->ops = ea_arena_alloc(a, sizeof(*d->ops) * (nops + 1));
    d->frags = ea_arena_alloc(a, sizeof(*d->frags) * (nfrags + 1));
    if (d->ops == NULL || d->frags == NULL) {
        *errors = one_error("out of memory", NULL, "INTERNAL_SERVER_ERROR");
        goto fail;
    }
    for (const ea_gql__def *def = d->defs; def; def = def->next) {
        if (def->kind == EA_GQL__D_OPERATION)
            d->ops[d->nops++] = def;
        else if (def->kind == EA_GQL__D_FRAGMENT)
            d->frags[d->nfrags++] = def;
    }
    if ((*errors = check_limits(d, limits)) != NULL)
        goto fail;
    json_t *verr = json_array();
    ea_gql__validate(s, d, verr, ea_gql__text_max(limits));
    if (json_array_size(verr) > 0) {
        *errors = verr;
        goto fail;
    }
    json_decref(verr);
    return d;
fail:
    ea_arena_free(a);
    return NULL;
}

void ea_gql_document_free(ea_gql_document *d)
{
    if (d != NULL)
        ea_arena_free(d->arena);
}
