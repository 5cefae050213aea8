// SPDX-License-Identifier: GPL-2.0
/*
 * test_policy.c - the policy language: statements, files, replacement rules, show and its
 * round trip, and the compiled struct iw_policy (layout, GCRA ticks, bucket and src_id
 * reuse across compiles, CIDR entries).
 */
#include "testlib.h"
#include "policy.h"
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------- */

/* Applies one line; the test fails (and returns) when it is refused. */
#define APPLY(p, s)								\
	do {									\
		char e_[POL_ERR_LEN] = "";					\
		if (policy_line((p), (s), e_, sizeof(e_), NULL, NULL)) {	\
			TEST_FAIL("'%s' refused: %s", (s), e_);		\
			return;							\
		}								\
	} while (0)

/* Applies a text of lines (through policy_parse_buf, named "t"). */
#define APPLY_TEXT(p, text)							\
	do {									\
		char e_[POL_ERR_LEN] = "";					\
		const char *t_ = (text);					\
		if (policy_parse_buf((p), "t", t_, strlen(t_), e_, sizeof(e_), NULL)) { \
			TEST_FAIL("text refused: %s", e_);			\
			return;							\
		}								\
	} while (0)

static bool same_policy(const struct policy *a, const struct policy *b)
{
	return a->nrules == b->nrules &&
	       !memcmp(a->rules, b->rules, a->nrules * sizeof(a->rules[0])) &&
	       a->max_size == b->max_size && a->frag_drop == b->frag_drop &&
	       a->csum_verify == b->csum_verify && a->ncidrs == b->ncidrs &&
	       (!a->ncidrs || !memcmp(a->cidrs, b->cidrs, a->ncidrs * sizeof(a->cidrs[0])));
}

/*
 * Runs one line that must be refused with exactly msg (where is "FILE:LINE" or NULL), and
 * checks that the policy is byte for byte what it was and that nothing was warned.
 */
#define EXPECT_ERR_AT(p, s, where, msg)						\
	do {									\
		struct policy snap_;						\
		char e_[POL_ERR_LEN] = "", *wbuf_ = NULL;			\
		size_t wlen_ = 0;						\
		FILE *w_ = open_memstream(&wbuf_, &wlen_);			\
		int r_;								\
		bool same_;							\
		ASSERT_TRUE(w_);						\
		ASSERT_OK(policy_copy(&snap_, (p)));				\
		r_ = policy_line((p), (s), e_, sizeof(e_), w_, (where));	\
		fclose(w_);							\
		same_ = same_policy(&snap_, (p));				\
		policy_free(&snap_);						\
		if (r_ != -EINVAL) {						\
			TEST_FAIL("'%s': expected -EINVAL, got %d (%s)", (s), r_, e_); \
			free(wbuf_);						\
			return;							\
		}								\
		if (strcmp(e_, (msg))) {					\
			TEST_FAIL("'%s':\n      expected \"%s\"\n      got      \"%s\"", \
				  (s), (msg), e_);				\
			free(wbuf_);						\
			return;							\
		}								\
		if (!same_) {							\
			TEST_FAIL("'%s' was refused but changed the policy", (s));	\
			free(wbuf_);						\
			return;							\
		}								\
		if (wlen_) {							\
			TEST_FAIL("'%s' was refused but warned: %s", (s), wbuf_);	\
			free(wbuf_);						\
			return;							\
		}								\
		free(wbuf_);							\
	} while (0)

#define EXPECT_ERR(p, s, msg)	EXPECT_ERR_AT(p, s, NULL, msg)

static const struct pol_rule *find(const struct policy *p, int fam, int type, int code)
{
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].fam == fam && p->rules[i].type == type && p->rules[i].code == code)
			return &p->rules[i];
	return NULL;
}

static const struct pol_cidr *find_cidr_s(const struct policy *p, const char *s)
{
	struct pol_cidr c;
	char e[POL_ERR_LEN];

	if (parse_cidr(s, &c, e, sizeof(e)))
		return NULL;
	for (int i = 0; i < p->ncidrs; i++)
		if (p->cidrs[i].fam == c.fam && p->cidrs[i].plen == c.plen &&
		    !memcmp(p->cidrs[i].addr, c.addr, 16))
			return &p->cidrs[i];
	return NULL;
}

#define ASSERT_LIMIT(l, cnt, pm, b, given)					\
	do {									\
		ASSERT_EQ((l).count, (cnt));					\
		ASSERT_EQ((l).per_minute, (pm));				\
		ASSERT_EQ((l).burst, (b));					\
		ASSERT_EQ((l).burst_given, (given));				\
	} while (0)

/* What a statement means, not how it got there: limits that are not in force are ignored. */
static bool limit_eq(const struct pol_limit *a, const struct pol_limit *b)
{
	return a->count == b->count && a->per_minute == b->per_minute && a->burst == b->burst &&
	       a->burst_given == b->burst_given;
}

static bool rule_eq(const struct pol_rule *a, const struct pol_rule *b)
{
	if (a->fam != b->fam || a->type != b->type || a->code != b->code || a->action != b->action)
		return false;
	if (a->action != IW_ACT_RATE)
		return true;
	if (a->has_global != b->has_global || a->has_src != b->has_src)
		return false;
	if (a->has_global && !limit_eq(&a->global, &b->global))
		return false;
	if (a->has_src && (!limit_eq(&a->src, &b->src) || a->src_plen != b->src_plen))
		return false;
	return true;
}

/* Same rules (as a set), same CIDRs (as a set) and same settings. */
static bool equal_policy(const struct policy *a, const struct policy *b)
{
	if (a->nrules != b->nrules || a->ncidrs != b->ncidrs || a->max_size != b->max_size ||
	    a->frag_drop != b->frag_drop || a->csum_verify != b->csum_verify)
		return false;
	for (int i = 0; i < a->nrules; i++) {
		const struct pol_rule *r = &a->rules[i], *o = find(b, r->fam, r->type, r->code);

		if (!o || !rule_eq(r, o))
			return false;
	}
	for (int i = 0; i < a->ncidrs; i++) {
		bool found = false;

		for (int k = 0; k < b->ncidrs && !found; k++)
			found = a->cidrs[i].fam == b->cidrs[k].fam &&
				a->cidrs[i].plen == b->cidrs[k].plen &&
				a->cidrs[i].list == b->cidrs[k].list &&
				!memcmp(a->cidrs[i].addr, b->cidrs[k].addr, 16);
		if (!found)
			return false;
	}
	return true;
}

/* policy_show into a malloc'd string. */
static char *show(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	policy_show(p, f);
	fclose(f);
	return buf;
}

/* Warnings written by one line, into a malloc'd string. */
static char *warnings_of(struct policy *p, const char *line, const char *where, int *ret)
{
	char *buf = NULL, e[POL_ERR_LEN] = "";
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*ret = policy_line(p, line, e, sizeof(e), f, where);
	fclose(f);
	return buf;
}

/* interval = round(2^32 * HZ * (60 per minute) / count) to a multiple of 256 */
static uint64_t want_interval(uint32_t hz, uint32_t count, bool per_minute)
{
	uint64_t num = ((uint64_t)hz * (per_minute ? 60 : 1)) << 32;
	uint64_t unit = (uint64_t)count * 256;

	return (num + unit / 2) / unit * 256;
}

static int count_fresh(const bool *fresh)
{
	int n = 0;

	for (int i = 0; i < IW_MAX_BUCKETS; i++)
		n += fresh[i];
	return n;
}

/* rules[] index of a key in a compiled policy (0: none). */
static int kidx(const struct iw_policy *k, int fam, int type, int code)
{
	int ct;

	if (code < 0)
		return k->type_rule[fam][type];
	ct = k->type_codes[fam][type];
	return ct ? k->code_rule[ct - 1][code] : 0;
}

static const struct iw_rule *krule(const struct iw_policy *k, int fam, int type, int code)
{
	int i = kidx(k, fam, type, code);

	return i ? &k->rules[i] : NULL;
}

#define COMPILE(p, old, hz, out, fresh)						\
	do {									\
		char e_[POL_ERR_LEN] = "";					\
		if (policy_compile((p), (old), (hz), (out), (fresh), e_, sizeof(e_))) { \
			TEST_FAIL("compile failed: %s", e_);			\
			return;							\
		}								\
	} while (0)

#define ICMP	IW_FAM_ICMP
#define ICMP6	IW_FAM_ICMPV6

/* Used by the error tests: every kind of setting and rule, so a statement that leaks a
 * change anywhere shows. */
static const char *base_text =
	"max-size 1500\n"
	"fragments drop\n"
	"checksum verify\n"
	"allow 10.0.0.0/8\n"
	"deny 2001:db8::/32\n"
	"rate echo-request 10/second burst 20\n"
	"rate icmp echo-request 2/second per-source /24\n"
	"drop icmp timestamp-request\n"
	"drop icmp destination-unreachable code 5\n";

/* ---- 1. statements ------------------------------------------------------------------- */

TEST(rate_name_applies_to_both_families)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "rate echo-request 10/second");
	ASSERT_EQ(p.nrules, 2);
	r = find(&p, ICMP, 8, -1);
	ASSERT_TRUE(r);
	ASSERT_EQ(r->action, IW_ACT_RATE);
	ASSERT_TRUE(r->has_global);
	ASSERT_TRUE(!r->has_src);
	ASSERT_LIMIT(r->global, 10, false, 10, false);
	r = find(&p, ICMP6, 128, -1);
	ASSERT_TRUE(r);
	ASSERT_EQ(r->action, IW_ACT_RATE);
	ASSERT_TRUE(r->has_global);
	ASSERT_LIMIT(r->global, 10, false, 10, false);
	policy_free(&p);
}

TEST(rate_with_family)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 5/s");
	ASSERT_EQ(p.nrules, 1);
	ASSERT_TRUE(find(&p, ICMP, 8, -1));
	APPLY(&p, "rate icmpv6 echo-reply 5/s");
	ASSERT_EQ(p.nrules, 2);
	ASSERT_TRUE(find(&p, ICMP6, 129, -1));
	ASSERT_TRUE(!find(&p, ICMP, 0, -1));
	policy_free(&p);
}

TEST(rate_units_and_default_burst)
{
	static const struct {
		const char *rate;
		uint32_t count;
		bool per_minute;
		uint32_t burst;
	} cases[] = {
		{ "7/second", 7, false, 7 },
		{ "7/s", 7, false, 7 },
		{ "7/sec", 7, false, 7 },
		{ "1/s", 1, false, 1 },
		{ "100000000/s", 100000000, false, 100000000 },
		{ "600/minute", 600, true, 10 },
		{ "120/m", 120, true, 2 },
		{ "119/min", 119, true, 1 },
		{ "60/minute", 60, true, 1 },
		{ "59/minute", 59, true, 1 },
		{ "1/minute", 1, true, 1 },
		{ "100000000/minute", 100000000, true, 1666666 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy p;
		char line[128];
		const struct pol_rule *r;

		policy_init(&p);
		snprintf(line, sizeof(line), "rate icmp echo-request %s", cases[i].rate);
		APPLY(&p, line);
		r = find(&p, ICMP, 8, -1);
		ASSERT_TRUE(r);
		ASSERT_LIMIT(r->global, cases[i].count, cases[i].per_minute, cases[i].burst, false);
		policy_free(&p);
	}
}

TEST(rate_burst_given)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 10/s burst 50");
	r = find(&p, ICMP, 8, -1);
	ASSERT_LIMIT(r->global, 10, false, 50, true);
	APPLY(&p, "rate icmp echo-reply 2/minute burst 1");
	r = find(&p, ICMP, 0, -1);
	ASSERT_LIMIT(r->global, 2, true, 1, true);
	/* the largest burst the tick arithmetic allows for 1/minute at HZ 1000 */
	APPLY(&p, "rate icmp redirect 1/minute burst 17895");
	r = find(&p, ICMP, 5, -1);
	ASSERT_LIMIT(r->global, 1, true, 17895, true);
	APPLY(&p, "rate icmp time-exceeded 100000000/s burst 100000000");
	r = find(&p, ICMP, 11, -1);
	ASSERT_LIMIT(r->global, 100000000, false, 100000000, true);
	policy_free(&p);
}

