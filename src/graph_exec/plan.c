/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Arena planning: greedy placement of buffers with live intervals (Pisarchyk & Lee, "Efficient
 * Memory Management for Deep Neural Net Inference", 2020). Buffers are taken one by one; each
 * goes into a gap between the placed buffers whose intervals intersect its own, or above them.
 * The baseline is TFLite's greedy by size: largest first, each at the lowest offset that fits
 * (a large buffer placed late finds no hole and grows the arena, while small ones fill the holes
 * the large ones leave). The same placement is also tried with the smallest gap that fits (best
 * fit), and in order of first use, and by size times lifetime; the smallest arena wins, the
 * baseline on ties, so the plan is never larger than greedy by size. O(n^2 log n) a strategy,
 * for graphs of hundreds of tensors.
 */
#include "config.h"

#include <stdlib.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/graph_exec/graph_ir.h"

/* qsort has no context argument in C11: sort indices with their keys packed alongside. */
struct keyed {
    size_t key, key2, index;
};

/* key descending, then key2 ascending, then index: deterministic plans */
static int by_key_desc(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    if (a->key2 != b->key2)
        return a->key2 < b->key2 ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_offset(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb; /* key: the offset, key2: the end */
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->key2 < b->key2 ? -1 : a->key2 > b->key2;
}

/* Places the buffers in the order of order[] (first fit or best fit); returns the arena size,
 * or SIZE_MAX on overflow. */
static size_t place(size_t n, const struct keyed *order, const size_t *rounded, const size_t *first,
                    const size_t *last, int best_fit, struct keyed *busy, size_t *offsets)
{
    size_t arena = 0;
    for (size_t k = 0; k < n; k++) {
        const size_t i = order[k].index;
        /* The placed buffers live at the same time as i, by offset. */
        size_t nb = 0;
        for (size_t q = 0; q < k; q++) {
            const size_t j = order[q].index;
            if (first[j] <= last[i] && first[i] <= last[j]) {
                busy[nb].key = offsets[j];
                busy[nb].key2 = offsets[j] + rounded[j];
                busy[nb].index = j;
                nb++;
            }
        }
        qsort(busy, nb, sizeof *busy, by_offset);
        size_t at = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
        for (size_t q = 0; q < nb; q++) {
            if (busy[q].key >= at && busy[q].key - at >= rounded[i]) {
                const size_t gap = busy[q].key - at; /* the gap before busy[q] holds it */
                if (!best_fit) {
                    best = at;
                    break;
                }
                if (gap < best_gap)
                    best_gap = gap, best = at;
            }
            at = hpk_max_size(at, busy[q].key2);
        }
        offsets[i] = best != SIZE_MAX ? best : at; /* else above every placed one */
        size_t end;
        if (hpk_add_overflow(offsets[i], rounded[i], &end))
            return SIZE_MAX;
        arena = hpk_max_size(arena, end);
    }
    return arena;
}

hpk_status graph_plan_arena(size_t n, const size_t *sizes, const size_t *first, const size_t *last,
                            size_t *offsets, size_t *arena_out, size_t *naive_out,
                            size_t *lower_out)
{
    hpk_status st = HPK_ERR_NOMEM;
    struct keyed *order = NULL, *busy = NULL;
    size_t *rounded = NULL, *step_bytes = NULL, *trial = NULL;
    size_t naive = 0, arena = 0, lower = 0, steps = 0;
    if (n == 0)
        goto done;
    order = hpk_aligned_alloc(n * sizeof *order);
    busy = hpk_aligned_alloc(n * sizeof *busy);
    rounded = hpk_aligned_alloc(n * sizeof *rounded);
    trial = hpk_aligned_alloc(n * sizeof *trial);
    if (!order || !busy || !rounded || !trial)
        goto error;
    for (size_t i = 0; i < n; i++) {
        if (hpk_round_up_overflow(sizes[i], HPK_ALIGNMENT, &rounded[i]) ||
            hpk_add_overflow(naive, rounded[i], &naive)) {
            st = HPK_ERR_OVERFLOW;
            goto error;
        }
        steps = hpk_max_size(steps, last[i] + 1);
    }
    arena = SIZE_MAX;
    /* strategies: 0 size first fit (the baseline), 1 size best fit, 2 first use best fit,
     * 3 size x lifetime best fit */
    for (int s = 0; s < 4; s++) {
        for (size_t i = 0; i < n; i++) {
            const size_t life = last[i] - first[i] + 1, cap = SIZE_MAX / life;
            order[i].index = i;
            order[i].key = s == 2   ? SIZE_MAX - first[i]
                           : s == 3 ? (rounded[i] < cap ? rounded[i] * life : SIZE_MAX)
                                    : rounded[i];
            order[i].key2 = s == 2 ? SIZE_MAX - rounded[i] : 0;
        }
        qsort(order, n, sizeof *order, by_key_desc);
        const size_t a = place(n, order, rounded, first, last, s != 0, busy, trial);
        if (a == SIZE_MAX && s == 0) {
            st = HPK_ERR_OVERFLOW;
            goto error;
        }
        if (a < arena) {
            arena = a;
            for (size_t i = 0; i < n; i++)
                offsets[i] = trial[i];
        }
    }
    /* The lower bound: the most bytes live at one step (sizes sum without overflow: naive). */
    step_bytes = hpk_aligned_alloc(steps * sizeof *step_bytes);
    if (!step_bytes)
        goto error;
    for (size_t s = 0; s < steps; s++)
        step_bytes[s] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t s = first[i]; s <= last[i]; s++)
            step_bytes[s] += rounded[i];
    for (size_t s = 0; s < steps; s++)
        lower = hpk_max_size(lower, step_bytes[s]);
done:
    *arena_out = arena;
    *naive_out = naive;
    *lower_out = lower;
    st = HPK_OK;
error:
    hpk_free(order);
    hpk_free(busy);
    hpk_free(rounded);
    hpk_free(trial);
    hpk_free(step_bytes);
    return st;
}
