/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Graph passes, each a function of its own, run by hpk_graph_compile on its private copy of
 * the graph in this order:
 *
 *   fold_pad         pad -> conv2d  becomes the conv2d with the pad added to its own zero
 *                    padding (the padded tensor is never materialised).
 *   fold_batch_norm  conv2d|fully_connected -> batch_norm  becomes one node with the filter
 *                    rows scaled by s = gamma / sqrt(var + eps) and the bias
 *                    (bias - mean) * s + beta (new constants: the originals may be shared).
 *   fuse_epilogue    conv2d|fully_connected -> add [c] constant (bias) -> add same-shape
 *                    (residual) -> activation  becomes one node whose epilogue does the rest:
 *                    act(t + bias + residual), the order <hpk/conv.h> and <hpk/gemm.h> apply.
 *   split_depthwise  conv2d 1x1 -> depthwise conv2d of stride s (the expanded tensor s times
 *                    the output, only read there), the pair of the most bytes in the graph:
 *                    split into up to s pairs over channel slices whose outputs a
 *                    concatenation joins (which free_concat then makes free). Run one slice
 *                    after another, only a slice of the expanded tensor is live at a time:
 *                    MobileNetV2's peak (112x112x96 expanded, 56x56x96 out) falls by 3/4 of
 *                    the expanded tensor. Each output channel is computed as before.
 *   free_concat      conv2d|fully_connected -> concat: the producer writes its output straight
 *                    into its channels of the concat's output (the output pixel stride of
 *                    <hpk/conv.h>, ldc for a GEMM), and the concat copies only the others.
 *                    Runs after the fusions, on their final nodes.
 *   remove_dead      nodes whose output no live node reads and that is not a graph output.
 *   reshape_alias    a reshape (or flatten) whose input is contiguous (not a slice of a
 *                    concatenation) is a view: its output names the input's memory, nothing
 *                    is copied, and the planner keeps that memory until the last reader of
 *                    either tensor. Runs last, on the final tensors.
 *
 * A producer's output may be folded or fused into its consumer only when that consumer is its
 * only reader and the tensor is not a graph output: otherwise the intermediate must exist.
 * A rewrite never reorders nodes: the fused node keeps the producer's place, so what it reads
 * (a residual included) must be available there, which is checked.
 * Every rewrite is logged under HPK_VERBOSE=1.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/graph_exec/graph_ir.h"

const char *graph_op_name(hpk_graph_op op)
{
    switch (op) {
    case HPK_GRAPH_OP_CONV2D: return "conv2d";
    case HPK_GRAPH_OP_FULLY_CONNECTED: return "fully_connected";
    case HPK_GRAPH_OP_ADD: return "add";
    case HPK_GRAPH_OP_MUL: return "mul";
    case HPK_GRAPH_OP_ACTIVATION: return "activation";
    case HPK_GRAPH_OP_BATCH_NORM: return "batch_norm";
    case HPK_GRAPH_OP_MAX_POOL: return "max_pool";
    case HPK_GRAPH_OP_AVG_POOL: return "avg_pool";
    case HPK_GRAPH_OP_GLOBAL_AVG_POOL: return "global_avg_pool";
    case HPK_GRAPH_OP_SOFTMAX: return "softmax";
    case HPK_GRAPH_OP_CONCAT: return "concat";
    case HPK_GRAPH_OP_RESHAPE: return "reshape";
    case HPK_GRAPH_OP_PAD: return "pad";
    }
    return "?";
}

static int is_gemm_like(const struct ir_node *nd)
{
    return nd->op == HPK_GRAPH_OP_CONV2D || nd->op == HPK_GRAPH_OP_FULLY_CONNECTED;
}

static hpk_activation node_act(const struct ir_node *nd)
{
    return nd->op == HPK_GRAPH_OP_CONV2D ? nd->conv.act : nd->act;
}

