// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm: an index of free runs (include/fnmm_runs.h).
 *
 * A bitmap of units, 1 = free, and over its 64-unit words a complete
 * binary tree whose every node sums up the units below it: the free
 * units at its start (pre) and at its end (suf), its longest free run
 * (best), and the order of its largest fully free block aligned to that
 * block's size.  Two children give their parent in O(1) (a run across
 * them is the left one's suf plus the right one's pre), a word gives its
 * leaf in O(log 64) with shifts and masks, so:
 *
 *   fnmm_runs_set()         O(n / 64) for the words of the range.  A range
 *                           within FNMM_RUNS_DIRTY words only notes their
 *                           leaves as dirty; the next query (or a full
 *                           list) brings the dirty leaves and their
 *                           ancestors up to date a level at a time, each
 *                           shared ancestor once, up to the first level
 *                           where none changed: O(8 log words) at most.
 *                           So an allocate/release pair on the same words
 *                           costs one leaf when the next query comes, not
 *                           two walks up the tree.  A wider
 *                           range is brought up to date at once, level by
 *                           level: O(n / 64 + log words)
 *   fnmm_runs_longest()     O(1) after the dirty leaves: the root's best
 *   fnmm_runs_find()        O(log words): the lowest start of a free run
 *                           of n (first fit), by one descent: left child
 *                           if its best holds n, else the run across the
 *                           two children if it does, else the right child
 *   fnmm_runs_find_block()  O(log words): the lowest free block of 2^k
 *                           units aligned to 2^k, by the same descent on
 *                           the order field
 *   fnmm_runs_check()       O(words): recompute every node; debug only
 *
 * Every query is then O(FNMM_RUNS_DIRTY x log words) at worst.
 *
 * Memory: one bit per unit and 16 bytes per word in the tree (2 × 16 per
 * power-of-two-rounded word) and a dirty bit per word, i.e. about 0.375
 * bytes per unit at most: 384 KiB for the 2^20 pages of a 4 GiB region.
 *
 * The index does no locking: every call on one index is serialized by
 * its owner (Split's or Bit's lock).
 */
#include <linux/bitops.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include "fnmm_runs.h"

#define RUNS_WORD	64U

/* Bit p of pow[k]: units p .. p + 2^k - 1 of the word are all free. */
static void runs_powers(u64 w, u64 pow[7])
{
	int k;

	pow[0] = w;
	for (k = 1; k < 7; k++)
		pow[k] = pow[k - 1] & (pow[k - 1] >> (1U << (k - 1)));
}

/* Positions that are a multiple of 2^k, k = 0..6. */
static const u64 runs_aligned[7] = {
	~0ULL, 0x5555555555555555ULL, 0x1111111111111111ULL,
	0x0101010101010101ULL, 0x0001000100010001ULL,
	0x0000000100000001ULL, 1ULL,
};

/* Bit p: the 2^k units from p, p a multiple of 2^k, are all free. */
static u64 runs_blocks(u64 w, unsigned int k)
{
	unsigned int j;

	for (j = 1; j <= k && w; j++)
		w = w & (w >> (1U << (j - 1))) & runs_aligned[j];
	return w;
}

/* Bit p: the @n units from p (1 <= n <= 64) are all free. */
static u64 runs_starts(u64 w, unsigned int n)
{
	u64 pow[7], cur = ~0ULL;
	unsigned int k, len = 0;

	runs_powers(w, pow);
	for (k = 0; k < 7; k++)
		if (n & (1U << k)) {
			cur &= pow[k] >> len;
			len += 1U << k;
		}
	return cur;
}

static u32 runs_ffs(u64 w)
{
	return __ffs64(w);
}

