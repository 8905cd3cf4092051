// SPDX-License-Identifier: BSD-3-Clause
//
// The machine's roofs, measured: FP32 FMA throughput (a loop of independent FMA chains, one
// translation unit per ISA, each compiled with its own flags and chosen at run time) and memory
// bandwidth (a STREAM-like triad, and a read-only sum).
#ifndef HPK_BENCH_PEAK_H
#define HPK_BENCH_PEAK_H

#include <cstddef>
#include <cstdint>

namespace hpkb
{

// Runs `iters` iterations of the FMA loop; returns a value that depends on every FMA (so the
// compiler keeps them) and sets *flops to the FP32 operations done (2 per lane per FMA).
using FmaLoopFn = float (*)(uint64_t iters, double *flops);

struct FmaLoop {
    const char *isa; // "avx512f", "avx2+fma", "sse2 (mul+add)"
    FmaLoopFn fn;
};

// The widest loop this CPU runs (__builtin_cpu_supports; bench/ is not the library).
FmaLoop fma_loop_best();

extern "C" {
float hpkb_fma_loop_avx512(uint64_t iters, double *flops);
float hpkb_fma_loop_avx2(uint64_t iters, double *flops);
float hpkb_fma_loop_sse(uint64_t iters, double *flops);
}

// GFLOP/s of `threads` threads each running the loop for about `seconds`.
double fma_peak_gflops(unsigned threads, double seconds);

// Bandwidth kernels over float arrays, split into `threads` equal ranges; return seconds.
double triad_seconds(float *a, const float *b, const float *c, size_t n, unsigned threads);
double read_seconds(const float *a, size_t n, unsigned threads, double *sink);

} // namespace hpkb

#endif
