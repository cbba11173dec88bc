// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the Bubble (bump) allocator.  Each case checks the arena before
 * and after each phase (fnmm_check(), available, largest, the count of
 * objects); the random case takes the boot's seed (printed, settable:
 * fnmm_kunit.seed) and predicts every address; the concurrent case bumps
 * from a kthread per CPU and checks that no two objects overlap.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/sizes.h>
#include <linux/sort.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL

static struct fnmm_allocator *mk_bubble(struct kunit *test, u64 base,
					u64 size, u64 granule)
{
	struct fnmm_allocator *a = fnmm_bubble_create(base, size, granule);

	KUNIT_ASSERT_FALSE(test, IS_ERR(a));
	test->priv = a;
	return a;
}

static void bubble_test_exit(struct kunit *test)
{
	if (test->priv)
		fnmm_destroy(test->priv);
}

static int bubble_try(struct fnmm_allocator *a, u64 size, u64 align, u64 *at)
{
	struct fnmm_range r = { .size = size, .alignment = align };
	int ret = fnmm_allocate(a, &r);

	if (!ret && at)
		*at = r.address;
	return ret;
}

static u64 bubble_get(struct kunit *test, struct fnmm_allocator *a, u64 size,
		      u64 align)
{
	u64 at = 0;

	KUNIT_ASSERT_EQ_MSG(test, bubble_try(a, size, align, &at), 0,
			    "size %llu align %llu", size, align);
	return at;
}

/* The arena's state: free bytes, largest, objects, and check(). */
static void expect_state(struct kunit *test, struct fnmm_allocator *a,
			 u64 used, u64 objs)
{
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(a), fnmm_size(a) - used);
	KUNIT_EXPECT_EQ(test, fnmm_largest(a), fnmm_size(a) - used);
	KUNIT_EXPECT_EQ(test, fnmm_bubble_allocations(a), objs);
}

/* Objects follow one another, each rounded up to the granule. */
static void bubble_bumps(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_64K, 16);
	unsigned long *map = kunit_kzalloc(test, BITS_TO_LONGS(SZ_64K / 16) *
					   sizeof(long), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, map);
	expect_state(test, a, 0, 0);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 1, 0), TEST_BASE);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 16, 0), TEST_BASE + 16);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 17, 0), TEST_BASE + 32);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 100, 8), TEST_BASE + 64);
	expect_state(test, a, 176, 4);
	/* Sizes are not kept. */
	KUNIT_EXPECT_EQ(test, fnmm_alloc_size(a, TEST_BASE + 16), 0ULL);
	/* Occupancy: every granule below the top. */
	KUNIT_EXPECT_EQ(test, fnmm_occupancy(a, map), 0);
	KUNIT_EXPECT_EQ(test, bitmap_weight(map, SZ_64K / 16), 176U / 16);
	KUNIT_EXPECT_EQ(test, find_first_zero_bit(map, SZ_64K / 16),
			176UL / 16);
}

/* An alignment pads the top; the padding is used, never handed out. */
static void bubble_alignment(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_1M, 8);

	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 8, 0), TEST_BASE);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 8, 64), TEST_BASE + 64);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 1, PAGE_SIZE),
			TEST_BASE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 8, SZ_512K),
			TEST_BASE + SZ_512K);
	expect_state(test, a, SZ_512K + 8, 4);
	/* Above the arena's size, or not a power of two: -EINVAL. */
	KUNIT_EXPECT_EQ(test, bubble_try(a, 8, SZ_2M, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, bubble_try(a, 8, 24, NULL), -EINVAL);
	/* Fits unaligned but not at its alignment: -ENOMEM, no change. */
	KUNIT_EXPECT_EQ(test, bubble_try(a, 8, SZ_1M, NULL), -ENOMEM);
	KUNIT_EXPECT_EQ(test, bubble_try(a, 8, SZ_512K, NULL), -ENOMEM);
	expect_state(test, a, SZ_512K + 8, 4);
}

/* A base aligned to the granule only: addresses are aligned, not offsets. */
static void bubble_odd_base(struct kunit *test)
{
	u64 base = TEST_BASE + 48;
	struct fnmm_allocator *a = mk_bubble(test, base, SZ_4K, 16);

	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 16, 64), TEST_BASE + 64);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 1, 0), TEST_BASE + 80);
	expect_state(test, a, 48, 2);
}

