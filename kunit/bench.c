// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm benchmarks, run in UML by tools/bench/uml.sh (make bench).
 *
 * Not tests: figures, printed as tab-separated "FNMM-BENCH" lines, side
 * by side with the kernel's own allocators measured in the same run:
 *
 *   pair    ns per allocate+release pair (median, min and p90 of ROUNDS
 *           rounds, ours and the kernel's taking turns round by round),
 *           and per pair in batches of live allocations: Split vs
 *           alloc_pages, Bit vs gen_pool at 10/50/90 % fill (full
 *           64-chunk groups packed low or scattered, 1-chunk holes every
 *           16 chunks, seeded random chunks), Pool vs kmem_cache
 *   scale   the same pair cost as the (simulated) region grows from
 *           64 MiB to 4 GiB and the fill rises to 99 %
 *   frag    one seeded allocation trace replayed against Split, Bit and
 *           gen_pool over equal regions: after each phase the largest
 *           allocatable block, failed requests, external fragmentation
 *
 * Split, Bit and gen_pool manage address ranges only (nothing at the
 * addresses is touched), so regions of any size can be simulated.  The
 * only assertions are that the benchmarks could run (an allocation that
 * must succeed did).
 */
#include <kunit/test.h>
#include <linux/genalloc.h>
#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include "fnmm_alloc.h"

#define ROUNDS		9
#define SIM_BASE	(1ULL << 40)	/* simulated regions live here */

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Picoseconds per operation over ROUNDS rounds: median, min and p90. */
struct spread {
	u64 med, min, p90;
};

/* @ps picoseconds as nanoseconds with three decimals, in @buf. */
static const char *ns(char *buf, u64 ps)
{
	snprintf(buf, 24, "%llu.%03llu", ps / 1000, ps % 1000);
	return buf;
}

/*
 * One "FNMM-BENCH" line: part, case, ours, its median ns, theirs, its
 * median ns, ours / theirs, then ours' min and p90 ns, theirs' min and p90.
 */
static void report(const char *part, const char *what, const char *ours,
		   const struct spread *o, const char *theirs,
		   const struct spread *t)
{
	char b[7][24];

	pr_info("FNMM-BENCH\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		part, what, ours, ns(b[0], o->med), theirs, ns(b[1], t->med),
		ns(b[2], t->med ? o->med * 1000 / t->med : 0),
		ns(b[3], o->min), ns(b[4], o->p90), ns(b[5], t->min),
		ns(b[6], t->p90));
}

/* A benchmark body: @iters operations; returns how many succeeded. */
struct bench {
	unsigned long (*run)(struct bench *b, unsigned long iters);
	unsigned long iters;
	/* state for the bodies below */
	struct fnmm_allocator *a;
	struct gen_pool *gp;
	struct kmem_cache *kc;
	u64 size;
	unsigned int order;
	u64 *addrs;
	unsigned long batch;
};

static void spread_of(u64 *ps, struct spread *sp)
{
	sort(ps, ROUNDS, sizeof(ps[0]), cmp_u64, NULL);
	sp->med = ps[ROUNDS / 2];
	sp->min = ps[0];
	sp->p90 = ps[DIV_ROUND_UP(ROUNDS * 9, 10) - 1];
}

/*
 * ROUNDS rounds of @ours and of @theirs (NULL: none) taking turns, so
 * that both see the same machine; picoseconds per operation of each.
 */
static void measure(struct kunit *test, struct bench *ours, struct spread *os,
		    struct bench *theirs, struct spread *ts)
{
	struct bench *b[2] = { ours, theirs };
	u64 ps[2][ROUNDS];
	int r, k;

	for (r = 0; r < ROUNDS; r++)
		for (k = 0; k < 2; k++) {
			u64 t0, ok;

			if (!b[k])
				continue;
			t0 = ktime_get_ns();
			ok = b[k]->run(b[k], b[k]->iters);
			ps[k][r] = (ktime_get_ns() - t0) * 1000 / b[k]->iters;
			KUNIT_EXPECT_EQ(test, ok, b[k]->iters);
			cond_resched();
		}
	spread_of(ps[0], os);
	if (theirs)
		spread_of(ps[1], ts);
	else
		*ts = (struct spread){ };
}

/* Measure both and print their line. */
static void compare(struct kunit *test, const char *part, const char *what,
		    const char *oname, struct bench *ours, const char *tname,
		    struct bench *theirs)
{
	struct spread os, ts;

	measure(test, ours, &os, theirs, &ts);
	report(part, what, oname, &os, tname, &ts);
}

static unsigned long fnmm_pairs(struct bench *b, unsigned long iters)
{
	struct fnmm_range r = { .size = b->size };
	unsigned long i, ok = 0;

	for (i = 0; i < iters; i++)
		if (!fnmm_allocate(b->a, &r) && !fnmm_release(b->a, r.address))
			ok++;
	return ok;
}

/* @batch live allocations, then all released; iters = batch * n. */
static unsigned long fnmm_batches(struct bench *b, unsigned long iters)
{
	unsigned long i, j, ok = 0;

	for (i = 0; i < iters; i += b->batch) {
		for (j = 0; j < b->batch; j++) {
			struct fnmm_range r = { .size = b->size };

			if (fnmm_allocate(b->a, &r))
				break;
			b->addrs[j] = r.address;
		}
		while (j--)
			ok += !fnmm_release(b->a, b->addrs[j]);
	}
	return ok;
}

static unsigned long page_pairs(struct bench *b, unsigned long iters)
{
	unsigned long i, ok = 0;

	for (i = 0; i < iters; i++) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
					     b->order);

		if (p) {
			__free_pages(p, b->order);
			ok++;
		}
	}
	return ok;
}

