// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_policy.c - libFuzzer target for the policy language (user/policy.c).
 *
 * The input is a policy file. When it parses:
 *   - policy_show must print statements that parse again, and show the same text again
 *     (apply of the output gives the policy back);
 *   - policy_compile must accept it at every HZ (a file that `policy check` accepts must
 *     not fail at `apply`), and so must the re-parsed policy, to the same rules:
 *     policy_decompile of the compiled form, with the prefixes, shows the same text;
 *   - compiling it again over its own compiled form (a change to an identical policy)
 *     must keep every bucket and per-source id;
 *   - policy_cidr_entries must give one entry per prefix.
 * When it does not parse, the error must read "fuzz:LINE: ...". Any breach aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static FILE *devnull;

static char *show(const struct policy *p, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	policy_show(p, f);
	fclose(f);
	return text;
}

__attribute__((noreturn)) static void fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_policy: %s\n--- first:\n%s\n--- second:\n%s\n", what, a ? a : "",
		b ? b : "");
	abort();
}

static void check_compiled(const struct policy *p, const char *text, uint32_t hz)
{
	static struct iw_policy kp, again;
	static struct policy d;
	bool fresh[IW_MAX_BUCKETS];
	char err[POL_ERR_LEN], *t2;
	size_t n2;

	if (policy_compile(p, NULL, hz, &kp, fresh, err, sizeof(err)))
		fail("a policy that parses does not compile", text, err);
	policy_decompile(&kp, &d);
	for (int i = 0; i < p->ncidrs; i++)
		if (policy_add_cidr(&d, &p->cidrs[i]))
			abort();
	t2 = show(&d, &n2);
	if (strcmp(text, t2))
		fail("compile + decompile does not give the policy back", text, t2);
	free(t2);
	policy_free(&d);

	/* the same policy over itself: nothing is new */
	if (policy_compile(p, &kp, hz, &again, fresh, err, sizeof(err)))
		fail("a policy does not compile over itself", text, err);
	if (again.slot == kp.slot || again.generation != kp.generation + 1)
		fail("slot or generation not moved on", text, NULL);
	for (int i = 0; i < IW_MAX_BUCKETS; i++)
		if (fresh[i])
			fail("a bucket is fresh in a policy compiled over itself", text, NULL);
	for (int i = 1; i <= IW_MAX_RULES; i++) {
		const struct iw_rule *a = &kp.rules[i], *b = &again.rules[i];

		if (a->action != b->action || (a->global.interval && a->bucket != b->bucket) ||
		    (a->src.interval && a->src_id != b->src_id) ||
		    a->global.interval != b->global.interval || a->src.interval != b->src.interval ||
		    a->global.epoch != b->global.epoch || a->src.epoch != b->src.epoch)
			fail("a rule changed when compiled over itself", text, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p, q;
	char err[POL_ERR_LEN] = "", *t1, *t2;
	size_t n1, n2;
	struct cidr_entry *e;
	int n;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	policy_init(&p);
	if (policy_parse_buf(&p, "fuzz", (const char *)data, size, err, sizeof(err), devnull)) {
		if (strncmp(err, "fuzz:", 5) || !memchr(err, 0, sizeof(err)))
			fail("error message without FILE:LINE", err, NULL);
		policy_free(&p);
		return 0;
	}
	t1 = show(&p, &n1);
	policy_init(&q);
	if (policy_parse_buf(&q, "shown", t1, n1, err, sizeof(err), NULL))
		fail("policy_show output does not parse", t1, err);
	t2 = show(&q, &n2);
	if (n1 != n2 || memcmp(t1, t2, n1))
		fail("show, parse, show is not stable", t1, t2);
	free(t2);

	check_compiled(&p, t1, 100);
	check_compiled(&p, t1, 250);
	check_compiled(&q, t1, 1000);

	if (policy_cidr_entries(&p, &e, &n) || n != p.ncidrs)
		fail("policy_cidr_entries", t1, NULL);
	for (int i = 0; i < n; i++)
		if (!(e[i].val.flags & e[i].val.own) || !e[i].val.own)
			fail("a prefix does not cover itself", t1, NULL);
	free(e);
	free(t1);
	policy_free(&p);
	policy_free(&q);
	return 0;
}
