// SPDX-License-Identifier: GPL-2.0
/*
 * test_differential.c - the XDP program against the reference model (tests/model/), on
 * random policies and random frames (tests/model/gen.c).
 *
 * Each policy is generated as a file, parsed by policy_parse_buf, compared with what the
 * model makes of the same statements, and installed by the CLI's own code (user/apply.c):
 * most start from nothing (compiled by policy_compile without an old policy, per-source
 * tables emptied, then iw_policy_commit: CIDR slot, fresh buckets, the double-buffered
 * iw_conf flipped); some are changes of the policy in force (iw_policy_install: compiled
 * against it, buckets carried over). The counters are reset for each policy. Then every
 * frame goes through BPF_PROG_TEST_RUN (repeat 1) and through the model: the verdict, the
 * iw_stats row and the iw_reasons slot that move (summed over the CPUs) must agree exactly. The whole stats table is compared too: after every frame in a short
 * run, every ICMPWALL_DIFF_FULL_EVERY frames (and at the end of each policy) in a long one.
 *
 *   build/tests/test_differential [SEED]      (or ICMPWALL_SEED=SEED)
 *   ICMPWALL_DIFF_PACKETS=N                   frames in all (default 4000)
 *   ICMPWALL_DIFF_POLICIES=N                  policies (default: one per 100 frames)
 *   ICMPWALL_DIFF_FULL_EVERY=N                full-table comparison period
 *   ICMPWALL_DIFF_TRACE=N                     print policies N-1 and N, and one line per
 *                                             frame under them (model and program); stop
 *                                             after policy N
 *
 * A mismatch prints the seed, the policy (its file), the frame in hex, what the model
 * expected and what the program did. Run as root.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "icmpwall.h"
#include "icmpwall.skel.h"
#include "apply.h"
#include "maps.h"
#include "policy.h"
#include "testlib.h"
#include "../model/model.h"
#include "../model/gen.h"

#define DEFAULT_SEED		20251126
#define DEFAULT_PACKETS		4000
#define PACKETS_PER_POLICY	100
#define MAX_REPORTS		12	/* detailed reports; every mismatch is counted */
#define REPORTS_PER_KIND	3
#define MAX_LINES		200	/* one line each for the mismatches not reported in full */

static struct icmpwall_bpf *skel;
static struct iw_dev dev;	/* the skeleton's maps, as the CLI's functions take them */
static int prog_fd, stats_fd, reasons_fd, src4_fd, src6_fd;
static int ncpus;
static uint32_t hz;

static uint64_t seed = DEFAULT_SEED;
static bool seed_given;

/* counters: the program's (cur) and the model's (want), since the last reset */
static struct iw_row_counter *want_rows, *cur_rows;
static struct iw_reason_counter want_reasons[IW_NREASON_SLOTS], cur_reasons[IW_NREASON_SLOTS];
static void *pcpu_buf;		/* ncpus values of the largest counter */
static __u32 *row_keys;

/* SEED on the command line: testlib reads the rest as test names, so a seed is replaced by
 * "" there (which every test name contains). glibc passes argc/argv to constructors. */
__attribute__((constructor)) static void parse_cmdline(int argc, char **argv)
{
	for (int i = 1; argv && i < argc; i++) {
		const char *s = argv[i];
		char *end;

		if (!strncmp(s, "seed=", 5))
			s += 5;
		if (!*s || *s < '0' || *s > '9')
			continue;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 0);

		if (errno || *end)
			continue;
		seed = v;
		seed_given = true;
		argv[i] = (char *)"";
	}
}

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 0);
	return *end || v < 0 ? dflt : v;
}

/* ---- maps ------------------------------------------------------------------------------ */

static int row_sum(__u32 i, struct iw_row_counter *out)
{
	struct iw_row_counter *v = pcpu_buf;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(stats_fd, &i, v))
		return -errno;
	for (int c = 0; c < ncpus; c++) {
		out->packets += v[c].packets;
		out->bytes += v[c].bytes;
		out->dropped += v[c].dropped;
		out->rate_dropped += v[c].rate_dropped;
	}
	return 0;
}

static bool row_same(const struct iw_row_counter *a, const struct iw_row_counter *b)
{
	return a->packets == b->packets && a->bytes == b->bytes && a->dropped == b->dropped &&
	       a->rate_dropped == b->rate_dropped;
}

