/* SPDX-License-Identifier: GPL-2.0 */
/*
 * model.h - a reference model of icmpwall, written from docs/semantics.md alone (never from
 * bpf/): what the XDP program does with one frame (sections 1-4), what a policy file means
 * (section 6), and rate limits without time (section 5: a limit admits the first B packets
 * of its bucket, then drops). The model keeps its buckets across frames, so a sequence of
 * frames is modelled, and across policy changes (levels kept, clamped to the new burst).
 *
 * Only map layouts come from include/icmpwall.h (rows, reason slots, XDP verdicts).
 */
#ifndef ICMPWALL_MODEL_H
#define ICMPWALL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "icmpwall.h"

/* ---- the policy language (section 6) ---------------------------------------------------- */

enum model_action {
	MA_NONE = 0,
	MA_PASS,
	MA_DROP,
	MA_RATE,
};

struct model_limit {
	uint32_t count;		/* per second or per minute */
	bool per_minute;
	bool burst_given;
	uint32_t burst;		/* as given, else the default (one second's worth, at least 1) */
};

struct model_rule {
	uint8_t fam;		/* enum iw_family */
	uint8_t type;
	int16_t code;		/* -1: the whole type */
	uint8_t action;		/* enum model_action */
	bool has_global, has_src;
	uint8_t src_plen;
	struct model_limit global, src;
};

struct model_cidr {
	uint8_t fam;		/* IW_FAM_ICMP: IPv4, IW_FAM_ICMPV6: IPv6 */
	uint8_t plen;
	uint8_t addr[16];	/* masked to plen */
	uint8_t list;		/* IW_CIDR_ALLOW or IW_CIDR_DENY */
};

#define MODEL_MAX_RULES		512
#define MODEL_MAX_CIDRS		512

struct model_policy {
	uint32_t max_size;	/* 0: off */
	bool frag_drop;
	bool csum_verify;
	int nrules;
	struct model_rule rules[MODEL_MAX_RULES];
	int ncidrs;
	struct model_cidr cidrs[MODEL_MAX_CIDRS];
};

/* Names as nftables spells them (the subset the model knows). code -1: a type name. */
struct model_name {
	int fam;
	int type;
	int code;
	const char *name;
};
extern const struct model_name model_names[];
extern const int model_nnames;
/* -1 when fam has no type (code: no code of that type) of that name */
int model_type_by_name(int fam, const char *name);
int model_code_by_name(int fam, int type, const char *name);

enum model_stmt_kind {
	MS_RATE,
	MS_DROP,
	MS_PASS,
	MS_MAX_SIZE,
	MS_FRAGMENTS,
	MS_CHECKSUM,
	MS_ALLOW,
	MS_DENY,
};

/* One statement, as written (names unresolved: the model resolves them). */
struct model_stmt {
	enum model_stmt_kind kind;
	/* rate, drop, pass */
	int fam;		/* -1: no family written */
	const char *type_name;	/* NULL: "type N" */
	int type_num;
	const char *code_name;	/* NULL: code_num, or no code when code_num < 0 */
	int code_num;
	struct model_limit lim;	/* rate; burst_given false: the default burst */
	const char *rate_unit;	/* as written: second, s, sec, minute, m, min */
	bool per_source;
	int plen;		/* per-source /LEN, -1: not written */
	/* settings */
	uint32_t size;		/* max-size, 0: off */
	bool on;		/* fragments drop, checksum verify */
	/* allow, deny */
	struct model_cidr cidr;
};

void model_policy_init(struct model_policy *p);
/* Applies one statement; returns 0, or -1 when it is an error (and p is unchanged). */
int model_policy_apply(struct model_policy *p, const struct model_stmt *s);
/* Writes s in the policy language (one line, no newline). */
void model_stmt_format(const struct model_stmt *s, char *buf, size_t len);
const struct model_rule *model_rule_find(const struct model_policy *p, int fam, int type,
					 int code);
void model_policy_print(const struct model_policy *p, FILE *out);

/* ---- one frame (sections 1-4) --------------------------------------------------------- */

enum model_class {
	MC_NOT_ICMP = 0,
	MC_TYPED,		/* unfragmented, or a first fragment, with a readable header */
	MC_MALFORMED,
	MC_POD,
	MC_NONFIRST,		/* non-first fragment */
	MC_NCLASSES,
};

/* What the model parsed out of a frame: enough to explain a verdict. */
struct model_pkt {
	enum model_class cls;
	const char *why;	/* for not-ICMP and malformed: which rule of the spec */
	int fam;
	int l3;			/* offset of the IP header */
	int tags;
	bool fragment, nonfirst;
	uint32_t end;		/* datagram end (reassembled, for fragments) */
	uint32_t msg_off, msg_len;
	uint8_t type, code;
	uint8_t src[16], dst[16];
	int nexts;		/* IPv6 extension headers walked */
	uint32_t ext_bytes;
};

struct model_verdict {
	struct model_pkt pkt;
	uint32_t action;	/* XDP_PASS or XDP_DROP */
	int reason;		/* IW_R_*, IW_R_NONE when none */
	int row;		/* iw_stats row that moves, -1: none */
	int slot;		/* iw_reasons slot that moves by one packet, -1: none (a
				 * rate drop moves the row's rate_dropped instead) */
	uint32_t bytes;		/* frame length: what the row moves by */
	const char *step;	/* the step of section 4 that decided */
	int stale;		/* a rate decision on a bucket that once went unused across
				 * this many changes of its limit (for reports) */
};

/* Classifies a frame (sections 1-2) without any policy. */
void model_classify(const uint8_t *f, uint32_t len, struct model_pkt *pk);

/* ---- the model: a policy and its buckets ------------------------------------------------ */

struct model_bucket {
	uint8_t fam, type;
	int16_t code;
	bool per_source;
	uint8_t plen;
	uint8_t prefix[16];	/* per-source: the masked source */
	uint64_t tokens;
	struct model_limit lim;	/* the limit in force at the last change */
	int changes;		/* changes of that limit since the bucket was last used */
	int stale;		/* the most changes it ever went unused across */
};

struct model {
	struct model_policy pol;
	struct model_bucket *buckets;
	int nbuckets, cap;
};

void model_init(struct model *m);
void model_free(struct model *m);
/*
 * Installs p. keep: a change of the policy in force (section 5: a bucket of a rate that
 * stays keeps its level in tokens, clamped to the new burst); otherwise every bucket starts
 * full.
 */
void model_set_policy(struct model *m, const struct model_policy *p, bool keep);
/* The decision for one frame, and its effect on the buckets. */
void model_run(struct model *m, const uint8_t *f, uint32_t len, struct model_verdict *v);

const char *model_class_name(enum model_class c);
const char *model_reason_name(int reason);

#endif
