// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the shared allocator interface, run against every allocator.
 *
 * Each case is parameterised over Split, Bit and Pool (over a Split
 * parent) and checks the behaviour every allocator promises: rejected
 * inputs change nothing, exhaustion is followed by full recovery, and a
 * long pseudo-random alloc/free sequence agrees with a shadow model.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL
#define TEST_PAGES	256

enum test_kind { KIND_SPLIT, KIND_BIT, KIND_POOL };

struct kind_param {
	enum test_kind kind;
	const char *name;
};

static const struct kind_param kinds[] = {
	{ KIND_SPLIT, "split" },
	{ KIND_BIT, "bit" },
	{ KIND_POOL, "pool" },
};

static void kind_desc(const struct kind_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kind, kinds, kind_desc);

struct alloc_ctx {
	struct fnmm_allocator *parent;	/* Pool's parent, else NULL */
	struct fnmm_allocator *a;
	u64 unit;			/* a typical allocation size */
};

static int alloc_test_init(struct kunit *test)
{
	const struct kind_param *p = test->param_value;
	struct alloc_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	u64 size = TEST_PAGES * PAGE_SIZE;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	fnmm_test_pin_cpu();
	if (!p)
		return 0;
	switch (p->kind) {
	case KIND_SPLIT:
		ctx->a = fnmm_split_create(TEST_BASE, size, 0);
		ctx->unit = PAGE_SIZE;
		break;
	case KIND_BIT:
		ctx->a = fnmm_bit_create(TEST_BASE, size, PAGE_SIZE);
		ctx->unit = PAGE_SIZE;
		break;
	case KIND_POOL:
		ctx->parent = fnmm_split_create(TEST_BASE, size, 0);
		KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->parent));
		ctx->a = fnmm_pool_create(ctx->parent, FNMM_POOL_MIN_SHIFT,
					  PAGE_SHIFT - 1);
		ctx->unit = 64;
		break;
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->a));
	return 0;
}

static void alloc_test_exit(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;

	fnmm_destroy(ctx->a);
	fnmm_destroy(ctx->parent);
}

/* Free space as the caller sees it: for Pool, its parent's too. */
static u64 total_free(struct alloc_ctx *ctx)
{
	if (ctx->parent)
		return fnmm_available(ctx->parent) + fnmm_available(ctx->a);
	return fnmm_available(ctx->a);
}

/* A snapshot of everything a rejected call must leave alone. */
struct snapshot {
	u64 avail;
	u64 parent_avail;
	u64 largest;
};

static void snap(struct alloc_ctx *ctx, struct snapshot *s)
{
	s->avail = fnmm_available(ctx->a);
	s->parent_avail = ctx->parent ? fnmm_available(ctx->parent) : 0;
	s->largest = fnmm_largest(ctx->a);
}

static void expect_unchanged(struct kunit *test, struct alloc_ctx *ctx,
			     const struct snapshot *before)
{
	struct snapshot now;

	snap(ctx, &now);
	KUNIT_EXPECT_EQ(test, now.avail, before->avail);
	KUNIT_EXPECT_EQ(test, now.parent_avail, before->parent_avail);
	KUNIT_EXPECT_EQ(test, now.largest, before->largest);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->a), 0);
}

static int do_alloc(struct fnmm_allocator *a, u64 size, u64 align, u64 *addr)
{
	struct fnmm_range r = { .size = size, .alignment = align };
	int ret = fnmm_allocate(a, &r);

	*addr = r.address;
	return ret;
}

static void rejects_size_zero(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;
	struct snapshot s;
	u64 addr;

	snap(ctx, &s);
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, 0, 0, &addr), -EINVAL);
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, 0, PAGE_SIZE, &addr), -EINVAL);
	expect_unchanged(test, ctx, &s);
}

