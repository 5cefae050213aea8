/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apply.h - the policy in force on an attachment: reading it back, and replacing it in one
 * step that a packet cannot see half done (include/icmpwall.h, struct iw_conf).
 */
#ifndef ICMPWALL_APPLY_H
#define ICMPWALL_APPLY_H

#include <stddef.h>
#include "maps.h"
#include "policy.h"

/* The compiled policy in force. */
int iw_policy_read(const struct iw_dev *d, struct iw_policy *kp);
/* The policy in force as statements (rules, settings and CIDRs). */
int iw_policy_load(const struct iw_dev *d, struct policy *out);
/*
 * Compiles p against the policy in force and makes it the policy in force (below). On
 * error the old policy stays in force, err says why, and the return is a negative errno.
 */
int iw_policy_install(struct iw_dev *d, const struct policy *p, char *err, size_t errlen);
/*
 * Makes a compiled policy the policy in force: waits for an RCU grace period (no packet
 * still reads the copy not in force), writes the CIDR entries into that copy's trie slot,
 * resets the buckets flagged fresh (may be NULL), writes the copy and its fast words, and
 * flips iw_conf.active to it with one store. kp->slot is set to the copy's index.
 */
int iw_policy_commit(const struct iw_dev *d, struct iw_policy *kp, const struct policy *cidrs,
		     const bool *fresh_buckets, char *err, size_t errlen);

#endif
