/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk_machine_detect: ISA features, vendor and model, usable CPUs and physical cores; the
 * caches come from caches.c. Nothing here is cached: config.c calls it once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(HPK_HAVE_HWLOC)
#include <hwloc.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "src/dispatch/caches.h"

/* --- features ------------------------------------------------------------------------------- */

#if defined(__x86_64__)
/* XCR0: which register states the OS saves on a context switch. A CPU may have AVX while the
 * OS (or a hypervisor) leaves ymm/zmm state off; executing AVX then faults. */
#define XCR0_SSE (1u << 1)
#define XCR0_YMM (1u << 2)
#define XCR0_OPMASK (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM (1u << 7)

static unsigned long long read_xcr0(void)
{
    unsigned lo, hi;
    /* The mnemonic rather than _xgetbv(), which needs -mxsave on the whole file. */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static void detect_x86(struct hpk_machine *out)
{
    unsigned max, a, b, c, d;
    if (!__get_cpuid(0, &max, &b, &c, &d))
        return;
    memcpy(out->vendor, &b, 4);
    memcpy(out->vendor + 4, &d, 4);
    memcpy(out->vendor + 8, &c, 4);
    out->vendor[12] = '\0';

    unsigned ecx1 = 0, edx1 = 0, ebx7 = 0;
    if (max >= 1 && __get_cpuid(1, &a, &b, &ecx1, &edx1)) {
        const unsigned base = (a >> 8) & 0xfu;
        out->family = base == 0xfu ? base + ((a >> 20) & 0xffu) : base;
        out->model_id =
            ((a >> 4) & 0xfu) | (base == 6u || base == 0xfu ? ((a >> 16) & 0xfu) << 4 : 0u);
        if (max >= 7)
            __cpuid_count(7, 0, a, ebx7, c, d);
    }
    unsigned long long xcr0 = (ecx1 & (1u << 27)) != 0 ? read_xcr0() : 0; /* OSXSAVE */
    int ymm = (xcr0 & (XCR0_SSE | XCR0_YMM)) == (XCR0_SSE | XCR0_YMM);
    unsigned zmm_bits = XCR0_SSE | XCR0_YMM | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
    int zmm = (xcr0 & zmm_bits) == zmm_bits;

    uint32_t f = 0;
    if (edx1 & (1u << 26))
        f |= HPK_FEAT_SSE2;
    if (ymm && (ecx1 & (1u << 28)))
        f |= HPK_FEAT_AVX;
    if (ymm && (ecx1 & (1u << 12)))
        f |= HPK_FEAT_FMA;
    if (ymm && (ebx7 & (1u << 5)))
        f |= HPK_FEAT_AVX2;
    if (zmm && (ebx7 & (1u << 16)))
        f |= HPK_FEAT_AVX512F;
    if (zmm && (ebx7 & (1u << 17)))
        f |= HPK_FEAT_AVX512DQ;
    if (zmm && (ebx7 & (1u << 30)))
        f |= HPK_FEAT_AVX512BW;
    if (zmm && (ebx7 & (1u << 31)))
        f |= HPK_FEAT_AVX512VL;
    out->features = f;

    unsigned emax;
    if (__get_cpuid(0x80000000u, &emax, &b, &c, &d) && emax >= 0x80000004u) {
        char brand[49];
        for (unsigned i = 0; i < 3; i++) {
            unsigned r[4];
            __get_cpuid(0x80000002u + i, &r[0], &r[1], &r[2], &r[3]);
            memcpy(brand + 16 * i, r, 16);
        }
        brand[48] = '\0';
        /* Intel pads the brand string with leading spaces, AMD with trailing ones. */
        char *s = brand;
        while (*s == ' ')
            s++;
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == ' ')
            s[--n] = '\0';
        snprintf(out->model, sizeof out->model, "%s", s);
    }
}
#endif

#if defined(__aarch64__)
/* The bit values of the Linux arm64 ABI, for libcs whose headers lack them. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1ul << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP (1ul << 9)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1ul << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1ul << 20)
#endif

static void detect_aarch64(struct hpk_machine *out)
{
    snprintf(out->vendor, sizeof out->vendor, "arm");
    snprintf(out->model, sizeof out->model, "aarch64");
#if defined(__linux__)
    /* HWCAP and never /proc/cpuinfo: under qemu-user the latter describes the host. */
    unsigned long hwcap = getauxval(AT_HWCAP);
    if (hwcap & HWCAP_ASIMD)
        out->features |= HPK_FEAT_NEON;
    if (hwcap & HWCAP_ASIMDHP)
        out->features |= HPK_FEAT_FP16;
    /* Reported for the fp16 and int8 kernels to come; no table needs them yet. */
    if (hwcap & HWCAP_FPHP)
        out->features |= HPK_FEAT_FPHP;
    if (hwcap & HWCAP_ASIMDDP)
        out->features |= HPK_FEAT_ASIMDDP;
#else
    out->features |= HPK_FEAT_NEON; /* Advanced SIMD is mandatory in ARMv8-A */