static void rejects_bad_alignment(struct kunit *test)
{
	static const u64 bad[] = { 3, 24, PAGE_SIZE + 1, 3 * PAGE_SIZE,
				   ~0ULL };
	struct alloc_ctx *ctx = test->priv;
	struct snapshot s;
	u64 addr;
	int i;

	snap(ctx, &s);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, ctx->unit, bad[i], &addr),
				-EINVAL);
	/* A power of two larger than the whole range cannot be honoured. */
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, ctx->unit, 1ULL << 40, &addr),
			-EINVAL);
	expect_unchanged(test, ctx, &s);
}

static void rejects_oversize(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;
	u64 size = fnmm_size(ctx->a);
	struct snapshot s;
	u64 addr;

	snap(ctx, &s);
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, size + 1, 0, &addr), -E2BIG);
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, ~0ULL, 0, &addr), -E2BIG);
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, ~0ULL - PAGE_SIZE + 2, 0, &addr),
			-E2BIG);
	expect_unchanged(test, ctx, &s);
}

static void rejects_bad_release(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;
	u64 base = fnmm_base(ctx->a), end = base + fnmm_size(ctx->a);
	struct snapshot s;
	u64 addr;

	KUNIT_ASSERT_EQ(test, do_alloc(ctx->a, ctx->unit, 0, &addr), 0);
	snap(ctx, &s);
	/* Outside the range. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, base - PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, end), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, ~0ULL), -EINVAL);
	/* Misaligned: inside the live allocation. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, addr + 1), -EINVAL);
	/* In range and aligned, but never handed out. */
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, end - PAGE_SIZE), -ENOENT);
	expect_unchanged(test, ctx, &s);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, addr), 0);
}

static void rejects_double_release(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;
	struct snapshot s;
	u64 a1, a2;

	KUNIT_ASSERT_EQ(test, do_alloc(ctx->a, ctx->unit, 0, &a1), 0);
	KUNIT_ASSERT_EQ(test, do_alloc(ctx->a, ctx->unit, 0, &a2), 0);
	KUNIT_ASSERT_EQ(test, fnmm_release(ctx->a, a1), 0);
	snap(ctx, &s);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, a1), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->a, a1), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(ctx->a, a2), ctx->unit);
	expect_unchanged(test, ctx, &s);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, a2), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, a2), -ENOENT);
}

static int cmp_u64(const void *x, const void *y)
{
	u64 a = *(const u64 *)x, b = *(const u64 *)y;

	return a < b ? -1 : a > b;
}

static void exhaust_and_recover(struct kunit *test)
{
	struct alloc_ctx *ctx = test->priv;
	u64 base = fnmm_base(ctx->a), end = base + fnmm_size(ctx->a);
	u64 free0 = total_free(ctx), largest0 = fnmm_largest(ctx->a);
	unsigned int max = fnmm_size(ctx->a) / ctx->unit, n = 0, i;
	u64 *addrs = kunit_kcalloc(test, max + 1, sizeof(u64), GFP_KERNEL);
	u64 addr;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, addrs);
	while ((ret = do_alloc(ctx->a, ctx->unit, 0, &addr)) == 0) {
		KUNIT_ASSERT_LT(test, n, max);
		KUNIT_EXPECT_GE(test, addr, base);
		KUNIT_EXPECT_LE(test, addr + ctx->unit, end);
		addrs[n++] = addr;
	}
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	KUNIT_EXPECT_EQ(test, n, max);
	KUNIT_EXPECT_EQ(test, total_free(ctx), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->a), 0);
	/* No two allocations share a unit. */
	sort(addrs, n, sizeof(u64), cmp_u64, NULL);
	for (i = 1; i < n; i++)
		KUNIT_EXPECT_GE(test, addrs[i], addrs[i - 1] + ctx->unit);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, addrs[i]), 0);
	if (ctx->parent)
		fnmm_pool_trim(ctx->a);
	KUNIT_EXPECT_EQ(test, total_free(ctx), free0);
	KUNIT_EXPECT_EQ(test, fnmm_largest(ctx->a), largest0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->a), 0);
	/* The largest block is allocatable again. */
	KUNIT_EXPECT_EQ(test, do_alloc(ctx->a, largest0, 0, &addr), 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, addr), 0);
}

