/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The convolution algorithms, over the kernels of the operator's table:
 *
 *   gemm     1x1 stride 1: the NHWC input is the GEMM's A where it lies (pixels are rows, the
 *            pixel stride the row stride); the filter was packed at creation.
 *   im2col   any shape: A through an indirection list, one segment of cg channels per filter
 *            tap, the tap's input pixel or the zero row for padding; the GEMM driver packs A~
 *            from it block by block, so the im2col matrix never exists. A few input channels
 *            (the stem): the column schedule, no A~ at all (see im2col_columns).
 *   winograd 3x3 stride 1: per block of tiles, the input transform into V[xi][tile][c], alpha^2
 *            GEMMs M[xi] = V[xi] U[xi] on the main microkernel (U packed at creation), the
 *            output transform with bias, residual and activation fused.
 *   depthwise per output row: an indirection list of taps per pixel and the indirection
 *            kernel; for 3x3 with stride 1 or 2 and no dilation, the direct 3x3 kernel over the
 *            input rows in place, the padding included.
 *
 * Every workspace is acquired before the first write to the output, so HPK_ERR_NOMEM leaves it
 * untouched. Threads split pixels, tile blocks or rows; the order of the additions into an
 * output element depends on the shape, the operator and the machine only.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/parallel.h"
#include "src/base/workspace.h"
#include "src/conv/conv.h"
#include "src/gemm/gemm.h"

/* Below this many multiply-adds a run stays on the calling thread. */
#define PARALLEL_MIN_MACS ((size_t)96 * 96 * 96)

static size_t threads_for(size_t macs)
{
    return macs >= PARALLEL_MIN_MACS ? hpk_threads() : 1;
}

/* The epilogue of a tile whose columns are output channels [c0, ...). */
static void epilogue_ctx(const struct hpk_conv2d *op, size_t c0, struct hpk_gemm_tile_ctx *t)
{
    memset(t, 0, sizeof *t);
    t->alpha = 1.0f;
    t->flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
    t->bias_axis = op->bias != NULL ? HPK_TILE_BIAS_COL : HPK_TILE_BIAS_NONE;
    t->bias = op->bias != NULL ? op->bias + c0 : NULL;
    t->act = (int)op->d.act;
    t->act_lo = op->d.act_lo;
    t->act_hi = op->d.act_hi;
    t->act_slope = op->d.act_slope;
}

/* Pointer to input pixel (n, iy, ix), or the zero row when (iy, ix) lies in the padding. */
static inline const float *input_pixel(const struct hpk_conv_args *a, size_t n, ptrdiff_t iy,
                                       ptrdiff_t ix, size_t c0)
{
    if (iy < 0 || ix < 0 || (size_t)iy >= a->s.in_h || (size_t)ix >= a->s.in_w)
        return a->op->zero;
    return a->input + ((n * a->s.in_h + (size_t)iy) * a->s.in_w + (size_t)ix) * a->in_stride + c0;
}

/* ---- gemm and im2col --------------------------------------------------------------------- */

struct im2col_ctx {
    const struct hpk_conv_args *a;
    size_t c0; /* the group's first input channel */
    /* The row mode: a zero-padded dense copy of the input, one segment per kernel row. */
    const float *padded;
    size_t hp, wp; /* its height and width */
};

/* The indirection list of output pixels [i0, i0 + rows): taps segments each. */
static void im2col_rows(const void *ctx, size_t i0, size_t rows, const float **out)
{
    const struct im2col_ctx *ic = ctx;
    const struct hpk_conv_args *a = ic->a;
    const hpk_conv2d_desc *d = &a->op->d;
    const size_t plane = a->s.out_h * a->s.out_w;
    for (size_t i = i0; i < i0 + rows; i++) {
        const size_t n = i / plane, y = (i % plane) / a->s.out_w, x = i % a->s.out_w;
        const ptrdiff_t iy0 = (ptrdiff_t)(y * d->stride_h) - (ptrdiff_t)d->pad_top;
        const ptrdiff_t ix0 = (ptrdiff_t)(x * d->stride_w) - (ptrdiff_t)d->pad_left;
        for (size_t r = 0; r < d->kernel_h; r++)
            for (size_t s = 0; s < d->kernel_w; s++)
                *out++ = input_pixel(a, n, iy0 + (ptrdiff_t)(r * d->dilation_h),
                                     ix0 + (ptrdiff_t)(s * d->dilation_w), ic->c0);
    }
}

/* The row mode's list: kernel row r of output pixel (n, y, x) is kernel_w * in_channels
 * contiguous floats of the padded copy. */
static void im2col_rows_padded(const void *ctx, size_t i0, size_t rows, const float **out)
{
    const struct im2col_ctx *ic = ctx;
    const struct hpk_conv_args *a = ic->a;
    const hpk_conv2d_desc *d = &a->op->d;
    const size_t plane = a->s.out_h * a->s.out_w, cin = d->in_channels;
    for (size_t i = i0; i < i0 + rows; i++) {
        const size_t n = i / plane, y = (i % plane) / a->s.out_w, x = i % a->s.out_w;
        const float *base = ic->padded + ((n * ic->hp + y * d->stride_h) * ic->wp +
                                          x * d->stride_w) * cin;
        for (size_t r = 0; r < d->kernel_h; r++)
            *out++ = base + r * d->dilation_h * ic->wp * cin;
    }
}

/*
 * Whether im2col reads a zero-padded dense copy of the input: with one group and no dilation
 * along w, the kernel_w taps of a kernel row are then kernel_w * in_channels contiguous floats,
 * one segment the packer copies with vectors, where per-tap segments of a few channels (the
 * 3-channel stem) would go element by element. The copy costs one pass over the input.
 */
static int im2col_padded(const struct hpk_conv2d *op)
{
    return op->d.groups == 1 && op->d.dilation_w == 1 && op->d.kernel_w > 1;
}

/*
 * im2col's column schedule, for few input channels (hpk_conv_im2col_columns). Per output row
 * (n, y), a buffer of the input columns the row reads, each column holding its kernel_h input
 * rows' channels: buf[ix][r][c] = input(n, y sh + r dh - pad_top, ix - pad_left, c), zero in
 * the padding. Output pixel x then reads kernel_w whole columns from ix = x sw on: its im2col
 * row in (s, r, c) order is the kdim contiguous floats at buf + x sw kh cg, and the next
 * pixel's starts sw kh cg floats further. So the output row is a GEMM whose A lies in the
 * buffer with a row stride -- the main record's direct kernel reads it where it is, against
 * the filter packed in that order at creation: no A~ packing, no pointer per row segment,
 * and the buffer (for the stem 229 x 21 floats, 19 KB) is written once where A~ took 147
 * floats per pixel (the stem's packing was 11 % of its time, perf). Where the record reads A
 * in runs, the interior pixels of most rows skip the buffer altogether (cols_task).
 * Each output element is one kernel call over the whole k (kdim <= KC), its path fixed by its
 * position: threads take bands of output rows and never change a sum.
 */
int hpk_conv_im2col_columns(const hpk_conv2d_desc *d, const struct hpk_kernel_table *t,
                            const struct hpk_blocking blocking[HPK_GEMM_RECORDS])
{
    const size_t kdim = d->kernel_h * d->kernel_w * d->in_channels; /* validated at create */
    return d->groups == 1 && d->dilation_w == 1 && d->kernel_w > 1 && d->in_channels < 8 &&
           kdim <= blocking[HPK_GEMM_MAIN].kc &&
           t->sgemm[HPK_GEMM_MAIN].ukernel_a_direct != NULL;
}

