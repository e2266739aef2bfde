#ifndef LJHTTP_DURATION_H
#define LJHTTP_DURATION_H

/* Go-compatible duration parsing (time.ParseDuration semantics), used for
 * timeout options given as strings. */

#include <stddef.h>
#include <stdint.h>

/* Parses a Go duration string ("300ms", "-1.5h", "2h45m", "1µs").
 * On success stores nanoseconds in *ns and returns 0.
 * On failure returns -1 and writes a NUL-terminated message into errmsg
 * (errlen bytes, may be 0 / NULL) of the form: invalid duration "<input>"
 * (Go's wording; other Go messages "unknown unit ..." / "missing unit ..."
 * must also contain the words `invalid duration` OR be worded so that
 * they contain it, e.g. `invalid duration "1x": unknown unit "x"`).
 * The input is s[0..len), not necessarily NUL-terminated; it may contain
 * any bytes including NUL (which make it invalid). Non-printable bytes of
 * the input are shown escaped in the message; the message is truncated
 * safely to errlen. */
int ljh__parse_duration(const char *s, size_t len, int64_t *ns, char *errmsg, size_t errlen);

/* An ljh_duration option (cdef/ljhttp.h) -> milliseconds, rounded up (> 0
 * when not zero; 0 when not set). Returns LJH_OK or LJH_E_INVALID_ARGUMENT
 * with errmsg filled. Needs ljhttp.h included first (internal.h does). */
struct ljh_duration;
int ljh__duration_ms(const struct ljh_duration *d, int64_t *ms, char *errmsg, size_t errlen);

#endif /* LJHTTP_DURATION_H */
