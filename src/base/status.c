/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include "hpk/common.h"

#define HPK_STR2(x) #x
#define HPK_STR(x) HPK_STR2(x)

const char *hpk_status_string(hpk_status status)
{
    switch (status) {
    case HPK_OK: return "success";
    case HPK_ERR_INVALID_ARG: return "invalid argument";
    case HPK_ERR_OVERFLOW: return "size overflow";
    case HPK_ERR_NOMEM: return "out of memory";
    case HPK_ERR_UNSUPPORTED: return "unsupported on this machine or build";
    case HPK_ERR_INTERNAL: return "internal error";
    case HPK_ERR_BAD_TENSOR: return "unknown, unproduced or misplaced graph tensor";
    case HPK_ERR_SHAPE_MISMATCH: return "graph tensor shapes do not match";
    case HPK_ERR_PRODUCED_TWICE: return "graph tensor produced twice";
    }
    return "unknown hpk_status";
}

const char *hpk_version(void)
{
    return HPK_STR(HPK_VERSION_MAJOR) "." HPK_STR(HPK_VERSION_MINOR) "." HPK_STR(HPK_VERSION_PATCH);
}
