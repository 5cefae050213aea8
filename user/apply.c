// SPDX-License-Identifier: GPL-2.0
#include "apply.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

/*
 * Returns once no BPF program that was running when it was called still runs: the kernel
 * calls synchronize_rcu() on every update of an array-of-maps, so update a throwaway one.
 */
static int rcu_grace_period(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner, outer, err = 0;
	__u32 zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "iw_sync_in", sizeof(__u32), sizeof(__u32), 1, NULL);
	if (inner < 0)
		return -errno;
	opts.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "iw_sync", sizeof(__u32), sizeof(__u32), 1,
			       &opts);
	if (outer < 0 || bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

int iw_policy_read(const struct iw_dev *d, struct iw_policy *kp)
{
	struct iw_conf *conf = iw_conf_map(d);

	if (!conf)
		return -errno;
	memcpy(kp, &conf->pol[__atomic_load_n(&conf->active, __ATOMIC_ACQUIRE) & 1], sizeof(*kp));
	iw_conf_unmap(conf);
	return 0;
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

int iw_policy_commit(const struct iw_dev *d, struct iw_policy *kp, const struct policy *cidrs,
		     const bool *fresh_buckets, char *err, size_t errlen)
{
	struct iw_conf *conf = iw_conf_map(d);
	sigset_t block, was;
	struct iw_state *st;
	__u32 next;
	int ret;

	if (!conf) {
		ret = -errno;
		snprintf(err, errlen, "cannot map %s: %s", IW_MAP_CONF, strerror(-ret));
		return ret;
	}
	next = !(__atomic_load_n(&conf->active, __ATOMIC_ACQUIRE) & 1);
	kp->slot = next;
	/* After this, no packet still reads copy next or trie slot next: the last flip away
	 * from them is a grace period old, even if whoever made it was killed right after. */
	ret = rcu_grace_period();
	if (ret) {
		snprintf(err, errlen, "cannot wait for running programs: %s", strerror(-ret));
		goto out;
	}
	ret = cidr_keys(d, next, delete_key, NULL);
	if (!ret)
		ret = write_cidrs(d, cidrs, next);
	if (ret) {
		snprintf(err, errlen, "cannot write the allow/deny lists: %s", strerror(-ret));
		goto out;
	}
	st = iw_map_mmap(d->fds[IWM_STATE], sizeof(*st));
	if (!st) {
		ret = -errno;
		snprintf(err, errlen, "cannot map the rate buckets: %s", strerror(-ret));
		goto out;
	}
	/* TAT 0: never written, a full bucket. No packet uses a fresh bucket yet. */
	if (fresh_buckets)
		for (int b = 0; b < IW_MAX_BUCKETS; b++)
			if (fresh_buckets[b])
				__atomic_store_n(&st->buckets[b].tat, 0, __ATOMIC_RELAXED);
	/* No packet reads copy next (above), nor the buckets' limits for it. */
	policy_bucket_limits(kp, next, st->buckets);
	iw_map_munmap(st, sizeof(*st));
	memcpy(&conf->pol[next], kp, sizeof(*kp));
	/* The fast words, one store each: a word names the copy it belongs to, so a packet
	 * that reads an old one still finds its (intact) policy. A CLI stopped between the
	 * words and the switch would leave the old policy in force on the slow path (no word
	 * names its copy) until the next commit: Ctrl-C and the like wait for the switch. */
	sigfillset(&block);
	sigprocmask(SIG_BLOCK, &block, &was);
	policy_fast_words(kp, next, conf->fast);
	/* The switch: one store. A packet reads active once and the copy it names, whole. */
	__atomic_store_n(&conf->active, next, __ATOMIC_RELEASE);
	sigprocmask(SIG_SETMASK, &was, NULL);
	pr_debug("%s: policy generation %u in force (copy %u)", d->name, kp->generation, next);
out:
	iw_conf_unmap(conf);
	return ret;
}

int iw_policy_install(struct iw_dev *d, const struct policy *p, char *err, size_t errlen)
{
	struct iw_policy *old = malloc(sizeof(*old)), *new = malloc(sizeof(*new));
	bool fresh[IW_MAX_BUCKETS];
	int ret;

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
	if (!ret)
		ret = iw_policy_commit(d, new, p, fresh, err, errlen);
out:
	free(old);
	free(new);
	return ret;
}
