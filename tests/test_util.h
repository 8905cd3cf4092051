/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the test programs share: buffers, the table under test, and the main() that registers
 * each per-table test once for every compiled kernel table (tables this machine cannot run are
 * reported as skipped by their tests, never as passed). Include after <cmocka.h>.
 */
#ifndef HPK_TESTS_TEST_UTIL_H
#define HPK_TESTS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "src/base/ukernel.h"

/* HPK_TEST_QUICK=1: the shrunken grids (sanitizers, qemu) that still cover every edge class. */
int tu_quick(void);

/* n floats (at least one) from malloc; fails the test when out of memory. */
float *tu_alloc_floats(size_t n);

/* x[i] uniform in [lo, hi) from the deterministic generator of tests/reference.c. */
void tu_fill_random(uint64_t *seed, float *x, size_t n, float lo, float hi);

/* Holds the reference (tests/reference.c) to a table's promised activation accuracy. */
void tu_use_accuracy_of(const struct hpk_kernel_table *t);

/*
 * The table a per-table test runs (its cmocka state), or skip() when this CPU cannot run it.
 * Also holds the reference to the table's promised activation accuracy (ref_act_abs/rel).
 */
const struct hpk_kernel_table *tu_table_or_skip(void **state);

/* n floats that end where an inaccessible page begins (malloc where there is no mmap): a
 * kernel that reads one float past them faults. Free with tu_guarded_free. */
struct tu_guarded {
    void *base;
    size_t len;
};
float *tu_guarded_alloc(size_t n, struct tu_guarded *g);
void tu_guarded_free(struct tu_guarded *g);

/* Canaries around an output: a finite value (the gap sentinel of tests/reference.h is a NaN). */
#define TU_CANARY_BITS 0xc2f1ca75u
#define TU_CANARIES 16
float tu_canary(void);
int tu_is_canary(float x);

/* got against want within bound; NaN wants NaN, an infinity the same infinity. */
int tu_close_enough(double want, double got, double bound);

/* An output of len floats between TU_CANARIES canaries on each side, the sentinel of
 * tests/reference.h inside (the gaps between pixels must keep it); the data starts at
 * buf + TU_CANARIES. Free with free(). */
float *tu_output_alloc(size_t len);

/* Fails the test if a canary changed or a gap element (i % stride >= channels) was written. */
void tu_check_untouched(const char *who, const char *shape, const float *buf, size_t len,
                        size_t channels, size_t stride);

/* The residual copied into the output's width pixels (the kernel then reads the residual where
 * it writes); returns the output's data pointer, the residual pointer for the context. */
const float *tu_residual_in_place(float *buf, const float *res, size_t width, size_t channels,
                                  size_t stride);

/* A test run once per compiled table, named "<isa>/<name>". */
struct tu_table_test {
    const char *name;
    void (*fn)(void **state);
};

/* Runs the per-table tests for every compiled table, then the common ones; cmocka's status. */
int tu_run(const char *group, const struct tu_table_test *per, size_t nper,
           const struct CMUnitTest *common, size_t ncommon);

#endif /* HPK_TESTS_TEST_UTIL_H */
