// SPDX-License-Identifier: GPL-2.0
#include "policy.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS	32

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
}

void policy_free(struct policy *p)
{
	free(p->cidrs);
	p->cidrs = NULL;
	p->ncidrs = p->cidr_cap = 0;
}

int policy_copy(struct policy *dst, const struct policy *src)
{
	*dst = *src;
	dst->cidrs = NULL;
	dst->cidr_cap = 0;
	if (src->ncidrs) {
		dst->cidrs = malloc(src->ncidrs * sizeof(*dst->cidrs));
		if (!dst->cidrs)
			return -ENOMEM;
		memcpy(dst->cidrs, src->cidrs, src->ncidrs * sizeof(*dst->cidrs));
		dst->cidr_cap = src->ncidrs;
	}
	return 0;
}

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t len, const char *where, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (where && *where)
		n = snprintf(err, len, "%s: ", where);
	if (n < 0 || (size_t)n >= len)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned int d = *s - '0';

		if (*s < '0' || *s > '9')
			return false;
		/* v * 10 + d > max, without wrapping past 2^64 */
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- CIDRs -------------------------------------------------------------------------- */

static bool prefix_match(const uint8_t *a, const uint8_t *b, int plen)
{
	int bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (bits && ((a[bytes] ^ b[bytes]) & (0xff << (8 - bits))))
		return false;
	return true;
}

static void mask_prefix(uint8_t *a, int plen, int alen)
{
	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;

		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= 0xff << (8 - bits);
	}
}

int parse_cidr(const char *s, struct pol_cidr *c, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	uint8_t masked[16];
	uint64_t plen;
	int max, alen;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, NULL, "invalid address or prefix '%s'", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->fam = IW_FAM_ICMP;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->fam = IW_FAM_ICMPV6;
		max = 128;
	} else {
		return fail(err, errlen, NULL, "invalid address or prefix '%s'", s);
	}
	alen = max / 8;
	if (!slash)
		plen = max;
	else if (!parse_num(slash, max, &plen))
		return fail(err, errlen, NULL, "invalid prefix length in '%s' (0 to %d)", s, max);
	c->plen = plen;
	memcpy(masked, c->addr, alen);
	mask_prefix(masked, c->plen, alen);
	if (memcmp(masked, c->addr, alen)) {
		char ok[INET6_ADDRSTRLEN];

		inet_ntop(max == 32 ? AF_INET : AF_INET6, masked, ok, sizeof(ok));
		return fail(err, errlen, NULL, "'%s' has host bits set (did you mean %s/%d?)", s, ok,
			    c->plen);
	}
	return 0;
}

void format_cidr(const struct pol_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int max = c->fam == IW_FAM_ICMP ? 32 : 128;

	inet_ntop(c->fam == IW_FAM_ICMP ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	if (c->plen == max)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, c->plen);
}

static int find_cidr(const struct policy *p, const struct pol_cidr *c)
{
	for (int i = 0; i < p->ncidrs; i++) {
		const struct pol_cidr *o = &p->cidrs[i];

		if (o->fam == c->fam && o->plen == c->plen && !memcmp(o->addr, c->addr, 16))
			return i;
	}
	return -1;
}

static int count_cidrs(const struct policy *p, int fam)
{
	int n = 0;

	for (int i = 0; i < p->ncidrs; i++)
		n += p->cidrs[i].fam == fam;
	return n;
}

int policy_add_cidr(struct policy *p, const struct pol_cidr *c)
{
	int i = find_cidr(p, c);

	if (i >= 0) {
		p->cidrs[i].list = c->list;	/* the later statement wins */
		return 0;
	}
	if (p->ncidrs == p->cidr_cap) {
		int cap = p->cidr_cap ? p->cidr_cap * 2 : 16;
		struct pol_cidr *n = realloc(p->cidrs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->cidrs = n;
		p->cidr_cap = cap;
	}
	p->cidrs[p->ncidrs++] = *c;
	return 0;
}

int policy_cidr_entries(const struct policy *p, struct cidr_entry **out, int *n)
{
	struct cidr_entry *e = calloc(p->ncidrs ? p->ncidrs : 1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	for (int i = 0; i < p->ncidrs; i++) {
		const struct pol_cidr *c = &p->cidrs[i];

		e[i].c = *c;
		e[i].val.own = c->list;
		/* every list with a prefix that covers this one (itself included) */
		for (int k = 0; k < p->ncidrs; k++) {
			const struct pol_cidr *o = &p->cidrs[k];

			if (o->fam == c->fam && o->plen <= c->plen &&
			    prefix_match(o->addr, c->addr, o->plen))
				e[i].val.flags |= o->list;
		}
	}
	*out = e;
	*n = p->ncidrs;
	return 0;
}

/* ---- rules ---------------------------------------------------------------------------- */

static int find_rule(const struct policy *p, int fam, int type, int code)
{
	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (r->fam == fam && r->type == type && r->code == code)
			return i;
	}
	return -1;
}

static void remove_rule(struct policy *p, int i)
{
	memmove(&p->rules[i], &p->rules[i + 1], (p->nrules - i - 1) * sizeof(p->rules[0]));
	p->nrules--;
}

/* Types (per family) that have code-level rules: the compiled form has room for
 * IW_MAX_CODE_TABLES of them. */
static int count_code_types(const struct policy *p)
{
	int n = 0;

	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		bool seen = false;

		if (r->code < 0)
			continue;
		for (int k = 0; k < i && !seen; k++)
			seen = p->rules[k].code >= 0 && p->rules[k].fam == r->fam &&
			       p->rules[k].type == r->type;
		n += !seen;
	}
	return n;
}

