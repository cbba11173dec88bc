// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: allocate + release pairs per second with one thread, then with
 * one thread per CPU (up to 4), each bound to its CPU, ours next to the
 * kernel's own allocators in the same run:
 *
 *   split-0      Split, 1 page (the per-CPU magazines)
 *   alloc_pages  order 0
 *   pool-64      Pool, 64 B, a Pool per thread (the device gives every
 *                open file its own) over one shared Split, each thread
 *                keeping one object live (an idle Pool gives its page back)
 *   pool-64-shared  the same on one Pool for every thread (its per-CPU
 *                sub-pools), as threads of one process share their file's
 *   kmem_cache   64 B, one cache
 *
 * Every case runs SCALE_MS per thread count.  Prints one line per case,
 * "FNMM-SCALE<TAB>case<TAB>threads<TAB>pairs/s<TAB>ratio to 1 thread",
 * for tools/bench/scale-x86.sh.  A benchmark, not a timing test: it
 * fails only if a call fails.  The figures come from whatever kernel runs
 * it (the x86 run has lockdep and KCSAN, and QEMU's TCG): compare the
 * ratios of one run, never absolute rates.  Skipped on one CPU (UML).
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include "fnmm_alloc.h"

#define SCALE_BASE	0x40000000ULL
#define SCALE_SIZE	(256ULL << 20)
#define SCALE_MAX	4
#define SCALE_MS	300

enum scale_case { SC_SPLIT, SC_PAGES, SC_POOL, SC_POOL_SHARED, SC_KMEM,
		  SC_NR };

static const char *const scale_names[SC_NR] = {
	"split-0", "alloc_pages", "pool-64", "pool-64-shared", "kmem_cache",
};

struct scale_run {
	enum scale_case c;
	struct fnmm_allocator *split;
	struct fnmm_allocator *pool[SCALE_MAX];
	struct fnmm_allocator *shared;	/* one Pool for every thread */
	struct kmem_cache *cache;
	atomic_t ready;
	bool go;
	bool stop;
	unsigned long ops[SCALE_MAX];
	int err[SCALE_MAX];
	struct completion done[SCALE_MAX];
	unsigned int id[SCALE_MAX];
};

/* Thread @t's Pool in a Pool case. */
static struct fnmm_allocator *scale_pool(struct scale_run *r, unsigned int t)
{
	return r->c == SC_POOL_SHARED ? r->shared : r->pool[t];
}

static int scale_pair(struct scale_run *r, unsigned int t)
{
	struct fnmm_range range = { .size = PAGE_SIZE };
	struct page *pg;
	void *obj;
	int ret;

	switch (r->c) {
	case SC_SPLIT:
		ret = fnmm_allocate(r->split, &range);
		return ret ?: fnmm_release(r->split, range.address);
	case SC_PAGES:
		pg = alloc_pages(GFP_KERNEL, 0);
		if (!pg)
			return -ENOMEM;
		__free_pages(pg, 0);
		return 0;
	case SC_POOL:
	case SC_POOL_SHARED:
		range.size = 64;
		ret = fnmm_allocate(scale_pool(r, t), &range);
		return ret ?: fnmm_release(scale_pool(r, t), range.address);
	default:
		obj = kmem_cache_alloc(r->cache, GFP_KERNEL);
		if (!obj)
			return -ENOMEM;
		kmem_cache_free(r->cache, obj);
		return 0;
	}
}

static int scale_fn(void *arg)
{
	unsigned int *idp = arg;
	unsigned int t = *idp;
	struct scale_run *r = container_of(idp - t, struct scale_run, id[0]);
	struct fnmm_range keep = { .size = 64 };
	unsigned long n = 0;
	bool kept = false;
	int i, err = 0;

	if (r->c == SC_POOL || r->c == SC_POOL_SHARED) {
		err = fnmm_allocate(scale_pool(r, t), &keep);
		kept = !err;
	}
	atomic_inc(&r->ready);
	while (!READ_ONCE(r->go))
		cpu_relax();
	while (!err && !READ_ONCE(r->stop)) {
		for (i = 0; i < 64 && !err; i++)
			err = scale_pair(r, t);
		n += 64;
		cond_resched();
	}
	if (kept)
		err = err ?: fnmm_release(scale_pool(r, t), keep.address);
	r->ops[t] = n;
	r->err[t] = err;
	complete(&r->done[t]);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/* Pairs per second over @nthreads threads on CPUs 0.., or 0 on error. */
static u64 scale_once(struct kunit *test, struct scale_run *r,
		      unsigned int nthreads)
{
	struct task_struct *task[SCALE_MAX];
	unsigned int t, cpu = 0;
	u64 t0, ns, sum = 0;

	atomic_set(&r->ready, 0);
	WRITE_ONCE(r->go, false);
	WRITE_ONCE(r->stop, false);
	for (t = 0; t < nthreads; t++) {
		r->id[t] = t;
		init_completion(&r->done[t]);
		task[t] = kthread_create(scale_fn, &r->id[t], "fnmm-scale/%u", t);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task[t]));
		cpu = t ? cpumask_next(cpu, cpu_online_mask) :
			  cpumask_first(cpu_online_mask);
		kthread_bind(task[t], cpu);
		get_task_struct(task[t]);
		wake_up_process(task[t]);
	}
	while (atomic_read(&r->ready) < nthreads)
		usleep_range(1000, 2000);
	t0 = ktime_get_ns();
	WRITE_ONCE(r->go, true);
	msleep(SCALE_MS);
	WRITE_ONCE(r->stop, true);
	for (t = 0; t < nthreads; t++)
		wait_for_completion(&r->done[t]);
	ns = ktime_get_ns() - t0;
	for (t = 0; t < nthreads; t++) {
		kthread_stop(task[t]);
		put_task_struct(task[t]);
		KUNIT_EXPECT_EQ_MSG(test, r->err[t], 0, "%s thread %u",
				    scale_names[r->c], t);
		sum += r->ops[t];
	}
	return div64_u64(sum * NSEC_PER_SEC, max_t(u64, ns, 1));
}

