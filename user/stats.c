// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - the stats command: counters per family/type/code and drops by reason, as a
 * table, as JSON (a stable contract, see README.md), or redrawn live with rates.
 */
#include "cli.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "names.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* JSON keys and labels of the drop reasons, in the order they are shown. */
const struct reason_desc drop_reasons[] = {
	{ IW_R_MALFORMED, "malformed" },
	{ IW_R_FRAGMENT, "fragment" },
	{ IW_R_OVERSIZE, "oversize" },
	{ IW_R_POD, "ping-of-death" },
	{ IW_R_RATE, "rate-limit" },
	{ IW_R_POLICY, "policy" },
	{ IW_R_DENY, "deny-list" },
	{ IW_R_CSUM, "bad-checksum" },
};
const int n_drop_reasons = sizeof(drop_reasons) / sizeof(drop_reasons[0]);

int snapshot_read(const struct iw_dev *d, struct snapshot *s)
{
	int err;

	err = iw_read_rows(d, s->rows);
	if (!err)
		err = iw_read_reasons(d, s->reasons);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &s->when);
	s->total = (struct iw_row_counter){};
	for (int r = 0; r < IW_NROWS; r++) {
		s->total.packets += s->rows[r].packets;
		s->total.bytes += s->rows[r].bytes;
		s->total.dropped += s->rows[r].dropped;
	}
	return 0;
}

struct snapshot *snapshot_new(void)
{
	return calloc(1, sizeof(struct snapshot));
}

void row_decode(int row, int *fam, int *type, int *code)
{
	*fam = row / (256 * IW_NCODES);
	*type = row / IW_NCODES % 256;
	*code = row % IW_NCODES;
}

