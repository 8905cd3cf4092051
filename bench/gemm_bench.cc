// SPDX-License-Identifier: BSD-3-Clause
//
// hpk-bench: SGEMM families and the machine's roofs, with every library as a row of the same
// benchmark. Names are family/shape/library, so the report can pivot them:
//
//   roofline/fma_peak|triad|read/threads:T   the roofs, measured here (peak.h)
//   gemm_sq/sqN/LIB        square sweep, warm           gemm_dl/SHAPE/LIB   DL shapes, warm
//   gemm_small/sN/LIB      one small GEMM, warm          gemm_batch/bNxC/LIB C small GEMMs, warm
//   gemv/SHAPE/LIB         matrix-vector, cold           gemm_epi/SHAPE/LIB  GEMM + epilogue, warm
//   gemm_epi_act/SHAPE/hpk_ACT   hpk: bare, then bias + residual + each activation, warm
//   gemm_malloc/SHAPE/LIB  a few of those with every operand 16 bytes past a line, warm
//   gemm_dl_cold/SHAPE/LIB (--full only) DL shapes, cold
//
// Every GEMM is column-major, NN, alpha = 1, beta = 0 (as BASELINES.md measured). Warm: the same
// operands every iteration, so they stay in cache as far as they fit (what a BLAS benchmark
// usually reports). Cold: between iterations, outside the timed region (manual timing), a
// buffer several times the last-level cache is written, so A, B and C come from memory.
//
// Own flags (before Google Benchmark's): --full (square sizes to 4096, cold DL shapes),
// --threads=N: threads for hpk (hpk_set_num_threads) and for every peer.
#include <benchmark/benchmark.h>

#include "hpk/hpk.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/buffers.h"
#include "bench/family.h"
#include "bench/peak.h"
#include "bench/shim.h"

