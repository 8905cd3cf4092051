/* SPDX-License-Identifier: BSD-3-Clause */
/* Checked size arithmetic: every product of sizes goes through these. */
#ifndef HPK_BASE_CHECKED_H
#define HPK_BASE_CHECKED_H

#include <stddef.h>
#include <stdint.h>

/* *out = a * b; returns 0 on success, 1 if it overflows size_t. */
static inline int hpk_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* *out = a + b; returns 0 on success, 1 if it overflows size_t. */
static inline int hpk_add_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* Rounds x up to a multiple of m (m > 0); returns 1 on overflow. */
static inline int hpk_round_up_overflow(size_t x, size_t m, size_t *out)
{
    size_t r = x % m;
    return hpk_add_overflow(x, r ? m - r : 0, out);
}

static inline size_t hpk_min_size(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t hpk_max_size(size_t a, size_t b) { return a > b ? a : b; }
static inline size_t hpk_div_round_up(size_t x, size_t m) { return x / m + (x % m != 0); }

/* *bytes = the byte extent of `pixels` (>= 1) pixels of `channels` floats, `stride` floats
 * apart (the last pixel's channels end it); returns 1 if it overflows or exceeds PTRDIFF_MAX. */
static inline int hpk_tensor_bytes(size_t pixels, size_t channels, size_t stride, size_t *bytes)
{
    size_t e;
    if (hpk_mul_overflow(pixels - 1, stride, &e) || hpk_add_overflow(e, channels, &e) ||
        e > (size_t)PTRDIFF_MAX / sizeof(float))
        return 1;
    *bytes = e * sizeof(float);
    return 0;
}

#endif /* HPK_BASE_CHECKED_H */
