// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Split allocator.
 *
 * FreeNOS's SplitAllocator hands out pages from a bitmap; this one is a
 * real splitting and coalescing (buddy) allocator over a page-aligned
 * range.  Free memory is kept as power-of-two blocks of pages on one list
 * per order; an allocation takes the smallest fitting block (found in O(1)
 * through a bitmap of non-empty orders), splits it down, and gives the
 * unused tail pages of a non-power-of-two request straight back, so a
 * request of n pages holds exactly n pages.  Release coalesces buddies.
 *
 * Two things a plain buddy allocator lacks:
 *  - When no block of the needed order is free, the request is served
 *    from the first run of adjacent free blocks long enough for it, so a
 *    buddy boundary never makes a request fail that the free space could
 *    hold.  The runs are found by an index of free pages (module/runs.c),
 *    never by a walk: largest() is the index's longest run.
 *  - Blocks of orders 0..SPLIT_CACHE_ORDERS-1 released whole are kept on
 *    a small LIFO per order without coalescing (as the page allocator's
 *    per-CPU lists do), so an allocate/release pair of a small block
 *    does not split and merge all the way up.  They count as free in the
 *    index: a run through cached blocks takes them off their cache.
 *
 * An alignment above a page is honoured as the kernel's vm_unmapped_area()
 * honours one (it asks for length + alignment - 1): from a buddy block of
 * order max(order of the request, order of the alignment), else from the
 * first run of n + a - 1 pages (a = the alignment in pages), else from the
 * first free aligned block of that order the index shows (one made of
 * cached blocks, or above max_order).  A request that fits only in a
 * shorter run at a lucky alignment gets -ENOMEM: this is what keeps it
 * O(log pages).
 *
 * Cost, under the one lock:
 *   allocate  O(1) from a cache; O(max order) from the buddy lists, plus
 *             O(n / 64 + log pages) to mark the n pages in the index;
 *             a run: O(log pages) to find it, O(max order + cached
 *             blocks) to take its blocks off their lists
 *   release   O(max order) (coalescing) + O(n / 64 + log pages) (index)
 *   refusal   O(log pages): two descents of the index
 *   largest   O(1); available O(1); alloc_size, carve O(1)
 *   check, occupancy  O(pages): debug and debugfs only
 *
 * Metadata is one small descriptor per page, outside the managed memory.
 * Block indices count from the range's base rounded down to the largest
 * block size, so index alignment is physical alignment; the pages before
 * the base exist only as never-free padding.
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

#define SPLIT_NIL	U32_MAX

enum split_state {
	SPLIT_NONE = 0,	/* inside a block, or padding */
	SPLIT_FREE,	/* head of a free block of 2^order pages */
	SPLIT_ALLOC,	/* head of a live allocation of npages pages */
	SPLIT_CACHED,	/* head of a free block of 2^order pages on a cache */
};

#define SPLIT_CACHE_ORDERS	4
#define SPLIT_CACHE_DEPTH	32

/*
 * Per-page descriptor.  Only heads carry meaning: a free head is linked on
 * its order's list; an allocated head records the pages it holds.  Every
 * other page is SPLIT_NONE.
 */
struct split_page {
	u32 next;
	u32 prev;
	u32 npages;
	u8 state;
	u8 order;
};

struct fnmm_split {
	struct fnmm_allocator a;
	/*
	 * protects pages[], runs, head[], nonempty, nfree[], cache[],
	 * ncache[], free_pages, nallocs
	 */
	spinlock_t lock;
	struct split_page *pages;
	struct fnmm_runs runs;	/* free pages by index, cached ones included */
	u64 abase;		/* address of page index 0 */
	u32 npages;		/* indices in pages[], padding included */
	u32 first;		/* index of the first managed page */
	unsigned int max_order;
	unsigned long nonempty;	/* bit k: head[k] is not empty */
	u32 head[FNMM_SPLIT_MAX_ORDER + 1];
	unsigned long nfree[FNMM_SPLIT_MAX_ORDER + 1];
	u32 cache[SPLIT_CACHE_ORDERS][SPLIT_CACHE_DEPTH];
	unsigned int ncache[SPLIT_CACHE_ORDERS];
	u64 free_pages;		/* cached blocks included */
	u64 nallocs;
};

static inline struct fnmm_split *to_split(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_split, a);
}

/* Pages from the head @p to the next head: its allocation or block. */
static u32 split_head_len(const struct split_page *p)
{
	return p->state == SPLIT_ALLOC ? p->npages : 1U << p->order;
}

