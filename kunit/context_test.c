// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: memory contexts and the VMCtl operations that need no user
 * mapping (ReserveMem, Release, ReleaseSections, Info), on a region
 * taken from the page allocator.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include "fnmm_dev.h"
#include "model.h"

#define REGION_PAGES	256
#define BIT_PAGES	32

struct ctx_fixture {
	struct fnmm_dev dev;
	struct fnmm_ctx *a;
	struct fnmm_ctx *b;
	struct fnmm_info start;
};

static void info_of(struct fnmm_ctx *ctx, struct fnmm_info *info)
{
	memset(info, 0, sizeof(*info));
	fnmm_ctx_info(ctx, info);
}

static int ctx_test_init(struct kunit *test)
{
	struct ctx_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	fnmm_test_pin_cpu();
	KUNIT_ASSERT_EQ(test, fnmm_region_take(&f->dev.region,
					       REGION_PAGES * PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, fnmm_dev_init(&f->dev, BIT_PAGES * PAGE_SIZE), 0);
	f->a = fnmm_ctx_create(&f->dev, NULL, true);
	f->b = fnmm_ctx_create(&f->dev, NULL, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->a));
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->b));
	info_of(f->a, &f->start);
	test->priv = f;
	return 0;
}

static void ctx_test_exit(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;

	if (!f)
		return;
	if (f->a)
		fnmm_ctx_destroy(f->a);
	if (f->b)
		fnmm_ctx_destroy(f->b);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split),
			(u64)(REGION_PAGES - BIT_PAGES) * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.bit),
			(u64)BIT_PAGES * PAGE_SIZE);
	fnmm_dev_fini(&f->dev);
	fnmm_region_put(&f->dev.region);
}

static struct fnmm_vmctl vmctl(u64 size, u32 flags)
{
	return (struct fnmm_vmctl){ .argsz = sizeof(struct fnmm_vmctl),
				    .flags = flags, .range.size = size };
}

/* Allocator structures intact and every byte accounted for. */
static void expect_consistent(struct kunit *test, struct fnmm_dev *dev)
{
	char why[128] = "";

	KUNIT_EXPECT_EQ(test, fnmm_dev_check(dev), 0);
	KUNIT_EXPECT_EQ_MSG(test, fnmm_dev_audit(dev, why, sizeof(why)), 0,
			    "%s", why);
}

static void expect_info_unchanged(struct kunit *test, struct fnmm_ctx *ctx,
				  const struct fnmm_info *before)
{
	struct fnmm_info now;

	info_of(ctx, &now);
	KUNIT_EXPECT_EQ(test, memcmp(&now, before, sizeof(now)), 0);
	expect_consistent(test, ctx->dev);
}

/*
 * A Bubble arena is a Split allocation whose objects are bumped in it:
 * offsets, Info's totals, the last object taken back, and everything
 * gone at once with the arena, wherever the refusals come from.
 */
