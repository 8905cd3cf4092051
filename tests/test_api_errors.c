/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every invalid argument of every public function gives its documented status and leaves the
 * outputs bit for bit as they were. Each refused call is paired with the nearest valid call,
 * which must succeed, so a test cannot pass because everything is refused.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hpk/hpk.h"

enum { M = 5, N = 4, K = 3, BUF = 64 };

/* One call's arguments; the helpers below change one field at a time. */
struct call {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k;
    float alpha;
    const float *a;
    size_t lda;
    const float *b;
    size_t ldb;
    float beta;
    float *c;
    size_t ldc;
    const hpk_epilogue *epi;
};

static float abuf[BUF], bbuf[BUF], cbuf[BUF], bias[BUF], res[BUF];

static struct call valid_call(void)
{
    /* Row-major NN: A is M x K (lda K), B is K x N (ldb N), C is M x N (ldc N). */
    struct call c = {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, 1.0f, abuf, K, bbuf, N,
                     0.5f, cbuf, N, NULL};
    return c;
}

static hpk_status run(const struct call *c)
{
    return hpk_sgemm_ex(c->layout, c->ta, c->tb, c->m, c->n, c->k, c->alpha, c->a, c->lda, c->b,
                        c->ldb, c->beta, c->c, c->ldc, c->epi);
}

/* Runs c, expects `want`, and checks that C (the whole buffer) did not change. With no
 * epilogue the same call also goes through hpk_sgemm. */
static void expect(const char *what, const struct call *c, hpk_status want)
{
    float before[BUF];
    for (size_t i = 0; i < BUF; i++)
        cbuf[i] = (float)i * 0.25f - 3.0f;
    memcpy(before, cbuf, sizeof before);
    hpk_status got = run(c);
    if (got != want)
        fail_msg("%s: got %s, want %s", what, hpk_status_string(got), hpk_status_string(want));
    if (want != HPK_OK && memcmp(before, cbuf, sizeof before) != 0)
        fail_msg("%s: refused but C changed", what);
    if (c->epi == NULL) {
        memcpy(cbuf, before, sizeof before);
        got = hpk_sgemm(c->layout, c->ta, c->tb, c->m, c->n, c->k, c->alpha, c->a, c->lda, c->b,
                        c->ldb, c->beta, c->c, c->ldc);
        if (got != want)
            fail_msg("%s (hpk_sgemm): got %s, want %s", what, hpk_status_string(got),
                     hpk_status_string(want));
        if (want != HPK_OK && memcmp(before, cbuf, sizeof before) != 0)
            fail_msg("%s (hpk_sgemm): refused but C changed", what);
    }
}

static void init_data(void)
{
    for (size_t i = 0; i < BUF; i++) {
        abuf[i] = (float)(i % 7) - 3.0f;
        bbuf[i] = (float)(i % 5) - 2.0f;
        bias[i] = (float)i;
        res[i] = 1.0f;
    }
}

static void test_valid_call_succeeds_and_writes(void **state)
{
    (void)state;
    init_data();
    struct call c = valid_call();
    expect("valid call", &c, HPK_OK);
    /* the valid call did compute something: C[0][0] = sum_p A[0][p] B[p][0] + 0.5 C0[0][0] */
    float want = 0.5f * -3.0f;
    for (size_t p = 0; p < K; p++)
        want += abuf[p] * bbuf[p * N];
    assert_float_equal(cbuf[0], want, 1e-5f);
}

static void test_bad_enums(void **state)
{
    (void)state;
    init_data();
    const int bad[] = {0, 100, 103, 110, 113, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct call c = valid_call();
        c.layout = (hpk_layout)bad[i];
        expect("layout", &c, HPK_ERR_INVALID_ARG);
        c = valid_call();
        c.ta = (hpk_transpose)bad[i];
        expect("transa", &c, HPK_ERR_INVALID_ARG);
        c = valid_call();
        c.tb = (hpk_transpose)bad[i];
        expect("transb", &c, HPK_ERR_INVALID_ARG);
    }
}

/* For every layout and transpose, the smallest valid leading dimension works and one less is
 * refused. */
static void test_leading_dimensions(void **state)
{
    (void)state;
    init_data();
    for (int lay = 0; lay < 2; lay++)
        for (int tr = 0; tr < 4; tr++) {
            struct call c = valid_call();
            c.layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
            c.ta = tr & 1 ? HPK_TRANS : HPK_NO_TRANS;
            c.tb = tr & 2 ? HPK_TRANS : HPK_NO_TRANS;
            /* stored A is M x K (N) or K x M (T); row-major ld = columns, col-major = rows */
            size_t a_rows = c.ta == HPK_TRANS ? K : M, a_cols = c.ta == HPK_TRANS ? M : K;
            size_t b_rows = c.tb == HPK_TRANS ? N : K, b_cols = c.tb == HPK_TRANS ? K : N;
            c.lda = lay ? a_rows : a_cols;
            c.ldb = lay ? b_rows : b_cols;
            c.ldc = lay ? M : N;
            expect("minimal leading dimensions", &c, HPK_OK);
            struct call d = c;
            d.lda--;
            expect("lda too small", &d, HPK_ERR_INVALID_ARG);
            d = c;
            d.ldb--;
            expect("ldb too small", &d, HPK_ERR_INVALID_ARG);
            d = c;
            d.ldc--;
            expect("ldc too small", &d, HPK_ERR_INVALID_ARG);
        }
    /* As in BLAS, a leading dimension of 0 is refused even for an empty matrix. */
    struct call c = valid_call();
    c.m = 0;
    c.lda = 0;
    expect("lda = 0 with m = 0", &c, HPK_ERR_INVALID_ARG);
    c.lda = K;
    expect("m = 0", &c, HPK_OK);
}