/*
 * The live conv2d / fully_connected node whose output `id` a node may absorb: it produces id,
 * has no activation yet (an activation ends the epilogue), and id has one reader and is not a
 * graph output. Returns its index or -1.
 */
static long absorbable_producer(const struct hpk_graph *g, uint32_t id)
{
    if (g->t[id].kind != IR_INTERMEDIATE || g->t[id].producer == HPK_GRAPH_NO_TENSOR)
        return -1;
    const uint32_t p = g->t[id].producer;
    const struct ir_node *pn = &g->n[p];
    if (pn->dead || pn->out != id || !is_gemm_like(pn) || node_act(pn) != HPK_ACT_NONE)
        return -1;
    if (graph_ir_consumers(g, id) != 1) {
        hpk_log_verbose("graph: not fusing into node %u (%s): tensor %u has another reader",
                        (unsigned)p, graph_op_name(pn->op), (unsigned)id);
        return -1;
    }
    if (graph_ir_is_output(g, id)) {
        hpk_log_verbose("graph: not fusing into node %u (%s): tensor %u is a graph output",
                        (unsigned)p, graph_op_name(pn->op), (unsigned)id);
        return -1;
    }
    return (long)p;
}

/* Node p takes over node q's output; q dies. */
static void absorb(struct hpk_graph *g, uint32_t p, uint32_t q)
{
    g->n[p].out = g->n[q].out;
    g->t[g->n[q].out].producer = p;
    g->n[q].dead = 1;
}

long graph_pass_fold_batch_norm(struct hpk_graph *g, hpk_status *st)
{
    long count = 0;
    for (size_t q = 0; q < g->n_n; q++) {
        struct ir_node *bn = &g->n[q];
        if (bn->dead || bn->op != HPK_GRAPH_OP_BATCH_NORM)
            continue;
        const long pl = absorbable_producer(g, bn->in[0]);
        if (pl < 0 || g->n[pl].residual != HPK_GRAPH_NO_TENSOR)
            continue;
        const uint32_t p = (uint32_t)pl;
        const struct ir_tensor *w = &g->t[g->n[p].in[1]];
        const size_t rows = w->dims[0], row_len = w->elems / rows;
        const float *mean = g->t[bn->in[1]].data, *var = g->t[bn->in[2]].data;
        const float *gamma = g->t[bn->in[3]].data, *beta = g->t[bn->in[4]].data;
        const float *bias = g->n[p].in[2] == HPK_GRAPH_NO_TENSOR ? NULL : g->t[g->n[p].in[2]].data;
        float *nw = hpk_aligned_alloc(w->elems * sizeof(float));
        float *nb = hpk_aligned_alloc(rows * sizeof(float));
        if (!nw || !nb) {
            hpk_free(nw);
            hpk_free(nb);
            *st = HPK_ERR_NOMEM;
            return -1;
        }
        for (size_t o = 0; o < rows; o++) {
            /* in double, so the folded weights are the correctly rounded w * s */
            const double s = (double)gamma[o] / sqrt((double)var[o] + (double)bn->eps);
            for (size_t k = 0; k < row_len; k++)
                nw[o * row_len + k] = (float)((double)w->data[o * row_len + k] * s);
            nb[o] =
                (float)(((bias ? (double)bias[o] : 0.0) - (double)mean[o]) * s + (double)beta[o]);
        }
        const size_t wdims[HPK_GRAPH_MAX_RANK] = {w->dims[0], w->dims[1], w->dims[2], w->dims[3]};
        const size_t wrank = w->rank;
        uint32_t wid, bid;
        hpk_status s1 = graph_ir_add_constant(g, wrank, wdims, nw, &wid);
        hpk_status s2 = s1 == HPK_OK ? graph_ir_add_constant(g, 1, &rows, nb, &bid) : s1;
        hpk_free(nw);
        hpk_free(nb);
        if (s2 != HPK_OK) {
            *st = s2;
            return -1;
        }
        bn = &g->n[q]; /* g->t may have moved; g->n did not, but keep the pattern uniform */
        g->n[p].in[1] = wid;
        g->n[p].in[2] = bid;
        g->n[p].folded_bn++;
        hpk_log_verbose("graph: folded batch_norm node %zu into %s node %u (tensor %u -> %u)", q,
                        graph_op_name(g->n[p].op), (unsigned)p, (unsigned)g->n[p].out,
                        (unsigned)bn->out);
        absorb(g, p, (uint32_t)q);
        count++;
    }
    return count;
}