static void ctx_bubble(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl arena = vmctl(2 * PAGE_SIZE - 1, FNMM_ALLOC_BUBBLE);
	struct fnmm_vmctl split = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT), o;
	struct fnmm_bubble_obj obj, last;
	struct fnmm_info in;

	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &arena, true), -EINVAL);
	expect_info_unchanged(test, f->a, &f->start);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &arena, false), 0);
	KUNIT_EXPECT_EQ(test, arena.range.size, 2 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &split, false), 0);
	info_of(f->a, &in);
	KUNIT_EXPECT_EQ(test, in.bubble_arenas, 1ULL);
	KUNIT_EXPECT_EQ(test, in.bubble_bytes, 2ULL * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, in.alloc[FNMM_ALLOC_SPLIT].allocations, 2ULL);

	o = vmctl(100, FNMM_ALLOC_BUBBLE);
	o.handle = arena.handle;
	KUNIT_ASSERT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), 0);
	fnmm_ctx_bubble_done(f->a, &obj, false);
	KUNIT_EXPECT_EQ(test, o.offset, 0ULL);
	KUNIT_EXPECT_EQ(test, o.range.size, 112ULL);
	KUNIT_EXPECT_EQ(test, o.range.phys, arena.range.phys);
	o = vmctl(8, FNMM_ALLOC_BUBBLE);
	o.handle = arena.handle;
	o.align = 256;
	KUNIT_ASSERT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &last), 0);
	KUNIT_EXPECT_EQ(test, o.offset, 256ULL);
	info_of(f->a, &in);
	KUNIT_EXPECT_EQ(test, in.bubble_used, 272ULL);
	KUNIT_EXPECT_EQ(test, in.bubble_objects, 2ULL);
	/* Not sent: taken back, padding too. */
	fnmm_ctx_bubble_done(f->a, &last, true);
	info_of(f->a, &in);
	KUNIT_EXPECT_EQ(test, in.bubble_used, 112ULL);
	KUNIT_EXPECT_EQ(test, in.bubble_objects, 1ULL);

	/* Refusals: nothing moves. */
	o = vmctl(8, FNMM_ALLOC_BUBBLE);
	o.handle = split.handle;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), -EINVAL);
	o.handle = arena.handle;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->b, &o, &obj), -ENOENT);
	o.range.size = 2 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), -ENOMEM);
	o.range.size = 2 * PAGE_SIZE + 1;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), -E2BIG);
	o.range.size = 0;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), -EINVAL);
	o.range.size = 8;
	o.align = 4 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_bubble_alloc(f->a, &o, &obj), -EINVAL);
	info_of(f->a, &in);
	KUNIT_EXPECT_EQ(test, in.bubble_used, 112ULL);
	KUNIT_EXPECT_EQ(test, in.bubble_objects, 1ULL);
	KUNIT_EXPECT_EQ(test,
			fnmm_ctx_release_sections(f->a, arena.handle, 0,
						  PAGE_SIZE), -EINVAL);

	/* The arena goes with its objects. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, arena.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, split.handle), 0);
	expect_info_unchanged(test, f->a, &f->start);
}

static void ctx_reserve_release(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req = vmctl(3 * PAGE_SIZE - 5, FNMM_ALLOC_SPLIT);
	struct fnmm_info info;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	KUNIT_EXPECT_NE(test, req.handle, 0ULL);
	KUNIT_EXPECT_EQ(test, req.handle & ~PAGE_MASK, 0ULL);
	KUNIT_EXPECT_EQ(test, req.range.size, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, req.range.access, FNMM_ACCESS_DEFAULT);
	KUNIT_EXPECT_EQ(test, req.offset, 0ULL);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.ctx_allocations, 1ULL);
	KUNIT_EXPECT_EQ(test, info.ctx_bytes, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].allocations, 1ULL);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].free,
			f->start.alloc[FNMM_ALLOC_SPLIT].free - 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.contexts, 2ULL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
	expect_info_unchanged(test, f->a, &f->start);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, req.handle), -ENOENT);
	expect_info_unchanged(test, f->a, &f->start);
}

/* Bad ReserveMem inputs: each one an errno, none changes anything. */
static void ctx_reserve_rejects(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req;

#define EXPECT_REJECT(errno_, setup)					\
	do {								\
		req = vmctl(PAGE_SIZE, 0);				\
		setup;							\
		KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &req, false),	\
				errno_);				\
		expect_info_unchanged(test, f->a, &f->start);		\
	} while (0)

	EXPECT_REJECT(-EINVAL, req.range.size = 0);
	EXPECT_REJECT(-EINVAL, req.flags = 1U << 2);
	EXPECT_REJECT(-EINVAL, req.flags = 1U << 31);
	EXPECT_REJECT(-EINVAL, req.range.access = 0x100);
	EXPECT_REJECT(-EINVAL, req.range.pad = 1);
	EXPECT_REJECT(-EINVAL, req.reserved[0] = 1);
	EXPECT_REJECT(-EINVAL, req.reserved[1] = ~0ULL);
	EXPECT_REJECT(-EINVAL, req.align = 3 * PAGE_SIZE);
	EXPECT_REJECT(-EINVAL, req.align = 1ULL << 40);
	EXPECT_REJECT(-E2BIG, req.range.size = REGION_PAGES * PAGE_SIZE + 1);
	EXPECT_REJECT(-E2BIG, req.range.size = ~0ULL);
	EXPECT_REJECT(-E2BIG, (req.range.size = 2 * PAGE_SIZE,
			       req.flags = FNMM_ALLOC_POOL));
	EXPECT_REJECT(-ENOMEM, req.range.size = REGION_PAGES * PAGE_SIZE);
	EXPECT_REJECT(-E2BIG, (req.range.size = (BIT_PAGES + 1) * PAGE_SIZE,
			       req.flags = FNMM_ALLOC_BIT));
#undef EXPECT_REJECT
}

struct kind_case {
	u32 flags;
	const char *name;
};

static const struct kind_case kind_cases[] = {
	{ FNMM_ALLOC_SPLIT, "split" },
	{ FNMM_ALLOC_BIT, "bit" },
	{ FNMM_ALLOC_POOL, "pool" },
};