static void runs_leaf(u64 w, struct fnmm_run_node *nd)
{
	u64 pow[7], cur;
	unsigned int k, len;

	if (!w || w == ~0ULL) {
		u32 v = w ? RUNS_WORD : 0;

		*nd = (struct fnmm_run_node){ v, v, v, w ? 7 : 0 };
		return;
	}
	nd->pre = runs_ffs(~w);
	nd->suf = RUNS_WORD - fls64(~w);
	/* The longest run: the largest len with a start, by halving steps. */
	runs_powers(w, pow);
	cur = w;
	len = 1;
	for (k = 6; k-- > 0;) {
		u64 c = cur & (pow[k] >> len);

		if (c) {
			cur = c;
			len += 1U << k;
		}
	}
	nd->best = len;
	/* The largest aligned block: pair up aligned blocks while any is left. */
	for (k = 1, cur = w; k < 7; k++) {
		cur &= (cur >> (1U << (k - 1))) & runs_aligned[k];
		if (!cur)
			break;
	}
	nd->order = k;
}

/* Node @j from its children, each of 2^@co units, into @nd. */
static __always_inline void runs_inner(const struct fnmm_runs *r, u32 j,
				       unsigned int co,
		       struct fnmm_run_node *nd)
{
	const struct fnmm_run_node *l = &r->node[2 * j], *g = &r->node[2 * j + 1];
	u32 cs = 1U << co;

	nd->pre = l->pre == cs ? cs + g->pre : l->pre;
	nd->suf = g->suf == cs ? cs + l->suf : g->suf;
	nd->best = max3(l->best, g->best, l->suf + g->pre);
	if (l->pre == cs && g->pre == cs)
		nd->order = co + 2;
	else
		nd->order = max(l->order, g->order);
}

static bool runs_same(const struct fnmm_run_node *a,
		      const struct fnmm_run_node *b)
{
	return a->pre == b->pre && a->suf == b->suf && a->best == b->best &&
	       a->order == b->order;
}

/*
 * Recompute node @j in place; false if nothing changed.  Field by field:
 * a copy of a whole node just built on the stack stalls store forwarding.
 */
static bool runs_update(struct fnmm_runs *r, u32 j, unsigned int co)
{
	struct fnmm_run_node nd, *o = &r->node[j];

	runs_inner(r, j, co, &nd);
	if (runs_same(&nd, o))
		return false;
	o->pre = nd.pre;
	o->suf = nd.suf;
	o->best = nd.best;
	o->order = nd.order;
	return true;
}

/**
 * fnmm_runs_init() - create an index with every unit in use
 * @r: the index to fill in
 * @nunits: units, 1 to U32_MAX - 1
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int fnmm_runs_init(struct fnmm_runs *r, u32 nunits)
{
	u32 words = DIV_ROUND_UP(nunits, RUNS_WORD);

	if (!nunits || nunits == U32_MAX)
		return -EINVAL;
	r->nunits = nunits;
	r->ndirty = 0;
	r->nleaves = roundup_pow_of_two(words);
	r->word = kvcalloc(r->nleaves, sizeof(*r->word), GFP_KERNEL);
	r->node = kvcalloc(2 * (size_t)r->nleaves, sizeof(*r->node),
			   GFP_KERNEL);
	r->isdirty = kvcalloc(BITS_TO_LONGS(r->nleaves), sizeof(long),
			      GFP_KERNEL);
	if (!r->word || !r->node || !r->isdirty) {
		fnmm_runs_fini(r);
		return -ENOMEM;
	}
	return 0;
}

/**
 * fnmm_runs_fini() - free an index's memory
 * @r: the index
 */
void fnmm_runs_fini(struct fnmm_runs *r)
{
	kvfree(r->word);
	kvfree(r->node);
	kvfree(r->isdirty);
	r->word = NULL;
	r->node = NULL;
	r->isdirty = NULL;
}