/* conv/FC -> add of a [c] constant: the constant joins the bias. */
static hpk_status fuse_bias(struct hpk_graph *g, uint32_t p, uint32_t q, uint32_t c, int *done)
{
    const struct ir_tensor *bt = &g->t[c];
    const size_t n = bt->dims[0];
    const float *old = g->n[p].in[2] == HPK_GRAPH_NO_TENSOR ? NULL : g->t[g->n[p].in[2]].data;
    float *nb = hpk_aligned_alloc(n * sizeof(float));
    if (!nb)
        return HPK_ERR_NOMEM;
    for (size_t j = 0; j < n; j++)
        nb[j] = old ? old[j] + bt->data[j] : bt->data[j];
    uint32_t bid;
    hpk_status st = graph_ir_add_constant(g, 1, &n, nb, &bid);
    hpk_free(nb);
    if (st != HPK_OK)
        return st;
    g->n[p].in[2] = bid;
    hpk_log_verbose("graph: fused bias add node %u into %s node %u", (unsigned)q,
                    graph_op_name(g->n[p].op), (unsigned)p);
    absorb(g, p, q);
    *done = 1;
    return HPK_OK;
}

/* Whether tensor r can be read by node p where it stands (produced before p, or not produced
 * by a node at all). */
static int available_at(const struct hpk_graph *g, uint32_t r, uint32_t p)
{
    return g->t[r].kind != IR_INTERMEDIATE || g->t[r].producer < p;
}

long graph_pass_fuse_epilogue(struct hpk_graph *g, hpk_status *st)
{
    long count = 0;
    for (size_t qi = 0; qi < g->n_n; qi++) {
        const uint32_t q = (uint32_t)qi;
        struct ir_node *nd = &g->n[q];
        if (nd->dead)
            continue;
        if (nd->op == HPK_GRAPH_OP_ACTIVATION) {
            const long pl = absorbable_producer(g, nd->in[0]);
            if (pl < 0)
                continue;
            struct ir_node *pn = &g->n[pl];
            if (pn->op == HPK_GRAPH_OP_CONV2D) {
                pn->conv.act = nd->act;
                pn->conv.act_lo = nd->act_lo;
                pn->conv.act_hi = nd->act_hi;
                pn->conv.act_slope = nd->act_slope;
            } else {
                pn->act = nd->act;
                pn->act_lo = nd->act_lo;
                pn->act_hi = nd->act_hi;
                pn->act_slope = nd->act_slope;
            }
            hpk_log_verbose("graph: fused activation node %u into %s node %ld", (unsigned)q,
                            graph_op_name(pn->op), pl);
            absorb(g, (uint32_t)pl, q);
            count++;
            continue;
        }
        if (nd->op != HPK_GRAPH_OP_ADD)
            continue;
        const uint32_t a = nd->in[0], b = nd->in[1];
        const struct ir_tensor *ta = &g->t[a], *tb = &g->t[b];
        const int same =
            ta->rank == tb->rank && memcmp(ta->dims, tb->dims, ta->rank * sizeof(size_t)) == 0;
        if (!same) {
            /* a per-channel add: a bias when b is a constant */
            if (tb->kind != IR_CONSTANT)
                continue;
            const long pl = absorbable_producer(g, a);
            if (pl < 0 || g->n[pl].residual != HPK_GRAPH_NO_TENSOR)
                continue;
            int done = 0;
            hpk_status s = fuse_bias(g, (uint32_t)pl, q, b, &done);
            if (s != HPK_OK) {
                *st = s;
                return -1;
            }
            count += done;
            continue;
        }
        /* a residual add: one operand from a conv/FC, the other its residual */
        for (int side = 0; side < 2; side++) {
            const uint32_t mine = side ? b : a, other = side ? a : b;
            if (mine == other)
                break; /* x + x: the tensor has two reads, nothing to fuse */
            const long pl = absorbable_producer(g, mine);
            if (pl < 0 || g->n[pl].residual != HPK_GRAPH_NO_TENSOR)
                continue;
            if (!available_at(g, other, (uint32_t)pl)) {
                hpk_log_verbose("graph: not fusing add node %u into node %ld: its residual %u "
                                "is produced later",
                                (unsigned)q, pl, (unsigned)other);
                continue;
            }
            g->n[pl].residual = other;
            hpk_log_verbose("graph: fused residual add node %u into %s node %ld (residual %u)",
                            (unsigned)q, graph_op_name(g->n[pl].op), pl, (unsigned)other);
            absorb(g, (uint32_t)pl, q);
            count++;
            break;
        }
    }
    return count;
}