struct target {
	int fam;
	int type;
	int code;	/* -1: whole type */
};

struct stmt {
	enum { ST_RATE, ST_DROP, ST_PASS } kind;
	struct target t[IW_NFAM];
	int nt;
	struct pol_limit lim;
	bool per_source;
	int plen;	/* -1: the family's default */
};

static const char *fam_word(int fam)
{
	return family_name(fam);
}

/* [icmp|icmpv6] TYPE [code CODE] */
static int parse_target(struct stmt *s, int n, char **w, int *i, char *err, size_t errlen,
			const char *where, const char *verb)
{
	int fam = -1;
	const char *tw;

	if (*i < n && (!strcmp(w[*i], "icmp") || !strcmp(w[*i], "icmpv6")))
		fam = !strcmp(w[(*i)++], "icmpv6") ? IW_FAM_ICMPV6 : IW_FAM_ICMP;
	if (*i >= n)
		return fail(err, errlen, where, "'%s' needs an ICMP type (a name, or 'type N')", verb);
	tw = w[(*i)++];
	s->nt = 0;
	if (!strcmp(tw, "type")) {
		uint64_t v;

		if (*i >= n || !parse_num(w[*i], 255, &v))
			return fail(err, errlen, where, "'type' needs a number from 0 to 255, got '%s'",
				    *i < n ? w[*i] : "");
		(*i)++;
		if (fam < 0)
			return fail(err, errlen, where,
				    "a numeric type needs a family: 'icmp type %d' or 'icmpv6 type %d'",
				    (int)v, (int)v);
		s->t[s->nt++] = (struct target){ fam, (int)v, -1 };
	} else {
		for (int f = 0; f < IW_NFAM; f++) {
			int t;

			if (fam >= 0 && f != fam)
				continue;
			t = type_by_name(f, tw);
			if (t >= 0)
				s->t[s->nt++] = (struct target){ f, t, -1 };
		}
		if (!s->nt) {
			uint64_t v;

			if (parse_num(tw, 255, &v))
				return fail(err, errlen, where,
					    "a numeric type is written 'icmp type %s' or 'icmpv6 type %s'",
					    tw, tw);
			if (fam >= 0 && type_name_exists_anywhere(tw))
				return fail(err, errlen, where, "'%s' is not an %s type (it is an %s type)",
					    tw, fam_word(fam), fam_word(!fam));
			return fail(err, errlen, where, "unknown ICMP type '%s'", tw);
		}
	}
	if (*i < n && !strcmp(w[*i], "code")) {
		const char *cw;
		uint64_t v;

		(*i)++;
		if (*i >= n)
			return fail(err, errlen, where, "'code' needs a number or a name");
		cw = w[(*i)++];
		if (parse_num(cw, 255, &v)) {
			for (int k = 0; k < s->nt; k++)
				s->t[k].code = v;
		} else {
			/* A code name keeps the families whose type has that code: without a family,
			 * 'destination-unreachable code frag-needed' means ICMP's. */
			int kept = 0;

			for (int k = 0; k < s->nt; k++) {
				int code = code_by_name(s->t[k].fam, s->t[k].type, cw);

				if (code >= 0) {
					s->t[kept] = s->t[k];
					s->t[kept++].code = code;
				}
			}
			if (!kept) {
				const char *tn = type_name(s->t[0].fam, s->t[0].type);

				if (s->nt > 1)
					return fail(err, errlen, where, "'%s' is not a code of %s in either "
						    "family", cw, tn);
				if (tn)
					return fail(err, errlen, where, "'%s' is not a code of %s %s", cw,
						    fam_word(s->t[0].fam), tn);
				return fail(err, errlen, where, "'%s' is not a code of %s type %d", cw,
					    fam_word(s->t[0].fam), s->t[0].type);
			}
			s->nt = kept;
		}
	}
	return 0;
}