static void split_add_free(struct fnmm_split *s, u32 i, unsigned int order)
{
	struct split_page *p = &s->pages[i];
	u32 h = s->head[order];

	p->state = SPLIT_FREE;
	p->order = order;
	p->prev = SPLIT_NIL;
	p->next = h;
	if (h != SPLIT_NIL)
		s->pages[h].prev = i;
	s->head[order] = i;
	s->nfree[order]++;
	__set_bit(order, &s->nonempty);
}

static void split_del_free(struct fnmm_split *s, u32 i, unsigned int order)
{
	struct split_page *p = &s->pages[i];

	if (p->prev != SPLIT_NIL)
		s->pages[p->prev].next = p->next;
	else
		s->head[order] = p->next;
	if (p->next != SPLIT_NIL)
		s->pages[p->next].prev = p->prev;
	p->state = SPLIT_NONE;
	if (!--s->nfree[order])
		__clear_bit(order, &s->nonempty);
}

/* Free one aligned block of 2^order pages at @i, merging with buddies. */
static void split_free_block(struct fnmm_split *s, u32 i, unsigned int order)
{
	while (order < s->max_order) {
		u32 b = i ^ (1U << order);

		if (b >= s->npages || s->pages[b].state != SPLIT_FREE ||
		    s->pages[b].order != order)
			break;
		split_del_free(s, b, order);
		i &= ~(1U << order);
		order++;
	}
	split_add_free(s, i, order);
}

/* Largest order of an aligned block starting at @i that fits in @n pages. */
static unsigned int split_fit_order(struct fnmm_split *s, u32 i, u64 n)
{
	unsigned int order = ilog2(n);

	if (i)
		order = min_t(unsigned int, order, __ffs(i));
	return min(order, s->max_order);
}

/* Free the pages [i, i + n) as maximal aligned blocks. */
static void split_free_range(struct fnmm_split *s, u32 i, u32 n)
{
	u32 end = i + n;

	while (i < end) {
		unsigned int order = split_fit_order(s, i, end - i);

		split_free_block(s, i, order);
		i += 1U << order;
	}
}

/*
 * The lowest-addressed of the first SPLIT_PICK blocks on an order's list:
 * placement leans towards low addresses (address-ordered fits fragment
 * less), at a bounded cost.
 */
#define SPLIT_PICK	8

static u32 split_pick(struct fnmm_split *s, unsigned int order)
{
	u32 best = s->head[order], j = s->pages[best].next;
	unsigned int n = SPLIT_PICK - 1;

	while (j != SPLIT_NIL && n--) {
		if (j < best)
			best = j;
		j = s->pages[j].next;
	}
	return best;
}

/* The smallest order >= @order with a free block, or U32_MAX. */
static u32 split_free_order(struct fnmm_split *s, unsigned int order)
{
	if (order > s->max_order)
		return U32_MAX;
	return find_next_bit(&s->nonempty, s->max_order + 1, order);
}

/* Give every cached block back to the buddy lists, coalescing. */
static void split_drain(struct fnmm_split *s)
{
	unsigned int k;

	for (k = 0; k < SPLIT_CACHE_ORDERS; k++)
		while (s->ncache[k]) {
			u32 i = s->cache[k][--s->ncache[k]];

			s->pages[i].state = SPLIT_NONE;
			split_free_block(s, i, k);
		}
}

/* Take the cached block at @i of @order off its cache. */
static void split_uncache(struct fnmm_split *s, u32 i, unsigned int order)
{
	unsigned int j;

	for (j = 0; j < s->ncache[order]; j++)
		if (s->cache[order][j] == i) {
			s->cache[order][j] = s->cache[order][--s->ncache[order]];
			break;
		}
	s->pages[i].state = SPLIT_NONE;
}

/*
 * Where a request of @n pages aligned to 2^@ao pages fits when no buddy
 * block does: *@at, and in *@start a head at or below it from which the
 * free blocks up to @at + @n follow one another.  False if none fits.
 */
