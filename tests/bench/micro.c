// SPDX-License-Identifier: GPL-2.0
/*
 * micro.c - the micro benchmark of the XDP program: ns per packet by packet class.
 *
 * The real program (build/icmpwall.skel.h) and a trivial XDP_DROP program (the floor,
 * tests/bench/floor.bpf.c) run the same frame with BPF_PROG_TEST_RUN, REPEAT times each,
 * back to back, in ROUNDS interleaved rounds (the floor first in even rounds, icmpwall first
 * in odd ones, so that a drift of the machine charges both alike). Each class installs its
 * own policy the way the CLI does (policy_parse_buf + iw_policy_install: a compiled policy
 * written to the copy of iw_conf not in force, with its fast words, then flipped in), and
 * drains its bucket first where the class is about an empty one.
 *
 * The time of one run is the CPU time of this thread across the syscall, divided by
 * REPEAT: nanosecond clock, sub-nanosecond resolution per packet, and time spent
 * descheduled does not count. The kernel's own figure (test_run's duration: whole ns per
 * run, truncated) is kept beside it in the JSON as a cross-check.
 *
 * Per class it reports the medians over the rounds of: ns per packet of the floor and of
 * icmpwall, the paired delta (icmpwall - floor, ns) and the paired ratio (icmpwall/floor),
 * with min and max over the rounds.
 *
 *   build/bench/micro [-j FILE] [CLASS...]
 *   env: BENCH_REPEAT (default 10000000), BENCH_ROUNDS (default 7, at least 5),
 *        BENCH_QUICK=1 (repeat 1000000, 5 rounds), BENCH_CPU (CPU to run on; default
 *        the last one)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "log.h"
#include "maps.h"
#include "policy.h"
#include "icmpwall.h"
#include "icmpwall.skel.h"
#include "floor.skel.h"
#include "../unit/csum.h"

#define FRAME_MAX	2048
#define MAX_ROUNDS	101

/* ---- frames --------------------------------------------------------------------------- */

struct frame {
	unsigned char d[FRAME_MAX];
	unsigned int len;
};

static const unsigned char mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const unsigned char mac_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static void *eth(struct frame *f, unsigned short proto)
{
	struct ethhdr *e = (struct ethhdr *)f->d;

	memset(f, 0, sizeof(*f));
	memcpy(e->h_dest, mac_dst, 6);
	memcpy(e->h_source, mac_src, 6);
	e->h_proto = htons(proto);
	f->len = sizeof(*e);
	return f->d + f->len;
}

/* IPv4 header with payload bytes after it; frag = flags | offset in 8-byte units. */
static struct iphdr *ipv4(struct frame *f, unsigned char proto, unsigned int payload,
			  unsigned short frag)
{
	struct iphdr *ip = eth(f, ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + payload);
	ip->id = htons(0x4242);
	ip->frag_off = htons(frag);
	ip->ttl = 64;
	ip->protocol = proto;
	inet_pton(AF_INET, "192.0.2.1", &ip->saddr);
	inet_pton(AF_INET, "192.0.2.2", &ip->daddr);
	ip->check = csum(sum16(0, ip, sizeof(*ip)));
	f->len += sizeof(*ip) + payload;
	for (unsigned int i = 0; i < payload; i++)
		f->d[f->len - payload + i] = (unsigned char)(i * 7 + 3);
	return ip;
}

/* An ICMP echo request of icmp_len bytes (8-byte header included). */
static void echo4(struct frame *f, unsigned int icmp_len)
{
	struct iphdr *ip = ipv4(f, IPPROTO_ICMP, icmp_len, 0);
	unsigned char *icmp = (unsigned char *)(ip + 1);

	icmp[0] = 8;	/* echo request */
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	icmp[4] = 0x12, icmp[5] = 0x34;	/* id */
	icmp[6] = 0, icmp[7] = 1;	/* sequence */
	*(unsigned short *)(icmp + 2) = csum(sum16(0, icmp, icmp_len));
}

