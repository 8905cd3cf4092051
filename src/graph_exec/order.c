/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Execution order: the topological order of least peak memory, exactly by dynamic programming
 * over the sets of scheduled nodes where the graph allows (Ahn et al., "Ordering Chaos:
 * Memory-Aware Scheduling of Irregularly Wired Neural Networks for Edge Devices", MLSys 2020),
 * and by a beam search over the same sets beyond that.
 *
 * The memory live after a set S of nodes has run depends on S only, not on the order within
 * it: a tensor is live once one of its writers ran, until all its readers ran (graph outputs
 * never die). So the least peak over orders reaching S, best(S), obeys
 *     best(S + v) = min over v of max(best(S), mem(S) + bytes v allocates)
 * over the nodes v whose dependencies are all in S. A node allocates the tensors it writes
 * first, except an output it writes in place of an input whose last reader it is (S + v holds
 * every reader of that input): that one takes over the input's buffer and costs nothing. The
 * sets are visited level by level (|S| = 0, 1, ..., n), each level deduplicated in a hash
 * table. Kept whole, the levels are the exact dynamic programme; its cost is the number of
 * downward-closed node sets, small for the chains and few branches of real networks and
 * exponential for wide ones, so a total budget of states stops it (HPK_ERR_UNSUPPORTED).
 * Cut to the `width` best sets of each level, by (peak so far, memory now), the same search is
 * a beam: width 1 is the greedy that runs next the ready node that raises the peak least, then
 * leaves the least memory live (frees the most, allocates the least). A beam whose levels never
 * exceeded its width kept every set and is exact too.
 *
 * Among sets of equal peak the first one reached wins (sets in the order they were reached,
 * nodes by index), so every result is deterministic.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/graph_exec/graph_ir.h"

/* The problem in the shapes the search reads: bit sets of nodes (w words each) per node's
 * dependencies and per tensor's writers and readers; per node, the tensors it touches and its
 * in-place pairs. */
struct prep {
    size_t n, nt, w;
    uint64_t *deps, *wr, *rd; /* [n][w], [nt][w], [nt][w] */
    size_t *touch_start;      /* [n + 1] */
    uint32_t *touch;          /* tensors read or written by each node, each once */
    size_t *ip_start;         /* [n + 1] */
    uint32_t (*ip)[2];        /* {x, y} per node */
    const size_t *size;
    const unsigned char *keep;
};

static void prep_free(struct prep *q)
{
    hpk_free(q->deps);
    hpk_free(q->wr);
    hpk_free(q->rd);
    hpk_free(q->touch_start);
    hpk_free(q->touch);
    hpk_free(q->ip_start);
    hpk_free(q->ip);
}

static void set_bit(uint64_t *b, size_t i)
{
    b[i / 64] |= (uint64_t)1 << (i % 64);
}

static int has_bit(const uint64_t *b, size_t i)
{
    return (int)((b[i / 64] >> (i % 64)) & 1);
}

static hpk_status prep_init(const struct graph_order_problem *p, struct prep *q)
{
    memset(q, 0, sizeof *q);
    const size_t n = p->n_nodes, nt = p->n_tensors, w = (n + 63) / 64;
    q->n = n;
    q->nt = nt;
    q->w = w;
    q->size = p->size;
    q->keep = p->keep;
    for (size_t i = 0; i < p->n_deps; i++)
        if (p->deps[i][0] >= n || p->deps[i][1] >= n)
            return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < p->n_writes; i++)
        if (p->writes[i][0] >= n || p->writes[i][1] >= nt)
            return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < p->n_reads; i++)
        if (p->reads[i][0] >= n || p->reads[i][1] >= nt)
            return HPK_ERR_INVALID_ARG;
    for (size_t i = 0; i < p->n_inplace; i++)
        if (p->inplace[i][0] >= n || p->inplace[i][1] >= nt || p->inplace[i][2] >= nt)
            return HPK_ERR_INVALID_ARG;
    q->deps = hpk_aligned_alloc(n * w * sizeof(uint64_t) + 1);
    q->wr = hpk_aligned_alloc(nt * w * sizeof(uint64_t) + 1);
    q->rd = hpk_aligned_alloc(nt * w * sizeof(uint64_t) + 1);
    q->touch_start = hpk_aligned_alloc((n + 1) * sizeof(size_t));
    q->touch = hpk_aligned_alloc((p->n_reads + p->n_writes) * sizeof(uint32_t) + 1);
    q->ip_start = hpk_aligned_alloc((n + 1) * sizeof(size_t));
    q->ip = hpk_aligned_alloc(p->n_inplace * sizeof *q->ip + 1);
    uint32_t *mark = hpk_aligned_alloc(nt * sizeof(uint32_t) + 1);
    if (!q->deps || !q->wr || !q->rd || !q->touch_start || !q->touch || !q->ip_start || !q->ip ||
        !mark) {
        hpk_free(mark);
        return HPK_ERR_NOMEM;
    }
    memset(q->deps, 0, n * w * sizeof(uint64_t));
    memset(q->wr, 0, nt * w * sizeof(uint64_t));
    memset(q->rd, 0, nt * w * sizeof(uint64_t));
    for (size_t i = 0; i < p->n_deps; i++)
        set_bit(q->deps + p->deps[i][1] * w, p->deps[i][0]);
    for (size_t i = 0; i < p->n_writes; i++)
        set_bit(q->wr + p->writes[i][1] * w, p->writes[i][0]);
    for (size_t i = 0; i < p->n_reads; i++)
        set_bit(q->rd + p->reads[i][1] * w, p->reads[i][0]);
    /* touch lists: per node, every tensor it reads or writes, once (mark: last node + 1) */
    for (size_t t = 0; t < nt; t++)
        mark[t] = 0;
    size_t k = 0;
    for (size_t v = 0; v < n; v++) {
        q->touch_start[v] = k;
        for (size_t t = 0; t < nt; t++) {
            if ((has_bit(q->wr + t * w, v) || has_bit(q->rd + t * w, v)) &&
                mark[t] != (uint32_t)(v + 1)) {
                mark[t] = (uint32_t)(v + 1);
                q->touch[k++] = (uint32_t)t;
            }
        }
    }
    q->touch_start[n] = k;
    hpk_free(mark);
    /* in-place pairs grouped by node (counting sort keeps their given order) */
    for (size_t v = 0; v <= n; v++)
        q->ip_start[v] = 0;
    for (size_t i = 0; i < p->n_inplace; i++)
        q->ip_start[p->inplace[i][0] + 1]++;
    for (size_t v = 0; v < n; v++)
        q->ip_start[v + 1] += q->ip_start[v];
    for (size_t v = 0; v < n; v++) {
        size_t at = q->ip_start[v];
        for (size_t i = 0; i < p->n_inplace; i++)
            if (p->inplace[i][0] == v) {
                q->ip[at][0] = p->inplace[i][1];
                q->ip[at][1] = p->inplace[i][2];
                at++;
            }
    }
    return HPK_OK;
}

