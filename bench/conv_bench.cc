// SPDX-License-Identifier: BSD-3-Clause
//
// hpk-bench's convolution families: hpk's conv2d operator beside oneDNN, XNNPACK and the classic
// im2col + OpenBLAS sgemm, each library a row of the same benchmark (family/layer/library):
//
//   conv/LAYER/LIB      batch 1, NHWC fp32, random data, no bias, no activation, warm
//   conv_epi/LAYER/LIB  hpk and oneDNN, the convolution bare (LIB_bare) and with bias + residual +
//                       ReLU fused (LIB_fused), to show what the fused epilogue costs; on one
//                       thread a fused row also alternates bare and fused runs kPairs times
//                       once, and reports the fastest of each in CPU time as
//                       paired_overhead_pct (steadier than two rows' best repetitions on a
//                       shared machine)
//
// Rows of the conv family (every one on --threads=N threads):
//   hpk              hpk_conv2d_create, HPK_CONV_AUTO: hpk's own choice; the label names the
//                    algorithm (hpk_conv2d_algorithm) and the kernels and blocking it ran
//   hpk.ALGO         one forced algorithm: im2col, gemm-1x1 (1x1, stride 1, no padding),
//                    winograd-f2 and winograd-f4 (3x3, stride 1, one group), depthwise,
//                    winograd-s2 (3x3 or 7x7, stride 2, one group: the polyphase form); a row
//                    exists where the shape allows the algorithm, and is skipped with hpk's status
//                    and the reason where hpk refuses it (its kernels are not in this build)
//   onednn           oneDNN 2.x, dnnl_convolution_auto. Source and destination NHWC (what every
//                    library gets), weights in the layout oneDNN picks (format_tag any), reordered
//                    once when the row is set up, as hpk packs its filter in hpk_conv2d_create;
//                    the label is oneDNN's implementation string ("jit:avx2", "gemm:jit" ...)
//   onednn.winograd  dnnl_convolution_winograd on the 3x3 stride-1 layers, in the layouts it
//                    asks for (format_tag any for source, weights and destination: oneDNN 2.x's
//                    Winograd has none for NHWC); the input is reordered into its layout at
//                    set-up and the output back to NHWC after the checked run, neither timed.
//                    Skipped with the reason where oneDNN refuses it (2.x implements it for
//                    AVX-512 CPUs only)
//   xnnpack          xnn_create_convolution2d_nhwc_f32, set up once (XNNPACK computes its
//                    indirection buffer there), then xnn_run_operator on a pthreadpool of N
//                    threads (no pool for N = 1); XNNPACK cannot be asked which path it took, so
//                    the label gives the one its creation rules select for the shape
//   im2col+openblas  the classic baseline: im2col into a buffer (on one thread, timed), then one
//                    OpenBLAS cblas_sgemm per group (column-major C^T = W^T col^T); a 1x1
//                    stride-1 unpadded layer skips the copy (the input is the matrix)
//
// Data: one input, filter, bias and residual per layer (uniform in [-1, 1), fixed seeds), the
// same for every library, and one output buffer per layer that every row writes. Warm: every
// iteration reuses them, and each row runs once untimed before its timed loop, so they are in
// cache as far as they fit (like the GEMM families' warm rows). Google Benchmark calls a row's
// function several times (to size the iterations, then per repetition); a row's set-up -- the
// operator, oneDNN's reordered weights, XNNPACK's set-up -- is made on the first call and kept.
//
// Correctness, once per row before it is first timed: the whole output, computed into a buffer
// filled with NaN, is compared with hpk's im2col result element by element, relative to
// sum |x| |w| of the element (hpk's im2col on |input| and |filter|); the reference itself is first
// checked against a direct convolution in double at sampled points. A row off by more than 1e-3
// is not timed: it ends as an error row "WRONG: ...". The error found is the max_rel_err counter
// and ends the label.
//
// Counters: GFLOPS (2 * out_h * out_w * cout * kh * kw * cin / groups per run, the direct count
// whatever the algorithm), MFLOP, pct_peak (against the FP32 FMA peak measured at startup on the
// run's thread count), AI (FLOP per byte of input + filter + output), max_rel_err, threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/buffers.h"
#include "bench/dl.h"
#include "bench/family.h"
#include "bench/peak.h"
#include "bench/shim.h"
#include "config.h"

extern "C" {
#include "hpk/hpk.h"
#include "src/conv/conv.h"
#include "src/dispatch/dispatch.h"
}

// oneDNN's C API of 2.x, for its types and prototypes only: the functions are taken from the
// library with dlsym (bench/dl.h), so the bench builds and runs without it.
#if defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>) && __has_include(<oneapi/dnnl/dnnl_debug.h>)
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#if DNNL_VERSION_MAJOR == 2
#define HPKB_HAVE_DNNL2_API 1
#endif
#endif
#endif

namespace
{

using Clock = std::chrono::steady_clock;

// The error a row may have against the reference, relative to sum |x| |w| of each element.
constexpr double kTolerance = 1e-3;
// The reference (hpk's im2col) against a direct convolution in double: an im2col GEMM rounds
// about sqrt(k) * 2^-24 of sum |x| |w| on these shapes, far below this.
constexpr double kReferenceTolerance = 1e-4;

// --- layers and their data -------------------------------------------------------------------

struct Layer {
    const char *name;
    size_t hw; // input height = width
    size_t cin, cout, k, stride, pad, groups;

