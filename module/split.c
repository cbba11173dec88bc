// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: the Split allocator.
 *
 * FreeNOS's SplitAllocator hands out pages from a bitmap; this one is a
 * real splitting and coalescing (buddy) allocator over a page-aligned
 * range.  Free memory is kept as power-of-two blocks of pages on one list
 * per order, always coalesced with free buddies, and as an index of free
 * pages (module/runs.c) that finds the first run of n free pages by
 * address, or the first free aligned block, in O(log pages).  A request
 * of n pages holds exactly n pages.
 *
 * Placement:
 *  - An unaligned request takes the first run of n free pages by address
 *    (first fit, as genalloc places: the free space stays together at the
 *    top, and a buddy boundary never makes a request fail that the free
 *    space could hold); the blocks it overlaps are taken off their lists
 *    and the ends given back as maximal blocks, O(max order).
 *  - An aligned request, and a magazine's refill, takes the smallest free
 *    block aligned enough (found in O(1) through a bitmap of non-empty
 *    orders), splitting it down; else the first fitting run.
 *  - Blocks of orders 0..SPLIT_MAG_ORDERS-1 go through per-CPU
 *    magazines, as the page allocator's per-CPU lists do: a block released
 *    whole goes on its CPU's magazine for its order, uncoalesced, and a
 *    request of that order takes one from there; a magazine is refilled
 *    from the buddy lists and flushed back to them SPLIT_MAG_BATCH blocks
 *    at a time, under the Split lock.  So the common small pair takes
 *    only its CPU's magazine lock, and CPUs do not share a cache line.
 *
 * Blocks in magazines stay allocated as far as the buddy lists and the
 * index know (they cannot coalesce or be taken by a run).  The head
 * descriptor's list link, unused while allocated, tells a caller's
 * allocation (SPLIT_LIVE, set with release ordering) from a block in a
 * magazine: a release claims it with one cmpxchg, without the Split lock,
 * and a double release gets -ENOENT.  A carve claims it too
 * (SPLIT_CUTTING) for the few stores of the cut, and a release waits
 * that out.  Each block's mark is in its own
 * descriptor, so two CPUs working on their own blocks share no word.
 * available() counts magazine blocks as free, and sums the buddy lists'
 * and the magazines' counts between two moves from one to the other (a
 * seqcount, written under the Split lock by refills and flushes).  A request the buddy
 * lists and the index cannot serve drains every CPU's magazines
 * and tries again, and largest() drains them before it reads the index,
 * so neither ever reports less than the free space holds; draining is
 * bounded (CPUs x SPLIT_MAG_ORDERS x SPLIT_MAG_DEPTH blocks).
 * fnmm_longest() reads the index without draining.
 *
 * Made with FNMM_NO_PERCPU (module parameter percpu=0) a Split has no
 * magazines: every request, aligned or not, takes the index's rule under
 * the Split lock, so placement is a function of the free pages alone
 * (the magazines' LIFO reuse and held-back blocks move the fragmentation
 * trace's outcome both ways, seed by seed: kunit/bench.c).
 *
 * An alignment above a page is honoured as the kernel's vm_unmapped_area()
 * honours one (it asks for length + alignment - 1): from a buddy block of
 * order max(order of the request, order of the alignment), else from the
 * first run of n + a - 1 pages (a = the alignment in pages), else from the
 * first free aligned block of that order the index shows (one above
 * max_order).  A request that fits only in a shorter run at a lucky
 * alignment gets -ENOMEM: this is what keeps it O(log pages).
 *
 * Cost (n = pages of the request):
 *   allocate  orders 0..3: O(1) under the CPU's magazine lock; a refill
 *             takes SPLIT_MAG_BATCH blocks under the Split lock.  Else,
 *             under the Split lock, O(log pages) to find the first fit
 *             (the index's dirty leaves brought up first, at most 8
 *             walks to the root), O(max order) to take its blocks off
 *             their lists, O(n / 64) to mark the pages in the index
 *   release   O(1) onto a magazine (a flush: SPLIT_MAG_BATCH blocks under
 *             the Split lock); else O(max order) coalescing +
 *             O(n / 64 + log pages) in the index
 *   refusal   O(log pages), then one drain and O(log pages) again
 *   largest   a drain, then O(1); available O(CPUs); alloc_size O(1)
 *             without a lock; carve O(1)
 *   check, occupancy  O(pages): debug and debugfs only
 *
 * Lock order: a CPU's magazine lock, then the Split lock.
 *
 * Metadata is one small descriptor per page, outside the managed memory.
 * Block indices count from the range's base rounded down to the largest
 * block size, so index alignment is physical alignment; the pages before
 * the base exist only as never-free padding.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "fnmm_alloc.h"
#include "fnmm_runs.h"

#define SPLIT_NIL	U32_MAX
#define SPLIT_LIVE	(U32_MAX - 1)	/* next of a caller's allocation */
#define SPLIT_CUTTING	(U32_MAX - 2)	/* next while carve() cuts it */

enum split_state {
	SPLIT_NONE = 0,	/* inside a block, or padding */
	SPLIT_FREE,	/* head of a free block of 2^order pages */
	SPLIT_ALLOC,	/* head of npages pages: an allocation or in a magazine */
};

#define SPLIT_MAG_ORDERS	4	/* orders that go through magazines */
#define SPLIT_MAG_DEPTH		16	/* blocks per order per CPU */
#define SPLIT_MAG_BATCH		8	/* blocks per refill or flush */

/* A CPU's blocks of orders 0..SPLIT_MAG_ORDERS-1, each a LIFO. */
struct split_mag {
	spinlock_t lock;	/* protects n[], slot[], pages */
	unsigned int n[SPLIT_MAG_ORDERS];
	u32 slot[SPLIT_MAG_ORDERS][SPLIT_MAG_DEPTH];
	unsigned long pages;	/* pages in slot[] */
};

/*
 * Per-page descriptor.  Only heads carry meaning: a free head is linked on
 * its order's list; an allocated head records the pages it holds, and its
 * next is SPLIT_LIVE while a caller holds it (SPLIT_NIL on a magazine).
 * Every other page is SPLIT_NONE.
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
	/* protects pages[], runs, head[], nonempty, nfree[], free_pages, nallocs */
	spinlock_t lock;
	struct split_page *pages;
	struct fnmm_runs runs;	/* free pages by index */
	struct split_mag __percpu *mag;
	u64 abase;		/* address of page index 0 */
	u32 npages;		/* indices in pages[], padding included */
	u32 first;		/* index of the first managed page */
	unsigned int max_order;
	bool percpu;		/* magazines in use (not FNMM_NO_PERCPU) */
	unsigned long nonempty;	/* bit k: head[k] is not empty */
	u32 head[FNMM_SPLIT_MAX_ORDER + 1];
	unsigned long nfree[FNMM_SPLIT_MAX_ORDER + 1];
	u64 free_pages;		/* on the buddy lists (not in magazines) */
	u64 nallocs;		/* heads of allocations, magazine blocks included */
	/*
	 * Written (under the Split lock) around every move of blocks between
	 * the buddy lists and a magazine, so that available() sums
	 * free_pages and the magazines' pages at one instant.
	 */
	seqcount_spinlock_t moving;
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

/*
 * Take [at, at + n) out of the run of free blocks whose heads follow one
 * another from @start.
 */
static void split_take_run(struct fnmm_split *s, u32 start, u32 at, u32 n)
{
	u32 i = start, end = at + n, lo = 0, lo_len = 0, hi_len = 0;

	/* First unlink every block that overlaps, then give back the ends. */
	while (i < end) {
		unsigned int order = s->pages[i].order;
		u32 len = 1U << order;

		if (i + len > at) {
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

/*
 * The Split lock held: take @npages pages (@order: order_base_2(@npages)
 * or the alignment's order @ao if larger), mark them an allocation (not
 * live yet) and return the first index, or SPLIT_NIL.
 */
static u32 split_take(struct fnmm_split *s, u64 npages, unsigned int order,
		      unsigned int ao, bool buddy)
{
	u32 i, start;
	u32 k = split_free_order(s, order);

	/*
	 * Unaligned: first fit by address, as genalloc places (the free
	 * space stays in one piece at the top).  Aligned, or @buddy (a
	 * magazine's refill): the smallest buddy block that is aligned
	 * enough, else the first run that holds it.  Without magazines
	 * (FNMM_NO_PERCPU) every request takes the index's rule, so where
	 * it goes depends on which pages are free, not on the lists' order.
	 */
	if ((!ao && !buddy) || !s->percpu || k > s->max_order) {
		/* @start: the run's first head; blocks follow up to @i + n. */
		i = fnmm_runs_find_aligned(&s->runs, npages, ao, &start);
		if (i == FNMM_RUNS_NONE)
			return SPLIT_NIL;
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
	s->pages[i].next = SPLIT_NIL;		/* not live yet */
	WRITE_ONCE(s->pages[i].npages, npages);
	fnmm_runs_set(&s->runs, i, npages, false);
	s->free_pages -= npages;
	s->nallocs++;
	return i;
}

/* The Split lock held: give the block or allocation at @i back. */
static void split_put(struct fnmm_split *s, u32 i)
{
	u32 n = s->pages[i].npages;

	s->pages[i].state = SPLIT_NONE;
	split_free_range(s, i, n);
	fnmm_runs_set(&s->runs, i, n, true);
	s->free_pages += n;
	s->nallocs--;
}

/*
 * Give the oldest SPLIT_MAG_BATCH blocks of order @k on magazine @m back
 * (all of them with @all); the magazine's lock held, takes the Split lock.
 */
static void split_mag_flush(struct fnmm_split *s, struct split_mag *m,
			    unsigned int k, bool all)
{
	unsigned int j, nb = all ? m->n[k] :
			 min_t(unsigned int, m->n[k], SPLIT_MAG_BATCH);

	if (!nb)
		return;
	spin_lock(&s->lock);
	write_seqcount_begin(&s->moving);
	WRITE_ONCE(m->pages, m->pages - ((unsigned long)nb << k));
	for (j = 0; j < nb; j++)
		split_put(s, m->slot[k][j]);
	write_seqcount_end(&s->moving);
	spin_unlock(&s->lock);
	m->n[k] -= nb;
	memmove(m->slot[k], m->slot[k] + nb, m->n[k] * sizeof(m->slot[k][0]));
}

/* Give every block on every CPU's magazines back to the buddy lists. */
static bool split_drain_all(struct fnmm_split *s)
{
	bool any = false;
	unsigned int k;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct split_mag *m = per_cpu_ptr(s->mag, cpu);

		if (!READ_ONCE(m->pages))
			continue;
		spin_lock(&m->lock);
		for (k = 0; k < SPLIT_MAG_ORDERS; k++) {
			any |= m->n[k];
			split_mag_flush(s, m, k, true);
		}
		spin_unlock(&m->lock);
	}
	return any;
}

/*
 * A block of order @k from this CPU's magazine, refilled from the buddy
 * lists when empty: its index, or SPLIT_NIL if none is to be had so.
 */
static u32 split_mag_alloc(struct fnmm_split *s, unsigned int k)
{
	struct split_mag *m = raw_cpu_ptr(s->mag);
	u32 i = SPLIT_NIL;

	spin_lock(&m->lock);
	if (!m->n[k]) {
		unsigned int j;

		spin_lock(&s->lock);
		write_seqcount_begin(&s->moving);
		while (m->n[k] < SPLIT_MAG_BATCH &&
		       split_free_order(s, k) <= s->max_order) {
			m->slot[k][m->n[k]++] = split_take(s, 1U << k, k, 0,
							   true);
			WRITE_ONCE(m->pages, m->pages + (1UL << k));
		}
		write_seqcount_end(&s->moving);
		spin_unlock(&s->lock);
		/* The first taken (the buddy lists' pick) is handed out first. */
		for (j = 0; j < m->n[k] / 2; j++)
			swap(m->slot[k][j], m->slot[k][m->n[k] - 1 - j]);
	}
	if (m->n[k]) {
		i = m->slot[k][--m->n[k]];
		WRITE_ONCE(m->pages, m->pages - (1UL << k));
	}
	spin_unlock(&m->lock);
	return i;
}

static int split_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_split *s = to_split(a);
	u64 npages = DIV_ROUND_UP_ULL(range->size, PAGE_SIZE);
	unsigned int order = order_base_2(npages), ao = 0;
	u32 i = SPLIT_NIL;

	if (range->alignment > PAGE_SIZE) {
		ao = ilog2(range->alignment) - PAGE_SHIFT;
		if (ao > s->max_order)
			return -EINVAL;
	}
	if (npages > s->npages - s->first)
		return -E2BIG;

	/* A whole small block: from this CPU's magazine. */
	if (s->percpu && order < SPLIT_MAG_ORDERS && npages == 1U << order &&
	    ao <= order && order <= s->max_order)
		i = split_mag_alloc(s, order);
	if (i == SPLIT_NIL) {
		order = max(order, ao);
		spin_lock(&s->lock);
		i = split_take(s, npages, order, ao, false);
		spin_unlock(&s->lock);
	}
	/* Blocks held by magazines might make room: drain, try once more. */
	if (i == SPLIT_NIL && split_drain_all(s)) {
		spin_lock(&s->lock);
		i = split_take(s, npages, order, ao, false);
		spin_unlock(&s->lock);
	}
	if (i == SPLIT_NIL)
		return -ENOMEM;
	/* npages before the mark: a release or alloc_size reads it after. */
	smp_store_release(&s->pages[i].next, SPLIT_LIVE);
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

/*
 * Change the mark of the allocation at @i from SPLIT_LIVE to @to; false
 * if it is not live.  A carve() cutting it holds it SPLIT_CUTTING for a
 * few stores under the Split lock: wait that out, so that the caller
 * reads npages as the cut left it.
 */
static bool split_claim(struct fnmm_split *s, u32 i, u32 to)
{
	u32 old;

	while ((old = cmpxchg(&s->pages[i].next, SPLIT_LIVE, to)) ==
	       SPLIT_CUTTING)
		cpu_relax();
	return old == SPLIT_LIVE;
}

static int split_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	struct split_mag *m;
	unsigned int k;
	u32 n;

	if (i < 0)
		return i;
	/* Only the first release of a live allocation claims it. */
	if (!split_claim(s, i, SPLIT_NIL))
		return -ENOENT;
	n = READ_ONCE(s->pages[i].npages);
	k = ilog2(n);
	if (!s->percpu || !is_power_of_2(n) || k >= SPLIT_MAG_ORDERS ||
	    k > s->max_order || i & (n - 1)) {
		spin_lock(&s->lock);
		split_put(s, i);
		spin_unlock(&s->lock);
		return 0;
	}
	/* Kept whole on this CPU's magazine for the next request of its size. */
	m = raw_cpu_ptr(s->mag);
	spin_lock(&m->lock);
	if (m->n[k] == SPLIT_MAG_DEPTH)
		split_mag_flush(s, m, k, false);
	m->slot[k][m->n[k]++] = i;
	WRITE_ONCE(m->pages, m->pages + n);
	spin_unlock(&m->lock);
	return 0;
}

/*
 * Cut the allocation at @addr in two; offset checked by fnmm_carve().
 * The allocation is claimed (SPLIT_CUTTING) while it is cut, so that a
 * release on another CPU reads its npages before the cut or after it,
 * never a head's npages that the cut is changing.
 */
static int split_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	u64 off = offset >> PAGE_SHIFT;
	int ret = 0;

	if (i < 0)
		return i;
	spin_lock(&s->lock);
	if (!split_claim(s, i, SPLIT_CUTTING)) {
		ret = -ENOENT;
	} else {
		if (off >= s->pages[i].npages) {
			ret = -EINVAL;
		} else {
			s->pages[i + off].state = SPLIT_ALLOC;
			WRITE_ONCE(s->pages[i + off].npages,
				   s->pages[i].npages - off);
			WRITE_ONCE(s->pages[i].npages, off);
			s->nallocs++;
			/* The new head's npages before its mark. */
			smp_store_release(&s->pages[i + off].next, SPLIT_LIVE);
		}
		/* Live again, npages cut: a waiting release reads the new. */
		smp_store_release(&s->pages[i].next, SPLIT_LIVE);
	}
	spin_unlock(&s->lock);
	return ret;
}

/*
 * Free pages: on the buddy lists and in every CPU's magazines, summed
 * between two moves of blocks from one to the other (at most
 * SPLIT_AVAIL_TRIES tries; then the sum is only kept within the range).
 */
#define SPLIT_AVAIL_TRIES	16

static u64 split_available(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);
	unsigned int seq, tries = 0;
	u64 n;
	int cpu;

	do {
		seq = read_seqcount_begin(&s->moving);
		n = READ_ONCE(s->free_pages);
		for_each_possible_cpu(cpu)
			n += READ_ONCE(per_cpu_ptr(s->mag, cpu)->pages);
	} while (read_seqcount_retry(&s->moving, seq) &&
		 ++tries < SPLIT_AVAIL_TRIES);
	return min_t(u64, n << PAGE_SHIFT, a->size);
}

/* The longest run of free pages, magazines not drained. */
static u64 split_longest(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);
	u64 ret;

	spin_lock(&s->lock);
	ret = (u64)fnmm_runs_longest(&s->runs) << PAGE_SHIFT;
	spin_unlock(&s->lock);
	return ret;
}

