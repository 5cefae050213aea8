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
#include "prom.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

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
		s->total.rate_dropped += s->rows[r].rate_dropped;
	}
	/* the program counts rate drops in their rows, not in iw_reasons (include/icmpwall.h) */
	s->reasons[IW_REASON_IDX(1, IW_R_RATE)].packets += s->total.rate_dropped;
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

/* Packets passed: packets less dropped, 0 when a read caught a packet between its two
 * counts (the program adds to packets, then to dropped). */
static __u64 passed(const struct iw_row_counter *c)
{
	return c->packets > c->dropped ? c->packets - c->dropped : 0;
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
	json_u64(&j, "passed", passed(&s->total));
	json_u64(&j, "dropped", s->total.dropped);
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

/* Long row names shortened as operators write them, for the name columns: 34 wide in the
 * live view, 40 in the table. */
static void abbreviate(char *name, size_t len)
{
	static const struct { const char *full, *abbr; } longs[] = {
		{ "destination-unreachable/", "dest-unreach/" },
		{ "parameter-problem/", "param-problem/" },
	};
	char tmp[96];

	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
		size_t n = strlen(longs[i].full);

		if (!strncmp(name, longs[i].full, n)) {
			snprintf(tmp, sizeof(tmp), "%s%s", longs[i].abbr, name + n);
			snprintf(name, len, "%s", tmp);
			return;
		}
	}
}

