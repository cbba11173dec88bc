// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: Split, Bit and Pool shared by concurrent threads.
 *
 * Each case starts kthreads (CONC_THREADS; the refill race: one per CPU,
 * at least 2) on one allocator.  Every thread draws its own seeded
 * sequence of allocations and releases and keeps its own allocations;
 * every granule it is handed is claimed in a bitmap shared by all
 * threads with an atomic fetch-or, so an allocation handed to two threads
 * at once is caught the moment the second claims it.  A thread releases
 * an allocation only after unclaiming it.  Meanwhile the threads read the
 * lockless counters and run the locked audits (fnmm_check(), largest).
 * After the join: fnmm_check() passes on every allocator, the free space
 * is back to the start, and no granule is still claimed.
 *
 * The Pool cases run over a Split parent that the threads also allocate
 * pages from directly, and one of them makes every thread allocate from
 * the same empty class at the same moment, round after round, so that
 * the threads refill it together: pool_new_slab() runs with the lock
 * dropped in several threads and all but one pool_install() of a
 * sub-pool loses the race and returns its page (two threads bound to
 * each CPU: a Pool is one sub-pool per CPU).  A counting wrapper around
 * the parent tells how often that happened (printed).  The random cases'
 * threads move between CPUs, so some releases reach another CPU's
 * sub-pool; the handoff cases make every release one: each thread,
 * bound to its CPU, releases what the next one allocated.
 *
 * The threads must not use KUnit's assertions (they are not the test's
 * thread): each records its first failure and the test reports it.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include "fnmm_alloc.h"
#include "model.h"

#define TEST_BASE	0x40000000ULL
#define CONC_THREADS	4
#define CONC_LIVE	32
#define CONC_OPS	4000
#define CONC_ROUNDS	400

enum conc_kind { CONC_SPLIT, CONC_BIT, CONC_POOL };

struct conc_shared;

struct conc_thread {
	struct conc_shared *sh;
	struct task_struct *task;
	struct completion done;
	unsigned int id;
	struct rnd_state rnd;
	u64 addr[CONC_LIVE];
	u64 size[CONC_LIVE];		/* bytes held */
	struct fnmm_allocator *from[CONC_LIVE];
	unsigned int n;
	unsigned int allocs, nomem, checks;
	/* the first failure */
	int err;
	unsigned int err_op;
	char msg[128];
};

struct conc_shared {
	enum conc_kind kind;
	struct fnmm_allocator *a;	/* what the threads share */
	struct fnmm_allocator *parent;	/* Pool's parent, or NULL */
	u64 base;
	u64 gran;			/* bytes per claim bit */
	unsigned long nbits;
	atomic_long_t *claim;		/* bit set: held by some thread */
	unsigned int nthreads;
	u32 seed;
	/* the barrier of the refill race */
	atomic_t arrived;
	atomic_t gen;
	unsigned int lost;		/* refills that lost the race */
	struct conc_thread t[CONC_THREADS];
};

static __printf(3, 4) void conc_fail(struct conc_thread *t, unsigned int op,
				      const char *fmt, ...)
{
	va_list args;

	if (t->err)
		return;
	t->err = -EUCLEAN;
	t->err_op = op;
	va_start(args, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, args);
	va_end(args);
}

/* The mask of bits [lo, hi) of one word, 0 <= lo < hi <= BITS_PER_LONG. */
static unsigned long conc_mask(unsigned long lo, unsigned long hi)
{
	return GENMASK(hi - 1, lo);
}

/*
 * Claim the granules of [addr, addr + size) for @t, a word at a time:
 * false if any was claimed already (by anyone: a granule is handed out
 * once at a time) or the range is outside.
 */
