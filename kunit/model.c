// SPDX-License-Identifier: GPL-2.0
/*
 * freenos-mm KUnit: the seed of the random cases and the naive reference
 * model of free granules (see model.h).
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/log2.h>
#include <linux/math.h>
#include <linux/moduleparam.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/string.h>
#include "model.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "fnmm_kunit."

static unsigned int seed;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "seed of the random KUnit cases (0: pick one)");

/**
 * fnmm_test_seed() - the seed of this boot's random cases
 *
 * Return: fnmm_kunit.seed, or, if that is 0, a random non-zero value
 * picked at the first call and kept.
 */
u32 fnmm_test_seed(void)
{
	unsigned int s = READ_ONCE(seed), old;

	while (!s) {
		s = get_random_u32();
		if (!s)
			continue;
		old = cmpxchg(&seed, 0, s);
		if (old)
			s = old;
	}
	return s;
}

/**
 * fnmm_test_suite_seed() - a suite_init that prints the seed
 * @suite: the suite about to run
 *
 * Return: 0.
 */
int fnmm_test_suite_seed(struct kunit_suite *suite)
{
	u32 s = fnmm_test_seed();

	kunit_log(KERN_INFO, suite, KUNIT_SUBTEST_INDENT
		  "# %s: seed %u (repeat with fnmm_kunit.seed=%u)\n",
		  suite->name, s, s);
	return 0;
}

/**
 * fnmm_test_pin_cpu() - keep the calling test on the CPU it runs on
 *
 * A Pool is one sub-pool per CPU, and Split's and Bit's small blocks go
 * through per-CPU magazines: a case that expects where its next object
 * or block comes from must not move to another CPU halfway (x86_64 KUnit
 * has two).  Each case runs in a kthread of its own, so the pin ends
 * with it.
 */
void fnmm_test_pin_cpu(void)
{
	set_cpus_allowed_ptr(current, cpumask_of(raw_smp_processor_id()));
}

/**
 * fnmm_model_fits() - whether a request fits the free granules of a model
 * @used: the model, one bit per granule, 1 = held
 * @nbits: granules in @used
 * @base: address of granule 0
 * @granule: bytes per granule
 * @len: granules requested
 * @align: alignment of the address in bytes (0 or at most @granule: none)
 *
 * Split and Bit promise to serve an unaligned request whenever a run of
 * @len free granules exists, and one aligned to a granules (a > 1) as
 * vm_unmapped_area() does: whenever a run of @len + a - 1 free granules
 * exists, or a free block of max(@len rounded up to a power of two, a)
 * granules aligned to its size (include/fnmm_alloc.h).  This model
 * checks the run and, for @len <= a, the aligned block of a granules
 * (above, Split's blocks are aligned from its own origin, not the
 * model's).
 *
 * Return: true if the allocator must serve the request.
 */
bool fnmm_model_fits(const unsigned long *used, unsigned long nbits,
		     u64 base, u64 granule, unsigned long len, u64 align)
{
	unsigned long i = 0, z, e, at, a = 1;

	if (align > granule)
		a = align / granule;
	while (i < nbits) {
		z = find_next_zero_bit(used, nbits, i);
		if (z >= nbits)
			break;
		e = find_next_bit(used, nbits, z);
		if (e - z >= len + a - 1)
			return true;
		if (len <= a) {
			u64 addr = base + (u64)z * granule;

			at = z + (round_up(addr, align) - addr) / granule;
			if (at <= e && e - at >= a)
				return true;
		}
		i = e;
	}
	return false;
}

/**
 * fnmm_model_longest() - the longest run of free granules of a model
 * @used: the model, one bit per granule, 1 = held
 * @nbits: granules in @used
 *
 * Return: its length in granules.
 */
unsigned long fnmm_model_longest(const unsigned long *used,
				 unsigned long nbits)
{
	unsigned long i = 0, z, e, best = 0;

	while (i < nbits) {
		z = find_next_zero_bit(used, nbits, i);
		if (z >= nbits)
			break;
		e = find_next_bit(used, nbits, z);
		best = max(best, e - z);
		i = e;
	}
	return best;
}

#define MODEL_LIVE	48

struct model_live {
	u64 addr;
	unsigned long first;	/* granule index */
	unsigned long len;	/* granules */
};