static void kind_case_desc(const struct kind_case *k, char *desc)
{
	strscpy(desc, k->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kind_case, kind_cases, kind_case_desc);

/* Each allocator serves from its own part of the region. */
static void ctx_reserve_kinds(struct kunit *test)
{
	const struct kind_case *k = test->param_value;
	struct ctx_fixture *f = test->priv;
	struct fnmm_dev *dev = &f->dev;
	struct fnmm_vmctl req = vmctl(k->flags == FNMM_ALLOC_POOL ? 100 :
				      2 * PAGE_SIZE, k->flags);
	u64 bit_end = dev->bit_base + fnmm_size(dev->bit), phys, len;
	struct fnmm_buf *buf;
	struct fnmm_info info;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	buf = fnmm_ctx_get(f->a, req.handle);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, fnmm_buf_phys(buf, buf->page_off, &phys, &len), 0);
	KUNIT_EXPECT_GE(test, phys, dev->region.base);
	KUNIT_EXPECT_LT(test, phys, dev->region.base + dev->region.size);
	if (k->flags == FNMM_ALLOC_BIT)
		KUNIT_EXPECT_TRUE(test, phys >= dev->bit_base && phys < bit_end);
	else
		KUNIT_EXPECT_TRUE(test, phys < dev->bit_base || phys >= bit_end);
	if (k->flags == FNMM_ALLOC_POOL) {
		KUNIT_EXPECT_EQ(test, req.range.size, 128ULL);
		KUNIT_EXPECT_EQ(test, req.offset, phys & ~PAGE_MASK);
		KUNIT_EXPECT_EQ(test, buf->map_size, (u64)PAGE_SIZE);
	} else {
		KUNIT_EXPECT_EQ(test, req.range.size, 2 * PAGE_SIZE);
		KUNIT_EXPECT_TRUE(test, buf->contiguous);
	}
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.alloc[k->flags].allocations, 1ULL);
	fnmm_buf_put(buf);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.alloc[k->flags].allocations, 0ULL);
	KUNIT_EXPECT_EQ(test, info.ctx_bytes, 0ULL);
}

static u64 handle_phys(struct kunit *test, struct fnmm_ctx *ctx, u64 h)
{
	struct fnmm_buf *buf = fnmm_ctx_get(ctx, h);
	u64 phys = 0, len;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, fnmm_buf_phys(buf, buf->page_off, &phys, &len), 0);
	fnmm_buf_put(buf);
	return phys;
}

/* A sparse reservation succeeds where no contiguous block is left. */
static void ctx_reserve_sparse(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	u64 npages = REGION_PAGES - BIT_PAGES, i, *handles;
	struct fnmm_vmctl req;
	struct fnmm_buf *buf;

	handles = kunit_kcalloc(test, npages, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, handles);
	/* Take every page, then give back every other physical page. */
	for (i = 0; i < npages; i++) {
		req = vmctl(PAGE_SIZE, 0);
		KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
		handles[i] = req.handle;
	}
	for (i = 0; i < npages; i++)
		if (!((handle_phys(test, f->a, handles[i]) >> PAGE_SHIFT) & 1))
			KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, handles[i]),
					0);
	KUNIT_EXPECT_EQ(test, fnmm_largest(f->dev.split), (u64)PAGE_SIZE);
	req = vmctl(8 * PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->b, &req, false), -ENOMEM);
	req = vmctl(8 * PAGE_SIZE, 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->b, &req, true), 0);
	KUNIT_EXPECT_EQ(test, req.range.size, 8 * PAGE_SIZE);
	buf = fnmm_ctx_get(f->b, req.handle);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, buf->nblocks, 8U);
	KUNIT_EXPECT_FALSE(test, buf->contiguous);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_EQ(test, buf->blocks[i].off, i * PAGE_SIZE);
	fnmm_buf_put(buf);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->b->bytes), 8 * PAGE_SIZE);
	/* Pool objects are never sparse. */
	req = vmctl(64, FNMM_ALLOC_POOL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->b, &req, true), -EINVAL);
	expect_consistent(test, &f->dev);
}

static void ctx_release_sections(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req = vmctl(8 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	u64 free0 = f->start.alloc[FNMM_ALLOC_SPLIT].free, h, phys, len;
	struct fnmm_info before;
	struct fnmm_buf *buf;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	h = req.handle;
	info_of(f->a, &before);
	/* Rejected: nothing changes. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 100, PAGE_SIZE),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 0, 100),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 0, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 8 * PAGE_SIZE,
							PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 4 * PAGE_SIZE,
							8 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, PAGE_SIZE,
							0ULL - PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h + PAGE_SIZE, 0,
							PAGE_SIZE), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->b, h, 0, PAGE_SIZE),
			-ENOENT);
	expect_info_unchanged(test, f->a, &before);

	/* Pages 2-3 go back; 0-1 and 4-7 stay. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 2 * PAGE_SIZE,
							2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split),
			free0 - 6 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->a->bytes), 6 * PAGE_SIZE);
	buf = fnmm_ctx_get(f->a, h);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, buf->nblocks, 2U);
	KUNIT_EXPECT_FALSE(test, buf->contiguous);
	KUNIT_EXPECT_EQ(test, fnmm_buf_phys(buf, 2 * PAGE_SIZE, &phys, &len),
			-ENXIO);
	KUNIT_EXPECT_EQ(test, fnmm_buf_phys(buf, 5 * PAGE_SIZE, &phys, &len), 0);
	KUNIT_EXPECT_EQ(test, phys, buf->blocks[1].phys + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, len, 3 * PAGE_SIZE);
	/* Overlapping a hole: refused, nothing released. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, PAGE_SIZE,
							4 * PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 2 * PAGE_SIZE,
							PAGE_SIZE), -EINVAL);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split),
			free0 - 6 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, buf->nblocks, 2U);
	/* Pages 1 and 4 go: 0 and 5-7 stay. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, PAGE_SIZE,
							PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 4 * PAGE_SIZE,
							PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split),
			free0 - 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, buf->nblocks, 2U);
	/* Busy while mapped (a mapping holds maps > 0). */
	atomic_inc(&buf->maps);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 0, PAGE_SIZE),
			-EBUSY);
	atomic_dec(&buf->maps);
	fnmm_buf_put(buf);
	expect_consistent(test, &f->dev);
	/* Releasing the last held pages releases the allocation. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 0,
							PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 5 * PAGE_SIZE,
							3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, h), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, h, 0,
							PAGE_SIZE), -ENOENT);
	expect_info_unchanged(test, f->a, &f->start);

	/* Pool objects are cached, and have no sections. */
	req = vmctl(64, FNMM_ALLOC_POOL);
	req.range.access = FNMM_ACCESS_DEFAULT | FNMM_ACCESS_UNCACHED;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), -EINVAL);
	req.range.access = FNMM_ACCESS_DEFAULT | FNMM_ACCESS_DEVICE;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), -EINVAL);
	req = vmctl(64, FNMM_ALLOC_POOL);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, req.handle, 0,
							PAGE_SIZE), -EINVAL);
}

