// SPDX-License-Identifier: BSD-3-Clause
//
// Inference-shaped GEMM (hpk/inference.h) against the peers. Rows are family/shape/library:
//
//   gemm_small_batch/MxNxK/LIB  64 independent small GEMMs per iteration, column-major NN,
//                               alpha 1, beta 0, warm. hpk: one hpk_sgemm_plan_run_batch call;
//                               hpk_plan_loop: hpk_sgemm_plan_run per product; hpk_sgemm: the
//                               plain call per product; libxsmm: its dispatched (JIT) kernel
//                               called per product; openblas, blis, onednn: their sgemm per
//                               product. With --threads=T > 1 the peers' loops are split over T
//                               OpenMP threads from 96^3 multiply-adds per batch, the threshold
//                               at which hpk's batch splits itself.
//   gemm_packed/MxNxK/LIB       C[M x N] = A[M x K] W[K x N] row-major (a layer: activations
//                               times constant weights), warm. hpk: W packed once
//                               (hpk_sgemm_packed_b_create, outside the timing), then
//                               hpk_sgemm_packed; hpk_plain: hpk_sgemm; peers: their sgemm of the
//                               same product (called column-major as C^T = W^T A^T).
//   gemv_packed/MxNxK_cold|warm/LIB   the same with M = 1 (y = x W) and M = 4. Cold rows flush
//                               the caches between iterations (outside the timing). Besides
//                               GFLOPS, GBps counts the weights' bytes (K * N * 4) per second
//                               and pct_read their fraction of the read-only bandwidth measured
//                               here on the same thread count (the roofline/read kernel of
//                               peak.cc).
//
// The hpk rows use the public API with the dispatcher's table; each row first checks its first
// product against a double reference, and is skipped with the reason if it is wrong.
#include <benchmark/benchmark.h>

#include "hpk/hpk.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/buffers.h"
#include "bench/family.h"
#include "bench/peak.h"
#include "bench/shim.h"
#include "config.h"

#if defined(HPK_BENCH_HAVE_LIBXSMM)
#include <libxsmm.h>
#endif

extern "C" {
#include "src/dispatch/dispatch.h"
#include "src/gemm/inference.h"
}

