/* SPDX-License-Identifier: GPL-2.0 */
/*
 * icmpwall.h - the one header shared by the XDP program (bpf/) and the CLI (user/).
 *
 * Everything both sides must agree on lives here: map names and sizes, the layout of
 * map keys and values, drop reasons, policy encoding. Fixed-width types only, so the
 * BPF target and the host compile the same layout.
 */
#ifndef ICMPWALL_H
#define ICMPWALL_H

#include <linux/types.h>
#include <linux/bpf.h>

#define IW_PROG_NAME		"icmpwall"
#define IW_PIN_ROOT		"/sys/fs/bpf/icmpwall"
/* Bumped whenever a map layout below changes: the CLI refuses to drive a program
 * that was attached by a build with another ABI. */
#define IW_ABI_VERSION		3
#define IW_META_MAGIC		0x6c6c61777069636dULL /* "mcipwall" in memory (little-endian) */

/* Map names, as pinned under IW_PIN_ROOT/<dev>/. */
#define IW_MAP_STATS		"iw_stats"
#define IW_MAP_REASONS		"iw_reasons"
#define IW_MAP_STATE		".data.state"	/* a global too, pinned as "iw_state" */
#define IW_PIN_STATE		"iw_state"
#define IW_MAP_SRC4		"iw_src4"
#define IW_MAP_SRC6		"iw_src6"
#define IW_MAP_CIDR4		"iw_cidr4"
#define IW_MAP_CIDR6		"iw_cidr6"
/* iw_conf is a global of the program in its own data section: the kernel knows the map
 * by the section's name, and it is pinned as "iw_conf". */
#define IW_MAP_CONF		".data.conf"
#define IW_PIN_CONF		"iw_conf"
#define IW_MAP_CTL		"iw_ctl"
#define IW_MAP_EVENTS		"iw_events"
#define IW_MAP_EPISODES		"iw_episodes"
#define IW_MAP_TOP		"iw_top"

enum iw_family {
	IW_FAM_ICMP = 0,
	IW_FAM_ICMPV6 = 1,
	IW_NFAM = 2,
};

/* ICMPv6 neighbour discovery (router solicit .. redirect): touched only by rules naming it. */
#define IW_ND_FIRST		133
#define IW_ND_LAST		137

/*
 * Counters per family x type x code. Codes 0..15 each have their own row; codes 16..255
 * share row 16 of their type. Every code defined by IANA today is below 16, so nothing real
 * is folded, and 17 rows per type instead of 256 keep the per-CPU array at 408 KiB per CPU
 * (2 x 256 x 17 x 48 bytes) instead of 6 MiB per CPU.
 */
#define IW_NCODES		17
#define IW_CODE_FOLD		16
#define IW_NTYPED_ROWS		(IW_NFAM * 256 * IW_NCODES)
/* One extra row per family for ICMP packets that have no readable type: non-first
 * fragments and malformed headers. Every ICMP packet lands in exactly one row. */
#define IW_ROW_UNTYPED(fam)	(IW_NTYPED_ROWS + (fam))
#define IW_NROWS		(IW_NTYPED_ROWS + IW_NFAM)

static inline __u32 iw_row(__u32 fam, __u32 type, __u32 code)
{
	return (fam * 256 + type) * IW_NCODES + (code < IW_CODE_FOLD ? code : IW_CODE_FOLD);
}

struct iw_row_counter {
	__u64 packets;
	__u64 bytes;	/* frame bytes as seen by XDP (Ethernet header included) */
	__u64 dropped;
	__u64 rate_dropped;	/* of dropped, by a rate rule: the IW_R_RATE drop reason lives
				 * here, in the line a flood's packet writes anyway, rather than
				 * in iw_reasons */
	/* Not counters: the program's note, on this CPU, that the global bucket of the rule
	 * of fast word closed_word stays over its limit until jiffy closed_until (the
	 * program's global_verdict()). Readers leave them out of every sum. */
	__u64 closed_word;
	__u64 closed_until;
};

/*
 * Why a packet was dropped, or something notable about one that passed. The reasons
 * map, packets per reason, is indexed by IW_REASON_IDX(dropped, reason); its slot for
 * IW_R_RATE drops stays 0: those are the rows' rate_dropped, summed.
 */
