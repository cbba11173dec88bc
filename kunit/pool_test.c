// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the Pool allocator, over Split and over Bit parents.
 */
#include <kunit/test.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL

struct pool_ctx {
	struct fnmm_allocator *parent;
	struct fnmm_allocator *pool;
};

static struct pool_ctx *mk_pool(struct kunit *test, bool bit_parent,
				u64 pages)
{
	struct pool_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	if (bit_parent)
		ctx->parent = fnmm_bit_create(TEST_BASE, pages * PAGE_SIZE,
					      PAGE_SIZE);
	else
		ctx->parent = fnmm_split_create(TEST_BASE, pages * PAGE_SIZE,
						0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->parent));
	ctx->pool = fnmm_pool_create(ctx->parent, FNMM_POOL_MIN_SHIFT,
				     PAGE_SHIFT - 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pool));
	return ctx;
}

/* Where an object comes from depends on the CPU (one sub-pool each). */
static int pool_test_init(struct kunit *test)
{
	fnmm_test_pin_cpu();
	return 0;
}

static void pool_test_exit(struct kunit *test)
{
	struct pool_ctx *ctx = test->priv;

	if (!ctx)
		return;
	fnmm_destroy(ctx->pool);
	fnmm_destroy(ctx->parent);
}

static u64 pool_alloc(struct kunit *test, struct fnmm_allocator *a,
		      u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &r), 0);
	return r.address;
}

static int pool_try(struct fnmm_allocator *a, u64 size, u64 align)
{
	struct fnmm_range r = { .size = size, .alignment = align };

	return fnmm_allocate(a, &r);
}

static const unsigned int shifts[] = { 3, 4, 5, 6, 7, 8, 9, 10, 11 };

static void shift_desc(const unsigned int *s, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u-byte objects", 1U << *s);
}

KUNIT_ARRAY_PARAM(shift, shifts, shift_desc);

/*
 * The bytes of a slab of 2^@shift-byte objects, as module/pool.c states
 * its rule: a page while a page holds 16, else the pages that hold 32,
 * at most 8.
 */
static u64 slab_size(unsigned int shift)
{
	u64 per_page = PAGE_SIZE >> shift;

	if (per_page >= 16)
		return PAGE_SIZE;
	return min_t(u64, 32 / per_page, 8) * PAGE_SIZE;
}

/*
 * One class: objects are naturally aligned, fill a slab (of its class's
 * size, aligned to it) before the next slab is taken, and the slabs go
 * back when the objects do.
 */
static void pool_class_fill(struct kunit *test)
{
	unsigned int shift = *(const unsigned int *)test->param_value;
	struct pool_ctx *ctx = mk_pool(test, false, 16);
	u64 obj = 1ULL << shift, slab = slab_size(shift), per = slab / obj;
	u64 pfree = fnmm_available(ctx->parent), i, first, addr;

	if (shift >= PAGE_SHIFT)
		kunit_skip(test, "class larger than half a page");
	first = pool_alloc(test, ctx->pool, obj, 0);
	KUNIT_EXPECT_EQ(test, first & (slab - 1), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, first), obj);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->parent, first), slab);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - slab);
	for (i = 1; i < per; i++) {
		addr = pool_alloc(test, ctx->pool, obj, 0);
		/* Same slab until it is full. */
		KUNIT_EXPECT_EQ(test, addr & ~(slab - 1), first);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->pool), 0ULL);
	addr = pool_alloc(test, ctx->pool, obj, 0);
	KUNIT_EXPECT_NE(test, addr & ~(slab - 1), first);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - 2 * slab);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * slab);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* Objects on every page of a slab are found and sized. */
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, first + slab - obj),
			obj);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, addr + obj), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, addr + slab - obj),
			-ENOENT);

	/* The lone object's slab empties and is kept as the spare. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, addr), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * slab);
	for (i = 0; i < per - 1; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, first + i * obj),
				0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * slab);
	/* The last object: its slab and the spare go back. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, first + (per - 1) * obj),
			0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
}

/*
 * One spare page per pool, of no class: an empty page is kept only while
 * objects live, any class takes it without asking the parent, and the
 * last release gives every page back.
 */
