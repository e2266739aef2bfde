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

/* -ffast-math would fold (x + 2^52) - 2^52 into x. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)

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

/* nearbyint(x): x rounded to a whole number as the current rounding
 * mode says (ties to even by default), the sign of x kept (-0.3 gives
 * -0). Past +-2^52 a double has no fraction bits, so adding 2^52 to a
 * positive x (subtracting it from a negative one) rounds x, in the
 * current mode, and taking it back off is exact. A zero result takes
 * x's sign, as nearbyint's does. */
static inline double ljh__round_even(double x)
{
    if (!(x > -LJH__WHOLE_FROM && x < LJH__WHOLE_FROM))
        return x;
    double r = signbit(x) ? (x - LJH__WHOLE_FROM) + LJH__WHOLE_FROM
                          : (x + LJH__WHOLE_FROM) - LJH__WHOLE_FROM;
    return r == 0 ? x * 0.0 : r;
}

#else
static inline double ljh__floor(double x) { return floor(x); }
static inline double ljh__round_even(double x) { return nearbyint(x); }
#endif

#endif
