/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher: a description of the machine, built once, and the choices derived from it
 * (kernel table, blocking per GEMM record). Operators ask here; nothing outside src/dispatch
 * tests a CPU feature.
 */
#ifndef HPK_DISPATCH_H
#define HPK_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "hpk/common.h"
#include "src/base/ukernel.h"

/* struct hpk_machine.features */
#define HPK_FEAT_SSE2 (1u << 0)
#define HPK_FEAT_AVX (1u << 1)     /* cpuid AVX and ymm state enabled by the OS (XCR0) */
#define HPK_FEAT_FMA (1u << 2)     /* FMA3 (and ymm state) */
#define HPK_FEAT_AVX2 (1u << 3)    /* AVX2 (and ymm state) */
#define HPK_FEAT_AVX512F (1u << 4) /* AVX-512 F and opmask/zmm state enabled by the OS */
#define HPK_FEAT_AVX512DQ (1u << 5)
#define HPK_FEAT_AVX512BW (1u << 6)
#define HPK_FEAT_AVX512VL (1u << 7)
#define HPK_FEAT_NEON (1u << 8)     /* aarch64 Advanced SIMD (HWCAP_ASIMD) */
#define HPK_FEAT_FP16 (1u << 9)     /* aarch64 half-precision vector arithmetic (HWCAP_ASIMDHP) */
#define HPK_FEAT_FPHP (1u << 10)    /* aarch64 half-precision scalar arithmetic (HWCAP_FPHP) */
#define HPK_FEAT_ASIMDDP (1u << 11) /* aarch64 int8 dot product SDOT/UDOT (HWCAP_ASIMDDP) */

/* Where a machine figure came from. */
enum hpk_source {
    HPK_SRC_NONE = 0,
    HPK_SRC_HWLOC,
    HPK_SRC_CPUID,
    HPK_SRC_SYSFS,
    HPK_SRC_DEFAULT,
    HPK_SRC_ENV,
};
const char *hpk_source_name(enum hpk_source src);

/* Data or unified caches, levels 1..3. size 0: the level does not exist. */
struct hpk_cache {
    size_t size;          /* bytes */
    unsigned line;        /* bytes */
    unsigned assoc;       /* ways; 0 = fully associative or unknown */
    unsigned shared_by;   /* logical CPUs sharing one instance */
    enum hpk_source source;
};

#define HPK_CACHE_LEVELS 3

struct hpk_machine {
    char vendor[16];        /* "AuthenticAMD", "GenuineIntel", "arm", ... */
    char model[64];         /* brand string where known */
    uint32_t features;      /* HPK_FEAT_* */
    struct hpk_cache cache[HPK_CACHE_LEVELS]; /* cache[0] is L1d */
    unsigned cpus;          /* logical CPUs usable by this process (affinity mask) */
    unsigned cores;         /* physical cores among them (or cpus when unknown) */
    enum hpk_source cores_source;
    unsigned quota_cpus;    /* the cgroup CPU quota rounded up, 0 when there is none */
    unsigned family, model_id; /* x86 cpuid display family and model; 0 elsewhere */
    unsigned zmm_fmas;         /* 512-bit FMAs a core starts a cycle: 2 on Intel server cores with
                                  two AVX-512 FMA units, else 1; 0 without AVX-512 */
    enum hpk_source zmm_fmas_source; /* HPK_SRC_CPUID: from the model, HPK_SRC_DEFAULT: else */
};

/*
 * Multiply-adds per cycle of one core in vectors of vector_bytes (a kernel table's
 * vector_bytes): two vector FMAs a cycle up to 256 bits (every AVX2 and Neoverse core this
 * library targets), m->zmm_fmas (at least 1) at 512 bits -- Zen 4 splits a zmm FMA over its two
 * 256-bit pipes, Intel client cores have one 512-bit unit, Xeon server cores two. A cost
 * model's figure (src/conv/choose.c), not a measurement.
 */
double hpk_fma_lanes_per_cycle(const struct hpk_machine *m, unsigned vector_bytes);

