// SPDX-License-Identifier: BSD-3-Clause
//
// Roof measurements (see peak.h) and the baseline FMA loop (SSE2, mul + add: a machine without
// FMA has no FMA peak, so its roof is its mul+add throughput).
#include "bench/peak.h"

#if defined(__x86_64__) || defined(__i386__)
#include <emmintrin.h>
#define HPKB_X86 1
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace hpkb
{

#if defined(HPKB_X86)
extern "C" float hpkb_fma_loop_sse(uint64_t iters, double *flops)
{
    const __m128 m = _mm_set1_ps(0.9999f), c = _mm_set1_ps(1e-4f);
    __m128 v0 = _mm_set1_ps(0.0f), v1 = _mm_set1_ps(0.1f), v2 = _mm_set1_ps(0.2f),
           v3 = _mm_set1_ps(0.3f), v4 = _mm_set1_ps(0.4f), v5 = _mm_set1_ps(0.5f),
           v6 = _mm_set1_ps(0.6f), v7 = _mm_set1_ps(0.7f);
    for (uint64_t i = 0; i < iters; i++) {
        v0 = _mm_add_ps(_mm_mul_ps(v0, m), c);
        v1 = _mm_add_ps(_mm_mul_ps(v1, m), c);
        v2 = _mm_add_ps(_mm_mul_ps(v2, m), c);
        v3 = _mm_add_ps(_mm_mul_ps(v3, m), c);
        v4 = _mm_add_ps(_mm_mul_ps(v4, m), c);
        v5 = _mm_add_ps(_mm_mul_ps(v5, m), c);
        v6 = _mm_add_ps(_mm_mul_ps(v6, m), c);
        v7 = _mm_add_ps(_mm_mul_ps(v7, m), c);
    }
    *flops = static_cast<double>(iters) * 8 * 4 * 2;
    const __m128 s = _mm_add_ps(_mm_add_ps(_mm_add_ps(v0, v1), _mm_add_ps(v2, v3)),
                                _mm_add_ps(_mm_add_ps(v4, v5), _mm_add_ps(v6, v7)));
    float out[4];
    _mm_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3];
}

#else
// Not x86: eight scalar chains the compiler may vectorise (a NEON loop comes with the NEON table).
extern "C" float hpkb_fma_loop_sse(uint64_t iters, double *flops)
{
    float v[8] = {0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
    for (uint64_t i = 0; i < iters; i++)
        for (int j = 0; j < 8; j++)
            v[j] = v[j] * 0.9999f + 1e-4f;
    *flops = static_cast<double>(iters) * 8 * 2;
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

FmaLoop fma_loop_best()
{
#if defined(HPKB_X86) && defined(HPKB_HAVE_X86_PEAKS)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return {"avx512f", hpkb_fma_loop_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return {"avx2+fma", hpkb_fma_loop_avx2};
    return {"sse2 (mul+add)", hpkb_fma_loop_sse};
#else
    return {"scalar (mul+add)", hpkb_fma_loop_sse};
#endif
}

namespace
{

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs fn(t) on `threads` threads (t = 0 on the calling one) released together; returns the
// wall seconds from the release to the last one's end.
template <typename Fn> double run_threads(unsigned threads, Fn fn)
{
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; t++)
        pool.emplace_back([&, t] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) {
            }
            fn(t);
        });
    while (ready.load() != threads - 1) {
    }
    const Clock::time_point t0 = Clock::now();
    go.store(true, std::memory_order_release);
    fn(0);
    for (auto &th : pool)
        th.join();
    return since(t0);
}

volatile float g_sink;

} // namespace

double fma_peak_gflops(unsigned threads, double seconds)
{
    const FmaLoop loop = fma_loop_best();
    // Calibrate the iteration count for `seconds` on one thread.
    double flops = 0;
    uint64_t iters = 1 << 16;
    for (;;) {
        const Clock::time_point t0 = Clock::now();
        g_sink = loop.fn(iters, &flops);
        const double s = since(t0);
        if (s > seconds / 4 || iters > (uint64_t{1} << 40)) {
            iters = static_cast<uint64_t>(static_cast<double>(iters) * seconds / s) + 1;
            break;
        }
        iters *= 4;
    }
    std::vector<double> f(threads, 0.0);
    std::vector<float> out(threads, 0.0f);
    const double s = run_threads(threads, [&](unsigned t) { out[t] = loop.fn(iters, &f[t]); });
    double total = 0;
    for (unsigned t = 0; t < threads; t++) {
        total += f[t];
        g_sink = out[t];
    }
    return total / s * 1e-9;
}

double triad_seconds(float *a, const float *b, const float *c, size_t n, unsigned threads)
{
    const float s = 3.0f;
    return run_threads(threads, [&](unsigned t) {
        const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        size_t i = lo;
#if defined(HPKB_X86)
        const __m128 vs = _mm_set1_ps(s);
        for (; i + 4 <= hi; i += 4)
            _mm_storeu_ps(a + i,
                          _mm_add_ps(_mm_loadu_ps(b + i), _mm_mul_ps(vs, _mm_loadu_ps(c + i))));
#endif
        for (; i < hi; i++)
            a[i] = b[i] + s * c[i];
    });
}

double read_seconds(const float *a, size_t n, unsigned threads, double *sink)
{
    std::vector<float> part(threads, 0.0f);
    const double s = run_threads(threads, [&](unsigned t) {
        const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        // Several partial sums: the loop is bound by loads, not by the add latency.
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t i = lo;
#if defined(HPKB_X86)
        // Four streams, each a quarter of the range, read side by side with a software prefetch
        // 512 B ahead: what a tuned kernel reads at. One sequential stream left to the hardware
        // prefetcher read 8.6 GB/s on the Zen VM, where hpk's matrix-vector kernel (four
        // panels side by side, prefetched) streamed 13.3 GB/s: the roof was below the floor.
        const size_t q = (hi - lo) / 64 * 16; // floats per stream, a multiple of 16
        const float *p0 = a + lo, *p1 = p0 + q, *p2 = p1 + q, *p3 = p2 + q;
        __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (size_t j = 0; j < q; j += 16) {
            _mm_prefetch(reinterpret_cast<const char *>(p0 + j + 128), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char *>(p1 + j + 128), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char *>(p2 + j + 128), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char *>(p3 + j + 128), _MM_HINT_T0);
            for (size_t v = 0; v < 16; v += 4) {
                s0 = _mm_add_ps(s0, _mm_loadu_ps(p0 + j + v));
                s1 = _mm_add_ps(s1, _mm_loadu_ps(p1 + j + v));
                s2 = _mm_add_ps(s2, _mm_loadu_ps(p2 + j + v));
                s3 = _mm_add_ps(s3, _mm_loadu_ps(p3 + j + v));
            }
        }
        i = lo + 4 * q;
        _mm_storeu_ps(acc, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
#endif
        for (; i + 8 <= hi; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += a[i + j];
        for (; i < hi; i++)
            acc[0] += a[i];
        part[t] = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    });
    double total = 0;
    for (float p : part)
        total += p;
    *sink = total;
    return s;
}

} // namespace hpkb
