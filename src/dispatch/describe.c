/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The report of hpk-info and HPK_VERBOSE: the machine as detected, the tables and the choice
 * among them, and the blocking of each GEMM record with where every figure came from.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hpk/common.h"
#include "src/base/log.h"
#include "src/dispatch/dispatch.h"

/* snprintf onto the end of a buffer, counting the full length even past its size. */
struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct out *o, const char *fmt, ...) HPK_PRINTF(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = o->len < o->size ? o->buf + o->len : NULL;
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void put_size(struct out *o, size_t bytes)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        put(o, "%zu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        put(o, "%zu KiB", bytes >> 10);
    else
        put(o, "%zu B", bytes);
}

static void put_features(struct out *o, uint32_t f)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {HPK_FEAT_SSE2, "sse2"},         {HPK_FEAT_AVX, "avx"},
        {HPK_FEAT_FMA, "fma"},           {HPK_FEAT_AVX2, "avx2"},
        {HPK_FEAT_AVX512F, "avx512f"},   {HPK_FEAT_AVX512DQ, "avx512dq"},
        {HPK_FEAT_AVX512BW, "avx512bw"}, {HPK_FEAT_AVX512VL, "avx512vl"},
        {HPK_FEAT_NEON, "neon"},         {HPK_FEAT_FPHP, "fphp"},
        {HPK_FEAT_FP16, "asimdhp"},      {HPK_FEAT_ASIMDDP, "asimddp"},
    };
    put(o, "features: ");
    int any = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (f & names[i].bit) {
            put(o, "%s%s", any ? " " : "", names[i].name);
            any = 1;
        }
    }
    put(o, "%s\n", any ? "" : "none");
}

static const char *block_source(enum hpk_source s, const char *var)
{
    return s == HPK_SRC_ENV ? var : s == HPK_SRC_DEFAULT ? "model" : hpk_source_name(s);
}

