// SPDX-License-Identifier: GPL-2.0
/*
 * xdpgen.c - the flood benchmark's traffic generator, and its way of attaching the floor.
 *
 *   xdpgen send DEV DST_MAC SRC_IP DST_IP SECONDS [FRAME_BYTES]
 *       Sends ICMP echo requests out of DEV (an interface of the current network
 *       namespace) for SECONDS: BPF_PROG_TEST_RUN of an XDP_TX program with
 *       BPF_F_TEST_XDP_LIVE_FRAMES, at least 2^20 frames per call (doubled while a call
 *       takes under 0.4 s, up to 2^24), calls repeated until the time is up. On a veth the frames land in the peer's NAPI ring, and the peer's NAPI runs on
 *       this CPU right after each batch: pin this process and the receiving side is pinned
 *       with it. Prints one line: "frames N ns T calls C cpu N busy B softirq S total T
 *       other_busy B other_total T", the CPU figures being /proc/stat ticks (USER_HZ) over
 *       the sending loop: the pinned CPU's, and the other CPUs' summed; then "idle_us U", the time
 *       the pinned CPU idled over the loop (cpuidle residency, -1 if unknown), and
 *       "own_ns O", the CPU time of this thread plus that of the CPU's ksoftirqd over
 *       the loop (-1 if unknown): the work of sending and receiving, less what other tasks
 *       on the CPU took.
 *   xdpgen attach DEV drop|pass|touch [native|generic]
 *       Attaches the floor's XDP_DROP (or XDP_PASS, or the packet-reading floor) program to
 *       DEV through netlink; it stays
 *       attached after xdpgen exits, until `xdpgen detach DEV` (or `ip link set DEV xdp off`).
 *   xdpgen detach DEV
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "../unit/csum.h"

#define FRAMES_PER_CALL		(1u << 20)	/* the first call's; then doubled up to */
#define MAX_FRAMES_PER_CALL	(1u << 24)	/* while a call takes less than */
#define MIN_CALL_NS		4e8

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: xdpgen send DEV DST_MAC SRC_IP DST_IP SECONDS [FRAME_BYTES]\n"
			"       xdpgen attach DEV drop|pass|touch [native|generic]\n"
			"       xdpgen detach DEV\n");
	return 2;
}

static int dev_mac(const char *dev, unsigned char *mac)
{
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return err;
}

/* Busy, softirq and total ticks of CPU cpu, and busy and total of the other CPUs, from
 * /proc/stat (USER_HZ ticks; idle and iowait are not busy). */
struct cpu_ticks {
	unsigned long long busy, softirq, total, other_busy, other_total;
};

static void cpu_ticks(int cpu, struct cpu_ticks *t)
{
	unsigned long long v[10];
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	int n;

	memset(t, 0, sizeof(*t));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long sum = 0, idle;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		memset(v, 0, sizeof(v));
		if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &n,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) < 8)
			continue;
		for (int i = 0; i < 10; i++)
			sum += v[i];
		idle = v[3] + v[4];
		if (n == cpu) {
			t->busy = sum - idle;
			t->softirq = v[6];
			t->total = sum;
		} else {
			t->other_busy += sum - idle;
			t->other_total += sum;
		}
	}
	fclose(f);
}

/* Microseconds CPU cpu has spent idle, from cpuidle's residency counters; -1 when the
 * kernel has no cpuidle driver. */
static long long idle_us(int cpu)
{
	long long sum = 0, v;
	char path[128];
	int found = 0;

	for (int st = 0; st < 16; st++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/time",
			 cpu, st);
		f = fopen(path, "r");
		if (!f)
			break;
		if (fscanf(f, "%lld", &v) == 1) {
			sum += v;
			found = 1;
		}
		fclose(f);
	}
	return found ? sum : -1;
}

/* The pid of ksoftirqd/cpu, or 0. */
static int ksoftirqd_pid(int cpu)
{
	char want[32], path[300], comm[64];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int pid = 0;

	if (!d)
		return 0;
	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	while (!pid && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			pid = atoi(de->d_name);
		fclose(f);
	}
	closedir(d);
	return pid;
}

