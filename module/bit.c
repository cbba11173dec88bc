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
 * Single chunks (no alignment) go through per-CPU magazines, as Split's
 * small blocks do: a chunk released goes on its CPU's magazine and a
 * request takes one from there, under that magazine's lock only.  An
 * empty magazine is refilled under the Bit lock with a free aligned block
 * of 2^BIT_MAG_BLOCK chunks if the index has one (one index update),
 * else with up to BIT_MAG_SINGLES first-fit
 * chunks; a full one gives its oldest BIT_MAG_FLUSH back.  Chunks on
 * magazines stay in use to the bitmaps and the index; a "live" bitmap,
 * changed only with atomic bit operations, tells a caller's allocation
 * from a chunk on a magazine, so a release is claimed without the Bit
 * lock and a double release gets -ENOENT (its bits are laid out so that
 * two CPUs' magazine blocks do not share a cache line: bit_live()); a
 * "single" bitmap (changed
 * under the Bit lock, atomically) marks 1-chunk allocations, so a
 * release knows its size without the lock.  As for Split, available()
 * counts magazine chunks as free, a request that cannot be served
 * drains every magazine and tries again, largest() drains first and
 * fnmm_longest() does not.
 *
 * Cost (n = chunks of the request):
 *   allocate  a single chunk: O(1) under the CPU's magazine lock (a
 *             refill: one index update, or up to BIT_MAG_SINGLES first
 *             fits).  Else, under the Bit lock, O(log chunks) to find
 *             the place, O(n / 64 + log chunks) to mark the chunks
 *   release   a single chunk: O(1) onto the magazine (a flush gives
 *             BIT_MAG_FLUSH back, O(log chunks) each); else
 *             O(n / 64 + log chunks)
 *   refusal   O(1) when fewer chunks are free than asked, else O(log
 *             chunks), then one drain and the same again
 *   largest   a drain, then O(1); available O(CPUs); alloc_size O(1) for
 *             a single chunk, else O(n / 64); carve O(n / 64)
 *   check     O(chunks): debug only; occupancy O(chunks / 64)
 *
 * Made with FNMM_NO_PERCPU (module parameter percpu=0) a Bit has no
 * magazines: a single chunk is placed first fit under the Bit lock, as
 * any other request.
 *
 * Lock order: a CPU's magazine lock, then the Bit lock.
 */
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

#define BIT_MAG_DEPTH	32	/* chunks per CPU */
#define BIT_MAG_FLUSH	8	/* chunks a full magazine gives back */
#define BIT_MAG_SINGLES	8	/* chunks per refill without a free block */
#define BIT_MAG_BLOCK	5	/* a refill's block: 2^5 chunks */

/* A CPU's free single chunks, a LIFO. */
struct bit_mag {
	spinlock_t lock;	/* protects slot[]; n is changed under it */
	unsigned int n;
	u32 slot[BIT_MAG_DEPTH];
};

struct fnmm_bit {
	struct fnmm_allocator a;
	/* protects used, start, changes of single, runs, nfree, nallocs */
	spinlock_t lock;
	unsigned long *used;	/* 1 = chunk in use (or on a magazine) */
	unsigned long *start;	/* 1 = chunk starts an allocation (or is on a magazine) */
	/* 1 = a caller's allocation starts here (at bit_live()); atomic */
	unsigned long *live;
	unsigned long *single;	/* 1 = a 1-chunk allocation (or on a magazine) */
	struct bit_mag __percpu *mag;
	struct fnmm_runs runs;	/* free chunks; unit = chunk + pad */
	unsigned long nchunks;
	unsigned long nfree;	/* not counting magazines */
	unsigned long pad;	/* units below chunk 0: never free */
	unsigned long nallocs;	/* magazine chunks included */
	bool percpu;		/* magazines in use (not FNMM_NO_PERCPU) */
	unsigned int shift;	/* log2(chunk size) */
	unsigned int live_shift;	/* log2(cache lines of live) */
	/*
	 * Written (under the Bit lock) around every move of chunks between
	 * the bitmaps and a magazine, so that available() sums nfree and
	 * the magazines' counts at one instant.
	 */
	seqcount_spinlock_t moving;
};

static inline struct fnmm_bit *to_bit(struct fnmm_allocator *a)
{
	return container_of(a, struct fnmm_bit, a);
}

