// SPDX-License-Identifier: GPL-2.0
#include "names.h"

#include <stdio.h>
#include <string.h>

struct name {
	int fam;
	int type;
	int code;	/* -1: a type name */
	const char *name;
};

/* nftables' spellings (nft describe icmp type / icmpv6 type / icmp code / icmpv6 code),
 * plus a few codes nft leaves unnamed. The first name of a (fam, type, code) is the one
 * printed; later ones are accepted aliases. */
static const struct name names[] = {
	{ IW_FAM_ICMP, 0, -1, "echo-reply" },
	{ IW_FAM_ICMP, 3, -1, "destination-unreachable" },
	{ IW_FAM_ICMP, 4, -1, "source-quench" },
	{ IW_FAM_ICMP, 5, -1, "redirect" },
	{ IW_FAM_ICMP, 8, -1, "echo-request" },
	{ IW_FAM_ICMP, 9, -1, "router-advertisement" },
	{ IW_FAM_ICMP, 10, -1, "router-solicitation" },
	{ IW_FAM_ICMP, 11, -1, "time-exceeded" },
	{ IW_FAM_ICMP, 12, -1, "parameter-problem" },
	{ IW_FAM_ICMP, 13, -1, "timestamp-request" },
	{ IW_FAM_ICMP, 14, -1, "timestamp-reply" },
	{ IW_FAM_ICMP, 15, -1, "info-request" },
	{ IW_FAM_ICMP, 16, -1, "info-reply" },
	{ IW_FAM_ICMP, 17, -1, "address-mask-request" },
	{ IW_FAM_ICMP, 18, -1, "address-mask-reply" },

	{ IW_FAM_ICMP, 3, 0, "net-unreachable" },
	{ IW_FAM_ICMP, 3, 1, "host-unreachable" },
	{ IW_FAM_ICMP, 3, 2, "prot-unreachable" },
	{ IW_FAM_ICMP, 3, 2, "protocol-unreachable" },
	{ IW_FAM_ICMP, 3, 3, "port-unreachable" },
	{ IW_FAM_ICMP, 3, 4, "frag-needed" },
	{ IW_FAM_ICMP, 3, 4, "fragmentation-needed" },
	{ IW_FAM_ICMP, 3, 5, "source-route-failed" },
	{ IW_FAM_ICMP, 3, 6, "net-unknown" },
	{ IW_FAM_ICMP, 3, 7, "host-unknown" },
	{ IW_FAM_ICMP, 3, 9, "net-prohibited" },
	{ IW_FAM_ICMP, 3, 10, "host-prohibited" },
	{ IW_FAM_ICMP, 3, 13, "admin-prohibited" },
	{ IW_FAM_ICMP, 5, 0, "net-redirect" },
	{ IW_FAM_ICMP, 5, 1, "host-redirect" },
	{ IW_FAM_ICMP, 11, 0, "ttl-exceeded" },
	{ IW_FAM_ICMP, 11, 1, "reassembly-exceeded" },

	{ IW_FAM_ICMPV6, 1, -1, "destination-unreachable" },
	{ IW_FAM_ICMPV6, 2, -1, "packet-too-big" },
	{ IW_FAM_ICMPV6, 3, -1, "time-exceeded" },
	{ IW_FAM_ICMPV6, 4, -1, "parameter-problem" },
	{ IW_FAM_ICMPV6, 128, -1, "echo-request" },
	{ IW_FAM_ICMPV6, 129, -1, "echo-reply" },
	{ IW_FAM_ICMPV6, 130, -1, "mld-listener-query" },
	{ IW_FAM_ICMPV6, 131, -1, "mld-listener-report" },
	{ IW_FAM_ICMPV6, 132, -1, "mld-listener-done" },
	{ IW_FAM_ICMPV6, 132, -1, "mld-listener-reduction" },
	{ IW_FAM_ICMPV6, 133, -1, "nd-router-solicit" },
	{ IW_FAM_ICMPV6, 134, -1, "nd-router-advert" },
	{ IW_FAM_ICMPV6, 135, -1, "nd-neighbor-solicit" },
	{ IW_FAM_ICMPV6, 136, -1, "nd-neighbor-advert" },
	{ IW_FAM_ICMPV6, 137, -1, "nd-redirect" },
	{ IW_FAM_ICMPV6, 138, -1, "router-renumbering" },
	{ IW_FAM_ICMPV6, 141, -1, "ind-neighbor-solicit" },
	{ IW_FAM_ICMPV6, 142, -1, "ind-neighbor-advert" },
	{ IW_FAM_ICMPV6, 143, -1, "mld2-listener-report" },

	{ IW_FAM_ICMPV6, 1, 0, "no-route" },
	{ IW_FAM_ICMPV6, 1, 1, "admin-prohibited" },
	{ IW_FAM_ICMPV6, 1, 2, "beyond-scope" },
	{ IW_FAM_ICMPV6, 1, 3, "addr-unreachable" },
	{ IW_FAM_ICMPV6, 1, 4, "port-unreachable" },
	{ IW_FAM_ICMPV6, 1, 5, "policy-fail" },
	{ IW_FAM_ICMPV6, 1, 6, "reject-route" },
	{ IW_FAM_ICMPV6, 3, 0, "hop-limit-exceeded" },
	{ IW_FAM_ICMPV6, 3, 1, "reassembly-exceeded" },
	{ IW_FAM_ICMPV6, 4, 0, "erroneous-header" },
	{ IW_FAM_ICMPV6, 4, 1, "unrecognized-next-header" },
	{ IW_FAM_ICMPV6, 4, 2, "unrecognized-option" },
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

const char *family_name(int fam)
{
	return fam == IW_FAM_ICMPV6 ? "icmpv6" : "icmp";
}

const char *type_name(int fam, int type)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].fam == fam && names[i].type == type && names[i].code < 0)
			return names[i].name;
	return NULL;
}

const char *code_name(int fam, int type, int code)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].fam == fam && names[i].type == type && names[i].code == code)
			return names[i].name;
	return NULL;
}

void row_name(int fam, int type, int code, char *buf, size_t len)
{
	const char *t = type_name(fam, type), *c;
	char tbuf[16];

	if (!t) {
		snprintf(tbuf, sizeof(tbuf), "type-%d", type);
		t = tbuf;
	}
	if (code >= IW_CODE_FOLD) {
		snprintf(buf, len, "%s/code-%d+", t, IW_CODE_FOLD);
		return;
	}
	c = code_name(fam, type, code);
	if (c)
		snprintf(buf, len, "%s/%s", t, c);
	else if (code == 0)
		snprintf(buf, len, "%s", t);
	else
		snprintf(buf, len, "%s/code-%d", t, code);
}

int type_by_name(int fam, const char *name)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].fam == fam && names[i].code < 0 && !strcmp(names[i].name, name))
			return names[i].type;
	return -1;
}

int code_by_name(int fam, int type, const char *name)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].fam == fam && names[i].type == type && names[i].code >= 0 &&
		    !strcmp(names[i].name, name))
			return names[i].code;
	return -1;
}

int type_name_exists_anywhere(const char *name)
{
	return type_by_name(IW_FAM_ICMP, name) >= 0 || type_by_name(IW_FAM_ICMPV6, name) >= 0;
}
