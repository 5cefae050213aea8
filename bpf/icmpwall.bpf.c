// SPDX-License-Identifier: GPL-2.0
/*
 * icmpwall.bpf.c - the XDP program: count and police ICMP and ICMPv6.
 *
 * Non-ICMP traffic leaves through the first XDP_PASS it reaches, untouched and uncounted.
 * Plain ICMP whose type's fast word decides it takes a straight line (fast_ipv4/6); every
 * other ICMP packet goes through the general parser and iw_judge(). Either way the verdict
 * (pass or drop, and a reason) reaches record_at(), the one exit that counts it in the
 * per-CPU counters.
 *
 * Order of checks (docs/semantics.md): malformed -> ping of death -> deny list -> allow
 * list -> fragments -> max-size -> checksum -> type/code rule.
 */
#include "parsing.h"
#include "icmpwall.h"
#include <stdbool.h>

char _license[] SEC("license") = "GPL";

/* ---- maps ------------------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IW_NROWS);
	__type(key, __u32);
	__type(value, struct iw_row_counter);
} iw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IW_NREASON_SLOTS);
	__type(key, __u32);
	__type(value, struct iw_reason_counter);
} iw_reasons SEC(".maps");

/* Event bookkeeping: enum iw_ctl_key. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IW_NCTL);
	__type(key, __u32);
	__type(value, __u64);
} iw_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IW_EVENTS_BYTES);
} iw_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IW_NFAM * 256);
	__type(key, __u32);
	__type(value, struct iw_episode);
} iw_episodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IW_TOP_SLOTS);
	__type(key, __u32);
	__type(value, struct iw_top_slot);
} iw_top SEC(".maps");

/* Set by the CLI before load: possible CPUs (for summing per-CPU rows in timers), and
 * the HeavyKeeper decay thresholds 2^32 x 1.08^-count. */
const volatile __u32 iw_ncpus = 1;
const volatile __u32 iw_top_decay[IW_TOP_DECAY_STEPS];

/* The configuration: policy (two copies), fast words, top switch (include/icmpwall.h). A
 * global in a section of its own, so the program reaches it by address, with no lookup;
 * libbpf makes the section an mmapable array map that the CLI pins as "iw_conf". */
struct iw_conf iw_conf SEC(".data.conf");

/* Global rate buckets: a global of their own section too, reached by
 * address (include/icmpwall.h). */
struct iw_state iw_state SEC(".data.state");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IW_DEFAULT_SOURCES);	/* resized by attach --sources */
	__type(key, struct iw_src4_key);
	__type(value, struct iw_src_state);
} iw_src4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IW_DEFAULT_SOURCES);	/* resized by attach --sources */
	__type(key, struct iw_src6_key);
	__type(value, struct iw_src_state);
} iw_src6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, IW_CIDR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct iw_cidr4_key);
	__type(value, struct iw_cidr_val);
} iw_cidr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, IW_CIDR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct iw_cidr6_key);
	__type(value, struct iw_cidr_val);
} iw_cidr6 SEC(".maps");



/* ---- parsing ---------------------------------------------------------------------- */

enum pkt_class {
	PKT_OTHER = 0,		/* not ICMP, or too short to tell: XDP_PASS untouched */
	PKT_ICMP,
	PKT_MALFORMED,
	PKT_POD,
};

/*
 * What the parser learnt about an ICMP packet. Scalars only: iw_judge() is a global function,
 * verified once on its own, and re-derives header pointers from these offsets. That keeps
 * the verifier from walking every parse path (VLAN tags, extension headers) through every
 * policy path.
 */
struct pkt {
	__u32 len;		/* frame bytes */
	__u32 fam;		/* enum iw_family */
	__u32 row;		/* counter row */
	__u32 end;		/* datagram length; for a fragment, where it ends in its datagram */
	__u32 msg_len;		/* ICMP message length (unfragmented packets and first fragments) */
	__u16 l3_off;		/* IP header */
	__u16 l4_off;		/* ICMP header */
	__u8 cls;		/* enum pkt_class */
	__u8 type;
	__u8 code;
	__u8 frag;		/* any fragment */
	__u8 nonfirst;		/* fragment with a non-zero offset: no ICMP header */
	__u8 pad[3];
};

/* The IP header starts after Ethernet and at most IW_MAX_VLAN tags. */
#define L3_OFF_MAX	(sizeof(struct ethhdr) + IW_MAX_VLAN * sizeof(struct vlan_hdr))
#define L3_OFF_MASK	0x1f
_Static_assert(L3_OFF_MAX <= L3_OFF_MASK, "L3_OFF_MASK too small");

#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff
#define IPV4_MAX_DGRAM	65535
#define IPV6_MAX_PAYLOAD 65535

static __always_inline int read_icmp(struct hdr_cursor *c, void *data, struct pkt *p)
{
	struct icmp_common *icmp;

	if (p->msg_len < sizeof(*icmp))
		return PKT_MALFORMED;
	icmp = cursor_pull(c, sizeof(*icmp));
	if (!icmp)
		return PKT_MALFORMED;
	p->l4_off = (void *)icmp - data;
	p->type = icmp->type;
	p->code = icmp->code;
	p->row = iw_row(p->fam, icmp->type, icmp->code);
	return PKT_ICMP;
}

static __always_inline int parse_ipv4(struct hdr_cursor *c, void *data, struct pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 ihl, tot, off, payload;
	__u16 frag;

	if ((void *)&ip->protocol + 1 > c->end || ip->protocol != IPPROTO_ICMP)
		return PKT_OTHER;
	p->fam = IW_FAM_ICMP;
	p->row = IW_ROW_UNTYPED(IW_FAM_ICMP);
	p->l3_off = (void *)ip - data;
	if ((void *)(ip + 1) > c->end)
		return PKT_MALFORMED;
	ihl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ihl < sizeof(*ip) || tot < ihl || tot > cursor_left(c))
		return PKT_MALFORMED;
	if (!cursor_pull(c, ihl))
		return PKT_MALFORMED;
	payload = tot - ihl;
	frag = bpf_ntohs(ip->frag_off);
	off = (frag & IP_OFFMASK) * 8;
	p->end = tot;
	if (frag & (IP_MF | IP_OFFMASK)) {
		p->frag = 1;
		p->end = ihl + off + payload;
		if (p->end > IPV4_MAX_DGRAM)
			return PKT_POD;
		if (off) {
			p->nonfirst = 1;
			return PKT_ICMP;
		}
	}
	p->msg_len = payload;
	return read_icmp(c, data, p);
}

struct ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset in 8-byte units << 3 | M flag */
	__be32 id;
};