/* Release while a mapping holds the buf: memory stays until it goes. */
static void ctx_release_while_held(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req = vmctl(4 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	u64 free0 = fnmm_available(f->dev.split);
	struct fnmm_buf *buf;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	buf = fnmm_ctx_get(f->a, req.handle);	/* as a VMA would */
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split), free0 - 4 * PAGE_SIZE);
	KUNIT_EXPECT_NULL(test, fnmm_ctx_get(f->a, req.handle));
	fnmm_buf_put(buf);
	KUNIT_EXPECT_EQ(test, fnmm_available(f->dev.split), free0);
}

/* Another context's handles do not exist for this one. */
static void ctx_isolation(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req = vmctl(PAGE_SIZE, 0);
	struct fnmm_info before;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	info_of(f->a, &before);
	KUNIT_EXPECT_NULL(test, fnmm_ctx_get(f->b, req.handle));
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, req.handle), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, 1), -ENOENT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, ~0ULL & PAGE_MASK),
			-ENOENT);
	expect_info_unchanged(test, f->a, &before);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
}

/* Closing a context returns all it holds, of every allocator. */
static void ctx_destroy_returns_all(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req;
	struct fnmm_info info;
	int i;

	for (i = 0; i < 30; i++) {
		req = vmctl(i % 3 == 2 ? 8 + 40 * i : (1 + i % 4) * PAGE_SIZE,
			    i % 3);
		KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req,
						       i % 5 == 1 && i % 3 != 2), 0);
	}
	info_of(f->b, &info);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_POOL].allocations, 10ULL);
	KUNIT_EXPECT_GT(test, info.alloc[FNMM_ALLOC_POOL].size, 0ULL);
	fnmm_ctx_destroy(f->a);
	f->a = NULL;
	info_of(f->b, &info);
	KUNIT_EXPECT_EQ(test, info.contexts, 1ULL);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].free,
			f->start.alloc[FNMM_ALLOC_SPLIT].free);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_BIT].free,
			f->start.alloc[FNMM_ALLOC_BIT].free);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_POOL].size, 0ULL);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].allocations, 0ULL);
	expect_consistent(test, &f->dev);
}

/* Memory comes back zeroed: nobody sees what the last owner wrote. */
static void ctx_scrub_on_free(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl req = vmctl(2 * PAGE_SIZE, 0);
	u8 *va;
	u64 i;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	va = f->dev.region.kaddr +
	     (handle_phys(test, f->a, req.handle) - f->dev.region.base);
	for (i = 0; i < 2 * PAGE_SIZE; i++)
		KUNIT_ASSERT_EQ(test, va[i], 0);
	memset(va, 0xa5, 2 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
	for (i = 0; i < 2 * PAGE_SIZE; i++)
		KUNIT_ASSERT_EQ(test, va[i], 0);
	/* A Pool object too, and only the object. */
	req = vmctl(64, FNMM_ALLOC_POOL);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
	va = f->dev.region.kaddr +
	     (handle_phys(test, f->a, req.handle) - f->dev.region.base);
	memset(va, 0x5a, 64);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, req.handle), 0);
	for (i = 0; i < 64; i++)
		KUNIT_ASSERT_EQ(test, va[i], 0);
}

static void ctx_handles_unique(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	u64 seen[16];
	int i, j;

	for (i = 0; i < 16; i++) {
		struct fnmm_vmctl req = vmctl(16, FNMM_ALLOC_POOL);

		KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &req, false), 0);
		KUNIT_EXPECT_EQ(test, req.handle & ~PAGE_MASK, 0ULL);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, req.handle, seen[j]);
		seen[i] = req.handle;
	}
	/* All sixteen 16-byte objects share one page of the pool. */
	KUNIT_EXPECT_EQ(test, fnmm_pool_held(f->a->pool), (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&f->a->bytes), 256ULL);
}

