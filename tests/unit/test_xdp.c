// SPDX-License-Identifier: GPL-2.0
/*
 * test_xdp.c - unit tests of the XDP program (bpf/icmpwall.bpf.c).
 *
 * The real program is loaded through the bpftool skeleton and fed crafted frames with
 * BPF_PROG_TEST_RUN (repeat 1). Every run checks the verdict and the exact movement of both
 * counter tables, summed over the CPUs: the one row of iw_stats that must move (or none),
 * by one packet of the frame's length and one drop when dropped, and the one slot of
 * iw_reasons (or none); every other row and slot must stay where it was.
 *
 * Frames are built from __packed header structs with designated initializers, with IPv4
 * header, ICMP and ICMPv6 checksums computed here, so that the checksum tests mean
 * something. The expectations are written from the semantics in include/icmpwall.h and
 * the design notes, not read off the program's output.
 *
 * Run as root: build/tests/test_xdp [NAME...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <net/if.h>	/* before the kernel's headers (maps.h) */

#include <linux/bpf.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "csum.h"
#include "icmpwall.h"
#include "icmpwall.skel.h"
#include "maps.h"
#include "testlib.h"
#include "policy.h"

#ifndef __packed
#define __packed		__attribute__((packed))
#endif

#define META			16	/* metadata in front of frames shorter than ETH_HLEN */
#define FRAME_MAX		2048
#define NO_ROW			(-1)	/* no counter row may move: non-ICMP, uncounted */
#define ETH_P_QINQ		0x88a8

/* IPv4 frag_off, host order */
#define F_MF			0x2000
#define F_DF			0x4000

/* Rate limits that are deterministic within a test: one token comes back every 2^24
 * jiffies (hours at any HZ), so a bucket of burst N passes exactly N packets. */
#define SLOW			(1ULL << 56)

/* Rows and reason slots, written out from the contract. */
#define R4(t, c)		((int)iw_row(IW_FAM_ICMP, (t), (c)))
#define R6(t, c)		((int)iw_row(IW_FAM_ICMPV6, (t), (c)))
#define U4			((int)IW_ROW_UNTYPED(IW_FAM_ICMP))
#define U6			((int)IW_ROW_UNTYPED(IW_FAM_ICMPV6))

/* ---- frames --------------------------------------------------------------------------- */

struct vlan_tag {
	__be16 tci;
	__be16 proto;
} __packed;

/* Hop-by-hop, routing, destination options and AH all start with these two bytes. */
struct ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
} __packed;

struct frag_hdr6 {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset in bytes (a multiple of 8) | M */
	__be32 id;
} __packed;

struct __attribute__((aligned(8))) frame {
	/* Two bytes before the frame, as drivers leave (NET_IP_ALIGN): the IP header after 14
	 * bytes of Ethernet (and 4-byte VLAN tags) is then 4-byte aligned for the structs the
	 * builders write through. */
	__u8 pad[2];
	__u8 d[FRAME_MAX];
	__u32 len;
	__u32 l3;		/* IP header */
	__u32 l4;		/* ICMP header; 0 = none (non-first fragment, other protocol) */
	int v6;
};

/* One IPv6 extension header: type (0, 43, 60, 51 or 44) and length in bytes (a multiple of
 * 8, of 4 for AH; a fragment header is always 8); off and more for a fragment header. */
struct ext {
	__u8 type;
	__u16 len;
	__u16 off;
	__u8 more;
};

struct spec {
	int v6;			/* 0: IPv4 + ICMP, 1: IPv6 + ICMPv6 */
	int tags;		/* 0; 1: 802.1Q; 2: 802.1ad + 802.1Q; 3: one tag too many */
	__u8 type, code;
	__u32 data;		/* bytes after the 8-byte ICMP header, or of fragment data */
	const char *src;	/* NULL = 192.0.2.1 / 2001:db8::1 */
	__u8 opt_words;		/* IPv4 options, 32-bit words: IHL = 5 + opt_words */
	__u16 frag;		/* IPv4 flags | offset in 8-byte units */
	const struct ext *ext;	/* IPv6 extension headers, in order */
	int next;
	__u8 proto;		/* 0 = ICMP/ICMPv6; else a different upper layer (raw bytes) */
};

static void *put(struct frame *f, const void *h, size_t n)
{
	void *p = f->d + f->len;

	if (f->len + n > FRAME_MAX) {
		fprintf(stderr, "frame too long\n");
		abort();
	}
	memcpy(p, h, n);
	f->len += n;
	return p;
}

/* Appends one header given as a designated initializer; returns a pointer to it. */
#define PUT(f, type, ...)	((type *)put((f), &(type){ __VA_ARGS__ }, sizeof(type)))

static void fill(struct frame *f, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		put(f, &(__u8){ (__u8)(i * 7 + 3) }, 1);
}

static void zeros(struct frame *f, __u32 n)
{
	static const __u8 z[FRAME_MAX];

	put(f, z, n);
}

static __be32 addr4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return a.s_addr;
}

static struct in6_addr addr6(const char *s)
{
	struct in6_addr a;

	if (inet_pton(AF_INET6, s, &a) != 1)
		abort();
	return a;
}

/* Ethernet with the given tag protocol identifiers, outermost first. */
static void l2_tags(struct frame *f, __u16 proto, int ntags, const __u16 *tpid)
{
	f->len = f->l3 = f->l4 = 0;
	PUT(f, struct ethhdr,
	    .h_dest = { 0x02, 0, 0, 0, 0, 0x02 },
	    .h_source = { 0x02, 0, 0, 0, 0, 0x01 },
	    .h_proto = htons(ntags ? tpid[0] : proto));
	for (int i = 0; i < ntags; i++)
		PUT(f, struct vlan_tag,
		    .tci = htons(100 + i),
		    .proto = htons(i + 1 < ntags ? tpid[i + 1] : proto));
}

static void l2(struct frame *f, __u16 proto, int tags)
{
	static const __u16 q[] = { ETH_P_8021Q };
	static const __u16 qinq[] = { ETH_P_QINQ, ETH_P_8021Q };
	static const __u16 three[] = { ETH_P_QINQ, ETH_P_8021Q, ETH_P_8021Q };

	l2_tags(f, proto, tags, tags == 1 ? q : tags == 2 ? qinq : three);
}

static void ip4(struct frame *f, const char *src, __u8 opt_words, __u16 frag, __u8 proto)
{
	f->v6 = 0;
	f->l3 = f->len;
	PUT(f, struct iphdr,
	    .version = 4,
	    .ihl = 5 + opt_words,
	    .id = htons(0x4242),
	    .frag_off = htons(frag),
	    .ttl = 64,
	    .protocol = proto,
	    .saddr = addr4(src ? src : "192.0.2.1"),
	    .daddr = addr4("192.0.2.2"));
	for (int i = 0; i < opt_words * 4; i++)	/* NOP options */
		PUT(f, __u8, 1);
}

static void ip6(struct frame *f, const char *src, const struct ext *ext, int n, __u8 last)
{
	struct ipv6hdr *ip6;

	f->v6 = 1;
	f->l3 = f->len;
	ip6 = PUT(f, struct ipv6hdr,
		  .version = 6,
		  .nexthdr = n ? ext[0].type : last,
		  .hop_limit = 64);
	ip6->saddr = addr6(src ? src : "2001:db8::1");
	ip6->daddr = addr6("2001:db8::2");
	for (int i = 0; i < n; i++) {
		__u8 nh = i + 1 < n ? ext[i + 1].type : last;
		const struct ext *e = &ext[i];

		if (e->type == IPPROTO_FRAGMENT) {
			PUT(f, struct frag_hdr6,
			    .nexthdr = nh,
			    .frag_off = htons(e->off | (e->more ? 1 : 0)),
			    .id = htonl(0xabcd0123));
		} else if (e->type == IPPROTO_AH) {
			PUT(f, struct ext_hdr, .nexthdr = nh, .hdrlen = e->len / 4 - 2);
			zeros(f, e->len - 2);	/* reserved, SPI, sequence, ICV */
		} else {
			PUT(f, struct ext_hdr, .nexthdr = nh, .hdrlen = e->len / 8 - 1);
			zeros(f, e->len - 2);	/* Pad1 options; routing: type 0, segments left 0 */
		}
	}
}

static void icmp(struct frame *f, __u8 type, __u8 code, __u32 data)
{
	f->l4 = f->len;
	if (f->v6)
		PUT(f, struct icmp6hdr,
		    .icmp6_type = type,
		    .icmp6_code = code,
		    .icmp6_dataun.u_echo = { .identifier = htons(0x1234), .sequence = htons(1) });
	else
		PUT(f, struct icmphdr,
		    .type = type,
		    .code = code,
		    .un.echo = { .id = htons(0x1234), .sequence = htons(1) });
	fill(f, data);
}

/* ---- checksums ------------------------------------------------------------------------ */

static struct iphdr *iph(struct frame *f)
{
	return (struct iphdr *)(f->d + f->l3);
}

static struct ipv6hdr *ip6h(struct frame *f)
{
	return (struct ipv6hdr *)(f->d + f->l3);
}

/* The ICMP checksum field of f. */
static __sum16 *icmp_csum(struct frame *f)
{
	return (__sum16 *)(f->d + f->l4 + 2);
}

static void ip4_fix_csum(struct frame *f)
{
	struct iphdr *ip = iph(f);

	ip->check = 0;
	ip->check = csum(sum16(0, ip, ip->ihl * 4));
}

/* The ICMP or ICMPv6 checksum over [l4, l4 + len), with the IPv6 pseudo-header. */
static __be16 icmp_sum(struct frame *f, __u32 len)
{
	__u32 sum = 0;

	if (f->v6) {
		struct ipv6hdr *ip6 = ip6h(f);

		sum = sum16(sum, &ip6->saddr, 32);
		sum += len >> 16;
		sum += len & 0xffff;
		sum += IPPROTO_ICMPV6;
	}
	return csum(sum16(sum, f->d + f->l4, len));
}

/* Lengths and checksums from what the frame holds now. */
static void seal(struct frame *f)
{
	if (f->v6) {
		ip6h(f)->payload_len = htons(f->len - f->l3 - sizeof(struct ipv6hdr));
	} else {
		iph(f)->tot_len = htons(f->len - f->l3);
		ip4_fix_csum(f);
	}
	if (f->l4) {
		*icmp_csum(f) = 0;
		*icmp_csum(f) = icmp_sum(f, f->len - f->l4);
	}
}

static void build(struct frame *f, const struct spec *s)
{
	__u8 icmp_proto = s->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	__u8 proto = s->proto ? s->proto : icmp_proto;
	bool nonfirst = !s->v6 && (s->frag & 0x1fff);

	for (int i = 0; s->v6 && i < s->next; i++)
		if (s->ext[i].type == IPPROTO_FRAGMENT && s->ext[i].off)
			nonfirst = true;
	l2(f, s->v6 ? ETH_P_IPV6 : ETH_P_IP, s->tags);
	if (s->v6)
		ip6(f, s->src, s->ext, s->next, proto);
	else
		ip4(f, s->src, s->opt_words, s->frag, proto);
	if (nonfirst || proto != icmp_proto)
		fill(f, s->data);
	else
		icmp(f, s->type, s->code, s->data);
	seal(f);
}

#define BUILD(f, ...)		build((f), &(struct spec){ __VA_ARGS__ })

/* Spoils the checksum without touching anything the parser reads. */
static void spoil_last_byte(struct frame *f)
{
	f->d[f->len - 1] ^= 0x01;
}

/* ---- the program and its maps --------------------------------------------------------- */

static struct icmpwall_bpf *skel;
static int prog_fd, stats_fd, reasons_fd, conf_fd, buckets_fd;
static int src4_fd, src6_fd, cidr4_fd, cidr6_fd;
static int ncpus;
static __u32 *keys;			/* 0 .. IW_NROWS - 1 */
static void *pcpu_buf;			/* IW_NROWS x ncpus values */
static void *zero_buf;
/* What the counters must hold (the model), and what they held when last read. */
static struct iw_row_counter want_rows[IW_NROWS], cur_rows[IW_NROWS];
static struct iw_reason_counter want_reasons[IW_NREASON_SLOTS], cur_reasons[IW_NREASON_SLOTS];
static bool fast;			/* read only the expected row after each run */
static int refused;			/* short frames the kernel would not run */
static struct iw_policy pol;		/* scratch policy, zeroed by reset() */
static struct iw_conf conf;		/* what install() writes to iw_conf */
static struct iw_state state;		/* the global buckets and claims, read or reset whole */
static unsigned long n_checks;		/* assertions evaluated */
static cpu_set_t all_cpus;		/* the CPUs the tests may run on (setup) */
static char label[128];			/* what a loop is at, printed with failures */

#define LABEL(...)		snprintf(label, sizeof(label), __VA_ARGS__)

/* Counted variants of the runner's assertions. */
#define CHECK_EQ(a, e)		do { n_checks++; ASSERT_EQ(a, e); } while (0)
#define CHECK_OK(e)		do { n_checks++; ASSERT_OK(e); } while (0)
#define CHECK_TRUE(c)		do { n_checks++; ASSERT_TRUE(c); } while (0)

static const char *reason_name(int r)
{
	static const char *const n[IW_NREASONS] = {
		"none", "malformed", "fragment", "oversize", "pod", "rate", "policy", "deny",
		"csum", "allow",
	};

	return r >= 0 && r < IW_NREASONS ? n[r] : "?";
}

static const char *row_name(int row, char *buf, size_t n)
{
	if (row == U4 || row == U6)
		snprintf(buf, n, "%s untyped", row == U4 ? "v4" : "v6");
	else if (row >= 0 && row < IW_NTYPED_ROWS)
		snprintf(buf, n, "%s type %d code-row %d", row / IW_NCODES >= 256 ? "v6" : "v4",
			 row / IW_NCODES % 256, row % IW_NCODES);
	else
		snprintf(buf, n, "none");
	return buf;
}

static const char *verdict_name(int v)
{
	return v == XDP_PASS ? "PASS" : v == XDP_DROP ? "DROP" : "other";
}

static int read_pcpu(int fd, __u32 n)
{
	__u32 out = 0, count = n;
	int err;

	err = bpf_map_lookup_batch(fd, NULL, &out, keys, pcpu_buf, &count, NULL);
	if (err && err != -ENOENT)
		return err;
	return count == n ? 0 : -EIO;
}

static void sum_row(const struct iw_row_counter *v, struct iw_row_counter *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpus; c++) {
		sum->packets += v[c].packets;
		sum->bytes += v[c].bytes;
		sum->dropped += v[c].dropped;
		sum->rate_dropped += v[c].rate_dropped;
	}
}

/* The whole stats table, summed over the CPUs, into cur_rows. */
static int read_rows(void)
{
	int err = read_pcpu(stats_fd, IW_NROWS);

	for (__u32 i = 0; !err && i < IW_NROWS; i++)
		sum_row((struct iw_row_counter *)pcpu_buf + (size_t)i * ncpus, &cur_rows[i]);
	return err;
}