long graph_pass_fold_pad(struct hpk_graph *g)
{
    long count = 0;
    for (size_t q = 0; q < g->n_n; q++) {
        struct ir_node *cv = &g->n[q];
        if (cv->dead || cv->op != HPK_GRAPH_OP_CONV2D || cv->conv.algo == HPK_CONV_GEMM)
            continue; /* a forced 1x1 GEMM convolution takes no padding */
        const uint32_t t = cv->in[0];
        if (g->t[t].kind != IR_INTERMEDIATE)
            continue;
        const uint32_t p = g->t[t].producer;
        struct ir_node *pd = &g->n[p];
        if (pd->dead || pd->op != HPK_GRAPH_OP_PAD || pd->out != t)
            continue;
        if (graph_ir_consumers(g, t) != 1 || graph_ir_is_output(g, t)) {
            hpk_log_verbose("graph: not folding pad node %u into conv2d node %zu: tensor %u is "
                            "read elsewhere or a graph output",
                            (unsigned)p, q, (unsigned)t);
            continue;
        }
        /* The sums are the padded input's extent, which the pad node's output checked. */
        cv->conv.pad_top += pd->pad[0];
        cv->conv.pad_left += pd->pad[1];
        cv->conv.pad_bottom += pd->pad[2];
        cv->conv.pad_right += pd->pad[3];
        cv->in[0] = pd->in[0];
        pd->dead = 1;
        g->t[t].producer = HPK_GRAPH_NO_TENSOR;
        hpk_log_verbose("graph: folded pad node %u into conv2d node %zu's padding", (unsigned)p, q);
        count++;
    }
    return count;
}

long graph_pass_free_concat(struct hpk_graph *g)
{
    long count = 0;
    for (size_t q = 0; q < g->n_n; q++) {
        struct ir_node *cat = &g->n[q];
        if (cat->dead || cat->op != HPK_GRAPH_OP_CONCAT)
            continue;
        const struct ir_tensor *o = &g->t[cat->out];
        const size_t stride = o->dims[o->rank - 1];
        size_t off = 0;
        for (size_t i = 0; i < cat->n_in; i++) {
            const uint32_t t = cat->extra_in[i];
            struct ir_tensor *tt = &g->t[t];
            const size_t c = tt->dims[tt->rank - 1];
            const size_t at = off;
            off += c;
            if (tt->kind != IR_INTERMEDIATE || tt->view_of != HPK_GRAPH_NO_TENSOR)
                continue;
            const struct ir_node *pn = &g->n[tt->producer];
            if (pn->dead || pn->out != t || !is_gemm_like(pn))
                continue;
            /* one reader (the concat, once) and not an output: nothing else sees the view */
            if (graph_ir_consumers(g, t) != 1 || graph_ir_is_output(g, t)) {
                hpk_log_verbose("graph: concat node %zu copies tensor %u: it has another reader "
                                "or is a graph output",
                                q, (unsigned)t);
                continue;
            }
            tt->view_of = cat->out;
            tt->view_off = at;
            tt->view_stride = stride;
            cat->free_inputs++;
            hpk_log_verbose("graph: %s node %u writes its output in place into concat node "
                            "%zu (channels %zu..%zu of %zu)",
                            graph_op_name(pn->op), (unsigned)tt->producer, q, at, at + c, stride);
            count++;
        }
    }
    return count;
}

