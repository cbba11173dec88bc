// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the Bit allocator.
 */
#include <kunit/test.h>
#include <linux/sched.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL

static struct fnmm_allocator *mk_bit_flags(struct kunit *test, u64 base,
					   u64 chunks, u64 chunk,
					   unsigned int flags)
{
	struct fnmm_allocator *a = fnmm_bit_create_flags(base, chunks * chunk,
							 chunk, flags);

	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	test->priv = a;
	return a;
}

static struct fnmm_allocator *mk_bit(struct kunit *test, u64 base,
				     u64 chunks, u64 chunk)
{
	return mk_bit_flags(test, base, chunks, chunk, 0);
}

static void bit_test_exit(struct kunit *test)
{
	fnmm_destroy(test->priv);
}

static u64 bit_alloc(struct kunit *test, struct fnmm_allocator *a,
		     u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &r), 0);
	return r.address;
}

static int bit_try(struct fnmm_allocator *a, u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	return fnmm_allocate(a, &r);
}

static void bit_initial_state(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 100, PAGE_SIZE);

	KUNIT_EXPECT_EQ(test, fnmm_available(a), 100 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 100 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, a->granule, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

struct run_param {
	u64 chunk;
	unsigned int run;
};

static const struct run_param runs[] = {
	{ PAGE_SIZE, 1 }, { PAGE_SIZE, 8 }, { PAGE_SIZE, 64 },
	{ 64, 1 }, { 64, 8 }, { 64, 64 },
};

static void run_desc(const struct run_param *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "chunk %llu run %u", p->chunk,
		 p->run);
}

KUNIT_ARRAY_PARAM(run, runs, run_desc);

/* Runs are contiguous, laid out one after another, and freed exactly. */
static void bit_runs(struct kunit *test)
{
	const struct run_param *p = test->param_value;
	u64 size = p->run * p->chunk, total = 1024 * p->chunk;
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 1024, p->chunk);
	unsigned int n = 1024 / p->run, i;
	u64 addr;

	for (i = 0; i < n; i++) {
		addr = bit_alloc(test, a, size, 0);
		/* Next fit from a fresh map: strictly consecutive. */
		KUNIT_EXPECT_EQ(test, addr, TEST_BASE + i * size);
		KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, addr), size);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 0ULL);
	KUNIT_EXPECT_EQ(test, bit_try(a, p->chunk, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	/* Adjacent runs: freeing one frees exactly its own chunks. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE + size), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), size);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, TEST_BASE), size);
	if (n > 2)
		KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, TEST_BASE + 2 * size),
				size);
	KUNIT_EXPECT_EQ(test, bit_try(a, size + p->chunk, 0), -ENOMEM);
	addr = bit_alloc(test, a, size, 0);
	KUNIT_EXPECT_EQ(test, addr, TEST_BASE + size);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE + i * size), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), total);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), total);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* First fit from the lowest free chunk: a freed low chunk is reused. */
static void bit_first_fit_hint(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 8, PAGE_SIZE);
	u64 x = bit_alloc(test, a, PAGE_SIZE, 0);
	u64 y = bit_alloc(test, a, PAGE_SIZE, 0);
	u64 z = bit_alloc(test, a, 2 * PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, y, x + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, z, y + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	/* Two chunks do not fit at x: they go after z, x stays free. */
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, 2 * PAGE_SIZE, 0),
			z + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, PAGE_SIZE, 0), x);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, 2 * PAGE_SIZE, 0),
			z + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 0ULL);
	KUNIT_EXPECT_EQ(test, bit_try(a, PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

static const u64 bit_aligns[] = { 2, 4, 16, 64 };

static void bit_align_desc(const u64 *al, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "align %llu chunks", *al);
}

KUNIT_ARRAY_PARAM(bit_align, bit_aligns, bit_align_desc);

/* Alignment is of the address, with a base that is not aligned. */
static void bit_alignment(struct kunit *test)
{
	u64 al = *(const u64 *)test->param_value * PAGE_SIZE;
	u64 base = TEST_BASE + 3 * PAGE_SIZE;
	struct fnmm_allocator *a = mk_bit(test, base, 512, PAGE_SIZE);
	u64 addrs[4];
	int i;

	for (i = 0; i < 4; i++) {
		addrs[i] = bit_alloc(test, a, 3 * PAGE_SIZE, al);
		KUNIT_EXPECT_EQ(test, addrs[i] & (al - 1), 0ULL);
		KUNIT_EXPECT_GE(test, addrs[i], base);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 500 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 512 * PAGE_SIZE);
}

/* A run fits only where enough contiguous chunks are free. */
static void bit_fragmented_fit(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 64, PAGE_SIZE);
	u64 addrs[8];
	int i;

	for (i = 0; i < 8; i++)
		addrs[i] = bit_alloc(test, a, 8 * PAGE_SIZE, 0);
	/* Free runs 2 and 5: 16 chunks free, but the largest hole is 8. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[2]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[5]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 16 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bit_try(a, 9 * PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 16 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, 8 * PAGE_SIZE, 0), addrs[2]);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, 8 * PAGE_SIZE, 0), addrs[5]);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/*
 * A single chunk released goes on its CPU's magazine: not live (a second
 * release, a carve and alloc_size see no allocation), still free to
 * available(), in use to the index until a drain (largest() drains), and
 * handed out again first on that CPU.  An empty magazine is refilled with
 * a free aligned block of 32 chunks, handed out from its lowest.
 */
static void bit_magazine(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 512, PAGE_SIZE);
	unsigned long *map = kunit_kzalloc(test, BITS_TO_LONGS(512) *
					   sizeof(long), GFP_KERNEL);
	u64 x, y;

	KUNIT_ASSERT_NOT_NULL(test, map);
	migrate_disable();
	x = bit_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, x, TEST_BASE);
	KUNIT_EXPECT_EQ(test, fnmm_cached(a, map), 31UL);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, PAGE_SIZE, 0),
			TEST_BASE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE + PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 512 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_longest(a), 480 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	y = bit_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, x);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, y), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 512 * PAGE_SIZE);
	bitmap_zero(map, 512);
	KUNIT_EXPECT_EQ(test, fnmm_cached(a, map), 0UL);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/*
 * Every chunk released into the magazines, then the whole range asked
 * for at once: the request drains them and succeeds.
 */
