/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libhpk_blas on bad input: every invalid argument of sgemm_ and cblas_sgemm is reported once,
 * through the program's XERBLA or cblas_xerbla (defined here, as the reference testers do), with
 * the reference BLAS's argument number, and C is left bit for bit as it was. Where several
 * arguments are invalid, the one the reference reports first is reported. Each refused call is
 * paired with the nearest valid call, which must compute, so a test cannot pass because
 * everything is refused. Then the reference semantics the BLAS testers rely on: quick returns
 * that leave C untouched (and A, B unread), alpha = 0 and beta = 0, every option letter and
 * enum, both layouts, against a double-precision loop.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blas/blas.h"

enum {
    BUF = 512
};

/* --- the program's error handlers ----------------------------------------------------------- */

static int f77_calls, f77_info;
static char f77_name[16];
static size_t f77_len;
static int cblas_calls, cblas_pos;
static char cblas_rout[32];

void xerbla_(const char *srname, const hpk_blas_int *info, size_t srname_len)
{
    f77_calls++;
    f77_info = *info;
    f77_len = srname_len;
    size_t n = srname_len < sizeof f77_name - 1 ? srname_len : sizeof f77_name - 1;
    memcpy(f77_name, srname, n);
    f77_name[n] = '\0';
}

void cblas_xerbla(hpk_blas_int p, const char *rout, const char *form, ...)
{
    (void)form;
    cblas_calls++;
    cblas_pos = p;
    snprintf(cblas_rout, sizeof cblas_rout, "%s", rout);
}

static void reset_handlers(void)
{
    f77_calls = f77_info = cblas_calls = cblas_pos = 0;
    f77_len = 0;
    f77_name[0] = cblas_rout[0] = '\0';
}

/* --- operands -------------------------------------------------------------------------------- */

static float abuf[BUF], bbuf[BUF], cbuf[BUF], cbefore[BUF];

static void fill_operands(void)
{
    for (int i = 0; i < BUF; i++) {
        abuf[i] = (float)((i * 7) % 13) * 0.125f - 0.75f;
        bbuf[i] = (float)((i * 5) % 11) * 0.25f - 1.25f;
    }
}

/* C gets a recognisable pattern (NaN included, which a wrong write could not reproduce). */
static void fill_c(void)
{
    for (int i = 0; i < BUF; i++)
        cbuf[i] = i % 17 == 3 ? NAN : (float)i * 0.5f - 7.0f;
    memcpy(cbefore, cbuf, sizeof cbuf);
}

static int c_unchanged(void)
{
    return memcmp(cbuf, cbefore, sizeof cbuf) == 0;
}

/* --- sgemm_ ---------------------------------------------------------------------------------- */

struct f77_call {
    const char *what;
    char ta, tb;
    hpk_blas_int m, n, k, lda, ldb, ldc;
    int info; /* expected XERBLA argument number, 0: valid */
};

static void run_f77(const struct f77_call *c, float alpha, float beta)
{
    sgemm_(&c->ta, &c->tb, &c->m, &c->n, &c->k, &alpha, abuf, &c->lda, bbuf, &c->ldb, &beta, cbuf,
           &c->ldc, 1, 1);
}

static void expect_f77(const struct f77_call *c)
{
    fill_c();
    reset_handlers();
    run_f77(c, 1.5f, 0.5f);
    if (c->info == 0) {
        if (f77_calls != 0 || cblas_calls != 0)
            fail_msg("%s: valid call reported (XERBLA info %d)", c->what, f77_info);
        if (c->m > 0 && c->n > 0 && c_unchanged())
            fail_msg("%s: valid call did not write C", c->what);
        return;
    }
    if (f77_calls != 1 || cblas_calls != 0)
        fail_msg("%s: XERBLA called %d times (cblas_xerbla %d), want once", c->what, f77_calls,
                 cblas_calls);
    if (f77_info != c->info)
        fail_msg("%s: XERBLA info %d, want %d", c->what, f77_info, c->info);
    if (f77_len != 6 || strcmp(f77_name, "SGEMM ") != 0)
        fail_msg("%s: XERBLA name '%s' (length %zu), want 'SGEMM ' (6)", c->what, f77_name,
                 f77_len);
    if (!c_unchanged())
        fail_msg("%s: refused but C changed", c->what);
}

