// SPDX-License-Identifier: GPL-2.0
/*
 * usim: two threads (two "CPUs") racing on the same allocations of
 * module/{split,bit,pool}.c, built with -DUSIM_THREADS (spinning locks).
 * The paths that take no allocator lock (the live-mark claim of a
 * release, the per-CPU magazines, available()) are where two CPUs meet:
 *
 *   carve-release   one thread cuts an allocation in two while the other
 *                   releases it.  Either the release came first (the
 *                   carve gets -ENOENT and the second half is not live)
 *                   or the carve did (the second half is live and its
 *                   release succeeds); fnmm_check() after every round
 *                   catches a magazine block that is not what it says.
 *   carve-size      alloc_size() while the allocation is cut: its size
 *                   before the cut or after, nothing else.
 *   double-release  both threads release one allocation: exactly one
 *                   gets 0, the other -ENOENT (for Pool, one of them on
 *                   the other CPU than the object's sub-pool).
 *   pool-refill     both threads on the same "CPU" (so the same Pool
 *                   sub-pool) allocate from an empty class at once: the
 *                   refills race (one slab installed, the other given
 *                   back), two distinct objects, nothing held after.
 *   pool-reuse      both threads on one "CPU": a 1 KiB object alone in
 *                   its 8-page slab; one thread releases it, the other
 *                   releases it and allocates another 1 KiB object, whose
 *                   slab takes the dead slab's descriptor from the stash
 *                   (and often the same block).  A release that looked
 *                   the old slab up without a lock must see it dead or
 *                   the new one, never corrupt it: one release wins, or
 *                   both do if the new object is the old one's address
 *                   (then the slower release freed it: allowed, as if it
 *                   came after the allocation); nothing held after.
 *   pool-reuse-both the same, both threads releasing and allocating, one
 *                   a 1 KiB object, the other 64 B (whose 1-page slab
 *                   may take the dead descriptor): the new objects may
 *                   overlap only at the released address (a late release
 *                   freed the other's new object there); anywhere else
 *                   one address went to two owners.
 *   pool-markers    a thread on each "CPU", one Pool over a Split of 4
 *                   pages without magazines (each slab the lowest free
 *                   page): each allocates a 64 B object, looks it up and
 *                   releases it, over and over.  Each idle sub-pool
 *                   leaves a marker in its last slab's slot, which the
 *                   other sub-pool's next slab on that page takes over
 *                   while the first may be removing it: every object
 *                   must be found (alloc_size 64, release 0), and at the
 *                   end nothing is held and trim leaves no slot.
 *   available       one thread allocates and releases single blocks in
 *                   batches (magazine refills and flushes); the other
 *                   reads available(), which must never exceed the size,
 *                   and never fall below what the churning thread can
 *                   hold at once.
 *
 * Each round starts and ends at a barrier, with a random delay before
 * the racing calls so that every interleaving comes up, and a thread
 * that drops a lock is now and then held up a little after it
 * (usim_unlock_preempt), as preemption would in the kernel.  Ends with
 * "usim-race: N passed, M failed"; --seed S picks the delays (printed),
 * --rounds R the rounds per case.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include "fnmm_alloc.h"

#define BASE	(1ULL << 30)

extern __thread unsigned int usim_cpu;
extern int usim_unlock_preempt;

static unsigned long passed, failed;
static unsigned long rounds = 300000;
static unsigned long long seed;

/* ---- a two-thread barrier that spins (a round is a few microseconds) */

static int bar_count, bar_gen;

static void barrier_wait(void)
{
	int g = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);
	unsigned int spins = 0;

	if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL) == 2) {
		__atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&bar_gen, g + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == g)
		if (++spins > 2000)
			sched_yield();	/* one CPU only: let the other run */
}

