/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher: features against the kernel's own view, each cache source against an
 * independent one, the blocking model against hand-computed figures, the environment overrides
 * and the public report. What this machine cannot check is skipped, and says why.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "hpk/common.h"
#include "src/base/parallel.h"
#include "src/dispatch/caches.h"
#include "src/dispatch/dispatch.h"

enum { HPK_PIN_ORDER_MAX_TEST = 1024 };

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* --- helpers -------------------------------------------------------------------------------- */

/* The fake environment of hpk_config_build: NULL-terminated name/value pairs. */
static const char *const *fake_env_vars;

static const char *fake_env(const char *name)
{
    for (const char *const *p = fake_env_vars; p != NULL && p[0] != NULL; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static struct hpk_machine synthetic(uint32_t features, size_t l1, unsigned w1, size_t l2,
                                    unsigned w2, size_t l3, unsigned w3)
{
    struct hpk_machine m;
    memset(&m, 0, sizeof m);
    strcpy(m.vendor, "test");
    m.features = features;
    const size_t sizes[3] = {l1, l2, l3};
    const unsigned ways[3] = {w1, w2, w3};
    for (int i = 0; i < 3; i++) {
        if (sizes[i] == 0)
            continue;
        m.cache[i] = (struct hpk_cache){sizes[i], 64, ways[i], 1, HPK_SRC_DEFAULT};
    }
    m.cpus = m.cores = 4;
    m.cores_source = HPK_SRC_DEFAULT;
    return m;
}

/* Records of the tiles hpk's kernels use or may use; the kernels are never called. */
#define FAKE_RECORD(m_, n_, u_)                                                                    \
    {                                                                                              \
        .name = "fake_" #m_ "x" #n_, .mr = m_, .nr = n_, .kunroll = u_                             \
    }

static const struct hpk_kernel_table fake_avx2 = {
    .isa = "avx2", .sgemm = {FAKE_RECORD(6, 16, 4), FAKE_RECORD(1, 16, 1)}};
static const struct hpk_kernel_table fake_generic = {
    .isa = "generic", .sgemm = {FAKE_RECORD(4, 8, 1), FAKE_RECORD(1, 8, 1)}};

static const struct hpk_gemm_record shapes[] = {
    FAKE_RECORD(6, 16, 1), FAKE_RECORD(6, 16, 4), FAKE_RECORD(14, 32, 1), FAKE_RECORD(8, 12, 4),
    FAKE_RECORD(4, 8, 1),  FAKE_RECORD(1, 8, 1),  FAKE_RECORD(12, 8, 2),
};

/* The invariants of the model, against the caches it was derived from. */
static void check_invariants(const struct hpk_blocking *b, const struct hpk_gemm_record *r,
                             size_t l1, size_t l2, size_t l3)
{
    assert_int_equal(b->kc % r->kunroll, 0);
    assert_int_equal(b->mc % r->mr, 0);
    assert_int_equal(b->nc % r->nr, 0);
    assert_true(b->kc >= r->kunroll && b->mc >= r->mr && b->nc >= r->nr);
    if (b->kc > r->kunroll)
        assert_true(b->kc * r->nr * 4 <= l1);
    if (b->kc > r->kunroll) /* the A~ sliver fits next to the B~ panel */
        assert_true(b->kc * (r->nr + r->mr) * 4 <= l1);
    if (b->mc > r->mr)
        assert_true(b->mc * b->kc * 4 <= l2);
    if (b->nc > r->nr)
        assert_true(b->kc * b->nc * 4 <= l3 / 4);
}

/* --- features ------------------------------------------------------------------------------- */

#if defined(__x86_64__)
static int cpuinfo_has(const char *flags, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(flags, word); p != NULL; p = strstr(p + 1, word))
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
            (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}
#endif

/* The 512-bit FMA units by model, and the lanes a cycle the cost model takes from them. */
static void test_zmm_fmas(void **state)
{
    (void)state;
    static const struct {
        const char *vendor, *brand;
        unsigned family, model, avx512, want;
    } cases[] = {
        {"GenuineIntel", "Intel(R) Xeon(R) Platinum 8480+", 6, 0x8f, 1, 2}, /* SPR */
        {"GenuineIntel", "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", 6, 0x55, 1, 2},
        {"GenuineIntel", "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz", 6, 0x55, 1, 1},
        {"GenuineIntel", "Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz", 6, 0x55, 1, 1},
        {"GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU", 6, 0x6a, 1, 2},  /* ICX */
        {"GenuineIntel", "11th Gen Intel(R) Core(TM) i7-1165G7", 6, 0x8c, 1, 1}, /* Tiger */
        {"GenuineIntel", "Intel(R) Xeon(R) Platinum 8480+", 6, 0x8f, 0, 0},      /* no zmm */
        {"AuthenticAMD", "AMD EPYC 9654 96-Core Processor", 0x19, 0x11, 1, 1},   /* Zen 4 */
        {"AuthenticAMD", "AMD EPYC 7763 64-Core Processor", 0x19, 0x01, 0, 0},   /* Zen 3 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hpk_machine m = synthetic(cases[i].avx512 ? HPK_FEAT_AVX512F | HPK_FEAT_AVX2 : 0,
                                         32 * KiB, 8, MiB, 8, 0, 0);
        snprintf(m.vendor, sizeof m.vendor, "%s", cases[i].vendor);
        snprintf(m.model, sizeof m.model, "%s", cases[i].brand);
        m.family = cases[i].family;
        m.model_id = cases[i].model;
        enum hpk_source src;
        const unsigned got = hpk_zmm_fmas(&m, &src);
        if (got != cases[i].want)
            fail_msg("%s: %u zmm FMAs, expected %u", cases[i].brand, got, cases[i].want);
        assert_int_equal(src, got == 2 ? HPK_SRC_CPUID : got == 1 ? HPK_SRC_DEFAULT : HPK_SRC_NONE);
        m.zmm_fmas = got;
        /* ymm and xmm: two FMAs a cycle everywhere; zmm: the units (one when unknown) */
        assert_true(hpk_fma_lanes_per_cycle(&m, 16) == 8.0);
        assert_true(hpk_fma_lanes_per_cycle(&m, 32) == 16.0);
        assert_true(hpk_fma_lanes_per_cycle(&m, 64) == (got == 2 ? 32.0 : 16.0));
    }
}

static void test_features_vs_cpuinfo(void **state)
{
    (void)state;
#if !defined(__x86_64__)
    print_message("skipped: /proc/cpuinfo flags are only compared on x86-64\n");
    skip();
#else
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) {
        print_message("skipped: no /proc/cpuinfo\n");
        skip();
    }
    static char line[16384];
    int found = 0;
    long family = -1, model = -1; /* the lines before the flags */
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            found = 1;
            break;
        }
        const char *colon = strchr(line, ':');
        if (colon != NULL && strncmp(line, "cpu family\t", 11) == 0)
            family = strtol(colon + 1, NULL, 10);
        else if (colon != NULL && strncmp(line, "model\t", 6) == 0)
            model = strtol(colon + 1, NULL, 10);
    }
    fclose(f);
    if (!found) {
        print_message("skipped: /proc/cpuinfo has no flags line\n");
        skip();
    }
    const char *flags = strchr(line, ':');
    assert_non_null(flags);
    static const struct {
        const char *name;
        uint32_t bit;
    } map[] = {
        {"avx", HPK_FEAT_AVX},           {"fma", HPK_FEAT_FMA},
        {"avx2", HPK_FEAT_AVX2},         {"avx512f", HPK_FEAT_AVX512F},
        {"avx512dq", HPK_FEAT_AVX512DQ}, {"avx512bw", HPK_FEAT_AVX512BW},
        {"avx512vl", HPK_FEAT_AVX512VL}, {"sse2", HPK_FEAT_SSE2},
    };
    struct hpk_machine m;
    hpk_machine_detect(&m);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        int ours = (m.features & map[i].bit) != 0;
        int linux_says = cpuinfo_has(flags, map[i].name);
        if (ours != linux_says)
            fail_msg("feature %s: hpk says %d, /proc/cpuinfo says %d", map[i].name, ours,
                     linux_says);
    }
    /* the display family and model (Linux's "cpu family" and "model"), and the 512-bit FMA
     * units the model rule gives them */
    assert_true(family >= 0 && model >= 0);
    assert_int_equal(m.family, family);
    assert_int_equal(m.model_id, model);
    enum hpk_source src;
    assert_int_equal(m.zmm_fmas, hpk_zmm_fmas(&m, &src));
    assert_int_equal(m.zmm_fmas_source, src);
