// SPDX-License-Identifier: BSD-3-Clause
//
// The libraries behind hpkb::GemmLib. Why dlopen: OpenBLAS and BLIS export the same BLAS and
// CBLAS symbols, so linking both into one program makes one of them silently answer for the
// other. Each peer is opened with RTLD_LOCAL (its symbols stay out of the global scope) and
// RTLD_DEEPBIND (its own internal calls bind to itself first), its entry points are taken with
// dlsym from its own handle, and dladdr proves that each pointer lies in the file we meant.
// Every library, hpk's tables included, must also compute a small GEMM right (against a double
// reference) before it gets a row.
#include "bench/shim.h"

#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "config.h"

extern "C" {
#include "hpk/hpk.h"
#include "src/dispatch/dispatch.h"
#include "src/gemm/gemm.h"
}

#if defined(HPK_BENCH_HAVE_LIBXSMM)
#include <libxsmm.h>
#endif

namespace hpkb
{
namespace
{

std::vector<std::unique_ptr<GemmLib>> g_libs;
std::vector<std::pair<std::string, std::string>> g_context;

void note(const std::string &key, const std::string &value)
{
    g_context.emplace_back(key, value);
}

// --- hpk ----------------------------------------------------------------------------------------

// The record the driver runs for a column-major call (kernel space: m_kernel = n, A_kernel =
// op(B)^T), asked of the driver itself so that the label names what really ran.
const hpk_gemm_record *hpk_record_for(const hpk_kernel_table *t, const GemmCall &c, int *id_out)
{
    hpk_gemm_problem p{};
    p.m = static_cast<size_t>(c.n);
    p.n = static_cast<size_t>(c.m);
    p.k = static_cast<size_t>(c.k);
    p.a_cs = c.transb == 'N' ? 1 : c.ldb;
    p.b_cs = c.transa == 'N' ? 1 : c.lda;
    *id_out = hpk_gemm_choose_record(t, &p);
    return &t->sgemm[*id_out];
}

hpk_transpose hpk_trans(char t)
{
    return t == 'N' ? HPK_NO_TRANS : HPK_TRANS;
}

class HpkPlan final : public GemmPlan
{
  public:
    HpkPlan(const hpk_kernel_table *table, const hpk_blocking *blocking, const GemmCall &c,
            const Epilogue *e)
        : table_(table), blocking_(blocking), c_(c)
    {
        if (e != nullptr) {
            epi_.bias_axis = HPK_BIAS_PER_COL;
            epi_.bias = e->bias_per_col;
            epi_.residual = e->residual;
            epi_.ldr = static_cast<size_t>(e->ldr);
            epi_.act = static_cast<hpk_activation>(e->act);
            use_epi_ = true;
        }
    }
    bool run(const float *a, const float *b, float *c) override
    {
        const hpk_epilogue *e = use_epi_ ? &epi_ : nullptr;
        const auto m = static_cast<size_t>(c_.m), n = static_cast<size_t>(c_.n),
                   k = static_cast<size_t>(c_.k);
        hpk_status s;
        if (table_ == nullptr) // the public call: dispatched table and blocking
            s = e != nullptr
                    ? hpk_sgemm_ex(HPK_COL_MAJOR, hpk_trans(c_.transa), hpk_trans(c_.transb), m, n,
                                   k, c_.alpha, a, static_cast<size_t>(c_.lda), b,
                                   static_cast<size_t>(c_.ldb), c_.beta, c,
                                   static_cast<size_t>(c_.ldc), e)
                    : hpk_sgemm(HPK_COL_MAJOR, hpk_trans(c_.transa), hpk_trans(c_.transb), m, n, k,
                                c_.alpha, a, static_cast<size_t>(c_.lda), b,
                                static_cast<size_t>(c_.ldb), c_.beta, c,
                                static_cast<size_t>(c_.ldc));
        else
            s = hpk_sgemm_ex_with(table_, blocking_, HPK_COL_MAJOR, hpk_trans(c_.transa),
                                  hpk_trans(c_.transb), m, n, k, c_.alpha, a,
                                  static_cast<size_t>(c_.lda), b, static_cast<size_t>(c_.ldb),
                                  c_.beta, c, static_cast<size_t>(c_.ldc), e);
        if (s != HPK_OK) {
            error_ = std::string("hpk: ") + hpk_status_string(s);
            return false;
        }
        return true;
    }