static bool split_find_fit(struct fnmm_split *s, u64 n, unsigned int ao,
			   u32 *start, u32 *at)
{
	u32 a = 1U << ao, p, q;

	/* The start of a maximal free run: the page before it is not free. */
	p = fnmm_runs_find(&s->runs, n + a - 1);
	*start = p;
	*at = p == FNMM_RUNS_NONE ? p : round_up(p, a);
	if (!ao)
		return p != FNMM_RUNS_NONE;
	/*
	 * The first free block aligned to its size: no free block can start
	 * below it and hold it, so it starts a block itself.
	 */
	q = fnmm_runs_find_block(&s->runs, max_t(unsigned int,
						 order_base_2(n), ao));
	if (q < *at)
		*start = *at = q;
	return *at != FNMM_RUNS_NONE;
}

/*
 * Take [at, at + n) out of the run of free (or cached) blocks whose
 * heads follow one another from @start.
 */
static void split_take_run(struct fnmm_split *s, u32 start, u32 at, u32 n)
{
	u32 i = start, end = at + n, lo = 0, lo_len = 0, hi_len = 0;

	/* First unlink every block that overlaps, then give back the ends. */
	while (i < end) {
		unsigned int order = s->pages[i].order;
		u32 len = 1U << order;

		if (i + len > at) {
			if (s->pages[i].state == SPLIT_CACHED)
				split_uncache(s, i, order);
			else
				split_del_free(s, i, order);
			if (i < at) {
				lo = i;
				lo_len = at - i;
			}
			if (i + len > end)
				hi_len = i + len - end;
		}
		i += len;
	}
	s->pages[at].state = SPLIT_ALLOC;
	s->pages[at].npages = n;
	if (lo_len)
		split_free_range(s, lo, lo_len);
	if (hi_len)
		split_free_range(s, end, hi_len);
}

static int split_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_split *s = to_split(a);
	u64 npages = DIV_ROUND_UP_ULL(range->size, PAGE_SIZE);
	unsigned int order = order_base_2(npages), ao = 0;
	u32 i, start = 0;
	unsigned int k;

	if (range->alignment > PAGE_SIZE) {
		ao = ilog2(range->alignment) - PAGE_SHIFT;
		if (ao > s->max_order)
			return -EINVAL;
	}
	if (npages > s->npages - s->first)
		return -E2BIG;

	spin_lock(&s->lock);
	/* A whole small block, as released: straight from its cache. */
	if (order < SPLIT_CACHE_ORDERS && npages == 1U << order &&
	    ao <= order && s->ncache[order]) {
		i = s->cache[order][--s->ncache[order]];
		goto take;
	}
	order = max(order, ao);
	k = split_free_order(s, order);
	if (k > s->max_order) {
		/* No buddy block that big: a run, cached blocks included. */
		if (!split_find_fit(s, npages, ao, &start, &i)) {
			spin_unlock(&s->lock);
			return -ENOMEM;
		}
		split_take_run(s, start, i, npages);
		goto take;
	}
	i = split_pick(s, k);
	split_del_free(s, i, k);
	while (k > order) {
		k--;
		split_add_free(s, i + (1U << k), k);
	}
	if (npages < (1ULL << order))
		split_free_range(s, i + npages, (1U << order) - npages);
take:
	s->pages[i].state = SPLIT_ALLOC;
	s->pages[i].npages = npages;
	fnmm_runs_set(&s->runs, i, npages, false);
	s->free_pages -= npages;
	s->nallocs++;
	spin_unlock(&s->lock);

	range->address = s->abase + ((u64)i << PAGE_SHIFT);
	return 0;
}

/* Index of the page at @addr, or -EINVAL if outside or misaligned. */
static long split_index(struct fnmm_split *s, u64 addr)
{
	if (addr < s->a.base || addr - s->a.base >= s->a.size ||
	    !PAGE_ALIGNED(addr))
		return -EINVAL;
	return (addr - s->abase) >> PAGE_SHIFT;
}

static int split_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	unsigned int order;
	u32 n;

	if (i < 0)
		return i;
	spin_lock(&s->lock);
	if (s->pages[i].state != SPLIT_ALLOC) {
		spin_unlock(&s->lock);
		return -ENOENT;
	}
	n = s->pages[i].npages;
	order = ilog2(n);
	if (is_power_of_2(n) && order < SPLIT_CACHE_ORDERS &&
	    order <= s->max_order && !(i & (n - 1)) &&
	    s->ncache[order] < SPLIT_CACHE_DEPTH) {
		/* Kept whole for the next request of its size. */
		s->pages[i].state = SPLIT_CACHED;
		s->pages[i].order = order;
		s->cache[order][s->ncache[order]++] = i;
	} else {
		s->pages[i].state = SPLIT_NONE;
		split_free_range(s, i, n);
	}
	fnmm_runs_set(&s->runs, i, n, true);
	s->free_pages += n;
	s->nallocs--;
	spin_unlock(&s->lock);
	return 0;
}