    size_t out() const
    {
        return (hw + 2 * pad - k) / stride + 1;
    }
    size_t cg() const
    {
        return cin / groups;
    }
    size_t kg() const
    {
        return cout / groups;
    }
    size_t kdim() const
    {
        return k * k * cg();
    }
    size_t in_elems() const
    {
        return hw * hw * cin;
    }
    size_t out_elems() const
    {
        return out() * out() * cout;
    }
    size_t filter_elems() const
    {
        return cout * kdim();
    }
    double flops() const
    {
        return 2.0 * double(out() * out()) * double(cout) * double(kdim());
    }
    double intensity() const
    {
        return flops() / (4.0 * double(in_elems() + filter_elems() + out_elems()));
    }
    bool plain_1x1() const
    {
        return k == 1 && stride == 1 && pad == 0;
    }
    bool winograd_shape() const
    {
        return k == 3 && stride == 1 && groups == 1;
    }
    bool winograd_s2_shape() const
    {
        return (k == 3 || k == 7) && stride == 2 && groups == 1;
    }
    bool depthwise() const
    {
        return groups > 1 && groups == cin && groups == cout;
    }
};

// ResNet-50 (3x3 stride 1, 1x1, the 7x7/2 stem), MobileNetV2 (depthwise 3x3) and one depthwise
// layer of MobileNetV1 (512 channels: pixels 2 KB apart, which fall in 2 of L1's 64 sets),
// batch 1.
const Layer kLayers[] = {
    {"r50_3x3_64_56", 56, 64, 64, 3, 1, 1, 1},
    {"r50_3x3_128_28", 28, 128, 128, 3, 1, 1, 1},
    {"r50_3x3_256_14", 14, 256, 256, 3, 1, 1, 1},
    {"r50_3x3_512_7", 7, 512, 512, 3, 1, 1, 1},
    {"r50_1x1_256to64_56", 56, 256, 64, 1, 1, 0, 1},
    {"r50_1x1_1024to256_14", 14, 1024, 256, 1, 1, 0, 1},
    {"r50_stem_7x7s2_3to64_224", 224, 3, 64, 7, 2, 3, 1},
    {"r50_3x3s2_128_56", 56, 128, 128, 3, 2, 1, 1},
    {"r50_3x3s2_256_28", 28, 256, 256, 3, 2, 1, 1},
    {"r50_3x3s2_512_14", 14, 512, 512, 3, 2, 1, 1},
    {"r50_1x1s2_512to1024_28", 28, 512, 1024, 1, 2, 0, 1},
    {"r50_1x1s2_256to512_56", 56, 256, 512, 1, 2, 0, 1},
    {"mnv2_dw3x3_144_56", 56, 144, 144, 3, 1, 1, 144},
    {"mnv2_dw3x3s2_96_112", 112, 96, 96, 3, 2, 1, 96},
    {"mnv1_dw3x3_512_14", 14, 512, 512, 3, 1, 1, 512},
};

using hpkb::Buf;

// n floats, 64-byte aligned, plus 64 bytes of slack (XNNPACK reads up to 16 bytes past a
// tensor), uniform in [-1, 1) from a fixed seed.
Buf random_floats(size_t n, uint32_t seed) { return hpkb::random_floats(n, seed, 64); }

struct LayerData {
    Buf input, filter, bias, residual; // NHWC, OHWI, [cout], NHWC
    Buf output;                        // what every row of the layer writes
    std::vector<float> ref, mag;       // hpk's im2col result, sum |x| |w| per output element
    std::string error;                 // non-empty: no usable reference (every row says so)
};

hpk_conv2d_desc make_desc(const Layer &l)
{
    hpk_conv2d_desc d{};
    d.kernel_h = d.kernel_w = l.k;
    d.stride_h = d.stride_w = l.stride;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = l.pad;
    d.groups = l.groups;
    d.in_channels = l.cin;
    d.out_channels = l.cout;
    return d;
}

// Output element (pixel p, channel o) in double, directly from the definition.
void direct_point(const Layer &l, const float *in, const float *w, size_t p, size_t o, double *val,
                  double *mag)
{
    const size_t ow = l.out(), oy = p / ow, ox = p % ow, g = o / l.kg(), cg = l.cg();
    double acc = 0, abs_acc = 0;
    for (size_t r = 0; r < l.k; r++)
        for (size_t s = 0; s < l.k; s++) {
            const ptrdiff_t iy = ptrdiff_t(oy * l.stride + r) - ptrdiff_t(l.pad);
            const ptrdiff_t ix = ptrdiff_t(ox * l.stride + s) - ptrdiff_t(l.pad);
            if (iy < 0 || ix < 0 || size_t(iy) >= l.hw || size_t(ix) >= l.hw)
                continue;
            const float *x = in + (size_t(iy) * l.hw + size_t(ix)) * l.cin + g * cg;
            const float *f = w + (o * l.k * l.k + r * l.k + s) * cg;
            for (size_t c = 0; c < cg; c++) {
                acc += double(x[c]) * double(f[c]);
                abs_acc += std::fabs(double(x[c]) * double(f[c]));
            }
        }
    *val = acc;
    *mag = abs_acc;
}

// hpk's im2col on (input, filter) and on (|input|, |filter|), then the sampled double check.
std::string make_reference(const Layer &l, LayerData &d)
{
    hpk_conv2d_desc desc = make_desc(l);
    desc.algo = HPK_CONV_IM2COL;
    std::vector<float> ain(l.in_elems()), aw(l.filter_elems());
    for (size_t i = 0; i < ain.size(); i++)
        ain[i] = std::fabs(d.input[i]);
    for (size_t i = 0; i < aw.size(); i++)
        aw[i] = std::fabs(d.filter[i]);
    d.ref.assign(l.out_elems(), NAN);
    d.mag.assign(l.out_elems(), NAN);
    hpk_conv2d *op = nullptr, *op_abs = nullptr;
    hpk_status s = hpk_conv2d_create(&desc, d.filter.get(), nullptr, &op);
    if (s == HPK_OK)
        s = hpk_conv2d_create(&desc, aw.data(), nullptr, &op_abs);
    if (s == HPK_OK)
        s = hpk_conv2d_run(op, 1, l.hw, l.hw, d.input.get(), l.cin, d.ref.data(), l.cout, nullptr,
                           0);
    if (s == HPK_OK)
        s = hpk_conv2d_run(op_abs, 1, l.hw, l.hw, ain.data(), l.cin, d.mag.data(), l.cout, nullptr,
                           0);
    hpk_conv2d_destroy(op);
    hpk_conv2d_destroy(op_abs);
    if (s != HPK_OK)
        return std::string("no reference: hpk im2col failed: ") + hpk_status_string(s);

    const size_t n = l.out_elems(), samples = 512, step = n / samples + 1;
    for (size_t i = 0, e = 7 % n; i < samples; i++, e = (e + step + i) % n) {
        double val, mag;
        direct_point(l, d.input.get(), d.filter.get(), e / l.cout, e % l.cout, &val, &mag);
        const double err = std::fabs(double(d.ref[e]) - val) / (mag > 0 ? mag : 1.0);
        if (!(err <= kReferenceTolerance) || !(std::fabs(d.mag[e] - mag) <= 1e-3 * mag)) {
            std::ostringstream o;
            o << "no reference: hpk im2col disagrees with a direct convolution in double at "
                 "pixel "
              << e / l.cout << ", channel " << e % l.cout << ": " << d.ref[e] << " vs " << val;
            return o.str();
        }
    }
    return std::string();
}

LayerData &layer_data(const Layer &l)
{
    static std::map<std::string, std::unique_ptr<LayerData>> cache;
    std::unique_ptr<LayerData> &slot = cache[l.name];
    if (!slot) {
        slot = std::make_unique<LayerData>();
        const uint32_t seed = uint32_t(std::hash<std::string>()(l.name));
        slot->input = random_floats(l.in_elems(), seed + 1);
        slot->filter = random_floats(l.filter_elems(), seed + 2);
        slot->bias = random_floats(l.cout, seed + 3);
        slot->residual = random_floats(l.out_elems(), seed + 4);
        slot->output = random_floats(l.out_elems(), seed + 5);
        slot->error = make_reference(l, *slot);
    }
    return *slot;
}

// The largest error of out against the reference (with bias, residual and ReLU applied to the
// reference when fused), relative to each element's magnitude; infinity for a NaN or infinity.
double max_rel_err(const Layer &l, const LayerData &d, const float *out, bool fused)
{
    double worst = 0;
    for (size_t e = 0; e < l.out_elems(); e++) {
        double ref = d.ref[e], mag = d.mag[e];
        if (fused) {
            const double b = d.bias[e % l.cout], r = d.residual[e];
            ref = std::max(0.0, ref + b + r);
            mag += std::fabs(b) + std::fabs(r);
        }
        if (!std::isfinite(out[e]))
            return INFINITY;
        worst = std::max(worst, std::fabs(double(out[e]) - ref) / (mag > 0 ? mag : 1.0));
    }
    return worst;
}

// --- the libraries ------------------------------------------------------------------------------

// One library's convolution of one layer, set up once; run() reads the layer's input and writes
// its output buffer (bound at creation).
class ConvPlan
{
  public:
    virtual ~ConvPlan() = default;
    virtual bool run() = 0;
    // After the checked run: the output into the layer's NHWC buffer, where a library computed
    // it in a layout of its own (oneDNN's Winograd). Not timed.
    virtual bool finish()
    {
        return true;
    }
    // oneDNN's sum post-op adds what the destination holds: the residual is put there first.
    virtual bool residual_in_output() const
    {
        return false;
    }
    const std::string &label() const
    {
        return label_;
    }
    const std::string &error() const
    {
        return error_;
    }