  private:
    const hpk_kernel_table *table_;
    const hpk_blocking *blocking_;
    GemmCall c_;
    hpk_epilogue epi_{};
    bool use_epi_ = false;
};

class HpkLib final : public GemmLib
{
  public:
    // table == nullptr: the public hpk_sgemm with the dispatcher's choice (shown from `shown`).
    HpkLib(std::string id, const hpk_kernel_table *table, const hpk_kernel_table *shown,
           const hpk_blocking *blocking)
        : GemmLib(std::move(id), LibKind::Hpk), table_(table), shown_(shown)
    {
        for (int r = 0; r < HPK_GEMM_RECORDS; r++)
            blocking_[r] = blocking[r];
    }
    std::string describe(const GemmCall &c) const override
    {
        int id = 0;
        const hpk_gemm_record *r = hpk_record_for(shown_, c, &id);
        const hpk_blocking &b = blocking_[id];
        std::ostringstream s;
        s << shown_->isa << " " << r->mr << "x" << r->nr << " MC=" << b.mc << " KC=" << b.kc
          << " NC=" << b.nc << (table_ == nullptr ? " (dispatched)" : "");
        return s.str();
    }
    // Every call goes through hpk_sgemm(_ex)(_with) for now; once hpk has its small-GEMM plan
    // (hpk_sgemm_plan_create), the small families should use it here, as libxsmm's rows do.
    std::unique_ptr<GemmPlan> plan(const GemmCall &c, const Epilogue *e, std::string *) override
    {
        return std::make_unique<HpkPlan>(table_, blocking_, c, e);
    }

