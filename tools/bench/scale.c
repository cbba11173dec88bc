// SPDX-License-Identifier: GPL-2.0
/*
 * scale: throughput of the freenos-mm allocators with 1 and 2 threads,
 * natively, on the user-space build of module/{alloc,runs,split,bit,
 * pool}.c with -DUSIM_THREADS (locks spin as a kernel spinlock does), or
 * on an older commit's sources (scale.sh builds both and interleaves).
 *
 *   out/scale THREADS SECONDS_X1000 LABEL
 *
 * Each thread is pinned to CPU t and runs as usim CPU t (so it has its
 * own per-CPU magazines), on allocators shared by all threads:
 *
 *   split-0         Split 1-page allocate + release pairs
 *   split-3         Split 8-page pairs (the magazines' largest order)
 *   split-9         Split 2 MiB pairs (no magazine: the Split lock)
 *   split-0-window  Split 1-page, each thread keeping 512 live and
 *                   releasing a random one before each allocation (the
 *                   magazines refill and flush)
 *   bit-1           Bit (page chunks, as the device's) 1-chunk pairs
 *   bit-2           Bit 2-chunk pairs (no magazine: the Bit lock)
 *   pool-64-own     Pool 64 B pairs, a Pool per thread (a context each,
 *                   as the device gives every open file its own) over
 *                   the shared Split, each thread keeping one object
 *                   live (an idle Pool gives its last page back)
 *   pool-64-shared  the same on one Pool for all threads
 *   mixed           the stress workload's mix: each thread keeps 256
 *                   allocations and replaces a random one per op with a
 *                   new one: half Split (1 to 1024 pages, log-uniform,
 *                   one in 8 of 512 and more 2 MiB-aligned), 3 in 10 Bit
 *                   (1 to 64 chunks), 2 in 10 Pool (8 to 2048 B, its own);
 *                   a refused request leaves its slot empty
 *   malloc-64       glibc malloc(64) + free, for reference
 *   malloc-4096     glibc malloc(4096) + free, for reference
 *
 * SCALE_ONLY=CASE in the environment runs that case alone.
 *
 * stdout: "LABEL<TAB>THREADS<TAB>CASE<TAB>OPS_PER_SECOND" per case.  Built
 * with -DUSIM_LOCKSTAT (out/scale-lockstat), also per case and per place
 * that takes a lock: "LABEL<TAB>THREADS<TAB>lock<TAB>CASE<TAB>FILE:LINE<TAB>
 * HOLDS<TAB>H0 H1 ... H39<TAB>MAX_NS", Hk the holds of 2^(k-1)..2^k ns.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include "fnmm_alloc.h"
#include "usim_bench.h"

#define MAX_THREADS	8
#define WINDOW		512
#define SPLIT_BASE	(1ULL << 40)
#define SPLIT_SIZE	(1ULL << 30)
#define BIT_BASE	(2ULL << 40)
#define BIT_SIZE	(512ULL << 20)

extern __thread unsigned int usim_cpu;

static const char *label;
static int nthreads;
static double seconds;
static struct fnmm_allocator *split, *bit, *pools[MAX_THREADS], *shared_pool;
static volatile int go, stop;
static unsigned long long done[MAX_THREADS];

enum { SPLIT_0, SPLIT_3, SPLIT_9, SPLIT_WIN, BIT_1, BIT_2, POOL_OWN,
       POOL_SHARED, MIXED, MALLOC_64, MALLOC_4K, NCASES };
static const char *const names[NCASES] = {
	"split-0", "split-3", "split-9", "split-0-window", "bit-1", "bit-2",
	"pool-64-own", "pool-64-shared", "mixed", "malloc-64", "malloc-4096",
};
static int which;


static unsigned long long xorshift(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct slot {
	struct fnmm_allocator *a;
	u64 addr;
};

/* One op of the mixed workload on slot @k of @w. */
static void mixed_op(struct slot *w, unsigned int k, long t,
		     unsigned long long *rng)
{
	unsigned long long r = xorshift(rng);
	struct fnmm_range range = { 0 };

	if (w[k].a) {
		put(w[k].a, w[k].addr);
		w[k].a = NULL;
	}
	switch (r % 10) {
	case 0 ... 4:
		w[k].a = split;
		range.size = (1ULL << ((r >> 8) % 11)) * PAGE_SIZE;
		range.size += ((r >> 16) % range.size) & PAGE_MASK;
		if (range.size >= 512 * PAGE_SIZE && !((r >> 32) % 8))
			range.alignment = 2ULL << 20;
		break;
	case 5 ... 7:
		w[k].a = bit;
		range.size = (1ULL << ((r >> 8) % 7)) * PAGE_SIZE;
		break;
	default:
		w[k].a = pools[t];
		range.size = 8ULL << ((r >> 8) % 9);
		break;
	}
	if (fnmm_allocate(w[k].a, &range))
		w[k].a = NULL;
	else
		w[k].addr = range.address;
}