static int parse_rate(const char *w, struct pol_limit *l, char *err, size_t errlen,
		      const char *where)
{
	const char *slash = strchr(w, '/');
	char num[24];
	uint64_t v;

	if (!slash || (size_t)(slash - w) >= sizeof(num))
		goto bad;
	memcpy(num, w, slash - w);
	num[slash - w] = 0;
	if (!strcmp(slash + 1, "second") || !strcmp(slash + 1, "s") || !strcmp(slash + 1, "sec"))
		l->per_minute = false;
	else if (!strcmp(slash + 1, "minute") || !strcmp(slash + 1, "m") || !strcmp(slash + 1, "min"))
		l->per_minute = true;
	else
		goto bad;
	if (!parse_num(num, UINT64_MAX / 10, &v))
		goto bad;
	if (v < 1 || v > IW_MAX_RATE_PER_SEC)
		return fail(err, errlen, where, "rate out of range: '%s' (1 to %llu per second or "
			    "per minute)", w, (unsigned long long)IW_MAX_RATE_PER_SEC);
	l->count = v;
	l->burst = l->per_minute ? (v / 60 ? v / 60 : 1) : v;
	l->burst_given = false;
	return 0;
bad:
	return fail(err, errlen, where, "expected a rate like 100/second or 10/minute, got '%s'", w);
}

/* Ticks per packet of l at hz, a multiple of 256 (the low 8 bits of a state word hold its
 * epoch), never 0. */
static uint64_t limit_interval(const struct pol_limit *l, uint32_t hz)
{
	uint64_t per = (uint64_t)hz * (l->per_minute ? 60 : 1) << IW_TICK_SHIFT;
	uint64_t unit = (uint64_t)l->count * (IW_EPOCH_MASK + 1);
	/* rounded once, to the nearest multiple of 256: the low 8 bits hold the epoch */
	uint64_t iv = (per + unit / 2) / unit * (IW_EPOCH_MASK + 1);

	return iv ? iv : IW_EPOCH_MASK + 1;
}

/* Checks that the burst fits the tick arithmetic for any HZ up to POL_HZ_WORST. */
static int check_limit(const struct pol_limit *l, char *err, size_t errlen, const char *where)
{
	uint64_t iv = limit_interval(l, POL_HZ_WORST);

	if ((uint64_t)l->burst > ((1ULL << 62) / iv))
		return fail(err, errlen, where, "burst %u is too large for %u/%s",
			    l->burst, l->count, l->per_minute ? "minute" : "second");
	return 0;
}

static int parse_rule(struct stmt *s, int n, char **w, char *err, size_t errlen,
		      const char *where)
{
	int i = 1, ret;

	ret = parse_target(s, n, w, &i, err, errlen, where, w[0]);
	if (ret)
		return ret;
	if (s->kind == ST_RATE) {
		if (i >= n)
			return fail(err, errlen, where, "'rate' needs a rate like 100/second");
		ret = parse_rate(w[i++], &s->lim, err, errlen, where);
		if (ret)
			return ret;
		s->plen = -1;
		while (i < n) {
			if (!strcmp(w[i], "burst")) {
				uint64_t v;

				if (i + 1 >= n || !parse_num(w[i + 1], UINT32_MAX, &v) || !v ||
				    v > IW_MAX_BURST)
					return fail(err, errlen, where, "'burst' needs a number from 1 "
						    "to %llu, got '%s'", (unsigned long long)IW_MAX_BURST,
						    i + 1 < n ? w[i + 1] : "");
				s->lim.burst = v;
				s->lim.burst_given = true;
				i += 2;
			} else if (!strcmp(w[i], "per-source")) {
				s->per_source = true;
				i++;
				if (i < n && w[i][0] == '/') {
					uint64_t v;
					int max = 128;

					/* a length means one family's addresses: /24 is an IPv4 network
					 * and an enormous IPv6 one */
					if (s->nt > 1)
						return fail(err, errlen, where, "per-source %s needs a family: "
							    "'rate icmp ...' or 'rate icmpv6 ...'", w[i]);
					if (s->t[0].fam == IW_FAM_ICMP)
						max = 32;
					if (!parse_num(w[i] + 1, max, &v))
						return fail(err, errlen, where, "invalid prefix length '%s' "
							    "for per-source (/0 to /%d)", w[i], max);
					s->plen = v;
					i++;
				}
			} else {
				break;
			}
		}
		ret = check_limit(&s->lim, err, errlen, where);
		if (ret)
			return ret;
	}
	if (i < n)
		return fail(err, errlen, where, "unexpected '%s'", w[i]);
	return 0;
}