  private:
    const hpk_kernel_table *table_;
    const hpk_kernel_table *shown_;
    hpk_blocking blocking_[HPK_GEMM_RECORDS];
};

std::string hpk_blocking_line(const hpk_kernel_table *t, const hpk_blocking *b)
{
    std::ostringstream s;
    for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
        const hpk_gemm_record &rec = t->sgemm[r];
        if (rec.ukernel == nullptr)
            continue;
        s << (r ? "; " : "") << (rec.name ? rec.name : "?") << " " << rec.mr << "x" << rec.nr
          << " MC=" << b[r].mc << " KC=" << b[r].kc << " NC=" << b[r].nc << " ("
          << hpk_source_name(b[r].source_kc) << ")";
    }
    return s.str();
}

void add_hpk()
{
    const hpk_config *cfg = hpk_config_get();
    const hpk_machine *mach = hpk_machine_get();
    note("hpk", std::string(hpk_version()) + ", machine: " + mach->model);
    if (cfg->status != HPK_OK) {
        note("hpk.error", cfg->error);
    } else {
        g_libs.push_back(std::make_unique<HpkLib>("hpk", nullptr, cfg->table, cfg->blocking));
        note("hpk.dispatched",
             std::string(cfg->table->isa) + ": " + hpk_blocking_line(cfg->table, cfg->blocking));
    }
    const hpk_kernel_table *const *tables = nullptr;
    const size_t nt = hpk_tables_compiled(&tables);
    for (size_t i = 0; i < nt; i++) {
        const hpk_kernel_table *t = tables[i];
        if (!hpk_table_usable(mach, t)) {
            note(std::string("hpk.") + t->isa, "compiled, not usable on this machine: no row");
            continue;
        }
        hpk_blocking b[HPK_GEMM_RECORDS];
        for (int r = 0; r < HPK_GEMM_RECORDS; r++) {
            if (cfg->status == HPK_OK && cfg->table == t)
                b[r] = cfg->blocking[r]; // same table: the blocking hpk_sgemm uses (overrides too)
            else
                b[r] = hpk_blocking_derive(mach, t->sgemm[r].ukernel ? &t->sgemm[r]
                                                                     : &t->sgemm[HPK_GEMM_MAIN]);
        }
        g_libs.push_back(std::make_unique<HpkLib>(std::string("hpk.") + t->isa, t, t, b));
        note(std::string("hpk.") + t->isa, hpk_blocking_line(t, b));
    }
}

// --- dlopen'ed peers
// ------------------------------------------------------------------------------

std::string real_path(const std::string &p)
{
    char buf[PATH_MAX];
    return realpath(p.c_str(), buf) != nullptr ? std::string(buf) : p;
}

// AddressSanitizer refuses RTLD_DEEPBIND (it would bypass its malloc); without it RTLD_LOCAL
// still keeps each peer's symbols out of the others' reach, and dladdr still checks each one.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

// A shared library opened privately, whose symbols are checked to come from it.
class Dl
{
  public:
    bool open(const char *env, const char *configured, std::string *why)
    {
        const char *over = getenv(env);
        std::string path = over != nullptr ? over : (configured != nullptr ? configured : "");
        if (path.empty() || path == "none") {
            *why = over != nullptr ? std::string(env) + "=none" : "not found by configure";
            return false;
        }
        real_ = real_path(path);
        h_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
        if (h_ == nullptr) {
            const char *e = dlerror();
            *why = "dlopen " + path + ": " + (e ? e : "?");
            return false;
        }
        return true;
    }
    // The symbol from this library only (nullptr if it is absent or resolves elsewhere).
    template <typename F> F sym(const char *name, std::string *why)
    {
        dlerror();
        void *p = dlsym(h_, name);
        if (p == nullptr) {
            *why = std::string("no symbol ") + name;
            return nullptr;
        }
        Dl_info info{};
        if (dladdr(p, &info) == 0 || info.dli_fname == nullptr ||
            real_path(info.dli_fname) != real_) {
            *why = std::string(name) + " resolves to " + (info.dli_fname ? info.dli_fname : "?") +
                   ", not " + real_;
            return nullptr;
        }
        F f;
        static_assert(sizeof f == sizeof p, "function pointer size");
        std::memcpy(&f, &p, sizeof f);
        return f;
    }
    // A symbol that may come from a dependency (the OpenMP runtime).
    void *any_sym(const char *name)
    {
        return dlsym(h_, name);
    }
    const std::string &path() const
    {
        return real_;
    }

  private:
    void *h_ = nullptr;
    std::string real_;
};

// CBLAS sgemm, column-major, with the library's integer width.
template <typename Int> class CblasPlan final : public GemmPlan
{
  public:
    using Fn = void (*)(int, int, int, Int, Int, Int, float, const float *, Int, const float *, Int,
                        float, float *, Int);
    CblasPlan(Fn f, const GemmCall &c) : f_(f), c_(c)
    {
    }
    bool run(const float *a, const float *b, float *c) override
    {
        f_(102 /* CblasColMajor */, c_.transa == 'N' ? 111 : 112, c_.transb == 'N' ? 111 : 112,
           static_cast<Int>(c_.m), static_cast<Int>(c_.n), static_cast<Int>(c_.k), c_.alpha, a,
           static_cast<Int>(c_.lda), b, static_cast<Int>(c_.ldb), c_.beta, c,
           static_cast<Int>(c_.ldc));
        return true;
    }

  private:
    Fn f_;
    GemmCall c_;
};

class CblasLib final : public GemmLib
{
  public:
    CblasLib(std::string id, void *fn, bool int64, std::string detail)
        : GemmLib(std::move(id), LibKind::Peer), fn_(fn), int64_(int64), detail_(std::move(detail))
    {
    }
    std::string describe(const GemmCall &) const override
    {
        return detail_;
    }
    std::unique_ptr<GemmPlan> plan(const GemmCall &c, const Epilogue *e, std::string *why) override
    {
        if (e != nullptr) {
            *why = "no fused epilogue";
            return nullptr;
        }
        if (int64_)
            return std::make_unique<CblasPlan<int64_t>>(
                reinterpret_cast<CblasPlan<int64_t>::Fn>(fn_), c);
        return std::make_unique<CblasPlan<int>>(reinterpret_cast<CblasPlan<int>::Fn>(fn_), c);
    }