static int intersects(const uint64_t *a, const uint64_t *set, size_t w)
{
    for (size_t i = 0; i < w; i++)
        if (a[i] & set[i])
            return 1;
    return 0;
}

/* a is a subset of set + node v */
static int within(const uint64_t *a, const uint64_t *set, size_t w, size_t v)
{
    for (size_t i = 0; i < w; i++) {
        uint64_t r = a[i] & ~set[i];
        if (i == v / 64)
            r &= ~((uint64_t)1 << (v % 64));
        if (r)
            return 0;
    }
    return 1;
}

/* Runs v after the set `set` (mem bytes live): the bytes v allocates and the bytes live after
 * it. */
static void step(const struct prep *q, const uint64_t *set, size_t mem, size_t v, size_t *alloc_out,
                 size_t *mem_out)
{
    const size_t w = q->w;
    size_t alloc = 0, add = 0, sub = 0;
    for (size_t k = q->touch_start[v]; k < q->touch_start[v + 1]; k++) {
        const size_t t = q->touch[k];
        const uint64_t *wr = q->wr + t * w, *rd = q->rd + t * w;
        const int written = intersects(wr, set, w), writes = has_bit(wr, v);
        const int live_before = written && (q->keep[t] || !within(rd, set, w, SIZE_MAX));
        const int live_after = (written || writes) && (q->keep[t] || !within(rd, set, w, v));
        if (writes && !written) {
            int in_place = 0;
            for (size_t i = q->ip_start[v]; i < q->ip_start[v + 1] && !in_place; i++) {
                const size_t x = q->ip[i][0];
                in_place = q->ip[i][1] == t && !q->keep[x] && intersects(q->wr + x * w, set, w) &&
                           within(q->rd + x * w, set, w, v);
            }
            alloc += in_place ? 0 : q->size[t];
        }
        add += live_after ? q->size[t] : 0;
        sub += live_before ? q->size[t] : 0;
    }
    *alloc_out = alloc;
    *mem_out = mem + add - sub;
}