/*
 * Where chunk @i's live bit is.  A CPU's magazine is refilled with an
 * aligned block of 2^BIT_MAG_BLOCK chunks, and two CPUs usually get
 * neighbouring blocks: with live bits in chunk order they would write
 * the same cache line on every allocate and release.  So blocks are
 * dealt round-robin over the live bitmap's 2^live_shift cache lines
 * (BIT_LIVE_LINE bits each), a block's bits together: neighbouring
 * blocks land on different lines.
 */
#define BIT_LIVE_LINE	512	/* bits in a 64-byte cache line */

static inline unsigned long bit_live(const struct fnmm_bit *b, unsigned long i)
{
	unsigned long u = i + b->pad, blk = u >> BIT_MAG_BLOCK;
	unsigned long lines = 1UL << b->live_shift;

	return (((blk & (lines - 1)) <<
		 (ilog2(BIT_LIVE_LINE) - BIT_MAG_BLOCK)) +
		(blk >> b->live_shift)) << BIT_MAG_BLOCK |
	       (u & ((1UL << BIT_MAG_BLOCK) - 1));
}

/* The Bit lock held: mark @n chunks at @i an allocation (not live yet). */
static void bit_take(struct fnmm_bit *b, unsigned long i, unsigned long n)
{
	bitmap_set(b->used, i, n);
	__set_bit(i, b->start);
	if (n == 1)
		set_bit(i, b->single);
	fnmm_runs_set(&b->runs, i + b->pad, n, false);
	b->nfree -= n;
	b->nallocs++;
}

/* The Bit lock held: give the @n chunks of the allocation at @i back. */
static void bit_put(struct fnmm_bit *b, unsigned long i, unsigned long n)
{
	__clear_bit(i, b->start);
	if (n == 1)
		clear_bit(i, b->single);
	bitmap_clear(b->used, i, n);
	fnmm_runs_set(&b->runs, i + b->pad, n, true);
	b->nfree += n;
	b->nallocs--;
}

/*
 * Chunks in the allocation starting at @i: up to the next start or free
 * chunk, both bitmaps read a word at a time, so O(its length / 64).  The
 * Bit lock held.
 */
static unsigned long bit_run(struct fnmm_bit *b, unsigned long i)
{
	unsigned long j = i + 1, w, word;

	while (j < b->nchunks) {
		w = j / BITS_PER_LONG;
		word = (b->start[w] | ~b->used[w]) &
		       (~0UL << (j % BITS_PER_LONG));
		if (word)
			return min(w * BITS_PER_LONG + __ffs(word),
				   b->nchunks) - i;
		j = (w + 1) * BITS_PER_LONG;
	}
	return b->nchunks - i;
}

/*
 * Give the oldest @nb chunks of magazine @m back; the magazine's lock
 * held, takes the Bit lock.
 */
static void bit_mag_flush(struct fnmm_bit *b, struct bit_mag *m,
			  unsigned int nb)
{
	u32 tmp[BIT_MAG_DEPTH];
	unsigned int j;

	if (!nb)
		return;
	memcpy(tmp, m->slot, nb * sizeof(tmp[0]));
	memmove(m->slot, m->slot + nb, (m->n - nb) * sizeof(tmp[0]));
	spin_lock(&b->lock);
	write_seqcount_begin(&b->moving);
	WRITE_ONCE(m->n, m->n - nb);
	for (j = 0; j < nb; j++)
		bit_put(b, tmp[j], 1);
	write_seqcount_end(&b->moving);
	spin_unlock(&b->lock);
}

/* Give every chunk on every CPU's magazine back. */
static bool bit_drain_all(struct fnmm_bit *b)
{
	bool any = false;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct bit_mag *m = per_cpu_ptr(b->mag, cpu);

		if (!READ_ONCE(m->n))
			continue;
		spin_lock(&m->lock);
		any |= m->n;
		bit_mag_flush(b, m, m->n);
		spin_unlock(&m->lock);
	}
	return any;
}

/* The magazine's and the Bit lock held: fill an empty magazine. */
static void bit_mag_refill(struct fnmm_bit *b, struct bit_mag *m)
{
	unsigned int n = 0, j;
	u32 u = FNMM_RUNS_NONE;

	if (b->nfree >= 1U << BIT_MAG_BLOCK)
		u = fnmm_runs_find_block(&b->runs, BIT_MAG_BLOCK);
	if (u != FNMM_RUNS_NONE) {
		unsigned long i = u - b->pad;

		/* A block of single chunks in one go, from the lowest. */
		n = 1U << BIT_MAG_BLOCK;
		bitmap_set(b->used, i, n);
		bitmap_set(b->start, i, n);
		for (j = 0; j < n; j++) {
			set_bit(i + j, b->single);
			m->slot[j] = i + n - 1 - j;
		}
		fnmm_runs_set(&b->runs, u, n, false);
		b->nfree -= n;
		b->nallocs += n;
	} else {
		while (n < BIT_MAG_SINGLES && b->nfree) {
			u = fnmm_runs_find(&b->runs, 1);
			bit_take(b, u - b->pad, 1);
			m->slot[n++] = u - b->pad;
		}
		for (j = 0; j < n / 2; j++)
			swap(m->slot[j], m->slot[n - 1 - j]);
	}
	WRITE_ONCE(m->n, n);
}