/* The audit sees a byte that nobody accounts for, and its owner. */
static void ctx_audit(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl s = vmctl(3 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	struct fnmm_vmctl b = vmctl(2 * PAGE_SIZE, FNMM_ALLOC_BIT);
	struct fnmm_vmctl p = vmctl(100, FNMM_ALLOC_POOL);
	char why[128];
	int k;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &s, false), 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->b, &b, false), 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &p, false), 0);
	expect_consistent(test, &f->dev);

	for (k = 0; k < FNMM_NR_ALLOCATORS; k++) {
		atomic64_add(PAGE_SIZE, &f->a->held[k]);
		why[0] = 0;
		KUNIT_EXPECT_EQ(test, fnmm_dev_audit(&f->dev, why, sizeof(why)),
				-EUCLEAN);
		KUNIT_EXPECT_NE(test, why[0], 0);
		atomic64_sub(PAGE_SIZE, &f->a->held[k]);
	}
	atomic64_inc(&f->dev.mappings);
	KUNIT_EXPECT_EQ(test, fnmm_dev_audit(&f->dev, why, sizeof(why)),
			-EUCLEAN);
	atomic64_dec(&f->dev.mappings);
	expect_consistent(test, &f->dev);

	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, s.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, b.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, p.handle), 0);
	expect_consistent(test, &f->dev);
}

/* The kernel address of a byte of the (taken) region. */
static u8 *region_va(struct ctx_fixture *f, u64 phys)
{
	return f->dev.region.kaddr + (phys - f->dev.region.base);
}

static bool all_zero(const u8 *va, size_t len)
{
	return !memchr_inv(va, 0, len);
}

/*
 * A Pool object maps its whole page: what the context wrote anywhere in
 * it must not reach the next owner of the page (issue: the page went back
 * to Split unscrubbed, and Split's LIFO cache gave it to the next
 * one-page request of another context).
 */
static void ctx_pool_page_scrubbed(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl p = vmctl(8, FNMM_ALLOC_POOL);
	struct fnmm_vmctl s = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT);
	u64 page;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &p, false), 0);
	page = p.range.phys & PAGE_MASK;
	memset(region_va(f, page), 0xa5, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, p.handle), 0);
	/* Releasing everything gave the page back while the file is open. */
	expect_info_unchanged(test, f->a, &f->start);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->b, &s, false), 0);
	KUNIT_EXPECT_EQ_MSG(test, s.range.phys, page,
			    "Split's LIFO cache hands the page on");
	KUNIT_EXPECT_TRUE_MSG(test, all_zero(region_va(f, s.range.phys),
					     PAGE_SIZE),
			      "another context's bytes in a fresh page");
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, s.handle), 0);
	expect_info_unchanged(test, f->a, &f->start);
}

/* Quarantine: memory whose scrub failed is never handed out again. */
static void ctx_scrub_failure_quarantines(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl r = vmctl(2 * PAGE_SIZE, 0), q;
	struct fnmm_info info;
	u64 bad;
	int k, n = 0;

	for (k = FNMM_ALLOC_SPLIT; k <= FNMM_ALLOC_BIT; k++) {
		r = vmctl(2 * PAGE_SIZE, k);
		KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), 0);
		bad = r.range.phys;
		memset(region_va(f, bad), 0x5a, 2 * PAGE_SIZE);
		atomic_set(&f->dev.fail_scrub, 1);
		KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, r.handle), 0);
		info_of(f->a, &info);
		KUNIT_EXPECT_EQ(test, info.quarantined, 2 * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, info.alloc[k].free,
				f->start.alloc[k].free - 2 * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, info.ctx_bytes, 0ULL);
		expect_consistent(test, &f->dev);
		/* Take everything else: never the quarantined pages. */
		for (n = 0; ; n++) {
			q = vmctl(PAGE_SIZE, k);
			if (fnmm_ctx_reserve(f->b, &q, false))
				break;
			KUNIT_EXPECT_TRUE(test, q.range.phys < bad ||
					  q.range.phys >= bad + 2 * PAGE_SIZE);
			KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, q.range.phys),
							 PAGE_SIZE));
		}
		KUNIT_EXPECT_GT(test, n, 0);
		fnmm_ctx_destroy(f->b);
		f->b = fnmm_ctx_create(&f->dev, NULL, true);
		KUNIT_ASSERT_FALSE(test, IS_ERR(f->b));
		/* The retry scrubs and frees it. */
		KUNIT_EXPECT_EQ(test, fnmm_dev_quarantine_retry(&f->dev), 0ULL);
		KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, bad), 2 * PAGE_SIZE));
		expect_info_unchanged(test, f->a, &f->start);
	}
	/*
	 * A Pool page: its object's scrub failing keeps the bytes in the
	 * context; the page's own failing quarantines it.
	 */
	r = vmctl(64, FNMM_ALLOC_POOL);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), 0);
	atomic_set(&f->dev.fail_scrub, 2);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_release(f->a, r.handle), 0);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.quarantined, (u64)PAGE_SIZE);
	expect_consistent(test, &f->dev);
	KUNIT_EXPECT_EQ(test, fnmm_dev_quarantine_retry(&f->dev), 0ULL);
	expect_info_unchanged(test, f->a, &f->start);
}