enum iw_reason {
	IW_R_NONE = 0,
	IW_R_MALFORMED,		/* header does not fit, IHL < 5, lengths disagree */
	IW_R_FRAGMENT,		/* dropped: fragments drop; passed: non-first fragment */
	IW_R_OVERSIZE,		/* datagram (or fragment end) longer than max-size */
	IW_R_POD,		/* ping of death: fragment ends past 65535 */
	IW_R_RATE,		/* rate rule over its budget */
	IW_R_POLICY,		/* drop rule */
	IW_R_DENY,		/* source in the deny list */
	IW_R_CSUM,		/* checksum verify found a bad checksum */
	IW_R_ALLOW,		/* passed: source in the allow list, later checks skipped */
	IW_NREASONS,
};
#define IW_REASON_IDX(dropped, reason)	((dropped) ? IW_NREASONS + (reason) : (reason))
#define IW_NREASON_SLOTS		(2 * IW_NREASONS)

struct iw_reason_counter {
	__u64 packets;
};

/* ---- policy ------------------------------------------------------------------------ */

/*
 * The policy is double-buffered in struct iw_conf (below): the program reads
 * pol[active]; the CLI writes the other copy, then flips active with one store, so a
 * packet sees the whole old policy or the whole new one. Before writing, the CLI waits for
 * an RCU grace period (a throwaway array-of-maps update, for which the kernel calls
 * synchronize_rcu()), so no packet that read the old value of active is still reading the
 * copy being rewritten. The CIDR tries have the same two slots, keyed by the copy's index.
 */
#define IW_MAX_RULES		255	/* rules[0] is "no rule" */
#define IW_MAX_CODE_TABLES	32	/* types with per-code rules, per policy (power of 2) */
#define IW_MAX_BUCKETS		512	/* global token buckets: one per rate rule */

enum iw_action {
	IW_ACT_NONE = 0,	/* no rule here: fall back to the type rule, or pass */
	IW_ACT_PASS,		/* explicit pass (overrides a type-level rule for this code) */
	IW_ACT_DROP,
	IW_ACT_RATE,
};

/*
 * Rates are GCRA (virtual scheduling) limits on a jiffies clock. Time is counted in
 * ticks, 2^IW_TICK_SHIFT per jiffy; a bucket stores the theoretical arrival time (TAT)
 * of the next conforming packet. A packet at time t conforms when
 * max(TAT, t) - t <= tolerance, and then TAT moves to max(TAT, t) + interval.
 * interval = ticks per packet, tolerance = (burst - 1) x interval. Times wrap modulo
 * 2^64, every 2^32 jiffies (49.7 days at HZ=1000; jiffies starts 5 minutes before its
 * first wrap), and are compared as signed differences. A TAT is at most tolerance +
 * interval ahead of the clock of the CPU that wrote it; another CPU's clock may read a
 * little earlier (it read jiffies before a tick, or spent time inserting a source). A TAT
 * further ahead than tolerance + interval + IW_LAG_TICKS cannot be legitimate (it is from
 * before a wrap) and counts as a full bucket, as does a state word of 0 (never written).
 * tolerance + interval stays below 2^62: the CLI refuses bursts that would not.
 */
#define IW_TICK_SHIFT		32
#define IW_LAG_TICKS		(64ULL << IW_TICK_SHIFT)	/* 64 jiffies */
/* The clock moves a jiffy at a time (two when a tick is late, as happens in VMs), and
 * every packet of a jiffy sees the same time: a smaller tolerance would admit one burst
 * per jiffy and lose the rest of the rate (1000/s burst 1 at HZ=250 admitted 250/s). So a
 * burst below two jiffies' worth of tokens behaves as two jiffies' worth. */
#define IW_MIN_TOLERANCE	(2ULL << IW_TICK_SHIFT)
/* The low 8 bits of a stored TAT hold the epoch of the limit that wrote it (intervals are
 * multiples of 256 ticks, so nothing is lost). When userspace changes a rate it bumps the
 * limit's epoch and records the new interval and tolerance in hist[], which holds the last
 * IW_EPOCHS of them; the first packet that finds a bucket of an older epoch converts it:
 * its level in tokens under the limit that wrote it, clamped to the burst of each limit
 * since. A bucket that no packet touched across IW_EPOCHS or more changes starts full. */
#define IW_EPOCH_MASK		0xffULL
#define IW_MAX_RATE_PER_SEC	100000000ULL	/* 1e8/s */
#define IW_MAX_BURST		100000000ULL

#define IW_EPOCHS		4

struct iw_epoch_limit {
	__u64 interval;		/* 0: no limit at that epoch */
	__u64 tolerance;
};

/* What a flood's packet reads (interval, tolerance, epoch) comes first: with struct
 * iw_rule aligned to a cache line, a rule's global limit test reads one line. */