/* A chunk from this CPU's magazine, refilled if empty; or -1. */
static long bit_mag_alloc(struct fnmm_bit *b)
{
	struct bit_mag *m = raw_cpu_ptr(b->mag);
	long i = -1;

	spin_lock(&m->lock);
	if (!m->n) {
		spin_lock(&b->lock);
		write_seqcount_begin(&b->moving);
		bit_mag_refill(b, m);
		write_seqcount_end(&b->moving);
		spin_unlock(&b->lock);
	}
	if (m->n) {
		i = m->slot[m->n - 1];
		WRITE_ONCE(m->n, m->n - 1);
	}
	spin_unlock(&m->lock);
	return i;
}

/* The Bit lock taken: @n chunks at 2^@ao, or -1. */
static long bit_alloc_locked(struct fnmm_bit *b, unsigned long n,
			     unsigned int ao)
{
	long i = -1;
	u32 u, start;

	spin_lock(&b->lock);
	if (n <= b->nfree) {
		u = fnmm_runs_find_aligned(&b->runs, n, ao, &start);
		if (u != FNMM_RUNS_NONE) {
			i = u - b->pad;
			bit_take(b, i, n);
		}
	}
	spin_unlock(&b->lock);
	return i;
}

static int bit_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long n = DIV_ROUND_UP_ULL(range->size, a->granule);
	unsigned int ao = 0;
	long i = -1;

	if (range->alignment > a->granule) {
		if (range->alignment > a->size)
			return -EINVAL;
		ao = ilog2(range->alignment) - b->shift;
	}
	if (n == 1 && !ao && b->percpu)
		i = bit_mag_alloc(b);
	if (i < 0)
		i = bit_alloc_locked(b, n, ao);
	/* Chunks on magazines might make room: drain, try once more. */
	if (i < 0 && bit_drain_all(b))
		i = bit_alloc_locked(b, n, ao);
	if (i < 0)
		return -ENOMEM;
	/* The bitmaps set up before the live bit a release claims. */
	smp_mb__before_atomic();
	set_bit(bit_live(b, i), b->live);
	range->address = a->base + ((u64)i << b->shift);
	return 0;
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

static int bit_release(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	struct bit_mag *m;

	if (i < 0)
		return i;
	/* Only the first release of a live allocation claims it. */
	if (!test_and_clear_bit(bit_live(b, i), b->live))
		return -ENOENT;
	if (!b->percpu || !test_bit(i, b->single)) {
		spin_lock(&b->lock);
		bit_put(b, i, bit_run(b, i));
		spin_unlock(&b->lock);
		return 0;
	}
	m = raw_cpu_ptr(b->mag);
	spin_lock(&m->lock);
	if (m->n == BIT_MAG_DEPTH)
		bit_mag_flush(b, m, BIT_MAG_FLUSH);
	m->slot[m->n] = i;
	WRITE_ONCE(m->n, m->n + 1);
	spin_unlock(&m->lock);
	return 0;
}

/*
 * Free chunks: in the bitmaps and on every CPU's magazine, summed between
 * two moves of chunks from one to the other (at most BIT_AVAIL_TRIES
 * tries; then the sum is only kept within the range).
 */
#define BIT_AVAIL_TRIES	16

static u64 bit_available(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned int seq, tries = 0;
	u64 n;
	int cpu;

	do {
		seq = read_seqcount_begin(&b->moving);
		n = READ_ONCE(b->nfree);
		for_each_possible_cpu(cpu)
			n += READ_ONCE(per_cpu_ptr(b->mag, cpu)->n);
	} while (read_seqcount_retry(&b->moving, seq) &&
		 ++tries < BIT_AVAIL_TRIES);
	return min_t(u64, n << b->shift, a->size);
}

/* The longest run of free chunks, magazines not drained. */
static u64 bit_longest(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);
	u64 ret;

	spin_lock(&b->lock);
	ret = (u64)fnmm_runs_longest(&b->runs) << b->shift;
	spin_unlock(&b->lock);
	return ret;
}

