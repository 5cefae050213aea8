// SPDX-License-Identifier: GPL-2.0
/*
 * model.c - the reference model of docs/semantics.md. Every rule below cites its section;
 * nothing here comes from bpf/. See model.h.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

/* ---- names ------------------------------------------------------------------------------ */

/* nftables' spellings: nft describe icmp type / icmpv6 type / icmp code / icmpv6 code. */
const struct model_name model_names[] = {
	{ IW_FAM_ICMP, 0, -1, "echo-reply" },
	{ IW_FAM_ICMP, 3, -1, "destination-unreachable" },
	{ IW_FAM_ICMP, 4, -1, "source-quench" },
	{ IW_FAM_ICMP, 5, -1, "redirect" },
	{ IW_FAM_ICMP, 8, -1, "echo-request" },
	{ IW_FAM_ICMP, 9, -1, "router-advertisement" },
	{ IW_FAM_ICMP, 10, -1, "router-solicitation" },
	{ IW_FAM_ICMP, 11, -1, "time-exceeded" },
	{ IW_FAM_ICMP, 12, -1, "parameter-problem" },
	{ IW_FAM_ICMP, 13, -1, "timestamp-request" },
	{ IW_FAM_ICMP, 14, -1, "timestamp-reply" },
	{ IW_FAM_ICMP, 15, -1, "info-request" },
	{ IW_FAM_ICMP, 16, -1, "info-reply" },
	{ IW_FAM_ICMP, 17, -1, "address-mask-request" },
	{ IW_FAM_ICMP, 18, -1, "address-mask-reply" },
	{ IW_FAM_ICMP, 3, 0, "net-unreachable" },
	{ IW_FAM_ICMP, 3, 1, "host-unreachable" },
	{ IW_FAM_ICMP, 3, 2, "prot-unreachable" },
	{ IW_FAM_ICMP, 3, 3, "port-unreachable" },
	{ IW_FAM_ICMP, 3, 4, "frag-needed" },
	{ IW_FAM_ICMP, 3, 9, "net-prohibited" },
	{ IW_FAM_ICMP, 3, 10, "host-prohibited" },
	{ IW_FAM_ICMP, 3, 13, "admin-prohibited" },

	{ IW_FAM_ICMPV6, 1, -1, "destination-unreachable" },
	{ IW_FAM_ICMPV6, 2, -1, "packet-too-big" },
	{ IW_FAM_ICMPV6, 3, -1, "time-exceeded" },
	{ IW_FAM_ICMPV6, 4, -1, "parameter-problem" },
	{ IW_FAM_ICMPV6, 128, -1, "echo-request" },
	{ IW_FAM_ICMPV6, 129, -1, "echo-reply" },
	{ IW_FAM_ICMPV6, 130, -1, "mld-listener-query" },
	{ IW_FAM_ICMPV6, 131, -1, "mld-listener-report" },
	{ IW_FAM_ICMPV6, 132, -1, "mld-listener-done" },
	{ IW_FAM_ICMPV6, 133, -1, "nd-router-solicit" },
	{ IW_FAM_ICMPV6, 134, -1, "nd-router-advert" },
	{ IW_FAM_ICMPV6, 135, -1, "nd-neighbor-solicit" },
	{ IW_FAM_ICMPV6, 136, -1, "nd-neighbor-advert" },
	{ IW_FAM_ICMPV6, 137, -1, "nd-redirect" },
	{ IW_FAM_ICMPV6, 138, -1, "router-renumbering" },
	{ IW_FAM_ICMPV6, 141, -1, "ind-neighbor-solicit" },
	{ IW_FAM_ICMPV6, 142, -1, "ind-neighbor-advert" },
	{ IW_FAM_ICMPV6, 143, -1, "mld2-listener-report" },
	{ IW_FAM_ICMPV6, 1, 0, "no-route" },
	{ IW_FAM_ICMPV6, 1, 1, "admin-prohibited" },
	{ IW_FAM_ICMPV6, 1, 3, "addr-unreachable" },
	{ IW_FAM_ICMPV6, 1, 4, "port-unreachable" },
	{ IW_FAM_ICMPV6, 1, 5, "policy-fail" },
	{ IW_FAM_ICMPV6, 1, 6, "reject-route" },
};
const int model_nnames = sizeof(model_names) / sizeof(model_names[0]);