long graph_pass_remove_dead(struct hpk_graph *g)
{
    long count = 0;
    for (size_t i = g->n_n; i-- > 0;) {
        struct ir_node *nd = &g->n[i];
        if (nd->dead || graph_ir_is_output(g, nd->out) || graph_ir_consumers(g, nd->out) > 0)
            continue;
        nd->dead = 1;
        hpk_log_verbose("graph: removed dead %s node %zu (tensor %u is never read)",
                        graph_op_name(nd->op), i, (unsigned)nd->out);
        count++;
    }
    return count;
}

long graph_pass_reshape_alias(struct hpk_graph *g)
{
    long count = 0;
    for (size_t q = 0; q < g->n_n; q++) {
        const struct ir_node *nd = &g->n[q];
        if (nd->dead || nd->op != HPK_GRAPH_OP_RESHAPE)
            continue;
        const struct ir_tensor *x = &g->t[nd->in[0]];
        const uint32_t root = x->alias_of != HPK_GRAPH_NO_TENSOR ? x->alias_of : nd->in[0];
        if (g->t[root].view_of != HPK_GRAPH_NO_TENSOR) {
            hpk_log_verbose("graph: reshape node %zu copies tensor %u: it is a strided slice of a "
                            "concatenation",
                            q, (unsigned)nd->in[0]);
            continue;
        }
        g->t[nd->out].alias_of = root;
        hpk_log_verbose("graph: reshape node %zu is a view: tensor %u is tensor %u's memory", q,
                        (unsigned)nd->out, (unsigned)root);
        count++;
    }
    return count;
}

static size_t or_one(size_t x)
{
    return x ? x : 1;
}

/*
 * The channel split of a 1x1 convolution feeding a strided depthwise one: the ways to split
 * the pair p -> q (q's node index), or 0 when it does not qualify. *p_out: p.
 */
