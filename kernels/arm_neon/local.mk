# SPDX-License-Identifier: BSD-3-Clause
# kernels/arm_neon: the NEON kernel table, a convenience library of its own (included at the end
# of Makefile.am, after the variables it appends to). Built on aarch64 only, where configure
# defines HPK_HAVE_NEON_TABLE so that the dispatcher lists the table. Advanced SIMD is part of
# the AArch64 baseline: no -m flag, but the folder stays an ISA folder (ARCHITECTURE.md,
# tests/check_baseline_isa.sh) so that a later extension (fp16, dot product) can take its own
# flags here without touching the rest.
if HPK_AARCH64
noinst_LTLIBRARIES += libhpk_kneon.la
libhpk_kneon_la_SOURCES = \
	kernels/arm_neon/activations.h \
	kernels/arm_neon/dwconv.h \
	kernels/arm_neon/dwconv.c \
	kernels/arm_neon/epilogue.h \
	kernels/arm_neon/sgemm.h \
	kernels/arm_neon/sgemm_8x12.c \
	kernels/arm_neon/sgemm_4x16.c \
	kernels/arm_neon/pack.c \
	kernels/arm_neon/winograd.h \
	kernels/arm_neon/winograd.c \
	kernels/arm_neon/table.c
libhpk_kneon_la_CFLAGS = $(AM_CFLAGS) $(NEON_CFLAGS)
endif

# The static report on the NEON k loops (run by .ci/run on the aarch64 build).
EXTRA_DIST += tools/neon_kernel_report.py

# tools/act_accuracy: the measurement behind HPK_ACT_ACCURACY__NEON (of every table the machine
# runs; a cross build runs it under qemu). Built with the library, so it keeps compiling; run by
# hand: tools/act_accuracy [STRIDE].
noinst_PROGRAMS += tools/act_accuracy
tools_act_accuracy_SOURCES = tools/act_accuracy.c
tools_act_accuracy_LDADD = libhpk_core.la $(HWLOC_LIBS) -lm