static unsigned long page_batches(struct bench *b, unsigned long iters)
{
	unsigned long i, j, ok = 0;

	for (i = 0; i < iters; i += b->batch) {
		for (j = 0; j < b->batch; j++) {
			struct page *p = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
						     b->order);

			if (!p)
				break;
			b->addrs[j] = (unsigned long)p;
		}
		while (j--) {
			__free_pages((struct page *)(unsigned long)b->addrs[j],
				     b->order);
			ok++;
		}
	}
	return ok;
}

static unsigned long gp_pairs(struct bench *b, unsigned long iters)
{
	unsigned long i, ok = 0;

	for (i = 0; i < iters; i++) {
		unsigned long addr = gen_pool_alloc(b->gp, b->size);

		if (addr) {
			gen_pool_free(b->gp, addr, b->size);
			ok++;
		}
	}
	return ok;
}

static unsigned long kc_pairs(struct bench *b, unsigned long iters)
{
	unsigned long i, ok = 0;

	for (i = 0; i < iters; i++) {
		void *p = kmem_cache_alloc(b->kc, GFP_KERNEL);

		if (p) {
			kmem_cache_free(b->kc, p);
			ok++;
		}
	}
	return ok;
}

static unsigned long kc_batches(struct bench *b, unsigned long iters)
{
	unsigned long i, j, ok = 0;

	for (i = 0; i < iters; i += b->batch) {
		for (j = 0; j < b->batch; j++) {
			void *p = kmem_cache_alloc(b->kc, GFP_KERNEL);

			if (!p)
				break;
			b->addrs[j] = (unsigned long)p;
		}
		while (j--) {
			kmem_cache_free(b->kc, (void *)(unsigned long)b->addrs[j]);
			ok++;
		}
	}
	return ok;
}

static u64 *bench_addrs(struct kunit *test, unsigned long n)
{
	u64 *a = vmalloc(array_size(n, sizeof(u64)));

	KUNIT_ASSERT_NOT_NULL(test, a);
	return a;
}