/* Bring every dirty leaf and its ancestors up to date. */
static void runs_flush(struct fnmm_runs *r)
{
	unsigned int co = ilog2(RUNS_WORD);
	u32 cur[FNMM_RUNS_DIRTY], n = 0, m, k, j;

	/* The leaves in order, so that their ancestors stay in order. */
	for (k = 1; k < r->ndirty; k++)
		for (j = k; j && r->dirty[j - 1] > r->dirty[j]; j--)
			swap(r->dirty[j - 1], r->dirty[j]);
	for (k = 0; k < r->ndirty; k++) {
		u32 w = r->dirty[k];
		struct fnmm_run_node nd, *o = &r->node[r->nleaves + w];

		__clear_bit(w, r->isdirty);
		runs_leaf(r->word[w], &nd);
		if (runs_same(&nd, o))
			continue;
		*o = nd;
		cur[n++] = (r->nleaves + w) / 2;
	}
	r->ndirty = 0;
	/* A level at a time, each shared ancestor once, up while any changed. */
	for (; n; co++) {
		for (k = 0, m = 0; k < n; k++) {
			if (k && cur[k] == cur[k - 1])
				continue;
			if (runs_update(r, cur[k], co) && cur[k] > 1)
				cur[m++] = cur[k] / 2;
		}
		n = m;
	}
}

/* Note leaf @w as dirty, flushing the list when it is full. */
static void runs_dirty(struct fnmm_runs *r, u32 w)
{
	if (test_bit(w, r->isdirty))
		return;
	if (r->ndirty == FNMM_RUNS_DIRTY)
		runs_flush(r);
	__set_bit(w, r->isdirty);
	r->dirty[r->ndirty++] = w;
}

/**
 * fnmm_runs_set() - mark units free or in use
 * @r: the index
 * @i: first unit
 * @n: units, at least 1, with @i + @n at most @r->nunits
 * @free: true to mark them free, false in use
 */
void fnmm_runs_set(struct fnmm_runs *r, u32 i, u32 n, bool free)
{
	u32 lo = i / RUNS_WORD, hi = (i + n - 1) / RUNS_WORD, w;
	unsigned int co = ilog2(RUNS_WORD);

	for (w = lo; w <= hi; w++) {
		u32 a = w == lo ? i % RUNS_WORD : 0;
		u32 b = w == hi ? (i + n - 1) % RUNS_WORD : RUNS_WORD - 1;
		u64 mask = (~0ULL >> (RUNS_WORD - 1 - b)) & (~0ULL << a);

		if (free)
			r->word[w] |= mask;
		else
			r->word[w] &= ~mask;
		if (hi - lo < FNMM_RUNS_DIRTY)
			runs_dirty(r, w);
		else
			runs_leaf(r->word[w], &r->node[r->nleaves + w]);
	}
	if (hi - lo < FNMM_RUNS_DIRTY)
		return;
	/* Each level of ancestors, up to the first where none changed. */
	for (lo += r->nleaves, hi += r->nleaves; lo > 1; co++) {
		bool changed = false;

		for (lo /= 2, hi /= 2, w = lo; w <= hi; w++)
			changed |= runs_update(r, w, co);
		if (!changed)
			break;
	}
}

/**
 * fnmm_runs_find() - the lowest start of @n free units in a row
 * @r: the index
 * @n: units wanted, at least 1
 *
 * The result is the start of a maximal free run (the unit before it is
 * in use or there is none).
 *
 * Return: the first unit, or FNMM_RUNS_NONE if no run is that long.
 */
u32 fnmm_runs_find(struct fnmm_runs *r, u64 n)
{
	u64 size = (u64)r->nleaves * RUNS_WORD, start = 0;
	u32 j = 1;

	runs_flush(r);
	if (!n || n > r->node[1].best)
		return FNMM_RUNS_NONE;
	while (j < r->nleaves) {
		const struct fnmm_run_node *l = &r->node[2 * j];

		size /= 2;
		if (l->best >= n) {
			j = 2 * j;
			continue;
		}
		/* The first run across the two children: the left one's end. */
		if ((u64)l->suf + r->node[2 * j + 1].pre >= n)
			return start + size - l->suf;
		j = 2 * j + 1;
		start += size;
	}
	return start + runs_ffs(runs_starts(r->word[j - r->nleaves], n));
}

