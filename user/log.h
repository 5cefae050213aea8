/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - the one logging layer. Errors and warnings go to stderr as one line prefixed
 * "icmpwall: "; libbpf's and libxdp's messages come through here too, their debug lines
 * only with -v.
 */
#ifndef ICMPWALL_LOG_H
#define ICMPWALL_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* 0: errors, warnings, notices; 1 (-v): plus libbpf/libxdp debug output. */
extern int log_verbosity;

void log_init(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