/* Split vs alloc_pages: pairs at orders 0, 3, 9, and batches. */
static void bench_split_pages(struct kunit *test)
{
	static const struct { unsigned int order; unsigned long batch; } c[] = {
		{ 0, 0 }, { 3, 0 }, { 9, 0 },
		{ 0, 1024 }, { 0, 65536 }, { 3, 1024 }, { 9, 64 },
	};
	struct bench ours = { }, theirs = { };
	char what[48];
	unsigned int i;

	ours.a = fnmm_split_create(SIM_BASE, 1ULL << 30, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ours.a));
	ours.addrs = bench_addrs(test, 65536);
	theirs.addrs = bench_addrs(test, 65536);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ours.size = PAGE_SIZE << c[i].order;
		theirs.order = c[i].order;
		ours.batch = theirs.batch = c[i].batch;
		ours.run = c[i].batch ? fnmm_batches : fnmm_pairs;
		theirs.run = c[i].batch ? page_batches : page_pairs;
		ours.iters = theirs.iters = c[i].batch ?
			max(c[i].batch, 65536UL >> c[i].order) : 20000;
		if (c[i].batch)
			snprintf(what, sizeof(what), "order %u, batch %lu",
				 c[i].order, c[i].batch);
		else
			snprintf(what, sizeof(what), "order %u", c[i].order);
		compare(test, "pair", what, "split", &ours, "alloc_pages",
			&theirs);
	}
	vfree(ours.addrs);
	vfree(theirs.addrs);
	fnmm_destroy(ours.a);
}

/*
 * Fill a region of @n chunks the same way for every allocator:
 *  - FILL_PACKED: the lowest @fill % of 64-chunk groups (what a first-fit
 *    allocator converges to);
 *  - FILL_SCATTERED: 64-chunk groups where a hash says so, @fill % of them;
 *  - FILL_HOLES: the lowest 3/4 full but for a 1-chunk hole every 16
 *    chunks, the top quarter free (first fit's worst case: every request
 *    above a chunk passes every hole);
 *  - FILL_RANDOM: in the lowest 3/4, each chunk kept with probability
 *    @fill % by a seeded hash (holes of every length), the top free.
 * Every kept group is one allocation of its own.
 */
enum fill_mode { FILL_PACKED, FILL_SCATTERED, FILL_HOLES, FILL_RANDOM };

#define GROUP		64
#define FILL_SEED	1

static const char *const fill_names[] = { "packed", "scattered",
					  "1-chunk holes every 16, top 1/4 free",
					  "random (seed 1), top 1/4 free" };

static unsigned long fill_group(enum fill_mode mode)
{
	return mode >= FILL_HOLES ? 1 : GROUP;
}

static bool fill_keep(unsigned long g, unsigned long ngroups,
		      unsigned int fill, enum fill_mode mode)
{
	switch (mode) {
	case FILL_SCATTERED:
		return hash_32(g, 16) % 1000 < fill * 10;
	case FILL_HOLES:
		return g * 4 < ngroups * 3 && g % 16 != 15;
	case FILL_RANDOM:
		return g * 4 < ngroups * 3 &&
		       hash_32(g ^ (FILL_SEED << 24), 32) % 1000 < fill * 10;
	default:
		return g * 100 < (u64)ngroups * fill;
	}
}

static void fnmm_fill(struct kunit *test, struct fnmm_allocator *a,
		      unsigned long n, unsigned int fill, enum fill_mode mode)
{
	unsigned long g, gs = fill_group(mode), ng = n / gs;

	/* Each group one allocation, in address order (first fit). */
	for (g = 0; g < ng; g++) {
		struct fnmm_range r = { .size = gs * a->granule,
					.alignment = gs * a->granule };

		KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &r), 0);
		KUNIT_ASSERT_EQ(test, r.address, a->base + g * gs * a->granule);
	}
	for (g = 0; g < ng; g++)
		if (!fill_keep(g, ng, fill, mode))
			KUNIT_ASSERT_EQ(test, fnmm_release(a, a->base +
					g * gs * a->granule), 0);
}

static void fnmm_unfill(struct fnmm_allocator *a, unsigned long n,
			unsigned int fill, enum fill_mode mode)
{
	unsigned long g, gs = fill_group(mode), ng = n / gs;

	for (g = 0; g < ng; g++)
		if (fill_keep(g, ng, fill, mode))
			WARN_ON(fnmm_release(a, a->base + g * gs * a->granule));
}