#define SHADOW_MAX	64
#define SHADOW_OPS	20000

struct shadow {
	u64 addr;
	u64 size;	/* bytes held, from fnmm_alloc_size() */
};

/*
 * A refused request of @size bytes at @align: for Split and Bit, no
 * aligned run of free pages in the shadow may hold it; for Pool, the
 * parent has no free page and every slab of the class is full, so the
 * objects of that size live are a whole number of slabs.
 */
static void expect_refusal_right(struct kunit *test, struct alloc_ctx *ctx,
				 const struct shadow *live, unsigned int n,
				 u64 size, u64 align, u32 seed,
				 unsigned int op)
{
	struct fnmm_allocator *a = ctx->a;
	unsigned long nbits = fnmm_size(a) / PAGE_SIZE, *used;
	unsigned int i, objs = 0;
	u64 obj;

	if (ctx->parent) {
		obj = 1ULL << max_t(unsigned int, FNMM_POOL_MIN_SHIFT,
				    order_base_2(size));
		if (align > obj)
			obj = align;
		for (i = 0; i < n; i++)
			objs += live[i].size == obj;
		KUNIT_ASSERT_EQ_MSG(test, fnmm_available(ctx->parent), 0ULL,
				    "seed %u op %u: -ENOMEM with free pages in the parent",
				    seed, op);
		KUNIT_ASSERT_EQ_MSG(test, objs % (PAGE_SIZE / obj), 0ULL,
				    "seed %u op %u: -ENOMEM for %llu-byte objects with a slab not full",
				    seed, op, obj);
		return;
	}
	used = kcalloc(BITS_TO_LONGS(nbits), sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, used);
	for (i = 0; i < n; i++)
		bitmap_set(used, (live[i].addr - a->base) / PAGE_SIZE,
			   live[i].size / PAGE_SIZE);
	KUNIT_EXPECT_FALSE_MSG(test, fnmm_model_fits(used, nbits, a->base,
						     PAGE_SIZE,
						     DIV_ROUND_UP(size, PAGE_SIZE),
						     align),
			       "seed %u op %u: -ENOMEM for %llu bytes aligned to %llu, but the shadow has room",
			       seed, op, size, align);
	kfree(used);
}

