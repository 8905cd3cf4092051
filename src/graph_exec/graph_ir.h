/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The graph IR shared by the builder (build.c), the passes (passes.c), the planner (plan.c)
 * and the executor (exec.c, ops.c).
 *
 * A graph is two growable arrays: tensors and nodes, in definition order. Nodes reference
 * tensors by index. Compilation copies the user's graph into a fresh IR (graph_ir_clone), runs
 * the passes on the copy (they may add constants and mark nodes dead), then builds the
 * executable from the live nodes.
 */
#ifndef HPK_GRAPH_EXEC_GRAPH_IR_H
#define HPK_GRAPH_EXEC_GRAPH_IR_H

#include <stddef.h>
#include <stdint.h>

#include "hpk/hpk.h"

enum ir_kind {
    IR_INPUT = 1,
    IR_CONSTANT,
    IR_INTERMEDIATE
};

struct ir_tensor {
    enum ir_kind kind;
    size_t rank;
    size_t dims[HPK_GRAPH_MAX_RANK];
    size_t elems;
    float *data;       /* constants: owned copy */
    uint32_t producer; /* intermediates: the producing node, or HPK_GRAPH_NO_TENSOR */
    size_t input_index;
    /* A view: this tensor lives inside tensor view_of (a concat output) at element view_off of
     * each pixel, pixels view_stride elements apart; HPK_GRAPH_NO_TENSOR when it is its own. */
    uint32_t view_of;
    size_t view_off, view_stride;
    /* An alias: a reshape's output that is its (contiguous) input's memory, named by the
     * tensor that owns it (an input, a constant or an arena tensor, never an alias);
     * HPK_GRAPH_NO_TENSOR when it has memory of its own. */
    uint32_t alias_of;
};

#define IR_MAX_INPUTS 6 /* batch norm: x, mean, var, gamma, beta; conv: x, filter, bias */

struct ir_node {
    hpk_graph_op op;
    int dead;
    uint32_t in[IR_MAX_INPUTS]; /* HPK_GRAPH_NO_TENSOR for an absent optional operand */
    size_t n_in;
    uint32_t *extra_in; /* concat: all n_in inputs (owned); in[] is unused */
    uint32_t out;
    /* parameters */
    hpk_conv2d_desc conv;     /* conv2d (its act fields are also the fused activation) */
    hpk_graph_pool_desc pool; /* pools */
    size_t pad[4];            /* pad: top, left, bottom, right */
    hpk_activation act;       /* activation node, or fused act of fully_connected */
    float act_lo, act_hi, act_slope;
    float eps;         /* batch norm */
    uint32_t residual; /* conv2d / FC: fused residual tensor, or HPK_GRAPH_NO_TENSOR */
    size_t folded_bn;
    size_t free_inputs; /* concat: inputs its producers write in place (views of its output) */
};

struct hpk_graph {
    struct ir_tensor *t;
    size_t n_t, cap_t;
    struct ir_node *n;
    size_t n_n, cap_n;
    uint32_t *outputs;
    size_t n_out, cap_out;
    size_t n_inputs;
};

/* The inputs of a node (concat keeps them in extra_in). */
static inline const uint32_t *ir_node_inputs(const struct ir_node *nd)
{
    return nd->op == HPK_GRAPH_OP_CONCAT ? nd->extra_in : nd->in;
}

/* build.c */
hpk_status graph_ir_clone(const struct hpk_graph *src, struct hpk_graph **dst_out);
void graph_ir_free(struct hpk_graph *g);
/* Appends a constant (data copied); *id_out its index. */
hpk_status graph_ir_add_constant(struct hpk_graph *g, size_t rank, const size_t *dims,
                                 const float *data, uint32_t *id_out);
/* Appends an intermediate tensor; *id_out its index. */
hpk_status graph_ir_add_intermediate(struct hpk_graph *g, size_t rank, const size_t *dims,
                                     uint32_t *id_out);
/* Number of live nodes that read tensor id (a fused residual counts), and whether it is a
 * graph output. */
size_t graph_ir_consumers(const struct hpk_graph *g, uint32_t id);
int graph_ir_is_output(const struct hpk_graph *g, uint32_t id);

/* passes.c: the name of an op, for logs. */
const char *graph_op_name(hpk_graph_op op);

/* passes.c: each returns the number of rewrites made, or -1 (status in *st) on failure. */
long graph_pass_fold_pad(struct hpk_graph *g);
long graph_pass_fold_batch_norm(struct hpk_graph *g, hpk_status *st);
long graph_pass_fuse_epilogue(struct hpk_graph *g, hpk_status *st);
long graph_pass_free_concat(struct hpk_graph *g);
long graph_pass_remove_dead(struct hpk_graph *g);
long graph_pass_reshape_alias(struct hpk_graph *g);
/* tile_n: the width of the GEMM tile the 1x1 convolutions run on (slices are preferred whole
 * multiples of it). */
long graph_pass_split_depthwise(struct hpk_graph *g, size_t tile_n, hpk_status *st);