/* Extension headers are walked with a scalar offset, re-deriving the pointer each time and
 * keeping the offset within EXT_OFF_MAX: every path then reaches the loop head in a state
 * the verifier can prune, instead of one state per combination of header lengths. */
#define EXT_OFF_MAX	0x3fff

static __always_inline int parse_ipv6(struct hdr_cursor *c, void *data, struct pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u64 off, first, frag_off = 0, frag_at = 0, plen, hdrs;
	struct icmp_common *icmp;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return PKT_OTHER;
	first = (void *)(ip6 + 1) - data;
	off = first;
	nh = ip6->nexthdr;

	for (i = 0; i < IW_MAX_EXTHDR; i++) {
		struct ipv6_ext *ext;
		struct ipv6_frag *fh;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_AH && nh != IPPROTO_FRAGMENT)
			break;
		if (off > EXT_OFF_MAX)
			return PKT_OTHER;
		/* every extension header is at least 8 bytes */
		fh = data + (off & EXT_OFF_MAX);
		if ((void *)(fh + 1) > c->end)
			return PKT_OTHER;
		ext = (void *)fh;
		if (nh == IPPROTO_FRAGMENT) {
			frag_at = off;
			frag_off = bpf_ntohs(fh->frag_off) & 0xfff8;
			p->frag = 1;
			nh = fh->nexthdr;
			off += sizeof(*fh);
			if (frag_off)
				break;	/* what follows is the fragmentable part */
			continue;
		}
		off += nh == IPPROTO_AH ? (ext->hdrlen + 2) * 4 : (ext->hdrlen + 1) * 8;
		nh = ext->nexthdr;
	}
	if (nh != IPPROTO_ICMPV6 || off > EXT_OFF_MAX)
		return PKT_OTHER;	/* includes chains longer than IW_MAX_EXTHDR */

	p->fam = IW_FAM_ICMPV6;
	p->row = IW_ROW_UNTYPED(IW_FAM_ICMPV6);
	p->l3_off = (void *)ip6 - data;
	plen = bpf_ntohs(ip6->payload_len);
	hdrs = off - first;
	if (plen > (__u32)(c->end - data) - first || plen < hdrs)
		return PKT_MALFORMED;
	p->end = sizeof(*ip6) + plen;
	if (p->frag) {
		/* headers before the fragment header, then this fragment's data at its offset: all
		 * that follows the fragment header, extension headers included */
		p->end = sizeof(*ip6) + (frag_at - first) + frag_off +
			 (plen - (frag_at - first) - sizeof(struct ipv6_frag));
		if (p->end - sizeof(*ip6) > IPV6_MAX_PAYLOAD)
			return PKT_POD;
		if (frag_off) {
			p->nonfirst = 1;
			return PKT_ICMP;
		}
	}
	p->msg_len = plen - hdrs;
	if (p->msg_len < sizeof(*icmp))
		return PKT_MALFORMED;
	icmp = data + (off & EXT_OFF_MAX);
	if ((void *)(icmp + 1) > c->end)
		return PKT_MALFORMED;
	p->l4_off = off;
	p->type = icmp->type;
	p->code = icmp->code;
	p->row = iw_row(p->fam, icmp->type, icmp->code);
	return PKT_ICMP;
}

/* ---- checksums -------------------------------------------------------------------- */

#define CSUM_CHUNK	512	/* the most bpf_csum_diff() sums at once */
/* Offsets into the frame are masked to 15 bits so that the verifier can prove offset +
 * chunk stays below its 64 KiB packet limit. Native XDP frames are at most a page; only a
 * generic-mode frame could be longer, and its checksum is then not verified. */
#define CSUM_OFF_MASK	0x7fff

static __always_inline __u32 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Adds the 1 to 3 bytes at q (4-aligned from the message's start), padded with zeros. */
static __always_inline int csum_bytes(__u8 *q, void *data_end, __u32 n, __u32 *sum)
{
	__u8 tail[4] = {};
	__s64 s;

	if ((void *)q + 3 <= data_end) {
		tail[0] = q[0];
		tail[1] = n > 1 ? q[1] : 0;
		tail[2] = n > 2 ? q[2] : 0;
	} else if ((void *)q + 2 <= data_end && n <= 2) {
		tail[0] = q[0];
		tail[1] = n > 1 ? q[1] : 0;
	} else if ((void *)q + 1 <= data_end && n <= 1) {
		tail[0] = q[0];
	} else {
		return -1;
	}
	s = bpf_csum_diff(NULL, 0, (void *)tail, sizeof(tail), *sum);
	if (s < 0)
		return -1;
	*sum = s;
	return 0;
}

/*
 * One's complement sum of len bytes at off, seeded with seed; returns 1 when it folds to
 * 0xffff (the checksum checks out), 0 when not, and 1 when the message lies beyond what can
 * be verified (see CSUM_OFF_MASK). Global, so verified once whatever the caller's state.
 *
 * bpf_csum_diff() sums at most CSUM_CHUNK bytes, a multiple of 4, per call, and the
 * verifier wants every byte it reads provably in the frame. A message of CSUM_CHUNK bytes or
 * more has that many in the frame from its start, so its head (len % CSUM_CHUNK bytes) is
 * summed first with one call of variable size, then whole chunks follow; when the head is
 * odd their 16-bit words straddle the message's, and their sum is byte-swapped. A shorter
 * message goes in pieces of 256, 128, ... 4 bytes. 1480 bytes take 3 calls.
 */
__noinline int iw_csum_ok(struct xdp_md *ctx, __u32 off, __u32 len, __u32 seed)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 sum = seed, rem, head, chunks, odd = 0, csum2 = 0, i;
	__u8 *q;
	__s64 s;

	if (off > CSUM_OFF_MASK || len > CSUM_OFF_MASK - off)
		return 1;
	q = data + (off & CSUM_OFF_MASK);
	if (len >= CSUM_CHUNK) {
		if ((void *)q + CSUM_CHUNK > data_end)
			return 0;
		head = len % CSUM_CHUNK;
		s = bpf_csum_diff(NULL, 0, (void *)q, head & (CSUM_CHUNK - 4), sum);
		if (s < 0)
			return 0;
		sum = s;
		if ((head & 3) && csum_bytes(q + (head & (CSUM_CHUNK - 4)), data_end, head & 3,
					     &sum))
			return 0;
		odd = head & 1;
		chunks = len / CSUM_CHUNK;
		for (i = 0; i < CSUM_OFF_MASK / CSUM_CHUNK && i < chunks; i++) {
			__u8 *c = data + ((off + head + i * CSUM_CHUNK) & CSUM_OFF_MASK);

			if ((void *)c + CSUM_CHUNK > data_end)
				return 0;
			s = bpf_csum_diff(NULL, 0, (void *)c, CSUM_CHUNK, csum2);
			if (s < 0)
				return 0;
			csum2 = s;
		}
		csum2 = csum_fold(csum2);
		if (odd)
			csum2 = ((csum2 & 0xff) << 8) | (csum2 >> 8);
		sum = csum_fold(sum) + csum2;
		return csum_fold(sum) == 0xffff;
	}
	rem = len;

#define CSUM_PIECE(n)								\
	if (rem & (n)) {							\
		if ((void *)q + (n) > data_end)					\
			return 0;						\
		s = bpf_csum_diff(NULL, 0, (void *)q, (n), sum);		\
		if (s < 0)							\
			return 0;						\
		sum = s;							\
		q += (n);							\
	}
	CSUM_PIECE(256)
	CSUM_PIECE(128)
	CSUM_PIECE(64)
	CSUM_PIECE(32)
	CSUM_PIECE(16)
	CSUM_PIECE(8)
	CSUM_PIECE(4)
#undef CSUM_PIECE
	if ((rem & 3) && csum_bytes(q, data_end, rem & 3, &sum))
		return 0;
	return csum_fold(sum) == 0xffff;
}

