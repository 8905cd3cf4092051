/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/graph.h - inference graphs: define once, compile into an immutable executable (weights
 * packed, batch-norm folded, epilogues fused, memory planned), run many times.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 *
 * A graph holds tensors and nodes. Every tensor is f32 with a static shape of rank 1 to 4
 * (dims[0] outermost); a rank-4 tensor is NHWC: t[n][h][w][c], dense. Tensors are of three
 * kinds, each named by a uint32_t id that the defining call returns:
 *   input         data given to each run (hpk_graph_exec_run's inputs[], in definition order);
 *   constant      data copied into the graph when it is defined (weights, biases, statistics);
 *   intermediate  data produced by exactly one node; some are marked as graph outputs.
 * A node reads inputs, constants and intermediates that an earlier node already produced, and
 * produces one intermediate that no node produced before. Because a node can only consume a
 * tensor that exists and is already produced, a graph cannot hold a cycle: there is no status
 * for one, as none can be built. The definition order is a valid execution order.
 *
 * Every hpk_graph_add_* call validates its node at once and changes nothing when it fails.
 * The statuses of graph definition, besides those of <hpk/common.h>:
 *   HPK_ERR_BAD_TENSOR      a tensor id that does not exist, a node input that is an
 *                           intermediate no node has produced yet (dangling), a node output
 *                           that is not an intermediate, a constant where the op needs one
 *                           and got another kind, or an output marked that is not an
 *                           intermediate.
 *   HPK_ERR_SHAPE_MISMATCH  the shapes of a node's tensors do not fit the op (the declared
 *                           output shape is not the one the op computes, channel counts differ,
 *                           a broadcast operand is neither the same shape nor [channels]).
 *   HPK_ERR_PRODUCED_TWICE  a node output that another node already produces.
 *   HPK_ERR_UNSUPPORTED     a valid combination this release does not compute (named per op).
 *   HPK_ERR_INVALID_ARG     a NULL graph or pointer, a bad parameter (zero kernel, rank 0 or
 *                           more than 4, a zero dimension, an unknown activation).
 *
 * Threads: a graph is not thread-safe while it is being defined (one thread at a time); an
 * executable is immutable and may be run from any number of threads at once, each run with
 * its own arena.
 */
#ifndef HPK_GRAPH_H
#define HPK_GRAPH_H

#include <stdint.h>

#include <hpk/common.h>
#include <hpk/conv.h>
#include <hpk/gemm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A graph being defined (mutable, single-threaded). */
typedef struct hpk_graph hpk_graph;

/* A compiled graph (immutable, reentrant). */
typedef struct hpk_graph_exec hpk_graph_exec;

/* "No tensor", for an optional operand (a bias). */
#define HPK_GRAPH_NO_TENSOR UINT32_MAX

/* The largest rank of a tensor. */
#define HPK_GRAPH_MAX_RANK 4

/* The operations of a node, as hpk_graph_exec_node_info reports them. */
typedef enum hpk_graph_op {
    HPK_GRAPH_OP_CONV2D = 1,
    HPK_GRAPH_OP_FULLY_CONNECTED,
    HPK_GRAPH_OP_ADD,
    HPK_GRAPH_OP_MUL,
    HPK_GRAPH_OP_ACTIVATION,
    HPK_GRAPH_OP_BATCH_NORM,
    HPK_GRAPH_OP_MAX_POOL,
    HPK_GRAPH_OP_AVG_POOL,
    HPK_GRAPH_OP_GLOBAL_AVG_POOL,
    HPK_GRAPH_OP_SOFTMAX,
    HPK_GRAPH_OP_CONCAT,
    HPK_GRAPH_OP_RESHAPE,
    HPK_GRAPH_OP_PAD,
} hpk_graph_op;

/*
 * hpk_graph_create - a new, empty graph.
 *
 *   graph_out  receives the graph, owned by the caller (hpk_graph_destroy); not NULL.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for graph_out NULL; HPK_ERR_NOMEM. *graph_out is
 * written only on HPK_OK.
 */
HPK_API hpk_status hpk_graph_create(hpk_graph **graph_out);

/* hpk_graph_destroy - frees a graph and the constants copied into it; NULL is a no-op.
 * Executables compiled from it stay valid. */
HPK_API void hpk_graph_destroy(hpk_graph *graph);