static void bit_magazine_pressure(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 200, PAGE_SIZE);
	u64 *x = kunit_kcalloc(test, 200, sizeof(*x), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, x);
	for (i = 0; i < 200; i++)
		x[i] = bit_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, bit_try(a, PAGE_SIZE, 0), -ENOMEM);
	for (i = 0; i < 200; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, x[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 200 * PAGE_SIZE);
	KUNIT_EXPECT_LT(test, fnmm_longest(a), 200 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, bit_alloc(test, a, 200 * PAGE_SIZE, 0),
			TEST_BASE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 200 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* The aligned-request rule (kunit/model.c) on Bit. */
static void bit_aligned_rule(struct kunit *test)
{
	fnmm_test_aligned_rule(test, mk_bit(test, TEST_BASE, 32, PAGE_SIZE),
			       TEST_BASE);
}

/* A chunk inside a run is not an allocation: refused, nothing freed. */
static void bit_release_interior(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 64, PAGE_SIZE);
	u64 x = bit_alloc(test, a, 4 * PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 3 * PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 4 * PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 60 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 64 * PAGE_SIZE);
}

/* The last chunk of the map is usable and the map ends exactly there. */
static void bit_tail_chunk(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 65, PAGE_SIZE);
	u64 x = bit_alloc(test, a, 64 * PAGE_SIZE, 0);
	u64 y = bit_alloc(test, a, PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, y, TEST_BASE + 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bit_try(a, PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, y), (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 65 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* Carving: part of a run is released, the rest stays live. */
static void bit_carve_sections(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bit(test, TEST_BASE, 16, PAGE_SIZE);
	u64 x = bit_alloc(test, a, 8 * PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, PAGE_SIZE / 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 8 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x + PAGE_SIZE, PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 13 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 16 * PAGE_SIZE);
}

struct bit_rand_param {
	u64 chunk;
	unsigned int offset;	/* chunks from TEST_BASE to the base */
	unsigned int chunks;
	unsigned int flags;	/* FNMM_NO_PERCPU: placement checked too */
};

static const struct bit_rand_param bit_rands[] = {
	{ PAGE_SIZE, 0, 256 }, { PAGE_SIZE, 3, 300 }, { 64, 3, 1024 },
	{ 512, 5, 500 },
	{ PAGE_SIZE, 3, 300, FNMM_NO_PERCPU }, { 64, 3, 1024, FNMM_NO_PERCPU },
};

static void bit_rand_desc(const struct bit_rand_param *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u chunks of %llu at base+%u%s",
		 p->chunks, p->chunk, p->offset,
		 p->flags ? ", no per-CPU (exact first fit)" : "");
}

KUNIT_ARRAY_PARAM(bit_rand, bit_rands, bit_rand_desc);

/*
 * Seeded random allocations, releases and carves against the reference
 * model: fnmm_check() after every operation, and a refused request only
 * when no aligned run of free chunks could hold it (first fit).
 */
static void bit_random(struct kunit *test)
{
	const struct bit_rand_param *p = test->param_value;
	struct fnmm_allocator *a = mk_bit_flags(test,
						TEST_BASE + p->offset * p->chunk,
						p->chunks, p->chunk, p->flags);

	fnmm_model_random(test, a, p - bit_rands, 3000, p->chunks / 4, 64,
			  p->flags & FNMM_NO_PERCPU);
}

static struct kunit_case bit_cases[] = {
	KUNIT_CASE(bit_initial_state),
	KUNIT_CASE_PARAM(bit_runs, run_gen_params),
	KUNIT_CASE(bit_first_fit_hint),
	KUNIT_CASE_PARAM(bit_alignment, bit_align_gen_params),
	KUNIT_CASE(bit_fragmented_fit),
	KUNIT_CASE(bit_aligned_rule),
	KUNIT_CASE(bit_magazine),
	KUNIT_CASE(bit_magazine_pressure),
	KUNIT_CASE(bit_release_interior),
	KUNIT_CASE(bit_tail_chunk),
	KUNIT_CASE(bit_carve_sections),
	KUNIT_CASE_PARAM(bit_random, bit_rand_gen_params),
	{}
};

static struct kunit_suite bit_suite = {
	.name = "fnmm_bit",
	.suite_init = fnmm_test_suite_seed,
	.exit = bit_test_exit,
	.test_cases = bit_cases,
};

kunit_test_suites(&bit_suite);
