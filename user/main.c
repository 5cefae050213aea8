// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - command dispatch. The command table below is the single description of the
 * command line: parsing and every --help come from it.
 */
#include "cli.h"
#include "log.h"
#include "icmpwall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define COMMON_OPTS								\
	{ "verbose", 'v', OPT_FLAG, NULL, "show libbpf and libxdp debug output" }, \
	{ "help", 'h', OPT_FLAG, NULL, "show this help" }

static const struct opt_def attach_opts[] = {
	{ "mode", 'm', OPT_ARG, "MODE", "native, generic or auto (default: auto, native if the driver can)" },
	{ "policy", 'p', OPT_ARG, "FILE", "apply the policy in FILE from the first packet" },
	{ "sources", 0, OPT_ARG, "N", "size of each per-source table (default 65536)" },
	COMMON_OPTS,
	{ NULL }
};

static const struct opt_def json_opts[] = {
	{ "json", 'j', OPT_FLAG, NULL, "print JSON" },
	COMMON_OPTS,
	{ NULL }
};

static const struct opt_def stats_opts[] = {
	{ "json", 'j', OPT_FLAG, NULL, "print JSON (the stable format, see README.md)" },
	{ "watch", 'w', OPT_OPTIONAL_NUM, "SECONDS", "redraw every SECONDS (default 1) with rates; Ctrl-C exits" },
	{ "prometheus", 0, OPT_FLAG, NULL, "print the exporter's metrics once (for node_exporter's textfile collector)" },
	COMMON_OPTS,
	{ NULL }
};

static const struct opt_def exporter_opts[] = {
	{ "listen", 'l', OPT_ARG, "ADDR:PORT", "where to serve /metrics: 127.0.0.1:9101, [::1]:9101, :9101" },
	COMMON_OPTS,
	{ NULL }
};

static const struct opt_def top_opts[] = {
	{ "count", 'n', OPT_ARG, "N", "show the N heaviest sources (default 10)" },
	{ "interval", 'i', OPT_ARG, "SECONDS", "how long to measure (default 2)" },
	{ "json", 'j', OPT_FLAG, NULL, "print JSON" },
	COMMON_OPTS,
	{ NULL }
};

static const struct opt_def common_opts[] = {
	COMMON_OPTS,
	{ NULL }
};