/* The longest run of free pages, magazines drained: what a request gets. */
static u64 split_largest(struct fnmm_allocator *a)
{
	split_drain_all(to_split(a));
	return split_longest(a);
}

static u64 split_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_split *s = to_split(a);
	long i = split_index(s, addr);
	u32 mark;

	if (i < 0)
		return 0;
	/* The mark, then npages (paired with the allocation's release). */
	while ((mark = smp_load_acquire(&s->pages[i].next)) == SPLIT_CUTTING)
		cpu_relax();
	if (mark != SPLIT_LIVE)
		return 0;
	return (u64)READ_ONCE(s->pages[i].npages) << PAGE_SHIFT;
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
 * Blocks on the per-CPU magazines are not counted (see
 * fnmm_split_drain()).
 */
unsigned long fnmm_split_free_blocks(struct fnmm_allocator *a,
				     unsigned int order)
{
	struct fnmm_split *s = to_split(a);

	return order <= s->max_order ? READ_ONCE(s->nfree[order]) : 0;
}

/**
 * fnmm_split_drain() - give the blocks on every CPU's magazines back
 * @a: a Split allocator
 *
 * Afterwards every free page is on the buddy lists, merged with its free
 * buddies (what fnmm_split_free_blocks() then reports is final, until
 * the next small allocation or release refills a magazine).
 * O(CPUs x SPLIT_MAG_ORDERS x SPLIT_MAG_DEPTH) blocks.
 */
