/* Whole-number rounding of doubles without libm.
 *
 * The library links no libm: under dlopen every library in its load
 * scope is one more place each of libcurl's symbol lookups passes
 * through, and floor and nearbyint were libm's only two calls here.
 * Both are exact for every double on targets that evaluate double
 * arithmetic in double (FLT_EVAL_METHOD 0: x86-64, AArch64); elsewhere
 * libm's own functions are used. */
#ifndef LJH_NUM_H
#define LJH_NUM_H

#include <float.h>
#include <math.h> /* signbit, a macro; without FLT_EVAL_METHOD 0 also floor, nearbyint */
#include <stdint.h>

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0

/* 2^52: from here on every double is a whole number. */
#define LJH__WHOLE_FROM 4503599627370496.0

/* floor(x); +0 for -0. NaN and infinities come back as they are. */
static inline double ljh__floor(double x)
{
    if (!(x > -LJH__WHOLE_FROM && x < LJH__WHOLE_FROM))
        return x;
    double t = (double)(int64_t)x; /* toward zero, exact below 2^52 */
    return t > x ? t - 1.0 : t;
}

/* nearbyint(x) in the default rounding mode: the nearest whole number,
 * ties to even, the sign of x kept (-0.3 gives -0). Adding 2^52 leaves
 * no fraction bits, so the addition itself rounds x to a whole number,
 * as the current mode says; subtracting 2^52 again is exact. */
static inline double ljh__round_even(double x)
{
    if (!(x > -LJH__WHOLE_FROM && x < LJH__WHOLE_FROM))
        return x;
    if (signbit(x))
        return -((-x + LJH__WHOLE_FROM) - LJH__WHOLE_FROM);
    return (x + LJH__WHOLE_FROM) - LJH__WHOLE_FROM;
}

#else
static inline double ljh__floor(double x) { return floor(x); }
static inline double ljh__round_even(double x) { return nearbyint(x); }
#endif

#endif
