// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_cli.c - libFuzzer target for the table-driven command line (user/cli.c).
 *
 * Input: the first byte picks an option table (the shapes main.c uses: flags, options with
 * a value, an optional number), the rest is argv, one word per line ('\n' or NUL ends a
 * word; empty words are kept). parse_args must return 0 or EXIT_USAGE, and on success:
 * every positional argument is one of the words, in order; a flag has no value, an option
 * with a value has one, a value is a word or the part of a word after '='; opt_set and
 * opt_val agree with the table. Then --help is printed (to /dev/null) and every word goes
 * through parse_u64.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define COMMON_OPTS								\
	{ "verbose", 'v', OPT_FLAG, NULL, "show libbpf and libxdp debug output" }, \
	{ "help", 'h', OPT_FLAG, NULL, "show this help" }

/* The option tables of main.c, by shape. */
static const struct opt_def attach_opts[] = {
	{ "mode", 'm', OPT_ARG, "MODE", "native, generic or auto" },
	{ "policy", 'p', OPT_ARG, "FILE", "apply the policy in FILE from the first packet" },
	{ "sources", 0, OPT_ARG, "N", "size of each per-source table" },
	COMMON_OPTS,
	{ .name = NULL }
};

static const struct opt_def stats_opts[] = {
	{ "json", 'j', OPT_FLAG, NULL, "print JSON" },
	{ "watch", 'w', OPT_OPTIONAL_NUM, "SECONDS", "redraw every SECONDS" },
	{ "prometheus", 0, OPT_FLAG, NULL, "print the exporter's metrics once" },
	COMMON_OPTS,
	{ .name = NULL }
};

static const struct opt_def top_opts[] = {
	{ "count", 'n', OPT_ARG, "N", "show the N heaviest sources" },
	{ "interval", 'i', OPT_ARG, "SECONDS", "how long to measure" },
	{ "json", 'j', OPT_FLAG, NULL, "print JSON" },
	COMMON_OPTS,
	{ .name = NULL }
};

static const struct opt_def common_opts[] = {
	COMMON_OPTS,
	{ .name = NULL }
};

/* MAX_OPTS entries, every kind, names that are prefixes of each other. */
static const struct opt_def full_opts[MAX_OPTS] = {
	{ "a", 'a', OPT_FLAG, NULL, "a" },
	{ "ab", 'b', OPT_ARG, "X", "ab" },
	{ "abc", 'c', OPT_OPTIONAL_NUM, "N", "abc" },
	{ "d", 0, OPT_ARG, "X", "d" },
	{ "e-f", 'e', OPT_OPTIONAL_NUM, "N", "e-f" },
	{ "g", 'g', OPT_FLAG, NULL, "g" },
	{ "h", 'h', OPT_FLAG, NULL, "h" },
	{ "x=y", 'x', OPT_ARG, "X", "a name with '='" },
	{ "", '-', OPT_FLAG, NULL, "an empty name" },
	{ "j", 'j', OPT_ARG, "X", "j" },
	{ "k", 'k', OPT_FLAG, NULL, "k" },
	{ "l", 'l', OPT_OPTIONAL_NUM, "N", "l" },
	{ "m", 'm', OPT_ARG, "X", "m" },
	{ "n", 'n', OPT_FLAG, NULL, "n" },
	{ "o", 'o', OPT_ARG, "X", "o" },
	{ .name = NULL }
};

static int run(struct cmd_args *a)
{
	return 0;
}

static const struct command cmds[] = {
	{ "attach", "DEV", "attach", NULL, run, attach_opts, 1, 1, true },
	{ "stats", "DEV", "show counters", "details\nmore", run, stats_opts, 1, 1, true },
	{ "top", "DEV", "top", NULL, run, top_opts, 1, 1, true },
	{ "set", "DEV STATEMENT...", "set", NULL, run, common_opts, 2, -1, true },
	{ "full", "ARGS", "every kind of option", NULL, run, full_opts, 0, -1, false },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))
#define MAX_WORDS 256

static bool is_word(char **argv, int argc, const char *p)
{
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	const struct command *c;
	char *buf, *argv[MAX_WORDS + 1];
	struct cmd_args a;
	int argc = 0, ret, pos = 0;

	if (!quiet) {
		/* usage errors and --help go nowhere; sanitizer reports use fd 2 directly */
		FILE *null = fopen("/dev/null", "w");

		if (null) {
			stdout = null;
			stderr = null;
		}
		quiet = true;
	}
	if (!size)
		return 0;
	c = &cmds[data[0] % NCMDS];
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	for (size_t i = 0, start = 0; i < size && argc < MAX_WORDS; i++) {
		if (i == size - 1 || buf[i] == '\n' || buf[i] == 0) {
			buf[i] = 0;
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;

	ret = parse_args(c, argc, argv, &a);
	if (ret != 0 && ret != EXIT_USAGE)
		abort();
	if (ret == 0) {
		if (a.argc > argc || a.argv[a.argc] || a.defs != c->opts)
			abort();
		/* positional words: a subsequence of argv, in order */
		for (int i = 0; i < a.argc; i++) {
			while (pos < argc && argv[pos] != a.argv[i])
				pos++;
			if (pos++ >= argc)
				abort();
		}
		for (int k = 0; c->opts[k].name; k++) {
			const struct opt_def *o = &c->opts[k];
			int first;

			if (!a.set[k] && a.val[k])
				abort();
			if (a.set[k] && o->kind == OPT_FLAG && a.val[k])
				abort();
			if (a.set[k] && o->kind == OPT_ARG && !a.val[k])
				abort();
			if (a.val[k] && !is_word(argv, argc, a.val[k]))
				abort();
			/* opt_set and opt_val answer for the first option of that name */
			for (first = 0; strcmp(c->opts[first].name, o->name); first++)
				;
			if (opt_set(&a, o->name) != a.set[first] ||
			    opt_val(&a, o->name) != (a.set[first] ? a.val[first] : NULL))
				abort();
		}
		if (opt_set(&a, "no such option") || opt_val(&a, "no such option"))
			abort();
		if (opt_set(&a, "help"))
			print_cmd_help(c);
	}
	free(a.argv);
	for (int i = 0; i < argc; i++) {
		uint64_t v, lo = i, hi = UINT64_MAX >> (i % 64);

		if (!parse_u64(argv[i], lo, hi, "n", &v) && (v < lo || v > hi))
			abort();
	}
	free(buf);
	return 0;
}