/* A whole per-CPU array, summed over the CPUs; n entries of size sz (8-byte words). */
static int read_all(int fd, __u32 n, size_t sz, void *out)
{
	static void *vals;
	static size_t vals_cap;
	size_t need = (size_t)n * ncpus * sz;
	__u32 batch, count, done = 0;
	void *in = NULL;
	int err;

	if (need > vals_cap) {
		free(vals);
		vals = malloc(need);
		if (!vals)
			return -ENOMEM;
		vals_cap = need;
	}
	memset(out, 0, (size_t)n * sz);
	while (done < n) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		count = n - done;
		err = bpf_map_lookup_batch(fd, in, &batch, row_keys + done,
					   (char *)vals + (size_t)done * ncpus * sz, &count, &o);
		if (err && errno != ENOENT)
			return -errno;
		for (__u32 k = 0; k < count; k++) {
			__u32 key = row_keys[done + k];
			__u64 *dst = (__u64 *)((char *)out + (size_t)key * sz);
			const __u64 *src = (const __u64 *)((char *)vals + (size_t)(done + k) * ncpus * sz);

			if (key >= n)
				return -EIO;
			for (int c = 0; c < ncpus; c++)
				for (size_t w = 0; w < sz / 8; w++)
					dst[w] += src[c * (sz / 8) + w];
		}
		done += count;
		in = &batch;
		if (err)	/* ENOENT: the last batch */
			break;
	}
	return done == n ? 0 : -EIO;
}

static int read_rows(void)
{
	return read_all(stats_fd, IW_NROWS, sizeof(struct iw_row_counter), cur_rows);
}

static int read_reasons(void)
{
	return read_all(reasons_fd, IW_NREASON_SLOTS, sizeof(struct iw_reason_counter), cur_reasons);
}

static int zero_map(int fd, __u32 n, size_t sz)
{
	void *zero = calloc((size_t)n * ncpus, sz);
	__u32 count = n;
	int err;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_batch(fd, row_keys, zero, &count, &o);
	err = err ? -errno : count == n ? 0 : -EIO;
	free(zero);
	return err;
}

/* Deletes every key of fd. */
static int clear_map(int fd, size_t ksz)
{
	char key[64], next[64];
	char *keys = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (n == cap) {
			char *nk = realloc(keys, (cap = cap ? cap * 2 : 64) * ksz);

			if (!nk) {
				free(keys);
				return -ENOMEM;
			}
			keys = nk;
		}
		memcpy(keys + n++ * ksz, next, ksz);
		memcpy(key, next, ksz);
		prev = key;
	}
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT)
			err = -errno;
	free(keys);
	return err;
}

/*
 * Installs p as the CLI does (user/apply.c). A change: iw_policy_install, which compiles p
 * against the policy in force and commits it. From nothing: p compiled without an old
 * policy (every bucket fresh), the per-source tables emptied, then iw_policy_commit. The
 * counters are reset in both cases.
 */
static int install(const struct policy *p, bool change, char *err, size_t errlen)
{
	static struct iw_policy kp;
	bool fresh[IW_MAX_BUCKETS];
	int ret;

	if (change) {
		ret = iw_policy_install(&dev, p, err, errlen);
	} else {
		ret = policy_compile(p, NULL, hz, &kp, fresh, err, errlen);
		if (!ret) {
			ret = clear_map(src4_fd, sizeof(struct iw_src4_key));
			if (!ret)
				ret = clear_map(src6_fd, sizeof(struct iw_src6_key));
			if (ret)
				snprintf(err, errlen, "cannot empty the per-source tables: %s",
					 strerror(-ret));
		}
		if (!ret)
			ret = iw_policy_commit(&dev, &kp, p, fresh, err, errlen);
	}
	if (ret)
		return ret;
	ret = zero_map(stats_fd, IW_NROWS, sizeof(struct iw_row_counter));
	if (!ret)
		ret = zero_map(reasons_fd, IW_NREASON_SLOTS, sizeof(struct iw_reason_counter));
	if (ret)
		snprintf(err, errlen, "cannot reset the counters: %s", strerror(-ret));
	memset(want_rows, 0, IW_NROWS * sizeof(*want_rows));
	memset(want_reasons, 0, sizeof(want_reasons));
	return ret;
}

static int run_prog(const void *d, __u32 len, __u32 *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1, .data_in = d, .data_size_in = len);
	int err = bpf_prog_test_run_opts(prog_fd, &o);

	*ret = o.retval;
	return err ? -errno : 0;
}

