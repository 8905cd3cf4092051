/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compilation and execution of a graph.
 *
 * hpk_graph_compile copies the graph, runs the passes on the copy, creates one operator per
 * live node through the public operator API (conv2d filters packed by hpk_conv2d_create,
 * fully-connected weights by hpk_sgemm_packed_b_create), and plans the arena: every
 * intermediate a live node produces gets an offset, graph outputs included (a run writes them
 * to the caller only once every node succeeded, so a failed run leaves them untouched).
 * Graph inputs are read where the caller keeps them, constants where the executable keeps
 * them. The executable is never written after compilation, so runs may overlap.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/base/parallel.h"
#include "src/graph_exec/graph_ir.h"

#define NOT_IN_ARENA SIZE_MAX

struct exec_step {
    uint32_t node;              /* index in ir->n */
    hpk_conv2d *conv;           /* conv2d */
    hpk_sgemm_packed_b *packed; /* fully_connected */
    float *aux;                 /* batch_norm: scale[c] then shift[c] */
    hpk_conv_algo algo;         /* conv2d: the algorithm for its input shape */
};

struct hpk_graph_exec {
    struct hpk_graph *ir;
    struct exec_step *steps;
    size_t n_steps;
    size_t *offset; /* per tensor: its arena offset, or NOT_IN_ARENA */
    size_t arena, naive, lower;
    size_t threads;
};

void hpk_graph_exec_destroy(hpk_graph_exec *exec)
{
    if (!exec)
        return;
    if (exec->steps)
        for (size_t i = 0; i < exec->n_steps; i++) {
            hpk_conv2d_destroy(exec->steps[i].conv);
            hpk_sgemm_packed_b_destroy(exec->steps[i].packed);
            hpk_free(exec->steps[i].aux);
        }
    hpk_free(exec->steps);
    hpk_free(exec->offset);
    graph_ir_free(exec->ir);
    hpk_free(exec);
}

static const char *algo_name(hpk_conv_algo a)
{
    switch (a) {
    case HPK_CONV_AUTO: return "auto";
    case HPK_CONV_GEMM: return "gemm";
    case HPK_CONV_IM2COL: return "im2col";
    case HPK_CONV_WINOGRAD_F2: return "winograd-f2";
    case HPK_CONV_WINOGRAD_F4: return "winograd-f4";
    case HPK_CONV_DEPTHWISE: return "depthwise";
    }
    return "?";
}

/* Creates the operator of one step. */
static hpk_status make_operator(const struct hpk_graph *g, struct exec_step *s)
{
    const struct ir_node *nd = &g->n[s->node];
    const float *bias = nd->in[2] == HPK_GRAPH_NO_TENSOR ? NULL : g->t[nd->in[2]].data;
    switch (nd->op) {
    case HPK_GRAPH_OP_CONV2D: {
        hpk_status st = hpk_conv2d_create(&nd->conv, g->t[nd->in[1]].data, bias, &s->conv);
        if (st != HPK_OK)
            return st;
        const struct ir_tensor *x = &g->t[nd->in[0]];
        return hpk_conv2d_algorithm(s->conv, x->dims[1], x->dims[2], &s->algo);
    }
    case HPK_GRAPH_OP_FULLY_CONNECTED: {
        const struct ir_tensor *w = &g->t[nd->in[1]];
        /* weights [n][k]: op(B) = W^T, k x n */
        return hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_TRANS, w->dims[1], w->dims[0], w->data,
                                         w->dims[1], &s->packed);
    }
    case HPK_GRAPH_OP_BATCH_NORM: {
        const size_t c = g->t[nd->in[1]].elems;
        s->aux = hpk_aligned_alloc(2 * c * sizeof(float));
        if (!s->aux)
            return HPK_ERR_NOMEM;
        const float *mean = g->t[nd->in[1]].data, *var = g->t[nd->in[2]].data;
        const float *gamma = g->t[nd->in[3]].data, *beta = g->t[nd->in[4]].data;
        for (size_t j = 0; j < c; j++) {
            const double sc = (double)gamma[j] / sqrt((double)var[j] + (double)nd->eps);
            s->aux[j] = (float)sc;
            s->aux[c + j] = (float)((double)beta[j] - (double)mean[j] * sc);
        }
        return HPK_OK;
    }
    default: return HPK_OK;
    }
}

