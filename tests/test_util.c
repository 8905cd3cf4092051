/* SPDX-License-Identifier: BSD-3-Clause */
/* What the test programs share (see tests/test_util.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "src/dispatch/dispatch.h"
#include "tests/reference.h"
#include "tests/test_util.h"

int tu_quick(void)
{
    const char *q = getenv("HPK_TEST_QUICK");
    return q != NULL && q[0] != '\0' && q[0] != '0';
}

float *tu_alloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

void tu_fill_random(uint64_t *seed, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ref_rand(seed, lo, hi);
}

void tu_use_accuracy_of(const struct hpk_kernel_table *t)
{
    for (int act = 0; act <= HPK_ACT_HARDSWISH; act++) {
        ref_act_abs[act] = t->act_accuracy[act].abs;
        ref_act_rel[act] = t->act_accuracy[act].rel;
    }
}

const struct hpk_kernel_table *tu_table_or_skip(void **state)
{
    const struct hpk_kernel_table *t = *state;
    if (!hpk_table_usable(hpk_machine_get(), t)) {
        fprintf(stderr, "table %s: this CPU cannot run it, skipped\n", t->isa);
        skip();
    }
    tu_use_accuracy_of(t);
    return t;
}

int tu_run(const char *group, const struct tu_table_test *per, size_t nper,
           const struct CMUnitTest *common, size_t ncommon)
{
    const struct hpk_kernel_table *const *tables;
    const size_t ntables = hpk_tables_compiled(&tables);
    struct CMUnitTest *tests = calloc(ntables * nper + ncommon + 1, sizeof *tests);
    char(*names)[64] = calloc(ntables * nper + 1, sizeof *names);
    if (tests == NULL || names == NULL)
        return 1;
    size_t n = 0;
    for (size_t i = 0; i < ntables; i++)
        for (size_t j = 0; j < nper; j++, n++) {
            snprintf(names[n], sizeof names[n], "%s/%s", tables[i]->isa, per[j].name);
            tests[n] = (struct CMUnitTest){.name = names[n], .test_func = per[j].fn,
                                           .initial_state = (void *)(uintptr_t)tables[i]};
        }
    for (size_t j = 0; j < ncommon; j++)
        tests[n++] = common[j];
    const int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    free(names);
    return failed;
}

/* ---- guarded buffers and canaries ----------------------------------------------------------- */

float *tu_guarded_alloc(size_t n, struct tu_guarded *g)
{
#if defined(__unix__)
    const long pg = sysconf(_SC_PAGESIZE);
    const size_t page = pg > 0 ? (size_t)pg : 4096;
    const size_t data = (n * sizeof(float) + page - 1) / page * page;
    g->len = data + page;
    g->base = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->base != MAP_FAILED);
    assert_int_equal(mprotect((char *)g->base + data, page, PROT_NONE), 0);
    return (float *)((char *)g->base + data) - n;
#else
    g->len = 0;
    g->base = malloc(n * sizeof(float));
    assert_non_null(g->base);
    return g->base;
#endif
}

void tu_guarded_free(struct tu_guarded *g)
{
#if defined(__unix__)
    if (g->base != NULL)
        munmap(g->base, g->len);
#else
    free(g->base);
#endif
    g->base = NULL;
}

float tu_canary(void)
{
    uint32_t bits = TU_CANARY_BITS;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int tu_is_canary(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits == TU_CANARY_BITS;
}

int tu_close_enough(double want, double got, double bound)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= bound;
}

float *tu_output_alloc(size_t len)
{
    float *buf = malloc((len + 2 * TU_CANARIES) * sizeof(float));
    assert_non_null(buf);
    for (size_t i = 0; i < len + 2 * TU_CANARIES; i++)
        buf[i] = i < TU_CANARIES || i >= TU_CANARIES + len ? tu_canary() : ref_sentinel();
    return buf;
}

void tu_check_untouched(const char *who, const char *shape, const float *buf, size_t len,
                        size_t channels, size_t stride)
{
    for (size_t i = 0; i < TU_CANARIES; i++) {
        if (!tu_is_canary(buf[i]))
            fail_msg("%s %s: wrote %zu floats before the output", who, shape, TU_CANARIES - i);
        if (!tu_is_canary(buf[TU_CANARIES + len + i]))
            fail_msg("%s %s: wrote %zu floats past the last pixel", who, shape, i + 1);
    }
    for (size_t i = 0; i < len; i++)
        if (i % stride >= channels && !ref_is_sentinel(buf[TU_CANARIES + i]))
            fail_msg("%s %s: wrote into the gap after pixel %zu at channel %zu", who, shape,
                     i / stride, i % stride);
}

const float *tu_residual_in_place(float *buf, const float *res, size_t width, size_t channels,
                                  size_t stride)
{
    for (size_t o = 0; o < width; o++)
        memcpy(buf + TU_CANARIES + o * stride, res + o * stride, channels * sizeof(float));
    return buf + TU_CANARIES;
}
