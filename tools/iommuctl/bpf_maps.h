/* SPDX-License-Identifier: GPL-2.0 */
/* Reading BPF maps from user space. */
#ifndef IOMMUCTL_BPF_MAPS_H
#define IOMMUCTL_BPF_MAPS_H

#include <stddef.h>
#include <sys/types.h>
#include "map_snap.h"

/* Up to max keys of a BPF map, key_size bytes each, into keys. */
size_t map_keys(int fd, size_t key_size, void *keys, size_t max);
/*
 * The growth since the last call of every key of a hash of max keys whose
 * values only grow, as rows of s's layout (rows[max]): read, never reset
 * (map_snap.h says why, and the one rule by which keys are deleted: when
 * the map is more than 3/4 full, those idle for 60 s).  Returns how many
 * rows, or -ENOMEM.
 */
ssize_t map_read_delta(int fd, struct map_snap *s, void *rows, size_t max, double now);

#endif
