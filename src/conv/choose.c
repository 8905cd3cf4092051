/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The convolution cost model: the estimated time of each applicable algorithm for one input
 * shape, in cycles of one core, from the machine figures the dispatcher provides (vector width
 * of the table, the main tile, cache sizes) -- never from the thread count, which must not
 * change the numbers. The cheapest wins.
 *
 *   arithmetic  multiply-adds at the FMA peak (the dispatcher's hpk_fma_lanes_per_cycle)
 *               times an efficiency,
 *               with m rounded up to half the tile and n to the tile (the waste of edge
 *               tiles);
 *   transforms  Winograd's input and output transforms: their additions per tile and channel
 *               (counted from the separable 1-D transforms) at one vector add per cycle;
 *   bytes       what an algorithm moves besides the GEMM's own operands: im2col's gathered
 *               rows, Winograd's V and M round trips through L2 and its transformed filter,
 *               streamed from L2, L3 or memory once per block of tiles.
 *
 * The efficiencies and bandwidths below are round figures fitted to the ResNet-50 3x3 layers
 * timed on Zen 3 (AVX2), every algorithm forced in turn (64@56, 128@28: F(4,3) ahead of F(2,3)
 * and im2col by 1.5x and 3x; 256@14 and 512@7: F(4,3) still first, by 15 %, though its U is
 * 37 MB at 512 channels, because the products hide most of its streaming), then refitted on
 * Zen 4 once F(2,3)'s 16 tiles at 512@7 ran as 8 + 8 rows: F(2,3) first there, warm and with
 * the caches evicted (1 thread, `tools/conv_cold 3 1 512 512 7 10 2 {0,64} ALGO`: AVX-512
 * 1.22 / 1.36 ms against F(4,3)'s 1.43-1.63 / 2.3; AVX2 1.42 / 1.68 against 1.32-1.59 /
 * 1.96), F(4,3) still at 256@7 (0.18 against 0.34 ms), where U fits L3. They rank the
 * algorithms, they do not predict run times. To measure again: the `hpk.<algorithm>` rows of
 * `sh bench/run.sh --bin build/main/bench/hpk-bench --filter '^conv' --reps 3`.
 * The stride-2 (polyphase) Winograd form, checked against im2col on Zen 4 (AVX2, 1 thread,
 * `tools/conv_cold 3 2 CIN COUT H 5 2 0 {im2col,winograd-s2}`): chosen and faster at 128->128
 * @56 (2.78 -> 2.23 ms), 64->128 @56, 32->64 @56, 256->256 @56; not chosen and slower at 3->32
 * @224 (2.5x), 8->16 @112, 128->256 @28, 256->256 @28, 512->512 @14; not chosen though 20 %
 * faster at 16->16 and 24->24 @56 (layers of 50-150 us). Its 7x7 variant, F(3,4)
 * (`tools/conv_cold 7 2 CIN COUT H 5 2 0 {im2col,winograd-s2}`): chosen and faster at 3->64
 * @224 (the stem, 2.71 -> 1.88 ms), 3->32 @112, 8->32 @112, 16->64 @56, 64->64 @56 (4.07 ->
 * 1.69 ms); not chosen and slower at 3->16 @20 (10 against 18 us).
 */
#include "config.h"

#include <string.h>

#include "src/base/checked.h"
#include "src/conv/conv.h"
#include "src/gemm/gemm.h"

/* Multiply-adds per cycle of a table's GEMM: the dispatcher's figure for the table's vectors
 * (hpk_fma_lanes_per_cycle). On Zen 4 a zmm FMA takes both 256-bit pipes, so the AVX-512
 * products run no faster than AVX2's; counted as two zmm FMAs a cycle there, the products
 * looked half their cost beside the transforms, and the model took F(2x2, 3x3) at 256@14 and
 * 512@7, where F(4x4, 3x3) was faster (1 thread, Zen 4: 0.95 against 0.82 ms, 1.58 against
 * 1.29; the hpk.winograd-f2 / -f4 rows of `bench/run.sh --filter '^conv'`). */
static double fma_lanes_per_cycle(const struct hpk_kernel_table *t)
{
    return hpk_fma_lanes_per_cycle(hpk_machine_get(), t->vector_bytes);
}

/*
 * Of the FMA peak: the GEMM driver on full tiles (im2col's 196 x 256 x 2304 of 3x3/2 256@28
 * ran at 0.92 on Zen 4; at 0.85 the model took Winograd's polyphase form there, 10 % slower
 * than im2col), and Winograd's products (tens of rows against a U streamed once).
 */
#define GEMM_EFFICIENCY 0.92
#define PRODUCT_EFFICIENCY 0.85
#define TRANSFORM_EFFICIENCY 1.0 /* vector adds per cycle in the transforms (loads, stores) */
#define BW_L2 32.0               /* bytes per cycle */
#define BW_L3 32.0
/* From memory: about the read roof of `bench/run.sh` (26.9 GB/s on 1 thread of the Zen 4 VM at
 * 3.68 GHz, 7.3 bytes a cycle; Zen 3's triad 18 GB/s at 3.2 GHz, 5.6). */
#define BW_MEM 7.0
/* The share of the cheaper of the products and U's stream that the overlap does not hide. */
#define STREAM_EXPOSED 0.15

static double round_up(size_t x, size_t m)
{
    return (double)hpk_div_round_up(x, m) * (double)m;
}

/* Half the main tile's rows: the main kernels compute a tile of at most MR / 2 rows with about
 * half the FMAs (AVX2 6 x 16: m <= 3; AVX-512 14 x 32: m <= 4, 7, 10), which matters where a
 * product has few rows (a Winograd product of a few tiles: whole 14-row tiles made F(4x4, 3x3)'s
 * 4 tiles at 512@7 cost 3.5 times their work). */
static size_t half_tile(const struct hpk_gemm_record *r)
{
    return r->mr > 1 ? (r->mr + 1) / 2 : 1;
}

/* Cycles of a GEMM of n columns and depth k whose row tiles compute `rows` rows in all, on the
 * main record, B packed ahead. */
static double gemm_cycles(const struct hpk_conv2d *op, double rows, size_t n, size_t k,
                          double efficiency)
{
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    const double fma_per_cycle = fma_lanes_per_cycle(op->table) * efficiency;
    return rows * round_up(n, r->nr) * (double)k / fma_per_cycle;
}

/* The rows the GEMM driver's tiles compute for m rows: MR at a time, the last tile's rounded
 * up to half a tile. */
static double driver_rows(const struct hpk_conv2d *op, size_t m)
{
    return round_up(m, half_tile(&op->table->sgemm[HPK_GEMM_MAIN]));
}

/* The rows a Winograd product's tiles compute for m tiles: m on the small-M record's
 * matrix-vector kernel, and where a last tile of fewer than half MR rows shares the rows of
 * the one before it (hpk_gemm_tail_split: 16 as 8 + 8 on the 14 x 32); else as the driver's
 * tiles. */
static double product_rows(const struct hpk_conv2d *op, size_t m)
{
    const struct hpk_gemm_record *r = &op->table->sgemm[HPK_GEMM_MAIN];
    size_t last_row;
    if (hpk_conv_winograd_gemv(op, m) || hpk_gemm_tail_split(m, r->mr, &last_row))
        return (double)m;
    return driver_rows(op, m);
}

static double stream_bw(const struct hpk_machine *mach, double bytes)
{
    if (bytes <= (double)mach->cache[1].size)
        return BW_L2;
    if (bytes <= (double)mach->cache[2].size / 2)
        return BW_L3;
    return BW_MEM;
}

/* Additions per tile and channel of the input and output transforms (the 1-D transforms'
 * non-trivial terms, rows then columns): F(2,3), F(4,3), F(4,2) and F(3,4) (the last two per
 * phase channel; F(3,4)'s input transform is F(4,3)'s, its output 9 1-D transforms of 6 -> 3
 * against F(4,3)'s 10 of 6 -> 4). */
static const double wino_in_flops[HPK_WINOGRAD_VARIANTS] = {32.0, 216.0, 130.0, 216.0};
static const double wino_out_flops[HPK_WINOGRAD_VARIANTS] = {36.0, 200.0, 72.0, 150.0};

hpk_conv_algo hpk_conv_choose(const struct hpk_conv2d *op, const struct hpk_conv_shape *s,
                              double cost_out[HPK_CONV_ALGO_COUNT])
{
    const struct hpk_machine *mach = hpk_machine_get();
    const double vf = hpk_vector_floats(op->table->vector_bytes);
    const size_t pixels = s->batch * s->out_h * s->out_w;
    double cost[HPK_CONV_ALGO_COUNT] = {0};

    if (hpk_conv_algo_applies(op, HPK_CONV_GEMM))
        cost[HPK_CONV_GEMM] = (double)op->d.groups * gemm_cycles(op, driver_rows(op, pixels),
                                                                 op->kg, op->cg, GEMM_EFFICIENCY);
    if (hpk_conv_algo_applies(op, HPK_CONV_IM2COL))
        /* The gathered rows are read through pointers, a segment per tap: the packing of A~
         * costs about one L2 pass over them besides the product. */
        cost[HPK_CONV_IM2COL] =
            (double)op->d.groups *
            (gemm_cycles(op, driver_rows(op, pixels), op->kg, op->kdim, GEMM_EFFICIENCY) +
             (double)pixels * (double)op->kdim * 4.0 / BW_L2);
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        const hpk_conv_algo algo = hpk_conv_winograd_algo((enum hpk_winograd_id)v);
        if (op->wino[v] == NULL || !hpk_conv_algo_applies(op, algo)) /* another kernel's */
            continue;
        const size_t m = op->wino[v]->m, alpha = hpk_winograd_alpha(op->wino[v]);
        const size_t a2 = alpha * alpha;
        const size_t kin = hpk_winograd_kin(op->wino[v], op->cg); /* the products' k */
        const size_t tiles = s->batch * hpk_div_round_up(s->out_h, m) *
                             hpk_div_round_up(s->out_w, m);
        /* The blocked schedule streams U once per block of tiles and keeps V and M in L2;
         * the whole one streams U once and V and M from wherever they fit. */
        const int whole = hpk_conv_winograd_whole(op, kin, m, tiles);
        const double blocks =
            whole ? 1.0 : (double)hpk_div_round_up(tiles, hpk_conv_winograd_block(op, kin, alpha));
        const double u_bytes = (double)a2 * (double)kin * (double)op->kg * 4.0;
        const double vm_bytes = 2.0 * (double)a2 * (double)tiles * (double)(kin + op->kg) * 4.0;
        /* The products stream U while they compute: the slower of the two, and a share of the
         * other, which the overlap does not hide. */
        const double products =
            (double)a2 * gemm_cycles(op, product_rows(op, tiles), op->kg, kin, PRODUCT_EFFICIENCY);
        const double u_stream = blocks * u_bytes / stream_bw(mach, u_bytes);
        cost[algo] = (products > u_stream ? products + STREAM_EXPOSED * u_stream
                                          : u_stream + STREAM_EXPOSED * products) +
                     (double)tiles *
                         ((double)kin * wino_in_flops[v] + (double)op->kg * wino_out_flops[v]) /
                         (vf * TRANSFORM_EFFICIENCY) +
                     vm_bytes / (whole ? stream_bw(mach, vm_bytes) : BW_L2);
    }
    if (hpk_conv_algo_applies(op, HPK_CONV_DEPTHWISE))
        /* Each output vector: taps FMAs, each with a load of the input and of the weights. */
        cost[HPK_CONV_DEPTHWISE] = (double)pixels * (double)op->d.out_channels *
                                   (double)op->taps / (vf * 1.0);

    hpk_conv_algo best = HPK_CONV_IM2COL;
    double best_cost = -1.0;
    for (int a = HPK_CONV_GEMM; a < HPK_CONV_ALGO_COUNT; a++)
        if (cost[a] > 0.0 && (best_cost < 0.0 || cost[a] < best_cost)) {
            best = (hpk_conv_algo)a;
            best_cost = cost[a];
        }
    if (cost_out != NULL)
        memcpy(cost_out, cost, sizeof cost);
    return best;
}
