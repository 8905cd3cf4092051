// SPDX-License-Identifier: BSD-3-Clause
//
// hpk-bench's network family: whole networks built through hpk's graph API (<hpk/graph.h>),
// batch 1, 224x224x3 NHWC fp32, random weights from fixed seeds, timed end to end:
//
//   net/resnet50/LIB     ResNet-50 v1 (torchvision's layout: the stride of a bottleneck on its
//                        3x3), batch-norm after every convolution, ReLU, residual adds,
//                        projection shortcuts, global average pool, FC 1000, softmax
//   net/mobilenetv2/LIB  MobileNetV2 1.0: stem 3x3/2 to 32, inverted residuals (expansion 6,
//                        ReLU6, depthwise 3x3, linear bottleneck, residual add where the
//                        stride is 1 and the channels match), 1x1 to 1280, pool, FC 1000,
//                        softmax
//   net/randwire/LIB     a random DAG (fixed seed) of 3x3 convolutions (16 to 64 channels at
//                        28x28) joined by adds and concatenations, for the memory planner
//
// LIB: hpk (every pass on), hpk_nofusion (hpk_graph_compile_options.disable_fusion), on the
// --threads count through the compile option; with --threads=N > 1 the rows hpk.1t and
// hpk_nofusion.1t run the same networks compiled for one thread. randwire: hpk (the order of
// least peak memory), hpk_nofusion, and hpk_deforder (keep_definition_order).
//
// Batch-norm statistics are random too (mean, var, gamma, beta), so that folding has work.
// Each row's runs write the softmax (and the logits) into one set of buffers; before timing,
// its outputs are compared with those of the same graph compiled with disable_fusion on one
// thread (max_rel_diff_vs_nofusion: max |difference| over max |value|, the worst output), and
// a row whose output is not finite is not timed.
//
// Counters: ms (mean per run), min_ms (the fastest run of the repetition), GFLOPS and MFLOP
// (2 * MACs of the convolutions and the FC layer),
// arena_MB, naive_MB, lower_bound_MB (hpk_graph_exec_memory_stats, 10^6 bytes; the lower
// bound is the most bytes live at once in the order run), nodes_def (nodes defined),
// nodes_run (after the passes), folded_bn, fused_act, fused_residual, concat_in_place,
// in_place (steps that allocate nothing: elementwise or residual nodes over a dying input,
// reshapes as views), threads; noinplace_arena_MB and noinplace_lower_bound_MB: the same
// executable compiled with disable_in_place; the randwire hpk row also the definition order's
// figures (def_arena_MB, def_lower_bound_MB). A network hpk refuses becomes an error row
// naming the call and its status.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/family.h"

extern "C" {
#include "hpk/hpk.h"
}

namespace
{

using Clock = std::chrono::steady_clock;

// --- a graph builder that remembers shapes and the first failure ----------------------------

struct Shape {
    size_t n = 1, h = 1, w = 1, c = 1;
};

class Net
{
  public:
    Net(const char *name, uint32_t seed) : name_(name), rng_(seed * 2654435761u + 12345u)
    {
        status_ = hpk_graph_create(&g_);
        if (status_ != HPK_OK)
            fail_ = "hpk_graph_create";
    }
    ~Net()
    {
        hpk_graph_destroy(g_);
    }
    Net(const Net &) = delete;
    Net &operator=(const Net &) = delete;

    bool ok() const
    {
        return status_ == HPK_OK;
    }
    // "hpk_graph_add_conv2d (node 12: 3x3/1 64->64 at 56x56): HPK_ERR_UNSUPPORTED"
    std::string error() const
    {
        return ok() ? std::string() : fail_ + ": " + hpk_status_string(status_);
    }
    hpk_graph *graph() const
    {
        return g_;
    }
    size_t nodes() const
    {
        return nodes_;
    }
    double flops() const
    {
        return flops_;
    }
    const Shape &shape(uint32_t t) const
    {
        return shapes_.at(t);
    }

