/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/common.h - status codes, version and library-wide calls.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 */
#ifndef HPK_COMMON_H
#define HPK_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols of the public API. The library is built with -fvisibility=hidden. */
#if defined(HPK_BUILDING_LIBRARY) && defined(__GNUC__)
#define HPK_API __attribute__((visibility("default")))
#else
#define HPK_API
#endif

#define HPK_VERSION_MAJOR 0
#define HPK_VERSION_MINOR 1
#define HPK_VERSION_PATCH 0

/*
 * hpk_status - what every hpk function that can fail returns.
 *
 * HPK_OK               success.
 * HPK_ERR_INVALID_ARG  an argument is invalid: a NULL pointer where data is read or written, a
 *                      leading dimension smaller than the matrix it describes, an unknown enum
 *                      value, an epilogue parameter out of range (clamp with lo > hi or NaN), an
 *                      output that overlaps an input, or an environment override (HPK_MC, HPK_KC,
 *                      HPK_NC) that is not a positive number.
 * HPK_ERR_OVERFLOW     the extent of an operand (rows, columns and leading dimension together)
 *                      does not fit in the address space (size_t / ptrdiff_t in bytes).
 * HPK_ERR_NOMEM        a workspace allocation failed. Outputs are untouched.
 * HPK_ERR_UNSUPPORTED  the request is valid but cannot be served here: HPK_ISA names a kernel
 *                      table this CPU, OS or build cannot run.
 * HPK_ERR_INTERNAL     a bug in hpk; please report it.
 * HPK_ERR_BAD_TENSOR   graphs (<hpk/graph.h>): a tensor id that does not exist, a node input not
 *                      produced yet, or a tensor of the wrong kind for its place.
 * HPK_ERR_SHAPE_MISMATCH  graphs: the shapes of a node's tensors do not fit its operation.
 * HPK_ERR_PRODUCED_TWICE  graphs: a node output that another node already produces.
 *
 * On any status other than HPK_OK no output has been written.
 */
typedef enum hpk_status {
    HPK_OK = 0,
    HPK_ERR_INVALID_ARG = 1,
    HPK_ERR_OVERFLOW = 2,
    HPK_ERR_NOMEM = 3,
    HPK_ERR_UNSUPPORTED = 4,
    HPK_ERR_INTERNAL = 5,
    HPK_ERR_BAD_TENSOR = 6,
    HPK_ERR_SHAPE_MISMATCH = 7,
    HPK_ERR_PRODUCED_TWICE = 8,
} hpk_status;

/*
 * hpk_status_string - a short English description of a status.
 *
 * Returns a static, NUL-terminated string; never NULL ("unknown hpk_status" for a value that is
 * not an hpk_status).
 */
HPK_API const char *hpk_status_string(hpk_status status);

/*
 * hpk_version - the library's version as "MAJOR.MINOR.PATCH".
 *
 * The string is static. Compare with the HPK_VERSION_* macros to detect a header/library mismatch.
 */
HPK_API const char *hpk_version(void);

/*
 * hpk_describe - a human-readable report of what the library decided on this machine.
 *
 * Writes into buf (size bytes, always NUL-terminated when size > 0) the CPU features, every
 * cache level with the source each figure came from (hwloc, cpuid, sysfs, default), the core
 * count, the kernel table in use and the blocking of each GEMM record; this is what the hpk-info
 * program prints. If needed_out is not NULL, *needed_out receives the length of the full report
 * (without the NUL), so a caller can size buf: call once with buf = NULL and size = 0.
 *
 * Returns HPK_OK, HPK_ERR_INVALID_ARG if buf is NULL while size > 0, or the status that a
 * computation would return because of a bad override (HPK_ERR_UNSUPPORTED for an unusable
 * HPK_ISA, HPK_ERR_INVALID_ARG for a malformed HPK_MC/HPK_KC/HPK_NC); the report is written in
 * every case and says what is wrong.
 */
HPK_API hpk_status hpk_describe(char *buf, size_t size, size_t *needed_out);

/*
 * hpk_isa - the name of the kernel table computations run with: "generic", "avx2", "avx512"
 * or "neon". Returns HPK_ERR_UNSUPPORTED (and *name_out = NULL) when an HPK_ISA override names
 * a table that cannot run here, HPK_ERR_INVALID_ARG if name_out is NULL.
 */
HPK_API hpk_status hpk_isa(const char **name_out);

/*
 * hpk_release_cached_memory - frees the packing buffers hpk keeps between calls.
 *
 * hpk reuses its workspace from call to call, so that a steady stream of calls allocates
 * nothing; this gives that memory back to the system (a later call allocates it again). Safe
 * to call at any time from any thread: buffers in use by running calls are not affected.
 */
HPK_API void hpk_release_cached_memory(void);

#ifdef __cplusplus
}
#endif

#endif /* HPK_COMMON_H */