static const struct command commands[] = {
	{ "attach", "DEV", "attach icmpwall to network interface DEV",
	  "Loads the XDP program, attaches it to DEV and pins its maps under\n"
	  "/sys/fs/bpf/icmpwall/DEV/. A second attach to the same DEV is refused.",
	  cmd_attach, attach_opts, 1, 1, true },
	{ "detach", "DEV", "detach icmpwall from DEV and remove its pins", NULL,
	  cmd_detach, common_opts, 1, 1, true },
	{ "status", "[DEV]", "show attachments: interface, mode, program id, since when", NULL,
	  cmd_status, json_opts, 0, 1, true },
	{ "stats", "DEV", "show ICMP counters per family, type and code, and drops by reason", NULL,
	  cmd_stats, stats_opts, 1, 1, true },
	{ "set", "DEV STATEMENT...", "change one policy statement live",
	  "Statements, as in a policy file:\n"
	  "  rate [icmp|icmpv6] TYPE [code CODE] RATE [burst N] [per-source [/LEN]]\n"
	  "  drop|pass [icmp|icmpv6] TYPE [code CODE]\n"
	  "  max-size BYTES|off    fragments pass|drop    checksum verify|ignore\n"
	  "  allow CIDR            deny CIDR\n"
	  "Example: icmpwall set eth0 rate echo-request 100/second burst 20",
	  cmd_set, common_opts, 2, -1, true },
	{ "policy", "DEV apply FILE | DEV show | check FILE",
	  "replace, show or check a whole policy",
	  "  policy DEV apply FILE   replace DEV's policy with FILE, atomically\n"
	  "  policy DEV show         print DEV's policy in the policy language\n"
	  "  policy check FILE       validate FILE without touching anything",
	  cmd_policy, common_opts, 2, 3, false },
	{ "top", "DEV", "show the heaviest ICMP sources over an interval",
	  "Counts ICMP per source (IPv4 address, IPv6 /64) while it runs, then prints the\n"
	  "heaviest with their packet and drop rates. Exact for every source that kept its\n"
	  "slot in the per-CPU table (see README.md).",
	  cmd_top, top_opts, 1, 1, true },
	{ "events", "DEV", "stream flood events: drops start, go on, end",
	  "One line per event: a drop or rate rule starts dropping a type (or, under a\n"
	  "per-source rule, a source), a summary each second while it goes on, its end.\n"
	  "Ctrl-C stops.",
	  cmd_events, json_opts, 1, 1, true },
	{ "exporter", "[DEV...]", "serve Prometheus metrics over HTTP",
	  "Serves /metrics in the Prometheus text format for the named interfaces, or for every\n"
	  "attachment found at each scrape when none is named. Ctrl-C or SIGTERM stops it.",
	  cmd_exporter, exporter_opts, 0, -1, true },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *prog = "icmpwall";

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

static void print_cmd_help(const struct command *c)
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

static void print_main_help(FILE *f)
{
	fprintf(f, "Usage: %s [-v] COMMAND [ARGS] [options]\n"
		   "       %s --version | --help | COMMAND --help\n\n"
		   "icmpwall counts and polices ICMP and ICMPv6 at the XDP hook.\n\nCommands:\n",
		prog, prog);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

static int usage_error(const struct command *c, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see '%s %s --help')\n", prog, c->name);
	return EXIT_USAGE;
}

static bool is_number(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return false;
	return true;
}

/* Parses argv (after the command word) into a; returns 0 or an exit code. */
static int parse_args(const struct command *c, int argc, char **argv, struct cmd_args *a)
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

		/* Statements (set) may contain words like "/24"; a lone "-" is positional. */
		if (opts_done || arg[0] != '-' || !arg[1]) {
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

/* CAP_NET_ADMIN, and CAP_BPF or CAP_SYS_ADMIN, in the effective set. */
static bool have_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	__u64 eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = data[0].effective | ((__u64)data[1].effective << 32);
	return (eff & (1ULL << CAP_NET_ADMIN)) &&
	       (eff & ((1ULL << CAP_BPF) | (1ULL << CAP_SYS_ADMIN)));
}

int main(int argc, char **argv)
{
	const struct command *c = NULL;
	struct cmd_args a;
	int i = 1, ret;

	log_init();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			log_verbosity++;
		} else if (!strcmp(argv[i], "--version")) {
			printf("icmpwall %s (ABI %d)\n", ICMPWALL_VERSION, IW_ABI_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_main_help(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see '%s --help')\n", prog, argv[i], prog);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		print_main_help(stdout);
		return 0;
	}
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (!strcmp(commands[k].name, argv[i]))
			c = &commands[k];
	if (!c) {
		fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog, argv[i], prog);
		return EXIT_USAGE;
	}
	ret = parse_args(c, argc - i - 1, argv + i + 1, &a);
	if (ret)
		return ret;
	if (opt_set(&a, "help")) {
		print_cmd_help(c);
		ret = 0;
		goto out;
	}
	if (opt_set(&a, "verbose"))
		log_verbosity++;
	if (a.argc < c->min_args || (c->max_args >= 0 && a.argc > c->max_args)) {
		ret = a.argc < c->min_args ?
			usage_error(c, "%s: missing argument", c->name) :
			usage_error(c, "unexpected argument '%s'", a.argv[c->max_args]);
		goto out;
	}
	/* policy check needs no privilege; every other policy form does */
	if ((c->privileged || (c->run == cmd_policy && strcmp(a.argv[0], "check"))) &&
	    !have_caps()) {
		pr_err("%s needs CAP_BPF and CAP_NET_ADMIN: run it as root", c->name);
		ret = 1;
		goto out;
	}
	ret = c->run(&a);
out:
	free(a.argv);
	return ret;
}