static void tcp_syn(struct frame *f)
{
	struct iphdr *ip = ipv4(f, IPPROTO_TCP, sizeof(struct tcphdr), 0);
	struct tcphdr *t = (struct tcphdr *)(ip + 1);

	memset(t, 0, sizeof(*t));
	t->source = htons(40000);
	t->dest = htons(443);
	t->seq = htonl(1);
	t->doff = 5;
	t->syn = 1;
	t->window = htons(64240);
	f->len = 60;	/* Ethernet minimum, padded */
}

static void udp(struct frame *f)
{
	struct iphdr *ip = ipv4(f, IPPROTO_UDP, 30, 0);
	struct udphdr *u = (struct udphdr *)(ip + 1);

	u->source = htons(40000);
	u->dest = htons(53);
	u->len = htons(30);
	u->check = 0;
}

/* A non-first fragment of an ICMP datagram: offset 1480 bytes, last, 64 bytes of data. */
static void frag_nonfirst(struct frame *f)
{
	ipv4(f, IPPROTO_ICMP, 64, 1480 / 8);
}

/* ICMPv6 echo request behind a hop-by-hop and a destination options header. */
static void echo6_ext2(struct frame *f)
{
	struct ipv6hdr *ip6 = eth(f, ETH_P_IPV6);
	unsigned char *p = (unsigned char *)(ip6 + 1), *icmp;
	unsigned int icmp_len = 64, plen = 8 + 8 + icmp_len, sum = 0;

	ip6->version = 6;
	ip6->payload_len = htons(plen);
	ip6->nexthdr = IPPROTO_HOPOPTS;
	ip6->hop_limit = 64;
	inet_pton(AF_INET6, "2001:db8::1", &ip6->saddr);
	inet_pton(AF_INET6, "2001:db8::2", &ip6->daddr);
	p[0] = IPPROTO_DSTOPTS;	/* hop-by-hop: next header, length 0 (8 bytes), PadN */
	p[1] = 0;
	p[2] = 1, p[3] = 4;
	p += 8;
	p[0] = IPPROTO_ICMPV6;	/* destination options */
	p[1] = 0;
	p[2] = 1, p[3] = 4;
	icmp = p + 8;
	icmp[0] = 128;		/* echo request */
	icmp[4] = 0x12, icmp[5] = 0x34, icmp[7] = 1;
	for (unsigned int i = 8; i < icmp_len; i++)
		icmp[i] = (unsigned char)(i * 7 + 3);
	sum = sum16(sum, &ip6->saddr, 32);
	sum += icmp_len;
	sum += IPPROTO_ICMPV6;
	*(unsigned short *)(icmp + 2) = csum(sum16(sum, icmp, icmp_len));
	f->len = sizeof(struct ethhdr) + sizeof(*ip6) + plen;
}

static void echo_98(struct frame *f) { echo4(f, 64); }		/* ping's default: 56 data */
static void echo_1514(struct frame *f) { echo4(f, 1480); }	/* IP datagram of 1500 */

/* ---- classes -------------------------------------------------------------------------- */

/* The policy every class runs under: rules on other types, a size limit, fragments
 * passed. Nothing on echo requests unless the class adds it. */
static const char base_policy[] =
	"drop icmp timestamp-request\n"
	"drop icmp address-mask-request\n"
	"drop icmp redirect\n"
	"rate icmp destination-unreachable 1000/second burst 200\n"
	"rate icmp time-exceeded 200/second\n"
	"rate icmpv6 packet-too-big 1000/second\n"
	"rate icmpv6 destination-unreachable 1000/second\n"
	"max-size 9216\n"
	"fragments pass\n";

enum prog_kind { P_ICMPWALL, P_PASS };

struct klass {
	const char *name;
	const char *desc;
	void (*build)(struct frame *f);
	const char *extra;	/* statements added to base_policy */
	__u32 want;		/* expected verdict */
	bool drain;		/* take the bucket's one token before timing */
	double target;		/* the project's target for the median delta, ns; 0: none */
	enum prog_kind prog;	/* what runs against the floor */
	const char *vs;		/* name of a class whose delta this one's is compared with */
};