static void random_vs_shadow(struct kunit *test)
{
	const struct kind_param *p = test->param_value;
	struct alloc_ctx *ctx = test->priv;
	u64 base = fnmm_base(ctx->a), end = base + fnmm_size(ctx->a);
	struct shadow *live = kunit_kcalloc(test, SHADOW_MAX, sizeof(*live),
					    GFP_KERNEL);
	u64 free0 = total_free(ctx), held = 0, unit = ctx->unit;
	unsigned int n = 0, op, i, j, fails = 0;
	u32 seed = fnmm_test_seed();
	struct rnd_state rnd;

	KUNIT_ASSERT_NOT_NULL(test, live);
	kunit_info(test, "seed %u\n", seed);
	prandom_seed_state(&rnd, ((u64)p->kind << 32) | seed);
	for (op = 0; op < SHADOW_OPS; op++) {
		u32 r = prandom_u32_state(&rnd);

		if (n < SHADOW_MAX && (n == 0 || r % 100 < 55)) {
			u64 size = unit * (1 + (r >> 8) % 8) - (r >> 16) % unit;
			u64 align = (r & 0x80) ? unit << ((r >> 12) % 3) : 0;
			u64 addr;
			int ret = do_alloc(ctx->a, size, align, &addr);

			if (ret) {
				KUNIT_ASSERT_EQ_MSG(test, ret, -ENOMEM,
						    "seed %u op %u", seed, op);
				expect_refusal_right(test, ctx, live, n, size,
						     align, seed, op);
				fails++;
				continue;
			}
			live[n].addr = addr;
			live[n].size = fnmm_alloc_size(ctx->a, addr);
			KUNIT_ASSERT_GE_MSG(test, live[n].size, size,
					    "seed %u op %u", seed, op);
			KUNIT_ASSERT_GE_MSG(test, addr, base, "seed %u op %u",
					    seed, op);
			KUNIT_ASSERT_LE_MSG(test, addr + live[n].size, end,
					    "seed %u op %u", seed, op);
			if (align)
				KUNIT_ASSERT_EQ_MSG(test, addr & (align - 1),
						    0ULL, "seed %u op %u",
						    seed, op);
			for (i = 0; i < n; i++)
				KUNIT_ASSERT_TRUE_MSG(test,
					addr + live[n].size <= live[i].addr ||
					live[i].addr + live[i].size <= addr,
					"seed %u op %u: overlaps a live allocation",
					seed, op);
			held += live[n++].size;
		} else {
			i = r % n;
			KUNIT_ASSERT_EQ_MSG(test,
					    fnmm_release(ctx->a, live[i].addr),
					    0, "seed %u op %u", seed, op);
			held -= live[i].size;
			live[i] = live[--n];
		}
		/* Counts agree with the model (Pool: free space inside pages
		 * it holds plus its parent's is what nobody holds).
		 */
		KUNIT_ASSERT_EQ_MSG(test, total_free(ctx) + held, free0,
				    "seed %u op %u", seed, op);
		KUNIT_ASSERT_EQ_MSG(test, fnmm_check(ctx->a), 0,
				    "seed %u op %u", seed, op);
		if (ctx->parent)
			KUNIT_ASSERT_EQ_MSG(test, fnmm_check(ctx->parent), 0,
					    "seed %u op %u: the parent",
					    seed, op);
	}
	kunit_info(test, "%u ops, %u live at end, %u -ENOMEM\n", op, n, fails);
	for (j = 0; j < n; j++)
		KUNIT_EXPECT_EQ(test, fnmm_release(ctx->a, live[j].addr), 0);
	if (ctx->parent)
		fnmm_pool_trim(ctx->a);
	KUNIT_EXPECT_EQ(test, total_free(ctx), free0);
	KUNIT_EXPECT_EQ(test, fnmm_check(ctx->a), 0);
}

static void create_rejects_bad_args(struct kunit *test)
{
	struct fnmm_allocator *split;

	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create(TEST_BASE, 0, 0)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create(TEST_BASE + 1,
							PAGE_SIZE, 0)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create(TEST_BASE,
							PAGE_SIZE + 8, 0)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create(TEST_BASE, PAGE_SIZE,
				FNMM_SPLIT_MAX_ORDER + 1)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create(~0ULL - PAGE_SIZE + 1,
							2 * PAGE_SIZE, 0)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_split_create_flags(TEST_BASE,
				PAGE_SIZE, 0, FNMM_NO_PERCPU << 1)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_bit_create_flags(TEST_BASE,
				PAGE_SIZE, PAGE_SIZE, ~0U)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_bit_create(TEST_BASE, PAGE_SIZE, 0)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_bit_create(TEST_BASE, PAGE_SIZE, 3)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_bit_create(TEST_BASE + 64,
						      PAGE_SIZE, 128)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_bit_create(TEST_BASE, 0, 64)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(NULL, 3, 8)), -EINVAL);

	split = fnmm_split_create(TEST_BASE, 16 * PAGE_SIZE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(split));
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(split, 2, 8)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(split, 9, 8)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(split, 3, PAGE_SHIFT)),
			-EINVAL);
	fnmm_destroy(split);
}

/*
 * A Pool needs a parent whose free pages are aligned pages (found by the
 * user-space fuzzer, tools/usim): sub-page chunks or a partial last page
 * let it index past its slab table, or promise a page it cannot get.
 */