  protected:
    std::string label_, error_;
};

class ConvLib
{
  public:
    virtual ~ConvLib() = default;
    const std::string &id() const
    {
        return id_;
    }
    // Whether the library (or forced algorithm) is meant for the layer's shape: no row otherwise.
    virtual bool applies(const Layer &) const
    {
        return true;
    }
    // A plan, or nullptr with *why set (the row is skipped with it). fused: bias + residual +
    // ReLU (conv_epi only).
    virtual std::unique_ptr<ConvPlan> plan(const Layer &l, LayerData &d, bool fused,
                                           std::string *why) = 0;

  protected:
    explicit ConvLib(std::string id) : id_(std::move(id))
    {
    }

  private:
    std::string id_;
};

// --- hpk

std::string hpk_kernels(const hpk_conv2d *op, hpk_conv_algo algo)
{
    const hpk_kernel_table *t = op->table;
    const hpk_gemm_record &r = t->sgemm[HPK_GEMM_MAIN];
    const hpk_blocking &b = op->blocking[HPK_GEMM_MAIN];
    std::ostringstream s;
    s << hpk_conv_algo_name(algo) << ", " << t->isa << " ";
    switch (algo) {
    case HPK_CONV_WINOGRAD_F2:
    case HPK_CONV_WINOGRAD_F4:
    case HPK_CONV_WINOGRAD_S2: {
        const hpk_winograd_record *w = op->wino[hpk_conv_winograd_variant(algo, op->d.kernel_h)];
        s << (w != nullptr && w->name != nullptr ? w->name : "?") << " + ";
        break;
    }
    case HPK_CONV_DEPTHWISE: {
        const char *name = t->dwconv != nullptr ? t->dwconv_name : hpk_kernels_generic.dwconv_name;
        s << (name != nullptr ? name : "?");
        return s.str();
    }
    default: break;
    }
    s << r.mr << "x" << r.nr << " MC=" << b.mc << " KC=" << b.kc << " NC=" << b.nc;
    return s.str();
}

// Why hpk refused a forced algorithm that the shape allows: its kernels are missing.
std::string hpk_refusal(hpk_status st, hpk_conv_algo algo, size_t kernel)
{
    std::string why = std::string("hpk_conv2d_create: ") + hpk_status_string(st);
    const hpk_config *cfg = hpk_config_get();
    if (st != HPK_ERR_UNSUPPORTED || cfg->status != HPK_OK)
        return why;
    const hpk_kernel_table *t = cfg->table;
    const std::string tables = std::string(" (neither the ") + t->isa + " nor the generic table)";
    if (hpk_conv_winograd_variant(algo, kernel) >= 0) {
        const int v = hpk_conv_winograd_variant(algo, kernel);
        if (t->winograd[v].input == nullptr && hpk_kernels_generic.winograd[v].input == nullptr)
            why += std::string(": no Winograd ") +
                   (v == HPK_WINOGRAD_F2X3      ? "F(2x2,3x3)"
                    : v == HPK_WINOGRAD_F4X3    ? "F(4x4,3x3)"
                    : v == HPK_WINOGRAD_F4X2_S2 ? "F(4x4,2x2) stride-2"
                                                : "F(3x3,4x4) stride-2") +
                   " kernels in this build" + tables;
    } else if (algo == HPK_CONV_DEPTHWISE) {
        if (t->dwconv == nullptr && hpk_kernels_generic.dwconv == nullptr)
            why += ": no depthwise kernel in this build" + tables;
    }
    return why;
}

class HpkConvPlan final : public ConvPlan
{
  public:
    HpkConvPlan(hpk_conv2d *op, const Layer &l, LayerData &d, bool fused, hpk_conv_algo forced)
        : op_(op), l_(l), d_(d), fused_(fused)
    {
        hpk_conv_algo algo = forced;
        if (hpk_conv2d_algorithm(op, l.hw, l.hw, &algo) != HPK_OK)
            algo = forced;
        label_ = (forced == HPK_CONV_AUTO ? "auto: " : "forced: ") + hpk_kernels(op, algo) +
                 ", threads=" + std::to_string(hpk_get_num_threads());
    }
    ~HpkConvPlan() override
    {
        hpk_conv2d_destroy(op_);
    }
    bool run() override
    {
        const hpk_status s =
            hpk_conv2d_run(op_, 1, l_.hw, l_.hw, d_.input.get(), l_.cin, d_.output.get(), l_.cout,
                           fused_ ? d_.residual.get() : nullptr, l_.cout);
        if (s != HPK_OK) {
            error_ = std::string("hpk_conv2d_run: ") + hpk_status_string(s);
            return false;
        }
        return true;
    }

  private:
    hpk_conv2d *op_;
    const Layer &l_;
    LayerData &d_;
    bool fused_;
};

class HpkConvLib final : public ConvLib
{
  public:
    HpkConvLib(std::string id, hpk_conv_algo algo) : ConvLib(std::move(id)), algo_(algo)
    {
    }
    bool applies(const Layer &l) const override
    {
        switch (algo_) {
        case HPK_CONV_GEMM: return l.plain_1x1();
        case HPK_CONV_WINOGRAD_F2:
        case HPK_CONV_WINOGRAD_F4: return l.winograd_shape();
        case HPK_CONV_WINOGRAD_S2: return l.winograd_s2_shape();
        case HPK_CONV_DEPTHWISE: return l.depthwise();
        default: return true;
        }
    }
    std::unique_ptr<ConvPlan> plan(const Layer &l, LayerData &d, bool fused,
                                   std::string *why) override
    {
        hpk_conv2d_desc desc = make_desc(l);
        desc.algo = algo_;
        if (fused)
            desc.act = HPK_ACT_RELU;
        hpk_conv2d *op = nullptr;
        const hpk_status s =
            hpk_conv2d_create(&desc, d.filter.get(), fused ? d.bias.get() : nullptr, &op);
        if (s != HPK_OK) {
            *why = hpk_refusal(s, algo_, l.k);
            return nullptr;
        }
        return std::make_unique<HpkConvPlan>(op, l, d, fused, algo_);
    }

  private:
    hpk_conv_algo algo_;
};

// --- oneDNN (2.x C API)

#if defined(HPKB_HAVE_DNNL2_API)
struct DnnlApi {
    decltype(&::dnnl_engine_create) engine_create = nullptr;
    decltype(&::dnnl_stream_create) stream_create = nullptr;
    decltype(&::dnnl_stream_wait) stream_wait = nullptr;
    decltype(&::dnnl_memory_desc_init_by_tag) md_init = nullptr;
    decltype(&::dnnl_convolution_forward_desc_init) conv_init = nullptr;
    decltype(&::dnnl_primitive_desc_create) pd_create = nullptr;
    decltype(&::dnnl_primitive_desc_query) pd_query = nullptr;
    decltype(&::dnnl_primitive_desc_query_md) pd_query_md = nullptr;
    decltype(&::dnnl_primitive_desc_destroy) pd_destroy = nullptr;
    decltype(&::dnnl_reorder_primitive_desc_create) reorder_pd_create = nullptr;
    decltype(&::dnnl_primitive_create) prim_create = nullptr;
    decltype(&::dnnl_primitive_execute) prim_execute = nullptr;
    decltype(&::dnnl_primitive_destroy) prim_destroy = nullptr;
    decltype(&::dnnl_memory_create) mem_create = nullptr;
    decltype(&::dnnl_memory_destroy) mem_destroy = nullptr;
    decltype(&::dnnl_memory_get_memory_desc) mem_get_md = nullptr;
    decltype(&::dnnl_primitive_attr_create) attr_create = nullptr;
    decltype(&::dnnl_primitive_attr_destroy) attr_destroy = nullptr;
    decltype(&::dnnl_primitive_attr_set_post_ops) attr_set_post_ops = nullptr;
    decltype(&::dnnl_post_ops_create) po_create = nullptr;
    decltype(&::dnnl_post_ops_destroy) po_destroy = nullptr;
    decltype(&::dnnl_post_ops_append_sum) po_sum = nullptr;
    decltype(&::dnnl_post_ops_append_eltwise) po_eltwise = nullptr;
    decltype(&::dnnl_version) version = nullptr;
    decltype(&::dnnl_status2str) status_str = nullptr;
    dnnl_engine_t engine = nullptr;
    dnnl_stream_t stream = nullptr;