void fnmm_split_drain(struct fnmm_allocator *a)
{
	split_drain_all(to_split(a));
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

/* Each magazine holds whole, aligned, not-live blocks of its order. */
static bool split_mags_ok(struct fnmm_split *s)
{
	bool ok = true;
	unsigned int k, j;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct split_mag *m = per_cpu_ptr(s->mag, cpu);
		unsigned long pages = 0;

		spin_lock(&m->lock);
		spin_lock(&s->lock);
		for (k = 0; k < SPLIT_MAG_ORDERS; k++) {
			if (m->n[k] > SPLIT_MAG_DEPTH)
				ok = false;
			for (j = 0; ok && j < m->n[k]; j++) {
				u32 i = m->slot[k][j];

				if (i < s->first || i >= s->npages ||
				    i & ((1U << k) - 1) ||
				    s->pages[i].state != SPLIT_ALLOC ||
				    s->pages[i].npages != 1U << k ||
				    READ_ONCE(s->pages[i].next) == SPLIT_LIVE)
					ok = false;
				pages += 1UL << k;
			}
		}
		if (pages != m->pages)
			ok = false;
		spin_unlock(&s->lock);
		spin_unlock(&m->lock);
	}
	return ok;
}

/*
 * Everything the Split lock protects, and the magazines one at a time.
 * Magazines and live marks change without the Split lock, so only what
 * holds under concurrent use is checked: a live mark only on an
 * allocation's head.
 */
