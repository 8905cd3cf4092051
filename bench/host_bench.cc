// SPDX-License-Identifier: BSD-3-Clause
//
// Family host_threads: hpk inside a host that has threads of its own. Two host threads (an
// OpenMP parallel region where the bench is built with OpenMP, std::thread otherwise) each call
// hpk_sgemm on their own operands, back to back, for the whole iteration:
//
//   host_threads/<shape>/hpk          hpk at its default thread count (its pool, shared by both
//                                     callers: the first to submit gets it, the other runs its
//                                     call serially rather than wait)
//   host_threads/<shape>/hpk_1thread  the same program with hpk_set_num_threads(1)
//
// GFLOPS counts both threads' products. Issue #8's target: the first row no slower than the
// second (no oversubscription cost from hpk's pool inside a host's threads).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/family.h"
#include "hpk/hpk.h"

namespace
{

struct HostShape {
    const char *name;
    size_t m, n, k;
};

constexpr int kHostThreads = 2;
constexpr int kCallsPerThread = 4;

struct Operands {
    std::vector<float> a, b, c;
};

Operands make_operands(const HostShape &s, unsigned seed)
{
    Operands o;
    o.a.resize(s.m * s.k);
    o.b.resize(s.k * s.n);
    o.c.assign(s.m * s.n, 0.0f);
    for (auto &x : o.a)
        x = float(int((seed = seed * 1103515245u + 12345u) >> 16) % 2001 - 1000) * 1e-3f;
    for (auto &x : o.b)
        x = float(int((seed = seed * 1103515245u + 12345u) >> 16) % 2001 - 1000) * 1e-3f;
    return o;
}

// One host thread's share of an iteration: kCallsPerThread products on its own operands.
// Returns false if a call failed.
bool host_work(const HostShape &s, Operands &o)
{
    for (int q = 0; q < kCallsPerThread; q++)
        if (hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, s.m, s.n, s.k, 1.0f, o.a.data(),
                      s.k, o.b.data(), s.n, 0.0f, o.c.data(), s.n) != HPK_OK)
            return false;
    return true;
}

void bm_host(benchmark::State &st, HostShape s, bool serial)
{
    std::vector<Operands> ops;
    for (int t = 0; t < kHostThreads; t++)
        ops.push_back(make_operands(s, 17u + unsigned(t)));
    // The suite sets hpk's thread count to --threads; this family compares hpk's own default
    // (hpk_set_num_threads(0): the cores it may use) with one thread.
    const size_t saved = hpk_get_num_threads();
    if (hpk_set_num_threads(serial ? 1 : 0) != HPK_OK) {
        st.SkipWithError("hpk_set_num_threads failed");
        return;
    }
    const size_t used = hpk_get_num_threads();
    bool ok = true;
    for (auto _ : st) {
#ifdef _OPENMP
        int failed = 0;
#pragma omp parallel num_threads(kHostThreads) reduction(+ : failed)
        failed += host_work(s, ops[size_t(omp_get_thread_num())]) ? 0 : 1;
        ok = ok && failed == 0;
#else
        bool r[kHostThreads];
        std::vector<std::thread> th;
        for (int t = 0; t < kHostThreads; t++)
            th.emplace_back([&, t] { r[t] = host_work(s, ops[size_t(t)]); });
        for (auto &x : th)
            x.join();
        for (bool x : r)
            ok = ok && x;
#endif
    }
    hpk_set_num_threads(saved);
    if (!ok) {
        st.SkipWithError("hpk_sgemm failed");
        return;
    }
    const double flops = 2.0 * double(s.m) * s.n * s.k * kHostThreads * kCallsPerThread;
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["M"] = double(s.m);
    st.counters["N"] = double(s.n);
    st.counters["K"] = double(s.k);
    st.counters["host_threads"] = kHostThreads;
    st.counters["hpk_threads"] = double(used);
    std::string label = std::to_string(kHostThreads) +
#ifdef _OPENMP
                        " OpenMP host threads, "
#else
                        " std::thread host threads, "
#endif
                        + std::to_string(kCallsPerThread) + " calls each; hpk threads " +
                        std::to_string(used) + (serial ? "" : " (its default)");
    st.SetLabel(label);
}

void register_host(const hpkb::SuiteOptions &opt)
{
    (void)opt;
    static const HostShape shapes[] = {{"sq256", 256, 256, 256},
                                       {"sq512", 512, 512, 512},
                                       {"r50_conv2_3x3_im2col", 3136, 64, 576}};
    for (const HostShape &s : shapes)
        for (int serial = 0; serial <= 1; serial++)
            benchmark::RegisterBenchmark(
                (std::string("host_threads/") + s.name + (serial ? "/hpk_1thread" : "/hpk"))
                    .c_str(),
                bm_host, s, serial != 0)
                ->Setup(hpkb::settle)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
}

[[maybe_unused]] const bool registered = hpkb::add_family("host_threads", register_host);

} // namespace