/* gen_pool keeps no per-allocation records: take it all, free groups. */
static void gp_fill(struct kunit *test, struct gen_pool *gp, u64 base,
		    unsigned long n, unsigned int fill, enum fill_mode mode)
{
	unsigned long g, gs = fill_group(mode), ng = n / gs;

	KUNIT_ASSERT_EQ(test, gen_pool_alloc(gp, n * PAGE_SIZE),
			(unsigned long)base);
	for (g = 0; g < ng; g++)
		if (!fill_keep(g, ng, fill, mode))
			gen_pool_free(gp, base + g * gs * PAGE_SIZE,
				      gs * PAGE_SIZE);
}

static void gp_empty(struct gen_pool *gp, u64 base, unsigned long n,
		     unsigned int fill, enum fill_mode mode)
{
	unsigned long g, gs = fill_group(mode), ng = n / gs;

	for (g = 0; g < ng; g++)
		if (fill_keep(g, ng, fill, mode))
			gen_pool_free(gp, base + g * gs * PAGE_SIZE,
				      gs * PAGE_SIZE);
	gen_pool_destroy(gp);
}

static struct gen_pool *gp_make(struct kunit *test, u64 base, u64 size)
{
	struct gen_pool *gp = gen_pool_create(PAGE_SHIFT, -1);

	KUNIT_ASSERT_NOT_NULL(test, gp);
	KUNIT_ASSERT_EQ(test, gen_pool_add(gp, base, size, -1), 0);
	return gp;
}

/* Bit vs gen_pool over @size bytes at @fill %: runs of @runs chunks. */
static void bit_vs_genpool(struct kunit *test, const char *part, u64 size,
			   unsigned int fill, enum fill_mode mode,
			   const unsigned int *runs, unsigned int nruns)
{
	unsigned long n = size >> PAGE_SHIFT;
	struct bench ours = { .run = fnmm_pairs, .iters = 2000 };
	struct bench theirs = { .run = gp_pairs, .iters = 2000 };
	char what[96];
	unsigned int i;

	ours.a = fnmm_bit_create(SIM_BASE, size, PAGE_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ours.a));
	theirs.gp = gp_make(test, SIM_BASE, size);
	fnmm_fill(test, ours.a, n, fill, mode);
	gp_fill(test, theirs.gp, SIM_BASE, n, fill, mode);
	for (i = 0; i < nruns; i++) {
		ours.size = theirs.size = (u64)runs[i] << PAGE_SHIFT;
		if (mode == FILL_HOLES)
			snprintf(what, sizeof(what), "%llu MiB, %s, %u chunk%s",
				 size >> 20, fill_names[mode], runs[i],
				 runs[i] > 1 ? "s" : "");
		else
			snprintf(what, sizeof(what), "%llu MiB, %u%% %s, %u chunk%s",
				 size >> 20, fill, fill_names[mode], runs[i],
				 runs[i] > 1 ? "s" : "");
		compare(test, part, what, "bit", &ours, "gen_pool", &theirs);
	}
	gp_empty(theirs.gp, SIM_BASE, n, fill, mode);
	fnmm_unfill(ours.a, n, fill, mode);
	KUNIT_EXPECT_EQ(test, fnmm_available(ours.a), size);
	fnmm_destroy(ours.a);
}

static void bench_bit_genpool(struct kunit *test)
{
	static const unsigned int runs[] = { 1, 8, 64 };
	static const unsigned int fills[] = { 10, 50, 90 };
	unsigned int f, mode;

	for (mode = FILL_PACKED; mode <= FILL_SCATTERED; mode++)
		for (f = 0; f < ARRAY_SIZE(fills); f++)
			bit_vs_genpool(test, "pair", 256ULL << 20, fills[f],
				       mode, runs, ARRAY_SIZE(runs));
	bit_vs_genpool(test, "pair", 256ULL << 20, 0, FILL_HOLES, runs,
		       ARRAY_SIZE(runs));
	bit_vs_genpool(test, "pair", 256ULL << 20, 50, FILL_RANDOM, runs,
		       ARRAY_SIZE(runs));
	bit_vs_genpool(test, "pair", 256ULL << 20, 90, FILL_RANDOM, runs,
		       ARRAY_SIZE(runs));
}

