// SPDX-License-Identifier: GPL-2.0
#include "maps.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <zlib.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *const iw_map_names[IWM_COUNT] = {
	[IWM_STATS] = IW_MAP_STATS,
	[IWM_REASONS] = IW_MAP_REASONS,
	[IWM_CONF] = IW_MAP_CONF,
	[IWM_STATE] = IW_MAP_STATE,
	[IWM_SRC4] = IW_MAP_SRC4,
	[IWM_SRC6] = IW_MAP_SRC6,
	[IWM_CIDR4] = IW_MAP_CIDR4,
	[IWM_CIDR6] = IW_MAP_CIDR6,
	[IWM_CTL] = IW_MAP_CTL,
	[IWM_EVENTS] = IW_MAP_EVENTS,
	[IWM_EPISODES] = IW_MAP_EPISODES,
	[IWM_TOP] = IW_MAP_TOP,
};

const char *iw_pin_name(int map)
{
	return map == IWM_CONF ? IW_PIN_CONF : map == IWM_STATE ? IW_PIN_STATE : iw_map_names[map];
}

static size_t page_round(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

void *iw_map_mmap(int fd, size_t len)
{
	void *p = mmap(NULL, page_round(len), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

void iw_map_munmap(void *p, size_t len)
{
	if (p)
		munmap(p, page_round(len));
}

struct iw_conf *iw_conf_map(const struct iw_dev *d)
{
	return iw_map_mmap(d->fds[IWM_CONF], sizeof(struct iw_conf));
}

void iw_conf_unmap(struct iw_conf *conf)
{
	iw_map_munmap(conf, sizeof(*conf));
}

const char *iw_state_str(enum iw_attach_state s)
{
	switch (s) {
	case IW_ATTACHED:
		return "attached";
	case IW_STALE_GONE:
		return "stale: interface gone";
	case IW_STALE_DETACHED:
		return "stale: program not attached";
	case IW_STALE_BROKEN:
		return "stale: incomplete or incompatible pins";
	case IW_OTHER_NETNS:
		return "other network namespace";
	}
	return "?";
}

int iw_bpffs_ensure(void)
{
	struct statfs st;
	int err;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_err("cannot mount bpffs at /sys/fs/bpf: %s", strerror(-err));
		return err;
	}
	pr_debug("mounted bpffs at /sys/fs/bpf");
	return 0;
}

int iw_check_ifname(const char *name)
{
	if (!*name || strlen(name) >= IF_NAMESIZE || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		pr_err("invalid interface name: '%s'", name);
		return -EINVAL;
	}
	return 0;
}

void iw_pin_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", IW_PIN_ROOT, name);
}

__u64 iw_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

void iw_dev_init(struct iw_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->dir_fd = -1;
	d->ns_fd = -1;
	d->prog_fd = -1;
	for (int i = 0; i < IWM_COUNT; i++)
		d->fds[i] = -1;
}

void iw_dev_close(struct iw_dev *d)
{
	for (int i = 0; i < IWM_COUNT; i++)
		if (d->fds[i] >= 0)
			close(d->fds[i]);
	if (d->prog_fd >= 0)
		close(d->prog_fd);
	if (d->dir_fd >= 0)
		close(d->dir_fd);	/* releases the locks */
	if (d->ns_fd >= 0)
		close(d->ns_fd);
	iw_dev_init(d);
}

int iw_read_meta(const struct iw_dev *d, struct iw_meta *meta)
{
	struct iw_conf *conf = iw_conf_map(d);

	if (!conf)
		return -errno;
	*meta = conf->meta;
	iw_conf_unmap(conf);
	return 0;
}

int iw_find_prog(int ifindex, __u32 *id, enum xdp_attach_mode *mode, __u32 *other_id)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int found = 0, err;

	if (other_id)
		*other_id = 0;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || (!err && !mp))
		return 0;	/* nothing attached */
	if (err)
		return err;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), IW_PROG_NAME)) {
			*id = xdp_program__id(p);
			found = 1;
		} else if (p && other_id) {
			*other_id = xdp_program__id(p);
		}
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
			if (!strcmp(xdp_program__name(p), IW_PROG_NAME)) {
				*id = xdp_program__id(p);
				found = 1;
				break;
			}
		}
	}
	if (found && mode)
		*mode = xdp_multiprog__attach_mode(mp);
	xdp_multiprog__close(mp);
	return found;
}

