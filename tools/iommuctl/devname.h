/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's name as a command's -d gives it and as the tracing BPF
 * programs record it: the first DEV_NAME_LEN - 1 characters of the
 * kernel's name.  One check of -d for trace latency, trace flush and trace
 * events, and one way to tell which device a recorded name is (top,
 * metrics).
 */
#ifndef IOMMUCTL_DEVNAME_H
#define IOMMUCTL_DEVNAME_H

#include <stdbool.h>
#include <linux/types.h>
#include "iommuctl/trace.h"

/* The longest name the programs record whole */
#define TRACED_NAME_MAX	(DEV_NAME_LEN - 1)

/*
 * Check a -d DEV of the trace commands: 0 if dev is NULL or usable, else
 * p_usage()'s status after saying what is wrong and what to do.  A name
 * the programs would record cut short is refused: it could never match.
 * A device sysfs does not know is refused, unless may_appear (a filter
 * for events that happen when it is plugged in): then a note on stderr.
 */
int check_device_filter(const char *dev, bool may_appear);

/* Is traced (a name the programs recorded) that of the device name? */
bool traced_name_is(const char *traced, const char *name);

#endif