static bool conc_claim(struct conc_thread *t, u64 addr, u64 size)
{
	struct conc_shared *sh = t->sh;
	unsigned long i = (addr - sh->base) / sh->gran;
	unsigned long end = i + DIV_ROUND_UP(size, sh->gran);

	if (addr < sh->base || end > sh->nbits)
		return false;
	while (i < end) {
		unsigned long w = BIT_WORD(i);
		unsigned long mask = conc_mask(i % BITS_PER_LONG,
			min_t(unsigned long, end - w * BITS_PER_LONG,
			      BITS_PER_LONG));

		if (atomic_long_fetch_or(mask, &sh->claim[w]) & mask)
			return false;
		i = (w + 1) * BITS_PER_LONG;
	}
	return true;
}

/* Give the granules back; false if one was not claimed. */
static bool conc_unclaim(struct conc_thread *t, u64 addr, u64 size)
{
	struct conc_shared *sh = t->sh;
	unsigned long i = (addr - sh->base) / sh->gran;
	unsigned long end = i + DIV_ROUND_UP(size, sh->gran);
	bool ok = true;

	while (i < end) {
		unsigned long w = BIT_WORD(i);
		unsigned long mask = conc_mask(i % BITS_PER_LONG,
			min_t(unsigned long, end - w * BITS_PER_LONG,
			      BITS_PER_LONG));

		ok &= (atomic_long_fetch_andnot(mask, &sh->claim[w]) & mask) ==
		      mask;
		i = (w + 1) * BITS_PER_LONG;
	}
	return ok;
}

/*
 * Pool's parent in these cases: a Split behind a counting wrapper, so
 * that the pages a Pool gives back while the threads only allocate (the
 * refills that lost the race to pool_install()) can be counted.
 */
struct conc_counting {
	struct fnmm_allocator a;
	struct fnmm_allocator *inner;
	atomic_t releases;
};

static struct fnmm_allocator *conc_inner(struct fnmm_allocator *a)
{
	return container_of(a, struct conc_counting, a)->inner;
}

static int cnt_allocate(struct fnmm_allocator *a, struct fnmm_range *range)
{
	return fnmm_allocate(conc_inner(a), range);
}

static int cnt_release(struct fnmm_allocator *a, u64 addr)
{
	atomic_inc(&container_of(a, struct conc_counting, a)->releases);
	return fnmm_release(conc_inner(a), addr);
}

static u64 cnt_available(struct fnmm_allocator *a)
{
	return fnmm_available(conc_inner(a));
}

static u64 cnt_largest(struct fnmm_allocator *a)
{
	return fnmm_largest(conc_inner(a));
}

static u64 cnt_alloc_size(struct fnmm_allocator *a, u64 addr)
{
	return fnmm_alloc_size(conc_inner(a), addr);
}

static int cnt_check(struct fnmm_allocator *a)
{
	return fnmm_check(conc_inner(a));
}

static void cnt_destroy(struct fnmm_allocator *a)
{
	fnmm_destroy(conc_inner(a));
	kfree(container_of(a, struct conc_counting, a));
}

static const struct fnmm_alloc_ops cnt_ops = {
	.name		= "split",
	.allocate	= cnt_allocate,
	.release	= cnt_release,
	.available	= cnt_available,
	.largest	= cnt_largest,
	.alloc_size	= cnt_alloc_size,
	.check		= cnt_check,
	.destroy	= cnt_destroy,
};

static struct fnmm_allocator *conc_counting_split(u64 base, u64 size)
{
	struct conc_counting *c = kzalloc(sizeof(*c), GFP_KERNEL);
	struct fnmm_allocator *inner;

	if (!c)
		return ERR_PTR(-ENOMEM);
	inner = fnmm_split_create(base, size, 0);
	if (IS_ERR(inner)) {
		kfree(c);
		return inner;
	}
	c->inner = inner;
	c->a = *inner;
	c->a.ops = &cnt_ops;
	return &c->a;
}

static int conc_releases(struct fnmm_allocator *parent)
{
	return atomic_read(&container_of(parent, struct conc_counting,
					 a)->releases);
}