/* The arena tensors of the IR: intermediates a live node produces that are not views. */
static int in_arena(const struct hpk_graph *g, size_t t)
{
    const struct ir_tensor *tt = &g->t[t];
    return tt->kind == IR_INTERMEDIATE && tt->producer != HPK_GRAPH_NO_TENSOR &&
           !g->n[tt->producer].dead && g->n[tt->producer].out == t &&
           tt->view_of == HPK_GRAPH_NO_TENSOR;
}

/* States the order search may visit: a few MiB and a few milliseconds at most. */
#define ORDER_MAX_STATES 16384

/*
 * Reorders the steps into the topological order of least peak memory (order.c) when the
 * graph has at most 64 nodes and few enough orders; else keeps the definition order.
 */
static hpk_status reorder(struct hpk_graph_exec *e, size_t *peak_out, int *done_out)
{
    const struct hpk_graph *g = e->ir;
    const size_t n = e->n_steps;
    *done_out = 0;
    if (n < 2 || n > 64)
        return HPK_OK;
    hpk_status st = HPK_ERR_NOMEM;
    size_t *pos = hpk_aligned_alloc(g->n_n * sizeof *pos);
    uint64_t *deps = hpk_aligned_alloc(n * sizeof *deps);
    size_t *size = hpk_aligned_alloc(g->n_t * sizeof *size + 1);
    uint64_t *writers = hpk_aligned_alloc(g->n_t * sizeof *writers + 1);
    uint64_t *readers = hpk_aligned_alloc(g->n_t * sizeof *readers + 1);
    unsigned char *keep = hpk_aligned_alloc(g->n_t + 1);
    uint32_t *order = hpk_aligned_alloc(n * sizeof *order);
    struct exec_step *steps = hpk_aligned_alloc(n * sizeof *steps);
    if (!pos || !deps || !size || !writers || !readers || !keep || !order || !steps)
        goto out;
    for (size_t k = 0; k < n; k++)
        pos[e->steps[k].node] = k;
    size_t m = 0;
    size_t *tindex = e->offset; /* scratch: tensor -> problem index (plan() rewrites it) */
    for (size_t t = 0; t < g->n_t; t++) {
        tindex[t] = SIZE_MAX;
        if (!in_arena(g, t))
            continue;
        tindex[t] = m;
        size[m] =
            (g->t[t].elems * sizeof(float) + HPK_ALIGNMENT - 1) / HPK_ALIGNMENT * HPK_ALIGNMENT;
        writers[m] = (uint64_t)1 << pos[g->t[t].producer];
        readers[m] = 0;
        keep[m] = (unsigned char)graph_ir_is_output(g, (uint32_t)t);
        m++;
    }
    for (size_t t = 0; t < g->n_t; t++) { /* a view's producer writes its owner */
        const struct ir_tensor *tt = &g->t[t];
        if (tt->view_of != HPK_GRAPH_NO_TENSOR && tindex[tt->view_of] != SIZE_MAX &&
            tt->producer != HPK_GRAPH_NO_TENSOR && !g->n[tt->producer].dead)
            writers[tindex[tt->view_of]] |= (uint64_t)1 << pos[tt->producer];
    }
    for (size_t k = 0; k < n; k++) {
        const struct ir_node *nd = &g->n[e->steps[k].node];
        const uint32_t *in = ir_node_inputs(nd);
        deps[k] = 0;
        for (size_t j = 0; j <= nd->n_in; j++) {
            const uint32_t t = j < nd->n_in ? in[j] : nd->residual;
            if (t == HPK_GRAPH_NO_TENSOR || g->t[t].kind != IR_INTERMEDIATE)
                continue;
            deps[k] |= (uint64_t)1 << pos[g->t[t].producer];
            if (tindex[t] != SIZE_MAX)
                readers[tindex[t]] |= (uint64_t)1 << k;
        }
    }
    const struct graph_order_problem prob = {n, deps, m, size, writers, readers, keep};
    st = graph_order_dp(&prob, ORDER_MAX_STATES, order, peak_out);
    if (st == HPK_ERR_UNSUPPORTED) {
        hpk_log_verbose("graph: too many orders to search; keeping the definition order");
        st = HPK_OK;
        goto out;
    }
    if (st != HPK_OK)
        goto out;
    for (size_t k = 0; k < n; k++)
        steps[k] = e->steps[order[k]];
    memcpy(e->steps, steps, n * sizeof *steps);
    *done_out = 1;
out:
    hpk_free(pos);
    hpk_free(deps);
    hpk_free(size);
    hpk_free(writers);
    hpk_free(readers);
    hpk_free(keep);
    hpk_free(order);
    hpk_free(steps);
    return st;
}