static void warn_nd(const struct stmt *s, FILE *warn, const char *where)
{
	for (int k = 0; warn && k < s->nt; k++) {
		if (s->t[k].fam == IW_FAM_ICMPV6 && s->t[k].type >= IW_ND_FIRST &&
		    s->t[k].type <= IW_ND_LAST) {
			const char *tn = type_name(IW_FAM_ICMPV6, s->t[k].type);

			fprintf(warn, "icmpwall: warning: %s%sthis rule touches IPv6 neighbour discovery "
				"(%s); a mistake here cuts the host off from its neighbours\n",
				where ? where : "", where ? ": " : "", tn ? tn : "?");
		}
	}
}

static int apply_rule(struct policy *p, const struct stmt *s, char *err, size_t errlen,
		      const char *where)
{
	struct policy tmp;
	int ret;

	/* Work on a copy of the rules so that a statement that does not fit changes nothing. */
	memcpy(tmp.rules, p->rules, sizeof(p->rules[0]) * p->nrules);
	tmp.nrules = p->nrules;
	for (int k = 0; k < s->nt; k++) {
		const struct target *t = &s->t[k];
		int i = find_rule(&tmp, t->fam, t->type, t->code);
		struct pol_rule *r;

		if (s->kind == ST_PASS && t->code < 0) {
			/* pass on a type: its rules go, code-level ones included */
			for (int j = tmp.nrules - 1; j >= 0; j--)
				if (tmp.rules[j].fam == t->fam && tmp.rules[j].type == t->type)
					remove_rule(&tmp, j);
			continue;
		}
		if (i < 0) {
			if (tmp.nrules >= IW_MAX_RULES)
				return fail(err, errlen, where, "too many rules (at most %d)", IW_MAX_RULES);
			i = tmp.nrules++;
			memset(&tmp.rules[i], 0, sizeof(tmp.rules[i]));
			tmp.rules[i].fam = t->fam;
			tmp.rules[i].type = t->type;
			tmp.rules[i].code = t->code;
		}
		r = &tmp.rules[i];
		if (s->kind != ST_RATE) {
			r->action = s->kind == ST_DROP ? IW_ACT_DROP : IW_ACT_PASS;
			r->has_global = r->has_src = false;
			continue;
		}
		if (r->action != IW_ACT_RATE) {
			r->action = IW_ACT_RATE;
			r->has_global = r->has_src = false;
		}
		if (s->per_source) {
			r->has_src = true;
			r->src = s->lim;
			r->src_plen = s->plen >= 0 ? s->plen : (t->fam == IW_FAM_ICMP ? 32 : 64);
		} else {
			r->has_global = true;
			r->global = s->lim;
		}
	}
	ret = count_code_types(&tmp);
	if (ret > IW_MAX_CODE_TABLES)
		return fail(err, errlen, where, "too many types with code-level rules (at most %d)",
			    IW_MAX_CODE_TABLES);
	memcpy(p->rules, tmp.rules, sizeof(p->rules[0]) * tmp.nrules);
	p->nrules = tmp.nrules;
	return 0;
}