struct cols_state {
    const struct hpk_conv_args *a;
    char *ws;
    size_t slot_bytes, buf_bytes; /* per slot: the buffer, then 2 kernel_h row pointers */
    size_t cols;         /* input columns an output row reads: (out_w - 1) sw + kw */
    size_t rows, bands;  /* output rows of the batch, in bands of consecutive rows */
    size_t xa, tiles;    /* tiles of pixels read in runs from pixel xa on (cols_task) */
};

/*
 * The buffer of output row (n, y) (see above), kernel row by kernel row: for kernel row r the
 * slots (ix, r) of every column, reading input row y sh + r dh along. Where a slot of cg <= 4
 * floats is followed in its column by at least 4 - cg floats of later kernel rows, it is one
 * 4-float copy (a single vector move): its floats past cg spill into slot (ix, r + 1), written
 * by the next pass; a copy reads 4 floats only where they lie inside the input tensor, else
 * exactly cg. Each pass reads one input row in order. The stem's fill (7 x 229 slots of 3
 * floats per output row) is still 6 % of its time (1 thread, Zen 4: 0.176 ms of 2.82; column by
 * column it took 0.205 ms). rowp: kernel_h pointers of scratch.
 */
static void cols_fill(const struct cols_state *s, const float *const *rowp, size_t c0,
                      size_t c1, float *buf)
{
    static const float zeros[8] = {0};
    const struct hpk_conv_args *a = s->a;
    const hpk_conv2d_desc *d = &a->op->d;
    const size_t cg = d->in_channels, kh = d->kernel_h, step = kh * cg;
    const size_t iw = a->s.in_w, is = a->in_stride;
    /* Input columns [lo, hi) of the buffer lie inside the input; the others are padding. */
    const size_t lo = hpk_min_size(d->pad_left, s->cols);
    const size_t hi = hpk_max_size(lo, hpk_min_size(d->pad_left + iw, s->cols));
    /* Pixels [0, wide) of an input row can be read 4 floats at a time. */
    const size_t extent = (iw - 1) * is + cg;
    const size_t wide = cg > 4 ? 0 : extent < 4 ? 0 : (extent - 4) / is + 1;
    /* This fill's columns [c0, c1) that lie inside the input: [e_lo, e_hi). */
    const size_t e_lo = hpk_max_size(c0, hpk_min_size(lo, c1));
    const size_t e_hi = hpk_max_size(e_lo, hpk_min_size(hi, c1));
    for (size_t r = 0; r < kh; r++) {
        const float *row = rowp[r];
        float *dst = buf + r * cg;
        size_t ix = c0;
        for (; ix < e_lo; ix++)
            memcpy(dst + ix * step, zeros, cg * sizeof(float));
        if (row == NULL) {
            for (; ix < e_hi; ix++)
                memcpy(dst + ix * step, zeros, cg * sizeof(float));
        } else if (ix < e_hi) {
            const size_t wide_hi = r * cg + 4 <= step ? hpk_min_size(lo + wide, e_hi) : ix;
            const float *src = row + (ix - d->pad_left) * is;
            float *o = dst + ix * step;
            for (; ix < wide_hi; ix++, src += is, o += step)
                memcpy(o, src, 4 * sizeof(float));
            for (; ix < e_hi; ix++, src += is, o += step)
                memcpy(o, src, cg * sizeof(float));
        }
        for (; ix < c1; ix++)
            memcpy(dst + ix * step, zeros, cg * sizeof(float));
    }
}

/* The kernel_h input rows of output row (n, y) into rowp (NULL where a row is padding);
 * returns whether all of them lie inside the input. */
static int cols_rows(const struct hpk_conv_args *a, size_t n, size_t y, const float **rowp)
{
    const hpk_conv2d_desc *d = &a->op->d;
    int inside = 1;
    for (size_t r = 0; r < d->kernel_h; r++) {
        const size_t yy = y * d->stride_h + r * d->dilation_h;
        rowp[r] = yy < d->pad_top || yy - d->pad_top >= a->s.in_h
                      ? NULL
                      : a->input + (n * a->s.in_h + yy - d->pad_top) * a->s.in_w * a->in_stride;
        inside &= rowp[r] != NULL;
    }
    return inside;
}

/*
 * Pixels [x0, x1) of an output row for the B~ panel at jr, from the filled buffer (lda floats
 * per pixel, bp the panel in (s, r, c) order): the full tiles in one call of the column kernel
 * where the record has one (its per-tile call was 5 % of a tile at the stem's k = 147: the
 * kernel alone on data in L1, 1 thread, 85 -> 89.5 GFLOP/s), the rest tile by tile. t is the
 * panel's context; px the row's first pixel in the batch.
 */
/* t's residual at pixel px + x, channel jr, where the call has one of its own (a residual
 * that is the output itself is C, read through beta = 1). */
static void cols_residual_at(const struct hpk_conv_args *a, size_t px, size_t x, size_t jr,
                             struct hpk_gemm_tile_ctx *t)
{
    if (a->residual != NULL && !a->residual_is_output) {
        t->residual = a->residual + (px + x) * a->res_stride + jr;
        t->ldr = (ptrdiff_t)a->res_stride;
    }
}

static void cols_tiles(const struct hpk_conv_args *a, const float *buf, ptrdiff_t lda,
                       const float *bp, size_t nb, size_t px, size_t jr, size_t x0, size_t x1,
                       struct hpk_gemm_tile_ctx *t)
{
    const struct hpk_conv2d *op = a->op;
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    const size_t kdim = op->kdim;
    if (r->ukernel_col_a_direct != NULL && nb == r->nr && kdim <= HPK_GEMM_COL_MAX_K &&
        x1 - x0 >= r->mr) {
        const size_t full = (x1 - x0) / r->mr;
        cols_residual_at(a, px, x0, jr, t);
        r->ukernel_col_a_direct(full, kdim, buf + (ptrdiff_t)x0 * lda, lda, bp,
                                (ptrdiff_t)r->nr, a->output + (px + x0) * a->out_stride + jr,
                                (ptrdiff_t)a->out_stride, t);
        x0 += full * r->mr;
    }
    for (; x0 < x1; x0 += r->mr) {
        cols_residual_at(a, px, x0, jr, t);
        r->ukernel_a_direct(hpk_min_size(r->mr, x1 - x0), nb, kdim, buf + (ptrdiff_t)x0 * lda,
                            lda, bp, (ptrdiff_t)r->nr,
                            a->output + (px + x0) * a->out_stride + jr,
                            (ptrdiff_t)a->out_stride, t);
    }
}

/*
 * Task i: output rows [i rows / bands, (i + 1) rows / bands), each filled then multiplied.
 * Where the record reads A in runs (ukernel_col_seg), the pixels are one channel count apart
 * and all kernel_h input rows of an output row lie inside the input, the row's interior pixels
 * (every tap inside) are read where they lie, kernel row r a run of kernel_w x channels floats
 * of input row y sh + r dh - pad_top, against the filter packed in (r, s, c) order (the GEMM
 * algorithm's): whole tiles of them (s->tiles from pixel s->xa); only the pixels left over
 * take the buffer, and only their columns are filled. (The stem: the fill of 7 x 229
 * slots per output row was 6 % of its time; with the runs hpk / oneDNN went 0.91 -> 0.97 on one
 * thread, Zen 4 VM: `bench/run.sh --filter 'conv/r50_stem' --reps 15`.)
 */