/* One row, summed over the CPUs. */
static int read_row(__u32 row, struct iw_row_counter *sum)
{
	int err = bpf_map_lookup_elem(stats_fd, &row, pcpu_buf);

	if (!err)
		sum_row(pcpu_buf, sum);
	return err;
}

static int read_reasons(void)
{
	int err = read_pcpu(reasons_fd, IW_NREASON_SLOTS);

	for (__u32 i = 0; !err && i < IW_NREASON_SLOTS; i++) {
		struct iw_reason_counter *v = (struct iw_reason_counter *)pcpu_buf + (size_t)i * ncpus;

		memset(&cur_reasons[i], 0, sizeof(cur_reasons[i]));
		for (int c = 0; c < ncpus; c++)
			cur_reasons[i].packets += v[c].packets;
	}
	return err;
}

/* For assertions on totals: what the map holds now. */
static struct iw_row_counter row_now(int row)
{
	struct iw_row_counter r = {
		.packets = ~0ULL, .bytes = ~0ULL, .dropped = ~0ULL, .rate_dropped = ~0ULL,
	};

	read_row(row, &r);
	return r;
}

/* Packets counted under a reason. Rate drops are the rows' rate_dropped, summed (the
 * program leaves their iw_reasons slot at 0; expect_run() checks that it does). */
static struct iw_reason_counter reason_now(int dropped, int reason)
{
	struct iw_reason_counter r = { ~0ULL };
	__u32 k = IW_REASON_IDX(dropped, reason);
	struct iw_reason_counter *v = pcpu_buf;

	if (dropped && reason == IW_R_RATE) {
		if (read_rows())
			return r;
		r.packets = 0;
		for (int i = 0; i < IW_NROWS; i++)
			r.packets += cur_rows[i].rate_dropped;
		return r;
	}
	if (bpf_map_lookup_elem(reasons_fd, &k, pcpu_buf))
		return r;
	r.packets = 0;
	for (int c = 0; c < ncpus; c++)
		r.packets += v[c].packets;
	return r;
}

/* Runs len bytes through the program. Frames shorter than ETH_HLEN go behind META bytes
 * of XDP metadata, which older kernels accept; since the 2025 rework of linear XDP test
 * data the kernel refuses any packet shorter than ETH_HLEN with EINVAL. */
static int run_prog(const void *d, __u32 len, __u32 *ret)
{
	static __u8 buf[META + FRAME_MAX];
	struct xdp_md ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	int err;

	if (len >= ETH_HLEN) {
		o.data_in = d;
		o.data_size_in = len;
	} else {
		memset(buf, 0, META);
		memcpy(buf + META, d, len);
		ctx.data = META;
		ctx.data_end = META + len;
		o.data_in = buf;
		o.data_size_in = META + len;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	*ret = o.retval;
	return err;
}

#define FAIL_AT(file, line, fmt, ...)						\
	fprintf(stderr, "    %s:%d: %s%s" fmt "\n", (file), (line), label,		\
		label[0] ? ": " : "", ##__VA_ARGS__)

static bool row_eq(const struct iw_row_counter *a, const struct iw_row_counter *b)
{
	return a->packets == b->packets && a->bytes == b->bytes && a->dropped == b->dropped &&
	       a->rate_dropped == b->rate_dropped;
}

static int row_mismatch(const char *file, int line, int i)
{
	char rn[64];

	FAIL_AT(file, line, "row %s: expected %llu packets %llu bytes %llu dropped %llu by rate, got %llu %llu %llu %llu",
		row_name(i, rn, sizeof(rn)),
		(unsigned long long)want_rows[i].packets, (unsigned long long)want_rows[i].bytes,
		(unsigned long long)want_rows[i].dropped,
		(unsigned long long)want_rows[i].rate_dropped,
		(unsigned long long)cur_rows[i].packets, (unsigned long long)cur_rows[i].bytes,
		(unsigned long long)cur_rows[i].dropped,
		(unsigned long long)cur_rows[i].rate_dropped);
	want_rows[i] = cur_rows[i];	/* one report per deviation */
	return -1;
}

/* The whole stats table against the model; one assertion. */
static int verify_rows(const char *file, int line)
{
	int bad = 0;

	n_checks++;
	if (read_rows()) {
		FAIL_AT(file, line, "cannot read %s", IW_MAP_STATS);
		return -1;
	}
	for (int i = 0; i < IW_NROWS; i++)
		if (!row_eq(&cur_rows[i], &want_rows[i]) && bad++ < 4)
			row_mismatch(file, line, i);
	for (int i = 0; i < IW_NROWS; i++)
		want_rows[i] = cur_rows[i];
	return bad ? -1 : 0;
}

/*
 * One frame through the program: the verdict, then exactly one row (or none) moved by
 * {1, len, dropped, dropped by rate} and exactly one reason slot (or none) by 1, nothing
 * else; a rate drop moves the row's rate_dropped and no reason slot. Three
 * assertions: verdict, rows, reasons. In fast mode only the expected row is read after the
 * run and the rest of the table is compared by the next verify_rows().
 * Returns 0 when all hold, -1 when not, 1 when the kernel refused to run a frame shorter
 * than ETH_HLEN (and may_refuse is set).
 */
static bool may_refuse;

static int expect_run(const char *file, int line, const void *d, __u32 len, int verdict,
		      int row, int reason)
{
	int drop = verdict == XDP_DROP, bad = 0;
	int rate = drop && reason == IW_R_RATE;
	int slot = reason == IW_R_NONE || rate ? -1 : (int)IW_REASON_IDX(drop, reason);
	__u32 ret;
	int err;

	err = run_prog(d, len, &ret);
	if (err == -EINVAL && len < ETH_HLEN && may_refuse)
		return 1;
	if (err) {
		FAIL_AT(file, line, "test run of %u bytes failed: %s", len, strerror(-err));
		return -1;
	}
	n_checks += 3;
	if ((int)ret != verdict) {
		FAIL_AT(file, line, "verdict of %u bytes: expected %s, got %s (%u)", len,
			verdict_name(verdict), verdict_name(ret), ret);
		bad++;
	}
	if (row >= 0) {
		want_rows[row].packets++;
		want_rows[row].bytes += len;
		want_rows[row].dropped += drop;
		want_rows[row].rate_dropped += rate;
	}
	if (slot >= 0)
		want_reasons[slot].packets++;
	if (fast) {
		if (row >= 0 && (read_row(row, &cur_rows[row]) ||
				 !row_eq(&cur_rows[row], &want_rows[row])))
			bad += row_mismatch(file, line, row) ? 1 : 0;
	} else {
		n_checks--;
		if (verify_rows(file, line))
			bad++;
	}
	if (read_reasons()) {
		FAIL_AT(file, line, "cannot read %s", IW_MAP_REASONS);
		return -1;
	}
	for (int i = 0; i < IW_NREASON_SLOTS; i++) {
		if (cur_reasons[i].packets == want_reasons[i].packets)
			continue;
		FAIL_AT(file, line, "reason %s %s: expected %llu packets, got %llu (this frame: %s %s)",
			i >= IW_NREASONS ? "dropped" : "passed", reason_name(i % IW_NREASONS),
			(unsigned long long)want_reasons[i].packets,
			(unsigned long long)cur_reasons[i].packets,
			slot < 0 ? "no reason" : drop ? "dropped" : "passed",
			slot < 0 ? "" : reason_name(reason));
		want_reasons[i] = cur_reasons[i];
		bad++;
	}
	return bad ? -1 : 0;
}

#define EXPECT_RUN(d, len, verdict, row, reason)					\
	do {										\
		if (expect_run(__FILE__, __LINE__, (d), (len), (verdict), (row), (reason))) { \
			test_failed = true;						\
			return;								\
		}									\
	} while (0)

/* A whole frame: pass, drop, or pass without any counter moving. */
#define EXPECT(f, verdict, row, reason)	EXPECT_RUN((f)->d, (f)->len, verdict, row, reason)
#define PASSES(f, row, reason)		EXPECT(f, XDP_PASS, row, reason)
#define DROPS(f, row, reason)		EXPECT(f, XDP_DROP, row, reason)
#define UNCOUNTED(f)			EXPECT(f, XDP_PASS, NO_ROW, IW_R_NONE)

static int clear_keys(int fd)
{
	__u8 k[64];

	while (!bpf_map_get_next_key(fd, NULL, k))
		if (bpf_map_delete_elem(fd, k))
			return -errno;
	return 0;
}

static int count_keys(int fd)
{
	__u8 k[64], next[64];
	int n = 0;

	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, next); prev = k, n++)
		memcpy(k, next, sizeof(k));
	return n;
}

static int zero_pcpu(int fd, __u32 n)
{
	__u32 count = n;

	return bpf_map_update_batch(fd, keys, zero_buf, &count, NULL);
}

/* Load-time state: the all-zero policy, every counter, bucket, source and CIDR cleared. */
static int reset(void)
{
	__u32 zero = 0;
	int err;

	/* every CPU again, whatever a test that pinned one (pin_this_cpu()) left */
	if (sched_setaffinity(0, sizeof(all_cpus), &all_cpus))
		return -errno;
	memset(&pol, 0, sizeof(pol));
	memset(&conf, 0, sizeof(conf));
	label[0] = 0;
	err = bpf_map_update_elem(conf_fd, &zero, &conf, 0);
	if (!err)
		err = zero_pcpu(stats_fd, IW_NROWS);
	if (!err)
		err = zero_pcpu(reasons_fd, IW_NREASON_SLOTS);
	memset(&state, 0, sizeof(state));
	if (!err)
		err = bpf_map_update_elem(buckets_fd, &zero, &state, 0);
	if (!err)
		err = clear_keys(src4_fd);
	if (!err)
		err = clear_keys(src6_fd);
	if (!err)
		err = clear_keys(cidr4_fd);
	if (!err)
		err = clear_keys(cidr6_fd);
	if (!err)
		err = read_rows();
	if (!err)
		err = read_reasons();
	memset(want_rows, 0, sizeof(want_rows));
	memset(want_reasons, 0, sizeof(want_reasons));
	fast = false;
	for (int i = 0; !err && i < IW_NROWS; i++)
		if (!row_eq(&cur_rows[i], &want_rows[i]))
			err = -EIO;
	for (int i = 0; !err && i < IW_NREASON_SLOTS; i++)
		if (cur_reasons[i].packets)
			err = -EIO;
	return err;
}

#define BEGIN()			CHECK_OK(reset())

/* Runs the rest of the test (up to the next reset()) on the CPU it is on: the program's
 * per-CPU notes are then all on the one CPU the packets go through. */
static int pin_this_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	return sched_setaffinity(0, sizeof(one), &one) ? -errno : 0;
}

/* The judge-only run (tests/run-all.sh): no fast words, every packet through the judge. */
static bool judge_only(void)
{
	return getenv("ICMPWALL_TEST_SLOW");
}

/* Installs pol as the policy in force: copy 0 of iw_conf, active 0, with the fast words
 * the CLI would write (none when ICMPWALL_TEST_SLOW is set: then every packet goes through
 * the judge). Nothing runs the program concurrently here, so the CLI's flip between copies
 * is not needed; pol.slot, which the tests set, picks the CIDR trie slot as it does for the
 * CLI's policies, and the generation moves on with every install as the CLI's does. */
static int install(void)
{
	__u32 zero = 0;

	pol.generation++;
	conf.active = 0;
	conf.pol[0] = pol;
	if (judge_only())
		memset(conf.fast, 0, sizeof(conf.fast));
	else
		policy_fast_words(&pol, 0, conf.fast);
	/* the buckets' copies of the global limits for copy 0, as the CLI writes them */
	if (bpf_map_lookup_elem(buckets_fd, &zero, &state))
		return -errno;
	policy_bucket_limits(&pol, 0, state.buckets);
	if (bpf_map_update_elem(buckets_fd, &zero, &state, 0))
		return -errno;
	return bpf_map_update_elem(conf_fd, &zero, &conf, 0);
}

#define INSTALL()		CHECK_OK(install())

static void rule(int idx, __u8 action)
{
	memset(&pol.rules[idx], 0, sizeof(pol.rules[idx]));
	pol.rules[idx].action = action;
}

/* A global rate limit of exactly burst packets (SLOW tokens) in bucket. */
static void rate_global(int idx, __u16 bucket, __u32 burst)
{
	struct iw_rule *r = &pol.rules[idx];

	r->action = IW_ACT_RATE;
	r->bucket = bucket;
	r->global = (struct iw_limit){
		.interval = SLOW, .tolerance = (burst - 1) * SLOW, .count = 1, .burst = burst,
	};
}

/* Changes global limit g as the CLI does when a rule's rate or burst changes: the new
 * interval, tolerance and burst under epoch, which its history records. */
static void limit_change(struct iw_limit *g, __u64 interval, __u64 tolerance, __u32 burst,
			 __u8 epoch)
{
	g->interval = interval;
	g->tolerance = tolerance;
	g->burst = burst;
	g->epoch = epoch;
	g->hist[epoch % IW_EPOCHS] = (struct iw_epoch_limit){ interval, tolerance };
}

/* A per-source rate limit of exactly burst packets per source prefix of plen bits. */
static void rate_source(int idx, __u16 src_id, __u8 plen, __u32 burst)
{
	struct iw_rule *r = &pol.rules[idx];

	r->action = IW_ACT_RATE;
	r->src_id = src_id;
	r->src_plen = plen;
	r->src = (struct iw_limit){
		.interval = SLOW, .tolerance = (burst - 1) * SLOW, .count = 1, .burst = burst,
	};
}

/* A CIDR entry: flags = the lists covering the prefix, own = the lists naming it. */
static int cidr4_own(__u32 slot, const char *addr, __u32 plen, __u8 flags, __u8 own)
{
	struct iw_cidr4_key k = { .prefixlen = 32 + plen, .slot = slot };
	struct iw_cidr_val v = { .flags = flags, .own = own };
	__be32 a = addr4(addr);

	memcpy(k.addr, &a, 4);
	return bpf_map_update_elem(cidr4_fd, &k, &v, 0);
}

static int cidr6_own(__u32 slot, const char *addr, __u32 plen, __u8 flags, __u8 own)
{
	struct iw_cidr6_key k = { .prefixlen = 32 + plen, .slot = slot };
	struct iw_cidr_val v = { .flags = flags, .own = own };
	struct in6_addr a = addr6(addr);

	memcpy(k.addr, &a, 16);
	return bpf_map_update_elem(cidr6_fd, &k, &v, 0);
}

#define cidr4(slot, addr, plen, flags)	cidr4_own(slot, addr, plen, flags, flags)
#define cidr6(slot, addr, plen, flags)	cidr6_own(slot, addr, plen, flags, flags)