static unsigned long long rnd(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void delay(unsigned long long *s, unsigned int spread)
{
	unsigned int n = rnd(s) % (spread ? spread : 64);

	while (n--)
		__asm__ __volatile__("" ::: "memory");
}

/* ---- a case: thread 0 sets up and judges, both race in the middle */

struct race {
	const char *name;
	struct fnmm_allocator *a;
	u64 size;		/* of the allocation raced on */
	u64 cut;		/* carve-release: the carve's offset */
	int (*act[2])(struct race *r);
	bool same_cpu;		/* both threads on CPU 0 */
	u64 addr;
	u64 got[2];		/* pool-refill: each thread's object */
	int ret[2];
	unsigned long bad;
	char first_bad[160];
	u64 size0;		/* pool-reuse-both: thread 0 allocates this */
	unsigned int spread;	/* delays up to this many spins (0: 64) */
};

/* Count a bad round; the first one's message is kept. */
static __attribute__((format(printf, 2, 3)))
void record(struct race *r, const char *fmt, ...)
{
	va_list ap;

	if (r->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(r->first_bad, sizeof(r->first_bad), fmt, ap);
	va_end(ap);
}

static int act_carve(struct race *r)
{
	return fnmm_carve(r->a, r->addr, r->cut);
}

static int act_release(struct race *r)
{
	return fnmm_release(r->a, r->addr);
}

/* alloc_size() in units of the carve's offset (it fits an int). */
static int act_size(struct race *r)
{
	return fnmm_alloc_size(r->a, r->addr) / r->cut;
}

static __thread int race_t;	/* this thread's index, 0 or 1 */

/* Allocate a 64-byte object into got[this thread]. */
static int act_alloc(struct race *r)
{
	struct fnmm_range range = { .size = 64 };
	int ret = fnmm_allocate(r->a, &range);

	r->got[race_t] = ret ? 0 : range.address;
	return ret;
}

/* Release r->addr, then allocate r->size bytes into got[this thread]. */
static int act_release_alloc(struct race *r)
{
	struct fnmm_range range = { .size = race_t == 0 && r->size0 ?
					    r->size0 : r->size };
	int ret = fnmm_release(r->a, r->addr);

	r->got[race_t] = fnmm_allocate(r->a, &range) ? 0 : range.address;
	return ret;
}

struct thread_arg {
	struct race *r;
	int t;
};

static void *race_thread(void *p)
{
	struct thread_arg *ta = p;
	struct race *r = ta->r;
	unsigned long long s = seed * 2 + ta->t + 1;
	unsigned long i;

	race_t = ta->t;
	usim_cpu = r->same_cpu ? 0 : ta->t;
	for (i = 0; i < rounds; i++) {
		if (ta->t == 0 && !r->size) {
			r->addr = 1;	/* nothing to set up */
		} else if (ta->t == 0) {
			struct fnmm_range range = { .size = r->size };

			if (fnmm_allocate(r->a, &range)) {
				record(r, "round %lu: allocate failed", i);
				r->addr = 0;
			} else {
				r->addr = range.address;
			}
		}
		barrier_wait();
		delay(&s, r->spread);
		r->ret[ta->t] = r->addr ? r->act[ta->t](r) : 0;
		barrier_wait();
		if (ta->t == 0 && r->addr) {
			int c = r->ret[0], rel = r->ret[1];

			if (r->act[0] == act_alloc) {
				/* Two objects, each its own, all given back. */
				if (c || rel || r->got[0] == r->got[1] ||
				    fnmm_release(r->a, r->got[0]) ||
				    fnmm_release(r->a, r->got[1]) ||
				    fnmm_pool_held(r->a))
					record(r, "round %lu: allocations %d and %d",
					       i, c, rel);
			} else if (r->act[0] == act_release_alloc) {
				u64 g0 = r->got[0], g1 = r->got[1];
				bool both = !c && !rel;
				bool overlap = g0 < g1 + r->size &&
					       g1 < g0 + r->size0;
				int f0 = g0 ? fnmm_release(r->a, g0) : -1;
				int f1 = g1 && g1 != g0 ? fnmm_release(r->a, g1) : 0;

				/*
				 * Overlapping new objects, or a final release
				 * finding its object gone, only where a late
				 * racing release freed one: at addr.
				 */
				if (!g0 || !g1 || (c && rel) ||
				    (c && c != -ENOENT) || (rel && rel != -ENOENT) ||
				    (overlap && !(both && (g0 == r->addr ||
							   g1 == r->addr))) ||
				    (f0 && !(f0 == -ENOENT && both && g0 == r->addr)) ||
				    (f1 && !(f1 == -ENOENT && both && g1 == r->addr)) ||
				    fnmm_pool_held(r->a))
					record(r, "round %lu: releases %d and %d, new objects %#llx and %#llx (of %#llx), released: %d and %d",
					       i, c, rel, (unsigned long long)g0,
					       (unsigned long long)g1,
					       (unsigned long long)r->addr, f0, f1);
			} else if (r->act[1] == act_release_alloc) {
				u64 g = r->got[1];
				bool both = !c && !rel;
				int fin = g ? fnmm_release(r->a, g) : -1;

				if (!g || (c && c != -ENOENT) ||
				    (rel && rel != -ENOENT) || (c && rel) ||
				    (both ? g != r->addr || fin != -ENOENT :
					    fin) ||
				    fnmm_pool_held(r->a))
					record(r, "round %lu: releases %d and %d, new object %#llx (of %#llx) released: %d",
					       i, c, rel, (unsigned long long)g,
					       (unsigned long long)r->addr, fin);
			} else if (r->act[1] == act_size) {
				/* The size before the cut, or after it. */
				int whole = r->size / r->cut;

				if (c || (rel != whole && rel != 1) ||
				    fnmm_release(r->a, r->addr) ||
				    fnmm_release(r->a, r->addr + r->cut))
					record(r, "round %lu: carve %d, alloc_size %d",
					       i, c, rel);
			} else if (r->act[0] == act_carve) {
				/* The release wins or the carve does, whole. */
				int want = c ? -ENOENT : 0;
				int got = fnmm_release(r->a, r->addr + r->cut);

				if (rel || (c && c != -ENOENT) || got != want)
					record(r, "round %lu: carve %d, release %d, second half's release %d",
					       i, c, rel, got);
			} else if (!!c == !!rel || (c | rel) != -ENOENT) {
				record(r, "round %lu: releases returned %d and %d",
				       i, c, rel);
			}
			if (fnmm_check(r->a))
				record(r, "round %lu: check failed", i);
		}
		barrier_wait();
	}
	return NULL;
}

static void report(const char *name, unsigned long bad, unsigned long of,
		   const char *first)
{
	if (bad) {
		failed++;
		printf("not ok %s: %lu bad of %lu; first: %s\n", name, bad, of,
		       first);
	} else {
		passed++;
		printf("ok %s: %lu rounds\n", name, of);
	}
	fflush(stdout);
}

/* Race @r->act[0] on CPU 0 against @r->act[1] on CPU 1, @rounds times. */
static void run_race(struct race *r)
{
	struct thread_arg ta[2] = { { r, 0 }, { r, 1 } };
	u64 before = fnmm_available(r->a);
	pthread_t th;

	pthread_create(&th, NULL, race_thread, &ta[1]);
	race_thread(&ta[0]);
	pthread_join(th, NULL);
	/* Every allocation raced on was released: all the space is back. */
	if (fnmm_available(r->a) != before)
		record(r, "end: available %llu, was %llu",
		       (unsigned long long)fnmm_available(r->a),
		       (unsigned long long)before);
	report(r->name, r->bad, rounds, r->first_bad);
}

/* ---- available(): read on CPU 0 while CPU 1 refills and flushes */

struct churn {
	struct fnmm_allocator *a;
	u64 unit;		/* bytes of one single block */
	int stop;
};

#define CHURN_HELD	40	/* > a refill batch and a magazine's depth */

static void *churn_thread(void *p)
{
	struct churn *c = p;
	u64 addr[CHURN_HELD];
	int n, j;

	usim_cpu = 1;
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		for (n = 0; n < CHURN_HELD; n++) {
			struct fnmm_range range = { .size = c->unit };

			if (fnmm_allocate(c->a, &range))
				break;
			addr[n] = range.address;
		}
		for (j = 0; j < n; j++)
			fnmm_release(c->a, addr[j]);
	}
	return NULL;
}

/*
 * An "interrupt" every 20 us on the reading thread, which spins 3 us in
 * it: between any two of available()'s reads the other CPU can then get
 * a refill or a flush in, as an interrupt lets it in the kernel.
 */
static void irq_handler(int sig)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
	       3000);
}

