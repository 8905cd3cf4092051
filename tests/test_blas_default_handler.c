/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libhpk_blas in a program that defines no XERBLA and no cblas_xerbla (and links no BLAS that
 * does): the built-in handlers print the reference BLAS's messages on stderr, with the number
 * of the argument in the caller's call (row-major included), and return; C is untouched. A call
 * that hpk_sgemm refuses although BLAS allows it (C overlapping A) leaves C untouched and says
 * so on stderr, once.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blas/blas.h"

enum {
    BUF = 256
};

static float abuf[BUF], bbuf[BUF], cbuf[BUF], cbefore[BUF];

static void fill(void)
{
    for (int i = 0; i < BUF; i++) {
        abuf[i] = (float)(i % 5) - 2.0f;
        bbuf[i] = (float)(i % 3) - 1.0f;
        cbuf[i] = i % 11 == 2 ? NAN : (float)i;
    }
    memcpy(cbefore, cbuf, sizeof cbuf);
}

/* --- stderr capture -------------------------------------------------------------------------- */

static FILE *capture_file;
static int saved_stderr = -1;

static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

/* Ends the capture; returns what was written to stderr (static buffer). */
static const char *capture_end(void)
{
    static char text[1024];
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(text, 1, sizeof text - 1, capture_file);
    text[n] = '\0';
    fclose(capture_file);
    return text;
}

static void expect_text(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("%s: stderr\n'%s'\nwant\n'%s'", what, got, want);
}

/* --- tests ----------------------------------------------------------------------------------- */

static void test_f77_message(void **state)
{
    (void)state;
    const char nn = 'N', bad = 'Q';
    const hpk_blas_int m = 4, n = 3, k = 5, neg = -2, ld = 5, small = 3;
    const float one = 1.0f;
    fill();
    capture_begin();
    sgemm_(&nn, &nn, &neg, &n, &k, &one, abuf, &ld, bbuf, &ld, &one, cbuf, &ld, 1, 1);
    expect_text("m < 0", capture_end(),
                " ** On entry to SGEMM parameter number  3 had an illegal value\n");
    capture_begin();
    sgemm_(&bad, &nn, &m, &n, &k, &one, abuf, &ld, bbuf, &ld, &one, cbuf, &ld, 1, 1);
    expect_text("transa 'Q'", capture_end(),
                " ** On entry to SGEMM parameter number  1 had an illegal value\n");
    capture_begin();
    sgemm_(&nn, &nn, &m, &n, &k, &one, abuf, &ld, bbuf, &ld, &one, cbuf, &small, 1, 1);
    expect_text("ldc < m", capture_end(),
                " ** On entry to SGEMM parameter number 13 had an illegal value\n");
    assert_memory_equal(cbuf, cbefore, sizeof cbuf);
}

static void test_cblas_messages(void **state)
{
    (void)state;
    fill();
    capture_begin();
    cblas_sgemm(7, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 5, 1.0f, abuf, 5, bbuf, 5, 1.0f,
                cbuf, 5);
    expect_text("layout 7", capture_end(),
                "Parameter 1 to routine cblas_sgemm was incorrect\nIllegal layout setting, 7\n");
    capture_begin();
    cblas_sgemm(HPK_CBLAS_COL_MAJOR, HPK_CBLAS_NO_TRANS, 0, 4, 3, 5, 1.0f, abuf, 5, bbuf, 5, 1.0f,
                cbuf, 5);
    expect_text("transb 0", capture_end(),
                "Parameter 3 to routine cblas_sgemm was incorrect\nIllegal TransB setting, 0\n");
    capture_begin();
    cblas_sgemm(HPK_CBLAS_COL_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 5, 1.0f, abuf, 5,
                bbuf, 5, 1.0f, cbuf, 3);
    expect_text("col ldc < m", capture_end(),
                "Parameter 14 to routine cblas_sgemm was incorrect\n");
    /* Row-major: the handler would get the transposed call's numbers (5, 11); the built-in one
     * prints the caller's (4, 9), as the reference cblas_xerbla does. */
    capture_begin();
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, -1, 3, 5, 1.0f, abuf,
                5, bbuf, 3, 1.0f, cbuf, 3);
    expect_text("row m < 0", capture_end(), "Parameter 4 to routine cblas_sgemm was incorrect\n");
    capture_begin();
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 5, 1.0f, abuf, 4,
                bbuf, 3, 1.0f, cbuf, 3);
    expect_text("row lda < k", capture_end(), "Parameter 9 to routine cblas_sgemm was incorrect\n");
    capture_begin();
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 5, 1.0f, abuf, 5,
                bbuf, 2, 1.0f, cbuf, 3);
    expect_text("row ldb < n", capture_end(),
                "Parameter 11 to routine cblas_sgemm was incorrect\n");
    assert_memory_equal(cbuf, cbefore, sizeof cbuf);
}

/* Valid for BLAS, refused by hpk (C overlaps A): C untouched, one message for two failures. */
static void test_hpk_refusal(void **state)
{
    (void)state;
    const char nn = 'N';
    const hpk_blas_int m = 4, n = 3, k = 4, ld = 4;
    const float one = 1.0f;
    fill();
    capture_begin();
    sgemm_(&nn, &nn, &m, &n, &k, &one, cbuf, &ld, bbuf, &ld, &one, cbuf, &ld, 1, 1);
    cblas_sgemm(HPK_CBLAS_ROW_MAJOR, HPK_CBLAS_NO_TRANS, HPK_CBLAS_NO_TRANS, 4, 3, 4, 1.0f, bbuf, 4,
                cbuf, 3, 1.0f, cbuf, 3);
    const char *text = capture_end();
    if (strstr(text, "hpk_blas: sgemm_: hpk_sgemm failed: ") != text ||
        strstr(text, "C is unchanged") == NULL || strchr(text, '\n')[1] != '\0')
        fail_msg("overlap: stderr '%s', want one 'hpk_blas: sgemm_: hpk_sgemm failed: ...' line",
                 text);
    assert_memory_equal(cbuf, cbefore, sizeof cbuf);
}

int main(void)
{
    /* One valid call first, uncaptured: the dispatcher's first use may print its own notes to
     * stderr (hwloc, in a container without /sys, says it cannot find the CPU topology), which
     * are not what these tests compare. */
    {
        const char nn = 'N';
        const hpk_blas_int one_i = 1;
        const float one = 1.0f, zero = 0.0f, x = 1.0f;
        float y = 0.0f;
        sgemm_(&nn, &nn, &one_i, &one_i, &one_i, &one, &x, &one_i, &x, &one_i, &zero, &y, &one_i,
               1, 1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f77_message),
        cmocka_unit_test(test_cblas_messages),
        cmocka_unit_test(test_hpk_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