    std::string status(dnnl_status_t s) const
    {
        return status_str != nullptr ? status_str(s) : std::to_string(int(s));
    }
};

DnnlApi g_dnnl;
bool g_have_dnnl = false;

template <typename F> bool dnnl_sym(hpkb::Dl &dl, F &f, const char *name, std::string *why)
{
    f = dl.sym<F>(name, why);
    return f != nullptr;
}

// Loads oneDNN (the library the GEMM rows use: same file, same handle); returns a context line.
std::string load_dnnl(int threads)
{
    hpkb::Dl dl;
    std::string why;
#if defined(HPK_BENCH_DNNL_PATH)
    const char *configured = HPK_BENCH_DNNL_PATH;
#else
    const char *configured = nullptr;
#endif
    if (!dl.open("HPK_BENCH_DNNL", configured, &why))
        return "no rows: " + why;
    DnnlApi &a = g_dnnl;
    const bool ok = dnnl_sym(dl, a.engine_create, "dnnl_engine_create", &why) &&
                    dnnl_sym(dl, a.stream_create, "dnnl_stream_create", &why) &&
                    dnnl_sym(dl, a.stream_wait, "dnnl_stream_wait", &why) &&
                    dnnl_sym(dl, a.md_init, "dnnl_memory_desc_init_by_tag", &why) &&
                    dnnl_sym(dl, a.conv_init, "dnnl_convolution_forward_desc_init", &why) &&
                    dnnl_sym(dl, a.pd_create, "dnnl_primitive_desc_create", &why) &&
                    dnnl_sym(dl, a.pd_query, "dnnl_primitive_desc_query", &why) &&
                    dnnl_sym(dl, a.pd_query_md, "dnnl_primitive_desc_query_md", &why) &&
                    dnnl_sym(dl, a.pd_destroy, "dnnl_primitive_desc_destroy", &why) &&
                    dnnl_sym(dl, a.reorder_pd_create, "dnnl_reorder_primitive_desc_create", &why) &&
                    dnnl_sym(dl, a.prim_create, "dnnl_primitive_create", &why) &&
                    dnnl_sym(dl, a.prim_execute, "dnnl_primitive_execute", &why) &&
                    dnnl_sym(dl, a.prim_destroy, "dnnl_primitive_destroy", &why) &&
                    dnnl_sym(dl, a.mem_create, "dnnl_memory_create", &why) &&
                    dnnl_sym(dl, a.mem_destroy, "dnnl_memory_destroy", &why) &&
                    dnnl_sym(dl, a.mem_get_md, "dnnl_memory_get_memory_desc", &why) &&
                    dnnl_sym(dl, a.attr_create, "dnnl_primitive_attr_create", &why) &&
                    dnnl_sym(dl, a.attr_destroy, "dnnl_primitive_attr_destroy", &why) &&
                    dnnl_sym(dl, a.attr_set_post_ops, "dnnl_primitive_attr_set_post_ops", &why) &&
                    dnnl_sym(dl, a.po_create, "dnnl_post_ops_create", &why) &&
                    dnnl_sym(dl, a.po_destroy, "dnnl_post_ops_destroy", &why) &&
                    dnnl_sym(dl, a.po_sum, "dnnl_post_ops_append_sum", &why) &&
                    dnnl_sym(dl, a.po_eltwise, "dnnl_post_ops_append_eltwise", &why) &&
                    dnnl_sym(dl, a.version, "dnnl_version", &why) &&
                    dnnl_sym(dl, a.status_str, "dnnl_status2str", &why);
    if (!ok)
        return "no rows: " + why;
    const dnnl_version_t *v = a.version();
    if (v->major != 2)
        return "no rows: the convolution rows speak oneDNN 2.x's C API, the library is " +
               std::to_string(v->major) + "." + std::to_string(v->minor);
    dnnl_status_t s = a.engine_create(&a.engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = a.stream_create(&a.stream, a.engine, dnnl_stream_default_flags);
    if (s != dnnl_success)
        return "no rows: engine or stream: " + a.status(s);
    // The threads: oneDNN's OpenMP (DNNL_CPU_RUNTIME) reads OMP_NUM_THREADS, which init_libs set
    // before the library was first loaded; the count of this (the main) thread is set too.
    std::string runtime = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "OpenMP"
                          : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                          : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                               : "other";
    if (auto omp_set = dl.any_sym<void (*)(int)>("omp_set_num_threads"))
        omp_set(threads);
    int max_threads = -1;
    if (auto omp_max = dl.any_sym<int (*)(void)>("omp_get_max_threads"))
        max_threads = omp_max();
    const char *omp_env = getenv("OMP_NUM_THREADS");
    g_have_dnnl = true;
    std::ostringstream o;
    o << v->major << "." << v->minor << "." << v->patch << ", cpu runtime " << runtime
      << " (omp_get_max_threads()=" << max_threads
      << ", OMP_NUM_THREADS=" << (omp_env ? omp_env : "") << "), src/dst nhwc, weights "
      << "format_tag_any reordered at set-up, from " << dl.path();
    return o.str();
}

// A blocked layout in oneDNN's notation: dimensions outer to inner, upper case where blocked,
// then the inner blocks ("ABcd8b8a": OIhw with 8 x 8 blocks of i inside o).
std::string dnnl_layout(const dnnl_memory_desc_t &md)
{
    if (md.format_kind == dnnl_format_kind_wino)
        return "wino";
    if (md.format_kind != dnnl_blocked)
        return "format_kind " + std::to_string(int(md.format_kind));
    const dnnl_blocking_desc_t &b = md.format_desc.blocking;
    std::vector<int> order(size_t(md.ndims));
    for (int i = 0; i < md.ndims; i++)
        order[size_t(i)] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int x, int y) { return b.strides[x] > b.strides[y]; });
    std::string s;
    for (int dim : order) {
        bool blocked = false;
        for (int i = 0; i < b.inner_nblks; i++)
            blocked = blocked || b.inner_idxs[i] == dim;
        s += char((blocked ? 'A' : 'a') + dim);
    }
    for (int i = 0; i < b.inner_nblks; i++)
        s += std::to_string(b.inner_blks[i]) + char('a' + b.inner_idxs[i]);
    return s;
}

bool dnnl_ok(dnnl_status_t s, const char *what, std::string *why)
{
    if (s == dnnl_success)
        return true;
    *why = std::string(what) + ": " + g_dnnl.status(s);
    return false;
}

