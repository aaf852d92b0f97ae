// SPDX-License-Identifier: GPL-2.0
/* Reading BPF maps: see bpf_maps.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "bpf_maps.h"

size_t map_keys(int fd, size_t key_size, void *keys, size_t max)
{
	char *prev = NULL, *next = keys;
	size_t n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, next)) {
		prev = next;
		next += key_size;
		n++;
	}
	return n;
}

/* map_snap_prune()'s take: the last value and the deletion in one call */
static int take(void *fd, const void *key, void *val)
{
	return bpf_map_lookup_and_delete_elem(*(int *)fd, key, val) ? -errno : 0;
}

ssize_t map_read_delta(int fd, struct map_snap *s, void *rows, size_t max, double now)
{
	char *keys = calloc(max ? max : 1, s->key_size), *r = rows;
	size_t n = 0, nk;
	ssize_t ret;

	if (!keys)
		return -ENOMEM;
	nk = map_keys(fd, s->key_size, keys, max);
	for (size_t i = 0; i < nk; i++) {
		char *row = r + n * s->row_size;

		memset(row, 0, s->row_size);
		memcpy(row, keys + i * s->key_size, s->key_size);
		if (!bpf_map_lookup_elem(fd, row, row + s->val_off))
			n++;
	}
	free(keys);
	ret = map_snap_delta(s, rows, n, now);
	if (ret < 0)
		return ret;
	return map_snap_prune(s, max, now, take, &fd, rows, ret, max);
}