int policy_statement(struct policy *p, int n, char **w, char *err, size_t errlen, FILE *warn,
		     const char *where)
{
	struct stmt s = {};
	int ret;

	if (n < 1)
		return fail(err, errlen, where, "empty statement");
	if (!strcmp(w[0], "rate") || !strcmp(w[0], "drop") || !strcmp(w[0], "pass")) {
		s.kind = !strcmp(w[0], "rate") ? ST_RATE : !strcmp(w[0], "drop") ? ST_DROP : ST_PASS;
		ret = parse_rule(&s, n, w, err, errlen, where);
		if (ret)
			return ret;
		ret = apply_rule(p, &s, err, errlen, where);
		if (!ret && s.kind != ST_PASS)
			warn_nd(&s, warn, where);
		return ret;
	}
	if (!strcmp(w[0], "max-size")) {
		uint64_t v;

		if (n != 2)
			return fail(err, errlen, where, n < 2 ? "'max-size' needs a size in bytes or 'off'" :
				    "unexpected '%s'", n > 2 ? w[2] : "");
		if (!strcmp(w[1], "off")) {
			p->max_size = 0;
			return 0;
		}
		if (!parse_num(w[1], UINT32_MAX, &v) || v < POL_MIN_MAX_SIZE || v > 65535)
			return fail(err, errlen, where, "'max-size' needs a size from %d to 65535 bytes "
				    "or 'off', got '%s'", POL_MIN_MAX_SIZE, w[1]);
		/* allowed (an IPv4-only host), but no ICMPv6 packet is that small */
		if (warn && v < POL_MIN_MAX_SIZE_V6)
			fprintf(warn, "icmpwall: warning: %s%smax-size %llu drops every ICMPv6 packet "
				"but neighbour discovery and allowed sources (IPv6 and ICMPv6 "
				"headers: %d bytes)\n",
				where ? where : "", where ? ": " : "", (unsigned long long)v,
				POL_MIN_MAX_SIZE_V6);
		p->max_size = v;
		return 0;
	}
	if (!strcmp(w[0], "fragments") || !strcmp(w[0], "checksum")) {
		bool frag = w[0][0] == 'f';
		const char *on = frag ? "drop" : "verify", *off = frag ? "pass" : "ignore";

		if (n > 2)
			return fail(err, errlen, where, "unexpected '%s'", w[2]);
		if (n != 2 || (strcmp(w[1], on) && strcmp(w[1], off)))
			return fail(err, errlen, where, "'%s' takes '%s' or '%s'%s%s%s", w[0], off, on,
				    n > 1 ? ", got '" : "", n > 1 ? w[1] : "", n > 1 ? "'" : "");
		if (frag)
			p->frag_drop = !strcmp(w[1], on);
		else
			p->csum_verify = !strcmp(w[1], on);
		return 0;
	}
	if (!strcmp(w[0], "allow") || !strcmp(w[0], "deny")) {
		struct pol_cidr c;
		char e[POL_ERR_LEN];

		if (n != 2)
			return fail(err, errlen, where, n < 2 ? "'%s' needs an address or prefix" :
				    "'%s' takes one address or prefix", w[0]);
		if (parse_cidr(w[1], &c, e, sizeof(e)))
			return fail(err, errlen, where, "%s", e);
		c.list = w[0][0] == 'a' ? IW_CIDR_ALLOW : IW_CIDR_DENY;
		if (find_cidr(p, &c) < 0 && count_cidrs(p, c.fam) >= POL_MAX_CIDRS)
			return fail(err, errlen, where, "too many %s prefixes (at most %d)",
				    c.fam == IW_FAM_ICMP ? "IPv4" : "IPv6", POL_MAX_CIDRS);
		if (policy_add_cidr(p, &c))
			return fail(err, errlen, where, "out of memory");
		return 0;
	}
	return fail(err, errlen, where, "unknown statement '%s' (expected rate, drop, pass, max-size, "
		    "fragments, checksum, allow or deny)", w[0]);
}

int policy_line(struct policy *p, const char *line, char *err, size_t errlen, FILE *warn,
		const char *where)
{
	char buf[1024], *w[MAX_WORDS], *save = NULL, *tok, *hash;
	int n = 0;

	if (strlen(line) >= sizeof(buf))
		return fail(err, errlen, where, "line too long (at most %zu characters)",
			    sizeof(buf) - 1);
	strcpy(buf, line);
	hash = strchr(buf, '#');
	if (hash)
		*hash = 0;
	for (tok = strtok_r(buf, " \t\r\n\v\f", &save); tok; tok = strtok_r(NULL, " \t\r\n\v\f", &save)) {
		if (n == MAX_WORDS)
			return fail(err, errlen, where, "too many words");
		w[n++] = tok;
	}
	if (!n)
		return 0;
	return policy_statement(p, n, w, err, errlen, warn, where);
}

int policy_parse_buf(struct policy *p, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen, FILE *warn)
{
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		size_t end = pos;
		char line[1025], where[PATH_MAX + 16];
		int ret;

		while (end < len && buf[end] != '\n')
			end++;
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		if (memchr(buf + pos, 0, end - pos))
			return fail(err, errlen, where, "binary data (a NUL byte)");
		if (end - pos >= sizeof(line))
			return fail(err, errlen, where, "line too long (at most %zu characters)",
				    sizeof(line) - 2);
		memcpy(line, buf + pos, end - pos);
		line[end - pos] = 0;
		ret = policy_line(p, line, err, errlen, warn, where);
		if (ret)
			return ret;
		pos = end + 1;
	}
	return 0;
}