struct model_run {
	struct kunit *test;
	struct fnmm_allocator *a;
	bool exact;		/* FNMM_NO_PERCPU: placement is predicted */
	u64 origin;		/* where the allocator's blocks align from */
	unsigned long *used;	/* the model: 1 = held */
	unsigned long *map;	/* scratch for fnmm_occupancy() */
	unsigned long nbits;
	struct model_live live[MODEL_LIVE];
	unsigned int n;
	u32 seed;
	unsigned int op;
};

/**
 * fnmm_model_place() - where the placement rule puts a request
 * @used: the model, one bit per granule, 1 = held
 * @nbits: granules in @used
 * @base: address of granule 0
 * @granule: bytes per granule
 * @len: granules asked for
 * @align: alignment in bytes (0 or up to a granule: none)
 * @origin: the address the allocator's index counts from, at or below
 *	@base: its blocks are aligned from there (Split: @base rounded down
 *	to its largest block, so a block above that order may sit at an
 *	address not aligned to its size)
 *
 * The rule of include/fnmm_alloc.h, by a naive search: unaligned, the
 * first run of @len free granules; aligned to a granules, the lower of
 * the first maximal run of @len + a - 1 (from its first aligned address)
 * and the first free block of max(order_base_2(@len), log2 a) granules
 * aligned to its size from @origin.
 *
 * Return: the first granule, or -1 if neither exists.
 */
long fnmm_model_place(const unsigned long *used, unsigned long nbits,
		      u64 base, u64 granule, unsigned long len, u64 align,
		      u64 origin)
{
	unsigned long a = align > granule ? align / granule : 1;
	unsigned long i = 0, z, e, bl, u;
	long at = -1;
	u64 bsz;

	while (i < nbits) {
		z = find_next_zero_bit(used, nbits, i);
		if (z >= nbits)
			break;
		e = find_next_bit(used, nbits, z);
		if (e - z >= len + a - 1) {
			at = z + (round_up(base + z * granule, a * granule) -
				  (base + z * granule)) / granule;
			break;
		}
		i = e;
	}
	if (a == 1)
		return at;
	bl = max_t(unsigned long, roundup_pow_of_two(len), a);
	bsz = bl * granule;
	for (u = (round_up(base - origin, bsz) - (base - origin)) / granule;
	     u + bl <= nbits &&
	     (at < 0 || u < at); u += bl)
		if (find_next_bit(used, u + bl, u) == u + bl)
			return u;
	return at;
}

/* One request of @len granules at @align bytes; false if refused. */
static bool model_alloc(struct model_run *m, u64 size, unsigned long len,
			u64 align)
{
	struct kunit *test = m->test;
	struct fnmm_allocator *a = m->a;
	struct fnmm_range r = { .size = size, .alignment = align };
	struct model_live *l;
	unsigned long first;
	int ret = fnmm_allocate(a, &r);

	if (ret == -ENOMEM) {
		KUNIT_ASSERT_FALSE_MSG(test, fnmm_model_fits(m->used, m->nbits,
				a->base, a->granule, len, align),
			"seed %u op %u: -ENOMEM for %lu granules aligned to %llu, but the model has room",
			m->seed, m->op, len, align);
		return false;
	}
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "seed %u op %u: allocate %llu aligned %llu",
			    m->seed, m->op, size, align);
	KUNIT_ASSERT_GE_MSG(test, r.address, a->base, "seed %u op %u",
			    m->seed, m->op);
	first = (r.address - a->base) / a->granule;
	if (m->exact)
		KUNIT_ASSERT_EQ_MSG(test, (long)first,
				    fnmm_model_place(m->used, m->nbits, a->base,
						     a->granule, len, align,
						     m->origin),
				    "seed %u op %u: %lu granules aligned to %llu placed off the rule",
				    m->seed, m->op, len, align);
	KUNIT_ASSERT_LE_MSG(test, first + len, m->nbits,
			    "seed %u op %u: past the end", m->seed, m->op);
	KUNIT_ASSERT_EQ_MSG(test, (r.address - a->base) % a->granule, 0ULL,
			    "seed %u op %u", m->seed, m->op);
	if (align)
		KUNIT_ASSERT_EQ_MSG(test, r.address & (align - 1), 0ULL,
				    "seed %u op %u: misaligned", m->seed, m->op);
	KUNIT_ASSERT_EQ_MSG(test, fnmm_alloc_size(a, r.address),
			    (u64)len * a->granule, "seed %u op %u: size held",
			    m->seed, m->op);
	KUNIT_ASSERT_EQ_MSG(test, find_next_bit(m->used, first + len, first),
			    first + len,
			    "seed %u op %u: handed out a granule already held",
			    m->seed, m->op);
	bitmap_set(m->used, first, len);
	l = &m->live[m->n++];
	l->addr = r.address;
	l->first = first;
	l->len = len;
	return true;
}

