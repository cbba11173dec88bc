/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freenos-mm: common allocator interface.
 *
 * Modelled on FreeNOS liballoc: an Allocator takes a Range
 * {address, size, alignment} and returns the allocated address in
 * Range.address.  Every allocator here keeps its metadata out of band: it
 * never reads or writes the memory it manages, so it can manage physical
 * memory that has no kernel mapping.
 *
 * Errors (the same for every allocator):
 *   -EINVAL  size 0, alignment not a power of two (or not possible for the
 *            allocator), address misaligned or outside the managed range
 *   -E2BIG   size can never be satisfied (larger than the largest block)
 *   -ENOMEM  the request is valid but no free space fits it now
 *
 * Split and Bit serve a request of n granules with no alignment (or one
 * of at most a granule) whenever n adjacent granules are free, and
 * largest() is the longest such run.  A request aligned to a granules
 * (a > 1) is served as the kernel's vm_unmapped_area() serves one:
 * whenever a run of n + a - 1 free granules exists, or a free block of
 * max(n rounded up to a power of two, a) granules aligned to its size; it
 * may be refused when n free granules sit at an aligned address only in
 * a shorter run.  That is what bounds every call by O(log granules)
 * (module/runs.c).
 *   -ENOENT  release of an address that is not a live allocation
 *            (never handed out, or already released)
 *   -EOPNOTSUPP  release of one object of a Bubble, which frees its
 *            objects only all at once
 * A rejected call changes nothing.
 */
#ifndef _FNMM_ALLOC_H
#define _FNMM_ALLOC_H

#include <linux/types.h>

struct fnmm_allocator;

/**
 * struct fnmm_range - an allocation request and its result
 * @address: out: the allocated address (in: ignored)
 * @size: in: bytes wanted; rounded up to the allocator's granule
 * @alignment: in: required alignment of @address in bytes; 0 means the
 *	allocator's natural granule; must otherwise be a power of two
 */
struct fnmm_range {
	u64 address;
	u64 size;
	u64 alignment;
};

/**
 * struct fnmm_alloc_ops - operations every allocator implements
 * @name: short name ("split", "bit", "pool", "bubble")
 * @allocate: allocate @range->size bytes aligned to @range->alignment and
 *	store the address in @range->address; 0 or a negative errno
 * @release: release the allocation starting at @addr; 0 or negative errno
 * @available: bytes currently free
 * @largest: bytes of the largest single allocation that would succeed now
 * @longest: as @largest, but without the work that may make more room
 *	(Split: draining its per-CPU magazines), so maybe less (optional)
 * @alloc_size: bytes held by the live allocation starting at @addr, or 0
 *	if @addr is not the start of a live allocation (or, for Bubble,
 *	which keeps no sizes, always 0)
 * @carve: cut the live allocation at @addr in two at @offset (optional)
 * @check: walk the metadata and verify its invariants; 0 or -EUCLEAN
 * @occupancy: set bit i of a zeroed bitmap of size / granule bits for
 *	every granule i in use (optional)
 * @cached: set bit i of a zeroed bitmap of size / granule bits for every
 *	granule i held free on a per-CPU cache; return how many (optional)
 * @destroy: free the allocator's metadata (live allocations are dropped)
 */
struct fnmm_alloc_ops {
	const char *name;
	int (*allocate)(struct fnmm_allocator *a, struct fnmm_range *range);
	int (*release)(struct fnmm_allocator *a, u64 addr);
	u64 (*available)(struct fnmm_allocator *a);
	u64 (*largest)(struct fnmm_allocator *a);
	u64 (*longest)(struct fnmm_allocator *a);
	u64 (*alloc_size)(struct fnmm_allocator *a, u64 addr);
	int (*carve)(struct fnmm_allocator *a, u64 addr, u64 offset);
	int (*check)(struct fnmm_allocator *a);
	void (*occupancy)(struct fnmm_allocator *a, unsigned long *map);
	unsigned long (*cached)(struct fnmm_allocator *a, unsigned long *map);
	void (*destroy)(struct fnmm_allocator *a);
};

/**
 * struct fnmm_allocator - the part every allocator shares
 * @ops: the implementation
 * @base: first address managed
 * @size: bytes managed, from @base
 * @granule: smallest unit handed out, in bytes (a power of two)
 */
struct fnmm_allocator {
	const struct fnmm_alloc_ops *ops;
	u64 base;
	u64 size;
	u64 granule;
};

