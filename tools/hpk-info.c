/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk-info: prints what hpk decided on this machine (CPU features, caches and their sources,
 * kernel table, blocking). Exits 1 when a bad HPK_* override makes every computation fail, so
 * that a script can check its environment before a long run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpk/hpk.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: hpk-info [--help | --version]\n"
               "Prints the CPU features, caches, kernel table and GEMM blocking hpk uses here.\n"
               "Environment: HPK_ISA=generic|avx2|avx512|neon, HPK_MC, HPK_KC, HPK_NC,\n"
               "HPK_VERBOSE=1 (see <hpk/hpk.h>). Exit status: 0, or 1 when an override is bad.\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("hpk-info (hpk) %s\n", hpk_version());
            return 0;
        }
        fprintf(stderr, "hpk-info: unknown option '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }

    size_t needed = 0;
    hpk_describe(NULL, 0, &needed);
    char *buf = malloc(needed + 1);
    if (buf == NULL) {
        fprintf(stderr, "hpk-info: out of memory\n");
        return 1;
    }
    hpk_status status = hpk_describe(buf, needed + 1, NULL);
    printf("hpk %s\n%s", hpk_version(), buf);
    free(buf);
    if (status != HPK_OK) {
        fprintf(stderr, "hpk-info: %s\n", hpk_status_string(status));
        return 1;
    }
    return 0;
}
