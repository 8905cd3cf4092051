# SPDX-License-Identifier: BSD-3-Clause
# HPK_CHECK_BLAS: configure part of libhpk_blas (blas/), the BLAS ABI shim.
#
#   --disable-blas       do not build or install libhpk_blas
#
# libhpk_blas reaches the program's XERBLA / cblas_xerbla through weak undefined references
# (blas/xerbla.c); that needs ELF-style weak symbols, checked here by linking a program with one.
# Defines the HPK_BUILD_BLAS conditional, HPK_BLAS_LT_VERSION, HPK_CROSS_COMPILING (the tests
# that preload the library into host programs skip in a cross build) and blas/hpk-blas.pc.
AC_DEFUN([HPK_CHECK_BLAS], [
AC_ARG_ENABLE([blas],
  [AS_HELP_STRING([--disable-blas],
    [do not build libhpk_blas (sgemm_ and cblas_sgemm on hpk) @<:@default=enabled@:>@])],
  [hpk_blas_given=yes], [enable_blas=yes])
AS_IF([test "x$enable_blas" != xno],
  [AC_MSG_CHECKING([whether weak undefined symbols link (for libhpk_blas)])
   AC_LINK_IFELSE([AC_LANG_PROGRAM(
       [[extern void hpk_conftest_absent(void) __attribute__((weak));]],
       [[if (hpk_conftest_absent) hpk_conftest_absent(); return 0;]])],
     [AC_MSG_RESULT([yes])],
     [AC_MSG_RESULT([no])
      AS_IF([test "x$hpk_blas_given" = xyes],
        [AC_MSG_ERROR([--enable-blas: libhpk_blas needs weak symbols])])
      AC_MSG_WARN([no weak symbols: libhpk_blas is not built])
      enable_blas=no])])
AM_CONDITIONAL([HPK_BUILD_BLAS], [test "x$enable_blas" != xno])
# libtool -version-info of libhpk_blas; its ABI is the BLAS's and does not follow libhpk's.
AC_SUBST([HPK_BLAS_LT_VERSION], [0:0:0])
AC_SUBST([HPK_CROSS_COMPILING], [$cross_compiling])
AC_CONFIG_FILES([blas/hpk-blas.pc])
])
