/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/hpk.h - the hpk high-performance CPU kernel library.
 *
 * The one header to include. All sizes and strides are in elements, never bytes. Every function
 * that can fail returns an hpk_status and leaves its outputs untouched when it fails.
 *
 * Environment variables read once, at the first call:
 *   HPK_ISA=generic|avx2|avx512|neon  use that kernel table (an unusable one makes every call
 *                                    return HPK_ERR_UNSUPPORTED and is reported on stderr)
 *   HPK_MC, HPK_KC, HPK_NC           override the GEMM blocking (positive integers)
 *   HPK_NUM_THREADS=n                 threads per call (default: see hpk/threads.h)
 *   HPK_PIN=1                         bind each of hpk's worker threads to one CPU
 *   HPK_WAIT_US=us                    how long an idle worker busy-waits for the next call
 *                                    before it sleeps (0..1000000, default 10000)
 *   HPK_VERBOSE=1                     log the library's decisions to stderr
 */
#ifndef HPK_HPK_H
#define HPK_HPK_H

#include <hpk/common.h>
#include <hpk/gemm.h>
#include <hpk/conv.h>
#include <hpk/graph.h>
#include <hpk/inference.h>
#include <hpk/pool.h>
#include <hpk/threads.h>

#endif /* HPK_HPK_H */
