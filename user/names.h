/* SPDX-License-Identifier: GPL-2.0 */
/* names.h - ICMP and ICMPv6 type and code names, spelt as nftables spells them. */
#ifndef ICMPWALL_NAMES_H
#define ICMPWALL_NAMES_H

#include <stddef.h>
#include "icmpwall.h"

const char *family_name(int fam);			/* "icmp", "icmpv6" */
const char *type_name(int fam, int type);		/* NULL when unnamed */
const char *code_name(int fam, int type, int code);	/* NULL when unnamed */
/* Row label for counters: "echo-request", "destination-unreachable/port-unreachable",
 * "time-exceeded/code-2", "type-42", ".../code-16+" for the folded row. */
void row_name(int fam, int type, int code, char *buf, size_t len);

/* Lookups by name; return -1 when unknown. */
int type_by_name(int fam, const char *name);
int code_by_name(int fam, int type, const char *name);
/* For error messages: a name that exists in the other family, or anywhere. */
int type_name_exists_anywhere(const char *name);

#endif