int policy_parse_file(struct policy *p, const char *path, char *err, size_t errlen, FILE *warn)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (!f) {
		int e = errno;

		fail(err, errlen, NULL, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			if (cap > (16u << 20)) {
				fclose(f);
				free(buf);
				return fail(err, errlen, NULL, "%s: too large (more than 16 MiB)", path);
			}
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (!got)
			break;
	}
	if (ferror(f)) {
		ret = fail(err, errlen, NULL, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return ret;
	}
	fclose(f);
	ret = policy_parse_buf(p, path, buf, len, err, errlen, warn);
	free(buf);
	return ret;
}

/* ---- show ----------------------------------------------------------------------------- */

static void show_target(const struct pol_rule *r, FILE *out)
{
	const char *tn = type_name(r->fam, r->type), *cn;

	fprintf(out, " %s", family_name(r->fam));
	if (tn)
		fprintf(out, " %s", tn);
	else
		fprintf(out, " type %d", r->type);
	if (r->code >= 0) {
		cn = code_name(r->fam, r->type, r->code);
		if (cn)
			fprintf(out, " code %s", cn);
		else
			fprintf(out, " code %d", r->code);
	}
}

static void show_limit(const struct pol_limit *l, FILE *out)
{
	fprintf(out, " %u/%s", l->count, l->per_minute ? "minute" : "second");
	if (l->burst_given)
		fprintf(out, " burst %u", l->burst);
}

static int rule_cmp(const void *a, const void *b)
{
	const struct pol_rule *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam - y->fam;
	if (x->type != y->type)
		return x->type - y->type;
	return x->code - y->code;
}

void policy_show(const struct policy *p, FILE *out)
{
	struct pol_rule sorted[IW_MAX_RULES];
	char buf[INET6_ADDRSTRLEN + 8];

	if (p->max_size)
		fprintf(out, "max-size %u\n", p->max_size);
	else
		fprintf(out, "max-size off\n");
	fprintf(out, "fragments %s\n", p->frag_drop ? "drop" : "pass");
	fprintf(out, "checksum %s\n", p->csum_verify ? "verify" : "ignore");
	for (int list = IW_CIDR_DENY; list; list = list == IW_CIDR_DENY ? IW_CIDR_ALLOW : 0) {
		for (int i = 0; i < p->ncidrs; i++) {
			if (p->cidrs[i].list != list)
				continue;
			format_cidr(&p->cidrs[i], buf, sizeof(buf));
			fprintf(out, "%s %s\n", list == IW_CIDR_DENY ? "deny" : "allow", buf);
		}
	}
	memcpy(sorted, p->rules, p->nrules * sizeof(sorted[0]));
	qsort(sorted, p->nrules, sizeof(sorted[0]), rule_cmp);
	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &sorted[i];
		int dflt = r->fam == IW_FAM_ICMP ? 32 : 64;

		if (r->action == IW_ACT_DROP || r->action == IW_ACT_PASS) {
			fprintf(out, "%s", r->action == IW_ACT_DROP ? "drop" : "pass");
			show_target(r, out);
			fputc('\n', out);
			continue;
		}
		if (r->has_global) {
			fprintf(out, "rate");
			show_target(r, out);
			show_limit(&r->global, out);
			fputc('\n', out);
		}
		if (r->has_src) {
			fprintf(out, "rate");
			show_target(r, out);
			show_limit(&r->src, out);
			fprintf(out, " per-source");
			if (r->src_plen != dflt)
				fprintf(out, " /%u", r->src_plen);
			fputc('\n', out);
		}
	}
}

/* ---- compile ---------------------------------------------------------------------------- */

static const struct iw_rule *old_rule(const struct iw_policy *old, int fam, int type, int code)
{
	int idx, ct;

	if (!old)
		return NULL;
	if (code < 0) {
		idx = old->type_rule[fam][type];
	} else {
		ct = old->type_codes[fam][type];
		if (!ct || ct > IW_MAX_CODE_TABLES)
			return NULL;
		idx = old->code_rule[ct - 1][code];
	}
	return idx ? &old->rules[idx] : NULL;
}

static void compile_limit(struct iw_limit *k, const struct pol_limit *l,
			  const struct iw_limit *old, uint32_t hz)
{
	k->count = l->count;
	k->per_minute = l->per_minute;
	k->burst = l->burst;
	k->burst_given = l->burst_given;
	k->interval = limit_interval(l, hz);
	k->tolerance = (uint64_t)(l->burst - 1) * k->interval;
	if (k->tolerance < IW_MIN_TOLERANCE)
		k->tolerance = IW_MIN_TOLERANCE;
	if (!old || !old->interval) {
		k->epoch = 0;	/* with a reset state: a full bucket */
	} else if (old->interval == k->interval && old->tolerance == k->tolerance) {
		k->epoch = old->epoch;
		memcpy(k->hist, old->hist, sizeof(k->hist));
		return;
	} else {
		/* Changed: the first packet to find an older epoch converts the bucket from the
		 * limit of its epoch, kept here for the last IW_EPOCHS changes. */
		k->epoch = (uint8_t)(old->epoch + 1);
		memcpy(k->hist, old->hist, sizeof(k->hist));
	}
	k->hist[k->epoch % IW_EPOCHS] = (struct iw_epoch_limit){ k->interval, k->tolerance };
}

int policy_compiles(const struct policy *p, uint32_t hz, char *err, size_t errlen)
{
	bool fresh[IW_MAX_BUCKETS];
	struct iw_policy *kp = calloc(1, sizeof(*kp));
	int ret;

	if (!kp)
		return fail(err, errlen, NULL, "out of memory");
	ret = policy_compile(p, NULL, hz, kp, fresh, err, errlen);
	free(kp);
	return ret;
}

