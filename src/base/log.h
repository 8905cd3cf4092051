/* SPDX-License-Identifier: BSD-3-Clause */
/* Diagnostics on stderr: HPK_VERBOSE=1 decisions, and the one-line reports of bad overrides. */
#ifndef HPK_BASE_LOG_H
#define HPK_BASE_LOG_H

#if defined(__GNUC__)
#define HPK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HPK_PRINTF(f, a)
#endif

/* True when HPK_VERBOSE is set to a non-zero value (read once). */
int hpk_verbose(void);

/* "hpk: <message>\n" on stderr, always. */
void hpk_log_error(const char *fmt, ...) HPK_PRINTF(1, 2);

/* "hpk: <message>\n" on stderr when hpk_verbose(). */
void hpk_log_verbose(const char *fmt, ...) HPK_PRINTF(1, 2);

#endif /* HPK_BASE_LOG_H */