/*
 * hpk_graph_add_input - defines an input tensor.
 *
 *   graph      the graph.
 *   rank       1..4; dims[rank] its shape, each >= 1 (rank 4: NHWC).
 *   id_out     receives the tensor's id.
 *
 * Inputs are numbered in the order they are defined: the i-th defined is inputs[i] of
 * hpk_graph_exec_run. Returns HPK_OK; HPK_ERR_INVALID_ARG for NULL graph, dims or id_out, a
 * rank outside 1..4 or a zero dimension; HPK_ERR_OVERFLOW if the size in bytes overflows;
 * HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_input(hpk_graph *graph, size_t rank, const size_t *dims,
                                       uint32_t *id_out);

/*
 * hpk_graph_add_constant - defines a constant tensor; its data (the product of dims floats,
 * dense in the shape's order) is copied, and need not outlive the call.
 *
 * Returns what hpk_graph_add_input does, and HPK_ERR_INVALID_ARG for data NULL.
 */
HPK_API hpk_status hpk_graph_add_constant(hpk_graph *graph, size_t rank, const size_t *dims,
                                          const float *data, uint32_t *id_out);

/*
 * hpk_graph_add_tensor - defines an intermediate tensor, to be produced by one node (whose
 * hpk_graph_add_* call checks the shape). Returns what hpk_graph_add_input does.
 */
HPK_API hpk_status hpk_graph_add_tensor(hpk_graph *graph, size_t rank, const size_t *dims,
                                        uint32_t *id_out);

/*
 * hpk_graph_mark_output - makes an intermediate a graph output: it is written to the run's
 * outputs[i], i the order of marking (marking twice is allowed and does nothing the second
 * time). An output no node has produced by compile time is HPK_ERR_BAD_TENSOR there.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for graph NULL; HPK_ERR_BAD_TENSOR for an unknown id or
 * one that is not an intermediate; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_mark_output(hpk_graph *graph, uint32_t id);

/*
 * hpk_graph_add_conv2d - output = conv2d(input) as <hpk/conv.h> defines it, with every field
 * of desc (padding, stride, dilation, groups, activation and its parameters, algo).
 *
 *   input   [n][h][w][desc->in_channels].
 *   filter  a constant [out_channels][kernel_h][kernel_w][in_channels / groups] (OHWI).
 *   bias    a constant [out_channels], or HPK_GRAPH_NO_TENSOR.
 *   output  an intermediate [n][out_h][out_w][out_channels] (out_h, out_w as <hpk/conv.h>).
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for NULL graph or desc, a zero kernel or channel count,
 * groups not dividing the channel counts, an unknown activation, bad clamp bounds or slope,
 * an unknown algo, an input too small for the kernel; HPK_ERR_BAD_TENSOR,
 * HPK_ERR_SHAPE_MISMATCH, HPK_ERR_PRODUCED_TWICE as above; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_conv2d(hpk_graph *graph, const hpk_conv2d_desc *desc,
                                        uint32_t input, uint32_t filter, uint32_t bias,
                                        uint32_t output);

/*
 * hpk_graph_add_fully_connected - output[i][o] = sum_k input[i][k] * weights[o][k] + bias[o].
 *
 *   input    [m][k] (rank 2; flatten a 4-D tensor first with hpk_graph_add_reshape).
 *   weights  a constant [n][k] (each row one output's weights); packed once at compile.
 *   bias     a constant [n], or HPK_GRAPH_NO_TENSOR.
 *   output   an intermediate [m][n].
 *
 * Returns what hpk_graph_add_conv2d does (HPK_ERR_BAD_TENSOR for weights that are not a
 * constant: weights computed by the graph are HPK_ERR_BAD_TENSOR too, as this release packs
 * them at compile time).
 */
HPK_API hpk_status hpk_graph_add_fully_connected(hpk_graph *graph, uint32_t input, uint32_t weights,
                                                 uint32_t bias, uint32_t output);

