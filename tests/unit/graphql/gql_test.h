/*
 * gql_test.h — the few assertion helpers the lib/graphql unit tests share (no test library
 * needed): CHECK records a failure and goes on, each test binary prints "N passed, N failed" and
 * exits non-zero on any failure. Not for: golden comparisons (gql_golden.c does those).
 */
#ifndef GQL_TEST_H
#define GQL_TEST_H

#include <stdio.h>
#include <string.h>

static int gql_t_pass, gql_t_fail;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            gql_t_pass++;                                                                          \
        } else {                                                                                   \
            gql_t_fail++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                                     \
            gql_t_pass++;                                                                          \
        } else {                                                                                   \
            gql_t_fail++;                                                                          \
            fprintf(stderr, "%s:%d: expected \"%s\"\n            got \"%s\"\n", __FILE__,          \
                    __LINE__, b_ ? b_ : "(null)", a_ ? a_ : "(null)");                             \
        }                                                                                          \
    } while (0)

static inline int gql_t_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, gql_t_pass, gql_t_fail);
    return gql_t_fail == 0 ? 0 : 1;
}

#endif
