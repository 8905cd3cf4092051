// SPDX-License-Identifier: BSD-3-Clause
//
// Families kept in their own files (bench/<family>_bench.cc) register themselves here, from a
// static initializer, so that adding one touches no other file:
//
//     namespace { const bool registered = hpkb::add_family("conv", register_conv); }
//
// hpk-bench's main calls every registered family after its own, once the libraries are loaded
// (hpkb::init_libs) and before Google Benchmark runs; the function calls
// benchmark::RegisterBenchmark (names family/shape/library) and may add context lines.
#ifndef HPK_BENCH_FAMILY_H
#define HPK_BENCH_FAMILY_H

#include <utility>
#include <vector>

namespace hpkb
{

// What main knows when the families register.
struct SuiteOptions {
    bool full = false;       // --full: the long suite
    int threads = 1;         // --threads=N: every library runs on N threads
    double peak1_gflops = 0; // FP32 FMA peak of one thread, measured at startup
};

using FamilyFn = void (*)(const SuiteOptions &);

inline std::vector<std::pair<const char *, FamilyFn>> &family_registry()
{
    static std::vector<std::pair<const char *, FamilyFn>> families; // built on first use
    return families;
}

inline bool add_family(const char *name, FamilyFn fn)
{
    family_registry().emplace_back(name, fn);
    return true;
}

// Registers every family's benchmarks, in the order the files' initializers ran.
inline void register_families(const SuiteOptions &opt)
{
    for (const auto &f : family_registry())
        f.second(opt);
}

} // namespace hpkb

#endif
