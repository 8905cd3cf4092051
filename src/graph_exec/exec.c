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

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpk/pool.h"
#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/base/parallel.h"
#include "src/dispatch/dispatch.h"
#include "src/graph_exec/graph_ir.h"

#define NOT_IN_ARENA SIZE_MAX

struct exec_step {
    uint32_t node;              /* index in ir->n */
    hpk_conv2d *conv;           /* conv2d */
    hpk_sgemm_packed_b *packed; /* fully_connected */
    float *aux;                 /* batch_norm: scale[c] then shift[c] */
    hpk_conv_algo algo;         /* conv2d: the algorithm for its input shape */
    int in_place;               /* writes its output over an input that dies there */
};

struct hpk_graph_exec {
    struct hpk_graph *ir;
    struct exec_step *steps;
    size_t n_steps;
    size_t *offset; /* per tensor: its arena offset, or NOT_IN_ARENA */
    size_t arena, naive, lower;
    size_t threads;
    /* HPK_GRAPH_PROFILE=1 at compile time: per step, the nanoseconds of all runs (atomic:
     * runs may overlap; the only thing a run writes in the executable), printed by destroy. */
    _Atomic unsigned long long *prof_ns;
    _Atomic unsigned long long *prof_min_ns; /* per step: the fastest run's nanoseconds */
    _Atomic unsigned long long prof_runs;
    clockid_t prof_clock; /* CLOCK_MONOTONIC, or the calling thread's CPU time (=cpu) */
};

static void profile_report(const struct hpk_graph_exec *e);