static timer_t irq_start(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGRTMIN };
	struct itimerspec its = { { 0, 20000 }, { 0, 20000 } };
	timer_t tm;

	signal(SIGRTMIN, irq_handler);
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) ||
	    timer_settime(tm, 0, &its, NULL)) {
		perror("usim-race: timer");
		exit(1);
	}
	return tm;
}

static void run_available(const char *name, struct fnmm_allocator *a,
			  u64 unit)
{
	timer_t tm;
	struct churn c = { .a = a, .unit = unit };
	u64 size = fnmm_size(a), low = size - CHURN_HELD * unit, v;
	unsigned long i, bad = 0, reads = rounds * 10;
	char first[160] = "";
	pthread_t th;

	pthread_create(&th, NULL, churn_thread, &c);
	tm = irq_start();
	for (i = 0; i < reads; i++) {
		v = fnmm_available(a);
		if ((v > size || v < low) && !bad++)
			snprintf(first, sizeof(first),
				 "read %lu: available %llu, size %llu, at least %llu",
				 i, (unsigned long long)v,
				 (unsigned long long)size,
				 (unsigned long long)low);
	}
	timer_delete(tm);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	if (fnmm_check(a) || fnmm_available(a) != size) {
		if (!bad++)
			snprintf(first, sizeof(first), "end: check %d, available %llu of %llu",
				 fnmm_check(a), (unsigned long long)fnmm_available(a),
				 (unsigned long long)size);
	}
	report(name, bad, reads, first);
}

