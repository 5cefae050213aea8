/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gen.h - seeded generators of random policies and of random and mutated frames, for the
 * differential test (tests/unit/test_differential.c) against the model (model.h).
 *
 * Policies: settings, rules on names and on numbers, with and without a family, code-level
 * rules, rates either tiny (1-2 per minute: no token comes back during a test, so a bucket
 * admits exactly its burst) or huge (a burst of a million or more, never exhausted), per
 * source with prefix lengths, allow/deny prefixes built around the addresses frames use.
 *
 * Frames: ICMP and ICMPv6 of every type, VLAN tags 0-3, IPv4 options, IPv6 extension
 * chains of 0-10 headers with AH and fragment headers, fragments around the 65535 boundary,
 * good and bad checksums, TCP/UDP/ESP/ARP and random bytes; then mutated: cut short at
 * random points, padded, lengths and IHL changed, bytes flipped.
 *
 * The same seed gives the same sequence on every machine.
 */
#ifndef ICMPWALL_GEN_H
#define ICMPWALL_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct gen {
	uint64_t s[4];
};

void gen_init(struct gen *g, uint64_t seed);
uint64_t gen_u64(struct gen *g);
uint32_t gen_below(struct gen *g, uint32_t n);	/* 0 .. n-1 (0 when n is 0) */
int gen_range(struct gen *g, int lo, int hi);	/* lo .. hi */
bool gen_chance(struct gen *g, int percent);

#define GEN_MAX_STMTS		64
#define GEN_POOL		12
#define GEN_TEXT_MAX		16384
/* BPF_PROG_TEST_RUN puts at most 4096 - 256 - 320 bytes in the linear part of an XDP
 * buffer; anything longer becomes fragments the program does not read. */
#define GEN_FRAME_MAX		3520

struct gen_policy {
	bool update;		/* a change to the previous policy (its statements, then more) */
	int nstmts;
	struct model_stmt stmts[GEN_MAX_STMTS];
	char text[GEN_TEXT_MAX];	/* the statements as a policy file */
	struct model_policy model;	/* what the statements mean (model_policy_apply) */
	/* source addresses frames are sent from; the prefixes above are built around them */
	int nsrc4, nsrc6;
	/* a rate rule many frames aim at, from the first few sources: buckets run dry */
	int hot;		/* index into model.rules, -1: none */
	int focus;		/* percent of a family's frames aimed at it */
	uint8_t src4[GEN_POOL][4];
	uint8_t src6[GEN_POOL][16];
};

/*
 * A random policy into out. prev, when not NULL, is the policy in force: with some
 * probability out is then a change of it (out->update; same address pools, its statements
 * plus a few more), so that buckets carry over.
 */
void gen_policy(struct gen *g, const struct gen_policy *prev, struct gen_policy *out);
/* How many frames to send under a policy, for an average of avg: a quarter of the policies
 * are short, so that a change often finds its buckets half used. */
long gen_policy_frames(struct gen *g, long avg);

struct gen_frame {
	uint8_t d[GEN_FRAME_MAX];
	uint32_t len;
	char what[192];		/* how it was built, for messages */
};

/* A random frame aimed at pol (its rule types, its sources). */
void gen_frame(struct gen *g, const struct gen_policy *pol, struct gen_frame *f);

#endif