static __always_inline bool icmp_csum_ok(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + (p->l3_off & L3_OFF_MASK);
	__be32 pseudo[2];
	__s64 s;

	if (p->fam == IW_FAM_ICMP)
		return iw_csum_ok(ctx, p->l4_off, p->msg_len, 0);
	/* ICMPv6: pseudo-header of source, destination, upper-layer length, next header */
	if ((void *)(ip6 + 1) > data_end)
		return false;
	s = bpf_csum_diff(NULL, 0, (void *)&ip6->saddr, 32, 0);
	if (s < 0)
		return false;
	pseudo[0] = bpf_htonl(p->msg_len);
	pseudo[1] = bpf_htonl(IPPROTO_ICMPV6);
	s = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), s);
	if (s < 0)
		return false;
	return iw_csum_ok(ctx, p->l4_off, p->msg_len, s);
}

/* Verdicts: a pass or a drop, and its reason. */
#define PASS(reason)	((int)(reason))
#define DROP(reason)	((int)(reason) | 0x100)

/* ---- GCRA ------------------------------------------------------------------------- */

static __always_inline __u64 tokens_in(__u64 interval, __u64 tolerance)
{
	return (tolerance + interval) / interval;
}

/* A TAT ahead of the clock by ahead ticks is further than a limit of this interval and
 * tolerance could have written: from before a wrap of the clock (include/icmpwall.h). */
static __always_inline bool tat_stale(__u64 ahead, __u64 interval, __u64 tolerance)
{
	return ahead > tolerance + interval + IW_LAG_TICKS;
}

/* Converts a TAT written at epoch be of lim to lim's current interval and tolerance: the
 * tokens it held then, clamped to the burst of every limit since (include/icmpwall.h).
 * Runs once per bucket after a change. */
static __always_inline __u64 gcra_convert(__u64 tat, __u64 now, const struct iw_limit *lim,
					  __u32 be)
{
	__u32 age = (lim->epoch - be) & 0xff;
	const struct iw_epoch_limit *h = &lim->hist[be % IW_EPOCHS];
	__u64 debt = (__s64)(tat - now) > 0 ? tat - now : 0, full_old, full_new, tokens;
	int i;

	if (age >= IW_EPOCHS || !h->interval)
		return now;			/* too long ago, or no limit then: full */
	/* further ahead than that limit could have written: from before a wrap of the clock
	 * (include/icmpwall.h), a full bucket, as gcra_update() takes it at the same epoch */
	if (tat_stale(debt, h->interval, h->tolerance))
		return now;
	full_old = h->tolerance + h->interval;
	tokens = debt >= full_old ? 0 : (full_old - debt) / h->interval;
#pragma unroll
	for (i = 1; i < IW_EPOCHS - 1; i++) {
		const struct iw_epoch_limit *m = &lim->hist[(be + i) % IW_EPOCHS];

		if ((__u32)i < age && m->interval && tokens > tokens_in(m->interval, m->tolerance))
			tokens = tokens_in(m->interval, m->tolerance);
	}
	full_new = lim->tolerance + lim->interval;
	/* tokens * interval >= full_new, tested without the product, which can pass 2^64 (an
	 * old burst of 10^8, a new interval of up to 2^48 ticks); below it, it cannot */
	if (tokens > (full_new - 1) / lim->interval)
		return now;			/* clamped to the new burst */
	return now + full_new - tokens * lim->interval;
}

/* lim is a limit of the policy copy in force (struct iw_conf: active). */
static __always_inline bool in_force(const struct iw_limit *lim)
{
	const struct iw_policy *p = &iw_conf.pol[READ_ONCE(iw_conf.active) & 1];

	return (const void *)lim >= (const void *)p && (const void *)lim < (const void *)(p + 1);
}

/*
 * One GCRA decision on a shared state word, for every case but the flood's (gcra()).
 * Conforming packets write the word with a compare-and-swap, retried a bounded number of
 * times (a packet that keeps losing the race is treated as over the limit). A packet over
 * the limit that finds the word of an older epoch writes the converted word, with one
 * compare-and-swap whose outcome it does not need. A subprogram
 * of its own: its loop's registers would otherwise be saved on the flood's path.
 */
static __noinline bool gcra_update(__u64 *state, const struct iw_limit *lim, __u64 now)
{
	__u64 epoch = lim->epoch;
	int i;

	for (i = 0; i < 4; i++) {
		__u64 old = READ_ONCE(*state);
		__u64 tat = old & ~IW_EPOCH_MASK;
		bool converted = (old & IW_EPOCH_MASK) != epoch;
		__s64 ahead;

		if (!old) {
			tat = now;	/* never written: a full bucket, whatever the clock reads */
		} else if (converted) {
			/* Only a packet of the policy in force converts. One that read the copy
			 * before a flip can find the word already converted to the new limit's
			 * epoch, which would look to it like one from long ago (a full bucket):
			 * it is dropped instead, and writes nothing. */
			if (!in_force(lim))
				return false;
			tat = gcra_convert(tat, now, lim, old & IW_EPOCH_MASK);
		}
		ahead = tat - now;
		/* Behind the clock: a full bucket. Further ahead than any CPU could have written
		 * (include/icmpwall.h): a state from before a wrap of the clock, start afresh. */
		if (ahead < 0 || tat_stale(ahead, lim->interval, lim->tolerance)) {
			tat = now;
			ahead = 0;
		}
		if ((__u64)ahead > lim->tolerance) {
			if (converted)
				__sync_val_compare_and_swap(state, old, (tat & ~IW_EPOCH_MASK) | epoch);
			return false;
		}
		if (__sync_val_compare_and_swap(state, old,
						((tat + lim->interval) & ~IW_EPOCH_MASK) | epoch) == old)
			return true;
	}
	return false;
}

