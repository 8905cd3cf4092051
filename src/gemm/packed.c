/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed weights: a constant op(B) packed once into one record's panels (hpk/inference.h).
 *
 * A handle is one block: a fixed-size header, then the panels at offset HEADER_BYTES. The
 * header holds no pointer, so the block may be copied, saved and mapped; it names the table,
 * the records and the KC it was packed for, and every call compares them with the process's own
 * before reading a panel. Row-major: op(B) is the kernel-space B, packed as B~ of the main
 * record (hpk_gemm_pack_b_full), and the small-M record reads the same panels when it shares
 * NR and the B packer. Column-major: op(B)^T is the kernel-space A, packed as A~ of the main
 * record (hpk_gemm_pack_a_full).
 */
#include "config.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "hpk/inference.h"
#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/base/workspace.h"
#include "src/gemm/gemm.h"
#include "src/gemm/inference.h"

#define PACKED_MAGIC 0x6b706b68u /* "hkpk" */
#define PACKED_VERSION 1u
#define NAME_LEN 64

enum role {
    ROLE_B = 0,
    ROLE_A = 1
};

struct hpk_sgemm_packed_b {
    uint32_t magic, version;
    uint64_t bytes;       /* the whole handle */
    uint64_t reserved;    /* 0 */
    uint32_t layout;      /* hpk_layout */
    uint32_t role;        /* enum role */
    uint64_t k, n;        /* op(B) is k x n */
    uint64_t data_offset; /* bytes from the handle to the panels */
    uint64_t data_floats;
    uint32_t mr, nr, kc; /* the main record's tile and the KC of the panels */
    uint32_t small_mr;   /* the small-M record's MR when it reads these panels, else 0 */
    char isa[16];
    char main_name[NAME_LEN];
    char small_name[NAME_LEN];
};

#define HEADER_BYTES 256
_Static_assert(sizeof(struct hpk_sgemm_packed_b) <= HEADER_BYTES, "header too large");
_Static_assert(HEADER_BYTES % HPK_ALIGNMENT == 0, "panels must stay aligned");

/*
 * The handles hpk allocated, in a list whose nodes sit just in front of each one. Destroy frees
 * only these: a handle in the caller's memory (or bytes copied from one, or a read-only mapping)
 * is never written or freed, whatever its header says.
 */
struct owned_node {
    struct owned_node *next, *prev;
};
#define NODE_BYTES HPK_ALIGNMENT
_Static_assert(sizeof(struct owned_node) <= NODE_BYTES, "node too large");

static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owned_node owned_head = {&owned_head, &owned_head};

