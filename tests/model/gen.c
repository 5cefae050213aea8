// SPDX-License-Identifier: GPL-2.0
/*
 * gen.c - random policies and frames for the differential test. See gen.h.
 */
#include "gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- randomness: xoshiro256**, seeded through splitmix64 ------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void gen_init(struct gen *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t gen_u64(struct gen *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

uint32_t gen_below(struct gen *g, uint32_t n)
{
	return n ? (uint32_t)((gen_u64(g) >> 32) * n >> 32) : 0;
}

int gen_range(struct gen *g, int lo, int hi)
{
	return lo + (int)gen_below(g, (uint32_t)(hi - lo + 1));
}

bool gen_chance(struct gen *g, int percent)
{
	return (int)gen_below(g, 100) < percent;
}

static void gen_bytes(struct gen *g, uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)gen_u64(g);
}

#define PICK(g, arr) ((arr)[gen_below((g), sizeof(arr) / sizeof((arr)[0]))])

/* ---- policies -------------------------------------------------------------------------- */

static void mask_addr(uint8_t *a, int plen, int alen)
{
	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;

		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static void gen_pools(struct gen *g, struct gen_policy *p)
{
	static const uint8_t bases4[][4] = {
		{ 192, 0, 2, 0 }, { 198, 51, 100, 0 }, { 203, 0, 113, 0 }, { 10, 0, 0, 0 },
	};
	uint8_t b4[2][4], b6[2][16] = {};

	for (int b = 0; b < 2; b++) {
		memcpy(b4[b], PICK(g, bases4), 4);
		if (b4[b][0] == 10 || gen_chance(g, 20)) {
			b4[b][1] = gen_below(g, 256);
			b4[b][2] = gen_below(g, 256);
		}
		b6[b][0] = 0x20;
		b6[b][1] = 0x01;
		b6[b][2] = 0x0d;
		b6[b][3] = 0xb8;
		b6[b][4] = gen_below(g, 4);
		b6[b][5] = gen_below(g, 256);
		b6[b][6] = gen_below(g, 4);
		b6[b][7] = gen_below(g, 256);
		gen_bytes(g, b6[b] + 8, 8);
	}
	p->nsrc4 = gen_range(g, 3, GEN_POOL);
	for (int i = 0; i < p->nsrc4; i++) {
		uint8_t *a = p->src4[i];

		memcpy(a, b4[gen_below(g, 2)], 4);
		if (gen_chance(g, 25))
			a[2] ^= 1 << gen_below(g, 8);
		a[3] = gen_chance(g, 20) && i ? p->src4[i - 1][3] ^ 1 : gen_below(g, 256);
	}
	p->nsrc6 = gen_range(g, 3, GEN_POOL);
	for (int i = 0; i < p->nsrc6; i++) {
		uint8_t *a = p->src6[i];

		memcpy(a, b6[gen_below(g, 2)], 16);
		if (gen_chance(g, 30))
			a[7] ^= 1 << gen_below(g, 8);	/* another /64 */
		if (gen_chance(g, 50))
			a[15] = gen_below(g, 256);	/* same /64, another address */
		if (gen_chance(g, 20))
			gen_bytes(g, a + 8, 8);
	}
}

static void gen_cidr(struct gen *g, const struct gen_policy *p, struct model_stmt *s)
{
	static const uint8_t plens4[] = { 0, 8, 16, 20, 24, 24, 28, 30, 31, 32, 32 };
	static const uint8_t plens6[] = { 0, 16, 32, 48, 56, 60, 64, 64, 96, 112, 127, 128, 128 };
	struct model_cidr *c = &s->cidr;
	int alen;

	memset(s, 0, sizeof(*s));
	s->kind = gen_chance(g, 50) ? MS_ALLOW : MS_DENY;
	c->fam = gen_chance(g, 55) ? IW_FAM_ICMP : IW_FAM_ICMPV6;
	alen = c->fam == IW_FAM_ICMP ? 4 : 16;
	if (gen_chance(g, 85))
		memcpy(c->addr, c->fam == IW_FAM_ICMP ? p->src4[gen_below(g, p->nsrc4)] :
						      p->src6[gen_below(g, p->nsrc6)], alen);
	else
		gen_bytes(g, c->addr, alen);
	if (gen_chance(g, 85))
		c->plen = c->fam == IW_FAM_ICMP ? PICK(g, plens4) : PICK(g, plens6);
	else
		c->plen = gen_below(g, alen * 8 + 1);
	mask_addr(c->addr, c->plen, alen);
}

static void gen_setting(struct gen *g, struct model_stmt *s)
{
	memset(s, 0, sizeof(*s));
	switch (gen_below(g, 3)) {
	case 0: {
		int r = gen_below(g, 100);

		s->kind = MS_MAX_SIZE;
		if (r < 15)
			s->size = 0;
		else if (r < 35)
			s->size = gen_range(g, 28, 120);
		else if (r < 70)
			s->size = gen_range(g, 121, 1600);
		else if (r < 80)
			s->size = gen_range(g, 1601, 3600);
		else
			s->size = gen_range(g, 60000, 65535);
		break;
	}
	case 1:
		s->kind = MS_FRAGMENTS;
		s->on = gen_chance(g, 50);
		break;
	default:
		s->kind = MS_CHECKSUM;
		s->on = gen_chance(g, 60);
		break;
	}
}

static const int common4[] = { 0, 3, 3, 5, 8, 8, 11, 12, 13, 14, 17 };
static const int common6[] = { 1, 1, 2, 3, 4, 128, 128, 129, 130, 133, 134, 135, 136, 137, 143 };

static void gen_rule(struct gen *g, const struct gen_policy *p, struct model_stmt *s)
{
	static const char *const units_s[] = { "second", "s", "sec" };
	static const char *const units_m[] = { "minute", "m", "min" };
	static const int plens4[] = { 0, 8, 16, 24, 28, 31, 32 };
	static const int plens6[] = { 0, 32, 48, 56, 64, 96, 120, 128 };
	int r = gen_below(g, 100), form = gen_below(g, 100), nfam = 0;
	bool has4 = false;

	memset(s, 0, sizeof(*s));
	s->kind = r < 45 ? MS_RATE : r < 75 ? MS_DROP : MS_PASS;
	s->code_num = -1;
	s->plen = -1;
	/* an earlier rule's key again: the later statement replaces it */
	if (p->nstmts && gen_chance(g, 20)) {
		const struct model_stmt *o = &p->stmts[gen_below(g, p->nstmts)];

		if (o->kind == MS_RATE || o->kind == MS_DROP || o->kind == MS_PASS) {
			s->fam = o->fam;
			s->type_name = o->type_name;
			s->type_num = o->type_num;
			s->code_name = o->code_name;
			s->code_num = o->code_num;
			goto limits;
		}
	}
	if (form < 40) {
		/* a name without a family: every family that has it */
		const struct model_name *n;

		do
			n = &model_names[gen_below(g, model_nnames)];
		while (n->code >= 0);
		s->fam = -1;
		s->type_name = n->name;
	} else {
		s->fam = gen_chance(g, 50) ? IW_FAM_ICMP : IW_FAM_ICMPV6;
		if (form < 70) {
			const struct model_name *n;

			do
				n = &model_names[gen_below(g, model_nnames)];
			while (n->code >= 0 || n->fam != s->fam);
			s->type_name = n->name;
		} else {
			s->type_name = NULL;
			s->type_num = gen_chance(g, 60) ?
				(s->fam == IW_FAM_ICMP ? PICK(g, common4) : PICK(g, common6)) :
				(int)gen_below(g, 256);
		}
	}
	if (gen_chance(g, 35)) {
		int type = s->type_name ? model_type_by_name(s->fam, s->type_name) : s->type_num;
		const struct model_name *cn = NULL;

		if (s->fam >= 0 && gen_chance(g, 40))
			for (int i = 0, seen = 0; i < model_nnames; i++)
				if (model_names[i].fam == s->fam && model_names[i].type == type &&
				    model_names[i].code >= 0 && gen_below(g, ++seen) == 0)
					cn = &model_names[i];
		if (cn)
			s->code_name = cn->name;
		else
			s->code_num = gen_chance(g, 70) ? gen_range(g, 0, 16) : (int)gen_below(g, 256);
	}
limits:
	if (s->kind != MS_RATE)
		return;
	for (int fam = 0; fam < IW_NFAM; fam++) {
		if (s->fam >= 0 && fam != s->fam)
			continue;
		if (s->type_name && model_type_by_name(fam, s->type_name) < 0)
			continue;
		nfam++;
		has4 |= fam == IW_FAM_ICMP;
	}
	if (gen_chance(g, 75)) {
		/* tiny: one token per 30 or 60 seconds, so exactly the burst passes */
		s->lim.count = gen_range(g, 1, 2);
		s->lim.per_minute = true;
		s->rate_unit = PICK(g, units_m);
		if (gen_chance(g, 60)) {
			s->lim.burst_given = true;
			s->lim.burst = gen_chance(g, 92) ? gen_range(g, 1, 5) : gen_range(g, 6, 20);
		}
	} else {
		/* huge: a burst no test exhausts */
		if (gen_chance(g, 70)) {
			s->lim.count = gen_range(g, 1000000, 100000000);
			s->rate_unit = PICK(g, units_s);
		} else {
			s->lim.count = gen_range(g, 60000000, 100000000);
			s->lim.per_minute = true;
			s->rate_unit = PICK(g, units_m);
		}
		if (gen_chance(g, 20)) {
			s->lim.burst_given = true;
			s->lim.burst = gen_range(g, 1000000, 100000000);
		}
	}
	if (gen_chance(g, 40)) {
		s->per_source = true;
		/* user/policy.c wants a family with /LEN when the name covers both (a rule
		 * docs/semantics.md does not state) */
		if (gen_chance(g, 50) && nfam == 1)
			s->plen = has4 ? PICK(g, plens4) : PICK(g, plens6);
	}
}

/* Types (per family) with code-level rules, as the compiled form counts them. */
static int code_types(const struct model_policy *m)
{
	int n = 0;

	for (int i = 0; i < m->nrules; i++) {
		bool seen = false;

		if (m->rules[i].code < 0)
			continue;
		for (int k = 0; k < i && !seen; k++)
			seen = m->rules[k].code >= 0 && m->rules[k].fam == m->rules[i].fam &&
			       m->rules[k].type == m->rules[i].type;
		n += !seen;
	}
	return n;
}

static bool huge(const struct model_limit *l)
{
	return l->burst >= 1000000;
}

/*
 * What a change may do to a rate that stays, so that the outcome does not depend on time:
 * a per-source rule keeps its prefix length (section 5 says what happens to a rate, not to
 * the shape of its buckets), and a tiny rate does not become a huge one (its bucket would
 * keep a level of a few tokens only until the next jiffy refills it).
 */
static bool change_ok(const struct model_policy *old, const struct model_policy *new)
{
	for (int i = 0; i < new->nrules; i++) {
		const struct model_rule *n = &new->rules[i];
		const struct model_rule *o = model_rule_find(old, n->fam, n->type, n->code);

		if (!o || o->action != MA_RATE || n->action != MA_RATE)
			continue;
		if (o->has_src && n->has_src &&
		    (o->src_plen != n->src_plen || (!huge(&o->src) && huge(&n->src))))
			return false;
		if (o->has_global && n->has_global && !huge(&o->global) && huge(&n->global))
			return false;
	}
	return true;
}

/* Adds one statement if it is valid and keeps the policy within the limits. */
static bool add_stmt(struct gen_policy *p, const struct model_stmt *s,
		     const struct model_policy *old, struct model_policy *scratch)
{
	if (p->nstmts >= GEN_MAX_STMTS)
		return false;
	*scratch = p->model;
	if (model_policy_apply(scratch, s))
		return false;
	if (scratch->nrules > 200 || code_types(scratch) > 24)
		return false;
	if (old && !change_ok(old, scratch))
		return false;
	p->model = *scratch;
	p->stmts[p->nstmts++] = *s;
	return true;
}

/* A rate statement again on the key of an earlier one (same kind, same prefix length),
 * with another tiny limit: in a change, the bucket keeps its level, clamped. */
/* Whether statement s names the key of rule r. */
static bool names_rule(const struct model_stmt *s, const struct model_rule *r)
{
	int type, code = -1;

	if (s->fam >= 0 && s->fam != r->fam)
		return false;
	type = s->type_name ? model_type_by_name(r->fam, s->type_name) : s->type_num;
	if (s->code_name)
		code = model_code_by_name(r->fam, type, s->code_name);
	else if (s->code_num >= 0)
		code = s->code_num;
	return type == r->type && code == r->code;
}

static bool gen_rerate(struct gen *g, const struct gen_policy *p, struct model_stmt *s)
{
	int idx[GEN_MAX_STMTS], n = 0, nhot = 0;
	const struct model_rule *hot = p->hot >= 0 ? &p->model.rules[p->hot] : NULL;

	/* the hot rule's statements first, then any tiny rate */
	for (int i = 0; i < p->nstmts; i++)
		if (p->stmts[i].kind == MS_RATE && p->stmts[i].lim.count <= 2 && hot &&
		    names_rule(&p->stmts[i], hot))
			idx[nhot++] = i;
	n = nhot;
	if (!nhot || gen_chance(g, 30))
		for (int i = (n = 0); i < p->nstmts; i++)
			if (p->stmts[i].kind == MS_RATE && p->stmts[i].lim.count <= 2)
				idx[n++] = i;
	if (!n)
		return false;
	*s = p->stmts[idx[gen_below(g, n)]];
	s->lim.count = gen_range(g, 1, 2);
	s->lim.burst_given = gen_chance(g, 85);
	/* mostly smaller: the level is clamped */
	s->lim.burst = !s->lim.burst_given ? 0 : gen_chance(g, 70) ? (uint32_t)gen_range(g, 1, 2) :
						 (uint32_t)gen_range(g, 3, 8);
	return true;
}

static void gen_one(struct gen *g, struct gen_policy *p, const struct model_policy *old,
		    struct model_policy *scratch)
{
	struct model_stmt s;
	int r = gen_below(g, 100);

	if (old && r < 45 && gen_rerate(g, p, &s))
		;
	else if (r < 15)
		gen_setting(g, &s);
	else if (r < 35)
		gen_cidr(g, p, &s);
	else
		gen_rule(g, p, &s);
	add_stmt(p, &s, old, scratch);
}

__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t *n, const char *fmt, ...)
{
	size_t cap = GEN_TEXT_MAX;
	va_list ap;
	int k;

	if (*n >= cap - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + k < cap ? *n + k : cap - 1;
}

/* The statements as a file, with the comments, blank lines and odd spacing files have. */
static void render(struct gen *g, struct gen_policy *p)
{
	static const char *const spaces[] = { " ", "  ", "\t", " \t " };
	char line[256];
	size_t n = 0;

	p->text[0] = 0;
	if (gen_chance(g, 30))
		append(p->text, &n, "# icmpwall differential test policy\n");
	for (int i = 0; i < p->nstmts; i++) {
		bool odd = gen_chance(g, 10);

		model_stmt_format(&p->stmts[i], line, sizeof(line));
		if (gen_chance(g, 5))
			append(p->text, &n, "\n");
		if (gen_chance(g, 5))
			append(p->text, &n, "%s", PICK(g, spaces));
		for (const char *c = line; *c; c++) {
			if (*c == ' ' && odd)
				append(p->text, &n, "%s", PICK(g, spaces));
			else
				append(p->text, &n, "%c", *c);
		}
		if (gen_chance(g, 8))
			append(p->text, &n, "%s# note %d", PICK(g, spaces), i);
		append(p->text, &n, "\n");
	}
}

static void pick_hot(struct gen *g, struct gen_policy *p)
{
	int best = -1, seen = 0;

	p->hot = -1;
	for (int i = 0; i < p->model.nrules; i++) {
		const struct model_rule *r = &p->model.rules[i];

		if (r->action != MA_RATE)
			continue;
		/* rules limited both ways first: source before global */
		if (best >= 0 && !(r->has_src && r->has_global) &&
		    p->model.rules[best].has_src && p->model.rules[best].has_global)
			continue;
		if (best < 0 || (r->has_src && r->has_global &&
				 !(p->model.rules[best].has_src && p->model.rules[best].has_global))) {
			best = i;
			seen = 1;
		} else if (gen_below(g, ++seen) == 0) {
			best = i;
		}
	}
	if (best >= 0 && gen_chance(g, 85))
		p->hot = best;
	p->focus = gen_chance(g, 30) ? 85 : 40;
}

/* In a change: the previous hot rule, while it is still a rate. */
static void keep_hot(struct gen *g, const struct gen_policy *prev, struct gen_policy *p)
{
	const struct model_rule *o = prev->hot >= 0 ? &prev->model.rules[prev->hot] : NULL;

	for (int i = 0; o && i < p->model.nrules; i++) {
		const struct model_rule *r = &p->model.rules[i];

		if (r->fam == o->fam && r->type == o->type && r->code == o->code &&
		    r->action == MA_RATE) {
			p->hot = i;
			p->focus = prev->focus;
			return;
		}
	}
	pick_hot(g, p);
}

void gen_policy(struct gen *g, const struct gen_policy *prev, struct gen_policy *out)
{
	static struct model_policy scratch;
	int n;

	if (prev && prev->nstmts + 6 < GEN_MAX_STMTS && gen_chance(g, 30)) {
		/* a change to the policy in force: the same file with a few more statements */
		memcpy(out, prev, sizeof(*out));
		out->update = true;
		n = gen_range(g, 1, 5);
		for (int i = 0; i < n; i++)
			gen_one(g, out, &prev->model, &scratch);
		render(g, out);
		keep_hot(g, prev, out);
		return;
	}
	memset(out, 0, sizeof(*out));
	model_policy_init(&out->model);
	gen_pools(g, out);
	/* settings first, most of the time */
	for (int i = 0; i < 3; i++) {
		struct model_stmt s;

		if (!gen_chance(g, 60))
			continue;
		gen_setting(g, &s);
		add_stmt(out, &s, NULL, &scratch);
	}
	if (gen_chance(g, 55)) {
		n = gen_range(g, 1, 8);
		for (int i = 0; i < n; i++) {
			struct model_stmt s;

			gen_cidr(g, out, &s);
			add_stmt(out, &s, NULL, &scratch);
		}
	}
	n = gen_chance(g, 10) ? 0 : gen_range(g, 1, 18);
	for (int i = 0; i < n; i++) {
		struct model_stmt s;

		gen_rule(g, out, &s);
		if (!add_stmt(out, &s, NULL, &scratch) || s.kind != MS_RATE || !gen_chance(g, 35))
			continue;
		/* the same key limited both per source and globally */
		s.per_source = !s.per_source;
		s.plen = -1;
		s.lim.count = gen_range(g, 1, 2);
		s.lim.per_minute = true;
		s.rate_unit = "minute";
		s.lim.burst_given = true;
		/* small per source, larger globally: sources run dry while the global has room */
		s.lim.burst = s.per_source ? gen_range(g, 1, 3) : gen_range(g, 3, 10);
		add_stmt(out, &s, NULL, &scratch);
	}
	n = gen_below(g, 4);
	for (int i = 0; i < n; i++)
		gen_one(g, out, NULL, &scratch);
	render(g, out);
	pick_hot(g, out);
}

long gen_policy_frames(struct gen *g, long avg)
{
	long n;

	if (avg < 4)
		return avg > 0 ? avg : 1;
	if (gen_chance(g, 25))
		n = avg / 8 + gen_below(g, avg / 4 + 1);
	else
		n = avg * 3 / 4 + gen_below(g, avg / 2 + 1);
	return n > 0 ? n : 1;
}

/* ---- frames ------------------------------------------------------------------------------ */

struct fb {
	struct gen_frame *f;
	size_t w;		/* bytes of f->what used */
};

__attribute__((format(printf, 2, 3)))
static void what(struct fb *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap = sizeof(b->f->what);
	int n;

	if (b->w >= cap - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->f->what + b->w, cap - b->w, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->w = b->w + n < cap ? b->w + n : cap - 1;
}

static uint8_t *put(struct gen_frame *f, const void *p, uint32_t n)
{
	uint8_t *at = f->d + f->len;

	if (f->len + n > GEN_FRAME_MAX)
		n = GEN_FRAME_MAX - f->len;
	if (p)
		memcpy(at, p, n);
	else
		memset(at, 0, n);
	f->len += n;
	return at;
}

static void put8(struct gen_frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16(struct gen_frame *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void set16(struct gen_frame *f, uint32_t off, uint16_t v)
{
	if (off + 2 <= GEN_FRAME_MAX) {
		f->d[off] = v >> 8;
		f->d[off + 1] = v & 0xff;
	}
}

static uint16_t get16(const struct gen_frame *f, uint32_t off)
{
	return off + 2 <= GEN_FRAME_MAX ? (uint16_t)(f->d[off] << 8 | f->d[off + 1]) : 0;
}

static void put_rand(struct gen *g, struct gen_frame *f, uint32_t n)
{
	uint8_t *p = put(f, NULL, n);

	gen_bytes(g, p, f->d + f->len - p);
}

/* The Internet checksum of n bytes plus a starting sum. */
static uint16_t csum(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet and 0-3 VLAN tags; returns the offset of the L3 header. */
static uint32_t l2(struct gen *g, struct fb *b, uint16_t ethertype)
{
	struct gen_frame *f = b->f;
	int r = gen_below(g, 100), tags = r < 70 ? 0 : r < 84 ? 1 : r < 95 ? 2 : 3;

	put_rand(g, f, 12);
	for (int i = 0; i < tags; i++) {
		put16(f, gen_chance(g, 60) ? 0x8100 : 0x88a8);
		put16(f, gen_below(g, 65536));
	}
	put16(f, ethertype);
	if (tags)
		what(b, "tags=%d ", tags);
	return f->len;
}

/* Payload bytes after the 8-byte ICMP header; hdr: the bytes that count towards the end
 * before it, so that some frames end right at the policy's max-size. */
static uint32_t payload_len(struct gen *g, const struct gen_policy *p, uint32_t hdr,
			    uint32_t room)
{
	int r = gen_below(g, 100);
	uint32_t n;

	if (p->model.max_size && gen_chance(g, 12)) {
		int want = (int)p->model.max_size + gen_range(g, -1, 1) - (int)hdr - 8;

		if (want >= 0 && (uint32_t)want <= room)
			return want;
	}
	if (r < 55)
		n = gen_range(g, 0, 56);
	else if (r < 85)
		n = gen_range(g, 57, 600);
	else if (r < 97)
		n = gen_range(g, 601, 1500);
	else
		n = gen_range(g, 1501, GEN_FRAME_MAX);
	return n < room ? n : room;
}

static void pick_type(struct gen *g, const struct gen_policy *p, int fam, uint8_t *type,
		      uint8_t *code)
{
	int r = gen_below(g, 100), nr = 0;
	const struct model_rule *rules[MODEL_MAX_RULES];

	for (int i = 0; i < p->model.nrules; i++)
		if (p->model.rules[i].fam == fam)
			rules[nr++] = &p->model.rules[i];
	r = gen_below(g, 100);
	if (r < 20)
		*code = 0;
	else if (r < 45)
		*code = gen_range(g, 1, 16);
	else if (r < 55)
		*code = gen_below(g, 256);
	else
		*code = 0;
	r = gen_below(g, 100);
	if (p->hot >= 0 && p->model.rules[p->hot].fam == fam && gen_chance(g, p->focus)) {
		const struct model_rule *ru = &p->model.rules[p->hot];

		*type = ru->type;
		if (ru->code >= 0)
			*code = ru->code;
	} else if (r < 50 && nr) {
		const struct model_rule *ru = rules[gen_below(g, nr)];

		*type = ru->type;
		if (ru->code >= 0 && gen_chance(g, 70))
			*code = ru->code;
	} else if (r < 80) {
		*type = fam == IW_FAM_ICMP ? PICK(g, common4) : PICK(g, common6);
	} else {
		*type = gen_below(g, 256);
	}
}

static const uint8_t *pick_src(struct gen *g, const struct gen_policy *p, int fam, uint8_t *buf)
{
	if (p->hot >= 0 && gen_chance(g, p->focus))
		return fam == IW_FAM_ICMP ? p->src4[gen_below(g, 3)] : p->src6[gen_below(g, 3)];
	if (gen_chance(g, 88))
		return fam == IW_FAM_ICMP ? p->src4[gen_below(g, p->nsrc4)] :
					    p->src6[gen_below(g, p->nsrc6)];
	gen_bytes(g, buf, 16);
	return buf;
}

/* The ICMP message: type, code, checksum, 4 bytes, payload. Returns its offset. */
static uint32_t put_icmp(struct gen *g, struct gen_frame *f, uint8_t type, uint8_t code,
			 uint32_t paylen)
{
	uint32_t off = f->len;

	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put_rand(g, f, 4);
	if (gen_chance(g, 30))
		put(f, NULL, paylen);
	else
		put_rand(g, f, paylen);
	return off;
}

enum frag_mode { FR_NONE, FR_FIRST, FR_NONFIRST, FR_BOUNDARY, FR_RANDOM };

static enum frag_mode pick_frag(struct gen *g)
{
	int r = gen_below(g, 100);

	return r < 68 ? FR_NONE : r < 78 ? FR_FIRST : r < 88 ? FR_NONFIRST :
	       r < 97 ? FR_BOUNDARY : FR_RANDOM;
}

static void build4(struct gen *g, const struct gen_policy *p, struct fb *b, uint8_t proto)
{
	struct gen_frame *f = b->f;
	uint32_t l3 = l2(g, b, 0x0800), optw = gen_chance(g, 20) ? gen_range(g, 1, 10) : 0;
	uint32_t ihl = 5 + optw, msg, msglen, tot;
	enum frag_mode fm = pick_frag(g);
	uint16_t frag = gen_chance(g, 50) ? 0x4000 : 0;
	uint8_t type = 0, code = 0, sbuf[16];
	uint32_t room = GEN_FRAME_MAX - l3 - ihl * 4 - 8;

	if (proto == 1)
		pick_type(g, p, IW_FAM_ICMP, &type, &code);
	msglen = 8 + payload_len(g, p, ihl * 4, fm == FR_BOUNDARY ? 56 : room);
	tot = ihl * 4 + msglen;
	switch (fm) {
	case FR_NONE:
		break;
	case FR_FIRST:
		frag = 0x2000;
		break;
	case FR_NONFIRST:
		frag = (gen_chance(g, 50) ? 0x2000 : 0) | gen_range(g, 1, 1200);
		break;
	case FR_BOUNDARY: {
		/* end = offset x 8 + total length: exactly 65533 to 65537, or near */
		int target = 65535 + gen_range(g, -2, 2), off = (target - (int)tot) / 8;

		if (gen_chance(g, 70))
			msglen += target - (int)tot - off * 8;
		else
			off += gen_range(g, -2, 2);
		tot = ihl * 4 + msglen;
		off = off < 1 ? 1 : off > 8191 ? 8191 : off;
		frag = (gen_chance(g, 50) ? 0x2000 : 0) | off;
		break;
	}
	case FR_RANDOM:
		frag = gen_below(g, 65536);
		break;
	}
	put8(f, 0x40 | ihl);
	put8(f, gen_below(g, 256));
	put16(f, tot);
	put16(f, gen_below(g, 65536));
	put16(f, frag);
	put8(f, gen_range(g, 1, 255));
	put8(f, proto);
	put16(f, 0);
	put(f, pick_src(g, p, IW_FAM_ICMP, sbuf), 4);
	put_rand(g, f, 4);
	for (uint32_t i = 0; i < optw * 4; i++)
		put8(f, gen_chance(g, 50) ? 1 : gen_below(g, 256));
	if (f->len == l3 + ihl * 4)
		set16(f, l3 + 10, csum(f->d + l3, ihl * 4, 0));
	if (proto == 1) {
		msg = put_icmp(g, f, type, code, msglen - 8);
		if (gen_chance(g, 82))
			set16(f, msg + 2, csum(f->d + msg, f->len - msg, 0));
		else
			set16(f, msg + 2, gen_below(g, 65536));
		what(b, "v4 ihl=%u tot=%u frag=0x%04x type=%u code=%u", ihl, tot, frag, type, code);
	} else {
		put_rand(g, f, msglen);
		what(b, "v4 ihl=%u tot=%u frag=0x%04x proto=%u", ihl, tot, frag, proto);
	}
}

static void build6(struct gen *g, const struct gen_policy *p, struct fb *b, uint8_t last)
{
	static const uint8_t kinds[] = { 0, 0, 43, 60, 60, 51, 51, 44, 44, 44 };
	struct gen_frame *f = b->f;
	uint32_t l3 = l2(g, b, 0x86dd), msglen, ext = 0, msg;
	int r = gen_below(g, 100), n = r < 52 ? 0 : r < 72 ? 1 : r < 85 ? gen_range(g, 2, 3) :
				       r < 95 ? gen_range(g, 4, 8) : gen_range(g, 9, 10);
	uint8_t types[10], hl[10], type = 0, code = 0, sbuf[16];
	uint32_t len[10], fragoff[10];
	bool more[10];

	if (last == 58)
		pick_type(g, p, IW_FAM_ICMPV6, &type, &code);
	for (int i = 0; i < n; i++) {
		types[i] = PICK(g, kinds);
		hl[i] = gen_chance(g, 75) ? 0 : gen_range(g, 1, 3);
		if (types[i] == 51) {
			hl[i] = gen_range(g, 1, 5);
			len[i] = (hl[i] + 2) * 4;
		} else if (types[i] == 44) {
			len[i] = 8;
		} else {
			len[i] = (hl[i] + 1) * 8;
		}
		ext += len[i];
	}
	msglen = 8 + payload_len(g, p, 40 + ext,
				 GEN_FRAME_MAX > l3 + 48 + ext ? GEN_FRAME_MAX - l3 - 48 - ext : 0);
	/* fragment offsets: first, atomic, non-first, around the 65535 boundary */
	for (int i = 0, before = 0; i < n; before += len[i], i++) {
		int m = gen_below(g, 100);

		fragoff[i] = 0;
		more[i] = gen_chance(g, 50);
		if (types[i] != 44)
			continue;
		if (m < 40) {
			more[i] = true;
		} else if (m < 50) {
			more[i] = false;
		} else if (m < 78) {
			fragoff[i] = gen_range(g, 1, 1200) * 8;
		} else {
			/* end - 40 = before + offset + (payload length - bytes walked), and the
			 * walk stops after this header: exactly 65533 to 65537, or near */
			int rest = (int)(ext - before - len[i] + msglen);
			int target = 65535 + gen_range(g, -2, 2), off = target - before - rest;

			if (off < 8 || !gen_chance(g, 70)) {
				off += gen_range(g, -16, 16);
			} else if (off & 7) {
				msglen += off & 7;	/* the fragment data makes up the rest */
				off &= ~7;
			}
			off = off < 8 ? 8 : off > 65528 ? 65528 : off;
			fragoff[i] = off & ~7;
		}
	}
	put8(f, 0x60 | gen_below(g, 16));
	put_rand(g, f, 3);
	put16(f, ext + msglen);
	put8(f, n ? types[0] : last);
	put8(f, gen_range(g, 1, 255));
	put(f, pick_src(g, p, IW_FAM_ICMPV6, sbuf), 16);
	put_rand(g, f, 16);
	for (int i = 0; i < n; i++) {
		uint8_t next = i + 1 < n ? types[i + 1] : last;

		put8(f, next);
		if (types[i] == 44) {
			put8(f, 0);
			put16(f, fragoff[i] | more[i]);
			put_rand(g, f, 4);
		} else {
			put8(f, hl[i]);
			put_rand(g, f, len[i] - 2);
		}
	}
	what(b, "v6 plen=%u ext=%d[", ext + msglen, n);
	for (int i = 0; i < n; i++)
		if (types[i] == 44)
			what(b, "%s44:%u%s", i ? "," : "", fragoff[i], more[i] ? "M" : "");
		else
			what(b, "%s%u:%u", i ? "," : "", types[i], len[i]);
	what(b, "] ");
	if (last == 58) {
		msg = put_icmp(g, f, type, code, msglen - 8);
		if (gen_chance(g, 82) && msg + msglen <= f->len) {
			uint32_t sum = 0;

			for (int i = 0; i < 32; i += 2)
				sum += f->d[l3 + 8 + i] << 8 | f->d[l3 + 9 + i];
			sum += msglen >> 16;
			sum += msglen & 0xffff;
			sum += 58;
			set16(f, msg + 2, csum(f->d + msg, msglen, sum));
		} else {
			set16(f, msg + 2, gen_below(g, 65536));
		}
		what(b, "type=%u code=%u", type, code);
	} else {
		put_rand(g, f, msglen);
		what(b, "next=%u", last);
	}
}

static void mutate(struct gen *g, struct fb *b, int l3, int v)
{
	struct gen_frame *f = b->f;

	if (v == 4 && l3 + 20 <= (int)f->len && gen_chance(g, 10)) {
		int r = gen_below(g, 100);
		uint16_t tot = get16(f, l3 + 2);

		if (r < 40)
			tot += gen_range(g, -12, 12);
		else if (r < 55)
			tot = gen_below(g, 65536);
		else if (r < 70)
			tot = f->len - l3 + gen_range(g, -2, 2);
		else
			f->d[l3] = (f->d[l3] & 0xf0) | gen_below(g, 16);
		if (r < 70)
			set16(f, l3 + 2, tot);
		what(b, " mut:tot=%u,ihl=%u", get16(f, l3 + 2), f->d[l3] & 0xf);
	}
	if (v == 6 && l3 + 40 <= (int)f->len && gen_chance(g, 10)) {
		int r = gen_below(g, 100);
		uint16_t pl = get16(f, l3 + 4);

		if (r < 50)
			pl += gen_range(g, -12, 12);
		else if (r < 70)
			pl = gen_below(g, 65536);
		else
			pl = f->len - l3 - 40 + gen_range(g, -2, 2);
		set16(f, l3 + 4, pl);
		what(b, " mut:plen=%u", pl);
	}
	if (gen_chance(g, 4)) {
		int n = gen_range(g, 1, 3);

		for (int i = 0; i < n && f->len; i++)
			f->d[gen_below(g, f->len)] ^= 1 + gen_below(g, 255);
		what(b, " mut:flip%d", n);
	}
	if (gen_chance(g, 12) && f->len) {
		/* cut short: mostly inside the headers */
		uint32_t hdrs = l3 > 0 ? (uint32_t)l3 + (v == 6 ? 120 : 70) : 64;
		uint32_t at = gen_chance(g, 70) ? gen_below(g, hdrs < f->len ? hdrs : f->len) :
						  gen_below(g, f->len);

		if (at < 14 && gen_chance(g, 80))
			at = 14 + gen_below(g, 20);
		if (at < f->len) {
			f->len = at;
			what(b, " cut@%u", at);
		}
	} else if (gen_chance(g, 10)) {
		/* Ethernet padding, or junk after the datagram */
		uint32_t n = gen_range(g, 1, 64);

		if (gen_chance(g, 50))
			put(f, NULL, n);
		else
			put_rand(g, f, n);
		what(b, " pad%u", n);
	}
}

void gen_frame(struct gen *g, const struct gen_policy *p, struct gen_frame *f)
{
	static const uint8_t protos4[] = { 6, 17, 2, 47, 50, 58, 89, 0, 255 };
	static const uint8_t next6[] = { 6, 17, 50, 59, 1, 135, 0, 43, 60, 44 };
	struct fb b = { f, 0 };
	int r = gen_below(g, 1000), l3 = -1, v = 0;

	f->len = 0;
	f->what[0] = 0;
	if (r < 410) {
		build4(g, p, &b, 1);
		v = 4;
	} else if (r < 830) {
		build6(g, p, &b, 58);
		v = 6;
	} else if (r < 880) {
		build4(g, p, &b, PICK(g, protos4));
		v = 4;
	} else if (r < 920) {
		build6(g, p, &b, PICK(g, next6));
		v = 6;
	} else if (r < 940) {
		l2(g, &b, 0x0806);
		put16(f, 1);
		put16(f, 0x0800);
		put8(f, 6);
		put8(f, 4);
		put16(f, gen_range(g, 1, 2));
		put_rand(g, f, 20);
		what(&b, "arp");
	} else if (r < 975) {
		uint32_t n = gen_range(g, 14, 300);

		put_rand(g, f, n);
		if (gen_chance(g, 60))
			set16(f, 12, gen_chance(g, 50) ? 0x0800 : 0x86dd);
		what(&b, "random %u bytes, ethertype 0x%04x", n, get16(f, 12));
	} else {
		uint32_t n = gen_below(g, 14);

		put_rand(g, f, n);
		what(&b, "short %u bytes", n);
		return;
	}
	if (v) {
		/* the L3 offset: after the tags l2() wrote */
		l3 = 14;
		while (l3 + 4 <= (int)f->len &&
		       (get16(f, l3 - 2) == 0x8100 || get16(f, l3 - 2) == 0x88a8))
			l3 += 4;
	}
	mutate(g, &b, l3, v);
}
