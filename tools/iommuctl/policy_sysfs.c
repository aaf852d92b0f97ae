// SPDX-License-Identifier: GPL-2.0
/* /sys/kernel/iommu_policy: see policy_sysfs.h */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "output.h"
#include "policy_sysfs.h"
#include "sysfs.h"

int policy_attr(const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s/%s", sysfs_root, POLICY_SYSFS, attr);
	return read_line(path, buf, len);
}

long long policy_attr_ll(const char *attr)
{
	char buf[32];

	if (policy_attr(attr, buf, sizeof(buf)) || !buf[0])
		return -1;
	return strtoll(buf, NULL, 10);
}

void policy_last_exit_str(char *buf, size_t len)
{
	char kind[32], reason[64], msg[300];

	policy_attr("last_exit_kind", kind, sizeof(kind));
	policy_attr("last_exit_reason", reason, sizeof(reason));
	policy_attr("last_exit_msg", msg, sizeof(msg));
	if (!strcmp(kind, "none") || !kind[0])
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s (%s): %s", kind, reason, msg);
}

static const char no_policy_support[] =
	"this kernel has no BPF IOMMU policy (%s): it needs the iommu-bpf kernel series "
	"built with CONFIG_IOMMU_BPF_POLICY=y";

int policy_check_kernel(bool need_btf)
{
	char path[PATH_MAX];
	struct btf *vmlinux;
	int id;

	snprintf(path, sizeof(path), "%s%s", sysfs_root, POLICY_SYSFS);
	if (access(path, F_OK))
		return p_err(no_policy_support, "no " POLICY_SYSFS);
	if (!need_btf)
		return 0;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return p_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs "
			     "CONFIG_DEBUG_INFO_BTF=y");
	id = btf__find_by_name_kind(vmlinux, "iommu_policy_ops", BTF_KIND_STRUCT);
	btf__free(vmlinux);
	if (id < 0)
		return p_err(no_policy_support, "no struct iommu_policy_ops in its BTF");
	return 0;
}

bool policy_enabled(void)
{
	char state[32];

	policy_attr("state", state, sizeof(state));
	return !strcmp(state, "enabled");
}
