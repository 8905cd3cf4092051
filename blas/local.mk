# SPDX-License-Identifier: BSD-3-Clause
# libhpk_blas (blas/): the BLAS ABI (sgemm_, cblas_sgemm) on hpk_sgemm, included by the top
# Makefile.am; configure's part is HPK_CHECK_BLAS (m4/hpk_blas.m4). A separate installed library,
# so that linking libhpk never interposes BLAS symbols on a program that did not ask for it.
#
#   make check    tests/test_blas_errors, tests/test_blas_default_handler (every invalid argument,
#                 the handlers, C untouched), tests/check_blas_exports.sh, and, natively with
#                 a shared build and no sanitizers, the reference BLAS testers (Debian
#                 libblas-test) and a numpy client with libhpk_blas preloaded
#                 (tests/blas_xblat3.sh, tests/blas_numpy.sh)

HPK_BLAS_SOURCES = \
	blas/blas.h \
	blas/sgemm.c \
	blas/xerbla.c \
	blas/stats.c

HPK_BLAS_TESTS_SH = \
	tests/check_blas_exports.sh \
	tests/blas_xblat3.sh \
	tests/blas_numpy.sh

EXTRA_DIST += blas/hpk_blas.map blas/hpk_blas.3 blas/installcheck.c \
	$(HPK_BLAS_TESTS_SH) tests/blas/numpy_matmul.py

if HPK_BUILD_BLAS
# The shim is built once, as a convenience library: the installed libhpk_blas wraps it around
# libhpk, and the tests link it statically (plain executables, which a cross build runs under
# qemu; no libtool wrapper script).
#
# -fno-optimize-sibling-calls: sgemm_ declares the two hidden CHARACTER lengths that gfortran
# passes, but C callers (and older Fortran compilers) do not pass them. With those two
# parameters on the stack, a sibling call from sgemm_ could reuse its incoming argument area and
# overwrite the caller's frame where the caller passed nothing (the GCC PR 90329 class of bugs
# that hit LAPACK's C callers).
noinst_LTLIBRARIES += libhpk_blas_core.la
libhpk_blas_core_la_SOURCES = $(HPK_BLAS_SOURCES)
libhpk_blas_core_la_CFLAGS = $(AM_CFLAGS) -fno-optimize-sibling-calls

# Thin: the shim's objects, linked against the shared libhpk (one copy of hpk's code, thread pool
# and caches per process, whether a program calls hpk directly, through BLAS, or both).
lib_LTLIBRARIES += libhpk_blas.la
libhpk_blas_la_SOURCES =
nodist_EXTRA_libhpk_blas_la_SOURCES = dummy.c
libhpk_blas_la_LIBADD = libhpk_blas_core.la libhpk.la
libhpk_blas_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(HPK_BLAS_LT_VERSION) -no-undefined \
	-Wl,--version-script=$(top_srcdir)/blas/hpk_blas.map
EXTRA_libhpk_blas_la_DEPENDENCIES = blas/hpk_blas.map

pkgconfig_DATA += blas/hpk-blas.pc
man3_MANS = blas/hpk_blas.3

# The testers and numpy are host programs: their tests skip under sanitizers (an instrumented
# library cannot be preloaded into an uninstrumented program) and in a cross build.
AM_TESTS_ENVIRONMENT += HPK_SANITIZER_FLAGS='$(SANITIZER_FLAGS)'; \
	HPK_CROSS_COMPILING='$(HPK_CROSS_COMPILING)'; export HPK_SANITIZER_FLAGS HPK_CROSS_COMPILING;
TESTS += $(HPK_BLAS_TESTS_SH)

if HPK_HAVE_CMOCKA
# Appended to check_PROGRAMS, which the top Makefile.am adds to TESTS.
check_PROGRAMS += tests/test_blas_errors tests/test_blas_default_handler
tests_test_blas_errors_SOURCES = tests/test_blas_errors.c
tests_test_blas_errors_CFLAGS = $(test_cflags)
tests_test_blas_errors_LDADD = libhpk_blas_core.la $(test_ldadd)
tests_test_blas_default_handler_SOURCES = tests/test_blas_default_handler.c
tests_test_blas_default_handler_CFLAGS = $(test_cflags)
tests_test_blas_default_handler_LDADD = libhpk_blas_core.la $(test_ldadd)
endif

# make installcheck (and distcheck): a program built against the installed libhpk_blas with
# pkg-config only, whose own XERBLA must receive the invalid-argument reports.
# The top Makefile.am defines installcheck-local; automake refuses a second rule for it, even
# one that only adds a prerequisite, so the target is named through a variable it leaves alone.
hpk_blas_installcheck_hook = installcheck-local
$(hpk_blas_installcheck_hook): installcheck-blas
installcheck-blas:
	@set -e; d=`mktemp -d`; trap 'rm -rf "$$d"' EXIT; \
	static=; test -e '$(libdir)/libhpk_blas.so' || static=--static; \
	flags=`PKG_CONFIG_PATH='$(pkgconfigdir)' $(PKG_CONFIG) $$static --cflags --libs hpk-blas`; \
	echo "$(CC) -std=c11 blas/installcheck.c $$flags -lm"; \
	$(CC) -std=c11 $(HPK_WARN_CFLAGS) $(CFLAGS) $(SANITIZER_FLAGS) \
		$(top_srcdir)/blas/installcheck.c -o "$$d/installcheck" $$flags -lm; \
	LD_LIBRARY_PATH='$(libdir)' $(TEST_LAUNCHER) "$$d/installcheck"
.PHONY: installcheck-blas
endif
