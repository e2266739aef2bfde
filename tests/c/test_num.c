/* csrc/num.h: floor and nearbyint without libm give libm's results, bit
 * for bit, on edge cases and on a sweep of values around every place a
 * fraction can round (the tests themselves link libm). */

#include <criterion/criterion.h>

#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "num.h"

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void same(double x)
{
    double f = ljh__floor(x), n = ljh__round_even(x);
    if (isnan(x)) {
        cr_assert(isnan(f) && isnan(n), "NaN stays NaN");
        return;
    }
    /* floor(-0) is -0 in libm and +0 here: equal as numbers, and the
     * callers only compare (json_print) or convert (duration) it */
    if (x == 0)
        cr_assert(f == 0, "floor(%a)", x);
    else
        cr_assert_eq(bits(f), bits(floor(x)), "floor(%a): %a, libm %a", x, f, floor(x));
    cr_assert_eq(bits(n), bits(nearbyint(x)), "nearbyint(%a): %a, libm %a", x, n, nearbyint(x));
}

Test(num, edge_cases)
{
    const double two52 = 4503599627370496.0;
    const double cases[] = {
        0.0, -0.0, 0.3, -0.3, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994,
        -0.49999999999999994, 1.0, -1.0, 1e-300, -1e-300, 5e-324, -5e-324, two52 - 0.5,
        -(two52 - 0.5), two52 - 1.5, two52, -two52, two52 + 1, 2 * two52, -2 * two52, 1e300,
        -1e300, INFINITY, -INFINITY, NAN, 9.2e9 * 1e9, 2.007e9, 123456.5, 123457.5,
        9007199254740991.0, -9007199254740991.0,
    };
    cr_assert_eq(fegetround(), FE_TONEAREST);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same(cases[i]);
}

Test(num, sweep_of_fractions)
{
    /* whole numbers of every size, each with fractions near 0, 1/2 and 1 */
    const double frac[] = {0.0, 0.25, 0.5, 0.75, 0.1, 0.9, 0.4999999, 0.5000001};
    for (int e = 0; e < 53; e++) {
        double base = ldexp(1.0, e);
        for (int d = -2; d <= 2; d++) {
            for (size_t k = 0; k < sizeof frac / sizeof frac[0]; k++) {
                double x = base + d + frac[k];
                same(x);
                same(-x);
                same(nextafter(x, 0));
                same(nextafter(x, INFINITY));
                same(-nextafter(x, INFINITY));
            }
        }
    }
    /* what json_print rounds: x * 10^k for decimals */
    for (int i = -5000; i <= 5000; i++) {
        double x = i / 1000.0;
        for (double p = 10; p <= 1e8; p *= 10)
            same(x * p);
    }
}

Test(num, other_rounding_modes)
{
    /* nearbyint follows the current mode, and so does the replacement */
    const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    const double cases[] = {0.3, -0.3, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.7, -0.7, -0.0, 0.0,
                            123456.25, -123456.75, 4503599627370495.5, -4503599627370495.5};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        cr_assert_eq(fesetround(modes[m]), 0);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            volatile double x = cases[i];
            double n = ljh__round_even(x), want = nearbyint(x);
            if (bits(n) != bits(want)) {
                fesetround(FE_TONEAREST);
                cr_assert_fail("mode %d: nearbyint(%a): %a, libm %a", modes[m], cases[i], n, want);
            }
        }
        fesetround(FE_TONEAREST);
    }
}