TEST(rate_per_source_default_prefix)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "rate echo-request 3/s per-source");
	ASSERT_EQ(p.nrules, 2);
	r = find(&p, ICMP, 8, -1);
	ASSERT_TRUE(r->has_src);
	ASSERT_TRUE(!r->has_global);
	ASSERT_EQ(r->src_plen, 32);
	ASSERT_LIMIT(r->src, 3, false, 3, false);
	r = find(&p, ICMP6, 128, -1);
	ASSERT_TRUE(r->has_src);
	ASSERT_TRUE(!r->has_global);
	ASSERT_EQ(r->src_plen, 64);
	ASSERT_LIMIT(r->src, 3, false, 3, false);
	policy_free(&p);
}

TEST(rate_per_source_given_prefix)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 3/s per-source /24");
	ASSERT_EQ(find(&p, ICMP, 8, -1)->src_plen, 24);
	APPLY(&p, "rate icmpv6 echo-request 3/s per-source /48");
	ASSERT_EQ(find(&p, ICMP6, 128, -1)->src_plen, 48);
	APPLY(&p, "rate icmp echo-reply 3/s per-source /0");
	ASSERT_EQ(find(&p, ICMP, 0, -1)->src_plen, 0);
	APPLY(&p, "rate icmp redirect 3/s per-source /32");
	ASSERT_EQ(find(&p, ICMP, 5, -1)->src_plen, 32);
	APPLY(&p, "rate icmpv6 echo-reply 3/s per-source /128");
	ASSERT_EQ(find(&p, ICMP6, 129, -1)->src_plen, 128);
	/* burst and per-source in either order */
	APPLY(&p, "rate icmp time-exceeded 4/minute per-source /16 burst 9");
	r = find(&p, ICMP, 11, -1);
	ASSERT_EQ(r->src_plen, 16);
	ASSERT_LIMIT(r->src, 4, true, 9, true);
	APPLY(&p, "rate icmp parameter-problem 4/minute burst 9 per-source /16");
	r = find(&p, ICMP, 12, -1);
	ASSERT_EQ(r->src_plen, 16);
	ASSERT_LIMIT(r->src, 4, true, 9, true);
	policy_free(&p);
}

TEST(drop_and_pass_forms)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "drop icmp timestamp-request");
	r = find(&p, ICMP, 13, -1);
	ASSERT_EQ(r->action, IW_ACT_DROP);
	ASSERT_TRUE(!r->has_global && !r->has_src);
	APPLY(&p, "pass icmp destination-unreachable code frag-needed");
	r = find(&p, ICMP, 3, 4);
	ASSERT_EQ(r->action, IW_ACT_PASS);
	APPLY(&p, "drop icmpv6 type 200");
	ASSERT_EQ(find(&p, ICMP6, 200, -1)->action, IW_ACT_DROP);
	APPLY(&p, "drop icmp type 0");
	ASSERT_EQ(find(&p, ICMP, 0, -1)->action, IW_ACT_DROP);
	APPLY(&p, "drop icmp type 255 code 255");
	ASSERT_EQ(find(&p, ICMP, 255, 255)->action, IW_ACT_DROP);
	ASSERT_EQ(p.nrules, 5);
	policy_free(&p);
}

TEST(name_only_in_one_family)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "drop packet-too-big");
	ASSERT_EQ(p.nrules, 1);
	ASSERT_TRUE(find(&p, ICMP6, 2, -1));
	APPLY(&p, "drop redirect");
	ASSERT_EQ(p.nrules, 2);
	ASSERT_TRUE(find(&p, ICMP, 5, -1));
	APPLY(&p, "drop time-exceeded");
	ASSERT_EQ(p.nrules, 4);
	ASSERT_TRUE(find(&p, ICMP, 11, -1));
	ASSERT_TRUE(find(&p, ICMP6, 3, -1));
	policy_free(&p);
}

TEST(codes_by_number_and_name)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "drop icmp destination-unreachable code port-unreachable");
	ASSERT_TRUE(find(&p, ICMP, 3, 3));
	APPLY(&p, "drop icmp type 3 code 13");
	ASSERT_TRUE(find(&p, ICMP, 3, 13));
	/* aliases */
	APPLY(&p, "drop icmp destination-unreachable code protocol-unreachable");
	ASSERT_TRUE(find(&p, ICMP, 3, 2));
	APPLY(&p, "drop icmp destination-unreachable code prot-unreachable");
	APPLY(&p, "drop icmp destination-unreachable code fragmentation-needed");
	ASSERT_TRUE(find(&p, ICMP, 3, 4));
	ASSERT_EQ(p.nrules, 4);
	/* a code name without a family: each family's own number */
	policy_free(&p);
	policy_init(&p);
	APPLY(&p, "drop destination-unreachable code port-unreachable");
	ASSERT_EQ(p.nrules, 2);
	ASSERT_TRUE(find(&p, ICMP, 3, 3));
	ASSERT_TRUE(find(&p, ICMP6, 1, 4));
	APPLY(&p, "drop time-exceeded code 1");
	ASSERT_EQ(p.nrules, 4);
	ASSERT_TRUE(find(&p, ICMP, 11, 1));
	ASSERT_TRUE(find(&p, ICMP6, 3, 1));
	APPLY(&p, "drop time-exceeded code reassembly-exceeded");	/* 1 in both */
	ASSERT_EQ(p.nrules, 4);
	/* a code name of one family's type only: that family only */
	APPLY(&p, "drop destination-unreachable code host-unreachable");
	ASSERT_EQ(p.nrules, 5);
	ASSERT_TRUE(find(&p, ICMP, 3, 1));
	ASSERT_TRUE(!find(&p, ICMP6, 1, 1));
	APPLY(&p, "drop destination-unreachable code no-route");
	ASSERT_EQ(p.nrules, 6);
	ASSERT_TRUE(find(&p, ICMP6, 1, 0));
	ASSERT_TRUE(!find(&p, ICMP, 3, 0));
	APPLY(&p, "rate time-exceeded code ttl-exceeded 1/s per-source");
	ASSERT_EQ(p.nrules, 7);
	ASSERT_EQ(find(&p, ICMP, 11, 0)->src_plen, 32);
	ASSERT_TRUE(!find(&p, ICMP6, 3, 0));
	/* type alias */
	APPLY(&p, "drop mld-listener-reduction");
	ASSERT_TRUE(find(&p, ICMP6, 132, -1));
	APPLY(&p, "drop icmpv6 mld-listener-done");
	ASSERT_EQ(p.nrules, 8);
	policy_free(&p);
}

TEST(settings)
{
	struct policy p;

	policy_init(&p);
	ASSERT_EQ(p.max_size, 0);
	ASSERT_TRUE(!p.frag_drop && !p.csum_verify);
	APPLY(&p, "max-size 1500");
	ASSERT_EQ(p.max_size, 1500);
	APPLY(&p, "max-size 28");
	ASSERT_EQ(p.max_size, 28);
	APPLY(&p, "max-size 65535");
	ASSERT_EQ(p.max_size, 65535);
	APPLY(&p, "max-size off");
	ASSERT_EQ(p.max_size, 0);
	APPLY(&p, "fragments drop");
	ASSERT_TRUE(p.frag_drop);
	APPLY(&p, "fragments pass");
	ASSERT_TRUE(!p.frag_drop);
	APPLY(&p, "checksum verify");
	ASSERT_TRUE(p.csum_verify);
	APPLY(&p, "checksum ignore");
	ASSERT_TRUE(!p.csum_verify);
	ASSERT_EQ(p.nrules, 0);
	ASSERT_EQ(p.ncidrs, 0);
	policy_free(&p);
}