/*
 * plan.c: offsets for n buffers of sizes[i] bytes live over steps [first[i], last[i]]
 * (inclusive), greedy: each buffer, in turn, at a 64-aligned offset where it overlaps no placed
 * buffer whose interval intersects its own; the smallest arena of four turns (greedy by size
 * with the lowest offset, TFLite's, which wins ties; by size, by first use and by size x
 * lifetime with the smallest gap that fits). Writes offsets[i], the arena size, the naive sum
 * and the lower bound (most bytes live at one step) of the 64-rounded sizes. Returns HPK_OK,
 * HPK_ERR_NOMEM or HPK_ERR_OVERFLOW.
 */
hpk_status graph_plan_arena(size_t n, const size_t *sizes, const size_t *first, const size_t *last,
                            size_t *offsets, size_t *arena_out, size_t *naive_out,
                            size_t *lower_out);

/*
 * order.c: execution orders of least peak memory. A problem: n_nodes nodes and n_tensors
 * buffers given as lists of pairs. Tensor t takes size[t] bytes from the first run of one of
 * its writers until all its readers ran; keep[t]: never freed (a graph output). deps {u, v}:
 * u runs before v. inplace {v, x, y}: node v may write tensor y (which v alone writes, of x's
 * size) in the buffer of its input x when v runs after every other reader of x and x is not
 * kept; y then allocates nothing.
 */
struct graph_order_problem {
    size_t n_nodes, n_tensors;
    const size_t *size;
    const unsigned char *keep;
    size_t n_deps, n_writes, n_reads, n_inplace;
    const uint32_t (*deps)[2];    /* {before, after} */
    const uint32_t (*writes)[2];  /* {node, tensor} */
    const uint32_t (*reads)[2];   /* {node, tensor} */
    const uint32_t (*inplace)[3]; /* {node, input tensor, output tensor} */
};

/* The peak of one order (order[k]: the k-th node to run): the most bytes live at one step,
 * counting what each node allocates while its inputs are live. Returns HPK_OK;
 * HPK_ERR_INVALID_ARG for an order that is not a permutation or breaks a dependency, or a
 * problem with out-of-range indices; HPK_ERR_NOMEM. */
hpk_status graph_order_peak(const struct graph_order_problem *p, const uint32_t *order,
                            size_t *peak_out);

/* A search over the sets of scheduled nodes, level by level, keeping at most `width` sets a
 * level (SIZE_MAX: all of them, the exact dynamic programme) and at most max_states in all.
 * Writes an order, its peak, and *exact_out = 1 when no level was cut (the order is then
 * optimal). Returns HPK_OK; HPK_ERR_UNSUPPORTED past max_states; HPK_ERR_INVALID_ARG for width
 * 0, max_states < 2 or out-of-range indices; HPK_ERR_NOMEM; HPK_ERR_INTERNAL for dependencies
 * no order satisfies. */
hpk_status graph_order_search(const struct graph_order_problem *p, size_t width, size_t max_states,
                              uint32_t *order_out, size_t *peak_out, int *exact_out);

enum graph_order_method {
    GRAPH_ORDER_DEFINITION, /* node index order: nothing searched did better */
    GRAPH_ORDER_DP,         /* the exact least peak */
    GRAPH_ORDER_BEAM        /* a beam search's order, below the definition order's peak */
};

/* The order the compiler runs: the exact search within dp_states states; failing that a beam
 * within beam_states (width beam_states / (2 n + 2)); then the definition order (node index
 * order, which must be topological) if nothing found a lower peak. Never above the definition
 * order's peak. Returns HPK_OK, HPK_ERR_NOMEM, HPK_ERR_INTERNAL (index order not
 * topological). */
hpk_status graph_order_plan(const struct graph_order_problem *p, size_t dp_states,
                            size_t beam_states, uint32_t *order_out, size_t *peak_out,
                            enum graph_order_method *method_out);

/* exec.c, for tests: where intermediate t lives in a run's arena (SIZE_MAX: not in it), and
 * the steps of its producer and of its last reader (the step count for a graph output).
 * Returns HPK_OK, or HPK_ERR_INVALID_ARG for a tensor no step produces. */
hpk_status graph_exec_tensor_layout(const struct hpk_graph_exec *e, uint32_t t, size_t *offset_out,
                                    size_t *first_out, size_t *last_out);

/* ops.c: the plain-C operators. Shapes are the IR tensors'. */
void graph_op_add(const float *a, const float *b, size_t elems, size_t bc, float *out);
void graph_op_mul(const float *a, const float *b, size_t elems, size_t bc, float *out);
void graph_op_scale_shift(const float *x, const float *scale, const float *shift, size_t elems,
                          size_t c, float *out);
void graph_op_global_avg_pool(const float *x, size_t n, size_t hw, size_t c, float *out);
void graph_op_softmax(const float *x, size_t rows, size_t c, float *out);
void graph_op_pad(const float *x, size_t n, size_t h, size_t w, size_t c, const size_t pad[4],
                  float *out);
/* Copies rows x cols of x (row stride cols) into out at column offset col0 (row stride ld). */
void graph_op_copy_cols(const float *x, size_t rows, size_t cols, float *out, size_t ld,
                        size_t col0);

#endif /* HPK_GRAPH_EXEC_GRAPH_IR_H */