int model_type_by_name(int fam, const char *name)
{
	for (int i = 0; i < model_nnames; i++)
		if (model_names[i].fam == fam && model_names[i].code < 0 &&
		    !strcmp(model_names[i].name, name))
			return model_names[i].type;
	return -1;
}

int model_code_by_name(int fam, int type, const char *name)
{
	for (int i = 0; i < model_nnames; i++)
		if (model_names[i].fam == fam && model_names[i].type == type &&
		    model_names[i].code >= 0 && !strcmp(model_names[i].name, name))
			return model_names[i].code;
	return -1;
}

/* ---- policy (section 6) ------------------------------------------------------------------ */

void model_policy_init(struct model_policy *p)
{
	/* Section 6 names no defaults; a policy without settings has max-size off, fragments
	 * pass and checksum ignore (what "off"/"pass"/"ignore" mean: the step does nothing). */
	memset(p, 0, sizeof(*p));
}

const struct model_rule *model_rule_find(const struct model_policy *p, int fam, int type,
					 int code)
{
	for (int i = 0; i < p->nrules; i++)
		if (p->rules[i].fam == fam && p->rules[i].type == type && p->rules[i].code == code)
			return &p->rules[i];
	return NULL;
}

struct target {
	int fam, type, code;
};

/* [icmp|icmpv6] TYPE [code CODE]: a name without a family is every family that has it. */
static int resolve(const struct model_stmt *s, struct target *t)
{
	int n = 0;

	for (int fam = 0; fam < IW_NFAM; fam++) {
		int type, code = -1;

		if (s->fam >= 0 && fam != s->fam)
			continue;
		if (s->type_name) {
			type = model_type_by_name(fam, s->type_name);
			if (type < 0)
				continue;
		} else {
			if (s->fam < 0 || s->type_num < 0 || s->type_num > 255)
				return -1;	/* "type N" needs a family */
			type = s->type_num;
		}
		if (s->code_name) {
			code = model_code_by_name(fam, type, s->code_name);
			if (code < 0)
				return -1;
		} else if (s->code_num >= 0) {
			if (s->code_num > 255)
				return -1;
			code = s->code_num;
		}
		t[n++] = (struct target){ fam, type, code };
	}
	return n ? n : -1;
}

static struct model_rule *rule_get(struct model_policy *p, const struct target *t)
{
	struct model_rule *r = (struct model_rule *)model_rule_find(p, t->fam, t->type, t->code);

	if (r)
		return r;
	if (p->nrules >= MODEL_MAX_RULES)
		return NULL;
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->fam = t->fam;
	r->type = t->type;
	r->code = t->code;
	return r;
}

static void rule_del(struct model_policy *p, int i)
{
	memmove(&p->rules[i], &p->rules[i + 1], (p->nrules - i - 1) * sizeof(p->rules[0]));
	p->nrules--;
}

static void mask(uint8_t *a, int plen, int alen)
{
	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;

		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

static bool covers(const uint8_t *prefix, int plen, const uint8_t *addr)
{
	for (int i = 0; i < plen / 8; i++)
		if (prefix[i] != addr[i])
			return false;
	if (plen % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - plen % 8));

		if ((prefix[plen / 8] ^ addr[plen / 8]) & m)
			return false;
	}
	return true;
}

