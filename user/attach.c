// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - the lifecycle commands: attach, detach, status.
 */
#include "apply.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "policy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "icmpwall.skel.h"

static const char *mode_str(__u32 mode)
{
	return mode == IW_MODE_NATIVE ? "native" : mode == IW_MODE_GENERIC ? "generic" : "?";
}

/* libxdp loads the program as part of attaching it: a program it could not even load (its
 * maps too big for the memory allowed, a kernel's verifier refusing it) is not the driver's
 * refusal, and no other mode would do better. True when that is what happened (said). */
static bool load_failed(struct xdp_program *prog, const char *dev, int err, const char *buf)
{
	if (xdp_program__fd(prog) >= 0)
		return false;
	pr_err("%s: cannot load the XDP program: %s (%s)", dev, buf,
	       err == -ENOMEM ? "--sources sets the size of the largest tables" :
				"-v shows the kernel's reasons");
	return true;
}

static int attach_prog(struct xdp_program *prog, const char *dev, int ifindex,
		       const char *mode, __u32 *got)
{
	char buf[128];
	int err;

	if (strcmp(mode, "generic")) {
		err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
		if (!err) {
			*got = IW_MODE_NATIVE;
			return 0;
		}
		libxdp_strerror(err, buf, sizeof(buf));
		if (load_failed(prog, dev, err, buf))
			return err;
		if (!strcmp(mode, "native")) {
			pr_err("%s: native XDP refused by the driver: %s", dev, buf);
			return err;
		}
		pr_info("%s: native XDP not available (%s); attaching in generic mode", dev, buf);
	}
	err = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	if (err) {
		libxdp_strerror(err, buf, sizeof(buf));
		if (!load_failed(prog, dev, err, buf))
			pr_err("%s: cannot attach in generic mode: %s", dev, buf);
		return err;
	}
	*got = IW_MODE_GENERIC;
	return 0;
}

static int take_fds(struct iw_dev *d, struct icmpwall_bpf *skel, struct xdp_program *prog)
{
	for (int i = 0; i < IWM_COUNT; i++) {
		int fd = bpf_object__find_map_fd_by_name(skel->obj, iw_map_names[i]);

		d->fds[i] = fd < 0 ? -1 : dup(fd);
		if (d->fds[i] < 0)
			return -errno ?: -ENOENT;
	}
	d->prog_fd = dup(xdp_program__fd(prog));
	if (d->prog_fd < 0)
		return -errno;
	d->prog_id = xdp_program__id(prog);
	return 0;
}

