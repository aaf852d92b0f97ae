// SPDX-License-Identifier: GPL-2.0
/* Reading BPF hash maps: see bpf_maps.h */
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

size_t map_drain(int fd, size_t key_size, size_t row_size, size_t val_off,
		 void *rows, size_t max)
{
	char *keys = calloc(max, key_size), *r = rows;
	size_t n = 0, nk;

	if (!keys)
		return 0;
	nk = map_keys(fd, key_size, keys, max);
	for (size_t i = 0; i < nk; i++) {
		char *row = r + n * row_size;

		memset(row, 0, row_size);
		memcpy(row, keys + i * key_size, key_size);
		if (!bpf_map_lookup_and_delete_elem(fd, row, row + val_off))
			n++;
	}
	free(keys);
	return n;
}
