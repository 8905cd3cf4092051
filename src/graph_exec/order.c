/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Execution order: the topological order of least peak memory, exactly, by dynamic
 * programming over the sets of scheduled nodes (Ahn et al., "Ordering Chaos: Memory-Aware
 * Scheduling of Irregularly Wired Neural Networks for Edge Devices", MLSys 2020).
 *
 * The memory live after a set S of nodes has run depends on S only, not on the order within
 * it: a tensor is live once one of its writers ran, until all its readers ran (graph outputs
 * never die). So the least peak over orders reaching S, best(S), obeys
 *     best(S + v) = min over v of max(best(S), mem(S) + bytes v allocates)
 * over the nodes v whose dependencies are all in S. The sets are visited level by level
 * (|S| = 0, 1, ..., n), each level in a hash table; the number of sets is the number of
 * downward-closed node sets, small for the chains and few branches of real networks and
 * exponential for wide ones: past max_states the search gives up (HPK_ERR_UNSUPPORTED) and the
 * caller keeps the definition order. Among orders of equal peak the first one found wins
 * (sets in the order they were reached, nodes by index), so the result is deterministic.
 */
#include "config.h"

#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/graph_exec/graph_ir.h"

struct state {
    uint64_t set;
    size_t peak, mem;
    size_t parent; /* index of the state it came from, in the previous level */
    uint32_t last; /* the node added last */
};

static int is_live(const struct graph_order_problem *p, size_t t, uint64_t set)
{
    return (p->writers[t] & set) != 0 && (p->keep[t] || (p->readers[t] & ~set) != 0);
}

static size_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

hpk_status graph_order_dp(const struct graph_order_problem *p, size_t max_states,
                          uint32_t *order_out, size_t *peak_out)
{
    const size_t n = p->n_nodes;
    if (n == 0 || n > 64)
        return n == 0 ? HPK_OK : HPK_ERR_UNSUPPORTED;
    hpk_status st = HPK_ERR_NOMEM;
    /* all states of all levels, one array; level k occupies [start[k], start[k + 1]) */
    struct state *states = hpk_aligned_alloc(max_states * sizeof *states);
    size_t *start = hpk_aligned_alloc((n + 2) * sizeof *start);
    size_t table_size = 16;
    while (table_size < 2 * max_states)
        table_size *= 2;
    size_t *table = hpk_aligned_alloc(table_size * sizeof *table);
    if (!states || !start || !table)
        goto out;
    states[0] = (struct state){0, 0, 0, 0, 0};
    start[0] = 0;
    start[1] = 1;
    size_t count = 1;
    for (size_t level = 0; level < n; level++) {
        for (size_t i = 0; i < table_size; i++)
            table[i] = SIZE_MAX;
        for (size_t si = start[level]; si < start[level + 1]; si++) {
            const struct state s = states[si];
            for (uint32_t v = 0; v < n; v++) {
                const uint64_t bit = (uint64_t)1 << v;
                if ((s.set & bit) || (p->deps[v] & ~s.set))
                    continue;
                const uint64_t next = s.set | bit;
                size_t alloc = 0, mem = s.mem;
                for (size_t t = 0; t < p->n_tensors; t++) {
                    if (!((p->writers[t] | p->readers[t]) & bit))
                        continue;
                    if ((p->writers[t] & bit) && !(p->writers[t] & s.set))
                        alloc += p->size[t];
                    mem += is_live(p, t, next) ? p->size[t] : 0;
                    mem -= is_live(p, t, s.set) ? p->size[t] : 0;
                }
                const size_t peak = hpk_max_size(s.peak, s.mem + alloc);
                size_t h = hash64(next) & (table_size - 1);
                while (table[h] != SIZE_MAX && states[table[h]].set != next)
                    h = (h + 1) & (table_size - 1);
                if (table[h] == SIZE_MAX) {
                    if (count == max_states) {
                        st = HPK_ERR_UNSUPPORTED;
                        goto out;
                    }
                    table[h] = count;
                    states[count++] = (struct state){next, peak, mem, si, v};
                } else if (peak < states[table[h]].peak) {
                    struct state *d = &states[table[h]];
                    d->peak = peak;
                    d->parent = si;
                    d->last = v;
                }
            }
        }
        start[level + 2] = count;
        if (start[level + 2] == start[level + 1]) { /* unsatisfiable dependencies: a bug */
            st = HPK_ERR_INTERNAL;
            goto out;
        }
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
    hpk_free(start);
    hpk_free(table);
    return st;
}