static void cols_task(void *ctx, size_t task, size_t slot)
{
    const struct cols_state *s = ctx;
    const struct hpk_conv_args *a = s->a;
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    const size_t ow = a->s.out_w, kg = op->kg, kdim = op->kdim, sw = d->stride_w;
    const ptrdiff_t lda = (ptrdiff_t)(sw * d->kernel_h * d->in_channels);
    float *buf = (float *)(s->ws + slot * s->slot_bytes);
    const float **rowp = (const float **)(s->ws + slot * s->slot_bytes + s->buf_bytes);
    const float **seg = rowp + d->kernel_h;
    const size_t r0 = task * s->rows / s->bands, r1 = (task + 1) * s->rows / s->bands;
    for (size_t row = r0; row < r1; row++) {
        const int inside = cols_rows(a, row / a->s.out_h, row % a->s.out_h, rowp);
        /* Tiles of runs: pixels [xa, xa + tiles * MR), all inside. */
        const size_t xa = inside ? s->xa : 0, tiles = inside ? s->tiles : 0;
        const size_t xz = xa + tiles * r->mr; /* the first pixel after them */
        if (tiles > 0) {
            for (size_t q = 0; q < d->kernel_h; q++)
                seg[q] = rowp[q] + (xa * sw - d->pad_left) * a->in_stride;
            if (xa > 0)
                cols_fill(s, rowp, 0, (xa - 1) * sw + d->kernel_w, buf);
            if (xz < ow)
                cols_fill(s, rowp, xz * sw, s->cols, buf);
        } else {
            cols_fill(s, rowp, 0, s->cols, buf);
        }
        const size_t px = row * ow; /* the row's first pixel in the batch */
        for (size_t jr = 0; jr < kg; jr += r->nr) {
            struct hpk_gemm_tile_ctx t;
            epilogue_ctx(op, jr, &t);
            t.flags |= HPK_TILE_B_PADDED; /* packed at creation */
            if (a->residual_is_output)
                t.beta = 1.0f; /* C is read before it is written, in the same kernel call */
            const float *bp = op->cols_b + jr * kdim; /* panel jr / NR of the one k-block */
            const size_t nb = hpk_min_size(r->nr, kg - jr);
            if (tiles > 0) {
                cols_tiles(a, buf, lda, bp, nb, px, jr, 0, xa, &t);
                cols_residual_at(a, px, xa, jr, &t);
                r->ukernel_col_seg(tiles, d->kernel_h, d->kernel_w * d->in_channels, seg,
                                   (ptrdiff_t)(sw * a->in_stride), op->gemm_b + jr * kdim,
                                   (ptrdiff_t)r->nr, a->output + (px + xa) * a->out_stride + jr,
                                   (ptrdiff_t)a->out_stride, &t);
                cols_tiles(a, buf, lda, bp, nb, px, jr, xz, ow, &t);
            } else {
                cols_tiles(a, buf, lda, bp, nb, px, jr, 0, ow, &t);
            }
        }
    }
}

static hpk_status run_im2col_columns(const struct hpk_conv_args *a)
{
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    struct cols_state s = {.a = a};
    size_t t, macs;
    if (hpk_mul_overflow(a->s.out_w - 1, d->stride_w, &s.cols) ||
        hpk_add_overflow(s.cols, d->kernel_w, &s.cols) ||
        hpk_mul_overflow(s.cols, d->kernel_h * d->in_channels, &t) ||
        hpk_mul_overflow(t, sizeof(float), &t) ||
        hpk_round_up_overflow(t, HPK_ALIGNMENT, &s.buf_bytes) ||
        hpk_add_overflow(s.buf_bytes, 2 * d->kernel_h * sizeof(float *), &t) ||
        hpk_round_up_overflow(t, HPK_ALIGNMENT, &s.slot_bytes) ||
        hpk_mul_overflow(a->s.batch, a->s.out_h, &s.rows) ||
        hpk_mul_overflow(s.rows * a->s.out_w, op->kg * op->kdim, &macs))
        return HPK_ERR_OVERFLOW;
    /* Pixel x's taps all lie inside its input rows for x sw >= pad_left and x sw + kw <=
     * in_w + pad_left. Runs need the record's kernel (full tiles: output channels a multiple
     * of NR), the pixels one channel count apart (a run is kernel_w pixels' channels) and the
     * filter in (r, s, c) order in one k-block. */
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    if (r->ukernel_col_seg != NULL && op->kg % r->nr == 0 && a->in_stride == d->in_channels &&
        op->gemm_b != NULL && op->gemm_blocking[HPK_GEMM_MAIN].kc >= op->kdim &&
        a->s.in_w + d->pad_left >= d->kernel_w) {
        const size_t ow = a->s.out_w, mr = r->mr;
        const size_t xa = hpk_min_size(hpk_div_round_up(d->pad_left, d->stride_w), ow);
        const size_t xb =
            hpk_min_size((a->s.in_w + d->pad_left - d->kernel_w) / d->stride_w + 1, ow);
        /* Where the tiles of runs start: of the first MR interior pixels, the one that leaves
         * the fewest tiles in all (a partial tile costs about a whole one), the first such. The
         * stem (112 pixels, interior [2, 111)): runs from pixel 4, 17 tiles, the buffer's 4 + 6
         * pixels in 2 tiles -- 19, where runs from pixel 2 take 18 and leave 2 + 2 in 2. */
        size_t best = SIZE_MAX;
        for (size_t x = xa; x < hpk_min_size(xa + mr, xb); x++) {
            const size_t tiles = (xb - x) / mr, rest = ow - x - tiles * mr;
            const size_t all = hpk_div_round_up(x, mr) + tiles + hpk_div_round_up(rest, mr);
            if (tiles > 0 && all < best) {
                best = all;
                s.xa = x;
                s.tiles = tiles;
            }
        }
    }
    const size_t threads = hpk_min_size(threads_for(macs), s.rows);
    const size_t slots = hpk_parallel_slots(threads);
    if (hpk_mul_overflow(s.slot_bytes, slots, &t))
        return HPK_ERR_OVERFLOW;
    s.ws = hpk_workspace_acquire(t);
    if (s.ws == NULL)
        return HPK_ERR_NOMEM;
    /* Four bands per thread: a thread slowed by another process on a shared core then delays
     * the call by a fraction of its share. */
    s.bands = hpk_min_size(s.rows, 4 * threads);
    hpk_parallel_for(s.bands, threads, cols_task, &s);
    hpk_workspace_release(s.ws);
    return HPK_OK;
}

/* The zero-padded copy of the input (im2col_padded): task i writes padded rows [i rows / bands,
 * (i + 1) rows / bands) of the batch, each the input row under it with pad_left and pad_right
 * zero pixels around it, or zeros in the top and bottom padding. */
struct pad_copy_state {
    const struct hpk_conv_args *a;
    float *padded;
    size_t hp, wp, rows, bands;
};

