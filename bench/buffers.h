// SPDX-License-Identifier: BSD-3-Clause
//
// The benchmark families' operand buffers: 64-byte aligned floats, uniform in [-1, 1) from a
// fixed seed, freed with std::free.
#ifndef HPK_BENCH_BUFFERS_H
#define HPK_BENCH_BUFFERS_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace hpkb
{

struct FreeDeleter {
    void operator()(float *p) const
    {
        std::free(p);
    }
};
using Buf = std::unique_ptr<float[], FreeDeleter>;

// n floats and `slack` more bytes (XNNPACK reads up to 16 bytes past a tensor), the whole
// allocation filled by xorshift32 from seed; throws std::bad_alloc.
inline Buf random_floats(size_t n, uint32_t seed, size_t slack = 0)
{
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64 + slack;
    bytes = bytes ? bytes : 64;
    Buf b(static_cast<float *>(std::aligned_alloc(64, bytes)));
    if (!b)
        throw std::bad_alloc();
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < bytes / sizeof(float); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = static_cast<float>(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return b;
}

} // namespace hpkb

#endif
