/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The convolution operator: creation (validation, the filter packed for every algorithm the
 * operator may run), validation of a run, the choice of algorithm, destruction.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/conv/conv.h"
#include "src/gemm/gemm.h"

#define FAIL(status, ...)                                                                       \
    do {                                                                                        \
        hpk_log_verbose(__VA_ARGS__);                                                           \
        return status;                                                                          \
    } while (0)

const char *hpk_conv_algo_name(hpk_conv_algo algo)
{
    switch (algo) {
    case HPK_CONV_AUTO: return "auto";
    case HPK_CONV_GEMM: return "gemm-1x1";
    case HPK_CONV_IM2COL: return "im2col";
    case HPK_CONV_WINOGRAD_F2: return "winograd-f2x3";
    case HPK_CONV_WINOGRAD_F4: return "winograd-f4x3";
    case HPK_CONV_DEPTHWISE: return "depthwise";
    case HPK_CONV_WINOGRAD_S2: return "winograd-s2";
    }
    return "?";
}

hpk_conv_algo hpk_conv_winograd_algo(enum hpk_winograd_id v)
{
    return v == HPK_WINOGRAD_F2X3   ? HPK_CONV_WINOGRAD_F2
           : v == HPK_WINOGRAD_F4X3 ? HPK_CONV_WINOGRAD_F4
                                    : HPK_CONV_WINOGRAD_S2;
}

int hpk_conv_winograd_variant(hpk_conv_algo algo, size_t kernel)
{
    switch (algo) {
    case HPK_CONV_WINOGRAD_F2: return HPK_WINOGRAD_F2X3;
    case HPK_CONV_WINOGRAD_F4: return HPK_WINOGRAD_F4X3;
    case HPK_CONV_WINOGRAD_S2: return kernel == 7 ? HPK_WINOGRAD_F3X4_S2 : HPK_WINOGRAD_F4X2_S2;
    default: return -1;
    }
}

/*
 * Helper kernels a table lacks come from the next table down that the machine runs
 * (hpk_table_next_usable: AVX-512 -> AVX2 -> generic), so they stay vectorised.
 */
static const struct hpk_winograd_record *wino_record(const struct hpk_kernel_table *t,
                                                     enum hpk_winograd_id v)
{
    for (; t != NULL; t = hpk_table_next_usable(t))
        if (t->winograd[v].input != NULL)
            return &t->winograd[v];
    return NULL;
}

static hpk_dwconv_ukernel_fn dwconv_of(const struct hpk_kernel_table *t)
{
    for (; t != NULL; t = hpk_table_next_usable(t))
        if (t->dwconv != NULL)
            return t->dwconv;
    return NULL;
}

static hpk_dwconv3x3_ukernel_fn dwconv3x3_of(const struct hpk_kernel_table *t)
{
    for (; t != NULL; t = hpk_table_next_usable(t))
        if (t->dwconv3x3 != NULL)
            return t->dwconv3x3;
    return NULL;
}

/* Whether an algorithm applies to a (normalised) description with a table. */
static int applies(const hpk_conv2d_desc *d, const struct hpk_kernel_table *t, hpk_conv_algo a)
{
    switch (a) {
    case HPK_CONV_GEMM:
        return d->kernel_h == 1 && d->kernel_w == 1 && d->stride_h == 1 && d->stride_w == 1 &&
               d->pad_top == 0 && d->pad_left == 0 && d->pad_bottom == 0 && d->pad_right == 0;
    case HPK_CONV_IM2COL:
        return 1;
    case HPK_CONV_WINOGRAD_F2:
    case HPK_CONV_WINOGRAD_F4:
    case HPK_CONV_WINOGRAD_S2: {
        /* The variant's record says which kernel and stride it computes. */
        const struct hpk_winograd_record *w =
            wino_record(t, (enum hpk_winograd_id)hpk_conv_winograd_variant(a, d->kernel_h));
        const size_t stride = w != NULL && w->stride == 2 ? 2 : 1;
        return w != NULL && hpk_winograd_kernel(w) == d->kernel_h && d->kernel_w == d->kernel_h &&
               d->stride_h == stride && d->stride_w == stride && d->dilation_h == 1 &&
               d->dilation_w == 1 && d->groups == 1;
    }
    case HPK_CONV_DEPTHWISE:
        return d->groups == d->in_channels && d->groups == d->out_channels &&
               dwconv_of(t) != NULL;
    case HPK_CONV_AUTO:
        break;
    }
    return 0;
}