hpk_status graph_order_peak(const struct graph_order_problem *p, const uint32_t *order,
                            size_t *peak_out)
{
    struct prep q;
    hpk_status st = prep_init(p, &q);
    uint64_t *set = hpk_aligned_alloc(q.w * sizeof(uint64_t) + 1);
    if (st == HPK_OK && !set)
        st = HPK_ERR_NOMEM;
    if (st != HPK_OK)
        goto out;
    memset(set, 0, q.w * sizeof(uint64_t));
    size_t mem = 0, peak = 0;
    for (size_t k = 0; k < q.n; k++) {
        const size_t v = order[k];
        if (v >= q.n || has_bit(set, v) || !within(q.deps + v * q.w, set, q.w, SIZE_MAX)) {
            st = HPK_ERR_INVALID_ARG;
            goto out;
        }
        size_t alloc, next;
        step(&q, set, mem, v, &alloc, &next);
        peak = hpk_max_size(peak, mem + alloc);
        mem = next;
        set_bit(set, v);
    }
    *peak_out = peak;
out:
    hpk_free(set);
    prep_free(&q);
    return st;
}

struct state {
    size_t peak, mem;
    size_t parent; /* index of the state it came from, in the previous level */
    uint32_t last; /* the node added last */
};

static size_t hash_set(const uint64_t *b, size_t w)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < w; i++) {
        uint64_t x = b[i] ^ h;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        h = x + i;
    }
    return (size_t)h;
}

/* qsort has no context argument in C11: the keys are copied beside the index. */
struct ranked {
    size_t peak, mem, index;
};

static int by_rank(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->peak != b->peak)
        return a->peak < b->peak ? -1 : 1;
    if (a->mem != b->mem)
        return a->mem < b->mem ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_index(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    return a->index < b->index ? -1 : a->index > b->index;
}