/* 1 when program prog_id is icmpwall's program on ifindex, 0 when it is not, a negative
 * errno when the interface's programs cannot be read. */
static int prog_attached(int ifindex, __u32 prog_id)
{
	__u32 id = 0;
	int found = iw_find_prog(ifindex, &id, NULL, NULL);

	return found < 0 ? found : found == 1 && id == prog_id;
}

int iw_dev_still_attached(const struct iw_dev *d)
{
	int ifindex = if_nametoindex(d->name), e;

	if (!ifindex)
		return -ESRCH;
	e = prog_attached(ifindex, d->prog_id);
	return e < 0 ? e : e ? 0 : -ESRCH;
}

static int open_pins(struct iw_dev *d)
{
	char path[PATH_MAX];
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	snprintf(path, sizeof(path), "%s/%s", d->dir, IW_PROG_PIN);
	d->prog_fd = bpf_obj_get(path);
	if (d->prog_fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(d->prog_fd, &info, &len))
		return -errno;
	d->prog_id = info.id;
	for (int i = 0; i < IWM_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", d->dir, iw_pin_name(i));
		d->fds[i] = bpf_obj_get(path);
		if (d->fds[i] < 0)
			return -errno;
	}
	return iw_read_meta(d, &d->meta);
}

/* Finds the maps of program prog_id by name: the way back when the pins are gone. */
static int open_from_prog(struct iw_dev *d, __u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], n;

	d->prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (d->prog_fd < 0)
		return -errno;
	d->prog_id = prog_id;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(d->prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids < 64 ? info.nr_map_ids : 64;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			int err = -errno;

			close(fd);
			return err;
		}
		for (int m = 0; m < IWM_COUNT; m++) {
			if (d->fds[m] < 0 && !strcmp(mi.name, iw_map_names[m])) {
				d->fds[m] = fd;
				fd = -1;
				break;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	for (int m = 0; m < IWM_COUNT; m++)
		if (d->fds[m] < 0)
			return -ENOENT;
	return iw_read_meta(d, &d->meta);
}

int iw_pin_all(struct iw_dev *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", d->dir, IW_PROG_PIN);
	if (bpf_obj_pin(d->prog_fd, path) && errno != EEXIST)
		return -errno;
	for (int i = 0; i < IWM_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", d->dir, iw_pin_name(i));
		if (bpf_obj_pin(d->fds[i], path) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

int iw_remove_pins(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];
	int err = 0;

	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	closedir(dh);
	if (rmdir(dir) && errno != ENOENT)
		err = err ?: -errno;
	return err;
}

static int ensure_root_dir(void)
{
	if (mkdir(IW_PIN_ROOT, 0700) && errno != EEXIST) {
		int err = -errno;

		pr_err("cannot create %s: %s", IW_PIN_ROOT, strerror(-err));
		return err;
	}
	return 0;
}

static int lock_dir(struct iw_dev *d)
{
	if (flock(d->dir_fd, LOCK_EX)) {
		int err = -errno;

		pr_err("cannot lock %s: %s", d->dir, strerror(-err));
		return err;
	}
	return 0;
}

int iw_lock_netns(struct iw_dev *d)
{
	int err;

	if (d->ns_fd >= 0)
		return 0;
	d->ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->ns_fd < 0 || flock(d->ns_fd, LOCK_EX)) {
		err = -errno;
		pr_err("cannot lock the network namespace: %s", strerror(-err));
		return err;
	}
	return 0;
}

int iw_dir_create_locked(struct iw_dev *d)
{
	int err = ensure_root_dir();

	if (err)
		return err;
	if (mkdir(d->dir, 0700))
		return -errno;
	d->dir_fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dir_fd < 0)
		return -errno;
	return lock_dir(d);
}

/* Classifies pins that opened: attached, or stale for some reason. */
static void classify(struct iw_dev *d)
{
	if (d->meta.magic != IW_META_MAGIC || d->meta.abi != IW_ABI_VERSION)
		d->state = IW_STALE_BROKEN;
	else if (d->meta.netns && d->meta.netns != iw_netns_ino())
		d->state = IW_OTHER_NETNS;
	else if (!d->ifindex)
		d->state = IW_STALE_GONE;
	else if (prog_attached(d->ifindex, d->prog_id) == 1)
		d->state = IW_ATTACHED;
	else
		d->state = IW_STALE_DETACHED;
}

#define open_err(flags, ...) \
	log_msg((flags) & IW_OPEN_QUIET ? LOG_DEBUG : LOG_ERR, __VA_ARGS__)

int iw_dev_open(struct iw_dev *d, const char *name, unsigned int flags)
{
	__u32 id = 0;
	int err;

	iw_dev_init(d);
	err = iw_check_ifname(name);
	if (err)
		return err;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ifindex = if_nametoindex(name);
	err = iw_bpffs_ensure();
	if (err)
		return err;
	iw_pin_dir(name, d->dir, sizeof(d->dir));

	if ((flags & IW_OPEN_LOCK) && (err = iw_lock_netns(d)))
		goto fail;
	d->dir_fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dir_fd >= 0) {
		if ((flags & IW_OPEN_LOCK) && (err = lock_dir(d)))
			goto fail;
		err = open_pins(d);
		if (err == -EACCES || err == -EPERM) {
			/* not stale: we may not look */
			open_err(flags, "cannot read the pins in %s: %s", d->dir, strerror(-err));
			goto fail;
		}
		if (err) {
			pr_debug("%s: incomplete pins: %s", d->dir, strerror(-err));
			d->state = IW_STALE_BROKEN;
		} else {
			classify(d);
		}
		if (d->state == IW_ATTACHED || (flags & IW_OPEN_STALE))
			return 0;
		if (d->state == IW_OTHER_NETNS)
			open_err(flags, "%s: the pins in %s belong to an interface in another network namespace",
			       name, d->dir);
		else
			open_err(flags, "%s: %s (pins in %s); 'icmpwall detach %s' removes them", name,
			       iw_state_str(d->state), d->dir, name);
		err = -ESTALE;
		goto fail;
	}
	if (errno != ENOENT) {
		err = -errno;
		open_err(flags, "cannot open %s: %s", d->dir, strerror(-err));
		goto fail;
	}

	/* No pins here: is the program attached all the same (pinned in another mount
	 * namespace, e.g. by an earlier `ip netns exec`)? Then pin it again. */
	if (!d->ifindex) {
		open_err(flags, "no such interface: %s", name);
		err = -ENODEV;
		goto fail;
	}
	err = iw_find_prog(d->ifindex, &id, NULL, NULL);
	if (err != 1) {
		if (err < 0)
			open_err(flags, "%s: cannot read its XDP program: %s", name, strerror(-err));
		else
			open_err(flags, "%s: not attached", name);
		err = err < 0 ? err : -ENOENT;
		goto fail;
	}
	err = open_from_prog(d, id);
	if (!err)
		classify(d);
	if (err || d->state != IW_ATTACHED) {
		/* An icmpwall program this build cannot drive (another map layout): detach can
		 * still take it off. */
		d->state = IW_STALE_BROKEN;
		d->prog_id = id;
		if (flags & IW_OPEN_STALE)
			return 0;
		open_err(flags, "%s: the attached icmpwall program (id %u) does not match this "
			 "icmpwall (%s); 'icmpwall detach %s' removes it", name, id,
			 err ? strerror(-err) : "another ABI", name);
		err = -EPROTO;
		goto fail;
	}
	err = iw_dir_create_locked(d);
	if (err == -EEXIST) {	/* another command got there first */
		d->dir_fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		err = d->dir_fd < 0 ? -errno : lock_dir(d);
	}
	if (!err)
		err = iw_pin_all(d);
	if (err) {
		open_err(flags, "%s: cannot pin to %s: %s", name, d->dir, strerror(-err));
		goto fail;
	}
	if (!(flags & IW_OPEN_LOCK))
		flock(d->dir_fd, LOCK_UN);
	d->recovered = true;
	pr_debug("%s: pinned the attached program (id %u) again in %s", name, id, d->dir);
	return 0;
fail:
	iw_dev_close(d);
	return err;
}