static void model_release(struct model_run *m, unsigned int i)
{
	struct model_live *l = &m->live[i];

	KUNIT_ASSERT_EQ_MSG(m->test, fnmm_release(m->a, l->addr), 0,
			    "seed %u op %u: release", m->seed, m->op);
	bitmap_clear(m->used, l->first, l->len);
	*l = m->live[--m->n];
}

/* Cut a live allocation in two and release one part (ReleaseSections). */
static void model_carve(struct model_run *m, unsigned int i, u32 r)
{
	struct kunit *test = m->test;
	struct model_live *l = &m->live[i];
	unsigned long off = 1 + r % (l->len - 1);
	u64 g = m->a->granule;

	KUNIT_ASSERT_EQ_MSG(test, fnmm_carve(m->a, l->addr, off * g), 0,
			    "seed %u op %u: carve", m->seed, m->op);
	if (r & BIT(31)) {
		KUNIT_ASSERT_EQ_MSG(test, fnmm_release(m->a, l->addr + off * g),
				    0, "seed %u op %u: release the tail",
				    m->seed, m->op);
		bitmap_clear(m->used, l->first + off, l->len - off);
		l->len = off;
	} else {
		KUNIT_ASSERT_EQ_MSG(test, fnmm_release(m->a, l->addr), 0,
				    "seed %u op %u: release the head",
				    m->seed, m->op);
		bitmap_clear(m->used, l->first, off);
		l->addr += off * g;
		l->first += off;
		l->len -= off;
	}
	KUNIT_ASSERT_EQ_MSG(test, fnmm_alloc_size(m->a, l->addr), l->len * g,
			    "seed %u op %u: size of the part kept",
			    m->seed, m->op);
}

/* After every operation: the allocator's own audit and its counters. */
static void model_agree(struct model_run *m)
{
	struct kunit *test = m->test;
	struct fnmm_allocator *a = m->a;
	unsigned long held = bitmap_weight(m->used, m->nbits);

	KUNIT_ASSERT_EQ_MSG(test, fnmm_check(a), 0, "seed %u op %u",
			    m->seed, m->op);
	if (m->exact)
		KUNIT_ASSERT_EQ_MSG(test, fnmm_cached(a, m->map), 0UL,
				    "seed %u op %u: a per-CPU cache in use",
				    m->seed, m->op);
	KUNIT_ASSERT_EQ_MSG(test, fnmm_available(a),
			    (u64)(m->nbits - held) * a->granule,
			    "seed %u op %u: available", m->seed, m->op);
	KUNIT_ASSERT_EQ_MSG(test, fnmm_largest(a),
			    (u64)fnmm_model_longest(m->used, m->nbits) *
			    a->granule, "seed %u op %u: largest",
			    m->seed, m->op);
	if (m->op % 32)
		return;
	bitmap_zero(m->map, m->nbits);
	KUNIT_ASSERT_EQ(test, fnmm_occupancy(a, m->map), 0);
	KUNIT_ASSERT_TRUE_MSG(test, bitmap_equal(m->map, m->used, m->nbits),
			      "seed %u op %u: occupancy differs from the model",
			      m->seed, m->op);
}

/**
 * fnmm_model_random() - a seeded random run against the reference model
 * @test: the case
 * @a: an empty Split or Bit allocator (one that can carve and tell its
 *	occupancy, and whose largest() is the longest free run)
 * @salt: mixed into the seed so that each case draws its own sequence
 * @ops: operations to run
 * @max_len: longest request, in granules
 * @max_align: largest alignment asked for, in granules (a power of two)
 * @exact: @a was made with FNMM_NO_PERCPU: every address is also checked
 *	against fnmm_model_place(), and no per-CPU cache holds anything
 *
 * Allocations (sizes not always a whole number of granules, a quarter of
 * them aligned), releases, and carves with a release of one part.  After
 * every operation the allocator's check passes and its free bytes and
 * largest run agree with the model; every 32, its occupancy map equals
 * the model.  A refused request is checked against fnmm_model_fits().
 * Everything is released at the end.
 */
