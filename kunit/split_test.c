// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the Split (buddy) allocator.
 */
#include <kunit/test.h>
#include <linux/sizes.h>
#include <linux/sched.h>
#include <linux/sort.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL
#define SPLIT_TEST_BATCH	8	/* SPLIT_MAG_BATCH in module/split.c */

static struct fnmm_allocator *mk_split_flags(struct kunit *test, u64 base,
					     u64 pages, unsigned int max_order,
					     unsigned int flags)
{
	struct fnmm_allocator *a = fnmm_split_create_flags(base,
							   pages * PAGE_SIZE,
							   max_order, flags);

	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	test->priv = a;
	return a;
}

static struct fnmm_allocator *mk_split(struct kunit *test, u64 base,
				       u64 pages, unsigned int max_order)
{
	return mk_split_flags(test, base, pages, max_order, 0);
}

static void split_test_exit(struct kunit *test)
{
	fnmm_destroy(test->priv);
}

static u64 split_alloc(struct kunit *test, struct fnmm_allocator *a,
		       u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &r), 0);
	return r.address;
}

static int split_try(struct fnmm_allocator *a, u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	return fnmm_allocate(a, &r);
}

/* Only one free block, of the largest order: the pristine state. */
static void expect_pristine(struct kunit *test, struct fnmm_allocator *a)
{
	unsigned int k, max = fnmm_split_max_order(a);

	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	fnmm_split_drain(a);

	for (k = 0; k < max; k++)
		KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, k), 0UL);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, max),
			(unsigned long)(fnmm_size(a) >> (PAGE_SHIFT + max)));
	KUNIT_EXPECT_EQ(test, fnmm_available(a), fnmm_size(a));
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

static void split_initial_state(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 1024, 0);

	KUNIT_EXPECT_EQ(test, fnmm_split_max_order(a), 10U);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 1024 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, a->granule, (u64)PAGE_SIZE);
	expect_pristine(test, a);
}

static const unsigned int orders[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void order_desc(const unsigned int *o, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "order %u", *o);
}

KUNIT_ARRAY_PARAM(order, orders, order_desc);

/* A block of each order is naturally aligned, split off and merged back. */
static void split_alloc_order(struct kunit *test)
{
	unsigned int k = *(const unsigned int *)test->param_value;
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 1024, 0);
	u64 size = PAGE_SIZE << k, addr;
	unsigned int j;

	addr = split_alloc(test, a, size, 0);
	KUNIT_EXPECT_EQ(test, addr & (size - 1), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, addr), size);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), fnmm_size(a) - size);
	/*
	 * Splitting 2^10 down to 2^k leaves one free buddy per order, once
	 * the magazine of a small order has given its other blocks back.
	 */
	fnmm_split_drain(a);
	for (j = k; j < 10; j++)
		KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, j), 1UL);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, addr), 0);
	expect_pristine(test, a);
}

static int cmp_u64(const void *x, const void *y)
{
	u64 a = *(const u64 *)x, b = *(const u64 *)y;

	return a < b ? -1 : a > b;
}

/* Single pages freed in a scattered order all merge back. */
static void split_coalesce_scattered(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 64, 0);
	u64 addrs[64];
	int i;

	for (i = 0; i < 64; i++)
		addrs[i] = split_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, split_try(a, PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 0ULL);
	/*
	 * By address: a test moved to another CPU between two allocations
	 * gets its pages from two magazines, in no order (CI on SMP x86
	 * once freed two neighbours, which then served a 2-page request).
	 */
	sort(addrs, 64, sizeof(addrs[0]), cmp_u64, NULL);
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, addrs[i], TEST_BASE + i * PAGE_SIZE);
	/* Odd indices first: 32 free order-0 blocks, none can merge. */
	for (i = 1; i < 64; i += 2)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[i]), 0);
	fnmm_split_drain(a);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 0), 32UL);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, split_try(a, 2 * PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	for (i = 62; i >= 0; i -= 2)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[i]), 0);
	expect_pristine(test, a);
}