/* Region bytes are charged to the opener's RLIMIT_MEMLOCK. */
#ifdef FNMM_HAVE_LOCKED_VM
static void ctx_memlock_limit(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct rlimit *rl = &current->signal->rlim[RLIMIT_MEMLOCK];
	struct rlimit saved = *rl;
	struct fnmm_vmctl r1 = vmctl(10 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	struct fnmm_vmctl r2 = vmctl(7 * PAGE_SIZE, FNMM_ALLOC_BIT);
	struct fnmm_vmctl p = vmctl(64, FNMM_ALLOC_POOL);
	struct fnmm_info before, info;
	struct fnmm_ctx *c;
	u64 used0;

	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.memlock_limit, U64_MAX);
	KUNIT_EXPECT_EQ(test, info.memlock_used, 0ULL);
	c = fnmm_ctx_create(&f->dev, current_user(), false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c));
	info_of(c, &info);
	used0 = info.memlock_used;
	task_lock(current->group_leader);
	rl->rlim_cur = used0 + 16 * PAGE_SIZE;
	task_unlock(current->group_leader);
	info_of(c, &before);
	KUNIT_EXPECT_EQ(test, before.memlock_limit, used0 + 16 * PAGE_SIZE);

	/* Never satisfiable is E2BIG, whatever the limit. */
	r2 = vmctl((BIT_PAGES + 1) * PAGE_SIZE, FNMM_ALLOC_BIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r2, false), -E2BIG);
	r2 = vmctl(7 * PAGE_SIZE, FNMM_ALLOC_BIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r1, false), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r2, false), -ENOMEM);
	r2 = vmctl(7 * PAGE_SIZE, FNMM_ALLOC_BIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r2, true), -ENOMEM);
	info_of(c, &info);
	KUNIT_EXPECT_EQ(test, info.memlock_used, used0 + 10 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_BIT].free,
			before.alloc[FNMM_ALLOC_BIT].free);
	r2 = vmctl(6 * PAGE_SIZE, FNMM_ALLOC_BIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r2, false), 0);
	/* At the limit: a Pool object needs a page it may not have. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &p, false), -ENOMEM);
	/* Another context of the same user shares the charge. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(c, r2.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &p, false), 0);
	info_of(c, &info);
	KUNIT_EXPECT_EQ(test, info.memlock_used, used0 + 11 * PAGE_SIZE);
	/* Unlimited contexts are not charged. */
	r2 = vmctl(8 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &r2, false), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, r2.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(c, r1.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(c, p.handle), 0);
	info_of(c, &info);
	KUNIT_EXPECT_EQ(test, info.memlock_used, used0);
	/* Closing gives back what is still held. */
	r1 = vmctl(16 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(c, &r1, false), 0);
	fnmm_ctx_destroy(c);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, (u64)atomic_long_read(&current_user()->locked_vm)
			<< PAGE_SHIFT, used0);
	task_lock(current->group_leader);
	*rl = saved;
	task_unlock(current->group_leader);
	expect_info_unchanged(test, f->a, &f->start);
}
#else
static void ctx_memlock_limit(struct kunit *test)
{
	kunit_skip(test, "no user_struct.locked_vm in this kernel");
}
#endif

/* max_handles live handles per file; the next is -ENOSPC. */
static void ctx_max_handles(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl r;
	struct fnmm_info before;
	u64 h[4];
	int i;

	f->dev.max_handles = 4;
	for (i = 0; i < 4; i++) {
		r = i & 1 ? vmctl(PAGE_SIZE, FNMM_ALLOC_BIT) :
			    vmctl(64, FNMM_ALLOC_POOL);
		KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), 0);
		h[i] = r.handle;
	}
	info_of(f->a, &before);
	r = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), -ENOSPC);
	r = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &r, true), -ENOSPC);
	expect_info_unchanged(test, f->a, &before);
	/* Another file has its own. */
	r = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->b, &r, false), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->b, r.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, h[2]), 0);
	r = vmctl(PAGE_SIZE, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), 0);
	KUNIT_EXPECT_EQ(test, r.handle, h[2]);
	f->dev.max_handles = FNMM_MAX_HANDLES - 1;
}

struct publish_race {
	struct ctx_fixture *f;
	atomic_t stop;
	unsigned long made;
	int err;
	struct completion done;
};

/* Make and release allocations as fast as it can. */
static int publish_maker(void *arg)
{
	struct publish_race *pr = arg;
	struct fnmm_vmctl r;

	while (!atomic_read(&pr->stop) && !pr->err) {
		r = vmctl(pr->made & 1 ? 64 : PAGE_SIZE,
			  pr->made & 1 ? FNMM_ALLOC_POOL : FNMM_ALLOC_SPLIT);
		pr->err = fnmm_ctx_reserve(pr->f->a, &r, false) ?:
			  fnmm_ctx_release(pr->f->a, r.handle);
		pr->made++;
		cond_resched();
	}
	complete(&pr->done);
	return 0;
}

/*
 * A handle is found only once its allocation is complete: whatever a
 * lookup by number finds has its own number, its size and its blocks
 * (the number was stored after the handle was published, where another
 * thread could see a buf with id 0).
 */
