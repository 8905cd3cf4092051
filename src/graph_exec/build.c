/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Graph definition: the hpk_graph_* calls that add tensors and nodes, each validating its node
 * completely before changing the graph (a failed call leaves it as it was).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/graph_exec/graph_ir.h"

/* ---- growable arrays ------------------------------------------------------------------------ */

/* Makes room for one more element of `size` bytes in *arr (count n, capacity *cap). */
static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8, bytes;
    if (ncap > UINT32_MAX - 1 || hpk_mul_overflow(ncap, size, &bytes))
        return 1;
    void *p = hpk_aligned_alloc(bytes);
    if (!p)
        return 1;
    if (n)
        memcpy(p, *arr, n * size);
    hpk_free(*arr);
    *arr = p;
    *cap = ncap;
    return 0;
}

hpk_status hpk_graph_create(hpk_graph **graph_out)
{
    if (!graph_out)
        return HPK_ERR_INVALID_ARG;
    struct hpk_graph *g = hpk_aligned_alloc(sizeof *g);
    if (!g)
        return HPK_ERR_NOMEM;
    memset(g, 0, sizeof *g);
    *graph_out = g;
    return HPK_OK;
}

void graph_ir_free(struct hpk_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_t; i++)
        hpk_free(g->t[i].data);
    for (size_t i = 0; i < g->n_n; i++)
        hpk_free(g->n[i].extra_in);
    hpk_free(g->t);
    hpk_free(g->n);
    hpk_free(g->outputs);
    hpk_free(g);
}

void hpk_graph_destroy(hpk_graph *graph)
{
    graph_ir_free(graph);
}

hpk_status graph_ir_clone(const struct hpk_graph *src, struct hpk_graph **dst_out)
{
    struct hpk_graph *g = NULL;
    hpk_status st = hpk_graph_create(&g);
    if (st != HPK_OK)
        return st;
    st = HPK_ERR_NOMEM;
    /* Room for the passes to add constants: two per node at most (folded filter and bias). */
    size_t cap_t = src->n_t + 2 * src->n_n + 1;
    g->t = hpk_aligned_alloc(cap_t * sizeof *g->t);
    g->n = hpk_aligned_alloc((src->n_n + 1) * sizeof *g->n);
    g->outputs = hpk_aligned_alloc((src->n_out + 1) * sizeof *g->outputs);
    if (!g->t || !g->n || !g->outputs)
        goto error;
    g->cap_t = cap_t;
    g->cap_n = src->n_n + 1;
    g->cap_out = src->n_out + 1;
    for (size_t i = 0; i < src->n_t; i++) {
        g->t[i] = src->t[i];
        g->t[i].data = NULL;
        g->n_t = i + 1;
        if (src->t[i].data) {
            g->t[i].data = hpk_aligned_alloc(src->t[i].elems * sizeof(float));
            if (!g->t[i].data)
                goto error;
            memcpy(g->t[i].data, src->t[i].data, src->t[i].elems * sizeof(float));
        }
    }
    for (size_t i = 0; i < src->n_n; i++) {
        g->n[i] = src->n[i];
        g->n[i].extra_in = NULL;
        g->n_n = i + 1;
        if (src->n[i].extra_in) {
            g->n[i].extra_in = hpk_aligned_alloc(src->n[i].n_in * sizeof(uint32_t));
            if (!g->n[i].extra_in)
                goto error;
            memcpy(g->n[i].extra_in, src->n[i].extra_in, src->n[i].n_in * sizeof(uint32_t));
        }
    }
    if (src->n_out)
        memcpy(g->outputs, src->outputs, src->n_out * sizeof(uint32_t));
    g->n_out = src->n_out;
    g->n_inputs = src->n_inputs;
    *dst_out = g;
    return HPK_OK;
error:
    graph_ir_free(g);
    return st;
}

/* ---- tensors -------------------------------------------------------------------------------- */