int hpk_conv_algo_applies(const struct hpk_conv2d *op, hpk_conv_algo algo)
{
    switch (algo) {
    case HPK_CONV_GEMM:
    case HPK_CONV_IM2COL:
        return op->gemm_b != NULL && applies(&op->d, op->table, algo);
    case HPK_CONV_WINOGRAD_F2:
    case HPK_CONV_WINOGRAD_F4:
    case HPK_CONV_WINOGRAD_S2:
        return op->wino_u[hpk_conv_winograd_variant(algo, op->d.kernel_h)] != NULL;
    case HPK_CONV_DEPTHWISE:
        return op->dw != NULL;
    case HPK_CONV_AUTO:
        break;
    }
    return 0;
}

static hpk_status validate_desc(const hpk_conv2d_desc *in, hpk_conv2d_desc *d)
{
    *d = *in;
    d->stride_h = d->stride_h ? d->stride_h : 1;
    d->stride_w = d->stride_w ? d->stride_w : 1;
    d->dilation_h = d->dilation_h ? d->dilation_h : 1;
    d->dilation_w = d->dilation_w ? d->dilation_w : 1;
    d->groups = d->groups ? d->groups : 1;
    if (d->kernel_h == 0 || d->kernel_w == 0)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d: kernel %zux%zu is empty", d->kernel_h, d->kernel_w);
    if (d->in_channels == 0 || d->out_channels == 0)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d: %zu input / %zu output channels", d->in_channels,
             d->out_channels);
    if (d->in_channels % d->groups != 0 || d->out_channels % d->groups != 0)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d: %zu groups do not divide %zu input and %zu output "
             "channels", d->groups, d->in_channels, d->out_channels);
    const hpk_status act_st =
        hpk_validate_activation("conv2d", d->act, d->act_lo, d->act_hi, d->act_slope);
    if (act_st != HPK_OK)
        return act_st;
    if ((unsigned)d->algo >= (unsigned)HPK_CONV_ALGO_COUNT)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d: unknown algorithm %d", (int)d->algo);
    if (d->act == HPK_ACT_RELU6) {
        d->act_lo = 0.0f;
        d->act_hi = 6.0f;
    }
    /* Every extent a run computes from these must fit: the dilated kernel, the padded size. */
    size_t t;
    if (hpk_mul_overflow(d->kernel_h, d->dilation_h, &t) ||
        hpk_mul_overflow(d->kernel_w, d->dilation_w, &t) ||
        hpk_add_overflow(d->pad_top, d->pad_bottom, &t) ||
        hpk_add_overflow(d->pad_left, d->pad_right, &t) || d->pad_top > PTRDIFF_MAX / 2 ||
        d->pad_left > PTRDIFF_MAX / 2 || d->pad_bottom > PTRDIFF_MAX / 2 ||
        d->pad_right > PTRDIFF_MAX / 2 || d->kernel_h * d->dilation_h > PTRDIFF_MAX / 2 ||
        d->kernel_w * d->dilation_w > PTRDIFF_MAX / 2)
        FAIL(HPK_ERR_OVERFLOW, "conv2d: kernel, dilation or padding too large");
    return HPK_OK;
}