/*
 * Pool vs kmem_cache at 64, 256 and 1024 bytes: pairs on an empty pool
 * (an idle Pool holds no page, so each pair takes a slab from Split and
 * gives it back; kmem_cache keeps its slabs), pairs with one object of
 * the size kept live in each, and batches.
 */
static void bench_pool_kmem(struct kunit *test)
{
	static const unsigned int sizes[] = { 64, 256, 1024 };
	static const char *const kinds[] = { "", ", one live", ", batch 1024" };
	struct bench ours = { }, theirs = { };
	struct fnmm_allocator *split;
	char what[48], name[32];
	unsigned int i, k;

	split = fnmm_split_create(SIM_BASE, 64ULL << 20, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(split));
	ours.a = fnmm_pool_create(split, FNMM_POOL_MIN_SHIFT, PAGE_SHIFT - 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ours.a));
	ours.addrs = bench_addrs(test, 1024);
	theirs.addrs = bench_addrs(test, 1024);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "fnmm_bench_%u", sizes[i]);
		theirs.kc = kmem_cache_create(name, sizes[i], 0, 0, NULL);
		KUNIT_ASSERT_NOT_NULL(test, theirs.kc);
		ours.size = sizes[i];
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			struct fnmm_range keep = { .size = sizes[i] };
			void *kept = NULL;

			ours.batch = theirs.batch = k == 2 ? 1024 : 0;
			ours.run = k == 2 ? fnmm_batches : fnmm_pairs;
			theirs.run = k == 2 ? kc_batches : kc_pairs;
			ours.iters = theirs.iters = k == 2 ? 16 * 1024 : 20000;
			if (k == 1) {
				KUNIT_ASSERT_EQ(test,
						fnmm_allocate(ours.a, &keep), 0);
				kept = kmem_cache_alloc(theirs.kc, GFP_KERNEL);
				KUNIT_ASSERT_NOT_NULL(test, kept);
			}
			snprintf(what, sizeof(what), "%u B%s", sizes[i],
				 kinds[k]);
			compare(test, "pair", what, "pool", &ours, "kmem_cache",
				&theirs);
			if (k == 1) {
				KUNIT_EXPECT_EQ(test,
						fnmm_release(ours.a, keep.address),
						0);
				kmem_cache_free(theirs.kc, kept);
			}
		}
		kmem_cache_destroy(theirs.kc);
	}
	vfree(ours.addrs);
	vfree(theirs.addrs);
	fnmm_destroy(ours.a);
	fnmm_destroy(split);
}

/* Split order-0 pairs at a fill, in a region of @size bytes. */
static void split_at(struct kunit *test, u64 size, unsigned int fill,
		     enum fill_mode mode, struct spread *sp)
{
	struct bench b = { .run = fnmm_pairs, .iters = 2000,
			   .size = PAGE_SIZE };
	unsigned long n = size >> PAGE_SHIFT;
	struct spread none;

	b.a = fnmm_split_create(SIM_BASE, size, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(b.a));
	fnmm_fill(test, b.a, n, fill, mode);
	measure(test, &b, sp, NULL, &none);
	fnmm_unfill(b.a, n, fill, mode);
	KUNIT_EXPECT_EQ(test, fnmm_available(b.a), size);
	fnmm_destroy(b.a);
}

/* Cost as the region grows (64 MiB .. 4 GiB) and fills (50/90/99 %). */
static void scale_size(struct kunit *test, u64 size)
{
	static const unsigned int fills[] = { 50, 90, 99 };
	static const unsigned int one[] = { 1 };
	struct spread sp, none = { };
	unsigned int f, mode;
	char what[80];

	for (mode = FILL_PACKED; mode <= FILL_SCATTERED; mode++)
		for (f = 0; f < ARRAY_SIZE(fills); f++) {
			bit_vs_genpool(test, "scale", size, fills[f], mode, one,
				       1);
			snprintf(what, sizeof(what), "%llu MiB, %u%% %s, order 0",
				 size >> 20, fills[f], fill_names[mode]);
			split_at(test, size, fills[f], mode, &sp);
			report("scale", what, "split", &sp, "-", &none);
		}
}

