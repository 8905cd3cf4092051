# SPDX-License-Identifier: BSD-3-Clause
#
# HPK_CHECK_BENCH: what the benchmarks of bench/ need, and the peer libraries they compare with.
#
# The bench programs are C++17 over Google Benchmark (pkg-config "benchmark"). The BLAS-like peers
# (OpenBLAS, BLIS, oneDNN, XNNPACK) are loaded at run time with dlopen(RTLD_LOCAL | RTLD_DEEPBIND)
# from the file configure found, because OpenBLAS and BLIS export the same symbols: linking both
# would make one row silently run the other library. So for those only a path is needed, no
# header and no link flag. libxsmm is shipped by Debian as a static library only (libxsmm-dev),
# so it is linked into the bench program, with libxsmmnoblas standing in for the BLAS it would
# otherwise call (the bench only uses its JIT dispatch, which never falls back to BLAS).
#
# Options, each "check" by default (use if found): --with-openblas, --with-blis, --with-dnnl,
# --with-xnnpack take yes|no|check or the path of the shared library to load; --with-libxsmm takes
# yes|no|check. "yes" fails configure when the peer is missing.
#
# Results:
#   AM_CONDITIONAL HPK_HAVE_BENCH      C++17 compiler and Google Benchmark found
#   AM_CONDITIONAL HPK_BENCH_LIBXSMM   libxsmm linked into the bench program
#   AC_SUBST BENCHMARK_CFLAGS, BENCHMARK_LIBS, LIBXSMM_CFLAGS, LIBXSMM_LIBS, BENCH_DL_LIBS,
#            BENCH_WARN_CXXFLAGS, BENCH_PYTHON, BENCH_GNUPLOT
#   AC_DEFINE HPK_BENCH_OPENBLAS_PATH, HPK_BENCH_BLIS_PATH, HPK_BENCH_DNNL_PATH,
#             HPK_BENCH_XNNPACK_PATH (string, the library to dlopen), HPK_BENCH_HAVE_LIBXSMM
#   shell: hpk_bench_summary, one line per item, for configure's closing notice.

# _HPK_BENCH_FIND_LIB(NAME, VAR, CANDIDATE-FILES...)
# Sets VAR to the first readable candidate (absolute paths; @MA@ is the multiarch triplet), else
# to the path ldconfig knows for the first candidate's file name, else to empty.
AC_DEFUN([_HPK_BENCH_FIND_LIB], [
  $2=
  for hpk_cand in m4_normalize([$3]); do
    hpk_cand=`echo "$hpk_cand" | sed "s|@MA@|$hpk_multiarch|g"`
    AS_IF([test -r "$hpk_cand"], [$2=$hpk_cand; break])
  done
  AS_IF([test -z "$$2" && test -n "$hpk_ldconfig"],
    [for hpk_cand in m4_normalize([$3]); do
       hpk_base=`basename "$hpk_cand"`
       hpk_cand=`$hpk_ldconfig -p 2>/dev/null |
         awk -v n="$hpk_base" '$[]1 == n { print $[]NF; exit }'`
       AS_IF([test -n "$hpk_cand" && test -r "$hpk_cand"], [$2=$hpk_cand; break])
     done])
])