static int split_check(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);
	u64 free = 0, allocs = 0;
	int ret = -EUCLEAN;
	u32 i, j, len;

	if (!split_mags_ok(s))
		return -EUCLEAN;
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
		} else {
			goto out;	/* a page nobody accounts for */
		}
		if (!len || len > s->npages - i)
			goto out;
		for (j = 1; j < len; j++)
			if (s->pages[i + j].state != SPLIT_NONE ||
			    READ_ONCE(s->pages[i + j].next) == SPLIT_LIVE)
				goto out;
		/* The index has the block's pages free, the allocation's not. */
		for (j = 0; j < len; j++)
			if (fnmm_runs_free(&s->runs, i + j) ==
			    (p->state == SPLIT_ALLOC))
				goto out;
	}
	if (free == s->free_pages && allocs == s->nallocs && split_lists_ok(s))
		ret = 0;
out:
	spin_unlock(&s->lock);
	return ret;
}

static void split_destroy(struct fnmm_allocator *a)
{
	struct fnmm_split *s = to_split(a);

	fnmm_runs_fini(&s->runs);
	free_percpu(s->mag);
	kvfree(s->pages);
	kfree(s);
}

/* Callers' allocations; blocks on magazines are free to a caller. */
static void split_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_split *s = to_split(a);
	u32 i;

	spin_lock(&s->lock);
	for (i = s->first; i < s->npages; i += split_head_len(&s->pages[i]))
		if (s->pages[i].state == SPLIT_ALLOC &&
		    READ_ONCE(s->pages[i].next) == SPLIT_LIVE)
			bitmap_set(map, i - s->first, s->pages[i].npages);
	spin_unlock(&s->lock);
}

