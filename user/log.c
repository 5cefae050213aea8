// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

int log_verbosity;

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	if (level == LOG_DEBUG && log_verbosity < 1)
		return;
	fputs(level == LOG_WARN ? "icmpwall: warning: " : "icmpwall: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

/* libbpf and libxdp print their own diagnostics (warnings included) for conditions that
 * icmpwall reports itself in one line, so all of theirs are debug output, shown with -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);	/* libbpf's lines carry their own "libbpf: " */
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (log_verbosity < 1)
		return 0;
	fputs("libxdp: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void log_init(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
