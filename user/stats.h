/* SPDX-License-Identifier: GPL-2.0 */
/* stats.h - counter snapshots and their output. */
#ifndef ICMPWALL_STATS_H
#define ICMPWALL_STATS_H

#include <stdbool.h>
#include <time.h>
#include "maps.h"

struct snapshot {
	struct timespec when;		/* CLOCK_MONOTONIC */
	struct iw_row_counter rows[IW_NROWS];
	struct iw_reason_counter reasons[IW_NREASON_SLOTS];
	struct iw_row_counter total;	/* sum of every row */
};

struct reason_desc {
	enum iw_reason reason;
	const char *key;		/* as in stats --json "drops" */
};

extern const struct reason_desc drop_reasons[];
extern const int n_drop_reasons;

struct snapshot *snapshot_new(void);
int snapshot_read(const struct iw_dev *d, struct snapshot *s);
void row_decode(int row, int *fam, int *type, int *code);

int stats_watch(const struct iw_dev *d, double secs, bool json);
void stats_render_json_rates(const struct iw_dev *d, const struct snapshot *prev,
			     const struct snapshot *cur, double dt);

#endif