/* ---- pool-markers: two sub-pools taking each other's markers over */

struct markers {
	struct fnmm_allocator *pool;
	unsigned long bad, nomem;
	char first[160];
};

struct markers_cpu {
	struct markers *m;
	int cpu;
};

static void *markers_thread(void *p)
{
	struct markers *m = ((struct markers_cpu *)p)->m;
	int cpu = ((struct markers_cpu *)p)->cpu;
	unsigned long i;

	usim_cpu = cpu;
	for (i = 0; i < rounds; i++) {
		struct fnmm_range r = { .size = 64 };
		u64 got;
		int ret = fnmm_allocate(m->pool, &r);

		if (ret == -ENOMEM) {
			__atomic_add_fetch(&m->nomem, 1, __ATOMIC_RELAXED);
			continue;
		}
		got = ret ? 0 : fnmm_alloc_size(m->pool, r.address);
		if (!ret)
			ret = fnmm_release(m->pool, r.address);
		if ((ret || got != 64) &&
		    !__atomic_fetch_add(&m->bad, 1, __ATOMIC_RELAXED))
			snprintf(m->first, sizeof(m->first),
				 "cpu %d round %lu: object %#llx size %llu, release %d",
				 cpu, i, (unsigned long long)r.address,
				 (unsigned long long)got, ret);
	}
	return NULL;
}