#define C(...)	{ __VA_ARGS__ }
static const struct klass classes[] = {
	C(.name = "tcp_syn", .desc = "TCP SYN, 60 B (non-ICMP)", .build = tcp_syn,
	  .want = XDP_PASS, .target = 1.0),
	C(.name = "udp", .desc = "UDP, 64 B (non-ICMP)", .build = udp, .want = XDP_PASS,
	  .target = 1.0),
	C(.name = "echo_pass", .desc = "ICMP echo request, 98 B, no rule: counted, passed",
	  .build = echo_98, .want = XDP_PASS, .target = 4.0),
	C(.name = "echo_flood_global",
	  .desc = "ICMP echo, global rate 1/minute burst 1, bucket empty: dropped",
	  .build = echo_98, .extra = "rate icmp echo-request 1/minute burst 1\n",
	  .want = XDP_DROP, .drain = true, .target = 8.0),
	C(.name = "echo_flood_src",
	  .desc = "ICMP echo, per-source rate 1/minute burst 1, bucket empty: dropped",
	  .build = echo_98, .extra = "rate icmp echo-request 1/minute burst 1 per-source\n",
	  .want = XDP_DROP, .drain = true, .target = 25.0),
	C(.name = "echo_1500", .desc = "ICMP echo, 1514 B frame, checksum ignore: passed",
	  .build = echo_1514, .want = XDP_PASS),
	C(.name = "echo_1500_csum", .desc = "ICMP echo, 1514 B frame, checksum verify: passed",
	  .build = echo_1514, .extra = "checksum verify\n", .want = XDP_PASS, .vs = "echo_1500"),
	C(.name = "echo6_ext2",
	  .desc = "ICMPv6 echo behind hop-by-hop + dest-opts, 134 B: counted, passed",
	  .build = echo6_ext2, .want = XDP_PASS),
	C(.name = "frag_nonfirst", .desc = "IPv4 ICMP non-first fragment, 98 B: counted, passed",
	  .build = frag_nonfirst, .want = XDP_PASS),
	C(.name = "echo_cidr",
	  .desc = "ICMP echo, allow and deny lists in force (LPM trie lookup): passed",
	  .build = echo_98, .extra = "deny 203.0.113.0/24\nallow 198.51.100.0/24\n",
	  .want = XDP_PASS),
	C(.name = "xdp_pass_ref", .desc = "reference: a bare XDP_PASS program, 98 B echo",
	  .build = echo_98, .want = XDP_PASS, .prog = P_PASS),
};
#define NCLASSES	(sizeof(classes) / sizeof(classes[0]))

/* ---- the kernel side ------------------------------------------------------------------ */

static struct icmpwall_bpf *skel;
static struct bench_floor *fl;
static struct iw_dev dev;

static int load(void)
{
	struct bpf_map *m;

	skel = icmpwall_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->iw_ncpus = libbpf_num_possible_cpus();
	if (icmpwall_bpf__load(skel))
		return -errno;
	fl = bench_floor__open_and_load();
	if (!fl)
		return -errno;
	iw_dev_init(&dev);
	snprintf(dev.name, sizeof(dev.name), "bench");
	for (int i = 0; i < IWM_COUNT; i++) {
		m = bpf_object__find_map_by_name(skel->obj, iw_map_names[i]);
		if (!m)
			return -ENOENT;
		dev.fds[i] = dup(bpf_map__fd(m));
	}
	dev.meta.hz = iw_kernel_hz();
	if (!dev.meta.hz) {
		fprintf(stderr, "micro: cannot read CONFIG_HZ; assuming 1000\n");
		dev.meta.hz = 1000;
	}
	return 0;
}