static void test_f77_invalid_arguments(void **state)
{
    (void)state;
    fill_operands();
    /* The valid base: C 4 x 3, A 4 x 5 (lda 4), B 5 x 3 (ldb 5), ldc 4; one argument changed. */
    static const struct f77_call calls[] = {
        {"valid NN", 'N', 'N', 4, 3, 5, 4, 5, 4, 0},
        {"valid nn (lower case)", 'n', 'n', 4, 3, 5, 4, 5, 4, 0},
        {"transa '/'", '/', 'N', 4, 3, 5, 4, 5, 4, 1},
        {"transa 'x'", 'x', 'N', 4, 3, 5, 4, 5, 4, 1},
        {"transa 'R'", 'R', 'N', 4, 3, 5, 4, 5, 4, 1},
        {"transa NUL", '\0', 'N', 4, 3, 5, 4, 5, 4, 1},
        {"transa ' '", ' ', 'N', 4, 3, 5, 4, 5, 4, 1},
        {"valid transa 'c'", 'c', 'N', 4, 3, 5, 5, 5, 4, 0},
        {"transb '/'", 'N', '/', 4, 3, 5, 4, 5, 4, 2},
        {"transb 'y'", 'N', 'y', 4, 3, 5, 4, 5, 4, 2},
        {"valid transb 't'", 'N', 't', 4, 3, 5, 4, 3, 4, 0},
        {"m = -1", 'N', 'N', -1, 3, 5, 4, 5, 4, 3},
        {"m = INT_MIN", 'N', 'N', INT_MIN, 3, 5, 4, 5, 4, 3},
        {"n = -1", 'N', 'N', 4, -1, 5, 4, 5, 4, 4},
        {"n = INT_MIN", 'N', 'N', 4, INT_MIN, 5, 4, 5, 4, 4},
        {"k = -1", 'N', 'N', 4, 3, -1, 4, 5, 4, 5},
        {"k = -1 (transposed A: lda would need k)", 'T', 'N', 4, 3, -1, 1, 1, 4, 5},
        {"lda < m (NN)", 'N', 'N', 4, 3, 5, 3, 5, 4, 8},
        {"lda < k (TN)", 'T', 'N', 4, 3, 5, 4, 5, 4, 8},
        {"valid lda = k (TN)", 'T', 'N', 4, 3, 5, 5, 5, 4, 0},
        {"lda = 0 with m = 0 (needs 1)", 'N', 'N', 0, 3, 5, 0, 5, 1, 8},
        {"ldb < k (NN)", 'N', 'N', 4, 3, 5, 4, 4, 4, 10},
        {"ldb < n (NT)", 'N', 'T', 4, 3, 5, 4, 2, 4, 10},
        {"valid ldb = n (NT)", 'N', 'T', 4, 3, 5, 4, 3, 4, 0},
        {"ldb = 0 with k = 0 (needs 1)", 'N', 'N', 4, 3, 0, 4, 0, 4, 10},
        {"ldc < m", 'N', 'N', 4, 3, 5, 4, 5, 3, 13},
        {"ldc = 0 with m = 0 (needs 1)", 'N', 'N', 0, 3, 5, 1, 5, 0, 13},
        {"valid m = 0", 'N', 'N', 0, 3, 5, 1, 5, 1, 0},
        /* Several invalid: the reference checks in argument order. */
        {"transa and transb", '/', '/', 4, 3, 5, 4, 5, 4, 1},
        {"transa and m", '/', 'N', -1, 3, 5, 4, 5, 4, 1},
        {"m and n", 'N', 'N', -1, -1, 5, 4, 5, 4, 3},
        {"n and k", 'N', 'N', 4, -1, -1, 4, 5, 4, 4},
        {"n and lda", 'N', 'N', 4, -1, 5, 1, 5, 4, 4},
        {"lda, ldb and ldc", 'N', 'N', 4, 3, 5, 1, 1, 1, 8},
        {"ldb and ldc", 'N', 'N', 4, 3, 5, 4, 1, 1, 10},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        expect_f77(&calls[i]);
}

/* --- cblas_sgemm ----------------------------------------------------------------------------- */

struct cblas_call {
    const char *what;
    int layout, ta, tb;
    hpk_blas_int m, n, k, lda, ldb, ldc;
    int pos; /* expected cblas_xerbla position, 0: valid */
};

static void expect_cblas(const struct cblas_call *c)
{
    fill_c();
    reset_handlers();
    cblas_sgemm(c->layout, c->ta, c->tb, c->m, c->n, c->k, 1.5f, abuf, c->lda, bbuf, c->ldb, 0.5f,
                cbuf, c->ldc);
    if (c->pos == 0) {
        if (f77_calls != 0 || cblas_calls != 0)
            fail_msg("%s: valid call reported (cblas_xerbla %d)", c->what, cblas_pos);
        if (c->m > 0 && c->n > 0 && c_unchanged())
            fail_msg("%s: valid call did not write C", c->what);
        return;
    }
    if (cblas_calls != 1 || f77_calls != 0)
        fail_msg("%s: cblas_xerbla called %d times (XERBLA %d), want once", c->what, cblas_calls,
                 f77_calls);
    if (cblas_pos != c->pos)
        fail_msg("%s: cblas_xerbla position %d, want %d", c->what, cblas_pos, c->pos);
    if (strcmp(cblas_rout, "cblas_sgemm") != 0)
        fail_msg("%s: cblas_xerbla routine '%s', want 'cblas_sgemm'", c->what, cblas_rout);
    if (!c_unchanged())
        fail_msg("%s: refused but C changed", c->what);
}

enum {
    ROW = HPK_CBLAS_ROW_MAJOR,
    COL = HPK_CBLAS_COL_MAJOR,
    NT_ = HPK_CBLAS_NO_TRANS,
    TR_ = HPK_CBLAS_TRANS,
    CT_ = HPK_CBLAS_CONJ_TRANS,
};

/*
 * Column-major positions are the CBLAS argument numbers (layout 1, transa 2, transb 3, m 4,
 * n 5, k 6, lda 9, ldb 11, ldc 14). Row-major calls report, as the reference CBLAS does (and
 * its tester xscblat3 requires), the number of the argument in the transposed column-major call
 * it makes: m and n swap (5, 4), so do lda and ldb (11, 9), and that call's order of checks
 * decides which of several invalid arguments is reported.
 */
static void test_cblas_invalid_arguments(void **state)
{
    (void)state;
    fill_operands();
    static const struct cblas_call calls[] = {
        /* Column-major base: C 4 x 3, A 4 x 5 (lda 4), B 5 x 3 (ldb 5), ldc 4. */
        {"col valid NN", COL, NT_, NT_, 4, 3, 5, 4, 5, 4, 0},
        {"layout 0", 0, NT_, NT_, 4, 3, 5, 4, 5, 4, 1},
        {"layout 100", 100, NT_, NT_, 4, 3, 5, 4, 5, 4, 1},
        {"layout 103", 103, NT_, NT_, 4, 3, 5, 4, 5, 4, 1},
        {"layout -1", -1, NT_, NT_, 4, 3, 5, 4, 5, 4, 1},
        {"layout and transa", 0, 0, NT_, 4, 3, 5, 4, 5, 4, 1},
        {"col transa 110", COL, 110, NT_, 4, 3, 5, 4, 5, 4, 2},
        {"col transa 114", COL, 114, NT_, 4, 3, 5, 4, 5, 4, 2},
        {"col transa 'N'", COL, 'N', NT_, 4, 3, 5, 4, 5, 4, 2},
        {"col transa and transb", COL, 0, 0, 4, 3, 5, 4, 5, 4, 2},
        {"col transa and m", COL, 0, NT_, -1, 3, 5, 4, 5, 4, 2},
        {"col transb 0", COL, NT_, 0, 4, 3, 5, 4, 5, 4, 3},
        {"col transb 'T'", COL, NT_, 'T', 4, 3, 5, 4, 5, 4, 3},
        {"col valid ConjTrans A", COL, CT_, NT_, 4, 3, 5, 5, 5, 4, 0},
        {"col m = -1", COL, NT_, NT_, -1, 3, 5, 4, 5, 4, 4},
        {"col n = -1", COL, NT_, NT_, 4, -1, 5, 4, 5, 4, 5},
        {"col k = -1", COL, NT_, NT_, 4, 3, -1, 4, 5, 4, 6},
        {"col m and n", COL, NT_, NT_, -1, -1, 5, 4, 5, 4, 4},
        {"col lda < m (NN)", COL, NT_, NT_, 4, 3, 5, 3, 5, 4, 9},
        {"col lda < k (TN)", COL, TR_, NT_, 4, 3, 5, 4, 5, 4, 9},
        {"col ldb < k (NN)", COL, NT_, NT_, 4, 3, 5, 4, 4, 4, 11},
        {"col ldb < n (NT)", COL, NT_, TR_, 4, 3, 5, 4, 2, 4, 11},
        {"col ldc < m", COL, NT_, NT_, 4, 3, 5, 4, 5, 3, 14},
        {"col lda and ldb", COL, NT_, NT_, 4, 3, 5, 1, 1, 4, 9},
        /* Row-major base: C 4 x 3, A 4 x 5 (lda 5), B 5 x 3 (ldb 3), ldc 3. */
        {"row valid NN", ROW, NT_, NT_, 4, 3, 5, 5, 3, 3, 0},
        {"row transa 0", ROW, 0, NT_, 4, 3, 5, 5, 3, 3, 2},
        {"row transb 0", ROW, NT_, 0, 4, 3, 5, 5, 3, 3, 3},
        {"row transa and transb", ROW, 0, 0, 4, 3, 5, 5, 3, 3, 2},
        {"row m = -1", ROW, NT_, NT_, -1, 3, 5, 5, 3, 3, 5},
        {"row n = -1", ROW, NT_, NT_, 4, -1, 5, 5, 3, 3, 4},
        {"row m and n (n is checked first)", ROW, NT_, NT_, -1, -1, 5, 5, 3, 3, 4},
        {"row k = -1", ROW, NT_, NT_, 4, 3, -1, 5, 3, 3, 6},
        {"row lda < k (NN)", ROW, NT_, NT_, 4, 3, 5, 4, 3, 3, 11},
        {"row lda < m (TN)", ROW, TR_, NT_, 4, 3, 5, 3, 3, 3, 11},
        {"row valid lda = m (TN)", ROW, TR_, NT_, 4, 3, 5, 4, 3, 3, 0},
        {"row ldb < n (NN)", ROW, NT_, NT_, 4, 3, 5, 5, 2, 3, 9},
        {"row ldb < k (NT)", ROW, NT_, TR_, 4, 3, 5, 5, 4, 3, 9},
        {"row valid ldb = k (NT)", ROW, NT_, TR_, 4, 3, 5, 5, 5, 3, 0},
        {"row ldc < n", ROW, NT_, NT_, 4, 3, 5, 5, 3, 2, 14},
        {"row valid ldc = n < m", ROW, NT_, NT_, 4, 3, 5, 5, 3, 3, 0},
        {"row lda and ldb (ldb is checked first)", ROW, NT_, NT_, 4, 3, 5, 1, 1, 3, 9},
        {"row lda = 0 with m = 0, k = 0 (needs 1)", ROW, NT_, NT_, 0, 3, 0, 0, 3, 3, 11},
        {"row valid m = 0", ROW, NT_, NT_, 0, 3, 5, 5, 3, 3, 0},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        expect_cblas(&calls[i]);
}

/* --- reference semantics --------------------------------------------------------------------- */

/* C (m x n in `layout`, ldc) against alpha op(A) op(B) + beta C0 in double, with the GEMM
 * bound; elements outside the matrix (the ldc gap) must be as they were. */
static void check_result(const char *what, int row_major, int ta, int tb, int m, int n, int k,
                         float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                         const float *c0, const float *c, int ldc)
{
    const double u = ldexp(1.0, -24);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, sabs = 0.0;
            for (int p = 0; p < k; p++) {
                /* op(A)[i][p] and op(B)[p][j] in the stored layout */
                int ar = ta ? p : i, ac = ta ? i : p, br = tb ? j : p, bc = tb ? p : j;
                double av = a[row_major ? ar * lda + ac : ar + ac * lda];
                double bv = b[row_major ? br * ldb + bc : br + bc * ldb];
                s += av * bv;
                sabs += fabs(av * bv);
            }
            size_t ic = (size_t)(row_major ? i * ldc + j : i + j * ldc);
            double ref = alpha * s, bound = 2.0 * (k + 5) * u * fabs(alpha) * sabs;
            if (beta != 0.0f) {
                ref += (double)beta * c0[ic];
                bound += 2.0 * u * fabs((double)beta * c0[ic]);
            }
            if (!(fabs(c[ic] - ref) <= bound))
                fail_msg("%s: C[%d][%d] = %.9g, want %.9g (bound %.3g), m %d n %d k %d", what, i, j,
                         (double)c[ic], ref, bound, m, n, k);
        }
    int outer = row_major ? m : n, inner = row_major ? n : m;
    for (int o = 0; o < outer; o++)
        for (int x = inner; x < ldc && o * ldc + x < BUF; x++)
            if (memcmp(&c[o * ldc + x], &c0[o * ldc + x], sizeof(float)) != 0)
                fail_msg("%s: the ldc gap was written at %d", what, o * ldc + x);
}

/* Every option letter and enum, both layouts, with ldc > the matrix and beta != 0. */
static void test_results(void **state)
{
    (void)state;
    fill_operands();
    static const char letters[] = "NnTtCc";
    const int m = 5, n = 7, k = 9;
    for (int x = 0; x < 6; x++)
        for (int y = 0; y < 6; y++) {
            char ta = letters[x], tb = letters[y];
            int at = x >= 2, bt = y >= 2;
            hpk_blas_int lda = (at ? k : m) + 2, ldb = (bt ? n : k) + 1, ldc = m + 3;
            float alpha = -0.75f, beta = 0.5f;
            char what[32];
            snprintf(what, sizeof what, "sgemm_ %c%c", ta, tb);
            for (int i = 0; i < BUF; i++)
                cbuf[i] = (float)(i % 9) - 4.0f;
            memcpy(cbefore, cbuf, sizeof cbuf);
            reset_handlers();
            sgemm_(&ta, &tb, &m, &n, &k, &alpha, abuf, &lda, bbuf, &ldb, &beta, cbuf, &ldc, 1, 1);
            assert_int_equal(f77_calls, 0);
            check_result(what, 0, at, bt, m, n, k, alpha, abuf, lda, bbuf, ldb, beta, cbefore, cbuf,
                         ldc);
        }
    static const int trans[] = {HPK_CBLAS_NO_TRANS, HPK_CBLAS_TRANS, HPK_CBLAS_CONJ_TRANS};
    for (int row = 0; row < 2; row++)
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++) {
                int at = x > 0, bt = y > 0;
                /* stored A: m x k (or k x m) */
                int arows = at ? k : m, acols = at ? m : k, brows = bt ? n : k, bcols = bt ? k : n;
                int lda = (row ? acols : arows) + 1, ldb = (row ? bcols : brows) + 2,
                    ldc = (row ? n : m) + 1;
                char what[48];
                snprintf(what, sizeof what, "cblas_sgemm %s %d %d", row ? "row" : "col", trans[x],
                         trans[y]);
                for (int i = 0; i < BUF; i++)
                    cbuf[i] = (float)(i % 7) - 3.0f;
                memcpy(cbefore, cbuf, sizeof cbuf);
                reset_handlers();
                cblas_sgemm(row ? HPK_CBLAS_ROW_MAJOR : HPK_CBLAS_COL_MAJOR, trans[x], trans[y], m,
                            n, k, 1.25f, abuf, lda, bbuf, ldb, -2.0f, cbuf, ldc);
                assert_int_equal(cblas_calls, 0);
                check_result(what, row, at, bt, m, n, k, 1.25f, abuf, lda, bbuf, ldb, -2.0f,
                             cbefore, cbuf, ldc);
            }
}