  private:
    void *fn_;
    bool int64_;
    std::string detail_;
};

template <typename F> void *as_ptr(F f)
{
    void *p;
    std::memcpy(&p, &f, sizeof p);
    return p;
}

void add_openblas(int threads)
{
    Dl dl;
    std::string why;
#if defined(HPK_BENCH_OPENBLAS_PATH)
    const char *configured = HPK_BENCH_OPENBLAS_PATH;
#else
    const char *configured = nullptr;
#endif
    if (!dl.open("HPK_BENCH_OPENBLAS", configured, &why)) {
        note("openblas", "no row: " + why);
        return;
    }
    using GemmFn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *,
                            int, float, float *, int);
    auto gemm = dl.sym<GemmFn>("cblas_sgemm", &why);
    auto corename = dl.sym<char *(*)(void)>("openblas_get_corename", &why);
    auto config = dl.sym<char *(*)(void)>("openblas_get_config", &why);
    auto set_threads = dl.sym<void (*)(int)>("openblas_set_num_threads", &why);
    if (!gemm || !corename || !config || !set_threads) {
        note("openblas", "no row: " + why);
        return;
    }
    set_threads(threads);
    const std::string cfg = config();
    const bool int64 = cfg.find("USE64BITINT") != std::string::npos;
    const std::string core = corename();
    g_libs.push_back(std::make_unique<CblasLib>("openblas", as_ptr(gemm), int64, "core=" + core));
    note("openblas", "core=" + core + ", config: " + cfg + ", threads=" + std::to_string(threads) +
                         ", from " + dl.path());
}

void add_blis(int threads)
{
    Dl dl;
    std::string why;
#if defined(HPK_BENCH_BLIS_PATH)
    const char *configured = HPK_BENCH_BLIS_PATH;
#else
    const char *configured = nullptr;
#endif
    if (!dl.open("HPK_BENCH_BLIS", configured, &why)) {
        note("blis", "no row: " + why);
        return;
    }
    using GemmFn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *,
                            int, float, float *, int);
    auto gemm = dl.sym<GemmFn>("cblas_sgemm", &why);
    auto arch_id = dl.sym<int (*)(void)>("bli_arch_query_id", &why);
    auto arch_str = dl.sym<const char *(*)(int)>("bli_arch_string", &why);
    auto set_threads = dl.sym<void (*)(int64_t)>("bli_thread_set_num_threads", &why);
    auto version = dl.sym<const char *(*)(void)>("bli_info_get_version_str", &why);
    auto int_size = dl.sym<int64_t (*)(void)>("bli_info_get_blas_int_type_size", &why);
    if (!gemm || !arch_id || !arch_str || !set_threads || !version || !int_size) {
        note("blis", "no row: " + why);
        return;
    }
    set_threads(threads);
    const std::string arch = arch_str(arch_id());
    const bool int64 = int_size() == 64;
    g_libs.push_back(std::make_unique<CblasLib>("blis", as_ptr(gemm), int64, "arch=" + arch));
    note("blis", std::string(version()) + ", arch=" + arch + ", blas int " +
                     std::to_string(int_size()) + " bits, threads=" + std::to_string(threads) +
                     ", from " + dl.path());
}

// oneDNN's dnnl_sgemm is row-major: C = op(A) op(B) column-major is, read row-major,
// C^T = op(B)^T op(A)^T, so the call swaps A and B (and m and n), keeping each transpose flag.
class DnnlPlan final : public GemmPlan
{
  public:
    using Fn = int (*)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t,
                       const float *, int64_t, float, float *, int64_t);
    DnnlPlan(Fn f, const GemmCall &c) : f_(f), c_(c)
    {
    }
    bool run(const float *a, const float *b, float *c) override
    {
        const int s = f_(c_.transb, c_.transa, c_.n, c_.m, c_.k, c_.alpha, b, c_.ldb, a, c_.lda,
                         c_.beta, c, c_.ldc);
        if (s != 0) {
            error_ = "dnnl_sgemm status " + std::to_string(s);
            return false;
        }
        return true;
    }

  private:
    Fn f_;
    GemmCall c_;
};