TEST(cidrs)
{
	static const uint8_t v6_32[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t v6_1[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t zero[16] = {};
	struct policy p;
	const struct pol_cidr *c;
	char buf[64];

	policy_init(&p);
	APPLY(&p, "allow 10.0.0.0/8");
	APPLY(&p, "deny 192.0.2.1");
	APPLY(&p, "allow 2001:db8::/32");
	APPLY(&p, "deny 2001:db8::1");
	APPLY(&p, "deny 0.0.0.0/0");
	APPLY(&p, "allow ::/0");
	ASSERT_EQ(p.ncidrs, 6);

	c = &p.cidrs[0];
	ASSERT_EQ(c->fam, ICMP);
	ASSERT_EQ(c->plen, 8);
	ASSERT_EQ(c->list, IW_CIDR_ALLOW);
	ASSERT_TRUE(!memcmp(c->addr, (uint8_t[16]){ 10 }, 16));
	c = &p.cidrs[1];
	ASSERT_EQ(c->fam, ICMP);
	ASSERT_EQ(c->plen, 32);	/* a bare address is a /32 */
	ASSERT_EQ(c->list, IW_CIDR_DENY);
	ASSERT_TRUE(!memcmp(c->addr, (uint8_t[16]){ 192, 0, 2, 1 }, 16));
	c = &p.cidrs[2];
	ASSERT_EQ(c->fam, ICMP6);
	ASSERT_EQ(c->plen, 32);
	ASSERT_EQ(c->list, IW_CIDR_ALLOW);
	ASSERT_TRUE(!memcmp(c->addr, v6_32, 16));
	c = &p.cidrs[3];
	ASSERT_EQ(c->fam, ICMP6);
	ASSERT_EQ(c->plen, 128);	/* a bare address is a /128 */
	ASSERT_TRUE(!memcmp(c->addr, v6_1, 16));
	c = &p.cidrs[4];
	ASSERT_EQ(c->fam, ICMP);
	ASSERT_EQ(c->plen, 0);
	ASSERT_TRUE(!memcmp(c->addr, zero, 16));
	c = &p.cidrs[5];
	ASSERT_EQ(c->fam, ICMP6);
	ASSERT_EQ(c->plen, 0);

	/* another spelling of the same prefix is the same prefix */
	APPLY(&p, "deny 2001:0DB8:0:0::/32");
	ASSERT_EQ(p.ncidrs, 6);
	ASSERT_EQ(p.cidrs[2].list, IW_CIDR_DENY);
	APPLY(&p, "allow 10.0.0.0/08");	/* a leading zero in the length is fine */
	ASSERT_EQ(p.ncidrs, 6);
	ASSERT_EQ(p.cidrs[0].list, IW_CIDR_ALLOW);
	policy_free(&p);

	/* format_cidr: canonical text, no /32 or /128 */
	policy_init(&p);
	APPLY(&p, "allow 2001:0DB8:0000::/48");
	APPLY(&p, "allow 198.51.100.7/32");
	APPLY(&p, "allow 2001:db8::0:1/128");
	format_cidr(&p.cidrs[0], buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "2001:db8::/48");
	format_cidr(&p.cidrs[1], buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "198.51.100.7");
	format_cidr(&p.cidrs[2], buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "2001:db8::1");
	policy_free(&p);
}

TEST(whitespace_and_comments)
{
	struct policy p;
	char e[POL_ERR_LEN];

	policy_init(&p);
	APPLY(&p, "  drop\ticmp   echo-request \t # no pings");
	ASSERT_EQ(p.nrules, 1);
	ASSERT_TRUE(find(&p, ICMP, 8, -1));
	APPLY(&p, "# drop icmp echo-reply");
	APPLY(&p, "");
	APPLY(&p, "   \t  ");
	APPLY(&p, "drop icmp redirect#comment right after");
	ASSERT_EQ(p.nrules, 2);
	ASSERT_OK(policy_line(&p, "max-size 100\r\n", e, sizeof(e), NULL, NULL));
	ASSERT_EQ(p.max_size, 100);
	policy_free(&p);
}

TEST(statement_from_words)
{
	struct policy p;
	char e[POL_ERR_LEN];
	char *w1[] = { "rate", "icmp", "echo-request", "5/s", "per-source", "/24" };
	char *w2[] = { "drop", "icmp", "nonsense" };

	policy_init(&p);
	ASSERT_OK(policy_statement(&p, 6, w1, e, sizeof(e), NULL, NULL));
	ASSERT_EQ(find(&p, ICMP, 8, -1)->src_plen, 24);
	ASSERT_EQ(policy_statement(&p, 0, w1, e, sizeof(e), NULL, NULL), -EINVAL);
	ASSERT_STR_EQ(e, "empty statement");
	ASSERT_EQ(policy_statement(&p, 3, w2, e, sizeof(e), NULL, NULL), -EINVAL);
	ASSERT_STR_EQ(e, "unknown ICMP type 'nonsense'");
	ASSERT_EQ(policy_statement(&p, 3, w2, e, sizeof(e), NULL, ""), -EINVAL);
	ASSERT_STR_EQ(e, "unknown ICMP type 'nonsense'");
	ASSERT_EQ(policy_statement(&p, 3, w2, e, sizeof(e), NULL, "set"), -EINVAL);
	ASSERT_STR_EQ(e, "set: unknown ICMP type 'nonsense'");
	ASSERT_EQ(p.nrules, 1);
	policy_free(&p);
}

TEST(nd_warning)
{
	struct policy p;
	char *w;
	int ret;

	policy_init(&p);
	w = warnings_of(&p, "drop icmpv6 nd-neighbor-solicit", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "icmpwall: warning: this rule touches IPv6 neighbour discovery "
		      "(nd-neighbor-solicit); a mistake here cuts the host off from its "
		      "neighbours\n");
	free(w);
	w = warnings_of(&p, "rate icmpv6 type 134 10/s", "f.conf:4", &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "icmpwall: warning: f.conf:4: this rule touches IPv6 neighbour "
		      "discovery (nd-router-advert); a mistake here cuts the host off from its "
		      "neighbours\n");
	free(w);
	w = warnings_of(&p, "drop nd-redirect code 0", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_TRUE(strstr(w, "(nd-redirect)"));
	free(w);
	/* a max-size no ICMPv6 packet fits under: allowed, said */
	w = warnings_of(&p, "max-size 47", "f.conf:2", &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "icmpwall: warning: f.conf:2: max-size 47 drops every ICMPv6 packet "
		      "but neighbour discovery and allowed sources (IPv6 and ICMPv6 headers: "
		      "48 bytes)\n");
	free(w);
	w = warnings_of(&p, "max-size 48", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	/* 133..137 only */
	w = warnings_of(&p, "drop icmpv6 type 132", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	w = warnings_of(&p, "drop icmpv6 type 138", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	w = warnings_of(&p, "drop icmpv6 type 133", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_TRUE(strstr(w, "(nd-router-solicit)"));
	free(w);
	w = warnings_of(&p, "drop echo-request", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	/* ICMP (v4) types 133..137 are not neighbour discovery */
	w = warnings_of(&p, "drop icmp type 135", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	/* pass restores the default: nothing to warn about */
	w = warnings_of(&p, "pass icmpv6 nd-neighbor-solicit", NULL, &ret);
	ASSERT_OK(ret);
	ASSERT_STR_EQ(w, "");
	free(w);
	/* no stream: no warning, no crash */
	APPLY(&p, "drop icmpv6 nd-neighbor-advert");
	policy_free(&p);
}

/* ---- 2. errors ------------------------------------------------------------------------- */

TEST(error_where_prefix)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR_AT(&p, "frobnicate", "policy.conf:3",
		      "policy.conf:3: unknown statement 'frobnicate' (expected rate, drop, pass, "
		      "max-size, fragments, checksum, allow or deny)");
	EXPECT_ERR_AT(&p, "drop icmp echo-request now", "set", "set: unexpected 'now'");
	policy_free(&p);
}

TEST(error_statement_and_type)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "frobnicate icmp echo-request",
		   "unknown statement 'frobnicate' (expected rate, drop, pass, max-size, fragments, "
		   "checksum, allow or deny)");
	EXPECT_ERR(&p, "Drop icmp echo-request",
		   "unknown statement 'Drop' (expected rate, drop, pass, max-size, fragments, "
		   "checksum, allow or deny)");
	EXPECT_ERR(&p, "drop echo-requests", "unknown ICMP type 'echo-requests'");
	EXPECT_ERR(&p, "drop icmp bogus", "unknown ICMP type 'bogus'");
	EXPECT_ERR(&p, "drop icmp packet-too-big",
		   "'packet-too-big' is not an icmp type (it is an icmpv6 type)");
	EXPECT_ERR(&p, "rate icmp nd-neighbor-solicit 1/s",
		   "'nd-neighbor-solicit' is not an icmp type (it is an icmpv6 type)");
	EXPECT_ERR(&p, "drop icmpv6 redirect",
		   "'redirect' is not an icmpv6 type (it is an icmp type)");
	EXPECT_ERR(&p, "drop icmpv6 timestamp-request",
		   "'timestamp-request' is not an icmpv6 type (it is an icmp type)");
	EXPECT_ERR(&p, "drop type 8",
		   "a numeric type needs a family: 'icmp type 8' or 'icmpv6 type 8'");
	EXPECT_ERR(&p, "pass type 0 code 1",
		   "a numeric type needs a family: 'icmp type 0' or 'icmpv6 type 0'");
	EXPECT_ERR(&p, "drop 8", "a numeric type is written 'icmp type 8' or 'icmpv6 type 8'");
	EXPECT_ERR(&p, "drop icmp 8", "a numeric type is written 'icmp type 8' or 'icmpv6 type 8'");
	EXPECT_ERR(&p, "drop icmp type 256", "'type' needs a number from 0 to 255, got '256'");
	EXPECT_ERR(&p, "drop icmpv6 type -1", "'type' needs a number from 0 to 255, got '-1'");
	EXPECT_ERR(&p, "drop icmp type x", "'type' needs a number from 0 to 255, got 'x'");
	EXPECT_ERR(&p, "drop icmp type", "'type' needs a number from 0 to 255, got ''");
	EXPECT_ERR(&p, "drop type", "'type' needs a number from 0 to 255, got ''");
	EXPECT_ERR(&p, "drop icmp", "'drop' needs an ICMP type (a name, or 'type N')");
	EXPECT_ERR(&p, "pass", "'pass' needs an ICMP type (a name, or 'type N')");
	EXPECT_ERR(&p, "rate icmpv6", "'rate' needs an ICMP type (a name, or 'type N')");
	policy_free(&p);
}

TEST(error_code)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "drop icmp destination-unreachable code port-unreach",
		   "'port-unreach' is not a code of icmp destination-unreachable");
	EXPECT_ERR(&p, "drop icmpv6 destination-unreachable code host-unreachable",
		   "'host-unreachable' is not a code of icmpv6 destination-unreachable");
	EXPECT_ERR(&p, "drop icmp type 42 code foo", "'foo' is not a code of icmp type 42");
	EXPECT_ERR(&p, "drop icmp echo-request code 256",
		   "'256' is not a code of icmp echo-request");
	EXPECT_ERR(&p, "drop icmp echo-request code", "'code' needs a number or a name");
	/* without a family: refused only when neither family's type has the code */
	EXPECT_ERR(&p, "drop destination-unreachable code bogus",
		   "'bogus' is not a code of destination-unreachable in either family");
	EXPECT_ERR(&p, "drop time-exceeded code port-unreachable",
		   "'port-unreachable' is not a code of time-exceeded in either family");
	EXPECT_ERR(&p, "rate icmp echo-request 5/s code 0", "unexpected 'code'");
	policy_free(&p);
}

TEST(error_rate)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "rate icmp echo-request", "'rate' needs a rate like 100/second");
	EXPECT_ERR(&p, "rate icmp echo-request 10",
		   "expected a rate like 100/second or 10/minute, got '10'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/hour",
		   "expected a rate like 100/second or 10/minute, got '10/hour'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/Second",
		   "expected a rate like 100/second or 10/minute, got '10/Second'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/",
		   "expected a rate like 100/second or 10/minute, got '10/'");
	EXPECT_ERR(&p, "rate icmp echo-request /second",
		   "expected a rate like 100/second or 10/minute, got '/second'");
	EXPECT_ERR(&p, "rate icmp echo-request ten/second",
		   "expected a rate like 100/second or 10/minute, got 'ten/second'");
	EXPECT_ERR(&p, "rate icmp echo-request -5/second",
		   "expected a rate like 100/second or 10/minute, got '-5/second'");
	EXPECT_ERR(&p, "rate icmp echo-request 1e3/s",
		   "expected a rate like 100/second or 10/minute, got '1e3/s'");
	EXPECT_ERR(&p, "rate icmp echo-request 5/s/s",
		   "expected a rate like 100/second or 10/minute, got '5/s/s'");
	EXPECT_ERR(&p, "rate icmp echo-request 12345678901234567890123/s",
		   "expected a rate like 100/second or 10/minute, got '12345678901234567890123/s'");
	EXPECT_ERR(&p, "rate icmp echo-request 0/second",
		   "rate out of range: '0/second' (1 to 100000000 per second or per minute)");
	EXPECT_ERR(&p, "rate icmp echo-request 0/minute",
		   "rate out of range: '0/minute' (1 to 100000000 per second or per minute)");
	EXPECT_ERR(&p, "rate icmp echo-request 100000001/s",
		   "rate out of range: '100000001/s' (1 to 100000000 per second or per minute)");
	EXPECT_ERR(&p, "rate icmp echo-request 100000001/minute",
		   "rate out of range: '100000001/minute' (1 to 100000000 per second or per minute)");
	/* numbers past 2^64 must not wrap around into a small rate */
	EXPECT_ERR(&p, "rate icmp echo-request 18446744073709551619/second",
		   "expected a rate like 100/second or 10/minute, got '18446744073709551619/second'");
	EXPECT_ERR(&p, "rate icmp echo-request 18446744073709551616/s",
		   "expected a rate like 100/second or 10/minute, got '18446744073709551616/s'");
	policy_free(&p);
}

TEST(error_burst)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst",
		   "'burst' needs a number from 1 to 100000000, got ''");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst 0",
		   "'burst' needs a number from 1 to 100000000, got '0'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst 100000001",
		   "'burst' needs a number from 1 to 100000000, got '100000001'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst 99999999999",
		   "'burst' needs a number from 1 to 100000000, got '99999999999'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst x",
		   "'burst' needs a number from 1 to 100000000, got 'x'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s burst per-source",
		   "'burst' needs a number from 1 to 100000000, got 'per-source'");
	/* within the range of 'burst' but past what the tick arithmetic holds */
	EXPECT_ERR(&p, "rate icmp echo-request 1/minute burst 17896",
		   "burst 17896 is too large for 1/minute");
	EXPECT_ERR(&p, "rate icmp echo-request 1/minute burst 100000000",
		   "burst 100000000 is too large for 1/minute");
	EXPECT_ERR(&p, "rate icmp echo-request 1/second burst 100000000 per-source",
		   "burst 100000000 is too large for 1/second");
	policy_free(&p);
}

TEST(error_per_source_prefix)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "rate icmp echo-request 10/s per-source /33",
		   "invalid prefix length '/33' for per-source (/0 to /32)");
	EXPECT_ERR(&p, "rate icmpv6 echo-request 10/s per-source /129",
		   "invalid prefix length '/129' for per-source (/0 to /128)");
	/* a length is one family's: /24 is an IPv4 network and an enormous IPv6 one */
	EXPECT_ERR(&p, "rate echo-request 10/s per-source /64",
		   "per-source /64 needs a family: 'rate icmp ...' or 'rate icmpv6 ...'");
	EXPECT_ERR(&p, "rate echo-request 10/s per-source /24",
		   "per-source /24 needs a family: 'rate icmp ...' or 'rate icmpv6 ...'");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s per-source /",
		   "invalid prefix length '/' for per-source (/0 to /32)");
	EXPECT_ERR(&p, "rate icmpv6 echo-request 10/s per-source /x",
		   "invalid prefix length '/x' for per-source (/0 to /128)");
	EXPECT_ERR(&p, "rate icmpv6 echo-request 10/s per-source /-1",
		   "invalid prefix length '/-1' for per-source (/0 to /128)");
	EXPECT_ERR(&p, "rate icmp echo-request 10/s per-source 24", "unexpected '24'");
	policy_free(&p);
}