/* Live intervals in step positions, and the arena plan. */
static hpk_status plan(struct hpk_graph_exec *e)
{
    const struct hpk_graph *g = e->ir;
    hpk_status st = HPK_ERR_NOMEM;
    size_t *pos = hpk_aligned_alloc(g->n_n * sizeof *pos + 1);
    size_t *ids = hpk_aligned_alloc(g->n_t * sizeof *ids + 1);
    size_t *sizes = hpk_aligned_alloc(g->n_t * sizeof *sizes + 1);
    size_t *first = hpk_aligned_alloc(g->n_t * sizeof *first + 1);
    size_t *last = hpk_aligned_alloc(g->n_t * sizeof *last + 1);
    size_t *offs = hpk_aligned_alloc(g->n_t * sizeof *offs + 1);
    if (!pos || !ids || !sizes || !first || !last || !offs)
        goto out;
    for (size_t i = 0; i < e->n_steps; i++)
        pos[e->steps[i].node] = i;
    size_t n = 0;
    for (size_t t = 0; t < g->n_t; t++) {
        e->offset[t] = NOT_IN_ARENA;
        const struct ir_tensor *tt = &g->t[t];
        if (!in_arena(g, t))
            continue;
        ids[n] = t;
        sizes[n] = tt->elems * sizeof(float); /* checked when the tensor was defined */
        first[n] = last[n] = pos[tt->producer];
        if (graph_ir_is_output(g, (uint32_t)t))
            last[n] = e->n_steps; /* copied out after the last step */
        e->offset[t] = n;         /* the index into ids[] for now */
        n++;
    }
    for (size_t i = 0; i < e->n_steps; i++) {
        const struct ir_node *nd = &g->n[e->steps[i].node];
        const uint32_t *in = ir_node_inputs(nd);
        for (size_t j = 0; j <= nd->n_in; j++) {
            const uint32_t t = j < nd->n_in ? in[j] : nd->residual;
            if (t != HPK_GRAPH_NO_TENSOR && e->offset[t] != NOT_IN_ARENA)
                last[e->offset[t]] = hpk_max_size(last[e->offset[t]], i);
        }
    }
    /* A view is written by its producer, before the concat that owns the memory: the owner is
     * live from the first such write. */
    for (size_t t = 0; t < g->n_t; t++) {
        const struct ir_tensor *tt = &g->t[t];
        if (tt->view_of == HPK_GRAPH_NO_TENSOR || tt->producer == HPK_GRAPH_NO_TENSOR ||
            g->n[tt->producer].dead || e->offset[tt->view_of] == NOT_IN_ARENA)
            continue;
        const size_t k = e->offset[tt->view_of];
        first[k] = hpk_min_size(first[k], pos[tt->producer]);
    }
    st = graph_plan_arena(n, sizes, first, last, offs, &e->arena, &e->naive, &e->lower);
    if (st != HPK_OK)
        goto out;
    for (size_t k = 0; k < n; k++)
        e->offset[ids[k]] = offs[k];
out:
    hpk_free(pos);
    hpk_free(ids);
    hpk_free(sizes);
    hpk_free(first);
    hpk_free(last);
    hpk_free(offs);
    return st;
}

