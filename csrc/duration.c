/* Go-compatible duration parsing; see duration.h.
 *
 * Grammar (as accepted by Go's time.ParseDuration):
 *   [-+]? ( [0-9]* ( "." [0-9]* )? unit )+    or    [-+]? "0"
 * where each number must have at least one digit on either side of the
 * dot and unit is one of ns us µs μs ms s m h.
 *
 * Magnitudes are accumulated as uint64_t so that the magnitude of
 * INT64_MIN (2^63) is representable; every multiplication and addition
 * is checked before it is performed, so nothing ever wraps. */

#include <math.h>
#include <string.h>

#include "internal.h"
#include "num.h"

/* 2^63: magnitude of INT64_MIN, the largest magnitude Go accepts. */
#define DUR_LIMIT ((uint64_t)1 << 63)

#define NS_PER_US ((uint64_t)1000)
#define NS_PER_MS ((uint64_t)1000000)
#define NS_PER_S ((uint64_t)1000000000)
#define NS_PER_M (NS_PER_S * 60)
#define NS_PER_H (NS_PER_M * 60)

/* ASCII only: <ctype.h> would depend on the locale. */
static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Returns the unit's length in ns, or 0 for an unknown unit. The unit is
 * compared byte-wise with its exact length, so embedded NULs never match. */
static uint64_t unit_ns(const unsigned char *u, size_t n)
{
    static const struct {
        const char *name;
        size_t len;
        uint64_t ns;
    } units[] = {
        { "ns", 2, 1 },
        { "us", 2, NS_PER_US },
        { "\xc2\xb5s", 3, NS_PER_US }, /* U+00B5 MICRO SIGN */
        { "\xce\xbcs", 3, NS_PER_US }, /* U+03BC GREEK SMALL LETTER MU */
        { "ms", 2, NS_PER_MS },
        { "s", 1, NS_PER_S },
        { "m", 1, NS_PER_M },
        { "h", 1, NS_PER_H },
    };
    size_t k;

    for (k = 0; k < sizeof units / sizeof units[0]; k++) {
        if (units[k].len == n && memcmp(units[k].name, u, n) == 0)
            return units[k].ns;
    }
    return 0;
}

/* Bounded writer for the error message: always keeps buf NUL-terminated
 * and silently drops what does not fit, so it can never overrun. */
struct msgbuf {
    char *buf;
    size_t cap;
    size_t pos;
};

static void mb_putc(struct msgbuf *mb, char c)
{
    if (mb->buf == NULL || mb->cap == 0)
        return;
    if (mb->pos + 1 < mb->cap) {
        mb->buf[mb->pos++] = c;
        mb->buf[mb->pos] = '\0';
    }
}

static void mb_puts(struct msgbuf *mb, const char *str)
{
    while (*str != '\0')
        mb_putc(mb, *str++);
}

/* Writes p[0..n) between double quotes. Quotes and backslashes are
 * backslash-escaped; control bytes, DEL and all non-ASCII bytes are
 * written as \xNN so the message stays printable ASCII whatever the
 * input (Go's time package also hex-escapes non-ASCII bytes). */
static void mb_quote(struct msgbuf *mb, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k;

    mb_putc(mb, '"');
    for (k = 0; k < n; k++) {
        unsigned char c = p[k];
        if (c == '"' || c == '\\') {
            mb_putc(mb, '\\');
            mb_putc(mb, (char)c);
        } else if (c < 0x20 || c >= 0x7f) {
            mb_putc(mb, '\\');
            mb_putc(mb, 'x');
            mb_putc(mb, hex[c >> 4]);
            mb_putc(mb, hex[c & 0x0f]);
        } else {
            mb_putc(mb, (char)c);
        }
    }
    mb_putc(mb, '"');
}

enum dur_err {
    DUR_ERR_INVALID,
    DUR_ERR_MISSING_UNIT,
    DUR_ERR_UNKNOWN_UNIT
};

/* Formats the error and returns -1. Every message starts with
 * `invalid duration "<input>"` so callers can match on one phrase. */
static int fail(char *errmsg, size_t errlen, const unsigned char *s, size_t len,
                enum dur_err kind, const unsigned char *unit, size_t unitlen)
{
    struct msgbuf mb;

    mb.buf = errmsg;
    mb.cap = errlen;
    mb.pos = 0;
    if (errmsg != NULL && errlen > 0)
        errmsg[0] = '\0';

    mb_puts(&mb, "invalid duration ");
    mb_quote(&mb, s, len);
    switch (kind) {
    case DUR_ERR_MISSING_UNIT:
        mb_puts(&mb, ": missing unit");
        break;
    case DUR_ERR_UNKNOWN_UNIT:
        mb_puts(&mb, ": unknown unit ");
        mb_quote(&mb, unit, unitlen);
        break;
    case DUR_ERR_INVALID:
        break;
    }
    return -1;
}