TEST(error_trailing_words)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "drop icmp echo-request now", "unexpected 'now'");
	EXPECT_ERR(&p, "drop icmp echo-request code 0 1", "unexpected '1'");
	EXPECT_ERR(&p, "pass icmp echo-request 5/s", "unexpected '5/s'");
	EXPECT_ERR(&p, "drop icmp echo-request burst 5", "unexpected 'burst'");
	EXPECT_ERR(&p, "drop icmp echo-request per-source", "unexpected 'per-source'");
	EXPECT_ERR(&p, "rate icmp echo-request 5/s 6/s", "unexpected '6/s'");
	EXPECT_ERR(&p, "rate icmp echo-request 5/s burst 3 extra", "unexpected 'extra'");
	EXPECT_ERR(&p, "drop icmp icmpv6 echo-request", "unknown ICMP type 'icmpv6'");
	policy_free(&p);
}

TEST(error_settings)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "max-size", "'max-size' needs a size in bytes or 'off'");
	EXPECT_ERR(&p, "max-size 27", "'max-size' needs a size from 28 to 65535 bytes or 'off', "
		   "got '27'");
	EXPECT_ERR(&p, "max-size 0", "'max-size' needs a size from 28 to 65535 bytes or 'off', "
		   "got '0'");
	EXPECT_ERR(&p, "max-size 65536", "'max-size' needs a size from 28 to 65535 bytes or "
		   "'off', got '65536'");
	EXPECT_ERR(&p, "max-size 99999999999", "'max-size' needs a size from 28 to 65535 bytes "
		   "or 'off', got '99999999999'");
	EXPECT_ERR(&p, "max-size on", "'max-size' needs a size from 28 to 65535 bytes or 'off', "
		   "got 'on'");
	EXPECT_ERR(&p, "max-size 1.5k", "'max-size' needs a size from 28 to 65535 bytes or "
		   "'off', got '1.5k'");
	EXPECT_ERR(&p, "max-size 1500 bytes", "unexpected 'bytes'");
	EXPECT_ERR(&p, "max-size off now", "unexpected 'now'");
	EXPECT_ERR(&p, "fragments", "'fragments' takes 'pass' or 'drop'");
	EXPECT_ERR(&p, "fragments maybe", "'fragments' takes 'pass' or 'drop', got 'maybe'");
	EXPECT_ERR(&p, "fragments Drop", "'fragments' takes 'pass' or 'drop', got 'Drop'");
	EXPECT_ERR(&p, "fragments pass now", "unexpected 'now'");
	EXPECT_ERR(&p, "checksum", "'checksum' takes 'ignore' or 'verify'");
	EXPECT_ERR(&p, "checksum on", "'checksum' takes 'ignore' or 'verify', got 'on'");
	EXPECT_ERR(&p, "checksum verify ignore", "unexpected 'ignore'");
	policy_free(&p);
}

TEST(error_cidr)
{
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	EXPECT_ERR(&p, "allow", "'allow' needs an address or prefix");
	EXPECT_ERR(&p, "deny", "'deny' needs an address or prefix");
	EXPECT_ERR(&p, "deny 10.0.0.0/8 10.1.0.0/16", "'deny' takes one address or prefix");
	EXPECT_ERR(&p, "allow example.com", "invalid address or prefix 'example.com'");
	EXPECT_ERR(&p, "allow 10.0.0/8", "invalid address or prefix '10.0.0/8'");
	EXPECT_ERR(&p, "allow 010.0.0.0/8", "invalid address or prefix '010.0.0.0/8'");
	EXPECT_ERR(&p, "allow 10.0.0.256", "invalid address or prefix '10.0.0.256'");
	EXPECT_ERR(&p, "allow 2001:db8:::/32", "invalid address or prefix '2001:db8:::/32'");
	EXPECT_ERR(&p, "allow /8", "invalid address or prefix '/8'");
	EXPECT_ERR(&p, "allow 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64",
		   "invalid address or prefix '1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:"
		   "bbbb/64'");
	EXPECT_ERR(&p, "allow 10.0.0.0/33", "invalid prefix length in '10.0.0.0/33' (0 to 32)");
	EXPECT_ERR(&p, "allow 10.0.0.0/", "invalid prefix length in '10.0.0.0/' (0 to 32)");
	EXPECT_ERR(&p, "allow 10.0.0.0/x", "invalid prefix length in '10.0.0.0/x' (0 to 32)");
	EXPECT_ERR(&p, "allow 10.0.0.0/-8", "invalid prefix length in '10.0.0.0/-8' (0 to 32)");
	EXPECT_ERR(&p, "deny 2001:db8::/129",
		   "invalid prefix length in '2001:db8::/129' (0 to 128)");
	EXPECT_ERR(&p, "allow 10.0.0.1/8",
		   "'10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)");
	EXPECT_ERR(&p, "deny 192.0.2.128/24",
		   "'192.0.2.128/24' has host bits set (did you mean 192.0.2.0/24?)");
	EXPECT_ERR(&p, "deny 10.0.0.0/0", "'10.0.0.0/0' has host bits set (did you mean 0.0.0.0/0?)");
	EXPECT_ERR(&p, "deny 2001:db8::1/64",
		   "'2001:db8::1/64' has host bits set (did you mean 2001:db8::/64?)");
	EXPECT_ERR(&p, "allow 2001:db8:8000::/32",
		   "'2001:db8:8000::/32' has host bits set (did you mean 2001:db8::/32?)");
	APPLY(&p, "allow 2001:db8:8000::/33");
	policy_free(&p);
}

TEST(error_too_many_rules)
{
	struct policy p;
	char line[64];

	policy_init(&p);
	for (int t = 0; t < IW_MAX_RULES; t++) {
		snprintf(line, sizeof(line), "drop icmp type %d", t);
		APPLY(&p, line);
	}
	ASSERT_EQ(p.nrules, 255);
	EXPECT_ERR(&p, "drop icmp type 255", "too many rules (at most 255)");
	EXPECT_ERR(&p, "drop icmpv6 echo-request", "too many rules (at most 255)");
	/* refused: no neighbour discovery warning either */
	EXPECT_ERR(&p, "drop icmpv6 nd-neighbor-solicit", "too many rules (at most 255)");
	EXPECT_ERR(&p, "rate icmp type 3 code 1 10/s", "too many rules (at most 255)");
	/* a statement that replaces existing rules still fits */
	EXPECT_ERR(&p, "pass icmp type 3 code 1", "too many rules (at most 255)");
	APPLY(&p, "rate icmp type 3 10/s");
	ASSERT_EQ(find(&p, ICMP, 3, -1)->action, IW_ACT_RATE);
	ASSERT_EQ(p.nrules, 255);
	policy_free(&p);

	/* 254 rules: a name for both families fits one and not the other, and adds neither */
	policy_init(&p);
	for (int t = 0, n = 0; n < IW_MAX_RULES - 1; t++) {
		if (t == 8)
			continue;
		snprintf(line, sizeof(line), "drop icmp type %d", t);
		APPLY(&p, line);
		n++;
	}
	ASSERT_EQ(p.nrules, 254);
	EXPECT_ERR(&p, "drop echo-request", "too many rules (at most 255)");
	ASSERT_TRUE(!find(&p, ICMP, 8, -1));
	APPLY(&p, "drop icmp echo-request");
	ASSERT_EQ(p.nrules, 255);
	/* pass on a type frees its slot */
	APPLY(&p, "pass icmp type 0");
	ASSERT_EQ(p.nrules, 254);
	APPLY(&p, "drop icmpv6 type 0");
	ASSERT_EQ(p.nrules, 255);
	policy_free(&p);
}

TEST(error_too_many_code_types)
{
	struct policy p;
	char line[64];

	policy_init(&p);
	for (int t = 0; t < IW_MAX_CODE_TABLES; t++) {
		snprintf(line, sizeof(line), "drop icmp type %d code 0", t);
		APPLY(&p, line);
	}
	EXPECT_ERR(&p, "drop icmp type 32 code 0", "too many types with code-level rules (at most 32)");
	EXPECT_ERR(&p, "pass icmpv6 type 0 code 0",
		   "too many types with code-level rules (at most 32)");
	EXPECT_ERR(&p, "rate icmpv6 destination-unreachable code no-route 1/s",
		   "too many types with code-level rules (at most 32)");
	/* more codes of a type that has a table, and type-level rules, still fit */
	APPLY(&p, "drop icmp type 5 code 1");
	APPLY(&p, "rate icmp type 31 code 255 1/s");
	APPLY(&p, "drop icmp type 32");
	APPLY(&p, "drop icmpv6 type 0");
	ASSERT_EQ(p.nrules, 36);
	/* removing a type's code rules frees its table */
	APPLY(&p, "pass icmp type 0");
	APPLY(&p, "drop icmp type 32 code 0");
	ASSERT_TRUE(find(&p, ICMP, 32, 0));
	policy_free(&p);
}

TEST(error_too_many_cidrs)
{
	struct policy p;
	char line[64];

	policy_init(&p);
	APPLY(&p, "allow 2001:db8::/32");
	for (int i = 0; i < POL_MAX_CIDRS; i++) {
		snprintf(line, sizeof(line), "deny 10.%d.%d.0/24", i / 256, i % 256);
		APPLY(&p, line);
	}
	ASSERT_EQ(p.ncidrs, POL_MAX_CIDRS + 1);
	EXPECT_ERR(&p, "deny 192.0.2.0/24", "too many IPv4 prefixes (at most 8192)");
	EXPECT_ERR(&p, "allow 10.0.0.0/8", "too many IPv4 prefixes (at most 8192)");
	/* an existing prefix changes list; the other family has room */
	APPLY(&p, "allow 10.0.0.0/24");
	ASSERT_EQ(find_cidr_s(&p, "10.0.0.0/24")->list, IW_CIDR_ALLOW);
	APPLY(&p, "deny 2001:db8:1::/48");
	ASSERT_EQ(p.ncidrs, POL_MAX_CIDRS + 2);
	policy_free(&p);

	policy_init(&p);
	for (int i = 0; i < POL_MAX_CIDRS; i++) {
		snprintf(line, sizeof(line), "allow 2001:db8:%x::/48", i);
		APPLY(&p, line);
	}
	EXPECT_ERR(&p, "allow ::1", "too many IPv6 prefixes (at most 8192)");
	APPLY(&p, "deny 192.0.2.1");
	policy_free(&p);
}

TEST(error_long_lines_and_words)
{
	struct policy p;
	char line[2048];

	policy_init(&p);
	APPLY_TEXT(&p, base_text);
	memset(line, 0, sizeof(line));
	line[0] = '#';
	memset(line + 1, 'x', 1022);
	APPLY(&p, line);	/* 1023 characters */
	line[1023] = 'x';
	EXPECT_ERR(&p, line, "line too long (at most 1023 characters)");
	EXPECT_ERR_AT(&p, line, "f:1", "f:1: line too long (at most 1023 characters)");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	EXPECT_ERR(&p, line, "line too long (at most 1023 characters)");

	strcpy(line, "drop icmp echo-request");
	for (int i = 0; i < 29; i++)
		strcat(line, " x");
	EXPECT_ERR(&p, line, "unexpected 'x'");	/* 32 words */
	strcat(line, " x");
	EXPECT_ERR(&p, line, "too many words");	/* 33 words */
	policy_free(&p);
}

/* ---- 3. files -------------------------------------------------------------------------- */

static const char *file_text =
	"# icmpwall policy\r\n"
	"\r\n"
	"max-size 1400   # bytes\r\n"
	"\tfragments drop\r\n"
	"   \r\n"
	"rate echo-request 10/s burst 20\r\n"
	"# rate icmp echo-reply 1/s\r\n"
	"allow 10.0.0.0/8\r\n"
	"deny 2001:db8::/32\r\n"
	"drop icmp timestamp-request";	/* no newline at the end */

static bool check_file_policy(const struct policy *p)
{
	const struct pol_rule *r = find(p, ICMP, 8, -1);

	return p->max_size == 1400 && p->frag_drop && !p->csum_verify && p->nrules == 3 &&
	       r && r->action == IW_ACT_RATE && r->global.count == 10 && r->global.burst == 20 &&
	       find(p, ICMP6, 128, -1) && find(p, ICMP, 13, -1) && !find(p, ICMP, 0, -1) &&
	       p->ncidrs == 2 && find_cidr_s(p, "10.0.0.0/8") &&
	       find_cidr_s(p, "10.0.0.0/8")->list == IW_CIDR_ALLOW &&
	       find_cidr_s(p, "2001:db8::/32")->list == IW_CIDR_DENY;
}