static hpk_status add_tensor(struct hpk_graph *g, enum ir_kind kind, size_t rank,
                             const size_t *dims, const float *data, uint32_t *id_out)
{
    if (!g || !dims || !id_out || rank < 1 || rank > HPK_GRAPH_MAX_RANK)
        return HPK_ERR_INVALID_ARG;
    if (kind == IR_CONSTANT && !data)
        return HPK_ERR_INVALID_ARG;
    size_t elems = 1, bytes;
    for (size_t i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return HPK_ERR_INVALID_ARG;
        if (hpk_mul_overflow(elems, dims[i], &elems))
            return HPK_ERR_OVERFLOW;
    }
    /* 64 bytes of rounding in the arena, and ptrdiff_t for every pointer difference. */
    if (hpk_mul_overflow(elems, sizeof(float), &bytes) || bytes > PTRDIFF_MAX / 2)
        return HPK_ERR_OVERFLOW;
    if (grow((void **)&g->t, g->n_t, &g->cap_t, sizeof *g->t))
        return HPK_ERR_NOMEM;
    struct ir_tensor t = {0};
    t.kind = kind;
    t.rank = rank;
    memcpy(t.dims, dims, rank * sizeof *dims);
    t.elems = elems;
    t.producer = HPK_GRAPH_NO_TENSOR;
    t.view_of = HPK_GRAPH_NO_TENSOR;
    t.alias_of = HPK_GRAPH_NO_TENSOR;
    if (kind == IR_CONSTANT) {
        t.data = hpk_aligned_alloc(bytes);
        if (!t.data)
            return HPK_ERR_NOMEM;
        memcpy(t.data, data, bytes);
    }
    if (kind == IR_INPUT)
        t.input_index = g->n_inputs++;
    g->t[g->n_t] = t;
    *id_out = (uint32_t)g->n_t++;
    return HPK_OK;
}

hpk_status graph_ir_add_constant(struct hpk_graph *g, size_t rank, const size_t *dims,
                                 const float *data, uint32_t *id_out)
{
    return add_tensor(g, IR_CONSTANT, rank, dims, data, id_out);
}

hpk_status hpk_graph_add_input(hpk_graph *graph, size_t rank, const size_t *dims, uint32_t *id_out)
{
    return add_tensor(graph, IR_INPUT, rank, dims, NULL, id_out);
}

hpk_status hpk_graph_add_constant(hpk_graph *graph, size_t rank, const size_t *dims,
                                  const float *data, uint32_t *id_out)
{
    return add_tensor(graph, IR_CONSTANT, rank, dims, data, id_out);
}

hpk_status hpk_graph_add_tensor(hpk_graph *graph, size_t rank, const size_t *dims, uint32_t *id_out)
{
    return add_tensor(graph, IR_INTERMEDIATE, rank, dims, NULL, id_out);
}

int graph_ir_is_output(const struct hpk_graph *g, uint32_t id)
{
    for (size_t i = 0; i < g->n_out; i++)
        if (g->outputs[i] == id)
            return 1;
    return 0;
}

hpk_status hpk_graph_mark_output(hpk_graph *graph, uint32_t id)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    if (id >= graph->n_t || graph->t[id].kind != IR_INTERMEDIATE) {
        hpk_log_verbose("graph: output %u is not an intermediate tensor", (unsigned)id);
        return HPK_ERR_BAD_TENSOR;
    }
    if (graph_ir_is_output(graph, id))
        return HPK_OK;
    if (grow((void **)&graph->outputs, graph->n_out, &graph->cap_out, sizeof(uint32_t)))
        return HPK_ERR_NOMEM;
    graph->outputs[graph->n_out++] = id;
    return HPK_OK;
}

size_t graph_ir_consumers(const struct hpk_graph *g, uint32_t id)
{
    size_t count = 0;
    for (size_t i = 0; i < g->n_n; i++) {
        const struct ir_node *nd = &g->n[i];
        if (nd->dead)
            continue;
        const uint32_t *in = ir_node_inputs(nd);
        for (size_t j = 0; j < nd->n_in; j++)
            count += in[j] == id;
        count += nd->residual == id;
    }
    return count;
}

/* ---- node validation ------------------------------------------------------------------------ */

/* A tensor a node reads: it exists and, if an intermediate, is already produced. */
static hpk_status check_readable(const struct hpk_graph *g, uint32_t id)
{
    if (id >= g->n_t) {
        hpk_log_verbose("graph: unknown tensor id %u (%zu defined)", (unsigned)id, g->n_t);
        return HPK_ERR_BAD_TENSOR;
    }
    if (g->t[id].kind == IR_INTERMEDIATE && g->t[id].producer == HPK_GRAPH_NO_TENSOR) {
        hpk_log_verbose("graph: tensor %u is read before any node produces it", (unsigned)id);
        return HPK_ERR_BAD_TENSOR;
    }
    return HPK_OK;
}