class DnnlConvPlan final : public ConvPlan
{
  public:
    ~DnnlConvPlan() override
    {
        const DnnlApi &a = g_dnnl;
        if (prim_ != nullptr)
            a.prim_destroy(prim_);
        for (dnnl_memory_t m : {src_, wei_, bias_, dst_, user_dst_})
            if (m != nullptr)
                a.mem_destroy(m);
    }
    bool run() override
    {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src_},
                                   {DNNL_ARG_WEIGHTS, wei_},
                                   {DNNL_ARG_DST, dst_},
                                   {DNNL_ARG_BIAS, bias_}};
        dnnl_status_t s = g_dnnl.prim_execute(prim_, g_dnnl.stream, bias_ ? 4 : 3, args);
        if (s == dnnl_success)
            s = g_dnnl.stream_wait(g_dnnl.stream);
        return dnnl_ok(s, "dnnl_primitive_execute", &error_);
    }
    bool residual_in_output() const override
    {
        return fused_;
    }
    bool finish() override
    {
        return user_dst_ == nullptr || reorder(dst_, user_dst_, &error_);
    }

    // Builds everything; false with *why on the first failure (the destructor frees the rest).
    bool init(const Layer &l, LayerData &d, bool fused, dnnl_alg_kind_t alg, std::string *why)
    {
        const DnnlApi &a = g_dnnl;
        fused_ = fused;
        const auto i64 = [](size_t x) { return dnnl_dim_t(x); };
        const dnnl_dim_t oh = i64(l.out()), g = i64(l.groups);
        dnnl_dims_t src_dims = {1, i64(l.cin), i64(l.hw), i64(l.hw)};
        dnnl_dims_t dst_dims = {1, i64(l.cout), oh, oh};
        dnnl_dims_t bias_dims = {i64(l.cout)};
        dnnl_dims_t w_dims = {i64(l.cout), i64(l.cin), i64(l.k), i64(l.k)};
        dnnl_dims_t gw_dims = {g, i64(l.kg()), i64(l.cg()), i64(l.k), i64(l.k)};
        const bool grouped = l.groups > 1;
        // oneDNN 2.x's Winograd computes in its blocked layouts only (nChw16c): it gets them, with
        // the input reordered once at set-up and the output reordered back after the checked
        // run, both untimed -- the peer's best case. Every other row reads and writes NHWC.
        const bool own_layout = alg == dnnl_convolution_winograd && !fused;
        const dnnl_format_tag_t act = own_layout ? dnnl_format_tag_any : dnnl_nhwc;
        dnnl_memory_desc_t src_md, dst_md, src_nhwc, dst_nhwc, bias_md, wei_any, wei_user;
        if (!dnnl_ok(a.md_init(&src_md, 4, src_dims, dnnl_f32, act), "src desc", why) ||
            !dnnl_ok(a.md_init(&dst_md, 4, dst_dims, dnnl_f32, act), "dst desc", why) ||
            !dnnl_ok(a.md_init(&src_nhwc, 4, src_dims, dnnl_f32, dnnl_nhwc), "src desc", why) ||
            !dnnl_ok(a.md_init(&dst_nhwc, 4, dst_dims, dnnl_f32, dnnl_nhwc), "dst desc", why) ||
            !dnnl_ok(a.md_init(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x), "bias desc", why) ||
            !dnnl_ok(a.md_init(&wei_any, grouped ? 5 : 4, grouped ? gw_dims : w_dims, dnnl_f32,
                               dnnl_format_tag_any),
                     "weights desc", why) ||
            !dnnl_ok(a.md_init(&wei_user, grouped ? 5 : 4, grouped ? gw_dims : w_dims, dnnl_f32,
                               grouped ? dnnl_gohwi : dnnl_ohwi),
                     "user weights desc", why))
            return false;
        // The right padding that makes oneDNN's output size formula give out() exactly.
        const dnnl_dim_t p = i64(l.pad), st = i64(l.stride);
        const dnnl_dim_t pr = std::max<dnnl_dim_t>(0, (oh - 1) * st + i64(l.k) - i64(l.hw) - p);
        dnnl_dims_t strides = {st, st}, pad_l = {p, p}, pad_r = {pr, pr};
        dnnl_convolution_desc_t cd;
        if (!dnnl_ok(a.conv_init(&cd, dnnl_forward_inference, alg, &src_md, &wei_any,
                                 fused ? &bias_md : nullptr, &dst_md, strides, pad_l, pad_r),
                     "dnnl_convolution_forward_desc_init", why))
            return false;

        dnnl_primitive_attr_t attr = nullptr;
        dnnl_post_ops_t po = nullptr;
        if (fused) {
            // dst = relu(conv + bias + 1.0 * dst): the residual is what dst holds before the run.
            if (!dnnl_ok(a.attr_create(&attr), "attr", why) ||
                !dnnl_ok(a.po_create(&po), "post-ops", why) ||
                !dnnl_ok(a.po_sum(po, 1.0f), "sum post-op", why) ||
                !dnnl_ok(a.po_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "relu post-op",
                         why) ||
                !dnnl_ok(a.attr_set_post_ops(attr, po), "set post-ops", why)) {
                if (po != nullptr)
                    a.po_destroy(po);
                if (attr != nullptr)
                    a.attr_destroy(attr);
                return false;
            }
        }
        dnnl_primitive_desc_t pd = nullptr;
        const dnnl_status_t s = a.pd_create(&pd, &cd, attr, a.engine, nullptr);
        if (po != nullptr)
            a.po_destroy(po);
        if (attr != nullptr)
            a.attr_destroy(attr);
        if (s != dnnl_success) {
            *why = "dnnl_primitive_desc_create: " + a.status(s);
            if (s == dnnl_unimplemented)
                *why += alg == dnnl_convolution_winograd
                            ? " (oneDNN 2.x has f32 Winograd for AVX-512 CPUs only)"
                            : " (no implementation for this shape)";
            return false;
        }
        const char *impl = nullptr;
        a.pd_query(pd, dnnl_query_impl_info_str, 0, &impl);
        const dnnl_memory_desc_t wei_md = *a.pd_query_md(pd, dnnl_query_weights_md, 0);
        label_ = std::string("impl=") + (impl ? impl : "?") + ", weights " + dnnl_layout(wei_md);
        if (own_layout) {
            src_md = *a.pd_query_md(pd, dnnl_query_src_md, 0);
            dst_md = *a.pd_query_md(pd, dnnl_query_dst_md, 0);
            label_ += ", src/dst " + dnnl_layout(src_md) + " (reordered outside the timing)";
        }
        bool ok = dnnl_ok(a.prim_create(&prim_, pd), "dnnl_primitive_create", why);
        a.pd_destroy(pd);
        if (!ok)
            return false;

        // Memory: the layer's buffers where they lie (NHWC), or oneDNN's own with the input
        // reordered into it; the weights reordered once into oneDNN's layout.
        // oneDNN reorders into its Winograd weights from oihw, not from ohwi: through oihw then.
        dnnl_memory_t user_w = nullptr, user_src = nullptr, w_oihw = nullptr;
        dnnl_memory_desc_t oihw_md;
        ok =
            dnnl_ok(a.mem_create(&wei_, &wei_md, a.engine, DNNL_MEMORY_ALLOCATE), "weights", why) &&
            dnnl_ok(a.mem_create(&user_w, &wei_user, a.engine, d.filter.get()), "user weights",
                    why);
        if (ok && own_layout)
            ok = dnnl_ok(a.md_init(&oihw_md, 4, w_dims, dnnl_f32, dnnl_oihw), "oihw desc", why) &&
                 dnnl_ok(a.mem_create(&w_oihw, &oihw_md, a.engine, DNNL_MEMORY_ALLOCATE),
                         "oihw weights", why) &&
                 reorder(user_w, w_oihw, why) && reorder(w_oihw, wei_, why);
        else if (ok)
            ok = reorder(user_w, wei_, why);
        ok = ok && (!fused || dnnl_ok(a.mem_create(&bias_, &bias_md, a.engine, d.bias.get()),
                                      "bias memory", why));
        if (ok && own_layout)
            ok =
                dnnl_ok(a.mem_create(&src_, &src_md, a.engine, DNNL_MEMORY_ALLOCATE), "src", why) &&
                dnnl_ok(a.mem_create(&dst_, &dst_md, a.engine, DNNL_MEMORY_ALLOCATE), "dst", why) &&
                dnnl_ok(a.mem_create(&user_src, &src_nhwc, a.engine, d.input.get()), "user src",
                        why) &&
                dnnl_ok(a.mem_create(&user_dst_, &dst_nhwc, a.engine, d.output.get()), "user dst",
                        why) &&
                reorder(user_src, src_, why);
        else if (ok)
            ok =
                dnnl_ok(a.mem_create(&src_, &src_md, a.engine, d.input.get()), "src memory", why) &&
                dnnl_ok(a.mem_create(&dst_, &dst_md, a.engine, d.output.get()), "dst memory", why);
        for (dnnl_memory_t m : {user_w, user_src, w_oihw})
            if (m != nullptr)
                a.mem_destroy(m);
        return ok;
    }

  private:
    // One reorder between two memories of the same shape (any layouts), run to completion.
    static bool reorder(dnnl_memory_t from, dnnl_memory_t to, std::string *why)
    {
        const DnnlApi &a = g_dnnl;
        const dnnl_memory_desc_t *from_md = nullptr, *to_md = nullptr;
        dnnl_primitive_desc_t rpd = nullptr;
        dnnl_primitive_t r = nullptr;
        bool ok = dnnl_ok(a.mem_get_md(from, &from_md), "reorder source desc", why) &&
                  dnnl_ok(a.mem_get_md(to, &to_md), "reorder target desc", why) &&
                  dnnl_ok(a.reorder_pd_create(&rpd, from_md, a.engine, to_md, a.engine, nullptr),
                          "reorder desc", why) &&
                  dnnl_ok(a.prim_create(&r, rpd), "reorder", why);
        if (ok) {
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
            ok = dnnl_ok(a.prim_execute(r, a.stream, 2, args), "reorder run", why) &&
                 dnnl_ok(a.stream_wait(a.stream), "reorder wait", why);
        }
        if (r != nullptr)
            a.prim_destroy(r);
        if (rpd != nullptr)
            a.pd_destroy(rpd);
        return ok;
    }

    dnnl_primitive_t prim_ = nullptr;
    dnnl_memory_t src_ = nullptr, wei_ = nullptr, bias_ = nullptr, dst_ = nullptr;
    dnnl_memory_t user_dst_ = nullptr; // the layer's NHWC output, where dst_ is oneDNN's own
    bool fused_ = false;
};