hpk_status hpk_graph_compile(const hpk_graph *graph, const hpk_graph_compile_options *options,
                             hpk_graph_exec **exec_out)
{
    if (!graph || !exec_out || graph->n_out == 0)
        return HPK_ERR_INVALID_ARG;
    const hpk_graph_compile_options defaults = {0};
    const hpk_graph_compile_options *o = options ? options : &defaults;
    if (o->threads > HPK_MAX_THREADS)
        return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < graph->n_out; i++)
        if (graph->t[graph->outputs[i]].producer == HPK_GRAPH_NO_TENSOR) {
            hpk_log_verbose("graph: output %u is produced by no node", (unsigned)graph->outputs[i]);
            return HPK_ERR_BAD_TENSOR;
        }
    hpk_status st = HPK_ERR_NOMEM;
    struct hpk_graph_exec *e = hpk_aligned_alloc(sizeof *e);
    if (!e)
        return HPK_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    e->threads = o->threads;
    st = graph_ir_clone(graph, &e->ir);
    if (st != HPK_OK)
        goto error;
    struct hpk_graph *g = e->ir;
    const size_t defined = g->n_n;
    long pads = 0, folded = 0, fused = 0, dead;
    if (!o->disable_fusion) {
        pads = graph_pass_fold_pad(g);
        folded = graph_pass_fold_batch_norm(g, &st);
        if (folded < 0)
            goto error;
        fused = graph_pass_fuse_epilogue(g, &st);
        if (fused < 0)
            goto error;
    }
    dead = graph_pass_remove_dead(g);
    const long views = o->disable_fusion ? 0 : graph_pass_free_concat(g);
    st = HPK_ERR_NOMEM;
    e->steps = hpk_aligned_alloc(g->n_n * sizeof *e->steps + 1);
    e->offset = hpk_aligned_alloc(g->n_t * sizeof *e->offset + 1);
    if (!e->steps || !e->offset)
        goto error;
    /* Execution order: definition order, valid by construction (a node reads only tensors
     * produced before it). */
    for (size_t i = 0; i < g->n_n; i++) {
        if (g->n[i].dead)
            continue;
        struct exec_step *s = &e->steps[e->n_steps++];
        memset(s, 0, sizeof *s);
        s->node = (uint32_t)i;
        st = make_operator(g, s);
        if (st != HPK_OK)
            goto error;
    }
    size_t dp_peak = 0;
    int reordered = 0;
    if (!o->keep_definition_order) {
        st = reorder(e, &dp_peak, &reordered);
        if (st != HPK_OK)
            goto error;
    }
    st = plan(e);
    if (st != HPK_OK)
        goto error;
    for (size_t k = 0; k < e->n_steps; k++) {
        const struct exec_step *s = &e->steps[k];
        const size_t i = s->node;
        const struct ir_node *nd = &g->n[i];
        hpk_log_verbose("graph: step %zu: node %zu, %s%s%s, act %d, residual %s, "
                        "batch-norms folded %zu",
                        k, i, graph_op_name(nd->op),
                        nd->op == HPK_GRAPH_OP_CONV2D ? ", conv algorithm " : "",
                        nd->op == HPK_GRAPH_OP_CONV2D ? algo_name(s->algo) : "",
                        (int)(nd->op == HPK_GRAPH_OP_CONV2D ? nd->conv.act : nd->act),
                        nd->residual != HPK_GRAPH_NO_TENSOR ? "fused" : "none", nd->folded_bn);
    }
    if (reordered)
        hpk_log_verbose("graph: order of least peak memory (%zu bytes) by dynamic programming",
                        dp_peak);
    hpk_log_verbose("graph: compiled %zu nodes into %zu (%ld pads and %ld batch-norms folded, "
                    "%ld fused, %ld dead, %ld concat inputs in place); arena %zu bytes, naive %zu, "
                    "lower bound %zu",
                    defined, e->n_steps, pads, folded, fused, dead, views, e->arena, e->naive,
                    e->lower);
    *exec_out = e;
    return HPK_OK;
error:
    hpk_graph_exec_destroy(e);
    return st;
}

hpk_status hpk_graph_exec_arena_size(const hpk_graph_exec *exec, size_t *bytes_out)
{
    if (!exec || !bytes_out)
        return HPK_ERR_INVALID_ARG;
    *bytes_out = exec->arena;
    return HPK_OK;
}

hpk_status hpk_graph_exec_memory_stats(const hpk_graph_exec *exec,
                                       hpk_graph_memory_stats *stats_out)
{
    if (!exec || !stats_out)
        return HPK_ERR_INVALID_ARG;
    stats_out->naive = exec->naive;
    stats_out->arena = exec->arena;
    stats_out->lower_bound = exec->lower;
    return HPK_OK;
}

hpk_status hpk_graph_exec_node_count(const hpk_graph_exec *exec, size_t *count_out)
{
    if (!exec || !count_out)
        return HPK_ERR_INVALID_ARG;
    *count_out = exec->n_steps;
    return HPK_OK;
}

