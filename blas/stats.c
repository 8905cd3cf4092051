/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What libhpk_blas did, for a user who wonders whether hpk computed their program's GEMMs.
 *
 * With HPK_VERBOSE=1 (libhpk then logs its decisions at the first call) this library says on
 * stderr that it was loaded, and at exit how many calls of each entry point hpk computed, how
 * many were quick returns (nothing to compute) and how many were invalid. Calls are counted
 * only in verbose mode, so a normal run pays one load of a flag per call and no shared-counter
 * traffic between threads. Failures of hpk_sgemm, which the BLAS interface cannot report to the
 * caller, are always counted and reported: the first when it happens, the total at exit.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpk/hpk.h>

#include "blas/blas.h"

static int verbose; /* set once, before main, by the constructor */
static atomic_ulong counts[2][HPK_BLAS_OUTCOMES];
static atomic_ulong failures[2];

static const char *const entry_name[2] = {"sgemm_", "cblas_sgemm"};

/* HPK_VERBOSE as libhpk reads it: set, non-empty and not "0". */
static int read_verbose(void)
{
    const char *v = getenv("HPK_VERBOSE");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void stats_init(void)
{
    verbose = read_verbose();
    if (verbose)
        fprintf(stderr, "hpk_blas: libhpk_blas loaded: sgemm_ and cblas_sgemm run on hpk %s\n",
                hpk_version());
}

__attribute__((destructor)) static void stats_report(void)
{
    for (int e = 0; e < 2; e++) {
        unsigned long failed = atomic_load_explicit(&failures[e], memory_order_relaxed);
        if (!verbose && failed == 0)
            continue;
        unsigned long c[HPK_BLAS_OUTCOMES], total = 0;
        for (int o = 0; o < HPK_BLAS_OUTCOMES; o++) {
            c[o] = atomic_load_explicit(&counts[e][o], memory_order_relaxed);
            total += c[o];
        }
        if (!verbose) {
            fprintf(stderr, "hpk_blas: %s: %lu calls failed in hpk_sgemm (C left unchanged)\n",
                    entry_name[e], failed);
            continue;
        }
        fprintf(stderr,
                "hpk_blas: %s: %lu calls: %lu computed by hpk, %lu quick returns, %lu invalid, "
                "%lu failed\n",
                entry_name[e], total, c[HPK_BLAS_COMPUTED], c[HPK_BLAS_QUICK], c[HPK_BLAS_INVALID],
                c[HPK_BLAS_FAILED]);
    }
}

void hpk_blas_count(enum hpk_blas_entry entry, enum hpk_blas_outcome outcome)
{
    if (outcome == HPK_BLAS_FAILED)
        atomic_fetch_add_explicit(&failures[entry], 1, memory_order_relaxed);
    if (verbose)
        atomic_fetch_add_explicit(&counts[entry][outcome], 1, memory_order_relaxed);
}

void hpk_blas_report_failure(enum hpk_blas_entry entry, int status)
{
    static atomic_int reported;
    if (atomic_exchange_explicit(&reported, 1, memory_order_relaxed) == 0)
        fprintf(stderr,
                "hpk_blas: %s: hpk_sgemm failed: %s; C is unchanged (further failures are "
                "counted and reported at exit)\n",
                entry_name[entry], hpk_status_string((hpk_status)status));
}
