// SPDX-License-Identifier: GPL-2.0
#include "apply.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

int iw_policy_read(const struct iw_dev *d, struct iw_policy *kp)
{
	__u32 zero = 0, inner_id;
	int fd, err = 0;

	if (bpf_map_lookup_elem(d->fds[IWM_POLICY], &zero, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, kp))
		err = -errno;
	close(fd);
	return err;
}

/* Calls fn for every CIDR trie key of slot (both families). */
static int cidr_keys(const struct iw_dev *d, __u32 slot,
		     int (*fn)(int fd, const void *key, int fam, void *ctx), void *ctx)
{
	for (int fam = 0; fam < IW_NFAM; fam++) {
		int fd = d->fds[fam == IW_FAM_ICMP ? IWM_CIDR4 : IWM_CIDR6];
		struct iw_cidr6_key key, next;	/* the larger of the two key types */
		void *prev = NULL;
		int err;

		/* Collect first: deleting while walking would restart the walk. */
		size_t n = 0, cap = 64, ksz = fam == IW_FAM_ICMP ? sizeof(struct iw_cidr4_key) :
								   sizeof(struct iw_cidr6_key);
		char *keys = malloc(cap * ksz);

		if (!keys)
			return -ENOMEM;
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			if (next.slot == slot) {
				if (n == cap) {
					char *nk = realloc(keys, (cap *= 2) * ksz);

					if (!nk) {
						free(keys);
						return -ENOMEM;
					}
					keys = nk;
				}
				memcpy(keys + n++ * ksz, &next, ksz);
			}
			memcpy(&key, &next, ksz);
			prev = &key;
		}
		err = errno == ENOENT ? 0 : -errno;
		for (size_t i = 0; !err && i < n; i++)
			err = fn(fd, keys + i * ksz, fam, ctx);
		free(keys);
		if (err)
			return err;
	}
	return 0;
}

static int delete_key(int fd, const void *key, int fam, void *ctx)
{
	if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

static int load_key(int fd, const void *key, int fam, void *ctx)
{
	struct policy *p = ctx;
	struct iw_cidr_val val;
	struct pol_cidr c = { .fam = fam };
	const struct iw_cidr4_key *k4 = key;
	const struct iw_cidr6_key *k6 = key;

	if (bpf_map_lookup_elem(fd, key, &val))
		return errno == ENOENT ? 0 : -errno;
	c.plen = (fam == IW_FAM_ICMP ? k4->prefixlen : k6->prefixlen) - 32;
	memcpy(c.addr, fam == IW_FAM_ICMP ? k4->addr : k6->addr, fam == IW_FAM_ICMP ? 4 : 16);
	for (int list = IW_CIDR_DENY; list; list = list == IW_CIDR_DENY ? IW_CIDR_ALLOW : 0) {
		if (!(val.own & list))
			continue;
		c.list = list;
		if (policy_add_cidr(p, &c))
			return -ENOMEM;
	}
	return 0;
}

int iw_policy_load(const struct iw_dev *d, struct policy *out)
{
	struct iw_policy *kp = malloc(sizeof(*kp));
	int err;

	if (!kp)
		return -ENOMEM;
	err = iw_policy_read(d, kp);
	if (!err)
		err = policy_decompile(kp, out);
	if (!err)
		err = cidr_keys(d, kp->slot, load_key, out);
	free(kp);
	return err;
}

static int write_cidrs(const struct iw_dev *d, const struct policy *p, __u32 slot)
{
	struct cidr_entry *e;
	int n, err;

	err = policy_cidr_entries(p, &e, &n);
	if (err)
		return err;
	for (int i = 0; i < n && !err; i++) {
		if (e[i].c.fam == IW_FAM_ICMP) {
			struct iw_cidr4_key k = { .prefixlen = 32 + e[i].c.plen, .slot = slot };

			memcpy(k.addr, e[i].c.addr, 4);
			if (bpf_map_update_elem(d->fds[IWM_CIDR4], &k, &e[i].val, BPF_ANY))
				err = -errno;
		} else {
			struct iw_cidr6_key k = { .prefixlen = 32 + e[i].c.plen, .slot = slot };

			memcpy(k.addr, e[i].c.addr, 16);
			if (bpf_map_update_elem(d->fds[IWM_CIDR6], &k, &e[i].val, BPF_ANY))
				err = -errno;
		}
	}
	free(e);
	return err;
}

int iw_policy_install(struct iw_dev *d, const struct policy *p, char *err, size_t errlen)
{
	struct iw_policy *old = malloc(sizeof(*old)), *new = malloc(sizeof(*new));
	bool fresh[IW_MAX_BUCKETS];
	__u32 zero = 0;
	int inner = -1, ret;

	if (!old || !new) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = iw_policy_read(d, old);
	if (ret) {
		snprintf(err, errlen, "cannot read the policy in force: %s", strerror(-ret));
		goto out;
	}
	ret = policy_compile(p, old, d->meta.hz, new, fresh, err, errlen);
	if (ret)
		goto out;

	/* The slot the policy in force does not use: no packet reads it (the previous swap
	 * waited for every program that could have), so it can be rewritten freely. */
	ret = cidr_keys(d, new->slot, delete_key, NULL);
	if (!ret)
		ret = write_cidrs(d, p, new->slot);
	if (ret) {
		snprintf(err, errlen, "cannot write the allow/deny lists: %s", strerror(-ret));
		goto out;
	}
	for (int b = 0; b < IW_MAX_BUCKETS; b++) {
		struct iw_bucket full = {};	/* TAT 0: far in the past, a full bucket */
		__u32 key = b;

		if (fresh[b] && bpf_map_update_elem(d->fds[IWM_BUCKETS], &key, &full, BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "cannot reset a rate bucket: %s", strerror(-ret));
			goto out;
		}
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "iw_pol", sizeof(__u32), sizeof(*new), 1, NULL);
	if (inner < 0 || bpf_map_update_elem(inner, &zero, new, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create the policy map: %s", strerror(-ret));
		goto out;
	}
	/* The switch: one update. The kernel returns once no program can still see the old
	 * inner map. */
	if (bpf_map_update_elem(d->fds[IWM_POLICY], &zero, &inner, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "cannot install the policy: %s", strerror(-ret));
		goto out;
	}
	/* The old slot's CIDRs are now unreachable; tidy them (the next change would anyway). */
	cidr_keys(d, old->slot, delete_key, NULL);
	pr_debug("%s: policy generation %u installed (slot %u)", d->name, new->generation, new->slot);
out:
	if (inner >= 0)
		close(inner);
	free(old);
	free(new);
	return ret;
}
