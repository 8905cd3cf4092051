// SPDX-License-Identifier: BSD-3-Clause
//
// A peer library opened privately, whose symbols are checked to come from it. Why: OpenBLAS and
// BLIS export the same BLAS and CBLAS symbols, so linking both into one program makes one of them
// silently answer for the other. Each peer is opened with RTLD_LOCAL (its symbols stay out of the
// global scope) and RTLD_DEEPBIND (its own internal calls bind to itself first), its entry points
// are taken with dlsym from its own handle, and dladdr proves that each pointer lies in the file
// we meant. Opening a file twice (the GEMM and the convolution benchmarks both use oneDNN) gives
// the same handle: the library is loaded once.
#ifndef HPK_BENCH_DL_H
#define HPK_BENCH_DL_H

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <cstring>
#include <string>

namespace hpkb
{

inline std::string real_path(const std::string &p)
{
    char buf[PATH_MAX];
    return realpath(p.c_str(), buf) != nullptr ? std::string(buf) : p;
}

// AddressSanitizer refuses RTLD_DEEPBIND (it would bypass its malloc); without it RTLD_LOCAL
// still keeps each peer's symbols out of the others' reach, and dladdr still checks each one.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

class Dl
{
  public:
    // Opens the file named by the environment variable `env` if set ("none": leave it out),
    // else `configured` (the path configure found; nullptr: none). On failure *why says why.
    bool open(const char *env, const char *configured, std::string *why)
    {
        const char *over = getenv(env);
        std::string path = over != nullptr ? over : (configured != nullptr ? configured : "");
        if (path.empty() || path == "none") {
            *why = over != nullptr ? std::string(env) + "=none" : "not found by configure";
            return false;
        }
        real_ = real_path(path);
        h_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
        if (h_ == nullptr) {
            const char *e = dlerror();
            *why = "dlopen " + path + ": " + (e ? e : "?");
            return false;
        }
        return true;
    }
    // The symbol from this library only (nullptr if it is absent or resolves elsewhere).
    template <typename F> F sym(const char *name, std::string *why)
    {
        dlerror();
        void *p = dlsym(h_, name);
        if (p == nullptr) {
            *why = std::string("no symbol ") + name;
            return nullptr;
        }
        Dl_info info{};
        if (dladdr(p, &info) == 0 || info.dli_fname == nullptr ||
            real_path(info.dli_fname) != real_) {
            *why = std::string(name) + " resolves to " + (info.dli_fname ? info.dli_fname : "?") +
                   ", not " + real_;
            return nullptr;
        }
        return cast<F>(p);
    }
    // A symbol that may come from a dependency (the OpenMP runtime, XNNPACK's pthreadpool).
    void *any_sym(const char *name)
    {
        return dlsym(h_, name);
    }
    template <typename F> F any_sym(const char *name)
    {
        void *p = dlsym(h_, name);
        return p != nullptr ? cast<F>(p) : nullptr;
    }
    const std::string &path() const
    {
        return real_;
    }

  private:
    template <typename F> static F cast(void *p)
    {
        F f;
        static_assert(sizeof f == sizeof p, "function pointer size");
        std::memcpy(&f, &p, sizeof f);
        return f;
    }
    void *h_ = nullptr;
    std::string real_;
};

} // namespace hpkb

#endif
