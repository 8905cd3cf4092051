/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Arena planning: greedy by size (Pisarchyk & Lee, "Efficient Memory Management for Deep
 * Neural Net Inference", 2020). Buffers are taken largest first; each goes to the lowest
 * offset at which it overlaps no buffer already placed whose live interval intersects its own.
 * Largest first because a large buffer placed late finds no hole and grows the arena, while
 * small ones fill the holes the large ones leave. O(n^2 log n), for graphs of hundreds of
 * tensors.
 */
#include "config.h"

#include <stdlib.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/graph_exec/graph_ir.h"

/* qsort has no context argument in C11: sort indices with their size packed alongside. */
struct keyed {
    size_t size, index;
};

static int by_size_desc(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index; /* stable: deterministic plans */
}

static int by_offset(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb; /* here size holds the offset, index the end */
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

hpk_status graph_plan_arena(size_t n, const size_t *sizes, const size_t *first, const size_t *last,
                            size_t *offsets, size_t *arena_out, size_t *naive_out,
                            size_t *lower_out)
{
    hpk_status st = HPK_ERR_NOMEM;
    struct keyed *order = NULL, *busy = NULL;
    size_t *rounded = NULL, *step_bytes = NULL;
    size_t naive = 0, arena = 0, lower = 0, steps = 0;
    if (n == 0)
        goto done;
    order = hpk_aligned_alloc(n * sizeof *order);
    busy = hpk_aligned_alloc(n * sizeof *busy);
    rounded = hpk_aligned_alloc(n * sizeof *rounded);
    if (!order || !busy || !rounded)
        goto error;
    for (size_t i = 0; i < n; i++) {
        if (hpk_round_up_overflow(sizes[i], HPK_ALIGNMENT, &rounded[i]) ||
            hpk_add_overflow(naive, rounded[i], &naive)) {
            st = HPK_ERR_OVERFLOW;
            goto error;
        }
        order[i].size = rounded[i];
        order[i].index = i;
        steps = hpk_max_size(steps, last[i] + 1);
    }
    qsort(order, n, sizeof *order, by_size_desc);
    for (size_t k = 0; k < n; k++) {
        const size_t i = order[k].index;
        /* The placed buffers live at the same time as i, by offset. */
        size_t nb = 0;
        for (size_t q = 0; q < k; q++) {
            const size_t j = order[q].index;
            if (first[j] <= last[i] && first[i] <= last[j]) {
                busy[nb].size = offsets[j];
                busy[nb].index = offsets[j] + rounded[j];
                nb++;
            }
        }
        qsort(busy, nb, sizeof *busy, by_offset);
        size_t at = 0;
        for (size_t q = 0; q < nb; q++) {
            if (busy[q].size >= at && busy[q].size - at >= rounded[i])
                break; /* the gap before busy[q] holds it */
            at = hpk_max_size(at, busy[q].index);
        }
        offsets[i] = at;
        size_t end;
        if (hpk_add_overflow(at, rounded[i], &end)) {
            st = HPK_ERR_OVERFLOW;
            goto error;
        }
        arena = hpk_max_size(arena, end);
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
    hpk_free(step_bytes);
    return st;
}
