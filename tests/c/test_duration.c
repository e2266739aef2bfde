/* Tests for ljh__parse_duration (Go time.ParseDuration semantics). */

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

/* Length is explicit so inputs may hold NUL bytes; STR() derives it
 * from a string literal (minus the terminator). */
#define STR(lit) lit, sizeof(lit) - 1

struct valid_case {
    const char *in;
    size_t len;
    int64_t want;
};

struct invalid_case {
    const char *in;
    size_t len;
};

static const struct valid_case valid_cases[] = {
    /* the brief's examples */
    { STR("300ms"), INT64_C(300000000) },
    { STR("-1.5h"), INT64_C(-5400000000000) },
    { STR("2h45m"), INT64_C(9900000000000) },
    { STR("1.5s"), INT64_C(1500000000) },
    { STR("2us"), INT64_C(2000) },
    { STR("1\xc2\xb5s"), INT64_C(1000) }, /* U+00B5 micro sign */
    { STR("1\xce\xbcs"), INT64_C(1000) }, /* U+03BC Greek mu */
    { STR("1h30m"), INT64_C(5400000000000) },
    { STR("10.5m"), INT64_C(630000000000) },
    { STR(".5s"), INT64_C(500000000) },
    { STR("5.s"), INT64_C(5000000000) },
    { STR("1ns"), INT64_C(1) },
    { STR("1.000000001s"), INT64_C(1000000001) },
    { STR("0"), INT64_C(0) },
    { STR("+0"), INT64_C(0) },
    { STR("-0"), INT64_C(0) },
    { STR("+5s"), INT64_C(5000000000) },
    /* every unit */
    { STR("7ns"), INT64_C(7) },
    { STR("7us"), INT64_C(7000) },
    { STR("7ms"), INT64_C(7000000) },
    { STR("7s"), INT64_C(7000000000) },
    { STR("7m"), INT64_C(420000000000) },
    { STR("7h"), INT64_C(25200000000000) },
    { STR("1.5\xc2\xb5s"), INT64_C(1500) },
    /* zero with units, signs, leading zeros */
    { STR("0s"), INT64_C(0) },
    { STR("-0s"), INT64_C(0) },
    { STR("0.0s"), INT64_C(0) },
    { STR("00s"), INT64_C(0) },
    { STR("007s"), INT64_C(7000000000) },
    { STR("-5s"), INT64_C(-5000000000) },
    { STR("-1m"), INT64_C(-60000000000) },
    /* several groups, any order, repeated units */
    { STR("1h1m1s1ms1us1ns"), INT64_C(3661001001001) },
    { STR("1ns1h"), INT64_C(3600000000001) },
    { STR("1s1s"), INT64_C(2000000000) },
    { STR("-1h30m"), INT64_C(-5400000000000) },
    { STR("1.5h.5m"), INT64_C(5430000000000) },
    /* fractions: digits beyond what fits are dropped, not an error */
    { STR("1.0000000000000000000000001s"), INT64_C(1000000000) },
    { STR("0.3333333333333333333h"), INT64_C(1200000000000) },
    { STR("0.100000000000000000000h"), INT64_C(360000000000) },
    { STR("0.830103483285477580700h"), INT64_C(2988372539827) },
    { STR("1.9999999999ns"), INT64_C(1) }, /* truncated, not rounded */
    { STR("0.5ns"), INT64_C(0) },
    /* int64 limits */
    { STR("9223372036854775807ns"), INT64_MAX },
    { STR("9223372036854775.807us"), INT64_MAX },
    { STR("9223372036.854775807s"), INT64_MAX },
    { STR("9.223372036854775807s"), INT64_C(9223372036) },
    { STR("9223372036s854ms775us807ns"), INT64_MAX },
    { STR("2562047h47m16.854775807s"), INT64_MAX },
    { STR("-9223372036854775808ns"), INT64_MIN },
    { STR("-9223372036854775.808us"), INT64_MIN },
    { STR("-9223372036s854ms775us808ns"), INT64_MIN },
    { STR("-2562047h47m16.854775808s"), INT64_MIN },
    { STR("-9223372036854775807ns"), -INT64_MAX },
    /* only len bytes are read: "1h30m" cut to "1h" */
    { "1h30m", 2, INT64_C(3600000000000) },
};