/* The flood's case: a state word first, written (not 0: gcra_update() takes 0 for a full
 * bucket, whatever the clock reads) and of the current epoch, whose TAT is over the
 * tolerance but not so far as to be stale (gcra_update(); span: the interval +
 * IW_LAG_TICKS). Returns how many ticks from now the TAT stays over the tolerance, at
 * least 1; 0 when it is not over. */
static __always_inline __u64 gcra_over(__u64 first, __u64 now, __u64 epoch, __u64 tolerance,
				       __u64 span)
{
	__u64 left = (first & ~IW_EPOCH_MASK) - now - tolerance;

	return first && (first & IW_EPOCH_MASK) == epoch && left - 1 < span ? left : 0;
}

/*
 * One GCRA decision: true when the packet conforms and its token was taken. The flood's
 * case first (gcra_over()): drop, nothing written, so a flood does not bounce the word's
 * cache line.
 */
static __always_inline bool gcra(__u64 *state, const struct iw_limit *lim, __u64 now)
{
	__u64 first = READ_ONCE(*state);

	if (gcra_over(first, now, lim->epoch, lim->tolerance, lim->interval + IW_LAG_TICKS))
		return false;
	return gcra_update(state, lim, now);
}

/* ---- flood events ----------------------------------------------------------------- */

static __always_inline __u64 *ctl(__u32 key)
{
	return bpf_map_lookup_elem(&iw_ctl, &key);
}

