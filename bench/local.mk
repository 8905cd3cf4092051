# SPDX-License-Identifier: BSD-3-Clause
# The benchmarks (bench/), included by the top Makefile.am; configure's HPK_CHECK_BENCH
# (m4/hpk_peers.m4) finds Google Benchmark and the peers. Nothing here is installed, and nothing
# is built by `make` or `make check`:
#
#   make bench                      build, run the default suite (< 10 min on 2 cores), report
#   make bench BENCH_FILTER=regex   a subset (--benchmark_filter), e.g. 'gemm_sq|roofline'
#   make bench BENCH_FULL=1         the full suite (square sizes to 4096, cold DL shapes)
#   make bench BENCH_REPS=5         repetitions (default 3), interleaved at random
#   make bench BENCH_ARGS='...'     more flags for bench/hpk-bench
#   make bench-build                build only (CI: the bench compiles with the project's warnings)
#
# Results: bench/results/<UTC time>.json (Google Benchmark JSON, for its tools/compare.py),
# .md (the tables) and .png (plots), and bench/results/latest.* pointing at the newest.

HPK_BENCH_SOURCES = \
	bench/gemm_bench.cc \
	bench/conv_bench.cc \
	bench/dl.h \
	bench/buffers.h \
	bench/family.h \
	bench/shim.cc \
	bench/shim.h \
	bench/peak.cc \
	bench/peak.h \
	bench/epilogue_pass.c
# The inference families register through bench/family.h (as bench/conv_bench.cc does).
HPK_BENCH_SOURCES += bench/inference_bench.cc
# Whole networks through the graph API (bench/net_bench.cc); peers in bench/peers/.
HPK_BENCH_SOURCES += bench/net_bench.cc
# hpk called from two host threads at once (issue #8: no oversubscription).
HPK_BENCH_SOURCES += bench/host_bench.cc
EXTRA_DIST += $(HPK_BENCH_SOURCES) bench/peak_avx2.cc bench/peak_avx512.cc \
	bench/run.sh bench/report.py bench/README.md \
	bench/peers/torch_nets.py bench/peers/ort_nets.js bench/peers/.gitignore

if HPK_HAVE_BENCH
EXTRA_PROGRAMS = bench/hpk-bench
CLEANFILES += $(EXTRA_PROGRAMS)

hpk_bench_cppflags = -I$(top_srcdir) -I$(top_srcdir)/include -I$(top_builddir)
hpk_bench_cxxflags = -std=c++17 $(BENCH_WARN_CXXFLAGS) $(SANITIZER_FLAGS)

bench_hpk_bench_SOURCES = $(HPK_BENCH_SOURCES)
bench_hpk_bench_CPPFLAGS = $(hpk_bench_cppflags) $(BENCHMARK_CFLAGS) $(LIBXSMM_CFLAGS)
bench_hpk_bench_CXXFLAGS = $(hpk_bench_cxxflags)
bench_hpk_bench_CFLAGS = $(AM_CFLAGS)
bench_hpk_bench_LDADD = libhpk_core.la $(HWLOC_LIBS) $(BENCHMARK_LIBS) $(LIBXSMM_LIBS) \
	$(BENCH_DL_LIBS) -lpthread -lm
# OpenMP splits the peers' loops over a batch of small GEMMs (bench/inference_bench.cc) when
# --threads asks for more than one; without it those loops stay serial.
if HPK_HAVE_OPENMP
bench_hpk_bench_CXXFLAGS += $(OPENMP_CFLAGS)
bench_hpk_bench_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)
endif

# The FMA peak loops: one translation unit per ISA, each with its ISA's flags (the library's
# rule for ISA code holds here too), chosen at run time by bench/peak.cc.
if HPK_X86_64
EXTRA_LIBRARIES = bench/libhpkb_avx2.a bench/libhpkb_avx512.a
CLEANFILES += $(EXTRA_LIBRARIES)
bench_libhpkb_avx2_a_SOURCES = bench/peak_avx2.cc
bench_libhpkb_avx2_a_CXXFLAGS = $(hpk_bench_cxxflags) $(AVX2_CFLAGS)
bench_libhpkb_avx512_a_SOURCES = bench/peak_avx512.cc
bench_libhpkb_avx512_a_CXXFLAGS = $(hpk_bench_cxxflags) -mavx512f
bench_hpk_bench_CPPFLAGS += -DHPKB_HAVE_X86_PEAKS
bench_hpk_bench_LDADD += bench/libhpkb_avx2.a bench/libhpkb_avx512.a
endif

.PHONY: bench bench-build
bench-build: bench/hpk-bench$(EXEEXT)

bench: bench-build
	HPK_BENCH_FILTER='$(BENCH_FILTER)' HPK_BENCH_FULL='$(BENCH_FULL)' \
	HPK_BENCH_REPS='$(BENCH_REPS)' HPK_BENCH_ARGS='$(BENCH_ARGS)' \
	PYTHON='$(BENCH_PYTHON)' GNUPLOT='$(BENCH_GNUPLOT)' \
	$(SHELL) $(top_srcdir)/bench/run.sh --bin bench/hpk-bench$(EXEEXT) --out bench/results
else
.PHONY: bench bench-build
bench bench-build:
	@echo "make bench needs a C++17 compiler and Google Benchmark (libbenchmark-dev);" \
	  "install them and re-run configure" >&2; exit 1
endif