static void pool_rejects_subpage_parent(struct kunit *test)
{
	struct fnmm_allocator *bit, *pool;

	bit = fnmm_bit_create(TEST_BASE, 2 * PAGE_SIZE, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(bit));
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(bit, 3, 8)), -EINVAL);
	fnmm_destroy(bit);
	bit = fnmm_bit_create(TEST_BASE, PAGE_SIZE + 512, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(bit));
	KUNIT_EXPECT_EQ(test, PTR_ERR(fnmm_pool_create(bit, 3, 8)), -EINVAL);
	fnmm_destroy(bit);
	bit = fnmm_bit_create(TEST_BASE, 2 * PAGE_SIZE, PAGE_SIZE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(bit));
	pool = fnmm_pool_create(bit, 3, 8);
	KUNIT_EXPECT_FALSE(test, IS_ERR(pool));
	fnmm_destroy(pool);
	fnmm_destroy(bit);
}

/* The occupancy map marks exactly the granules of live allocations. */
static void occupancy_matches(struct kunit *test)
{
	const struct kind_param *p = test->param_value;
	struct alloc_ctx *ctx = test->priv;
	struct fnmm_allocator *a = ctx->a;
	unsigned long n = fnmm_size(a) / a->granule, *map;
	static const u64 pages[] = { 1, 3, 8, 2, 5 };
	u64 addr[ARRAY_SIZE(pages)], used = 0;
	unsigned int i;

	map = kunit_kzalloc(test, BITS_TO_LONGS(n) * sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, map);
	if (p->kind == KIND_POOL) {
		KUNIT_EXPECT_EQ(test, fnmm_occupancy(a, map), -EOPNOTSUPP);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		struct fnmm_range r = { .size = pages[i] * PAGE_SIZE };

		KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &r), 0);
		addr[i] = r.address;
	}
	/* A hole between live allocations. */
	KUNIT_ASSERT_EQ(test, fnmm_release(a, addr[1]), 0);
	KUNIT_ASSERT_EQ(test, fnmm_occupancy(a, map), 0);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		unsigned long first = (addr[i] - a->base) / a->granule;
		unsigned long len = pages[i] * PAGE_SIZE / a->granule;
		unsigned long set = bitmap_weight(map, first + len) -
				    bitmap_weight(map, first);

		KUNIT_EXPECT_EQ_MSG(test, set, i == 1 ? 0 : len, "block %u", i);
		if (i != 1)
			used += len;
	}
	KUNIT_EXPECT_EQ(test, (u64)bitmap_weight(map, n), used);
	KUNIT_EXPECT_EQ(test, (u64)bitmap_weight(map, n) * a->granule,
			fnmm_size(a) - fnmm_available(a));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (i != 1)
			KUNIT_EXPECT_EQ(test, fnmm_release(a, addr[i]), 0);
	bitmap_zero(map, n);
	KUNIT_ASSERT_EQ(test, fnmm_occupancy(a, map), 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(map, n));
}

static struct kunit_case alloc_cases[] = {
	KUNIT_CASE_PARAM(rejects_size_zero, kind_gen_params),
	KUNIT_CASE_PARAM(rejects_bad_alignment, kind_gen_params),
	KUNIT_CASE_PARAM(rejects_oversize, kind_gen_params),
	KUNIT_CASE_PARAM(rejects_bad_release, kind_gen_params),
	KUNIT_CASE_PARAM(rejects_double_release, kind_gen_params),
	KUNIT_CASE_PARAM(exhaust_and_recover, kind_gen_params),
	KUNIT_CASE_PARAM(random_vs_shadow, kind_gen_params),
	KUNIT_CASE_PARAM(occupancy_matches, kind_gen_params),
	KUNIT_CASE(create_rejects_bad_args),
	KUNIT_CASE(pool_rejects_subpage_parent),
	{}
};

static struct kunit_suite alloc_suite = {
	.name = "fnmm_alloc",
	.suite_init = fnmm_test_suite_seed,
	.init = alloc_test_init,
	.exit = alloc_test_exit,
	.test_cases = alloc_cases,
};

kunit_test_suites(&alloc_suite);