int ljh__parse_duration(const char *s, size_t len, int64_t *ns, char *errmsg, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t total = 0;
    size_t i = 0;
    int neg = 0;

    if (p == NULL)
        len = 0; /* treat a NULL string as empty, i.e. invalid */

    if (len > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }

    /* A bare zero is the only number allowed without a unit. */
    if (len - i == 1 && p[i] == '0') {
        if (ns != NULL)
            *ns = 0;
        return 0;
    }
    if (i == len)
        return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);

    while (i < len) {
        uint64_t v = 0;     /* integer part */
        uint64_t f = 0;     /* fraction digits that fit, as an integer */
        double scale = 1.0; /* 10^(number of digits accumulated in f) */
        uint64_t unit;
        size_t start;
        int pre, post = 0;

        if (!(p[i] == '.' || is_digit(p[i])))
            return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);

        /* Integer part: any value above 2^63 can never be valid. */
        start = i;
        while (i < len && is_digit(p[i])) {
            uint64_t d = (uint64_t)(p[i] - '0');
            if (v > DUR_LIMIT / 10)
                return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
            v = v * 10 + d;
            if (v > DUR_LIMIT)
                return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
            i++;
        }
        pre = i != start;

        /* Fraction: like Go, keep accumulating digits while they fit and
         * silently drop the rest; excess precision is never an error. */
        if (i < len && p[i] == '.') {
            int dropping = 0;
            i++;
            start = i;
            while (i < len && is_digit(p[i])) {
                uint64_t d = (uint64_t)(p[i] - '0');
                uint64_t y;
                i++;
                if (dropping)
                    continue;
                if (f > (DUR_LIMIT - 1) / 10) {
                    dropping = 1;
                    continue;
                }
                y = f * 10 + d;
                if (y > DUR_LIMIT) {
                    dropping = 1;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = i != start;
        }
        if (!pre && !post) /* "." alone, or a sign/unit with no digits */
            return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);

        /* The unit is everything up to the next digit or dot, so junk such
         * as spaces, '-' or NUL ends up in it and makes it unknown. */
        start = i;
        while (i < len && p[i] != '.' && !is_digit(p[i]))
            i++;
        if (i == start)
            return fail(errmsg, errlen, p, len, DUR_ERR_MISSING_UNIT, NULL, 0);
        unit = unit_ns(p + start, i - start);
        if (unit == 0)
            return fail(errmsg, errlen, p, len, DUR_ERR_UNKNOWN_UNIT,
                        p + start, i - start);

        if (v > DUR_LIMIT / unit)
            return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
        v *= unit;

        if (f > 0) {
            /* Same double arithmetic as Go, so rounding matches exactly.
             * f < scale, hence the product is below unit (< 2^42) and the
             * conversion back to an integer is always in range. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > DUR_LIMIT)
                return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
        }

        /* total and v are both <= 2^63, so check before adding. */
        if (v > DUR_LIMIT - total)
            return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
        total += v;
    }

    if (neg) {
        if (ns != NULL) {
            /* -(2^63) is INT64_MIN; negate in unsigned and avoid the
             * implementation-defined cast of values above INT64_MAX. */
            *ns = total == DUR_LIMIT ? INT64_MIN : -(int64_t)total;
        }
        return 0;
    }
    if (total > (uint64_t)INT64_MAX)
        return fail(errmsg, errlen, p, len, DUR_ERR_INVALID, NULL, 0);
    if (ns != NULL)
        *ns = (int64_t)total;
    return 0;
}

int ljh__duration_ms(const struct ljh_duration *d, int64_t *ms, char *errmsg, size_t errlen)
{
    *ms = 0;
    if (!d || !d->is_set)
        return LJH_OK;
    if (d->str.ptr) {
        int64_t ns;
        if (ljh__parse_duration(d->str.ptr, d->str.len, &ns, errmsg, errlen) != 0)
            return LJH_E_INVALID_ARGUMENT;
        if (ns < 0) {
            ljh__msg(errmsg, errlen, "invalid duration: a timeout must not be negative");
            return LJH_E_INVALID_ARGUMENT;
        }
        /* Round up so that "2us" still means "a limit", not "no limit". */
        *ms = ns / 1000000 + (ns % 1000000 ? 1 : 0);
        return LJH_OK;
    }
    double s = d->seconds;
    /* Go durations top out near 292 years; anything larger is a mistake. */
    if (!isfinite(s) || s < 0 || s > 9.2e9) {
        ljh__msg(errmsg, errlen, "invalid duration: a timeout must be a finite number of "
                                 "seconds between 0 and 9.2e9");
        return LJH_E_INVALID_ARGUMENT;
    }
    /* Whole nanoseconds first, as Go's time.Duration(s * 1e9) truncates:
     * ceil(s * 1000) would turn 2.007 s into 2008 ms. */
    int64_t ns = (int64_t)ljh__floor(s * 1e9);
    *ms = ns / 1000000 + (ns % 1000000 ? 1 : 0);
    if (*ms == 0 && s > 0)
        *ms = 1;
    return LJH_OK;
}