size_t hpk_describe_config(const struct hpk_machine *m, const struct hpk_config *c, char *buf,
                           size_t size)
{
    static const char *const level_names[HPK_CACHE_LEVELS] = {"L1d", "L2", "L3"};
    static const char *const record_names[HPK_GEMM_RECORDS] = {"main", "small_m"};
    struct out o = {buf, buf != NULL ? size : 0, 0};
    if (o.size > 0)
        buf[0] = '\0';

    put(&o, "cpu: %s, %s\n", m->vendor[0] ? m->vendor : "unknown",
        m->model[0] ? m->model : "unknown model");
    put_features(&o, m->features);
    put(&o, "cpus: %u usable, %u physical cores (%s)", m->cpus, m->cores,
        hpk_source_name(m->cores_source));
    if (m->quota_cpus != 0)
        put(&o, ", cgroup quota %u", m->quota_cpus);
    put(&o, "\n");
    if (m->zmm_fmas != 0)
        put(&o, "zmm FMAs per cycle: %u (%s; the convolution cost model's)\n", m->zmm_fmas,
            m->zmm_fmas_source == HPK_SRC_CPUID ? "cpuid model" : "default");
    for (int i = 0; i < HPK_CACHE_LEVELS; i++) {
        const struct hpk_cache *k = &m->cache[i];
        put(&o, "%s: ", level_names[i]);
        if (k->size == 0) {
            put(&o, "none\n");
            continue;
        }
        put_size(&o, k->size);
        put(&o, ", line %u B, ", k->line);
        if (k->assoc != 0)
            put(&o, "%u-way", k->assoc);
        else
            put(&o, "ways unknown or fully associative");
        put(&o, ", shared by %u cpu%s (%s)\n", k->shared_by, k->shared_by == 1 ? "" : "s",
            hpk_source_name(k->source));
    }

    const struct hpk_kernel_table *const *tables;
    size_t ntables = hpk_tables_compiled(&tables);
    const struct hpk_kernel_table *best = NULL;
    put(&o, "kernel tables:");
    for (size_t i = 0; i < ntables; i++) {
        int usable = hpk_table_usable(m, tables[i]);
        if (usable && best == NULL)
            best = tables[i];
        put(&o, " %s (%s)", tables[i]->isa, usable ? "usable" : "not usable here");
    }
    put(&o, "\n");

    if (c->status != HPK_OK || c->table == NULL) {
        /* Every computation returns this status until the environment is fixed. */
        put(&o, "isa: none, every call fails with: %s\n", hpk_status_string((hpk_status)c->status));
        put(&o, "error: %s\n", c->error[0] ? c->error : "no kernel table can run here");
        return o.len;
    }
    put(&o, "isa: %s (%s)\n", c->table->isa,
        c->table == best ? "the best usable table" : "chosen by HPK_ISA");
    if (c->threads_source == HPK_SRC_ENV)
        put(&o, "threads: %zu (HPK_NUM_THREADS)\n", c->threads);
    else
        put(&o, "threads: %zu (min of usable cpus, physical cores and cgroup quota)\n",
            c->threads);
    put(&o, "wait: a worker busy-waits %u us for the next job, then sleeps (%s)\n", c->wait_us,
        c->wait_source == HPK_SRC_ENV ? "HPK_WAIT_US" : "default; HPK_WAIT_US sets it");
#if defined(HPK_HAVE_HWLOC)
    put(&o, "pinning: %s\n",
        c->pin ? "workers pinned, one CPU each, a PU of every core before SMT siblings (HPK_PIN=1)"
               : "off (HPK_PIN=1 pins the pool's workers)");
#else
    put(&o, "pinning: %s\n", c->pin ? "workers pinned, one CPU each, in affinity-mask order (HPK_PIN=1)"
                                     : "off (HPK_PIN=1 pins the pool's workers)");
#endif
    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        const struct hpk_gemm_record *rec = &c->table->sgemm[r];
        const struct hpk_blocking *b = &c->blocking[r];
        put(&o, "sgemm %s: %s, %ux%u, kunroll %u, MC %zu (%s), KC %zu (%s), NC %zu (%s)\n",
            record_names[r], rec->name ? rec->name : "(unnamed)", rec->mr, rec->nr, rec->kunroll,
            b->mc, block_source(b->source_mc, "HPK_MC"), b->kc,
            b->source_kc == HPK_SRC_DEFAULT && rec->kc != 0 ? "record"
                                                            : block_source(b->source_kc, "HPK_KC"),
            b->nc, block_source(b->source_nc, "HPK_NC"));
        if (r == HPK_GEMM_MAIN && b->source_kc != HPK_SRC_ENV)
            put(&o, "sgemm %s, whole k as KC: for n <= %d and k <= %zu\n", record_names[r],
                HPK_GEMM_WHOLE_K_N, (size_t)HPK_GEMM_WHOLE_K_MULT * b->kc);
        if (rec->ukernel_pack_b != NULL && b->source_kc != HPK_SRC_ENV && b->kc > HPK_GEMM_ALIAS_KC)
            put(&o, "sgemm %s, KC %d: for B read in place with rows a multiple of %u bytes apart, "
                    "m <= MC (B~ then packed %d panels at a time)\n",
                record_names[r], HPK_GEMM_ALIAS_KC, HPK_GEMM_ALIAS_BYTES, HPK_GEMM_ALIAS_GROUP);
        if (rec->ukernel_a_direct != NULL)
            put(&o,
                "sgemm %s, A unpacked: %s, for row-contiguous A and n <= %zu (n <= %zu "
                "when m < %zu)\n",
                record_names[r], rec->name_a_direct ? rec->name_a_direct : "(unnamed)",
                (size_t)HPK_GEMM_A_DIRECT_PANELS * rec->nr,
                (size_t)HPK_GEMM_A_DIRECT_PANELS_SHORT_M * rec->nr,
                (size_t)HPK_GEMM_A_DIRECT_MIN_ROWS);
        if (rec->ukernel_a_direct != NULL)
            put(&o, "sgemm %s, A unpacked on several threads: one MC block, at most %d panels "
                    "a thread\n",
                record_names[r], HPK_GEMM_A_DIRECT_SHARE_PANELS);
        if (rec->ukernel_a_direct != NULL && b->source_kc != HPK_SRC_ENV)
            put(&o, "sgemm %s, A unpacked: KC is the whole k up to %zu\n", record_names[r],
                hpk_gemm_direct_kc_max(b->mc, b->kc, rec->nr));
        if (rec->ukernel_pack_b != NULL)
            put(&o, "sgemm %s, B~ packed by the first tile of each panel: %s, for one MC block "
                    "and B's rows contiguous\n",
                record_names[r], rec->name_pack_b ? rec->name_pack_b : "(unnamed)");
        if (rec->ukernel_pack_b_a_direct != NULL)
            put(&o, "sgemm %s, B~ packed by the first tile with A unpacked: %s\n",
                record_names[r],
                rec->name_pack_b_a_direct ? rec->name_pack_b_a_direct : "(unnamed)");
        if (rec->ukernel_col != NULL)
            put(&o, "sgemm %s, full tiles of a panel in one call: %s, for k blocks <= %d\n",
                record_names[r], rec->name_col ? rec->name_col : "(unnamed)",
                HPK_GEMM_COL_MAX_K);
        if (rec->flags & HPK_GEMM_STREAM)
            put(&o,
                "sgemm %s, B~ packed ahead (weights, Winograd U): each panel's first tile "
                "streams the next panel into L2\n",
                record_names[r]);
        if (rec->ukernel_col_seg != NULL)
            put(&o, "sgemm %s, A read in runs: %s, for convolutions with fewer than 8 input "
                    "channels (the stem)\n",
                record_names[r], rec->name_col_seg ? rec->name_col_seg : "(unnamed)");
        if (rec->gemv_packed != NULL)
            put(&o, "sgemm %s, matrix-vector on packed B: %s, for m <= %u\n", record_names[r],
                rec->gemv_packed_name ? rec->gemv_packed_name : "(unnamed)", rec->mr);
    }
    if (c->table->gemv_axpy != NULL)
        put(&o, "gemv rows: %s, for m <= %d with B's rows contiguous\n",
            c->table->gemv_axpy_name ? c->table->gemv_axpy_name : "(unnamed)", HPK_GEMV_MAX_M);
    if (c->table->gemv_dot != NULL)
        put(&o, "gemv dots: %s, for a few vectors against a matrix read along k\n",
            c->table->gemv_dot_name ? c->table->gemv_dot_name : "(unnamed)");
    /* The convolution's helper kernels: this table's, or where it has none the next usable
     * table's down (src/conv/conv.c takes them so). */
    for (int v = 0; v < HPK_WINOGRAD_VARIANTS; v++) {
        const struct hpk_winograd_record *w = NULL;
        for (const struct hpk_kernel_table *t = c->table; t != NULL && w == NULL;
             t = hpk_table_next_usable(t))
            if (t->winograd[v].input != NULL)
                w = &t->winograd[v];
        if (w == NULL)
            continue;
        const char *name = w->name ? w->name : "(unnamed)";
        if (w->stride == 2)
            put(&o, "winograd F(%ux%u, %ux%u) over the four phases of %zux%zu stride 2: %s\n", w->m,
                w->m, w->r, w->r, hpk_winograd_kernel(w), hpk_winograd_kernel(w), name);
        else
            put(&o, "winograd F(%ux%u, %ux%u), stride 1: %s\n", w->m, w->m, w->r, w->r, name);
    }
    const struct hpk_kernel_table *dw = c->table, *dw3 = c->table;
    while (dw != NULL && dw->dwconv == NULL)
        dw = hpk_table_next_usable(dw);
    while (dw3 != NULL && dw3->dwconv3x3 == NULL)
        dw3 = hpk_table_next_usable(dw3);
    if (dw != NULL)
        put(&o, "depthwise: %s; 3x3 stride 1 or 2: %s\n",
            dw->dwconv_name ? dw->dwconv_name : "(unnamed)",
            dw3 == NULL           ? "(none)"
            : dw3->dwconv3x3_name ? dw3->dwconv3x3_name
                                  : "(unnamed)");
    const struct hpk_kernel_table *mp = c->table, *ap = c->table;
    while (mp != NULL && mp->maxpool == NULL)
        mp = hpk_table_next_usable(mp);
    while (ap != NULL && ap->avgpool == NULL)
        ap = hpk_table_next_usable(ap);
    if (mp != NULL && ap != NULL)
        put(&o, "pooling: max %s, average %s\n", mp->maxpool_name ? mp->maxpool_name : "(unnamed)",
            ap->avgpool_name ? ap->avgpool_name : "(unnamed)");
    return o.len;
}

hpk_status hpk_describe(char *buf, size_t size, size_t *needed_out)
{
    if (buf == NULL && size > 0)
        return HPK_ERR_INVALID_ARG;
    const struct hpk_config *c = hpk_config_get();
    size_t n = hpk_describe_config(hpk_machine_get(), c, buf, size);
    if (needed_out != NULL)
        *needed_out = n;
    return (hpk_status)c->status;
}

hpk_status hpk_isa(const char **name_out)
{
    if (name_out == NULL)
        return HPK_ERR_INVALID_ARG;
    const struct hpk_config *c = hpk_config_get();
    if (c->status != HPK_OK || c->table == NULL) {
        *name_out = NULL;
        return c->status != HPK_OK ? (hpk_status)c->status : HPK_ERR_INTERNAL;
    }
    *name_out = c->table->isa;
    return HPK_OK;
}