static hpk_status check_constant(const struct hpk_graph *g, uint32_t id)
{
    if (id >= g->n_t || g->t[id].kind != IR_CONSTANT) {
        hpk_log_verbose("graph: tensor %u must be a constant", (unsigned)id);
        return HPK_ERR_BAD_TENSOR;
    }
    return HPK_OK;
}

/* The output a node writes: an intermediate nothing produces yet. */
static hpk_status check_writable(const struct hpk_graph *g, uint32_t id)
{
    if (id >= g->n_t || g->t[id].kind != IR_INTERMEDIATE) {
        hpk_log_verbose("graph: node output %u is not an intermediate tensor", (unsigned)id);
        return HPK_ERR_BAD_TENSOR;
    }
    if (g->t[id].producer != HPK_GRAPH_NO_TENSOR) {
        hpk_log_verbose("graph: tensor %u is already produced by node %u", (unsigned)id,
                        (unsigned)g->t[id].producer);
        return HPK_ERR_PRODUCED_TWICE;
    }
    return HPK_OK;
}

static int same_shape(const struct ir_tensor *a, const struct ir_tensor *b)
{
    return a->rank == b->rank && memcmp(a->dims, b->dims, a->rank * sizeof(size_t)) == 0;
}

static int shape_is(const struct ir_tensor *t, size_t rank, const size_t *dims)
{
    return t->rank == rank && memcmp(t->dims, dims, rank * sizeof(size_t)) == 0;
}

static hpk_status shape_error(const char *op, uint32_t id)
{
    hpk_log_verbose("graph: %s: tensor %u has the wrong shape", op, (unsigned)id);
    return HPK_ERR_SHAPE_MISMATCH;
}

static int act_valid(hpk_activation act, float lo, float hi, float slope)
{
    if ((unsigned)act > (unsigned)HPK_ACT_HARDSWISH)
        return 0;
    if (act == HPK_ACT_CLAMP && (isnan(lo) || isnan(hi) || lo > hi))
        return 0;
    if (act == HPK_ACT_LEAKY_RELU && !isfinite(slope))
        return 0;
    return 1;
}

/* Appends a validated node and records it as its output's producer. */
static hpk_status append_node(struct hpk_graph *g, const struct ir_node *nd)
{
    if (grow((void **)&g->n, g->n_n, &g->cap_n, sizeof *g->n))
        return HPK_ERR_NOMEM;
    g->n[g->n_n] = *nd;
    g->t[nd->out].producer = (uint32_t)g->n_n;
    g->n_n++;
    return HPK_OK;
}

static struct ir_node node_init(hpk_graph_op op, uint32_t out)
{
    struct ir_node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = op;
    nd.out = out;
    nd.residual = HPK_GRAPH_NO_TENSOR;
    for (size_t i = 0; i < IR_MAX_INPUTS; i++)
        nd.in[i] = HPK_GRAPH_NO_TENSOR;
    return nd;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        hpk_status try_st_ = (expr);                                                               \
        if (try_st_ != HPK_OK)                                                                     \
            return try_st_;                                                                        \
    } while (0)

static size_t or_one(size_t x)
{
    return x ? x : 1;
}