# _HPK_BENCH_PEER(NAME, OPTION, DEFINE, CANDIDATES)
AC_DEFUN([_HPK_BENCH_PEER], [
  AC_ARG_WITH([$2],
    [AS_HELP_STRING([--with-$2@<:@=PATH@:>@],
      [benchmark against $1, loaded with dlopen from PATH or a standard place
       @<:@default=check@:>@])],
    [], [with_$2=check])
  AC_MSG_CHECKING([for $1 (benchmark peer)])
  hpk_peer_path=
  AS_CASE([$with_$2],
    [no], [],
    [yes|check], [_HPK_BENCH_FIND_LIB([$1], [hpk_peer_path], [$4])],
    [AS_IF([test -r "$with_$2"], [hpk_peer_path=$with_$2],
       [AC_MSG_ERROR([--with-$2=$with_$2: no such file])])])
  AS_IF([test -n "$hpk_peer_path"],
    [AC_MSG_RESULT([$hpk_peer_path])
     AC_DEFINE_UNQUOTED([$3], ["$hpk_peer_path"], [$1 shared library the benchmarks dlopen])
     hpk_bench_summary="$hpk_bench_summary
    $1: $hpk_peer_path"],
    [AC_MSG_RESULT([no])
     AS_IF([test "x$with_$2" = xyes], [AC_MSG_ERROR([--with-$2 given but $1 was not found])])
     hpk_bench_summary="$hpk_bench_summary
    $1: no"])
])

AC_DEFUN([HPK_CHECK_BENCH], [
  AC_REQUIRE([AC_PROG_CXX])
  AC_REQUIRE([PKG_PROG_PKG_CONFIG])
  hpk_bench_summary=

  # A C++17 compiler (AC_PROG_CXX sets CXX to g++ even when there is none).
  AC_LANG_PUSH([C++])
  hpk_save_CXXFLAGS=$CXXFLAGS
  CXXFLAGS="$CXXFLAGS -std=c++17"
  AC_CACHE_CHECK([whether $CXX compiles C++17], [hpk_cv_cxx17],
    [AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <optional>]],
                                        [[std::optional<int> x = 1; return *x - 1;]])],
       [hpk_cv_cxx17=yes], [hpk_cv_cxx17=no])])
  CXXFLAGS=$hpk_save_CXXFLAGS
  AC_LANG_POP([C++])

  PKG_CHECK_MODULES([BENCHMARK], [benchmark >= 1.5], [hpk_have_benchmark=yes],
    [hpk_have_benchmark=no])
  hpk_have_bench=no
  AS_IF([test "x$hpk_cv_cxx17" = xyes && test "x$hpk_have_benchmark" = xyes], [hpk_have_bench=yes])

  hpk_save_LIBS=$LIBS
  LIBS=
  AC_SEARCH_LIBS([dlopen], [dl])
  BENCH_DL_LIBS=$LIBS
  LIBS=$hpk_save_LIBS
  AC_SUBST([BENCH_DL_LIBS])

  hpk_multiarch=`$CC -print-multiarch 2>/dev/null`
  AS_IF([test -z "$hpk_multiarch"], [hpk_multiarch="$host_cpu-$host_os"])
  AC_PATH_PROG([hpk_ldconfig], [ldconfig], [], [$PATH:/sbin:/usr/sbin])

  _HPK_BENCH_PEER([OpenBLAS], [openblas], [HPK_BENCH_OPENBLAS_PATH],
    [/usr/lib/@MA@/openblas-pthread/libopenblas.so.0 /usr/lib/@MA@/openblas-openmp/libopenblas.so.0
     /usr/lib/@MA@/openblas-serial/libopenblas.so.0 /usr/lib/@MA@/libopenblas.so.0
     /usr/local/lib/libopenblas.so.0 /usr/lib64/libopenblas.so.0 /usr/lib/libopenblas.so.0])
  _HPK_BENCH_PEER([BLIS], [blis],
    [HPK_BENCH_BLIS_PATH],
    [/usr/lib/@MA@/blis-pthread/libblis.so.4 /usr/lib/@MA@/blis-openmp/libblis.so.4
     /usr/lib/@MA@/blis-serial/libblis.so.4 /usr/lib/@MA@/libblis.so.4
     /usr/local/lib/libblis.so.4 /usr/lib64/libblis.so.4 /usr/lib/libblis.so.4])
  _HPK_BENCH_PEER([oneDNN], [dnnl], [HPK_BENCH_DNNL_PATH],
    [/usr/lib/@MA@/libdnnl.so.3 /usr/lib/@MA@/libdnnl.so.2 /usr/local/lib/libdnnl.so.3
     /usr/local/lib/libdnnl.so.2 /usr/lib64/libdnnl.so.3 /usr/lib64/libdnnl.so.2])
  _HPK_BENCH_PEER([XNNPACK], [xnnpack], [HPK_BENCH_XNNPACK_PATH],
    [/usr/lib/@MA@/libXNNPACK.so.0 /usr/local/lib/libXNNPACK.so /usr/lib64/libXNNPACK.so])

  # libxsmm: static, linked (see the head comment).
  AC_ARG_WITH([libxsmm],
    [AS_HELP_STRING([--with-libxsmm],
      [benchmark against libxsmm's small GEMM @<:@default=check@:>@])],
    [], [with_libxsmm=check])
  hpk_have_libxsmm=no
  AS_IF([test "x$with_libxsmm" != xno && test "x$hpk_have_bench" = xyes],
    [PKG_CHECK_MODULES([LIBXSMM], [libxsmm >= 1.16],
       [AC_LANG_PUSH([C++])
        hpk_save_LIBS=$LIBS
        hpk_save_CPPFLAGS=$CPPFLAGS
        LIBS="$LIBXSMM_LIBS -lxsmmnoblas $LIBS"
        CPPFLAGS="$CPPFLAGS $LIBXSMM_CFLAGS"
        AC_MSG_CHECKING([whether libxsmm links (with libxsmmnoblas)])
        AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <libxsmm.h>]],
                         [[libxsmm_init(); return libxsmm_get_target_arch() == 0;]])],
          [hpk_have_libxsmm=yes; LIBXSMM_LIBS="$LIBXSMM_LIBS -lxsmmnoblas"])
        AC_MSG_RESULT([$hpk_have_libxsmm])
        LIBS=$hpk_save_LIBS
        CPPFLAGS=$hpk_save_CPPFLAGS
        AC_LANG_POP([C++])],
       [:])])
  AS_IF([test "x$with_libxsmm" = xyes && test "x$hpk_have_libxsmm" != xyes],
    [AC_MSG_ERROR([--with-libxsmm given but libxsmm (libxsmm-dev) cannot be linked])])
  AS_IF([test "x$hpk_have_libxsmm" = xyes],
    [AC_DEFINE([HPK_BENCH_HAVE_LIBXSMM], [1], [libxsmm is linked into the benchmarks])])
  AM_CONDITIONAL([HPK_BENCH_LIBXSMM], [test "x$hpk_have_libxsmm" = xyes])
  hpk_bench_summary="$hpk_bench_summary
    libxsmm: $hpk_have_libxsmm"

  # C++ warnings: the project's C warnings (HPK_WARN_CFLAGS, so --enable-werror applies; call this
  # macro after they are set) without the C-only ones.
  BENCH_WARN_CXXFLAGS=
  for hpk_flag in ${HPK_WARN_CFLAGS:--Wall -Wextra}; do
    AS_CASE([$hpk_flag],
      [-Wstrict-prototypes|-Wmissing-prototypes|-Wold-style-definition|-Wnested-externs],
      [],
      [BENCH_WARN_CXXFLAGS="$BENCH_WARN_CXXFLAGS $hpk_flag"])
  done
  AC_SUBST([BENCH_WARN_CXXFLAGS])

  # The report: python3 (stdlib only) and gnuplot for the plots (optional: tables without them).
  AC_PATH_PROG([BENCH_PYTHON], [python3], [], [/usr/bin:$PATH])
  AC_PATH_PROG([BENCH_GNUPLOT], [gnuplot], [])

  AM_CONDITIONAL([HPK_HAVE_BENCH], [test "x$hpk_have_bench" = xyes])
  hpk_bench_summary="  benchmarks:  $hpk_have_bench (C++17: $hpk_cv_cxx17, \
Google Benchmark: $hpk_have_benchmark, python3: ${BENCH_PYTHON:-no}, \
gnuplot: ${BENCH_GNUPLOT:-no})$hpk_bench_summary"
])