class DnnlConvLib final : public ConvLib
{
  public:
    DnnlConvLib(std::string id, dnnl_alg_kind_t alg) : ConvLib(std::move(id)), alg_(alg)
    {
    }
    bool applies(const Layer &l) const override
    {
        // oneDNN's Winograd is for dense 3x3 stride 1 convolutions, as hpk's.
        return alg_ != dnnl_convolution_winograd || l.winograd_shape();
    }
    std::unique_ptr<ConvPlan> plan(const Layer &l, LayerData &d, bool fused,
                                   std::string *why) override
    {
        auto p = std::make_unique<DnnlConvPlan>();
        if (!p->init(l, d, fused, alg_, why))
            return nullptr;
        return p;
    }

  private:
    dnnl_alg_kind_t alg_;
};
#endif // HPKB_HAVE_DNNL2_API

// --- XNNPACK (xnnpack.h of 2022: its prototypes restated, as it includes pthreadpool.h, which
// Debian does not ship; the library is dlopen'ed)

struct XnnApi {
    using Op = void *;   // xnn_operator_t
    using Pool = void *; // pthreadpool_t
    int (*initialize)(const void *allocator) = nullptr;
    int (*create)(uint32_t pad_top, uint32_t pad_right, uint32_t pad_bottom, uint32_t pad_left,
                  uint32_t kernel_h, uint32_t kernel_w, uint32_t stride_h, uint32_t stride_w,
                  uint32_t dilation_h, uint32_t dilation_w, uint32_t groups,
                  size_t group_input_channels, size_t group_output_channels,
                  size_t input_pixel_stride, size_t output_pixel_stride, const float *kernel,
                  const float *bias, float output_min, float output_max, uint32_t flags,
                  Op *op_out) = nullptr;
    int (*setup)(Op op, size_t batch, size_t in_h, size_t in_w, const float *input, float *output,
                 Pool pool) = nullptr;
    int (*run)(Op op, Pool pool) = nullptr;
    int (*destroy)(Op op) = nullptr;
    Pool pool = nullptr;
};

XnnApi g_xnn;
bool g_have_xnn = false;

std::string load_xnnpack(int threads)
{
    hpkb::Dl dl;
    std::string why;
#if defined(HPK_BENCH_XNNPACK_PATH)
    const char *configured = HPK_BENCH_XNNPACK_PATH;
#else
    const char *configured = nullptr;
#endif
    if (!dl.open("HPK_BENCH_XNNPACK", configured, &why))
        return "no rows: " + why;
    XnnApi &a = g_xnn;
    a.initialize = dl.sym<decltype(a.initialize)>("xnn_initialize", &why);
    a.create = dl.sym<decltype(a.create)>("xnn_create_convolution2d_nhwc_f32", &why);
    a.setup = dl.sym<decltype(a.setup)>("xnn_setup_convolution2d_nhwc_f32", &why);
    a.run = dl.sym<decltype(a.run)>("xnn_run_operator", &why);
    a.destroy = dl.sym<decltype(a.destroy)>("xnn_delete_operator", &why);
    if (!a.initialize || !a.create || !a.setup || !a.run || !a.destroy)
        return "no rows: " + why;
    const int s = a.initialize(nullptr);
    if (s != 0)
        return "no rows: xnn_initialize status " + std::to_string(s) +
               (s == 5 ? " (unsupported hardware)" : "");
    // pthreadpool is XNNPACK's dependency, so not checked with dladdr.
    std::string pool = "no pool: runs on the calling thread";
    if (threads > 1) {
        auto create = dl.any_sym<void *(*)(size_t)>("pthreadpool_create");
        auto count = dl.any_sym<size_t (*)(void *)>("pthreadpool_get_threads_count");
        if (create != nullptr)
            a.pool = create(size_t(threads));
        if (a.pool == nullptr)
            return "no rows: pthreadpool_create(" + std::to_string(threads) + ") failed";
        pool = "pthreadpool of " +
               (count != nullptr ? std::to_string(count(a.pool)) : std::string("?")) + " threads";
    }
    g_have_xnn = true;
    return "xnn_create_convolution2d_nhwc_f32 (ukernels picked by XNNPACK from cpuinfo), " + pool +
           ", from " + dl.path();
}

// The path XNNPACK's create takes for a shape (its rules of 2022; XNNPACK cannot be asked).
const char *xnn_path(const Layer &l)
{
    if (l.cg() == 1 && l.kg() == 1 && l.groups > 1)
        return l.k * l.k <= 25 ? "dwconv (unipass depthwise)" : "igemm";
    if (l.plain_1x1())
        return "gemm (1x1: the input is A)";
    return "igemm (indirect GEMM)";
}