static void pad_copy_task(void *ctx, size_t task, size_t slot)
{
    const struct pad_copy_state *ps = ctx;
    const struct hpk_conv_args *a = ps->a;
    const hpk_conv2d_desc *d = &a->op->d;
    const size_t cin = d->in_channels, hp = ps->hp, wp = ps->wp;
    (void)slot;
    for (size_t i = task * ps->rows / ps->bands; i < (task + 1) * ps->rows / ps->bands; i++) {
        const size_t n = i / hp, y = i % hp;
        float *row = ps->padded + i * wp * cin;
        const size_t iy = y - d->pad_top; /* wraps when y < pad_top: outside */
        if (y < d->pad_top || iy >= a->s.in_h) {
            memset(row, 0, wp * cin * sizeof(float));
            continue;
        }
        memset(row, 0, d->pad_left * cin * sizeof(float));
        const float *src = a->input + (n * a->s.in_h + iy) * a->s.in_w * a->in_stride;
        float *dst = row + d->pad_left * cin;
        if (a->in_stride == cin)
            memcpy(dst, src, a->s.in_w * cin * sizeof(float));
        else
            for (size_t x = 0; x < a->s.in_w; x++)
                memcpy(dst + x * cin, src + x * a->in_stride, cin * sizeof(float));
        memset(dst + a->s.in_w * cin, 0, d->pad_right * cin * sizeof(float));
    }
}

hpk_status hpk_conv_run_gemm(const struct hpk_conv_args *a, int im2col)
{
    if (im2col && a->op->cols_b != NULL)
        return run_im2col_columns(a);
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    const size_t pixels = a->s.batch * a->s.out_h * a->s.out_w;
    float *padded = NULL;
    size_t hp = 0, wp = 0;
    if (im2col && im2col_padded(op)) {
        size_t floats;
        hp = a->s.in_h + d->pad_top + d->pad_bottom;
        wp = a->s.in_w + d->pad_left + d->pad_right;
        if (hpk_mul_overflow(hp, wp, &floats) || hpk_mul_overflow(floats, a->s.batch, &floats) ||
            hpk_mul_overflow(floats, d->in_channels * sizeof(float), &floats))
            return HPK_ERR_OVERFLOW;
        padded = hpk_workspace_acquire(floats);
        if (padded == NULL)
            return HPK_ERR_NOMEM;
        const size_t rows = a->s.batch * hp;
        /* The copy is a pass over the input: split by rows like the product after it, so
         * that it is not a serial part of a multi-threaded call. */
        size_t macs;
        if (hpk_mul_overflow(pixels, op->kg, &macs) || hpk_mul_overflow(macs, op->kdim, &macs))
            macs = SIZE_MAX;
        const size_t threads = hpk_min_size(threads_for(macs), rows);
        const size_t bands = hpk_min_size(rows, 4 * threads);
        struct pad_copy_state ps = {
            .a = a, .padded = padded, .hp = hp, .wp = wp, .rows = rows, .bands = bands};
        hpk_parallel_for(bands, threads, pad_copy_task, &ps);
    }
    hpk_status st = HPK_OK;
    for (size_t g = 0; g < d->groups && st == HPK_OK; g++) {
        struct hpk_gemm_problem p;
        memset(&p, 0, sizeof p);
        p.m = pixels;
        p.n = op->kg;
        p.k = op->kdim;
        p.alpha = 1.0f;
        /* residual == output: C is read once, on the first k-block, before any store. */
        p.beta = a->residual_is_output ? 1.0f : 0.0f;
        p.c = a->output + g * op->kg;
        p.ldc = (ptrdiff_t)a->out_stride;
        if (op->bias != NULL) {
            p.bias_axis = HPK_TILE_BIAS_COL;
            p.bias = op->bias + g * op->kg;
        }
        if (a->residual != NULL && !a->residual_is_output) {
            p.residual = a->residual + g * op->kg;
            p.ldr = (ptrdiff_t)a->res_stride;
        }
        p.act = (int)d->act;
        p.act_lo = d->act_lo;
        p.act_hi = d->act_hi;
        p.act_slope = d->act_slope;
        struct im2col_ctx ic = {.a = a, .c0 = g * op->cg, .padded = padded, .hp = hp, .wp = wp};
        if (padded != NULL) {
            p.a_rows = im2col_rows_padded;
            p.a_rows_ctx = &ic;
            p.a_ks = d->kernel_h;
            p.a_kc = d->kernel_w * d->in_channels;
        } else if (im2col) {
            p.a_rows = im2col_rows;
            p.a_rows_ctx = &ic;
            p.a_ks = op->taps;
            p.a_kc = op->cg;
        } else {
            p.a = a->input + g * op->cg;
            p.a_rs = (ptrdiff_t)a->in_stride;
            p.a_cs = 1;
        }
        p.b_packed = op->gemm_b + g * op->gemm_b_group;
        p.b_packed_record = HPK_GEMM_MAIN;
        /* The driver allocates before writing; a later group finds the first one's workspace
         * in the cache (same size), so a failure can only come from the first group. */
        st = hpk_gemm_run(op->table, op->gemm_blocking, &p);
    }
    if (padded != NULL)
        hpk_workspace_release(padded);
    return st;
}

/* ---- Winograd ---------------------------------------------------------------------------- */

/*
 * Two schedules, the same arithmetic (each product M[xi] = V[xi] U[xi] is k-blocked by KC as the
 * GEMM driver does, whoever computes which rows or columns):
 *   blocked  tasks of tb tiles: input transform, the alpha^2 products, output transform, with V
 *            and M of the block in L2; U is streamed once per block. For many tiles.
 *   whole    when U is larger than V and M of all tiles (deep layers on small images: 512
 *            channels at 7x7 give 4 tiles and a 37 MB U): the input transform of every tile,
 *            then the products split by xi and column blocks so U is streamed once, then the
 *            output transform.
 */
struct wino_state {
    const struct hpk_conv_args *a;
    const struct hpk_winograd_record *w;
    const float *u; /* U[xi] packed, u_xi floats apart */
    size_t u_xi;
    size_t kin; /* the products' k: cg, or 4 cg (the four phases) in the polyphase form */
    /* V's row stride: kin, a line more where kin floats are a multiple of 2 KiB (512 channels,
     * or 128 in the polyphase form): rows 2 KiB apart share their L1 sets, and the 14 x 32
     * reads such rows as two tiles of 7 (rows_alias in its file). */
    size_t ldv;
    /* The products read V where it lies (the main record's ukernel_a_direct, row t of V[xi] at
     * t ldv floats): no A~ to pack. 3x3 + bias + relu, warm, best of 20, Zen 4 VM, 1 / 2
     * threads, packed -> in place (`tools/conv_cold 3 1 64 64 56 10 2 0`): 64@56 1003 -> 939 /
     * 510 -> 478 us, 128@28 809 -> 769 / 415 -> 400, 256@14 1029 -> 1017 / 530 -> 519, the
     * polyphase 128@56 stride 2 2262 -> 2165 / 1153 -> 1114. */
    int a_direct;
    size_t alpha, tiles_h, tiles_w, tiles, tb, kc, ncols;
    int whole;
    char *ws;
    float *v_all, *m_all; /* whole: V and M of every tile */
    size_t slot_bytes;
    size_t v_floats, m_floats, abuf_floats, nptrs; /* per slot */
};

/* Tile t of the batch: image n, tile row ty, tile column tx. */
static void wino_tile(const struct wino_state *s, size_t t, size_t *n, size_t *ty, size_t *tx)
{
    const size_t per_image = s->tiles_h * s->tiles_w;
    *n = t / per_image;
    *ty = (t % per_image) / s->tiles_w;
    *tx = t % s->tiles_w;
}

