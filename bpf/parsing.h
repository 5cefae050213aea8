/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounded, verifier-friendly header parsing for the XDP program.
 *
 * A cursor walks the frame. cursor_pull() checks that the header it returns lies wholly
 * inside [data, data_end) and advances the cursor past it, or returns NULL and leaves the
 * cursor where it was; parse_ethernet() returns the EtherType after the tags, or 0 (the
 * cursor then somewhere in the headers) when they do not fit. Loops over VLAN tags and
 * IPv6 extension headers have fixed bounds.
 */
#ifndef ICMPWALL_PARSING_H
#define ICMPWALL_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <asm-generic/errno-base.h>

#define IW_MAX_VLAN		2	/* 802.1Q and 802.1ad (QinQ) */

#ifndef READ_ONCE
#define READ_ONCE(x)		(*(volatile typeof(x) *)&(x))
#endif
#ifndef WRITE_ONCE
#define WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))
#endif
#define IW_MAX_EXTHDR		8	/* IPv6 extension headers walked before giving up */

#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC		1	/* <time.h> is not for the BPF target */
#endif

#ifndef ETH_P_8021AD
#define ETH_P_8021AD		0x88A8
#endif

struct hdr_cursor {
	void *pos;
	void *end;
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* The first 8 bytes that every ICMP and ICMPv6 message has. */
struct icmp_common {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

/* Returns a pointer to len bytes at the cursor and moves past them, or NULL. */
static __always_inline void *cursor_pull(struct hdr_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

static __always_inline __u32 cursor_left(const struct hdr_cursor *c)
{
	return c->end - c->pos;
}

/* Ethernet plus up to IW_MAX_VLAN tags. Returns the inner ethertype (network order), or 0
 * when the frame is cut short or carries more tags than we walk. */
static __always_inline __be16 parse_ethernet(struct hdr_cursor *c)
{
	struct ethhdr *eth = cursor_pull(c, sizeof(*eth));
	__be16 proto;
	int i;

	if (!eth)
		return 0;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < IW_MAX_VLAN; i++) {
		struct vlan_hdr *vlan;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = cursor_pull(c, sizeof(*vlan));
		if (!vlan)
			return 0;
		proto = vlan->proto;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return 0;
	return proto;
}

#endif /* ICMPWALL_PARSING_H */
