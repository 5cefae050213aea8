// SPDX-License-Identifier: GPL-2.0
/*
 * top.c - `icmpwall top DEV [-n N] [--interval S] [--json]`: the heaviest ICMP sources over
 * an interval. Tracking runs only while a top runs (iw_conf.top, top_until); each CPU
 * keeps a HeavyKeeper table (include/icmpwall.h), merged here.
 *
 * How exact: a source that held its slot for the whole interval is counted exactly (the
 * "seen" counter is never decayed). A source can lose its slot only to another source
 * that hashes to the same slot on the same CPU and outweighs it, and then is undercounted
 * or missing; with 4096 slots per CPU that takes a collision with a heavier source.
 */
#include "apply.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "maps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct talker {
	__u32 fam;		/* 1 + enum iw_family */
	__u8 addr[16];
	__u64 packets;
	__u64 drops;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int set_until(const struct iw_dev *d, __u64 until)
{
	struct iw_conf *conf = iw_conf_map(d);

	if (!conf)
		return -errno;
	/* the deadline first, then the switch that sends every packet to the judge; the other
	 * way round to stop */
	if (until) {
		__atomic_store_n(&conf->top_until, until, __ATOMIC_RELEASE);
		__atomic_store_n(&conf->top, 1, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&conf->top, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&conf->top_until, 0, __ATOMIC_RELEASE);
	}
	iw_conf_unmap(conf);
	return 0;
}

/* Empties every CPU's table: counts start with this interval. */
static int clear_table(const struct iw_dev *d, int ncpu)
{
	struct iw_top_slot *zero = calloc(ncpu, sizeof(*zero));
	int err = 0;

	if (!zero)
		return -ENOMEM;
	for (__u32 k = 0; k < IW_TOP_SLOTS && !err; k++)
		if (bpf_map_update_elem(d->fds[IWM_TOP], &k, zero, BPF_ANY))
			err = -errno;
	free(zero);
	return err;
}

static int by_packets(const void *a, const void *b)
{
	const struct talker *x = a, *y = b;

	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static int by_key(const void *a, const void *b)
{
	const struct talker *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* Reads every CPU's slots and merges them by source. Returns the number of sources. */
static int collect(const struct iw_dev *d, int ncpu, struct talker **out)
{
	struct iw_top_slot *vals = calloc(ncpu, sizeof(*vals));
	struct talker *t = calloc((size_t)IW_TOP_SLOTS * ncpu, sizeof(*t));
	int n = 0, m = 0;

	if (!vals || !t) {
		free(vals);
		free(t);
		return -ENOMEM;
	}
	for (__u32 k = 0; k < IW_TOP_SLOTS; k++) {
		if (bpf_map_lookup_elem(d->fds[IWM_TOP], &k, vals)) {
			int err = -errno;	/* every slot of an array exists */

			free(vals);
			free(t);
			return err;
		}
		for (int c = 0; c < ncpu; c++) {
			if (!vals[c].fam || !vals[c].seen)
				continue;
			t[n].fam = vals[c].fam;
			memcpy(t[n].addr, vals[c].addr, 16);
			t[n].packets = vals[c].seen;
			t[n].drops = vals[c].drops;
			n++;
		}
	}
	free(vals);
	qsort(t, n, sizeof(*t), by_key);
	for (int i = 0; i < n; i++) {
		if (m && !by_key(&t[m - 1], &t[i])) {
			t[m - 1].packets += t[i].packets;
			t[m - 1].drops += t[i].drops;
		} else {
			t[m++] = t[i];
		}
	}
	qsort(t, m, sizeof(*t), by_packets);
	*out = t;
	return m;
}

static void source_str(const struct talker *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (t->fam == 1 + IW_FAM_ICMP) {
		inet_ntop(AF_INET, t->addr, a, sizeof(a));
		snprintf(buf, len, "%s", a);
	} else {
		inet_ntop(AF_INET6, t->addr, a, sizeof(a));
		snprintf(buf, len, "%s/64", a);
	}
}

int cmd_top(struct cmd_args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool json = opt_set(a, "json");
	int ncpu = libbpf_num_possible_cpus(), n, ret = 1, err;
	uint64_t limit = 10;
	double secs = 2, waited = 0;
	struct timespec t0, t1;
	struct talker *t = NULL;
	struct iw_dev d;
	char src[INET6_ADDRSTRLEN + 8];

	if (opt_set(a, "count") && parse_u64(opt_val(a, "count"), 1, 100000, "-n", &limit))
		return EXIT_USAGE;
	if (opt_set(a, "interval") && parse_seconds(opt_val(a, "interval"), "--interval", &secs))
		return EXIT_USAGE;
	if (ncpu <= 0) {
		pr_err("cannot count the CPUs: %s", strerror(ncpu ? -ncpu : EINVAL));
		return 1;
	}
	if (iw_dev_open(&d, a->argv[0], 0))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = clear_table(&d, ncpu);
	if (!err)
		err = set_until(&d, coarse_ns() + (__u64)((secs + 2) * 1e9));
	if (err) {
		pr_err("%s: cannot start tracking sources: %s", d.name, strerror(-err));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && waited < secs) {
		double step = secs - waited < 0.2 ? secs - waited : 0.2;
		struct timespec ts = { 0, (long)(step * 1e9) };

		nanosleep(&ts, NULL);
		waited += step;
	}
	err = set_until(&d, 0);	/* tracking off before reading: nothing moves under us */
	/* the rates over the time tracking was on, not the time planned (Ctrl-C, a stop) */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (err)	/* it ends by itself at the deadline set above */
		pr_warn("%s: cannot stop tracking sources: %s", d.name, strerror(-err));
	n = collect(&d, ncpu, &t);
	if (n < 0) {
		pr_err("%s: cannot read the sources: %s", d.name, strerror(-n));
		goto out;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "interface", d.name);
		json_double(&j, "interval", waited);
		json_arr_begin(&j, "sources");
		for (int i = 0; i < n && (uint64_t)i < limit; i++) {
			source_str(&t[i], src, sizeof(src));
			json_obj_begin(&j, NULL);
			json_str(&j, "source", src);
			json_str(&j, "family", t[i].fam == 1 + IW_FAM_ICMP ? "icmp" : "icmpv6");
			json_u64(&j, "packets", t[i].packets);
			json_u64(&j, "dropped", t[i].drops);
			json_double(&j, "pps", t[i].packets / waited);
			json_double(&j, "dropped_pps", t[i].drops / waited);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("%-44s %10s %10s %6s\n", "SOURCE", "PKT/S", "DROP/S", "DROP%");
		for (int i = 0; i < n && (uint64_t)i < limit; i++) {
			source_str(&t[i], src, sizeof(src));
			printf("%-44s %10.1f %10.1f %5.1f%%\n", src, t[i].packets / waited,
			       t[i].drops / waited, 100.0 * t[i].drops / t[i].packets);
		}
		if (!n)
			printf("(no ICMP in the last %.1fs)\n", waited);
	}
	ret = 0;
out:
	if (ret)
		set_until(&d, 0);
	free(t);
	iw_dev_close(&d);
	return ret;
}