/* Bump allocation of the operator's block: offsets rounded to HPK_ALIGNMENT. */
static int reserve(size_t *total, size_t floats, size_t *offset_out)
{
    size_t bytes;
    if (hpk_mul_overflow(floats, sizeof(float), &bytes) ||
        hpk_round_up_overflow(bytes, HPK_ALIGNMENT, &bytes))
        return 1;
    *offset_out = *total;
    return hpk_add_overflow(*total, bytes, total);
}

hpk_status hpk_conv2d_create_with(const struct hpk_kernel_table *table,
                                  const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                  const hpk_conv2d_desc *desc, const float *filter,
                                  const float *bias, hpk_conv2d **op_out)
{
    if (op_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_create: op_out is NULL");
    *op_out = NULL;
    if (desc == NULL || filter == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_create: %s is NULL", desc == NULL ? "desc" : "filter");
    hpk_conv2d_desc d;
    hpk_status st = validate_desc(desc, &d);
    if (st != HPK_OK)
        return st;

    const size_t cg = d.in_channels / d.groups, kg = d.out_channels / d.groups;
    size_t taps, kdim, filter_elems;
    if (hpk_mul_overflow(d.kernel_h, d.kernel_w, &taps) || hpk_mul_overflow(taps, cg, &kdim) ||
        hpk_mul_overflow(kdim, d.out_channels, &filter_elems))
        FAIL(HPK_ERR_OVERFLOW, "conv2d_create: the filter's size overflows");

    /* What to prepare: the forced algorithm, or every one that applies (the choice is made
     * per input shape). im2col applies to everything, so a shape no special algorithm serves
     * well always has it. */
    int want[HPK_CONV_ALGO_COUNT] = {0};
    if (d.algo != HPK_CONV_AUTO) {
        if (!applies(&d, table, d.algo))
            FAIL(HPK_ERR_UNSUPPORTED, "conv2d_create: algorithm %s does not apply here",
                 hpk_conv_algo_name(d.algo));
        want[d.algo] = 1;
    } else {
        for (int a = HPK_CONV_GEMM; a < HPK_CONV_ALGO_COUNT; a++)
            want[a] = applies(&d, table, (hpk_conv_algo)a);
    }
    /* The Winograd records the operator prepares (NULL: not wanted). */
    const struct hpk_winograd_record *wrec[HPK_WINOGRAD_VARIANTS] = {NULL};
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        const hpk_conv_algo a = hpk_conv_winograd_algo((enum hpk_winograd_id)v);
        if (want[a] && hpk_conv_winograd_variant(a, d.kernel_h) == v)
            wrec[v] = wino_record(table, (enum hpk_winograd_id)v);
    }
    const int want_gemm = want[HPK_CONV_GEMM] || want[HPK_CONV_IM2COL];
    const int want_cols = want[HPK_CONV_IM2COL] && hpk_conv_im2col_columns(&d, table, blocking);
    const struct hpk_gemm_record *main = &table->sgemm[HPK_GEMM_MAIN];

    size_t total = 0, off_bias = 0, off_zero = 0, off_gemm = 0, off_cols = 0, off_dw = 0, t;
    size_t off_dw3 = 0;
    size_t off_u[HPK_WINOGRAD_VARIANTS] = {0}, u_xi[HPK_WINOGRAD_VARIANTS] = {0}, gemm_group = 0;
    /* The zero row: a padding pixel, or a pair of them (Winograd's polyphase form). */
    size_t zero_floats = 0;
    int overflow = hpk_mul_overflow(2, d.in_channels, &zero_floats);
    zero_floats = hpk_max_size(zero_floats, d.out_channels);
    overflow = overflow || reserve(&total, d.out_channels, &off_bias) ||
               reserve(&total, zero_floats, &off_zero);
    if (want_gemm) {
        gemm_group = hpk_gemm_packed_b_size(main, kdim, kg);
        overflow = overflow || gemm_group == 0 || hpk_mul_overflow(gemm_group, d.groups, &t) ||
                   reserve(&total, t, &off_gemm);
    }
    if (want_cols) {
        t = hpk_gemm_packed_b_size(main, kdim, kg); /* groups == 1 */
        overflow = overflow || t == 0 || reserve(&total, t, &off_cols);
    }
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        if (wrec[v] == NULL)
            continue;
        const size_t alpha = hpk_winograd_alpha(wrec[v]), kin = hpk_winograd_kin(wrec[v], cg);
        u_xi[v] = hpk_gemm_packed_b_size(main, kin, kg);
        overflow = overflow || u_xi[v] == 0 || hpk_mul_overflow(u_xi[v], alpha * alpha, &t) ||
                   reserve(&total, t, &off_u[v]);
    }
    const int want_dw3 = want[HPK_CONV_DEPTHWISE] && d.kernel_h == 3 && d.kernel_w == 3 &&
                         d.dilation_h == 1 && d.dilation_w == 1 && d.stride_h == d.stride_w &&
                         (d.stride_h == 1 || d.stride_h == 2);
    const size_t dw3_blocks = (d.out_channels + HPK_DW3_BLOCK - 1) / HPK_DW3_BLOCK;
    if (want[HPK_CONV_DEPTHWISE])
        overflow = overflow || reserve(&total, filter_elems, &off_dw);
    if (want_dw3)
        overflow = overflow || hpk_mul_overflow(dw3_blocks, 9 * HPK_DW3_BLOCK, &t) ||
                   reserve(&total, t, &off_dw3);
    if (overflow)
        FAIL(HPK_ERR_OVERFLOW, "conv2d_create: the packed filter's size overflows");

    /* The largest scratch: a Winograd filter transform's (alpha^2 * kin * kg floats) or the
     * column schedule's reordered filter (kdim * kg). */
    float *scratch = NULL;
    size_t scratch_floats = 0;
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++)
        if (wrec[v] != NULL) {
            const size_t alpha = hpk_winograd_alpha(wrec[v]);
            const size_t kin = hpk_winograd_kin(wrec[v], cg);
            if (hpk_mul_overflow(kin, alpha * alpha, &t) || hpk_mul_overflow(t, kg, &t))
                FAIL(HPK_ERR_OVERFLOW, "conv2d_create: the Winograd filter overflows");
            scratch_floats = hpk_max_size(scratch_floats, t);
        }
    if (want_cols) /* the filter in (s, r, c) order before it is packed */
        scratch_floats = hpk_max_size(scratch_floats, filter_elems);

    if (hpk_mul_overflow(scratch_floats, sizeof(float), &t))
        FAIL(HPK_ERR_OVERFLOW, "conv2d_create: the Winograd filter overflows");
    hpk_conv2d *op = hpk_aligned_alloc(sizeof *op);
    char *mem = hpk_aligned_alloc(total);
    if (scratch_floats != 0)
        scratch = hpk_aligned_alloc(t);
    if (op == NULL || mem == NULL || (scratch_floats != 0 && scratch == NULL)) {
        hpk_free(op);
        hpk_free(mem);
        hpk_free(scratch);
        FAIL(HPK_ERR_NOMEM, "conv2d_create: out of memory (%zu bytes)", total);
    }
    memset(op, 0, sizeof *op);
    op->d = d;
    op->table = table;
    memcpy(op->blocking, blocking, sizeof op->blocking);
    memcpy(op->gemm_blocking, blocking, sizeof op->gemm_blocking);
    op->gemm_blocking[HPK_GEMM_MAIN].kc = op->gemm_blocking[HPK_GEMM_SMALL_M].kc =
        hpk_gemm_kc_for(&blocking[HPK_GEMM_MAIN], kdim, kg);
    op->cg = cg;
    op->kg = kg;
    op->taps = taps;
    op->kdim = kdim;
    op->mem = mem;
    if (bias != NULL) {
        op->bias = (float *)(mem + off_bias);
        memcpy(op->bias, bias, d.out_channels * sizeof(float));
    }
    op->zero = (float *)(mem + off_zero);
    memset(op->zero, 0, zero_floats * sizeof(float));

    if (want_gemm) {
        /* Group g's GEMM: B[p][j] = filter[(g * kg + j) * kdim + p], p = (r * kw + s) * cg + c. */
        op->gemm_b = (float *)(mem + off_gemm);
        op->gemm_b_group = gemm_group;
        for (size_t g = 0; g < d.groups; g++)
            hpk_gemm_pack_b_full(main, op->gemm_blocking[HPK_GEMM_MAIN].kc, kdim, kg,
                                 filter + g * kg * kdim, 1, (ptrdiff_t)kdim,
                                 op->gemm_b + g * gemm_group);
    }
    if (want_cols) {
        /* scratch[j][(s * kh + r) * cg + c] = filter[j][(r * kw + s) * cg + c], one group. */
        op->cols_b = (float *)(mem + off_cols);
        for (size_t j = 0; j < kg; j++)
            for (size_t r = 0; r < d.kernel_h; r++)
                for (size_t q = 0; q < d.kernel_w; q++)
                    memcpy(scratch + j * kdim + (q * d.kernel_h + r) * cg,
                           filter + j * kdim + (r * d.kernel_w + q) * cg, cg * sizeof(float));
        hpk_gemm_pack_b_full(main, blocking[HPK_GEMM_MAIN].kc, kdim, kg, scratch, 1,
                             (ptrdiff_t)kdim, op->cols_b);
    }
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        const struct hpk_winograd_record *w = wrec[v];
        if (w == NULL)
            continue;
        const size_t alpha = hpk_winograd_alpha(w), kin = hpk_winograd_kin(w, cg);
        op->wino[v] = w;
        op->wino_u[v] = (float *)(mem + off_u[v]);
        op->wino_u_xi[v] = u_xi[v];
        w->filter(kg, cg, filter, scratch); /* u[xi][c][k], c < kin */
        for (size_t xi = 0; xi < alpha * alpha; xi++)
            hpk_gemm_pack_b_full(main, blocking[HPK_GEMM_MAIN].kc, kin, kg, scratch + xi * kin * kg,
                                 (ptrdiff_t)kg, 1, op->wino_u[v] + xi * u_xi[v]);
    }
    hpk_free(scratch);
    if (want[HPK_CONV_DEPTHWISE]) {
        /* OHWI with one input channel per group: filter[c][r][s]; stored [r * kw + s][c]. */
        op->dw = (float *)(mem + off_dw);
        for (size_t c = 0; c < d.out_channels; c++)
            for (size_t q = 0; q < taps; q++)
                op->dw[q * d.out_channels + c] = filter[c * taps + q];
        op->dwconv = dwconv_of(table);
    }
    if (want_dw3) {
        /* The same taps blocked by HPK_DW3_BLOCK channels, the last block's lanes past the
         * channels zero (hpk_dwconv3x3_ukernel_fn). */
        op->dw3 = (float *)(mem + off_dw3);
        for (size_t b = 0; b < dw3_blocks; b++)
            for (size_t q = 0; q < 9; q++)
                for (size_t l = 0; l < HPK_DW3_BLOCK; l++) {
                    const size_t c = b * HPK_DW3_BLOCK + l;
                    op->dw3[(b * 9 + q) * HPK_DW3_BLOCK + l] =
                        c < d.out_channels ? filter[c * 9 + q] : 0.0f;
                }
        op->dwconv3x3 = dwconv3x3_of(table);
    }
    *op_out = op;
    return HPK_OK;
}