struct iw_limit {
	__u64 interval;		/* ticks per packet; 0 = no limit */
	__u64 tolerance;	/* (burst - 1) x interval, at least IW_MIN_TOLERANCE */
	__u8 epoch;		/* changes with every change of interval or tolerance */
	__u8 per_minute;	/* 1: count is per minute */
	__u8 burst_given;	/* 1: burst was written, 0: it is the default */
	__u8 pad[5];
	/* the limit at epochs epoch - IW_EPOCHS + 1 .. epoch, at index epoch % IW_EPOCHS */
	struct iw_epoch_limit hist[IW_EPOCHS];
	__u32 count;		/* as written: count per second or per minute */
	__u32 burst;		/* as written, or the default */
};

struct iw_rule {
	__u8 action;		/* enum iw_action */
	__u8 src_plen;		/* per-source prefix length (bits), when src.interval != 0 */
	__u16 bucket;		/* global bucket index, when global.interval != 0 */
	__u16 src_id;		/* per-source key namespace, stable while the rule exists */
	__u16 pad;
	struct iw_limit global;
	struct iw_limit src;
} __attribute__((aligned(64)));

enum iw_policy_flags {
	IW_POL_FRAG_DROP	= 1 << 0,
	IW_POL_CSUM_VERIFY	= 1 << 1,
	IW_POL_CIDR4		= 1 << 2,	/* the v4 CIDR trie has entries in this slot */
	IW_POL_CIDR6		= 1 << 3,
};

struct iw_policy {
	__u32 flags;			/* enum iw_policy_flags */
	__u32 max_size;			/* bytes, 0 = off */
	__u32 slot;			/* its index in iw_conf.pol[], and its CIDR trie slot */
	__u32 generation;		/* bumped by every change */
	__u32 next_src_id;		/* next per-source namespace to hand out */
	__u8 type_rule[IW_NFAM][256];	/* index into rules[], 0 = none */
	__u8 type_codes[IW_NFAM][256];	/* 1 + index into code_rule[], 0 = no code rules */
	__u8 code_rule[IW_MAX_CODE_TABLES][256]; /* index into rules[], 0 = use type rule */
	struct iw_rule rules[IW_MAX_RULES + 1];
};


/* What a packet over a global limit needs to know it is over (gcra()'s first test): the
 * CLI copies it from the rule into the line of the rule's bucket, one copy per policy copy,
 * before that copy is in force. A packet a fast word drops then reads the bucket's line and
 * not the rule's (and, once its CPU has noted the bucket over, neither: struct
 * iw_row_counter). span 0 (no copy) fails the test: the packet goes the long way. */
struct iw_bucket_limit {
	__u64 tolerance;	/* the limit's tolerance */
	__u64 span;		/* its interval + IW_LAG_TICKS */
	__u64 epoch;		/* its epoch */
};

/* Global buckets are shared by every CPU; one cache line each so that two busy buckets do
 * not bounce the same line. */
struct iw_bucket {
	__u64 tat;
	struct iw_bucket_limit lim[2];	/* of the rule of pol[0], pol[1] that uses it */
	__u64 pad;
};



/* Per-source buckets: LRU hashes sized at attach (--sources). The key holds the source
 * prefix (masked to the rule's length) and the rule's src_id. */
struct iw_src4_key {
	__u32 addr;
	__u16 src_id;
	__u16 pad;
};

struct iw_src6_key {
	__u8 addr[16];
	__u16 src_id;
	__u16 pad;
};

/* A per-source bucket, and the flood episode of that source (see events below). */
struct iw_src_state {
	__u64 tat;
	__u64 started_ns;	/* episode start (CLOCK_MONOTONIC), while one runs */
	__u64 until;		/* an episode runs while jiffies is below this (struct iw_fast) */
	__u32 drops;		/* dropped since the episode started */
	__u32 reported;		/* drops at the last event */
	__u32 info;		/* type | prefix length << 8, for the episode's events */
	__u32 pad;
	struct bpf_timer timer;
};

/* Allow/deny CIDRs, one LPM trie per family. The policy slot is the first 32 bits of the
 * key, so the two slots never match each other. A value says whether any allow and any
 * deny prefix covers the entry's prefix: the longest match then answers both lists. */
struct iw_cidr4_key {
	__u32 prefixlen;	/* 32 + prefix length */
	__u32 slot;
	__u8 addr[4];
};

struct iw_cidr6_key {
	__u32 prefixlen;	/* 32 + prefix length */
	__u32 slot;
	__u8 addr[16];
};

enum iw_cidr_flags {
	IW_CIDR_ALLOW = 1 << 0,
	IW_CIDR_DENY = 1 << 1,
};

