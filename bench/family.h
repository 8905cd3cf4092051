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

#include <benchmark/benchmark.h>
#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
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

// Threads of this process in state R (running), from /proc/self/task/*/stat; 0 where /proc
// cannot be read.
inline int running_threads()
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == nullptr)
        return 0;
    int running = 0;
    while (const dirent *e = readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        const std::string path = std::string("/proc/self/task/") + e->d_name + "/stat";
        if (FILE *f = std::fopen(path.c_str(), "r")) {
            char line[512];
            if (std::fgets(line, sizeof line, f) != nullptr) {
                const char *end = std::strrchr(line, ')'); // the name may hold spaces
                running += end != nullptr && end[1] == ' ' && end[2] == 'R';
            }
            std::fclose(f);
        }
    }
    closedir(dir);
    return running;
}

// Every row's Setup (each repetition, and each trial run that sizes the iteration count):
// waits until no thread of this process but the caller runs, polling every millisecond, at
// most 300 ms. The libraries' workers spin after a call -- OpenBLAS's for about 0.1 s (a
// 2-thread sgemm, then /proc sampled every 10 ms), hpk's pool 10 ms (HPK_WAIT_US), OpenMP's a
// few -- and with the repetitions interleaved at random, a 2-thread row that followed another
// library's row lost a core for that long: a 1x1 convolution's repetitions read 0.585 and
// 0.72 ms in one run (`bench/hpk-bench --benchmark_filter='^conv/' --threads=2
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// --benchmark_min_time=0.1`; over the family's 75 rows the median slowest / fastest repetition
// went 1.24 -> 1.09 with this). Returns at once where nothing spins.
inline void settle(const benchmark::State &)
{
    for (int ms = 0; ms < 300 && running_threads() > 1; ms++)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

} // namespace hpkb

#endif
