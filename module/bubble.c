// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Bubble allocator.
 *
 * FreeNOS's BubbleAllocator "can only grow in allocated memory, but it
 * can't free memory": an arena [base, base + size) and a top.  An
 * allocation rounds its size up to the granule, takes the top rounded up
 * to max(granule, its alignment) and moves the top past itself.  There is
 * no per-object metadata: what was handed out is everything below the
 * top, alignment padding included.  Objects are not released one by one
 * (-EOPNOTSUPP); fnmm_bubble_reset() frees them all at once, and so does
 * destroying the arena.  Made for the many small objects of one owner
 * that die together (a frame, a request, a parse), where a Pool's bitmap
 * and lookup are wasted work.
 *
 * Cost: allocate O(1) under the arena's lock (an add, a compare and
 * three stores), reset O(1), release O(1) (refused), available and
 * largest O(1) without the lock, alloc_size O(1) (0: sizes are not
 * kept), check O(1), occupancy O(top / granule / BITS_PER_LONG).
 * Metadata: this struct, whatever the arena's size or its number of
 * objects.
 */
#include <linux/bitmap.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "fnmm_alloc.h"

struct fnmm_bubble {
	struct fnmm_allocator a;
	spinlock_t lock;	/* protects top, nallocs (their stores) */
	/* written with WRITE_ONCE: available(), largest() read it unlocked */
	u64 top;		/* bytes from base handed out, padding included */
	u64 nallocs;		/* allocations since creation or the last reset */
};

static inline struct fnmm_bubble *to_bubble(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_bubble, a);
}

/*
 * The bump, for a request fnmm_allocate()'s checks passed (so @range->size
 * is at most the arena's: need cannot wrap).  *@prev: the top before it,
 * *@used: the bytes it took, padding included.
 */
static int bubble_bump(struct fnmm_bubble *b, struct fnmm_range *range,
		       u64 *prev, u64 *used)
{
	struct fnmm_allocator *a = &b->a;
	u64 align = max(range->alignment, a->granule);
	u64 need = round_up(range->size, a->granule), pad, left;
	int ret = -ENOMEM;

	if (align > a->size)
		return -EINVAL;
	spin_lock(&b->lock);
	/* The address is aligned, not the offset: base is the granule's. */
	pad = (align - ((a->base + b->top) & (align - 1))) & (align - 1);
	left = a->size - b->top;
	if (pad <= left && need <= left - pad) {
		range->address = a->base + b->top + pad;
		*prev = b->top;
		*used = pad + need;
		WRITE_ONCE(b->top, b->top + pad + need);
		WRITE_ONCE(b->nallocs, b->nallocs + 1);
		ret = 0;
	}
	spin_unlock(&b->lock);
	return ret;
}

static int bubble_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	u64 prev, used;

	return bubble_bump(to_bubble(a), range, &prev, &used);
}

/**
 * fnmm_bubble_take() - fnmm_allocate() that says what the bump did
 * @a: a Bubble allocator
 * @range: as for fnmm_allocate()
 * @prev: out: the top before this object (for fnmm_bubble_undo())
 * @used: out: the bytes it took from the arena, its padding included
 *
 * For a caller that keeps totals over many arenas and may have to take
 * the object back, without a lock of its own.  O(1).
 *
 * Return: as fnmm_allocate().
 */
int fnmm_bubble_take(struct fnmm_allocator *a, struct fnmm_range *range,
		     u64 *prev, u64 *used)
{
	int ret = fnmm_range_check(a, range);

	return ret ? ret : bubble_bump(to_bubble(a), range, prev, used);
}

/*
 * Objects go only all together: an address below the top may be one, but
 * nothing records where objects start, and none is freed alone.
 */
static int bubble_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_bubble *b = to_bubble(a);

	if (addr < a->base || addr - a->base >= a->size ||
	    !IS_ALIGNED(addr - a->base, a->granule))
		return -EINVAL;
	if (addr - a->base >= READ_ONCE(b->top))
		return -ENOENT;		/* never handed out */
	return -EOPNOTSUPP;
}

static u64 bubble_available(struct fnmm_allocator *a)
{
	return a->size - READ_ONCE(to_bubble(a)->top);
}

/* The top is a multiple of the granule: the rest takes one request. */
static u64 bubble_largest(struct fnmm_allocator *a)
{
	return bubble_available(a);
}

/* Sizes are not kept: nothing is known of an object. */
static u64 bubble_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	return 0;
}