/* Allocate from @a and claim what came back. */
static void conc_alloc(struct conc_thread *t, struct fnmm_allocator *a,
		       u64 size, u64 align, unsigned int op)
{
	struct fnmm_range r = { .size = size, .alignment = align };
	int ret = fnmm_allocate(a, &r);
	u64 held;

	if (ret == -ENOMEM) {
		t->nomem++;
		return;
	}
	if (ret) {
		conc_fail(t, op, "%s: allocate %llu aligned %llu: %d",
			  a->ops->name, size, align, ret);
		return;
	}
	held = fnmm_alloc_size(a, r.address);
	if (held < size || (align && r.address & (align - 1))) {
		conc_fail(t, op, "%s: got %llu bytes at %#llx for %llu aligned %llu",
			  a->ops->name, held, r.address, size, align);
		return;
	}
	if (!conc_claim(t, r.address, held)) {
		conc_fail(t, op, "%s: %#llx (+%llu) handed to two threads",
			  a->ops->name, r.address, held);
		return;
	}
	t->addr[t->n] = r.address;
	t->size[t->n] = held;
	t->from[t->n] = a;
	t->n++;
	t->allocs++;
}

static void conc_release(struct conc_thread *t, unsigned int i,
			 unsigned int op)
{
	struct fnmm_allocator *a = t->from[i];
	int ret;

	if (!conc_unclaim(t, t->addr[i], t->size[i]))
		conc_fail(t, op, "%s: %#llx was not claimed", a->ops->name,
			  t->addr[i]);
	ret = fnmm_release(a, t->addr[i]);
	if (ret)
		conc_fail(t, op, "%s: release %#llx: %d", a->ops->name,
			  t->addr[i], ret);
	t->n--;
	t->addr[i] = t->addr[t->n];
	t->size[i] = t->size[t->n];
	t->from[i] = t->from[t->n];
}

static void conc_release_all(struct conc_thread *t, unsigned int op)
{
	while (t->n)
		conc_release(t, t->n - 1, op);
}

/* A random request for the shared allocator; Pool: sometimes a parent page. */
static void conc_random_alloc(struct conc_thread *t, u32 r, unsigned int op)
{
	struct conc_shared *sh = t->sh;
	u64 g = sh->a->granule, size, align = 0;

	switch (sh->kind) {
	case CONC_SPLIT:
	case CONC_BIT:
		size = g * (1 + (r >> 8) % (r & BIT(7) ? 4 : 24)) -
		       (r >> 20) % g;
		if (!(r & (3 << 5)))
			align = g << ((r >> 16) % 4);
		conc_alloc(t, sh->a, size, align, op);
		break;
	case CONC_POOL:
		if (!(r & (7 << 5))) {
			conc_alloc(t, sh->parent,
				   PAGE_SIZE * (1 + (r >> 8) % 3), 0, op);
			break;
		}
		size = 1 + (r >> 8) % (8U << ((r >> 16) % 9));
		if (!(r & (3 << 12)))
			align = 8U << ((r >> 20) % 4);
		conc_alloc(t, sh->a, size, align, op);
		break;
	}
}

/*
 * Done: say so, then exit only when kthread_stop() says to.  A thread
 * that exits on its own races, in the kernel, with kthread_stop()
 * reading its flags (KCSAN: do_exit / kthread_unpark).
 */