namespace
{

using hpkb::GemmCall;
using hpkb::GemmLib;
using hpkb::GemmPlan;
using Clock = std::chrono::steady_clock;

struct Shape {
    std::string name;
    long m, n, k;
};

enum class Data {
    Warm,
    Cold
};
enum class Epi {
    Bare,
    Fused,
    Separate
};

// --- data ------------------------------------------------------------------------------------

using hpkb::Buf;

Buf alloc_floats(size_t n, uint32_t seed) { return hpkb::random_floats(n, seed); }

// The cold-cache flush: a buffer of max(4 x LLC, 64 MiB), every line written (a write evicts
// dirty lines too), outside the timed region.
struct Flusher {
    std::vector<char> buf;
    Flusher() : buf(std::max<size_t>(4 * hpkb::l3_bytes(), size_t{64} << 20), 1)
    {
    }
    void flush()
    {
        char *p = buf.data();
        for (size_t i = 0; i < buf.size(); i += 64)
            p[i] = static_cast<char>(p[i] + 1);
        benchmark::ClobberMemory();
    }
};

Flusher &flusher()
{
    static Flusher f;
    return f;
}

double g_peak1 = 0; // GFLOP/s, 1 thread, measured at startup (for the pct_peak counter)

// --- the GEMM benchmark ----------------------------------------------------------------------

struct GemmCase {
    Shape shape;
    long batch = 1; // independent GEMMs per iteration (distinct operands)
    Data data = Data::Warm;
    Epi epi = Epi::Bare;
    int act = HPK_ACT_GELU; // the activation of a fused epilogue
    // B scaled by 3 / sqrt(k), so that each product has unit variance, as the inputs of an
    // activation do in a normalised network (operands in [-1, 1) make |C| ~ sqrt(k / 9)).
    bool unit_scale = false;
    // Bytes past a 64-byte line at which A, B and C begin (gemm_malloc: 16, where glibc's
    // malloc puts a large block); 0: on a line.
    size_t offset = 0;
};

const char *act_name(int act);

double arithmetic_intensity(const Shape &s)
{
    // FLOPs per byte of the compulsory traffic: read A and B, write C once (beta = 0).
    const double flops = 2.0 * s.m * s.n * s.k;
    const double bytes = 4.0 * (double(s.m) * s.k + double(s.k) * s.n + double(s.m) * s.n);
    return flops / bytes;
}

void bm_gemm(benchmark::State &st, GemmLib *lib, GemmCase gc)
{
    const Shape &s = gc.shape;
    GemmCall call;
    call.m = s.m;
    call.n = s.n;
    call.k = s.k;
    call.lda = s.m;
    call.ldb = s.k;
    call.ldc = s.m;
    const size_t na = size_t(s.m) * s.k, nb = size_t(s.k) * s.n, nc = size_t(s.m) * s.n;
    const size_t batch = size_t(gc.batch);
    const size_t off = gc.offset / sizeof(float);
    Buf a_buf = alloc_floats(na * batch + off, 1), b_buf = alloc_floats(nb * batch + off, 2),
        c_buf = alloc_floats(nc * batch + off, 3), bias = alloc_floats(size_t(s.n), 4),
        r = alloc_floats(nc, 5);
    float *const a = a_buf.get() + off, *const b = b_buf.get() + off, *const c = c_buf.get() + off;
    if (gc.unit_scale)
        for (size_t i = 0; i < nb * batch; i++)
            b[i] *= 3.0f / std::sqrt(float(s.k));
    hpkb::Epilogue epi{bias.get(), r.get(), s.m, gc.act};

    std::string why;
    std::unique_ptr<GemmPlan> plan = lib->plan(call, gc.epi == Epi::Fused ? &epi : nullptr, &why);
    if (!plan) {
        st.SkipWithError(("not run: " + why).c_str());
        return;
    }
    auto one_iteration = [&]() -> bool {
        for (size_t i = 0; i < batch; i++) {
            float *ci = c + i * nc;
            if (!plan->run(a + i * na, b + i * nb, ci))
                return false;
            if (gc.epi == Epi::Separate)
                hpkb::hpkb_epilogue_pass(s.m, s.n, ci, s.m, bias.get(), r.get(), s.m);
        }
        benchmark::DoNotOptimize(c);
        benchmark::ClobberMemory();
        return true;
    };
    if (!one_iteration()) { // warm-up: JIT, workspace, page faults
        st.SkipWithError(plan->error().c_str());
        return;
    }

    double timed = 0;
    if (gc.data == Data::Cold) {
        Flusher &f = flusher();
        for (auto _ : st) {
            f.flush();
            const Clock::time_point t0 = Clock::now();
            const bool ok = one_iteration();
            const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
            st.SetIterationTime(secs);
            timed += secs;
            if (!ok) {
                st.SkipWithError(plan->error().c_str());
                break;
            }
        }
    } else {
        const Clock::time_point t0 = Clock::now();
        for (auto _ : st)
            if (!one_iteration()) {
                st.SkipWithError(plan->error().c_str());
                break;
            }
        timed = std::chrono::duration<double>(Clock::now() - t0).count();
    }

    const double flops = 2.0 * double(s.m) * s.n * s.k * double(batch); // GEMM FLOPs only
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["M"] = double(s.m);
    st.counters["N"] = double(s.n);
    st.counters["K"] = double(s.k);
    st.counters["batch"] = double(batch);
    st.counters["AI"] = arithmetic_intensity(s);
    st.counters["cold"] = gc.data == Data::Cold ? 1 : 0;
    if (timed > 0 && g_peak1 > 0)
        st.counters["pct_peak"] = 100.0 * flops * double(st.iterations()) / timed * 1e-9 / g_peak1;
    const std::string epi_word =
        gc.epi == Epi::Fused      ? std::string(" | fused bias+residual+") + act_name(gc.act)
        : gc.epi == Epi::Separate ? std::string(" | gemm + separate C pass (libm erff)")
                                  : std::string();
    st.SetLabel(lib->describe(call) + epi_word + (gc.data == Data::Cold ? " | cold" : " | warm"));
}

const char *act_name(int act)
{
    static const char *const names[] = {"none", "relu", "relu6", "clamp", "leaky_relu", "sigmoid",
                                        "tanh", "gelu", "gelu_tanh", "silu", "hardswish"};
    return act >= 0 && act <= HPK_ACT_HARDSWISH ? names[act] : "?";
}

void add_gemm(const std::string &family, const GemmCase &gc, bool small_family)
{
    for (const auto &lib : hpkb::libs()) {
        if (!small_family && !lib->serves_large())
            continue;
        GemmCase c = gc;
        std::string id = lib->id();
        if (gc.epi != Epi::Bare) {
            if (lib->kind() == hpkb::LibKind::Peer) {
                c.epi = Epi::Bare; // the peers' bare GEMM, for reference
                id += "_bare";
            } else {
                id += gc.epi == Epi::Fused ? "_fused" : "_separate";
            }
        }
        auto *b = benchmark::RegisterBenchmark((family + "/" + gc.shape.name + "/" + id).c_str(),
                                               bm_gemm, lib.get(), c);
        b->Setup(hpkb::settle);
        if (c.data == Data::Cold)
            b->UseManualTime();
        else
            b->UseRealTime();
        b->Unit(benchmark::kMicrosecond);
    }
}

// --- roofs ------------------------------------------------------------------------------------

void bm_fma_peak(benchmark::State &st, unsigned threads)
{
    double gflop = 0;
    for (auto _ : st) {
        const double secs = 0.1;
        const double g = hpkb::fma_peak_gflops(threads, secs); // GFLOP/s over ~secs
        st.SetIterationTime(secs);
        gflop += g * secs;
    }
    st.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
    st.counters["threads"] = threads;
    st.SetLabel(std::string(hpkb::fma_loop_best().isa) + " FMA chains, in registers");
}

size_t stream_floats()
{
    // Each array 4 x LLC (at least 32 MiB): a VM may report less L3 than the socket has.
    return std::max<size_t>(4 * hpkb::l3_bytes(), size_t{32} << 20) / sizeof(float);
}

void bm_triad(benchmark::State &st, unsigned threads)
{
    const size_t n = stream_floats();
    Buf a = alloc_floats(n, 7), b = alloc_floats(n, 8), c = alloc_floats(n, 9);
    hpkb::triad_seconds(a.get(), b.get(), c.get(), n, threads); // fault the pages in
    double bytes = 0;
    for (auto _ : st) {
        st.SetIterationTime(hpkb::triad_seconds(a.get(), b.get(), c.get(), n, threads));
        bytes += 3.0 * n * sizeof(float); // STREAM's count: no write-allocate traffic
    }
    benchmark::DoNotOptimize(a.get());
    st.counters["GBps"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
    st.counters["threads"] = threads;
    st.SetBytesProcessed(static_cast<int64_t>(bytes));
    st.SetLabel("a = b + s*c, 3 x " + std::to_string(n * sizeof(float) >> 20) + " MiB");
}

void bm_read(benchmark::State &st, unsigned threads)
{
    const size_t n = 2 * stream_floats();
    Buf a = alloc_floats(n, 10);
    double bytes = 0, sink = 0;
    for (auto _ : st) {
        st.SetIterationTime(hpkb::read_seconds(a.get(), n, threads, &sink));
        bytes += double(n) * sizeof(float);
    }
    benchmark::DoNotOptimize(sink);
    st.counters["GBps"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
    st.counters["threads"] = threads;
    st.SetBytesProcessed(static_cast<int64_t>(bytes));
    st.SetLabel("sum over " + std::to_string(n * sizeof(float) >> 20) + " MiB");
}

// --- the suite ----------------------------------------------------------------------------------

// BASELINES.md's shapes (M, N, K), column-major NN.
const std::vector<Shape> kDlShapes = {
    {"r50_conv2_3x3_im2col", 3136, 64, 576},    {"r50_conv3_3x3_im2col", 784, 128, 1152},
    {"r50_conv4_3x3_im2col", 196, 256, 2304},   {"r50_conv5_3x3_im2col", 49, 512, 4608},
    {"gemv_like_1x4096x4096", 1, 4096, 4096},   {"r50_1x1_256to64_56", 3136, 64, 256},
    {"r50_1x1_64to256_56", 3136, 256, 64},      {"r50_1x1_1024to256_14", 196, 256, 1024},
    {"r50_stem_7x7_im2col", 12544, 64, 147},    {"r50_fc_1x1000x2048", 1, 1000, 2048},
    {"bert_qkv_128x768x768", 128, 768, 768},    {"bert_ffn1_128x3072x768", 128, 3072, 768},
    {"bert_ffn2_128x768x3072", 128, 768, 3072}, {"ts_4096x16x4096", 4096, 16, 4096},
    {"ts_16x4096x4096", 16, 4096, 4096},        {"ts_4096x4096x16", 4096, 4096, 16},
};

// MobileNetV2's 1x1 layers at batch 1 as hpk runs them (NHWC: pixels x cout = pixels x cin *
// cin x cout, row-major), written column-major: (cout, pixels, cin), the same bytes. Small k
// and short m, where per-tile costs and the choice of packing A show.
const std::vector<Shape> kMobileShapes = {
    {"mnv2_16to32_112", 32, 12544, 16},  {"mnv2_24to144_56", 144, 3136, 24},
    {"mnv2_144to24_56", 24, 3136, 144},  {"mnv2_32to192_28", 192, 784, 32},
    {"mnv2_576to160_7", 160, 49, 576},   {"mnv2_960to160_7", 160, 49, 960},
    {"mnv2_320to1280_7", 1280, 49, 320},
};

void register_suite(bool full)
{
    const unsigned cpus = hpkb::usable_cpus();
    for (unsigned t : {1u, cpus}) {
        const std::string suffix = "/threads:" + std::to_string(t);
        benchmark::RegisterBenchmark(("roofline/fma_peak" + suffix).c_str(), bm_fma_peak, t)
            ->Setup(hpkb::settle)
            ->UseManualTime()
            ->Iterations(3)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("roofline/triad" + suffix).c_str(), bm_triad, t)
            ->Setup(hpkb::settle)
            ->UseManualTime()
            ->Iterations(5)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("roofline/read" + suffix).c_str(), bm_read, t)
            ->Setup(hpkb::settle)
            ->UseManualTime()
            ->Iterations(5)
            ->Unit(benchmark::kMillisecond);
        if (cpus == 1)
            break;
    }

    std::vector<long> sq = {64, 128, 256, 512, 1024};
    if (full)
        sq.insert(sq.end(), {2048, 4096});
    for (long n : sq)
        add_gemm("gemm_sq", {{"sq" + std::to_string(n), n, n, n}}, false);
    for (const Shape &s : kDlShapes)
        add_gemm("gemm_dl", {s}, false);
    for (const Shape &s : kMobileShapes)
        add_gemm("gemm_mnv2", {s}, false);
    // Operands where malloc puts them: a large block from glibc begins 16 bytes past a line, so
    // a row of C (and of A and B) spans one line more than its width.
    for (const Shape &s : {Shape{"sq1024", 1024, 1024, 1024}, kDlShapes[0], kDlShapes[5],
                           kDlShapes[6], kDlShapes[8], kDlShapes[15]}) {
        GemmCase gc{s};
        gc.offset = 16;
        add_gemm("gemm_malloc", gc, false);
    }
    if (full)
        for (const Shape &s : kDlShapes)
            add_gemm("gemm_dl_cold", {s, 1, Data::Cold}, false);
    for (long n : {4L, 8L, 16L, 24L, 32L, 48L, 64L})
        add_gemm("gemm_small", {{"s" + std::to_string(n), n, n, n}}, true);
    for (long n : {8L, 16L, 32L, 64L})
        add_gemm("gemm_batch", {{"b" + std::to_string(n) + "x64", n, n, n}, 64}, true);
    for (const Shape &s :
         {Shape{"gemv_1x4096x4096", 1, 4096, 4096}, Shape{"fc_1x1000x2048", 1, 1000, 2048}}) {
        add_gemm("gemv", {s, 1, Data::Cold}, false);
        if (full)
            add_gemm("gemv_warm", {s, 1, Data::Warm}, false);
    }
    for (const Shape &s :
         {Shape{"bert_ffn1_128x3072x768", 128, 3072, 768},
          Shape{"r50_1x1_256to64_56", 3136, 64, 256}, Shape{"sq512", 512, 512, 512}}) {
        add_gemm("gemm_epi", {s, 1, Data::Warm, Epi::Fused}, false);
        // The unfused hpk row, dispatched table only.
        for (const auto &lib : hpkb::libs())
            if (lib->id() == "hpk")
                benchmark::RegisterBenchmark(("gemm_epi/" + s.name + "/hpk_separate").c_str(),
                                             bm_gemm, lib.get(),
                                             GemmCase{s, 1, Data::Warm, Epi::Separate})
                    ->Setup(hpkb::settle)
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond);
    }
    // The cost of each activation in the epilogue, hpk's dispatched table only: bare GEMM, then
    // bias + residual + each activation (issue 7: fused <= 5 % over bare).
    const Shape conv2{"r50_conv2_3x3_im2col", 3136, 64, 576};
    for (const auto &lib : hpkb::libs()) {
        if (lib->id() != "hpk")
            continue;
        benchmark::RegisterBenchmark(("gemm_epi_act/" + conv2.name + "/hpk").c_str(), bm_gemm,
                                     lib.get(), GemmCase{conv2, 1, Data::Warm, Epi::Bare})
            ->Setup(hpkb::settle)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        for (int act = HPK_ACT_NONE; act <= HPK_ACT_HARDSWISH; act++)
            benchmark::RegisterBenchmark(
                ("gemm_epi_act/" + conv2.name + "/hpk_" + act_name(act)).c_str(), bm_gemm,
                lib.get(), GemmCase{conv2, 1, Data::Warm, Epi::Fused, act})
                ->Setup(hpkb::settle)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        // GELU's cost depends on the range of its inputs (a polynomial for |x| <= 3, more
        // beyond): the same row with unit-variance products, as in a normalised network.
        benchmark::RegisterBenchmark(("gemm_epi_act/" + conv2.name + "/hpk_gelu_unitvar").c_str(),
                                     bm_gemm, lib.get(),
                                     GemmCase{conv2, 1, Data::Warm, Epi::Fused, HPK_ACT_GELU, true})
            ->Setup(hpkb::settle)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
    }
}

} // namespace

