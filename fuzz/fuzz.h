/* Shared by the libFuzzer targets: a check that aborts (libFuzzer saves the
 * input as a crash) and a splitter for inputs made of several fields. */
#ifndef LJHTTP_FUZZ_H
#define LJHTTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Splits data at the byte 0xff into at most max fields (the last one takes
 * the rest). Fields point into data; returns the number found. */
typedef struct fuzz_field {
    const char *p;
    size_t n;
} fuzz_field;

static inline int fuzz_split(const uint8_t *data, size_t size, fuzz_field *out, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i < size && k < max - 1; i++) {
        if (data[i] == 0xff) {
            out[k].p = (const char *)data + start;
            out[k].n = i - start;
            k++;
            start = i + 1;
        }
    }
    if (k < max) {
        out[k].p = (const char *)data + start;
        out[k].n = size - start;
        k++;
    }
    return k;
}

/* An exactly sized heap copy (ASan sees a read one byte past the end). */
static inline char *fuzz_dup(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    for (size_t i = 0; i < n; i++)
        c[i] = p[i];
    return c;
}

#endif