static void pool_one_spare(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 16);
	u64 pfree = fnmm_available(ctx->parent);
	u64 keep = pool_alloc(test, ctx->pool, 8, 0);
	u64 a = pool_alloc(test, ctx->pool, 64, 0);
	u64 b = pool_alloc(test, ctx->pool, 128, 0);
	u64 c;

	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - 3 * PAGE_SIZE);
	/* a's page empties: kept as the spare; b's then goes back. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, b), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* Another class takes the spare: the parent is not asked. */
	c = pool_alloc(test, ctx->pool, 1024, 0);
	KUNIT_EXPECT_EQ(test, c & PAGE_MASK, a & PAGE_MASK);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, c), 1024ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* A spare is no object: releasing into it is refused. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, c), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, c), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, c), 0ULL);
	/* Trim gives the spare back at once. */
	fnmm_pool_trim(ctx->pool);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	a = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * PAGE_SIZE);
	/* The last object: nothing is held any more. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, keep), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_largest(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/* Sizes round up to the next class; alignment can raise the class. */
static void pool_size_rounding(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 16);
	u64 a1 = pool_alloc(test, ctx->pool, 1, 0);
	u64 a24 = pool_alloc(test, ctx->pool, 24, 0);
	u64 a100 = pool_alloc(test, ctx->pool, 100, 0);
	u64 al = pool_alloc(test, ctx->pool, 16, 256);

	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, a1), 8ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, a24), 32ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, a100), 128ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, al), 256ULL);
	KUNIT_EXPECT_EQ(test, al & 255, 0ULL);
	/* Four classes: four pages from the parent. */
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
}

/* Inputs the pool refuses, each leaving it unchanged. */
static void pool_rejects(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 16);
	u64 x = pool_alloc(test, ctx->pool, 64, 0);
	u64 held = fnmm_pool_held(ctx->pool), avail;
	u64 pfree = fnmm_available(ctx->parent);
	struct fnmm_range r = { .size = PAGE_SIZE };
	u64 page;

	avail = fnmm_available(ctx->pool);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, PAGE_SIZE / 2 + 1, 0), -E2BIG);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, PAGE_SIZE, 0), -E2BIG);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, 8, PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, 8, 0), 0 /* sanity */);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x + 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x + 64), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, TEST_BASE - 64), -EINVAL);
	/* A parent page that is not a pool page. */
	KUNIT_ASSERT_EQ(test, fnmm_allocate(ctx->parent, &r), 0);
	page = r.address;
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, page), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->parent, page), 0);
	KUNIT_EXPECT_EQ(test, fnmm_carve(ctx->pool, x, 8), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x), -ENOENT);
	/* x's page stays as the pool's spare; 8-byte page holds one. */
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), held + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->pool),
			avail + 64 + PAGE_SIZE - 8);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree - PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
}

/* The parent running dry is -ENOMEM, and everything comes back. */
static void pool_parent_exhaustion(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, true, 2);
	u64 per = PAGE_SIZE / 1024, addrs[8];
	unsigned int i;

	KUNIT_ASSERT_LE(test, 2 * per, (u64)ARRAY_SIZE(addrs));
	for (i = 0; i < 2 * per; i++)
		addrs[i] = pool_alloc(test, ctx->pool, 1024, 0);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, 1024, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, 8, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_largest(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	for (i = 0; i < 2 * per; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, addrs[i]), 0);
	fnmm_pool_trim(ctx->pool);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/* Destroying a pool with live objects returns all its pages. */
static void pool_destroy_returns_pages(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 64);
	u64 pfree = fnmm_available(ctx->parent);
	unsigned int i;

	for (i = 0; i < 300; i++)
		pool_alloc(test, ctx->pool, 8 + (i % 9) * 100, 0);
	KUNIT_EXPECT_LT(test, fnmm_available(ctx->parent), pfree);
	fnmm_destroy(ctx->pool);
	ctx->pool = NULL;
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/*
 * Pool pages never overlap the parent's other allocations; with no
 * aligned block of its size free, a slab is the largest one there is.
 */