static int conc_done(struct conc_thread *t)
{
	complete(&t->done);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static int conc_random_fn(void *data)
{
	struct conc_thread *t = data;
	struct conc_shared *sh = t->sh;
	unsigned int op;

	for (op = 0; op < CONC_OPS; op++) {
		u32 r = prandom_u32_state(&t->rnd);

		if (t->n < CONC_LIVE && (!t->n || r % 100 < 55))
			conc_random_alloc(t, r, op);
		else
			conc_release(t, prandom_u32_state(&t->rnd) % t->n, op);
		/*
		 * The counters read without the lock (as sysfs and Info
		 * read them) while the others allocate and release.
		 */
		if (fnmm_available(sh->a) > fnmm_size(sh->a))
			conc_fail(t, op, "%s: more available than managed",
				  sh->a->ops->name);
		if (sh->parent && fnmm_pool_held(sh->a) > fnmm_size(sh->a))
			conc_fail(t, op, "pool: holds more than managed");
		/* The audits take the lock: they pass while others work. */
		if (op % 128 == t->id) {
			if (fnmm_check(sh->a))
				conc_fail(t, op, "%s: check failed",
					  sh->a->ops->name);
			if (sh->parent && fnmm_check(sh->parent))
				conc_fail(t, op, "parent: check failed");
			fnmm_largest(sh->a);
			t->checks++;
		}
		cond_resched();
	}
	conc_release_all(t, op);
	return conc_done(t);
}

/* Every thread waits here until all have arrived. */
static void conc_barrier(struct conc_shared *sh)
{
	int gen = atomic_read_acquire(&sh->gen);
	unsigned int spins = 0;

	if (atomic_inc_return(&sh->arrived) == sh->nthreads) {
		atomic_set(&sh->arrived, 0);
		atomic_set_release(&sh->gen, gen + 1);
		return;
	}
	while (atomic_read_acquire(&sh->gen) == gen) {
		if (++spins < 4096) {
			cpu_relax();
		} else {
			usleep_range(10, 50);
			spins = 0;
		}
	}
}

/*
 * Rounds: thread 0 empties the class's spare (trim) and audits while the
 * others wait; then all allocate from the empty class at once; thread 0
 * counts the pages given back meanwhile; then all release.  Allocations
 * from an empty class go to pool_new_slab() with the lock dropped, so
 * the threads that share a CPU (a sub-pool) race to pool_install().
 */
static int conc_refill_fn(void *data)
{
	struct conc_thread *t = data;
	struct conc_shared *sh = t->sh;
	unsigned int round, k;
	int rel0 = 0;

	for (round = 0; round < CONC_ROUNDS; round++) {
		unsigned int shift = FNMM_POOL_MIN_SHIFT +
			round % (PAGE_SHIFT - FNMM_POOL_MIN_SHIFT);
		unsigned int per = 1 + round % 3;

		conc_barrier(sh);
		if (t->id == 0) {
			fnmm_pool_trim(sh->a);
			if (fnmm_check(sh->a) || fnmm_check(sh->parent))
				conc_fail(t, round, "check failed");
			if (fnmm_pool_held(sh->a))
				conc_fail(t, round, "%llu bytes held after trim",
					  fnmm_pool_held(sh->a));
			t->checks++;
			rel0 = conc_releases(sh->parent);
		}
		conc_barrier(sh);
		for (k = 0; k < per; k++)
			conc_alloc(t, sh->a, 1U << shift, 0, round);
		conc_barrier(sh);
		/* Only a refill that lost the race gave a page back since. */
		if (t->id == 0)
			sh->lost += conc_releases(sh->parent) - rel0;
		conc_barrier(sh);
		conc_release_all(t, round);
	}
	return conc_done(t);
}

/*
 * Rounds: every thread makes CONC_LIVE / 2 random allocations, then,
 * after a barrier, releases the next thread's.  The threads are bound to
 * different CPUs, so every release goes to another CPU than the one that
 * allocated: onto its own magazine (Split, Bit) or to the owner's
 * sub-pool (Pool) while that owner allocates.
 */
static int conc_handoff_fn(void *data)
{
	struct conc_thread *t = data;
	struct conc_shared *sh = t->sh;
	struct conc_thread *next = &sh->t[(t->id + 1) % sh->nthreads];
	unsigned int round, k, op = 0;

	for (round = 0; round < CONC_ROUNDS / 4; round++) {
		for (k = 0; k < CONC_LIVE / 2; k++, op++)
			conc_random_alloc(t, prandom_u32_state(&t->rnd), op);
		conc_barrier(sh);
		/* Only this thread touches @next's list until the barrier. */
		conc_release_all(next, op);
		if (t->id == 0 && round % 16 == 0) {
			if (fnmm_check(sh->a) ||
			    (sh->parent && fnmm_check(sh->parent)))
				conc_fail(t, op, "check failed");
			t->checks++;
		}
		conc_barrier(sh);
	}
	return conc_done(t);
}

struct conc_case {
	const char *name;
	enum conc_kind kind;
	int (*fn)(void *data);
};

static const struct conc_case conc_cases[] = {
	{ "split", CONC_SPLIT, conc_random_fn },
	{ "bit", CONC_BIT, conc_random_fn },
	{ "pool over split", CONC_POOL, conc_random_fn },
	{ "pool refill race", CONC_POOL, conc_refill_fn },
	{ "split handoff", CONC_SPLIT, conc_handoff_fn },
	{ "bit handoff", CONC_BIT, conc_handoff_fn },
	{ "pool handoff", CONC_POOL, conc_handoff_fn },
};

static void conc_desc(const struct conc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(conc, conc_cases, conc_desc);

static void conc_destroy(struct kunit *test)
{
	struct conc_shared *sh = test->priv;

	if (!sh)
		return;
	fnmm_destroy(sh->a);
	fnmm_destroy(sh->parent);
}

/* The shared allocators: 1 MiB at a base that is not 1 MiB-aligned. */
static struct conc_shared *conc_setup(struct kunit *test,
				      const struct conc_case *c)
{
	struct conc_shared *sh = kunit_kzalloc(test, sizeof(*sh), GFP_KERNEL);
	u64 base = TEST_BASE + 3 * PAGE_SIZE, size = 256 * PAGE_SIZE;

	KUNIT_ASSERT_NOT_NULL(test, sh);
	test->priv = sh;
	sh->kind = c->kind;
	sh->base = base;
	switch (c->kind) {
	case CONC_SPLIT:
		sh->a = fnmm_split_create(base, size, 0);
		sh->gran = PAGE_SIZE;
		break;
	case CONC_BIT:
		sh->a = fnmm_bit_create(base, size, 256);
		sh->gran = 256;
		break;
	case CONC_POOL:
		sh->parent = conc_counting_split(base, size);
		KUNIT_ASSERT_FALSE(test, IS_ERR(sh->parent));
		sh->a = fnmm_pool_create(sh->parent, FNMM_POOL_MIN_SHIFT,
					 PAGE_SHIFT - 1);
		sh->gran = 1U << FNMM_POOL_MIN_SHIFT;
		break;
	}
	KUNIT_ASSERT_FALSE(test, IS_ERR(sh->a));
	sh->nbits = size / sh->gran;
	sh->claim = kunit_kcalloc(test, BITS_TO_LONGS(sh->nbits),
				  sizeof(*sh->claim), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sh->claim);
	return sh;
}

static void concurrent(struct kunit *test)
{
	const struct conc_case *c = test->param_value;
	struct conc_shared *sh = conc_setup(test, c);
	struct fnmm_allocator *top = sh->parent ? sh->parent : sh->a;
	u64 free0 = fnmm_available(top);
	unsigned int i, started = 0, allocs = 0, nomem = 0, checks = 0;

	sh->seed = fnmm_test_seed();
	kunit_info(test, "seed %u\n", sh->seed);
	sh->nthreads = CONC_THREADS;
	/*
	 * The refill race: a Pool is one sub-pool per CPU, so threads race
	 * to refill only on one CPU (preemptible: one runs while the other
	 * makes its slab with the lock dropped).  Two threads per CPU, each
	 * pair bound to its CPU, the pairs' sub-pools side by side.
	 */
	if (c->fn == conc_refill_fn)
		sh->nthreads = clamp_t(unsigned int, 2 * num_online_cpus(), 2,
				       CONC_THREADS);
	/* A handoff: one thread per CPU, each bound to its own. */
	if (c->fn == conc_handoff_fn)
		sh->nthreads = clamp_t(unsigned int, num_online_cpus(), 2,
				       CONC_THREADS);
	for (i = 0; i < sh->nthreads; i++) {
		struct conc_thread *t = &sh->t[i];

		t->sh = sh;
		t->id = i;
		init_completion(&t->done);
		prandom_seed_state(&t->rnd, ((u64)(c - conc_cases) << 40) |
				   ((u64)i << 32) | sh->seed);
		t->task = kthread_create(c->fn, t, "fnmm-conc/%u", i);
		if (IS_ERR(t->task))
			break;
		if (c->fn == conc_refill_fn)
			kthread_bind(t->task, cpumask_nth(i / 2 %
							  num_online_cpus(),
							  cpu_online_mask));
		if (c->fn == conc_handoff_fn)
			kthread_bind(t->task, cpumask_nth(i % num_online_cpus(),
							  cpu_online_mask));
		get_task_struct(t->task);
		started++;
	}
	if (started < sh->nthreads) {
		/* Never woken: kthread_stop() does not run them. */
		for (i = 0; i < started; i++) {
			kthread_stop(sh->t[i].task);
			put_task_struct(sh->t[i].task);
		}
		KUNIT_FAIL(test, "could not start %u threads", sh->nthreads);
		return;
	}
	for (i = 0; i < sh->nthreads; i++)
		wake_up_process(sh->t[i].task);
	for (i = 0; i < sh->nthreads; i++) {
		struct conc_thread *t = &sh->t[i];

		/* kthread_stop() before a thread ran would not run it. */
		wait_for_completion(&t->done);
		kthread_stop(t->task);
		put_task_struct(t->task);
		allocs += t->allocs;
		nomem += t->nomem;
		checks += t->checks;
		KUNIT_EXPECT_EQ_MSG(test, t->err, 0,
				    "seed %u thread %u op %u: %s", sh->seed, i,
				    t->err_op, t->msg);
		KUNIT_EXPECT_EQ_MSG(test, t->n, 0U, "thread %u kept some", i);
	}
	kunit_info(test, "%u threads: %u allocations, %u -ENOMEM, %u audits\n",
		   sh->nthreads, allocs, nomem, checks);
	if (c->fn == conc_refill_fn)
		kunit_info(test, "%u refills lost the race to another thread's\n",
			   sh->lost);
	KUNIT_EXPECT_GT(test, allocs, 0U);
	if (sh->parent)
		fnmm_pool_trim(sh->a);
	KUNIT_EXPECT_EQ(test, fnmm_check(sh->a), 0);
	if (sh->parent) {
		KUNIT_EXPECT_EQ(test, fnmm_check(sh->parent), 0);
		KUNIT_EXPECT_EQ(test, fnmm_pool_held(sh->a), 0ULL);
		KUNIT_EXPECT_EQ(test, fnmm_available(sh->a), 0ULL);
	}
	KUNIT_EXPECT_EQ(test, fnmm_available(top), free0);
	KUNIT_EXPECT_EQ(test, fnmm_largest(top), free0);
	for (i = 0; i < BITS_TO_LONGS(sh->nbits); i++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&sh->claim[i]), 0L,
				    "word %u still claimed", i);
}

static struct kunit_case concurrent_cases[] = {
	KUNIT_CASE_PARAM(concurrent, conc_gen_params),
	{}
};

static struct kunit_suite concurrent_suite = {
	.name = "fnmm_concurrent",
	.suite_init = fnmm_test_suite_seed,
	.exit = conc_destroy,
	.test_cases = concurrent_cases,
};

kunit_test_suites(&concurrent_suite);