int policy_compile(const struct policy *p, const struct iw_policy *old, uint32_t hz,
		   struct iw_policy *out, bool *fresh_buckets, char *err, size_t errlen)
{
	bool used[IW_MAX_BUCKETS] = {};
	uint8_t *src_used;	/* per-source ids the old or the new policy holds */
	int ntables = 0, ret = 0;
	uint32_t next_src;

	memset(out, 0, sizeof(*out));
	memset(fresh_buckets, 0, IW_MAX_BUCKETS * sizeof(bool));
	if (p->nrules > IW_MAX_RULES)
		return fail(err, errlen, NULL, "too many rules (at most %d)", IW_MAX_RULES);
	if (!hz) {
		for (int i = 0; i < p->nrules; i++)
			if (p->rules[i].action == IW_ACT_RATE)
				return fail(err, errlen, NULL, "cannot use rate rules: the kernel's "
					    "CONFIG_HZ is unknown");
		hz = POL_HZ_WORST;
	}
	src_used = calloc(1, 0x10000);
	if (!src_used)
		return fail(err, errlen, NULL, "out of memory");
	out->flags = (p->frag_drop ? IW_POL_FRAG_DROP : 0) | (p->csum_verify ? IW_POL_CSUM_VERIFY : 0);
	if (count_cidrs(p, IW_FAM_ICMP))
		out->flags |= IW_POL_CIDR4;
	if (count_cidrs(p, IW_FAM_ICMPV6))
		out->flags |= IW_POL_CIDR6;
	out->max_size = p->max_size;
	out->slot = old ? !old->slot : 1;
	out->generation = old ? old->generation + 1 : 1;
	next_src = old && old->next_src_id ? old->next_src_id : 1;

	/* What the old policy holds stays out of reach of new rules: a packet judged by the
	 * old policy may still be using its buckets while this one is installed, and its
	 * per-source tables still hold entries under its ids. */
	src_used[0] = 1;
	for (int i = 1; old && i <= IW_MAX_RULES; i++) {
		if (old->rules[i].action != IW_ACT_RATE)
			continue;
		if (old->rules[i].global.interval)
			used[old->rules[i].bucket % IW_MAX_BUCKETS] = true;
		if (old->rules[i].src.interval)
			src_used[old->rules[i].src_id] = 1;
	}

	for (int i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		const struct iw_rule *o = old_rule(old, r->fam, r->type, r->code);
		struct iw_rule *k = &out->rules[i + 1];

		if (r->code < 0) {
			out->type_rule[r->fam][r->type] = i + 1;
		} else {
			int ct = out->type_codes[r->fam][r->type];

			if (!ct) {
				if (ntables == IW_MAX_CODE_TABLES) {
					ret = fail(err, errlen, NULL, "too many types with code-level "
						   "rules (at most %d)", IW_MAX_CODE_TABLES);
					goto out;
				}
				ct = ++ntables;
				out->type_codes[r->fam][r->type] = ct;
			}
			out->code_rule[ct - 1][r->code] = i + 1;
		}
		k->action = r->action;
		if (r->action != IW_ACT_RATE)
			continue;
		if (o && o->action != IW_ACT_RATE)
			o = NULL;
		if (r->has_global) {
			compile_limit(&k->global, &r->global, o ? &o->global : NULL, hz);
			if (o && o->global.interval) {
				k->bucket = o->bucket;
			} else {
				int b = 0;

				while (b < IW_MAX_BUCKETS && used[b])
					b++;
				if (b == IW_MAX_BUCKETS) {
					ret = fail(err, errlen, NULL, "too many rate rules");
					goto out;
				}
				k->bucket = b;
				fresh_buckets[b] = true;
			}
			used[k->bucket] = true;
		}
		if (r->has_src) {
			/* the sources' buckets carry over only at the same prefix length: at
			 * another, a key (prefix, src_id) would name other sources */
			bool keep = o && o->src.interval && o->src_plen == r->src_plen;

			compile_limit(&k->src, &r->src, keep ? &o->src : NULL, hz);
			k->src_plen = r->src_plen;
			if (keep) {
				k->src_id = o->src_id;
			} else {
				/* at most 2 x 255 ids are taken, so a free one is near */
				while (src_used[next_src])
					next_src = next_src >= 0xffff ? 1 : next_src + 1;
				k->src_id = next_src;
				src_used[next_src] = 1;
				next_src = next_src >= 0xffff ? 1 : next_src + 1;
			}
		}
	}
	out->next_src_id = next_src;
out:
	free(src_used);
	return ret;
}

