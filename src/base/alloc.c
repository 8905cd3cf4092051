/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>

#include "src/base/alloc.h"

static long fail_after = -1;

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
    return p;
}

void hpk_free(void *p) { free(p); }