#endif
}

/*
 * aarch64: the features hpk derives from HWCAP against the CPU's ID registers, read with MRS
 * (Linux emulates the read for user space when HWCAP_CPUID is set, and so does qemu-user):
 * checks that each HWCAP bit hpk tests is the one the feature lives in. ID_AA64PFR0_EL1.FP
 * [19:16] and .AdvSIMD [23:20]: 0 present, 1 present with half precision, 15 absent;
 * ID_AA64ISAR0_EL1.DP [47:44]: 1 SDOT/UDOT. /proc/cpuinfo is no witness: under qemu-user it
 * describes the host.
 */
static void test_features_vs_idregs(void **state)
{
    (void)state;
#if !defined(__aarch64__) || !defined(__linux__)
    print_message("skipped: ID registers are only compared on Linux/aarch64\n");
    skip();
#else
    if (!(getauxval(AT_HWCAP) & (1ul << 11))) { /* HWCAP_CPUID */
        print_message("skipped: the kernel does not emulate MRS of the ID registers\n");
        skip();
    }
    uint64_t pfr0, isar0;
    __asm__ volatile("mrs %0, ID_AA64PFR0_EL1" : "=r"(pfr0));
    __asm__ volatile("mrs %0, ID_AA64ISAR0_EL1" : "=r"(isar0));
    const unsigned fp = (unsigned)(pfr0 >> 16) & 15, simd = (unsigned)(pfr0 >> 20) & 15;
    const unsigned dp = (unsigned)(isar0 >> 44) & 15;
    const struct {
        const char *name;
        uint32_t bit;
        int idreg;
    } map[] = {
        {"neon", HPK_FEAT_NEON, simd != 15},
        {"asimdhp", HPK_FEAT_FP16, simd == 1},
        {"fphp", HPK_FEAT_FPHP, fp == 1},
        {"asimddp", HPK_FEAT_ASIMDDP, dp >= 1 && dp != 15},
    };
    struct hpk_machine m;
    hpk_machine_detect(&m);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const int ours = (m.features & map[i].bit) != 0;
        print_message("%s: hpk %d, ID registers %d\n", map[i].name, ours, map[i].idreg);
        if (ours != map[i].idreg)
            fail_msg("feature %s: hpk says %d, the ID registers say %d (PFR0 %#llx, ISAR0 "
                     "%#llx)", map[i].name, ours, map[i].idreg, (unsigned long long)pfr0,
                     (unsigned long long)isar0);
    }
#endif
}

static void test_machine_basics(void **state)
{
    (void)state;
    const struct hpk_machine *m = hpk_machine_get();
    assert_ptr_equal(m, hpk_machine_get()); /* built once */
    assert_true(m->cpus >= 1);
    assert_true(m->cores >= 1 && m->cores <= m->cpus);
    assert_true(m->cores_source != HPK_SRC_NONE);
    assert_true(m->vendor[0] != '\0');
    assert_true(m->cache[0].size > 0); /* every CPU has an L1d, detected or defaulted */
    for (int i = 0; i < HPK_CACHE_LEVELS; i++)
        if (m->cache[i].size != 0)
            assert_true(m->cache[i].source != HPK_SRC_NONE && m->cache[i].line > 0);
#if defined(__x86_64__)
    assert_true(m->features & HPK_FEAT_SSE2); /* part of x86-64 */
#endif
}

/* --- caches --------------------------------------------------------------------------------- */