static __u64 bucket_word(__u32 idx)
{
	__u32 zero = 0;

	if (idx >= IW_MAX_BUCKETS || bpf_map_lookup_elem(buckets_fd, &zero, &state))
		return ~0ULL;
	return state.buckets[idx].tat;
}

static int setup(void)
{
	size_t vmax;

	skel = icmpwall_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "cannot load the XDP program (root needed): %s\n", strerror(errno));
		return -1;
	}
	prog_fd = bpf_program__fd(skel->progs.icmpwall);
	stats_fd = bpf_map__fd(skel->maps.iw_stats);
	reasons_fd = bpf_map__fd(skel->maps.iw_reasons);
	conf_fd = bpf_map__fd(skel->maps.data_conf);
	buckets_fd = bpf_map__fd(skel->maps.data_state);
	src4_fd = bpf_map__fd(skel->maps.iw_src4);
	src6_fd = bpf_map__fd(skel->maps.iw_src6);
	cidr4_fd = bpf_map__fd(skel->maps.iw_cidr4);
	cidr6_fd = bpf_map__fd(skel->maps.iw_cidr6);
	ncpus = libbpf_num_possible_cpus();
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus))
		return -errno;
	if (ncpus <= 0)
		return -1;
	vmax = (size_t)IW_NROWS * ncpus * sizeof(struct iw_row_counter);
	keys = calloc(IW_NROWS, sizeof(*keys));
	pcpu_buf = calloc(1, vmax);
	zero_buf = calloc(1, vmax);
	if (!keys || !pcpu_buf || !zero_buf)
		return -1;
	for (__u32 i = 0; i < IW_NROWS; i++)
		keys[i] = i;
	return 0;
}

static void teardown(void)
{
	icmpwall_bpf__destroy(skel);
	free(keys);
	free(pcpu_buf);
	free(zero_buf);
	if (refused)
		printf("note: the kernel refused to run %d frames shorter than ETH_HLEN (%d bytes)\n",
		       refused, ETH_HLEN);
	printf("%lu assertions evaluated\n", n_checks);
}

__attribute__((constructor)) static void hooks(void)
{
	test_setup_all = setup;
	test_teardown_all = teardown;
}

/* ---- the contract --------------------------------------------------------------------- */

TEST(contract_layout)
{
	/* Written out by hand: 17 rows per type, family-major, untyped rows after them all. */
	CHECK_EQ(iw_row(IW_FAM_ICMP, 0, 0), 0);
	CHECK_EQ(iw_row(IW_FAM_ICMP, 8, 0), 8 * 17);
	CHECK_EQ(iw_row(IW_FAM_ICMP, 3, 15), 3 * 17 + 15);
	CHECK_EQ(iw_row(IW_FAM_ICMP, 3, 16), 3 * 17 + 16);
	CHECK_EQ(iw_row(IW_FAM_ICMP, 3, 255), 3 * 17 + 16);
	CHECK_EQ(iw_row(IW_FAM_ICMPV6, 128, 0), (256 + 128) * 17);
	CHECK_EQ(iw_row(IW_FAM_ICMPV6, 255, 255), 512 * 17 - 1);
	CHECK_EQ(IW_ROW_UNTYPED(IW_FAM_ICMP), 512 * 17);
	CHECK_EQ(IW_ROW_UNTYPED(IW_FAM_ICMPV6), 512 * 17 + 1);
	CHECK_EQ(IW_NROWS, 512 * 17 + 2);
	CHECK_EQ(IW_REASON_IDX(0, IW_R_FRAGMENT), 2);
	CHECK_EQ(IW_REASON_IDX(1, IW_R_FRAGMENT), IW_NREASONS + 2);
	CHECK_EQ(sizeof(struct iw_row_counter), 48);
	CHECK_EQ(sizeof(struct iw_reason_counter), 8);
	/* the fast path's one load: gate equals a word's copy only while top is 0 */
	{
		static struct iw_conf c;

		c.active = 1;
		CHECK_EQ(c.gate, 1);
		c.top = 1;
		CHECK_EQ(c.gate == 1 || c.gate == 0, 0);
		c.active = 0;
		CHECK_EQ(c.gate == 1 || c.gate == 0, 0);
	}
	CHECK_EQ(sizeof(struct iw_bucket), 64);
	CHECK_EQ(offsetof(struct iw_bucket, lim), 8);
	/* the skeleton's maps have the contract's sizes */
	CHECK_EQ(bpf_map__max_entries(skel->maps.iw_stats), IW_NROWS);
	CHECK_EQ(bpf_map__max_entries(skel->maps.iw_reasons), IW_NREASON_SLOTS);
	CHECK_EQ(bpf_map__value_size(skel->maps.data_conf), sizeof(struct iw_conf));
	CHECK_EQ(bpf_map__value_size(skel->maps.data_state), sizeof(struct iw_state));
}

/* The CLI's read of the counters (iw_read_rows(), which reads the map in batches of 1024
 * keys) returns every row once, summed over the CPUs: each row holds its own count. */
TEST(cli_reads_every_row)
{
	static struct iw_row_counter rows[IW_NROWS];
	struct iw_dev d = { .fds = { [IWM_STATS] = stats_fd } };
	struct iw_row_counter *v = pcpu_buf;
	__u32 wrong = 0, first = 0;

	BEGIN();
	for (__u32 k = 0; k < IW_NROWS; k++) {
		memset(v, 0, (size_t)ncpus * sizeof(*v));
		for (int c = 0; c < ncpus; c++) {
			v[c].packets = k + 1;
			v[c].rate_dropped = c + 1;
		}
		ASSERT_OK(bpf_map_update_elem(stats_fd, &k, v, 0));
	}
	ASSERT_OK(iw_read_rows(&d, rows));
	for (__u32 k = 0; k < IW_NROWS; k++) {
		if (rows[k].packets == (__u64)ncpus * (k + 1) &&
		    rows[k].rate_dropped == (__u64)ncpus * (ncpus + 1) / 2)
			continue;
		if (!wrong++)
			first = k;
	}
	if (wrong)
		TEST_FAIL("%u rows read wrong, the first row %u: packets %llu (want %llu)", wrong,
			  first, (unsigned long long)rows[first].packets,
			  (unsigned long long)ncpus * (first + 1));
}

/* ---- 1. types and rows ---------------------------------------------------------------- */

struct tc {
	__u8 type, code;
	__u16 data;
};

static const struct tc v4_types[] = {
	{ 0, 0, 56 }, { 8, 0, 56 },				/* echo reply, request */
	{ 3, 0, 28 }, { 3, 1, 28 }, { 3, 2, 28 }, { 3, 3, 28 },	/* destination unreachable */
	{ 3, 4, 28 }, { 3, 5, 28 }, { 3, 6, 28 }, { 3, 7, 28 },
	{ 3, 8, 28 }, { 3, 9, 28 }, { 3, 10, 28 }, { 3, 11, 28 },
	{ 3, 12, 28 }, { 3, 13, 28 }, { 3, 14, 28 }, { 3, 15, 28 },
	{ 4, 0, 28 },						/* source quench */
	{ 5, 0, 28 }, { 5, 1, 28 }, { 5, 2, 28 }, { 5, 3, 28 },	/* redirect */
	{ 9, 0, 8 }, { 10, 0, 0 },				/* router advertisement, solicitation */
	{ 11, 0, 28 }, { 11, 1, 28 },				/* time exceeded */
	{ 12, 0, 28 }, { 12, 1, 28 }, { 12, 2, 28 },		/* parameter problem */
	{ 13, 0, 12 }, { 14, 0, 12 },				/* timestamp, reply */
	{ 17, 0, 4 }, { 18, 0, 4 },				/* address mask, reply */
	{ 42, 0, 12 }, { 43, 0, 12 }, { 43, 4, 12 },		/* extended echo */
	{ 253, 0, 0 }, { 255, 15, 0 },
};

static const struct tc v6_types[] = {
	{ 1, 0, 48 }, { 1, 1, 48 }, { 1, 2, 48 }, { 1, 3, 48 },	/* destination unreachable */
	{ 1, 4, 48 }, { 1, 5, 48 }, { 1, 6, 48 }, { 1, 7, 48 }, { 1, 8, 48 },
	{ 2, 0, 48 },						/* packet too big */
	{ 3, 0, 48 }, { 3, 1, 48 },				/* time exceeded */
	{ 4, 0, 48 }, { 4, 1, 48 }, { 4, 2, 48 }, { 4, 3, 48 },	/* parameter problem */
	{ 128, 0, 56 }, { 129, 0, 56 },				/* echo request, reply */
	{ 130, 0, 20 }, { 131, 0, 16 }, { 132, 0, 16 }, { 143, 0, 24 },	/* MLD */
	{ 133, 0, 0 }, { 134, 0, 8 }, { 135, 0, 16 }, { 136, 0, 16 }, { 137, 0, 32 }, /* ND */
	{ 138, 0, 8 }, { 139, 0, 8 }, { 140, 2, 8 }, { 144, 0, 4 }, { 255, 15, 0 },
};

TEST(v4_types_counted_in_their_row)
{
	struct frame f;

	BEGIN();
	for (size_t i = 0; i < sizeof(v4_types) / sizeof(v4_types[0]); i++) {
		const struct tc *t = &v4_types[i];

		LABEL("type %u code %u", t->type, t->code);
		BUILD(&f, .type = t->type, .code = t->code, .data = t->data);
		PASSES(&f, R4(t->type, t->code), IW_R_NONE);
		CHECK_EQ(row_now(R4(t->type, t->code)).packets, 1);
	}
	/* the same frames under checksum verify: the checksums built here are right */
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	for (size_t i = 0; i < sizeof(v4_types) / sizeof(v4_types[0]); i++) {
		const struct tc *t = &v4_types[i];

		LABEL("verified type %u code %u", t->type, t->code);
		BUILD(&f, .type = t->type, .code = t->code, .data = t->data);
		PASSES(&f, R4(t->type, t->code), IW_R_NONE);
	}
}

TEST(v6_types_counted_in_their_row)
{
	struct frame f;

	BEGIN();
	for (size_t i = 0; i < sizeof(v6_types) / sizeof(v6_types[0]); i++) {
		const struct tc *t = &v6_types[i];

		LABEL("type %u code %u", t->type, t->code);
		BUILD(&f, .v6 = 1, .type = t->type, .code = t->code, .data = t->data);
		PASSES(&f, R6(t->type, t->code), IW_R_NONE);
	}
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	for (size_t i = 0; i < sizeof(v6_types) / sizeof(v6_types[0]); i++) {
		const struct tc *t = &v6_types[i];

		LABEL("verified type %u code %u", t->type, t->code);
		BUILD(&f, .v6 = 1, .type = t->type, .code = t->code, .data = t->data);
		PASSES(&f, R6(t->type, t->code), IW_R_NONE);
	}
}

TEST(codes_from_16_fold_into_row_16)
{
	static const __u8 codes[] = { 15, 16, 17, 31, 100, 254, 255 };
	struct frame f;

	BEGIN();
	for (size_t i = 0; i < sizeof(codes); i++) {
		int c = codes[i], want = c < 16 ? c : 16;

		LABEL("code %d", c);
		BUILD(&f, .type = 3, .code = c, .data = 28);
		PASSES(&f, 3 * 17 + want, IW_R_NONE);
		BUILD(&f, .v6 = 1, .type = 1, .code = c, .data = 48);
		PASSES(&f, (256 + 1) * 17 + want, IW_R_NONE);
	}
	/* the last typed row of each family */
	BUILD(&f, .type = 255, .code = 255);
	PASSES(&f, 256 * 17 - 1, IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 255, .code = 255);
	PASSES(&f, 512 * 17 - 1, IW_R_NONE);
	/* the folded row accumulates */
	CHECK_EQ(row_now(R4(3, 16)).packets, 6);
	CHECK_EQ(row_now(R6(1, 16)).packets, 6);
}

/* ---- 2. encapsulation, options, extension headers, fragments, other protocols ----- */

TEST(vlan_tags)
{
	static const __u16 qq[] = { ETH_P_8021Q, ETH_P_8021Q };
	static const __u16 ad[] = { ETH_P_QINQ };
	struct frame f;

	BEGIN();
	for (int v6 = 0; v6 < 2; v6++) {
		__u8 t = v6 ? 128 : 8;
		int row = v6 ? R6(128, 0) : R4(8, 0);

		for (int tags = 0; tags <= 2; tags++) {
			LABEL("%s, %d tags", v6 ? "v6" : "v4", tags);
			BUILD(&f, .v6 = v6, .tags = tags, .type = t, .data = 56);
			CHECK_EQ(f.l3, 14 + 4 * tags);
			PASSES(&f, row, IW_R_NONE);
		}
		/* 802.1Q inside 802.1Q, and one 802.1ad tag alone */
		LABEL("%s, 8100 8100", v6 ? "v6" : "v4");
		l2_tags(&f, v6 ? ETH_P_IPV6 : ETH_P_IP, 2, qq);
		if (v6)
			ip6(&f, NULL, NULL, 0, IPPROTO_ICMPV6);
		else
			ip4(&f, NULL, 0, 0, IPPROTO_ICMP);
		icmp(&f, t, 0, 56);
		seal(&f);
		PASSES(&f, row, IW_R_NONE);
		LABEL("%s, 88a8 alone", v6 ? "v6" : "v4");
		l2_tags(&f, v6 ? ETH_P_IPV6 : ETH_P_IP, 1, ad);
		if (v6)
			ip6(&f, NULL, NULL, 0, IPPROTO_ICMPV6);
		else
			ip4(&f, NULL, 0, 0, IPPROTO_ICMP);
		icmp(&f, t, 0, 56);
		seal(&f);
		PASSES(&f, row, IW_R_NONE);
	}
}

TEST(three_vlan_tags_pass_uncounted)
{
	struct frame f;

	BEGIN();
	BUILD(&f, .tags = 3, .type = 8, .data = 56);
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .tags = 3, .type = 128, .data = 56);
	UNCOUNTED(&f);
	/* even under a policy that drops every ICMP packet it sees */
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6 | IW_POL_FRAG_DROP;
	pol.max_size = 1;
	CHECK_OK(cidr4(0, "0.0.0.0", 0, IW_CIDR_DENY));
	CHECK_OK(cidr6(0, "::", 0, IW_CIDR_DENY));
	INSTALL();
	BUILD(&f, .tags = 3, .type = 8, .data = 56);
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .tags = 3, .type = 128, .data = 56);
	UNCOUNTED(&f);
	BUILD(&f, .tags = 2, .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
}