/*
 * Input transform of tiles [t0, t0 + nt) into V[xi][t - t0][c], rows `rows` apart per xi. The
 * polyphase form transforms each of the tile's four phases into its own cg channels of V:
 * phase (p, q) of the tile at output (ty m, tx m) is the alpha x alpha pixels at input rows
 * 2 (ty m + i) + p - pad_top and columns 2 (tx m + j) + q - pad_left. Where pixels lie cg
 * floats apart (in_stride == cg), phases (p, 0) and (p, 1) of a pixel pair lie side by side, 2
 * cg floats, as their channels do in V: one transform of 2 cg channels takes both, unless a
 * pair straddles the left or right edge (one pixel inside, one in the padding) in this tile.
 * The stem (7x7, 3 channels): two transforms of 6 channels a tile instead of four of 3, each a
 * masked vector of 8 (1 thread, best of 30, `tools/conv_cold 7 2 3 64 224 10 3 0`: 2250 ->
 * 1990 us).
 */
static void wino_inputs(const struct wino_state *s, size_t t0, size_t nt, float *v, size_t rows,
                        const float **ptrs)
{
    const struct hpk_conv_args *a = s->a;
    const struct hpk_conv2d *op = a->op;
    const size_t m = s->w->m, alpha = s->alpha, cg = op->cg;
    const size_t st = s->w->stride == 2 ? 2 : 1, phases = st * st;
    const int pairs = st == 2 && a->in_stride == cg;
    for (size_t t = 0; t < nt; t++) {
        size_t n, ty, tx;
        wino_tile(s, t0 + t, &n, &ty, &tx);
        const ptrdiff_t x0 = (ptrdiff_t)(st * tx * m) - (ptrdiff_t)op->d.pad_left;
        int straddle = 0;
        for (size_t j = 0; pairs && j < alpha; j++) {
            const ptrdiff_t ix = x0 + (ptrdiff_t)(st * j);
            straddle |= ix == -1 || ix == (ptrdiff_t)a->s.in_w - 1;
        }
        const size_t step = pairs && !straddle ? 2 : 1; /* phases per transform */
        for (size_t ph = 0; ph < phases; ph += step) {
            const ptrdiff_t iy0 = (ptrdiff_t)(st * ty * m + ph / 2) - (ptrdiff_t)op->d.pad_top;
            const ptrdiff_t ix0 = x0 + (ptrdiff_t)(ph % 2);
            for (size_t i = 0; i < alpha; i++)
                for (size_t j = 0; j < alpha; j++)
                    ptrs[i * alpha + j] =
                        input_pixel(a, n, iy0 + (ptrdiff_t)(st * i), ix0 + (ptrdiff_t)(st * j), 0);
            s->w->input(step * cg, ptrs, v + t * s->ldv + ph * cg, (ptrdiff_t)(rows * s->ldv));
        }
    }
}

/* Output transform of tiles [t0, t0 + nt) from M[xi][t - t0][k], rows `rows` apart per xi. */
static void wino_outputs(const struct wino_state *s, size_t t0, size_t nt, const float *mm,
                         size_t rows, float **outp, const float **resp)
{
    const struct hpk_conv_args *a = s->a;
    const struct hpk_conv2d *op = a->op;
    const size_t m = s->w->m, kg = op->kg;
    struct hpk_gemm_tile_ctx ec;
    epilogue_ctx(op, 0, &ec);
    const float *res = a->residual_is_output ? a->output : a->residual;
    const size_t res_stride = a->residual_is_output ? a->out_stride : a->res_stride;
    for (size_t t = 0; t < nt; t++) {
        size_t n, ty, tx;
        wino_tile(s, t0 + t, &n, &ty, &tx);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++) {
                const size_t oy = ty * m + i, ox = tx * m + j;
                const int inside = oy < a->s.out_h && ox < a->s.out_w;
                const size_t px = (n * a->s.out_h + oy) * a->s.out_w + ox;
                outp[i * m + j] = inside ? a->output + px * a->out_stride : NULL;
                resp[i * m + j] = inside && res != NULL ? res + px * res_stride : NULL;
            }
        s->w->output(kg, mm + t * kg, (ptrdiff_t)(rows * kg), outp, res != NULL ? resp : NULL,
                     &ec);
    }
}

/*
 * M[xi][t][j] = sum_c V[xi][t][c] U[xi][c][j] for tiles [0, nt) and columns [j0, j1), V and M
 * rows `rows` apart per xi; k-blocked by kc with the main record's packer and microkernel.
 */