static void compare_sources(const struct hpk_cache *a, const struct hpk_cache *b, const char *na,
                            const char *nb)
{
    int compared = 0;
    for (int i = 0; i < HPK_CACHE_LEVELS; i++) {
        if (a[i].size == 0 || b[i].size == 0)
            continue;
        compared++;
        if (a[i].size != b[i].size || a[i].line != b[i].line)
            fail_msg("level %d: %s says %zu B (line %u), %s says %zu B (line %u)", i + 1, na,
                     a[i].size, a[i].line, nb, b[i].size, b[i].line);
        if (a[i].assoc != 0 && b[i].assoc != 0 && a[i].assoc != b[i].assoc)
            fail_msg("level %d: %s says %u ways, %s says %u", i + 1, na, a[i].assoc, nb,
                     b[i].assoc);
    }
    assert_true(compared > 0);
}

static void test_caches_hwloc_vs_sysfs(void **state)
{
    (void)state;
    struct hpk_cache hw[HPK_CACHE_LEVELS], sys[HPK_CACHE_LEVELS];
    int nhw = hpk_caches_from_hwloc(hw), nsys = hpk_caches_from_sysfs(sys);
    if (nhw == 0 || nsys == 0) {
        print_message("skipped: hwloc found %d levels, sysfs %d\n", nhw, nsys);
        skip();
    }
    for (int i = 0; i < HPK_CACHE_LEVELS; i++)
        if (hw[i].size != 0)
            assert_int_equal(hw[i].source, HPK_SRC_HWLOC);
    compare_sources(hw, sys, "hwloc", "sysfs");
}

static void test_caches_cpuid_vs_sysfs(void **state)
{
    (void)state;
    struct hpk_cache cp[HPK_CACHE_LEVELS], sys[HPK_CACHE_LEVELS];
    int ncp = hpk_caches_from_cpuid(cp), nsys = hpk_caches_from_sysfs(sys);
    if (ncp == 0 || nsys == 0) {
        print_message("skipped: cpuid found %d levels, sysfs %d\n", ncp, nsys);
        skip();
    }
    for (int i = 0; i < HPK_CACHE_LEVELS; i++)
        if (cp[i].size != 0)
            assert_int_equal(cp[i].source, HPK_SRC_CPUID);
    compare_sources(cp, sys, "cpuid", "sysfs");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void fake_index(const char *root, int i, const char *level, const char *type,
                       const char *size, const char *line, const char *ways, const char *shared)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/index%d", root, i);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file(dir, "level", level);
    write_file(dir, "type", type);
    write_file(dir, "size", size);
    if (line != NULL)
        write_file(dir, "coherency_line_size", line);
    if (ways != NULL)
        write_file(dir, "ways_of_associativity", ways);
    write_file(dir, "shared_cpu_list", shared);
}

static void remove_tree(const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_caches_sysfs_fake_tree(void **state)
{
    (void)state;
    char root[] = "/tmp/hpk_test_sysfs_XXXXXX";
    assert_non_null(mkdtemp(root));
    fake_index(root, 0, "1\n", "Data\n", "48K\n", "64\n", "12\n", "0,32\n");
    fake_index(root, 1, "1\n", "Instruction\n", "32K\n", "64\n", "8\n", "0,32\n");
    fake_index(root, 2, "2\n", "Unified\n", "2048K\n", "64\n", "16\n", "0,32\n");
    /* index3 missing: the numbering has a hole */
    fake_index(root, 4, "3\n", "Unified\n", "61440K\n", NULL, NULL, "0-31,32-63\n");
    fake_index(root, 5, "3\n", "Unified\n", "garbage\n", "64\n", "15\n", "0\n");
    struct hpk_cache c[HPK_CACHE_LEVELS];
    assert_int_equal(hpk_caches_from_sysfs_dir(root, c), 3);
    remove_tree(root);

    assert_int_equal(c[0].size, 48 * KiB);
    assert_int_equal(c[0].line, 64);
    assert_int_equal(c[0].assoc, 12);
    assert_int_equal(c[0].shared_by, 2);
    assert_int_equal(c[0].source, HPK_SRC_SYSFS);
    assert_int_equal(c[1].size, 2 * MiB);
    assert_int_equal(c[1].assoc, 16);
    assert_int_equal(c[2].size, 60 * MiB);
    assert_int_equal(c[2].line, 64); /* missing line size: the usual 64 */
    assert_int_equal(c[2].assoc, 0); /* missing ways: unknown */
    assert_int_equal(c[2].shared_by, 64);

    struct hpk_cache none[HPK_CACHE_LEVELS];
    assert_int_equal(hpk_caches_from_sysfs_dir("/nonexistent/hpk", none), 0);
    assert_int_equal(none[0].size, 0);
}

static void test_cpulist_count(void **state)
{
    (void)state;
    assert_int_equal(hpk_cpulist_count("0"), 1);
    assert_int_equal(hpk_cpulist_count("0-1"), 2);
    assert_int_equal(hpk_cpulist_count("0-3,8,10-11"), 7);
    assert_int_equal(hpk_cpulist_count("0-63"), 64);
    assert_int_equal(hpk_cpulist_count(""), 0);
    assert_int_equal(hpk_cpulist_count("3-1"), 0);
    assert_int_equal(hpk_cpulist_count("a"), 0);
    assert_int_equal(hpk_cpulist_count("1,-2"), 0);
}

static void test_caches_detect(void **state)
{
    (void)state;
    struct hpk_cache c[HPK_CACHE_LEVELS], hw[HPK_CACHE_LEVELS], def[HPK_CACHE_LEVELS];
    hpk_caches_detect(c);
    assert_true(c[0].size > 0);
    for (int i = 1; i < HPK_CACHE_LEVELS; i++)
        if (c[i].size != 0)
            assert_true(c[i].size >= c[0].size);
    /* hwloc comes first for every level it reports. */
    if (hpk_caches_from_hwloc(hw) > 0)
        for (int i = 0; i < HPK_CACHE_LEVELS; i++)
            if (hw[i].size != 0)
                assert_int_equal(c[i].source, HPK_SRC_HWLOC);
    hpk_caches_default(def);
    assert_int_equal(def[0].size, 32 * KiB);
    assert_int_equal(def[1].size, 512 * KiB);
    assert_int_equal(def[2].size, 8 * MiB);
    assert_int_equal(def[2].assoc, 16);
    for (int i = 0; i < HPK_CACHE_LEVELS; i++)
        assert_int_equal(def[i].source, HPK_SRC_DEFAULT);
}

/* --- blocking ------------------------------------------------------------------------------- */

static void test_blocking_real_machine(void **state)
{
    (void)state;
    const struct hpk_machine *m = hpk_machine_get();
    size_t l1 = m->cache[0].size;
    size_t l2 = m->cache[1].size ? m->cache[1].size : m->cache[2].size;
    size_t l3 = m->cache[2].size ? m->cache[2].size : l2;
    if (l2 == 0) {
        print_message("skipped: this machine reports no L2 or L3\n");
        skip();
    }
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct hpk_blocking b = hpk_blocking_derive(m, &shapes[i]);
        print_message("  %2ux%-2u kunroll %u: MC %zu KC %zu NC %zu\n", shapes[i].mr, shapes[i].nr,
                      shapes[i].kunroll, b.mc, b.kc, b.nc);
        check_invariants(&b, &shapes[i], l1, l2, l3);
        assert_int_equal(b.source_kc, HPK_SRC_DEFAULT);
    }
}