hpk_status hpk_conv2d_create(const hpk_conv2d_desc *desc, const float *filter,
                             const float *bias, hpk_conv2d **op_out)
{
    if (op_out == NULL || desc == NULL || filter == NULL) {
        if (op_out != NULL)
            *op_out = NULL;
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_create: %s is NULL",
             op_out == NULL ? "op_out" : desc == NULL ? "desc" : "filter");
    }
    /* A bad override fails every call until it is fixed. */
    const struct hpk_config *cfg = hpk_config_get();
    if (cfg->status != HPK_OK) {
        *op_out = NULL;
        return (hpk_status)cfg->status;
    }
    return hpk_conv2d_create_with(cfg->table, cfg->blocking, desc, filter, bias, op_out);
}

void hpk_conv2d_destroy(hpk_conv2d *op)
{
    if (op == NULL)
        return;
    hpk_free(op->mem);
    hpk_free(op);
}

/* Output size of one dimension; 0 when the input is too small (or empty). */
static size_t out_dim(size_t in, size_t pad0, size_t pad1, size_t kernel, size_t dilation,
                      size_t stride)
{
    const size_t padded = in + pad0 + pad1; /* pads are < PTRDIFF_MAX / 2 each */
    const size_t span = dilation * (kernel - 1) + 1;
    if (in == 0 || padded < in || padded < span)
        return 0;
    return (padded - span) / stride + 1;
}