TEST(file_buf)
{
	struct policy p;
	char e[POL_ERR_LEN] = "";

	policy_init(&p);
	ASSERT_OK(policy_parse_buf(&p, "p.conf", file_text, strlen(file_text), e, sizeof(e), NULL));
	ASSERT_TRUE(check_file_policy(&p));
	policy_free(&p);

	/* LF endings give the same */
	policy_init(&p);
	APPLY_TEXT(&p, "max-size 1400\nfragments drop\nrate echo-request 10/s burst 20\n"
		   "allow 10.0.0.0/8\ndeny 2001:db8::/32\ndrop icmp timestamp-request\n\n\n");
	ASSERT_TRUE(check_file_policy(&p));
	policy_free(&p);

	/* empty and comment-only */
	policy_init(&p);
	ASSERT_OK(policy_parse_buf(&p, "e", "", 0, e, sizeof(e), NULL));
	APPLY_TEXT(&p, "# nothing\n\n  # at all\n");
	ASSERT_EQ(p.nrules, 0);
	ASSERT_EQ(p.max_size, 0);
	policy_free(&p);
}

TEST(file_buf_error_line)
{
	static const char text[] =
		"# line 1\n"
		"max-size 1400\n"
		"\n"
		"drop icmp echo-request\n"
		"# line 5\n"
		"fragments drop\r\n"
		"rate icmp echo-reply 10/fortnight\n"
		"drop icmp redirect\n";
	struct policy p;
	char e[POL_ERR_LEN] = "";

	policy_init(&p);
	ASSERT_EQ(policy_parse_buf(&p, "name", text, strlen(text), e, sizeof(e), NULL), -EINVAL);
	ASSERT_STR_EQ(e, "name:7: expected a rate like 100/second or 10/minute, got '10/fortnight'");
	/* the lines after the error are not read */
	ASSERT_TRUE(!find(&p, ICMP, 5, -1));
	ASSERT_TRUE(!find(&p, ICMP, 0, -1));
	policy_free(&p);
}

TEST(file_buf_nul_and_long_line)
{
	static const char nul[] = "drop icmp echo-request\ndr\0op icmp redirect\n";
	struct policy p;
	char e[POL_ERR_LEN] = "", *big;
	size_t n = 0;

	policy_init(&p);
	ASSERT_EQ(policy_parse_buf(&p, "bin", nul, sizeof(nul) - 1, e, sizeof(e), NULL), -EINVAL);
	ASSERT_STR_EQ(e, "bin:2: binary data (a NUL byte)");
	policy_free(&p);

	big = malloc(4096);
	ASSERT_TRUE(big);
	n += sprintf(big, "max-size 100\n#");
	memset(big + n, 'x', 2000);
	n += 2000;
	big[n++] = '\n';
	policy_init(&p);
	ASSERT_EQ(policy_parse_buf(&p, "long", big, n, e, sizeof(e), NULL), -EINVAL);
	ASSERT_STR_EQ(e, "long:2: line too long (at most 1023 characters)");
	policy_free(&p);

	/* exactly 1023 characters, and 1024 */
	n = sprintf(big, "max-size 100\n#");
	memset(big + n, 'x', 1022);
	n += 1022;
	big[n++] = '\n';
	policy_init(&p);
	ASSERT_OK(policy_parse_buf(&p, "long", big, n, e, sizeof(e), NULL));
	big[n - 1] = 'x';
	big[n++] = '\n';
	ASSERT_EQ(policy_parse_buf(&p, "long", big, n, e, sizeof(e), NULL), -EINVAL);
	ASSERT_STR_EQ(e, "long:2: line too long (at most 1023 characters)");
	policy_free(&p);
	free(big);
}

TEST(file_warnings_name_the_line)
{
	static const char text[] = "drop echo-request\n\ndrop icmpv6 nd-router-advert\n";
	struct policy p;
	char e[POL_ERR_LEN] = "", *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ASSERT_TRUE(f);
	policy_init(&p);
	ASSERT_OK(policy_parse_buf(&p, "w.conf", text, strlen(text), e, sizeof(e), f));
	fclose(f);
	ASSERT_STR_EQ(buf, "icmpwall: warning: w.conf:3: this rule touches IPv6 neighbour "
		      "discovery (nd-router-advert); a mistake here cuts the host off from its "
		      "neighbours\n");
	free(buf);
	policy_free(&p);
}

TEST(file_parse_file)
{
	char path[] = "/tmp/icmpwall-test-policy-XXXXXX", e[POL_ERR_LEN] = "", want[256];
	struct policy p;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	f = fdopen(fd, "w");
	ASSERT_TRUE(f);
	fputs(file_text, f);
	fclose(f);
	policy_init(&p);
	ASSERT_OK(policy_parse_file(&p, path, e, sizeof(e), NULL));
	ASSERT_TRUE(check_file_policy(&p));
	policy_free(&p);

	f = fopen(path, "w");
	ASSERT_TRUE(f);
	fputs("max-size 100\n\n\n\n\n# 6\ndrop icmp echo-request code bogus\n", f);
	fclose(f);
	policy_init(&p);
	ASSERT_EQ(policy_parse_file(&p, path, e, sizeof(e), NULL), -EINVAL);
	snprintf(want, sizeof(want), "%s:7: 'bogus' is not a code of icmp echo-request", path);
	ASSERT_STR_EQ(e, want);
	policy_free(&p);
	unlink(path);

	policy_init(&p);
	ASSERT_EQ(policy_parse_file(&p, path, e, sizeof(e), NULL), -ENOENT);
	snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path);
	ASSERT_STR_EQ(e, want);
	ASSERT_TRUE(policy_parse_file(&p, "/tmp", e, sizeof(e), NULL) < 0);
	ASSERT_STR_EQ(e, "cannot read /tmp: Is a directory");
	policy_free(&p);
}

/* ---- 4. replacement -------------------------------------------------------------------- */

TEST(replace_drop_then_rate)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "drop icmp echo-request");
	APPLY(&p, "rate icmp echo-request 5/s");
	ASSERT_EQ(p.nrules, 1);
	r = find(&p, ICMP, 8, -1);
	ASSERT_EQ(r->action, IW_ACT_RATE);
	ASSERT_TRUE(r->has_global && !r->has_src);
	ASSERT_LIMIT(r->global, 5, false, 5, false);
	/* and at code level, per-source */
	APPLY(&p, "drop icmp destination-unreachable code 4");
	APPLY(&p, "rate icmp destination-unreachable code 4 1/s per-source");
	r = find(&p, ICMP, 3, 4);
	ASSERT_EQ(r->action, IW_ACT_RATE);
	ASSERT_TRUE(!r->has_global && r->has_src);
	ASSERT_EQ(r->src_plen, 32);
	ASSERT_EQ(p.nrules, 2);
	policy_free(&p);
}

TEST(replace_drop_or_pass_clears_rates)
{
	struct policy p;
	const struct pol_rule *r;
	char *s;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 5/s");
	APPLY(&p, "rate icmp echo-request 1/s per-source");
	APPLY(&p, "drop icmp echo-request");
	r = find(&p, ICMP, 8, -1);
	ASSERT_EQ(r->action, IW_ACT_DROP);
	ASSERT_TRUE(!r->has_global && !r->has_src);
	/* a rate after that starts from nothing: the old per-source limit does not come back */
	APPLY(&p, "rate icmp echo-request 7/s");
	r = find(&p, ICMP, 8, -1);
	ASSERT_TRUE(r->has_global && !r->has_src);
	ASSERT_EQ(r->global.count, 7);

	APPLY(&p, "rate icmp type 3 code 1 5/s per-source");
	APPLY(&p, "pass icmp type 3 code 1");
	r = find(&p, ICMP, 3, 1);
	ASSERT_EQ(r->action, IW_ACT_PASS);
	ASSERT_TRUE(!r->has_global && !r->has_src);
	ASSERT_EQ(p.nrules, 2);
	s = show(&p);
	ASSERT_STR_EQ(s, "max-size off\nfragments pass\nchecksum ignore\n"
		      "pass icmp destination-unreachable code host-unreachable\n"
		      "rate icmp echo-request 7/second\n");
	free(s);
	policy_free(&p);
}

TEST(replace_global_and_per_source_kept)
{
	struct policy p;
	const struct pol_rule *r;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 100/s");
	APPLY(&p, "rate icmp echo-request 5/s burst 10 per-source /24");
	ASSERT_EQ(p.nrules, 1);
	r = find(&p, ICMP, 8, -1);
	ASSERT_TRUE(r->has_global && r->has_src);
	ASSERT_LIMIT(r->global, 100, false, 100, false);
	ASSERT_LIMIT(r->src, 5, false, 10, true);
	ASSERT_EQ(r->src_plen, 24);
	/* a later global limit replaces the global one only, burst included */
	APPLY(&p, "rate icmp echo-request 6000/minute");
	ASSERT_LIMIT(r->global, 6000, true, 100, false);
	ASSERT_LIMIT(r->src, 5, false, 10, true);
	/* a later per-source limit replaces the per-source one, prefix back to the default */
	APPLY(&p, "rate icmp echo-request 2/s per-source");
	ASSERT_LIMIT(r->src, 2, false, 2, false);
	ASSERT_EQ(r->src_plen, 32);
	ASSERT_LIMIT(r->global, 6000, true, 100, false);
	/* the other order */
	APPLY(&p, "rate icmpv6 echo-request 5/s per-source");
	APPLY(&p, "rate icmpv6 echo-request 50/s");
	r = find(&p, ICMP6, 128, -1);
	ASSERT_TRUE(r->has_global && r->has_src);
	ASSERT_EQ(r->src_plen, 64);
	ASSERT_EQ(p.nrules, 2);
	policy_free(&p);
}

TEST(replace_pass_on_type_removes_code_rules)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "drop destination-unreachable");
	APPLY(&p, "drop icmp destination-unreachable code port-unreachable");
	APPLY(&p, "rate icmp destination-unreachable code frag-needed 10/s");
	APPLY(&p, "pass icmp destination-unreachable code 1");
	APPLY(&p, "drop icmpv6 destination-unreachable code no-route");
	APPLY(&p, "drop icmp echo-request");
	ASSERT_EQ(p.nrules, 7);
	APPLY(&p, "pass icmp destination-unreachable");
	ASSERT_EQ(p.nrules, 3);
	for (int i = 0; i < p.nrules; i++)
		ASSERT_TRUE(!(p.rules[i].fam == ICMP && p.rules[i].type == 3));
	ASSERT_TRUE(find(&p, ICMP6, 1, -1));
	ASSERT_TRUE(find(&p, ICMP6, 1, 0));
	ASSERT_TRUE(find(&p, ICMP, 8, -1));
	/* without a family: both */
	APPLY(&p, "pass destination-unreachable");
	ASSERT_EQ(p.nrules, 1);
	/* a pass on a type with no rules adds nothing */
	APPLY(&p, "pass icmp redirect");
	ASSERT_EQ(p.nrules, 1);
	/* a code-level pass is a rule (it overrides the type rule for that code) */
	APPLY(&p, "pass icmp redirect code 0");
	ASSERT_EQ(p.nrules, 2);
	ASSERT_EQ(find(&p, ICMP, 5, 0)->action, IW_ACT_PASS);
	policy_free(&p);
}

TEST(replace_same_key_once)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "drop icmp echo-request");
	APPLY(&p, "drop icmp echo-request");
	APPLY(&p, "drop icmp type 8");
	APPLY(&p, "rate echo-request 1/s");
	ASSERT_EQ(p.nrules, 2);
	APPLY(&p, "drop icmp echo-request code 0");
	APPLY(&p, "drop icmp type 8 code 0");
	ASSERT_EQ(p.nrules, 3);
	/* a code-level statement leaves the type-level rule alone, and the other way round */
	ASSERT_EQ(find(&p, ICMP, 8, -1)->action, IW_ACT_RATE);
	APPLY(&p, "drop icmp echo-request");
	ASSERT_EQ(find(&p, ICMP, 8, 0)->action, IW_ACT_DROP);
	ASSERT_EQ(p.nrules, 3);
	policy_free(&p);
}