static int install(const struct klass *k)
{
	char buf[4096], err[POL_ERR_LEN];
	struct policy p;
	int ret;

	snprintf(buf, sizeof(buf), "%s%s", base_policy, k->extra ? k->extra : "");
	policy_init(&p);
	ret = policy_parse_buf(&p, k->name, buf, strlen(buf), err, sizeof(err), NULL);
	if (!ret)
		ret = iw_policy_install(&dev, &p, err, sizeof(err));
	if (ret)
		fprintf(stderr, "micro: %s: policy: %s\n", k->name, err);
	policy_free(&p);
	return ret;
}

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct sample {
	double ns;		/* thread CPU time per packet */
	__u32 kdur;		/* test_run's duration: ns per run, truncated */
	__u32 ret;
};

static int run(int fd, const struct frame *f, __u32 repeat, struct sample *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->d, .data_size_in = f->len,
		    .repeat = repeat);
	double t0, t1;
	int err;

	t0 = thread_ns();
	err = bpf_prog_test_run_opts(fd, &o);
	t1 = thread_ns();
	if (err)
		return -errno;
	s->ns = (t1 - t0) / repeat;
	s->kdur = o.duration;
	s->ret = o.retval;
	return 0;
}

/* ---- statistics ----------------------------------------------------------------------- */

struct stat3 {
	double med, min, max;
};

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stat3 stat3(const double *v, int n)
{
	double s[MAX_ROUNDS];
	struct stat3 r;

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_dbl);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

struct result {
	double floor_ns[MAX_ROUNDS], iw_ns[MAX_ROUNDS], delta[MAX_ROUNDS], ratio[MAX_ROUNDS];
	double floor_k[MAX_ROUNDS], iw_k[MAX_ROUNDS];
	bool run;
};

static struct result res[NCLASSES];

static const struct klass *find_class(const char *name)
{
	for (size_t i = 0; i < NCLASSES; i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	return NULL;
}

/* For a class compared with another (k->vs): its time less the other's, round by round.
 * False when there is no such class or it did not run. */
static bool vs_delta(const struct klass *k, const struct result *r, int rounds, struct stat3 *out)
{
	const struct klass *v = k->vs ? find_class(k->vs) : NULL;
	double x[MAX_ROUNDS];

	if (!v || !res[v - classes].run)
		return false;
	for (int n = 0; n < rounds; n++)
		x[n] = r->iw_ns[n] - res[v - classes].iw_ns[n];
	*out = stat3(x, rounds);
	return true;
}

static void json_stat(FILE *o, const char *key, struct stat3 s, const char *tail)
{
	fprintf(o, "\"%s\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}%s", key, s.med,
		s.min, s.max, tail);
}

static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', o);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, o);
	}
	fputc('"', o);
}

static void cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, len, "%s", c + 2);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	fclose(f);
}