static void test_null_pointers(void **state)
{
    (void)state;
    init_data();
    struct call c = valid_call();
    c.a = NULL;
    expect("A NULL", &c, HPK_ERR_INVALID_ARG);
    c = valid_call();
    c.b = NULL;
    expect("B NULL", &c, HPK_ERR_INVALID_ARG);
    c = valid_call();
    c.c = NULL;
    expect("C NULL", &c, HPK_ERR_INVALID_ARG);
    /* Not read, so NULL is fine: A and B with k = 0 or alpha = 0, everything with m = 0. */
    c = valid_call();
    c.a = c.b = NULL;
    c.k = 0;
    expect("A, B NULL with k = 0", &c, HPK_OK);
    c = valid_call();
    c.a = c.b = NULL;
    c.alpha = 0.0f;
    expect("A, B NULL with alpha = 0", &c, HPK_OK);
    c = valid_call();
    c.a = c.b = NULL;
    c.c = NULL;
    c.n = 0;
    expect("all NULL with n = 0", &c, HPK_OK);
}

static void test_overflow(void **state)
{
    (void)state;
    init_data();
    /* A's extent (m - 1) * lda + k overflows size_t, and one that passes size_t but not the
     * address space in bytes. Neither is ever dereferenced. */
    struct call c = valid_call();
    c.m = SIZE_MAX / 2;
    c.lda = 4;
    expect("A extent overflows", &c, HPK_ERR_OVERFLOW);
    c = valid_call();
    c.ldb = SIZE_MAX / 2;
    expect("B extent past the address space", &c, HPK_ERR_OVERFLOW);
    c = valid_call();
    c.n = SIZE_MAX / 8;
    c.ldb = SIZE_MAX / 8;
    c.ldc = SIZE_MAX / 8;
    expect("n overflows", &c, HPK_ERR_OVERFLOW);
}

static void test_overlap(void **state)
{
    (void)state;
    init_data();
    struct call c = valid_call();
    c.a = cbuf + 3;
    expect("C overlaps A", &c, HPK_ERR_INVALID_ARG);
    c = valid_call();
    c.b = cbuf + (M * N - 1);
    expect("C overlaps B", &c, HPK_ERR_INVALID_ARG);
    c = valid_call();
    c.b = cbuf + M * N; /* just past C: no overlap */
    expect("B right after C", &c, HPK_OK);
    /* Overlap does not matter when A and B are not read (alpha = 0). */
    c = valid_call();
    c.a = cbuf;
    c.alpha = 0.0f;
    expect("A == C with alpha = 0", &c, HPK_OK);
}