static size_t split_ways(const struct hpk_graph *g, size_t q, size_t tile_n, uint32_t *p_out)
{
    const struct ir_node *dq = &g->n[q];
    if (dq->dead || dq->op != HPK_GRAPH_OP_CONV2D || dq->residual != HPK_GRAPH_NO_TENSOR)
        return 0;
    const hpk_conv2d_desc *d = &dq->conv;
    const size_t c = d->in_channels, s = or_one(d->stride_h) * or_one(d->stride_w);
    if (or_one(d->groups) != c || d->out_channels != c || s < 2)
        return 0;
    const struct ir_tensor *y = &g->t[dq->out], *e = &g->t[dq->in[0]];
    if (y->view_of != HPK_GRAPH_NO_TENSOR || graph_ir_is_output(g, dq->out) ||
        e->kind != IR_INTERMEDIATE || e->view_of != HPK_GRAPH_NO_TENSOR ||
        e->alias_of != HPK_GRAPH_NO_TENSOR || graph_ir_consumers(g, dq->in[0]) != 1 ||
        graph_ir_is_output(g, dq->in[0]))
        return 0;
    const uint32_t p = e->producer;
    const struct ir_node *dp = &g->n[p];
    const hpk_conv2d_desc *pd = &dp->conv;
    if (dp->dead || dp->out != dq->in[0] || dp->op != HPK_GRAPH_OP_CONV2D ||
        dp->residual != HPK_GRAPH_NO_TENSOR || pd->kernel_h != 1 || pd->kernel_w != 1 ||
        or_one(pd->groups) != 1 || or_one(pd->stride_h) != 1 || or_one(pd->stride_w) != 1 ||
        or_one(pd->dilation_h) != 1 || or_one(pd->dilation_w) != 1 || pd->pad_top || pd->pad_left ||
        pd->pad_bottom || pd->pad_right || (pd->algo != HPK_CONV_AUTO && pd->algo != HPK_CONV_GEMM))
        return 0;
    /* slices of the expanded tensor no larger than the output: stride_h * stride_w ways, of
     * 8 channels at least */
    size_t ways = s;
    while (ways > 1 && (c % ways || c / ways < 8))
        ways--;
    /* one slice fewer where that makes the slices whole multiples of the GEMM tile's width
     * (tile_n: 16 on AVX2): 96 = 3 x 32 rather than 4 x 24, whose 1x1 convolutions ran a
     * masked half tile for every 16 channels computed (MobileNetV2's 112x112 16 -> 96 pair:
     * 1x1 + depthwise pairs and their concatenation, thread CPU time per run, two runs each:
     * 4 slices 2431-2521 us, 3 slices 2064-2131 us, 2 slices 2201-2290 us), for a slice a
     * third larger (the arena stays 3.91 MB: this pair does not set its peak) */
    if (ways > 2 && (c / ways) % tile_n && c % (ways - 1) == 0 &&
        (c / (ways - 1)) % tile_n == 0)
        ways--;
    *p_out = p;
    return ways > 1 ? ways : 0;
}

/* Splits p -> q into `ways` pairs over channel slices, joined by a concatenation that
 * produces q's output; the new nodes take q's place. */