class XnnConvPlan final : public ConvPlan
{
  public:
    explicit XnnConvPlan(XnnApi::Op op, const Layer &l) : op_(op)
    {
        label_ = std::string("path (inferred): ") + xnn_path(l);
    }
    ~XnnConvPlan() override
    {
        g_xnn.destroy(op_);
    }
    bool run() override
    {
        const int s = g_xnn.run(op_, g_xnn.pool);
        if (s != 0) {
            error_ = "xnn_run_operator status " + std::to_string(s);
            return false;
        }
        return true;
    }

  private:
    XnnApi::Op op_;
};

class XnnConvLib final : public ConvLib
{
  public:
    XnnConvLib() : ConvLib("xnnpack")
    {
    }
    std::unique_ptr<ConvPlan> plan(const Layer &l, LayerData &d, bool fused,
                                   std::string *why) override
    {
        if (fused) {
            *why = "no residual in XNNPACK's convolution operator";
            return nullptr;
        }
        const auto u = [](size_t x) { return uint32_t(x); };
        XnnApi::Op op = nullptr;
        // Filter [groups][kg][kh][kw][cg]: hpk's OHWI (a depthwise one too, without
        // XNN_FLAG_DEPTHWISE_CONVOLUTION, which would mean HWGo).
        int s = g_xnn.create(u(l.pad), u(l.pad), u(l.pad), u(l.pad), u(l.k), u(l.k), u(l.stride),
                             u(l.stride), 1, 1, u(l.groups), l.cg(), l.kg(), l.cin, l.cout,
                             d.filter.get(), nullptr, -INFINITY, INFINITY, 0, &op);
        if (s != 0) {
            *why = "xnn_create_convolution2d_nhwc_f32 status " + std::to_string(s);
            return nullptr;
        }
        s = g_xnn.setup(op, 1, l.hw, l.hw, d.input.get(), d.output.get(), g_xnn.pool);
        if (s != 0) {
            g_xnn.destroy(op);
            *why = "xnn_setup_convolution2d_nhwc_f32 status " + std::to_string(s);
            return nullptr;
        }
        return std::make_unique<XnnConvPlan>(op, l);
    }
};

// --- im2col + OpenBLAS

// Group g's im2col matrix, row-major [out pixels][kh * kw * cg], zeros for the padding.
void im2col(const Layer &l, const float *in, size_t g, float *col)
{
    const size_t ow = l.out(), cg = l.cg(), kdim = l.kdim();
    for (size_t oy = 0; oy < ow; oy++)
        for (size_t ox = 0; ox < ow; ox++) {
            float *row = col + (oy * ow + ox) * kdim;
            for (size_t r = 0; r < l.k; r++) {
                const ptrdiff_t iy = ptrdiff_t(oy * l.stride + r) - ptrdiff_t(l.pad);
                for (size_t s = 0; s < l.k; s++) {
                    const ptrdiff_t ix = ptrdiff_t(ox * l.stride + s) - ptrdiff_t(l.pad);
                    float *dst = row + (r * l.k + s) * cg;
                    if (iy < 0 || ix < 0 || size_t(iy) >= l.hw || size_t(ix) >= l.hw)
                        std::memset(dst, 0, cg * sizeof(float));
                    else
                        std::memcpy(dst, in + (size_t(iy) * l.hw + size_t(ix)) * l.cin + g * cg,
                                    cg * sizeof(float));
                }
            }
        }
}

class Im2colBlasPlan final : public ConvPlan
{
  public:
    Im2colBlasPlan(const Layer &l, LayerData &d, std::unique_ptr<hpkb::GemmPlan> gemm,
                   std::string label)
        : l_(l), d_(d), gemm_(std::move(gemm)), copy_(!(l.plain_1x1() && l.groups == 1))
    {
        if (copy_)
            col_.resize(l.out() * l.out() * l.kdim());
        label_ = (copy_ ? "im2col (1 thread) + " : "no im2col (1x1: the input is the matrix) + ") +
                 label;
    }
    bool run() override
    {
        for (size_t g = 0; g < l_.groups; g++) {
            if (copy_)
                im2col(l_, d_.input.get(), g, col_.data());
            // C^T[kg x pixels] (ldc cout) = W_g[kg x kdim] (OHWI rows: 'T', lda kdim) * col^T.
            if (!gemm_->run(d_.filter.get() + g * l_.kg() * l_.kdim(),
                            copy_ ? col_.data() : d_.input.get(), d_.output.get() + g * l_.kg())) {
                error_ = gemm_->error();
                return false;
            }
        }
        return true;
    }

  private:
    const Layer &l_;
    LayerData &d_;
    std::unique_ptr<hpkb::GemmPlan> gemm_;
    bool copy_;
    std::vector<float> col_;
};

class Im2colBlasLib final : public ConvLib
{
  public:
    explicit Im2colBlasLib(hpkb::GemmLib *blas) : ConvLib("im2col+openblas"), blas_(blas)
    {
    }
    std::unique_ptr<ConvPlan> plan(const Layer &l, LayerData &d, bool fused,
                                   std::string *why) override
    {
        if (fused) {
            *why = "no fused epilogue";
            return nullptr;
        }
        hpkb::GemmCall c;
        c.transa = 'T';
        c.transb = 'N';
        c.m = long(l.kg());
        c.n = long(l.out() * l.out());
        c.k = long(l.kdim());
        c.lda = c.k;
        c.ldb = c.k;
        c.ldc = long(l.cout);
        std::unique_ptr<hpkb::GemmPlan> g = blas_->plan(c, nullptr, why);
        if (!g)
            return nullptr;
        std::ostringstream s;
        s << l.groups << " x cblas_sgemm TN (" << c.m << "," << c.n << "," << c.k << "), "
          << blas_->describe(c);
        return std::make_unique<Im2colBlasPlan>(l, d, std::move(g), s.str());
    }

  private:
    hpkb::GemmLib *blas_;
};

// --- the benchmark --------------------------------------------------------------------------

double g_peak_run = 0; // FP32 FMA peak on the run's thread count, GFLOP/s
std::vector<std::unique_ptr<ConvLib>> g_libs;

// A row's set-up and verdict, made on its first call and kept for the later ones.
struct RowState {
    bool tried = false;
    std::unique_ptr<ConvPlan> plan;
    std::string skip; // non-empty: the row is not timed, and this says why
    double err = 0;
    double paired_overhead = NAN; // fused rows: % over bare, min of kPairs alternated runs
};

// The fused rows' second measure of the epilogue's cost, steadier on a shared machine than two
// rows' best repetitions: bare and fused runs alternated kPairs times, the fastest of each, in
// the process's CPU time, which time slices given to other programs do not inflate. One-thread
// runs only: on more, idle workers spin or sleep (blurring CPU time), and wall time on an
// oversubscribed machine swung from -40 % to +300 % between runs.
constexpr int kPairs = 25;

int g_threads = 1;

double cpu_seconds_of(ConvPlan &p)
{
    timespec c0{}, c1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    const bool ok = p.run();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    return ok ? double(c1.tv_sec - c0.tv_sec) + 1e-9 * double(c1.tv_nsec - c0.tv_nsec) : NAN;
}

double paired_overhead(ConvPlan &bare, ConvPlan &fused)
{
    double best_bare = INFINITY, best_fused = INFINITY;
    for (int i = 0; i < kPairs; i++) {
        best_bare = std::min(best_bare, cpu_seconds_of(bare));
        best_fused = std::min(best_fused, cpu_seconds_of(fused));
    }
    return 100.0 * (best_fused / best_bare - 1.0);
}