namespace
{

using Clock = std::chrono::steady_clock;
using hpkb::GemmCall;
using hpkb::GemmLib;
using hpkb::GemmPlan;

constexpr long kBatch = 64;

struct Shape {
    std::string name;
    long m, n, k;
};

using hpkb::Buf;

Buf alloc_floats(size_t n, uint32_t seed) { return hpkb::random_floats(n, seed); }

double g_peak1 = 0; // GFLOP/s on 1 thread, measured by main at startup

unsigned run_threads()
{
    return static_cast<unsigned>(hpk_get_num_threads());
}

// The caches flushed: a buffer of max(4 x LLC, 64 MiB), every line written.
void flush_caches()
{
    static std::vector<char> buf(std::max<size_t>(4 * hpkb::l3_bytes(), size_t{64} << 20), 1);
    char *p = buf.data();
    for (size_t i = 0; i < buf.size(); i += 64)
        p[i] = static_cast<char>(p[i] + 1);
    benchmark::ClobberMemory();
}

// The read-only bandwidth on `threads` threads (GB/s): peak.cc's roofline/read kernel over an
// array of 2 x max(4 x LLC, 32 MiB), best of 5, measured once per thread count.
double read_gbps(unsigned threads)
{
    static std::map<unsigned, double> cache;
    auto it = cache.find(threads);
    if (it != cache.end())
        return it->second;
    const size_t n = 2 * std::max<size_t>(4 * hpkb::l3_bytes(), size_t{32} << 20) / sizeof(float);
    Buf a = alloc_floats(n, 10);
    double sink = 0, best = 0;
    hpkb::read_seconds(a.get(), n, threads, &sink); // fault the pages in
    for (int i = 0; i < 5; i++)
        best = std::max(best, double(n) * sizeof(float) /
                                  hpkb::read_seconds(a.get(), n, threads, &sink) * 1e-9);
    benchmark::DoNotOptimize(sink);
    cache[threads] = best;
    return best;
}

// |got - ref| within 1e-5 (|A||B| + 1) for every element of a column-major C = A B (A m x k,
// B k x n, leading dimensions m, k, m).
bool check_colmajor(long m, long n, long k, const float *a, const float *b, const float *c,
                    long ldc, std::string *why)
{
    for (long j = 0; j < n; j++)
        for (long i = 0; i < m; i++) {
            double ref = 0, mag = 0;
            for (long p = 0; p < k; p++) {
                ref += double(a[i + p * m]) * b[p + j * k];
                mag += std::fabs(double(a[i + p * m]) * b[p + j * k]);
            }
            const double got = c[i + j * ldc];
            if (!(std::fabs(got - ref) <= 1e-5 * (mag + 1.0))) {
                *why = "wrong result at (" + std::to_string(i) + "," + std::to_string(j) +
                       "): got " + std::to_string(got) + ", expected " + std::to_string(ref);
                return false;
            }
        }
    return true;
}

void set_counters(benchmark::State &st, const Shape &s, double gemms, double timed, bool cold)
{
    const double flops = 2.0 * double(s.m) * s.n * s.k * gemms; // per iteration
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["M"] = double(s.m);
    st.counters["N"] = double(s.n);
    st.counters["K"] = double(s.k);
    st.counters["batch"] = gemms;
    st.counters["cold"] = cold ? 1 : 0;
    st.counters["AI"] = 2.0 * double(s.m) * s.n * s.k /
                        (4.0 * (double(s.m) * s.k + double(s.k) * s.n + double(s.m) * s.n));
    st.counters["threads"] = run_threads();
    if (timed > 0) {
        const double rate = flops * double(st.iterations()) / timed * 1e-9;
        if (g_peak1 > 0)
            st.counters["pct_peak"] = 100.0 * rate / g_peak1;
        st.counters["ns_per_gemm"] = timed * 1e9 / (double(st.iterations()) * gemms);
    }
}

// Runs `body` (one iteration) warm or cold; returns the seconds spent in it.
template <typename F> double time_loop(benchmark::State &st, bool cold, F &&body)
{
    double timed = 0;
    if (cold) {
        for (auto _ : st) {
            flush_caches();
            const Clock::time_point t0 = Clock::now();
            body();
            const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
            st.SetIterationTime(secs);
            timed += secs;
        }
    } else {
        const Clock::time_point t0 = Clock::now();
        for (auto _ : st)
            body();
        timed = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    return timed;
}

const char *plan_path_name(enum hpk_plan_path p)
{
    switch (p) {
    case HPK_PLAN_SMALL_M: return "own loops, small-M record";
    case HPK_PLAN_MAIN: return "own loops, main record";
    case HPK_PLAN_DRIVER: return "driver";
    case HPK_PLAN_SMALL: return "small-GEMM kernel";
    default: return "?";
    }
}

// --- gemm_small_batch ---------------------------------------------------------------------------

enum class SmallWho {
    HpkBatch,
    HpkLoop,
    HpkSgemm,
    HpkUkernel, // the dispatched small-M microkernel called directly: the floor under a plan
    Xsmm,
    Peer
};

void bm_small_batch(benchmark::State &st, SmallWho who, GemmLib *lib, Shape s)
{
    const long m = s.m, n = s.n, k = s.k;
    const size_t sa = size_t(m * k), sb = size_t(k * n), sc = size_t(m * n);
    Buf a = alloc_floats(sa * kBatch, 1), b = alloc_floats(sb * kBatch, 2),
        c = alloc_floats(sc * kBatch, 3);
    const int threads = static_cast<int>(run_threads());
    // The peers' loops are split over the threads when hpk would split its batch: from 96^3
    // multiply-adds in all (below, waking threads costs more than they gain).
    const bool split = threads > 1 && double(m) * n * k * kBatch >= 96.0 * 96.0 * 96.0;
    std::string label, why;
    std::function<void()> body;

    hpk_sgemm_plan *plan = nullptr;
    std::unique_ptr<GemmPlan> peer;
    if (who == SmallWho::HpkBatch || who == SmallWho::HpkLoop) {
        if (hpk_sgemm_plan_create(HPK_COL_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, size_t(m), size_t(n),
                                  size_t(k), 1.0f, size_t(m), size_t(k), 0.0f, size_t(m), nullptr,
                                  &plan) != HPK_OK) {
            st.SkipWithError("hpk_sgemm_plan_create failed");
            return;
        }
        const char *rec = "";
        const enum hpk_plan_path path = hpk_sgemm_plan_path(plan, &rec);
        label = std::string("plan: ") + plan_path_name(path) + (rec[0] ? " " : "") + rec;
        if (who == SmallWho::HpkBatch)
            body = [&]() {
                hpk_sgemm_plan_run_batch(plan, kBatch, a.get(), sa, b.get(), sb, c.get(), sc);
            };
        else
            body = [&]() {
                for (long i = 0; i < kBatch; i++)
                    hpk_sgemm_plan_run(plan, a.get() + i * sa, b.get() + i * sb, c.get() + i * sc);
            };
    } else if (who == SmallWho::HpkSgemm) {
        label = "hpk_sgemm per product";
        body = [&]() {
            for (long i = 0; i < kBatch; i++)
                hpk_sgemm(HPK_COL_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, size_t(m), size_t(n),
                          size_t(k), 1.0f, a.get() + i * sa, size_t(m), b.get() + i * sb, size_t(k),
                          0.0f, c.get() + i * sc, size_t(m));
        };
    } else if (who == SmallWho::HpkUkernel) {
        // A one-tile product (M, N <= the tile): column-major C = A B is, in hpk's kernel space,
        // C^T = B^T A^T, so the kernel's A is B (rows of k, stride k) and its B is A (stride m).
        const hpk_config *cfg = hpk_config_get();
        const hpk_gemm_record *r =
            cfg->table != nullptr ? &cfg->table->sgemm[HPK_GEMM_SMALL_M] : nullptr;
        if (r == nullptr || r->ukernel == nullptr || !(r->flags & HPK_GEMM_A_IN_PLACE) ||
            size_t(n) > r->mr || size_t(m) > r->nr) {
            st.SkipWithError("not run: not a single tile of the small-M record");
            return;
        }
        label = std::string(r->name) + " called directly (no plan): the floor";
        body = [&, r]() {
            hpk_gemm_tile_ctx t{};
            t.alpha = 1.0f;
            t.flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
            for (long i = 0; i < kBatch; i++)
                r->ukernel(size_t(n), size_t(m), size_t(k), b.get() + i * sb, k, a.get() + i * sa,
                           m, c.get() + i * sc, m, &t);
        };
    } else if (who == SmallWho::Xsmm) {
#if defined(HPK_BENCH_HAVE_LIBXSMM)
        const libxsmm_blasint lda = m, ldb = k, ldc = m;
        const float alpha = 1.0f, beta = 0.0f;
        const int flags = LIBXSMM_GEMM_FLAG_BETA_0;
        libxsmm_smmfunction f =
            libxsmm_smmdispatch(libxsmm_blasint(m), libxsmm_blasint(n), libxsmm_blasint(k), &lda,
                                &ldb, &ldc, &alpha, &beta, &flags, nullptr);
        if (f == nullptr) {
            st.SkipWithError("not run: libxsmm_smmdispatch returned no kernel");
            return;
        }
        label =
            std::string("dispatched JIT kernel per product, target ") + libxsmm_get_target_arch();
        body = [&, f]() {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (split)
#endif
            for (long i = 0; i < kBatch; i++)
                f(a.get() + i * sa, b.get() + i * sb, c.get() + i * sc);
        };
#else
        st.SkipWithError("not run: libxsmm not linked");
        return;
#endif
    } else {
        GemmCall call;
        call.m = m;
        call.n = n;
        call.k = k;
        call.lda = m;
        call.ldb = k;
        call.ldc = m;
        peer = lib->plan(call, nullptr, &why);
        if (!peer) {
            st.SkipWithError(("not run: " + why).c_str());
            return;
        }
        label = lib->describe(call) + " sgemm per product";
        body = [&]() {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (split)
#endif
            for (long i = 0; i < kBatch; i++)
                peer->run(a.get() + i * sa, b.get() + i * sb, c.get() + i * sc);
        };
    }
    (void)split;
    body(); // warm-up: JIT, workspace, page faults
    if (!check_colmajor(m, n, k, a.get() + (kBatch - 1) * sa, b.get() + (kBatch - 1) * sb,
                        c.get() + (kBatch - 1) * sc, m, &why)) {
        st.SkipWithError(why.c_str());
        hpk_sgemm_plan_destroy(plan);
        return;
    }
    const double timed = time_loop(st, false, body);
    benchmark::DoNotOptimize(c.get());
    hpk_sgemm_plan_destroy(plan);
    set_counters(st, s, double(kBatch), timed, false);
#if defined(_OPENMP)
    const char *split_word = who == SmallWho::Xsmm || who == SmallWho::Peer ? ", OpenMP split" : "";
#else
    const char *split_word = "";
#endif
    st.SetLabel(label + (split ? split_word : "") + " | " + std::to_string(kBatch) +
                " GEMMs | warm");
}

// --- gemm_packed / gemv_packed ------------------------------------------------------------------

enum class PackedWho {
    HpkPacked,
    HpkPlain,
    Peer
};

void bm_packed(benchmark::State &st, PackedWho who, GemmLib *lib, Shape s, bool cold, bool gemv)
{
    // Row-major C[M x N] = A[M x K] W[K x N].
    const long m = s.m, n = s.n, k = s.k;
    Buf a = alloc_floats(size_t(m * k), 1), w = alloc_floats(size_t(k * n), 2),
        c = alloc_floats(size_t(m * n), 3);
    std::string label, why;
    std::function<void()> body;
    hpk_sgemm_packed_b *h = nullptr;
    std::unique_ptr<GemmPlan> peer;

    if (who == PackedWho::HpkPacked) {
        if (hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, size_t(k), size_t(n), w.get(),
                                      size_t(n), &h) != HPK_OK) {
            st.SkipWithError("hpk_sgemm_packed_b_create failed");
            return;
        }
        size_t bytes = 0;
        hpk_sgemm_packed_b_size(HPK_ROW_MAJOR, size_t(k), size_t(n), &bytes);
        const char *small = hpk_sgemm_packed_b_record(h, 1);
        const bool mv = small[0] != '\0' && m <= 4;
        label =
            std::string("packed for ") + hpk_sgemm_packed_b_record(h, 0) +
            (small[0] ? std::string(" + ") + small : std::string()) + ", " +
            std::to_string(bytes >> 10) + " KiB; runs " +
            (mv ? std::string(small) + " (matrix-vector loop)" : hpk_sgemm_packed_b_record(h, 0));
        body = [&]() {
            hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, size_t(m), size_t(n), size_t(k), 1.0f,
                             a.get(), size_t(k), h, 0.0f, c.get(), size_t(n), nullptr);
        };
    } else if (who == PackedWho::HpkPlain) {
        label = "hpk_sgemm row-major";
        body = [&]() {
            hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, size_t(m), size_t(n), size_t(k),
                      1.0f, a.get(), size_t(k), w.get(), size_t(n), 0.0f, c.get(), size_t(n));
        };
    } else {
        // Column-major C^T[N x M] = W^T[N x K] A^T[K x M]: the same memory, the same product.
        GemmCall call;
        call.m = n;
        call.n = m;
        call.k = k;
        call.lda = n;
        call.ldb = k;
        call.ldc = n;
        peer = lib->plan(call, nullptr, &why);
        if (!peer) {
            st.SkipWithError(("not run: " + why).c_str());
            return;
        }
        label = lib->describe(call) + " sgemm";
        body = [&]() { peer->run(w.get(), a.get(), c.get()); };
    }
    body();
    // As column-major, C^T = W^T A^T with W^T n x k (ld n) and A^T k x m (ld k).
    if (!check_colmajor(n, m, k, w.get(), a.get(), c.get(), n, &why)) {
        st.SkipWithError(why.c_str());
        hpk_sgemm_packed_b_destroy(h);
        return;
    }
    const double timed = time_loop(st, cold, body);
    benchmark::DoNotOptimize(c.get());
    hpk_sgemm_packed_b_destroy(h);
    set_counters(st, s, 1.0, timed, cold);
    if (gemv && timed > 0) {
        const double gbps = 4.0 * double(k) * n * double(st.iterations()) / timed * 1e-9;
        st.counters["GBps"] = gbps;
        st.counters["pct_read"] = 100.0 * gbps / read_gbps(run_threads());
    }
    st.SetLabel(label + (cold ? " | cold" : " | warm"));
}