static void pool_shares_parent(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, true, 8);
	struct fnmm_range r = { .size = 5 * PAGE_SIZE };
	struct fnmm_range r1 = { .size = PAGE_SIZE }, r2 = r1;
	u64 o1, o2;

	/* Pages 0-4 and 6 used: 5 and 7 free, no aligned pair. */
	KUNIT_ASSERT_EQ(test, fnmm_allocate(ctx->parent, &r), 0);
	KUNIT_ASSERT_EQ(test, fnmm_allocate(ctx->parent, &r1), 0);
	KUNIT_ASSERT_EQ(test, fnmm_allocate(ctx->parent, &r2), 0);
	KUNIT_ASSERT_EQ(test, fnmm_release(ctx->parent, r1.address), 0);
	o1 = pool_alloc(test, ctx->pool, 512, 0);
	o2 = pool_alloc(test, ctx->pool, 2048, 0);
	KUNIT_EXPECT_TRUE(test, o1 < r.address || o1 >= r.address + r.size);
	KUNIT_EXPECT_TRUE(test, o2 < r.address || o2 >= r.address + r.size);
	KUNIT_EXPECT_NE(test, o1 & PAGE_MASK, o2 & PAGE_MASK);
	KUNIT_EXPECT_NE(test, o1 & PAGE_MASK, r2.address);
	KUNIT_EXPECT_NE(test, o2 & PAGE_MASK, r2.address);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), 0ULL);
	KUNIT_EXPECT_EQ(test, pool_try(ctx->pool, 64, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/*
 * A multi-page slab is the spare like a page: any class takes it, its
 * objects are found on every page, and it goes back whole.
 */
static void pool_big_slab_spare(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 64);
	u64 pfree = fnmm_available(ctx->parent), big = slab_size(10);
	u64 keep = pool_alloc(test, ctx->pool, 8, 0);
	u64 x = pool_alloc(test, ctx->pool, 1024, 0), y, last = 0;
	unsigned int i;

	KUNIT_ASSERT_GT(test, big, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, x & (big - 1), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), PAGE_SIZE + big);
	/* x's slab empties: the spare, of 8 pages. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), PAGE_SIZE + big);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent),
			pfree - PAGE_SIZE - big);
	/* A 64-byte class takes it: big / 64 objects in it, no new slab. */
	y = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_EXPECT_EQ(test, y, x);
	for (i = 1; i < big / 64; i++)
		last = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_EXPECT_EQ(test, last, x + big - 64);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, last), 64ULL);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), PAGE_SIZE + big);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* Released from its last page first, then all. */
	for (i = big / 64; i-- > 0;)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x + i * 64), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, last), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, keep), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_largest(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/*
 * A slab's bitmap counts a page of 8-byte objects: an 8-page spare is
 * not for classes below 64 bytes (they make a page of their own), and a
 * 64-byte class fills it with 512.
 */
static void pool_big_spare_small_class(struct kunit *test)
{
	struct pool_ctx *ctx = mk_pool(test, false, 64);
	u64 big = slab_size(11), per = big / 64, x, small, y;
	u64 keep = pool_alloc(test, ctx->pool, 1024, 0);
	u64 *objs = kunit_kcalloc(test, per, sizeof(*objs), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, objs);
	KUNIT_ASSERT_EQ(test, per, PAGE_SIZE / 8);
	x = pool_alloc(test, ctx->pool, 2048, 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * big);
	/* 32-byte objects: 1024 would not fit the bitmap; a page of them. */
	small = pool_alloc(test, ctx->pool, 32, 0);
	KUNIT_EXPECT_TRUE(test, small < x || small >= x + big);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 2 * big + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* 64-byte objects take the spare: 512 of them, then a new slab. */
	for (i = 0; i < per; i++) {
		objs[i] = pool_alloc(test, ctx->pool, 64, 0);
		KUNIT_EXPECT_EQ(test, objs[i], x + i * 64);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->pool),
			big - 1024 + PAGE_SIZE - 32);
	y = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_EXPECT_TRUE(test, y < x || y >= x + big);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool),
			2 * big + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	for (i = 0; i < per; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, objs[i]), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, y), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, small), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, keep), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->parent), 0);
}