static __always_inline void ctl_add(__u32 key)
{
	__u64 *v = ctl(key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline struct iw_event *event_new(__u8 kind, __u64 now)
{
	struct iw_event *ev = bpf_ringbuf_reserve(&iw_events, sizeof(*ev), 0);

	if (!ev) {
		ctl_add(IW_CTL_EV_LOST);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->ts_ns = now;
	return ev;
}

/* The per-source event budget: GCRA in nanoseconds on iw_ctl[IW_CTL_EV_TAT]. */
static __always_inline bool event_budget(__u64 now)
{
	const __u64 interval = IW_EV_PERIOD_NS / IW_EV_RATE;
	const __u64 tolerance = (IW_EV_BURST - 1) * interval;
	__u64 *tat = ctl(IW_CTL_EV_TAT), old, t;

	if (!tat)
		return false;
	old = READ_ONCE(*tat);
	t = old > now ? old : now;
	if (t - now > tolerance || __sync_val_compare_and_swap(tat, old, t + interval) != old) {
		ctl_add(IW_CTL_EV_SUPPRESSED);
		return false;
	}
	return true;
}

static __always_inline __u32 suppressed(void)
{
	__u64 *v = ctl(IW_CTL_EV_SUPPRESSED);

	return v ? *v : 0;
}

struct row_sum {
	__u32 base;		/* first row of the type */
	__u64 packets;
	__u64 drops;
};

static int row_sum_cpu(__u32 cpu, struct row_sum *s)
{
	for (__u32 c = 0; c < IW_NCODES; c++) {
		__u32 k = s->base + c;
		struct iw_row_counter *r = bpf_map_lookup_percpu_elem(&iw_stats, &k, cpu);

		if (r) {
			s->packets += r->packets;
			s->drops += r->dropped;
		}
	}
	return 0;
}

/* Packets and drops of one type, all codes, all CPUs. */
static __always_inline void type_sums(__u32 key, __u64 *packets, __u64 *drops)
{
	struct row_sum s = { .base = iw_row(key / 256, key % 256, 0) };

	bpf_loop(iw_ncpus, row_sum_cpu, &s, 0);
	*packets = s.packets;
	*drops = s.drops;
}

/* The fast word and episode claim of family x type key (fam * 256 + type). */
static __always_inline struct iw_fast *type_fast(__u32 key)
{
	return &iw_conf.fast[(key >> 8) & 1][key & 0xff];
}

/* Makes this CPU the one that starts an episode: none runs (struct iw_fast), or the one
 * that does has not ticked for IW_EV_STALE_JIFFIES. now: jiffies. In a flood this is one
 * read of a line that stays shared. */
static __always_inline bool episode_claim(__u64 *until, __u64 now)
{
	__u64 u = READ_ONCE(*until);

	if ((__s64)(u - now) > 0)
		return false;
	return __sync_val_compare_and_swap(until, u, now + IW_EV_STALE_JIFFIES) == u;
}

/* An episode goes on: it lapses IW_EV_STALE_JIFFIES from now unless it ticks again. */
static __always_inline void episode_renew(__u64 *until)
{
	WRITE_ONCE(*until, bpf_jiffies64() + IW_EV_STALE_JIFFIES);
}

/* A timer that could not start: the claim lapses IW_EV_RETRY_JIFFIES from now. */
static __always_inline void episode_retry(__u64 *until)
{
	WRITE_ONCE(*until, bpf_jiffies64() + IW_EV_RETRY_JIFFIES);
}

/* Every second of a type episode: a summary while the type drops, the end when not. */
static int episode_tick(void *map, __u32 *key, struct iw_episode *ep)
{
	__u64 now = bpf_ktime_get_ns(), packets, drops;
	struct iw_event *ev;

	type_sums(*key, &packets, &drops);
	ev = event_new(drops != ep->drops ? IW_EV_SUMMARY : IW_EV_END, now);
	if (ev) {
		ev->started_ns = ep->started_ns;
		ev->fam = *key / 256;
		ev->type = *key % 256;
		ev->reason = ep->reason;
		ev->packets = packets - ep->packets;
		ev->drops = drops - ep->drops;
		ev->total_drops = drops - ep->start_drops;
		ev->period_ns = IW_EV_PERIOD_NS;
		ev->suppressed = suppressed();
		bpf_ringbuf_submit(ev, 0);
	}
	if (drops != ep->drops) {
		ep->packets = packets;
		ep->drops = drops;
		episode_renew(&type_fast(*key)->until);
		bpf_timer_start(&ep->timer, IW_EV_PERIOD_NS, 0);
	} else {
		WRITE_ONCE(type_fast(*key)->until, 0);
	}
	return 0;
}

/* 0 when the timer runs. Otherwise the episode stays claimed, silent, until it lapses. */
#define TIMER_START(timer, map, cb)						\
	({									\
		long err_ = bpf_timer_init(timer, map, CLOCK_MONOTONIC);	\
		if (err_ == -EBUSY)						\
			err_ = 0;	/* initialised by an earlier episode */	\
		if (!err_)							\
			err_ = bpf_timer_set_callback(timer, cb);		\
		if (!err_)							\
			err_ = bpf_timer_start(timer, IW_EV_PERIOD_NS, 0);	\
		err_;								\
	})

/* Starts the episode of family x type (key) that this CPU has claimed. Global: verified
 * once, wherever the drop that starts it happens. */
__noinline int iw_episode_start(__u32 key, __u32 reason)
{
	struct iw_episode *ep = bpf_map_lookup_elem(&iw_episodes, &key);
	struct iw_event *ev;
	__u64 now;

	if (!ep)
		return 0;
	now = bpf_ktime_get_ns();
	ep->started_ns = now;
	ep->reason = reason;
	type_sums(key, &ep->packets, &ep->drops);
	ep->start_drops = ep->drops;
	if (TIMER_START(&ep->timer, &iw_episodes, episode_tick)) {
		episode_retry(&type_fast(key)->until);
		return 0;
	}
	ev = event_new(IW_EV_START, now);
	if (ev) {
		ev->started_ns = now;
		ev->fam = key / 256;
		ev->type = key % 256;
		ev->reason = reason;
		ev->drops = 1;
		ev->total_drops = 1;
		ev->suppressed = suppressed();
		bpf_ringbuf_submit(ev, 0);
	}
	return 0;
}

/* A drop or rate rule dropped a packet of this type, whose struct iw_fast is fe: start its
 * episode unless it runs. now: jiffies. */
static __always_inline void type_episode(struct iw_fast *fe, __u32 fam, __u32 type,
					 __u32 reason, __u64 now)
{
	if (__builtin_expect(episode_claim(&fe->until, now), 0))
		iw_episode_start((fam & 1) * 256 + (type & 0xff), reason);
}

/* Per-source episodes: the same, one per source prefix, within the event budget. */
static __always_inline void src_event(__u8 kind, __u64 now, struct iw_src_state *st,
				      __u8 fam, __u8 type, __u8 plen, const void *addr,
				      __u32 alen)
{
	struct iw_event *ev;

	if (!event_budget(now))
		return;
	ev = event_new(kind, now);
	if (!ev)
		return;
	ev->started_ns = st->started_ns;
	ev->fam = fam;
	ev->type = type;
	ev->reason = IW_R_RATE;
	ev->per_source = 1;
	ev->plen = plen;
	ev->drops = kind == IW_EV_START ? 1 : st->drops - st->reported;
	ev->total_drops = st->drops;
	ev->period_ns = kind == IW_EV_START ? 0 : IW_EV_PERIOD_NS;
	ev->suppressed = suppressed();
	if (alen == 4)
		__builtin_memcpy(ev->addr, addr, 4);
	else
		__builtin_memcpy(ev->addr, addr, 16);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void src_tick(struct iw_src_state *st, __u8 fam, const void *addr,
				     __u32 alen)
{
	__u64 now = bpf_ktime_get_ns();
	__u8 type = st->info & 0xff, plen = st->info >> 8;

	if (st->drops != st->reported) {
		src_event(IW_EV_SUMMARY, now, st, fam, type, plen, addr, alen);
		st->reported = st->drops;
		episode_renew(&st->until);
		bpf_timer_start(&st->timer, IW_EV_PERIOD_NS, 0);
		return;
	}
	src_event(IW_EV_END, now, st, fam, type, plen, addr, alen);
	st->drops = st->reported = 0;
	WRITE_ONCE(st->until, 0);
}

static int src4_tick(void *map, struct iw_src4_key *key, struct iw_src_state *st)
{
	__be32 a = bpf_htonl(key->addr);

	src_tick(st, IW_FAM_ICMP, &a, 4);
	return 0;
}

static int src6_tick(void *map, struct iw_src6_key *key, struct iw_src_state *st)
{
	src_tick(st, IW_FAM_ICMPV6, key->addr, 16);
	return 0;
}

/* ---- rate rules ----------------------------------------------------------------------- */

/* Starts the episode of a per-source bucket that this CPU has claimed: key names it, info
 * is type | prefix length << 8. Global: verified once. */
__noinline int iw_src4_episode(const struct iw_src4_key *key, __u32 info)
{
	struct iw_src_state *st;
	__be32 masked;

	if (!key)
		return 0;
	st = bpf_map_lookup_elem(&iw_src4, key);
	if (!st)
		return 0;
	st->started_ns = bpf_ktime_get_ns();
	st->reported = st->drops;
	st->info = info;
	if (TIMER_START(&st->timer, &iw_src4, src4_tick)) {
		episode_retry(&st->until);
		return 0;
	}
	masked = bpf_htonl(key->addr);
	src_event(IW_EV_START, st->started_ns, st, IW_FAM_ICMP, info & 0xff, info >> 8, &masked, 4);
	return 0;
}

__noinline int iw_src6_episode(const struct iw_src6_key *key, __u32 info)
{
	struct iw_src_state *st;

	if (!key)
		return 0;
	st = bpf_map_lookup_elem(&iw_src6, key);
	if (!st)
		return 0;
	st->started_ns = bpf_ktime_get_ns();
	st->reported = st->drops;
	st->info = info;
	if (TIMER_START(&st->timer, &iw_src6, src6_tick)) {
		episode_retry(&st->until);
		return 0;
	}
	src_event(IW_EV_START, st->started_ns, st, IW_FAM_ICMPV6, info & 0xff, info >> 8,
		  key->addr, 16);
	return 0;
}

enum src_charge {
	SRC_OK,			/* within the source's limit: its token taken */
	SRC_DROP,		/* over it, or the source cannot be tracked (fail closed) */
	SRC_DROP_START,		/* over it, and this CPU starts the source's episode */
};

/*
 * The source's bucket in the family's LRU table map, found or created under key, and
 * charged; a drop is counted for the source's episode. Inlined with map constant.
 */
static __always_inline enum src_charge src_charge(void *map, const void *key,
						  const struct iw_rule *r, __u64 now_j)
{
	__u64 now = now_j << IW_TICK_SHIFT;
	struct iw_src_state *st = bpf_map_lookup_elem(map, key);

	if (!st) {
		struct iw_src_state fresh = { .tat = (now & ~IW_EPOCH_MASK) | r->src.epoch };

		bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(map, key);
		if (!st)
			return SRC_DROP;
	}
	if (gcra(&st->tat, &r->src, now))
		return SRC_OK;
	st->drops++;
	return __builtin_expect(episode_claim(&st->until, now_j), 0) ? SRC_DROP_START : SRC_DROP;
}

/*
 * A source's limit: its bucket keyed by its prefix (masked to the rule's length) and the
 * rule's src_id. Returns false when the packet is over the limit or the source cannot be
 * tracked. saddr is the packet's source address (network order), type its ICMP type.
 */
static __always_inline bool src4_ok(__be32 saddr, __u32 type, const struct iw_rule *r,
				    __u64 now_j)
{
	struct iw_src4_key k = { .src_id = r->src_id };
	__u32 plen = r->src_plen, a = bpf_ntohl(saddr);
	enum src_charge v;

	k.addr = plen >= 32 ? a : plen ? a & ~(0xffffffffU >> plen) : 0;
	v = src_charge(&iw_src4, &k, r, now_j);
	if (v == SRC_DROP_START)
		iw_src4_episode(&k, (type & 0xff) | plen << 8);
	return v == SRC_OK;
}

static __always_inline bool src6_ok(const struct in6_addr *saddr, __u32 type,
				    const struct iw_rule *r, __u64 now_j)
{
	struct iw_src6_key k = { .src_id = r->src_id };
	__u32 plen = r->src_plen;
	enum src_charge v;
	int i;

	__builtin_memcpy(k.addr, saddr, 16);
#pragma unroll
	for (i = 0; i < 16; i++) {
		__s32 bits = (__s32)plen - i * 8;

		if (bits <= 0)
			k.addr[i] = 0;
		else if (bits < 8)
			k.addr[i] &= (__u8)(0xff << (8 - bits));
	}
	v = src_charge(&iw_src6, &k, r, now_j);
	if (v == SRC_DROP_START)
		iw_src6_episode(&k, (type & 0xff) | plen << 8);
	return v == SRC_OK;
}

/* A fast word's global rule stays over its limit on this CPU's row rc until jiffy
 * closed_until (struct iw_row_counter), for at most this many jiffies at a time. */
#define CLOSED_MAX_JIFFIES	64

/*
 * The global bucket of a rate rule, for a packet of a type whose struct iw_fast is fe,
 * judged by policy copy copy; now: jiffies. The flood's case first: the bucket over its
 * limit (gcra_over()) drops the packet with nothing written to the bucket, so that a flood
 * does not bounce its line.
 *
 * rc and w, when rc is not NULL: the packet's row on this CPU and the fast word that sent
 * it here. A packet that finds the bucket over leaves in rc the jiffy until which the
 * bucket must stay over: its TAT only grows while w is in force (a policy change writes new
 * words), so the packets after it on this CPU drop on that alone, without reading the
 * bucket. Such a drop does not try to start the type's episode; the next packet that reads
 * the bucket does, at most CLOSED_MAX_JIFFIES later.
 */
static __always_inline int global_verdict(struct iw_row_counter *rc, __u64 w,
					  struct iw_fast *fe, __u32 fam, __u32 type,
					  __u32 bucket, __u32 copy, const struct iw_limit *lim,
					  __u64 now)
{
	struct iw_bucket *b = &iw_state.buckets[bucket % IW_MAX_BUCKETS];
	const struct iw_bucket_limit *bl = &b->lim[copy & 1];
	__u64 first, left;

	first = READ_ONCE(b->tat);
	left = gcra_over(first, now << IW_TICK_SHIFT, bl->epoch, bl->tolerance, bl->span);
	if (left) {
		if (rc) {
			/* over for the rest of every jiffy that starts less than left ticks on */
			left = (left + (1ULL << IW_TICK_SHIFT) - 1) >> IW_TICK_SHIFT;
			rc->closed_word = w;
			rc->closed_until = now + (left < CLOSED_MAX_JIFFIES ? left : CLOSED_MAX_JIFFIES);
		}
	} else if (gcra_update(&b->tat, lim, now << IW_TICK_SHIFT)) {
		return PASS(IW_R_NONE);
	}
	type_episode(fe, fam, type, IW_R_RATE, now);
	return DROP(IW_R_RATE);
}

/*
 * A rate rule: the source's bucket first (a packet that it drops takes nothing from the
 * global one), then the global bucket, with the clock read again (the source's bucket
 * may have taken a while). saddr: the source address in the packet (4 or 16 bytes).
 */
static __always_inline int rate_verdict(__u32 fam, __u32 type, const void *saddr,
					const struct iw_rule *r, bool src, bool global,
					__u32 bucket, __u32 copy)
{
	__u64 now;

	if (src) {
		bool ok;

		now = bpf_jiffies64();
		ok = fam == IW_FAM_ICMP ? src4_ok(*(const __be32 *)saddr, type, r, now) :
					  src6_ok(saddr, type, r, now);
		if (!ok)
			return DROP(IW_R_RATE);
	}
	if (global)
		return global_verdict(NULL, 0, type_fast((fam & 1) * 256 + (type & 0xff)), fam,
				      type, bucket, copy, &r->global, bpf_jiffies64());
	return PASS(IW_R_NONE);
}

/* ---- verdicts --------------------------------------------------------------------- */


/* A rate rule's verdict in the judge: the source address from the packet. */
static __always_inline int rate_check(struct xdp_md *ctx, const struct pkt *p,
				      const struct iw_rule *r, __u32 copy)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	void *l3 = data + (p->l3_off & L3_OFF_MASK);

	if (p->fam == IW_FAM_ICMP) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end)
			return DROP(IW_R_RATE);
		return rate_verdict(IW_FAM_ICMP, p->type, &ip->saddr, r, r->src.interval,
				    r->global.interval, r->bucket, copy);
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return DROP(IW_R_RATE);
		return rate_verdict(IW_FAM_ICMPV6, p->type, &ip6->saddr, r, r->src.interval,
				    r->global.interval, r->bucket, copy);
	}
}

/* Which of the allow and deny lists cover the packet's source. */
static __always_inline __u8 cidr_flags(struct xdp_md *ctx, const struct pkt *p,
				       const struct iw_policy *pol)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l3 = data + (p->l3_off & L3_OFF_MASK);
	struct iw_cidr_val *v;

	if (p->fam == IW_FAM_ICMP) {
		struct iphdr *ip = l3;
		struct iw_cidr4_key k = { .prefixlen = 32 + 32, .slot = pol->slot };

		if (!(pol->flags & IW_POL_CIDR4) || (void *)(ip + 1) > data_end)
			return 0;
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		v = bpf_map_lookup_elem(&iw_cidr4, &k);
	} else {
		struct ipv6hdr *ip6 = l3;
		struct iw_cidr6_key k = { .prefixlen = 32 + 128, .slot = pol->slot };

		if (!(pol->flags & IW_POL_CIDR6) || (void *)(ip6 + 1) > data_end)
			return 0;
		__builtin_memcpy(k.addr, &ip6->saddr, 16);
		v = bpf_map_lookup_elem(&iw_cidr6, &k);
	}
	return v ? v->flags : 0;
}