int cmd_attach(struct cmd_args *a)
{
	const char *dev = a->argv[0], *mode = opt_val(a, "mode") ?: "auto";
	const char *policy_file = opt_val(a, "policy");
	struct icmpwall_bpf *skel = NULL;
	struct xdp_program *prog = NULL;
	struct policy pol;
	struct iw_dev d;
	char err[POL_ERR_LEN + PATH_MAX];
	__u32 id = 0, other = 0, got = 0;
	struct iw_conf *conf;
	uint64_t sources = IW_DEFAULT_SOURCES;
	bool attached = false, dir_made = false;
	unsigned int hz;
	int ret = 1, e, found;

	policy_init(&pol);
	iw_dev_init(&d);
	if (strcmp(mode, "native") && strcmp(mode, "generic") && strcmp(mode, "auto")) {
		fprintf(stderr, "icmpwall: invalid --mode '%s' (native, generic or auto)\n", mode);
		return EXIT_USAGE;
	}
	if (opt_set(a, "sources") &&
	    parse_u64(opt_val(a, "sources"), 1, 1u << 24, "--sources", &sources))
		return EXIT_USAGE;
	if (iw_check_ifname(dev))
		return 1;
	/* Everything that can be checked is checked before anything changes: the policy is
	 * compiled once here too, with this kernel's HZ, as it will be once attached. */
	hz = iw_kernel_hz();
	if (policy_file && policy_parse_file(&pol, policy_file, err, sizeof(err), stderr)) {
		pr_err("%s", err);
		goto out;
	}
	if (policy_file && policy_compiles(&pol, hz, err, sizeof(err))) {
		pr_err("%s: %s", policy_file, err);
		goto out;
	}
	snprintf(d.name, sizeof(d.name), "%s", dev);
	d.ifindex = if_nametoindex(dev);
	if (!d.ifindex) {
		pr_err("no such interface: %s", dev);
		goto out;
	}
	if (iw_bpffs_ensure() || iw_lock_netns(&d))
		goto out;
	iw_pin_dir(dev, d.dir, sizeof(d.dir));
	/* Read before any pins are touched: pins that look stale because the interface's
	 * programs could not be read must not be removed. */
	found = iw_find_prog(d.ifindex, &id, NULL, &other);
	if (found < 0) {
		pr_err("%s: cannot read its XDP program: %s", dev, strerror(-found));
		goto out;
	}

	e = iw_dir_create_locked(&d);
	if (e == -EEXIST) {
		struct iw_dev old;

		/* Pins exist: another attach, or stale. The netns lock orders us after any attach. */
		if (iw_dev_open(&old, dev, IW_OPEN_STALE))
			goto out;
		if (old.state == IW_ATTACHED) {
			pr_err("%s: already attached (program id %u); 'icmpwall detach %s' first",
			       dev, old.prog_id, dev);
			iw_dev_close(&old);
			goto out;
		}
		if (old.state == IW_OTHER_NETNS) {
			pr_err("%s: %s holds pins for an interface of that name in another network "
			       "namespace", dev, old.dir);
			iw_dev_close(&old);
			goto out;
		}
		pr_info("%s: removing stale pins (%s)", dev, iw_state_str(old.state));
		e = iw_remove_pins(old.dir);
		iw_dev_close(&old);
		if (e) {
			pr_err("cannot remove %s: %s", d.dir, strerror(-e));
			goto out;
		}
		e = iw_dir_create_locked(&d);
	}
	if (e) {
		pr_err("cannot create %s: %s", d.dir, strerror(-e));
		goto out;
	}
	dir_made = true;

	if (found == 1) {
		pr_err("%s: already attached (program id %u)", dev, id);
		goto out;
	}
	/* Checked before loading: the kernel's refusal would come as a misleading "native XDP
	 * refused by the driver" (and, in auto mode, a fallback attempt) on top of this line. */
	if (other) {
		pr_err("%s: it already has an XDP program (id %u) that icmpwall will not replace",
		       dev, other);
		goto out;
	}

	skel = icmpwall_bpf__open();
	if (!skel) {
		pr_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	bpf_map__set_max_entries(skel->maps.iw_src4, sources);
	bpf_map__set_max_entries(skel->maps.iw_src6, sources);
	e = libbpf_num_possible_cpus();
	if (e <= 0) {
		pr_err("cannot count the CPUs: %s", strerror(e ? -e : EINVAL));
		goto out;
	}
	skel->rodata->iw_ncpus = e;
	for (int i = 0; i < IW_TOP_DECAY_STEPS; i++)
		skel->rodata->iw_top_decay[i] = (__u32)(4294967295.0 * pow(1.08, -i));
	prog = xdp_program__create(&(struct xdp_program_opts){
		.sz = sizeof(struct xdp_program_opts),
		.obj = skel->obj,
		.prog_name = IW_PROG_NAME,
	});
	if (libxdp_get_error(prog)) {
		pr_err("cannot prepare the XDP program: %s", strerror(-libxdp_get_error(prog)));
		prog = NULL;
		goto out;
	}
	if (attach_prog(prog, dev, d.ifindex, mode, &got))
		goto out;
	attached = true;

	e = take_fds(&d, skel, prog);
	if (e) {
		pr_err("cannot use the program's maps: %s", strerror(-e));
		goto out;
	}
	d.meta = (struct iw_meta){
		.magic = IW_META_MAGIC,
		.abi = IW_ABI_VERSION,
		.ifindex = d.ifindex,
		.mode = got,
		.hz = hz,
		.attached_at = time(NULL),
		.sources = sources,
		.netns = iw_netns_ino(),
	};
	if (!d.meta.hz)
		pr_warn("cannot read the kernel's CONFIG_HZ: rate rules will be refused");
	conf = iw_conf_map(&d);
	if (!conf) {
		pr_err("cannot map %s: %s", IW_PIN_CONF, strerror(errno));
		goto out;
	}
	conf->meta = d.meta;
	iw_conf_unmap(conf);
	if (iw_policy_install(&d, &pol, err, sizeof(err))) {
		pr_err("%s%s%s", policy_file ? policy_file : "", policy_file ? ": " : "", err);
		goto out;
	}
	e = iw_pin_all(&d);
	if (e) {
		pr_err("cannot pin to %s: %s", d.dir, strerror(-e));
		goto out;
	}
	printf("attached to %s in %s mode (program id %u)\n", dev, mode_str(got), d.prog_id);
	ret = 0;
out:
	if (ret && attached) {
		/* no half state: take the program off again */
		xdp_program__detach(prog, d.ifindex, got == IW_MODE_NATIVE ? XDP_MODE_NATIVE :
				    XDP_MODE_SKB, 0);
	}
	if (ret && dir_made)
		iw_remove_pins(d.dir);
	xdp_program__close(prog);
	icmpwall_bpf__destroy(skel);
	iw_dev_close(&d);
	policy_free(&pol);
	return ret;
}

static int detach_prog(struct iw_dev *d, bool *detached)
{
	enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
	struct xdp_program *prog;
	__u32 id = 0;
	char buf[128];
	int err;

	err = iw_find_prog(d->ifindex, &id, &mode, NULL);
	if (err < 0) {
		pr_err("%s: cannot read its XDP program: %s", d->name, strerror(-err));
		return err;
	}
	if (err != 1 || id != d->prog_id)
		return 0;	/* already gone */
	*detached = true;
	prog = xdp_program__from_id(id);
	err = libxdp_get_error(prog);
	if (!err) {
		err = xdp_program__detach(prog, d->ifindex, mode, 0);
		xdp_program__close(prog);
	}
	if (err) {
		libxdp_strerror(err, buf, sizeof(buf));
		pr_err("%s: cannot detach program %u: %s", d->name, id, buf);
	}
	return err;
}

int cmd_detach(struct cmd_args *a)
{
	struct iw_dev d;
	bool detached = false;
	int err;

	if (iw_dev_open(&d, a->argv[0], IW_OPEN_LOCK | IW_OPEN_STALE))
		return 1;
	if (d.state == IW_OTHER_NETNS) {
		pr_err("%s: the pins in %s belong to an interface in another network namespace",
		       d.name, d.dir);
		iw_dev_close(&d);
		return 1;
	}
	err = d.ifindex && d.prog_id ? detach_prog(&d, &detached) : 0;
	if (!err) {
		err = iw_remove_pins(d.dir);
		if (err)
			pr_err("cannot remove %s: %s", d.dir, strerror(-err));
	}
	if (!err)
		printf(detached ? "detached from %s\n" : "removed stale pins of %s\n", d.name);
	iw_dev_close(&d);
	return err ? 1 : 0;
}

/* ---- status ------------------------------------------------------------------------- */

static void format_since(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void format_age(time_t t, char *buf, size_t len)
{
	long s = (long)(time(NULL) - t);

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%lds", s);
	else if (s < 7200)
		snprintf(buf, len, "%ldm", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%ldh", s / 3600);
	else
		snprintf(buf, len, "%ldd", s / 86400);
}

static void status_row(const struct iw_dev *d, struct json *j)
{
	char since[32] = "-", age[24] = "", iso[32] = "";
	bool meta_ok = d->meta.magic == IW_META_MAGIC;

	if (meta_ok) {
		struct tm tm;
		time_t t = d->meta.attached_at;

		format_since(t, since, sizeof(since));
		format_age(t, age, sizeof(age));
		gmtime_r(&t, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (j) {
		json_obj_begin(j, NULL);
		json_str(j, "interface", d->name);
		json_u64(j, "ifindex", d->ifindex);
		json_str(j, "mode", meta_ok ? mode_str(d->meta.mode) : "unknown");
		json_u64(j, "program_id", d->prog_id);
		if (meta_ok) {
			json_u64(j, "attached_at", d->meta.attached_at);
			json_str(j, "since", iso);
			json_u64(j, "sources", d->meta.sources);
		}
		json_str(j, "state", iw_state_str(d->state));
		json_bool(j, "attached", d->state == IW_ATTACHED);
		json_bool(j, "stale", d->state != IW_ATTACHED && d->state != IW_OTHER_NETNS);
		json_str(j, "pins", d->dir);
		json_obj_end(j);
		return;
	}
	printf("%-15s %-8s %-6u %-19s %-6s %s\n", d->name,
	       meta_ok ? mode_str(d->meta.mode) : "?", d->prog_id, since, age, iw_state_str(d->state));
}

#define MAX_STATUS 256

int cmd_status(struct cmd_args *a)
{
	char (*names)[IF_NAMESIZE] = calloc(MAX_STATUS, IF_NAMESIZE);
	bool json = opt_set(a, "json");
	struct json j;
	int n = 0, shown = 0, ret = 0;

	if (!names)
		return 1;
	if (a->argc == 1) {
		struct iw_dev d;

		if (iw_dev_open(&d, a->argv[0], IW_OPEN_STALE)) {
			free(names);
			return 1;
		}
		if (json) {
			json_init(&j, stdout);
			json_obj_begin(&j, NULL);
			json_arr_begin(&j, "attachments");
			status_row(&d, &j);
			json_arr_end(&j);
			json_obj_end(&j);
			json_finish(&j);
		} else {
			printf("%-15s %-8s %-6s %-19s %-6s %s\n", "INTERFACE", "MODE", "PROG", "SINCE",
			       "AGE", "STATE");
			status_row(&d, NULL);
		}
		iw_dev_close(&d);
		free(names);
		return 0;
	}

	if (iw_bpffs_ensure()) {
		free(names);
		return 1;
	}
	n = iw_list_attachments(names, MAX_STATUS);
	if (n < 0) {
		pr_err("cannot read %s: %s", IW_PIN_ROOT, strerror(-n));
		free(names);
		return 1;
	}

	if (json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "attachments");
	} else if (n) {
		printf("%-15s %-8s %-6s %-19s %-6s %s\n", "INTERFACE", "MODE", "PROG", "SINCE", "AGE",
		       "STATE");
	}
	for (int k = 0; k < n; k++) {
		struct iw_dev d;

		int e = iw_dev_open(&d, names[k], IW_OPEN_STALE | IW_OPEN_QUIET);

		if (e == -EACCES || e == -EPERM) {
			/* not "not attached": we may not look */
			pr_err("%s: cannot read its pins: %s", names[k], strerror(-e));
			ret = 1;
			continue;
		}
		if (e)
			continue;
		status_row(&d, json ? &j : NULL);
		shown++;
		iw_dev_close(&d);
	}
	if (json) {
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else if (!shown) {
		printf("icmpwall is not attached to any interface\n");
	}
	free(names);
	return ret;
}
