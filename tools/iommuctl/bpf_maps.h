/* SPDX-License-Identifier: GPL-2.0 */
/* Reading BPF hash maps from user space. */
#ifndef IOMMUCTL_BPF_MAPS_H
#define IOMMUCTL_BPF_MAPS_H

#include <stddef.h>

/* Up to max keys of a BPF map, key_size bytes each, into keys. */
size_t map_keys(int fd, size_t key_size, void *keys, size_t max);
/*
 * Read and delete every key of a hash (at most max): keys added after the
 * walk stay for the next interval.  rows: max records of row_size bytes,
 * each its key at offset 0 and its value at val_off.  Returns how many.
 */
size_t map_drain(int fd, size_t key_size, size_t row_size, size_t val_off,
		 void *rows, size_t max);

#endif