    float uniform() // [0, 1)
    {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 17;
        rng_ ^= rng_ << 5;
        return static_cast<float>(rng_ >> 8) * (1.0f / 16777216.0f);
    }

    uint32_t input(const Shape &s)
    {
        uint32_t id = 0;
        const size_t d[4] = {s.n, s.h, s.w, s.c};
        check(hpk_graph_add_input(g_, 4, d, &id), "hpk_graph_add_input");
        shapes_[id] = s;
        return id;
    }

    // uniform in [lo, hi)
    uint32_t constant(size_t rank, const size_t *dims, float lo, float hi)
    {
        size_t count = 1;
        for (size_t i = 0; i < rank; i++)
            count *= dims[i];
        std::vector<float> v(count);
        for (float &x : v)
            x = lo + (hi - lo) * uniform();
        uint32_t id = 0;
        if (ok())
            check(hpk_graph_add_constant(g_, rank, dims, v.data(), &id), "hpk_graph_add_constant");
        return id;
    }

    uint32_t tensor(const Shape &s)
    {
        uint32_t id = 0;
        const size_t d[4] = {s.n, s.h, s.w, s.c};
        if (ok())
            check(hpk_graph_add_tensor(g_, 4, d, &id), "hpk_graph_add_tensor");
        shapes_[id] = s;
        return id;
    }

    // Convolution without bias (a batch-norm follows) or with one (bias = true), act fused in
    // the definition only where asked (randwire); weights He-scaled so activations stay O(1).
    uint32_t conv(uint32_t x, size_t cout, size_t k, size_t stride, size_t groups,
                  bool bias = false, hpk_activation act = HPK_ACT_NONE)
    {
        const Shape in = shape_of(x);
        const size_t pad = k / 2, cg = in.c / groups;
        hpk_conv2d_desc d{};
        d.kernel_h = d.kernel_w = k;
        d.stride_h = d.stride_w = stride;
        d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
        d.groups = groups;
        d.in_channels = in.c;
        d.out_channels = cout;
        d.act = act;
        Shape out = in;
        out.h = (in.h + 2 * pad - k) / stride + 1;
        out.w = (in.w + 2 * pad - k) / stride + 1;
        out.c = cout;
        const size_t fd[4] = {cout, k, k, cg};
        const float a = std::sqrt(6.0f / float(k * k * cg));
        const uint32_t f = constant(4, fd, -a, a);
        uint32_t b = HPK_GRAPH_NO_TENSOR;
        if (bias) {
            const size_t bd[1] = {cout};
            b = constant(1, bd, -0.1f, 0.1f);
        }
        const uint32_t y = tensor(out);
        if (ok()) {
            std::ostringstream what;
            what << "hpk_graph_add_conv2d (node " << nodes_ << ": " << k << "x" << k << "/"
                 << stride << " " << in.c << "->" << cout << " groups " << groups << " at " << in.h
                 << "x" << in.w << ")";
            check(hpk_graph_add_conv2d(g_, &d, x, f, b, y), what.str());
        }
        nodes_++;
        flops_ += 2.0 * double(out.h * out.w * cout) * double(k * k * cg);
        return y;
    }

    // Random statistics: mean in [-0.1, 0.1), var in [0.5, 1.5), gamma in [0.5, 1.5), beta in
    // [-0.1, 0.1).
    uint32_t batch_norm(uint32_t x)
    {
        const Shape s = shape_of(x);
        const size_t d[1] = {s.c};
        const uint32_t mean = constant(1, d, -0.1f, 0.1f), var = constant(1, d, 0.5f, 1.5f);
        const uint32_t gamma = constant(1, d, 0.5f, 1.5f), beta = constant(1, d, -0.1f, 0.1f);
        const uint32_t y = tensor(s);
        if (ok())
            check(hpk_graph_add_batch_norm(g_, x, mean, var, gamma, beta, 1e-5f, y),
                  "hpk_graph_add_batch_norm");
        nodes_++;
        return y;
    }