void hpk_graph_exec_destroy(hpk_graph_exec *exec)
{
    if (!exec)
        return;
    if (exec->prof_ns && exec->prof_min_ns)
        profile_report(exec);
    hpk_free((void *)exec->prof_ns);
    hpk_free((void *)exec->prof_min_ns);
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
    case HPK_CONV_WINOGRAD_S2: return "winograd-s2";
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

/* The tensors that own arena memory: intermediates a live node produces that are neither a
 * slice of a concatenation (view) nor a reshape's view of its input (alias). */
static int in_arena(const struct hpk_graph *g, size_t t)
{
    const struct ir_tensor *tt = &g->t[t];
    return tt->kind == IR_INTERMEDIATE && tt->producer != HPK_GRAPH_NO_TENSOR &&
           !g->n[tt->producer].dead && g->n[tt->producer].out == t &&
           tt->view_of == HPK_GRAPH_NO_TENSOR && tt->alias_of == HPK_GRAPH_NO_TENSOR;
}

/* States the exact order search may visit (a few MiB and milliseconds at most), and the budget
 * of the beam search that replaces it beyond (its width: this over twice the node count). */
#define ORDER_MAX_STATES 16384
#define ORDER_BEAM_STATES 32768

/* Ops whose output element i depends on element i of their inputs only (softmax: on the row
 * of i, read whole before any element of it is written): each reads an element before it
 * writes that element, so the output may overwrite an input of the same size (ops.c, and the
 * epilogue-only GEMM for activations, which folds residual == C into beta). */
static int elementwise(hpk_graph_op op)
{
    return op == HPK_GRAPH_OP_ADD || op == HPK_GRAPH_OP_MUL || op == HPK_GRAPH_OP_ACTIVATION ||
           op == HPK_GRAPH_OP_BATCH_NORM || op == HPK_GRAPH_OP_SOFTMAX;
}

/* The memory problem of the steps, as order.c takes it: node k is step k (definition order),
 * tensor b a buffer: an arena tensor with its aliases (buf_of maps each IR tensor to its
 * buffer, or SIZE_MAX). */
struct problem {
    struct graph_order_problem p;
    size_t *buf_of, *size;
    unsigned char *keep;
    uint32_t (*deps)[2], (*writes)[2], (*reads)[2], (*inplace)[3];
};

static void problem_free(struct problem *pr)
{
    hpk_free(pr->buf_of);
    hpk_free(pr->size);
    hpk_free(pr->keep);
    hpk_free(pr->deps);
    hpk_free(pr->writes);
    hpk_free(pr->reads);
    hpk_free(pr->inplace);
}

/* The tensors step k reads: its inputs, and a fused residual as the last. */
static size_t step_inputs(const struct ir_node *nd, uint32_t *buf)
{
    const uint32_t *in = ir_node_inputs(nd);
    size_t m = 0;
    for (size_t j = 0; j < nd->n_in; j++)
        if (in[j] != HPK_GRAPH_NO_TENSOR)
            buf[m++] = in[j];
    if (nd->residual != HPK_GRAPH_NO_TENSOR)
        buf[m++] = nd->residual;
    return m;
}

static hpk_status build_problem(const struct hpk_graph_exec *e, int in_place, struct problem *pr)
{
    const struct hpk_graph *g = e->ir;
    const size_t n = e->n_steps;
    memset(pr, 0, sizeof *pr);
    size_t n_in = 0, max_in = 0;
    for (size_t k = 0; k < n; k++) {
        const struct ir_node *nd = &g->n[e->steps[k].node];
        n_in += nd->n_in + 1;
        max_in = hpk_max_size(max_in, nd->n_in + 1);
    }
    size_t *pos = hpk_aligned_alloc(g->n_n * sizeof *pos + 1);
    uint32_t *ins = hpk_aligned_alloc(max_in * sizeof *ins + 1);
    pr->buf_of = hpk_aligned_alloc(g->n_t * sizeof *pr->buf_of + 1);
    pr->size = hpk_aligned_alloc(g->n_t * sizeof *pr->size + 1);
    pr->keep = hpk_aligned_alloc(g->n_t + 1);
    pr->deps = hpk_aligned_alloc(n_in * sizeof *pr->deps + 1);
    pr->reads = hpk_aligned_alloc(n_in * sizeof *pr->reads + 1);
    pr->writes = hpk_aligned_alloc(n * sizeof *pr->writes + 1);
    pr->inplace = hpk_aligned_alloc(n_in * sizeof *pr->inplace + 1);
    if (!pos || !ins || !pr->buf_of || !pr->size || !pr->keep || !pr->deps || !pr->reads ||
        !pr->writes || !pr->inplace) {
        hpk_free(pos);
        hpk_free(ins);
        problem_free(pr);
        return HPK_ERR_NOMEM;
    }
    for (size_t k = 0; k < n; k++)
        pos[e->steps[k].node] = k;
    size_t nb = 0;
    for (size_t t = 0; t < g->n_t; t++) {
        pr->buf_of[t] = SIZE_MAX;
        if (!in_arena(g, t))
            continue;
        pr->buf_of[t] = nb;
        /* rounded as the arena rounds; no overflow (checked when the tensor was defined) */
        pr->size[nb] =
            (g->t[t].elems * sizeof(float) + HPK_ALIGNMENT - 1) / HPK_ALIGNMENT * HPK_ALIGNMENT;
        pr->keep[nb] = 0;
        nb++;
    }
    for (size_t t = 0; t < g->n_t; t++) { /* aliases: their root's buffer (roots are not aliases) */
        const uint32_t r = g->t[t].alias_of;
        if (r != HPK_GRAPH_NO_TENSOR && !g->n[g->t[t].producer].dead)
            pr->buf_of[t] = pr->buf_of[r];
    }
    for (size_t t = 0; t < g->n_t; t++)
        if (pr->buf_of[t] != SIZE_MAX && graph_ir_is_output(g, (uint32_t)t))
            pr->keep[pr->buf_of[t]] = 1;
    struct graph_order_problem *p = &pr->p;
    for (size_t k = 0; k < n; k++) {
        const struct ir_node *nd = &g->n[e->steps[k].node];
        const struct ir_tensor *y = &g->t[nd->out];
        /* what it writes: its buffer, or the concatenation it is a slice of */
        const size_t yb = pr->buf_of[nd->out];
        if (y->alias_of == HPK_GRAPH_NO_TENSOR && yb != SIZE_MAX)
            pr->writes[p->n_writes][0] = (uint32_t)k, pr->writes[p->n_writes++][1] = (uint32_t)yb;
        if (y->view_of != HPK_GRAPH_NO_TENSOR && pr->buf_of[y->view_of] != SIZE_MAX)
            pr->writes[p->n_writes][0] = (uint32_t)k,
            pr->writes[p->n_writes++][1] = (uint32_t)pr->buf_of[y->view_of];
        const size_t m = step_inputs(nd, ins);
        for (size_t j = 0; j < m; j++) {
            const uint32_t t = ins[j];
            if (g->t[t].kind != IR_INTERMEDIATE)
                continue;
            pr->deps[p->n_deps][0] = (uint32_t)pos[g->t[t].producer];
            pr->deps[p->n_deps++][1] = (uint32_t)k;
            if (pr->buf_of[t] != SIZE_MAX)
                pr->reads[p->n_reads][0] = (uint32_t)k,
                pr->reads[p->n_reads++][1] = (uint32_t)pr->buf_of[t];
        }
        /* in place: an elementwise op over any input of its size; a conv2d / fully_connected
         * over its fused residual (residual == output, same stride, is part of their contract)
         * unless the residual is also the data it reads. Never into a slice of a concatenation
         * (views have no buffer of their own, and a view output has another stride). */
        if (!in_place || y->alias_of != HPK_GRAPH_NO_TENSOR || y->view_of != HPK_GRAPH_NO_TENSOR ||
            yb == SIZE_MAX)
            continue;
        for (size_t j = 0; j < m; j++) {
            const uint32_t t = ins[j];
            const size_t xb = pr->buf_of[t];
            if (xb == SIZE_MAX || pr->size[xb] != pr->size[yb])
                continue;
            int ok = elementwise(nd->op);
            if ((nd->op == HPK_GRAPH_OP_CONV2D || nd->op == HPK_GRAPH_OP_FULLY_CONNECTED) &&
                t == nd->residual)
                ok = pr->buf_of[nd->in[0]] != xb;
            if (!ok)
                continue;
            pr->inplace[p->n_inplace][0] = (uint32_t)k;
            pr->inplace[p->n_inplace][1] = (uint32_t)xb;
            pr->inplace[p->n_inplace++][2] = (uint32_t)yb;
        }
    }
    p->n_nodes = n;
    p->n_tensors = nb;
    p->size = pr->size;
    p->keep = pr->keep;
    p->deps = (const uint32_t(*)[2])pr->deps;
    p->writes = (const uint32_t(*)[2])pr->writes;
    p->reads = (const uint32_t(*)[2])pr->reads;
    p->inplace = (const uint32_t(*)[3])pr->inplace;
    hpk_free(pos);
    hpk_free(ins);
    return HPK_OK;
}

static size_t find(size_t *parent, size_t b)
{
    while (parent[b] != b)
        b = parent[b] = parent[parent[b]];
    return b;
}

/*
 * The arena plan of the steps run in order[] (order[i]: the problem node, i.e. the original
 * step, run i-th): live intervals of the buffers; each in-place pair whose input dies at its
 * node (the same test the order search made) joins the output's buffer to the input's; then
 * greedy by size over the joined buffers. Writes e->offset, the figures, and each step's
 * in_place; permutes e->steps into the order.
 */
static hpk_status plan(struct hpk_graph_exec *e, const struct problem *pr, const uint32_t *order)
{
    const struct hpk_graph *g = e->ir;
    const struct graph_order_problem *p = &pr->p;
    const size_t n = e->n_steps, nb = p->n_tensors;
    hpk_status st = HPK_ERR_NOMEM;
    size_t *pos = hpk_aligned_alloc(n * sizeof *pos + 1);
    size_t *first = hpk_aligned_alloc(nb * sizeof *first + 1);
    size_t *last = hpk_aligned_alloc(nb * sizeof *last + 1);
    size_t *parent = hpk_aligned_alloc(nb * sizeof *parent + 1);
    size_t *gid = hpk_aligned_alloc(nb * sizeof *gid + 1);
    size_t *gsize = hpk_aligned_alloc(nb * sizeof *gsize + 1);
    size_t *gfirst = hpk_aligned_alloc(nb * sizeof *gfirst + 1);
    size_t *glast = hpk_aligned_alloc(nb * sizeof *glast + 1);
    size_t *goff = hpk_aligned_alloc(nb * sizeof *goff + 1);
    unsigned char *ip = hpk_aligned_alloc(n + 1);
    struct exec_step *steps = hpk_aligned_alloc(n * sizeof *steps + 1);
    if (!pos || !first || !last || !parent || !gid || !gsize || !gfirst || !glast || !goff || !ip ||
        !steps)
        goto out;
    for (size_t i = 0; i < n; i++) {
        pos[order[i]] = i;
        ip[i] = 0;
    }
    for (size_t b = 0; b < nb; b++) {
        first[b] = SIZE_MAX;
        last[b] = 0;
        parent[b] = b;
    }
    for (size_t i = 0; i < p->n_writes; i++) {
        const size_t b = p->writes[i][1], at = pos[p->writes[i][0]];
        first[b] = hpk_min_size(first[b], at);
        last[b] = hpk_max_size(last[b], at);
    }
    for (size_t i = 0; i < p->n_reads; i++) {
        const size_t b = p->reads[i][1];
        last[b] = hpk_max_size(last[b], pos[p->reads[i][0]]);
    }
    for (size_t b = 0; b < nb; b++)
        if (p->keep[b])
            last[b] = n; /* copied out after the last step */
    for (size_t i = 0; i < p->n_inplace; i++) {
        const size_t k = p->inplace[i][0], x = p->inplace[i][1], y = p->inplace[i][2];
        if (ip[k] || p->keep[x] || last[x] != pos[k] || find(parent, y) != y)
            continue;
        parent[y] = find(parent, x);
        ip[k] = 1;
        hpk_log_verbose("graph: node %u (%s) writes its output in place of an input that dies "
                        "there (%zu bytes)",
                        (unsigned)e->steps[k].node, graph_op_name(g->n[e->steps[k].node].op),
                        p->size[y]);
    }
    size_t ng = 0;
    for (size_t b = 0; b < nb; b++)
        if (find(parent, b) == b) {
            gid[b] = ng;
            gsize[ng] = p->size[b];
            gfirst[ng] = first[b];
            glast[ng] = last[b];
            ng++;
        }
    for (size_t b = 0; b < nb; b++) {
        const size_t r = gid[find(parent, b)];
        gfirst[r] = hpk_min_size(gfirst[r], first[b]);
        glast[r] = hpk_max_size(glast[r], last[b]);
    }
    size_t naive_groups;
    st = graph_plan_arena(ng, gsize, gfirst, glast, goff, &e->arena, &naive_groups, &e->lower);
    if (st != HPK_OK)
        goto out;
    /* naive: one buffer for every tensor a node produces (aliases included), as without any
     * planning; below PTRDIFF_MAX each, and no more than a few thousand of them. */
    e->naive = 0;
    for (size_t t = 0; t < g->n_t; t++) {
        e->offset[t] = NOT_IN_ARENA;
        const struct ir_tensor *tt = &g->t[t];
        if (tt->kind == IR_INTERMEDIATE && tt->producer != HPK_GRAPH_NO_TENSOR &&
            !g->n[tt->producer].dead && g->n[tt->producer].out == t &&
            tt->view_of == HPK_GRAPH_NO_TENSOR) {
            size_t r;
            if (hpk_round_up_overflow(tt->elems * sizeof(float), HPK_ALIGNMENT, &r) ||
                hpk_add_overflow(e->naive, r, &e->naive)) {
                st = HPK_ERR_OVERFLOW;
                goto out;
            }
        }
        if (pr->buf_of[t] != SIZE_MAX)
            e->offset[t] = goff[gid[find(parent, pr->buf_of[t])]];
    }
    for (size_t i = 0; i < n; i++) {
        steps[i] = e->steps[order[i]];
        steps[i].in_place = ip[order[i]];
    }
    memcpy(e->steps, steps, n * sizeof *steps);
    st = HPK_OK;
out:
    hpk_free(pos);
    hpk_free(first);
    hpk_free(last);
    hpk_free(parent);
    hpk_free(gid);
    hpk_free(gsize);
    hpk_free(gfirst);
    hpk_free(glast);
    hpk_free(goff);
    hpk_free(ip);
    hpk_free(steps);
    return st;
}

static const char *method_name(enum graph_order_method m)
{
    switch (m) {
    case GRAPH_ORDER_DEFINITION: return "definition order";
    case GRAPH_ORDER_DP: return "least peak, exact (dynamic programming)";
    case GRAPH_ORDER_BEAM: return "beam search";
    }
    return "?";
}

/* Orders the steps (order.c, unless keep_def) and plans the arena. */
static hpk_status order_and_plan(struct hpk_graph_exec *e, int keep_def, int in_place)
{
    const size_t n = e->n_steps;
    struct problem pr;
    hpk_status st = build_problem(e, in_place, &pr);
    if (st != HPK_OK)
        return st;
    uint32_t *order = hpk_aligned_alloc(n * sizeof *order + 1);
    if (!order) {
        problem_free(&pr);
        return HPK_ERR_NOMEM;
    }
    for (size_t k = 0; k < n; k++)
        order[k] = (uint32_t)k;
    size_t peak = 0, def_peak = 0;
    enum graph_order_method method = GRAPH_ORDER_DEFINITION;
    st = graph_order_peak(&pr.p, order, &def_peak);
    if (st == HPK_OK && !keep_def)
        st = graph_order_plan(&pr.p, ORDER_MAX_STATES, ORDER_BEAM_STATES, order, &peak, &method);
    if (st == HPK_OK) {
        hpk_log_verbose("graph: order: %s, peak %zu bytes (definition order %zu)",
                        keep_def ? "definition order, as asked" : method_name(method),
                        keep_def ? def_peak : peak, def_peak);
        st = plan(e, &pr, order);
    }
    hpk_free(order);
    problem_free(&pr);
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
    long pads = 0, folded = 0, fused = 0, split = 0, dead;
    if (!o->disable_fusion) {
        pads = graph_pass_fold_pad(g);
        folded = graph_pass_fold_batch_norm(g, &st);
        if (folded < 0)
            goto error;
        fused = graph_pass_fuse_epilogue(g, &st);
        if (fused < 0)
            goto error;
        const struct hpk_config *cfg = hpk_config_get();
        const size_t tile_n = cfg->status == HPK_OK ? cfg->table->sgemm[HPK_GEMM_MAIN].nr : 1;
        split = graph_pass_split_depthwise(g, tile_n, &st);
        if (split < 0)
            goto error;
    }
    dead = graph_pass_remove_dead(g);
    const long views = o->disable_fusion ? 0 : graph_pass_free_concat(g);
    const long aliases = o->disable_in_place ? 0 : graph_pass_reshape_alias(g);
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
    st = order_and_plan(e, o->keep_definition_order, !o->disable_in_place);
    if (st != HPK_OK)
        goto error;
    for (size_t k = 0; k < e->n_steps; k++) {
        const struct exec_step *s = &e->steps[k];
        const size_t i = s->node;
        const struct ir_node *nd = &g->n[i];
        hpk_log_verbose("graph: step %zu: node %zu, %s%s%s, act %d, residual %s, "
                        "batch-norms folded %zu%s",
                        k, i, graph_op_name(nd->op),
                        nd->op == HPK_GRAPH_OP_CONV2D ? ", conv algorithm " : "",
                        nd->op == HPK_GRAPH_OP_CONV2D ? algo_name(s->algo) : "",
                        (int)(nd->op == HPK_GRAPH_OP_CONV2D ? nd->conv.act : nd->act),
                        nd->residual != HPK_GRAPH_NO_TENSOR ? "fused" : "none", nd->folded_bn,
                        s->in_place                                     ? ", in place"
                        : g->t[nd->out].alias_of != HPK_GRAPH_NO_TENSOR ? ", a view"
                                                                        : "");
    }
    const char *prof = getenv("HPK_GRAPH_PROFILE");
    if (prof && prof[0] != '\0' && !(prof[0] == '0' && prof[1] == '\0')) {
        e->prof_ns = hpk_aligned_alloc(e->n_steps * sizeof *e->prof_ns + 1);
        e->prof_min_ns = hpk_aligned_alloc(e->n_steps * sizeof *e->prof_min_ns + 1);
        if (!e->prof_ns || !e->prof_min_ns) {
            st = HPK_ERR_NOMEM;
            goto error;
        }
        for (size_t k = 0; k < e->n_steps; k++) {
            atomic_init(&e->prof_ns[k], 0);
            atomic_init(&e->prof_min_ns[k], ULLONG_MAX);
        }
        e->prof_clock = strcmp(prof, "cpu") == 0 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    }
    size_t in_place = 0;
    for (size_t k = 0; k < e->n_steps; k++)
        in_place += (size_t)e->steps[k].in_place;
    hpk_log_verbose("graph: compiled %zu nodes into %zu (%ld pads and %ld batch-norms folded, "
                    "%ld fused, %ld depthwise pairs split, %ld dead, %ld concat inputs in place, "
                    "%ld reshapes as views, %zu nodes in place); arena %zu bytes, naive %zu, "
                    "lower bound %zu",
                    defined, e->n_steps, pads, folded, fused, split, dead, views, aliases, in_place,
                    e->arena, e->naive, e->lower);
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
    info.in_place = s->in_place || exec->ir->t[nd->out].alias_of != HPK_GRAPH_NO_TENSOR;
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
    if (r->e->ir->t[id].alias_of != HPK_GRAPH_NO_TENSOR) /* a reshape's view: its root's memory */
        id = r->e->ir->t[id].alias_of;
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
        /* The public operator (<hpk/pool.h>): the same window and padding rules. */
        const hpk_pool2d_desc pd = {.kind = nd->op == HPK_GRAPH_OP_MAX_POOL ? HPK_POOL_MAX
                                                                            : HPK_POOL_AVG,
                                    .kernel_h = nd->pool.kernel_h,
                                    .kernel_w = nd->pool.kernel_w,
                                    .stride_h = nd->pool.stride_h,
                                    .stride_w = nd->pool.stride_w,
                                    .pad_top = nd->pool.pad_top,
                                    .pad_left = nd->pool.pad_left,
                                    .pad_bottom = nd->pool.pad_bottom,
                                    .pad_right = nd->pool.pad_right};
        return hpk_pool2d_run(&pd, x->dims[0], x->dims[1], x->dims[2], c, in, c, out, c);
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
    case HPK_GRAPH_OP_RESHAPE:
        if (y->alias_of == HPK_GRAPH_NO_TENSOR) /* else out is in: a view, nothing to do */
            memcpy(out, in, y->elems * sizeof(float));
        return HPK_OK;
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
    if (exec->prof_ns) {
        struct timespec t0, t1;
        clock_gettime(exec->prof_clock, &t0);
        for (size_t i = 0; i < exec->n_steps && st == HPK_OK; i++) {
            st = run_step(&r, &exec->steps[i]);
            clock_gettime(exec->prof_clock, &t1);
            const long long ns =
                (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
            atomic_fetch_add_explicit(&exec->prof_ns[i], (unsigned long long)ns,
                                      memory_order_relaxed);
            unsigned long long lo =
                atomic_load_explicit(&exec->prof_min_ns[i], memory_order_relaxed);
            while ((unsigned long long)ns < lo &&
                   !atomic_compare_exchange_weak_explicit(
                       &exec->prof_min_ns[i], &lo, (unsigned long long)ns, memory_order_relaxed,
                       memory_order_relaxed))
                ;
            t0 = t1;
        }
        atomic_fetch_add_explicit((_Atomic unsigned long long *)&exec->prof_runs, 1,
                                  memory_order_relaxed);
    } else {
        for (size_t i = 0; i < exec->n_steps && st == HPK_OK; i++)
            st = run_step(&r, &exec->steps[i]);
    }
    hpk_parallel_thread_override(prev_threads);
    if (st == HPK_OK)
        for (size_t i = 0; i < g->n_out; i++) {
            const uint32_t id = g->outputs[i];
            memcpy(outputs[i], tensor_ptr(&r, id), g->t[id].elems * sizeof(float));
        }
    hpk_free(own);
    return st;
}

/* ---- profile (HPK_GRAPH_PROFILE=1) -------------------------------------------------------- */

/* The class a step's time is summed under: the op, and for a convolution its kind. */
static void profile_class(const struct hpk_graph *g, const struct exec_step *s, char *buf,
                          size_t len)
{
    const struct ir_node *nd = &g->n[s->node];
    if (nd->op != HPK_GRAPH_OP_CONV2D) {
        snprintf(buf, len, "%s", graph_op_name(nd->op));
        return;
    }
    const hpk_conv2d_desc *d = &nd->conv;
    const size_t sh = d->stride_h ? d->stride_h : 1;
    const int dw = d->groups > 1 && d->groups == d->in_channels;
    snprintf(buf, len, "conv %zux%zu%s%s%s", d->kernel_h, d->kernel_w, dw ? " dw" : "",
             sh > 1 ? " s2+" : "", nd->residual != HPK_GRAPH_NO_TENSOR ? " +res" : "");
}

/* Classes summed (profile_class names fewer than this in practice). */
#define MAX_CLASSES 32

/* Step k's fastest run in nanoseconds; 0 for a step no run reached (a run stops at its first
 * failing step). */
static double profile_fastest_ns(const struct hpk_graph_exec *e, size_t k)
{
    const unsigned long long lo = atomic_load(&e->prof_min_ns[k]);
    return lo == ULLONG_MAX ? 0.0 : (double)lo;
}

static void profile_report(const struct hpk_graph_exec *e)
{
    const struct hpk_graph *g = e->ir;
    const unsigned long long runs = atomic_load(&e->prof_runs);
    if (!runs)
        return;
    double total = 0, total_min = 0;
    for (size_t k = 0; k < e->n_steps; k++) {
        total += (double)atomic_load(&e->prof_ns[k]);
        total_min += profile_fastest_ns(e, k);
    }
    fprintf(stderr,
            "hpk: graph profile: %llu runs, %zu steps, %.1f us per run (%s), %zu threads; "
            "each node's fastest run: %.1f us in all\n",
            runs, e->n_steps, total / 1e3 / (double)runs,
            e->prof_clock == CLOCK_MONOTONIC ? "wall" : "calling thread's CPU time", e->threads,
            total_min / 1e3);
    char names[MAX_CLASSES][48];
    double sum[MAX_CLASSES] = {0};
    size_t count[MAX_CLASSES] = {0}, n_classes = 0;
    for (size_t k = 0; k < e->n_steps; k++) {
        const struct exec_step *s = &e->steps[k];
        const struct ir_node *nd = &g->n[s->node];
        const struct ir_tensor *y = &g->t[nd->out];
        const double us = (double)atomic_load(&e->prof_ns[k]) / 1e3 / (double)runs;
        const double min_us = profile_fastest_ns(e, k) / 1e3;
        char cls[48];
        profile_class(g, s, cls, sizeof cls);
        if (nd->op == HPK_GRAPH_OP_CONV2D) {
            const struct ir_tensor *x = &g->t[nd->in[0]];
            fprintf(stderr,
                    "hpk: graph profile: step %3zu %-18s %-11s %3zux%3zux%4zu -> %3zux%3zux%4zu "
                    "%9.1f us (fastest %9.1f)\n",
                    k, cls, algo_name(s->algo), x->dims[1], x->dims[2], x->dims[3], y->dims[1],
                    y->dims[2], y->dims[3], us, min_us);
        } else {
            fprintf(stderr,
                    "hpk: graph profile: step %3zu %-18s %-11s %22zu elems %9.1f us (fastest "
                    "%9.1f)\n",
                    k, cls, "", y->elems, us, min_us);
        }
        size_t c = 0;
        while (c < n_classes && strcmp(names[c], cls) != 0)
            c++;
        if (c == n_classes && n_classes < MAX_CLASSES)
            snprintf(names[n_classes++], sizeof names[0], "%s", cls);
        if (c < n_classes) {
            sum[c] += us;
            count[c]++;
        }
    }
    for (size_t c = 0; c < n_classes; c++)
        fprintf(stderr, "hpk: graph profile: class %-18s %3zu steps %9.1f us (%4.1f %%)\n",
                names[c], count[c], sum[c],
                100.0 * sum[c] * 1e3 * (double)runs / (total > 0 ? total : 1));
}

hpk_status graph_exec_tensor_layout(const struct hpk_graph_exec *e, uint32_t t, size_t *offset_out,
                                    size_t *first_out, size_t *last_out)
{
    const struct hpk_graph *g = e->ir;
    if (t >= g->n_t || g->t[t].kind != IR_INTERMEDIATE || g->t[t].producer == HPK_GRAPH_NO_TENSOR ||
        g->n[g->t[t].producer].dead)
        return HPK_ERR_INVALID_ARG;
    size_t first = SIZE_MAX, last = 0;
    for (size_t k = 0; k < e->n_steps; k++) {
        const struct ir_node *nd = &g->n[e->steps[k].node];
        const uint32_t *in = ir_node_inputs(nd);
        if (nd->out == t)
            first = k;
        for (size_t j = 0; j <= nd->n_in; j++)
            if ((j < nd->n_in ? in[j] : nd->residual) == t)
                last = k;
    }
    if (first == SIZE_MAX)
        return HPK_ERR_INVALID_ARG;
    *offset_out = e->offset[t];
    *first_out = first;
    *last_out = graph_ir_is_output(g, t) ? e->n_steps : hpk_max_size(first, last);
    return HPK_OK;
}