struct iw_cidr_val {
	__u8 flags;		/* enum iw_cidr_flags: lists that cover this prefix */
	__u8 own;		/* enum iw_cidr_flags: lists that name exactly this prefix */
	__u16 pad;
};

#define IW_CIDR_MAX		16384	/* entries per trie (both slots) */

/* ---- attachment metadata ------------------------------------------------------------ */

enum iw_mode {
	IW_MODE_NATIVE = 1,
	IW_MODE_GENERIC = 2,
};

struct iw_meta {
	__u64 magic;		/* IW_META_MAGIC once the CLI has finished the attach */
	__u32 abi;		/* IW_ABI_VERSION */
	__u32 ifindex;
	__u32 mode;		/* enum iw_mode */
	__u32 hz;		/* kernel CONFIG_HZ, for converting rates to ticks */
	__u64 attached_at;	/* CLOCK_REALTIME seconds */
	__u32 sources;		/* max entries of each per-source table */
	__u32 pad;
	__u64 netns;		/* inode of the interface's network namespace */
};

#define IW_DEFAULT_SOURCES	65536

/* ---- the configuration: what the program reads on every ICMP packet ------------------ */

/*
 * Fast words: one per family x type, written by the CLI with each policy. An unfragmented
 * packet whose end is at most the word's max is decided by the word alone, without the
 * full judge: IW_FAST_PASS passes it, IW_FAST_DROP drops it (a drop rule), IW_FAST_RATE
 * takes it through the buckets (per-source, global) of rule RULE in policy copy COPY. A
 * type gets a fast word only when nothing else could apply to it: no code-level rules, no
 * allow/deny prefixes and no checksum verification for its family (neighbour
 * discovery ignores those), and max is max-size (or none). IW_FAST_SLOW (a word of 0) sends
 * the packet to the judge. A word names the copy it belongs to and counts only while that
 * copy is in force (the CLI writes the next copy's words before the flip), and the CLI
 * rewrites a copy only a grace period after the flip away from it: each packet's decision
 * comes from one policy, whole.
 */
enum iw_fast_kind {
	IW_FAST_SLOW = 0,
	IW_FAST_PASS,
	IW_FAST_RATE,
	IW_FAST_DROP,
};
/* bits 0-16: the largest end for the fast path; 17-18: kind; 19: copy; 20-27: rule;
 * 28: it has a per-source limit; 29: a global one; 32-40: the rule's global bucket;
 * 48-63: the policy's generation, so that every change of policy changes every word that
 * is not IW_FAST_SLOW (struct iw_row_counter's closed_word relies on it). */
#define IW_FAST_MAX		0x1ffffULL
#define IW_FAST_KIND(w)		(((w) >> 17) & 3)
#define IW_FAST_COPY(w)		(((w) >> 19) & 1)
#define IW_FAST_RULE(w)		(((w) >> 20) & 0xff)
#define IW_FAST_BUCKET(w)	(((w) >> 32) & (IW_MAX_BUCKETS - 1))
#define IW_FAST_SRC		(1ULL << 28)
#define IW_FAST_GLOBAL		(1ULL << 29)
#define IW_FAST_GENERATION(g)	((__u64)((g) & 0xffff) << 48)
#define IW_FAST_WORD(kind, copy, rule, max) \
	((__u64)(rule) << 20 | (__u64)(copy) << 19 | (__u64)(kind) << 17 | (max))

/*
 * A type's fast word, and whether the type's flood episode runs (events below), side by side
 * in one cache line: a packet a fast word drops reads both (but for a drop on its CPU's
 * note, struct iw_row_counter, which reads only the word). until is written by the
 * program, once at an episode's start and once a second while it runs; the CLI writes only
 * word.
 *
 * An episode runs while jiffies is below until (compared as a signed difference; 0: it
 * ended). Its start and every tick set until IW_EV_STALE_JIFFIES ahead, so an episode whose
 * timer died lapses by itself; a drop needs one load and one comparison with the clock it
 * already read to tell. Per-source episodes keep the same word in struct iw_src_state.
 */
struct iw_fast {
	__u64 word;
	__u64 until;
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "iw_conf.gate assumes little-endian");

/* The program's configuration, a global in section .data.conf: one direct address, no map
 * lookup. The CLI writes it through mmap. */
