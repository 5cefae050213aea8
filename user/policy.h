/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy.h - the policy language: parsing statements and files, compiling a policy into
 * the struct iw_policy the XDP program reads, and turning one back into statements.
 * No system calls here (apply.c moves policies in and out of the kernel), so all of it can
 * be tested and fuzzed as plain code.
 *
 *   rate [icmp|icmpv6] TYPE [code CODE] RATE [burst N] [per-source [/LEN]]
 *   drop [icmp|icmpv6] TYPE [code CODE]
 *   pass [icmp|icmpv6] TYPE [code CODE]
 *   max-size BYTES | max-size off
 *   fragments pass | fragments drop
 *   checksum verify | checksum ignore
 *   allow CIDR
 *   deny CIDR
 */
#ifndef ICMPWALL_POLICY_H
#define ICMPWALL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "icmpwall.h"

#define POL_ERR_LEN		256
#define POL_MAX_CIDRS		(IW_CIDR_MAX / 2)	/* per family: both slots must fit */
#define POL_MIN_MAX_SIZE	28			/* IPv4 header + ICMP header */
#define POL_MIN_MAX_SIZE_V6	48			/* IPv6 header + ICMPv6 header */
#define POL_HZ_WORST		1000			/* for checks made without a kernel */

struct pol_limit {
	uint32_t count;		/* packets per second, or per minute */
	bool per_minute;
	bool burst_given;
	uint32_t burst;		/* as given, or the default when !burst_given */
};

struct pol_rule {
	uint8_t fam;		/* enum iw_family */
	uint8_t type;
	int16_t code;		/* -1: the whole type */
	uint8_t action;		/* IW_ACT_PASS, IW_ACT_DROP or IW_ACT_RATE */
	bool has_global;
	bool has_src;
	uint8_t src_plen;	/* per-source prefix length */
	struct pol_limit global;
	struct pol_limit src;
};

struct pol_cidr {
	uint8_t fam;		/* IW_FAM_ICMP: IPv4, IW_FAM_ICMPV6: IPv6 */
	uint8_t plen;
	uint8_t addr[16];	/* masked to plen */
	uint8_t list;		/* IW_CIDR_ALLOW or IW_CIDR_DENY */
};

struct policy {
	struct pol_rule rules[IW_MAX_RULES];
	int nrules;
	struct pol_cidr *cidrs;
	int ncidrs, cidr_cap;
	uint32_t max_size;	/* 0: off */
	bool frag_drop;
	bool csum_verify;
};

void policy_init(struct policy *p);
void policy_free(struct policy *p);
int policy_copy(struct policy *dst, const struct policy *src);

/*
 * Applies one statement (words) to p. On error returns -EINVAL with a message in err and
 * leaves p as it was. Warnings (a rule naming neighbour discovery) go to warn when it is
 * not NULL, one per line.
 */
int policy_statement(struct policy *p, int nwords, char **words, char *err, size_t errlen,
		     FILE *warn, const char *where);
/* Parses one line of a file: comments, blank lines. where is "FILE:LINE" for messages. */
int policy_line(struct policy *p, const char *line, char *err, size_t errlen, FILE *warn,
		const char *where);
/* Parses a whole file into p (initialised by the caller). err gets "FILE:LINE: message".
 * On an error the lines before it have been applied to p: parse into a fresh policy and
 * throw it away on error, as the CLI does, for "an error changes nothing". */
int policy_parse_file(struct policy *p, const char *path, char *err, size_t errlen, FILE *warn);
int policy_parse_buf(struct policy *p, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen, FILE *warn);

/* Writes p as statements: apply of this output gives p back. */
void policy_show(const struct policy *p, FILE *out);

/*
 * Compiles p into out. old is the policy in force (bucket numbers and levels carry over to
 * rules with the same key; NULL for none); hz is the kernel's CONFIG_HZ. New global buckets
 * are flagged in fresh_buckets (IW_MAX_BUCKETS entries) so the caller can reset them.
 */
int policy_compile(const struct policy *p, const struct iw_policy *old, uint32_t hz,
		   struct iw_policy *out, bool *fresh_buckets, char *err, size_t errlen);
/* Compiles p with nothing in force and throws the result away: what only a compiled
 * policy refuses (more rate rules than buckets, rate rules with no HZ) is refused. */
int policy_compiles(const struct policy *p, uint32_t hz, char *err, size_t errlen);
/* Writes the fast words (include/icmpwall.h) of compiled policy kp, installed as copy copy,
 * into out: each word in one store (release), the program's until beside it untouched. */
void policy_fast_words(const struct iw_policy *kp, uint32_t copy, struct iw_fast out[IW_NFAM][256]);
/* Copies each global limit of kp, installed as copy copy, into its bucket's line
 * (struct iw_bucket_limit): buckets is iw_state.buckets, mapped. No packet may be reading
 * copy copy. */
void policy_bucket_limits(const struct iw_policy *kp, uint32_t copy, struct iw_bucket *buckets);
/* Rules and settings of a compiled policy back into statements (CIDRs are separate). */
int policy_decompile(const struct iw_policy *kp, struct policy *out);
int policy_add_cidr(struct policy *p, const struct pol_cidr *c);

/* The CIDR entries to write for p: union of both lists with each entry's covering flags. */
struct cidr_entry {
	struct pol_cidr c;
	struct iw_cidr_val val;
};
int policy_cidr_entries(const struct policy *p, struct cidr_entry **out, int *n);

/* Helpers shared with the CLI. */
int parse_cidr(const char *s, struct pol_cidr *c, char *err, size_t errlen);
void format_cidr(const struct pol_cidr *c, char *buf, size_t len);

#endif
