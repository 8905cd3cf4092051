/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include "src/base/parallel.h"

size_t hpk_parallel_slots(void) { return 1; }

void hpk_parallel_for(size_t n_tasks, hpk_task_fn fn, void *ctx)
{
    for (size_t t = 0; t < n_tasks; t++)
        fn(ctx, t, 0);
}
