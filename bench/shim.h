// SPDX-License-Identifier: BSD-3-Clause
//
// The benchmarks' view of the libraries: hpk (through its C API, and each of its kernel tables
// through the internal hpk_sgemm_ex_with) and the peers (OpenBLAS, BLIS, oneDNN loaded with
// dlopen, libxsmm linked statically), all behind one interface: a column-major SGEMM plan.
//
// Every call is column-major, BLAS style: C[m x n] = alpha * op(A) * op(B) + beta * C. A library
// that cannot serve a shape (libxsmm beyond its small-GEMM space, say) says so when the plan is
// made, and the benchmark skips that row with the reason.
#ifndef HPK_BENCH_SHIM_H
#define HPK_BENCH_SHIM_H

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hpkb
{

// One SGEMM call, column-major.
struct GemmCall {
    char transa = 'N', transb = 'N';
    long m = 0, n = 0, k = 0;
    long lda = 0, ldb = 0, ldc = 0;
    float alpha = 1.0f, beta = 0.0f;
};

// GEMM + epilogue, the hpk_epilogue subset the benchmarks use: C = gelu(A B + bias[j] + R).
struct Epilogue {
    const float *bias_per_col = nullptr; // n floats
    const float *residual = nullptr;     // m x n, column-major, leading dimension ldr
    long ldr = 0;
    int act = 7;                         // hpk_activation (7 = HPK_ACT_GELU, the default)
};

// A call specialised once for a shape; run() may be called many times with new pointers.
class GemmPlan
{
  public:
    virtual ~GemmPlan() = default;
    // Returns false on a library error (the message in error()).
    virtual bool run(const float *a, const float *b, float *c) = 0;
    const std::string &error() const
    {
        return error_;
    }

  protected:
    std::string error_;
};

enum class LibKind {
    Hpk,
    Peer
};

class GemmLib
{
  public:
    virtual ~GemmLib() = default;
    // Row name: "hpk" (the public, dispatched call), "hpk.<isa>" (one kernel table), "openblas",
    // "blis", "onednn", "libxsmm".
    const std::string &id() const
    {
        return id_;
    }
    LibKind kind() const
    {
        return kind_;
    }
    // Whether the library is meant for this family of shapes ("small": libxsmm only there).
    virtual bool serves_large() const
    {
        return true;
    }
    // What runs for this call: for hpk the ISA, tile (MRxNR of the record the driver picks) and
    // MC/KC/NC; for a peer its kernel set. Becomes the benchmark's label.
    virtual std::string describe(const GemmCall &call) const = 0;
    // A plan for the call, or nullptr with *why set when the library cannot serve it.
    virtual std::unique_ptr<GemmPlan> plan(const GemmCall &call, const Epilogue *epi,
                                           std::string *why) = 0;

  protected:
    GemmLib(std::string id, LibKind kind) : id_(std::move(id)), kind_(kind)
    {
    }

  private:
    std::string id_;
    LibKind kind_;
};

// Loads the libraries once (peers from the paths configure found, overridable with
// HPK_BENCH_OPENBLAS / _BLIS / _DNNL = path, or "none" to leave one out). Threads: every peer is
// set to `threads` (OpenBLAS, BLIS by their calls, oneDNN's OpenMP through OMP_NUM_THREADS,
// set before it loads, and omp_set_num_threads).
void init_libs(int threads);
const std::vector<std::unique_ptr<GemmLib>> &libs();
// "key: value" lines about the libraries: versions, the kernel each peer selected, the path each
// was loaded from (checked with dladdr), the peers left out and why.
const std::vector<std::pair<std::string, std::string>> &lib_context();

// The machine as hpk sees it.
size_t l3_bytes();      // the last-level cache size hpk's dispatcher reports (never 0)
unsigned usable_cpus(); // CPUs in the affinity mask

// The unfused epilogue: C[i][j] = gelu(C[i][j] + bias[j] + R[i][j]) in plain C, one pass.
extern "C" void hpkb_epilogue_pass(long m, long n, float *c, long ldc, const float *bias,
                                   const float *r, long ldr);

} // namespace hpkb

#endif