int iw_list_pinned(char (*names)[IF_NAMESIZE], int max)
{
	DIR *dh = opendir(IW_PIN_ROOT);
	struct dirent *de;
	int n = 0;

	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh)) && n < max) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len >= IF_NAMESIZE)
			continue;
		memcpy(names[n++], de->d_name, len + 1);
	}
	closedir(dh);
	return n;
}

int iw_list_attachments(char (*names)[IF_NAMESIZE], int max)
{
	struct if_nameindex *ifs;
	int n = iw_list_pinned(names, max);

	if (n < 0)
		return n;
	ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_index && n < max; i++) {
		bool known = false;
		__u32 id;

		for (int k = 0; k < n && !known; k++)
			known = !strcmp(names[k], i->if_name);
		if (!known && iw_find_prog(i->if_index, &id, NULL, NULL) == 1)
			snprintf(names[n++], IF_NAMESIZE, "%s", i->if_name);
	}
	if (ifs)
		if_freenameindex(ifs);
	return n;
}

unsigned int iw_kernel_hz(void)
{
	char path[PATH_MAX], line[256];
	struct utsname u;
	unsigned int hz = 0;
	gzFile f;

	f = gzopen("/proc/config.gz", "r");
	if (!f && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r");
	}
	if (!f)
		return 0;
	while (gzgets(f, line, sizeof(line)))
		if (sscanf(line, "CONFIG_HZ=%u", &hz) == 1)
			break;
	gzclose(f);
	return hz;
}

