// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel checks of a policy before it attaches it, and what a
 * failed attach leaves in sysfs, redone here so that iommuctl can say why
 * the kernel said EINVAL.  Unit-tested on the host (tests/test_rules.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "policy_checks.h"
#include "policy_names.h"

/*
 * The kernel's isalnum(): its ctype table is Latin-1, so bytes 0xc0-0xff
 * but for 0xd7 and 0xf7 are letters too (not the host's, locale dependent)
 */
static bool kernel_isalnum(unsigned char c)
{
	if (c >= 0xc0)
		return c != 0xd7 && c != 0xf7;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Up to n bytes of s, to quote in a message: other than printable ASCII as \xNN */
static void quote_bytes(char *buf, size_t len, const char *s, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && s[i] && off + 5 <= len; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[off++] = c;
		else
			off += snprintf(buf + off, len - off, "\\x%02x", c);
		buf[off] = '\0';
	}
}

bool policy_name_valid(const char *name, size_t size, char *why, size_t len)
{
	char q[4 * IOMMU_POLICY_NAME_LEN + 1], c[8];
	size_t n;

	for (n = 0; n < size && name[n]; n++)
		if (!kernel_isalnum(name[n]) && name[n] != '_' && name[n] != '.')
			break;
	if (n < size && !name[n] && n)
		return true;
	if (!why)
		return false;
	quote_bytes(q, sizeof(q), name, size);
	quote_bytes(c, sizeof(c), name + n, n < size ? 1 : 0);
	if (n == size)
		snprintf(why, len, "policy name '%s' is longer than %zu characters", q,
			 size - 1);
	else if (!name[n])
		snprintf(why, len, "policy name is empty (expected 1 to %zu letters, digits, "
			 "'_' or '.')", size - 1);
	else
		snprintf(why, len, "policy name '%s' may only contain letters, digits, '_' "
			 "and '.' (not '%s')", q, c);
	return false;
}

/* Append "; " (unless first) and fmt to buf */
static void add_reason(char *buf, size_t len, const char *fmt, ...)
{
	size_t off = strlen(buf);
	va_list ap;

	if (off && off + 2 < len) {
		memcpy(buf + off, "; ", 3);
		off += 2;
	}
	if (off + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + off, len - off, fmt, ap);
	va_end(ap);
}

bool policy_ops_invalid(const struct policy_ops_view *ops, char *why, size_t len)
{
	static const char zeros[IOMMU_POLICY_NAME_LEN];
	char name[200], hooks[128];

	why[0] = '\0';
	/* iommu_policy_init_member(), then iommu_policy_validate_ops() */
	if (!policy_name_valid(ops->name ? ops->name : zeros, IOMMU_POLICY_NAME_LEN, name,
			       sizeof(name)))
		add_reason(why, len, "%s", name);
	if (ops->flags)
		add_reason(why, len, "flags is %#llx (expected 0)",
			   (unsigned long long)ops->flags);
	if (!(ops->callbacks & ((1U << IOMMU_POLICY_NR_HOOKS) - 1))) {
		policy_hook_list(hooks, sizeof(hooks));
		add_reason(why, len, "it implements no decision callback (expected at least "
			   "one of %s)", hooks);
	}
	return why[0];
}

bool policy_init_failed(const struct policy_exit_snap *before,
			const struct policy_exit_snap *now, int err, char *msg, size_t len)
{
	bool same = !strcmp(before->kind, now->kind) && !strcmp(before->msg, now->msg);

	if (!strcmp(now->kind, "error_init") && !same) {
		snprintf(msg, len, "%s", now->msg);
		return true;
	}
	/* A replacement: init() failed, the exit record is the old one's */
	if (before->nr_errors >= 0 && now->nr_errors == before->nr_errors + 1 && same) {
		snprintf(msg, len, "init() failed with %s", strerror(-err));
		return true;
	}
	return false;
}
