/* Go duration parser: ljh__parse_duration and ljh__duration_ms. Checks that
 * the message is always NUL-terminated inside an exactly sized buffer (ASan
 * sees any overrun) and that accepted strings give sane milliseconds. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t ns = 0;
    char msg[256];
    int rc = ljh__parse_duration(s, size, &ns, msg, sizeof msg);
    if (rc != 0)
        FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);

    /* The same with a tiny, exactly sized message buffer. */
    size_t cap = size % 9;
    char *small = cap ? malloc(cap) : NULL;
    int64_t ns2 = 0;
    int rc2 = ljh__parse_duration(s, size, &ns2, small, cap);
    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(rc != 0 || ns == ns2);
    if (rc2 != 0 && cap)
        FUZZ_CHECK(memchr(small, '\0', cap) != NULL);
    free(small);

    /* Through the request options' conversion (ljh__duration_ms). */
    ljh_duration d;
    memset(&d, 0, sizeof d);
    d.is_set = 1;
    d.str.ptr = s;
    d.str.len = size;
    int64_t ms = -1;
    int e = ljh__duration_ms(&d, &ms, msg, sizeof msg);
    if (e == LJH_OK) {
        FUZZ_CHECK(rc == 0 && ns >= 0);
        FUZZ_CHECK(ms >= 0 && (ns == 0 || ms > 0));
    } else {
        FUZZ_CHECK(e == LJH_E_INVALID_ARGUMENT);
    }

    /* Eight bytes are also a number of seconds. */
    if (size == sizeof(double)) {
        memset(&d, 0, sizeof d);
        d.is_set = 1;
        memcpy(&d.seconds, data, sizeof d.seconds);
        e = ljh__duration_ms(&d, &ms, msg, sizeof msg);
        FUZZ_CHECK(e == LJH_OK || e == LJH_E_INVALID_ARGUMENT);
        if (e == LJH_OK)
            FUZZ_CHECK(ms >= 0);
    }
    return 0;
}
