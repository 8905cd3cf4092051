/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "src/base/alloc.h"

static long fail_after = -1;
static atomic_long live; /* blocks from hpk_aligned_alloc not yet given to hpk_free */

long hpk_alloc_live(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

long hpk_alloc_fail_after(long n)
{
    long old = fail_after;
    fail_after = n;
    return old;
}

void *hpk_aligned_alloc(size_t size)
{
    if (size == 0)
        return NULL;
    if (fail_after >= 0) {
        if (fail_after == 0)
            return NULL;
        fail_after--;
    }
    void *p = NULL;
    if (posix_memalign(&p, HPK_ALIGNMENT, size) != 0)
        return NULL;
    atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void hpk_free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    free(p);
}