static void wino_product(const struct wino_state *s, size_t xi, size_t nt, size_t j0, size_t j1,
                         const float *v, float *mm, size_t rows, float *abuf, const float **ptrs)
{
    const struct hpk_conv2d *op = s->a->op;
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    const size_t cg = s->kin, kg = op->kg, ldv = s->ldv; /* cg: the product's k */
    const size_t n_pad = hpk_div_round_up(kg, r->nr) * r->nr;
    const float *vx = v + xi * rows * ldv;
    float *mx = mm + xi * rows * kg;
    const float *ux = s->u + xi * s->u_xi;
    struct hpk_gemm_tile_ctx tc;
    memset(&tc, 0, sizeof tc);
    tc.alpha = 1.0f;
    /* A few tiles (F(4,3) on 7x7: 4): the small-M record's matrix-vector kernel over U, which
     * streams it with software prefetch; the tile loop below left the stream to the hardware
     * prefetchers, at about 16 GB/s from memory. ResNet-50's 512@7 (U 37.7 MB), suite rows
     * hpk.winograd-f4 (`bench/run.sh --filter 'conv/r50_3x3_512' [--threads 2]`, two builds
     * alternated, best of 3 x 3, Zen 4 VM, AVX2), effective GFLOP/s: 1 thread 104 -> 131,
     * 2 threads 207 -> 240 (oneDNN 80 and 161). Which path runs depends on the shape only. */
    if (hpk_conv_winograd_gemv(op, nt)) {
        const struct hpk_gemm_record *sm = &op->table->sgemm[HPK_GEMM_SMALL_M];
        tc.flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
        sm->gemv_packed(nt, j1 - j0, cg, s->kc, vx, (ptrdiff_t)ldv, ux, n_pad, j0, mx + j0,
                        (ptrdiff_t)kg, &tc);
        return;
    }
    for (size_t t = 0; t < nt; t++)
        ptrs[t] = vx + t * ldv;
    /* Each panel's first tile streams the panel after it in memory (HPK_TILE_STREAM: the next
     * one of this product, or the first of the product that follows it in U) where that lies
     * inside U. In a network U comes from memory (9.4 MB at 256@14), and each panel's first
     * tile waited on it: prefetching the next panel in shares between the tiles did not help
     * (a burst of prefetches stalls the tile behind it), a line per k step does. 3x3 + bias +
     * relu, 1 thread, caches evicted before each call (`HPK_NUM_THREADS=1 tools/conv_cold 3 1
     * 256 256 14 10 3 64`; warm: last argument 0), best of 30: 256@14 1481 -> 1200 us (warm
     * 1098 -> 1090), 128@28 1115 -> 999 (warm 831 -> 825); ResNet-50, per step
     * (HPK_GRAPH_PROFILE=cpu, mean of 3): the five 256@14 1490 -> 1320 us, the three 128@28
     * 1035 -> 955. */
    const uintptr_t u_end = (uintptr_t)(s->u + s->alpha * s->alpha * s->u_xi);
    const int stream =
        (r->flags & HPK_GEMM_STREAM) && r->nr * sizeof(float) >= HPK_TILE_STREAM_LINE;
    /* Rows in place: the driver's tiles, a short last tile sharing the rows of the one before
     * it (hpk_gemm_tail_split; 16 tiles of F(2x2, 3x3) at 7x7 on the 14 x 32: 8 + 8 rows, not
     * 14 + 2, whose 2-row tile took a fifth of the time, perf). */
    size_t last_row = 0;
    const int split = s->a_direct && hpk_gemm_tail_split(nt, r->mr, &last_row);
    const size_t tiles = hpk_div_round_up(nt, r->mr);
    const size_t full = split ? tiles - 2 : nt / r->mr; /* the leading tiles of MR rows */
    for (size_t pc = 0; pc < cg; pc += s->kc) {
        const size_t kb = hpk_min_size(s->kc, cg - pc);
        struct hpk_a_source src = {.rows = ptrs, .ks = 1, .kc = cg, .cs = 1};
        if (!s->a_direct)
            r->pack_a(nt, pc, kb, &src, 0, abuf);
        const unsigned flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                               (pc + kb == cg ? HPK_TILE_LAST_K : 0u) |
                               HPK_TILE_B_PADDED; /* U was packed at creation */
        for (size_t jr = j0; jr < j1; jr += r->nr) {
            const float *bp = ux + pc * n_pad + jr * kb;
            const uintptr_t next = (uintptr_t)bp + kb * r->nr * sizeof(float);
            tc.flags = flags;
            if (stream && next + kb * r->nr * sizeof(float) <= u_end) {
                tc.flags |= HPK_TILE_STREAM;
                tc.stream = (const char *)next;
            }
            size_t i0 = 0; /* the first tile the loop below takes */
            /* Few input channels (the stem's 12 phase channels: k = 12) leave each tile a short
             * product: the panel's full tiles in one call of the column kernel. */
            if (s->a_direct && r->ukernel_col_a_direct != NULL && kb <= HPK_GEMM_COL_MAX_K &&
                j1 - jr >= r->nr && full > 0) {
                r->ukernel_col_a_direct(full, kb, vx + pc, (ptrdiff_t)ldv, bp, (ptrdiff_t)r->nr,
                                        mx + jr, (ptrdiff_t)kg, &tc);
                i0 = full;
                tc.flags = flags;
            }
            for (size_t i = i0; i < tiles; i++) {
                const size_t ir = hpk_gemm_tile_row(i, r->mr, split, tiles, last_row);
                const size_t mt =
                    (i + 1 < tiles ? hpk_gemm_tile_row(i + 1, r->mr, split, tiles, last_row) : nt) -
                    ir;
                if (s->a_direct)
                    r->ukernel_a_direct(mt, hpk_min_size(r->nr, j1 - jr), kb, vx + ir * ldv + pc,
                                        (ptrdiff_t)ldv, bp, (ptrdiff_t)r->nr, mx + ir * kg + jr,
                                        (ptrdiff_t)kg, &tc);
                else
                    r->ukernel(mt, hpk_min_size(r->nr, j1 - jr), kb,
                               abuf + (ir / r->mr) * r->mr * kb, 0, bp, (ptrdiff_t)r->nr,
                               mx + ir * kg + jr, (ptrdiff_t)kg, &tc);
                tc.flags = flags; /* the panel's first tile only */
            }
        }
    }
}

/* Slot memory: V and M of a block (blocked only), A~ of one k-block, pointers. */
static void wino_slot(const struct wino_state *s, size_t slot, float **v, float **mm,
                      float **abuf, const float ***ptrs, float ***outp, const float ***resp)
{
    char *base = s->ws + slot * s->slot_bytes;
    *v = (float *)base;
    *mm = *v + s->v_floats;
    *abuf = *mm + s->m_floats;
    *ptrs = (const float **)(*abuf + s->abuf_floats);
    *outp = (float **)(*ptrs + s->nptrs);
    *resp = (const float **)(*outp + s->w->m * s->w->m);
}

static void wino_block_task(void *ctx, size_t task, size_t slot)
{
    const struct wino_state *s = ctx;
    const size_t t0 = task * s->tb, nt = hpk_min_size(s->tb, s->tiles - t0);
    float *v, *mm, *abuf, **outp;
    const float **ptrs, **resp;
    wino_slot(s, slot, &v, &mm, &abuf, &ptrs, &outp, &resp);
    wino_inputs(s, t0, nt, v, s->tb, ptrs);
    for (size_t xi = 0; xi < s->alpha * s->alpha; xi++)
        wino_product(s, xi, nt, 0, s->a->op->kg, v, mm, s->tb, abuf, ptrs);
    wino_outputs(s, t0, nt, mm, s->tb, outp, resp);
}

/* whole: tiles in groups of tb per task for the transforms; (xi, column block) per product. */
static void wino_input_task(void *ctx, size_t task, size_t slot)
{
    const struct wino_state *s = ctx;
    float *v, *mm, *abuf, **outp;
    const float **ptrs, **resp;
    wino_slot(s, slot, &v, &mm, &abuf, &ptrs, &outp, &resp);
    const size_t t0 = task * s->tb;
    wino_inputs(s, t0, hpk_min_size(s->tb, s->tiles - t0), s->v_all + t0 * s->ldv, s->tiles, ptrs);
}

static void wino_product_task(void *ctx, size_t task, size_t slot)
{
    const struct wino_state *s = ctx;
    float *v, *mm, *abuf, **outp;
    const float **ptrs, **resp;
    wino_slot(s, slot, &v, &mm, &abuf, &ptrs, &outp, &resp);
    const size_t blocks = hpk_div_round_up(s->a->op->kg, s->ncols);
    const size_t xi = task / blocks, j0 = (task % blocks) * s->ncols;
    wino_product(s, xi, s->tiles, j0, hpk_min_size(j0 + s->ncols, s->a->op->kg), s->v_all,
                 s->m_all, s->tiles, abuf, ptrs);
}

static void wino_output_task(void *ctx, size_t task, size_t slot)
{
    const struct wino_state *s = ctx;
    float *v, *mm, *abuf, **outp;
    const float **ptrs, **resp;
    wino_slot(s, slot, &v, &mm, &abuf, &ptrs, &outp, &resp);
    const size_t t0 = task * s->tb;
    wino_outputs(s, t0, hpk_min_size(s->tb, s->tiles - t0), s->m_all + t0 * s->a->op->kg,
                 s->tiles, outp, resp);
}

/*
 * Tiles per block: V and M of a block (alpha^2 (kin + kg) floats per tile) take about half of
 * L2, so the products read them from there; at least one MR panel, at most 16.
 */
size_t hpk_conv_winograd_block(const struct hpk_conv2d *op, size_t kin, size_t alpha)
{
    const struct hpk_machine *mach = hpk_machine_get();
    const size_t l2 = mach->cache[1].size ? mach->cache[1].size : (size_t)256 << 10;
    const size_t mr = op->table->sgemm[HPK_GEMM_MAIN].mr;
    const size_t per_tile = alpha * alpha * (kin + op->kg) * sizeof(float);
    size_t tb = (l2 / 2) / per_tile / mr * mr;
    return hpk_min_size(hpk_max_size(tb, mr), 16 * mr);
}