void fnmm_model_random(struct kunit *test, struct fnmm_allocator *a,
		       u32 salt, unsigned int ops, unsigned long max_len,
		       unsigned long max_align, bool exact)
{
	struct model_run *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	unsigned int nomem = 0, carves = 0, align_bits = ilog2(max_align) + 1;
	struct rnd_state rnd;
	u64 g = a->granule;

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->test = test;
	m->a = a;
	m->exact = exact;
	/* Bit's index starts at an address aligned to its whole size. */
	if (!strcmp(a->ops->name, "split"))
		m->origin = a->base & ~((PAGE_SIZE <<
					 fnmm_split_max_order(a)) - 1);
	m->nbits = fnmm_size(a) / g;
	m->used = kunit_kcalloc(test, BITS_TO_LONGS(m->nbits), sizeof(long),
				GFP_KERNEL);
	m->map = kunit_kcalloc(test, BITS_TO_LONGS(m->nbits), sizeof(long),
			       GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->used);
	KUNIT_ASSERT_NOT_NULL(test, m->map);
	m->seed = fnmm_test_seed();
	kunit_info(test, "seed %u\n", m->seed);
	prandom_seed_state(&rnd, ((u64)salt << 32) | m->seed);

	for (m->op = 0; m->op < ops; m->op++) {
		u32 r = prandom_u32_state(&rnd), r2 = prandom_u32_state(&rnd);
		unsigned int what = r % 100;

		if (m->n < MODEL_LIVE && (!m->n || what < 50)) {
			unsigned long len = 1 + r2 % (r & BIT(8) ? 4 : max_len);
			u64 size = len * g - (r & BIT(9) ? (r2 >> 16) % g : 0);
			u64 align = 0;

			if (!(r & (3 << 10)))
				align = g << ((r >> 12) % align_bits);
			nomem += !model_alloc(m, size, len, align);
		} else {
			unsigned int i = r2 % m->n;

			if (what < 85 || m->live[i].len < 2) {
				model_release(m, i);
			} else {
				model_carve(m, i, prandom_u32_state(&rnd));
				carves++;
			}
		}
		model_agree(m);
	}
	kunit_info(test, "%u ops, %u live at the end, %u carves, %u -ENOMEM\n",
		   ops, m->n, carves, nomem);
	while (m->n)
		model_release(m, m->n - 1);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), fnmm_size(a));
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), fnmm_size(a));
}

/* fnmm_allocate() of @size bytes at @align; the address, or 0 if refused. */
static u64 model_try(struct fnmm_allocator *a, u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	return fnmm_allocate(a, &r) ? 0 : r.address;
}

/**
 * fnmm_test_aligned_rule() - the aligned-request rule on 32 pages
 * @test: the test
 * @a: a Split or Bit allocator of 32 pages, page granule, nothing held
 * @base: its base, aligned to 16 pages
 *
 * An aligned request is served as vm_unmapped_area() serves one: from a
 * run of n + a - 1 free pages or a free aligned block of max(n, a) pages
 * (both found in O(log pages)), never from a shorter run that happens to
 * be aligned.
 */
void fnmm_test_aligned_rule(struct kunit *test, struct fnmm_allocator *a,
			    u64 base)
{
	u64 x[32];
	int i;

	for (i = 0; i < 32; i++) {
		x[i] = model_try(a, PAGE_SIZE, 0);
		KUNIT_ASSERT_NE(test, x[i], 0ULL);
	}
	/* Pages 4..6 free: 2 pages fit at 4, 16 KiB-aligned, but no rule. */
	for (i = 4; i < 7; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, x[i]), 0);
	KUNIT_EXPECT_EQ(test, model_try(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, model_try(a, 3 * PAGE_SIZE, 0), x[4]);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[4]), 0);
	/* Pages 9..13: a run of 2 + 4 - 1, served at its aligned page 12. */
	for (i = 9; i < 14; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, x[i]), 0);
	KUNIT_EXPECT_EQ(test, model_try(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE),
			base + 12 * PAGE_SIZE);
	/* Page 7 free too: the aligned block 4..7 comes first. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[7]), 0);
	KUNIT_EXPECT_EQ(test, model_try(a, 2 * PAGE_SIZE, 4 * PAGE_SIZE),
			base + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}
