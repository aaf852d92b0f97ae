// SPDX-License-Identifier: GPL-2.0
/* Device names as -d gives them and as BPF records them: see devname.h */
#include <stdio.h>
#include <string.h>
#include "devname.h"
#include "output.h"
#include "sysfs.h"

int check_device_filter(const char *dev, bool may_appear)
{
	size_t len;

	if (!dev)
		return 0;
	len = strlen(dev);
	if (!len)
		return p_usage("-d needs a device name (such as 0000:00:03.0; see "
			       "'iommuctl devices')");
	if (len > TRACED_NAME_MAX)
		return p_usage("device name '%s' is %zu characters long: -d takes at most %d, "
			       "all the tracer keeps of a name; leave out -d and look for its "
			       "first %d characters ('trace latency -D' and 'top' show every "
			       "device)", dev, len, TRACED_NAME_MAX, TRACED_NAME_MAX);
	if (device_exists(dev))
		return 0;
	if (!may_appear)
		return p_usage("no device '%s' in sysfs (want a name such as 0000:00:03.0; "
			       "see 'iommuctl devices')", dev);
	fprintf(stderr, "iommuctl: no device '%s' in sysfs yet: its events show when it "
		"appears (check the name: a typo shows nothing)\n", dev);
	return 0;
}

bool traced_name_is(const char *traced, const char *name)
{
	/* Cut short: the first TRACED_NAME_MAX characters say it */
	if (strlen(traced) == TRACED_NAME_MAX)
		return !strncmp(traced, name, TRACED_NAME_MAX);
	return !strcmp(traced, name);
}
