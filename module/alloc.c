// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the shared allocator interface.
 *
 * Checks common to every allocator are made here, once, before the
 * implementation is called: size 0 and an alignment that is not a power
 * of two are rejected with -EINVAL and change nothing.
 */
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include "fnmm_alloc.h"

/**
 * fnmm_allocate() - allocate a range from an allocator
 * @a: the allocator
 * @range: @range->size and @range->alignment in, @range->address out
 *
 * Return: 0, or -EINVAL (size 0, alignment not 0 or a power of two, or an
 * alignment the allocator cannot honour), -E2BIG (larger than the
 * allocator can ever serve) or -ENOMEM (no fitting free space now).
 */
int fnmm_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	int ret = fnmm_range_check(a, range);

	return ret ? ret : a->ops->allocate(a, range);
}

/**
 * fnmm_range_check() - the checks fnmm_allocate() makes for every allocator
 * @a: the allocator
 * @range: the request
 *
 * For an allocator's own entry points that allocate as fnmm_allocate()
 * does (fnmm_bubble_take()).
 *
 * Return: 0, -EINVAL (size 0, alignment not 0 or a power of two) or
 * -E2BIG (larger than the allocator).
 */
int fnmm_range_check(struct fnmm_allocator *a, const struct fnmm_range *range)
{
	if (!range->size)
		return -EINVAL;
	if (range->alignment && !is_power_of_2(range->alignment))
		return -EINVAL;
	if (range->size > a->size)
		return -E2BIG;
	return 0;
}

/**
 * fnmm_release() - release an allocation
 * @a: the allocator
 * @addr: the address fnmm_allocate() returned
 *
 * Return: 0, -EINVAL (address outside the range or misaligned) or -ENOENT
 * (not the start of a live allocation: never handed out or released
 * already).
 */
int fnmm_release(struct fnmm_allocator *a, u64 addr)
{
	return a->ops->release(a, addr);
}

/**
 * fnmm_available() - bytes currently free
 * @a: the allocator
 */
u64 fnmm_available(struct fnmm_allocator *a)
{
	return a->ops->available(a);
}

/**
 * fnmm_largest() - size of the largest allocation that would succeed now
 * @a: the allocator
 */
u64 fnmm_largest(struct fnmm_allocator *a)
{
	return a->ops->largest(a);
}

/**
 * fnmm_longest() - a size that an allocation would get now, cheaply
 * @a: the allocator
 *
 * fnmm_largest() without the work that may make more room (Split drains
 * its per-CPU magazines for it): at most fnmm_largest(), and what a
 * request gets without that work.  For allocators without the
 * distinction, fnmm_largest().
 */
u64 fnmm_longest(struct fnmm_allocator *a)
{
	return a->ops->longest ? a->ops->longest(a) : a->ops->largest(a);
}

/**
 * fnmm_alloc_size() - bytes held by a live allocation
 * @a: the allocator
 * @addr: start of the allocation
 *
 * Return: the bytes held (the request rounded up to the granule), or 0 if
 * @addr does not start a live allocation.
 */
u64 fnmm_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	return a->ops->alloc_size(a, addr);
}

/**
 * fnmm_carve() - cut a live allocation in two
 * @a: the allocator
 * @addr: start of a live allocation
 * @offset: byte offset inside it, a non-zero multiple of the granule
 *
 * Afterwards [@addr, @addr + @offset) and [@addr + @offset, end) are two
 * allocations released independently: this is how part of an allocation
 * is given back (FreeNOS ReleaseSections).
 *
 * Return: 0, -EINVAL (bad address or offset), -ENOENT (no allocation
 * starts at @addr) or -EOPNOTSUPP (the allocator cannot carve).
 */
int fnmm_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	if (!a->ops->carve)
		return -EOPNOTSUPP;
	if (!offset || offset & (a->granule - 1))
		return -EINVAL;
	return a->ops->carve(a, addr, offset);
}

/**
 * fnmm_check() - verify an allocator's invariants
 * @a: the allocator
 *
 * Walks all metadata: every unit is either free or in exactly one live
 * allocation, and the counters agree with the walk.
 *
 * Return: 0, or -EUCLEAN if the metadata is inconsistent.
 */
int fnmm_check(struct fnmm_allocator *a)
{
	return a->ops->check(a);
}

/**
 * fnmm_occupancy() - which granules are in use
 * @a: the allocator
 * @map: a zeroed bitmap of fnmm_size(@a) / @a->granule bits; bit i is
 *	set when granule i is in use
 *
 * Return: 0, or -EOPNOTSUPP if the allocator cannot tell.
 */
int fnmm_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	if (!a->ops->occupancy)
		return -EOPNOTSUPP;
	a->ops->occupancy(a, map);
	return 0;
}

/**
 * fnmm_cached() - which free granules per-CPU caches hold
 * @a: the allocator
 * @map: a zeroed bitmap of fnmm_size(@a) / @a->granule bits; bit i is
 *	set when granule i is free but held by a per-CPU cache (Split's and
 *	Bit's magazines), so not in the runs fnmm_longest() sees
 *
 * For tests and debugging: O(CPUs x cache size).
 *
 * Return: the granules set (0 for an allocator without such caches).
 */
unsigned long fnmm_cached(struct fnmm_allocator *a, unsigned long *map)
{
	return a->ops->cached ? a->ops->cached(a, map) : 0;
}

/**
 * fnmm_destroy() - free an allocator and its metadata
 * @a: the allocator, or NULL / an ERR_PTR (ignored)
 */
void fnmm_destroy(struct fnmm_allocator *a)
{
	if (!IS_ERR_OR_NULL(a))
		a->ops->destroy(a);
}