static __always_inline bool is_nd(const struct pkt *p)
{
	return p->fam == IW_FAM_ICMPV6 && !p->frag &&
	       p->type >= IW_ND_FIRST && p->type <= IW_ND_LAST;
}

/* The verdict on one ICMP packet by policy copy copy: PASS(reason) or DROP(reason). */
static __always_inline int judge(struct xdp_md *ctx, const struct pkt *p, __u32 copy)
{
	const struct iw_policy *pol = &iw_conf.pol[copy & 1];
	const struct iw_rule *r;
	__u32 idx, ct;
	__u8 cidr;

	if (p->cls == PKT_MALFORMED)
		return DROP(IW_R_MALFORMED);
	if (p->cls == PKT_POD)
		return DROP(IW_R_POD);

	/* Neighbour discovery is touched only by a rule that names its type. */
	if (!is_nd(p)) {
		cidr = cidr_flags(ctx, p, pol);
		if (cidr & IW_CIDR_DENY)
			return DROP(IW_R_DENY);
		if (cidr & IW_CIDR_ALLOW)
			return PASS(IW_R_ALLOW);
		if (p->frag && (pol->flags & IW_POL_FRAG_DROP))
			return DROP(IW_R_FRAGMENT);
		if (pol->max_size && p->end > pol->max_size)
			return DROP(IW_R_OVERSIZE);
		if (p->nonfirst)
			return PASS(IW_R_FRAGMENT);
		if (!p->frag && (pol->flags & IW_POL_CSUM_VERIFY) && !icmp_csum_ok(ctx, p))
			return DROP(IW_R_CSUM);
	}

	idx = pol->type_rule[p->fam & 1][p->type];
	ct = pol->type_codes[p->fam & 1][p->type];
	if (ct) {
		__u32 code_idx = pol->code_rule[(ct - 1) & (IW_MAX_CODE_TABLES - 1)][p->code];

		if (code_idx)
			idx = code_idx;
	}
	if (!idx)
		return PASS(IW_R_NONE);
	r = &pol->rules[idx & 0xff];
	if (r->action == IW_ACT_DROP) {
		type_episode(type_fast(p->fam * 256 + p->type), p->fam, p->type, IW_R_POLICY,
			     bpf_jiffies64());
		return DROP(IW_R_POLICY);
	}
	if (r->action == IW_ACT_RATE)
		return rate_check(ctx, p, r, copy);
	return PASS(IW_R_NONE);
}