void policy_bucket_limits(const struct iw_policy *kp, uint32_t copy, struct iw_bucket *buckets)
{
	for (int i = 1; i <= IW_MAX_RULES; i++) {
		const struct iw_rule *r = &kp->rules[i];
		struct iw_bucket_limit *bl;

		if (r->action != IW_ACT_RATE || !r->global.interval)
			continue;
		bl = &buckets[r->bucket % IW_MAX_BUCKETS].lim[copy & 1];
		__atomic_store_n(&bl->tolerance, r->global.tolerance, __ATOMIC_RELAXED);
		__atomic_store_n(&bl->span, r->global.interval + IW_LAG_TICKS, __ATOMIC_RELAXED);
		__atomic_store_n(&bl->epoch, r->global.epoch, __ATOMIC_RELAXED);
	}
}

/* The fast word of family fam x type type in compiled policy kp, installed as copy copy. */
static __u64 fast_word(const struct iw_policy *kp, uint32_t copy, int fam, int type)
{
	uint32_t list = fam == IW_FAM_ICMP ? IW_POL_CIDR4 : IW_POL_CIDR6;
	bool nd = fam == IW_FAM_ICMPV6 && type >= IW_ND_FIRST && type <= IW_ND_LAST;
	__u64 max = nd || !kp->max_size ? IW_FAST_MAX : kp->max_size, w;
	int idx = kp->type_rule[fam][type];
	const struct iw_rule *r = &kp->rules[idx];

	/* code-level rules, or checks that only the judge makes */
	if (kp->type_codes[fam][type] || (!nd && (kp->flags & (list | IW_POL_CSUM_VERIFY))))
		return IW_FAST_SLOW;
	if (!idx || r->action == IW_ACT_PASS)
		w = IW_FAST_WORD(IW_FAST_PASS, copy, 0, max);
	else if (r->action == IW_ACT_DROP)
		w = IW_FAST_WORD(IW_FAST_DROP, copy, 0, max);
	else if (r->action == IW_ACT_RATE)
		w = IW_FAST_WORD(IW_FAST_RATE, copy, idx, max) |
		    (__u64)(r->bucket % IW_MAX_BUCKETS) << 32 |
		    (r->src.interval ? IW_FAST_SRC : 0) |
		    (r->global.interval ? IW_FAST_GLOBAL : 0);
	else
		return IW_FAST_SLOW;
	return w | IW_FAST_GENERATION(kp->generation);
}

void policy_fast_words(const struct iw_policy *kp, uint32_t copy, struct iw_fast out[IW_NFAM][256])
{
	for (int fam = 0; fam < IW_NFAM; fam++)
		for (int type = 0; type < 256; type++)
			__atomic_store_n(&out[fam][type].word, fast_word(kp, copy, fam, type),
					 __ATOMIC_RELEASE);
}

static void decompile_limit(struct pol_limit *l, const struct iw_limit *k)
{
	l->count = k->count;
	l->per_minute = k->per_minute;
	l->burst = k->burst;
	l->burst_given = k->burst_given;
}

static void decompile_rule(struct policy *out, const struct iw_rule *k, int fam, int type,
			   int code)
{
	struct pol_rule *r;

	if (out->nrules >= IW_MAX_RULES || k->action == IW_ACT_NONE)
		return;
	r = &out->rules[out->nrules++];
	memset(r, 0, sizeof(*r));
	r->fam = fam;
	r->type = type;
	r->code = code;
	r->action = k->action;
	if (k->action != IW_ACT_RATE)
		return;
	r->has_global = k->global.interval != 0;
	r->has_src = k->src.interval != 0;
	if (r->has_global)
		decompile_limit(&r->global, &k->global);
	if (r->has_src) {
		decompile_limit(&r->src, &k->src);
		r->src_plen = k->src_plen;
	}
}

int policy_decompile(const struct iw_policy *kp, struct policy *out)
{
	policy_init(out);
	out->max_size = kp->max_size;
	out->frag_drop = kp->flags & IW_POL_FRAG_DROP;
	out->csum_verify = kp->flags & IW_POL_CSUM_VERIFY;
	for (int fam = 0; fam < IW_NFAM; fam++) {
		for (int type = 0; type < 256; type++) {
			int idx = kp->type_rule[fam][type], ct = kp->type_codes[fam][type];

			if (idx)
				decompile_rule(out, &kp->rules[idx], fam, type, -1);
			if (!ct || ct > IW_MAX_CODE_TABLES)
				continue;
			for (int code = 0; code < 256; code++) {
				idx = kp->code_rule[ct - 1][code];
				if (idx)
					decompile_rule(out, &kp->rules[idx], fam, type, code);
			}
		}
	}
	return 0;
}