static int bubble_check(struct fnmm_allocator *a)
{
	struct fnmm_bubble *b = to_bubble(a);
	int ret = 0;

	spin_lock(&b->lock);
	if (b->top > a->size || !IS_ALIGNED(b->top, a->granule) ||
	    b->nallocs > b->top / a->granule)
		ret = -EUCLEAN;
	spin_unlock(&b->lock);
	return ret;
}

static void bubble_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_bubble *b = to_bubble(a);

	spin_lock(&b->lock);
	bitmap_set(map, 0, b->top / a->granule);
	spin_unlock(&b->lock);
}

static void bubble_destroy(struct fnmm_allocator *a)
{
	kfree(to_bubble(a));
}

static const struct fnmm_alloc_ops bubble_ops = {
	.name		= "bubble",
	.allocate	= bubble_allocate,
	.release	= bubble_release,
	.available	= bubble_available,
	.largest	= bubble_largest,
	.alloc_size	= bubble_alloc_size,
	.check		= bubble_check,
	.occupancy	= bubble_occupancy,
	.destroy	= bubble_destroy,
};

/**
 * fnmm_bubble_reset() - free every object of a Bubble arena at once
 * @a: a Bubble allocator
 *
 * The next allocation starts at the arena's base again.  The caller
 * makes sure nothing uses the old objects (their bytes are not touched).
 * O(1).
 */
void fnmm_bubble_reset(struct fnmm_allocator *a)
{
	struct fnmm_bubble *b = to_bubble(a);

	spin_lock(&b->lock);
	WRITE_ONCE(b->top, 0);
	WRITE_ONCE(b->nallocs, 0);
	spin_unlock(&b->lock);
}

/**
 * fnmm_bubble_undo() - take the last allocation back, if it is the last
 * @a: a Bubble allocator
 * @range: the request as fnmm_allocate() or fnmm_bubble_take() returned
 *	it (address and size)
 * @top: the top before it (fnmm_bubble_take()'s *@prev)
 *
 * For a caller that cannot hand the object on (a reply that cannot be
 * written): if nothing was allocated after it, the top goes back to
 * @top; else it stays, as any object, until the arena goes.  O(1).
 *
 * Return: the bytes given back (its padding included), 0 if none.
 */
u64 fnmm_bubble_undo(struct fnmm_allocator *a, const struct fnmm_range *range,
		     u64 top)
{
	struct fnmm_bubble *b = to_bubble(a);
	u64 end = range->address - a->base +
		  round_up(range->size, a->granule);
	u64 back = 0;

	spin_lock(&b->lock);
	if (b->top == end && top <= range->address - a->base && b->nallocs) {
		back = b->top - top;
		WRITE_ONCE(b->top, top);
		WRITE_ONCE(b->nallocs, b->nallocs - 1);
	}
	spin_unlock(&b->lock);
	return back;
}

/**
 * fnmm_bubble_top() - bytes of an arena handed out, padding included
 * @a: a Bubble allocator
 */
u64 fnmm_bubble_top(struct fnmm_allocator *a)
{
	return READ_ONCE(to_bubble(a)->top);
}

/**
 * fnmm_bubble_allocations() - objects handed out since creation or reset
 * @a: a Bubble allocator
 */
u64 fnmm_bubble_allocations(struct fnmm_allocator *a)
{
	return READ_ONCE(to_bubble(a)->nallocs);
}

/**
 * fnmm_bubble_create() - create a Bubble (bump) allocator over a range
 * @base: first address, aligned to @granule
 * @size: bytes, a non-zero multiple of @granule
 * @granule: smallest unit and default alignment, a power of two from 8
 *	to PAGE_SIZE
 *
 * Allocations are aligned to max(@granule, their alignment), which may
 * be any power of two up to @size.  The allocator keeps no per-object
 * state: its metadata is one small struct, charged to the caller's
 * memory cgroup.
 *
 * Return: the allocator, ERR_PTR(-EINVAL) for bad arguments or
 * ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_bubble_create(u64 base, u64 size, u64 granule)
{
	struct fnmm_bubble *b;

	if (granule < 8 || granule > PAGE_SIZE || !is_power_of_2(granule) ||
	    !size || !IS_ALIGNED(base, granule) ||
	    !IS_ALIGNED(size, granule) || base + size < base)
		return ERR_PTR(-EINVAL);
	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&b->lock);
	b->a.ops = &bubble_ops;
	b->a.base = base;
	b->a.size = size;
	b->a.granule = granule;
	return &b->a;
}