/* ---- top talkers ------------------------------------------------------------------ */

/* One packet into this CPU's HeavyKeeper table (see include/icmpwall.h). */
static __always_inline void top_track(struct xdp_md *ctx, const struct pkt *p, int verdict,
				      struct iw_conf *conf)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	void *l3 = data + (p->l3_off & L3_OFF_MASK);
	__u32 w[4] = {}, h, slot, fam = p->fam + 1, drop = (verdict >> 8) & 1;
	const __u32 *held;
	struct iw_top_slot *s;

	if (bpf_ktime_get_coarse_ns() >= conf->top_until) {
		/* `top` has gone: stop tracking, and let the fast words apply again */
		WRITE_ONCE(conf->top_until, 0);
		WRITE_ONCE(conf->top, 0);
		return;
	}
	if (p->fam == IW_FAM_ICMP) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end)
			return;
		w[0] = ip->saddr;
		h = w[0] * 0x9E3779B1U;
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return;
		/* the /64: hosts change the rest of their addresses at will */
		__builtin_memcpy(w, &ip6->saddr, 8);
		h = (w[0] ^ (w[1] * 0x85EBCA6BU)) * 0x9E3779B1U;
	}
	slot = h >> (32 - 12);
	_Static_assert(IW_TOP_SLOTS == 1 << 12, "slot hash width");
	s = bpf_map_lookup_elem(&iw_top, &slot);
	if (!s)
		return;
	held = (const __u32 *)s->addr;
	if (s->fam == fam && held[0] == w[0] && held[1] == w[1] && held[2] == w[2] &&
	    held[3] == w[3]) {
		s->count++;
		s->seen++;
		s->drops += drop;
		return;
	}
	if (s->count) {
		__u32 c = s->count < IW_TOP_DECAY_STEPS ? s->count : IW_TOP_DECAY_STEPS - 1;

		if (bpf_get_prandom_u32() >= iw_top_decay[c] || --s->count)
			return;
	}
	__builtin_memcpy(s->addr, w, 16);
	s->fam = fam;
	s->count = 1;
	s->seen = 1;
	s->drops = drop;
}

/*
 * The verdict, and the packet's source into the top table while `icmpwall top` runs.
 * Global, so the verifier checks it once, apart from the parser's paths.
 */
__noinline int iw_judge(struct xdp_md *ctx, const struct pkt *p)
{
	struct iw_conf *conf;
	int verdict;

	conf = &iw_conf;
	if (!p)
		return DROP(IW_R_MALFORMED);	/* cannot happen: the caller's stack */
	/* one read of active: this packet is judged by that copy, whole */
	verdict = judge(ctx, p, READ_ONCE(conf->active) & 1);
	if (conf->top_until)
		top_track(ctx, p, verdict, conf);
	return verdict;
}

/* The one exit for ICMP: count the packet in its row and, when there is one, its reason: a
 * rate rule's drops in the row itself (rate_dropped), every other reason in iw_reasons. */
static __always_inline int record_at(struct iw_row_counter *row, __u64 len, int verdict)
{
	__u32 reason = verdict & 0xff, drop = (verdict >> 8) & 1;

	if (row) {
		row->packets++;
		row->bytes += len;
		if (drop) {
			row->dropped++;
			/* a flood's drop: its reason in the row's own line */
			if (reason == IW_R_RATE) {
				row->rate_dropped++;
				return XDP_DROP;
			}
		}
	}
	if (reason != IW_R_NONE && reason != IW_R_RATE) {
		__u32 k = IW_REASON_IDX(drop, reason);
		struct iw_reason_counter *rc = bpf_map_lookup_elem(&iw_reasons, &k);

		if (rc)
			rc->packets++;
	}
	return drop ? XDP_DROP : XDP_PASS;
}

/* The same, the row by its key. */
static __always_inline int record(__u32 row_key, __u64 len, int verdict)
{
	return record_at(bpf_map_lookup_elem(&iw_stats, &row_key), len, verdict);
}

/* The verdict of fast word w, at fe, on a packet of family fam whose ICMP header is icmp,
 * from saddr. rc: the packet's row on this CPU (global_verdict()). */