TEST(ipv4_options)
{
	struct frame f;

	BEGIN();
	for (int w = 0; w <= 10; w++) {
		LABEL("IHL %d", 5 + w);
		BUILD(&f, .opt_words = w, .type = 8, .data = 56);
		CHECK_EQ(iph(&f)->ihl, 5 + w);
		PASSES(&f, R4(8, 0), IW_R_NONE);
		BUILD(&f, .tags = 1, .opt_words = w, .type = 0, .data = 3);
		PASSES(&f, R4(0, 0), IW_R_NONE);
	}
	/* IHL 15 and a checksum verified behind 40 bytes of options */
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	for (int w = 0; w <= 10; w++) {
		LABEL("verified, IHL %d", 5 + w);
		BUILD(&f, .opt_words = w, .type = 8, .data = 57);
		PASSES(&f, R4(8, 0), IW_R_NONE);
		spoil_last_byte(&f);
		DROPS(&f, R4(8, 0), IW_R_CSUM);
	}
}

TEST(ipv6_each_extension_header)
{
	static const struct ext each[][1] = {
		{ { .type = IPPROTO_HOPOPTS, .len = 8 } },
		{ { .type = IPPROTO_HOPOPTS, .len = 32 } },
		{ { .type = IPPROTO_ROUTING, .len = 24 } },
		{ { .type = IPPROTO_DSTOPTS, .len = 8 } },
		{ { .type = IPPROTO_DSTOPTS, .len = 256 } },
		{ { .type = IPPROTO_AH, .len = 12 } },		/* hdrlen 1 */
		{ { .type = IPPROTO_AH, .len = 24 } },		/* hdrlen 4: 96-bit ICV */
		{ { .type = IPPROTO_AH, .len = 28 } },		/* 4-aligned, not 8-aligned */
		{ { .type = IPPROTO_FRAGMENT } },		/* atomic fragment */
	};
	struct frame f;

	BEGIN();
	for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
		LABEL("ext %u len %u", each[i][0].type, each[i][0].len);
		BUILD(&f, .v6 = 1, .ext = each[i], .next = 1, .type = 128, .data = 56);
		PASSES(&f, R6(128, 0), IW_R_NONE);
		BUILD(&f, .v6 = 1, .tags = 2, .ext = each[i], .next = 1, .type = 1, .code = 4, .data = 48);
		PASSES(&f, R6(1, 4), IW_R_NONE);
	}
}

static const struct ext chain9[] = {
	{ .type = IPPROTO_HOPOPTS, .len = 8 },
	{ .type = IPPROTO_DSTOPTS, .len = 16 },
	{ .type = IPPROTO_ROUTING, .len = 24 },
	{ .type = IPPROTO_AH, .len = 12 },
	{ .type = IPPROTO_FRAGMENT },
	{ .type = IPPROTO_DSTOPTS, .len = 8 },
	{ .type = IPPROTO_AH, .len = 24 },
	{ .type = IPPROTO_DSTOPTS, .len = 8 },
	{ .type = IPPROTO_DSTOPTS, .len = 8 },
};

TEST(ipv6_extension_chains)
{
	struct frame f;

	BEGIN();
	for (int n = 0; n <= 8; n++) {
		LABEL("%d headers", n);
		BUILD(&f, .v6 = 1, .ext = chain9, .next = n, .type = 129, .data = 56);
		PASSES(&f, R6(129, 0), IW_R_NONE);
	}
	LABEL("9 headers");
	BUILD(&f, .v6 = 1, .ext = chain9, .next = 9, .type = 129, .data = 56);
	UNCOUNTED(&f);
	/* 8 headers, all of one kind */
	for (int k = 0; k < 5; k++) {
		static const __u8 kinds[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
					      IPPROTO_AH, IPPROTO_FRAGMENT };
		struct ext same[9];

		for (int i = 0; i < 9; i++)
			same[i] = (struct ext){ .type = kinds[k], .len = kinds[k] == IPPROTO_AH ? 12 : 8 };
		LABEL("8 x %u", kinds[k]);
		BUILD(&f, .v6 = 1, .ext = same, .next = 8, .type = 128, .data = 56);
		PASSES(&f, R6(128, 0), IW_R_NONE);
		LABEL("9 x %u", kinds[k]);
		BUILD(&f, .v6 = 1, .ext = same, .next = 9, .type = 128, .data = 56);
		UNCOUNTED(&f);
	}
}

TEST(ipv6_chain_ending_elsewhere_passes_uncounted)
{
	static const struct ext hbh[] = { { .type = IPPROTO_HOPOPTS, .len = 8 } };
	struct frame f;

	BEGIN();
	BUILD(&f, .v6 = 1, .proto = IPPROTO_ESP, .data = 64);
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .ext = hbh, .next = 1, .proto = IPPROTO_ESP, .data = 64);
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .ext = chain9, .next = 4, .proto = IPPROTO_UDP, .data = 64);
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .ext = hbh, .next = 1, .proto = 59, .data = 0);	/* no next header */
	UNCOUNTED(&f);
	BUILD(&f, .v6 = 1, .proto = IPPROTO_ICMP, .data = 64);		/* ICMPv4 in IPv6 */
	UNCOUNTED(&f);
	/* the chain is cut inside an extension header's first 8 bytes */
	BUILD(&f, .v6 = 1, .ext = chain9, .next = 2, .type = 128, .data = 0);
	f.len = 14 + 40 + 8 + 7;
	UNCOUNTED(&f);
}

TEST(ipv4_fragments)
{
	struct frame f;

	BEGIN();
	/* first fragment: has the ICMP header, counted by type */
	BUILD(&f, .frag = F_MF, .type = 8, .data = 1472);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .frag = F_MF | F_DF, .opt_words = 3, .type = 0, .data = 32);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	/* middle and last fragments: untyped, passed as fragments */
	BUILD(&f, .frag = F_MF | 185, .data = 1480);
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .frag = 370, .data = 100);
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .frag = 1, .data = 0);
	PASSES(&f, U4, IW_R_FRAGMENT);
	/* DF alone, or the reserved bit, is no fragment */
	BUILD(&f, .frag = F_DF, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .frag = 0x8000, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(row_now(U4).packets, 3);
	CHECK_EQ(reason_now(0, IW_R_FRAGMENT).packets, 3);
}

TEST(ipv6_fragments)
{
	static const struct ext first[] = { { .type = IPPROTO_FRAGMENT, .more = 1 } };
	static const struct ext middle[] = { { .type = IPPROTO_FRAGMENT, .off = 1448, .more = 1 } };
	static const struct ext last[] = {
		{ .type = IPPROTO_HOPOPTS, .len = 8 },
		{ .type = IPPROTO_FRAGMENT, .off = 2896 },
	};
	static const struct ext atomic[] = { { .type = IPPROTO_FRAGMENT } };
	struct frame f;

	BEGIN();
	BUILD(&f, .v6 = 1, .ext = first, .next = 1, .type = 128, .data = 1440);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = middle, .next = 1, .data = 1448);
	PASSES(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = last, .next = 2, .data = 100);
	PASSES(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = atomic, .next = 1, .type = 129, .data = 56);
	PASSES(&f, R6(129, 0), IW_R_NONE);
	/* a non-first fragment of something else */
	BUILD(&f, .v6 = 1, .ext = middle, .next = 1, .proto = IPPROTO_UDP, .data = 1448);
	UNCOUNTED(&f);
}

TEST(other_protocols_pass_uncounted)
{
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_GRE, IPPROTO_ICMPV6,
				       IPPROTO_IPV6, IPPROTO_SCTP, 255 };
	struct frame f;

	BEGIN();
	/* under a policy that would drop any ICMP packet */
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6 | IW_POL_FRAG_DROP | IW_POL_CSUM_VERIFY;
	pol.max_size = 1;
	CHECK_OK(cidr4(0, "0.0.0.0", 0, IW_CIDR_DENY));
	CHECK_OK(cidr6(0, "::", 0, IW_CIDR_DENY));
	INSTALL();
	for (size_t i = 0; i < sizeof(protos); i++) {
		for (int tags = 0; tags <= 2; tags++) {
			LABEL("v4 proto %u, %d tags", protos[i], tags);
			BUILD(&f, .tags = tags, .proto = protos[i], .data = 40);
			UNCOUNTED(&f);
			BUILD(&f, .tags = tags, .proto = protos[i], .frag = F_MF | 10, .data = 40);
			UNCOUNTED(&f);
			if (protos[i] == IPPROTO_ICMPV6)
				continue;
			LABEL("v6 nh %u, %d tags", protos[i], tags);
			BUILD(&f, .v6 = 1, .tags = tags, .proto = protos[i], .data = 40);
			UNCOUNTED(&f);
		}
	}
	/* ARP, LLDP, MPLS, an unknown ethertype */
	static const __u16 types[] = { ETH_P_ARP, 0x88cc, ETH_P_MPLS_UC, 0x1234 };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		LABEL("ethertype %#x", types[i]);
		l2(&f, types[i], 0);
		fill(&f, 46);
		UNCOUNTED(&f);
		l2(&f, types[i], 1);
		fill(&f, 46);
		UNCOUNTED(&f);
	}
	/* an ICMP-looking IPv4 packet behind the IPv6 ethertype, and the reverse */
	BUILD(&f, .type = 8, .data = 56);
	((struct ethhdr *)f.d)->h_proto = htons(ETH_P_ARP);
	UNCOUNTED(&f);
}

/* ---- 3. frames cut at every length ---------------------------------------------------- */

/*
 * Every prefix of f, from 0 bytes to the whole frame. Until `tell` bytes the program cannot
 * tell that it is ICMP (no Ethernet header, a tag cut, the IPv4 protocol byte or the IPv6
 * header or an extension header's first 8 bytes missing): XDP_PASS, no counter moves.
 * From `tell` on it is ICMP whose lengths do not fit the frame: a malformed drop in the
 * untyped row. The whole frame passes in `row`. Since Linux 6.18 the kernel refuses to run
 * frames shorter than ETH_HLEN at all; those are counted and reported, not failed.
 */
static int cut_sweep(const char *file, int line, const struct frame *f, __u32 tell, int row,
		     int untyped)
{
	may_refuse = true;
	for (__u32 cut = 0; cut <= f->len; cut++) {
		int err;

		LABEL("cut at %u of %u", cut, f->len);
		if (cut < tell)
			err = expect_run(file, line, f->d, cut, XDP_PASS, NO_ROW, IW_R_NONE);
		else if (cut < f->len)
			err = expect_run(file, line, f->d, cut, XDP_DROP, untyped, IW_R_MALFORMED);
		else
			err = expect_run(file, line, f->d, cut, XDP_PASS, row, IW_R_NONE);
		if (err > 0)
			refused++;
		else if (err)
			return may_refuse = false, err;
	}
	may_refuse = false;
	label[0] = 0;
	return 0;
}

#define CUTS(f, tell, row, untyped)							\
	do {										\
		if (cut_sweep(__FILE__, __LINE__, (f), (tell), (row), (untyped))) {	\
			test_failed = true;						\
			return;								\
		}									\
	} while (0)

TEST(cut_ipv4_echo)
{
	struct frame f;

	BEGIN();
	/* Ethernet 14 (+4 per tag), protocol byte at IP offset 9 */
	BUILD(&f, .type = 8, .data = 56);
	CHECK_EQ(f.len, 98);
	CUTS(&f, 14 + 10, R4(8, 0), U4);
	BUILD(&f, .tags = 1, .type = 8, .data = 56);
	CUTS(&f, 18 + 10, R4(8, 0), U4);
	BUILD(&f, .tags = 2, .type = 0, .data = 56);
	CUTS(&f, 22 + 10, R4(0, 0), U4);
	BUILD(&f, .opt_words = 3, .type = 8, .data = 8);
	CUTS(&f, 14 + 10, R4(8, 0), U4);
	/* the smallest echo: 8 bytes of ICMP, nothing after */
	BUILD(&f, .type = 8, .data = 0);
	CUTS(&f, 14 + 10, R4(8, 0), U4);
}

TEST(cut_ipv6_echo)
{
	static const struct ext two[] = {
		{ .type = IPPROTO_HOPOPTS, .len = 8 },
		{ .type = IPPROTO_DSTOPTS, .len = 16 },
	};
	static const struct ext ah[] = { { .type = IPPROTO_AH, .len = 24 } };
	struct frame f;

	BEGIN();
	/* Ethernet 14 (+4 per tag), then the whole 40-byte IPv6 header */
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	CHECK_EQ(f.len, 118);
	CUTS(&f, 14 + 40, R6(128, 0), U6);
	BUILD(&f, .v6 = 1, .tags = 1, .type = 128, .data = 56);
	CUTS(&f, 18 + 40, R6(128, 0), U6);
	BUILD(&f, .v6 = 1, .tags = 2, .type = 129, .data = 56);
	CUTS(&f, 22 + 40, R6(129, 0), U6);
	/* and the first 8 bytes of every extension header: hop-by-hop 8, then dest-opts 16 */
	BUILD(&f, .v6 = 1, .ext = two, .next = 2, .type = 128, .data = 56);
	CUTS(&f, 14 + 40 + 8 + 8, R6(128, 0), U6);
	BUILD(&f, .v6 = 1, .tags = 1, .ext = ah, .next = 1, .type = 128, .data = 5);
	CUTS(&f, 18 + 40 + 8, R6(128, 0), U6);
}

/* ---- 4. malformed --------------------------------------------------------------------- */

TEST(malformed_ipv4_ihl_below_5)
{
	struct frame f;

	BEGIN();
	for (int ihl = 0; ihl < 5; ihl++) {
		for (int tags = 0; tags <= 2; tags++) {
			LABEL("IHL %d, %d tags", ihl, tags);
			BUILD(&f, .tags = tags, .type = 8, .data = 56);
			iph(&f)->ihl = ihl;
			ip4_fix_csum(&f);
			DROPS(&f, U4, IW_R_MALFORMED);
		}
	}
	CHECK_EQ(row_now(U4).dropped, 15);
}

TEST(malformed_ipv4_total_length)
{
	struct frame f;

	BEGIN();
	/* longer than the frame by one */
	BUILD(&f, .type = 8, .data = 56);
	iph(&f)->tot_len = htons(f.len - 14 + 1);
	ip4_fix_csum(&f);
	DROPS(&f, U4, IW_R_MALFORMED);
	iph(&f)->tot_len = htons(0xffff);
	ip4_fix_csum(&f);
	DROPS(&f, U4, IW_R_MALFORMED);
	/* shorter than the header */
	for (int tot = 0; tot < 20; tot++) {
		LABEL("tot_len %d", tot);
		BUILD(&f, .type = 8, .data = 56);
		iph(&f)->tot_len = htons(tot);
		ip4_fix_csum(&f);
		DROPS(&f, U4, IW_R_MALFORMED);
	}
	/* shorter than its own options */
	BUILD(&f, .opt_words = 10, .type = 8, .data = 56);
	iph(&f)->tot_len = htons(59);
	ip4_fix_csum(&f);
	DROPS(&f, U4, IW_R_MALFORMED);
	/* room for the header, not for the 8 bytes of ICMP: the rest is Ethernet padding */
	for (int msg = 0; msg < 8; msg++) {
		for (int w = 0; w <= 10; w += 5) {
			LABEL("ICMP message of %d bytes, IHL %d", msg, 5 + w);
			BUILD(&f, .opt_words = w, .type = 8, .data = 56);
			iph(&f)->tot_len = htons(20 + 4 * w + msg);
			ip4_fix_csum(&f);
			DROPS(&f, U4, IW_R_MALFORMED);
		}
	}
	/* exactly 8 bytes of ICMP is whole, padding after tot_len is fine */
	label[0] = 0;
	BUILD(&f, .type = 8, .data = 0);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	fill(&f, 18);
	CHECK_EQ(f.len, 60);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	/* the frame one byte longer than tot_len */
	BUILD(&f, .type = 8, .data = 56);
	zeros(&f, 1);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	/* a first fragment with fewer than 8 bytes of ICMP */
	BUILD(&f, .frag = F_MF, .type = 8, .data = 0);
	iph(&f)->tot_len = htons(27);
	ip4_fix_csum(&f);
	DROPS(&f, U4, IW_R_MALFORMED);
}