hpk_status hpk_graph_exec_node_info(const hpk_graph_exec *exec, size_t index,
                                    hpk_graph_node_info *info_out)
{
    if (!exec || !info_out || index >= exec->n_steps)
        return HPK_ERR_INVALID_ARG;
    const struct exec_step *s = &exec->steps[index];
    const struct ir_node *nd = &exec->ir->n[s->node];
    hpk_graph_node_info info = {0};
    info.op = nd->op;
    info.algo = nd->op == HPK_GRAPH_OP_CONV2D ? s->algo : HPK_CONV_AUTO;
    info.act = nd->op == HPK_GRAPH_OP_CONV2D ? nd->conv.act : nd->act;
    info.residual = nd->residual != HPK_GRAPH_NO_TENSOR;
    info.folded_bn = nd->folded_bn;
    info.concat_in_place = nd->free_inputs;
    *info_out = info;
    return HPK_OK;
}

/* ---- run --------------------------------------------------------------------------------------
 */

struct run_ctx {
    const struct hpk_graph_exec *e;
    const float *const *inputs;
    char *arena;
};

static float *tensor_ptr(const struct run_ctx *r, uint32_t id)
{
    const struct ir_tensor *t = &r->e->ir->t[id];
    switch (t->kind) {
    case IR_INPUT: return (float *)(uintptr_t)r->inputs[t->input_index];
    case IR_CONSTANT: return t->data;
    case IR_INTERMEDIATE:
        if (t->view_of != HPK_GRAPH_NO_TENSOR)
            return (float *)(void *)(r->arena + r->e->offset[t->view_of]) + t->view_off;
        return (float *)(void *)(r->arena + r->e->offset[id]);
    }
    return NULL;
}

