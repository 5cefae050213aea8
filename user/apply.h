/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apply.h - the policy in force on an attachment: reading it back, and replacing it in one
 * step that a packet cannot see half done.
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
 * Compiles p against the policy in force and swaps it in: the CIDR entries go into the
 * slot the current policy does not use, a new inner map gets the compiled policy, and one
 * update of the outer map makes it live. On error the old policy stays in force, err says
 * why, and the return is a negative errno.
 */
int iw_policy_install(struct iw_dev *d, const struct policy *p, char *err, size_t errlen);

#endif