static const struct invalid_case invalid_cases[] = {
    /* the brief's examples */
    { STR("") },
    { STR("abc") },
    { STR("1") },
    { STR("1x") },
    { STR("s") },
    { STR(".s") },
    { STR("1.2.3s") },
    { STR(" 1s") },
    { STR("1s ") },
    { STR("1h-1m") },
    { STR("--1s") },
    { STR("1e3s") },
    { STR("1\0s") },
    /* signs and dots without digits */
    { STR("+") },
    { STR("-") },
    { STR(".") },
    { STR("-.") },
    { STR("-.s") },
    { STR("+-1s") },
    { STR("-s") },
    /* missing units */
    { STR("1.") },
    { STR(".5") },
    { STR("1.5") },
    { STR("00") },
    { STR("0.0") },
    { STR("+1") },
    { STR("-1") },
    { STR("1h1") },
    { STR("1ms1") },
    /* unknown or malformed units */
    { STR("1S") },
    { STR("1H") },
    { STR("1sec") },
    { STR("1 s") },
    { STR("1s\t") },
    { STR("1d") },
    { STR("1\xc2\xb5") },     /* micro sign without "s" */
    { STR("1\xb5s") },        /* bare continuation byte */
    { STR("1\xc2s") },        /* truncated UTF-8 */
    { STR("1\xce\xbc") },     /* mu without "s" */
    { STR("\xc2\xb5s") },     /* unit without number */
    { STR("1s\0") },
    { STR("\0") },
    { STR("0x10s") },
    { STR("1,5s") },
    /* overflow */
    { STR("9223372036854775808ns") },
    { STR("9223372036854775809ns") },
    { STR("-9223372036854775809ns") },
    { STR("99999999999999999999ns") },
    { STR("2562048h") },
    { STR("2562047h47m16.854775808s") },
    { STR("-2562047h47m16.854775809s") },
    { STR("9223372036854775.808us") },
    { STR("9223372036s854ms775us808ns") },
    { STR("9223372036.854775808s") },
    { STR("3000000h") },
    { STR("9223372036854775807ns1ns") },
    { STR("9223372036854775808ns9223372036854775808ns") },
    { STR("-9223372036854775808ns1ns") },
    { STR("153722867280912930m") },
    /* only len bytes are read: "1h30m" cut to "1h3" */
    { "1h30m", 3 },
};

Test(duration, valid_table)
{
    size_t k;

    for (k = 0; k < sizeof valid_cases / sizeof valid_cases[0]; k++) {
        const struct valid_case *c = &valid_cases[k];
        int64_t got = 12345;
        char err[128] = "untouched";
        int rc = ljh__parse_duration(c->in, c->len, &got, err, sizeof err);

        cr_expect_eq(rc, 0, "case %zu (%.*s): rc=%d err=%s", k, (int)c->len,
                     c->in, rc, err);
        cr_expect_eq(got, c->want, "case %zu (%.*s): got %lld want %lld", k,
                     (int)c->len, c->in, (long long)got, (long long)c->want);
    }
}

Test(duration, invalid_table)
{
    size_t k;

    for (k = 0; k < sizeof invalid_cases / sizeof invalid_cases[0]; k++) {
        const struct invalid_case *c = &invalid_cases[k];
        int64_t got = 12345;
        char err[256];
        int rc;

        memset(err, 'X', sizeof err);
        rc = ljh__parse_duration(c->in, c->len, &got, err, sizeof err);
        cr_expect_eq(rc, -1, "case %zu: rc=%d got=%lld", k, rc, (long long)got);
        cr_expect_eq(got, 12345, "case %zu: *ns written on failure", k);
        cr_expect(memchr(err, '\0', sizeof err) != NULL,
                  "case %zu: message not terminated", k);
        cr_expect(strstr(err, "invalid duration") != NULL,
                  "case %zu: message lacks 'invalid duration': %s", k, err);
    }
}

static void expect_message(const char *in, size_t len, const char *want)
{
    char err[256];
    int64_t got;
    int rc = ljh__parse_duration(in, len, &got, err, sizeof err);

    cr_expect_eq(rc, -1);
    cr_expect_str_eq(err, want);
}

Test(duration, messages)
{
    expect_message(STR(""), "invalid duration \"\"");
    expect_message(STR("abc"), "invalid duration \"abc\"");
    expect_message(STR("1"), "invalid duration \"1\": missing unit");
    expect_message(STR("1.2.3s"), "invalid duration \"1.2.3s\": missing unit");
    expect_message(STR("1x"), "invalid duration \"1x\": unknown unit \"x\"");
    expect_message(STR("1h-1m"),
                   "invalid duration \"1h-1m\": unknown unit \"h-\"");
    expect_message(STR("2562048h"), "invalid duration \"2562048h\"");
}

Test(duration, message_escapes_input)
{
    expect_message(STR("1\0s"),
                   "invalid duration \"1\\x00s\": unknown unit \"\\x00s\"");
    expect_message(STR("1\xc2\xb5"),
                   "invalid duration \"1\\xc2\\xb5\": unknown unit \"\\xc2\\xb5\"");
    expect_message(STR("\t\x7f"), "invalid duration \"\\x09\\x7f\"");
    expect_message(STR("\"\\"), "invalid duration \"\\\"\\\\\"");
}