/* Freeing a page merges with its free buddy and only with it. */
static void split_buddy_merge(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 4, 0);
	u64 p0 = split_alloc(test, a, PAGE_SIZE, 0);
	u64 p1 = split_alloc(test, a, PAGE_SIZE, 0);
	u64 p2 = split_alloc(test, a, PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, p1, p0 + PAGE_SIZE);	/* buddies */
	KUNIT_EXPECT_EQ(test, p2, p0 + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, p1), 0);
	fnmm_split_drain(a);
	/* p1's buddy p0 is used: p1 stays an order-0 block. */
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 0), 2UL);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, p0), 0);
	fnmm_split_drain(a);
	/* p0+p1 merged to order 1; its buddy (p2, p3) is not whole. */
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 0), 1UL);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 1), 1UL);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, p2), 0);
	expect_pristine(test, a);
}

/* A request of n pages holds n pages, not the next power of two. */
static void split_exact_pages(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 0);
	u64 x = split_alloc(test, a, 3 * PAGE_SIZE, 0);
	u64 y, z;

	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 13 * PAGE_SIZE);
	/* The fourth page of x's order-2 block is free and handed out. */
	y = split_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, x + 3 * PAGE_SIZE);
	z = split_alloc(test, a, 5 * PAGE_SIZE - 100, 0);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, z), 5 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 7 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, z), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	expect_pristine(test, a);
}

static const u64 aligns[] = { SZ_4K, SZ_64K, SZ_1M, SZ_2M };

static void align_desc(const u64 *al, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "align %llu", *al);
}

KUNIT_ARRAY_PARAM(align, aligns, align_desc);

/* Alignment is physical, even when the base is not aligned. */
static void split_alignment(struct kunit *test)
{
	u64 al = *(const u64 *)test->param_value;
	u64 base = TEST_BASE + 5 * PAGE_SIZE, end = base + 4096 * PAGE_SIZE;
	struct fnmm_allocator *a = mk_split(test, base, 4096, 0);
	u64 free0 = fnmm_available(a), addrs[4];
	int i;

	for (i = 0; i < 4; i++) {
		addrs[i] = split_alloc(test, a, PAGE_SIZE, al);
		KUNIT_EXPECT_EQ(test, addrs[i] & (al - 1), 0ULL);
		KUNIT_EXPECT_GE(test, addrs[i], base);
		KUNIT_EXPECT_LE(test, addrs[i] + PAGE_SIZE, end);
		KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, addrs[i]), (u64)PAGE_SIZE);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(a), free0 - 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, addrs[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), free0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* An odd base and size: every page is usable, none outside. */
static void split_odd_range(struct kunit *test)
{
	u64 base = TEST_BASE + 3 * PAGE_SIZE, end = base + 37 * PAGE_SIZE;
	struct fnmm_allocator *a = mk_split(test, base, 37, 0);
	u64 seen[37], addr;
	int i, j;

	KUNIT_EXPECT_EQ(test, fnmm_available(a), 37 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	for (i = 0; i < 37; i++) {
		addr = split_alloc(test, a, PAGE_SIZE, 0);
		KUNIT_EXPECT_GE(test, addr, base);
		KUNIT_EXPECT_LT(test, addr, end);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, addr, seen[j]);
		seen[i] = addr;
	}
	KUNIT_EXPECT_EQ(test, split_try(a, PAGE_SIZE, 0), -ENOMEM);
	for (i = 0; i < 37; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, seen[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 37 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	/* 37 pages at base+3: 16 pages aligned, but the run is whole. */
	fnmm_split_drain(a);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 4), 1UL);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 37 * PAGE_SIZE);
	addr = split_alloc(test, a, 37 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, addr, base);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, addr), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* Carving gives part of an allocation back (ReleaseSections). */