/*
 * A slab that goes back leaves a marker in its slot (the xarray's nodes
 * stay); a later slab of the pool may cover that page without starting
 * on it.  Its objects there are still found by a lookup (the CPU's hint
 * is moved to another slab first), the marker's page taken over when a
 * slab starts on it, and trim removes the marker.  Split without
 * magazines, so that each block is the lowest free one.
 */
static void pool_marker_in_slab(struct kunit *test)
{
	struct pool_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct fnmm_range hold = { .size = PAGE_SIZE };
	u64 o, x, k, objs[8], pfree;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	ctx->parent = fnmm_split_create_flags(TEST_BASE, 64 * PAGE_SIZE, 0,
					      FNMM_NO_PERCPU);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->parent));
	ctx->pool = fnmm_pool_create(ctx->parent, FNMM_POOL_MIN_SHIFT,
				     PAGE_SHIFT - 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pool));
	pfree = fnmm_available(ctx->parent);
	/* Page 0 held elsewhere: a 64 B slab on page 1, gone again. */
	KUNIT_ASSERT_EQ(test, fnmm_allocate(ctx->parent, &hold), 0);
	KUNIT_ASSERT_EQ(test, hold.address, TEST_BASE);
	o = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_ASSERT_EQ(test, o, TEST_BASE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, o), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_pool_slots(ctx->pool), 1UL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	/* Again: the slab starts on the marker's page and takes it over. */
	KUNIT_EXPECT_EQ(test, pool_alloc(test, ctx->pool, 64, 0), o);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, o), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->parent, hold.address), 0);
	/* An 8-page slab over pages 0-7: the marker sits on its page 1. */
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = pool_alloc(test, ctx->pool, 1024, 0);
		KUNIT_EXPECT_EQ(test, objs[i], TEST_BASE + i * 1024);
	}
	x = objs[4];	/* the first object on page 1 */
	KUNIT_EXPECT_EQ(test, x, o);
	/* A 64 B slab on page 8; looking its object up moves the hint. */
	k = pool_alloc(test, ctx->pool, 64, 0);
	KUNIT_EXPECT_EQ(test, k, TEST_BASE + 8 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, k), 64ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, x), 1024ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, objs[7]), 1024ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	for (i = ARRAY_SIZE(objs); i-- > 0;) {
		KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->pool, k), 64ULL);
		KUNIT_EXPECT_EQ_MSG(test, fnmm_release(ctx->pool, objs[i]), 0,
				    "object %u", i);
	}
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->pool, k), 0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_slots(ctx->pool), 1UL);
	fnmm_pool_trim(ctx->pool);
	KUNIT_EXPECT_EQ(test, fnmm_pool_slots(ctx->pool), 0UL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->pool), 0);
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(ctx->pool), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_available(ctx->parent), pfree);
	KUNIT_EXPECT_EQ(test, fnmm_largest(ctx->parent), pfree);
}

static struct kunit_case pool_cases[] = {
	KUNIT_CASE_PARAM(pool_class_fill, shift_gen_params),
	KUNIT_CASE(pool_size_rounding),
	KUNIT_CASE(pool_one_spare),
	KUNIT_CASE(pool_rejects),
	KUNIT_CASE(pool_parent_exhaustion),
	KUNIT_CASE(pool_destroy_returns_pages),
	KUNIT_CASE(pool_shares_parent),
	KUNIT_CASE(pool_big_slab_spare),
	KUNIT_CASE(pool_big_spare_small_class),
	KUNIT_CASE(pool_marker_in_slab),
	{}
};

static struct kunit_suite pool_suite = {
	.name = "fnmm_pool",
	.init = pool_test_init,
	.exit = pool_test_exit,
	.test_cases = pool_cases,
};

kunit_test_suites(&pool_suite);