static void report(FILE *o, FILE *j, __u32 repeat, int rounds, int cpu)
{
	struct utsname u;
	char model[256];
	bool first = true;

	uname(&u);
	cpu_model(model, sizeof(model));
	fprintf(o, "\nmicro: BPF_PROG_TEST_RUN, %u runs per sample, %d rounds, CPU %d; "
		"ns per packet (thread CPU time / runs)\n", repeat, rounds, cpu);
	fprintf(o, "floor = bare XDP_DROP on the same frame; delta = icmpwall - floor (paired per "
		"round); median [min..max] over rounds\n\n");
	fprintf(o, "%-18s %8s %8s %24s %22s %7s  %s\n", "class", "floor", "icmpwall",
		"delta ns [min..max]", "ratio [min..max]", "target", "");
	for (size_t i = 0; i < NCLASSES; i++) {
		const struct klass *k = &classes[i];
		struct result *r = &res[i];
		struct stat3 f, w, d, q, vs;
		char tgt[16] = "-", verdict[32] = "", dd[40], rr[40];

		if (!r->run)
			continue;
		f = stat3(r->floor_ns, rounds);
		w = stat3(r->iw_ns, rounds);
		d = stat3(r->delta, rounds);
		q = stat3(r->ratio, rounds);
		if (k->target > 0) {
			snprintf(tgt, sizeof(tgt), "%.0f", k->target);
			snprintf(verdict, sizeof(verdict), "%s", d.med <= k->target ? "meets" : "MISSES");
		}
		if (vs_delta(k, r, rounds, &vs))
			snprintf(verdict, sizeof(verdict), "+%.1f ns vs %s", vs.med, k->vs);
		snprintf(dd, sizeof(dd), "%+.2f [%+.2f..%+.2f]", d.med, d.min, d.max);
		snprintf(rr, sizeof(rr), "%.2f [%.2f..%.2f]", q.med, q.min, q.max);
		fprintf(o, "%-18s %8.2f %8.2f %24s %22s %7s  %s\n", k->name, f.med, w.med, dd, rr,
			tgt, verdict);
	}
	fprintf(o, "\n");
	for (size_t i = 0; i < NCLASSES; i++)
		if (res[i].run)
			fprintf(o, "  %-18s %s\n", classes[i].name, classes[i].desc);
	if (!j)
		return;

	fprintf(j, "{\n  \"benchmark\": \"micro\",\n  \"method\": \"BPF_PROG_TEST_RUN, paired "
		"with a bare XDP_DROP program, thread CPU time per packet\",\n");
	fprintf(j, "  \"kernel\": ");
	json_str(j, u.release);
	fprintf(j, ",\n  \"cpu_model\": ");
	json_str(j, model);
	fprintf(j, ",\n  \"cpu\": %d,\n  \"repeat\": %u,\n  \"rounds\": %d,\n  \"hz\": %u,\n",
		cpu, repeat, rounds, dev.meta.hz);
	fprintf(j, "  \"base_policy\": ");
	json_str(j, base_policy);
	fprintf(j, ",\n  \"classes\": [");
	for (size_t i = 0; i < NCLASSES; i++) {
		const struct klass *k = &classes[i];
		struct result *r = &res[i];
		struct stat3 vs;

		if (!r->run)
			continue;
		fprintf(j, "%s\n    {\"name\": \"%s\", \"description\": ", first ? "" : ",", k->name);
		first = false;
		json_str(j, k->desc);
		fprintf(j, ", \"program\": \"%s\", \"extra_policy\": ",
			k->prog == P_PASS ? "xdp_pass" : "icmpwall");
		json_str(j, k->extra ? k->extra : "");
		fprintf(j, ", \"verdict\": \"%s\",\n     ", k->want == XDP_DROP ? "drop" : "pass");
		json_stat(j, "floor_ns", stat3(r->floor_ns, rounds), ", ");
		json_stat(j, "icmpwall_ns", stat3(r->iw_ns, rounds), ",\n     ");
		json_stat(j, "delta_ns", stat3(r->delta, rounds), ", ");
		json_stat(j, "ratio", stat3(r->ratio, rounds), ",\n     ");
		json_stat(j, "kernel_duration_floor_ns", stat3(r->floor_k, rounds), ", ");
		json_stat(j, "kernel_duration_icmpwall_ns", stat3(r->iw_k, rounds), ",\n     ");
		if (k->target > 0)
			fprintf(j, "\"target_delta_ns\": %.1f, \"meets_target\": %s, ", k->target,
				stat3(r->delta, rounds).med <= k->target ? "true" : "false");
		if (vs_delta(k, r, rounds, &vs)) {
			fprintf(j, "\"vs\": \"%s\", ", k->vs);
			json_stat(j, "delta_vs_ns", vs, ", ");
		}
		fprintf(j, "\"rounds_delta_ns\": [");
		for (int n = 0; n < rounds; n++)
			fprintf(j, "%s%.3f", n ? ", " : "", r->delta[n]);
		fprintf(j, "]}");
	}
	fprintf(j, "\n  ]\n}\n");
}

/* ---- main ----------------------------------------------------------------------------- */

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