int model_policy_apply(struct model_policy *p, const struct model_stmt *s)
{
	struct target t[IW_NFAM];
	int n;

	switch (s->kind) {
	case MS_MAX_SIZE:
		if (s->size && (s->size < 28 || s->size > 65535))
			return -1;
		p->max_size = s->size;
		return 0;
	case MS_FRAGMENTS:
		p->frag_drop = s->on;
		return 0;
	case MS_CHECKSUM:
		p->csum_verify = s->on;
		return 0;
	case MS_ALLOW:
	case MS_DENY: {
		struct model_cidr c = s->cidr;
		int alen = c.fam == IW_FAM_ICMP ? 4 : 16;

		if (c.plen > alen * 8)
			return -1;
		mask(c.addr, c.plen, alen);
		memset(c.addr + alen, 0, 16 - alen);
		c.list = s->kind == MS_ALLOW ? IW_CIDR_ALLOW : IW_CIDR_DENY;
		for (int i = 0; i < p->ncidrs; i++) {
			struct model_cidr *o = &p->cidrs[i];

			if (o->fam == c.fam && o->plen == c.plen && !memcmp(o->addr, c.addr, 16)) {
				o->list = c.list;	/* the later list wins */
				return 0;
			}
		}
		if (p->ncidrs >= MODEL_MAX_CIDRS)
			return -1;
		p->cidrs[p->ncidrs++] = c;
		return 0;
	}
	case MS_RATE:
	case MS_DROP:
	case MS_PASS:
		break;
	}

	n = resolve(s, t);
	if (n < 0)
		return -1;
	if (s->kind == MS_RATE) {
		if (!s->lim.count || s->lim.count > IW_MAX_RATE_PER_SEC)
			return -1;
		if (s->lim.burst_given && (!s->lim.burst || s->lim.burst > IW_MAX_BURST))
			return -1;
		if (s->per_source && s->plen >= 0)
			for (int k = 0; k < n; k++)
				if (s->plen > (t[k].fam == IW_FAM_ICMP ? 32 : 128))
					return -1;
	}
	for (int k = 0; k < n; k++) {
		struct model_rule *r;

		if (s->kind == MS_PASS && t[k].code < 0) {
			/* pass on a whole type removes all of that type's rules */
			for (int i = p->nrules - 1; i >= 0; i--)
				if (p->rules[i].fam == t[k].fam && p->rules[i].type == t[k].type)
					rule_del(p, i);
			continue;
		}
		r = rule_get(p, &t[k]);
		if (!r)
			return -1;
		if (s->kind != MS_RATE) {
			/* drop and pass clear the rates of their key */
			r->action = s->kind == MS_DROP ? MA_DROP : MA_PASS;
			r->has_global = r->has_src = false;
			continue;
		}
		if (r->action != MA_RATE) {
			r->action = MA_RATE;
			r->has_global = r->has_src = false;
		}
		struct model_limit l = s->lim;

		if (!l.burst_given) {
			/* one second's worth, at least 1 */
			l.burst = l.per_minute ? l.count / 60 : l.count;
			if (!l.burst)
				l.burst = 1;
		}
		if (s->per_source) {
			r->has_src = true;
			r->src = l;
			r->src_plen = s->plen >= 0 ? s->plen : (t[k].fam == IW_FAM_ICMP ? 32 : 64);
		} else {
			r->has_global = true;
			r->global = l;
		}
	}
	return 0;
}

static void fmt_cidr(const struct model_cidr *c, char *buf, size_t len)
{
	if (c->fam == IW_FAM_ICMP) {
		snprintf(buf, len, "%u.%u.%u.%u/%u", c->addr[0], c->addr[1], c->addr[2], c->addr[3],
			 c->plen);
		return;
	}
	/* full form, no "::" compression: every parser must take it */
	snprintf(buf, len, "%x:%x:%x:%x:%x:%x:%x:%x/%u",
		 c->addr[0] << 8 | c->addr[1], c->addr[2] << 8 | c->addr[3],
		 c->addr[4] << 8 | c->addr[5], c->addr[6] << 8 | c->addr[7],
		 c->addr[8] << 8 | c->addr[9], c->addr[10] << 8 | c->addr[11],
		 c->addr[12] << 8 | c->addr[13], c->addr[14] << 8 | c->addr[15], c->plen);
}