/* ---- the policy: parser against model ---------------------------------------------------- */

static bool limit_eq(const struct pol_limit *a, const struct model_limit *b)
{
	return a->count == b->count && a->per_minute == b->per_minute &&
	       a->burst_given == b->burst_given && a->burst == b->burst;
}

/* What policy_parse_buf made of the file against what the model made of the statements;
 * NULL when they agree, else what differs. */
static const char *policy_diff(const struct policy *p, const struct model_policy *m, char *buf,
			       size_t len)
{
	if (p->max_size != m->max_size || p->frag_drop != m->frag_drop ||
	    p->csum_verify != m->csum_verify) {
		snprintf(buf, len, "settings: parsed max-size %u fragments %d checksum %d, model %u %d %d",
			 p->max_size, p->frag_drop, p->csum_verify, m->max_size, m->frag_drop,
			 m->csum_verify);
		return buf;
	}
	if (p->nrules != m->nrules) {
		snprintf(buf, len, "parsed %d rules, model %d", p->nrules, m->nrules);
		return buf;
	}
	for (int i = 0; i < m->nrules; i++) {
		const struct model_rule *r = &m->rules[i];
		const struct pol_rule *q = NULL;

		for (int k = 0; k < p->nrules && !q; k++)
			if (p->rules[k].fam == r->fam && p->rules[k].type == r->type &&
			    p->rules[k].code == r->code)
				q = &p->rules[k];
		if (!q || q->action != r->action || q->has_global != r->has_global ||
		    q->has_src != r->has_src || (r->has_global && !limit_eq(&q->global, &r->global)) ||
		    (r->has_src && (!limit_eq(&q->src, &r->src) || q->src_plen != r->src_plen))) {
			snprintf(buf, len, "rule %s type %u code %d differs (parsed: %s)",
				 r->fam ? "icmpv6" : "icmp", r->type, r->code, q ? "differs" : "absent");
			return buf;
		}
	}
	if (p->ncidrs != m->ncidrs) {
		snprintf(buf, len, "parsed %d prefixes, model %d", p->ncidrs, m->ncidrs);
		return buf;
	}
	for (int i = 0; i < m->ncidrs; i++) {
		const struct model_cidr *c = &m->cidrs[i];
		bool found = false;

		for (int k = 0; k < p->ncidrs && !found; k++)
			found = p->cidrs[k].fam == c->fam && p->cidrs[k].plen == c->plen &&
				!memcmp(p->cidrs[k].addr, c->addr, 16) && p->cidrs[k].list == c->list;
		if (!found) {
			snprintf(buf, len, "prefix %d of the model (/%u) not parsed alike", i, c->plen);
			return buf;
		}
	}
	return NULL;
}

/* ---- reports ---------------------------------------------------------------------------- */

struct run {
	long packets, policies, updates, refused, full_scans, rows_checked, slots_checked;
	long by_class[MC_NCLASSES], by_reason[2][IW_NREASONS], dropped;
	long mismatches, policy_mismatches, reports, stale_mismatches;
	int kinds[64][2];	/* (signature, count) of reported mismatches */
	int nkinds;
	long pol_idx, pkt_idx;
	bool pol_printed, diverged;
	const struct gen_policy *gp;
};

static void hex(const uint8_t *d, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n      ", d[i]);
	fputc('\n', stderr);
}

static void row_label(int row, char *buf, size_t len)
{
	if (row < 0)
		snprintf(buf, len, "none");
	else if (row >= IW_NTYPED_ROWS)
		snprintf(buf, len, "%d (%s untyped)", row, row == IW_ROW_UNTYPED(0) ? "icmp" : "icmpv6");
	else
		snprintf(buf, len, "%d (%s type %d code %d%s)", row,
			 row / IW_NCODES / 256 ? "icmpv6" : "icmp", row / IW_NCODES % 256,
			 row % IW_NCODES, row % IW_NCODES == IW_CODE_FOLD ? "+" : "");
}

static void slot_label(int slot, char *buf, size_t len)
{
	if (slot < 0)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s %s", slot >= IW_NREASONS ? "dropped" : "passed",
			 model_reason_name(slot % IW_NREASONS));
}

