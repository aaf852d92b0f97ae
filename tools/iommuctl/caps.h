/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Privilege by capability, not by uid 0: a systemd unit with
 * AmbientCapabilities= and no root is as good as sudo.
 */
#ifndef IOMMUCTL_CAPS_H
#define IOMMUCTL_CAPS_H

enum {
	NEED_TRACE	= 1 << 0,	/* CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) */
	NEED_ADMIN	= 1 << 1,	/* CAP_SYS_ADMIN: attach a policy, its sysfs */
};

/* 0, or p_err() naming each missing capability and what needs it. */
int caps_check(unsigned int need, const char *what);

#endif