static hpk_status split_pair(struct hpk_graph *g, uint32_t p, uint32_t q, size_t ways)
{
    const struct ir_node np = g->n[p], nq = g->n[q];
    const size_t c = nq.conv.in_channels, cg = c / ways, cin = np.conv.in_channels;
    const size_t taps = nq.conv.kernel_h * nq.conv.kernel_w;
    const struct ir_tensor *e = &g->t[nq.in[0]], *y = &g->t[nq.out];
    const size_t edims[4] = {e->dims[0], e->dims[1], e->dims[2], cg};
    const size_t ydims[4] = {y->dims[0], y->dims[1], y->dims[2], cg};
    const float *pw = g->t[np.in[1]].data, *qw = g->t[nq.in[1]].data; /* not moved by growth */
    const float *pb = np.in[2] == HPK_GRAPH_NO_TENSOR ? NULL : g->t[np.in[2]].data;
    const float *qb = nq.in[2] == HPK_GRAPH_NO_TENSOR ? NULL : g->t[nq.in[2]].data;
    const size_t added = 2 * ways + 1, n_old = g->n_n;
    struct ir_node *nodes = hpk_aligned_alloc((n_old + added) * sizeof *nodes);
    uint32_t *cat_in = hpk_aligned_alloc(ways * sizeof *cat_in);
    if (!nodes || !cat_in) {
        hpk_free(nodes);
        hpk_free(cat_in);
        return HPK_ERR_NOMEM;
    }
    hpk_status st = HPK_OK;
    struct ir_node *fresh = nodes + q + 1; /* the new nodes, after q */
    for (size_t k = 0; k < ways && st == HPK_OK; k++) {
        uint32_t et, yt, pf, qf, pbi = HPK_GRAPH_NO_TENSOR, qbi = HPK_GRAPH_NO_TENSOR;
        const size_t pfd[4] = {cg, 1, 1, cin}, qfd[4] = {cg, nq.conv.kernel_h, nq.conv.kernel_w, 1};
        if ((st = graph_ir_add_intermediate(g, 4, edims, &et)) != HPK_OK ||
            (st = graph_ir_add_intermediate(g, 4, ydims, &yt)) != HPK_OK ||
            (st = graph_ir_add_constant(g, 4, pfd, pw + k * cg * cin, &pf)) != HPK_OK ||
            (st = graph_ir_add_constant(g, 4, qfd, qw + k * cg * taps, &qf)) != HPK_OK ||
            (pb && (st = graph_ir_add_constant(g, 1, &cg, pb + k * cg, &pbi)) != HPK_OK) ||
            (qb && (st = graph_ir_add_constant(g, 1, &cg, qb + k * cg, &qbi)) != HPK_OK))
            break;
        struct ir_node *a = &fresh[2 * k], *b = &fresh[2 * k + 1];
        *a = np;
        a->folded_bn = k ? 0 : np.folded_bn; /* counted once */
        a->conv.out_channels = cg;
        a->in[1] = pf, a->in[2] = pbi, a->out = et;
        *b = nq;
        b->folded_bn = k ? 0 : nq.folded_bn;
        b->conv.in_channels = b->conv.out_channels = b->conv.groups = cg;
        b->in[0] = et, b->in[1] = qf, b->in[2] = qbi, b->out = yt;
        cat_in[k] = yt;
    }
    if (st != HPK_OK) {
        hpk_free(nodes);
        hpk_free(cat_in);
        return st;
    }
    struct ir_node *cat = &fresh[2 * ways];
    memset(cat, 0, sizeof *cat);
    cat->op = HPK_GRAPH_OP_CONCAT;
    for (size_t i = 0; i < IR_MAX_INPUTS; i++)
        cat->in[i] = HPK_GRAPH_NO_TENSOR;
    cat->residual = HPK_GRAPH_NO_TENSOR;
    cat->extra_in = cat_in;
    cat->n_in = ways;
    cat->out = nq.out;
    memcpy(nodes, g->n, (q + 1) * sizeof *nodes);
    memcpy(nodes + q + 1 + added, g->n + q + 1, (n_old - q - 1) * sizeof *nodes);
    nodes[p].dead = nodes[q].dead = 1;
    for (size_t t = 0; t < g->n_t; t++) /* node indices after q move up */
        if (g->t[t].producer != HPK_GRAPH_NO_TENSOR && g->t[t].producer > q)
            g->t[t].producer += (uint32_t)added;
    for (size_t i = 0; i < added; i++)
        g->t[fresh[i].out].producer = (uint32_t)(q + 1 + i);
    hpk_free(g->n);
    g->n = nodes;
    g->n_n = n_old + added;
    g->cap_n = n_old + added;
    return HPK_OK;
}

long graph_pass_split_depthwise(struct hpk_graph *g, size_t tile_n, hpk_status *st)
{
    tile_n = tile_n ? tile_n : 1;
    /* the eligible pairs of the most bytes (expanded tensor and output): those most likely
     * to set the peak */
    size_t best = 0;
    for (size_t q = 0; q < g->n_n; q++) {
        uint32_t p;
        if (split_ways(g, q, tile_n, &p))
            best = hpk_max_size(best, g->t[g->n[q].in[0]].elems + g->t[g->n[q].out].elems);
    }
    long count = 0;
    for (size_t q = 0; best && q < g->n_n; q++) {
        uint32_t p;
        const size_t ways = split_ways(g, q, tile_n, &p);
        if (!ways || g->t[g->n[q].in[0]].elems + g->t[g->n[q].out].elems != best)
            continue;
        hpk_status s = split_pair(g, p, (uint32_t)q, ways);
        if (s != HPK_OK) {
            *st = s;
            return -1;
        }
        hpk_log_verbose("graph: split conv2d node %u (1x1) and depthwise node %zu into %zu "
                        "channel slices joined by a concatenation",
                        (unsigned)p, q, ways);
        q += 2 * ways + 1;
        count++;
    }
    return count;
}