TEST(replace_cidr_later_wins)
{
	struct policy p;

	policy_init(&p);
	APPLY(&p, "allow 10.0.0.0/8");
	APPLY(&p, "deny 10.0.0.0/8");
	ASSERT_EQ(p.ncidrs, 1);
	ASSERT_EQ(p.cidrs[0].list, IW_CIDR_DENY);
	APPLY(&p, "allow 10.0.0.0/8");
	ASSERT_EQ(p.ncidrs, 1);
	ASSERT_EQ(p.cidrs[0].list, IW_CIDR_ALLOW);
	/* a different length is a different prefix */
	APPLY(&p, "deny 10.0.0.0/16");
	ASSERT_EQ(p.ncidrs, 2);
	/* a bare address and its /32 are one prefix */
	APPLY(&p, "deny 192.0.2.1");
	APPLY(&p, "allow 192.0.2.1/32");
	ASSERT_EQ(p.ncidrs, 3);
	ASSERT_EQ(find_cidr_s(&p, "192.0.2.1")->list, IW_CIDR_ALLOW);
	APPLY(&p, "deny 2001:db8::/32");
	APPLY(&p, "allow 2001:DB8:0::/32");
	ASSERT_EQ(p.ncidrs, 4);
	ASSERT_EQ(find_cidr_s(&p, "2001:db8::/32")->list, IW_CIDR_ALLOW);
	/* ::ffff:10.0.0.0/104 is IPv6, not 10.0.0.0/8 */
	APPLY(&p, "deny ::ffff:10.0.0.0/104");
	ASSERT_EQ(p.ncidrs, 5);
	ASSERT_EQ(find_cidr_s(&p, "10.0.0.0/8")->list, IW_CIDR_ALLOW);
	policy_free(&p);
}

/* ---- 5. show and round trips ---------------------------------------------------------- */

static const char *rich_text =
	"max-size 1400\n"
	"fragments drop\n"
	"checksum verify\n"
	"allow 10.0.0.0/8\n"
	"deny 10.1.0.0/16\n"
	"allow 192.0.2.7\n"
	"deny 2001:DB8::/32\n"
	"allow 2001:db8:1::/48\n"
	"allow ::1\n"
	"rate echo-request 100/second\n"
	"rate echo-request 5/second burst 10 per-source\n"
	"rate icmpv6 echo-request 5/sec per-source /48\n"
	"rate icmp echo-reply 600/min burst 3\n"
	"rate icmp type 42 7/s\n"
	"drop icmp timestamp-request\n"
	"drop icmp destination-unreachable code 14\n"
	"drop icmp type 3 code protocol-unreachable\n"
	"pass icmp destination-unreachable code frag-needed\n"
	"drop icmp destination-unreachable\n"
	"rate icmpv6 packet-too-big 1000/s burst 2000\n"
	"drop icmpv6 type 200 code 7\n"
	"rate icmpv6 nd-neighbor-solicit 1000/second per-source /64\n"
	"rate icmp redirect 1/minute per-source /0\n"
	"drop icmpv6 mld-listener-reduction\n"
	"pass icmpv6 destination-unreachable code no-route\n";

static const char *rich_show_settings =
	"max-size 1400\n"
	"fragments drop\n"
	"checksum verify\n";

static const char *rich_show_cidrs =
	"deny 10.1.0.0/16\n"
	"deny 2001:db8::/32\n"
	"allow 10.0.0.0/8\n"
	"allow 192.0.2.7\n"
	"allow 2001:db8:1::/48\n"
	"allow ::1\n";

static const char *rich_show_rules =
	"rate icmp echo-reply 600/minute burst 3\n"
	"drop icmp destination-unreachable\n"
	"drop icmp destination-unreachable code prot-unreachable\n"
	"pass icmp destination-unreachable code frag-needed\n"
	"drop icmp destination-unreachable code 14\n"
	"rate icmp redirect 1/minute per-source /0\n"
	"rate icmp echo-request 100/second\n"
	"rate icmp echo-request 5/second burst 10 per-source\n"
	"drop icmp timestamp-request\n"
	"rate icmp type 42 7/second\n"
	"pass icmpv6 destination-unreachable code no-route\n"
	"rate icmpv6 packet-too-big 1000/second burst 2000\n"
	"rate icmpv6 echo-request 100/second\n"
	"rate icmpv6 echo-request 5/second per-source /48\n"
	"drop icmpv6 mld-listener-done\n"
	"rate icmpv6 nd-neighbor-solicit 1000/second per-source\n"
	"drop icmpv6 type 200 code 7\n";

TEST(show_empty)
{
	struct policy p;
	char *s;

	policy_init(&p);
	s = show(&p);
	ASSERT_STR_EQ(s, "max-size off\nfragments pass\nchecksum ignore\n");
	free(s);
	policy_free(&p);
}

TEST(show_rich)
{
	struct policy p;
	char want[4096], *s;

	policy_init(&p);
	APPLY_TEXT(&p, rich_text);
	snprintf(want, sizeof(want), "%s%s%s", rich_show_settings, rich_show_cidrs, rich_show_rules);
	s = show(&p);
	ASSERT_STR_EQ(s, want);
	free(s);
	policy_free(&p);
}

TEST(round_trip_show_parse)
{
	struct policy p, q;
	char *s1, *s2, e[POL_ERR_LEN] = "";

	policy_init(&p);
	policy_init(&q);
	APPLY_TEXT(&p, rich_text);
	s1 = show(&p);
	ASSERT_TRUE(s1);
	ASSERT_OK(policy_parse_buf(&q, "shown", s1, strlen(s1), e, sizeof(e), NULL));
	ASSERT_TRUE(equal_policy(&p, &q));
	ASSERT_TRUE(equal_policy(&q, &p));
	s2 = show(&q);
	ASSERT_STR_EQ(s2, s1);
	free(s1);
	free(s2);
	policy_free(&p);
	policy_free(&q);

	/* a policy built by replacements shows as the statements that give it */
	policy_init(&p);
	policy_init(&q);
	APPLY_TEXT(&p, "rate icmp echo-request 5/s per-source\ndrop icmp echo-request\n"
		   "rate icmp echo-request 9/minute\nrate icmp type 3 code 1 5/s\n"
		   "pass icmp type 3\nmax-size 99\nmax-size off\n");
	s1 = show(&p);
	ASSERT_OK(policy_parse_buf(&q, "shown", s1, strlen(s1), e, sizeof(e), NULL));
	ASSERT_TRUE(equal_policy(&p, &q));
	free(s1);
	policy_free(&p);
	policy_free(&q);
}

TEST(round_trip_compile_decompile)
{
	static struct iw_policy k, k2;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p, d, d2;
	char want[4096], *s;

	policy_init(&p);
	APPLY_TEXT(&p, rich_text);
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_OK(policy_decompile(&k, &d));
	/* rules and settings come back; CIDRs live in their own maps */
	ASSERT_EQ(d.ncidrs, 0);
	snprintf(want, sizeof(want), "%s%s", rich_show_settings, rich_show_rules);
	s = show(&d);
	ASSERT_STR_EQ(s, want);
	free(s);

	/* and again, compiled against the previous one, at another HZ */
	COMPILE(&d, &k, 1000, &k2, fresh);
	ASSERT_OK(policy_decompile(&k2, &d2));
	s = show(&d2);
	ASSERT_STR_EQ(s, want);
	free(s);
	policy_free(&d2);
	policy_free(&d);

	/* empty */
	policy_free(&p);
	policy_init(&p);
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_OK(policy_decompile(&k, &d));
	s = show(&d);
	ASSERT_STR_EQ(s, "max-size off\nfragments pass\nchecksum ignore\n");
	free(s);
	policy_free(&d);
	policy_free(&p);
}

TEST(policy_copy_is_deep)
{
	struct policy p, q;

	policy_init(&p);
	APPLY_TEXT(&p, rich_text);
	ASSERT_OK(policy_copy(&q, &p));
	ASSERT_TRUE(same_policy(&p, &q));
	ASSERT_TRUE(q.cidrs != p.cidrs);
	APPLY(&q, "deny 10.0.0.0/8");
	ASSERT_EQ(find_cidr_s(&p, "10.0.0.0/8")->list, IW_CIDR_ALLOW);
	policy_free(&p);
	policy_free(&q);
}

/* ---- 6. compile ------------------------------------------------------------------------ */

TEST(compile_layout)
{
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];
	static const struct iw_rule zero;
	struct policy p;
	const struct iw_rule *r;
	int ct3, ct1;

	policy_init(&p);
	APPLY_TEXT(&p, "drop icmp destination-unreachable\n"
		   "pass icmp destination-unreachable code port-unreachable\n"
		   "rate icmp destination-unreachable code frag-needed 10/s\n"
		   "drop icmpv6 destination-unreachable code no-route\n"
		   "drop icmp timestamp-request\n"
		   "rate echo-request 5/s\n");
	COMPILE(&p, NULL, 250, &k, fresh);

	ASSERT_TRUE(!memcmp(&k.rules[0], &zero, sizeof(zero)));	/* "no rule" */
	/* type level */
	r = krule(&k, ICMP, 3, -1);
	ASSERT_TRUE(r);
	ASSERT_EQ(r->action, IW_ACT_DROP);
	ASSERT_EQ(krule(&k, ICMP, 13, -1)->action, IW_ACT_DROP);
	ASSERT_EQ(krule(&k, ICMP, 8, -1)->action, IW_ACT_RATE);
	ASSERT_EQ(krule(&k, ICMP6, 128, -1)->action, IW_ACT_RATE);
	ASSERT_EQ(k.type_rule[ICMP6][1], 0);
	ASSERT_EQ(k.type_rule[ICMP][0], 0);
	ASSERT_EQ(k.type_rule[ICMP6][8], 0);
	/* code level: one table per (family, type) */
	ct3 = k.type_codes[ICMP][3];
	ct1 = k.type_codes[ICMP6][1];
	ASSERT_TRUE(ct3 >= 1 && ct3 <= IW_MAX_CODE_TABLES);
	ASSERT_TRUE(ct1 >= 1 && ct1 <= IW_MAX_CODE_TABLES);
	ASSERT_TRUE(ct3 != ct1);
	ASSERT_EQ(k.type_codes[ICMP][8], 0);
	ASSERT_EQ(k.type_codes[ICMP][13], 0);
	ASSERT_EQ(k.rules[k.code_rule[ct3 - 1][3]].action, IW_ACT_PASS);
	ASSERT_EQ(k.rules[k.code_rule[ct3 - 1][4]].action, IW_ACT_RATE);
	ASSERT_EQ(k.code_rule[ct3 - 1][0], 0);
	ASSERT_EQ(k.code_rule[ct3 - 1][1], 0);
	ASSERT_EQ(k.rules[k.code_rule[ct1 - 1][0]].action, IW_ACT_DROP);
	ASSERT_EQ(k.code_rule[ct1 - 1][4], 0);
	/* every rule has its own index */
	{
		int idx[] = { kidx(&k, ICMP, 3, -1), kidx(&k, ICMP, 3, 3), kidx(&k, ICMP, 3, 4),
			      kidx(&k, ICMP6, 1, 0), kidx(&k, ICMP, 13, -1),
			      kidx(&k, ICMP, 8, -1), kidx(&k, ICMP6, 128, -1) };

		for (int i = 0; i < 7; i++) {
			ASSERT_TRUE(idx[i] >= 1 && idx[i] <= IW_MAX_RULES);
			for (int j = 0; j < i; j++)
				ASSERT_TRUE(idx[i] != idx[j]);
		}
	}
	/* non-rate rules carry no limits */
	r = krule(&k, ICMP, 3, -1);
	ASSERT_EQ(r->global.interval, 0);
	ASSERT_EQ(r->src.interval, 0);
	/* the enum values the XDP program reads */
	ASSERT_EQ(IW_ACT_NONE, 0);
	ASSERT_EQ(IW_ACT_PASS, 1);
	ASSERT_EQ(IW_ACT_DROP, 2);
	ASSERT_EQ(IW_ACT_RATE, 3);
	policy_free(&p);
}

