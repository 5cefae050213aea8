// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - `icmpwall events DEV [--json]`: the flood events the XDP program writes to
 * its ring buffer, one line each, with timestamps.
 */
#include "cli.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct events_ctx {
	bool json;
	__u64 since_ns;		/* events older than the command are stale: skipped */
	double mono_to_real;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, seconds */
};

static double ts_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *kind_str(__u8 k)
{
	return k == IW_EV_START ? "start" : k == IW_EV_SUMMARY ? "summary" : k == IW_EV_END ? "end" : "?";
}

static int on_event(void *arg, void *data, size_t len)
{
	const struct events_ctx *c = arg;
	const struct iw_event *e = data;
	char when[40], name[96], src[INET6_ADDRSTRLEN + 8] = "";
	double real, secs = e->period_ns ? e->period_ns / 1e9 : 0;
	double dur = (e->ts_ns - e->started_ns) / 1e9;
	time_t t;
	struct tm tm;

	if (len < sizeof(*e) || e->ts_ns < c->since_ns)
		return 0;
	real = e->ts_ns / 1e9 + c->mono_to_real;
	t = (time_t)real;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03d",
		 (int)((real - t) * 1000));
	/* an episode is a whole type: its name, not that of the type's code 0 */
	if (type_name(e->fam, e->type))
		snprintf(name, sizeof(name), "%s", type_name(e->fam, e->type));
	else
		snprintf(name, sizeof(name), "type-%d", e->type);
	if (e->per_source) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(e->fam == IW_FAM_ICMP ? AF_INET : AF_INET6, e->addr, a, sizeof(a));
		snprintf(src, sizeof(src), "%s/%u", a, e->plen);
	}
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "time", when);
		json_str(&j, "event", kind_str(e->kind));
		json_str(&j, "family", family_name(e->fam));
		json_u64(&j, "type", e->type);
		json_str(&j, "name", name);
		json_str(&j, "reason", e->reason == IW_R_POLICY ? "policy" : "rate-limit");
		if (e->per_source)
			json_str(&j, "source", src);
		json_double(&j, "duration", dur);
		json_u64(&j, "dropped", e->drops);
		if (!e->per_source && e->kind != IW_EV_START)
			json_u64(&j, "packets", e->packets);
		if (secs > 0) {
			json_double(&j, "dropped_per_second", e->drops / secs);
			if (!e->per_source)
				json_double(&j, "packets_per_second", e->packets / secs);
		}
		json_u64(&j, "total_dropped", e->total_drops);
		json_u64(&j, "suppressed", e->suppressed);
		json_obj_end(&j);
		json_finish(&j);
		return 0;
	}
	printf("%s %-7s %s %s%s%s", when, kind_str(e->kind), family_name(e->fam), name,
	       e->per_source ? " from " : "", src);
	switch (e->kind) {
	case IW_EV_START:
		printf(": %s drops begin\n", e->reason == IW_R_POLICY ? "policy" : "rate-limit");
		break;
	case IW_EV_SUMMARY:
		if (e->per_source)
			printf(": %.0f dropped/s, %llu dropped in %.0fs\n", e->drops / secs,
			       (unsigned long long)e->total_drops, dur);
		else
			printf(": %.0f dropped/s of %.0f pkt/s, %llu dropped in %.0fs\n", e->drops / secs,
			       e->packets / secs, (unsigned long long)e->total_drops, dur);
		break;
	default:
		printf(": ended after %.1fs, %llu dropped\n", dur, (unsigned long long)e->total_drops);
	}
	fflush(stdout);
	return 0;
}

int cmd_events(struct cmd_args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct events_ctx c = { .json = opt_set(a, "json") };
	struct ring_buffer *rb;
	struct iw_dev d;
	int err = 0;

	if (iw_dev_open(&d, a->argv[0], 0))
		return 1;
	c.mono_to_real = ts_now(CLOCK_REALTIME) - ts_now(CLOCK_MONOTONIC);
	c.since_ns = (__u64)(ts_now(CLOCK_MONOTONIC) * 1e9);
	rb = ring_buffer__new(d.fds[IWM_EVENTS], on_event, &c, NULL);
	if (!rb) {
		pr_err("%s: cannot read the event ring buffer: %s", d.name, strerror(errno));
		iw_dev_close(&d);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (double checked = ts_now(CLOCK_MONOTONIC); !stop;) {
		err = ring_buffer__poll(rb, 250);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			pr_err("%s: reading events: %s", d.name, strerror(-err));
			break;
		}
		/* once a second: a program detached or replaced writes here no more */
		err = 0;
		if (ts_now(CLOCK_MONOTONIC) - checked >= 1) {
			checked = ts_now(CLOCK_MONOTONIC);
			err = iw_dev_still_attached(&d);
		}
		if (err == -ESRCH) {
			pr_err("%s: program %u is no longer attached", d.name, d.prog_id);
			break;
		}
		if (err) {
			pr_err("%s: cannot read its XDP program: %s", d.name, strerror(-err));
			break;
		}
	}
	ring_buffer__free(rb);
	iw_dev_close(&d);
	return err ? 1 : 0;
}
