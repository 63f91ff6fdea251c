/*
 * fuzz_rollup_dec.c — libFuzzer driver for lib/rollup's exact decimals, whose input comes from
 * anyone able to send an event: a property's text (a JSON number or a numeric string) through
 * ea_dec_parse, an event's properties text through ea_dec_json_member, and PostgreSQL's
 * numeric text through ea_dec_text_div. Never a crash or UB; a parsed value formats to text
 * that parses back to an equal value (alone in a sum too), and a member found is a span inside
 * the input.
 */
#include "ea_pg_buf.h"
#include "ea_rollup_dec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    ea_dec d;
    if (ea_dec_parse(s, size, &d)) {
        ea_buf b = EA_BUF_INIT(EA_PG_VALUE_MAX);
        ea_dec_format(&b, d);
        ea_dec back;
        if (!ea_buf_ok(&b) || !ea_dec_parse(b.p, b.len, &back) || ea_dec_cmp(d, back) != 0)
            abort();
        /* a sum of the value alone formats to the same value */
        ea_dec_sum sum = {0};
        if (ea_dec_sum_add(&sum, d)) {
            ea_buf_reset(&b);
            ea_dec_sum_format(&b, &sum);
            if (!ea_buf_ok(&b) || !ea_dec_parse(b.p, b.len, &back) || ea_dec_cmp(d, back) != 0)
                abort();
        }
        ea_buf_free(&b);
    }
    /* the input as an event's properties: a member located is a span of it */
    const char *keys[] = {"amount", "a", ""};
    for (size_t k = 0; k < 3; k++) {
        const char *v;
        size_t n;
        if (ea_dec_json_member(s, size, keys[k], &v, &n) && (v < s || v + n > s + size || n == 0))
            abort();
    }
    /* the input as numeric text (NUL-terminated copy) */
    char *t = malloc(size + 1);
    if (t == NULL)
        return 0;
    memcpy(t, data, size);
    t[size] = '\0';
    (void)ea_dec_text_div(t, 7, 15);
    (void)ea_dec_text_div(t, INT64_MAX, 40);
    free(t);
    return 0;
}