    uint32_t act(uint32_t x, hpk_activation a)
    {
        const uint32_t y = tensor(shape_of(x));
        if (ok())
            check(hpk_graph_add_activation(g_, a, 0.0f, 0.0f, 0.0f, x, y),
                  "hpk_graph_add_activation");
        nodes_++;
        return y;
    }

    uint32_t add(uint32_t a, uint32_t b)
    {
        const uint32_t y = tensor(shape_of(a));
        if (ok())
            check(hpk_graph_add_add(g_, a, b, y), "hpk_graph_add_add");
        nodes_++;
        return y;
    }

    uint32_t concat(const std::vector<uint32_t> &xs)
    {
        Shape s = shape_of(xs[0]);
        s.c = 0;
        for (uint32_t x : xs)
            s.c += shape_of(x).c;
        const uint32_t y = tensor(s);
        if (ok())
            check(hpk_graph_add_concat(g_, xs.size(), xs.data(), y), "hpk_graph_add_concat");
        nodes_++;
        return y;
    }

    uint32_t max_pool(uint32_t x, size_t k, size_t stride, size_t pad)
    {
        const Shape in = shape_of(x);
        hpk_graph_pool_desc d{};
        d.kernel_h = d.kernel_w = k;
        d.stride_h = d.stride_w = stride;
        d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
        Shape out = in;
        out.h = (in.h + 2 * pad - k) / stride + 1;
        out.w = (in.w + 2 * pad - k) / stride + 1;
        const uint32_t y = tensor(out);
        if (ok())
            check(hpk_graph_add_max_pool(g_, &d, x, y), "hpk_graph_add_max_pool");
        nodes_++;
        return y;
    }

    uint32_t global_pool(uint32_t x)
    {
        Shape p = shape_of(x);
        p.h = p.w = 1;
        const uint32_t pooled = tensor(p);
        if (ok())
            check(hpk_graph_add_global_avg_pool(g_, x, pooled), "hpk_graph_add_global_avg_pool");
        nodes_++;
        return pooled;
    }

    // global average pool, flatten, FC (bias), softmax; marks the softmax as the output.
    uint32_t classifier(uint32_t x, size_t classes)
    {
        const uint32_t pooled = global_pool(x);
        const Shape p = shape_of(pooled);
        uint32_t flat = 0, logits = 0, prob = 0;
        const size_t fd[2] = {p.n, p.c}, ld[2] = {p.n, classes};
        const size_t wd[2] = {classes, p.c}, bd[1] = {classes};
        const float a = std::sqrt(3.0f / float(p.c));
        const uint32_t w = constant(2, wd, -a, a), b = constant(1, bd, -0.1f, 0.1f);
        if (ok())
            check(hpk_graph_add_tensor(g_, 2, fd, &flat), "hpk_graph_add_tensor");
        if (ok())
            check(hpk_graph_add_reshape(g_, pooled, flat), "hpk_graph_add_reshape");
        nodes_++;
        if (ok())
            check(hpk_graph_add_tensor(g_, 2, ld, &logits), "hpk_graph_add_tensor");
        if (ok())
            check(hpk_graph_add_fully_connected(g_, flat, w, b, logits),
                  "hpk_graph_add_fully_connected");
        nodes_++;
        flops_ += 2.0 * double(classes * p.c);
        if (ok())
            check(hpk_graph_add_tensor(g_, 2, ld, &prob), "hpk_graph_add_tensor");
        if (ok())
            check(hpk_graph_add_softmax(g_, logits, prob), "hpk_graph_add_softmax");
        nodes_++;
        // The logits are an output too, for the check against the nofusion executable (a
        // softmax of random logits is close to one-hot, which would hide differences).
        if (ok())
            check(hpk_graph_mark_output(g_, prob), "hpk_graph_mark_output");
        if (ok())
            check(hpk_graph_mark_output(g_, logits), "hpk_graph_mark_output");
        out_elems_ = {p.n * classes, p.n * classes};
        return prob;
    }