int hpk_conv_winograd_gemv(const struct hpk_conv2d *op, size_t nt)
{
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    const struct hpk_gemm_record *sm = &op->table->sgemm[HPK_GEMM_SMALL_M];
    return sm->gemv_packed != NULL && sm->nr == r->nr && nt <= sm->mr;
}

int hpk_conv_winograd_whole(const struct hpk_conv2d *op, size_t kin, size_t m, size_t tiles)
{
    /* U against V and M of every tile, in floats: kin kg against tiles (kin + kg). */
    const double u = (double)kin * (double)op->kg;
    return u >= (double)tiles * (double)(kin + op->kg) && tiles <= 4096 / (m * m);
}

hpk_status hpk_conv_run_winograd(const struct hpk_conv_args *a, enum hpk_winograd_id v)
{
    const struct hpk_conv2d *op = a->op;
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    struct wino_state s = {.a = a, .w = op->wino[v], .u = op->wino_u[v], .u_xi = op->wino_u_xi[v]};
    assert(s.w != NULL && s.u != NULL);
    const size_t m = s.w->m;
    s.alpha = hpk_winograd_alpha(s.w);
    s.kin = hpk_winograd_kin(s.w, op->cg);
    s.ldv = s.kin + (s.kin % 512 == 0 ? 16 : 0);
    s.tiles_h = hpk_div_round_up(a->s.out_h, m);
    s.tiles_w = hpk_div_round_up(a->s.out_w, m);
    const size_t a2 = s.alpha * s.alpha;
    size_t t, macs, shared = 0;
    if (hpk_mul_overflow(a->s.batch, s.tiles_h * s.tiles_w, &s.tiles) ||
        hpk_mul_overflow(s.tiles, a2 * s.kin, &macs) || hpk_mul_overflow(macs, op->kg, &macs))
        return HPK_ERR_OVERFLOW;
    s.whole = hpk_conv_winograd_whole(op, s.kin, m, s.tiles);
    s.kc = hpk_min_size(op->blocking[HPK_GEMM_MAIN].kc, s.kin);
    size_t rows; /* the rows of A~ one product packs */
    if (s.whole) {
        s.tb = hpk_min_size(hpk_conv_winograd_block(op, s.kin, s.alpha), s.tiles);
        rows = s.tiles;
        /* V and M of every tile, shared by the tasks, ahead of the slots. */
        if (hpk_mul_overflow(a2 * s.tiles, s.ldv + op->kg, &shared) ||
            hpk_mul_overflow(shared, sizeof(float), &shared) ||
            hpk_round_up_overflow(shared, HPK_ALIGNMENT, &shared))
            return HPK_ERR_OVERFLOW;
    } else {
        s.tb = hpk_min_size(hpk_conv_winograd_block(op, s.kin, s.alpha), s.tiles);
        rows = s.tb;
        s.v_floats = a2 * s.tb * s.ldv;
        s.m_floats = a2 * s.tb * op->kg;
    }
    s.a_direct = r->ukernel_a_direct != NULL;
    s.abuf_floats = s.a_direct ? 0 : hpk_div_round_up(rows, r->mr) * r->mr * s.kc;
    /* The pointers after the floats: an even number of floats keeps them 8-byte aligned. */
    s.abuf_floats += (s.v_floats + s.m_floats + s.abuf_floats) % 2;
    s.nptrs = hpk_max_size(a2, rows);
    const size_t ptrs = s.nptrs + 2 * m * m;
    if (hpk_add_overflow(s.v_floats + s.m_floats, s.abuf_floats, &t) ||
        hpk_mul_overflow(t, sizeof(float), &t) ||
        hpk_add_overflow(t, ptrs * sizeof(void *), &t) ||
        hpk_round_up_overflow(t, HPK_ALIGNMENT, &s.slot_bytes))
        return HPK_ERR_OVERFLOW;
    const size_t blocks = hpk_div_round_up(s.tiles, s.tb);
    const size_t threads = threads_for(macs);
    /* whole: each product task takes as many columns as leave at least 4 tasks a thread --
     * on 1 or 2 threads, all of them. A task packs its A~ once for all its panels and streams
     * its share of U in one run (a k-block's panels lie end to end), where blocks of 4 panels
     * restarted the stream every 4 x 20 KiB; the columns a task takes change no sum. 3x3 +
     * bias + relu, warm, best of 15 calls (`tools/conv_cold 3 1 512 512 7 5 3`), 4 -> all
     * panels a task: 1 thread 512@7 (U 37.7 MB, from memory) 1.77-1.88 -> 1.31-1.40 ms, 256@14
     * 1.095 -> 1.02, 128@28 0.83 -> 0.80; 2 threads 512@7 0.82-0.84 -> 0.72-0.78, 256@14 0.565
     * -> 0.525, 128@28 0.47 -> 0.41. */
    const size_t panels = hpk_div_round_up(op->kg, r->nr);
    const size_t col_blocks = hpk_min_size(panels, hpk_div_round_up(4 * threads, a2));
    s.ncols = hpk_div_round_up(panels, col_blocks) * r->nr;
    const size_t products = a2 * hpk_div_round_up(op->kg, s.ncols);
    const size_t slots = hpk_parallel_slots(threads);
    if (hpk_mul_overflow(s.slot_bytes, slots, &t) || hpk_add_overflow(t, shared, &t))
        return HPK_ERR_OVERFLOW;
    char *mem = hpk_workspace_acquire(t);
    if (mem == NULL)
        return HPK_ERR_NOMEM;
    s.ws = mem + shared;
    if (s.whole) {
        s.v_all = (float *)mem;
        s.m_all = s.v_all + a2 * s.tiles * s.ldv;
        hpk_parallel_for(blocks, hpk_min_size(threads, blocks), wino_input_task, &s);
        hpk_parallel_for(products, hpk_min_size(threads, products), wino_product_task, &s);
        hpk_parallel_for(blocks, hpk_min_size(threads, blocks), wino_output_task, &s);
    } else {
        hpk_parallel_for(blocks, hpk_min_size(threads, blocks), wino_block_task, &s);
    }
    hpk_workspace_release(mem);
    return HPK_OK;
}

/* ---- depthwise --------------------------------------------------------------------------- */

/*
 * Per output row. The direct 3x3 kernel (stride 1 or 2, no dilation, a dense input: pixel
 * stride == channels) takes whole output rows, reading the three input rows where they lie --
 * no copy, no pointer per tap, and neighbouring pixels share their input loads; it takes the
 * left and right padding itself, and a row in the top or bottom padding is a zeroed row of the
 * workspace. Every other depthwise shape goes through the indirection kernel: a list of taps
 * pointers per pixel, the zero row for padding. Which kernel serves a shape depends on the
 * shape only (never on the threads), and both take the taps in the same order, padding
 * included, before the same epilogue.
 */
struct dw_state {
    const struct hpk_conv_args *a;
    const float ***ptrs; /* indirection: per slot, out_w * taps pointers */
    int direct;          /* the direct 3x3 kernel serves every row */
    const float *zeros;  /* direct: in_w pixels of zeros, for the rows in the padding */
    size_t rows, bands;  /* output rows of the batch, split into bands of consecutive rows */
    struct hpk_gemm_tile_ctx ec; /* the epilogue, residual at pixel 0 of the batch */
};

