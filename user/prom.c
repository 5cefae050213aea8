// SPDX-License-Identifier: GPL-2.0
/*
 * prom.c - the metrics: per interface and family/type/code, the same numbers as
 * `stats --json` (README.md lists the metric names).
 */
#include "prom.h"
#include "log.h"
#include "maps.h"
#include "names.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEVS 256

struct dev_snap {
	char name[IF_NAMESIZE];
	bool up;
	__u64 attached_at;
	struct snapshot *s;
};

static void label(FILE *out, const char *v)
{
	fputc('"', out);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*v, out);
	}
	fputc('"', out);
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void rows_metric(FILE *out, const char *name, const char *help,
			const struct dev_snap *d, int n, size_t field)
{
	char rname[96];

	header(out, name, "counter", help);
	for (int i = 0; i < n; i++) {
		if (!d[i].up)
			continue;
		for (int r = 0; r < IW_NTYPED_ROWS; r++) {
			const struct iw_row_counter *c = &d[i].s->rows[r];
			int fam, type, code;

			if (!c->packets)
				continue;
			row_decode(r, &fam, &type, &code);
			row_name(fam, type, code, rname, sizeof(rname));
			fprintf(out, "%s{interface=", name);
			label(out, d[i].name);
			fprintf(out, ",family=\"%s\",type=\"%d\",code=\"%d\",name=", family_name(fam),
				type, code);
			label(out, rname);
			fprintf(out, "} %llu\n", *(const unsigned long long *)((const char *)c + field));
		}
	}
}

static int collect(char **devs, int n, struct dev_snap *d, int *nd)
{
	char (*names)[IF_NAMESIZE] = NULL;
	int count = 0;

	if (!n) {
		names = calloc(MAX_DEVS, IF_NAMESIZE);
		if (!names || iw_bpffs_ensure() ||
		    (n = iw_list_attachments(names, MAX_DEVS)) < 0) {
			free(names);
			return -1;
		}
	}
	for (int i = 0; i < n && count < MAX_DEVS; i++) {
		const char *name = names ? names[i] : devs[i];
		struct dev_snap *ds = &d[count];
		struct iw_dev dev;

		memset(ds, 0, sizeof(*ds));
		snprintf(ds->name, sizeof(ds->name), "%s", name);
		if (!iw_dev_open(&dev, name, IW_OPEN_QUIET)) {
			ds->s = snapshot_new();
			if (ds->s && !snapshot_read(&dev, ds->s)) {
				ds->up = true;
				ds->attached_at = dev.meta.attached_at;
			}
			iw_dev_close(&dev);
		}
		/* scanned interfaces that turned out stale are left out; named ones show up 0 */
		if (ds->up || !names)
			count++;
		else
			free(ds->s);
	}
	free(names);
	*nd = count;
	return 0;
}

int prom_write(FILE *out, char **devs, int n)
{
	struct dev_snap *d = calloc(MAX_DEVS, sizeof(*d));
	int nd = 0;

	if (!d || collect(devs, n, d, &nd)) {
		free(d);
		return -1;
	}
	header(out, "icmpwall_up", "gauge",
	       "1 when icmpwall is attached to the interface, 0 when it is not.");
	for (int i = 0; i < nd; i++) {
		fputs("icmpwall_up{interface=", out);
		label(out, d[i].name);
		fprintf(out, "} %d\n", d[i].up);
	}
	header(out, "icmpwall_attached_since_seconds", "gauge",
	       "Unix time at which icmpwall was attached to the interface.");
	for (int i = 0; i < nd; i++) {
		if (!d[i].up)
			continue;
		fputs("icmpwall_attached_since_seconds{interface=", out);
		label(out, d[i].name);
		fprintf(out, "} %llu\n", (unsigned long long)d[i].attached_at);
	}
	rows_metric(out, "icmpwall_packets_total", "ICMP packets seen, per family, type and code.",
		    d, nd, offsetof(struct iw_row_counter, packets));
	rows_metric(out, "icmpwall_bytes_total",
		    "Frame bytes of the ICMP packets seen, per family, type and code.",
		    d, nd, offsetof(struct iw_row_counter, bytes));
	rows_metric(out, "icmpwall_type_dropped_total",
		    "ICMP packets dropped, per family, type and code.",
		    d, nd, offsetof(struct iw_row_counter, dropped));
	header(out, "icmpwall_dropped_total", "counter", "ICMP packets dropped, per reason.");
	for (int i = 0; i < nd; i++) {
		if (!d[i].up)
			continue;
		for (int k = 0; k < n_drop_reasons; k++) {
			fputs("icmpwall_dropped_total{interface=", out);
			label(out, d[i].name);
			fprintf(out, ",reason=\"%s\"} %llu\n", drop_reasons[k].key,
				(unsigned long long)d[i].s->reasons[IW_REASON_IDX(1,
					drop_reasons[k].reason)].packets);
		}
	}
	header(out, "icmpwall_untyped_packets_total", "counter",
	       "ICMP packets without a readable type: non-first fragments, malformed headers.");
	for (int i = 0; i < nd; i++) {
		if (!d[i].up)
			continue;
		for (int fam = 0; fam < IW_NFAM; fam++) {
			fputs("icmpwall_untyped_packets_total{interface=", out);
			label(out, d[i].name);
			fprintf(out, ",family=\"%s\"} %llu\n", family_name(fam),
				(unsigned long long)d[i].s->rows[IW_ROW_UNTYPED(fam)].packets);
		}
	}
	header(out, "icmpwall_packets_all_total", "counter",
	       "All ICMP packets seen (every type row plus the untyped ones).");
	for (int i = 0; i < nd; i++) {
		if (!d[i].up)
			continue;
		fputs("icmpwall_packets_all_total{interface=", out);
		label(out, d[i].name);
		fprintf(out, "} %llu\n", (unsigned long long)d[i].s->total.packets);
	}
	for (int i = 0; i < nd; i++)
		free(d[i].s);
	free(d);
	return 0;
}