static void run_markers(void)
{
	struct fnmm_allocator *split = fnmm_split_create_flags(BASE,
						4 * PAGE_SIZE, 0, FNMM_NO_PERCPU);
	struct markers m[1] = { };
	struct markers_cpu c0 = { m, 0 }, c1 = { m, 1 };
	pthread_t th;

	if (IS_ERR(split)) {
		report("pool-markers", 1, 1, "create failed");
		return;
	}
	m[0].pool = fnmm_pool_create(split, FNMM_POOL_MIN_SHIFT, 11);
	if (IS_ERR(m[0].pool)) {
		report("pool-markers", 1, 1, "create failed");
		return;
	}
	pthread_create(&th, NULL, markers_thread, &c1);
	markers_thread(&c0);
	pthread_join(th, NULL);
	if ((fnmm_check(m[0].pool) || fnmm_pool_held(m[0].pool) ||
	     fnmm_pool_slots(m[0].pool) > 2) && !m[0].bad++)
		snprintf(m[0].first, sizeof(m[0].first),
			 "end: check %d, held %llu, %lu slots",
			 fnmm_check(m[0].pool),
			 (unsigned long long)fnmm_pool_held(m[0].pool),
			 fnmm_pool_slots(m[0].pool));
	fnmm_pool_trim(m[0].pool);
	if ((fnmm_pool_slots(m[0].pool) ||
	     fnmm_available(split) != 4 * PAGE_SIZE) && !m[0].bad++)
		snprintf(m[0].first, sizeof(m[0].first),
			 "after trim: %lu slots, %llu bytes free",
			 fnmm_pool_slots(m[0].pool),
			 (unsigned long long)fnmm_available(split));
	fnmm_destroy(m[0].pool);
	fnmm_destroy(split);
	report("pool-markers", m[0].bad, 2 * rounds, m[0].first);
}

int main(int argc, char **argv)
{
	struct fnmm_allocator *split, *bit, *pool;
	int i;

	seed = time(NULL) % 100000;
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = strtoul(argv[i + 1], NULL, 0);
	}
	usim_unlock_preempt = 1;
	printf("usim-race: seed %llu, %lu rounds a case (--seed %llu to repeat)\n",
	       seed, rounds, seed);

	split = fnmm_split_create(BASE, 64 * PAGE_SIZE, 0);
	bit = fnmm_bit_create(BASE, 64 * 4096, 4096);
	pool = fnmm_pool_create(split, FNMM_POOL_MIN_SHIFT, 11);
	if (IS_ERR(split) || IS_ERR(bit) || IS_ERR(pool)) {
		printf("usim-race: create failed\n");
		return 1;
	}
	/* Order 3 goes through the magazines: the lock-free release. */
	run_race(&(struct race){ "split-carve-release", split, 8 * PAGE_SIZE,
				 4 * PAGE_SIZE, { act_carve, act_release } });
	run_race(&(struct race){ "split-carve-release-large", split,
				 16 * PAGE_SIZE, 5 * PAGE_SIZE,
				 { act_carve, act_release } });
	run_race(&(struct race){ "bit-carve-release", bit, 2 * 4096, 4096,
				 { act_carve, act_release } });
	run_race(&(struct race){ "bit-carve-release-long", bit, 9 * 4096,
				 8 * 4096, { act_carve, act_release } });
	run_race(&(struct race){ "split-carve-size", split, 8 * PAGE_SIZE,
				 2 * PAGE_SIZE, { act_carve, act_size } });
	run_race(&(struct race){ "bit-carve-size", bit, 8 * 4096, 2 * 4096,
				 { act_carve, act_size } });
	run_race(&(struct race){ "split-double-release", split, PAGE_SIZE, 0,
				 { act_release, act_release } });
	run_race(&(struct race){ "split-double-release-large", split,
				 16 * PAGE_SIZE, 0, { act_release, act_release } });
	run_race(&(struct race){ "bit-double-release", bit, 4096, 0,
				 { act_release, act_release } });
	run_race(&(struct race){ "bit-double-release-long", bit, 3 * 4096, 0,
				 { act_release, act_release } });
	run_race(&(struct race){ "pool-double-release", pool, 64, 0,
				 { act_release, act_release } });
	run_race(&(struct race){ "pool-refill", pool, 0, 0,
				 { act_alloc, act_alloc }, true });
	run_race(&(struct race){ "pool-reuse", pool, 1024, 0,
				 { act_release, act_release_alloc }, true,
				 .spread = 2048 });
	run_race(&(struct race){ "pool-reuse-both", pool, 1024, 0,
				 { act_release_alloc, act_release_alloc }, true,
				 .size0 = 64, .spread = 2048 });
	fnmm_destroy(pool);
	run_markers();
	run_available("split-available", split, PAGE_SIZE);
	run_available("bit-available", bit, 4096);
	fnmm_destroy(bit);
	fnmm_destroy(split);
	printf("usim-race: %lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