int main(int argc, char **argv)
{
    bool full = false;
    int threads = 1;
    // Take our flags out before Google Benchmark parses the rest.
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--full") == 0)
            full = true;
        else if (std::strncmp(argv[i], "--threads=", 10) == 0)
            threads = std::max(1, std::atoi(argv[i] + 10));
        else
            argv[out++] = argv[i];
    }
    argc = out;

    hpkb::init_libs(threads);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;

    // A first peak for the pct_peak counters (the roofline rows measure it properly).
    for (int i = 0; i < 3; i++)
        g_peak1 = std::max(g_peak1, hpkb::fma_peak_gflops(1, 0.05));
    register_suite(full);
    hpkb::register_families({full, threads, g_peak1}); // families in other files

    for (const auto &kv : hpkb::lib_context())
        benchmark::AddCustomContext(kv.first, kv.second);
    char peak[64];
    std::snprintf(peak, sizeof peak, "%.1f", g_peak1);
    benchmark::AddCustomContext("hpk_bench.suite", full ? "full" : "default");
    benchmark::AddCustomContext("hpk_bench.threads", std::to_string(threads));
    benchmark::AddCustomContext("hpk_bench.fma_isa", hpkb::fma_loop_best().isa);
    benchmark::AddCustomContext("hpk_bench.startup_peak_gflops_1t", peak);
    benchmark::AddCustomContext("hpk_bench.llc_bytes", std::to_string(hpkb::l3_bytes()));
    benchmark::AddCustomContext("hpk_bench.cpus", std::to_string(hpkb::usable_cpus()));
    benchmark::AddCustomContext(
        "hpk_bench.gemm",
        "column-major NN, alpha=1, beta=0; GFLOPS counts 2MNK per GEMM; pct_peak is against "
        "startup_peak_gflops_1t");

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