static void ctx_handle_published_whole(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct publish_race *pr = kunit_kzalloc(test, sizeof(*pr), GFP_KERNEL);
	struct task_struct *t;
	unsigned long seen = 0, i;
	u64 h;

	KUNIT_ASSERT_NOT_NULL(test, pr);
	pr->f = f;
	init_completion(&pr->done);
	t = kthread_run(publish_maker, pr, "fnmm-publish");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	for (i = 0; i < 200000 && !pr->err; i++) {
		struct fnmm_buf *buf;

		h = (1 + (i & 3)) << PAGE_SHIFT;
		buf = fnmm_ctx_get(f->a, h);
		if (!buf) {
			if (!(i & 255))
				cond_resched();
			continue;
		}
		seen++;
		KUNIT_EXPECT_EQ(test, (u64)buf->id << PAGE_SHIFT, h);
		KUNIT_EXPECT_NE(test, buf->size, 0ULL);
		KUNIT_EXPECT_NE(test, buf->nblocks, 0U);
		fnmm_buf_put(buf);
	}
	atomic_set(&pr->stop, 1);
	wait_for_completion(&pr->done);
	KUNIT_EXPECT_EQ(test, pr->err, 0);
	kunit_info(test, "%lu allocations made, %lu found by number", pr->made,
		   seen);
	expect_info_unchanged(test, f->a, &f->start);
}

/* An allocation without a handle: counted while held, gone with it. */
static void ctx_reserve_anon(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_buf *buf = NULL;
	struct fnmm_info info;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve_anon(f->a, 3 * PAGE_SIZE - 1,
						    FNMM_ACCESS_DEFAULT, &buf), 0);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, buf->id, 0U);
	KUNIT_EXPECT_EQ(test, buf->size, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, buf->map_size, 3 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, buf->blocks[0].phys),
					 buf->blocks[0].size));
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.ctx_allocations, 0ULL);
	KUNIT_EXPECT_EQ(test, info.ctx_bytes, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].allocations, 1ULL);
	expect_consistent(test, &f->dev);
	/* No handle names it. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, PAGE_SIZE), -ENOENT);
	memset(region_va(f, buf->blocks[0].phys), 0x77, buf->blocks[0].size);
	fnmm_buf_put(buf);
	expect_info_unchanged(test, f->a, &f->start);
	/* Larger than Split: E2BIG, nothing changes. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve_anon(f->a, REGION_PAGES * PAGE_SIZE + 1,
						    FNMM_ACCESS_DEFAULT, &buf),
			-E2BIG);
	expect_info_unchanged(test, f->a, &f->start);
}

/* Take a reference on the page at @phys, as get_user_pages() does. */
static struct page *ref_page(u64 phys)
{
	struct page *page = pfn_to_page(PHYS_PFN(phys));

	get_page(page);
	return page;
}

/*
 * A page still referenced when its allocation goes (a pipe after
 * vmsplice, an O_DIRECT bio in flight): the whole block waits,
 * unscrubbed (the reader sees the owner's bytes), counted in Info and
 * the audit, out of everyone's reach, and goes back scrubbed only once
 * the last reference is gone.  Split, Bit, a section of Split, and a
 * Pool's page.
 */
