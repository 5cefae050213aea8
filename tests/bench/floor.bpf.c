// SPDX-License-Identifier: GPL-2.0
/*
 * floor.bpf.c - the trivial XDP programs the benchmarks measure icmpwall against.
 *
 *   bench_drop  XDP_DROP: the floor, the least any XDP program can cost
 *   bench_pass  XDP_PASS: for reference
 *   bench_touch reads the Ethernet type and the IPv4 protocol, drops ICMP, passes the rest:
 *               the least a filter that looks at the packet can cost (the floor never
 *               touches the packet's bytes, which on a real receive path may not be in cache)
 *   bench_tx    XDP_TX: the flood generator, run with BPF_F_TEST_XDP_LIVE_FRAMES so that
 *               every run of it sends the test frame out of the device it is "received" on
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char _license[] SEC("license") = "GPL";

SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_touch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)(ip + 1) > data_end || *(__be16 *)(data + 12) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return ip->protocol == IPPROTO_ICMP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int bench_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}