static void print_table(const struct iw_dev *d, const struct snapshot *s)
{
	char name[96];
	bool any = false;

	/* 79 columns while the counts fit their columns */
	printf("%-6s %-40s %9s %11s %9s\n", "FAMILY", "TYPE/CODE", "PACKETS", "BYTES", "DROPPED");
	for (int r = 0; r < IW_NROWS; r++) {
		const struct iw_row_counter *c = &s->rows[r];
		int fam, type, code;

		if (!c->packets)
			continue;
		any = true;
		if (r >= IW_NTYPED_ROWS) {
			fam = r - IW_NTYPED_ROWS;
			printf("%-6s %-40s %9llu %11llu %9llu\n", family_name(fam),
			       "(no type: fragments, malformed)", (unsigned long long)c->packets,
			       (unsigned long long)c->bytes, (unsigned long long)c->dropped);
			continue;
		}
		row_decode(r, &fam, &type, &code);
		row_name(fam, type, code, name, sizeof(name));
		if (strlen(name) > 40)
			abbreviate(name, sizeof(name));
		printf("%-6s %-40s %9llu %11llu %9llu\n", family_name(fam), name,
		       (unsigned long long)c->packets, (unsigned long long)c->bytes,
		       (unsigned long long)c->dropped);
	}
	if (!any)
		printf("(no ICMP seen yet)\n");
	printf("\ndrops:");
	for (int i = 0; i < n_drop_reasons; i++)
		printf("%s %s %llu", i == 4 ? "\n      " : "", drop_reasons[i].key,
		       (unsigned long long)s->reasons[IW_REASON_IDX(1, drop_reasons[i].reason)].packets);
	printf("\ntotal: packets %llu bytes %llu passed %llu dropped %llu\n",
	       (unsigned long long)s->total.packets, (unsigned long long)s->total.bytes,
	       (unsigned long long)passed(&s->total),
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

		if (v && parse_seconds(v, "--watch interval", &secs))
			return EXIT_USAGE;
		if (iw_dev_open(&d, a->argv[0], 0))
			return 1;
		ret = stats_watch(&d, secs, opt_set(a, "json"));
		iw_dev_close(&d);
		return ret;
	}
	if (opt_set(a, "prometheus")) {
		/* prom_write() reports a device it cannot open as down, not as an error */
		if (iw_check_ifname(a->argv[0]))
			return 1;
		return prom_write(stdout, a->argv, 1) ? 1 : 0;
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

#define HIST 60			/* samples of history per row: a minute at the default interval */
#define SPARK 12		/* characters of sparkline */

struct live {
	float (*hist)[HIST];	/* packets per second per row, oldest first */
	int filled;		/* samples in hist */
	bool utf8;
	int order[IW_NROWS];
};

static bool utf8_terminal(void)
{
	const char *v = getenv("LC_ALL");

	if (!v || !*v)
		v = getenv("LC_CTYPE");
	if (!v || !*v)
		v = getenv("LANG");
	return v && (strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8"));
}

static void human(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

/* The row's last minute, scaled to its own peak, SPARK characters wide. */
static void sparkline(const struct live *lv, int row, char *buf, size_t len)
{
	static const char *const blocks[] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	static const char ascii[] = " .:-=+*#%@";
	const float *h = lv->hist[row];
	float peak = 0, cell[SPARK];
	int n = 0;
	size_t pos = 0;

	/* cell c: the peak of samples c x HIST / SPARK up to the next cell's first (every
	 * sample is in one cell, whether or not SPARK divides HIST) */
	for (int c = 0; c < SPARK; c++) {
		float m = 0;

		for (int k = c * HIST / SPARK; k < (c + 1) * HIST / SPARK; k++)
			if (h[k] > m)
				m = h[k];
		cell[c] = m;
		if (m > peak)
			peak = m;
	}
	for (int c = 0; c < SPARK && pos + 4 < len; c++) {
		int lvl = peak > 0 ? (int)ceilf(cell[c] / peak * 8) : 0;

		if (lv->utf8) {
			n = snprintf(buf + pos, len - pos, "%s", blocks[lvl]);
		} else {
			buf[pos] = ascii[lvl * 9 / 8];
			n = 1;
		}
		pos += n;
	}
	buf[pos] = 0;
}


static const struct snapshot *sort_cur;
static const struct snapshot *sort_prev;

static int by_rate(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	__u64 dx = sort_cur->rows[x].packets - sort_prev->rows[x].packets;
	__u64 dy = sort_cur->rows[y].packets - sort_prev->rows[y].packets;

	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (sort_cur->rows[x].packets != sort_cur->rows[y].packets)
		return sort_cur->rows[x].packets > sort_cur->rows[y].packets ? -1 : 1;
	return x - y;
}

static int term_rows(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

/* One frame, at most 80 columns. On a terminal it redraws in place: every line clears its
 * own end, and the screen below the frame is cleared, so nothing flickers. */
static void render_live(const struct iw_dev *d, struct live *lv, const struct snapshot *prev,
			const struct snapshot *cur, double dt, bool tty)
{
	const char *eol = tty ? "\033[K\n" : "\n";
	double pps = (cur->total.packets - prev->total.packets) / dt;
	double dps = (cur->total.dropped - prev->total.dropped) / dt;
	double bps = (cur->total.bytes - prev->total.bytes) / dt;
	char a[16], b[16], c[16], when[16], spark[SPARK * 4 + 1], name[96];
	int n = 0, room, shown = 0;
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	for (int r = 0; r < IW_NROWS; r++) {
		memmove(lv->hist[r], lv->hist[r] + 1, (HIST - 1) * sizeof(float));
		lv->hist[r][HIST - 1] = (cur->rows[r].packets - prev->rows[r].packets) / dt;
		if (cur->rows[r].packets)
			lv->order[n++] = r;
	}
	sort_cur = cur;
	sort_prev = prev;
	qsort(lv->order, n, sizeof(int), by_rate);

	if (tty)
		fputs("\033[H", stdout);
	human(pps, a, sizeof(a));
	human(dps, b, sizeof(b));
	human(bps, c, sizeof(c));
	snprintf(name, sizeof(name), "icmpwall %s, %s mode, every %.1fs", d->name,
		 d->meta.mode == IW_MODE_NATIVE ? "native" : "generic", dt);
	/* 79 columns: a terminal that wraps at the 80th would let eol's erase take it */
	printf("%-70.70s %8s%s", name, when, eol);
	printf("now %7s pkt/s %7s B/s  dropped %7s pkt/s (%5.1f%%)", a, c, b,
	       pps > 0 ? 100 * dps / pps : 0.0);
	printf("%s%s", eol, eol);
	printf("%-6s %-34s %8s %6s %8s %-*s%s", "FAMILY", "TYPE/CODE", "PKT/S", "DROP%", "B/S",
	       SPARK, "LAST MINUTE", eol);
	/* 8 lines besides the rows, and the last one must not end on the bottom line: its
	 * newline would scroll the header away. Cut rows leave a line for "... more rows". */
	room = term_rows() - 9;
	if (n > room)
		room--;
	for (int i = 0; i < n; i++) {
		int r = lv->order[i], fam, type, code;
		const struct iw_row_counter *rc = &cur->rows[r], *rp = &prev->rows[r];
		double rpps = (rc->packets - rp->packets) / dt;
		double rdps = (rc->dropped - rp->dropped) / dt;

		if (tty && shown >= room) {
			printf("  ... %d more rows%s", n - i, eol);
			break;
		}
		if (r >= IW_NTYPED_ROWS) {
			fam = r - IW_NTYPED_ROWS;
			snprintf(name, sizeof(name), "(fragments, malformed)");
		} else {
			row_decode(r, &fam, &type, &code);
			row_name(fam, type, code, name, sizeof(name));
			abbreviate(name, sizeof(name));
		}
		human(rpps, a, sizeof(a));
		human((rc->bytes - rp->bytes) / dt, c, sizeof(c));
		sparkline(lv, r, spark, sizeof(spark));
		printf("%-6s %-34.34s %8s %5.1f%% %8s %s%s", family_name(fam), name, a,
		       rpps > 0 ? 100 * rdps / rpps : 0.0, c, spark, eol);
		shown++;
	}
	if (!n)
		printf("(no ICMP seen yet)%s", eol);
	printf("%sdrops/s", eol);
	for (int i = 0; i < n_drop_reasons; i++) {
		__u32 k = IW_REASON_IDX(1, drop_reasons[i].reason);

		printf(" %s %.0f", drop_reasons[i].key,
		       (cur->reasons[k].packets - prev->reasons[k].packets) / dt);
		if (i == 3)
			printf("%s       ", eol);
	}
	printf("%s", eol);
	printf("total   packets %llu, dropped %llu (%.1f%%)%s", (unsigned long long)cur->total.packets,
	       (unsigned long long)cur->total.dropped,
	       cur->total.packets ? 100.0 * cur->total.dropped / cur->total.packets : 0.0, eol);
	if (tty)
		fputs("\033[J", stdout);
	else
		putchar('\n');
	fflush(stdout);
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
		json_double(&j, "bytes_per_second", (c->bytes - p->bytes) / dt);
		json_double(&j, "dropped_pps", (c->dropped - p->dropped) / dt);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_begin(&j, "total");
	json_u64(&j, "packets", cur->total.packets);
	json_u64(&j, "dropped", cur->total.dropped);
	json_double(&j, "pps", (cur->total.packets - prev->total.packets) / dt);
	json_double(&j, "dropped_pps", (cur->total.dropped - prev->total.dropped) / dt);
	json_obj_end(&j);
	json_obj_end(&j);
	json_finish(&j);
}

int stats_watch(const struct iw_dev *d, double secs, bool json)
{
	struct snapshot *prev = snapshot_new(), *cur = snapshot_new(), *tmp;
	struct sigaction sa = { .sa_handler = on_signal };
	bool tty = isatty(STDOUT_FILENO) && !json;
	struct live lv = { .utf8 = utf8_terminal() };
	int ret = 1, err;

	lv.hist = calloc(IW_NROWS, sizeof(*lv.hist));
	if (!prev || !cur || !lv.hist)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = snapshot_read(d, prev);
	if (err) {
		pr_err("%s: cannot read counters: %s", d->name, strerror(-err));
		goto out;
	}
	if (tty)
		fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout); /* alternate screen, no cursor */
	while (!stop) {
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };
		double dt;

		while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
			;
		if (stop)
			break;
		err = snapshot_read(d, cur);
		if (!err)
			err = iw_dev_still_attached(d);
		if (err)
			goto restore;	/* said once the terminal is back */
		dt = elapsed(&prev->when, &cur->when);
		if (json)
			stats_render_json_rates(d, prev, cur, dt);
		else
			render_live(d, &lv, prev, cur, dt, tty);
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	ret = 0;
restore:
	if (tty)
		fputs("\033[?25h\033[?1049l", stdout);	/* the terminal as it was */
	fflush(stdout);
	/* after the alternate screen, which would take the line with it */
	if (err == -ESRCH)
		pr_err("%s: program %u is no longer attached", d->name, d->prog_id);
	else if (err)
		pr_err("%s: cannot read counters: %s", d->name, strerror(-err));
out:
	free(lv.hist);
	free(prev);
	free(cur);
	return ret;
}