static void print_policy(struct run *r)
{
	if (r->pol_printed)
		return;
	r->pol_printed = true;
	fprintf(stderr, "    policy %ld%s, as a file:\n", r->pol_idx,
		r->gp->update ? " (a change of the previous one: buckets carried over)" : "");
	for (const char *l = r->gp->text; *l;) {
		const char *e = strchr(l, '\n');
		int n = e ? (int)(e - l) : (int)strlen(l);

		fprintf(stderr, "      | %.*s\n", n, l);
		l += n + (e ? 1 : 0);
	}
	model_policy_print(&r->gp->model, stderr);
}

/* Signature of a mismatch: the model's decision against the program's verdict. */
static bool should_report(struct run *r, int sig)
{
	int k;

	r->mismatches++;
	for (k = 0; k < r->nkinds && r->kinds[k][0] != sig; k++)
		;
	if (k == r->nkinds) {
		if (k == 64)
			return false;
		r->kinds[r->nkinds][0] = sig;
		r->kinds[r->nkinds++][1] = 0;
	}
	if (r->kinds[k][1]++ >= REPORTS_PER_KIND || r->reports >= MAX_REPORTS)
		return false;
	r->reports++;
	return true;
}

static void report(struct run *r, const struct gen_frame *f, const struct model_verdict *v,
		   __u32 ret, const char *what)
{
	const struct model_pkt *pk = &v->pkt;
	char rl[64], sl[64];
	int sig = (v->pkt.cls * 16 + v->reason) * 4 + (ret & 3);

	r->stale_mismatches += v->stale >= 2 && !r->diverged;
	if (!should_report(r, sig)) {
		if (r->mismatches <= MAX_LINES)
			fprintf(stderr, "    mismatch (seed %" PRIu64 ", policy %ld, frame %ld): %s: "
				"model %s by %s, program %s%s%s\n", seed, r->pol_idx, r->pkt_idx, what,
				v->action == XDP_DROP ? "drop" : "pass", v->step,
				ret == XDP_DROP ? "drop" : "pass",
				v->stale >= 2 ? "; a bucket went unused across changes" : "",
				r->diverged ? "; after an earlier mismatch" : "");
		return;
	}
	fprintf(stderr, "    MISMATCH (seed %" PRIu64 ", policy %ld, frame %ld): %s%s\n", seed,
		r->pol_idx, r->pkt_idx, what, r->diverged ? " (after an earlier mismatch in this "
		"policy or the one it changed: the buckets may differ since)" : "");
	print_policy(r);
	fprintf(stderr, "    frame, %u bytes: %s", f->len, "");
	hex(f->d, f->len);
	fprintf(stderr, "    built as: %s\n", f->what);
	row_label(v->row, rl, sizeof(rl));
	slot_label(v->slot, sl, sizeof(sl));
	fprintf(stderr, "    model: %s", model_class_name(pk->cls));
	if (pk->fam >= 0)
		fprintf(stderr, " %s", pk->fam ? "icmpv6" : "icmp");
	if (pk->cls == MC_TYPED)
		fprintf(stderr, " type %u code %u", pk->type, pk->code);
	if (pk->cls != MC_NOT_ICMP && pk->cls != MC_MALFORMED)
		fprintf(stderr, " end %u%s%s", pk->end, pk->fragment ? " fragment" : "",
			pk->nonfirst ? " (non-first)" : "");
	if (pk->why)
		fprintf(stderr, " (%s)", pk->why);
	fprintf(stderr, "\n    model: %s by %s, row %s, reason slot %s\n",
		v->action == XDP_DROP ? "XDP_DROP" : "XDP_PASS", v->step, rl, sl);
	if (v->stale >= 2)
		fprintf(stderr, "    note: a bucket of this rule went unused across %d changes of its "
			"limit (section 5: its level is kept through every change)\n", v->stale);
	fprintf(stderr, "    program: %s\n", ret == XDP_DROP ? "XDP_DROP" : ret == XDP_PASS ?
		"XDP_PASS" : "another verdict");
}

