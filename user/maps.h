/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.h - the state of one attachment as the kernel and bpffs hold it: the pin
 * directory, its lock, the program and its maps, and reading the per-CPU counters.
 *
 * The kernel is the source of truth: the program attached to the interface and the maps it
 * uses. Pins under IW_PIN_ROOT/<dev>/ are handles on them. Under `ip netns exec` every
 * command gets a fresh bpffs, so when the pins are missing but the program is attached,
 * iw_dev_open() finds the maps through the program and pins them again.
 */
#ifndef ICMPWALL_MAPS_H
#define ICMPWALL_MAPS_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <xdp/libxdp.h>
#include "icmpwall.h"

enum iw_map_id {
	IWM_STATS,
	IWM_REASONS,
	IWM_CONF,
	IWM_STATE,
	IWM_SRC4,
	IWM_SRC6,
	IWM_CIDR4,
	IWM_CIDR6,
	IWM_CTL,
	IWM_EVENTS,
	IWM_EPISODES,
	IWM_TOP,
	IWM_COUNT,
};

/* Names as the kernel knows the maps, and as they are pinned (they differ for iw_conf). */
extern const char *const iw_map_names[IWM_COUNT];
const char *iw_pin_name(int map);
#define IW_PROG_PIN	"prog"

enum iw_attach_state {
	IW_ATTACHED,		/* program pinned and attached to the interface */
	IW_STALE_GONE,		/* pins left behind; the interface no longer exists */
	IW_STALE_DETACHED,	/* pins left behind; the program is no longer attached */
	IW_STALE_BROKEN,	/* pins incomplete or from an incompatible icmpwall */
	IW_OTHER_NETNS,		/* pins made for an interface in another network namespace */
};

struct iw_dev {
	char name[IF_NAMESIZE];
	int ifindex;		/* the interface's index now, 0 when there is none */
	char dir[64];		/* pin directory: IW_PIN_ROOT/<dev> */
	int dir_fd;		/* open (and locked, with IW_OPEN_LOCK) pin directory, or -1 */
	int ns_fd;		/* the network namespace, locked with IW_OPEN_LOCK, or -1 */
	int prog_fd;
	__u32 prog_id;
	int fds[IWM_COUNT];
	struct iw_meta meta;
	enum iw_attach_state state;
	bool recovered;		/* pins were made again from the attached program */
};

#define IW_OPEN_LOCK	(1u << 0)	/* hold the pin directory's exclusive lock */
#define IW_OPEN_STALE	(1u << 1)	/* also succeed on stale pins (status, detach) */
#define IW_OPEN_QUIET	(1u << 2)	/* failures are debug messages, not errors (scans) */

const char *iw_state_str(enum iw_attach_state s);

/* Mounts bpffs at /sys/fs/bpf when none is mounted there (as under `ip netns exec`). */
int iw_bpffs_ensure(void);
/* One-line error and a negative errno when name cannot be an interface name. */
int iw_check_ifname(const char *name);
void iw_pin_dir(const char *name, char *buf, size_t len);
__u64 iw_netns_ino(void);

void iw_dev_init(struct iw_dev *d);
/* Opens the attachment of interface name. Prints a one-line error and returns a negative
 * errno when there is none (-ENOENT), the interface does not exist (-ENODEV), or the pins
 * are stale and IW_OPEN_STALE was not given (-ESTALE). */
int iw_dev_open(struct iw_dev *d, const char *name, unsigned int flags);
void iw_dev_close(struct iw_dev *d);
/*
 * Changes are serialised by two locks, taken in this order: the network namespace (an
 * flock on its nsfs inode, which every process in the namespace shares, whatever its mount
 * namespace: under `ip netns exec` each command has a bpffs of its own), then the pin
 * directory. The kernel drops both when the holder exits, even on SIGKILL.
 */
int iw_lock_netns(struct iw_dev *d);
/* Creates the pin directory (0700) and takes its lock; -EEXIST when it exists already. */
int iw_dir_create_locked(struct iw_dev *d);
int iw_pin_all(struct iw_dev *d);
/* Removes every file in the pin directory and the directory itself. */
int iw_remove_pins(const char *dir);
/* Names of the interfaces that have a pin directory, at most max. */
int iw_list_pinned(char (*names)[IF_NAMESIZE], int max);
/* Every attachment to be seen from here: the pinned ones, and interfaces of this network
 * namespace with icmpwall's program attached whose pins live elsewhere. At most max; a
 * negative errno when the pins cannot be read. */
int iw_list_attachments(char (*names)[IF_NAMESIZE], int max);
/* The kernel's CONFIG_HZ, from /proc/config.gz, else /boot/config-RELEASE; 0 when
 * neither says. */
unsigned int iw_kernel_hz(void);

/* icmpwall's program on ifindex: returns 1 and fills id and mode when there is one, 0 when
 * there is none, a negative errno on error. *other_id is set to a foreign program's id. */
int iw_find_prog(int ifindex, __u32 *id, enum xdp_attach_mode *mode, __u32 *other_id);

/* 0 while d's program is still the one attached to its interface (by name): a reader
 * that keeps the maps open notices a detach, a new attach or the interface gone
 * (-ESRCH), or a negative errno when the programs cannot be read. */
int iw_dev_still_attached(const struct iw_dev *d);

/* Per-CPU counters summed over CPUs. */
int iw_read_rows(const struct iw_dev *d, struct iw_row_counter *rows /* [IW_NROWS] */);
int iw_read_reasons(const struct iw_dev *d, struct iw_reason_counter *r /* [IW_NREASON_SLOTS] */);
/* The value of a one-element mmapable array (a global section of the program), len bytes,
 * mapped into this process; NULL (errno set) on failure. */
void *iw_map_mmap(int fd, size_t len);
void iw_map_munmap(void *p, size_t len);
/* iw_conf mapped into this process, or NULL (errno set). Unmap with iw_conf_unmap(). */
struct iw_conf *iw_conf_map(const struct iw_dev *d);
void iw_conf_unmap(struct iw_conf *conf);
int iw_read_meta(const struct iw_dev *d, struct iw_meta *meta);

#endif