static void split_carve_sections(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 0);
	u64 x = split_alloc(test, a, 8 * PAGE_SIZE, 0), free1;

	free1 = fnmm_available(a);
	/* Rejected carves change nothing. */
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 100), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 8 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 9 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x + PAGE_SIZE, PAGE_SIZE),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x + 1, PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);

	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x + 2 * PAGE_SIZE,
					       4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	/* Release the middle four pages only. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), free1 + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x + 6 * PAGE_SIZE),
			2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 6 * PAGE_SIZE), 0);
	expect_pristine(test, a);
}

/* Limits of a small max order. */
static void split_max_order_limits(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 64, 4);

	KUNIT_EXPECT_EQ(test, fnmm_split_max_order(a), 4U);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 4), 4UL);
	/* Adjacent blocks of the top order still form one run. */
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, split_try(a, 65 * PAGE_SIZE, 0), -E2BIG);
	KUNIT_EXPECT_EQ(test, split_try(a, PAGE_SIZE, 32 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, split_try(a, 16 * PAGE_SIZE, 16 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 48 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, split_try(a, 40 * PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

/* Releasing a page inside an allocation is refused, not half-done. */
static void split_release_interior(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 0);
	u64 x = split_alloc(test, a, 4 * PAGE_SIZE, 0);
	u64 free1 = fnmm_available(a);

	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 3 * PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), free1);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x + PAGE_SIZE), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	expect_pristine(test, a);
}

/* Free space split across non-buddy blocks still serves a request. */
static void split_run_fallback(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 0);
	u64 x[4], y;
	int i;

	for (i = 0; i < 4; i++)
		x[i] = split_alloc(test, a, 4 * PAGE_SIZE, 0);
	/* Pages 4..11 free: two order-2 blocks that are not buddies. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[1]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[2]), 0);
	fnmm_split_drain(a);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 3), 0UL);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 8 * PAGE_SIZE);
	/* 8-aligned runs of 8 pages: none (4..11 is not aligned). */
	KUNIT_EXPECT_EQ(test, split_try(a, 8 * PAGE_SIZE, 8 * PAGE_SIZE),
			-ENOMEM);
	y = split_alloc(test, a, 8 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, TEST_BASE + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, y), 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	/* Released, it coalesces with whatever its pieces' buddies are. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[0]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x[3]), 0);
	expect_pristine(test, a);
}

/*
 * A small block released goes on its CPU's magazine: not live (a second
 * release, a carve and alloc_size see no allocation), still free to
 * available(), in use to the index until a drain (largest() drains), and
 * handed out again first on that CPU.
 */
static void split_magazine(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 64, 0);
	unsigned long *map = kunit_kzalloc(test, BITS_TO_LONGS(64) *
					   sizeof(long), GFP_KERNEL);
	u64 x, y;

	KUNIT_ASSERT_NOT_NULL(test, map);
	migrate_disable();
	x = split_alloc(test, a, 2 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_carve(a, x, PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_cached(a, map),
			(unsigned long)SPLIT_TEST_BATCH * 2);
	KUNIT_EXPECT_TRUE(test, test_bit((x - TEST_BASE) / PAGE_SIZE, map));
	KUNIT_EXPECT_LT(test, fnmm_longest(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	y = split_alloc(test, a, 2 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, x);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	migrate_enable();
	/* largest() drains: everything is one run again. */
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_longest(a), 64 * PAGE_SIZE);
	bitmap_zero(map, 64);
	KUNIT_EXPECT_EQ(test, fnmm_cached(a, map), 0UL);
	expect_pristine(test, a);
}

/*
 * Every page released into the magazines, then the whole range asked
 * for at once: the request drains them and succeeds.
 */
static void split_magazine_pressure(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 64, 0);
	u64 x[64];
	int i;

	for (i = 0; i < 64; i++)
		x[i] = split_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, split_try(a, PAGE_SIZE, 0), -ENOMEM);
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(a, x[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_LT(test, fnmm_longest(a), 64 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, split_alloc(test, a, 64 * PAGE_SIZE, 0),
			TEST_BASE);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE), 0);
	expect_pristine(test, a);
}

/* The aligned-request rule (kunit/model.c) on Split. */
static void split_aligned_rule(struct kunit *test)
{
	fnmm_test_aligned_rule(test, mk_split(test, TEST_BASE, 32, 0),
			       TEST_BASE);
}

