/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the user-space benchmarks (worst.c, scale.c) share: allocate or
 * release through the allocator interface, or exit with a message naming
 * the program (bench_name, set by each) and the call that failed.
 */
#ifndef _FNMM_USIM_BENCH_H
#define _FNMM_USIM_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include "fnmm_alloc.h"

static const char *bench_name;

static inline void die(const char *what, long v)
{
	fprintf(stderr, "%s: %s (%ld)\n", bench_name, what, v);
	exit(1);
}

/* The address of a fresh allocation of @size bytes from @a. */
static inline u64 get(struct fnmm_allocator *a, u64 size)
{
	struct fnmm_range r = { .size = size };
	int ret = fnmm_allocate(a, &r);

	if (ret)
		die("allocate", ret);
	return r.address;
}

static inline void put(struct fnmm_allocator *a, u64 addr)
{
	if (fnmm_release(a, addr))
		die("release", 0);
}

#endif