static void bench_scale_64m(struct kunit *test) { scale_size(test, 64ULL << 20); }
static void bench_scale_256m(struct kunit *test) { scale_size(test, 256ULL << 20); }
static void bench_scale_1g(struct kunit *test) { scale_size(test, 1ULL << 30); }
static void bench_scale_4g(struct kunit *test) { scale_size(test, 4ULL << 30); }

/*
 * Fragmentation: seeded traces (log-uniform sizes of 1..256 pages,
 * random frees), FRAG_SEEDS of them, each replayed against each
 * allocator over 256 MiB: Split and Bit as the device makes them, the
 * same made with FNMM_NO_PERCPU (module parameter percpu=0), gen_pool.
 * The largest block after each phase is fnmm_largest() for ours (exact: it drains the magazines, it changes no
 * allocation) and, for gen_pool, found by trying (an allocation and its
 * release leave genalloc's bitmap as it was).
 */
#define FRAG_PAGES	65536UL
#define FRAG_LIVE	8192
#define FRAG_SEEDS	5

struct frag_ops {
	const char *name;
	int (*alloc)(void *p, unsigned long pages, u64 *addr);
	void (*free)(void *p, u64 addr, unsigned long pages);
	u64 (*free_pages)(void *p);
	unsigned long (*largest)(const struct frag_ops *o, void *p);
};

static int fa_alloc(void *p, unsigned long pages, u64 *addr)
{
	struct fnmm_range r = { .size = pages << PAGE_SHIFT };
	int ret = fnmm_allocate(p, &r);

	*addr = r.address;
	return ret;
}

static void fa_free(void *p, u64 addr, unsigned long pages)
{
	WARN_ON(fnmm_release(p, addr));
}

static u64 fa_free_pages(void *p)
{
	return fnmm_available(p) >> PAGE_SHIFT;
}

static unsigned long fa_largest(const struct frag_ops *o, void *p)
{
	return fnmm_largest(p) >> PAGE_SHIFT;
}

static int gp_alloc(void *p, unsigned long pages, u64 *addr)
{
	*addr = gen_pool_alloc(p, pages << PAGE_SHIFT);
	return *addr ? 0 : -ENOMEM;
}

static void gp_free(void *p, u64 addr, unsigned long pages)
{
	gen_pool_free(p, addr, pages << PAGE_SHIFT);
}

static u64 gp_free_pages(void *p)
{
	return gen_pool_avail(p) >> PAGE_SHIFT;
}

/* Largest allocatable block in pages, by trying (binary search). */
static unsigned long gp_largest(const struct frag_ops *o, void *p)
{
	unsigned long lo = 0, hi = o->free_pages(p);
	u64 addr;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo + 1) / 2;

		if (!o->alloc(p, mid, &addr)) {
			o->free(p, addr, mid);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo;
}

struct frag_live {
	u64 addr;
	unsigned long pages;
};

