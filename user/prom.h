/* SPDX-License-Identifier: GPL-2.0 */
/* prom.h - counters in the Prometheus text exposition format (version 0.0.4). */
#ifndef ICMPWALL_PROM_H
#define ICMPWALL_PROM_H

#include <stdio.h>

/*
 * Writes the metrics of the named interfaces (all attachments found when n == 0) to out.
 * An interface that is named but not attached is reported with icmpwall_up 0.
 */
int prom_write(FILE *out, char **devs, int n);

#endif