static void test_epilogue_args(void **state)
{
    (void)state;
    init_data();
    struct call c = valid_call();
    hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = bias, .residual = res, .ldr = N,
                      .act = HPK_ACT_CLAMP, .act_lo = -1.0f, .act_hi = 1.0f};
    c.epi = &e;
    expect("valid epilogue", &c, HPK_OK);

    hpk_epilogue d = e;
    d.bias_axis = (hpk_bias_axis)3;
    c.epi = &d;
    expect("unknown bias axis", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.bias = NULL;
    expect("bias axis without bias", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.bias_axis = HPK_BIAS_NONE;
    expect("bias without axis", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.act = (hpk_activation)(HPK_ACT_HARDSWISH + 1);
    expect("unknown activation", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.act = (hpk_activation)-1;
    expect("negative activation", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.act_lo = 2.0f;
    expect("clamp lo > hi", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.act_hi = NAN;
    expect("clamp hi NaN", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.act_lo = -INFINITY;
    d.act_hi = INFINITY;
    expect("clamp to infinities", &c, HPK_OK);
    d = e;
    d.act = HPK_ACT_LEAKY_RELU;
    d.act_slope = INFINITY;
    expect("leaky slope inf", &c, HPK_ERR_INVALID_ARG);
    d.act_slope = NAN;
    expect("leaky slope NaN", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.ldr = N - 1;
    expect("ldr too small", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.bias = cbuf + 2;
    expect("bias overlaps C", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.residual = cbuf + 1;
    expect("residual overlaps C, shifted", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.residual = cbuf;
    d.ldr = N + 1;
    expect("residual == C with another stride", &c, HPK_ERR_INVALID_ARG);
    d = e;
    d.residual = cbuf;
    d.ldr = N;
    expect("residual == C, same stride", &c, HPK_OK);
}

static void test_misc_functions(void **state)
{
    (void)state;
    for (int s = HPK_OK; s <= HPK_ERR_PRODUCED_TWICE; s++) {
        const char *str = hpk_status_string((hpk_status)s);
        assert_non_null(str);
        assert_string_not_equal(str, "unknown hpk_status");
    }
    assert_string_equal(hpk_status_string((hpk_status)999), "unknown hpk_status");
    char expect_version[32];
    snprintf(expect_version, sizeof expect_version, "%d.%d.%d", HPK_VERSION_MAJOR,
             HPK_VERSION_MINOR, HPK_VERSION_PATCH);
    assert_string_equal(hpk_version(), expect_version);

    assert_int_equal(hpk_isa(NULL), HPK_ERR_INVALID_ARG);
    const char *name = NULL;
    assert_int_equal(hpk_isa(&name), HPK_OK);
    assert_non_null(name);

    char buf[8];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(hpk_describe(NULL, 10, NULL), HPK_ERR_INVALID_ARG);
    size_t needed = 0;
    assert_int_equal(hpk_describe(NULL, 0, &needed), HPK_OK);
    assert_true(needed > sizeof buf);
    assert_int_equal(hpk_describe(buf, sizeof buf, NULL), HPK_OK);
    assert_int_equal(buf[sizeof buf - 1], '\0'); /* truncated, still terminated */
}

/*
 * A bad override makes every call fail with its status and touch nothing. The configuration is
 * read once per process, so each override runs in a fresh process: this program re-executed
 * with "--override-child" (see main), which exits 0 when the calls behaved.
 */
static const char *self_path, *self_arg0;

static int override_child(hpk_status want)
{
    init_data();
    for (size_t i = 0; i < BUF; i++)
        cbuf[i] = 7.0f;
    struct call c = valid_call();
    int ok = run(&c) == want;
    c.m = 0; /* even an empty call reports it */
    ok = ok && run(&c) == want;
    for (size_t i = 0; i < BUF; i++)
        ok = ok && (want == HPK_OK || cbuf[i] == 7.0f);
    const char *name = "x";
    ok = ok && (want != HPK_ERR_UNSUPPORTED || (hpk_isa(&name) == want && name == NULL));
    /* The convolution operator: creation fails the same way, and returns no operator. */
    static const float filter[4 * 3 * 3 * 2];
    hpk_conv2d_desc d = {.kernel_h = 3, .kernel_w = 3, .in_channels = 2, .out_channels = 4};
    hpk_conv2d *op = (hpk_conv2d *)&d;
    ok = ok && hpk_conv2d_create(&d, filter, NULL, &op) == want && (want == HPK_OK) == (op != NULL);
    if (op != NULL) {
        float in[5 * 5 * 2] = {0};
        ok = ok && hpk_conv2d_run(op, 1, 5, 5, in, 2, cbuf, 4, NULL, 0) == HPK_OK;
    }
    hpk_conv2d_destroy(op);
    return ok ? 0 : 1;
}

static void check_override_in_child(const char *var, const char *value, hpk_status want)
{
    char want_str[16];
    snprintf(want_str, sizeof want_str, "%d", (int)want);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv(var, value, 1);
        /* Under qemu-user (a cross build's tests) the host cannot exec a foreign binary: the
         * host's /bin/sh starts it through the launcher, as make check does. */
        const char *launcher = getenv("HPK_TEST_LAUNCHER");
        if (launcher != NULL && launcher[0] != '\0')
            execl("/bin/sh", "sh", "-c",
                  "exec $HPK_TEST_LAUNCHER \"$0\" --override-child \"$1\"", self_arg0, want_str,
                  (char *)NULL);
        else
            execl(self_path, self_path, "--override-child", want_str, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s=%s: calls did not fail with %s, or wrote C (child status %d)", var, value,
                 hpk_status_string(want), status);
}

static void test_bad_overrides(void **state)
{
    (void)state;
    check_override_in_child("HPK_ISA", "no-such-isa", HPK_ERR_UNSUPPORTED);
    check_override_in_child("HPK_KC", "abc", HPK_ERR_INVALID_ARG);
    check_override_in_child("HPK_MC", "0", HPK_ERR_INVALID_ARG);
    check_override_in_child("HPK_NUM_THREADS", "0", HPK_ERR_INVALID_ARG);
    check_override_in_child("HPK_PIN", "2", HPK_ERR_INVALID_ARG);
    check_override_in_child("HPK_WAIT_US", "2s", HPK_ERR_INVALID_ARG);
    check_override_in_child("HPK_ISA", "generic", HPK_OK); /* and the good one works */
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--override-child") == 0)
        return override_child((hpk_status)atoi(argv[2]));
    self_arg0 = argv[0];
    self_path = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_call_succeeds_and_writes),
        cmocka_unit_test(test_bad_enums),
        cmocka_unit_test(test_leading_dimensions),
        cmocka_unit_test(test_null_pointers),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_epilogue_args),
        cmocka_unit_test(test_misc_functions),
        cmocka_unit_test(test_bad_overrides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
