/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli.h - the table that drives the command line: every subcommand, its arguments and its
 * options are declared once, and the parser and --help are generated from that table.
 */
#ifndef ICMPWALL_CLI_H
#define ICMPWALL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_USAGE 2
#define CLI_PROG "icmpwall"

enum opt_kind {
	OPT_FLAG,		/* --name */
	OPT_ARG,		/* --name VALUE, --name=VALUE, -x VALUE */
	OPT_OPTIONAL_NUM,	/* --name [NUMBER]: takes the next word only if it is a number */
};

struct opt_def {
	const char *name;	/* long name, without the dashes */
	char short_name;	/* 0 when there is none */
	enum opt_kind kind;
	const char *metavar;
	const char *help;
};

#define MAX_OPTS 16

struct cmd_args {
	int argc;		/* positional arguments */
	char **argv;
	const struct opt_def *defs;
	bool set[MAX_OPTS];
	const char *val[MAX_OPTS];
};

struct command {
	const char *name;
	const char *args;	/* positional arguments, as shown in usage */
	const char *summary;
	const char *details;	/* more help text, may be NULL */
	int (*run)(struct cmd_args *a);
	const struct opt_def *opts;	/* terminated by an entry with name NULL */
	int min_args, max_args;
	bool privileged;	/* needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN */
};

bool opt_set(const struct cmd_args *a, const char *name);
const char *opt_val(const struct cmd_args *a, const char *name);

/*
 * Parses argv (the words after the command word) into a, as c's option table says; returns
 * 0 or an exit code (EXIT_USAGE, with a message on stderr). a->argv is allocated in both
 * cases: the caller frees it.
 */
int parse_args(const struct command *c, int argc, char **argv, struct cmd_args *a);
/* "icmpwall: " fmt(arg) " (see 'icmpwall CMD --help')" on stderr; returns EXIT_USAGE. */
int usage_error(const struct command *c, const char *fmt, const char *arg);
/* Usage, summary, details and options of c, on stdout. */
void print_cmd_help(const struct command *c);

/* Number parsing for option values and statements: one-line error, negative errno. */
int parse_u64(const char *s, uint64_t min, uint64_t max, const char *what, uint64_t *out);
/* Seconds written as digits with an optional decimal fraction, from 0.1 to 3600. Returns
 * EXIT_USAGE after a one-line error naming the option, 0 when fine. */
int parse_seconds(const char *s, const char *option, double *out);

/* Commands, one file per concern. */
int cmd_attach(struct cmd_args *a);
int cmd_detach(struct cmd_args *a);
int cmd_status(struct cmd_args *a);
int cmd_stats(struct cmd_args *a);
int cmd_set(struct cmd_args *a);
int cmd_policy(struct cmd_args *a);
int cmd_exporter(struct cmd_args *a);
int cmd_top(struct cmd_args *a);
int cmd_events(struct cmd_args *a);

#endif