/* The rows and slots that differ from the model's, after a full read. */
static void report_tables(struct run *r, bool print)
{
	char rl[64], sl[64];
	int shown = 0;

	if (read_rows() || read_reasons()) {
		fprintf(stderr, "    cannot read the counters\n");
		return;
	}
	for (int i = 0; i < IW_NROWS; i++) {
		struct iw_row_counter *w = &want_rows[i], *c = &cur_rows[i];

		if (row_same(w, c))
			continue;
		row_label(i, rl, sizeof(rl));
		if (print && shown++ < 6)
			fprintf(stderr, "    row %s: model %llu packets %llu bytes %llu dropped %llu by rate, "
				"program %llu %llu %llu %llu\n", rl, (unsigned long long)w->packets,
				(unsigned long long)w->bytes, (unsigned long long)w->dropped,
				(unsigned long long)w->rate_dropped,
				(unsigned long long)c->packets, (unsigned long long)c->bytes,
				(unsigned long long)c->dropped, (unsigned long long)c->rate_dropped);
		*w = *c;	/* one report per deviation */
	}
	for (int i = 0; i < IW_NREASON_SLOTS; i++) {
		struct iw_reason_counter *w = &want_reasons[i], *c = &cur_reasons[i];

		if (w->packets == c->packets)
			continue;
		slot_label(i, sl, sizeof(sl));
		if (print && shown++ < 12)
			fprintf(stderr, "    reason slot %d (%s): model %llu packets, program %llu\n",
				i, sl, (unsigned long long)w->packets, (unsigned long long)c->packets);
		*w = *c;
	}
}

static long trace_from = -2;

static void trace(const struct run *r, const struct gen_frame *f, const struct model_verdict *v,
		  __u32 ret)
{
	const struct model_pkt *pk = &v->pkt;

	if (r->pol_idx < trace_from || r->pol_idx > trace_from + 1)
		return;
	fprintf(stderr, "    trace %ld.%ld: %s", r->pol_idx, r->pkt_idx, model_class_name(pk->cls));
	if (pk->cls == MC_TYPED)
		fprintf(stderr, " %s type %u code %u", pk->fam ? "icmpv6" : "icmp", pk->type,
			pk->code);
	if (pk->fam == IW_FAM_ICMP)
		fprintf(stderr, " from %u.%u.%u.%u", pk->src[0], pk->src[1], pk->src[2], pk->src[3]);
	else if (pk->fam == IW_FAM_ICMPV6)
		for (int i = 0; i < 16; i += 2)
			fprintf(stderr, "%s%x", i ? ":" : " from ", pk->src[i] << 8 | pk->src[i + 1]);
	fprintf(stderr, ": model %s (%s), program %s\n", v->action == XDP_DROP ? "drop" : "pass",
		v->step, ret == XDP_DROP ? "drop" : ret == XDP_PASS ? "pass" : "?");
}

/* One frame through both; false on a mismatch. */
static bool one_frame(struct run *r, struct model *m, const struct gen_frame *f, bool full)
{
	struct model_verdict v;
	struct iw_row_counter rc;
	__u32 ret = 0;
	bool ok = true;
	int err;

	model_run(m, f->d, f->len, &v);
	err = run_prog(f->d, f->len, &ret);
	if (err == -EINVAL && f->len < 14) {
		/* the kernel refuses test frames shorter than an Ethernet header */
		r->refused++;
		if (v.pkt.cls != MC_NOT_ICMP) {
			report(r, f, &v, 0, "the model counts a frame shorter than 14 bytes");
			return false;
		}
		return true;
	}
	if (err) {
		fprintf(stderr, "    BPF_PROG_TEST_RUN failed: %s\n", strerror(-err));
		r->mismatches++;
		return false;
	}
	trace(r, f, &v, ret);
	r->packets++;
	r->by_class[v.pkt.cls]++;
	if (v.reason != IW_R_NONE)
		r->by_reason[v.action == XDP_DROP][v.reason]++;
	r->dropped += v.action == XDP_DROP;
	if (v.row >= 0) {
		want_rows[v.row].packets++;
		want_rows[v.row].bytes += v.bytes;
		want_rows[v.row].dropped += v.action == XDP_DROP;
		want_rows[v.row].rate_dropped += v.action == XDP_DROP && v.reason == IW_R_RATE;
	}
	if (v.slot >= 0)
		want_reasons[v.slot].packets++;

	if (ret != v.action)
		ok = false;
	/* the model's row and both untyped rows, every time */
	for (int k = 0; k < 3 && ok; k++) {
		int row = k == 0 ? v.row : (int)IW_ROW_UNTYPED(k - 1);

		if (row < 0 || (k && row == v.row))
			continue;
		if (row_sum(row, &rc)) {
			ok = false;
			break;
		}
		r->rows_checked++;
		ok = row_same(&rc, &want_rows[row]);
	}
	if (ok) {
		if (read_reasons())
			ok = false;
		for (int i = 0; ok && i < IW_NREASON_SLOTS; i++)
			ok = cur_reasons[i].packets == want_reasons[i].packets;
		r->slots_checked += IW_NREASON_SLOTS;
	}
	if (ok && full) {
		r->full_scans++;
		if (read_rows())
			ok = false;
		for (int i = 0; ok && i < IW_NROWS; i++)
			ok = row_same(&cur_rows[i], &want_rows[i]);
		r->rows_checked += IW_NROWS;
	}
	if (ok)
		return true;
	{
		long before = r->reports;

		report(r, f, &v, ret, ret != v.action ? "verdicts differ" : "counters differ");
		report_tables(r, r->reports > before);
		r->diverged = true;
	}
	return false;
}