static void print_json(const struct iw_dev *d, const struct snapshot *s)
{
	struct json j;
	char name[96];

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "interface", d->name);
	json_arr_begin(&j, "types");
	for (int r = 0; r < IW_NTYPED_ROWS; r++) {
		const struct iw_row_counter *c = &s->rows[r];
		int fam, type, code;

		if (!c->packets)
			continue;
		row_decode(r, &fam, &type, &code);
		row_name(fam, type, code, name, sizeof(name));
		json_obj_begin(&j, NULL);
		json_str(&j, "family", family_name(fam));
		json_u64(&j, "type", type);
		json_u64(&j, "code", code);
		json_str(&j, "name", name);
		json_u64(&j, "packets", c->packets);
		json_u64(&j, "bytes", c->bytes);
		json_u64(&j, "dropped", c->dropped);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_begin(&j, "drops");
	for (int i = 0; i < n_drop_reasons; i++)
		json_u64(&j, drop_reasons[i].key,
			 s->reasons[IW_REASON_IDX(1, drop_reasons[i].reason)].packets);
	json_obj_end(&j);
	/* Packets without a type row: non-first fragments and malformed headers. */
	json_obj_begin(&j, "untyped");
	for (int fam = 0; fam < IW_NFAM; fam++) {
		const struct iw_row_counter *c = &s->rows[IW_ROW_UNTYPED(fam)];

		json_obj_begin(&j, family_name(fam));
		json_u64(&j, "packets", c->packets);
		json_u64(&j, "bytes", c->bytes);
		json_u64(&j, "dropped", c->dropped);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_obj_begin(&j, "passed");
	json_u64(&j, "fragment", s->reasons[IW_REASON_IDX(0, IW_R_FRAGMENT)].packets);
	json_u64(&j, "allow-list", s->reasons[IW_REASON_IDX(0, IW_R_ALLOW)].packets);
	json_obj_end(&j);
	json_obj_begin(&j, "total");
	json_u64(&j, "packets", s->total.packets);
	json_u64(&j, "bytes", s->total.bytes);
	json_u64(&j, "passed", s->total.packets - s->total.dropped);
	json_u64(&j, "dropped", s->total.dropped);
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

static void print_table(const struct iw_dev *d, const struct snapshot *s)
{
	char name[96];
	bool any = false;

	printf("%-7s %-44s %12s %14s %12s\n", "FAMILY", "TYPE/CODE", "PACKETS", "BYTES", "DROPPED");
	for (int r = 0; r < IW_NROWS; r++) {
		const struct iw_row_counter *c = &s->rows[r];
		int fam, type, code;

		if (!c->packets)
			continue;
		any = true;
		if (r >= IW_NTYPED_ROWS) {
			fam = r - IW_NTYPED_ROWS;
			printf("%-7s %-44s %12llu %14llu %12llu\n", family_name(fam),
			       "(no type: fragments, malformed)", (unsigned long long)c->packets,
			       (unsigned long long)c->bytes, (unsigned long long)c->dropped);
			continue;
		}
		row_decode(r, &fam, &type, &code);
		row_name(fam, type, code, name, sizeof(name));
		printf("%-7s %-44s %12llu %14llu %12llu\n", family_name(fam), name,
		       (unsigned long long)c->packets, (unsigned long long)c->bytes,
		       (unsigned long long)c->dropped);
	}
	if (!any)
		printf("(no ICMP seen yet)\n");
	printf("\ndrops:");
	for (int i = 0; i < n_drop_reasons; i++)
		printf(" %s %llu", drop_reasons[i].key,
		       (unsigned long long)s->reasons[IW_REASON_IDX(1, drop_reasons[i].reason)].packets);
	printf("\ntotal: packets %llu bytes %llu passed %llu dropped %llu\n",
	       (unsigned long long)s->total.packets, (unsigned long long)s->total.bytes,
	       (unsigned long long)(s->total.packets - s->total.dropped),
	       (unsigned long long)s->total.dropped);
	(void)d;
}

int cmd_stats(struct cmd_args *a)
{
	struct snapshot *s = NULL;
	struct iw_dev d;
	int ret = 1, err;

	if (opt_set(a, "watch")) {
		const char *v = opt_val(a, "watch");
		double secs = 1;
		char *end;

		if (v) {
			secs = strtod(v, &end);
			if (*end || !(secs >= 0.1 && secs <= 3600)) {
				fprintf(stderr, "icmpwall: invalid --watch interval '%s' (0.1 to 3600 "
					"seconds)\n", v);
				return EXIT_USAGE;
			}
		}
		if (iw_dev_open(&d, a->argv[0], 0))
			return 1;
		ret = stats_watch(&d, secs, opt_set(a, "json"));
		iw_dev_close(&d);
		return ret;
	}
	if (iw_dev_open(&d, a->argv[0], 0))
		return 1;
	s = snapshot_new();
	if (!s)
		goto out;
	err = snapshot_read(&d, s);
	if (err) {
		pr_err("%s: cannot read counters: %s", d.name, strerror(-err));
		goto out;
	}
	if (opt_set(a, "json"))
		print_json(&d, s);
	else
		print_table(&d, s);
	ret = 0;
out:
	free(s);
	iw_dev_close(&d);
	return ret;
}

/* ---- --watch ------------------------------------------------------------------------ */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

int stats_watch(const struct iw_dev *d, double secs, bool json)
{
	struct snapshot *prev = snapshot_new(), *cur = snapshot_new(), *tmp;
	struct sigaction sa = { .sa_handler = on_signal };
	bool tty = isatty(STDOUT_FILENO) && !json;
	int ret = 1, err;

	if (!prev || !cur)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = snapshot_read(d, prev);
	if (err) {
		pr_err("%s: cannot read counters: %s", d->name, strerror(-err));
		goto out;
	}
	if (tty)
		fputs("\033[?25l", stdout);	/* hide the cursor while redrawing */
	while (!stop) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
		double dt;

		while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
			;
		if (stop)
			break;
		err = snapshot_read(d, cur);
		if (err) {
			pr_err("%s: cannot read counters: %s", d->name, strerror(-err));
			goto restore;
		}
		dt = elapsed(&prev->when, &cur->when);
		if (json)
			stats_render_json_rates(d, prev, cur, dt);
		else
			stats_render_live(d, prev, cur, dt, tty);
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	ret = 0;
restore:
	if (tty)
		fputs("\033[?25h\n", stdout);
	fflush(stdout);
out:
	free(prev);
	free(cur);
	return ret;
}

void stats_render_json_rates(const struct iw_dev *d, const struct snapshot *prev,
			     const struct snapshot *cur, double dt)
{
	struct json j;
	char name[96];

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_str(&j, "interface", d->name);
	json_double(&j, "interval", dt);
	json_arr_begin(&j, "types");
	for (int r = 0; r < IW_NTYPED_ROWS; r++) {
		const struct iw_row_counter *c = &cur->rows[r], *p = &prev->rows[r];
		int fam, type, code;

		if (!c->packets)
			continue;
		row_decode(r, &fam, &type, &code);
		row_name(fam, type, code, name, sizeof(name));
		json_obj_begin(&j, NULL);
		json_str(&j, "family", family_name(fam));
		json_u64(&j, "type", type);
		json_u64(&j, "code", code);
		json_str(&j, "name", name);
		json_u64(&j, "packets", c->packets);
		json_u64(&j, "bytes", c->bytes);
		json_u64(&j, "dropped", c->dropped);
		json_double(&j, "pps", (c->packets - p->packets) / dt);
		json_double(&j, "bps", (c->bytes - p->bytes) * 8 / dt);
		json_double(&j, "drop_pps", (c->dropped - p->dropped) / dt);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_begin(&j, "total");
	json_u64(&j, "packets", cur->total.packets);
	json_u64(&j, "dropped", cur->total.dropped);
	json_double(&j, "pps", (cur->total.packets - prev->total.packets) / dt);
	json_double(&j, "drop_pps", (cur->total.dropped - prev->total.dropped) / dt);
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

void stats_render_live(const struct iw_dev *d, const struct snapshot *prev,
		       const struct snapshot *cur, double dt, bool tty)
{
	char name[96];

	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("icmpwall %s  every %.1fs  total %.0f pkt/s, %.0f dropped/s\n\n", d->name, dt,
	       (cur->total.packets - prev->total.packets) / dt,
	       (cur->total.dropped - prev->total.dropped) / dt);
	printf("%-7s %-36s %10s %10s %10s\n", "FAMILY", "TYPE/CODE", "PKT/S", "DROP/S", "PACKETS");
	for (int r = 0; r < IW_NTYPED_ROWS; r++) {
		const struct iw_row_counter *c = &cur->rows[r], *p = &prev->rows[r];
		int fam, type, code;

		if (!c->packets)
			continue;
		row_decode(r, &fam, &type, &code);
		row_name(fam, type, code, name, sizeof(name));
		printf("%-7s %-36.36s %10.0f %10.0f %10llu\n", family_name(fam), name,
		       (c->packets - p->packets) / dt, (c->dropped - p->dropped) / dt,
		       (unsigned long long)c->packets);
	}
	printf("\ndrops:");
	for (int i = 0; i < n_drop_reasons; i++)
		printf(" %s %llu", drop_reasons[i].key,
		       (unsigned long long)cur->reasons[IW_REASON_IDX(1, drop_reasons[i].reason)].packets);
	printf("\n");
	fflush(stdout);
}