#endif
}
#endif

/* --- CPUs and cores ------------------------------------------------------------------------- */

#if defined(__linux__)
/* The affinity mask of this process (the caller CPU_FREEs it), or NULL; *setsize its size. */
static cpu_set_t *affinity_mask(size_t *setsize)
{
    /* Grow until the kernel's mask fits: cpu_set_t alone stops at 1024 CPUs. */
    for (int ncpu = 1024; ncpu <= 1 << 20; ncpu *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        if (set == NULL)
            return NULL;
        size_t size = CPU_ALLOC_SIZE(ncpu);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            *setsize = size;
            return set;
        }
        CPU_FREE(set);
    }
    return NULL;
}

static int read_long(const char *path, long *out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int ok = fscanf(f, "%ld", out) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

struct core_key {
    long package, core;
};

static int cmp_core_key(const void *pa, const void *pb)
{
    const struct core_key *a = pa, *b = pb;
    if (a->package != b->package)
        return a->package < b->package ? -1 : 1;
    return (a->core > b->core) - (a->core < b->core);
}

/* Distinct (package, core) pairs among the CPUs of the mask; 0 when sysfs cannot tell. */
static unsigned cores_from_sysfs(const cpu_set_t *set, size_t setsize, unsigned cpus)
{
    struct core_key *keys = malloc(sizeof *keys * cpus);
    if (keys == NULL)
        return 0;
    unsigned n = 0;
    for (size_t cpu = 0; cpu < setsize * 8 && n < cpus; cpu++) {
        if (!CPU_ISSET_S(cpu, setsize, set))
            continue;
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%zu/topology/core_id", cpu);
        if (read_long(path, &keys[n].core) != 0)
            goto fail;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%zu/topology/physical_package_id",
                 cpu);
        if (read_long(path, &keys[n].package) != 0)
            goto fail;
        n++;
    }
    qsort(keys, n, sizeof *keys, cmp_core_key);
    unsigned distinct = 0;
    for (unsigned i = 0; i < n; i++)
        distinct += i == 0 || cmp_core_key(&keys[i - 1], &keys[i]) != 0;
    free(keys);
    return distinct;
fail:
    free(keys);
    return 0;
}
#endif

#if defined(HPK_HAVE_HWLOC)
/* Cores with at least one PU this process may run on; 0 when hwloc cannot tell. */
static unsigned cores_from_hwloc(void)
{
    hwloc_topology_t topo;
    unsigned n = 0;
    if (hwloc_topology_init(&topo) != 0)
        return 0;
    hwloc_bitmap_t bound = hwloc_bitmap_alloc();
    if (bound == NULL || hwloc_topology_load(topo) != 0)
        goto done;
    /* The topology is already restricted to the cgroup's CPUs; taskset narrows it further. */
    if (hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_PROCESS) != 0)
        hwloc_bitmap_copy(bound, hwloc_topology_get_allowed_cpuset(topo));
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    for (int i = 0; i < ncores; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)i);
        if (core != NULL && core->cpuset != NULL && hwloc_bitmap_intersects(core->cpuset, bound))
            n++;
    }
done:
    hwloc_bitmap_free(bound);
    hwloc_topology_destroy(topo);
    return n;
}
#endif

size_t hpk_pin_order(const char *synthetic, const int *allowed, size_t n_allowed, int *order,
                     size_t cap)
{
#if defined(HPK_HAVE_HWLOC)
    hwloc_topology_t topo;
    size_t n = 0;
    if (hwloc_topology_init(&topo) != 0)
        return 0;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (set == NULL || (synthetic != NULL && hwloc_topology_set_synthetic(topo, synthetic) != 0) ||
        hwloc_topology_load(topo) != 0)
        goto done;
    if (allowed != NULL) {
        for (size_t i = 0; i < n_allowed; i++)
            if (allowed[i] >= 0)
                hwloc_bitmap_set(set, (unsigned)allowed[i]);
    } else if (synthetic != NULL || hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) != 0) {
        hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo));
    }
    /* Round r takes the r-th usable PU of every core, cores in topology order. */
    const int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    for (unsigned round = 0; n < cap; round++) {
        size_t added = 0;
        for (int i = 0; i < ncores && n < cap; i++) {
            hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)i);
            if (core == NULL || core->cpuset == NULL)
                continue;
            unsigned seen = 0;
            for (int pu = hwloc_bitmap_first(core->cpuset); pu >= 0;
                 pu = hwloc_bitmap_next(core->cpuset, pu)) {
                if (!hwloc_bitmap_isset(set, (unsigned)pu))
                    continue;
                if (seen++ == round) {
                    order[n++] = pu;
                    added++;
                    break;
                }
            }
        }
        if (added == 0)
            break;
    }
done:
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return n;
#else
    (void)synthetic, (void)allowed, (void)n_allowed, (void)order, (void)cap;
    return 0;
#endif
}