/* Full: -ENOMEM and nothing changes; too big ever: -E2BIG. */
static void bubble_full(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_4K, 16);
	unsigned int i;

	for (i = 0; i < SZ_4K / 64; i++)
		KUNIT_EXPECT_EQ(test, bubble_get(test, a, 64, 0),
				TEST_BASE + i * 64);
	expect_state(test, a, SZ_4K, SZ_4K / 64);
	KUNIT_EXPECT_EQ(test, bubble_try(a, 1, 0, NULL), -ENOMEM);
	KUNIT_EXPECT_EQ(test, bubble_try(a, SZ_4K, 0, NULL), -ENOMEM);
	KUNIT_EXPECT_EQ(test, bubble_try(a, SZ_4K + 1, 0, NULL), -E2BIG);
	KUNIT_EXPECT_EQ(test, bubble_try(a, 0, 0, NULL), -EINVAL);
	expect_state(test, a, SZ_4K, SZ_4K / 64);
}

/* Objects are never released one by one; reset frees them all. */
static void bubble_release_reset(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_64K, 16);
	u64 x = bubble_get(test, a, 100, 0), y = bubble_get(test, a, 16, 0);

	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, y + 16), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x + 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE - 16), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, TEST_BASE + SZ_64K), -EINVAL);
	expect_state(test, a, 128, 2);
	fnmm_bubble_reset(a);
	expect_state(test, a, 0, 0);
	KUNIT_EXPECT_EQ(test, fnmm_release(a, x), -ENOENT);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, SZ_64K, 0), TEST_BASE);
	expect_state(test, a, SZ_64K, 1);
}

/* The last object can be taken back (a reply that could not be sent). */
static void bubble_undo(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_4K, 16);
	struct fnmm_range x = { .size = 20 }, y = { .size = 8, .alignment = 64 };
	u64 t0 = fnmm_bubble_top(a), t1;

	KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &x), 0);
	t1 = fnmm_bubble_top(a);
	KUNIT_EXPECT_EQ(test, t1, 32ULL);
	KUNIT_ASSERT_EQ(test, fnmm_allocate(a, &y), 0);
	KUNIT_EXPECT_EQ(test, y.address, TEST_BASE + 64);
	expect_state(test, a, 80, 2);
	/* Not the last one: stays. */
	KUNIT_EXPECT_EQ(test, fnmm_bubble_undo(a, &x, t0), 0ULL);
	expect_state(test, a, 80, 2);
	/* The last one, with the padding before it. */
	KUNIT_EXPECT_EQ(test, fnmm_bubble_undo(a, &y, t1), 48ULL);
	expect_state(test, a, 32, 1);
	KUNIT_EXPECT_EQ(test, fnmm_bubble_undo(a, &y, t1), 0ULL);
	/* A top past the object's start is refused. */
	KUNIT_EXPECT_EQ(test, fnmm_bubble_undo(a, &x, t1), 0ULL);
	KUNIT_EXPECT_EQ(test, fnmm_bubble_undo(a, &x, t0), 32ULL);
	expect_state(test, a, 0, 0);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 20, 0), TEST_BASE);
}

/* fnmm_bubble_take(): the top before and the bytes taken, checks first. */
static void bubble_take(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_4K, 16);
	struct fnmm_range r = { .size = 20 };
	u64 prev = 7, used = 7;

	KUNIT_ASSERT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), 0);
	KUNIT_EXPECT_EQ(test, prev, 0ULL);
	KUNIT_EXPECT_EQ(test, used, 32ULL);
	r = (struct fnmm_range){ .size = 1, .alignment = 256 };
	KUNIT_ASSERT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), 0);
	KUNIT_EXPECT_EQ(test, r.address, TEST_BASE + 256);
	KUNIT_EXPECT_EQ(test, prev, 32ULL);
	KUNIT_EXPECT_EQ(test, used, 240ULL);
	r = (struct fnmm_range){ .size = 0 };
	KUNIT_EXPECT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), -EINVAL);
	r = (struct fnmm_range){ .size = 8, .alignment = 12 };
	KUNIT_EXPECT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), -EINVAL);
	r = (struct fnmm_range){ .size = SZ_4K + 1, .alignment = SZ_8K };
	KUNIT_EXPECT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), -E2BIG);
	r = (struct fnmm_range){ .size = 8, .alignment = SZ_8K };
	KUNIT_EXPECT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), -EINVAL);
	r = (struct fnmm_range){ .size = SZ_4K - 256 };
	KUNIT_EXPECT_EQ(test, fnmm_bubble_take(a, &r, &prev, &used), -ENOMEM);
	expect_state(test, a, 272, 2);
}