/* The quick returns of the reference: C untouched (NaN stays, bit for bit), A and B unread. */
static void test_quick_returns(void **state)
{
    (void)state;
    const char nn = 'N';
    const hpk_blas_int m = 4, n = 3, k = 5, zero = 0, ld = 5;
    const float one = 1.0f, fzero = 0.0f, alpha = 2.0f;
    /* m = 0, n = 0: nothing at all, whatever alpha and beta */
    fill_c();
    sgemm_(&nn, &nn, &zero, &n, &k, &alpha, NULL, &ld, NULL, &ld, &fzero, cbuf, &ld, 1, 1);
    sgemm_(&nn, &nn, &m, &zero, &k, &alpha, NULL, &ld, NULL, &ld, &fzero, cbuf, &ld, 1, 1);
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 0, 3, 5, 2.0f, NULL, 5,
                NULL, 5, 0.0f, NULL, 5);
    assert_true(c_unchanged());
    /* (alpha = 0 or k = 0) and beta = 1 */
    sgemm_(&nn, &nn, &m, &n, &k, &fzero, NULL, &ld, NULL, &ld, &one, cbuf, &ld, 1, 1);
    sgemm_(&nn, &nn, &m, &n, &zero, &alpha, NULL, &ld, NULL, &ld, &one, cbuf, &ld, 1, 1);
    cblas_sgemm(HPK_CBLAS_COL_MAJOR, HPK_CBLAS_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 5, 0.0f, NULL, 5,
                NULL, 5, 1.0f, cbuf, 5);
    assert_true(c_unchanged());
}