void model_stmt_format(const struct model_stmt *s, char *buf, size_t len)
{
	static const char *const verbs[] = { "rate", "drop", "pass" };
	char cidr[64];
	size_t n;

	switch (s->kind) {
	case MS_MAX_SIZE:
		if (s->size)
			snprintf(buf, len, "max-size %u", s->size);
		else
			snprintf(buf, len, "max-size off");
		return;
	case MS_FRAGMENTS:
		snprintf(buf, len, "fragments %s", s->on ? "drop" : "pass");
		return;
	case MS_CHECKSUM:
		snprintf(buf, len, "checksum %s", s->on ? "verify" : "ignore");
		return;
	case MS_ALLOW:
	case MS_DENY:
		fmt_cidr(&s->cidr, cidr, sizeof(cidr));
		snprintf(buf, len, "%s %s", s->kind == MS_ALLOW ? "allow" : "deny", cidr);
		return;
	default:
		break;
	}
	n = snprintf(buf, len, "%s", verbs[s->kind]);
	if (s->fam >= 0 && n < len)
		n += snprintf(buf + n, len - n, " %s", s->fam == IW_FAM_ICMP ? "icmp" : "icmpv6");
	if (n < len) {
		if (s->type_name)
			n += snprintf(buf + n, len - n, " %s", s->type_name);
		else
			n += snprintf(buf + n, len - n, " type %d", s->type_num);
	}
	if (n < len) {
		if (s->code_name)
			n += snprintf(buf + n, len - n, " code %s", s->code_name);
		else if (s->code_num >= 0)
			n += snprintf(buf + n, len - n, " code %d", s->code_num);
	}
	if (s->kind != MS_RATE || n >= len)
		return;
	n += snprintf(buf + n, len - n, " %u/%s", s->lim.count,
		      s->rate_unit ? s->rate_unit : s->lim.per_minute ? "minute" : "second");
	if (s->lim.burst_given && n < len)
		n += snprintf(buf + n, len - n, " burst %u", s->lim.burst);
	if (s->per_source && n < len) {
		n += snprintf(buf + n, len - n, " per-source");
		if (s->plen >= 0 && n < len)
			snprintf(buf + n, len - n, " /%d", s->plen);
	}
}

static void print_limit(const struct model_limit *l, FILE *out)
{
	fprintf(out, "%u/%s burst %u%s", l->count, l->per_minute ? "minute" : "second", l->burst,
		l->burst_given ? "" : " (default)");
}

void model_policy_print(const struct model_policy *p, FILE *out)
{
	char buf[64];

	fprintf(out, "  [model] max-size %u, fragments %s, checksum %s, %d rules, %d prefixes\n",
		p->max_size, p->frag_drop ? "drop" : "pass", p->csum_verify ? "verify" : "ignore",
		p->nrules, p->ncidrs);
	for (int i = 0; i < p->nrules; i++) {
		const struct model_rule *r = &p->rules[i];

		fprintf(out, "  [model] %s type %u code %d: %s", r->fam ? "icmpv6" : "icmp", r->type,
			r->code, r->action == MA_PASS ? "pass" : r->action == MA_DROP ? "drop" :
			r->action == MA_RATE ? "rate" : "none");
		if (r->has_global) {
			fprintf(out, " global ");
			print_limit(&r->global, out);
		}
		if (r->has_src) {
			fprintf(out, " per-source /%u ", r->src_plen);
			print_limit(&r->src, out);
		}
		fputc('\n', out);
	}
	for (int i = 0; i < p->ncidrs; i++) {
		fmt_cidr(&p->cidrs[i], buf, sizeof(buf));
		fprintf(out, "  [model] %s %s\n", p->cidrs[i].list == IW_CIDR_ALLOW ? "allow" : "deny",
			buf);
	}
}

