// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Bit allocator.
 *
 * As FreeNOS's BitAllocator: the range is cut into chunks of one fixed
 * size and a bitmap holds one bit per chunk, 1 = used.  An allocation is a
 * run of contiguous free chunks at the requested alignment.  A second
 * bitmap marks the first chunk of every live allocation, so release needs
 * only the address and a release of anything but a live start is caught.
 *
 * Placement is first fit, as the kernel's genalloc does (it keeps the free
 * space at the top in one piece), but the first fit is found by an index
 * of free runs (module/runs.c), not by a scan: the index's units are the
 * chunks counted from the base rounded down to the range's size rounded
 * up to a power of two, so an aligned unit is an aligned address.
 *
 * An alignment above the chunk is honoured as the kernel's
 * vm_unmapped_area() honours one: at the first of the first run of
 * n + a - 1 chunks (a = the alignment in chunks) and the first free
 * aligned block of max(n rounded up to a power of two, a) chunks.  A
 * request that fits only in a shorter run at a lucky alignment gets
 * -ENOMEM: this is what keeps it O(log chunks).
 *
 * Cost, under the one lock:
 *   allocate  O(log chunks) to find the place, O(n / 64 + log chunks) to
 *             mark the n chunks (both bitmaps and the index)
 *   release   O(n / 64 + log chunks)
 *   refusal   O(1) when fewer chunks are free than asked, else O(log
 *             chunks)
 *   largest   O(1); available O(1); alloc_size, carve O(n / 64)
 *   check     O(chunks): debug only; occupancy O(chunks / 64)
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "fnmm_alloc.h"
#include "fnmm_runs.h"

struct fnmm_bit {
	struct fnmm_allocator a;
	/* protects used, start, runs, nfree, nallocs */
	spinlock_t lock;
	unsigned long *used;	/* 1 = chunk in use */
	unsigned long *start;	/* 1 = chunk starts a live allocation */
	struct fnmm_runs runs;	/* free chunks; unit = chunk + pad */
	unsigned long nchunks;
	unsigned long nfree;
	unsigned long pad;	/* units below chunk 0: never free */
	unsigned long nallocs;
	unsigned int shift;	/* log2(chunk size) */
};

static inline struct fnmm_bit *to_bit(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_bit, a);
}

/*
 * The index's unit where @n chunks aligned to 2^@ao chunks go, or
 * FNMM_RUNS_NONE: the lower of the first fitting run and the first
 * aligned free block.
 */
static u32 bit_find(struct fnmm_bit *b, u64 n, unsigned int ao)
{
	u32 a = 1U << ao, p, q;

	p = fnmm_runs_find(&b->runs, n + a - 1);
	if (!ao)
		return p;
	if (p != FNMM_RUNS_NONE)
		p = round_up(p, a);
	q = fnmm_runs_find_block(&b->runs, max_t(unsigned int,
						 order_base_2(n), ao));
	return min(p, q);
}

static int bit_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long n = DIV_ROUND_UP_ULL(range->size, a->granule);
	unsigned int ao = 0;
	unsigned long i;
	u32 u;

	if (range->alignment > a->granule) {
		if (range->alignment > a->size)
			return -EINVAL;
		ao = ilog2(range->alignment) - b->shift;
	}

	spin_lock(&b->lock);
	if (n > b->nfree)
		goto nomem;
	u = bit_find(b, n, ao);
	if (u == FNMM_RUNS_NONE)
		goto nomem;
	i = u - b->pad;
	bitmap_set(b->used, i, n);
	__set_bit(i, b->start);
	fnmm_runs_set(&b->runs, u, n, false);
	b->nfree -= n;
	b->nallocs++;
	spin_unlock(&b->lock);

	range->address = a->base + ((u64)i << b->shift);
	return 0;
nomem:
	spin_unlock(&b->lock);
	return -ENOMEM;
}

/* Chunk index of @addr, or -EINVAL if outside or misaligned. */
static long bit_index(struct fnmm_bit *b, u64 addr)
{
	u64 off = addr - b->a.base;

	if (addr < b->a.base || off >= b->a.size ||
	    off & (b->a.granule - 1))
		return -EINVAL;
	return off >> b->shift;
}

/* Chunks in the live allocation starting at @i; lock held. */
static unsigned long bit_run(struct fnmm_bit *b, unsigned long i)
{
	unsigned long end = find_next_zero_bit(b->used, b->nchunks, i + 1);

	return find_next_bit(b->start, end, i + 1) - i;
}

static int bit_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	unsigned long n;

	if (i < 0)
		return i;
	spin_lock(&b->lock);
	if (!test_bit(i, b->start)) {
		spin_unlock(&b->lock);
		return -ENOENT;
	}
	n = bit_run(b, i);
	__clear_bit(i, b->start);
	bitmap_clear(b->used, i, n);
	fnmm_runs_set(&b->runs, i + b->pad, n, true);
	b->nfree += n;
	b->nallocs--;
	spin_unlock(&b->lock);
	return 0;
}