struct blocking_case {
    const char *what;
    size_t l1;
    unsigned w1;
    size_t l2;
    unsigned w2;
    size_t l3;
    unsigned w3;
    unsigned mr, nr, ku;
    size_t mc, kc, nc; /* by hand, below */
};

/*
 * The expected figures, from the head comment of src/dispatch/config.c:
 *   C_B = floor((W1 - 1) * NR / (NR + MR)); kc = C_B * (L1 / W1) / (NR * 4)   (down to ku)
 *   C_B2 = ceil(kc * NR * 4 / (L2 / W2)); mc = (W2 - 1 - C_B2) * (L2 / W2) / (kc * 4) (to MR)
 *   nc = (L3 / 4) / (kc * 4)                                                          (to NR)
 */
static const struct blocking_case cases[] = {
    /* C_B = floor(7*16/22) = 5, kc = 5*4096/64 = 320; C_B2 = ceil(20480/65536) = 1,
     * mc = 6*65536/1280 = 307 -> 306; nc = 8388608/1280 = 6553 -> 6544 */
    {"32K/8 512K/8 32M/16, 6x16", 32 * KiB, 8, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 1, 306, 320,
     6544},
    /* the same with kunroll 4: 320 is a multiple already */
    {"as above, kunroll 4", 32 * KiB, 8, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 4, 306, 320, 6544},
    /* kunroll 7: 320 -> 315; mc = 6*65536/1260 = 312 -> 312; nc = 8388608/1260 = 6657 -> 6656 */
    {"as above, kunroll 7", 32 * KiB, 8, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 7, 312, 315, 6656},
    /* 48K/12: C_B = floor(11*32/46) = 7, kc = 7*4096/128 = 224; L2 1280K/20 (way 65536):
     * C_B2 = ceil(28672/65536) = 1, mc = 18*65536/896 = 1316 (= 14*94);
     * nc = 12582912/896 = 14043 -> 14016 */
    {"48K/12 1280K/20 48M/12, 14x32", 48 * KiB, 12, 1280 * KiB, 20, 48 * MiB, 12, 14, 32, 1, 1316,
     224, 14016},
    /* 64K/4: C_B = floor(3*12/20) = 1, kc = 16384/48 = 341 -> 340; L2 1M/8 (way 131072):
     * C_B2 = 1, mc = 6*131072/1360 = 578 -> 576; no L3: from L2, 262144/1360 = 192 -> 192 */
    {"64K/4 1M/8 no L3, 8x12", 64 * KiB, 4, 1 * MiB, 8, 0, 0, 8, 12, 4, 576, 340, 192},
    /* assoc 0 counts as 8: as the first case */
    {"L1 ways unknown", 32 * KiB, 0, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 1, 306, 320, 6544},
    /* direct-mapped: C_B = 0, the panel takes half of L1: kc = 16384/64 = 256;
     * mc = 6*65536/1024 = 384; nc = 8388608/1024 = 8192 */
    {"direct-mapped L1", 32 * KiB, 1, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 1, 384, 256, 8192},
    /* 100000 ways in 512 lines: 512 ways of 64 B, C_B = floor(511*16/22) = 371, kc = 371;
     * C_B2 = ceil(23744/65536) = 1, mc = 6*65536/1484 = 264 -> 264; nc = 8388608/1484 = 5652
     * -> 5648 */
    {"absurd L1 ways", 32 * KiB, 100000, 512 * KiB, 8, 32 * MiB, 16, 6, 16, 1, 264, 371, 5648},
    /* no caches at all: the defaults 32K/8, 512K/8, 8M/16; nc = 2097152/1280 = 1638 -> 1632 */
    {"no caches", 0, 0, 0, 0, 0, 0, 6, 16, 1, 306, 320, 1632},
    /* no L2: MC from the 8M/16 L3 (way 524288): C_B2 = 1, mc = 14*524288/1280 = 5734 -> 5730 */
    {"no L2", 32 * KiB, 8, 0, 0, 8 * MiB, 16, 6, 16, 1, 5730, 320, 1632},
};