/* ---- one frame: sections 1 and 2 --------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void not_icmp(struct model_pkt *pk, const char *why)
{
	pk->cls = MC_NOT_ICMP;
	pk->why = why;
}

static void malformed(struct model_pkt *pk, const char *why)
{
	pk->cls = MC_MALFORMED;
	pk->why = why;
}

static void classify4(const uint8_t *f, uint32_t len, struct model_pkt *pk)
{
	uint32_t l3 = pk->l3, ihl, tot, fo, off;
	bool mf;

	/* 1: not ICMP: the frame ends before the protocol byte, or it is not 1 */
	if (len < l3 + 10)
		return not_icmp(pk, "IPv4 header ends before the protocol byte");
	if (f[l3 + 9] != 1)
		return not_icmp(pk, "IPv4 protocol is not 1");
	pk->fam = IW_FAM_ICMP;
	/* 2.1: malformed */
	if (len < l3 + 20)
		return malformed(pk, "the 20-byte IPv4 header is not all in the frame");
	memcpy(pk->src, f + l3 + 12, 4);
	memcpy(pk->dst, f + l3 + 16, 4);
	ihl = f[l3] & 0xf;
	tot = be16(f + l3 + 2);
	if (ihl < 5)
		return malformed(pk, "IHL < 5");
	if (tot < ihl * 4)
		return malformed(pk, "total length < IHL x 4");
	if (tot > len - l3)
		return malformed(pk, "total length > the bytes from the IP header to the end");
	/* 2.2: fragments and their end */
	fo = be16(f + l3 + 6);
	mf = fo & 0x2000;
	off = fo & 0x1fff;
	pk->fragment = mf || off;
	pk->end = pk->fragment ? ihl * 4 + off * 8 + (tot - ihl * 4) : tot;
	/* 2.3: ping of death */
	if (pk->fragment && pk->end > 65535) {
		pk->cls = MC_POD;
		return;
	}
	/* 2.4: non-first fragments have no ICMP header */
	if (off) {
		pk->nonfirst = true;
		pk->cls = MC_NONFIRST;
		return;
	}
	/* 2.5: the message */
	pk->msg_off = l3 + ihl * 4;
	pk->msg_len = tot - ihl * 4;
	if (pk->msg_len < 8)
		return malformed(pk, "ICMP message shorter than 8 bytes");
	if (pk->msg_off + 8 > len)
		return malformed(pk, "ICMP header not in the frame");
	pk->type = f[pk->msg_off];
	pk->code = f[pk->msg_off + 1];
	pk->cls = MC_TYPED;
}