hpk_status hpk_graph_add_conv2d(hpk_graph *graph, const hpk_conv2d_desc *desc, uint32_t input,
                                uint32_t filter, uint32_t bias, uint32_t output)
{
    if (!graph || !desc)
        return HPK_ERR_INVALID_ARG;
    const hpk_conv2d_desc *d = desc;
    const size_t groups = or_one(d->groups);
    if (!d->kernel_h || !d->kernel_w || !d->in_channels || !d->out_channels ||
        d->in_channels % groups || d->out_channels % groups ||
        !act_valid(d->act, d->act_lo, d->act_hi, d->act_slope) ||
        (unsigned)d->algo > (unsigned)HPK_CONV_WINOGRAD_S2)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_constant(graph, filter));
    if (bias != HPK_GRAPH_NO_TENSOR)
        TRY(check_constant(graph, bias));
    TRY(check_writable(graph, output));
    const struct ir_tensor *x = &graph->t[input];
    if (x->rank != 4 || x->dims[3] != d->in_channels)
        return shape_error("conv2d input", input);
    const size_t fdims[4] = {d->out_channels, d->kernel_h, d->kernel_w, d->in_channels / groups};
    if (!shape_is(&graph->t[filter], 4, fdims))
        return shape_error("conv2d filter", filter);
    if (bias != HPK_GRAPH_NO_TENSOR && !shape_is(&graph->t[bias], 1, &d->out_channels))
        return shape_error("conv2d bias", bias);
    /* Output size, as <hpk/conv.h>; the sizes are bounded by the tensor checks (no overflow
     * for dilations below 2^32, which are refused below). */
    const size_t sh = or_one(d->stride_h), sw = or_one(d->stride_w);
    const size_t dh = or_one(d->dilation_h), dw = or_one(d->dilation_w);
    size_t span_h, span_w, ph, pw;
    if (hpk_mul_overflow(dh, d->kernel_h - 1, &span_h) ||
        hpk_mul_overflow(dw, d->kernel_w - 1, &span_w) ||
        hpk_add_overflow(x->dims[1], d->pad_top, &ph) || hpk_add_overflow(ph, d->pad_bottom, &ph) ||
        hpk_add_overflow(x->dims[2], d->pad_left, &pw) || hpk_add_overflow(pw, d->pad_right, &pw))
        return HPK_ERR_OVERFLOW;
    if (ph < span_h + 1 || pw < span_w + 1)
        return HPK_ERR_INVALID_ARG;
    const size_t odims[4] = {x->dims[0], (ph - span_h - 1) / sh + 1, (pw - span_w - 1) / sw + 1,
                             d->out_channels};
    if (!shape_is(&graph->t[output], 4, odims))
        return shape_error("conv2d output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_CONV2D, output);
    nd.conv = *d;
    nd.in[0] = input;
    nd.in[1] = filter;
    nd.in[2] = bias;
    nd.n_in = 3;
    return append_node(graph, &nd);
}

hpk_status hpk_graph_add_fully_connected(hpk_graph *graph, uint32_t input, uint32_t weights,
                                         uint32_t bias, uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_constant(graph, weights));
    if (bias != HPK_GRAPH_NO_TENSOR)
        TRY(check_constant(graph, bias));
    TRY(check_writable(graph, output));
    const struct ir_tensor *x = &graph->t[input], *w = &graph->t[weights];
    if (x->rank != 2)
        return shape_error("fully_connected input", input);
    if (w->rank != 2 || w->dims[1] != x->dims[1])
        return shape_error("fully_connected weights", weights);
    if (bias != HPK_GRAPH_NO_TENSOR && !shape_is(&graph->t[bias], 1, &w->dims[0]))
        return shape_error("fully_connected bias", bias);
    const size_t odims[2] = {x->dims[0], w->dims[0]};
    if (!shape_is(&graph->t[output], 2, odims))
        return shape_error("fully_connected output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_FULLY_CONNECTED, output);
    nd.in[0] = input;
    nd.in[1] = weights;
    nd.in[2] = bias;
    nd.n_in = 3;
    return append_node(graph, &nd);
}

static hpk_status add_binary(hpk_graph *graph, hpk_graph_op op, uint32_t a, uint32_t b,
                             uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, a));
    TRY(check_readable(graph, b));
    TRY(check_writable(graph, output));
    const struct ir_tensor *ta = &graph->t[a], *tb = &graph->t[b];
    const int per_channel = tb->rank == 1 && tb->dims[0] == ta->dims[ta->rank - 1];
    if (!same_shape(ta, tb) && !per_channel)
        return shape_error(op == HPK_GRAPH_OP_ADD ? "add operand b" : "mul operand b", b);
    if (!same_shape(&graph->t[output], ta))
        return shape_error("elementwise output", output);
    struct ir_node nd = node_init(op, output);
    nd.in[0] = a;
    nd.in[1] = b;
    nd.n_in = 2;
    return append_node(graph, &nd);
}

hpk_status hpk_graph_add_add(hpk_graph *graph, uint32_t a, uint32_t b, uint32_t output)
{
    return add_binary(graph, HPK_GRAPH_OP_ADD, a, b, output);
}

hpk_status hpk_graph_add_mul(hpk_graph *graph, uint32_t a, uint32_t b, uint32_t output)
{
    return add_binary(graph, HPK_GRAPH_OP_MUL, a, b, output);
}