/*
 * hpk_graph_add_add - output = a + b elementwise; b has a's shape, or is [c] with c the last
 * dimension of a (added to every pixel: a per-channel bias). output has a's shape.
 * hpk_graph_add_mul - output = a * b, with the same broadcasting.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for graph NULL; HPK_ERR_BAD_TENSOR,
 * HPK_ERR_SHAPE_MISMATCH, HPK_ERR_PRODUCED_TWICE as above; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_add(hpk_graph *graph, uint32_t a, uint32_t b, uint32_t output);
HPK_API hpk_status hpk_graph_add_mul(hpk_graph *graph, uint32_t a, uint32_t b, uint32_t output);

/*
 * hpk_graph_add_activation - output = act(input) elementwise, act and its parameters (lo, hi
 * for HPK_ACT_CLAMP, slope for HPK_ACT_LEAKY_RELU; ignored otherwise) as <hpk/gemm.h> defines
 * them, computed by the same code as a GEMM or convolution epilogue. output has input's shape.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for graph NULL, an unknown activation, lo > hi or NaN
 * bounds for clamp, a non-finite slope for leaky ReLU; the tensor statuses above;
 * HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_activation(hpk_graph *graph, hpk_activation act, float lo,
                                            float hi, float slope, uint32_t input, uint32_t output);

/*
 * hpk_graph_add_batch_norm - inference batch normalisation over the last dimension c:
 *     output[..][j] = (input[..][j] - mean[j]) * gamma[j] / sqrt(var[j] + eps) + beta[j]
 * mean, var, gamma, beta: constants [c]; eps >= 0 and finite; var[j] + eps > 0.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for graph NULL, a negative or non-finite eps, or a
 * var[j] + eps that is not positive; the tensor statuses above; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_batch_norm(hpk_graph *graph, uint32_t input, uint32_t mean,
                                            uint32_t var, uint32_t gamma, uint32_t beta, float eps,
                                            uint32_t output);

/*
 * hpk_graph_pool_desc - a pooling window. Zero-initialise; zero strides mean 1.
 *     out_h = (h + pad_top + pad_bottom - kernel_h) / stride_h + 1   (likewise out_w)
 * Padding is never part of a window's value: max pooling takes the maximum of the taps inside
 * the image (NaN if any is NaN), average pooling divides by the number of taps inside the
 * image (count_include_pad = false). A window wholly in the padding is HPK_ERR_INVALID_ARG
 * (each pad must be smaller than the kernel).
 */
typedef struct hpk_graph_pool_desc {
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;
    size_t pad_top, pad_left, pad_bottom, pad_right;
} hpk_graph_pool_desc;

/*
 * hpk_graph_add_max_pool, hpk_graph_add_avg_pool - output [n][out_h][out_w][c] from input
 * [n][h][w][c]. Returns HPK_OK; HPK_ERR_INVALID_ARG for NULL graph or desc, a zero kernel, a
 * pad not smaller than its kernel, an input smaller than the kernel; the tensor statuses
 * above; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_max_pool(hpk_graph *graph, const hpk_graph_pool_desc *desc,
                                          uint32_t input, uint32_t output);
HPK_API hpk_status hpk_graph_add_avg_pool(hpk_graph *graph, const hpk_graph_pool_desc *desc,
                                          uint32_t input, uint32_t output);

/*
 * hpk_graph_add_global_avg_pool - output[n][0][0][c] = mean over h, w of input[n][h][w][c];
 * output is [n][1][1][c]. Returns as hpk_graph_add_add.
 */
HPK_API hpk_status hpk_graph_add_global_avg_pool(hpk_graph *graph, uint32_t input, uint32_t output);

/*
 * hpk_graph_add_softmax - softmax over the last dimension: output[..][j] =
 * exp(x[..][j] - max) / sum_i exp(x[..][i] - max), max over the row (NaN or +inf in a row
 * gives a row of NaN; a row of -inf gives 1 / c everywhere). output has input's shape.
 * Returns as hpk_graph_add_add.
 */
HPK_API hpk_status hpk_graph_add_softmax(hpk_graph *graph, uint32_t input, uint32_t output);

/*
 * hpk_graph_add_concat - output = the inputs side by side along the last dimension (channels
 * for NHWC): inputs[count] of one rank, equal in every other dimension; count >= 1.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for NULL graph or inputs, count 0; the tensor statuses
 * above; HPK_ERR_NOMEM.
 */
HPK_API hpk_status hpk_graph_add_concat(hpk_graph *graph, size_t count, const uint32_t *inputs,
                                        uint32_t output);

/*
 * hpk_graph_add_reshape - output = input with another shape of the same element count (the
 * elements in the same order); a flatten is a reshape to [n][h * w * c]. Returns as
 * hpk_graph_add_add (HPK_ERR_SHAPE_MISMATCH when the counts differ).
 */
HPK_API hpk_status hpk_graph_add_reshape(hpk_graph *graph, uint32_t input, uint32_t output);

/*
 * hpk_graph_add_pad - zero padding of the spatial dimensions of input [n][h][w][c]: output
 * [n][pad_top + h + pad_bottom][pad_left + w + pad_right][c]. Returns as hpk_graph_add_add.
 */
HPK_API hpk_status hpk_graph_add_pad(hpk_graph *graph, size_t pad_top, size_t pad_left,
                                     size_t pad_bottom, size_t pad_right, uint32_t input,
                                     uint32_t output);

/*
 * hpk_graph_compile_options - how to compile. Zero-initialise; all zero (or passing NULL) is
 * the default: process thread count, every pass on.
 */