static void test_blocking_synthetic(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct blocking_case *t = &cases[i];
        struct hpk_machine m = synthetic(0, t->l1, t->w1, t->l2, t->w2, t->l3, t->w3);
        struct hpk_gemm_record r = {.name = "case", .mr = t->mr, .nr = t->nr, .kunroll = t->ku};
        struct hpk_blocking b = hpk_blocking_derive(&m, &r);
        if (b.kc != t->kc || b.mc != t->mc || b.nc != t->nc)
            fail_msg("%s: MC/KC/NC %zu/%zu/%zu, expected %zu/%zu/%zu", t->what, b.mc, b.kc, b.nc,
                     t->mc, t->kc, t->nc);
        size_t l1 = t->l1 ? t->l1 : 32 * KiB;
        size_t l2 = t->l2 ? t->l2 : t->l3 ? t->l3 : 512 * KiB;
        size_t l3 = t->l3 ? t->l3 : t->l2 ? t->l2 : 8 * MiB;
        check_invariants(&b, &r, l1, l2, l3);
    }
}

static void test_blocking_degenerate_records(void **state)
{
    (void)state;
    /* A tile as wide as L1 still gets a finite, legal blocking. */
    struct hpk_machine m = synthetic(0, 4 * KiB, 2, 8 * KiB, 2, 0, 0);
    struct hpk_gemm_record r = {.name = "wide", .mr = 64, .nr = 512, .kunroll = 8};
    struct hpk_blocking b = hpk_blocking_derive(&m, &r);
    assert_int_equal(b.kc, 8);
    assert_int_equal(b.mc, 128); /* B~ panel > L2: A~ takes half of L2, 4096 / 32 */
    assert_int_equal(b.nc, 512);
    struct hpk_gemm_record z = {.name = "zero", .mr = 0, .nr = 0, .kunroll = 0};
    b = hpk_blocking_derive(&m, &z);
    assert_true(b.kc >= 1 && b.mc >= 1 && b.nc >= 1);
}

/* KC fixes the order of additions: the thread count must not enter it. */
static void test_blocking_ignores_threads(void **state)
{
    (void)state;
    struct hpk_machine m = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 32 * MiB, 16);
    const char *const one[] = {"HPK_NUM_THREADS", "1", NULL};
    const char *const many[] = {"HPK_NUM_THREADS", "64", NULL};
    struct hpk_config a, b;
    fake_env_vars = one;
    hpk_config_build(&m, fake_env, &a);
    m.cpus = m.cores = 64;
    fake_env_vars = many;
    hpk_config_build(&m, fake_env, &b);
    fake_env_vars = NULL;
    assert_int_equal(a.status, HPK_OK);
    for (int r = 0; r < HPK_GEMM_RECORDS; r++)
        assert_memory_equal(&a.blocking[r], &b.blocking[r], sizeof a.blocking[r]);
}

/* --- configuration and overrides ------------------------------------------------------------ */

static void build_with(const struct hpk_machine *m, const char *const *vars, struct hpk_config *c)
{
    fake_env_vars = vars;
    hpk_config_build(m, fake_env, c);
    fake_env_vars = NULL;
}

static void test_config_default(void **state)
{
    (void)state;
    struct hpk_machine m = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_config c;
    build_with(&m, NULL, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_non_null(c.table);
    assert_string_equal(c.table->isa, "generic"); /* a machine with no features */
    assert_string_equal(c.error, "");
    assert_int_equal(c.verbose, 0);
    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        /* field by field: the struct has padding, whose bytes are undefined */
        struct hpk_blocking d = hpk_blocking_derive(&m, &c.table->sgemm[r]);
        assert_int_equal(d.mc, c.blocking[r].mc);
        assert_int_equal(d.kc, c.blocking[r].kc);
        assert_int_equal(d.nc, c.blocking[r].nc);
        assert_int_equal(d.source_mc, c.blocking[r].source_mc);
        assert_int_equal(d.source_kc, c.blocking[r].source_kc);
        assert_int_equal(d.source_nc, c.blocking[r].source_nc);
    }
    const char *const verbose[] = {"HPK_VERBOSE", "1", NULL};
    build_with(&m, verbose, &c);
    assert_int_equal(c.verbose, 1);
}

/* HPK_WAIT_US: microseconds from 0 to HPK_POOL_WAIT_US_MAX, anything else an error naming it. */
static void test_config_wait(void **state)
{
    (void)state;
    struct hpk_machine m = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_config c;
    build_with(&m, NULL, &c);
    assert_int_equal(c.wait_us, HPK_POOL_WAIT_US_DEFAULT);
    assert_int_equal(c.wait_source, HPK_SRC_DEFAULT);
    const char *const good[][3] = {{"HPK_WAIT_US", "0", NULL}, {"HPK_WAIT_US", "1000000", NULL},
                                   {"HPK_WAIT_US", "25", NULL}};
    const unsigned want[] = {0, 1000000, 25};
    for (int i = 0; i < 3; i++) {
        build_with(&m, good[i], &c);
        assert_int_equal(c.status, HPK_OK);
        assert_int_equal(c.wait_us, want[i]);
        assert_int_equal(c.wait_source, HPK_SRC_ENV);
    }
    const char *const bad[][3] = {{"HPK_WAIT_US", "1000001", NULL},
                                  {"HPK_WAIT_US", "-1", NULL},
                                  {"HPK_WAIT_US", "10ms", NULL},
                                  {"HPK_WAIT_US", "99999999999999999999999", NULL}};
    for (int i = 0; i < 4; i++) {
        build_with(&m, bad[i], &c);
        assert_int_equal(c.status, HPK_ERR_INVALID_ARG);
        assert_null(c.table);
        assert_non_null(strstr(c.error, "HPK_WAIT_US="));
    }
}