static void detect_cpus(struct hpk_machine *out)
{
    out->cpus = 0;
    out->cores = 0;
#if defined(__linux__)
    size_t setsize = 0;
    cpu_set_t *set = affinity_mask(&setsize);
    if (set != NULL)
        out->cpus = (unsigned)CPU_COUNT_S(setsize, set);
#endif
    if (out->cpus == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        out->cpus = n > 0 ? (unsigned)n : 1;
    }
#if defined(HPK_HAVE_HWLOC)
    unsigned hw = cores_from_hwloc();
    if (hw != 0 && hw <= out->cpus) {
        out->cores = hw;
        out->cores_source = HPK_SRC_HWLOC;
    }
#endif
#if defined(__linux__)
    if (out->cores == 0 && set != NULL) {
        unsigned sys = cores_from_sysfs(set, setsize, out->cpus);
        if (sys != 0 && sys <= out->cpus) {
            out->cores = sys;
            out->cores_source = HPK_SRC_SYSFS;
        }
    }
    if (set != NULL)
        CPU_FREE(set);
#endif
    if (out->cores == 0) {
        out->cores = out->cpus; /* no topology: count every CPU as a core */
        out->cores_source = HPK_SRC_DEFAULT;
    }
}

/* ceil(quota / period) of a "quota period" pair; 0 for no limit or anything unreadable. */
static unsigned quota_from(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > 0 && n < 65536 ? (unsigned)n : 0;
}

/*
 * The cgroup CPU quota of this process, in CPUs: a container limited to 2 CPUs on a 64-core
 * host must not start 64 threads. cgroup v2 (cpu.max: "max 100000" or "200000 100000"), then v1
 * (cpu.cfs_quota_us, -1 for none). Only the mount points of the usual layout are read: a quota
 * set elsewhere in a nested hierarchy is missed, and then hpk uses the CPU count.
 */
static unsigned cgroup_quota(void)
{
#if defined(__linux__)
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f != NULL) {
        char q[32] = "";
        long long period = 0;
        int n = fscanf(f, "%31s %lld", q, &period);
        fclose(f);
        if (n == 2 && strcmp(q, "max") != 0)
            return quota_from(atoll(q), period);
        return 0;
    }
    long long quota = 0, period = 0;
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
    if (f != NULL) {
        if (fscanf(f, "%lld", &quota) != 1)
            quota = 0;
        fclose(f);
    }
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
    if (f != NULL) {
        if (fscanf(f, "%lld", &period) != 1)
            period = 0;
        fclose(f);
    }
    return quota_from(quota, period);
#else
    return 0;
#endif
}

void hpk_machine_detect(struct hpk_machine *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->vendor, sizeof out->vendor, "unknown");
#if defined(__x86_64__)
    detect_x86(out);
#elif defined(__aarch64__)
    detect_aarch64(out);
#endif
    detect_cpus(out);
    out->quota_cpus = cgroup_quota();
    hpk_caches_detect(out->cache);
    out->zmm_fmas = hpk_zmm_fmas(out, &out->zmm_fmas_source);
}

/*
 * The 512-bit FMA units of a core with AVX-512, by model (cpuid tells them nowhere): two on the
 * Xeon server cores -- Skylake-SP and Cascade / Cooper Lake (0x55) but their Bronze, Silver and
 * Gold 5000 parts (one unit; the Gold 5122's two are counted as one), Ice Lake-SP (0x6a, 0x6c),
 * Sapphire and Emerald Rapids (0x8f, 0xcf), Granite Rapids (0xad, 0xae), Xeon Phi (0x57, 0x85).
 * The client cores with AVX-512 (Cannon, Ice, Tiger, Rocket Lake) have one; Zen 4 runs a zmm FMA
 * on its two 256-bit pipes: one. Unknown cores: one, the figure that cannot make a 512-bit
 * product look cheaper than it is.
 */
unsigned hpk_zmm_fmas(const struct hpk_machine *m, enum hpk_source *source)
{
    static const unsigned two[] = {0x55, 0x57, 0x6a, 0x6c, 0x85, 0x8f, 0xad, 0xae, 0xcf};
    *source = HPK_SRC_NONE;
    if (!(m->features & HPK_FEAT_AVX512F))
        return 0;
    *source = HPK_SRC_DEFAULT;
    if (strcmp(m->vendor, "GenuineIntel") != 0 || m->family != 6)
        return 1;
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
        if (m->model_id == two[i]) {
            if (m->model_id == 0x55 &&
                (strstr(m->model, "Bronze") != NULL || strstr(m->model, "Silver") != NULL ||
                 strstr(m->model, "Gold 5") != NULL))
                break;
            *source = HPK_SRC_CPUID;
            return 2;
        }
    return 1;
}

double hpk_fma_lanes_per_cycle(const struct hpk_machine *m, unsigned vector_bytes)
{
    const double lanes = hpk_vector_floats(vector_bytes);
    if (vector_bytes <= 32)
        return 2.0 * lanes;
    return (m->zmm_fmas > 1 ? (double)m->zmm_fmas : 1.0) * lanes;
}