/* ---- per-CPU counters ------------------------------------------------------------- */

/* Sums a per-CPU array of records made of u64 fields, count keys from 0, in batches. */
static int read_percpu_u64(int fd, __u32 count, size_t value_size, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t nfields = value_size / sizeof(__u64), stride = nfields * ncpu;
	__u32 chunk = 1024, done = 0, last = 0;
	__u64 *vals;
	__u32 *keys;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ?: -EINVAL;
	vals = calloc((size_t)chunk * stride, sizeof(__u64));
	keys = calloc(chunk, sizeof(__u32));
	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	memset(out, 0, (size_t)count * value_size);
	while (done < count) {
		__u32 n = count - done < chunk ? count - done : chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		/* in: the last key read, which the kernel starts after; out: the last it read */
		if (bpf_map_lookup_batch(fd, done ? &last : NULL, &last, keys, vals, &n, &opts) &&
		    errno != ENOENT) {
			/* no batch support: one key at a time */
			for (n = 0; n < chunk && done + n < count; n++) {
				keys[n] = done + n;
				if (bpf_map_lookup_elem(fd, &keys[n], vals + n * stride)) {
					err = -errno;
					goto out;
				}
				last = keys[n];
			}
		}
		if (!n)
			break;
		for (__u32 i = 0; i < n; i++) {
			__u64 *dst = out + (size_t)keys[i] * nfields;

			if (keys[i] >= count)
				continue;
			for (int c = 0; c < ncpu; c++)
				for (size_t f = 0; f < nfields; f++)
					dst[f] += vals[i * stride + c * nfields + f];
		}
		done += n;
	}
out:
	free(vals);
	free(keys);
	return err;
}

int iw_read_rows(const struct iw_dev *d, struct iw_row_counter *rows)
{
	int err = read_percpu_u64(d->fds[IWM_STATS], IW_NROWS, sizeof(*rows), (__u64 *)rows);

	/* the program's per-CPU notes, not counters: their sum means nothing */
	for (__u32 i = 0; !err && i < IW_NROWS; i++)
		rows[i].closed_word = rows[i].closed_until = 0;
	return err;
}

int iw_read_reasons(const struct iw_dev *d, struct iw_reason_counter *r)
{
	return read_percpu_u64(d->fds[IWM_REASONS], IW_NREASON_SLOTS, sizeof(*r), (__u64 *)r);
}