static __always_inline int fast_verdict(struct iw_row_counter *rc, struct iw_fast *fe, __u64 w,
					__u32 fam, const struct icmp_common *icmp,
					const void *saddr)
{
	__u32 kind = IW_FAST_KIND(w);
	const struct iw_rule *r;
	__u64 now;

	if (kind == IW_FAST_PASS)
		return PASS(IW_R_NONE);
	if (kind == IW_FAST_DROP) {
		type_episode(fe, fam, icmp->type, IW_R_POLICY, bpf_jiffies64());
		return DROP(IW_R_POLICY);
	}
	if ((w & (IW_FAST_SRC | IW_FAST_GLOBAL)) != IW_FAST_GLOBAL) {
		r = &iw_conf.pol[IW_FAST_COPY(w)].rules[IW_FAST_RULE(w)];
		return rate_verdict(fam, icmp->type, saddr, r, w & IW_FAST_SRC, w & IW_FAST_GLOBAL,
				    IW_FAST_BUCKET(w), IW_FAST_COPY(w));
	}
	/* a global limit alone, as in most floods: this CPU's note first; the type read again
	 * past it (READ_ONCE), so that nothing is kept for it across the clock's call */
	now = bpf_jiffies64();
	if (rc && rc->closed_word == w && (__s64)(rc->closed_until - now) > 0)
		return DROP(IW_R_RATE);
	r = &iw_conf.pol[IW_FAST_COPY(w)].rules[IW_FAST_RULE(w)];
	return global_verdict(rc, w, fe, fam, READ_ONCE(icmp->type), IW_FAST_BUCKET(w),
			      IW_FAST_COPY(w), &r->global, now);
}

/*
 * What both families share of the straight line: the fast word (include/icmpwall.h) of
 * family fam and the type in icmp decides an unfragmented packet of len frame bytes whose
 * end is end, from saddr, and the packet is counted in its row. Returns the XDP action, or
 * -1 when the word leaves the packet to the judge (or top runs).
 */
static __always_inline int fast_decide(__u32 fam, const struct icmp_common *icmp, __u64 end,
				       const void *saddr, __u64 len)
{
	struct iw_fast *fe = &iw_conf.fast[fam][icmp->type];
	__u64 w = fe->word;
	struct iw_row_counter *rc;
	__u32 row;
	int v;

	/* A word of 0 (IW_FAST_SLOW) has max 0: every packet ends past it. A word counts only
	 * for the copy in force: the CLI writes the next copy's words before it flips, and a
	 * CLI killed in between must not leave them half in force. While top runs (gate's
	 * upper half) none counts. */
	if (end > (w & IW_FAST_MAX) || IW_FAST_COPY(w) != READ_ONCE(iw_conf.gate))
		return -1;
	row = iw_row(fam, icmp->type, icmp->code);
	rc = bpf_map_lookup_elem(&iw_stats, &row);
	v = fast_verdict(rc, fe, w, fam, icmp, saddr);
	/* the common verdicts as constants, so that their record_at() is a straight line */
	if (v == PASS(IW_R_NONE))
		return record_at(rc, len, PASS(IW_R_NONE));
	if (v == DROP(IW_R_RATE))
		return record_at(rc, len, DROP(IW_R_RATE));
	return record_at(rc, len, v);
}

/*
 * The common case in a straight line, before the general parser: untagged IPv4 carrying
 * ICMP, no options, not fragmented, lengths right (or IPv6 with ICMPv6 right after its
 * header), of a type its fast word decides. Returns the XDP action, or -1 for the general
 * path, which also owns every malformed case. The caller has checked that an Ethernet and
 * an IPv6 header's worth of bytes are there: for IPv4, that covers the ICMP header.
 */
static __always_inline int fast_ipv4(void *data, void *data_end)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct icmp_common *icmp = (void *)(ip + 1);
	__u64 tot, len = data_end - data;	/* 64-bit: no zero-extensions on the way */

	if (*(__u8 *)ip != 0x45 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)))
		return -1;
	/* sizeof(*ip) + sizeof(*icmp) <= tot <= len - sizeof(struct ethhdr), in one
	 * comparison: below the low end, tot - low wraps to far above the range */
	tot = bpf_ntohs(ip->tot_len);
	if (tot - (sizeof(*ip) + sizeof(*icmp)) >
	    len - (sizeof(struct ethhdr) + sizeof(*ip) + sizeof(*icmp)))
		return -1;
	return fast_decide(IW_FAM_ICMP, icmp, tot, &ip->saddr, len);
}

static __always_inline int fast_ipv6(void *data, void *data_end)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct icmp_common *icmp = (void *)(ip6 + 1);
	__u64 plen, len = data_end - data;

	if ((void *)(icmp + 1) > data_end || ip6->nexthdr != IPPROTO_ICMPV6)
		return -1;
	/* sizeof(*icmp) <= plen <= what the frame holds after the headers, as above */
	plen = bpf_ntohs(ip6->payload_len);
	if (plen - sizeof(*icmp) > len - (sizeof(struct ethhdr) + sizeof(*ip6) + sizeof(*icmp)))
		return -1;
	return fast_decide(IW_FAM_ICMPV6, icmp, sizeof(*ip6) + plen, &ip6->saddr, len);
}

SEC("xdp")
int icmpwall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = { .pos = data, .end = data_end };
	struct pkt p;
	__be16 proto;
	int verdict;

	/* Untagged IPv4 that is not ICMP, the bulk of most traffic, leaves at once; plain ICMP
	 * may be decided in a straight line. */
	if (data + sizeof(struct ethhdr) + sizeof(struct ipv6hdr) <= data_end) {
		proto = *(__be16 *)(data + offsetof(struct ethhdr, h_proto));
		if (proto == bpf_htons(ETH_P_IP)) {
			if (((struct iphdr *)(data + sizeof(struct ethhdr)))->protocol != IPPROTO_ICMP)
				return XDP_PASS;
			verdict = fast_ipv4(data, data_end);
			if (verdict >= 0)
				return verdict;
		} else if (proto == bpf_htons(ETH_P_IPV6)) {
			verdict = fast_ipv6(data, data_end);
			if (verdict >= 0)
				return verdict;
		}
	}
	__builtin_memset(&p, 0, sizeof(p));
	p.len = data_end - data;
	proto = parse_ethernet(&c);
	if (proto == bpf_htons(ETH_P_IP))
		p.cls = parse_ipv4(&c, data, &p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		p.cls = parse_ipv6(&c, data, &p);
	if (p.cls == PKT_OTHER)
		return XDP_PASS;
	return record(p.row, p.len, iw_judge(ctx, &p));
}