TEST(malformed_ipv6_payload_length)
{
	static const struct ext two[] = {
		{ .type = IPPROTO_HOPOPTS, .len = 8 },
		{ .type = IPPROTO_DSTOPTS, .len = 16 },
	};
	struct frame f;

	BEGIN();
	/* longer than the frame */
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	ip6h(&f)->payload_len = htons(f.len - 54 + 1);
	DROPS(&f, U6, IW_R_MALFORMED);
	ip6h(&f)->payload_len = htons(0xffff);
	DROPS(&f, U6, IW_R_MALFORMED);
	BUILD(&f, .v6 = 1, .tags = 2, .ext = two, .next = 2, .type = 128, .data = 56);
	ip6h(&f)->payload_len = htons(f.len - 62 + 1);
	DROPS(&f, U6, IW_R_MALFORMED);
	/* shorter than the extension headers (24 bytes) */
	for (int plen = 0; plen < 24; plen++) {
		LABEL("payload_len %d behind 24 bytes of headers", plen);
		BUILD(&f, .v6 = 1, .ext = two, .next = 2, .type = 128, .data = 56);
		ip6h(&f)->payload_len = htons(plen);
		DROPS(&f, U6, IW_R_MALFORMED);
	}
	/* ICMPv6 message shorter than 8 bytes, with and without headers in front */
	for (int msg = 0; msg < 8; msg++) {
		LABEL("ICMPv6 message of %d bytes", msg);
		BUILD(&f, .v6 = 1, .type = 128, .data = 56);
		ip6h(&f)->payload_len = htons(msg);
		DROPS(&f, U6, IW_R_MALFORMED);
		BUILD(&f, .v6 = 1, .ext = two, .next = 2, .type = 128, .data = 56);
		ip6h(&f)->payload_len = htons(24 + msg);
		DROPS(&f, U6, IW_R_MALFORMED);
	}
	/* a jumbogram's payload_len 0 */
	BUILD(&f, .v6 = 1, .ext = two, .next = 1, .type = 128, .data = 56);
	ip6h(&f)->payload_len = 0;
	DROPS(&f, U6, IW_R_MALFORMED);
	/* exactly 8 bytes, and Ethernet padding after payload_len, are fine */
	label[0] = 0;
	BUILD(&f, .v6 = 1, .ext = two, .next = 2, .type = 128, .data = 0);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	fill(&f, 13);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	/* a first fragment with fewer than 8 bytes of ICMPv6 */
	static const struct ext first[] = { { .type = IPPROTO_FRAGMENT, .more = 1 } };

	BUILD(&f, .v6 = 1, .ext = first, .next = 1, .type = 128, .data = 0);
	ip6h(&f)->payload_len = htons(8 + 7);
	DROPS(&f, U6, IW_R_MALFORMED);
}

TEST(malformed_beats_every_policy_check)
{
	struct frame f;

	BEGIN();
	/* the source is on the allow list, ICMP would pass anyway */
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6;
	CHECK_OK(cidr4(0, "192.0.2.0", 24, IW_CIDR_ALLOW));
	CHECK_OK(cidr6(0, "2001:db8::", 32, IW_CIDR_ALLOW));
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	iph(&f)->ihl = 4;
	DROPS(&f, U4, IW_R_MALFORMED);
	BUILD(&f, .v6 = 1, .type = 135, .data = 16);	/* ND, which skips the lists */
	ip6h(&f)->payload_len = htons(7);
	DROPS(&f, U6, IW_R_MALFORMED);
}

/* ---- 5. ping of death and max-size ---------------------------------------------------- */

TEST(ping_of_death_ipv4)
{
	struct frame f;

	BEGIN();
	/* end = IHL + offset x 8 + payload: 20 + 65512 + 3 = 65535 passes, 65536 drops */
	BUILD(&f, .frag = 8189, .data = 3);
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .frag = 8189, .data = 4);
	DROPS(&f, U4, IW_R_POD);
	BUILD(&f, .frag = F_MF | 8189, .data = 4);
	DROPS(&f, U4, IW_R_POD);
	/* with 40 bytes of options: 60 + 65472 + 3 */
	BUILD(&f, .opt_words = 10, .frag = 8184, .data = 3);
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .opt_words = 10, .frag = 8184, .data = 4);
	DROPS(&f, U4, IW_R_POD);
	/* the largest offset, no data: 20 + 65528 */
	BUILD(&f, .frag = 8191, .data = 0);
	DROPS(&f, U4, IW_R_POD);
	/* the classic: offset 65528, 1480 bytes, behind a VLAN tag */
	BUILD(&f, .tags = 1, .frag = 8191, .data = 1480);
	DROPS(&f, U4, IW_R_POD);
	/* a ping of death from an allowed source under a policy that passes everything */
	pol.flags = IW_POL_CIDR4;
	CHECK_OK(cidr4(0, "192.0.2.1", 32, IW_CIDR_ALLOW));
	INSTALL();
	BUILD(&f, .frag = 8189, .data = 4);
	DROPS(&f, U4, IW_R_POD);
	BUILD(&f, .frag = 8189, .data = 3);
	PASSES(&f, U4, IW_R_ALLOW);
}

TEST(ping_of_death_ipv6)
{
	struct ext e[2];
	struct frame f;

	BEGIN();
	/* payload end = unfragmentable headers + offset + fragment data: 0 + 65528 + 7 */
	e[0] = (struct ext){ .type = IPPROTO_FRAGMENT, .off = 65528 };
	BUILD(&f, .v6 = 1, .ext = e, .next = 1, .data = 7);
	PASSES(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = e, .next = 1, .data = 8);
	DROPS(&f, U6, IW_R_POD);
	e[0].more = 1;
	BUILD(&f, .v6 = 1, .ext = e, .next = 1, .data = 1448);
	DROPS(&f, U6, IW_R_POD);
	/* a 16-byte hop-by-hop header in front counts: 16 + 65512 + 7 */
	e[0] = (struct ext){ .type = IPPROTO_HOPOPTS, .len = 16 };
	e[1] = (struct ext){ .type = IPPROTO_FRAGMENT, .off = 65512 };
	BUILD(&f, .v6 = 1, .tags = 2, .ext = e, .next = 2, .data = 7);
	PASSES(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .tags = 2, .ext = e, .next = 2, .data = 8);
	DROPS(&f, U6, IW_R_POD);
}

TEST(max_size_unfragmented)
{
	static const struct ext hbh[] = { { .type = IPPROTO_HOPOPTS, .len = 16 } };
	struct frame f;

	BEGIN();
	/* IPv4: the datagram length (tot_len), not the frame */
	pol.max_size = 100;
	INSTALL();
	BUILD(&f, .tags = 2, .type = 8, .data = 72);	/* 20 + 8 + 72 = 100 */
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .tags = 2, .type = 8, .data = 73);
	DROPS(&f, R4(8, 0), IW_R_OVERSIZE);
	BUILD(&f, .opt_words = 1, .type = 8, .data = 68);	/* 24 + 8 + 68 */
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .opt_words = 1, .type = 8, .data = 69);
	DROPS(&f, R4(8, 0), IW_R_OVERSIZE);
	/* Ethernet padding is not part of it */
	BUILD(&f, .type = 8, .data = 72);
	fill(&f, 40);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	/* IPv6: 40 + payload_len, extension headers included */
	BUILD(&f, .v6 = 1, .tags = 1, .type = 128, .data = 52);	/* 40 + 8 + 52 */
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .tags = 1, .type = 128, .data = 53);
	DROPS(&f, R6(128, 0), IW_R_OVERSIZE);
	BUILD(&f, .v6 = 1, .ext = hbh, .next = 1, .type = 128, .data = 36);	/* 40 + 16 + 8 + 36 */
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = hbh, .next = 1, .type = 128, .data = 37);
	DROPS(&f, R6(128, 0), IW_R_OVERSIZE);
	/* the largest frame with max-size 1500 */
	pol.max_size = 1500;
	INSTALL();
	BUILD(&f, .type = 8, .data = 1472);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 1452);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .type = 8, .data = 1473);
	DROPS(&f, R4(8, 0), IW_R_OVERSIZE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 1453);
	DROPS(&f, R6(128, 0), IW_R_OVERSIZE);
}

TEST(max_size_fragments)
{
	struct ext e[3];
	struct frame f;

	BEGIN();
	pol.max_size = 1000;
	INSTALL();
	/* IPv4 first fragment: its tot_len */
	BUILD(&f, .frag = F_MF, .type = 8, .data = 972);	/* 20 + 8 + 972 */
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .frag = F_MF, .type = 8, .data = 973);
	DROPS(&f, R4(8, 0), IW_R_OVERSIZE);
	/* IPv4 later fragment: IHL + offset x 8 + data = 20 + 800 + 180 */
	BUILD(&f, .frag = F_MF | 100, .data = 180);
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .frag = F_MF | 100, .data = 181);
	DROPS(&f, U4, IW_R_OVERSIZE);
	BUILD(&f, .opt_words = 2, .frag = 100, .data = 172);	/* 28 + 800 + 172 */
	PASSES(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .opt_words = 2, .frag = 100, .data = 173);
	DROPS(&f, U4, IW_R_OVERSIZE);
	/* even when the fragment itself is tiny */
	BUILD(&f, .frag = 8000, .data = 8);
	DROPS(&f, U4, IW_R_OVERSIZE);
	/* IPv6 later fragment: 40 + unfragmentable headers + offset + data = 40 + 8 + 800 + 152 */
	e[0] = (struct ext){ .type = IPPROTO_DSTOPTS, .len = 8 };
	e[1] = (struct ext){ .type = IPPROTO_FRAGMENT, .off = 800, .more = 1 };
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .data = 152);
	PASSES(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .data = 153);
	DROPS(&f, U6, IW_R_OVERSIZE);
	/* IPv6 first fragment: 40 + 8 + 0 + (8 + 944): the fragment header is not part of
	 * the datagram */
	e[1] = (struct ext){ .type = IPPROTO_FRAGMENT, .more = 1 };
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .type = 128, .data = 944);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .type = 128, .data = 945);
	DROPS(&f, R6(128, 0), IW_R_OVERSIZE);
	/* an IPv6 first fragment whose fragmentable part starts with a destination-options
	 * header: its data is the 16 header bytes and the message, 40 + 0 + 16 + 8 + 936 */
	e[0] = (struct ext){ .type = IPPROTO_FRAGMENT, .more = 1 };
	e[1] = (struct ext){ .type = IPPROTO_DSTOPTS, .len = 16 };
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .type = 128, .data = 936);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = e, .next = 2, .type = 128, .data = 937);
	DROPS(&f, R6(128, 0), IW_R_OVERSIZE);
}

/* ---- 6. policy ------------------------------------------------------------------------ */

TEST(policy_drop_rule)
{
	struct frame f;

	BEGIN();
	rule(1, IW_ACT_DROP);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	pol.type_rule[IW_FAM_ICMPV6][128] = 1;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	BUILD(&f, .type = 8, .code = 99, .data = 56);
	DROPS(&f, R4(8, 16), IW_R_POLICY);
	BUILD(&f, .type = 0, .data = 56);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_POLICY);
	BUILD(&f, .v6 = 1, .type = 129, .data = 56);
	PASSES(&f, R6(129, 0), IW_R_NONE);
	/* the families do not share rules: v6 type 8 and v4 type 128 pass */
	BUILD(&f, .v6 = 1, .type = 8, .data = 56);
	PASSES(&f, R6(8, 0), IW_R_NONE);
	BUILD(&f, .type = 128, .data = 56);
	PASSES(&f, R4(128, 0), IW_R_NONE);
	/* a rule without an action, or an explicit pass, passes */
	rule(2, IW_ACT_NONE);
	rule(3, IW_ACT_PASS);
	pol.type_rule[IW_FAM_ICMP][13] = 2;
	pol.type_rule[IW_FAM_ICMP][14] = 3;
	INSTALL();
	BUILD(&f, .type = 13, .data = 12);
	PASSES(&f, R4(13, 0), IW_R_NONE);
	BUILD(&f, .type = 14, .data = 12);
	PASSES(&f, R4(14, 0), IW_R_NONE);
	/* the last rule slot works */
	rule(255, IW_ACT_DROP);
	pol.type_rule[IW_FAM_ICMPV6][255] = 255;
	INSTALL();
	BUILD(&f, .v6 = 1, .type = 255, .code = 255);
	DROPS(&f, R6(255, 16), IW_R_POLICY);
}

TEST(dropped_column)
{
	struct frame f;

	BEGIN();
	rule(1, IW_ACT_DROP);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	CHECK_EQ(row_now(R4(8, 0)).packets, 1);
	CHECK_EQ(row_now(R4(8, 0)).bytes, 98);
	CHECK_EQ(row_now(R4(8, 0)).dropped, 1);
	BUILD(&f, .tags = 1, .type = 8, .data = 100);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	BUILD(&f, .type = 0, .data = 56);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	CHECK_EQ(row_now(R4(8, 0)).packets, 2);
	CHECK_EQ(row_now(R4(8, 0)).bytes, 98 + 146);
	CHECK_EQ(row_now(R4(8, 0)).dropped, 2);
	CHECK_EQ(row_now(R4(0, 0)).dropped, 0);
	CHECK_EQ(reason_now(1, IW_R_POLICY).packets, 2);
}

TEST(code_rule_over_type_drop)
{
	struct frame f;

	BEGIN();
	/* type 3: drop; code 4 (fragmentation needed): explicit pass; code 200: pass */
	rule(1, IW_ACT_DROP);
	rule(2, IW_ACT_PASS);
	pol.type_rule[IW_FAM_ICMP][3] = 1;
	pol.type_codes[IW_FAM_ICMP][3] = 1 + 5;		/* table 5 */
	pol.code_rule[5][4] = 2;
	pol.code_rule[5][200] = 2;
	INSTALL();
	for (int c = 0; c < 256; c++) {
		bool pass = c == 4 || c == 200;

		LABEL("code %d", c);
		BUILD(&f, .type = 3, .code = c, .data = 28);
		EXPECT(&f, pass ? XDP_PASS : XDP_DROP, R4(3, c), pass ? IW_R_NONE : IW_R_POLICY);
	}
	/* the same table index in the other family is another type's */
	label[0] = 0;
	BUILD(&f, .v6 = 1, .type = 3, .code = 4, .data = 48);
	PASSES(&f, R6(3, 4), IW_R_NONE);
}