static void bubble_create_rejects(struct kunit *test)
{
	static const u64 bad[][3] = {
		{ TEST_BASE, SZ_4K, 0 }, { TEST_BASE, SZ_4K, 4 },
		{ TEST_BASE, SZ_4K, 24 }, { TEST_BASE, SZ_4K, 2 * PAGE_SIZE },
		{ TEST_BASE + 8, SZ_4K, 16 }, { TEST_BASE, 0, 16 },
		{ TEST_BASE, SZ_4K + 8, 16 }, { ~0ULL - 15, 32, 16 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test,
			PTR_ERR(fnmm_bubble_create(bad[i][0], bad[i][1],
						   bad[i][2])),
			(long)-EINVAL, "case %u", i);
}

/* An arena of 4 GiB costs what one of 4 KiB does; offsets past 2^32. */
static void bubble_gib(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, 1ULL << 40, SZ_4G, 64);

	KUNIT_EXPECT_EQ(test, bubble_get(test, a, SZ_2G + 1, 0), 1ULL << 40);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, 64, SZ_1G),
			(1ULL << 40) + SZ_2G + SZ_1G);
	KUNIT_EXPECT_EQ(test, bubble_try(a, SZ_1G, 0, NULL), -ENOMEM);
	KUNIT_EXPECT_EQ(test, bubble_get(test, a, SZ_1G - 64, 0),
			(1ULL << 40) + SZ_2G + SZ_1G + 64);
	expect_state(test, a, SZ_4G, 3);
}

/*
 * Random sizes and alignments against a model of the top: every address
 * predicted, every -ENOMEM confirmed, the state checked after each, and
 * a reset now and then.
 */
static void bubble_random(struct kunit *test)
{
	u32 seed = fnmm_test_seed();
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE + 16, SZ_1M, 16);
	struct rnd_state rs;
	u64 top = 0, objs = 0;
	unsigned int op;

	prandom_seed_state(&rs, seed);
	for (op = 0; op < 20000; op++) {
		u32 v = prandom_u32_state(&rs);
		u64 size = 1 + (v % 4 ? prandom_u32_state(&rs) % 512 :
				prandom_u32_state(&rs) % SZ_64K);
		u64 align = v & 8 ? 1ULL << (prandom_u32_state(&rs) % 16) : 0;
		u64 al = max_t(u64, align, 16), need = round_up(size, 16);
		u64 at = round_up(TEST_BASE + 16 + top, al) - TEST_BASE - 16;
		int want = at + need <= SZ_1M ? 0 : -ENOMEM, ret;
		u64 got = 0;

		if (v % 997 == 0) {
			fnmm_bubble_reset(a);
			top = objs = 0;
			continue;
		}
		ret = bubble_try(a, size, align, &got);
		KUNIT_ASSERT_EQ_MSG(test, ret, want,
				    "seed %u op %u: size %llu align %llu top %llu",
				    seed, op, size, align, top);
		if (!ret) {
			KUNIT_ASSERT_EQ_MSG(test, got, TEST_BASE + 16 + at,
					    "seed %u op %u", seed, op);
			top = at + need;
			objs++;
		}
		KUNIT_ASSERT_EQ_MSG(test, fnmm_check(a), 0, "seed %u op %u",
				    seed, op);
		KUNIT_ASSERT_EQ_MSG(test, fnmm_available(a), SZ_1M - top,
				    "seed %u op %u", seed, op);
		KUNIT_ASSERT_EQ_MSG(test, fnmm_bubble_allocations(a), objs,
				    "seed %u op %u", seed, op);
	}
}

#define BUBBLE_THREADS	4
#define BUBBLE_PER	2000

