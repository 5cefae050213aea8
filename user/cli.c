// SPDX-License-Identifier: GPL-2.0
/*
 * cli.c - the table-driven command line: options into struct cmd_args, usage errors and
 * per-command --help, all from one struct command. main.c holds the table and dispatches;
 * this file has no entry point, so tests and fuzz targets can link it.
 */
#include "cli.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = CLI_PROG;

bool opt_set(const struct cmd_args *a, const char *name)
{
	for (int i = 0; a->defs[i].name; i++)
		if (!strcmp(a->defs[i].name, name))
			return a->set[i];
	return false;
}

const char *opt_val(const struct cmd_args *a, const char *name)
{
	for (int i = 0; a->defs[i].name; i++)
		if (!strcmp(a->defs[i].name, name))
			return a->set[i] ? a->val[i] : NULL;
	return NULL;
}

int parse_seconds(const char *s, const char *option, double *out)
{
	const char *c = s;
	int digits = 0, dots = 0;
	double v;

	for (; *c; c++) {
		if (*c == '.')
			dots++;
		else if (*c >= '0' && *c <= '9')
			digits++;
		else
			break;
	}
	v = !*c && digits && dots <= 1 ? strtod(s, NULL) : -1;
	if (!(v >= 0.1 && v <= 3600)) {
		fprintf(stderr, "icmpwall: invalid %s '%s' (0.1 to 3600 seconds)\n", option, s);
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, const char *what, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	if (v < min || v > max) {
		pr_err("%s out of range: %s (%llu to %llu)", what, s, (unsigned long long)min,
		       (unsigned long long)max);
		return -ERANGE;
	}
	*out = v;
	return 0;
bad:
	pr_err("invalid %s: '%s' (expected a whole number)", what, s ? s : "");
	return -EINVAL;
}

static void print_usage_line(FILE *f, const struct command *c)
{
	fprintf(f, "Usage: %s %s %s [options]\n", prog, c->name, c->args);
}

void print_cmd_help(const struct command *c)
{
	print_usage_line(stdout, c);
	printf("%c%s.\n", c->summary[0] - (c->summary[0] >= 'a' && c->summary[0] <= 'z' ? 32 : 0),
	       c->summary + 1);
	if (c->details)
		printf("\n%s\n", c->details);
	printf("\nOptions:\n");
	for (const struct opt_def *o = c->opts; o->name; o++) {
		char left[64], shortopt[8] = "    ";

		if (o->short_name)
			snprintf(shortopt, sizeof(shortopt), "-%c, ", o->short_name);
		if (o->kind == OPT_FLAG)
			snprintf(left, sizeof(left), "%s--%s", shortopt, o->name);
		else
			snprintf(left, sizeof(left), o->kind == OPT_ARG ? "%s--%s %s" : "%s--%s [%s]",
				 shortopt, o->name, o->metavar);
		printf("  %-26s %s\n", left, o->help);
	}
}

int usage_error(const struct command *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see '%s %s --help')\n", prog, c->name);
	return EXIT_USAGE;
}

/* A word an optional numeric value takes: digits and dots, perhaps negative (then refused
 * by the option's own range check, by name). */
static bool is_number(const char *s)
{
	if (s && *s == '-')
		s++;
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return false;
	return true;
}

int parse_args(const struct command *c, int argc, char **argv, struct cmd_args *a)
{
	bool opts_done = false;

	memset(a, 0, sizeof(*a));
	a->defs = c->opts;
	a->argv = calloc(argc + 1, sizeof(char *));
	if (!a->argv)
		return 1;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq = NULL;
		const struct opt_def *o = NULL;
		int idx = -1;

		/* Statements (set) may contain words like "/24"; a lone "-" is positional, and so
		 * is a negative number, for the statement to refuse it by name. */
		if (opts_done || arg[0] != '-' || !arg[1] || (arg[1] >= '0' && arg[1] <= '9')) {
			a->argv[a->argc++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			opts_done = true;
			continue;
		}
		if (arg[1] == '-') {
			size_t n;

			eq = strchr(arg, '=');
			n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			for (int k = 0; c->opts[k].name; k++)
				if (strlen(c->opts[k].name) == n && !strncmp(c->opts[k].name, arg + 2, n))
					idx = k;
		} else if (!arg[2]) {
			for (int k = 0; c->opts[k].name; k++)
				if (c->opts[k].short_name == arg[1])
					idx = k;
		}
		if (idx < 0)
			return usage_error(c, "unknown option '%s'", arg);
		o = &c->opts[idx];
		a->set[idx] = true;
		if (o->kind == OPT_FLAG) {
			if (eq)
				return usage_error(c, "option '%s' takes no value", arg);
		} else if (eq) {
			a->val[idx] = eq + 1;
		} else if (o->kind == OPT_ARG) {
			if (i + 1 >= argc)
				return usage_error(c, "option '%s' needs a value", arg);
			a->val[idx] = argv[++i];
		} else if (i + 1 < argc && is_number(argv[i + 1])) {
			a->val[idx] = argv[++i];
		}
	}
	return 0;
}