static hpk_status run_step(const struct run_ctx *r, const struct exec_step *s)
{
    const struct hpk_graph *g = r->e->ir;
    const struct ir_node *nd = &g->n[s->node];
    /* concat keeps its inputs in extra_in: in[0] is no tensor there */
    const int concat = nd->op == HPK_GRAPH_OP_CONCAT;
    const struct ir_tensor *x = concat ? NULL : &g->t[nd->in[0]], *y = &g->t[nd->out];
    float *out = tensor_ptr(r, nd->out);
    const float *in = concat ? NULL : tensor_ptr(r, nd->in[0]);
    const size_t c = y->dims[y->rank - 1];
    /* the pixel (row) stride of the output: c, or the concat's width for a view */
    const size_t out_stride = y->view_of == HPK_GRAPH_NO_TENSOR ? c : y->view_stride;
    switch (nd->op) {
    case HPK_GRAPH_OP_CONV2D: {
        const float *res = nd->residual == HPK_GRAPH_NO_TENSOR ? NULL : tensor_ptr(r, nd->residual);
        return hpk_conv2d_run(s->conv, x->dims[0], x->dims[1], x->dims[2], in, x->dims[3], out,
                              out_stride, res, c);
    }
    case HPK_GRAPH_OP_FULLY_CONNECTED: {
        hpk_epilogue epi = {0};
        if (nd->in[2] != HPK_GRAPH_NO_TENSOR) {
            epi.bias_axis = HPK_BIAS_PER_COL;
            epi.bias = tensor_ptr(r, nd->in[2]);
        }
        if (nd->residual != HPK_GRAPH_NO_TENSOR) {
            epi.residual = tensor_ptr(r, nd->residual);
            epi.ldr = c;
        }
        epi.act = nd->act;
        epi.act_lo = nd->act_lo;
        epi.act_hi = nd->act_hi;
        epi.act_slope = nd->act_slope;
        return hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, x->dims[0], c, x->dims[1], 1.0f, in,
                                x->dims[1], s->packed, 0.0f, out, out_stride, &epi);
    }
    case HPK_GRAPH_OP_ACTIVATION: {
        /* The epilogue-only GEMM (k = 0, beta = 0): out = act(input), computed by the same
         * activation code a fused convolution or GEMM epilogue uses, so a fused graph and an
         * unfused one agree on the activation to the bit. */
        hpk_epilogue epi = {0};
        epi.residual = in;
        epi.ldr = c;
        epi.act = nd->act;
        epi.act_lo = nd->act_lo;
        epi.act_hi = nd->act_hi;
        epi.act_slope = nd->act_slope;
        return hpk_sgemm_ex(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, y->elems / c, c, 0, 1.0f,
                            NULL, 1, NULL, c, 0.0f, out, c, &epi);
    }
    case HPK_GRAPH_OP_ADD:
    case HPK_GRAPH_OP_MUL: {
        const float *b = tensor_ptr(r, nd->in[1]);
        const size_t bc = g->t[nd->in[1]].elems;
        if (nd->op == HPK_GRAPH_OP_ADD)
            graph_op_add(in, b, y->elems, bc, out);
        else
            graph_op_mul(in, b, y->elems, bc, out);
        return HPK_OK;
    }
    case HPK_GRAPH_OP_BATCH_NORM:
        graph_op_scale_shift(in, s->aux, s->aux + c, y->elems, c, out);
        return HPK_OK;
    case HPK_GRAPH_OP_MAX_POOL:
    case HPK_GRAPH_OP_AVG_POOL: {
        const struct ir_pool_shape ps = {x->dims[0], x->dims[1], x->dims[2],
                                         x->dims[3], y->dims[1], y->dims[2]};
        if (nd->op == HPK_GRAPH_OP_MAX_POOL)
            graph_op_max_pool(in, &ps, &nd->pool, out);
        else
            graph_op_avg_pool(in, &ps, &nd->pool, out);
        return HPK_OK;
    }
    case HPK_GRAPH_OP_GLOBAL_AVG_POOL:
        graph_op_global_avg_pool(in, x->dims[0], x->dims[1] * x->dims[2], x->dims[3], out);
        return HPK_OK;
    case HPK_GRAPH_OP_SOFTMAX: graph_op_softmax(in, y->elems / c, c, out); return HPK_OK;
    case HPK_GRAPH_OP_CONCAT: {
        size_t col = 0;
        for (size_t i = 0; i < nd->n_in; i++) {
            const struct ir_tensor *t = &g->t[nd->extra_in[i]];
            const size_t tc = t->dims[t->rank - 1];
            if (t->view_of == nd->out) { /* written in place by its producer */
                col += tc;
                continue;
            }
            graph_op_copy_cols(tensor_ptr(r, nd->extra_in[i]), t->elems / tc, tc, out, c, col);
            col += tc;
        }
        return HPK_OK;
    }
    case HPK_GRAPH_OP_RESHAPE: memcpy(out, in, y->elems * sizeof(float)); return HPK_OK;
    case HPK_GRAPH_OP_PAD:
        graph_op_pad(in, x->dims[0], x->dims[1], x->dims[2], x->dims[3], nd->pad, out);
        return HPK_OK;
    }
    return HPK_ERR_INTERNAL;
}

hpk_status hpk_graph_exec_run(const hpk_graph_exec *exec, const float *const *inputs,
                              float *const *outputs, void *arena, size_t arena_size)
{
    if (!exec || !outputs)
        return HPK_ERR_INVALID_ARG;
    const struct hpk_graph *g = exec->ir;
    if (g->n_inputs && !inputs)
        return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!inputs[i])
            return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < g->n_out; i++)
        if (!outputs[i])
            return HPK_ERR_INVALID_ARG;
    if (arena && (arena_size < exec->arena || (uintptr_t)arena % HPK_ALIGNMENT))
        return HPK_ERR_INVALID_ARG;
    void *own = NULL;
    if (!arena && exec->arena) {
        own = hpk_aligned_alloc(exec->arena);
        if (!own)
            return HPK_ERR_NOMEM;
        arena = own;
    }
    const struct run_ctx r = {exec, inputs, arena};
    const size_t prev_threads = hpk_parallel_thread_override(exec->threads);
    hpk_status st = HPK_OK;
    for (size_t i = 0; i < exec->n_steps && st == HPK_OK; i++)
        st = run_step(&r, &exec->steps[i]);
    hpk_parallel_thread_override(prev_threads);
    if (st == HPK_OK)
        for (size_t i = 0; i < g->n_out; i++) {
            const uint32_t id = g->outputs[i];
            memcpy(outputs[i], tensor_ptr(&r, id), g->t[id].elems * sizeof(float));
        }
    hpk_free(own);
    return st;
}