struct bubble_thread {
	struct fnmm_allocator *a;
	struct task_struct *task;
	struct completion done;
	u64 addr[BUBBLE_PER];
	u32 size[BUBBLE_PER];
	unsigned int n, seed;
};

static int bubble_worker(void *arg)
{
	struct bubble_thread *t = arg;
	struct rnd_state rs;

	prandom_seed_state(&rs, t->seed);
	for (t->n = 0; t->n < BUBBLE_PER; t->n++) {
		struct fnmm_range r = {
			.size = 1 + prandom_u32_state(&rs) % 200,
			.alignment = 8U << (prandom_u32_state(&rs) % 4),
		};

		if (fnmm_allocate(t->a, &r))
			break;
		t->addr[t->n] = r.address;
		t->size[t->n] = r.size;
	}
	complete(&t->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int cmp_u64_pair(const void *x, const void *y)
{
	const u64 *p = x, *q = y;

	return p[0] < q[0] ? -1 : p[0] > q[0];
}

/* A kthread per CPU bumps one arena: no two objects overlap. */
static void bubble_concurrent(struct kunit *test)
{
	struct fnmm_allocator *a = mk_bubble(test, TEST_BASE, SZ_8M, 8);
	struct bubble_thread *t = kunit_kcalloc(test, BUBBLE_THREADS,
						sizeof(*t), GFP_KERNEL);
	u64 (*all)[2] = kunit_kcalloc(test, BUBBLE_THREADS * BUBBLE_PER,
				      sizeof(*all), GFP_KERNEL);
	unsigned int i, j, n = 0, made;

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_NOT_NULL(test, all);
	for (made = 0; made < BUBBLE_THREADS; made++) {
		t[made].a = a;
		t[made].seed = fnmm_test_seed() + made;
		init_completion(&t[made].done);
		t[made].task = kthread_create(bubble_worker, &t[made],
					      "fnmm-bub/%u", made);
		if (IS_ERR(t[made].task))
			break;
		kthread_bind(t[made].task, cpumask_nth(made % num_online_cpus(),
						       cpu_online_mask));
	}
	/* Those made run and are stopped, even if one could not be made. */
	for (i = 0; i < made; i++)
		wake_up_process(t[i].task);
	KUNIT_EXPECT_EQ(test, made, (unsigned int)BUBBLE_THREADS);
	for (i = 0; i < made; i++) {
		wait_for_completion(&t[i].done);
		kthread_stop(t[i].task);
		KUNIT_EXPECT_EQ(test, t[i].n, (unsigned int)BUBBLE_PER);
		for (j = 0; j < t[i].n; j++) {
			all[n][0] = t[i].addr[j];
			all[n++][1] = t[i].size[j];
		}
	}
	sort(all, n, sizeof(*all), cmp_u64_pair, NULL);
	for (i = 1; i < n; i++)
		KUNIT_ASSERT_LE_MSG(test, all[i - 1][0] + all[i - 1][1],
				    all[i][0], "objects %u and %u overlap",
				    i - 1, i);
	KUNIT_EXPECT_EQ(test, fnmm_bubble_allocations(a), (u64)n);
	KUNIT_EXPECT_EQ(test, fnmm_check(a), 0);
	KUNIT_EXPECT_LE(test, all[n - 1][0] + all[n - 1][1],
			TEST_BASE + SZ_8M - fnmm_available(a));
}

static struct kunit_case bubble_cases[] = {
	KUNIT_CASE(bubble_bumps),
	KUNIT_CASE(bubble_alignment),
	KUNIT_CASE(bubble_odd_base),
	KUNIT_CASE(bubble_full),
	KUNIT_CASE(bubble_release_reset),
	KUNIT_CASE(bubble_undo),
	KUNIT_CASE(bubble_take),
	KUNIT_CASE(bubble_create_rejects),
	KUNIT_CASE(bubble_gib),
	KUNIT_CASE(bubble_random),
	KUNIT_CASE(bubble_concurrent),
	{}
};

static struct kunit_suite bubble_suite = {
	.name = "fnmm_bubble",
	.suite_init = fnmm_test_suite_seed,
	.exit = bubble_test_exit,
	.test_cases = bubble_cases,
};
kunit_test_suite(bubble_suite);