hpk_status graph_order_search(const struct graph_order_problem *p, size_t width, size_t max_states,
                              uint32_t *order_out, size_t *peak_out, int *exact_out)
{
    const size_t n = p->n_nodes;
    *exact_out = 1;
    if (n == 0) {
        *peak_out = 0;
        return HPK_OK;
    }
    if (width == 0 || max_states < 2)
        return HPK_ERR_INVALID_ARG;
    struct prep q;
    hpk_status st = prep_init(p, &q);
    struct state *states = NULL;
    uint64_t *sets = NULL;
    size_t *start = NULL, *table = NULL;
    uint32_t *stamp = NULL;
    struct ranked *rank = NULL;
    uint64_t *next = NULL; /* a candidate set */
    if (st != HPK_OK)
        goto out;
    st = HPK_ERR_NOMEM;
    const size_t w = q.w;
    size_t table_size = 16, set_bytes;
    while (table_size < 2 * max_states)
        table_size *= 2;
    if (hpk_mul_overflow(max_states, w * sizeof(uint64_t), &set_bytes))
        goto out;
    /* all states of all levels, one array; level k occupies [start[k], start[k + 1]) */
    states = hpk_aligned_alloc(max_states * sizeof *states);
    sets = hpk_aligned_alloc(set_bytes);
    start = hpk_aligned_alloc((n + 2) * sizeof *start);
    table = hpk_aligned_alloc(table_size * sizeof *table);
    stamp = hpk_aligned_alloc(table_size * sizeof *stamp);
    rank = hpk_aligned_alloc(max_states * sizeof *rank);
    next = hpk_aligned_alloc(w * sizeof(uint64_t));
    if (!states || !sets || !start || !table || !stamp || !rank || !next)
        goto out;
    for (size_t i = 0; i < table_size; i++)
        stamp[i] = 0;
    states[0] = (struct state){0, 0, 0, 0};
    memset(sets, 0, w * sizeof(uint64_t));
    start[0] = 0;
    start[1] = 1;
    size_t count = 1;
    for (size_t level = 0; level < n; level++) {
        const uint32_t gen = (uint32_t)level + 1;
        for (size_t si = start[level]; si < start[level + 1]; si++) {
            const struct state s = states[si];
            const uint64_t *set = sets + si * w;
            for (uint32_t v = 0; v < n; v++) {
                if (has_bit(set, v) || !within(q.deps + (size_t)v * w, set, w, SIZE_MAX))
                    continue;
                size_t alloc, mem;
                step(&q, set, s.mem, v, &alloc, &mem);
                const size_t peak = hpk_max_size(s.peak, s.mem + alloc);
                memcpy(next, set, w * sizeof(uint64_t));
                set_bit(next, v);
                size_t h = hash_set(next, w) & (table_size - 1);
                while (stamp[h] == gen && memcmp(sets + table[h] * w, next, w * sizeof(uint64_t)))
                    h = (h + 1) & (table_size - 1);
                if (stamp[h] != gen) {
                    if (count == max_states) {
                        st = HPK_ERR_UNSUPPORTED;
                        goto out;
                    }
                    memcpy(sets + count * w, next, w * sizeof(uint64_t));
                    stamp[h] = gen;
                    table[h] = count;
                    states[count++] = (struct state){peak, mem, si, v};
                } else if (peak < states[table[h]].peak) {
                    struct state *d = &states[table[h]];
                    d->peak = peak;
                    d->parent = si;
                    d->last = v;
                }
            }
        }
        const size_t c0 = start[level + 1], m = count - c0;
        if (m == 0) { /* unsatisfiable dependencies: a bug */
            st = HPK_ERR_INTERNAL;
            goto out;
        }
        if (m > width) { /* the beam: keep the width best, in the order they were reached */
            *exact_out = 0;
            for (size_t i = 0; i < m; i++)
                rank[i] = (struct ranked){states[c0 + i].peak, states[c0 + i].mem, c0 + i};
            qsort(rank, m, sizeof *rank, by_rank);
            qsort(rank, width, sizeof *rank, by_index);
            for (size_t i = 0; i < width; i++) { /* rank[i].index >= c0 + i: moves down only */
                states[c0 + i] = states[rank[i].index];
                memmove(sets + (c0 + i) * w, sets + rank[i].index * w, w * sizeof(uint64_t));
            }
            count = c0 + width;
        }
        start[level + 2] = count;
    }
    /* the last level holds the one full set */
    size_t si = start[n];
    *peak_out = states[si].peak;
    for (size_t k = n; k-- > 0;) {
        order_out[k] = states[si].last;
        si = states[si].parent;
    }
    st = HPK_OK;
out:
    hpk_free(states);
    hpk_free(sets);
    hpk_free(start);
    hpk_free(table);
    hpk_free(stamp);
    hpk_free(rank);
    hpk_free(next);
    prep_free(&q);
    return st;
}

hpk_status graph_order_plan(const struct graph_order_problem *p, size_t dp_states,
                            size_t beam_states, uint32_t *order_out, size_t *peak_out,
                            enum graph_order_method *method_out)
{
    const size_t n = p->n_nodes;
    for (size_t k = 0; k < n; k++)
        order_out[k] = (uint32_t)k;
    size_t def_peak, peak;
    hpk_status st = graph_order_peak(p, order_out, &def_peak);
    if (st != HPK_OK)
        return st == HPK_ERR_INVALID_ARG ? HPK_ERR_INTERNAL : st; /* index order is topological */
    *peak_out = def_peak;
    *method_out = GRAPH_ORDER_DEFINITION;
    if (n < 2)
        return HPK_OK;
    uint32_t *order = hpk_aligned_alloc(n * sizeof *order);
    if (!order)
        return HPK_ERR_NOMEM;
    int exact;
    enum graph_order_method method = GRAPH_ORDER_DP;
    st = graph_order_search(p, SIZE_MAX, dp_states, order, &peak, &exact);
    if (st == HPK_ERR_UNSUPPORTED) {
        /* Two levels' worth of states per level kept: the children of the kept sets and the
         * kept sets themselves, over n levels, fit the budget. */
        const size_t width = hpk_max_size(1, beam_states / (2 * n + 2));
        method = GRAPH_ORDER_BEAM;
        st = graph_order_search(p, width, hpk_max_size(beam_states, 2 * n + 2), order, &peak,
                                &exact);
        if (st == HPK_OK && exact)
            method = GRAPH_ORDER_DP;
    }
    if (st == HPK_OK && (method == GRAPH_ORDER_DP || peak < def_peak)) {
        memcpy(order_out, order, n * sizeof *order);
        *peak_out = peak;
        *method_out = method;
    }
    hpk_free(order);
    return st;
}