static void *thread(void *arg)
{
	long t = (long)arg;
	unsigned long long n = 0, rng = 0x9e3779b97f4a7c15ULL * (t + 1);
	u64 win[WINDOW];
	struct slot mix[256] = { { 0 } };
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(t, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	usim_cpu = t;
	if (which == SPLIT_WIN)
		for (i = 0; i < WINDOW; i++)
			win[i] = get(split, PAGE_SIZE);
	/* One object kept, so that the Pool keeps its page (module/pool.c). */
	if (which == POOL_OWN)
		win[0] = get(pools[t], 64);
	if (which == POOL_SHARED)
		win[0] = get(shared_pool, 64);
	while (!go)
		;
	while (!stop) {
		for (i = 0; i < 64; i++) {
			switch (which) {
			case SPLIT_0:
				put(split, get(split, PAGE_SIZE));
				break;
			case SPLIT_3:
				put(split, get(split, 8 * PAGE_SIZE));
				break;
			case SPLIT_9:
				put(split, get(split, 512 * PAGE_SIZE));
				break;
			case SPLIT_WIN: {
				unsigned int j;

				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				j = rng % WINDOW;
				put(split, win[j]);
				win[j] = get(split, PAGE_SIZE);
				break;
			}
			case BIT_1:
				put(bit, get(bit, PAGE_SIZE));
				break;
			case BIT_2:
				put(bit, get(bit, 2 * PAGE_SIZE));
				break;
			case POOL_OWN:
				put(pools[t], get(pools[t], 64));
				break;
			case POOL_SHARED:
				put(shared_pool, get(shared_pool, 64));
				break;
			case MIXED:
				mixed_op(mix, xorshift(&rng) % 256, t, &rng);
				break;
			case MALLOC_64:
				free(*(void *volatile *)&(void *){ malloc(64) });
				break;
			case MALLOC_4K:
				free(*(void *volatile *)&(void *){ malloc(4096) });
				break;
			}
		}
		n += 64;
	}
	if (which == SPLIT_WIN)
		for (i = 0; i < WINDOW; i++)
			put(split, win[i]);
	for (i = 0; i < 256; i++)
		if (mix[i].a)
			put(mix[i].a, mix[i].addr);
	if (which == POOL_OWN)
		put(pools[t], win[0]);
	if (which == POOL_SHARED)
		put(shared_pool, win[0]);
	done[t] = n;
	return NULL;
}

#ifdef USIM_LOCKSTAT
static void lockstat_print(int nthreads, const char *name)
{
	struct usim_lockstat_site s[64];
	int n = usim_lockstat_sites(s, 64), i, b;

	for (i = 0; i < n; i++) {
		const char *f = strrchr(s[i].file, '/');

		printf("%s\t%d\tlock\t%s\t%s:%d\t%llu\t", label, nthreads,
		       name, f ? f + 1 : s[i].file, s[i].line, s[i].count);
		for (b = 0; b < 40; b++)
			printf("%s%llu", b ? " " : "", s[i].bucket[b]);
		printf("\t%llu\n", s[i].max_ns);
	}
}
#endif

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct timespec t0, t1, d;
	long t;
	int k;

	bench_name = "scale";
	if (argc != 4)
		die("usage: scale THREADS MILLISECONDS LABEL", argc);
	nthreads = atoi(argv[1]);
	seconds = atoi(argv[2]) / 1000.0;
	label = argv[3];
	if (nthreads < 1 || nthreads > MAX_THREADS)
		die("threads", nthreads);
	split = fnmm_split_create(SPLIT_BASE, SPLIT_SIZE, 0);
	if (IS_ERR(split))
		die("split", PTR_ERR(split));
	bit = fnmm_bit_create(BIT_BASE, BIT_SIZE, PAGE_SIZE);
	if (IS_ERR(bit))
		die("bit", PTR_ERR(bit));
	shared_pool = fnmm_pool_create(split, FNMM_POOL_MIN_SHIFT, 11);
	for (t = 0; t < nthreads; t++)
		pools[t] = fnmm_pool_create(split, FNMM_POOL_MIN_SHIFT, 11);
	for (k = 0; k < NCASES; k++) {
		const char *only = getenv("SCALE_ONLY");
		unsigned long long sum = 0;

		if (only && strcmp(only, names[k]))
			continue;
		which = k;
		go = stop = 0;
#ifdef USIM_LOCKSTAT
		usim_lockstat_reset();
#endif
		for (t = 0; t < nthreads; t++)
			pthread_create(&th[t], NULL, thread, (void *)t);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		go = 1;
		d.tv_sec = (time_t)seconds;
		d.tv_nsec = (long)((seconds - d.tv_sec) * 1e9);
		nanosleep(&d, NULL);
		stop = 1;
		for (t = 0; t < nthreads; t++) {
			pthread_join(th[t], NULL);
			sum += done[t];
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%s\t%d\t%s\t%.0f\n", label, nthreads, names[k],
		       sum / ((t1.tv_sec - t0.tv_sec) +
			      (t1.tv_nsec - t0.tv_nsec) / 1e9));
#ifdef USIM_LOCKSTAT
		lockstat_print(nthreads, names[k]);
#endif
		fflush(stdout);
	}
	if (fnmm_check(split) || fnmm_check(bit))
		die("check", 0);
	return 0;
}