static void classify6(const uint8_t *f, uint32_t len, struct model_pkt *pk)
{
	uint32_t l3 = pk->l3, off = l3 + 40, ext = 0, before_frag = 0, frag_off = 0, plen;
	uint8_t nh;

	if (len < l3 + 40)
		return not_icmp(pk, "the 40-byte IPv6 header is not all in the frame");
	nh = f[l3 + 6];
	/* the extension header walk: at most 8 */
	while (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
		uint32_t hl;
		uint8_t next;

		if (pk->nexts == 8)
			return not_icmp(pk, "more than 8 IPv6 extension headers");
		if (len < off + 8)
			return not_icmp(pk, "an IPv6 extension header has fewer than 8 bytes in the frame");
		if (off > 16383)
			return not_icmp(pk, "an IPv6 extension header starts past byte 16383");
		next = f[off];
		if (nh == 51)
			hl = (f[off + 1] + 2) * 4;
		else if (nh == 44)
			hl = 8;
		else
			hl = (f[off + 1] + 1) * 8;
		pk->nexts++;
		if (nh == 44) {
			/* several fragment headers: the last one walked is the one that counts */
			pk->fragment = true;
			before_frag = ext;
			frag_off = be16(f + off + 2) & 0xfff8;
		}
		ext += hl;
		off += hl;
		if (nh == 44 && frag_off) {
			/* what follows is fragment data; the next-header field names it */
			nh = next;
			break;
		}
		nh = next;
	}
	if (nh != 58)
		return not_icmp(pk, nh == 50 ? "ESP" : "the header after the walk is not ICMPv6");
	pk->fam = IW_FAM_ICMPV6;
	pk->ext_bytes = ext;
	memcpy(pk->src, f + l3 + 8, 16);
	memcpy(pk->dst, f + l3 + 24, 16);
	plen = be16(f + l3 + 4);
	/* 2.1 */
	if (plen > len - l3 - 40)
		return malformed(pk, "payload length > the bytes after the IPv6 header");
	if (plen < ext)
		return malformed(pk, "payload length < the extension headers walked");
	/*
	 * 2.2. docs/semantics.md writes the end of a fragment as 40 + (extension bytes before
	 * the fragment header) + offset + (payload length - extension bytes walked). Read
	 * literally, a first fragment with extension headers after its fragment header
	 * measures short by their size, though they are fragment data and the reassembled
	 * datagram holds them (the "least length its reassembled datagram will have" of the
	 * IPv4 rule). The program counts them (fixed on purpose, commit b8afdd2); so does the
	 * model: the payload after the fragment header is what the fragment carries. The two
	 * readings agree whenever nothing follows the fragment header in the walk.
	 */
	pk->end = pk->fragment ? 40 + before_frag + frag_off + (plen - (before_frag + 8)) :
				 40 + plen;
	/* 2.3 */
	if (pk->fragment && pk->end - 40 > 65535) {
		pk->cls = MC_POD;
		return;
	}
	/* 2.4 */
	if (pk->fragment && frag_off) {
		pk->nonfirst = true;
		pk->cls = MC_NONFIRST;
		return;
	}
	/* 2.5 */
	pk->msg_off = l3 + 40 + ext;
	pk->msg_len = plen - ext;
	if (pk->msg_len < 8)
		return malformed(pk, "ICMPv6 message shorter than 8 bytes");
	if (pk->msg_off + 8 > len)
		return malformed(pk, "ICMPv6 header not in the frame");
	pk->type = f[pk->msg_off];
	pk->code = f[pk->msg_off + 1];
	pk->cls = MC_TYPED;
}

void model_classify(const uint8_t *f, uint32_t len, struct model_pkt *pk)
{
	uint32_t et_off = 12;
	uint16_t et;

	memset(pk, 0, sizeof(*pk));
	pk->fam = -1;
	if (len < 14)
		return not_icmp(pk, "shorter than the Ethernet header");
	et = be16(f + 12);
	while (et == 0x8100 || et == 0x88a8) {
		if (pk->tags == 2)
			return not_icmp(pk, "a third VLAN tag");
		if (len < et_off + 6)
			return not_icmp(pk, "a VLAN tag cut short");
		et_off += 4;
		et = be16(f + et_off);
		pk->tags++;
	}
	pk->l3 = et_off + 2;
	if (et == 0x0800)
		return classify4(f, len, pk);
	if (et == 0x86dd)
		return classify6(f, len, pk);
	return not_icmp(pk, "EtherType neither IPv4 nor IPv6");
}

/* ---- the verdict: section 4 ------------------------------------------------------------- */