/* m->zmm_fmas from m's features, vendor, family, model and brand (hpk_machine_detect's; pure,
 * for tests): 0 without AVX-512, else 1 or 2; *source: HPK_SRC_CPUID where the model says 2. */
unsigned hpk_zmm_fmas(const struct hpk_machine *m, enum hpk_source *source);

/* Blocking of one GEMM record. */
struct hpk_blocking {
    size_t mc, kc, nc;
    enum hpk_source source_mc, source_kc, source_nc; /* HPK_SRC_DEFAULT = derived, _ENV = override */
};

/* Everything an operator needs: the table and its blocking, or the status of a bad override. */
struct hpk_config {
    int status;                               /* hpk_status: HPK_OK or why nothing can run */
    const struct hpk_kernel_table *table;     /* NULL unless status == HPK_OK */
    struct hpk_blocking blocking[HPK_GEMM_RECORDS];
    size_t threads;                           /* default thread count per call */
    enum hpk_source threads_source;           /* HPK_SRC_ENV: HPK_NUM_THREADS, else derived */
    int pin;                                  /* HPK_PIN=1: pin the pool's workers */
    unsigned wait_us;                         /* a worker's busy wait for the next job, us */
    enum hpk_source wait_source;              /* HPK_SRC_ENV: HPK_WAIT_US, else the default */
    int verbose;                              /* HPK_VERBOSE */
    char error[256];                          /* the message printed for a bad override */
};

/* The machine description of this process, built on first use (thread-safe, never NULL). */
const struct hpk_machine *hpk_machine_get(void);

/* The process's configuration, built on first use from hpk_machine_get() and the environment
 * (thread-safe, never NULL). A bad override is printed once to stderr. */
const struct hpk_config *hpk_config_get(void);

/* The thread count calls use now: hpk_set_num_threads() if set, else the configuration's. */
size_t hpk_threads(void);

/* min(usable CPUs, cgroup quota, physical cores), at least 1: the default thread count. */
size_t hpk_threads_default(const struct hpk_machine *m);

/*
 * The order in which HPK_PIN=1 binds the pool's workers: one usable PU of every core (cores in
 * hwloc's topology order), then a second PU of every core that has one, and so on, so that
 * workers fill distinct cores before SMT siblings. Writes at most cap CPU numbers (OS indexes)
 * to order and returns how many; 0 without hwloc or when it fails (the pool then follows the
 * affinity mask). synthetic: NULL for this machine and the process's CPU binding, else an hwloc
 * synthetic topology (tests, e.g. "core:4 pu:2"); allowed (n_allowed CPU numbers) narrows the
 * usable PUs, NULL for all of them.
 */
size_t hpk_pin_order(const char *synthetic, const int *allowed, size_t n_allowed, int *order,
                     size_t cap);

/* Pure builders, for the above and for tests: env(name) returns the variable or NULL. */
void hpk_machine_detect(struct hpk_machine *out);
void hpk_config_build(const struct hpk_machine *m, const char *(*env)(const char *name),
                      struct hpk_config *out);

/* Blocking for one record on a machine (the analytical model, no overrides). */
struct hpk_blocking hpk_blocking_derive(const struct hpk_machine *m,
                                        const struct hpk_gemm_record *r);

/* The kernel tables compiled into this build, best first, and those this machine can run. */
size_t hpk_tables_compiled(const struct hpk_kernel_table *const **list_out);
int hpk_table_usable(const struct hpk_machine *m, const struct hpk_kernel_table *t);

/*
 * The next table after t in the list that this machine can run (AVX-512 -> AVX2 -> generic),
 * NULL after the last: where an operator finds a helper kernel (depthwise, Winograd) that t
 * lacks, so an AVX-512 machine runs the AVX2 one rather than the portable C.
 */
const struct hpk_kernel_table *hpk_table_next_usable(const struct hpk_kernel_table *t);

/* Appends the report of hpk_describe() to buf; returns the full length (snprintf-like). */
size_t hpk_describe_config(const struct hpk_machine *m, const struct hpk_config *c, char *buf,
                           size_t size);

#endif /* HPK_DISPATCH_H */