static u64 bit_available(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);

	return (u64)READ_ONCE(b->nfree) << b->shift;
}

static u64 bit_largest(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);
	u64 ret;

	spin_lock(&b->lock);
	ret = (u64)fnmm_runs_longest(&b->runs) << b->shift;
	spin_unlock(&b->lock);
	return ret;
}

static u64 bit_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	u64 ret = 0;

	if (i < 0)
		return 0;
	spin_lock(&b->lock);
	if (test_bit(i, b->start))
		ret = (u64)bit_run(b, i) << b->shift;
	spin_unlock(&b->lock);
	return ret;
}

/* Cut the allocation at @addr in two: one more start bit. */
static int bit_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	unsigned long off = offset >> b->shift;
	int ret = 0;

	if (i < 0)
		return i;
	spin_lock(&b->lock);
	if (!test_bit(i, b->start))
		ret = -ENOENT;
	else if (offset >= a->size || off >= bit_run(b, i))
		ret = -EINVAL;
	else
		__set_bit(i + off, b->start);
	if (!ret)
		b->nallocs++;
	spin_unlock(&b->lock);
	return ret;
}

static int bit_check(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long i, used, starts;
	int ret = 0;

	spin_lock(&b->lock);
	used = bitmap_weight(b->used, b->nchunks);
	starts = bitmap_weight(b->start, b->nchunks);
	if (used + b->nfree != b->nchunks || starts != b->nallocs ||
	    !bitmap_subset(b->start, b->used, b->nchunks) ||
	    fnmm_runs_check(&b->runs))
		ret = -EUCLEAN;
	/* The index has exactly the free chunks free, and no padding. */
	for (i = 0; !ret && i < b->pad; i++)
		if (fnmm_runs_free(&b->runs, i))
			ret = -EUCLEAN;
	for (i = 0; !ret && i < b->nchunks; i++)
		if (fnmm_runs_free(&b->runs, i + b->pad) == test_bit(i, b->used))
			ret = -EUCLEAN;
	/* Every run of used chunks begins with an allocation start. */
	for (i = 0; !ret && i < b->nchunks; i++) {
		if (test_bit(i, b->used) && (!i || !test_bit(i - 1, b->used)) &&
		    !test_bit(i, b->start))
			ret = -EUCLEAN;
	}
	spin_unlock(&b->lock);
	return ret;
}

static void bit_destroy(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);

	fnmm_runs_fini(&b->runs);
	kvfree(b->used);
	kvfree(b->start);
	kfree(b);
}

static void bit_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_bit *b = to_bit(a);

	spin_lock(&b->lock);
	bitmap_copy(map, b->used, b->nchunks);
	spin_unlock(&b->lock);
}

static const struct fnmm_alloc_ops bit_ops = {
	.name		= "bit",
	.allocate	= bit_allocate,
	.release	= bit_release,
	.available	= bit_available,
	.largest	= bit_largest,
	.alloc_size	= bit_alloc_size,
	.carve		= bit_carve,
	.check		= bit_check,
	.occupancy	= bit_occupancy,
	.destroy	= bit_destroy,
};

/**
 * fnmm_bit_create() - create a Bit allocator
 * @base: first address, aligned to @chunk_size
 * @size: bytes, a non-zero multiple of @chunk_size
 * @chunk_size: bytes per bit, a power of two
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for a bad range or chunk
 * size, ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_bit_create(u64 base, u64 size, u64 chunk_size)
{
	struct fnmm_bit *b;
	u64 n;

	if (!chunk_size || !is_power_of_2(chunk_size) || !size ||
	    (base | size) & (chunk_size - 1) || base + size < base)
		return ERR_PTR(-EINVAL);
	n = size / chunk_size;
	if (n > INT_MAX)
		return ERR_PTR(-E2BIG);

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return ERR_PTR(-ENOMEM);
	/* Index units from an address aligned to any alignment asked. */
	b->pad = (base >> ilog2(chunk_size)) & (roundup_pow_of_two(n) - 1);
	b->used = kvcalloc(BITS_TO_LONGS(n), sizeof(long), GFP_KERNEL);
	b->start = kvcalloc(BITS_TO_LONGS(n), sizeof(long), GFP_KERNEL);
	if (!b->used || !b->start || fnmm_runs_init(&b->runs, b->pad + n)) {
		kvfree(b->used);
		kvfree(b->start);
		kfree(b);
		return ERR_PTR(-ENOMEM);
	}
	b->a.ops = &bit_ops;
	b->a.base = base;
	b->a.size = size;
	b->a.granule = chunk_size;
	b->nchunks = n;
	b->nfree = n;
	b->shift = ilog2(chunk_size);
	fnmm_runs_set(&b->runs, b->pad, n, true);
	spin_lock_init(&b->lock);
	return &b->a;
}