static bool csum_ok(const uint8_t *f, const struct model_pkt *pk)
{
	uint64_t sum = 0;

	if (pk->fam == IW_FAM_ICMPV6) {
		for (int i = 0; i < 16; i += 2)
			sum += be16(pk->src + i) + be16(pk->dst + i);
		sum += pk->msg_len >> 16;
		sum += pk->msg_len & 0xffff;
		sum += 58;
	}
	for (uint32_t i = 0; i + 1 < pk->msg_len; i += 2)
		sum += be16(f + pk->msg_off + i);
	if (pk->msg_len & 1)
		sum += f[pk->msg_off + pk->msg_len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
}

void model_free(struct model *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->cap = 0;
}

static const struct model_limit *bucket_limit(const struct model_policy *p,
					      const struct model_bucket *b)
{
	const struct model_rule *r = model_rule_find(p, b->fam, b->type, b->code);

	if (!r || r->action != MA_RATE)
		return NULL;
	if (b->per_source)
		return r->has_src && r->src_plen == b->plen ? &r->src : NULL;
	return r->has_global ? &r->global : NULL;
}

void model_set_policy(struct model *m, const struct model_policy *p, bool keep)
{
	int n = 0;

	m->pol = *p;
	if (!keep) {
		m->nbuckets = 0;
		return;
	}
	/* section 5: changing a rate keeps each bucket's level in tokens, clamped to the new
	 * burst; a bucket whose rate is gone is gone */
	for (int i = 0; i < m->nbuckets; i++) {
		struct model_bucket *b = &m->buckets[i];
		const struct model_limit *l = bucket_limit(&m->pol, b);

		if (!l)
			continue;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		if (l->count != b->lim.count || l->per_minute != b->lim.per_minute ||
		    l->burst != b->lim.burst) {
			b->lim = *l;
			b->changes++;
		}
		m->buckets[n++] = *b;
	}
	m->nbuckets = n;
}

static struct model_bucket *bucket(struct model *m, const struct model_rule *r, bool per_source,
				   const uint8_t *src)
{
	int alen = r->fam == IW_FAM_ICMP ? 4 : 16;
	uint8_t prefix[16] = {};

	if (per_source) {
		memcpy(prefix, src, alen);
		mask(prefix, r->src_plen, alen);
	}
	for (int i = 0; i < m->nbuckets; i++) {
		struct model_bucket *b = &m->buckets[i];

		if (b->fam == r->fam && b->type == r->type && b->code == r->code &&
		    b->per_source == per_source &&
		    (!per_source || (b->plen == r->src_plen && !memcmp(b->prefix, prefix, 16))))
			return b;
	}
	if (m->nbuckets == m->cap) {
		int cap = m->cap ? m->cap * 2 : 64;
		struct model_bucket *nb = realloc(m->buckets, cap * sizeof(*nb));

		if (!nb)
			abort();
		m->buckets = nb;
		m->cap = cap;
	}
	struct model_bucket *b = &m->buckets[m->nbuckets++];

	memset(b, 0, sizeof(*b));
	b->fam = r->fam;
	b->type = r->type;
	b->code = r->code;
	b->per_source = per_source;
	b->plen = per_source ? r->src_plen : 0;
	memcpy(b->prefix, prefix, 16);
	b->lim = per_source ? r->src : r->global;
	b->tokens = b->lim.burst;	/* a full bucket */
	return b;
}

/* Takes a token; false when there is none. */
static bool take(struct model_bucket *b, struct model_verdict *v)
{
	if (b->changes > b->stale)
		b->stale = b->changes;
	/* section 5: a bucket no packet touched across four or more changes starts full */
	if (b->changes >= 4)
		b->tokens = b->lim.burst;
	b->changes = 0;
	if (b->stale > v->stale)
		v->stale = b->stale;
	if (!b->tokens)
		return false;
	b->tokens--;
	return true;
}

static void decide(struct model_verdict *v, bool drop, int reason, const char *step)
{
	v->action = drop ? XDP_DROP : XDP_PASS;
	v->reason = reason;
	v->step = step;
}

void model_run(struct model *m, const uint8_t *f, uint32_t len, struct model_verdict *v)
{
	const struct model_policy *p = &m->pol;
	struct model_pkt *pk = &v->pkt;
	const struct model_rule *r;

	memset(v, 0, sizeof(*v));
	model_classify(f, len, pk);
	v->row = -1;
	v->slot = -1;
	v->bytes = len;
	if (pk->cls == MC_NOT_ICMP) {
		decide(v, false, IW_R_NONE, "not ICMP (1)");
		return;
	}
	/* section 3: exactly one row */
	v->row = pk->cls == MC_TYPED ? (int)iw_row(pk->fam, pk->type, pk->code) :
				       (int)IW_ROW_UNTYPED(pk->fam);

	if (pk->cls == MC_MALFORMED) {
		decide(v, true, IW_R_MALFORMED, "malformed (4.1)");
		goto out;
	}
	if (pk->cls == MC_POD) {
		decide(v, true, IW_R_POD, "ping of death (4.2)");
		goto out;
	}
	/* 4.3: neighbour discovery goes straight to the rule */
	if (!(pk->fam == IW_FAM_ICMPV6 && !pk->fragment && pk->type >= IW_ND_FIRST &&
	      pk->type <= IW_ND_LAST)) {
		/* 4.4: allow/deny lists, when the policy has prefixes of the family */
		bool any = false, deny = false, allow = false;
		int alen = pk->fam == IW_FAM_ICMP ? 4 : 16;

		for (int i = 0; i < p->ncidrs; i++) {
			const struct model_cidr *c = &p->cidrs[i];

			if (c->fam != pk->fam)
				continue;
			any = true;
			(void)alen;
			if (!covers(c->addr, c->plen, pk->src))
				continue;
			if (c->list == IW_CIDR_DENY)
				deny = true;
			else
				allow = true;
		}
		if (any && deny) {
			decide(v, true, IW_R_DENY, "deny list (4.4)");
			goto out;
		}
		if (any && allow) {
			decide(v, false, IW_R_ALLOW, "allow list (4.4)");
			goto out;
		}
		/* 4.5 */
		if (p->frag_drop && pk->fragment) {
			decide(v, true, IW_R_FRAGMENT, "fragments drop (4.5)");
			goto out;
		}
		/* 4.6 */
		if (p->max_size && pk->end > p->max_size) {
			decide(v, true, IW_R_OVERSIZE, "max-size (4.6)");
			goto out;
		}
		/* 4.7 */
		if (pk->nonfirst) {
			decide(v, false, IW_R_FRAGMENT, "non-first fragment (4.7)");
			goto out;
		}
		/* 4.8 */
		if (p->csum_verify && !pk->fragment && pk->msg_off + pk->msg_len <= 32767 &&
		    !csum_ok(f, pk)) {
			decide(v, true, IW_R_CSUM, "checksum verify (4.8)");
			goto out;
		}
	}
	/* 4.9: the rule for (family, type, code), else for (family, type) */
	r = model_rule_find(p, pk->fam, pk->type, pk->code);
	if (!r)
		r = model_rule_find(p, pk->fam, pk->type, -1);
	if (!r || r->action == MA_NONE || r->action == MA_PASS) {
		decide(v, false, IW_R_NONE, r ? "pass rule (4.9)" : "no rule (4.9)");
	} else if (r->action == MA_DROP) {
		decide(v, true, IW_R_POLICY, "drop rule (4.9)");
	} else {
		bool over = false;

		if (r->has_src)
			over = !take(bucket(m, r, true, pk->src), v);
		/* a packet its source's bucket drops takes no token from the global bucket */
		if (!over && r->has_global)
			over = !take(bucket(m, r, false, NULL), v);
		decide(v, over, over ? IW_R_RATE : IW_R_NONE,
		       over ? "rate over its budget (4.9)" : "rate within its budget (4.9)");
	}
out:
	if (v->reason != IW_R_NONE && !(v->action == XDP_DROP && v->reason == IW_R_RATE))
		v->slot = IW_REASON_IDX(v->action == XDP_DROP, v->reason);
}

const char *model_class_name(enum model_class c)
{
	static const char *const n[] = { "not-icmp", "typed", "malformed", "ping-of-death",
					 "non-first-fragment" };

	return c < MC_NCLASSES ? n[c] : "?";
}

const char *model_reason_name(int reason)
{
	static const char *const n[] = { "none", "malformed", "fragment", "oversize",
					 "ping-of-death", "rate-limit", "policy", "deny-list",
					 "bad-checksum", "allow" };

	return reason >= 0 && reason < IW_NREASONS ? n[reason] : "?";
}
