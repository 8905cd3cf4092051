/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration of the process: which kernel table runs, and the blocking of each of its
 * GEMM records, derived from the machine description and the HPK_* environment.
 *
 * Blocking model (Low, Igual, Smith, Quintana-Orti, "Analytical modeling is enough for
 * high-performance BLIS", ACM TOMS 43(2), 2016). With a set-associative cache of W ways, one way
 * holds size / W bytes; packed panels are contiguous, so a panel of B bytes fills B / way ways
 * evenly. 4 is sizeof(float).
 *
 *   KC: the KC x NR micro-panel of B~ is reused across every MR-row sliver of A~, so it must
 *       stay in L1 while a KC x MR sliver of A~ streams through it and one way is left for C:
 *         C_B = floor((W_L1 - 1) / (1 + MR / NR))  ways for B~,
 *         kc  = C_B * (L1 / W_L1) / (NR * 4),
 *       then the A~ sliver (MR / NR of B~'s footprint) fits the remaining ways. Rounded down to
 *       a multiple of the record's kunroll, at least kunroll.
 *   MC: the MC x KC block of A~ is reused across every NR-column micro-panel of B~, so it must
 *       stay in L2 next to one B~ micro-panel and C. We take the paper's way count rather than
 *       a flat fraction of L2: C_B2 = ceil(KC * NR * 4 / (L2 / W_L2)) ways for the B~ panel, one
 *       way for C, and A~ gets C_A = W_L2 - 1 - C_B2 ways: mc = C_A * (L2 / W_L2) / (KC * 4),
 *       rounded down to a multiple of MR, at least MR. Counting ways (not bytes) is what keeps
 *       the B~ panel from evicting A~ lines that map to the same sets.
 *   NC: the KC x NC block of B~ takes at most a quarter of L3: the L3 a VM reports is shared
 *       with cores and guests we cannot see. nc = (L3 / 4) / (KC * 4), rounded down to a
 *       multiple of NR, at least NR.
 *
 * A missing level (size 0) falls back to the next one the machine has: no L2 -> MC from L3; no
 * L3 -> NC from the largest level present (L2), by the same quarter rule, which is small but
 * safe (a machine without L3 streams B~ from memory anyway). Neither L2 nor L3 (or no L1d)
 * -> the default of that level from caches.c. Associativity 0 (unknown or fully associative)
 * counts as 8 ways, more ways than lines as one way per line; when the ways leave no room
 * (direct-mapped or 2-way caches), the panel simply takes half the cache.
 *
 * A record may name its own KC instead (hpk_gemm_record.kc, measured); MC and NC follow from it
 * by the rules above.
 *
 * KC changes the order of the additions of every C element, so it depends on the machine and
 * the record only, never on the thread count.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/checked.h"
#include "src/base/log.h"
#include "hpk/threads.h"
#include "src/base/parallel.h"
#include "src/dispatch/caches.h"

/* Largest HPK_MC/HPK_KC/HPK_NC accepted: far above any useful block, and low enough that the
 * driver's products of blocks (mc * kc, kc * nc floats) cannot overflow. */
#define BLOCK_MAX ((size_t)1 << 24)

const char *hpk_source_name(enum hpk_source src)
{
    switch (src) {
    case HPK_SRC_NONE: return "none";
    case HPK_SRC_HWLOC: return "hwloc";
    case HPK_SRC_CPUID: return "cpuid";
    case HPK_SRC_SYSFS: return "sysfs";
    case HPK_SRC_DEFAULT: return "default";
    case HPK_SRC_ENV: return "env";
    }
    return "?";
}

/* --- tables --------------------------------------------------------------------------------- */

static const struct hpk_kernel_table *const compiled_tables[] = {
#if defined(HPK_HAVE_AVX512_TABLE)
    &hpk_kernels_avx512,
#endif
#if defined(HPK_HAVE_AVX2_TABLE)
    &hpk_kernels_avx2,
#endif
#if defined(HPK_HAVE_NEON_TABLE)
    &hpk_kernels_neon,
#endif
    &hpk_kernels_generic,
};

size_t hpk_tables_compiled(const struct hpk_kernel_table *const **list_out)
{
    if (list_out != NULL)
        *list_out = compiled_tables;
    return sizeof compiled_tables / sizeof compiled_tables[0];
}

const struct hpk_kernel_table *hpk_table_next_usable(const struct hpk_kernel_table *t)
{
    const size_t n = sizeof compiled_tables / sizeof compiled_tables[0];
    size_t i = 0;
    while (i < n && compiled_tables[i] != t)
        i++;
    if (i == n) /* a table from outside the list (a test's): the reference after it */
        return t == &hpk_kernels_generic ? NULL : &hpk_kernels_generic;
    for (i++; i < n; i++)
        if (hpk_table_usable(hpk_machine_get(), compiled_tables[i]))
            return compiled_tables[i];
    return NULL;
}

/* The AVX-512 table also runs AVX2 kernels where 256-bit vectors serve as well
 * (kernels/x86_avx512/table.c): every AVX-512 CPU has AVX2, but the check costs nothing. */
#define AVX512_NEEDS                                                                               \
    (HPK_FEAT_AVX512F | HPK_FEAT_AVX512DQ | HPK_FEAT_AVX512BW | HPK_FEAT_AVX512VL |              \
     HPK_FEAT_AVX2 | HPK_FEAT_FMA)
#define AVX2_NEEDS (HPK_FEAT_AVX2 | HPK_FEAT_FMA)

/* What each ISA name needs, by name, so that a test's fake table is judged like a real one. */
static const struct isa_need {
    const char *name;
    uint32_t features;
    const char *words; /* the requirement, for messages */
} isa_needs[] = {
    {"avx512", AVX512_NEEDS, "AVX-512 F/DQ/BW/VL, AVX2 and FMA with zmm state enabled by the OS"},
    {"avx2", AVX2_NEEDS, "AVX2 and FMA with ymm state enabled by the OS"},
    {"neon", HPK_FEAT_NEON, "aarch64 Advanced SIMD"},
    {"generic", 0, "nothing"},
};

static const struct isa_need *find_isa(const char *name)
{
    for (size_t i = 0; i < sizeof isa_needs / sizeof isa_needs[0]; i++)
        if (strcmp(isa_needs[i].name, name) == 0)
            return &isa_needs[i];
    return NULL;
}

int hpk_table_usable(const struct hpk_machine *m, const struct hpk_kernel_table *t)
{
    if (m == NULL || t == NULL || t->isa == NULL)
        return 0;
    const struct isa_need *need = find_isa(t->isa);
    return need != NULL && (m->features & need->features) == need->features;
}

/* --- blocking ------------------------------------------------------------------------------- */

struct eff_cache {
    size_t size;
    size_t ways;
};

static struct eff_cache effective(const struct hpk_cache *c)
{
    struct eff_cache e = {c->size, c->assoc ? c->assoc : 8};
    size_t lines = c->size / (c->line ? c->line : 64);
    if (e.ways > lines)
        e.ways = lines; /* "more ways than lines" is a bogus figure: fully associative */
    if (e.ways == 0)
        e.ways = 1;
    return e;
}

/* The cache that stands for level lv (0-based) in the model: see the head comment. */
static struct eff_cache model_level(const struct hpk_machine *m, int lv)
{
    struct hpk_cache def[HPK_CACHE_LEVELS];
    hpk_caches_default(def);
    /* Preference: the level itself, then larger levels, then smaller ones, then the default. */
    for (int i = lv; i < HPK_CACHE_LEVELS; i++)
        if (m->cache[i].size >= 1024)
            return effective(&m->cache[i]);
    for (int i = lv - 1; i >= 1; i--)
        if (m->cache[i].size >= 1024)
            return effective(&m->cache[i]);
    return effective(&def[lv]);
}

static size_t round_down_min(size_t x, size_t mult)
{
    x -= x % mult;
    return x < mult ? mult : x;
}

static size_t derive_kc(struct eff_cache l1, size_t mr, size_t nr, size_t ku)
{
    size_t way = l1.size / l1.ways;
    size_t cb = (l1.ways - 1) * nr / (nr + mr); /* floor((W - 1) / (1 + MR / NR)) */
    size_t bytes = cb != 0 ? cb * way : l1.size / 2;
    return round_down_min(bytes / (nr * sizeof(float)), ku);
}

static size_t derive_mc(struct eff_cache l2, size_t kc, size_t mr, size_t nr)
{
    size_t way = l2.size / l2.ways;
    size_t panel; /* bytes of one KC x NR micro-panel of B~ */
    if (hpk_mul_overflow(kc, nr * sizeof(float), &panel))
        return mr;
    size_t cb = hpk_div_round_up(panel, way);
    size_t avail = l2.ways > cb + 1 ? (l2.ways - 1 - cb) * way : l2.size / 2;
    return round_down_min(avail / (kc * sizeof(float)), mr);
}

static size_t derive_nc(struct eff_cache l3, size_t kc, size_t nr)
{
    return round_down_min(l3.size / 4 / (kc * sizeof(float)), nr);
}

static void record_shape(const struct hpk_gemm_record *r, size_t *mr, size_t *nr, size_t *ku)
{
    /* A record with a zero field is a bug elsewhere; derive something finite anyway. */
    *mr = r->mr ? r->mr : 1;
    *nr = r->nr ? r->nr : 1;
    *ku = r->kunroll ? r->kunroll : 1;
}

struct hpk_blocking hpk_blocking_derive(const struct hpk_machine *m,
                                        const struct hpk_gemm_record *r)
{
    size_t mr, nr, ku;
    record_shape(r, &mr, &nr, &ku);
    struct hpk_blocking b;
    b.kc = r->kc != 0 ? round_down_min(r->kc, ku) : derive_kc(model_level(m, 0), mr, nr, ku);
    b.mc = derive_mc(model_level(m, 1), b.kc, mr, nr);
    b.nc = derive_nc(model_level(m, 2), b.kc, nr);
    b.source_mc = b.source_kc = b.source_nc = HPK_SRC_DEFAULT;
    return b;
}

/* --- environment ---------------------------------------------------------------------------- */

static void add_error(struct hpk_config *out, int status, const char *fmt, ...) HPK_PRINTF(3, 4);

/* The first bad override sets the status; every one is named in the message. */
static void add_error(struct hpk_config *out, int status, const char *fmt, ...)
{
    if (out->status == HPK_OK)
        out->status = status;
    size_t len = strlen(out->error);
    if (len != 0 && len + 2 < sizeof out->error) {
        memcpy(out->error + len, "; ", 3);
        len += 2;
    }
    if (len + 1 >= sizeof out->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error + len, sizeof out->error - len, fmt, ap);
    va_end(ap);
}

/* A decimal integer <= max, nothing else (no sign, no spaces, no suffix). */
static int parse_uint(const char *s, size_t max, size_t *out)
{
    size_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (size_t)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* A positive decimal integer <= BLOCK_MAX. */
static int parse_block(const char *s, size_t *out)
{
    size_t v = 0;
    if (parse_uint(s, BLOCK_MAX, &v) != 0 || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* Reads one of HPK_MC/HPK_KC/HPK_NC: 0 when unset, 1 when *value is set, -1 when malformed. */
static int read_block(const char *(*env)(const char *), const char *name, size_t *value,
                      struct hpk_config *out)
{
    const char *s = env(name);
    if (s == NULL || *s == '\0')
        return 0;
    if (parse_block(s, value) != 0) {
        add_error(out, HPK_ERR_INVALID_ARG, "%s='%.40s': expected a positive integer (at most %zu)",
                  name, s, (size_t)BLOCK_MAX);
        return -1;
    }
    return 1;
}

/* "avx2, generic": the usable tables among the list. */
static void usable_list(const struct hpk_machine *m, const struct hpk_kernel_table *const *tables,
                        size_t ntables, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ntables; i++) {
        if (!hpk_table_usable(m, tables[i]))
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", tables[i]->isa);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    if (len == 0)
        snprintf(buf, size, "none");
}

static const struct hpk_kernel_table *choose_table(const struct hpk_machine *m, const char *isa,
                                                   const struct hpk_kernel_table *const *tables,
                                                   size_t ntables, struct hpk_config *out)
{
    char usable[96];
    usable_list(m, tables, ntables, usable, sizeof usable);
    if (isa == NULL || *isa == '\0') {
        for (size_t i = 0; i < ntables; i++)
            if (hpk_table_usable(m, tables[i]))
                return tables[i];
        add_error(out, HPK_ERR_UNSUPPORTED, "no kernel table of this build can run here");
        return NULL;
    }
    const struct isa_need *need = find_isa(isa);
    if (need == NULL) {
        add_error(out, HPK_ERR_UNSUPPORTED,
                  "HPK_ISA=%.32s: unknown kernel table (known: avx512, avx2, neon, generic); "
                  "usable: %s",
                  isa, usable);
        return NULL;
    }
    for (size_t i = 0; i < ntables; i++) {
        if (strcmp(tables[i]->isa, isa) != 0)
            continue;
        if (hpk_table_usable(m, tables[i]))
            return tables[i];
        add_error(out, HPK_ERR_UNSUPPORTED,
                  "HPK_ISA=%s: this CPU/build cannot run it (the CPU or OS lacks %s); usable: %s",
                  isa, need->words, usable);
        return NULL;
    }
    add_error(out, HPK_ERR_UNSUPPORTED,
              "HPK_ISA=%s: this CPU/build cannot run it (no %s table is compiled into this "
              "build); usable: %s",
              isa, isa, usable);
    return NULL;
}

void hpk_config_build_tables(const struct hpk_machine *m, const char *(*env)(const char *name),
                             const struct hpk_kernel_table *const *tables, size_t ntables,
                             struct hpk_config *out)
{
    memset(out, 0, sizeof *out);
    out->status = HPK_OK;
    const char *verbose = env("HPK_VERBOSE");
    out->verbose = verbose != NULL && verbose[0] != '\0' && strcmp(verbose, "0") != 0;
    const char *pin = env("HPK_PIN");
    if (pin != NULL && *pin != '\0') {
        if (strcmp(pin, "0") != 0 && strcmp(pin, "1") != 0)
            add_error(out, HPK_ERR_INVALID_ARG, "HPK_PIN='%.40s': expected 0 or 1", pin);
        out->pin = strcmp(pin, "1") == 0;
    }

    out->wait_us = HPK_POOL_WAIT_US_DEFAULT;
    out->wait_source = HPK_SRC_DEFAULT;
    const char *wait = env("HPK_WAIT_US");
    if (wait != NULL && *wait != '\0') {
        size_t v = 0;
        if (parse_uint(wait, HPK_POOL_WAIT_US_MAX, &v) != 0)
            add_error(out, HPK_ERR_INVALID_ARG,
                      "HPK_WAIT_US='%.40s': expected microseconds from 0 to %u", wait,
                      HPK_POOL_WAIT_US_MAX);
        else {
            out->wait_us = (unsigned)v;
            out->wait_source = HPK_SRC_ENV;
        }
    }

    const struct hpk_kernel_table *table = choose_table(m, env("HPK_ISA"), tables, ntables, out);
    size_t mc = 0, kc = 0, nc = 0;
    int has_mc = read_block(env, "HPK_MC", &mc, out);
    int has_kc = read_block(env, "HPK_KC", &kc, out);
    int has_nc = read_block(env, "HPK_NC", &nc, out);
    out->threads = hpk_threads_default(m);
    out->threads_source = HPK_SRC_DEFAULT;
    const char *nt = env("HPK_NUM_THREADS");
    if (nt != NULL && *nt != '\0') {
        size_t v = 0;
        if (parse_block(nt, &v) != 0 || v > HPK_MAX_THREADS)
            add_error(out, HPK_ERR_INVALID_ARG,
                      "HPK_NUM_THREADS='%.40s': expected an integer from 1 to %d", nt,
                      HPK_MAX_THREADS);
        else {
            out->threads = v;
            out->threads_source = HPK_SRC_ENV;
        }
    }
    if (out->status != HPK_OK || table == NULL)
        return; /* every call fails until the environment is fixed: no table, no blocking */
    out->table = table;

    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        const struct hpk_gemm_record *rec = &table->sgemm[r];
        struct hpk_blocking *b = &out->blocking[r];
        *b = hpk_blocking_derive(m, rec);
        /* The user's values are kept as given, not rounded to MR/NR/kunroll: the driver handles
         * any block, and a tuner wants to measure exactly what it asked for. A KC override
         * changes the panels MC and NC are derived from, so they are derived again. */
        if (has_kc > 0) {
            size_t mr, nr, ku;
            record_shape(rec, &mr, &nr, &ku);
            b->kc = kc;
            b->source_kc = HPK_SRC_ENV;
            b->mc = derive_mc(model_level(m, 1), kc, mr, nr);
            b->nc = derive_nc(model_level(m, 2), kc, nr);
        }
        if (has_mc > 0) {
            b->mc = mc;
            b->source_mc = HPK_SRC_ENV;
        }
        if (has_nc > 0) {
            b->nc = nc;
            b->source_nc = HPK_SRC_ENV;
        }
    }
}

void hpk_config_build(const struct hpk_machine *m, const char *(*env)(const char *name),
                      struct hpk_config *out)
{
    const struct hpk_kernel_table *const *tables;
    size_t n = hpk_tables_compiled(&tables);
    hpk_config_build_tables(m, env, tables, n, out);
}

size_t hpk_threads_default(const struct hpk_machine *m)
{
    size_t t = m->cpus ? m->cpus : 1;
    if (m->cores != 0 && m->cores < t)
        t = m->cores; /* a second hyperthread adds no FMA throughput to a GEMM */
    if (m->quota_cpus != 0 && m->quota_cpus < t)
        t = m->quota_cpus;
    return t;
}

/* --- the process's instances ---------------------------------------------------------------- */

static pthread_once_t machine_once = PTHREAD_ONCE_INIT;
static struct hpk_machine machine;

static void machine_init(void)
{
    hpk_machine_detect(&machine);
}

const struct hpk_machine *hpk_machine_get(void)
{
    pthread_once(&machine_once, machine_init);
    return &machine;
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;
static struct hpk_config config;

static const char *process_env(const char *name)
{
    return getenv(name);
}

/* HPK_VERBOSE: the report of hpk-info, one log line per report line. */
static void log_decisions(const struct hpk_machine *m, const struct hpk_config *c)
{
    size_t need = hpk_describe_config(m, c, NULL, 0);
    char *buf = malloc(need + 1);
    if (buf == NULL)
        return;
    hpk_describe_config(m, c, buf, need + 1);
    for (char *line = buf, *end; *line != '\0'; line = end + (*end != '\0')) {
        end = line + strcspn(line, "\n");
        hpk_log_verbose("%.*s", (int)(end - line), line);
    }
    free(buf);
}

static void config_init(void)
{
    const struct hpk_machine *m = hpk_machine_get();
    hpk_config_build(m, process_env, &config);
    /* Printed here, once per process, and not in the pure hpk_config_build. */
    if (config.status != HPK_OK)
        hpk_log_error("%s", config.error);
    if (config.verbose)
        log_decisions(m, &config);
    hpk_parallel_set_wait_us(config.wait_us);
    if (config.pin) {
        static int order[HPK_PIN_ORDER_MAX];
        const size_t n = hpk_pin_order(NULL, NULL, 0, order, HPK_PIN_ORDER_MAX);
        hpk_parallel_set_pinning(1, order, n);
    }
}

const struct hpk_config *hpk_config_get(void)
{
    pthread_once(&config_once, config_init);
    return &config;
}

size_t hpk_threads(void)
{
    size_t user = hpk_parallel_user_threads();
    if (user != 0)
        return user;
    const struct hpk_config *c = hpk_config_get();
    return c->threads ? c->threads : 1;
}

size_t hpk_get_num_threads(void) { return hpk_threads(); }