TEST(code_rule_over_type_pass)
{
	struct frame f;

	BEGIN();
	/* v6 type 1: explicit pass; code 4: drop. v6 type 4: no type rule, code 1: drop */
	rule(7, IW_ACT_PASS);
	rule(9, IW_ACT_DROP);
	pol.type_rule[IW_FAM_ICMPV6][1] = 7;
	pol.type_codes[IW_FAM_ICMPV6][1] = 1 + 31;
	pol.code_rule[31][4] = 9;
	pol.type_codes[IW_FAM_ICMPV6][4] = 1 + 0;
	pol.code_rule[0][1] = 9;
	pol.code_rule[0][17] = 9;	/* a folded code is matched by its own value */
	INSTALL();
	for (int c = 0; c < 20; c++) {
		LABEL("type 1 code %d", c);
		BUILD(&f, .v6 = 1, .type = 1, .code = c, .data = 48);
		EXPECT(&f, c == 4 ? XDP_DROP : XDP_PASS, R6(1, c), c == 4 ? IW_R_POLICY : IW_R_NONE);
		LABEL("type 4 code %d", c);
		BUILD(&f, .v6 = 1, .type = 4, .code = c, .data = 48);
		EXPECT(&f, c == 1 || c == 17 ? XDP_DROP : XDP_PASS, R6(4, c),
		       c == 1 || c == 17 ? IW_R_POLICY : IW_R_NONE);
	}
	CHECK_EQ(row_now(R6(4, 16)).packets, 4);
	CHECK_EQ(row_now(R6(4, 16)).dropped, 1);
}

TEST(rate_global_burst)
{
	struct frame f;

	BEGIN();
	/* burst 1 for echo requests (bucket 3), burst 5 for ICMPv6 echo requests (bucket 4) */
	rate_global(1, 3, 1);
	rate_global(2, 4, 5);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	pol.type_rule[IW_FAM_ICMPV6][128] = 2;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_TRUE(bucket_word(3) != 0);
	CHECK_EQ(bucket_word(3) & IW_EPOCH_MASK, 0);
	for (int i = 0; i < 5; i++) {
		__u64 w = bucket_word(3);

		LABEL("v4 packet %d", i + 2);
		DROPS(&f, R4(8, 0), IW_R_RATE);
		CHECK_EQ(bucket_word(3), w);	/* a drop only reads the bucket */
	}
	label[0] = 0;
	/* other types and the other family are not limited by it */
	BUILD(&f, .type = 0, .data = 56);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	for (int i = 0; i < 5; i++) {
		LABEL("v6 packet %d", i + 1);
		PASSES(&f, R6(128, 0), IW_R_NONE);
	}
	for (int i = 0; i < 3; i++) {
		LABEL("v6 packet %d", i + 6);
		DROPS(&f, R6(128, 0), IW_R_RATE);
	}
	CHECK_EQ(reason_now(1, IW_R_RATE).packets, 8);
}

TEST(rate_shared_bucket)
{
	struct frame f, g;

	BEGIN();
	/* two rules on one bucket share its 3 tokens */
	rate_global(1, 10, 3);
	rate_global(2, 10, 3);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	pol.type_rule[IW_FAM_ICMP][13] = 2;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	BUILD(&g, .type = 13, .data = 12);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	PASSES(&g, R4(13, 0), IW_R_NONE);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	DROPS(&g, R4(13, 0), IW_R_RATE);
	DROPS(&f, R4(8, 0), IW_R_RATE);
	/* a rule on another bucket is untouched */
	rate_global(3, 11, 1);
	pol.type_rule[IW_FAM_ICMP][17] = 3;
	INSTALL();
	BUILD(&g, .type = 17, .data = 4);
	PASSES(&g, R4(17, 0), IW_R_NONE);
	DROPS(&g, R4(17, 0), IW_R_RATE);
	/* the last bucket */
	rate_global(4, IW_MAX_BUCKETS - 1, 2);
	pol.type_rule[IW_FAM_ICMPV6][129] = 4;
	INSTALL();
	BUILD(&g, .v6 = 1, .type = 129, .data = 56);
	PASSES(&g, R6(129, 0), IW_R_NONE);
	PASSES(&g, R6(129, 0), IW_R_NONE);
	DROPS(&g, R6(129, 0), IW_R_RATE);
}

