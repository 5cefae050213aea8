// SPDX-License-Identifier: GPL-2.0
/*
 * policy_cmd.c - the commands that change or show a policy: set, policy apply/show/check.
 * Every change is parsed and compiled in full before the one step that installs it.
 */
#include "apply.h"
#include "cli.h"
#include "log.h"
#include "maps.h"
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

int cmd_set(struct cmd_args *a)
{
	char err[POL_ERR_LEN];
	struct policy pol;
	struct iw_dev d;
	int ret = 1, e;

	policy_init(&pol);
	if (iw_dev_open(&d, a->argv[0], IW_OPEN_LOCK))
		return 1;
	e = iw_policy_load(&d, &pol);
	if (e) {
		pr_err("%s: cannot read the policy in force: %s", d.name, strerror(-e));
		goto out;
	}
	if (policy_statement(&pol, a->argc - 1, a->argv + 1, err, sizeof(err), stderr, NULL)) {
		pr_err("%s", err);
		goto out;
	}
	if (iw_policy_install(&d, &pol, err, sizeof(err))) {
		pr_err("%s: %s", d.name, err);
		goto out;
	}
	ret = 0;
out:
	policy_free(&pol);
	iw_dev_close(&d);
	return ret;
}

static int policy_check(const char *file)
{
	char err[POL_ERR_LEN + PATH_MAX];
	struct policy pol;
	int ret = 1;

	policy_init(&pol);
	if (policy_parse_file(&pol, file, err, sizeof(err), stderr)) {
		pr_err("%s", err);
		goto out;
	}
	/* compile too: limits that only a compiled policy hits are errors here as well */
	if (policy_compiles(&pol, POL_HZ_WORST, err, sizeof(err))) {
		pr_err("%s: %s", file, err);
		goto out;
	}
	printf("%s: ok (%d rule%s, %d prefix%s)\n", file, pol.nrules, pol.nrules == 1 ? "" : "s",
	       pol.ncidrs, pol.ncidrs == 1 ? "" : "es");
	ret = 0;
out:
	policy_free(&pol);
	return ret;
}

static int policy_apply(const char *dev, const char *file)
{
	char err[POL_ERR_LEN + PATH_MAX];
	struct policy pol;
	struct iw_dev d;
	int ret = 1;

	policy_init(&pol);
	if (policy_parse_file(&pol, file, err, sizeof(err), stderr)) {
		pr_err("%s", err);
		policy_free(&pol);
		return 1;
	}
	if (iw_dev_open(&d, dev, IW_OPEN_LOCK))
		goto out;
	if (iw_policy_install(&d, &pol, err, sizeof(err))) {
		pr_err("%s: %s", file, err);
		goto out;
	}
	ret = 0;
out:
	iw_dev_close(&d);
	policy_free(&pol);
	return ret;
}

static int policy_show_dev(const char *dev)
{
	struct policy pol;
	struct iw_dev d;
	int e;

	policy_init(&pol);
	/* locked as a commit is: the copy in force and its prefix lists read whole, not while
	 * a commit after the next rewrites them */
	if (iw_dev_open(&d, dev, IW_OPEN_LOCK))
		return 1;
	e = iw_policy_load(&d, &pol);
	if (e)
		pr_err("%s: cannot read the policy in force: %s", d.name, strerror(-e));
	else
		policy_show(&pol, stdout);
	policy_free(&pol);
	iw_dev_close(&d);
	return e ? 1 : 0;
}

int cmd_policy(struct cmd_args *a)
{
	if (!strcmp(a->argv[0], "check")) {
		if (a->argc != 2) {
			fprintf(stderr, "icmpwall: usage: icmpwall policy check FILE\n");
			return EXIT_USAGE;
		}
		return policy_check(a->argv[1]);
	}
	if (!strcmp(a->argv[1], "apply") && a->argc == 3)
		return policy_apply(a->argv[0], a->argv[2]);
	if (!strcmp(a->argv[1], "show") && a->argc == 2)
		return policy_show_dev(a->argv[0]);
	fprintf(stderr, "icmpwall: usage: icmpwall policy DEV apply FILE | policy DEV show | "
		"policy check FILE\n");
	return EXIT_USAGE;
}
