// SPDX-License-Identifier: GPL-2.0
/* Effective capabilities, from capget(2): see caps.h */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "caps.h"
#include "output.h"

static bool have(const struct __user_cap_data_struct *d, int cap)
{
	return d[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

int caps_check(unsigned int need, const char *what)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
	char missing[96] = "";

	if (syscall(SYS_capget, &h, d))
		return p_err("cannot read this process's capabilities: %s", strerror(errno));
	/* Before 5.8 (no CAP_BPF, CAP_PERFMON) CAP_SYS_ADMIN was the only way. */
	if ((need & NEED_TRACE) && !have(d, CAP_SYS_ADMIN)) {
		if (!have(d, CAP_BPF))
			strcat(missing, " CAP_BPF");
		if (!have(d, CAP_PERFMON))
			strcat(missing, " CAP_PERFMON");
	}
	if ((need & NEED_ADMIN) && !have(d, CAP_SYS_ADMIN))
		strcat(missing, " CAP_SYS_ADMIN");
	if (!missing[0])
		return 0;
	return p_err("%s needs%s: run it as root (sudo), or give it these capabilities "
		     "(systemd: AmbientCapabilities=CAP_BPF CAP_PERFMON%s)", what, missing,
		     need & NEED_ADMIN ? " CAP_SYS_ADMIN" : "");
}