static void ctx_pinned_waits(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl s = vmctl(4 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	struct fnmm_vmctl b = vmctl(2 * PAGE_SIZE, FNMM_ALLOC_BIT);
	struct fnmm_vmctl r = vmctl(4 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	struct fnmm_vmctl p = vmctl(64, FNMM_ALLOC_POOL);
	struct fnmm_vmctl all;
	struct page *ps, *pb, *pr, *pp;
	struct fnmm_info info;
	u64 pool_page;

	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &s, false), 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &b, false), 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &r, false), 0);
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(f->a, &p, false), 0);
	pool_page = p.range.phys & PAGE_MASK;
	memset(region_va(f, s.range.phys), 0x5c, 4 * PAGE_SIZE);
	memset(region_va(f, b.range.phys), 0x5d, 2 * PAGE_SIZE);
	memset(region_va(f, r.range.phys), 0x5e, 4 * PAGE_SIZE);
	memset(region_va(f, pool_page), 0x5f, PAGE_SIZE);
	ps = ref_page(s.range.phys + 2 * PAGE_SIZE);
	pb = ref_page(b.range.phys);
	pr = ref_page(r.range.phys + PAGE_SIZE);
	pp = ref_page(pool_page);

	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, s.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, b.handle), 0);
	/* Pages 1-2 of r go (page 1 referenced), then the rest unreferenced. */
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release_sections(f->a, r.handle,
							PAGE_SIZE,
							2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, r.handle), 0);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_release(f->a, p.handle), 0);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.pinned, 9 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.ctx_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_SPLIT].free,
			f->start.alloc[FNMM_ALLOC_SPLIT].free - 7 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, info.alloc[FNMM_ALLOC_BIT].free,
			f->start.alloc[FNMM_ALLOC_BIT].free - 2 * PAGE_SIZE);
	expect_consistent(test, &f->dev);
	KUNIT_EXPECT_FALSE_MSG(test, memchr_inv(region_va(f, s.range.phys),
						0x5c, 4 * PAGE_SIZE),
			       "a referenced block was scrubbed under its reader");
	KUNIT_EXPECT_FALSE(test, memchr_inv(region_va(f, b.range.phys), 0x5d,
					    2 * PAGE_SIZE));
	KUNIT_EXPECT_FALSE(test, memchr_inv(region_va(f, r.range.phys +
						      PAGE_SIZE), 0x5e,
					    2 * PAGE_SIZE));
	/* Still referenced: nothing moves, and nobody else gets them. */
	KUNIT_EXPECT_EQ(test, fnmm_dev_pins_recheck(&f->dev), 9 * PAGE_SIZE);
	all = vmctl(info.alloc[FNMM_ALLOC_SPLIT].free, FNMM_ALLOC_SPLIT);
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->b, &all, true), 0);
	all.range.size = PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, fnmm_ctx_reserve(f->b, &all, false), -ENOMEM);
	fnmm_ctx_destroy(f->b);
	f->b = NULL;

	put_page(ps);
	KUNIT_EXPECT_EQ(test, fnmm_dev_pins_recheck(&f->dev), 5 * PAGE_SIZE);
	KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, s.range.phys),
					 4 * PAGE_SIZE));
	put_page(pb);
	put_page(pr);
	put_page(pp);
	KUNIT_EXPECT_EQ(test, fnmm_dev_pins_recheck(&f->dev), 0ULL);
	KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, b.range.phys),
					 2 * PAGE_SIZE));
	KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, r.range.phys +
						   PAGE_SIZE), 2 * PAGE_SIZE));
	KUNIT_EXPECT_TRUE(test, all_zero(region_va(f, pool_page), PAGE_SIZE));
	f->b = fnmm_ctx_create(&f->dev, NULL, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->b));
	expect_info_unchanged(test, f->a, &f->start);
}

#ifdef FNMM_HAVE_LOCKED_VM
/* A waiting block stays charged to its owner's RLIMIT_MEMLOCK. */
static void ctx_pinned_charged(struct kunit *test)
{
	struct ctx_fixture *f = test->priv;
	struct fnmm_vmctl s = vmctl(4 * PAGE_SIZE, FNMM_ALLOC_SPLIT);
	struct fnmm_info info;
	struct fnmm_ctx *c;
	struct page *page;
	u64 used0;

	c = fnmm_ctx_create(&f->dev, current_user(), false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(c));
	info_of(c, &info);
	used0 = info.memlock_used;
	KUNIT_ASSERT_EQ(test, fnmm_ctx_reserve(c, &s, false), 0);
	page = ref_page(s.range.phys);
	fnmm_ctx_destroy(c);
	info_of(f->a, &info);
	KUNIT_EXPECT_EQ(test, info.pinned, 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, (u64)atomic_long_read(&current_user()->locked_vm)
			<< PAGE_SHIFT, used0 + 4 * PAGE_SIZE);
	put_page(page);
	KUNIT_EXPECT_EQ(test, fnmm_dev_pins_recheck(&f->dev), 0ULL);
	KUNIT_EXPECT_EQ(test, (u64)atomic_long_read(&current_user()->locked_vm)
			<< PAGE_SHIFT, used0);
	expect_info_unchanged(test, f->a, &f->start);
}
#else
static void ctx_pinned_charged(struct kunit *test)
{
	kunit_skip(test, "no user_struct.locked_vm in this kernel");
}
#endif

static struct kunit_case ctx_cases[] = {
	KUNIT_CASE(ctx_reserve_release),
	KUNIT_CASE(ctx_reserve_rejects),
	KUNIT_CASE(ctx_bubble),
	KUNIT_CASE_PARAM(ctx_reserve_kinds, kind_case_gen_params),
	KUNIT_CASE(ctx_reserve_sparse),
	KUNIT_CASE(ctx_release_sections),
	KUNIT_CASE(ctx_release_while_held),
	KUNIT_CASE(ctx_isolation),
	KUNIT_CASE(ctx_destroy_returns_all),
	KUNIT_CASE(ctx_scrub_on_free),
	KUNIT_CASE(ctx_handles_unique),
	KUNIT_CASE(ctx_audit),
	KUNIT_CASE(ctx_pool_page_scrubbed),
	KUNIT_CASE(ctx_scrub_failure_quarantines),
	KUNIT_CASE(ctx_memlock_limit),
	KUNIT_CASE(ctx_max_handles),
	KUNIT_CASE(ctx_handle_published_whole),
	KUNIT_CASE(ctx_reserve_anon),
	KUNIT_CASE(ctx_pinned_waits),
	KUNIT_CASE(ctx_pinned_charged),
	{}
};

static struct kunit_suite ctx_suite = {
	.name = "fnmm_context",
	.init = ctx_test_init,
	.exit = ctx_test_exit,
	.test_cases = ctx_cases,
};

kunit_test_suites(&ctx_suite);