class DnnlLib final : public GemmLib
{
  public:
    DnnlLib(DnnlPlan::Fn f, std::string detail)
        : GemmLib("onednn", LibKind::Peer), f_(f), detail_(std::move(detail))
    {
    }
    std::string describe(const GemmCall &) const override
    {
        return detail_;
    }
    std::unique_ptr<GemmPlan> plan(const GemmCall &c, const Epilogue *e, std::string *why) override
    {
        if (e != nullptr) {
            *why = "no fused epilogue in dnnl_sgemm";
            return nullptr;
        }
        return std::make_unique<DnnlPlan>(f_, c);
    }

  private:
    DnnlPlan::Fn f_;
    std::string detail_;
};

const char *dnnl_isa_name(int isa)
{
    switch (isa) { // dnnl_cpu_isa_t of oneDNN 2.x
    case 0x0: return "all";
    case 0x1: return "sse41";
    case 0x3: return "avx";
    case 0x7: return "avx2";
    case 0xf: return "avx512_mic";
    case 0x1f: return "avx512_mic_4ops";
    case 0x27: return "avx512_core";
    case 0x67: return "avx512_core_vnni";
    case 0xe7: return "avx512_core_bf16";
    case 0x3e7: return "avx512_core_amx";
    case 0x407: return "avx2_vnni";
    default: return "unknown";
    }
}

void add_dnnl(int threads)
{
    Dl dl;
    std::string why;
#if defined(HPK_BENCH_DNNL_PATH)
    const char *configured = HPK_BENCH_DNNL_PATH;
#else
    const char *configured = nullptr;
#endif
    if (!dl.open("HPK_BENCH_DNNL", configured, &why)) {
        note("onednn", "no row: " + why);
        return;
    }
    struct dnnl_version_view { // dnnl_version_t
        int major, minor, patch;
        const char *hash;
        unsigned cpu_runtime, gpu_runtime;
    };
    auto gemm = dl.sym<DnnlPlan::Fn>("dnnl_sgemm", &why);
    auto version = dl.sym<const dnnl_version_view *(*)(void)>("dnnl_version", &why);
    if (!gemm || !version) {
        note("onednn", "no row: " + why);
        return;
    }
    std::string isa = "?";
    std::string why_isa;
    if (auto get_isa = dl.sym<int (*)(void)>("dnnl_get_effective_cpu_isa", &why_isa))
        isa = dnnl_isa_name(get_isa());
    // The OpenMP runtime oneDNN was built with (a dependency, so not checked with dladdr).
    if (auto omp_set = reinterpret_cast<void (*)(int)>(dl.any_sym("omp_set_num_threads")))
        omp_set(threads);
    const dnnl_version_view *v = version();
    std::ostringstream s;
    const char *omp = getenv("OMP_NUM_THREADS");
    s << v->major << "." << v->minor << "." << v->patch << ", isa=" << isa
      << ", threads=" << threads << " (OMP_NUM_THREADS=" << (omp ? omp : "") << "), from "
      << dl.path();
    g_libs.push_back(std::make_unique<DnnlLib>(gemm, "isa=" + isa));
    note("onednn", s.str());
}

// --- libxsmm (linked)
// ------------------------------------------------------------------------------

#if defined(HPK_BENCH_HAVE_LIBXSMM)
class XsmmPlan final : public GemmPlan
{
  public:
    explicit XsmmPlan(libxsmm_smmfunction f) : f_(f)
    {
    }
    bool run(const float *a, const float *b, float *c) override
    {
        f_(a, b, c);
        return true;
    }

  private:
    libxsmm_smmfunction f_;
};

