/*
 * ea_test.h — the smallest test harness that reports well: EA_CHECK records a failure with file
 * and line and keeps going; EA_TEST_MAIN runs the listed tests and exits non-zero on any
 * failure, printing "N passed, M failed". Used by every C unit test under tests/unit/.
 */
#ifndef EA_TEST_H
#define EA_TEST_H

#include <stdio.h>
#include <string.h>

static int ea_test_failures, ea_test_checks;

#define EA_CHECK(cond)                                                                             \
    do {                                                                                           \
        ea_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            ea_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define EA_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *ea_a_ = (a), *ea_b_ = (b);                                                     \
        ea_test_checks++;                                                                          \
        if (ea_a_ == NULL || ea_b_ == NULL || strcmp(ea_a_, ea_b_) != 0) {                         \
            ea_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                       \
                    ea_a_ ? ea_a_ : "(null)", ea_b_ ? ea_b_ : "(null)");                           \
        }                                                                                          \
    } while (0)

typedef struct ea_test_case {
    const char *name;
    void (*fn)(void);
} ea_test_case;

static inline int ea_test_run(const ea_test_case *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = ea_test_failures;
        cases[i].fn();
        if (ea_test_failures == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define EA_TEST_MAIN(...)                                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        static const ea_test_case cases[] = {__VA_ARGS__};                                         \
        return ea_test_run(cases, sizeof(cases) / sizeof(cases[0]));                               \
    }
#define EA_TEST(fn)                                                                                \
    {                                                                                              \
#fn, fn                                                                                    \
    }

#endif