/* The longest run of free chunks, magazines drained. */
static u64 bit_largest(struct fnmm_allocator *a)
{
	bit_drain_all(to_bit(a));
	return bit_longest(a);
}

static u64 bit_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	u64 ret = 0;

	if (i < 0 || !test_bit(bit_live(b, i), b->live))
		return 0;
	/* The live bit, then single (paired with allocate's and carve's). */
	smp_rmb();
	if (test_bit(i, b->single))
		return a->granule;
	spin_lock(&b->lock);
	if (test_bit(bit_live(b, i), b->live))
		ret = (u64)bit_run(b, i) << b->shift;
	spin_unlock(&b->lock);
	return ret;
}

/* Cut the allocation at @addr in two: one more start bit. */
static int bit_carve(struct fnmm_allocator *a, u64 addr, u64 offset)
{
	struct fnmm_bit *b = to_bit(a);
	long i = bit_index(b, addr);
	unsigned long off = offset >> b->shift, n;
	int ret = 0;

	if (i < 0)
		return i;
	spin_lock(&b->lock);
	if (!test_bit(bit_live(b, i), b->live)) {
		ret = -ENOENT;
	} else if (offset >= a->size || off >= bit_run(b, i)) {
		ret = -EINVAL;
	} else {
		n = bit_run(b, i);
		__set_bit(i + off, b->start);
		if (off == 1)
			set_bit(i, b->single);
		if (n - off == 1)
			set_bit(i + off, b->single);
		b->nallocs++;
		/* The start and single bits before the live bit. */
		smp_mb__before_atomic();
		set_bit(bit_live(b, i + off), b->live);
	}
	spin_unlock(&b->lock);
	return ret;
}

/* Each magazine holds single, not-live chunks, and says how many. */
static bool bit_mags_ok(struct fnmm_bit *b, unsigned long *cached)
{
	bool ok = true;
	unsigned int j;
	int cpu;

	*cached = 0;
	for_each_possible_cpu(cpu) {
		struct bit_mag *m = per_cpu_ptr(b->mag, cpu);

		spin_lock(&m->lock);
		spin_lock(&b->lock);
		if (m->n > BIT_MAG_DEPTH)
			ok = false;
		for (j = 0; ok && j < m->n; j++) {
			u32 i = m->slot[j];

			if (i >= b->nchunks || !test_bit(i, b->start) ||
			    !test_bit(i, b->single) ||
			    test_bit(bit_live(b, i), b->live) ||
			    bit_run(b, i) != 1)
				ok = false;
		}
		*cached += m->n;
		spin_unlock(&b->lock);
		spin_unlock(&m->lock);
	}
	return ok;
}

/*
 * Everything the Bit lock protects, and the magazines one at a time.
 * Live bits change without the Bit lock: only "a live bit only on an
 * allocation's start" is checked for them.
 */
static int bit_check(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long i, used, starts, cached;
	int ret = 0;

	if (!bit_mags_ok(b, &cached))
		return -EUCLEAN;
	spin_lock(&b->lock);
	used = bitmap_weight(b->used, b->nchunks);
	starts = bitmap_weight(b->start, b->nchunks);
	if (used + b->nfree != b->nchunks || starts != b->nallocs ||
	    !bitmap_subset(b->start, b->used, b->nchunks) ||
	    !bitmap_subset(b->single, b->start, b->nchunks) ||
	    fnmm_runs_check(&b->runs))
		ret = -EUCLEAN;
	/* The index has exactly the free chunks free, and no padding. */
	for (i = 0; !ret && i < b->pad; i++)
		if (fnmm_runs_free(&b->runs, i))
			ret = -EUCLEAN;
	for (i = 0; !ret && i < b->nchunks; i++)
		if (fnmm_runs_free(&b->runs, i + b->pad) == test_bit(i, b->used))
			ret = -EUCLEAN;
	/*
	 * Every run of used chunks begins with an allocation start, and an
	 * allocation is marked single exactly when it is one chunk.
	 */
	for (i = 0; !ret && i < b->nchunks; i++) {
		if (test_bit(i, b->used) && (!i || !test_bit(i - 1, b->used)) &&
		    !test_bit(i, b->start))
			ret = -EUCLEAN;
		if (test_bit(i, b->start) &&
		    test_bit(i, b->single) != (bit_run(b, i) == 1))
			ret = -EUCLEAN;
		/* live changes without the lock, but only on a start */
		if (test_bit(bit_live(b, i), b->live) && !test_bit(i, b->start))
			ret = -EUCLEAN;
	}
	spin_unlock(&b->lock);
	return ret;
}

