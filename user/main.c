// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - command dispatch. The command table below is the single description of the
 * command line: parsing and every --help come from it.
 */
#include "cli.h"
#include "log.h"
#include "icmpwall.h"
#include "version.h"	/* generated: build/version.h */

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

static const char *prog = CLI_PROG;

static void print_main_help(FILE *f)
{
	fprintf(f, "Usage: %s [-v] COMMAND [ARGS] [options]\n"
		   "       %s --version | --help | COMMAND --help\n\n"
		   "icmpwall counts and polices ICMP and ICMPv6 at the XDP hook.\n\nCommands:\n",
		prog, prog);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
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
		goto out;
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