RowState &row_state(const std::string &row)
{
    static std::map<std::string, RowState> rows;
    return rows[row];
}

void set_up(RowState &rs, ConvLib &lib, const Layer &l, LayerData &d, bool fused)
{
    rs.tried = true;
    if (!d.error.empty()) {
        rs.skip = d.error;
        return;
    }
    rs.plan = lib.plan(l, d, fused, &rs.skip);
    if (!rs.plan) {
        if (rs.skip.empty())
            rs.skip = "not run";
        return;
    }
    // The check: the output starts as NaN (or as the residual, for oneDNN's sum post-op).
    float *out = d.output.get();
    if (rs.plan->residual_in_output())
        std::memcpy(out, d.residual.get(), l.out_elems() * sizeof(float));
    else
        std::fill(out, out + l.out_elems(), NAN);
    if (!rs.plan->run() || !rs.plan->finish()) {
        rs.skip = rs.plan->error();
        rs.plan.reset();
        return;
    }
    rs.err = max_rel_err(l, d, out, fused);
    if (!(rs.err <= kTolerance)) {
        char msg[160];
        std::snprintf(msg, sizeof msg,
                      "WRONG: max error %.3g of sum|x||w| against hpk's im2col (tolerance %.0e)",
                      rs.err, kTolerance);
        rs.skip = msg;
        rs.plan.reset();
        return;
    }
    if (fused && g_threads == 1) {
        std::string why;
        std::unique_ptr<ConvPlan> bare = lib.plan(l, d, false, &why);
        if (bare && bare->run() && rs.plan->run()) // warm both first
            rs.paired_overhead = paired_overhead(*bare, *rs.plan);
    }
}

void bm_conv(benchmark::State &st, ConvLib *lib, const Layer *layer, bool fused,
             const std::string &row)
{
    const Layer &l = *layer;
    LayerData &d = layer_data(l);
    RowState &rs = row_state(row);
    if (!rs.tried)
        set_up(rs, *lib, l, d, fused);
    if (!rs.skip.empty()) {
        st.SkipWithError(rs.skip.c_str());
        return;
    }
    ConvPlan &p = *rs.plan;
    if (!p.run()) { // warm-up: the data into cache, the library's lazy set-up
        st.SkipWithError(p.error().c_str());
        return;
    }
    const Clock::time_point t0 = Clock::now();
    for (auto _ : st)
        if (!p.run()) {
            st.SkipWithError(p.error().c_str());
            break;
        }
    const double timed = std::chrono::duration<double>(Clock::now() - t0).count();
    benchmark::DoNotOptimize(d.output.get());

    const double flops = l.flops();
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["MFLOP"] = flops * 1e-6;
    st.counters["AI"] = l.intensity();
    if (timed > 0 && g_peak_run > 0)
        st.counters["pct_peak"] =
            100.0 * flops * double(st.iterations()) / timed * 1e-9 / g_peak_run;
    st.counters["max_rel_err"] = rs.err;
    if (std::isfinite(rs.paired_overhead))
        st.counters["paired_overhead_pct"] = rs.paired_overhead;
    st.counters["threads"] = g_threads;
    char err[32];
    std::snprintf(err, sizeof err, "%.1e", rs.err);
    st.SetLabel(p.label() + (fused ? " | bias+residual+relu fused" : "") + " | warm | err " + err);
}

void add_row(const std::string &family, const Layer &l, ConvLib *lib, const std::string &id,
             bool fused)
{
    const std::string row = family + "/" + l.name + "/" + id;
    benchmark::RegisterBenchmark(row.c_str(), bm_conv, lib, &l, fused, row)
        ->Setup(hpkb::settle)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

void register_conv(const hpkb::SuiteOptions &opt)
{
    g_threads = opt.threads;
    g_peak_run = opt.peak1_gflops;
    if (opt.threads > 1) {
        g_peak_run = 0;
        for (int i = 0; i < 3; i++)
            g_peak_run = std::max(g_peak_run, hpkb::fma_peak_gflops(unsigned(opt.threads), 0.05));
    }
    char peak[32];
    std::snprintf(peak, sizeof peak, "%.1f", g_peak_run);
    benchmark::AddCustomContext("hpk_bench.startup_peak_gflops_threads", peak);

    // hpk: its own choice, then each algorithm forced.
    g_libs.push_back(std::make_unique<HpkConvLib>("hpk", HPK_CONV_AUTO));
    const std::pair<const char *, hpk_conv_algo> forced[] = {
        {"hpk.im2col", HPK_CONV_IM2COL},           {"hpk.gemm-1x1", HPK_CONV_GEMM},
        {"hpk.winograd-f2", HPK_CONV_WINOGRAD_F2}, {"hpk.winograd-f4", HPK_CONV_WINOGRAD_F4},
        {"hpk.depthwise", HPK_CONV_DEPTHWISE},     {"hpk.winograd-s2", HPK_CONV_WINOGRAD_S2},
    };
    for (const auto &f : forced)
        g_libs.push_back(std::make_unique<HpkConvLib>(f.first, f.second));
    ConvLib *hpk_auto = g_libs.front().get();
    ConvLib *onednn = nullptr;

#if defined(HPKB_HAVE_DNNL2_API)
    benchmark::AddCustomContext("onednn.conv", load_dnnl(opt.threads));
    if (g_have_dnnl) {
        g_libs.push_back(std::make_unique<DnnlConvLib>("onednn", dnnl_convolution_auto));
        onednn = g_libs.back().get();
        g_libs.push_back(
            std::make_unique<DnnlConvLib>("onednn.winograd", dnnl_convolution_winograd));
    }
#else
    benchmark::AddCustomContext("onednn.conv",
                                "no rows: built without oneDNN 2.x's headers (libdnnl-dev)");
#endif
    benchmark::AddCustomContext("xnnpack.conv", load_xnnpack(opt.threads));
    if (g_have_xnn)
        g_libs.push_back(std::make_unique<XnnConvLib>());
    hpkb::GemmLib *openblas = nullptr;
    for (const auto &lib : hpkb::libs())
        if (lib->id() == "openblas")
            openblas = lib.get();
    if (openblas != nullptr)
        g_libs.push_back(std::make_unique<Im2colBlasLib>(openblas));
    else
        benchmark::AddCustomContext("openblas.conv", "no im2col+openblas rows: no OpenBLAS row");
    benchmark::AddCustomContext(
        "hpk_bench.conv",
        "batch 1, NHWC fp32, warm; GFLOPS count 2*oh*ow*cout*kh*kw*cin/groups for every "
        "algorithm; each row checked once against hpk's im2col (max_rel_err, relative to "
        "sum|x||w|, tolerance 1e-3) before it is timed; pct_peak against "
        "startup_peak_gflops_threads; hpk on " +
            std::to_string(hpk_get_num_threads()) + " thread(s)");

    for (const Layer &l : kLayers)
        for (const auto &lib : g_libs)
            if (lib->applies(l))
                add_row("conv", l, lib.get(), lib->id(), false);

    // The epilogue's cost: bias + residual + ReLU fused against the bare convolution.
    const Layer &e = kLayers[0];
    add_row("conv_epi", e, hpk_auto, "hpk_bare", false);
    add_row("conv_epi", e, hpk_auto, "hpk_fused", true);
    if (onednn != nullptr) {
        add_row("conv_epi", e, onednn, "onednn_bare", false);
        add_row("conv_epi", e, onednn, "onednn_fused", true);
    }
}

[[maybe_unused]] const bool registered = hpkb::add_family("conv", register_conv);

} // namespace