/* ---- the test ----------------------------------------------------------------------------- */

static int setup(void)
{
	skel = icmpwall_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "cannot load the XDP program (root needed): %s\n", strerror(errno));
		return -1;
	}
	prog_fd = bpf_program__fd(skel->progs.icmpwall);
	hz = iw_kernel_hz() ?: 250;
	/* the maps by the names the CLI pins them under */
	iw_dev_init(&dev);
	snprintf(dev.name, sizeof(dev.name), "difftest");
	for (int i = 0; i < IWM_COUNT; i++) {
		dev.fds[i] = bpf_object__find_map_fd_by_name(skel->obj, iw_map_names[i]);
		if (dev.fds[i] < 0) {
			fprintf(stderr, "the program has no map %s\n", iw_map_names[i]);
			return -1;
		}
	}
	dev.prog_fd = prog_fd;
	dev.meta.hz = hz;
	stats_fd = dev.fds[IWM_STATS];
	reasons_fd = dev.fds[IWM_REASONS];
	src4_fd = dev.fds[IWM_SRC4];
	src6_fd = dev.fds[IWM_SRC6];
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	want_rows = calloc(IW_NROWS, sizeof(*want_rows));
	cur_rows = calloc(IW_NROWS, sizeof(*cur_rows));
	pcpu_buf = calloc(ncpus, sizeof(struct iw_row_counter));
	row_keys = calloc(IW_NROWS, sizeof(*row_keys));
	if (!want_rows || !cur_rows || !pcpu_buf || !row_keys)
		return -1;
	for (__u32 i = 0; i < IW_NROWS; i++)
		row_keys[i] = i;
	return 0;
}

static void teardown(void)
{
	icmpwall_bpf__destroy(skel);
	free(want_rows);
	free(cur_rows);
	free(pcpu_buf);
	free(row_keys);
}

__attribute__((constructor)) static void hooks(void)
{
	test_setup_all = setup;
	test_teardown_all = teardown;
}

/*
 * Parses p->text, compares it with the model's reading, installs it (a change of the policy
 * in force, or from nothing) and gives the model the same policy. 1: installed; 0: the parser refused it
 * (counted, reported); -1: it could not be installed.
 */
static int load_policy(struct run *r, struct model *m, struct gen_policy *p, bool change)
{
	char err[POL_ERR_LEN], diff[160];
	struct policy pol;
	int ret;

	r->gp = p;
	r->pol_printed = false;
	/* a change carries the buckets over, and with them an earlier divergence */
	r->diverged = r->diverged && change;
	if (r->pol_idx == trace_from || r->pol_idx == trace_from + 1)
		print_policy(r);
	r->policies++;
	policy_init(&pol);
	ret = policy_parse_buf(&pol, "generated", p->text, strlen(p->text), err, sizeof(err), NULL);
	if (ret) {
		r->policy_mismatches++;
		fprintf(stderr, "    POLICY REJECTED (seed %" PRIu64 ", policy %ld): %s\n", seed,
			r->pol_idx, err);
		print_policy(r);
		policy_free(&pol);
		return 0;
	}
	if (policy_diff(&pol, &p->model, diff, sizeof(diff))) {
		r->policy_mismatches++;
		fprintf(stderr, "    POLICY PARSED UNLIKE THE MODEL (seed %" PRIu64 ", policy %ld): %s\n",
			seed, r->pol_idx, diff);
		print_policy(r);
	}
	ret = install(&pol, change, err, sizeof(err));
	policy_free(&pol);
	if (ret) {
		TEST_FAIL("policy %ld: %s", r->pol_idx, err);
		print_policy(r);
		return -1;
	}
	r->updates += change;
	model_set_policy(m, &p->model, change);
	return 1;
}