TEST(compile_settings_and_flags)
{
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;

	policy_init(&p);
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_EQ(k.flags, 0);
	ASSERT_EQ(k.max_size, 0);
	APPLY_TEXT(&p, "max-size 1280\nfragments drop\n");
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_EQ(k.flags, IW_POL_FRAG_DROP);
	ASSERT_EQ(k.max_size, 1280);
	APPLY_TEXT(&p, "fragments pass\nchecksum verify\nallow 10.0.0.0/8\n");
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_EQ(k.flags, IW_POL_CSUM_VERIFY | IW_POL_CIDR4);
	APPLY(&p, "deny 2001:db8::/32");
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_EQ(k.flags, IW_POL_CSUM_VERIFY | IW_POL_CIDR4 | IW_POL_CIDR6);
	policy_free(&p);

	policy_init(&p);
	APPLY(&p, "deny ::/0");
	COMPILE(&p, NULL, 250, &k, fresh);
	ASSERT_EQ(k.flags, IW_POL_CIDR6);
	policy_free(&p);
}

TEST(compile_intervals)
{
	static const struct {
		const char *rate;
		uint32_t count;
		bool per_minute;
		uint32_t burst;
	} cases[] = {
		{ "100/s", 100, false, 100 },
		{ "7/s", 7, false, 7 },
		{ "1/s", 1, false, 1 },
		{ "3/s burst 1", 3, false, 1 },
		{ "1000/s burst 5", 1000, false, 5 },
		{ "99999999/s", 99999999, false, 99999999 },
		{ "100000000/s", 100000000, false, 100000000 },
		{ "60/minute", 60, true, 1 },
		{ "600/minute", 600, true, 10 },
		{ "1/minute", 1, true, 1 },
		{ "7/minute burst 4", 7, true, 4 },
		{ "100000000/minute", 100000000, true, 1666666 },
	};
	static const uint32_t hzs[] = { 250, 1000 };
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];

	for (size_t h = 0; h < 2; h++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct policy p;
			char line[128];
			const struct iw_rule *r;
			uint64_t iv = want_interval(hzs[h], cases[i].count, cases[i].per_minute);

			policy_init(&p);
			snprintf(line, sizeof(line), "rate icmp echo-request %s", cases[i].rate);
			APPLY(&p, line);
			snprintf(line, sizeof(line), "rate icmp echo-request %s per-source",
				 cases[i].rate);
			APPLY(&p, line);
			COMPILE(&p, NULL, hzs[h], &k, fresh);
			r = krule(&k, ICMP, 8, -1);
			ASSERT_TRUE(r);
			ASSERT_EQ(r->global.interval, iv);
			ASSERT_EQ(r->global.interval & IW_EPOCH_MASK, 0);
			/* (burst - 1) x interval, but never under IW_MIN_TOLERANCE */
			ASSERT_EQ(r->global.tolerance,
				  (uint64_t)(cases[i].burst - 1) * iv > IW_MIN_TOLERANCE ?
				  (uint64_t)(cases[i].burst - 1) * iv : IW_MIN_TOLERANCE);
			ASSERT_EQ(r->global.count, cases[i].count);
			ASSERT_EQ(r->global.per_minute, cases[i].per_minute);
			ASSERT_EQ(r->global.burst, cases[i].burst);
			ASSERT_EQ(r->global.epoch, 0);
			ASSERT_EQ(r->global.hist[(r->global.epoch - 1) & (IW_EPOCHS - 1)].interval, 0);
			ASSERT_EQ(r->global.hist[(r->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance, 0);
			ASSERT_EQ(r->src.interval, iv);
			ASSERT_EQ(r->src.tolerance, r->global.tolerance);
			policy_free(&p);
		}
	}
}

TEST(compile_interval_known_values)
{
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;

	policy_init(&p);
	APPLY_TEXT(&p, "rate icmp echo-request 100/s\nrate icmp echo-reply 1/minute burst 3\n");
	COMPILE(&p, NULL, 250, &k, fresh);
	/* 250 jiffies of 2^32 ticks a second, over 100 packets */
	ASSERT_EQ(krule(&k, ICMP, 8, -1)->global.interval, 10737418240ULL);
	ASSERT_EQ(krule(&k, ICMP, 8, -1)->global.tolerance, 99 * 10737418240ULL);
	ASSERT_EQ(krule(&k, ICMP, 0, -1)->global.interval, 60ULL * 250 << 32);
	ASSERT_EQ(krule(&k, ICMP, 0, -1)->global.tolerance, 2 * (60ULL * 250 << 32));
	COMPILE(&p, NULL, 1000, &k, fresh);
	ASSERT_EQ(krule(&k, ICMP, 8, -1)->global.interval, 42949672960ULL);
	ASSERT_EQ(krule(&k, ICMP, 0, -1)->global.interval, 60ULL * 1000 << 32);
	policy_free(&p);
}

/* Every count a policy can hold, sampled: a multiple of 256 within 128 ticks of exact. */
TEST(compile_interval_rounding_sweep)
{
	static const uint32_t hzs[] = { 100, 250, 300, 1000 };

	for (size_t h = 0; h < 4; h++) {
		for (int pm = 0; pm < 2; pm++) {
			for (uint64_t c = 1; c <= IW_MAX_RATE_PER_SEC; c = c < 5000 ? c + 1 : c * 3 / 2 + 7) {
				static struct iw_policy k;
				static bool fresh[IW_MAX_BUCKETS];
				struct policy p;
				char line[96];
				uint64_t iv, num = ((uint64_t)hzs[h] * (pm ? 60 : 1)) << 32;

				policy_init(&p);
				snprintf(line, sizeof(line), "rate icmp echo-request %llu/%s burst 1",
					 (unsigned long long)c, pm ? "minute" : "second");
				APPLY(&p, line);
				COMPILE(&p, NULL, hzs[h], &k, fresh);
				iv = krule(&k, ICMP, 8, -1)->global.interval;
				if (iv != want_interval(hzs[h], c, pm)) {
					TEST_FAIL("%s at HZ %u: interval %llu, want %llu", line,
						  hzs[h], (unsigned long long)iv,
						  (unsigned long long)want_interval(hzs[h], c, pm));
					return;
				}
				ASSERT_EQ(iv % 256, 0);
				/* |iv - num/c| <= 128 */
				ASSERT_TRUE(iv * c <= num + 128 * c && num <= iv * c + 128 * c);
				policy_free(&p);
			}
		}
	}
}

TEST(compile_hz_zero)
{
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	char e[POL_ERR_LEN] = "";

	policy_init(&p);
	APPLY_TEXT(&p, "drop icmp echo-request\npass icmp destination-unreachable code 4\n");
	ASSERT_OK(policy_compile(&p, NULL, 0, &k, fresh, e, sizeof(e)));
	ASSERT_EQ(krule(&k, ICMP, 8, -1)->action, IW_ACT_DROP);
	APPLY(&p, "rate icmp redirect 1/s per-source");
	ASSERT_EQ(policy_compile(&p, NULL, 0, &k, fresh, e, sizeof(e)), -EINVAL);
	ASSERT_STR_EQ(e, "cannot use rate rules: the kernel's CONFIG_HZ is unknown");
	APPLY(&p, "drop icmp redirect");
	ASSERT_OK(policy_compile(&p, NULL, 0, &k, fresh, e, sizeof(e)));
	policy_free(&p);
}

TEST(compile_slot_and_generation)
{
	static struct iw_policy k[4];
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;

	policy_init(&p);
	APPLY(&p, "allow 10.0.0.0/8");
	COMPILE(&p, NULL, 250, &k[0], fresh);
	ASSERT_EQ(k[0].slot, 1);
	ASSERT_EQ(k[0].generation, 1);
	for (int i = 1; i < 4; i++) {
		COMPILE(&p, &k[i - 1], 250, &k[i], fresh);
		ASSERT_EQ(k[i].slot, k[i - 1].slot ^ 1);
		ASSERT_EQ(k[i].generation, k[i - 1].generation + 1);
	}
	ASSERT_EQ(k[3].generation, 4);
	policy_free(&p);
}

TEST(compile_bucket_reuse_and_epochs)
{
	static struct iw_policy k1, k2, k3, k4, k5, k6;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	const struct iw_rule *a, *b;
	uint16_t bucket;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 10/s");
	COMPILE(&p, NULL, 250, &k1, fresh);
	a = krule(&k1, ICMP, 8, -1);
	bucket = a->bucket;
	ASSERT_TRUE(bucket < IW_MAX_BUCKETS);
	ASSERT_EQ(count_fresh(fresh), 1);
	ASSERT_TRUE(fresh[bucket]);
	ASSERT_EQ(a->global.epoch, 0);

	/* unchanged: same bucket, not fresh, same epoch, no previous limit */
	COMPILE(&p, &k1, 250, &k2, fresh);
	b = krule(&k2, ICMP, 8, -1);
	ASSERT_EQ(b->bucket, bucket);
	ASSERT_EQ(count_fresh(fresh), 0);
	ASSERT_EQ(b->global.epoch, 0);
	ASSERT_EQ(b->global.interval, a->global.interval);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].interval, 0);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance, 0);

	/* changed rate: same bucket, next epoch, the old limit kept for conversion */
	APPLY(&p, "rate icmp echo-request 20/s");
	COMPILE(&p, &k2, 250, &k3, fresh);
	a = krule(&k2, ICMP, 8, -1);
	b = krule(&k3, ICMP, 8, -1);
	ASSERT_EQ(b->bucket, bucket);
	ASSERT_EQ(count_fresh(fresh), 0);
	ASSERT_EQ(b->global.epoch, 1);
	ASSERT_EQ(b->global.interval, want_interval(250, 20, false));
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].interval, a->global.interval);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance, a->global.tolerance);

	/* unchanged again: the epoch and the previous limit stay */
	COMPILE(&p, &k3, 250, &k4, fresh);
	a = krule(&k3, ICMP, 8, -1);
	b = krule(&k4, ICMP, 8, -1);
	ASSERT_EQ(b->bucket, bucket);
	ASSERT_EQ(b->global.epoch, 1);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].interval, a->global.hist[(a->global.epoch - 1) & (IW_EPOCHS - 1)].interval);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance, a->global.hist[(a->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance);

	/* only the burst changes: that is a change too */
	APPLY(&p, "rate icmp echo-request 20/s burst 5");
	COMPILE(&p, &k4, 250, &k5, fresh);
	a = krule(&k4, ICMP, 8, -1);
	b = krule(&k5, ICMP, 8, -1);
	ASSERT_EQ(b->bucket, bucket);
	ASSERT_EQ(b->global.epoch, 2);
	ASSERT_EQ(b->global.interval, a->global.interval);
	ASSERT_EQ(b->global.tolerance, 4 * a->global.interval);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].interval, a->global.interval);
	ASSERT_EQ(b->global.hist[(b->global.epoch - 1) & (IW_EPOCHS - 1)].tolerance, a->global.tolerance);

	/* the same numbers written differently are no change: 1200/minute is 20/s */
	APPLY(&p, "rate icmp echo-request 1200/minute burst 5");
	COMPILE(&p, &k5, 250, &k6, fresh);
	b = krule(&k6, ICMP, 8, -1);
	ASSERT_EQ(b->global.epoch, 2);
	ASSERT_EQ(b->global.count, 1200);
	ASSERT_TRUE(b->global.per_minute);

	/* the epoch wraps in 8 bits */
	k6.rules[kidx(&k6, ICMP, 8, -1)].global.epoch = 255;
	APPLY(&p, "rate icmp echo-request 1/s");
	COMPILE(&p, &k6, 250, &k1, fresh);
	ASSERT_EQ(krule(&k1, ICMP, 8, -1)->global.epoch, 0);
	ASSERT_EQ(krule(&k1, ICMP, 8, -1)->bucket, bucket);
	policy_free(&p);
}