/* A node of one input whose output has the input's shape. */
static hpk_status add_unary_same(hpk_graph *graph, struct ir_node *nd, uint32_t input)
{
    TRY(check_readable(graph, input));
    TRY(check_writable(graph, nd->out));
    if (!same_shape(&graph->t[nd->out], &graph->t[input]))
        return shape_error("output", nd->out);
    nd->in[0] = input;
    nd->n_in = 1;
    return append_node(graph, nd);
}

hpk_status hpk_graph_add_activation(hpk_graph *graph, hpk_activation act, float lo, float hi,
                                    float slope, uint32_t input, uint32_t output)
{
    if (!graph || !act_valid(act, lo, hi, slope))
        return HPK_ERR_INVALID_ARG;
    struct ir_node nd = node_init(HPK_GRAPH_OP_ACTIVATION, output);
    nd.act = act;
    nd.act_lo = lo;
    nd.act_hi = hi;
    nd.act_slope = slope;
    return add_unary_same(graph, &nd, input);
}

hpk_status hpk_graph_add_batch_norm(hpk_graph *graph, uint32_t input, uint32_t mean, uint32_t var,
                                    uint32_t gamma, uint32_t beta, float eps, uint32_t output)
{
    if (!graph || !(eps >= 0.0f) || !isfinite(eps))
        return HPK_ERR_INVALID_ARG;
    const uint32_t stats[4] = {mean, var, gamma, beta};
    for (size_t i = 0; i < 4; i++)
        TRY(check_constant(graph, stats[i]));
    TRY(check_readable(graph, input));
    const struct ir_tensor *x = &graph->t[input];
    const size_t c = x->dims[x->rank - 1];
    for (size_t i = 0; i < 4; i++)
        if (!shape_is(&graph->t[stats[i]], 1, &c))
            return shape_error("batch_norm statistics", stats[i]);
    const float *v = graph->t[var].data;
    for (size_t j = 0; j < c; j++)
        if (!(v[j] + eps > 0.0f))
            return HPK_ERR_INVALID_ARG;
    struct ir_node nd = node_init(HPK_GRAPH_OP_BATCH_NORM, output);
    nd.eps = eps;
    for (size_t i = 0; i < 4; i++)
        nd.in[1 + i] = stats[i];
    TRY(check_writable(graph, output));
    if (!same_shape(&graph->t[output], x))
        return shape_error("batch_norm output", output);
    nd.in[0] = input;
    nd.n_in = 5;
    return append_node(graph, &nd);
}

static hpk_status add_pool(hpk_graph *graph, hpk_graph_op op, const hpk_graph_pool_desc *desc,
                           uint32_t input, uint32_t output)
{
    if (!graph || !desc)
        return HPK_ERR_INVALID_ARG;
    const hpk_graph_pool_desc *d = desc;
    if (!d->kernel_h || !d->kernel_w || d->pad_top >= d->kernel_h || d->pad_bottom >= d->kernel_h ||
        d->pad_left >= d->kernel_w || d->pad_right >= d->kernel_w)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_writable(graph, output));
    const struct ir_tensor *x = &graph->t[input];
    if (x->rank != 4)
        return shape_error("pool input", input);
    /* pads < kernel sizes, which are below the input's extent or refused: no overflow. */
    const size_t ph = x->dims[1] + d->pad_top + d->pad_bottom;
    const size_t pw = x->dims[2] + d->pad_left + d->pad_right;
    if (ph < d->kernel_h || pw < d->kernel_w)
        return HPK_ERR_INVALID_ARG;
    const size_t odims[4] = {x->dims[0], (ph - d->kernel_h) / or_one(d->stride_h) + 1,
                             (pw - d->kernel_w) / or_one(d->stride_w) + 1, x->dims[3]};
    if (!shape_is(&graph->t[output], 4, odims))
        return shape_error("pool output", output);
    struct ir_node nd = node_init(op, output);
    nd.pool = *d;
    nd.pool.stride_h = or_one(d->stride_h);
    nd.pool.stride_w = or_one(d->stride_w);
    nd.in[0] = input;
    nd.n_in = 1;
    return append_node(graph, &nd);
}

hpk_status hpk_graph_add_max_pool(hpk_graph *graph, const hpk_graph_pool_desc *desc, uint32_t input,
                                  uint32_t output)
{
    return add_pool(graph, HPK_GRAPH_OP_MAX_POOL, desc, input, output);
}

hpk_status hpk_graph_add_avg_pool(hpk_graph *graph, const hpk_graph_pool_desc *desc, uint32_t input,
                                  uint32_t output)
{
    return add_pool(graph, HPK_GRAPH_OP_AVG_POOL, desc, input, output);
}

