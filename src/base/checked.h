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

#endif /* HPK_BASE_CHECKED_H */
