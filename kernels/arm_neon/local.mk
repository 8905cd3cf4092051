# SPDX-License-Identifier: BSD-3-Clause
# kernels/arm_neon: the NEON kernel table, a convenience library of its own (included from
# Makefile.am). Built on aarch64 only, where configure defines HPK_HAVE_NEON_TABLE so that the
# dispatcher lists the table. Advanced SIMD is part of the AArch64 baseline: no -m flag, but the
# folder stays an ISA folder (tests/check_baseline_isa.sh, ARCHITECTURE.md) so that a later
# extension (fp16, dot product) can take its own flags here without touching the rest.
if HPK_AARCH64
noinst_LTLIBRARIES += libhpk_kneon.la
libhpk_kneon_la_SOURCES = \
	kernels/arm_neon/activations.h \
	kernels/arm_neon/epilogue.h \
	kernels/arm_neon/sgemm.h \
	kernels/arm_neon/sgemm_8x12.c \
	kernels/arm_neon/sgemm_4x16.c \
	kernels/arm_neon/pack.c \
	kernels/arm_neon/table.c
libhpk_kneon_la_CFLAGS = $(AM_CFLAGS) $(NEON_CFLAGS)
endif

# The static report on the NEON k loops (run by .ci/run on the aarch64 build).
EXTRA_DIST += tools/neon_kernel_report.py