TEST(differential)
{
	long npackets, npolicies, full_every, avg;
	static struct gen_policy gp[2];
	static struct run r;
	struct model m;
	struct gen g;
	struct gen_frame f;
	int cur = 0, last = 0;
	struct timespec t0, t1;

	if (!seed_given)
		seed = env_long("ICMPWALL_SEED", -1) >= 0 ? (uint64_t)env_long("ICMPWALL_SEED", 0) :
							    DEFAULT_SEED;
	npackets = env_long("ICMPWALL_DIFF_PACKETS", DEFAULT_PACKETS);
	npolicies = env_long("ICMPWALL_DIFF_POLICIES", npackets / PACKETS_PER_POLICY);
	if (npolicies < 1)
		npolicies = 1;
	avg = npackets / npolicies > 0 ? npackets / npolicies : 1;
	trace_from = env_long("ICMPWALL_DIFF_TRACE", -1) - 1;
	full_every = env_long("ICMPWALL_DIFF_FULL_EVERY", npackets <= 20000 ? 1 : 64);
	if (full_every < 1)
		full_every = 1;
	printf("differential: seed %" PRIu64 ", %ld frames over about %ld policies, HZ %u, %d CPUs, "
	       "whole table compared every %ld frames\n", seed, npackets, npolicies, hz, ncpus,
	       full_every);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&r, 0, sizeof(r));
	gen_init(&g, seed);
	model_init(&m);
	for (long pi = 0, sent = 0; sent < npackets && (trace_from < -1 || pi <= trace_from + 1);
	     pi++) {
		struct gen_policy *p = &gp[cur], *prev = pi ? &gp[!cur] : NULL;
		long n;
		int ret;

		gen_policy(&g, prev, p);
		n = gen_policy_frames(&g, avg);
		if (n > npackets - sent)
			n = npackets - sent;
		sent += n;
		r.pol_idx = pi;
		/* a change must follow a policy that was installed */
		ret = load_policy(&r, &m, p, p->update && prev && last == 1);
		last = ret;
		cur = !cur;
		if (ret < 0)
			break;
		for (long k = 0; ret && k < n; k++) {
			r.pkt_idx = k;
			gen_frame(&g, p, &f);
			one_frame(&r, &m, &f, (r.packets + 1) % full_every == 0 || k == n - 1);
		}
	}
	model_free(&m);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("differential: compared %ld frames (%ld dropped) over %ld policies (%ld changes of "
	       "the previous one) in %.1f s\n", r.packets, r.dropped, r.policies, r.updates,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("differential: %ld verdicts, %ld row values, %ld reason slot values, %ld whole-table "
	       "comparisons; %ld frames shorter than 14 bytes refused by the kernel\n", r.packets,
	       r.rows_checked, r.slots_checked, r.full_scans, r.refused);
	printf("differential: by class:");
	for (int c = 0; c < MC_NCLASSES; c++)
		printf(" %s %ld", model_class_name(c), r.by_class[c]);
	printf("\ndifferential: by reason:");
	for (int d = 1; d >= 0; d--)
		for (int i = 1; i < IW_NREASONS; i++)
			if (r.by_reason[d][i])
				printf(" %s %s %ld", d ? "dropped" : "passed", model_reason_name(i),
				       r.by_reason[d][i]);
	printf("\ndifferential: %ld mismatches (%ld first in their policy on a bucket that went unused "
	       "across two or more changes of its rate), %ld policies parsed unlike the model\n",
	       r.mismatches, r.stale_mismatches, r.policy_mismatches);
	if (r.mismatches || r.policy_mismatches)
		TEST_FAIL("mismatches: reproduce with ICMPWALL_SEED=%" PRIu64
			  " ICMPWALL_DIFF_PACKETS=%ld ICMPWALL_DIFF_POLICIES=%ld %s", seed, npackets,
			  npolicies, "build/tests/test_differential");
}

/* ---- directed cases ------------------------------------------------------------------------ */