static void bit_destroy(struct fnmm_allocator *a)
{
	struct fnmm_bit *b = to_bit(a);

	fnmm_runs_fini(&b->runs);
	free_percpu(b->mag);
	kvfree(b->used);
	kvfree(b->start);
	kvfree(b->live);
	kvfree(b->single);
	kfree(b);
}

/* Set the chunks on every CPU's magazine in @map; how many. */
static unsigned long bit_cached(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long n = 0;
	unsigned int j;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct bit_mag *m = per_cpu_ptr(b->mag, cpu);

		spin_lock(&m->lock);
		for (j = 0; j < m->n; j++)
			__set_bit(m->slot[j], map);
		n += m->n;
		spin_unlock(&m->lock);
	}
	return n;
}

/* Callers' allocations: chunks on magazines are free to a caller. */
static void bit_occupancy(struct fnmm_allocator *a, unsigned long *map)
{
	struct fnmm_bit *b = to_bit(a);
	unsigned long *mag = bitmap_zalloc(b->nchunks, GFP_KERNEL);

	if (mag)
		bit_cached(a, mag);
	spin_lock(&b->lock);
	bitmap_copy(map, b->used, b->nchunks);
	spin_unlock(&b->lock);
	if (mag)
		bitmap_andnot(map, map, mag, b->nchunks);
	bitmap_free(mag);
}

static const struct fnmm_alloc_ops bit_ops = {
	.name		= "bit",
	.allocate	= bit_allocate,
	.release	= bit_release,
	.available	= bit_available,
	.largest	= bit_largest,
	.longest	= bit_longest,
	.alloc_size	= bit_alloc_size,
	.carve		= bit_carve,
	.check		= bit_check,
	.occupancy	= bit_occupancy,
	.cached		= bit_cached,
	.destroy	= bit_destroy,
};

/**
 * fnmm_bit_create_flags() - create a Bit allocator
 * @base: first address, aligned to @chunk_size
 * @size: bytes, a non-zero multiple of @chunk_size
 * @chunk_size: bytes per bit, a power of two
 * @flags: 0 or FNMM_NO_PERCPU (no magazines: placement exactly first fit)
 *
 * fnmm_bit_create() is this with @flags 0.
 *
 * Return: the allocator, or ERR_PTR(-EINVAL) for a bad range, chunk size
 * or flag, ERR_PTR(-E2BIG), ERR_PTR(-ENOMEM).
 */
struct fnmm_allocator *fnmm_bit_create_flags(u64 base, u64 size,
					     u64 chunk_size, unsigned int flags)
{
	struct fnmm_bit *b;
	unsigned long nblk;
	u64 n;
	int cpu;

	if (!chunk_size || !is_power_of_2(chunk_size) || !size ||
	    (base | size) & (chunk_size - 1) || base + size < base ||
	    flags & ~FNMM_CREATE_FLAGS)
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
	/* At least a line per block up to 16 lines, a power of two. */
	nblk = DIV_ROUND_UP(b->pad + n, 1UL << BIT_MAG_BLOCK);
	b->live_shift = order_base_2(max(DIV_ROUND_UP(nblk, BIT_LIVE_LINE >>
						       BIT_MAG_BLOCK),
					 min(nblk, 16UL)));
	b->live = kvcalloc(BITS_TO_LONGS(BIT_LIVE_LINE) << b->live_shift,
			   sizeof(long), GFP_KERNEL);
	b->single = kvcalloc(BITS_TO_LONGS(n), sizeof(long), GFP_KERNEL);
	b->mag = alloc_percpu(struct bit_mag);
	if (!b->used || !b->start || !b->live || !b->single || !b->mag ||
	    fnmm_runs_init(&b->runs, b->pad + n)) {
		free_percpu(b->mag);
		kvfree(b->used);
		kvfree(b->start);
		kvfree(b->live);
		kvfree(b->single);
		kfree(b);
		return ERR_PTR(-ENOMEM);
	}
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(b->mag, cpu)->lock);
	b->a.ops = &bit_ops;
	b->a.base = base;
	b->a.size = size;
	b->a.granule = chunk_size;
	b->nchunks = n;
	b->nfree = n;
	b->shift = ilog2(chunk_size);
	b->percpu = !(flags & FNMM_NO_PERCPU);
	fnmm_runs_set(&b->runs, b->pad, n, true);
	spin_lock_init(&b->lock);
	seqcount_spinlock_init(&b->moving, &b->lock);
	return &b->a;
}