/* Cut the allocation at @addr in two; offset checked by fnmm_carve(). */
static int split_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	u64 off = offset >> PAGE_SHIFT;
	int ret = 0;

	if (i < 0)
		return i;
	spin_lock(&s->lock);
	if (s->pages[i].state != SPLIT_ALLOC) {
		ret = -ENOENT;
	} else if (off >= s->pages[i].npages) {
		ret = -EINVAL;
	} else {
		s->pages[i + off].state = SPLIT_ALLOC;
		s->pages[i + off].npages = s->pages[i].npages - off;
		s->pages[i].npages = off;
		s->nallocs++;
	}
	spin_unlock(&s->lock);
	return ret;
}

static u64 split_available(struct fnmm_allocator *a)
{
	return READ_ONCE(to_split(a)->free_pages) << PAGE_SHIFT;
}

/* The longest run of free pages: what a request can get. */
static u64 split_largest(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);
	u64 ret;

	spin_lock(&s->lock);
	ret = (u64)fnmm_runs_longest(&s->runs) << PAGE_SHIFT;
	spin_unlock(&s->lock);
	return ret;
}

static u64 split_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	u64 ret = 0;

	if (i < 0)
		return 0;
	spin_lock(&s->lock);
	if (s->pages[i].state == SPLIT_ALLOC)
		ret = (u64)s->pages[i].npages << PAGE_SHIFT;
	spin_unlock(&s->lock);
	return ret;
}

/**
 * fnmm_split_max_order() - order of the largest block
 * @a: a Split allocator
 */
unsigned int fnmm_split_max_order(struct fnmm_allocator *a)
{
	return to_split(a)->max_order;
}

/**
 * fnmm_split_free_blocks() - number of free blocks of one order
 * @a: a Split allocator
 * @order: the order, at most fnmm_split_max_order()
 *
 * Blocks kept on the small-block caches are not counted (see
 * fnmm_split_drain()).
 */
unsigned long fnmm_split_free_blocks(struct fnmm_allocator *a,
				     unsigned int order)
{
	struct fnmm_split *s = to_split(a);

	return order <= s->max_order ? READ_ONCE(s->nfree[order]) : 0;
}

/**
 * fnmm_split_drain() - coalesce the blocks kept on the small-block caches
 * @a: a Split allocator
 *
 * Afterwards every free page is on the buddy lists, merged with its free
 * buddies (what fnmm_split_free_blocks() then reports is final).
 */
void fnmm_split_drain(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);

	spin_lock(&s->lock);
	split_drain(s);
	spin_unlock(&s->lock);
}

/* Check the free lists of every order against nfree[] and nonempty. */
static bool split_lists_ok(struct fnmm_split *s)
{
	unsigned int k;

	for (k = 0; k <= s->max_order; k++) {
		unsigned long n = 0;
		u32 prev = SPLIT_NIL;
		u32 i;

		for (i = s->head[k]; i != SPLIT_NIL; i = s->pages[i].next) {
			struct split_page *p = &s->pages[i];

			if (i >= s->npages || p->state != SPLIT_FREE ||
			    p->order != k || p->prev != prev ||
			    n++ > s->npages)
				return false;
			prev = i;
		}
		if (n != s->nfree[k] || !!n != test_bit(k, &s->nonempty))
			return false;
	}
	return true;
}