class XsmmLib final : public GemmLib
{
  public:
    explicit XsmmLib(std::string arch) : GemmLib("libxsmm", LibKind::Peer), arch_(std::move(arch))
    {
    }
    bool serves_large() const override
    {
        return false;
    }
    std::string describe(const GemmCall &) const override
    {
        return "jit target=" + arch_;
    }
    std::unique_ptr<GemmPlan> plan(const GemmCall &c, const Epilogue *e, std::string *why) override
    {
        // libxsmm's dispatched kernels compute C = A B (+ C): alpha 1, beta 0 or 1, no epilogue.
        if (e != nullptr || c.alpha != 1.0f || (c.beta != 0.0f && c.beta != 1.0f)) {
            *why = "libxsmm kernels take alpha = 1, beta = 0 or 1, no epilogue";
            return nullptr;
        }
        const int flags = (c.transa == 'N' ? 0 : LIBXSMM_GEMM_FLAG_TRANS_A) |
                          (c.transb == 'N' ? 0 : LIBXSMM_GEMM_FLAG_TRANS_B) |
                          (c.beta == 0.0f ? LIBXSMM_GEMM_FLAG_BETA_0 : 0);
        const libxsmm_blasint lda = c.lda, ldb = c.ldb, ldc = c.ldc;
        const float alpha = c.alpha, beta = c.beta;
        libxsmm_smmfunction f = libxsmm_smmdispatch(
            static_cast<libxsmm_blasint>(c.m), static_cast<libxsmm_blasint>(c.n),
            static_cast<libxsmm_blasint>(c.k), &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr);
        if (f == nullptr) {
            *why = "libxsmm_smmdispatch returned no kernel";
            return nullptr;
        }
        return std::make_unique<XsmmPlan>(f);
    }

  private:
    std::string arch_;
};

void add_libxsmm()
{
    libxsmm_init();
    const std::string arch = libxsmm_get_target_arch();
    g_libs.push_back(std::make_unique<XsmmLib>(arch));
    note("libxsmm", std::to_string(LIBXSMM_VERSION_MAJOR) + "." +
                        std::to_string(LIBXSMM_VERSION_MINOR) + " (static), jit target=" + arch +
                        ", small GEMM rows only");
}
#else
void add_libxsmm()
{
    note("libxsmm", "no row: not linked (configure found no libxsmm-dev)");
}
#endif

// --- the startup check: every library computes a GEMM right, or it gets no row ------------------