/* An Ethernet + IPv4 + ICMP frame of type from src, checksums right. */
static void frame4(struct gen_frame *f, const char *src, uint8_t type)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
		0x45, 0, 0, 48, 0, 1, 0, 0, 64, 1, 0, 0, 0, 0, 0, 0, 198, 51, 100, 1,
	};
	uint32_t sum = 0;
	unsigned a, b, c, d;

	memset(f, 0, sizeof(*f));
	memcpy(f->d, hdr, sizeof(hdr));
	sscanf(src, "%u.%u.%u.%u", &a, &b, &c, &d);
	f->d[26] = a, f->d[27] = b, f->d[28] = c, f->d[29] = d;
	for (int i = 14; i < 34; i += 2)
		sum += f->d[i] << 8 | f->d[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
	f->d[24] = sum >> 8, f->d[25] = sum & 0xff;
	f->d[34] = type;
	memset(f->d + 42, 0xab, 20);
	sum = type << 8;
	for (int i = 36; i < 62; i += 2)
		sum += f->d[i] << 8 | f->d[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
	f->d[36] = sum >> 8, f->d[37] = sum & 0xff;
	f->len = 62;
	snprintf(f->what, sizeof(f->what), "v4 type=%u from %s", type, src);
}

static void send_one(struct run *r, struct model *m, const struct gen_frame *f)
{
	one_frame(r, m, f, true);
	r->pkt_idx++;
}

/* A policy of rate statements on icmp TYPE: count/minute, burst, per source or not. */
static void rate_policy(struct gen_policy *p, const int (*rules)[4], int n)
{
	size_t len = 0;

	memset(p, 0, sizeof(*p));
	model_policy_init(&p->model);
	p->hot = -1;
	for (int i = 0; i < n; i++) {
		struct model_stmt *s = &p->stmts[p->nstmts++];

		*s = (struct model_stmt){
			.kind = MS_RATE, .fam = IW_FAM_ICMP, .type_num = rules[i][0], .code_num = -1,
			.lim = { .count = rules[i][1], .per_minute = true, .burst_given = true,
				 .burst = rules[i][2] },
			.per_source = rules[i][3], .plen = -1,
		};
		model_policy_apply(&p->model, s);
		model_stmt_format(s, p->text + len, sizeof(p->text) - len);
		len += strlen(p->text + len);
		p->text[len++] = '\n';
	}
	p->text[len] = 0;
}

/*
 * Section 5: "Changing a rate keeps each bucket's level in tokens, clamped to the new
 * burst", through every change. Here buckets go unused across two changes: a per-source
 * bucket emptied at burst 1 (then burst 8, then 2: it must stay empty), a global bucket
 * left at 3 tokens of 5 (then 1/minute, then 2/minute again: it must keep 3).
 */
TEST(rate_level_kept_across_two_changes)
{
	static const int a[][4] = { { 8, 2, 1, 1 }, { 13, 2, 5, 0 } };
	static const int b[][4] = { { 8, 2, 8, 1 }, { 13, 1, 5, 0 } };
	static const int c[][4] = { { 8, 2, 2, 1 }, { 13, 2, 5, 0 } };
	static struct gen_policy gp[3];
	static struct run r;
	struct gen_frame f;
	struct model m;

	memset(&r, 0, sizeof(r));
	model_init(&m);
	rate_policy(&gp[0], a, 2);
	rate_policy(&gp[1], b, 2);
	rate_policy(&gp[2], c, 2);
	r.pol_idx = 0;
	if (load_policy(&r, &m, &gp[0], false) == 1) {
		frame4(&f, "192.0.2.1", 8);
		send_one(&r, &m, &f);	/* the source's one token */
		send_one(&r, &m, &f);	/* none left */
		frame4(&f, "192.0.2.9", 13);
		send_one(&r, &m, &f);	/* 4 of 5 left */
		send_one(&r, &m, &f);	/* 3 of 5 left */
	}
	r.pol_idx = 1;
	r.pkt_idx = 0;
	if (!r.mismatches && load_policy(&r, &m, &gp[1], true) == 1) {
		r.pol_idx = 2;
		r.pkt_idx = 0;
		if (load_policy(&r, &m, &gp[2], true) == 1) {
			frame4(&f, "192.0.2.1", 8);
			for (int i = 0; i < 2; i++)
				send_one(&r, &m, &f);
			frame4(&f, "192.0.2.9", 13);
			for (int i = 0; i < 5; i++)
				send_one(&r, &m, &f);
		}
	}
	model_free(&m);
	printf("rate_level_kept_across_two_changes: %ld frames over 3 policies, %ld mismatches\n",
	       r.packets, r.mismatches);
	ASSERT_EQ(r.policy_mismatches, 0);
	ASSERT_EQ(r.mismatches, 0);
}