/**
 * fnmm_runs_find_block() - the lowest free aligned block of 2^@order units
 * @r: the index
 * @order: log2 of the block's units; the block starts at a multiple of
 *	2^@order (counting from unit 0)
 *
 * Return: the first unit, or FNMM_RUNS_NONE if no such block is free.
 */
u32 fnmm_runs_find_block(struct fnmm_runs *r, unsigned int order)
{
	u64 size = (u64)r->nleaves * RUNS_WORD, start = 0;
	u32 j = 1;

	runs_flush(r);
	if (order >= 32 || r->node[1].order <= order)
		return FNMM_RUNS_NONE;
	for (;;) {
		if (r->node[j].pre == size)
			return start;
		if (j >= r->nleaves)
			break;
		size /= 2;
		if (r->node[2 * j].order > order) {
			j = 2 * j;
		} else {
			j = 2 * j + 1;
			start += size;
		}
	}
	return start + runs_ffs(runs_blocks(r->word[j - r->nleaves], order));
}

/**
 * fnmm_runs_find_aligned() - where @n free units aligned to 2^@ao go
 * @r: the index
 * @n: units wanted, at least 1
 * @ao: log2 of the alignment in units (0: none)
 * @start: out: a unit at or below the result from which every unit up to
 *	it is free (the start of its free run, or the result itself)
 *
 * The rule include/fnmm_alloc.h gives Split and Bit, as vm_unmapped_area()
 * serves an alignment: the lower of the first run of @n + 2^@ao - 1 units
 * (rounded up to the alignment) and the first free block of
 * max(order_base_2(@n), @ao) aligned to its size.  O(log words).
 *
 * Return: the first unit, or FNMM_RUNS_NONE if neither exists.
 */
u32 fnmm_runs_find_aligned(struct fnmm_runs *r, u64 n, unsigned int ao,
			   u32 *start)
{
	u32 a = 1U << ao, p, at, q;

	/* The start of a maximal free run: the unit before it is not free. */
	p = fnmm_runs_find(r, n + a - 1);
	*start = p;
	at = p == FNMM_RUNS_NONE ? p : round_up(p, a);
	if (!ao)
		return at;
	/*
	 * The first free block aligned to its size: no free block can start
	 * below it and hold it, so it starts a block itself.
	 */
	q = fnmm_runs_find_block(r, max_t(unsigned int, order_base_2(n), ao));
	if (q < at)
		*start = at = q;
	return at;
}

/**
 * fnmm_runs_longest() - units in the longest free run
 * @r: the index
 */
u32 fnmm_runs_longest(struct fnmm_runs *r)
{
	runs_flush(r);
	return r->node[1].best;
}

/**
 * fnmm_runs_check() - recompute the whole tree and compare
 * @r: the index
 *
 * Return: 0, or -EUCLEAN if a node disagrees with the words below it or
 * a unit at or above @r->nunits is free.
 */
int fnmm_runs_check(struct fnmm_runs *r)
{
	unsigned int co = ilog2(RUNS_WORD);
	struct fnmm_run_node nd;
	u32 j, lo;

	if (r->ndirty > FNMM_RUNS_DIRTY)
		return -EUCLEAN;
	runs_flush(r);
	for (j = 0; j < r->nleaves; j++) {
		u64 w = r->word[j];

		if ((u64)j * RUNS_WORD >= r->nunits ? w :
		    r->nunits - (u64)j * RUNS_WORD < RUNS_WORD &&
		    w >> (r->nunits - j * RUNS_WORD))
			return -EUCLEAN;
		runs_leaf(w, &nd);
		if (!runs_same(&nd, &r->node[r->nleaves + j]))
			return -EUCLEAN;
	}
	for (lo = r->nleaves / 2; lo; lo /= 2, co++)
		for (j = lo; j < 2 * lo; j++) {
			runs_inner(r, j, co, &nd);
			if (!runs_same(&nd, &r->node[j]))
				return -EUCLEAN;
		}
	return 0;
}