// --- registration -------------------------------------------------------------------------------

benchmark::internal::Benchmark *timing(benchmark::internal::Benchmark *b, bool cold)
{
    b->Setup(hpkb::settle);
    if (cold)
        b->UseManualTime();
    else
        b->UseRealTime();
    return b->Unit(benchmark::kMicrosecond);
}

void register_inference(const hpkb::SuiteOptions &opt)
{
    g_peak1 = opt.peak1_gflops;

    std::vector<Shape> small;
    for (long d : {4L, 8L, 16L, 23L, 32L, 48L, 64L})
        small.push_back(
            {std::to_string(d) + "x" + std::to_string(d) + "x" + std::to_string(d), d, d, d});
    small.push_back({"8x8x64", 8, 8, 64});
    small.push_back({"16x16x128", 16, 16, 128});
    for (const Shape &s : small) {
        const std::string base = "gemm_small_batch/" + s.name + "/";
        timing(benchmark::RegisterBenchmark((base + "hpk").c_str(), bm_small_batch,
                                            SmallWho::HpkBatch, nullptr, s),
               false);
        timing(benchmark::RegisterBenchmark((base + "hpk_plan_loop").c_str(), bm_small_batch,
                                            SmallWho::HpkLoop, nullptr, s),
               false);
        timing(benchmark::RegisterBenchmark((base + "hpk_sgemm").c_str(), bm_small_batch,
                                            SmallWho::HpkSgemm, nullptr, s),
               false);
        if (s.m <= 4 && s.n <= 4)
            timing(benchmark::RegisterBenchmark((base + "hpk_ukernel").c_str(), bm_small_batch,
                                                SmallWho::HpkUkernel, nullptr, s),
                   false);
        for (const auto &lib : hpkb::libs()) {
            if (lib->kind() != hpkb::LibKind::Peer)
                continue;
            const bool xsmm = lib->id() == "libxsmm";
            timing(benchmark::RegisterBenchmark((base + lib->id()).c_str(), bm_small_batch,
                                                xsmm ? SmallWho::Xsmm : SmallWho::Peer, lib.get(),
                                                s),
                   false);
        }
    }

    const std::vector<Shape> layers = {{"3136x64x576", 3136, 64, 576},
                                       {"196x256x1024", 196, 256, 1024},
                                       {"128x768x768", 128, 768, 768}};
    // 4x4096x4096: a batch of 4 against the same weights (hpk's matrix-vector loop up to m = 4).
    const std::vector<std::pair<Shape, bool>> gemvs = {{{"1x4096x4096_cold", 1, 4096, 4096}, true},
                                                       {{"1x1000x2048_warm", 1, 1000, 2048}, false},
                                                       {{"1x1000x2048_cold", 1, 1000, 2048}, true},
                                                       {{"4x4096x4096_cold", 4, 4096, 4096}, true}};
    auto add_rows = [](const std::string &family, const Shape &s, bool cold, bool gemv) {
        const std::string base = family + "/" + s.name + "/";
        timing(benchmark::RegisterBenchmark((base + "hpk").c_str(), bm_packed, PackedWho::HpkPacked,
                                            nullptr, s, cold, gemv),
               cold);
        timing(benchmark::RegisterBenchmark((base + "hpk_plain").c_str(), bm_packed,
                                            PackedWho::HpkPlain, nullptr, s, cold, gemv),
               cold);
        for (const auto &lib : hpkb::libs())
            if (lib->kind() == hpkb::LibKind::Peer && lib->serves_large())
                timing(benchmark::RegisterBenchmark((base + lib->id()).c_str(), bm_packed,
                                                    PackedWho::Peer, lib.get(), s, cold, gemv),
                       cold);
    };
    for (const Shape &s : layers)
        add_rows("gemm_packed", s, false, false);
    for (const auto &g : gemvs)
        add_rows("gemv_packed", g.first, g.second, true);
}

[[maybe_unused]] const bool registered = hpkb::add_family("inference", register_inference);

} // namespace