    void mark_output(uint32_t y)
    {
        if (ok())
            check(hpk_graph_mark_output(g_, y), "hpk_graph_mark_output");
        const Shape &s = shape_of(y);
        out_elems_.push_back(s.n * s.h * s.w * s.c);
    }

    const std::vector<size_t> &out_elems() const
    {
        return out_elems_;
    }

  private:
    void check(hpk_status s, const std::string &what)
    {
        if (status_ == HPK_OK && s != HPK_OK) {
            status_ = s;
            fail_ = std::string(name_) + ": " + what;
        }
    }
    Shape shape_of(uint32_t t) const
    {
        auto it = shapes_.find(t);
        return it == shapes_.end() ? Shape() : it->second;
    }

    const char *name_;
    uint32_t rng_;
    hpk_graph *g_ = nullptr;
    hpk_status status_ = HPK_OK;
    std::string fail_;
    std::map<uint32_t, Shape> shapes_;
    size_t nodes_ = 0;
    std::vector<size_t> out_elems_;
    double flops_ = 0;
};

// --- the networks ------------------------------------------------------------------------------

uint32_t conv_bn(Net &net, uint32_t x, size_t cout, size_t k, size_t stride, size_t groups,
                 hpk_activation a)
{
    uint32_t y = net.batch_norm(net.conv(x, cout, k, stride, groups));
    return a == HPK_ACT_NONE ? y : net.act(y, a);
}

std::unique_ptr<Net> resnet50()
{
    auto net = std::make_unique<Net>("resnet50", 50);
    Net &n = *net;
    uint32_t x = n.input({1, 224, 224, 3});
    x = conv_bn(n, x, 64, 7, 2, 1, HPK_ACT_RELU);
    x = n.max_pool(x, 3, 2, 1);
    const size_t width[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
    size_t cin = 64;
    for (int s = 0; s < 4; s++)
        for (size_t b = 0; b < blocks[s]; b++) {
            const size_t stride = (b == 0 && s > 0) ? 2 : 1, cout = 4 * width[s];
            uint32_t y = conv_bn(n, x, width[s], 1, 1, 1, HPK_ACT_RELU);
            y = conv_bn(n, y, width[s], 3, stride, 1, HPK_ACT_RELU);
            y = conv_bn(n, y, cout, 1, 1, 1, HPK_ACT_NONE);
            const uint32_t sc =
                (b == 0) ? conv_bn(n, x, cout, 1, stride, 1, HPK_ACT_NONE) : x; // projection
            x = n.act(n.add(y, sc), HPK_ACT_RELU);
            cin = cout;
        }
    (void)cin;
    n.classifier(x, 1000);
    return net;
}

std::unique_ptr<Net> mobilenetv2()
{
    auto net = std::make_unique<Net>("mobilenetv2", 2);
    Net &n = *net;
    uint32_t x = n.input({1, 224, 224, 3});
    x = conv_bn(n, x, 32, 3, 2, 1, HPK_ACT_RELU6);
    struct Stage {
        size_t t, c, reps, s;
    };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    size_t cin = 32;
    for (const Stage &st : stages)
        for (size_t r = 0; r < st.reps; r++) {
            const size_t stride = r == 0 ? st.s : 1, hidden = cin * st.t;
            uint32_t y = x;
            if (st.t != 1)
                y = conv_bn(n, y, hidden, 1, 1, 1, HPK_ACT_RELU6);
            y = conv_bn(n, y, hidden, 3, stride, hidden, HPK_ACT_RELU6);
            y = conv_bn(n, y, st.c, 1, 1, 1, HPK_ACT_NONE);
            x = (stride == 1 && cin == st.c) ? n.add(y, x) : y;
            cin = st.c;
        }
    x = conv_bn(n, x, 1280, 1, 1, 1, HPK_ACT_RELU6);
    n.classifier(x, 1000);
    return net;
}

// RandWire-style: a stem to 28x28, then a random DAG of kRandNodes nodes (fixed seed). Node
// i reads 1 to 3 distinct nodes among the kRandWindow before it (a Watts-Strogatz-like
// locality, which keeps the DAG narrow enough for the order search), joins them by a
// concatenation (always when their widths differ) or by adds, then runs a 3x3 convolution
// with ReLU fused to its own width (16, 32 or 64 channels, at random). The nodes nothing
// reads are concatenated, reduced by a 1x1 convolution and pooled: the output. The nodes are
// defined in a random topological order (as a generator emitting a random DAG would), not
// node by node, so the definition order is a poor one for memory and the least-memory order
// has something to find.
constexpr size_t kRandNodes = 28, kRandWindow = 4;

std::unique_ptr<Net> randwire()
{
    auto net = std::make_unique<Net>("randwire", 7);
    Net &n = *net;
    const size_t widths[3] = {16, 32, 64};
    // The DAG: preds[i] are earlier node indices; node 0 is the stem.
    std::vector<std::vector<size_t>> preds(kRandNodes + 1);
    std::vector<size_t> width(kRandNodes + 1, 32);
    for (size_t i = 1; i <= kRandNodes; i++) {
        const size_t lo = i > kRandWindow ? i - kRandWindow : 0;
        const size_t fan = std::min<size_t>(1 + size_t(n.uniform() * 3.0f), i - lo);
        while (preds[i].size() < fan) {
            const size_t j = lo + size_t(n.uniform() * float(i - lo));
            if (std::find(preds[i].begin(), preds[i].end(), j) == preds[i].end())
                preds[i].push_back(j);
        }
        width[i] = widths[size_t(n.uniform() * 3.0f) % 3];
    }
    std::vector<bool> read(kRandNodes + 1, false);
    for (size_t i = 1; i <= kRandNodes; i++)
        for (size_t j : preds[i])
            read[j] = true;

    uint32_t x = n.input({1, 224, 224, 3});
    x = n.conv(x, 32, 3, 2, 1, true, HPK_ACT_RELU); // 112
    x = n.conv(x, 32, 3, 2, 1, true, HPK_ACT_RELU); // 56
    x = n.conv(x, 32, 3, 2, 1, true, HPK_ACT_RELU); // 28
    std::vector<uint32_t> node(kRandNodes + 1, 0);
    std::vector<bool> done(kRandNodes + 1, false);
    node[0] = x;
    done[0] = true;
    for (size_t emitted = 0; emitted < kRandNodes; emitted++) {
        std::vector<size_t> ready; // every pred defined
        for (size_t i = 1; i <= kRandNodes; i++) {
            if (done[i])
                continue;
            bool ok = true;
            for (size_t j : preds[i])
                ok = ok && done[j];
            if (ok)
                ready.push_back(i);
        }
        const size_t i = ready[size_t(n.uniform() * float(ready.size())) % ready.size()];
        std::vector<uint32_t> ins;
        bool same = true;
        for (size_t j : preds[i]) {
            ins.push_back(node[j]);
            same = same && n.shape(node[j]).c == n.shape(ins[0]).c;
        }
        uint32_t agg = ins[0];
        if (ins.size() > 1) {
            if (!same || n.uniform() < 0.5f)
                agg = n.concat(ins);
            else
                for (size_t k = 1; k < ins.size(); k++)
                    agg = n.add(agg, ins[k]);
        }
        node[i] = n.conv(agg, width[i], 3, 1, 1, true, HPK_ACT_RELU);
        done[i] = true;
    }
    std::vector<uint32_t> ends;
    for (size_t i = 1; i <= kRandNodes; i++)
        if (!read[i])
            ends.push_back(node[i]);
    uint32_t y = ends.size() > 1 ? n.concat(ends) : ends[0];
    y = n.conv(y, 128, 1, 1, 1, true, HPK_ACT_RELU);
    n.mark_output(n.global_pool(y));
    return net;
}

// --- compiled executables and the rows ----------------------------------------------------

struct Exec {
    hpk_graph_exec *e = nullptr;
    std::string error;
    hpk_graph_memory_stats mem{};
    size_t nodes_run = 0, arena = 0;
    size_t folded_bn = 0, fused_act = 0, fused_residual = 0, concat_in_place = 0, in_place = 0;
    void *arena_mem = nullptr;

    ~Exec()
    {
        hpk_graph_exec_destroy(e);
        std::free(arena_mem);
    }
};

std::unique_ptr<Exec> compile(const Net &net, size_t threads, bool fusion, bool dp,
                              bool in_place = true)
{
    auto x = std::make_unique<Exec>();
    if (!net.ok()) {
        x->error = net.error();
        return x;
    }
    hpk_graph_compile_options o{};
    o.threads = threads;
    o.disable_fusion = fusion ? 0 : 1;
    o.keep_definition_order = dp ? 0 : 1;
    o.disable_in_place = in_place ? 0 : 1;
    hpk_status s = hpk_graph_compile(net.graph(), &o, &x->e);
    if (s != HPK_OK) {
        x->error = std::string("hpk_graph_compile: ") + hpk_status_string(s);
        return x;
    }
    hpk_graph_exec_memory_stats(x->e, &x->mem);
    hpk_graph_exec_arena_size(x->e, &x->arena);
    hpk_graph_exec_node_count(x->e, &x->nodes_run);
    for (size_t i = 0; i < x->nodes_run; i++) {
        hpk_graph_node_info info{};
        if (hpk_graph_exec_node_info(x->e, i, &info) != HPK_OK)
            continue;
        x->folded_bn += info.folded_bn;
        x->fused_residual += info.residual ? 1 : 0;
        x->concat_in_place += info.concat_in_place;
        x->in_place += info.in_place ? 1 : 0;
        if (info.act != HPK_ACT_NONE && info.op != HPK_GRAPH_OP_ACTIVATION)
            x->fused_act++;
    }
    const size_t bytes = std::max<size_t>(64, (x->arena + 63) / 64 * 64);
    x->arena_mem = std::aligned_alloc(64, bytes);
    if (x->arena_mem == nullptr)
        x->error = "arena allocation failed";
    return x;
}

using Outputs = std::vector<std::vector<float>>;

hpk_status run(const Exec &x, const float *in, Outputs &out)
{
    const float *ins[1] = {in};
    float *outs[4] = {};
    for (size_t i = 0; i < out.size() && i < 4; i++)
        outs[i] = out[i].data();
    return hpk_graph_exec_run(x.e, ins, outs, x.arena_mem, x.arena);
}

enum class Kind {
    ResNet50,
    MobileNetV2,
    RandWire
};

struct NetData {
    std::unique_ptr<Net> net;
    std::vector<float> input;
    Outputs out, ref;
    std::string ref_error; // the nofusion reference could not run
};

NetData &net_data(Kind k)
{
    static std::map<Kind, std::unique_ptr<NetData>> cache;
    std::unique_ptr<NetData> &slot = cache[k];
    if (!slot) {
        slot = std::make_unique<NetData>();
        slot->net = k == Kind::ResNet50      ? resnet50()
                    : k == Kind::MobileNetV2 ? mobilenetv2()
                                             : randwire();
        slot->input.resize(224 * 224 * 3);
        uint32_t r = 99;
        for (float &v : slot->input) {
            r = r * 1664525u + 1013904223u;
            v = float(r >> 8) * (2.0f / 16777216.0f) - 1.0f;
        }
        for (size_t e : slot->net->out_elems())
            slot->out.emplace_back(e, NAN);
        // The reference: the same graph with every pass off, on one thread.
        std::unique_ptr<Exec> ref = compile(*slot->net, 1, false, false);
        slot->ref = slot->out;
        if (!ref->error.empty())
            slot->ref_error = ref->error;
        else if (hpk_status s = run(*ref, slot->input.data(), slot->ref); s != HPK_OK)
            slot->ref_error = std::string("hpk_graph_exec_run (nofusion): ") + hpk_status_string(s);
    }
    return *slot;
}

struct RowSpec {
    Kind kind;
    size_t threads;
    bool fusion, dp;
};

struct RowState {
    bool tried = false;
    std::unique_ptr<Exec> x, def; // def: the definition order's executable (randwire hpk)
    std::unique_ptr<Exec> noip;   // the same compiled with disable_in_place (figures only)
    std::string skip;
    double diff = 0;
};

RowState &row_state(const std::string &row)
{
    static std::map<std::string, RowState> rows;
    return rows[row];
}

constexpr double kMB = 1e-6;

void bm_net(benchmark::State &st, RowSpec spec, const std::string &row)
{
    NetData &d = net_data(spec.kind);
    RowState &rs = row_state(row);
    if (!rs.tried) {
        rs.tried = true;
        rs.x = compile(*d.net, spec.threads, spec.fusion, spec.dp);
        rs.skip = rs.x->error;
        if (rs.skip.empty()) {
            for (auto &o : d.out)
                std::fill(o.begin(), o.end(), NAN);
            const hpk_status s = run(*rs.x, d.input.data(), d.out);
            if (s != HPK_OK)
                rs.skip = std::string("hpk_graph_exec_run: ") + hpk_status_string(s);
        }
        if (rs.skip.empty()) {
            // Per output: max |out - ref| over max |ref|; the largest over the outputs.
            for (size_t k = 0; k < d.out.size(); k++) {
                double diff = 0, scale = 0;
                for (size_t i = 0; i < d.out[k].size(); i++) {
                    if (!std::isfinite(d.out[k][i]))
                        rs.skip = "WRONG: output not finite";
                    diff = std::max(diff, double(std::fabs(d.out[k][i] - d.ref[k][i])));
                    scale = std::max(scale, double(std::fabs(d.ref[k][i])));
                }
                rs.diff = std::max(rs.diff, diff / (scale > 0 ? scale : 1.0));
            }
            if (!d.ref_error.empty())
                rs.diff = NAN;
        }
        if (rs.skip.empty() && spec.kind == Kind::RandWire && spec.dp)
            rs.def = compile(*d.net, spec.threads, spec.fusion, false);
        if (rs.skip.empty())
            rs.noip = compile(*d.net, spec.threads, spec.fusion, spec.dp, false);
    }
    if (!rs.skip.empty()) {
        st.SkipWithError(rs.skip.c_str());
        return;
    }
    const Exec &x = *rs.x;
    // Each run timed too: min_ms is the fastest single run, as the peers report theirs.
    double timed = 0, fastest = INFINITY;
    for (auto _ : st) {
        const Clock::time_point t0 = Clock::now();
        const hpk_status s = run(x, d.input.data(), d.out);
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        timed += dt;
        fastest = std::min(fastest, dt);
        if (s != HPK_OK) {
            st.SkipWithError(hpk_status_string(s));
            break;
        }
    }
    benchmark::DoNotOptimize(d.out[0].data());

    const double flops = d.net->flops();
    st.counters["GFLOPS"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    st.counters["MFLOP"] = flops * 1e-6;
    st.counters["ms"] = benchmark::Counter(timed * 1e3, benchmark::Counter::kAvgIterations);
    if (std::isfinite(fastest))
        st.counters["min_ms"] = fastest * 1e3;
    st.counters["arena_MB"] = double(x.mem.arena) * kMB;
    st.counters["naive_MB"] = double(x.mem.naive) * kMB;
    st.counters["lower_bound_MB"] = double(x.mem.lower_bound) * kMB;
    st.counters["nodes_def"] = double(d.net->nodes());
    st.counters["nodes_run"] = double(x.nodes_run);
    st.counters["folded_bn"] = double(x.folded_bn);
    st.counters["fused_act"] = double(x.fused_act);
    st.counters["fused_residual"] = double(x.fused_residual);
    st.counters["concat_in_place"] = double(x.concat_in_place);
    st.counters["in_place"] = double(x.in_place);
    if (rs.noip && rs.noip->error.empty()) {
        st.counters["noinplace_arena_MB"] = double(rs.noip->mem.arena) * kMB;
        st.counters["noinplace_lower_bound_MB"] = double(rs.noip->mem.lower_bound) * kMB;
    }
    st.counters["threads"] = double(spec.threads);
    if (std::isfinite(rs.diff))
        st.counters["max_rel_diff_vs_nofusion"] = rs.diff;
    if (rs.def && rs.def->error.empty()) {
        st.counters["def_arena_MB"] = double(rs.def->mem.arena) * kMB;
        st.counters["def_naive_MB"] = double(rs.def->mem.naive) * kMB;
        st.counters["def_lower_bound_MB"] = double(rs.def->mem.lower_bound) * kMB;
    }
    std::ostringstream label;
    label << (spec.fusion ? "passes on" : "disable_fusion") << ", "
          << (spec.dp ? "least-memory order (exact, or a beam beyond)" : "definition order") << ", "
          << spec.threads << " thread(s) | nodes " << d.net->nodes() << " -> " << x.nodes_run
          << ", bn folded " << x.folded_bn << ", act fused " << x.fused_act << ", residual fused "
          << x.fused_residual << ", concat in place " << x.concat_in_place << ", in place "
          << x.in_place << " | arena " << x.mem.arena << " B, naive " << x.mem.naive
          << " B, lower bound " << x.mem.lower_bound << " B";
    if (rs.noip && rs.noip->error.empty())
        label << " | without in place: arena " << rs.noip->mem.arena << " B, lower bound "
              << rs.noip->mem.lower_bound << " B";
    if (rs.def && rs.def->error.empty())
        label << " | definition order: arena " << rs.def->mem.arena << " B, lower bound "
              << rs.def->mem.lower_bound << " B";
    st.SetLabel(label.str());
}

void add_row(const char *net, const std::string &lib, RowSpec spec)
{
    const std::string row = std::string("net/") + net + "/" + lib;
    benchmark::RegisterBenchmark(row.c_str(), bm_net, spec, row)
        ->Setup(hpkb::settle)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

void register_net(const hpkb::SuiteOptions &opt)
{
    const size_t t = size_t(std::max(1, opt.threads));
    const std::pair<const char *, Kind> nets[] = {{"resnet50", Kind::ResNet50},
                                                  {"mobilenetv2", Kind::MobileNetV2}};
    for (const auto &n : nets) {
        add_row(n.first, "hpk", {n.second, t, true, true});
        add_row(n.first, "hpk_nofusion", {n.second, t, false, true});
        if (t > 1) {
            add_row(n.first, "hpk.1t", {n.second, 1, true, true});
            add_row(n.first, "hpk_nofusion.1t", {n.second, 1, false, true});
        }
    }
    add_row("randwire", "hpk", {Kind::RandWire, t, true, true});
    add_row("randwire", "hpk_nofusion", {Kind::RandWire, t, false, true});
    add_row("randwire", "hpk_deforder", {Kind::RandWire, t, true, false});
    benchmark::AddCustomContext(
        "hpk_bench.net",
        "batch 1, 224x224x3 NHWC fp32, random weights and batch-norm statistics (fixed seeds); "
        "hpk rows compiled with hpk_graph_compile_options.threads = " +
            std::to_string(t) +
            " (the .1t rows: 1); ms per run from the caller's arena; GFLOPS count 2*MACs of "
            "the convolutions and FC");
}

[[maybe_unused]] const bool registered = hpkb::add_family("net", register_net);

} // namespace