/* Nanoseconds task pid has run (the first field of its schedstat); 0 when unknown. */
static double task_run_ns(int pid)
{
	char path[64];
	double v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lf", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmd_send(int argc, char **argv)
{
	unsigned char frame[1514] = {}, *icmp;
	struct ethhdr *eth = (struct ethhdr *)frame;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	unsigned int len = argc > 6 ? atoi(argv[6]) : 64, ifindex;
	double secs = atof(argv[5]), t0, t = 0;
	unsigned long long frames = 0, calls = 0;
	__u32 repeat = FRAMES_PER_CALL;
	long long idle0, idle1;
	double own0, own1;
	int ksoft;
	struct bench_floor *fl;
	struct cpu_ticks c0, c1;
	struct xdp_md ctx = {};
	int err, cpu;

	if (len < sizeof(*eth) + sizeof(*ip) + 8 || len > sizeof(frame) || secs <= 0)
		return usage();
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "xdpgen: no interface %s\n", argv[1]);
		return 1;
	}
	if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &eth->h_dest[0], &eth->h_dest[1],
		   &eth->h_dest[2], &eth->h_dest[3], &eth->h_dest[4], &eth->h_dest[5]) != 6) {
		fprintf(stderr, "xdpgen: bad MAC %s\n", argv[2]);
		return 2;
	}
	if (dev_mac(argv[1], eth->h_source)) {
		fprintf(stderr, "xdpgen: %s: no MAC address: %s\n", argv[1], strerror(errno));
		return 1;
	}
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len - sizeof(*eth));
	ip->id = htons(1);
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	if (inet_pton(AF_INET, argv[3], &ip->saddr) != 1 ||
	    inet_pton(AF_INET, argv[4], &ip->daddr) != 1) {
		fprintf(stderr, "xdpgen: bad IPv4 address\n");
		return 2;
	}
	ip->check = csum(sum16(0, ip, sizeof(*ip)));
	icmp = (unsigned char *)(ip + 1);
	icmp[0] = 8;				/* echo request */
	icmp[4] = 0x42, icmp[5] = 0x42;		/* identifier */
	icmp[7] = 1;				/* sequence */
	for (unsigned int i = 8; i < len - sizeof(*eth) - sizeof(*ip); i++)
		icmp[i] = (unsigned char)i;
	*(unsigned short *)(icmp + 2) = csum(sum16(0, icmp, len - sizeof(*eth) - sizeof(*ip)));

	fl = bench_floor__open_and_load();
	if (!fl) {
		fprintf(stderr, "xdpgen: cannot load the XDP_TX program: %s\n", strerror(errno));
		return 1;
	}
	ctx.ingress_ifindex = ifindex;
	ctx.data_end = len;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	cpu = sched_getcpu();
	ksoft = ksoftirqd_pid(cpu);
	cpu_ticks(cpu, &c0);
	idle0 = idle_us(cpu);
	own0 = thread_ns() + (ksoft ? task_run_ns(ksoft) : 0);
	t0 = now_ns();
	do {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .repeat = repeat, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
		double tc = now_ns();

		err = bpf_prog_test_run_opts(bpf_program__fd(fl->progs.bench_tx), &o);
		if (err && stop)
			break;		/* interrupted: the caller is tearing down */
		if (err) {
			fprintf(stderr, "xdpgen: test_run (live frames): %s\n", strerror(errno));
			bench_floor__destroy(fl);
			return 1;
		}
		frames += repeat;
		calls++;
		t = now_ns();
		/* Every call costs two RCU grace periods (the kernel swaps the program into its
		 * XDP dispatcher and back) during which this CPU idles: calls of about half a
		 * second keep that small. */
		if (t - tc < MIN_CALL_NS && repeat < MAX_FRAMES_PER_CALL)
			repeat *= 2;
	} while (!stop && t - t0 < secs * 1e9);
	own1 = thread_ns() + (ksoft ? task_run_ns(ksoft) : 0);
	idle1 = idle_us(cpu);
	cpu_ticks(cpu, &c1);
	printf("frames %llu ns %.0f calls %llu cpu %d busy %llu softirq %llu total %llu "
	       "other_busy %llu other_total %llu idle_us %lld own_ns %.0f\n", frames, t - t0,
	       calls, cpu, c1.busy - c0.busy, c1.softirq - c0.softirq, c1.total - c0.total,
	       c1.other_busy - c0.other_busy, c1.other_total - c0.other_total,
	       idle0 >= 0 && idle1 >= 0 ? idle1 - idle0 : -1LL, ksoft ? own1 - own0 : -1.0);
	bench_floor__destroy(fl);
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	unsigned int ifindex = if_nametoindex(argv[1]);
	__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
	struct bench_floor *fl;
	int fd, err;

	if (!ifindex) {
		fprintf(stderr, "xdpgen: no interface %s\n", argv[1]);
		return 1;
	}
	flags |= argc > 3 && !strcmp(argv[3], "generic") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fl = bench_floor__open_and_load();
	if (!fl) {
		fprintf(stderr, "xdpgen: cannot load the floor: %s\n", strerror(errno));
		return 1;
	}
	fd = bpf_program__fd(!strcmp(argv[2], "pass") ? fl->progs.bench_pass :
			     !strcmp(argv[2], "touch") ? fl->progs.bench_touch : fl->progs.bench_drop);
	err = bpf_xdp_attach(ifindex, fd, flags, NULL);
	if (err)
		fprintf(stderr, "xdpgen: attach to %s: %s\n", argv[1], strerror(-err));
	bench_floor__destroy(fl);	/* the attachment keeps the program */
	return err ? 1 : 0;
}

static int cmd_detach(char **argv)
{
	unsigned int ifindex = if_nametoindex(argv[1]);

	if (!ifindex)
		return 1;
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (argc >= 4 && !strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "detach"))
		return cmd_detach(argv + 1);
	return usage();
}