int fnmm_allocate(struct fnmm_allocator *a, struct fnmm_range *range);
int fnmm_range_check(struct fnmm_allocator *a, const struct fnmm_range *range);
int fnmm_release(struct fnmm_allocator *a, u64 addr);
u64 fnmm_available(struct fnmm_allocator *a);
u64 fnmm_largest(struct fnmm_allocator *a);
u64 fnmm_longest(struct fnmm_allocator *a);
#define FNMM_HAVE_LONGEST	1
u64 fnmm_alloc_size(struct fnmm_allocator *a, u64 addr);
int fnmm_carve(struct fnmm_allocator *a, u64 addr, u64 offset);
int fnmm_check(struct fnmm_allocator *a);
int fnmm_occupancy(struct fnmm_allocator *a, unsigned long *map);
unsigned long fnmm_cached(struct fnmm_allocator *a, unsigned long *map);
void fnmm_destroy(struct fnmm_allocator *a);

/**
 * fnmm_size() - bytes managed by an allocator
 * @a: the allocator
 */
static inline u64 fnmm_size(const struct fnmm_allocator *a)
{
	return a->size;
}

/**
 * fnmm_base() - first address managed by an allocator
 * @a: the allocator
 */
static inline u64 fnmm_base(const struct fnmm_allocator *a)
{
	return a->base;
}

/* Split: power-of-two buddy blocks of pages, split and coalesced. */
#define FNMM_SPLIT_MAX_ORDER	20	/* largest block: 2^20 pages */

/*
 * Flags of the create functions.  FNMM_NO_PERCPU: no per-CPU magazines;
 * every request is placed under the allocator's lock exactly as the rule
 * of this header says (unaligned: the first run of n free units by
 * address, as genalloc's first fit), so placement never depends on which
 * CPU freed what: it trades the per-CPU fast path for placement.
 */
#define FNMM_NO_PERCPU		0x1
#define FNMM_CREATE_FLAGS	FNMM_NO_PERCPU

/* The create functions return an ERR_PTR on failure. */
struct fnmm_allocator *fnmm_split_create_flags(u64 base, u64 size,
					       unsigned int max_order,
					       unsigned int flags);

static inline struct fnmm_allocator *fnmm_split_create(u64 base, u64 size,
						       unsigned int max_order)
{
	return fnmm_split_create_flags(base, size, max_order, 0);
}
unsigned int fnmm_split_max_order(struct fnmm_allocator *a);
void fnmm_split_drain(struct fnmm_allocator *a);
unsigned long fnmm_split_free_blocks(struct fnmm_allocator *a,
				     unsigned int order);

/* Bit: one bit per fixed-size chunk, 1 = used. */
struct fnmm_allocator *fnmm_bit_create_flags(u64 base, u64 size,
					     u64 chunk_size, unsigned int flags);

static inline struct fnmm_allocator *fnmm_bit_create(u64 base, u64 size,
						     u64 chunk_size)
{
	return fnmm_bit_create_flags(base, size, chunk_size, 0);
}

/* Pool: power-of-two object classes carved from a parent's pages. */
#define FNMM_POOL_MIN_SHIFT	3	/* smallest object: 8 bytes */

struct fnmm_allocator *fnmm_pool_create(struct fnmm_allocator *parent,
					unsigned int min_shift,
					unsigned int max_shift);
void fnmm_pool_trim(struct fnmm_allocator *a);
u64 fnmm_pool_held(struct fnmm_allocator *a);
unsigned long fnmm_pool_slots(struct fnmm_allocator *a);

/*
 * Bubble: a bump allocator, FreeNOS's BubbleAllocator.  Objects are freed
 * all at once (fnmm_bubble_reset(), or destroying it), never one by one:
 * fnmm_release() of one gives -EOPNOTSUPP.
 */
struct fnmm_allocator *fnmm_bubble_create(u64 base, u64 size, u64 granule);
void fnmm_bubble_reset(struct fnmm_allocator *a);
u64 fnmm_bubble_allocations(struct fnmm_allocator *a);
u64 fnmm_bubble_top(struct fnmm_allocator *a);
int fnmm_bubble_take(struct fnmm_allocator *a, struct fnmm_range *range,
		     u64 *prev, u64 *used);
u64 fnmm_bubble_undo(struct fnmm_allocator *a, const struct fnmm_range *range,
		     u64 top);

#endif /* _FNMM_ALLOC_H */