/* alpha = 0 or k = 0: C = beta C without reading A or B; beta = 0 sets C without reading it. */
static void test_alpha_beta_zero(void **state)
{
    (void)state;
    const char nn = 'N';
    const hpk_blas_int m = 4, n = 3, k = 5, ldc = 6;
    const float fzero = 0.0f, two = 2.0f, alpha = 1.5f;
    /* alpha = 0, beta = 0: C = 0 exactly, NaN gone, the gap (rows 4, 5) untouched */
    fill_c();
    sgemm_(&nn, &nn, &m, &n, &k, &fzero, NULL, &k, NULL, &k, &fzero, cbuf, &ldc, 1, 1);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 6; i++) {
            float want = i < 4 ? 0.0f : cbefore[j * 6 + i];
            if (memcmp(&cbuf[j * 6 + i], &want, sizeof want) != 0)
                fail_msg("alpha = beta = 0: C[%d][%d] = %g, want %g", i, j, (double)cbuf[j * 6 + i],
                         (double)want);
        }
    /* alpha = 0, beta = 2: C = 2 C exactly (NaN stays NaN) */
    fill_c();
    sgemm_(&nn, &nn, &m, &n, &k, &fzero, NULL, &k, NULL, &k, &two, cbuf, &ldc, 1, 1);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++) {
            float want = 2.0f * cbefore[j * 6 + i];
            float got = cbuf[j * 6 + i];
            if (!(got == want || (isnan(got) && isnan(want))))
                fail_msg("alpha = 0, beta = 2: C[%d][%d] = %g, want %g", i, j, (double)got,
                         (double)want);
        }
    /* k = 0, alpha != 0, beta = 0: C = 0 */
    fill_c();
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 0, 1.5f, NULL, 1,
                NULL, 3, 0.0f, cbuf, 3);
    for (int i = 0; i < 12; i++)
        if (cbuf[i] != 0.0f || signbit(cbuf[i]))
            fail_msg("k = 0, beta = 0: C[%d] = %g, want +0", i, (double)cbuf[i]);
    /* beta = 0 with NaN in C and alpha != 0: C = alpha A B, no NaN */
    fill_operands();
    fill_c();
    sgemm_(&nn, &nn, &m, &n, &k, &alpha, abuf, &m, bbuf, &k, &fzero, cbuf, &ldc, 1, 1);
    check_result("beta = 0 over NaN", 0, 0, 0, m, n, k, alpha, abuf, m, bbuf, k, 0.0f, cbefore,
                 cbuf, ldc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f77_invalid_arguments),
        cmocka_unit_test(test_cblas_invalid_arguments),
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_quick_returns),
        cmocka_unit_test(test_alpha_beta_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