hpk_status hpk_graph_add_global_avg_pool(hpk_graph *graph, uint32_t input, uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_writable(graph, output));
    const struct ir_tensor *x = &graph->t[input];
    if (x->rank != 4)
        return shape_error("global_avg_pool input", input);
    const size_t odims[4] = {x->dims[0], 1, 1, x->dims[3]};
    if (!shape_is(&graph->t[output], 4, odims))
        return shape_error("global_avg_pool output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_GLOBAL_AVG_POOL, output);
    nd.in[0] = input;
    nd.n_in = 1;
    return append_node(graph, &nd);
}

hpk_status hpk_graph_add_softmax(hpk_graph *graph, uint32_t input, uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    struct ir_node nd = node_init(HPK_GRAPH_OP_SOFTMAX, output);
    return add_unary_same(graph, &nd, input);
}

hpk_status hpk_graph_add_concat(hpk_graph *graph, size_t count, const uint32_t *inputs,
                                uint32_t output)
{
    if (!graph || !inputs || count == 0 || count > UINT32_MAX)
        return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < count; i++)
        TRY(check_readable(graph, inputs[i]));
    TRY(check_writable(graph, output));
    const struct ir_tensor *t0 = &graph->t[inputs[0]];
    size_t dims[HPK_GRAPH_MAX_RANK];
    memcpy(dims, t0->dims, sizeof dims);
    dims[t0->rank - 1] = 0;
    for (size_t i = 0; i < count; i++) {
        const struct ir_tensor *t = &graph->t[inputs[i]];
        if (t->rank != t0->rank || memcmp(t->dims, t0->dims, (t->rank - 1) * sizeof(size_t)))
            return shape_error("concat input", inputs[i]);
        dims[t0->rank - 1] += t->dims[t->rank - 1]; /* bounded by the tensors' sizes */
    }
    if (!shape_is(&graph->t[output], t0->rank, dims))
        return shape_error("concat output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_CONCAT, output);
    nd.extra_in = hpk_aligned_alloc(count * sizeof(uint32_t));
    if (!nd.extra_in)
        return HPK_ERR_NOMEM;
    memcpy(nd.extra_in, inputs, count * sizeof(uint32_t));
    nd.n_in = count;
    hpk_status st = append_node(graph, &nd);
    if (st != HPK_OK)
        hpk_free(nd.extra_in);
    return st;
}

hpk_status hpk_graph_add_reshape(hpk_graph *graph, uint32_t input, uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_writable(graph, output));
    if (graph->t[output].elems != graph->t[input].elems)
        return shape_error("reshape output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_RESHAPE, output);
    nd.in[0] = input;
    nd.n_in = 1;
    return append_node(graph, &nd);
}

hpk_status hpk_graph_add_pad(hpk_graph *graph, size_t pad_top, size_t pad_left, size_t pad_bottom,
                             size_t pad_right, uint32_t input, uint32_t output)
{
    if (!graph)
        return HPK_ERR_INVALID_ARG;
    TRY(check_readable(graph, input));
    TRY(check_writable(graph, output));
    const struct ir_tensor *x = &graph->t[input];
    if (x->rank != 4)
        return shape_error("pad input", input);
    size_t oh, ow;
    if (hpk_add_overflow(x->dims[1], pad_top, &oh) || hpk_add_overflow(oh, pad_bottom, &oh) ||
        hpk_add_overflow(x->dims[2], pad_left, &ow) || hpk_add_overflow(ow, pad_right, &ow))
        return HPK_ERR_OVERFLOW;
    const size_t odims[4] = {x->dims[0], oh, ow, x->dims[3]};
    if (!shape_is(&graph->t[output], 4, odims))
        return shape_error("pad output", output);
    struct ir_node nd = node_init(HPK_GRAPH_OP_PAD, output);
    nd.pad[0] = pad_top;
    nd.pad[1] = pad_left;
    nd.pad[2] = pad_bottom;
    nd.pad[3] = pad_right;
    nd.in[0] = input;
    nd.n_in = 1;
    return append_node(graph, &nd);
}

hpk_status graph_ir_add_intermediate(struct hpk_graph *g, size_t rank, const size_t *dims,
                                     uint32_t *id_out)
{
    return add_tensor(g, IR_INTERMEDIATE, rank, dims, NULL, id_out);
}