TEST(compile_per_source_epochs)
{
	static struct iw_policy k1, k2;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	const struct iw_rule *a, *b;

	policy_init(&p);
	APPLY(&p, "rate icmp echo-request 10/s per-source");
	COMPILE(&p, NULL, 1000, &k1, fresh);
	ASSERT_EQ(count_fresh(fresh), 0);	/* per-source only: no global bucket */
	a = krule(&k1, ICMP, 8, -1);
	ASSERT_EQ(a->global.interval, 0);
	ASSERT_EQ(a->src_plen, 32);
	APPLY(&p, "rate icmp echo-request 10/s burst 30 per-source");
	COMPILE(&p, &k1, 1000, &k2, fresh);
	b = krule(&k2, ICMP, 8, -1);
	ASSERT_EQ(b->src_id, a->src_id);
	ASSERT_EQ(b->src.epoch, 1);
	ASSERT_EQ(b->src.hist[(b->src.epoch - 1) & (IW_EPOCHS - 1)].interval, a->src.interval);
	ASSERT_EQ(b->src.hist[(b->src.epoch - 1) & (IW_EPOCHS - 1)].tolerance, a->src.tolerance);
	ASSERT_EQ(b->src.tolerance, 29 * b->src.interval);
	policy_free(&p);
}

TEST(compile_fresh_buckets)
{
	static struct iw_policy k1, k2, k3;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	int ba, bb, bc, bd, be;

	policy_init(&p);
	APPLY_TEXT(&p, "rate icmp echo-request 10/s\nrate icmp echo-reply 10/s\n"
		   "rate icmp redirect 1/s per-source\ndrop icmp timestamp-request\n");
	COMPILE(&p, NULL, 250, &k1, fresh);
	ba = krule(&k1, ICMP, 8, -1)->bucket;
	bb = krule(&k1, ICMP, 0, -1)->bucket;
	ASSERT_TRUE(ba != bb);
	ASSERT_EQ(count_fresh(fresh), 2);
	ASSERT_TRUE(fresh[ba] && fresh[bb]);

	/* A goes, B stays, C and D are new: they get neither A's nor B's bucket, since a packet
	 * judged by the old policy may still be using them */
	APPLY_TEXT(&p, "pass icmp echo-request\nrate icmp time-exceeded 5/s\n"
		   "rate icmp parameter-problem 5/s per-source\nrate icmp parameter-problem 5/s\n");
	COMPILE(&p, &k1, 250, &k2, fresh);
	ASSERT_EQ(krule(&k2, ICMP, 0, -1)->bucket, bb);
	bc = krule(&k2, ICMP, 11, -1)->bucket;
	bd = krule(&k2, ICMP, 12, -1)->bucket;
	ASSERT_TRUE(bc != ba && bc != bb && bd != ba && bd != bb && bc != bd);
	ASSERT_TRUE(bc < IW_MAX_BUCKETS && bd < IW_MAX_BUCKETS);
	ASSERT_EQ(count_fresh(fresh), 2);
	ASSERT_TRUE(fresh[bc] && fresh[bd]);
	ASSERT_TRUE(!fresh[bb] && !fresh[ba]);

	/* a drop turning into a rate is a new bucket too; A's bucket is free again */
	APPLY_TEXT(&p, "rate icmp timestamp-request 1/s\n");
	COMPILE(&p, &k2, 250, &k3, fresh);
	be = krule(&k3, ICMP, 13, -1)->bucket;
	ASSERT_TRUE(be != bb && be != bc && be != bd);
	ASSERT_EQ(count_fresh(fresh), 1);
	ASSERT_TRUE(fresh[be]);
	ASSERT_EQ(krule(&k3, ICMP, 0, -1)->bucket, bb);
	ASSERT_EQ(krule(&k3, ICMP, 11, -1)->bucket, bc);
	ASSERT_EQ(krule(&k3, ICMP, 12, -1)->bucket, bd);
	policy_free(&p);
}

TEST(compile_fresh_buckets_never_old)
{
	static struct iw_policy k1, k2;
	static bool fresh[IW_MAX_BUCKETS];
	bool old_used[IW_MAX_BUCKETS] = {};
	struct policy p;
	char line[64];

	/* an old policy with 255 rate rules, a new one with 255 other rate rules */
	policy_init(&p);
	for (int t = 0; t < 255; t++) {
		snprintf(line, sizeof(line), "rate icmp type %d 10/s", t);
		APPLY(&p, line);
	}
	COMPILE(&p, NULL, 250, &k1, fresh);
	ASSERT_EQ(count_fresh(fresh), 255);
	for (int i = 1; i <= IW_MAX_RULES; i++)
		if (k1.rules[i].action == IW_ACT_RATE)
			old_used[k1.rules[i].bucket] = true;
	policy_free(&p);
	policy_init(&p);
	for (int t = 0; t < 255; t++) {
		snprintf(line, sizeof(line), "rate icmpv6 type %d 10/s", t);
		APPLY(&p, line);
	}
	COMPILE(&p, &k1, 250, &k2, fresh);
	ASSERT_EQ(count_fresh(fresh), 255);
	for (int i = 1; i <= IW_MAX_RULES; i++) {
		int b = k2.rules[i].bucket;

		ASSERT_EQ(k2.rules[i].action, IW_ACT_RATE);
		ASSERT_TRUE(fresh[b]);
		ASSERT_TRUE(!old_used[b]);
	}
	policy_free(&p);
}

TEST(compile_src_ids)
{
	static struct iw_policy k1, k2, k3, k4;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	int a, b, c, d;

	policy_init(&p);
	APPLY_TEXT(&p, "rate icmp echo-request 10/s per-source\n"
		   "rate icmp echo-reply 10/s per-source /24\n"
		   "rate icmp redirect 10/s\n");
	COMPILE(&p, NULL, 250, &k1, fresh);
	a = krule(&k1, ICMP, 8, -1)->src_id;
	b = krule(&k1, ICMP, 0, -1)->src_id;
	ASSERT_TRUE(a >= 1 && b >= 1 && a != b);
	ASSERT_EQ(krule(&k1, ICMP, 5, -1)->src_id, 0);	/* no per-source limit */
	ASSERT_EQ(krule(&k1, ICMP, 0, -1)->src_plen, 24);
	ASSERT_EQ(k1.next_src_id, 3);

	/* a new prefix length is a new id (a key (prefix, id) at /16 would name the sources of
	 * a /32 bucket, and take its level); new ones advance */
	APPLY_TEXT(&p, "pass icmp echo-reply\nrate icmp echo-request 20/s per-source /16\n"
		   "rate icmp time-exceeded 1/s per-source\n");
	COMPILE(&p, &k1, 250, &k2, fresh);
	d = krule(&k2, ICMP, 8, -1)->src_id;
	ASSERT_EQ(d, 3);
	ASSERT_EQ(krule(&k2, ICMP, 8, -1)->src_plen, 16);
	ASSERT_EQ(krule(&k2, ICMP, 8, -1)->src.epoch, 0);	/* no level carried */
	c = krule(&k2, ICMP, 11, -1)->src_id;
	ASSERT_EQ(c, 4);
	ASSERT_EQ(k2.next_src_id, 5);

	/* a removed rule's id is not handed out again; at the same prefix length the id is
	 * kept while the rule exists, even when its limits change (a global one added) */
	APPLY_TEXT(&p, "rate icmp echo-reply 10/s per-source\nrate icmp echo-request 5/s\n");
	COMPILE(&p, &k2, 250, &k3, fresh);
	ASSERT_EQ(krule(&k3, ICMP, 0, -1)->src_id, 5);
	ASSERT_EQ(krule(&k3, ICMP, 8, -1)->src_id, d);
	ASSERT_EQ(krule(&k3, ICMP, 11, -1)->src_id, c);
	ASSERT_EQ(k3.next_src_id, 6);
	/* unchanged policy: nothing advances */
	COMPILE(&p, &k3, 250, &k4, fresh);
	ASSERT_EQ(k4.next_src_id, 6);
	ASSERT_EQ(krule(&k4, ICMP, 0, -1)->src_id, 5);

	/* the counter wraps past 0xffff to 1 */
	k4.next_src_id = 0xffff;
	APPLY(&p, "rate icmp parameter-problem 1/s per-source");
	COMPILE(&p, &k4, 250, &k1, fresh);
	ASSERT_EQ(krule(&k1, ICMP, 12, -1)->src_id, 0xffff);
	ASSERT_EQ(k1.next_src_id, 1);
	policy_free(&p);
}

TEST(compile_code_tables_limit)
{
	static struct iw_policy k;
	static bool fresh[IW_MAX_BUCKETS];
	struct policy p;
	char e[POL_ERR_LEN] = "";

	/* the parser refuses a 33rd table; a policy built by hand is refused by compile */
	policy_init(&p);
	for (int t = 0; t <= IW_MAX_CODE_TABLES; t++)
		p.rules[p.nrules++] = (struct pol_rule){ .fam = ICMP, .type = t, .code = 0,
							 .action = IW_ACT_DROP };
	ASSERT_EQ(policy_compile(&p, NULL, 250, &k, fresh, e, sizeof(e)), -EINVAL);
	ASSERT_STR_EQ(e, "too many types with code-level rules (at most 32)");
	p.nrules--;
	ASSERT_OK(policy_compile(&p, NULL, 250, &k, fresh, e, sizeof(e)));
	for (int t = 0; t < IW_MAX_CODE_TABLES; t++)
		ASSERT_EQ(krule(&k, ICMP, t, 0)->action, IW_ACT_DROP);
	policy_free(&p);
}

TEST(cidr_entries_covering_flags)
{
	struct policy p;
	struct cidr_entry *e;
	int n;

	policy_init(&p);
	APPLY_TEXT(&p, "allow 10.0.0.0/8\ndeny 10.1.0.0/16\nallow 10.1.2.0/24\n"
		   "allow 192.0.2.0/24\ndeny 2001:db8::/32\nallow ::/0\n");
	ASSERT_OK(policy_cidr_entries(&p, &e, &n));
	ASSERT_EQ(n, 6);
	for (int i = 0; i < n; i++) {
		char buf[64];

		format_cidr(&e[i].c, buf, sizeof(buf));
		if (!strcmp(buf, "10.0.0.0/8")) {
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW);
			ASSERT_EQ(e[i].val.own, IW_CIDR_ALLOW);
		} else if (!strcmp(buf, "10.1.0.0/16")) {
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW | IW_CIDR_DENY);
			ASSERT_EQ(e[i].val.own, IW_CIDR_DENY);
		} else if (!strcmp(buf, "10.1.2.0/24")) {
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW | IW_CIDR_DENY);
			ASSERT_EQ(e[i].val.own, IW_CIDR_ALLOW);
		} else if (!strcmp(buf, "192.0.2.0/24")) {
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW);
			ASSERT_EQ(e[i].val.own, IW_CIDR_ALLOW);
		} else if (!strcmp(buf, "2001:db8::/32")) {
			/* ::/0 covers it; the IPv4 entries do not */
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW | IW_CIDR_DENY);
			ASSERT_EQ(e[i].val.own, IW_CIDR_DENY);
		} else if (!strcmp(buf, "::/0")) {
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW);
			ASSERT_EQ(e[i].val.own, IW_CIDR_ALLOW);
		} else {
			TEST_FAIL("unexpected entry %s", buf);
			free(e);
			return;
		}
	}
	free(e);
	/* an IPv4 /0 does not cover IPv6 */
	APPLY(&p, "deny 0.0.0.0/0");
	ASSERT_OK(policy_cidr_entries(&p, &e, &n));
	ASSERT_EQ(n, 7);
	for (int i = 0; i < n; i++) {
		if (e[i].c.fam == ICMP)
			ASSERT_TRUE(e[i].val.flags & IW_CIDR_DENY);
		else if (e[i].c.plen == 0)
			ASSERT_EQ(e[i].val.flags, IW_CIDR_ALLOW);
	}
	free(e);
	policy_free(&p);

	policy_init(&p);
	ASSERT_OK(policy_cidr_entries(&p, &e, &n));
	ASSERT_EQ(n, 0);
	ASSERT_TRUE(e);
	free(e);
	policy_free(&p);
}