Test(duration, errmsg_never_overrun)
{
    char buf[32];
    int64_t got = 0;

    /* errlen 1: only the terminator fits */
    memset(buf, 'X', sizeof buf);
    cr_assert_eq(ljh__parse_duration(STR("1x"), &got, buf, 1), -1);
    cr_expect_eq(buf[0], '\0');
    cr_expect_eq(buf[1], 'X');

    /* errlen 8: 7 characters plus terminator */
    memset(buf, 'X', sizeof buf);
    cr_assert_eq(ljh__parse_duration(STR("1x"), &got, buf, 8), -1);
    cr_expect_str_eq(buf, "invalid");
    cr_expect_eq(buf[8], 'X');

    /* truncation inside the quoted, escaped input */
    memset(buf, 'X', sizeof buf);
    cr_assert_eq(ljh__parse_duration(STR("\x01\x02\x03\x04\x05\x06"), &got,
                                     buf, 24), -1);
    cr_expect_eq(strlen(buf), 23);
    cr_expect_eq(buf[24], 'X');

    /* errlen 0 with a real buffer: nothing written */
    memset(buf, 'X', sizeof buf);
    cr_assert_eq(ljh__parse_duration(STR("1x"), &got, buf, 0), -1);
    cr_expect_eq(buf[0], 'X');

    /* NULL buffer */
    cr_expect_eq(ljh__parse_duration(STR("1x"), &got, NULL, 0), -1);
    cr_expect_eq(ljh__parse_duration(STR(""), &got, NULL, 0), -1);
    cr_expect_eq(ljh__parse_duration(STR("1s"), &got, NULL, 0), 0);
    cr_expect_eq(got, INT64_C(1000000000));
}

Test(duration, null_ns_pointer)
{
    cr_expect_eq(ljh__parse_duration(STR("1s"), NULL, NULL, 0), 0);
    cr_expect_eq(ljh__parse_duration(STR("0"), NULL, NULL, 0), 0);
    cr_expect_eq(ljh__parse_duration(STR("x"), NULL, NULL, 0), -1);
}

/* Input is not NUL-terminated: the parser must stay within len (ASan
 * catches a read past the heap block). */
Test(duration, reads_only_len_bytes)
{
    char *p = malloc(2);
    int64_t got = 0;

    cr_assert_not_null(p);
    memcpy(p, "5s", 2);
    cr_expect_eq(ljh__parse_duration(p, 2, &got, NULL, 0), 0);
    cr_expect_eq(got, INT64_C(5000000000));
    cr_expect_eq(ljh__parse_duration(p, 1, &got, NULL, 0), -1);
    free(p);
}

#define LONG_LEN 10000

Test(duration, very_long_inputs)
{
    char *p = malloc(LONG_LEN + 2);
    char err[64];
    int64_t got = 12345;

    cr_assert_not_null(p);

    /* 10,000 digits: overflows the integer part */
    memset(p, '1', LONG_LEN);
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN, &got, err, sizeof err), -1);
    cr_expect(strstr(err, "invalid duration") != NULL);
    cr_expect_eq(strlen(err), sizeof err - 1);
    p[LONG_LEN] = 's';
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN + 1, &got, err, sizeof err), -1);
    cr_expect_eq(got, 12345);

    /* 10,000 zeros then "s": leading zeros never overflow (Go agrees) */
    memset(p, '0', LONG_LEN);
    p[LONG_LEN] = 's';
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN + 1, &got, err, sizeof err), 0);
    cr_expect_eq(got, 0);

    /* 10,000 zeros, no unit: not the bare "0", so a unit is missing */
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN, &got, err, sizeof err), -1);

    /* "0.333...3s" with a 9,998-digit fraction: extra digits dropped */
    memset(p, '3', LONG_LEN);
    p[0] = '0';
    p[1] = '.';
    p[LONG_LEN] = 's';
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN + 1, &got, err, sizeof err), 0);
    cr_expect_eq(got, INT64_C(333333333));

    /* "1." then 9,998 zeros then "1s": scale overflows to infinity,
     * the tail contributes nothing */
    memset(p, '0', LONG_LEN);
    p[0] = '1';
    p[1] = '.';
    p[LONG_LEN - 1] = '1';
    p[LONG_LEN] = 's';
    cr_expect_eq(ljh__parse_duration(p, LONG_LEN + 1, &got, err, sizeof err), 0);
    cr_expect_eq(got, INT64_C(1000000000));

    free(p);
}