double gelu_d(double x)
{
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

bool check_lib(GemmLib &lib, const GemmCall &c, bool with_epi, std::string *why)
{
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const long ar = c.transa == 'N' ? c.m : c.k, ac = c.transa == 'N' ? c.k : c.m;
    const long br = c.transb == 'N' ? c.k : c.n, bc = c.transb == 'N' ? c.n : c.k;
    std::vector<float> a(static_cast<size_t>(c.lda * ac)), b(static_cast<size_t>(c.ldb * bc)),
        cc(static_cast<size_t>(c.ldc * c.n), NAN), bias(static_cast<size_t>(c.n)),
        r(static_cast<size_t>(c.m * c.n));
    (void)ar;
    (void)br;
    for (auto *v : {&a, &b, &bias, &r})
        for (auto &x : *v)
            x = u(rng);
    Epilogue e{bias.data(), r.data(), c.m};
    std::unique_ptr<GemmPlan> p = lib.plan(c, with_epi ? &e : nullptr, why);
    if (!p)
        return true; // cannot serve it: nothing to check
    if (!p->run(a.data(), b.data(), cc.data())) {
        *why = p->error();
        return false;
    }
    auto A = [&](long i, long q) { return c.transa == 'N' ? a[i + q * c.lda] : a[q + i * c.lda]; };
    auto B = [&](long q, long j) { return c.transb == 'N' ? b[q + j * c.ldb] : b[j + q * c.ldb]; };
    for (long j = 0; j < c.n; j++)
        for (long i = 0; i < c.m; i++) {
            double ref = 0, mag = 0;
            for (long q = 0; q < c.k; q++) {
                ref += double(A(i, q)) * B(q, j);
                mag += std::fabs(double(A(i, q)) * B(q, j));
            }
            ref *= c.alpha;
            if (with_epi)
                ref = gelu_d(ref + bias[j] + r[i + j * c.m]);
            const double got = cc[i + j * c.ldc];
            const double tol = 1e-5 * (mag + 1.0) + (with_epi ? 1e-5 * std::fabs(ref) : 0.0);
            if (!(std::fabs(got - ref) <= tol)) {
                std::ostringstream s;
                s << "wrong result " << c.m << "x" << c.n << "x" << c.k << " " << c.transa
                  << c.transb << (with_epi ? " +epilogue" : "") << " at (" << i << "," << j
                  << "): got " << got << ", expected " << ref;
                *why = s.str();
                return false;
            }
        }
    return true;
}

bool check_lib_all(GemmLib &lib, std::string *why)
{
    // Odd sizes cross every tile edge; NT/TN catch a swapped mapping (oneDNN is row-major).
    const GemmCall calls[] = {
        {'N', 'N', 37, 29, 41, 40, 43, 39, 1.0f, 0.0f}, {'T', 'N', 13, 17, 9, 9, 9, 13, 1.0f, 0.0f},
        {'N', 'T', 13, 17, 9, 13, 17, 13, 1.0f, 0.0f},  {'N', 'N', 1, 50, 64, 1, 64, 1, 1.0f, 0.0f},
        {'N', 'N', 8, 8, 8, 8, 8, 8, 1.0f, 0.0f},
    };
    for (const GemmCall &c : calls)
        if (!check_lib(lib, c, false, why))
            return false;
    if (lib.kind() == LibKind::Hpk && !check_lib(lib, calls[0], true, why))
        return false;
    return true;
}

} // namespace

void init_libs(int threads)
{
    if (!g_libs.empty() || !g_context.empty())
        return;
    // oneDNN and BLIS-openmp read OMP_NUM_THREADS when the OpenMP runtime loads: set it first.
    const std::string t = std::to_string(threads);
    if (const char *omp = getenv("OMP_NUM_THREADS"); omp != nullptr && t != omp)
        note("warning", std::string("OMP_NUM_THREADS=") + omp + " overrides the bench's " + t);
    setenv("OMP_NUM_THREADS", t.c_str(), 0);
    for (const char *v :
         {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "BLIS_ARCH_TYPE",
          "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "LIBXSMM_TARGET", "HPK_ISA", "HPK_MC", "HPK_KC",
          "HPK_NC", "HPK_NUM_THREADS"})
        if (const char *val = getenv(v))
            note(std::string("env.") + v, val);

    hpk_set_num_threads(static_cast<size_t>(threads));
    add_hpk();
    add_openblas(threads);
    add_blis(threads);
    add_dnnl(threads);
    add_libxsmm();
#if defined(HPK_BENCH_XNNPACK_PATH)
    note("xnnpack", std::string("found (") + HPK_BENCH_XNNPACK_PATH +
                        "), used by the convolution benchmarks only");
#endif

    for (auto it = g_libs.begin(); it != g_libs.end();) {
        std::string why;
        if (!check_lib_all(**it, &why)) {
            note((*it)->id() + ".error", "no row: " + why);
            std::fprintf(stderr, "hpk-bench: %s left out: %s\n", (*it)->id().c_str(), why.c_str());
            it = g_libs.erase(it);
        } else {
            ++it;
        }
    }
}

const std::vector<std::unique_ptr<GemmLib>> &libs()
{
    return g_libs;
}
const std::vector<std::pair<std::string, std::string>> &lib_context()
{
    return g_context;
}

size_t l3_bytes()
{
    const hpk_machine *m = hpk_machine_get();
    for (int level = HPK_CACHE_LEVELS - 1; level >= 0; level--)
        if (m->cache[level].size != 0)
            return m->cache[level].size;
    return size_t{32} << 20;
}

unsigned usable_cpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    const int n = CPU_COUNT(&set);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
}

} // namespace hpkb