typedef struct hpk_graph_compile_options {
    size_t threads;            /* threads of each run's operators; 0: hpk_get_num_threads() */
    int disable_fusion;        /* nonzero: no pad or batch-norm folding, no epilogue fusion, no
                                  depthwise split, no in-place concat (dead nodes are still
                                  removed): the reference to compare optimised runs with */
    int keep_definition_order; /* nonzero: run the nodes in definition order, rather than
                                  the order of least peak memory */
    int disable_in_place;      /* nonzero: every tensor a node produces gets memory of its
                                  own (no elementwise node over a dying input, reshapes
                                  copy): the reference to compare in-place runs with */
} hpk_graph_compile_options;

/*
 * hpk_graph_compile - turns a graph into an executable: runs the passes (zero pad folded into
 * the next convolution's padding, batch-norm folding, epilogue fusion, the depthwise split
 * below, dead-node removal, convolutions writing in place into a concatenation, reshapes as
 * views; each rewrite is logged under HPK_VERBOSE=1), creates each node's operator (convolution
 * filters and fully-connected weights packed once), orders the nodes and plans one arena for every
 * intermediate tensor.
 *
 * Order: the topological order of least peak memory, found exactly by dynamic programming over
 * the sets of nodes run (Ahn et al., MLSys 2020) while that visits at most 16384 sets (graphs
 * with few parallel branches, of any length); beyond, a beam search over the same sets (the
 * best 32768 / (2 * nodes + 2) sets kept at each step, by peak so far, then memory live: a
 * bounded planning time, deterministic) whose order is taken only when its peak is below the
 * definition order's. keep_definition_order runs the definition order.
 *
 * Depthwise split: a 1x1 convolution whose output only a depthwise convolution of stride
 * s = stride_h * stride_w >= 2 reads (an inverted residual's expansion), the pair with the
 * most bytes in the graph, becomes up to s such pairs over channel slices of at least 8
 * channels (s - 1 slices where only that makes them multiples of 16 channels: 96 = 3 x 32),
 * each writing its channels of the original output in place (a concatenation): run
 * one after another, only a slice of the expanded tensor is live at once. Each output
 * channel is computed by the same arithmetic as before.
 *
 * Memory: a reshape of a contiguous tensor is a view (no copy: its output is its input's
 * memory). An elementwise node (add, mul, activation, batch_norm, softmax) writes its output
 * over an input of the same size whose last reader it is in the chosen order (not a graph
 * output, input or constant, not a slice of a concatenation), and so does a convolution or
 * fully-connected node over its fused residual; the order search counts such a node as
 * allocating nothing. Then every buffer gets an offset in one arena, greedy by size over the
 * live intervals (Pisarchyk & Lee 2020). disable_in_place turns the views and in-place writes
 * off. The graph is only read and may be destroyed or changed afterwards.
 *
 * Profile: with HPK_GRAPH_PROFILE=1 in the environment when it is compiled, the executable
 * times each node of every run (monotonic clock, between consecutive nodes) and
 * hpk_graph_exec_destroy prints on stderr the mean microseconds per run of each node (op,
 * convolution kind and algorithm, shapes) beside its fastest run's (the figure to compare on a
 * shared, noisy machine), and the means' sums per class (1x1, depthwise, stride 2, fused
 * residual, each other op). HPK_GRAPH_PROFILE=cpu times the calling thread's CPU time instead of
 * the wall clock (steadier on a loaded machine; on one thread, where hpk runs every task on the
 * calling thread, it is the node's whole cost). Results are unchanged; the timer adds two clock
 * reads per node.
 *
 *   graph     the graph; at least one output marked.
 *   options   NULL for the defaults.
 *   exec_out  receives the executable (hpk_graph_exec_destroy).
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for NULL graph or exec_out, no output marked, threads
 * above 1024; HPK_ERR_BAD_TENSOR for a marked output no node produces; what
 * hpk_conv2d_create and hpk_sgemm_packed_b_create return (HPK_ERR_UNSUPPORTED for a forced
 * conv algorithm that does not apply, or a bad HPK_* override); HPK_ERR_OVERFLOW;
 * HPK_ERR_NOMEM. *exec_out is written only on HPK_OK, and nothing is left allocated on error.
 */
HPK_API hpk_status hpk_graph_compile(const hpk_graph *graph,
                                     const hpk_graph_compile_options *options,
                                     hpk_graph_exec **exec_out);

/*
 * hpk_graph_exec_arena_size - the bytes of arena a run needs (what a run without a caller
 * arena allocates, and the least arena_size a caller's arena must have).
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL argument.
 */
HPK_API hpk_status hpk_graph_exec_arena_size(const hpk_graph_exec *exec, size_t *bytes_out);