/* Small blocks come back LIFO from their cache; bigger requests drain. */
static void split_small_cache(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 0);
	u64 x = split_alloc(test, a, PAGE_SIZE, 0), y;

	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), 16 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), 16 * PAGE_SIZE);
	/* Cached, so neither released again nor carved. */
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, x), 0ULL);
	y = split_alloc(test, a, PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, x);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	/* A refused request leaves the cache alone. */
	KUNIT_EXPECT_EQ(test, split_try(a, 16 * PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE), 0);
	x = split_alloc(test, a, 8 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, split_try(a, 9 * PAGE_SIZE, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	/* The whole range needs the cached blocks: they are drained. */
	y = split_alloc(test, a, 16 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, y, TEST_BASE);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), 0);
	expect_pristine(test, a);
}

/* A block above the max order (served from a run) is never cached. */
static void split_cache_max_order(struct kunit *test)
{
	struct fnmm_allocator *a = mk_split(test, TEST_BASE, 16, 1);
	u64 x = split_alloc(test, a, 8 * PAGE_SIZE, 0);

	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	fnmm_split_drain(a);
	KUNIT_EXPECT_EQ(test, fnmm_split_free_blocks(a, 1), 8UL);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
}

struct split_rand_param {
	unsigned int offset;	/* pages from TEST_BASE to the base */
	unsigned int pages;
	unsigned int max_order;	/* 0: the largest that fits */
	unsigned int flags;	/* FNMM_NO_PERCPU: placement checked too */
};

static const struct split_rand_param split_rands[] = {
	{ 0, 256, 0 }, { 3, 300, 0 }, { 0, 256, 3 }, { 5, 64, 1 },
	{ 0, 256, 0, FNMM_NO_PERCPU }, { 3, 300, 0, FNMM_NO_PERCPU },
	{ 5, 64, 1, FNMM_NO_PERCPU },
};

static void split_rand_desc(const struct split_rand_param *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE,
		 "%u pages at base+%u, max order %u%s", p->pages, p->offset,
		 p->max_order, p->flags ? ", no per-CPU (exact first fit)" : "");
}

KUNIT_ARRAY_PARAM(split_rand, split_rands, split_rand_desc);

/*
 * Seeded random allocations, releases and carves against the reference
 * model: fnmm_check() after every operation, and a refused request only
 * when no aligned run of free pages could hold it (Split serves any run
 * of adjacent free blocks when no power-of-two block fits).
 */
static void split_random(struct kunit *test)
{
	const struct split_rand_param *p = test->param_value;
	struct fnmm_allocator *a = mk_split_flags(test,
						  TEST_BASE + p->offset * PAGE_SIZE,
						  p->pages, p->max_order,
						  p->flags);
	unsigned long max_align = 1UL << min(fnmm_split_max_order(a), 6U);

	fnmm_model_random(test, a, p - split_rands, 3000, p->pages / 4,
			  max_align, p->flags & FNMM_NO_PERCPU);
}

static struct kunit_case split_cases[] = {
	KUNIT_CASE(split_initial_state),
	KUNIT_CASE_PARAM(split_alloc_order, order_gen_params),
	KUNIT_CASE(split_coalesce_scattered),
	KUNIT_CASE(split_buddy_merge),
	KUNIT_CASE(split_exact_pages),
	KUNIT_CASE_PARAM(split_alignment, align_gen_params),
	KUNIT_CASE(split_odd_range),
	KUNIT_CASE(split_carve_sections),
	KUNIT_CASE(split_max_order_limits),
	KUNIT_CASE(split_release_interior),
	KUNIT_CASE(split_run_fallback),
	KUNIT_CASE(split_aligned_rule),
	KUNIT_CASE(split_magazine),
	KUNIT_CASE(split_magazine_pressure),
	KUNIT_CASE(split_small_cache),
	KUNIT_CASE(split_cache_max_order),
	KUNIT_CASE_PARAM(split_random, split_rand_gen_params),
	{}
};

static struct kunit_suite split_suite = {
	.name = "fnmm_split",
	.suite_init = fnmm_test_suite_seed,
	.exit = split_test_exit,
	.test_cases = split_cases,
};

kunit_test_suites(&split_suite);