static int split_check(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);
	u64 free = 0, allocs = 0, cached = 0;
	int ret = -EUCLEAN;
	u32 i, j, len;
	unsigned int k;

	spin_lock(&s->lock);
	for (i = 0; i < s->first; i++)
		if (s->pages[i].state != SPLIT_NONE ||
		    fnmm_runs_free(&s->runs, i))
			goto out;
	if (fnmm_runs_check(&s->runs))
		goto out;
	/* Every managed page is in exactly one free block or allocation. */
	for (i = s->first; i < s->npages; i += len) {
		struct split_page *p = &s->pages[i];

		len = split_head_len(p);
		if (p->state == SPLIT_FREE) {
			u32 b = i ^ len;

			if (p->order > s->max_order || i & (len - 1))
				goto out;
			/* A free buddy of the same order should have merged. */
			if (p->order < s->max_order && b < s->npages &&
			    s->pages[b].state == SPLIT_FREE &&
			    s->pages[b].order == p->order)
				goto out;
			free += len;
		} else if (p->state == SPLIT_ALLOC) {
			allocs++;
		} else if (p->state == SPLIT_CACHED) {
			if (p->order >= SPLIT_CACHE_ORDERS ||
			    p->order > s->max_order || i & (len - 1))
				goto out;
			free += len;
			cached++;
		} else {
			goto out;	/* a page nobody accounts for */
		}
		if (!len || len > s->npages - i)
			goto out;
		for (j = 1; j < len; j++)
			if (s->pages[i + j].state != SPLIT_NONE)
				goto out;
		/* The index has the block's pages free, the allocation's not. */
		for (j = 0; j < len; j++)
			if (fnmm_runs_free(&s->runs, i + j) ==
			    (p->state == SPLIT_ALLOC))
				goto out;
	}
	/* Each cache holds exactly the cached blocks of its order. */
	for (k = 0; k < SPLIT_CACHE_ORDERS; k++) {
		if (s->ncache[k] > SPLIT_CACHE_DEPTH)
			goto out;
		for (j = 0; j < s->ncache[k]; j++) {
			i = s->cache[k][j];
			if (i < s->first || i >= s->npages ||
			    s->pages[i].state != SPLIT_CACHED ||
			    s->pages[i].order != k)
				goto out;
			cached--;
		}
	}
	if (!cached && free == s->free_pages && allocs == s->nallocs &&
	    split_lists_ok(s))
		ret = 0;
out:
	spin_unlock(&s->lock);
	return ret;
}

static void split_destroy(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);

	fnmm_runs_fini(&s->runs);
	kvfree(s->pages);
	kfree(s);
}

static void split_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_split *s = to_split(a);
	u32 i;

	spin_lock(&s->lock);
	for (i = s->first; i < s->npages; i += split_head_len(&s->pages[i]))
		if (s->pages[i].state == SPLIT_ALLOC)
			bitmap_set(map, i - s->first, s->pages[i].npages);
	spin_unlock(&s->lock);
}

static const struct fnmm_alloc_ops split_ops = {
	.name		= "split",
	.allocate	= split_allocate,
	.release	= split_release,
	.available	= split_available,
	.largest	= split_largest,
	.alloc_size	= split_alloc_size,
	.carve		= split_carve,
	.check		= split_check,
	.occupancy	= split_occupancy,
	.destroy	= split_destroy,
};

/**
 * fnmm_split_create() - create a Split allocator
 * @base: first address, page-aligned
 * @size: bytes, a non-zero multiple of the page size
 * @max_order: largest block is 2^@max_order pages; 0 picks the largest
 *	that fits the range (at most FNMM_SPLIT_MAX_ORDER)
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for a bad range or order,
 * ERR_PTR(-E2BIG) for a range too large to index, ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_split_create(u64 base, u64 size,
					 unsigned int max_order)
{
	struct fnmm_split *s;
	u64 n = size >> PAGE_SHIFT;
	u64 abase;
	unsigned int k;

	if (!size || !PAGE_ALIGNED(base) || !PAGE_ALIGNED(size) ||
	    base + size < base || max_order > FNMM_SPLIT_MAX_ORDER)
		return ERR_PTR(-EINVAL);
	if (!max_order)
		max_order = min_t(unsigned int, ilog2(n), FNMM_SPLIT_MAX_ORDER);
	abase = base & ~((PAGE_SIZE << max_order) - 1);
	if (n + ((base - abase) >> PAGE_SHIFT) >= SPLIT_NIL)
		return ERR_PTR(-E2BIG);

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->first = (base - abase) >> PAGE_SHIFT;
	s->npages = s->first + n;
	s->pages = kvcalloc(s->npages, sizeof(*s->pages), GFP_KERNEL);
	if (!s->pages || fnmm_runs_init(&s->runs, s->npages)) {
		kvfree(s->pages);
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
	s->a.ops = &split_ops;
	s->a.base = base;
	s->a.size = size;
	s->a.granule = PAGE_SIZE;
	s->abase = abase;
	s->max_order = max_order;
	for (k = 0; k <= max_order; k++)
		s->head[k] = SPLIT_NIL;
	spin_lock_init(&s->lock);
	split_free_range(s, s->first, n);
	fnmm_runs_set(&s->runs, s->first, n, true);
	s->free_pages = n;
	return &s->a;
}