/*
 * hpk_graph_memory_stats - how well the arena was planned, all in bytes (each tensor rounded
 * up to 64 bytes):
 *   naive        the sum of the sizes of every tensor the nodes produce (one buffer each,
 *                a reshape's view and an output written in place included; slices of a
 *                concatenation written in place excluded);
 *   arena        the arena the plan needs;
 *   lower_bound  the largest total of tensors live at once in the execution order (an
 *                output written in place of an input and that input counted once): no
 *                placement can use less (arena >= lower_bound).
 */
typedef struct hpk_graph_memory_stats {
    size_t naive, arena, lower_bound;
} hpk_graph_memory_stats;

/* hpk_graph_exec_memory_stats - the figures above. Returns HPK_OK or HPK_ERR_INVALID_ARG for
 * a NULL argument. */
HPK_API hpk_status hpk_graph_exec_memory_stats(const hpk_graph_exec *exec,
                                               hpk_graph_memory_stats *stats_out);

/* hpk_graph_exec_node_count - the nodes an executable runs, after the passes.
 * Returns HPK_OK or HPK_ERR_INVALID_ARG for a NULL argument. */
HPK_API hpk_status hpk_graph_exec_node_count(const hpk_graph_exec *exec, size_t *count_out);

/*
 * hpk_graph_node_info - one compiled node:
 *   op        its operation;
 *   algo      for HPK_GRAPH_OP_CONV2D, the algorithm hpk_conv2d_algorithm chose for its input
 *             shape; HPK_CONV_AUTO for other ops;
 *   act       the activation fused into it (HPK_ACT_NONE for none; for
 *             HPK_GRAPH_OP_ACTIVATION the node's own);
 *   residual  nonzero when a residual add was fused into it;
 *   folded_bn the number of batch-norm nodes folded into it;
 *   concat_in_place  for HPK_GRAPH_OP_CONCAT, how many of its inputs their producers
 *             (convolutions, fully-connected nodes) write straight into the concatenation,
 *             through the output pixel stride, instead of the concat copying them;
 *   in_place  nonzero when the node allocates nothing: it writes its output over an input
 *             that dies there (elementwise nodes; a convolution or fully-connected node over
 *             its fused residual), or it is a reshape whose output is a view of its input.
 */
typedef struct hpk_graph_node_info {
    hpk_graph_op op;
    hpk_conv_algo algo;
    hpk_activation act;
    int residual;
    size_t folded_bn;
    size_t concat_in_place;
    int in_place;
} hpk_graph_node_info;

/*
 * hpk_graph_exec_node_info - the index-th node in execution order (index < node count).
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL argument or index out of range.
 */
HPK_API hpk_status hpk_graph_exec_node_info(const hpk_graph_exec *exec, size_t index,
                                            hpk_graph_node_info *info_out);

/*
 * hpk_graph_exec_run - runs the graph once.
 *
 *   exec        the executable.
 *   inputs      one pointer per graph input, in definition order, each to its dense tensor;
 *               only read. May be NULL when the graph has no input.
 *   outputs     one pointer per graph output, in marking order, each to room for its dense
 *               tensor; not overlapping any input.
 *   arena       NULL: the run allocates its arena (hpk_graph_exec_arena_size bytes) and frees
 *               it before returning; else the caller's memory, aligned to 64 bytes, of
 *               arena_size >= hpk_graph_exec_arena_size bytes, used by this run only (runs at
 *               the same time need distinct arenas). Nothing else is allocated by the graph
 *               (the operators use their cached workspace, see hpk_release_cached_memory).
 *
 * The outputs are written only at the end, after every node succeeded: a failed run leaves
 * them untouched. Any number of runs of one executable may proceed at once from different
 * threads; the results do not depend on that or on the thread count.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for exec NULL, inputs or outputs NULL (or one of their
 * pointers NULL) where the graph has some, an arena misaligned or smaller than needed;
 * HPK_ERR_NOMEM if the arena or an operator's workspace cannot be allocated; what an
 * operator's run returns (HPK_ERR_UNSUPPORTED for a bad HPK_* override).
 */
HPK_API hpk_status hpk_graph_exec_run(const hpk_graph_exec *exec, const float *const *inputs,
                                      float *const *outputs, void *arena, size_t arena_size);

/* hpk_graph_exec_destroy - frees an executable and its operators; NULL is a no-op. No run may
 * be in progress. */
HPK_API void hpk_graph_exec_destroy(hpk_graph_exec *exec);

#ifdef __cplusplus
}
#endif

#endif /* HPK_GRAPH_H */