/* fork(): the lock is taken around it, as the workspace cache's is. */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void lock_for_fork(void)
{
    pthread_mutex_lock(&owned_lock);
}
static void unlock_after_fork(void)
{
    pthread_mutex_unlock(&owned_lock);
}
static void register_atfork(void)
{
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static hpk_sgemm_packed_b *handle_of(struct owned_node *node)
{
    return (hpk_sgemm_packed_b *)((char *)node + NODE_BYTES);
}

#define FAIL(status, ...)                                                                          \
    do {                                                                                           \
        hpk_log_verbose(__VA_ARGS__);                                                              \
        return status;                                                                             \
    } while (0)

static void copy_name(char *dst, const char *src)
{
    memset(dst, 0, NAME_LEN);
    if (src != NULL)
        strncpy(dst, src, NAME_LEN - 1);
}

static int same_name(const char *stored, const char *name)
{
    return name != NULL && strncmp(stored, name, NAME_LEN - 1) == 0 && stored[NAME_LEN - 1] == 0;
}

/* Whether the small-M record can read the main record's B~ panels. */
static int small_shares_b(const struct hpk_kernel_table *t)
{
    const struct hpk_gemm_record *mr = &t->sgemm[HPK_GEMM_MAIN], *sr = &t->sgemm[HPK_GEMM_SMALL_M];
    return sr->ukernel != NULL && (sr->flags & HPK_GEMM_A_IN_PLACE) && sr->nr == mr->nr &&
           sr->pack_b == mr->pack_b;
}

hpk_status hpk_packed_b_size_with(const struct hpk_kernel_table *table, hpk_layout layout, size_t k,
                                  size_t n, size_t *floats_out, size_t *bytes_out)
{
    const struct hpk_gemm_record *r = &table->sgemm[HPK_GEMM_MAIN];
    size_t floats = 0, bytes;
    if (k != 0 && n != 0) {
        floats = layout == HPK_ROW_MAJOR ? hpk_gemm_packed_b_size(r, k, n)
                                         : hpk_gemm_packed_a_size(r, n, k);
        if (floats == 0)
            return HPK_ERR_OVERFLOW;
    }
    if (hpk_mul_overflow(floats, sizeof(float), &bytes) ||
        hpk_add_overflow(bytes, HEADER_BYTES, &bytes) || bytes > (size_t)PTRDIFF_MAX)
        return HPK_ERR_OVERFLOW;
    *floats_out = floats;
    *bytes_out = bytes;
    return HPK_OK;
}

hpk_status hpk_sgemm_packed_b_size(hpk_layout layout, size_t k, size_t n, size_t *bytes_out)
{
    const struct hpk_config *cfg = hpk_config_get();
    size_t floats, bytes;
    if (layout != HPK_ROW_MAJOR && layout != HPK_COL_MAJOR)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_size: unknown layout %d", (int)layout);
    if (bytes_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_size: bytes_out is NULL");
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    hpk_status st = hpk_packed_b_size_with(cfg->table, layout, k, n, &floats, &bytes);
    if (st != HPK_OK)
        FAIL(st, "sgemm_packed_b_size: k=%zu n=%zu overflows", k, n);
    *bytes_out = bytes;
    return HPK_OK;
}

/* The checks of both create calls that concern B. */
static hpk_status validate_b(hpk_layout layout, hpk_transpose transb, size_t k, size_t n,
                             const float *b, size_t ldb, hpk_sgemm_packed_b **packed_out)
{
    if (layout != HPK_ROW_MAJOR && layout != HPK_COL_MAJOR)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b: unknown layout %d", (int)layout);
    if (transb != HPK_NO_TRANS && transb != HPK_TRANS)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b: unknown transb %d", (int)transb);
    if (packed_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b: packed_out is NULL");
    /* B's checks are those of a GEMM whose only other operands are trivially valid: m = 1. */
    hpk_status st =
        hpk_sgemm_validate_shape(layout, HPK_NO_TRANS, transb, 1, n, k, 1.0f,
                                 layout == HPK_ROW_MAJOR ? hpk_max_size(k, 1) : 1, ldb,
                                 layout == HPK_ROW_MAJOR ? hpk_max_size(n, 1) : 1, NULL);
    if (st != HPK_OK)
        return st;
    if (k != 0 && n != 0 && b == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b: B is NULL");
    return HPK_OK;
}

/* Byte extent of the stored B (validated). */
static size_t b_extent_bytes(hpk_layout layout, hpk_transpose transb, size_t k, size_t n,
                             size_t ldb)
{
    if (k == 0 || n == 0)
        return 0;
    size_t rows = transb == HPK_TRANS ? n : k, cols = transb == HPK_TRANS ? k : n;
    size_t outer = layout == HPK_ROW_MAJOR ? rows : cols,
           inner = layout == HPK_ROW_MAJOR ? cols : rows;
    return ((outer - 1) * ldb + inner) * sizeof(float);
}

/* The KC of a handle's panels: hpk_gemm_kc_for's for a row-major B (role B), the blocking's
 * for a column-major one (role A, its n the rows of A~). */
static size_t handle_kc(const struct hpk_blocking *bl, int role_b, size_t k, size_t n)
{
    return role_b ? hpk_gemm_kc_for(bl, k, n) : hpk_max_size(bl->kc, 1);
}

/* Writes the header and the panels of a validated call into mem (bytes from the size query). */
static void pack_into(const struct hpk_kernel_table *table,
                      const struct hpk_blocking blocking[HPK_GEMM_RECORDS], hpk_layout layout,
                      hpk_transpose transb, size_t k, size_t n, const float *b, size_t ldb,
                      size_t floats, size_t bytes, void *mem)
{
    struct hpk_sgemm_packed_b *h = mem;
    const struct hpk_gemm_record *r = &table->sgemm[HPK_GEMM_MAIN];
    const size_t kc = handle_kc(&blocking[HPK_GEMM_MAIN], layout == HPK_ROW_MAJOR, k, n);
    const int shares = layout == HPK_ROW_MAJOR && small_shares_b(table);

    memset(h, 0, HEADER_BYTES);
    h->bytes = bytes;
    h->layout = (uint32_t)layout;
    h->role = layout == HPK_ROW_MAJOR ? ROLE_B : ROLE_A;
    h->k = k;
    h->n = n;
    h->data_offset = HEADER_BYTES;
    h->data_floats = floats;
    h->mr = r->mr;
    h->nr = r->nr;
    h->kc = (uint32_t)kc;
    h->small_mr = shares ? table->sgemm[HPK_GEMM_SMALL_M].mr : 0;
    strncpy(h->isa, table->isa, sizeof h->isa - 1);
    copy_name(h->main_name, r->name);
    copy_name(h->small_name, shares ? table->sgemm[HPK_GEMM_SMALL_M].name : NULL);

    float *dst = (float *)((char *)mem + HEADER_BYTES);
    const ptrdiff_t ld = (ptrdiff_t)ldb;
    if (k != 0 && n != 0) {
        /* Kernel space: row-major op(B)[p][j] is B itself; column-major op(B)^T[j][p]. */
        const int t = transb == HPK_TRANS;
        if (layout == HPK_ROW_MAJOR)
            hpk_gemm_pack_b_full(r, kc, k, n, b, t ? 1 : ld, t ? ld : 1, dst);
        else
            hpk_gemm_pack_a_full(r, kc, n, k, b, t ? 1 : ld, t ? ld : 1, dst);
    }
    /* Published last: a handle whose packing did not finish is not one. */
    h->version = PACKED_VERSION;
    h->magic = PACKED_MAGIC;
}

hpk_status hpk_sgemm_packed_b_create_with(const struct hpk_kernel_table *table,
                                          const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                          hpk_layout layout, hpk_transpose transb, size_t k,
                                          size_t n, const float *b, size_t ldb, void *mem,
                                          size_t size, hpk_sgemm_packed_b **packed_out)
{
    size_t floats, bytes;
    hpk_status st = validate_b(layout, transb, k, n, b, ldb, packed_out);
    if (st != HPK_OK)
        return st;
    if ((st = hpk_packed_b_size_with(table, layout, k, n, &floats, &bytes)) != HPK_OK)
        FAIL(st, "sgemm_packed_b: k=%zu n=%zu overflows", k, n);
    struct owned_node *node = NULL;
    if (mem != NULL) {
        const size_t b_bytes = b_extent_bytes(layout, transb, k, n, ldb);
        const uintptr_t m0 = (uintptr_t)mem, b0 = (uintptr_t)b;
        if ((uintptr_t)mem % HPK_ALIGNMENT != 0)
            FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_create_in: mem %p is not aligned to %d", mem,
                 HPK_ALIGNMENT);
        if (size < bytes)
            FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_create_in: size %zu < %zu needed", size,
                 bytes);
        if (b_bytes != 0 && m0 < b0 + b_bytes && b0 < m0 + bytes)
            FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_create_in: mem overlaps B");
    } else {
        if (bytes > SIZE_MAX - NODE_BYTES)
            return HPK_ERR_OVERFLOW;
        node = hpk_aligned_alloc(bytes + NODE_BYTES);
        if (node == NULL)
            FAIL(HPK_ERR_NOMEM, "sgemm_packed_b_create: cannot allocate %zu bytes", bytes);
        mem = handle_of(node);
    }
    pack_into(table, blocking, layout, transb, k, n, b, ldb, floats, bytes, mem);
    if (node != NULL) {
        pthread_once(&atfork_once, register_atfork);
        pthread_mutex_lock(&owned_lock);
        node->next = owned_head.next;
        node->prev = &owned_head;
        owned_head.next->prev = node;
        owned_head.next = node;
        pthread_mutex_unlock(&owned_lock);
    }
    *packed_out = mem;
    return HPK_OK;
}

hpk_status hpk_sgemm_packed_b_create(hpk_layout layout, hpk_transpose transb, size_t k, size_t n,
                                     const float *b, size_t ldb, hpk_sgemm_packed_b **packed_out)
{
    const struct hpk_config *cfg = hpk_config_get();
    hpk_status st = validate_b(layout, transb, k, n, b, ldb, packed_out);
    if (st != HPK_OK)
        return st;
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    return hpk_sgemm_packed_b_create_with(cfg->table, cfg->blocking, layout, transb, k, n, b, ldb,
                                          NULL, 0, packed_out);
}

hpk_status hpk_sgemm_packed_b_create_in(hpk_layout layout, hpk_transpose transb, size_t k, size_t n,
                                        const float *b, size_t ldb, void *mem, size_t size,
                                        hpk_sgemm_packed_b **packed_out)
{
    const struct hpk_config *cfg = hpk_config_get();
    hpk_status st = validate_b(layout, transb, k, n, b, ldb, packed_out);
    if (st != HPK_OK)
        return st;
    if (mem == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed_b_create_in: mem is NULL");
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    return hpk_sgemm_packed_b_create_with(cfg->table, cfg->blocking, layout, transb, k, n, b, ldb,
                                          mem, size, packed_out);
}

void hpk_sgemm_packed_b_destroy(hpk_sgemm_packed_b *packed)
{
    struct owned_node *found = NULL;
    if (packed == NULL)
        return;
    pthread_mutex_lock(&owned_lock);
    for (struct owned_node *q = owned_head.next; q != &owned_head; q = q->next)
        if (handle_of(q) == packed) {
            q->prev->next = q->next;
            q->next->prev = q->prev;
            found = q;
            break;
        }
    pthread_mutex_unlock(&owned_lock);
    if (found != NULL) {
        packed->magic = 0; /* a stale pointer to it is refused while the block is unused */
        hpk_free(found);
    }
}

/* A header that describes a handle of its own size: anything else is not a handle. */
static int header_sane(const struct hpk_sgemm_packed_b *h)
{
    size_t need;
    if (h->magic != PACKED_MAGIC || h->version != PACKED_VERSION)
        return 0;
    if ((h->layout != HPK_ROW_MAJOR && h->layout != HPK_COL_MAJOR) ||
        h->role != (h->layout == HPK_ROW_MAJOR ? ROLE_B : ROLE_A) || h->mr == 0 || h->nr == 0 ||
        h->kc == 0 || h->data_offset != HEADER_BYTES || h->isa[sizeof h->isa - 1] != 0 ||
        h->main_name[NAME_LEN - 1] != 0 || h->small_name[NAME_LEN - 1] != 0)
        return 0;
#if SIZE_MAX < UINT64_MAX
    if (h->k > SIZE_MAX || h->n > SIZE_MAX || h->data_floats > SIZE_MAX)
        return 0;
#endif
    if (h->k != 0 && h->n != 0) {
        const size_t tile = h->role == ROLE_B ? h->nr : h->mr;
        if (hpk_round_up_overflow((size_t)h->n, tile, &need) ||
            hpk_mul_overflow(need, (size_t)h->k, &need) || need != h->data_floats)
            return 0;
    } else if (h->data_floats != 0) {
        return 0;
    }
    size_t bytes;
    return !hpk_mul_overflow((size_t)h->data_floats, sizeof(float), &bytes) &&
           !hpk_add_overflow(bytes, HEADER_BYTES, &bytes) && h->bytes == bytes;
}

/* Whether the handle was packed for this table and blocking. */
static int matches(const struct hpk_sgemm_packed_b *h, const struct hpk_kernel_table *t,
                   const struct hpk_blocking blocking[HPK_GEMM_RECORDS])
{
    const struct hpk_gemm_record *r = &t->sgemm[HPK_GEMM_MAIN];
    if (strncmp(h->isa, t->isa, sizeof h->isa) != 0 || !same_name(h->main_name, r->name) ||
        h->mr != r->mr || h->nr != r->nr ||
        h->kc != handle_kc(&blocking[HPK_GEMM_MAIN], h->role == ROLE_B, h->k, h->n))
        return 0;
    if (h->small_mr != 0) {
        const struct hpk_gemm_record *s = &t->sgemm[HPK_GEMM_SMALL_M];
        if (!small_shares_b(t) || !same_name(h->small_name, s->name) || h->small_mr != s->mr)
            return 0;
    }
    return 1;
}

const char *hpk_sgemm_packed_b_record(const hpk_sgemm_packed_b *packed, int small)
{
    return small ? packed->small_name : packed->main_name;
}

void hpk_sgemm_packed_b_tamper(hpk_sgemm_packed_b *packed, const char *main_name, unsigned kc)
{
    if (main_name != NULL)
        copy_name(packed->main_name, main_name);
    if (kc != 0)
        packed->kc = kc;
}

/* The checks of a call that do not depend on the process's table. */
static hpk_status validate_call(hpk_layout layout, hpk_transpose transa, size_t m, size_t n,
                                size_t k, float alpha, const float *a, size_t lda,
                                const hpk_sgemm_packed_b *packed, float beta, const float *c,
                                size_t ldc, const hpk_epilogue *epilogue)
{
    if (packed == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed: packed is NULL");
    if (!header_sane(packed))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed: %p is not a live packed-B handle",
             (const void *)packed);
    if (layout != (hpk_layout)packed->layout || n != packed->n || k != packed->k)
        FAIL(HPK_ERR_INVALID_ARG,
             "sgemm_packed: call is layout %d, n=%zu k=%zu; the handle is layout %u, n=%llu, "
             "k=%llu",
             (int)layout, n, k, packed->layout, (unsigned long long)packed->n,
             (unsigned long long)packed->k);
    const float *data = (const float *)((const char *)packed + packed->data_offset);
    /* B's checks see the panels as a plain k x n matrix; C must also miss the whole handle. */
    hpk_status st = hpk_sgemm_validate(
        layout, transa, HPK_NO_TRANS, m, n, k, alpha, a, lda, packed->data_floats ? data : NULL,
        layout == HPK_ROW_MAJOR ? hpk_max_size(n, 1) : hpk_max_size(k, 1), beta, c, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    if (m != 0 && n != 0 && hpk_sgemm_c_overlaps(layout, m, n, c, ldc, packed, packed->bytes))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_packed: C overlaps the packed handle");
    return HPK_OK;
}

/* A validated call under one table and blocking. */
static hpk_status run_validated(const struct hpk_kernel_table *table,
                                const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                hpk_layout layout, hpk_transpose transa, size_t m, size_t n,
                                size_t k, float alpha, const float *a, size_t lda,
                                const hpk_sgemm_packed_b *packed, float beta, float *c, size_t ldc,
                                const hpk_epilogue *epilogue)
{
    hpk_status st;
    const float *data = (const float *)((const char *)packed + packed->data_offset);
    if (!matches(packed, table, blocking))
        FAIL(HPK_ERR_UNSUPPORTED,
             "sgemm_packed: the handle was packed for %s / %s (KC %u); this process runs %s / "
             "%s (KC %zu)",
             packed->isa, packed->main_name, packed->kc, table->isa,
             table->sgemm[HPK_GEMM_MAIN].name,
             handle_kc(&blocking[HPK_GEMM_MAIN], packed->role == ROLE_B, packed->k, packed->n));
    if (m == 0 || n == 0)
        return HPK_OK;

    struct hpk_gemm_problem p;
    hpk_sgemm_to_kernel_space(layout, transa, HPK_NO_TRANS, m, n, k, alpha, a, lda, NULL,
                              hpk_max_size(n, 1), beta, c, ldc, epilogue, &p);
    /* The panels' KC for every record that reads them. */
    struct hpk_blocking bl[HPK_GEMM_RECORDS];
    memcpy(bl, blocking, sizeof bl);
    bl[HPK_GEMM_MAIN].kc = bl[HPK_GEMM_SMALL_M].kc = packed->kc;

    if (packed->role == ROLE_A) {
        p.a_packed = data;
        p.a_packed_record = HPK_GEMM_MAIN;
        return hpk_gemm_run(table, bl, &p);
    }
    p.b_packed = data;
    p.b_packed_record = HPK_GEMM_MAIN;
    if (packed->small_mr == 0 || m > packed->small_mr || p.k == 0 || p.alpha == 0.0f)
        return hpk_gemm_run(table, bl, &p);

    /* Matrix-vector: the small-M record reads A in place, so a transposed A (a few rows of k)
     * is gathered into rows first. */
    p.b_packed_record = HPK_GEMM_SMALL_M;
    if (p.a_cs == 1)
        return hpk_gemm_run(table, bl, &p);
    size_t bytes;
    if (hpk_mul_overflow(m, k, &bytes) || hpk_mul_overflow(bytes, sizeof(float), &bytes))
        return HPK_ERR_OVERFLOW;
    float *rows = hpk_workspace_acquire(bytes);
    if (rows == NULL)
        return HPK_ERR_NOMEM;
    for (size_t i = 0; i < m; i++)
        for (size_t q = 0; q < k; q++)
            rows[i * k + q] = p.a[(ptrdiff_t)i * p.a_rs + (ptrdiff_t)q * p.a_cs];
    p.a = rows;
    p.a_rs = (ptrdiff_t)k;
    p.a_cs = 1;
    st = hpk_gemm_run(table, bl, &p);
    hpk_workspace_release(rows);
    return st;
}

hpk_status hpk_sgemm_packed_with(const struct hpk_kernel_table *table,
                                 const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                 hpk_layout layout, hpk_transpose transa, size_t m, size_t n,
                                 size_t k, float alpha, const float *a, size_t lda,
                                 const hpk_sgemm_packed_b *packed, float beta, float *c, size_t ldc,
                                 const hpk_epilogue *epilogue)
{
    hpk_status st =
        validate_call(layout, transa, m, n, k, alpha, a, lda, packed, beta, c, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    return run_validated(table, blocking, layout, transa, m, n, k, alpha, a, lda, packed, beta, c,
                         ldc, epilogue);
}

hpk_status hpk_sgemm_packed(hpk_layout layout, hpk_transpose transa, size_t m, size_t n, size_t k,
                            float alpha, const float *a, size_t lda,
                            const hpk_sgemm_packed_b *packed, float beta, float *c, size_t ldc,
                            const hpk_epilogue *epilogue)
{
    const struct hpk_config *cfg = hpk_config_get();
    hpk_status st =
        validate_call(layout, transa, m, n, k, alpha, a, lda, packed, beta, c, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    return run_validated(cfg->table, cfg->blocking, layout, transa, m, n, k, alpha, a, lda, packed,
                         beta, c, ldc, epilogue);
}