static void scale_pairs(struct kunit *test)
{
	unsigned int n = min_t(unsigned int, num_online_cpus(), SCALE_MAX), t;
	struct scale_run *r;
	int c;

	if (n < 2)
		kunit_skip(test, "one CPU: nothing to scale to");
	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->split = fnmm_split_create(SCALE_BASE, SCALE_SIZE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(r->split));
	for (t = 0; t < n; t++) {
		r->pool[t] = fnmm_pool_create(r->split, FNMM_POOL_MIN_SHIFT,
					      PAGE_SHIFT - 1);
		KUNIT_ASSERT_FALSE(test, IS_ERR(r->pool[t]));
	}
	r->shared = fnmm_pool_create(r->split, FNMM_POOL_MIN_SHIFT,
				     PAGE_SHIFT - 1);
	KUNIT_ASSERT_FALSE(test, IS_ERR(r->shared));
	r->cache = kmem_cache_create("fnmm_scale", 64, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, r->cache);
	for (c = 0; c < SC_NR; c++) {
		u64 one, all;

		r->c = c;
		one = scale_once(test, r, 1);
		all = scale_once(test, r, n);
		kunit_info(test, "FNMM-SCALE\t%s\t%u\t%llu\t%llu.%02llu\n",
			   scale_names[c], n, all,
			   div64_u64(all, max_t(u64, one, 1)),
			   div64_u64(all * 100, max_t(u64, one, 1)) % 100);
		kunit_info(test, "FNMM-SCALE\t%s\t1\t%llu\t1.00\n",
			   scale_names[c], one);
	}
	kmem_cache_destroy(r->cache);
	for (t = 0; t < n; t++)
		fnmm_destroy(r->pool[t]);
	KUNIT_EXPECT_EQ(test, fnmm_check(r->shared), 0);
	fnmm_destroy(r->shared);
	KUNIT_EXPECT_EQ(test, fnmm_check(r->split), 0);
	fnmm_destroy(r->split);
}

static struct kunit_case scale_cases[] = {
	KUNIT_CASE(scale_pairs),
	{}
};

static struct kunit_suite scale_suite = {
	.name = "fnmm_scale",
	.test_cases = scale_cases,
};

kunit_test_suite(scale_suite);

MODULE_LICENSE("GPL");