int main(int argc, char **argv)
{
	bool quick = env_long("BENCH_QUICK", 0) > 0, want[NCLASSES];
	__u32 repeat = env_long("BENCH_REPEAT", quick ? 1000000 : 10000000);
	int rounds = env_long("BENCH_ROUNDS", quick ? 5 : 7);
	int cpu = env_long("BENCH_CPU", sysconf(_SC_NPROCESSORS_ONLN) - 1), nwant = 0;
	const char *json = NULL;
	struct frame frames[NCLASSES];
	cpu_set_t set;
	FILE *j = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") && i + 1 < argc) {
			json = argv[++i];
			continue;
		}
		if (!find_class(argv[i])) {
			fprintf(stderr, "micro: no class '%s'; classes:", argv[i]);
			for (size_t c = 0; c < NCLASSES; c++)
				fprintf(stderr, " %s", classes[c].name);
			fprintf(stderr, "\n");
			return 2;
		}
		nwant++;
	}
	for (size_t c = 0; c < NCLASSES; c++) {
		want[c] = !nwant;
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], classes[c].name))
				want[c] = true;
	}
	if (rounds < 5)
		rounds = 5;
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	if (repeat < 1000)
		repeat = 1000;

	log_init();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "micro: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
	if (load()) {
		fprintf(stderr, "micro: cannot load the programs (root needed): %s\n",
			strerror(errno));
		return 1;
	}
	for (size_t c = 0; c < NCLASSES; c++)
		classes[c].build(&frames[c]);

	int iw_fd = bpf_program__fd(skel->progs.icmpwall);
	int floor_fd = bpf_program__fd(fl->progs.bench_drop);
	int pass_fd = bpf_program__fd(fl->progs.bench_pass);

	fprintf(stderr, "micro: %u runs per sample, %d rounds, CPU %d, HZ %u\n", repeat, rounds,
		cpu, dev.meta.hz);
	for (int r = 0; r < rounds; r++) {
		fprintf(stderr, "  round %d/%d\n", r + 1, rounds);
		for (size_t c = 0; c < NCLASSES; c++) {
			const struct klass *k = &classes[c];
			int fd = k->prog == P_PASS ? pass_fd : iw_fd;
			struct sample sf, sw, tmp;

			if (!want[c])
				continue;
			if (install(k))
				return 1;
			/* warm up (and, where the class wants it, empty the bucket) */
			if (run(fd, &frames[c], repeat / 100, &tmp) || run(floor_fd, &frames[c], repeat / 100, &tmp)) {
				fprintf(stderr, "micro: %s: test_run: %s\n", k->name, strerror(errno));
				return 1;
			}
			if (k->drain)
				for (int n = 0; n < 3; n++)
					if (run(fd, &frames[c], 1, &tmp) || tmp.ret == XDP_DROP)
						break;
			if (r & 1) {
				if (run(fd, &frames[c], repeat, &sw) || run(floor_fd, &frames[c], repeat, &sf))
					return 1;
			} else {
				if (run(floor_fd, &frames[c], repeat, &sf) || run(fd, &frames[c], repeat, &sw))
					return 1;
			}
			if (sw.ret != k->want || sf.ret != XDP_DROP) {
				fprintf(stderr, "micro: %s: verdict %u, expected %u (floor %u)\n", k->name,
					sw.ret, k->want, sf.ret);
				return 1;
			}
			res[c].run = true;
			res[c].floor_ns[r] = sf.ns;
			res[c].iw_ns[r] = sw.ns;
			res[c].delta[r] = sw.ns - sf.ns;
			res[c].ratio[r] = sw.ns / sf.ns;
			res[c].floor_k[r] = sf.kdur;
			res[c].iw_k[r] = sw.kdur;
		}
	}
	if (json && !(j = fopen(json, "w"))) {
		fprintf(stderr, "micro: %s: %s\n", json, strerror(errno));
		return 1;
	}
	report(stdout, j, repeat, rounds, cpu);
	if (j)
		fclose(j);
	iw_dev_close(&dev);
	bench_floor__destroy(fl);
	icmpwall_bpf__destroy(skel);
	return 0;
}