/* Set the pages on every CPU's magazines in @map; how many. */
static unsigned long split_cached(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_split *s = to_split(a);
	unsigned long n = 0;
	unsigned int k, j;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct split_mag *m = per_cpu_ptr(s->mag, cpu);

		spin_lock(&m->lock);
		for (k = 0; k < SPLIT_MAG_ORDERS; k++)
			for (j = 0; j < m->n[k]; j++) {
				bitmap_set(map, m->slot[k][j] - s->first, 1U << k);
				n += 1UL << k;
			}
		spin_unlock(&m->lock);
	}
	return n;
}

static const struct fnmm_alloc_ops split_ops = {
	.name		= "split",
	.allocate	= split_allocate,
	.release	= split_release,
	.available	= split_available,
	.largest	= split_largest,
	.longest	= split_longest,
	.alloc_size	= split_alloc_size,
	.carve		= split_carve,
	.check		= split_check,
	.occupancy	= split_occupancy,
	.cached		= split_cached,
	.destroy	= split_destroy,
};

/**
 * fnmm_split_create_flags() - create a Split allocator
 * @base: first address, page-aligned
 * @size: bytes, a non-zero multiple of the page size
 * @max_order: largest block is 2^@max_order pages; 0 picks the largest
 *	that fits the range (at most FNMM_SPLIT_MAX_ORDER)
 * @flags: 0 or FNMM_NO_PERCPU (no magazines: placement exactly first fit)
 *
 * fnmm_split_create() is this with @flags 0.
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for a bad range, order or
 * flag, ERR_PTR(-E2BIG) for a range too large to index, ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_split_create_flags(u64 base, u64 size,
					       unsigned int max_order,
					       unsigned int flags)
{
	struct fnmm_split *s;
	u64 n = size >> PAGE_SHIFT;
	u64 abase;
	unsigned int k;
	int cpu;

	if (!size || !PAGE_ALIGNED(base) || !PAGE_ALIGNED(size) ||
	    base + size < base || max_order > FNMM_SPLIT_MAX_ORDER ||
	    flags & ~FNMM_CREATE_FLAGS)
		return ERR_PTR(-EINVAL);
	if (!max_order)
		max_order = min_t(unsigned int, ilog2(n), FNMM_SPLIT_MAX_ORDER);
	abase = base & ~((PAGE_SIZE << max_order) - 1);
	if (n + ((base - abase) >> PAGE_SHIFT) >= SPLIT_CUTTING)
		return ERR_PTR(-E2BIG);

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->first = (base - abase) >> PAGE_SHIFT;
	s->npages = s->first + n;
	s->pages = kvcalloc(s->npages, sizeof(*s->pages), GFP_KERNEL);
	s->mag = alloc_percpu(struct split_mag);
	if (!s->pages || !s->mag || fnmm_runs_init(&s->runs, s->npages)) {
		free_percpu(s->mag);
		kvfree(s->pages);
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(s->mag, cpu)->lock);
	s->a.ops = &split_ops;
	s->a.base = base;
	s->a.size = size;
	s->a.granule = PAGE_SIZE;
	s->abase = abase;
	s->max_order = max_order;
	s->percpu = !(flags & FNMM_NO_PERCPU);
	for (k = 0; k <= max_order; k++)
		s->head[k] = SPLIT_NIL;
	spin_lock_init(&s->lock);
	seqcount_spinlock_init(&s->moving, &s->lock);
	split_free_range(s, s->first, n);
	fnmm_runs_set(&s->runs, s->first, n, true);
	s->free_pages = n;
	return &s->a;
}