static hpk_status output_size(const hpk_conv2d *op, size_t in_h, size_t in_w, size_t *oh,
                              size_t *ow)
{
    const hpk_conv2d_desc *d = &op->d;
    *oh = out_dim(in_h, d->pad_top, d->pad_bottom, d->kernel_h, d->dilation_h, d->stride_h);
    *ow = out_dim(in_w, d->pad_left, d->pad_right, d->kernel_w, d->dilation_w, d->stride_w);
    if (*oh == 0 || *ow == 0)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d: input %zux%zu gives an empty output", in_h, in_w);
    return HPK_OK;
}

hpk_status hpk_conv2d_output_size(const hpk_conv2d *op, size_t in_h, size_t in_w,
                                  size_t *out_h_out, size_t *out_w_out)
{
    if (op == NULL || out_h_out == NULL || out_w_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_output_size: a NULL argument");
    return output_size(op, in_h, in_w, out_h_out, out_w_out);
}

hpk_status hpk_conv2d_algorithm(const hpk_conv2d *op, size_t in_h, size_t in_w,
                                hpk_conv_algo *algo_out)
{
    if (op == NULL || algo_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_algorithm: a NULL argument");
    struct hpk_conv_shape s = {.batch = 1, .in_h = in_h, .in_w = in_w};
    hpk_status st = output_size(op, in_h, in_w, &s.out_h, &s.out_w);
    if (st != HPK_OK)
        return st;
    *algo_out = op->d.algo != HPK_CONV_AUTO ? op->d.algo : hpk_conv_choose(op, &s, NULL);
    return HPK_OK;
}

static int overlap(const void *x, size_t xb, const void *y, size_t yb)
{
    const uintptr_t x0 = (uintptr_t)x, y0 = (uintptr_t)y;
    return x0 < y0 + yb && y0 < x0 + xb;
}

hpk_status hpk_conv2d_run(const hpk_conv2d *op, size_t batch, size_t in_h, size_t in_w,
                          const float *input, size_t in_stride, float *output,
                          size_t out_stride, const float *residual, size_t residual_stride)
{
    if (op == NULL || input == NULL || output == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_run: %s is NULL",
             op == NULL ? "op" : input == NULL ? "input" : "output");
    const hpk_conv2d_desc *d = &op->d;
    struct hpk_conv_args a = {.op = op, .input = input, .in_stride = in_stride,
                              .output = output, .out_stride = out_stride,
                              .residual = residual, .res_stride = residual_stride};
    a.s.batch = batch;
    a.s.in_h = in_h;
    a.s.in_w = in_w;
    if (batch == 0 || in_h == 0 || in_w == 0)
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_run: empty input %zux%zux%zu", batch, in_h, in_w);
    hpk_status st = output_size(op, in_h, in_w, &a.s.out_h, &a.s.out_w);
    if (st != HPK_OK)
        return st;
    if (in_stride < d->in_channels || out_stride < d->out_channels ||
        (residual != NULL && residual_stride < d->out_channels))
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_run: pixel stride %zu smaller than %zu channels",
             in_stride < d->in_channels ? in_stride
             : out_stride < d->out_channels ? out_stride : residual_stride,
             in_stride < d->in_channels ? d->in_channels : d->out_channels);
    size_t in_px, out_px, in_b, out_b, res_b = 0;
    if (hpk_mul_overflow(batch, in_h, &in_px) || hpk_mul_overflow(in_px, in_w, &in_px) ||
        hpk_mul_overflow(batch, a.s.out_h, &out_px) ||
        hpk_mul_overflow(out_px, a.s.out_w, &out_px) ||
        hpk_tensor_bytes(in_px, d->in_channels, in_stride, &in_b) ||
        hpk_tensor_bytes(out_px, d->out_channels, out_stride, &out_b) ||
        (residual != NULL && hpk_tensor_bytes(out_px, d->out_channels, residual_stride, &res_b)))
        FAIL(HPK_ERR_OVERFLOW, "conv2d_run: a tensor's extent overflows");
    if (overlap(output, out_b, input, in_b))
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_run: output overlaps input");
    if (residual == output && residual_stride == out_stride) {
        a.residual_is_output = 1;
    } else if (residual != NULL && overlap(output, out_b, residual, res_b)) {
        FAIL(HPK_ERR_INVALID_ARG, "conv2d_run: output overlaps residual (only residual == "
             "output with the same stride is allowed)");
    }
    const struct hpk_config *cfg = hpk_config_get();
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;

    hpk_conv_algo algo = d->algo;
    if (algo == HPK_CONV_AUTO) {
        double cost[HPK_CONV_ALGO_COUNT];
        algo = hpk_conv_choose(op, &a.s, cost);
        const unsigned long long shape = ((unsigned long long)batch * 0x9E3779B97F4A7C15ull) ^
                                         ((unsigned long long)in_h << 32) ^ in_w;
        if (hpk_verbose() && __atomic_exchange_n(&((hpk_conv2d *)op)->logged_shape, shape,
                                                 __ATOMIC_RELAXED) != shape)
            hpk_log_verbose("conv2d %zux%zu/%zu %zu->%zu g%zu on %zux%zux%zu: %s (model cycles:"
                            " gemm %.3g, im2col %.3g, f2 %.3g, f4 %.3g, depthwise %.3g, "
                            "s2 %.3g)",
                            d->kernel_h, d->kernel_w, d->stride_h, d->in_channels, d->out_channels,
                            d->groups, batch, in_h, in_w, hpk_conv_algo_name(algo),
                            cost[HPK_CONV_GEMM], cost[HPK_CONV_IM2COL], cost[HPK_CONV_WINOGRAD_F2],
                            cost[HPK_CONV_WINOGRAD_F4], cost[HPK_CONV_DEPTHWISE],
                            cost[HPK_CONV_WINOGRAD_S2]);
    }
    switch (algo) {
    case HPK_CONV_GEMM: return hpk_conv_run_gemm(&a, 0);
    case HPK_CONV_IM2COL: return hpk_conv_run_gemm(&a, 1);
    case HPK_CONV_WINOGRAD_F2: return hpk_conv_run_winograd(&a, HPK_WINOGRAD_F2X3);
    case HPK_CONV_WINOGRAD_F4: return hpk_conv_run_winograd(&a, HPK_WINOGRAD_F4X3);
    case HPK_CONV_DEPTHWISE: return hpk_conv_run_depthwise(&a);
    case HPK_CONV_WINOGRAD_S2:
        return hpk_conv_run_winograd(
            &a, (enum hpk_winograd_id)hpk_conv_winograd_variant(algo, d->kernel_h));
    case HPK_CONV_AUTO: break;
    }
    return HPK_ERR_INTERNAL;
}