TEST(rate_per_source)
{
	struct frame a, b;

	BEGIN();
	/* 2 packets per source /32, no global limit */
	rate_source(1, 7, 32, 2);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&a, .src = "198.51.100.1", .type = 8, .data = 56);
	BUILD(&b, .src = "198.51.100.2", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	DROPS(&a, R4(8, 0), IW_R_RATE);
	PASSES(&b, R4(8, 0), IW_R_NONE);
	DROPS(&a, R4(8, 0), IW_R_RATE);
	PASSES(&b, R4(8, 0), IW_R_NONE);
	DROPS(&b, R4(8, 0), IW_R_RATE);
	CHECK_EQ(count_keys(src4_fd), 2);
	CHECK_EQ(count_keys(src6_fd), 0);
	/* /20: 198.51.96.0 - 198.51.111.255 share one bucket */
	CHECK_OK(clear_keys(src4_fd));
	rate_source(1, 8, 20, 1);
	INSTALL();
	BUILD(&a, .src = "198.51.96.1", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	BUILD(&a, .src = "198.51.111.255", .type = 8, .data = 56);
	DROPS(&a, R4(8, 0), IW_R_RATE);
	BUILD(&a, .src = "198.51.112.0", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	BUILD(&a, .src = "198.51.95.255", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	CHECK_EQ(count_keys(src4_fd), 3);
	/* /0: every source shares one */
	rate_source(1, 9, 0, 1);
	INSTALL();
	BUILD(&a, .src = "10.0.0.1", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	BUILD(&a, .src = "172.16.0.1", .type = 8, .data = 56);
	DROPS(&a, R4(8, 0), IW_R_RATE);
	CHECK_EQ(count_keys(src4_fd), 4);
	/* the src_id keeps two rules' sources apart */
	rate_source(2, 10, 32, 1);
	rate_source(1, 11, 32, 1);
	pol.type_rule[IW_FAM_ICMP][13] = 2;
	INSTALL();
	BUILD(&a, .src = "10.0.0.1", .type = 8, .data = 56);
	BUILD(&b, .src = "10.0.0.1", .type = 13, .data = 12);
	PASSES(&a, R4(8, 0), IW_R_NONE);
	PASSES(&b, R4(13, 0), IW_R_NONE);
	DROPS(&a, R4(8, 0), IW_R_RATE);
	DROPS(&b, R4(13, 0), IW_R_RATE);
}

TEST(rate_per_source_ipv6)
{
	struct frame f;

	BEGIN();
	rate_source(1, 3, 60, 1);
	pol.type_rule[IW_FAM_ICMPV6][128] = 1;
	INSTALL();
	/* /60: 2001:db8:0:10:: - 2001:db8:0:1f:ffff:... share */
	BUILD(&f, .v6 = 1, .src = "2001:db8:0:10::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .src = "2001:db8:0:1f:ffff::9", .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_RATE);
	BUILD(&f, .v6 = 1, .src = "2001:db8:0:20::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .src = "2001:db8:0:f::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	CHECK_EQ(count_keys(src6_fd), 3);
	/* /128 */
	rate_source(1, 4, 128, 1);
	INSTALL();
	BUILD(&f, .v6 = 1, .src = "2001:db8::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	DROPS(&f, R6(128, 0), IW_R_RATE);
	BUILD(&f, .v6 = 1, .src = "2001:db8::2", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	CHECK_EQ(count_keys(src6_fd), 5);
	CHECK_EQ(count_keys(src4_fd), 0);
}

TEST(rate_source_before_global)
{
	struct frame a, b, c;
	__u64 w;

	BEGIN();
	/* 1 per source, 2 in all */
	rate_source(1, 5, 32, 1);
	rate_global(1, 20, 2);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&a, .src = "198.51.100.1", .type = 8, .data = 56);
	BUILD(&b, .src = "198.51.100.2", .type = 8, .data = 56);
	BUILD(&c, .src = "198.51.100.3", .type = 8, .data = 56);
	PASSES(&a, R4(8, 0), IW_R_NONE);		/* global: 1 left */
	w = bucket_word(20);
	DROPS(&a, R4(8, 0), IW_R_RATE);			/* by its source: no global token */
	DROPS(&a, R4(8, 0), IW_R_RATE);
	CHECK_EQ(bucket_word(20), w);
	PASSES(&b, R4(8, 0), IW_R_NONE);		/* global: 0 left */
	DROPS(&c, R4(8, 0), IW_R_RATE);			/* by the global bucket */
	CHECK_EQ(count_keys(src4_fd), 3);
}

/* Converting a bucket when its limit changes (the epoch in the low 8 bits of the word). */
TEST(rate_epoch_conversion)
{
	struct iw_limit *g = &pol.rules[1].global;
	struct frame f;

	BEGIN();
	BUILD(&f, .type = 8, .data = 56);
	rate_global(1, 0, 3);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);		/* 2 tokens left of 3 */
	/* burst 3 -> 5, epoch 1: the 2 tokens are kept */
	g->hist[0] = (struct iw_epoch_limit){ SLOW, 2 * SLOW };
	limit_change(g, SLOW, 4 * SLOW, 5, 1);
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(bucket_word(0) & IW_EPOCH_MASK, 1);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	DROPS(&f, R4(8, 0), IW_R_RATE);
	/* burst 5 -> 2, epoch 2: still empty, and the converted word is written on a drop */
	limit_change(g, SLOW, SLOW, 2, 2);
	INSTALL();
	DROPS(&f, R4(8, 0), IW_R_RATE);
	CHECK_EQ(bucket_word(0) & IW_EPOCH_MASK, 2);
	DROPS(&f, R4(8, 0), IW_R_RATE);
	/* a new bucket: burst 5, 1 used, then 2 with 4 tokens left: clamped to 2 */
	rate_global(2, 1, 5);
	pol.type_rule[IW_FAM_ICMP][0] = 2;
	INSTALL();
	BUILD(&f, .type = 0, .data = 56);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	g = &pol.rules[2].global;
	g->hist[0] = (struct iw_epoch_limit){ SLOW, 4 * SLOW };
	limit_change(g, SLOW, SLOW, 2, 3);
	INSTALL();
	PASSES(&f, R4(0, 0), IW_R_NONE);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	DROPS(&f, R4(0, 0), IW_R_RATE);
	/* a limit with no limit at the bucket's epoch starts full, whatever the word held */
	g->hist[3] = (struct iw_epoch_limit){ 0, 0 };
	limit_change(g, SLOW, 2 * SLOW, 3, 4);
	INSTALL();
	PASSES(&f, R4(0, 0), IW_R_NONE);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	DROPS(&f, R4(0, 0), IW_R_RATE);
}

/* A conversion whose tokens times the new interval passes 2^64 (a large old burst, a slow
 * new limit): 65536 tokens of 2^48 ticks each are more than the new burst holds, so the
 * bucket comes out full, not as the product wrapped to 0 would have it (empty). */
TEST(rate_epoch_conversion_large_burst)
{
	struct iw_limit *g = &pol.rules[1].global;
	struct frame f;
	__u64 now;

	BEGIN();
	BUILD(&f, .type = 8, .data = 56);
	pol.rules[1] = (struct iw_rule){
		.action = IW_ACT_RATE, .bucket = 0,
		.global = { .interval = 1ULL << 40, .tolerance = 65536ULL << 40, .count = 1,
			    .burst = 65537 },
	};
	g->hist[0] = (struct iw_epoch_limit){ g->interval, g->tolerance };
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);		/* 65536 tokens left */
	now = (bucket_word(0) & ~IW_EPOCH_MASK) - (1ULL << 40);
	limit_change(g, 1ULL << 48, 9999ULL << 48, 10000, 1);
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(bucket_word(0) & IW_EPOCH_MASK, 1);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	/* full, not merely not empty: two packets from a full bucket put its TAT two intervals
	 * past the clock; from any fewer tokens than the burst, at least three */
	CHECK_TRUE((bucket_word(0) & ~IW_EPOCH_MASK) - now < 3 * (1ULL << 48));
}

/* A word of an older epoch whose TAT is further ahead than its limit could have written
 * (from before a wrap of the clock, as after some 25 days idle at HZ 1000) converts to a
 * full bucket, as it counts at its own epoch, not to an empty one. */
TEST(rate_epoch_conversion_stale_word)
{
	struct iw_limit *g = &pol.rules[1].global;
	__u32 zero = 0;
	struct frame f;
	__u64 now;

	BEGIN();
	BUILD(&f, .type = 8, .data = 56);
	rate_global(1, 0, 3);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);		/* TAT: now + interval */
	now = (bucket_word(0) & ~IW_EPOCH_MASK) - SLOW;
	CHECK_OK(bpf_map_lookup_elem(buckets_fd, &zero, &state));
	state.buckets[0].tat = (now + (1ULL << 62)) & ~IW_EPOCH_MASK;	/* epoch 0 */
	CHECK_OK(bpf_map_update_elem(buckets_fd, &zero, &state, 0));
	/* burst 3 -> 5, epoch 1 */
	g->hist[0] = (struct iw_epoch_limit){ SLOW, 2 * SLOW };
	limit_change(g, SLOW, 4 * SLOW, 5, 1);
	INSTALL();
	for (int i = 0; i < 5; i++) {
		LABEL("packet %d of the burst", i + 1);
		PASSES(&f, R4(8, 0), IW_R_NONE);
	}
	label[0] = 0;
	CHECK_EQ(bucket_word(0) & IW_EPOCH_MASK, 1);
	DROPS(&f, R4(8, 0), IW_R_RATE);
}

/* A bucket never written (word 0, epoch 0, as in a fresh policy) is full whatever the
 * clock reads; the jiffies clock shifted left by 32 wraps 5 minutes after boot and every
 * 2^32 jiffies after that, so 0 is not always in the past. */
TEST(rate_fresh_bucket_is_full)
{
	struct frame f;

	BEGIN();
	/* the longest window the signed comparisons allow: tolerance + interval = 2^62 */
	pol.rules[1] = (struct iw_rule){
		.action = IW_ACT_RATE, .bucket = 30,
		.global = { .interval = 1ULL << 60, .tolerance = 3ULL << 60, .burst = 4 },
	};
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	for (int i = 0; i < 4; i++) {
		LABEL("packet %d", i + 1);
		PASSES(&f, R4(8, 0), IW_R_NONE);
	}
	label[0] = 0;
	DROPS(&f, R4(8, 0), IW_R_RATE);
}

/* CPUs whose row row holds a note (struct iw_row_counter) for fast word word; -1 when the
 * row cannot be read. */
static int notes(__u32 row, __u64 word)
{
	const struct iw_row_counter *v = pcpu_buf;
	int n = 0;

	if (bpf_map_lookup_elem(stats_fd, &row, pcpu_buf))
		return -1;
	for (int c = 0; c < ncpus; c++)
		n += v[c].closed_word == word && v[c].closed_until;
	return n;
}

/* A drop by a fast word's global rule leaves a note in the packet's row on its CPU: the word,
 * and the jiffy until which the bucket must stay over; the packets after it on that CPU drop
 * on the note, without reading the bucket (here the bucket is emptied behind the program's
 * back, and the note still drops), and are counted as any rate drop. A change of policy
 * writes new words (the generation is in them), so a note does not outlive the policy that
 * wrote it: here the same rule, bucket and copy at a burst that admits. Judge only
 * (ICMPWALL_TEST_SLOW): no fast word, no note, the bucket decides. The test runs pinned to
 * one CPU, so that every packet finds the note the first drop left. */
TEST(rate_global_note)
{
	__u32 zero = 0;
	struct frame f;
	__u64 word;

	BEGIN();
	CHECK_OK(pin_this_cpu());
	rate_global(1, 3, 1);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	word = conf.fast[IW_FAM_ICMP][8].word;
	CHECK_EQ(word != 0, !judge_only());	/* a global limit alone: a fast word */
	BUILD(&f, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(notes(R4(8, 0), word), 0);	/* a packet that passes leaves none */
	DROPS(&f, R4(8, 0), IW_R_RATE);
	CHECK_EQ(notes(R4(8, 0), word), word ? 1 : 0);
	for (int i = 0; i < 3; i++) {
		LABEL("drop %d", i + 2);
		DROPS(&f, R4(8, 0), IW_R_RATE);
	}
	label[0] = 0;
	/* a full bucket (TAT 0) that only a packet reading it would see */
	CHECK_OK(bpf_map_lookup_elem(buckets_fd, &zero, &state));
	state.buckets[3].tat = 0;
	CHECK_OK(bpf_map_update_elem(buckets_fd, &zero, &state, 0));
	if (word)
		DROPS(&f, R4(8, 0), IW_R_RATE);
	else
		PASSES(&f, R4(8, 0), IW_R_NONE);
	rate_global(1, 3, 1000);
	INSTALL();
	CHECK_TRUE(!word || conf.fast[IW_FAM_ICMP][8].word != word);
	PASSES(&f, R4(8, 0), IW_R_NONE);
}

/* A note lapses when the bucket may admit again: a limit of one packet a jiffy, burst 3,
 * emptied, admits again 8 jiffies later (well within the 64 jiffies a note may last). */
TEST(rate_global_note_lapses)
{
	__u32 hz = iw_kernel_hz() ?: 100, ret = 0;
	struct frame f;
	int i;

	BEGIN();
	CHECK_OK(pin_this_cpu());	/* the note and the packet after the wait on one CPU */
	pol.rules[1] = (struct iw_rule){
		.action = IW_ACT_RATE, .bucket = 5,
		.global = { .interval = 1ULL << IW_TICK_SHIFT, .tolerance = IW_MIN_TOLERANCE,
			    .burst = 3 },
	};
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	/* empty it: how many pass first depends on when jiffies ticks */
	for (i = 0; i < 64; i++) {
		CHECK_OK(run_prog(f.d, f.len, &ret));
		want_rows[R4(8, 0)].packets++;
		want_rows[R4(8, 0)].bytes += f.len;
		if (ret == XDP_DROP) {
			want_rows[R4(8, 0)].dropped++;
			want_rows[R4(8, 0)].rate_dropped++;
			break;
		}
		CHECK_EQ(ret, XDP_PASS);
	}
	CHECK_EQ(ret, XDP_DROP);
	CHECK_EQ(conf.fast[IW_FAM_ICMP][8].word != 0, !judge_only());
	if (conf.fast[IW_FAM_ICMP][8].word)
		CHECK_TRUE(notes(R4(8, 0), conf.fast[IW_FAM_ICMP][8].word) >= 1);
	usleep(8 * 1000000 / hz);
	PASSES(&f, R4(8, 0), IW_R_NONE);
}

/* A bucket never written is full even where the flood's first test (the limit's copy in the
 * bucket's line) would find its TAT of 0 over the tolerance: that happens for real in the
 * interval before each wrap of the tick clock (the first one 5 minutes after boot), and is
 * brought about here with a copy whose span takes in any TAT. */
TEST(rate_fresh_bucket_not_over)
{
	__u32 zero = 0;
	struct frame f;

	BEGIN();
	rate_global(1, 7, 1);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	CHECK_OK(bpf_map_lookup_elem(buckets_fd, &zero, &state));
	CHECK_EQ(state.buckets[7].tat, 0);
	state.buckets[7].lim[0].span = ~0ULL;
	CHECK_OK(bpf_map_update_elem(buckets_fd, &zero, &state, 0));
	BUILD(&f, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	DROPS(&f, R4(8, 0), IW_R_RATE);
}

TEST(deny_and_allow_lists)
{
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6;
	CHECK_OK(cidr4(0, "203.0.113.0", 24, IW_CIDR_DENY));
	CHECK_OK(cidr4(0, "198.51.100.0", 24, IW_CIDR_ALLOW));
	CHECK_OK(cidr6(0, "2001:db8:bad::", 48, IW_CIDR_DENY));
	CHECK_OK(cidr6(0, "2001:db8:600d::", 48, IW_CIDR_ALLOW));
	INSTALL();
	BUILD(&f, .src = "203.0.113.77", .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	BUILD(&f, .src = "203.0.112.255", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .src = "198.51.100.1", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	BUILD(&f, .v6 = 1, .src = "2001:db8:bad:1::1", .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_DENY);
	BUILD(&f, .v6 = 1, .src = "2001:db8:bae::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .src = "2001:db8:600d::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_ALLOW);
	/* the non-first fragments of a denied or allowed source */
	BUILD(&f, .src = "203.0.113.77", .frag = 100, .data = 64);
	DROPS(&f, U4, IW_R_DENY);
	BUILD(&f, .src = "198.51.100.1", .frag = 100, .data = 64);
	PASSES(&f, U4, IW_R_ALLOW);
	/* without the policy flag the trie is not consulted */
	pol.flags = IW_POL_CIDR6;
	INSTALL();
	BUILD(&f, .src = "203.0.113.77", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .src = "2001:db8:bad:1::1", .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_DENY);
	pol.flags = IW_POL_CIDR4;
	INSTALL();
	BUILD(&f, .src = "203.0.113.77", .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	BUILD(&f, .v6 = 1, .src = "2001:db8:bad:1::1", .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
}

TEST(cidr_slots)
{
	struct frame f;

	BEGIN();
	/* slot 1 holds a deny, slot 0 an allow, for the same prefix */
	CHECK_OK(cidr4(1, "203.0.113.0", 24, IW_CIDR_DENY));
	CHECK_OK(cidr4(0, "203.0.113.0", 24, IW_CIDR_ALLOW));
	CHECK_OK(cidr6(1, "2001:db8::", 32, IW_CIDR_DENY));
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6;
	pol.slot = 0;
	INSTALL();
	BUILD(&f, .src = "203.0.113.5", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	pol.slot = 1;
	INSTALL();
	BUILD(&f, .src = "203.0.113.5", .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_DENY);
}

TEST(deny_beats_allow)
{
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6;
	/* 198.51.0.0/16 allowed, 198.51.100.0/24 denied inside it: the /24's value says both
	 * lists cover it; 198.51.100.7/32 allowed again inside that: still denied */
	CHECK_OK(cidr4(0, "198.51.0.0", 16, IW_CIDR_ALLOW));
	CHECK_OK(cidr4_own(0, "198.51.100.0", 24, IW_CIDR_ALLOW | IW_CIDR_DENY, IW_CIDR_DENY));
	CHECK_OK(cidr4_own(0, "198.51.100.7", 32, IW_CIDR_ALLOW | IW_CIDR_DENY, IW_CIDR_ALLOW));
	CHECK_OK(cidr6(0, "::", 0, IW_CIDR_ALLOW | IW_CIDR_DENY));
	/* and the other way round: 2001:db8::/32 denied, its /48 allowed inside it */
	CHECK_OK(cidr6_own(0, "2001:db8::", 32, IW_CIDR_DENY, IW_CIDR_DENY));
	CHECK_OK(cidr6_own(0, "2001:db8:1::", 48, IW_CIDR_ALLOW | IW_CIDR_DENY, IW_CIDR_ALLOW));
	INSTALL();
	BUILD(&f, .src = "198.51.100.7", .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	BUILD(&f, .src = "198.51.100.8", .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	BUILD(&f, .src = "198.51.7.7", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	BUILD(&f, .src = "192.0.2.1", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_DENY);
	BUILD(&f, .v6 = 1, .src = "2001:db8:1::1", .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_DENY);
}

TEST(allow_skips_later_checks)
{
	static const struct ext frag[] = { { .type = IPPROTO_FRAGMENT, .off = 8, .more = 1 } };
	struct frame f;

	BEGIN();
	/* everything after the lists would drop these */
	pol.flags = IW_POL_CIDR4 | IW_POL_CIDR6 | IW_POL_FRAG_DROP | IW_POL_CSUM_VERIFY;
	pol.max_size = 60;
	rule(1, IW_ACT_DROP);
	rate_global(2, 0, 1);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	pol.type_rule[IW_FAM_ICMPV6][128] = 2;
	CHECK_OK(cidr4(0, "198.51.100.0", 24, IW_CIDR_ALLOW));
	CHECK_OK(cidr6(0, "2001:db8:600d::", 48, IW_CIDR_ALLOW));
	INSTALL();
	BUILD(&f, .src = "198.51.100.1", .type = 8, .data = 1000);
	spoil_last_byte(&f);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	BUILD(&f, .src = "198.51.100.1", .frag = F_MF, .type = 8, .data = 1000);
	PASSES(&f, R4(8, 0), IW_R_ALLOW);
	BUILD(&f, .src = "198.51.100.1", .frag = 1000, .data = 1000);
	PASSES(&f, U4, IW_R_ALLOW);
	for (int i = 0; i < 3; i++) {
		BUILD(&f, .v6 = 1, .src = "2001:db8:600d::1", .type = 128, .data = 100);
		PASSES(&f, R6(128, 0), IW_R_ALLOW);
	}
	BUILD(&f, .v6 = 1, .src = "2001:db8:600d::1", .ext = frag, .next = 1, .data = 100);
	PASSES(&f, U6, IW_R_ALLOW);
	CHECK_EQ(bucket_word(0), 0);	/* the rate rule was never reached */
	/* the same from another source */
	BUILD(&f, .src = "198.51.99.1", .type = 8, .data = 8);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	BUILD(&f, .src = "198.51.99.1", .type = 8, .data = 1000);
	DROPS(&f, R4(8, 0), IW_R_OVERSIZE);
}

TEST(fragments_drop)
{
	static const struct ext first[] = { { .type = IPPROTO_FRAGMENT, .more = 1 } };
	static const struct ext later[] = { { .type = IPPROTO_FRAGMENT, .off = 1448 } };
	static const struct ext atomic[] = { { .type = IPPROTO_FRAGMENT } };
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_FRAG_DROP;
	INSTALL();
	BUILD(&f, .frag = F_MF, .type = 8, .data = 1472);
	DROPS(&f, R4(8, 0), IW_R_FRAGMENT);
	BUILD(&f, .frag = 185, .data = 100);
	DROPS(&f, U4, IW_R_FRAGMENT);
	BUILD(&f, .frag = F_DF, .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = first, .next = 1, .type = 128, .data = 1440);
	DROPS(&f, R6(128, 0), IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = later, .next = 1, .data = 100);
	DROPS(&f, U6, IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .ext = atomic, .next = 1, .type = 128, .data = 56);
	DROPS(&f, R6(128, 0), IW_R_FRAGMENT);
	/* ND in a fragment is not exempt */
	BUILD(&f, .v6 = 1, .ext = atomic, .next = 1, .type = 135, .data = 16);
	DROPS(&f, R6(135, 0), IW_R_FRAGMENT);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	CHECK_EQ(reason_now(1, IW_R_FRAGMENT).packets, 6);
	CHECK_EQ(reason_now(0, IW_R_FRAGMENT).packets, 0);
}

TEST(check_order)
{
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CIDR4 | IW_POL_FRAG_DROP | IW_POL_CSUM_VERIFY;
	pol.max_size = 200;
	rule(1, IW_ACT_DROP);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	pol.type_rule[IW_FAM_ICMP][0] = 1;	/* non-first fragments have no type, not type 0 */
	CHECK_OK(cidr4(0, "203.0.113.0", 24, IW_CIDR_DENY));
	INSTALL();
	/* malformed before deny */
	BUILD(&f, .src = "203.0.113.1", .type = 8, .data = 56);
	iph(&f)->tot_len = htons(27);
	DROPS(&f, U4, IW_R_MALFORMED);
	/* ping of death before deny */
	BUILD(&f, .src = "203.0.113.1", .frag = 8191, .data = 8);
	DROPS(&f, U4, IW_R_POD);
	/* deny before fragments */
	BUILD(&f, .src = "203.0.113.1", .frag = F_MF, .type = 8, .data = 500);
	DROPS(&f, R4(8, 0), IW_R_DENY);
	/* fragments before max-size */
	BUILD(&f, .frag = 100, .data = 500);
	DROPS(&f, U4, IW_R_FRAGMENT);
	/* max-size before checksum */
	pol.flags &= ~IW_POL_FRAG_DROP;
	INSTALL();
	BUILD(&f, .type = 13, .data = 500);
	spoil_last_byte(&f);
	DROPS(&f, R4(13, 0), IW_R_OVERSIZE);
	/* max-size before the non-first fragment pass */
	BUILD(&f, .frag = 100, .data = 8);
	DROPS(&f, U4, IW_R_OVERSIZE);
	/* non-first fragment pass before checksum and rules */
	BUILD(&f, .frag = 10, .data = 8);
	PASSES(&f, U4, IW_R_FRAGMENT);
	/* checksum before the rule */
	BUILD(&f, .type = 8, .data = 56);
	spoil_last_byte(&f);
	DROPS(&f, R4(8, 0), IW_R_CSUM);
	BUILD(&f, .type = 8, .data = 56);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	/* a first fragment's checksum is not verified: the rule decides */
	BUILD(&f, .frag = F_MF, .type = 8, .data = 56);
	spoil_last_byte(&f);
	DROPS(&f, R4(8, 0), IW_R_POLICY);
	BUILD(&f, .frag = F_MF, .type = 13, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R4(13, 0), IW_R_NONE);
}

/* ---- checksums ------------------------------------------------------------------------ */

/* One message of each length in [from, to], good then spoiled three ways. */
static int csum_lengths(const char *file, int line, int v6, int tags, const struct ext *ext,
			int next, __u32 from, __u32 to)
{
	__u8 type = v6 ? 128 : 8;
	int row = v6 ? R6(128, 0) : R4(8, 0);
	struct frame f;

	fast = true;
	for (__u32 msg = from; msg <= to; msg++) {
		LABEL("%s %d tags %d ext, ICMP message of %u bytes", v6 ? "v6" : "v4", tags, next, msg);
		build(&f, &(struct spec){ .v6 = v6, .tags = tags, .ext = ext, .next = next,
					   .type = type, .data = msg - 8 });
		if (expect_run(file, line, f.d, f.len, XDP_PASS, row, IW_R_NONE))
			return -1;
		/* the last byte: the tail of the sum */
		spoil_last_byte(&f);
		if (expect_run(file, line, f.d, f.len, XDP_DROP, row, IW_R_CSUM))
			return -1;
		spoil_last_byte(&f);
		/* the checksum field */
		*icmp_csum(&f) ^= htons(0x0100);
		if (expect_run(file, line, f.d, f.len, XDP_DROP, row, IW_R_CSUM))
			return -1;
		*icmp_csum(&f) ^= htons(0x0100);
		/* the middle of the message */
		f.d[f.l4 + msg / 2] += 1;
		if (expect_run(file, line, f.d, f.len, XDP_DROP, row, IW_R_CSUM))
			return -1;
	}
	label[0] = 0;
	fast = false;
	/* and nothing but that row moved during the sweep */
	return verify_rows(file, line);
}

#define CSUM_LENGTHS(v6, tags, ext, next, from, to)					\
	do {										\
		if (csum_lengths(__FILE__, __LINE__, (v6), (tags), (ext), (next), (from), (to))) { \
			test_failed = true;						\
			return;								\
		}									\
	} while (0)

TEST(checksum_ipv4)
{
	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	/* 1..9 bytes of payload, and around every piece and chunk boundary */
	CSUM_LENGTHS(0, 0, NULL, 0, 8, 17);
	CSUM_LENGTHS(0, 1, NULL, 0, 8, 17);
	CSUM_LENGTHS(0, 2, NULL, 0, 8, 17);
	CSUM_LENGTHS(0, 0, NULL, 0, 250, 262);
	CSUM_LENGTHS(0, 0, NULL, 0, 505, 520);
	CSUM_LENGTHS(0, 1, NULL, 0, 1017, 1032);
	CSUM_LENGTHS(0, 0, NULL, 0, 1470, 1480);	/* up to a 1514-byte frame */
	CSUM_LENGTHS(0, 2, NULL, 0, 1470, 1480);
}

TEST(checksum_ipv4_every_length)
{
	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	CSUM_LENGTHS(0, 0, NULL, 0, 8, 1480);
}

TEST(checksum_ipv6)
{
	static const struct ext exts[] = {
		{ .type = IPPROTO_HOPOPTS, .len = 8 },
		{ .type = IPPROTO_AH, .len = 12 },		/* message at a 4-aligned offset */
		{ .type = IPPROTO_ROUTING, .len = 24 },
		{ .type = IPPROTO_DSTOPTS, .len = 16 },
	};

	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	CSUM_LENGTHS(1, 0, NULL, 0, 8, 17);
	CSUM_LENGTHS(1, 1, NULL, 0, 8, 17);
	CSUM_LENGTHS(1, 2, NULL, 0, 8, 17);
	CSUM_LENGTHS(1, 0, NULL, 0, 505, 520);
	CSUM_LENGTHS(1, 0, NULL, 0, 1017, 1032);
	CSUM_LENGTHS(1, 1, NULL, 0, 1450, 1460);	/* up to a 1518-byte tagged frame */
	/* behind extension headers: the pseudo-header length is the message's */
	for (int n = 1; n <= 4; n++) {
		CSUM_LENGTHS(1, 0, exts, n, 8, 17);
		CSUM_LENGTHS(1, 1, exts, n, 508, 516);
		CSUM_LENGTHS(1, 2, exts, n, 1020, 1028);
	}
	CSUM_LENGTHS(1, 0, exts, 4, 1460 - 60, 1460 - 60);
}

TEST(checksum_ipv6_every_length)
{
	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	CSUM_LENGTHS(1, 0, NULL, 0, 8, 1460);
}

TEST(checksum_ipv6_pseudo_header)
{
	static const struct ext hbh[] = { { .type = IPPROTO_HOPOPTS, .len = 8 } };
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	/* another source or destination than the one summed */
	ip6h(&f)->saddr.s6_addr[15] ^= 1;
	DROPS(&f, R6(128, 0), IW_R_CSUM);
	ip6h(&f)->saddr.s6_addr[15] ^= 1;
	ip6h(&f)->daddr.s6_addr[0] ^= 0x80;
	DROPS(&f, R6(128, 0), IW_R_CSUM);
	/* summed like ICMPv4, without the pseudo-header */
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	*icmp_csum(&f) = 0;
	*icmp_csum(&f) = csum(sum16(0, f.d + f.l4, f.len - f.l4));
	DROPS(&f, R6(128, 0), IW_R_CSUM);
	/* with the extension headers' length in the pseudo-header instead of the message's */
	BUILD(&f, .v6 = 1, .ext = hbh, .next = 1, .type = 128, .data = 56);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	{
		__u32 sum = sum16(0, &ip6h(&f)->saddr, 32) + (f.len - f.l4 + 8) + IPPROTO_ICMPV6;

		*icmp_csum(&f) = 0;
		*icmp_csum(&f) = csum(sum16(sum, f.d + f.l4, f.len - f.l4));
	}
	DROPS(&f, R6(128, 0), IW_R_CSUM);
}

TEST(checksum_padding_options_and_fragments)
{
	static const struct ext first[] = { { .type = IPPROTO_FRAGMENT, .more = 1 } };
	static const struct ext atomic[] = { { .type = IPPROTO_FRAGMENT } };
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CSUM_VERIFY;
	INSTALL();
	/* Ethernet padding is not summed */
	for (int tags = 0; tags <= 2; tags++) {
		for (int msg = 8; msg <= 13; msg++) {
			LABEL("%d tags, %d bytes + padding", tags, msg);
			BUILD(&f, .tags = tags, .type = 0, .data = msg - 8);
			fill(&f, 60 - f.len);
			PASSES(&f, R4(0, 0), IW_R_NONE);
			f.d[f.l4 + msg - 1] ^= 0x10;
			DROPS(&f, R4(0, 0), IW_R_CSUM);
			BUILD(&f, .v6 = 1, .tags = tags, .type = 129, .data = msg - 8);
			fill(&f, 17);
			PASSES(&f, R6(129, 0), IW_R_NONE);
			f.d[f.l4 + msg - 1] ^= 0x10;
			DROPS(&f, R6(129, 0), IW_R_CSUM);
		}
	}
	/* behind IPv4 options, every IHL and tag count */
	for (int tags = 0; tags <= 2; tags++) {
		for (int w = 0; w <= 10; w++) {
			LABEL("%d tags, IHL %d", tags, 5 + w);
			BUILD(&f, .tags = tags, .opt_words = w, .type = 8, .data = 11);
			PASSES(&f, R4(8, 0), IW_R_NONE);
			spoil_last_byte(&f);
			DROPS(&f, R4(8, 0), IW_R_CSUM);
		}
	}
	label[0] = 0;
	/* an all-zero message: checksum 0xffff */
	BUILD(&f, .type = 0, .data = 0);
	memset(f.d + f.l4, 0, 8);
	*icmp_csum(&f) = icmp_sum(&f, 8);
	CHECK_EQ(ntohs(*icmp_csum(&f)), 0xffff);
	PASSES(&f, R4(0, 0), IW_R_NONE);
	/* fragments are not verified, not even a v6 atomic fragment */
	BUILD(&f, .frag = F_MF, .type = 8, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = first, .next = 1, .type = 128, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .ext = atomic, .next = 1, .type = 128, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	/* without the flag, a bad checksum passes */
	pol.flags = 0;
	INSTALL();
	BUILD(&f, .type = 8, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R6(128, 0), IW_R_NONE);
	CHECK_OK(reset());
	BUILD(&f, .v6 = 1, .type = 128, .data = 56);
	spoil_last_byte(&f);
	PASSES(&f, R6(128, 0), IW_R_NONE);
}

/* ---- neighbour discovery -------------------------------------------------------------- */

TEST(nd_skips_lists_size_and_checksum)
{
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CIDR6 | IW_POL_FRAG_DROP | IW_POL_CSUM_VERIFY;
	pol.max_size = 48;
	CHECK_OK(cidr6(0, "::", 0, IW_CIDR_DENY));
	INSTALL();
	/* 133 .. 137, from a denied source, too long, with a bad checksum: pass */
	for (int t = 133; t <= 137; t++) {
		LABEL("type %d", t);
		BUILD(&f, .v6 = 1, .type = t, .data = 32);
		spoil_last_byte(&f);
		PASSES(&f, R6(t, 0), IW_R_NONE);
		BUILD(&f, .v6 = 1, .tags = 2, .type = t, .code = 1, .data = 32);
		PASSES(&f, R6(t, 1), IW_R_NONE);
	}
	/* the types around them, MLD and echo are denied */
	static const __u8 others[] = { 128, 130, 131, 132, 138, 143 };

	for (size_t i = 0; i < sizeof(others); i++) {
		LABEL("type %u", others[i]);
		BUILD(&f, .v6 = 1, .type = others[i], .data = 0);
		DROPS(&f, R6(others[i], 0), IW_R_DENY);
	}
	/* ICMPv4 types 133..137 are no ND */
	pol.flags |= IW_POL_CIDR4;
	CHECK_OK(cidr4(0, "0.0.0.0", 0, IW_CIDR_DENY));
	INSTALL();
	BUILD(&f, .type = 135, .data = 16);
	DROPS(&f, R4(135, 0), IW_R_DENY);
}

TEST(nd_obeys_rules_naming_it)
{
	struct frame f;

	BEGIN();
	pol.flags = IW_POL_CIDR6 | IW_POL_CSUM_VERIFY;
	pol.max_size = 48;
	/* an allowed source: ND skips the allow list too, the rule still applies */
	CHECK_OK(cidr6(0, "::", 0, IW_CIDR_ALLOW));
	rule(1, IW_ACT_DROP);
	rate_global(2, 5, 2);
	rule(3, IW_ACT_PASS);
	pol.type_rule[IW_FAM_ICMPV6][136] = 1;
	pol.type_rule[IW_FAM_ICMPV6][135] = 2;
	pol.type_rule[IW_FAM_ICMPV6][134] = 1;
	pol.type_codes[IW_FAM_ICMPV6][134] = 1 + 2;
	pol.code_rule[2][5] = 3;
	INSTALL();
	BUILD(&f, .v6 = 1, .type = 136, .data = 32);
	spoil_last_byte(&f);
	DROPS(&f, R6(136, 0), IW_R_POLICY);
	BUILD(&f, .v6 = 1, .type = 135, .data = 32);
	PASSES(&f, R6(135, 0), IW_R_NONE);
	PASSES(&f, R6(135, 0), IW_R_NONE);
	DROPS(&f, R6(135, 0), IW_R_RATE);
	BUILD(&f, .v6 = 1, .type = 134, .data = 32);
	DROPS(&f, R6(134, 0), IW_R_POLICY);
	BUILD(&f, .v6 = 1, .type = 134, .code = 5, .data = 32);
	PASSES(&f, R6(134, 5), IW_R_NONE);
	BUILD(&f, .v6 = 1, .type = 133, .data = 32);
	PASSES(&f, R6(133, 0), IW_R_NONE);
	/* echo from the same source is allowed */
	BUILD(&f, .v6 = 1, .type = 128, .data = 32);
	PASSES(&f, R6(128, 0), IW_R_ALLOW);
	/* per-source limits key ND by source as well */
	rule(2, IW_ACT_NONE);
	rate_source(2, 1, 128, 1);
	INSTALL();
	BUILD(&f, .v6 = 1, .src = "fe80::1", .type = 135, .data = 16);
	PASSES(&f, R6(135, 0), IW_R_NONE);
	DROPS(&f, R6(135, 0), IW_R_RATE);
	BUILD(&f, .v6 = 1, .src = "fe80::2", .type = 135, .data = 16);
	PASSES(&f, R6(135, 0), IW_R_NONE);
}

/* ---- the top switch ------------------------------------------------------------------- */

/* Sources in the top tables of every CPU (slots held). */
static int top_held(void)
{
	int fd = bpf_map__fd(skel->maps.iw_top), held = 0;
	struct iw_top_slot *v = pcpu_buf;

	for (__u32 k = 0; k < IW_TOP_SLOTS; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			return -1;
		for (int c = 0; c < ncpus; c++)
			held += v[c].fam != 0;
	}
	return held;
}

static int zero_top(void)
{
	return zero_pcpu(bpf_map__fd(skel->maps.iw_top), IW_TOP_SLOTS);
}

/* While top runs (conf.top), no fast word decides: every packet reaches the judge, which
 * tracks its source. A top that died leaves its deadline behind: the first packet past it
 * switches tracking off, and the fast words apply again. */
TEST(top_switch_sends_packets_to_the_judge)
{
	static struct iw_conf back;
	struct frame f;
	__u32 zero = 0;

	BEGIN();
	CHECK_OK(zero_top());
	rule(1, IW_ACT_PASS);
	pol.type_rule[IW_FAM_ICMP][8] = 1;
	INSTALL();
	BUILD(&f, .src = "198.51.100.7", .type = 8, .data = 56);
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(top_held(), 0);
	conf.top = 1;
	conf.top_until = ~0ULL;
	INSTALL();
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(top_held(), 1);
	/* past its deadline: the judge switches tracking off */
	conf.top_until = 1;
	INSTALL();
	CHECK_OK(zero_top());
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(top_held(), 0);
	CHECK_OK(bpf_map_lookup_elem(conf_fd, &zero, &back));
	CHECK_EQ(back.top, 0);
	CHECK_EQ(back.top_until, 0);
	CHECK_EQ(back.active, 0);
	/* and the fast word decides again: with top 0, a deadline set behind the CLI's back
	 * does not reach the judge's tracking (with ICMPWALL_TEST_SLOW there is no fast word:
	 * the judge tracks the packet) */
	back.top_until = ~0ULL;
	CHECK_OK(bpf_map_update_elem(conf_fd, &zero, &back, 0));
	PASSES(&f, R4(8, 0), IW_R_NONE);
	CHECK_EQ(conf.fast[IW_FAM_ICMP][8].word != 0, !judge_only());
	CHECK_EQ(top_held(), conf.fast[IW_FAM_ICMP][8].word ? 0 : 1);
}
