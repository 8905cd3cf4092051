/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "src/base/log.h"

static pthread_once_t verbose_once = PTHREAD_ONCE_INIT;
static int verbose_flag;

static void read_verbose(void)
{
    const char *v = getenv("HPK_VERBOSE");
    verbose_flag = v != NULL && v[0] != '\0' && !(v[0] == '0' && v[1] == '\0');
}

int hpk_verbose(void)
{
    pthread_once(&verbose_once, read_verbose);
    return verbose_flag;
}

static void vlog(const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    /* One fprintf per line, so lines of concurrent threads do not interleave. */
    fprintf(stderr, "hpk: %s\n", line);
}

void hpk_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void hpk_log_verbose(const char *fmt, ...)
{
    if (!hpk_verbose())
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}