static int frag_cmp(const void *a, const void *b)
{
	const struct frag_live *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Log-uniform: 1, 2, 4 .. 256 pages. */
static unsigned long frag_size(struct rnd_state *rs)
{
	return 1UL << (prandom_u32_state(rs) % 9);
}

static void frag_replay(struct kunit *test, const struct frag_ops *o, void *p,
			u32 seed)
{
	static const char * const phases[] = {
		"fill to 80%", "churn 20000 ops", "free every other",
		"big requests",
	};
	struct frag_live *live = vmalloc(array_size(FRAG_LIVE, sizeof(*live)));
	unsigned long nlive = 0, used = 0, failed = 0, i;
	struct rnd_state rs;
	int ph;

	KUNIT_ASSERT_NOT_NULL(test, live);
	prandom_seed_state(&rs, seed);
	for (ph = 0; ph < ARRAY_SIZE(phases); ph++) {
		unsigned long ops = ph == 1 ? 20000 : ph == 3 ? 64 : FRAG_LIVE;
		unsigned long largest, freep, pm;

		for (i = 0; i < ops; i++) {
			bool do_free = ph == 1 ? prandom_u32_state(&rs) % 2 : false;
			unsigned long sz = frag_size(&rs);
			unsigned long pages = ph == 3 ?
				256UL << (prandom_u32_state(&rs) % 3) :
				sz + prandom_u32_state(&rs) % sz;

			if (ph == 0 && used * 10 >= FRAG_PAGES * 8)
				break;
			if (ph == 2) {
				/* By address: every other allocation goes. */
				unsigned long k, n = 0;

				sort(live, nlive, sizeof(*live), frag_cmp, NULL);
				for (k = 0; k < nlive; k++) {
					if (k % 2) {
						o->free(p, live[k].addr,
							live[k].pages);
						used -= live[k].pages;
					} else {
						live[n++] = live[k];
					}
				}
				nlive = n;
				break;
			}
			if (do_free && nlive) {
				unsigned long k = prandom_u32_state(&rs) % nlive;

				o->free(p, live[k].addr, live[k].pages);
				used -= live[k].pages;
				live[k] = live[--nlive];
				continue;
			}
			if (nlive == FRAG_LIVE)
				continue;
			if (o->alloc(p, pages, &live[nlive].addr)) {
				failed++;
				continue;
			}
			live[nlive++].pages = pages;
			used += pages;
		}
		largest = o->largest(o, p);
		freep = o->free_pages(p);
		/* External fragmentation, per mille: 1 - largest / free. */
		pm = freep ? 1000 - largest * 1000 / freep : 0;
		pr_info("FNMM-BENCH\tfrag\t%u\t%d %s\t%s\t%lu\t%lu\t%lu\t%lu\t%lu.%01lu\n",
			seed, ph + 1, phases[ph], o->name, nlive, freep,
			largest, failed, pm / 10, pm % 10);
	}
	while (nlive--)
		o->free(p, live[nlive].addr, live[nlive].pages);
	vfree(live);
}

static void bench_fragmentation(struct kunit *test)
{
	static const struct frag_ops fnmm_ops[] = {
		{ "split", fa_alloc, fa_free, fa_free_pages, fa_largest },
		{ "bit", fa_alloc, fa_free, fa_free_pages, fa_largest },
		{ "split-exact", fa_alloc, fa_free, fa_free_pages, fa_largest },
		{ "bit-exact", fa_alloc, fa_free, fa_free_pages, fa_largest },
	};
	static const struct frag_ops gp_ops = {
		"gen_pool", gp_alloc, gp_free, gp_free_pages, gp_largest,
	};
	u64 size = FRAG_PAGES << PAGE_SHIFT;
	struct fnmm_allocator *a;
	struct gen_pool *gp;
	u32 seed;

	pr_info("FNMM-BENCH\tfrag-header\tseed\tphase\tallocator\tlive\tfree pages\tlargest pages\tfailed\text. frag %%\n");
	for (seed = 42; seed < 42 + FRAG_SEEDS; seed++) {
		unsigned int k;

		/* As the device makes them, and with percpu=0. */
		for (k = 0; k < ARRAY_SIZE(fnmm_ops); k++) {
			unsigned int fl = k < 2 ? 0 : FNMM_NO_PERCPU;

			a = k % 2 ? fnmm_bit_create_flags(SIM_BASE, size,
							  PAGE_SIZE, fl) :
				    fnmm_split_create_flags(SIM_BASE, size, 0,
							    fl);
			KUNIT_ASSERT_FALSE(test, IS_ERR(a));
			frag_replay(test, &fnmm_ops[k], a, seed);
			fnmm_destroy(a);
		}
		gp = gp_make(test, SIM_BASE, size);
		frag_replay(test, &gp_ops, gp, seed);
		gen_pool_destroy(gp);
	}
}

static struct kunit_case bench_cases[] = {
	KUNIT_CASE(bench_split_pages),
	KUNIT_CASE(bench_bit_genpool),
	KUNIT_CASE(bench_pool_kmem),
	KUNIT_CASE(bench_scale_64m),
	KUNIT_CASE(bench_scale_256m),
	KUNIT_CASE(bench_scale_1g),
	KUNIT_CASE(bench_scale_4g),
	KUNIT_CASE(bench_fragmentation),
	{}
};

static struct kunit_suite bench_suite = {
	.name = "fnmm_bench",
	.test_cases = bench_cases,
};
kunit_test_suite(bench_suite);

MODULE_LICENSE("GPL");