struct iw_conf {
	union {
		struct {
			__u32 active;	/* pol[active & 1] is in force */
			__u32 top;	/* 1 while top tracking runs (top_until) */
		};
		__u64 gate;		/* both in one load: a fast word applies only while
					 * gate equals its copy (no top; little-endian) */
	};
	__u64 top_until;		/* top tracking (every packet to the judge) runs while
					 * CLOCK_MONOTONIC_COARSE ns is below this; the program
					 * sets it and top to 0 once past */
	struct iw_fast fast[IW_NFAM][256]; /* fast words of the policy in force */
	struct iw_meta meta;		/* what attach recorded; the program does not read it */
	struct iw_policy pol[2];
};

/* ---- event bookkeeping (iw_ctl, an array of __u64) ------------------------------------ */

enum iw_ctl_key {
	IW_CTL_EV_TAT = 0,	/* GCRA state (ns) of the per-source event budget */
	IW_CTL_EV_SUPPRESSED,	/* per-source events over the budget */
	IW_CTL_EV_LOST,		/* events lost because the ring buffer was full */
	IW_NCTL,
};

/* ---- flood events --------------------------------------------------------------------- */

/*
 * When a drop or rate rule starts dropping a type (or, under a per-source rule, a source),
 * the program emits IW_EV_START; a timer then emits IW_EV_SUMMARY every second while drops
 * go on, and IW_EV_END after a second without any. Per-source events are limited to
 * IW_EV_RATE a second (burst IW_EV_BURST); the ones over budget are counted in
 * suppressed.
 */
#define IW_EV_PERIOD_NS		1000000000ULL
#define IW_EV_RATE		50
#define IW_EV_BURST		100
#define IW_EVENTS_BYTES		(256 * 1024)

enum iw_event_kind {
	IW_EV_START = 1,
	IW_EV_SUMMARY,
	IW_EV_END,
};

struct iw_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 started_ns;	/* episode start, CLOCK_MONOTONIC */
	__u64 packets;		/* type episodes: packets of the type in the period */
	__u64 drops;		/* dropped in the period (start: 1, end: 0) */
	__u64 total_drops;	/* dropped since the episode started */
	__u32 period_ns;	/* length of the period the counts cover */
	__u32 suppressed;	/* per-source events lost to the budget so far */
	__u8 kind;		/* enum iw_event_kind */
	__u8 fam;
	__u8 type;
	__u8 reason;		/* IW_R_RATE or IW_R_POLICY (start of a type episode) */
	__u8 per_source;	/* 1: addr/plen name the source */
	__u8 plen;
	__u8 pad[2];
	__u8 addr[16];
};

/*
 * An episode whose timer has not ticked for this many jiffies (3 s at HZ=1000, 12 s at
 * 250) is over: its timer was cancelled, which the kernel does when the maps lose their
 * last user (no pin, no open descriptor: between commands under `ip netns exec`), or could
 * not start. The next drop starts a new one.
 */
#define IW_EV_STALE_JIFFIES	3000
/* An episode whose timer could not start at all is retried after this many jiffies. */
#define IW_EV_RETRY_JIFFIES	256

/* Type episodes: one per family x type. Whether one runs is in the type's struct iw_fast,
 * read on every drop; the rest, with its timer, in the iw_episodes map. */
struct iw_episode {
	__u64 started_ns;
	__u64 packets;		/* row sums at the last event */
	__u64 drops;
	__u64 start_drops;
	__u32 reason;
	__u32 pad;
	struct bpf_timer timer;
};

/* What the program writes on its hot paths, a global in section .data.state: the global
 * rate buckets. The CLI resets fresh buckets through mmap. */
struct iw_state {
	struct iw_bucket buckets[IW_MAX_BUCKETS];
};

/* ---- top talkers ------------------------------------------------------------------------ */

/*
 * While `icmpwall top` runs, each CPU keeps a HeavyKeeper table of ICMP sources (IPv4
 * addresses, IPv6 /64 prefixes): a source hashes to one slot; if it holds the slot its
 * counts go up, exactly; an empty slot is taken; otherwise the holder's count decays by one
 * with probability 1.08^-count and the newcomer takes the slot when it reaches zero. A heavy
 * source therefore keeps its slot (and exact counts) against a flood of one-packet spoofed
 * sources, and memory is fixed: IW_TOP_SLOTS per CPU.
 */
#define IW_TOP_SLOTS		4096
#define IW_TOP_DECAY_STEPS	128

struct iw_top_slot {
	__u8 addr[16];
	__u32 fam;		/* 1 + enum iw_family; 0 = empty */
	__u32 count;		/* packets while holding the slot (decayed by collisions) */
	__u32 seen;		/* packets while holding the slot (not decayed) */
	__u32 drops;
};

#endif /* ICMPWALL_H */