/* The indirection kernel over the output row y of image n. */
static void dw_indirect(const struct dw_state *s, size_t slot, size_t n, size_t y, float *out,
                        const struct hpk_gemm_tile_ctx *t)
{
    const struct hpk_conv_args *a = s->a;
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    const float **p = s->ptrs[slot];
    const ptrdiff_t iy0 = (ptrdiff_t)(y * d->stride_h) - (ptrdiff_t)d->pad_top;
    for (size_t x = 0; x < a->s.out_w; x++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(x * d->stride_w) - (ptrdiff_t)d->pad_left;
        for (size_t r = 0; r < d->kernel_h; r++)
            for (size_t q = 0; q < d->kernel_w; q++)
                *p++ = input_pixel(a, n, iy0 + (ptrdiff_t)(r * d->dilation_h),
                                   ix0 + (ptrdiff_t)(q * d->dilation_w), 0);
    }
    op->dwconv(d->out_channels, a->s.out_w, op->taps, s->ptrs[slot], op->dw, out,
               (ptrdiff_t)a->out_stride, t);
}

/* One output row (image n, row y). */
static void dw_row(const struct dw_state *s, size_t row, size_t slot)
{
    const struct hpk_conv_args *a = s->a;
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    const size_t n = row / a->s.out_h, y = row % a->s.out_h, ow = a->s.out_w;
    const size_t px = row * ow; /* the row's first pixel in the batch */
    struct hpk_gemm_tile_ctx t = s->ec;
    if (t.residual != NULL)
        t.residual += (ptrdiff_t)px * t.ldr;
    float *out = a->output + px * a->out_stride;
    if (!s->direct) {
        dw_indirect(s, slot, n, y, out, &t);
        return;
    }
    const size_t c = d->out_channels, iw = a->s.in_w;
    const float *rows[3];
    for (size_t r = 0; r < 3; r++) {
        const size_t iy = y * d->stride_h + r - d->pad_top; /* wraps when above the input */
        rows[r] = iy < a->s.in_h ? a->input + (n * a->s.in_h + iy) * iw * c : s->zeros;
    }
    op->dwconv3x3(c, ow, d->stride_w, rows, iw, d->pad_left, op->dw3, out,
                  (ptrdiff_t)a->out_stride, &t);
}

/*
 * Task i: the band of output rows [i rows / bands, (i + 1) rows / bands), one band per thread.
 * Consecutive output rows share input rows (3x3: two of three at stride 1, one at stride 2),
 * which a thread finds in its own L2 when it computes them in order; tasks of one row each,
 * taken in turn by two threads, made each thread fetch two (stride 1) or three (stride 2) new
 * input rows per output row instead of one or two. Measured on the 2-core Zen 3 VM, best of
 * 1000 runs, 2 threads: 144 ch @ 56x56 stride 1 270 -> 159 us, 96 ch @ 112x112 stride 2
 * 279 -> 195 us (one thread: 290 and 450 us).
 */
static void dw_task(void *ctx, size_t task, size_t slot)
{
    const struct dw_state *s = ctx;
    const size_t r0 = task * s->rows / s->bands, r1 = (task + 1) * s->rows / s->bands;
    for (size_t row = r0; row < r1; row++)
        dw_row(s, row, slot);
}

/* The row of zeros the direct kernel reads for a padding row of up to DW_ZERO_FLOATS floats
 * (in_w x channels), shared by every call and never written: zeroing a workspace row on every
 * run, before the rows are split over the threads, cost 6-7 % of 144 ch @ 56x56 and 512 @
 * 14x14 and 29 % of 960 @ 7x7 on 2 threads (Zen 4 VM, AVX2 only, one process alternating,
 * best of 10 x 100 runs); suite rows, builds alternated (`bench/run.sh --threads 2 --filter
 * 'roofline/fma_peak|^conv/mn'`): mnv1_dw3x3_512_14 64.0 -> 73.9 GFLOP/s, the two mnv2
 * rows +1.6 and +2.5 %, 1 thread even. In .bss, its pages stay the system's zero page. */
#define DW_ZERO_FLOATS 16384
static float dw_zero_row[DW_ZERO_FLOATS];

hpk_status hpk_conv_run_depthwise(const struct hpk_conv_args *a)
{
    const struct hpk_conv2d *op = a->op;
    const hpk_conv2d_desc *d = &op->d;
    const size_t rows = a->s.batch * a->s.out_h;
    struct dw_state s = {.a = a, .rows = rows};
    s.direct = op->dwconv3x3 != NULL && a->in_stride == d->in_channels;
    epilogue_ctx(op, 0, &s.ec);
    if (a->residual_is_output) {
        s.ec.residual = a->output;
        s.ec.ldr = (ptrdiff_t)a->out_stride;
    } else if (a->residual != NULL) {
        s.ec.residual = a->residual;
        s.ec.ldr = (ptrdiff_t)a->res_stride;
    }
    size_t per_slot = 0, macs, bytes = 0;
    if (hpk_mul_overflow(rows * a->s.out_w, op->taps * d->out_channels, &macs))
        return HPK_ERR_OVERFLOW;
    /* A depthwise multiply-add costs about 2.5 times a GEMM one (memory, not FMAs, bounds it),
     * and its input, written by the layer before on every thread, is split the same way: the
     * threshold is a quarter of the GEMM's. */
    const size_t threads = hpk_min_size(threads_for(macs > SIZE_MAX / 4 ? SIZE_MAX : 4 * macs),
                                        rows);
    const size_t slots = hpk_parallel_slots(threads);
    if (s.direct) {
        /* Rows in the padding exist only with top or bottom padding (out_h is the largest
         * with the last row's taps inside in_h + pad_bottom rows); up to DW_ZERO_FLOATS they
         * read dw_zero_row, longer ones a zeroed workspace. */
        size_t row_floats = 0;
        if ((d->pad_top != 0 || d->pad_bottom != 0) &&
            (hpk_mul_overflow(a->s.in_w, d->in_channels, &row_floats) ||
             hpk_mul_overflow(row_floats, sizeof(float), &bytes)))
            return HPK_ERR_OVERFLOW;
        if (row_floats <= DW_ZERO_FLOATS)
            bytes = 0;
    } else if (hpk_mul_overflow(a->s.out_w, op->taps, &per_slot) ||
               hpk_mul_overflow(per_slot, sizeof(float *), &per_slot) ||
               hpk_round_up_overflow(per_slot, HPK_ALIGNMENT, &per_slot) ||
               hpk_mul_overflow(per_slot + sizeof(void *), slots, &bytes)) {
        return HPK_ERR_OVERFLOW;
    }
    char *ws = NULL;
    if (bytes != 0) {
        ws = hpk_workspace_acquire(bytes);
        if (ws == NULL)
            return HPK_ERR_NOMEM;
    }
    if (s.direct) {
        if (ws != NULL)
            memset(ws, 0, bytes);
        s.zeros = ws != NULL ? (const float *)ws : dw_zero_row;
    } else {
        s.ptrs = (const float ***)(ws + slots * per_slot);
        for (size_t i = 0; i < slots; i++)
            s.ptrs[i] = (const float **)(ws + i * per_slot);
    }
    s.bands = threads;
    hpk_parallel_for(s.bands, threads, dw_task, &s);
    if (ws != NULL)
        hpk_workspace_release(ws);
    return HPK_OK;
}