static void test_config_isa(void **state)
{
    (void)state;
    struct hpk_machine bare = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_config c;

    const char *const generic[] = {"HPK_ISA", "generic", NULL};
    build_with(&bare, generic, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_string_equal(c.table->isa, "generic");

    const char *const bogus[] = {"HPK_ISA", "bogus", NULL};
    build_with(&bare, bogus, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
    assert_non_null(strstr(c.error, "HPK_ISA=bogus"));
    assert_non_null(strstr(c.error, "usable: generic"));

    /* avx512 on a machine without features: not usable (and, in this build, not compiled). */
    const char *const avx512[] = {"HPK_ISA", "avx512", NULL};
    build_with(&bare, avx512, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
    assert_non_null(strstr(c.error, "HPK_ISA=avx512: this CPU/build cannot run it"));
    assert_non_null(strstr(c.error, "usable: generic"));
}

static void test_config_isa_fake_tables(void **state)
{
    (void)state;
    const struct hpk_kernel_table *const tables[] = {&fake_avx2, &fake_generic};
    struct hpk_machine bare = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_machine zen3 = bare;
    zen3.features = HPK_FEAT_SSE2 | HPK_FEAT_AVX | HPK_FEAT_FMA | HPK_FEAT_AVX2;
    struct hpk_machine avx2_no_fma = bare;
    avx2_no_fma.features = HPK_FEAT_AVX | HPK_FEAT_AVX2;
    struct hpk_config c;

    assert_true(hpk_table_usable(&zen3, &fake_avx2));
    assert_false(hpk_table_usable(&avx2_no_fma, &fake_avx2));
    assert_false(hpk_table_usable(&bare, &fake_avx2));
    assert_true(hpk_table_usable(&bare, &fake_generic));
    assert_false(hpk_table_usable(&bare, NULL));

    /* The best usable table by default. */
    fake_env_vars = NULL;
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_ptr_equal(c.table, &fake_avx2);
    assert_int_equal(c.blocking[HPK_GEMM_MAIN].kc, 320); /* 6x16 on 32K/8, as computed above */
    hpk_config_build_tables(&bare, fake_env, tables, 2, &c);
    assert_ptr_equal(c.table, &fake_generic);

    /* HPK_ISA picks a worse one on request. */
    const char *const generic[] = {"HPK_ISA", "generic", NULL};
    fake_env_vars = generic;
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_ptr_equal(c.table, &fake_generic);

    /* A compiled table the CPU cannot run: the message says what is missing. */
    const char *const avx2[] = {"HPK_ISA", "avx2", NULL};
    fake_env_vars = avx2;
    hpk_config_build_tables(&bare, fake_env, tables, 2, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
    assert_non_null(strstr(c.error, "HPK_ISA=avx2: this CPU/build cannot run it"));
    assert_non_null(strstr(c.error, "FMA"));
    assert_non_null(strstr(c.error, "usable: generic"));
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_ptr_equal(c.table, &fake_avx2);

    /* No usable table at all. */
    fake_env_vars = NULL;
    hpk_config_build_tables(&bare, fake_env, tables, 1, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
}

static void test_config_block_overrides(void **state)
{
    (void)state;
    const struct hpk_kernel_table *const tables[] = {&fake_avx2, &fake_generic};
    struct hpk_machine zen3 =
        synthetic(HPK_FEAT_AVX2 | HPK_FEAT_FMA, 32 * KiB, 8, 512 * KiB, 8, 32 * MiB, 16);
    struct hpk_config c;

    const char *const kc64[] = {"HPK_KC", "64", NULL};
    fake_env_vars = kc64;
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_int_equal(c.status, HPK_OK);
    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        assert_int_equal(c.blocking[r].kc, 64);
        assert_int_equal(c.blocking[r].source_kc, HPK_SRC_ENV);
        assert_int_equal(c.blocking[r].source_mc, HPK_SRC_DEFAULT);
        check_invariants(&c.blocking[r], &c.table->sgemm[r], 32 * KiB, 512 * KiB, 32 * MiB);
    }
    /* MC and NC follow the overridden KC: 6x16, kc 64: C_B2 = ceil(4096/65536) = 1,
     * mc = 6*65536/256 = 1536; nc = 8388608/256 = 32768 */
    assert_int_equal(c.blocking[HPK_GEMM_MAIN].mc, 1536);
    assert_int_equal(c.blocking[HPK_GEMM_MAIN].nc, 32768);

    /* Kept as given, not rounded to MR/NR/kunroll. */
    const char *const all[] = {"HPK_MC", "7", "HPK_KC", "3", "HPK_NC", "1001", NULL};
    fake_env_vars = all;
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_int_equal(c.status, HPK_OK);
    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        assert_int_equal(c.blocking[r].mc, 7);
        assert_int_equal(c.blocking[r].kc, 3);
        assert_int_equal(c.blocking[r].nc, 1001);
        assert_int_equal(c.blocking[r].source_mc, HPK_SRC_ENV);
        assert_int_equal(c.blocking[r].source_nc, HPK_SRC_ENV);
    }

    /* Empty means unset. */
    const char *const empty[] = {"HPK_KC", "", NULL};
    fake_env_vars = empty;
    hpk_config_build_tables(&zen3, fake_env, tables, 2, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_int_equal(c.blocking[HPK_GEMM_MAIN].kc, 320);
    fake_env_vars = NULL;
}

/*
 * The NEON table in the dispatcher: compiled on aarch64 (configure's HPK_HAVE_NEON_TABLE), listed
 * before the generic one, chosen by default where the machine has Advanced SIMD, asked for by
 * HPK_ISA=neon, refused with the reason where it lacks it. Elsewhere HPK_ISA=neon must say the
 * build has no such table.
 */
static void test_config_neon(void **state)
{
    (void)state;
    struct hpk_machine bare = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_machine simd = bare;
    simd.features = HPK_FEAT_NEON;
    const char *const neon[] = {"HPK_ISA", "neon", NULL};
    struct hpk_config c;
#if defined(HPK_HAVE_NEON_TABLE)
    const struct hpk_kernel_table *const *tables;
    const size_t n = hpk_tables_compiled(&tables);
    assert_true(n >= 2);
    assert_ptr_equal(tables[n - 2], &hpk_kernels_neon); /* right before generic */
    assert_string_equal(hpk_kernels_neon.isa, "neon");
    assert_true(hpk_table_usable(&simd, &hpk_kernels_neon));
    assert_false(hpk_table_usable(&bare, &hpk_kernels_neon));

    build_with(&simd, NULL, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_ptr_equal(c.table, &hpk_kernels_neon);
    build_with(&bare, NULL, &c);
    assert_ptr_equal(c.table, &hpk_kernels_generic);

    build_with(&simd, neon, &c);
    assert_int_equal(c.status, HPK_OK);
    assert_ptr_equal(c.table, &hpk_kernels_neon);
    const char *const generic[] = {"HPK_ISA", "generic", NULL};
    build_with(&simd, generic, &c);
    assert_ptr_equal(c.table, &hpk_kernels_generic);

    build_with(&bare, neon, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
    assert_non_null(strstr(c.error, "HPK_ISA=neon: this CPU/build cannot run it"));
    assert_non_null(strstr(c.error, "Advanced SIMD"));
    assert_non_null(strstr(c.error, "usable: generic"));

    /* hpk-info's report names the table and its records. */
    build_with(&simd, NULL, &c);
    size_t len = hpk_describe_config(&simd, &c, NULL, 0);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    hpk_describe_config(&simd, &c, buf, len + 1);
    assert_non_null(strstr(buf, "isa: neon"));
    assert_non_null(strstr(buf, "hpk_sgemm_ukernel_8x12__neon, 8x12"));
    assert_non_null(strstr(buf, "features: neon"));
    free(buf);
#else
    build_with(&simd, neon, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_null(c.table);
    assert_non_null(strstr(c.error, "no neon table is compiled into this build"));
#endif
}

static void test_config_bad_blocks(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc", "0", "-5", "99999999999999999999999", "12abc", " 12", "+3", "1e3", "16777217"};
    struct hpk_machine m = synthetic(0, 32 * KiB, 8, 512 * KiB, 8, 8 * MiB, 16);
    struct hpk_config c;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const vars[] = {"HPK_KC", bad[i], NULL};
        build_with(&m, vars, &c);
        if (c.status != HPK_ERR_INVALID_ARG)
            fail_msg("HPK_KC='%s': status %d", bad[i], c.status);
        assert_null(c.table);
        char want[128];
        snprintf(want, sizeof want, "HPK_KC='%s': expected a positive integer", bad[i]);
        if (strstr(c.error, want) == NULL)
            fail_msg("HPK_KC='%s': message '%s'", bad[i], c.error);
    }
    const char *const mc[] = {"HPK_MC", "abc", NULL};
    build_with(&m, mc, &c);
    assert_int_equal(c.status, HPK_ERR_INVALID_ARG);
    assert_non_null(strstr(c.error, "HPK_MC='abc': expected a positive integer"));

    /* Two bad overrides: the first status, both named. */
    const char *const two[] = {"HPK_ISA", "bogus", "HPK_NC", "-1", NULL};
    build_with(&m, two, &c);
    assert_int_equal(c.status, HPK_ERR_UNSUPPORTED);
    assert_non_null(strstr(c.error, "HPK_ISA=bogus"));
    assert_non_null(strstr(c.error, "HPK_NC='-1'"));
}

/* --- the public report ---------------------------------------------------------------------- */

static void test_describe(void **state)
{
    (void)state;
    size_t needed = 0;
    assert_int_equal(hpk_describe(NULL, 0, &needed), HPK_OK);
    assert_true(needed > 100);
    char *full = malloc(needed + 1);
    assert_non_null(full);
    size_t again = 0;
    assert_int_equal(hpk_describe(full, needed + 1, &again), HPK_OK);
    assert_int_equal(again, needed);
    assert_int_equal(strlen(full), needed);
    assert_non_null(strstr(full, "L1d: "));
    assert_non_null(strstr(full, "isa: "));
    assert_non_null(strstr(full, "sgemm main: "));
    /* Every Winograd variant names the transforms a convolution would run: the dispatched
     * table's, else the next usable table's (the generic table has them all). */
    const struct hpk_config *cfg = hpk_config_get();
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        const struct hpk_kernel_table *t = cfg->table;
        while (t != NULL && t->winograd[v].input == NULL)
            t = hpk_table_next_usable(t);
        assert_non_null(t);
        assert_non_null(strstr(full, t->winograd[v].name));
    }
    assert_non_null(strstr(full, "depthwise: "));
    const struct hpk_kernel_table *pt = cfg->table;
    while (pt != NULL && pt->maxpool == NULL)
        pt = hpk_table_next_usable(pt);
    assert_non_null(pt);
    assert_non_null(strstr(full, pt->maxpool_name));

    char small[17];
    memset(small, 'x', sizeof small);
    assert_int_equal(hpk_describe(small, 10, NULL), HPK_OK);
    assert_int_equal(small[9], '\0');
    assert_int_equal(strncmp(small, full, 9), 0);
    assert_int_equal(small[10], 'x'); /* nothing written past size */
    assert_int_equal(hpk_describe(small, 1, NULL), HPK_OK);
    assert_int_equal(small[0], '\0');
    assert_int_equal(hpk_describe(NULL, 5, NULL), HPK_ERR_INVALID_ARG);
    free(full);
}

static void test_describe_error_config(void **state)
{
    (void)state;
    struct hpk_machine m = synthetic(0, 32 * KiB, 8, 0, 0, 0, 0);
    struct hpk_config c;
    const char *const vars[] = {"HPK_ISA", "avx512", NULL};
    build_with(&m, vars, &c);
    size_t n = hpk_describe_config(&m, &c, NULL, 0);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(hpk_describe_config(&m, &c, buf, n + 1), n);
    assert_non_null(strstr(buf, "HPK_ISA=avx512"));
    assert_non_null(strstr(buf, "L2: none"));
    assert_null(strstr(buf, "sgemm main"));
    free(buf);
}

static void test_isa(void **state)
{
    (void)state;
    const struct hpk_kernel_table *const *tables;
    size_t n = hpk_tables_compiled(&tables);
    assert_true(n >= 1);
    assert_ptr_equal(tables[n - 1], &hpk_kernels_generic); /* the last resort, always there */
    const struct hpk_kernel_table *best = NULL;
    for (size_t i = 0; i < n && best == NULL; i++)
        if (hpk_table_usable(hpk_machine_get(), tables[i]))
            best = tables[i];
    assert_non_null(best);

    const char *name = NULL;
    assert_int_equal(hpk_isa(&name), HPK_OK);
    assert_non_null(name);
    assert_string_equal(name, best->isa);
    if (n == 1) /* only the generic table is compiled in at present */
        assert_string_equal(name, "generic");
    assert_int_equal(hpk_isa(NULL), HPK_ERR_INVALID_ARG);
    assert_ptr_equal(hpk_config_get(), hpk_config_get());
}

static void test_source_names(void **state)
{
    (void)state;
    assert_string_equal(hpk_source_name(HPK_SRC_HWLOC), "hwloc");
    assert_string_equal(hpk_source_name(HPK_SRC_CPUID), "cpuid");
    assert_string_equal(hpk_source_name(HPK_SRC_SYSFS), "sysfs");
    assert_string_equal(hpk_source_name(HPK_SRC_DEFAULT), "default");
    assert_string_equal(hpk_source_name(HPK_SRC_ENV), "env");
    assert_string_equal(hpk_source_name(HPK_SRC_NONE), "none");
}

/* The helper-kernel chain: every table after the first in the list that this machine runs,
 * ending with the generic one; a table from outside the list falls to the generic one. */
static void test_table_next_usable(void **state)
{
    (void)state;
    const struct hpk_kernel_table *const *tables;
    const size_t n = hpk_tables_compiled(&tables);
    const struct hpk_machine *m = hpk_machine_get();
    for (size_t i = 0; i < n; i++) {
        const struct hpk_kernel_table *next = hpk_table_next_usable(tables[i]);
        size_t j = i + 1;
        while (j < n && !hpk_table_usable(m, tables[j]))
            j++;
        if (j == n)
            assert_null(next);
        else
            assert_ptr_equal(next, tables[j]);
    }
    assert_null(hpk_table_next_usable(&hpk_kernels_generic));
    static const struct hpk_kernel_table fake = {.isa = "generic"};
    assert_ptr_equal(hpk_table_next_usable(&fake), &hpk_kernels_generic);
}

#if defined(HPK_HAVE_HWLOC)
/*
 * HPK_PIN's order on synthetic topologies (hwloc builds them from a description, so SMT is
 * tested on any machine): one PU of every core before any core's second PU, cores in topology
 * order, only the allowed PUs, at most cap entries. The expected lists are worked out by hand
 * from hwloc's numbering of synthetic PUs (0, 1, ... depth first: core i of "core:4 pu:2" holds
 * PUs 2i and 2i + 1).
 */
static void expect_order(const char *topo, const int *allowed, size_t n_allowed, size_t cap,
                         const int *want, size_t n_want)
{
    int got[16];
    assert_true(cap <= 16);
    const size_t n = hpk_pin_order(topo, allowed, n_allowed, got, cap);
    if (n != n_want)
        fail_msg("%s: %zu CPUs in the pin order, want %zu", topo, n, n_want);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: pin order[%zu] = %d, want %d", topo, i, got[i], want[i]);
}
#endif

static void test_pin_order(void **state)
{
    (void)state;
#if defined(HPK_HAVE_HWLOC)
    static const int smt[] = {0, 2, 4, 6, 1, 3, 5, 7};
    expect_order("core:4 pu:2", NULL, 0, 16, smt, 8);
    expect_order("core:4 pu:2", NULL, 0, 3, smt, 3);
    expect_order("package:2 core:2 pu:2", NULL, 0, 16, smt, 8);
    /* core 0 has PU 1 only, core 1 both, core 2 none, core 3 PU 6 */
    static const int allowed[] = {1, 2, 3, 6}, narrowed[] = {1, 2, 6, 3};
    expect_order("core:4 pu:2", allowed, 4, 16, narrowed, 4);
    static const int plain[] = {0, 1, 2};
    expect_order("core:3 pu:1", NULL, 0, 16, plain, 3);
    /* this machine: every CPU of the process's mask, each once */
    int order[HPK_PIN_ORDER_MAX_TEST];
    const size_t n = hpk_pin_order(NULL, NULL, 0, order, HPK_PIN_ORDER_MAX_TEST);
    const struct hpk_machine *m = hpk_machine_get();
    assert_true(n >= 1 && n <= m->cpus);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(order[i], order[j]);
#else
    int order[4];
    assert_int_equal(hpk_pin_order("core:4 pu:2", NULL, 0, order, 4), 0);
    print_message("skipped: built without hwloc (HPK_PIN follows the affinity mask)\n");
    skip();
#endif
}

int main(void)
{
    /* The process-wide configuration is read once; the caller's overrides must not leak in. */
    static const char *const vars[] = {"HPK_ISA", "HPK_MC", "HPK_KC", "HPK_NC"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_vs_cpuinfo),
        cmocka_unit_test(test_features_vs_idregs),
        cmocka_unit_test(test_machine_basics),
        cmocka_unit_test(test_zmm_fmas),
        cmocka_unit_test(test_caches_hwloc_vs_sysfs),
        cmocka_unit_test(test_caches_cpuid_vs_sysfs),
        cmocka_unit_test(test_caches_sysfs_fake_tree),
        cmocka_unit_test(test_cpulist_count),
        cmocka_unit_test(test_caches_detect),
        cmocka_unit_test(test_blocking_real_machine),
        cmocka_unit_test(test_blocking_synthetic),
        cmocka_unit_test(test_blocking_degenerate_records),
        cmocka_unit_test(test_blocking_ignores_threads),
        cmocka_unit_test(test_config_default),
        cmocka_unit_test(test_config_wait),
        cmocka_unit_test(test_config_isa),
        cmocka_unit_test(test_config_isa_fake_tables),
        cmocka_unit_test(test_config_neon),
        cmocka_unit_test(test_table_next_usable),
        cmocka_unit_test(test_config_block_overrides),
        cmocka_unit_test(test_config_bad_blocks),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_describe_error_config),
        cmocka_unit_test(test_isa),
        cmocka_unit_test(test_source_names),
        cmocka_unit_test(test_pin_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
