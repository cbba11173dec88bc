// SPDX-License-Identifier: GPL-2.0
/*
 * heap: fnmm_heap (tools/lib) against the process's malloc, natively, over
 * anonymous memory (the same code serves /dev/freenos-mm pages; TCG
 * timings in the VM are not real).  heap.sh runs it plainly (the system
 * malloc is glibc's) and with LD_PRELOAD=libjemalloc.so.2 (it is
 * jemalloc's), rounds interleaved.
 *
 *   out/heap LABEL ROUNDS        the timings
 *   out/heap LABEL overhead SEED the trace of SEED, in a fresh process
 *                                (so that neither allocator holds what
 *                                the timings or another trace left), ours
 *                                on a fresh heap, then theirs
 *
 * Per size (16 B to 64 KiB) and thread count (1, 2), the time per
 * malloc+free pair per thread (each thread on a CPU of its own, timed
 * from the first one's start to the last one's end after an untimed
 * batch each), two patterns:
 *   pair     malloc then free at once (the best case of any cache)
 *   batch64  64 mallocs, then the 64 frees
 * and the memory overhead on a seeded replayed trace (sizes mostly small,
 * some up to 256 KiB, objects living for a random number of steps):
 * bytes the allocator holds from the kernel at the trace's peak of live
 * bytes, per live byte (ours: fnmm_heap_stats() mapped + meta, the
 * pages of the source and the heap's own metadata; the system
 * malloc's: mallinfo2() arena + hblkhd for glibc, jemalloc's
 * stats.mapped).
 *
 * Each round first times a control with no allocator, a loop of
 * arithmetic, on 1 and 2 threads as the cases are: what the host gives
 * two threads then (its two CPUs are a VM's: they were 1.3 to 2 times a
 * single one's, from run to run).
 *
 * stdout: "LABEL<TAB>ALLOC<TAB>CASE<TAB>VALUE" per sample (ns per pair,
 * or the overhead ratio; ALLOC "control": the control, ns per loop).
 *
 * Environment: FNMM_HEAP_DEVICE=PATH takes ours from the device's pages
 * (the VM run, guest-heap.sh; anonymous memory otherwise), and
 * FNMM_HEAP_DIV=N runs 1/N of the iterations (TCG is slow).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fnmm_heap.h"

static struct fnmm_heap *heap;
static const struct fnmm_heap_source *src;
static long div_iters = 1;
static int ours;
static size_t sz;
static int batch;
static long iters;
static uint64_t sink;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *a_malloc(size_t n)
{
	return ours ? fnmm_malloc(heap, n) : malloc(n);
}

static void a_free(void *p)
{
	if (ours)
		fnmm_free(heap, p);
	else
		free(p);
}

static pthread_barrier_t start;

/*
 * The control: no allocator, a chain of arithmetic per "pair" (what two
 * threads on this host's two CPUs get against one, with the same
 * pinning, barrier and timing: the ceiling of any allocator's scaling
 * in that run).
 */
static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void compute(long n)
{
	uint64_t x = n + 1;
	long i;
	int j;

	for (i = 0; i < n * batch; i++)
		for (j = 0; j < 4; j++)
			xorshift(&x);
	*(volatile uint64_t *)&sink = x;
}

static void batches(long n)
{
	void *p[64];
	long i;
	int j;

	if (!sz)
		return compute(n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < batch; j++) {
			p[j] = a_malloc(sz);
			*(volatile char *)p[j] = 1;
		}
		for (j = 0; j < batch; j++)
			a_free(p[j]);
	}
}

/*
 * One untimed batch first: what the time is of is a pair in the steady
 * state, not the first touch of pages (glibc's and jemalloc's threads
 * find the pages the last case's threads left; ours are given back when
 * an arena's last thread exits, and faulted in again by the next case).
 * A thread's exit is not timed, for any allocator, and waits until
 * every worker's time is taken: ours then hands its cache back (and,
 * its arena's last, gives the arena's empty spans back to the kernel: a
 * TLB flush on the other worker's CPU too, were it still timed), glibc's
 * and jemalloc's their caches.  (A fnmm_heap_flush() here, timed, was:
 * it also trims the other worker's arena while that one still runs, and
 * cost a 16 KiB or 64 KiB case with two threads 0.2 to 4 ms, in windows
 * of 1 to 12 ms.)
 */
static double worker_t[2][2];	/* per worker: its start and end */

static void *worker(void *arg)
{
	double *t = worker_t[(long)arg];

	batches(1);
	pthread_barrier_wait(&start);
	t[0] = now();
	batches(iters);
	t[1] = now();
	pthread_barrier_wait(&start);
	return NULL;
}

/*
 * ns per pair per thread; worker i runs on the i-th CPU the process may
 * use (modulo their number: with one CPU, both on it): left to the
 * scheduler, every allocator's times here were bimodal, 2x apart from
 * one case to the next.
 */
static double run(int threads)
{
	pthread_attr_t attr[2];
	cpu_set_t allowed, one;
	pthread_t t[2];
	int i, k, cpu;
	double t0, t1;

	/* glibc's batch64 of 16 KiB or more trims its heap each batch. */
	iters = (sz >= 16384 && batch > 1 ? 200000 : 2000000) / batch /
		div_iters;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);	/* unknown: the scheduler places them */
	for (i = 0; i < threads; i++) {
		pthread_attr_init(&attr[i]);
		if (!CPU_COUNT(&allowed))
			continue;
		for (cpu = 0, k = i % CPU_COUNT(&allowed); cpu < CPU_SETSIZE;
		     cpu++)
			if (CPU_ISSET(cpu, &allowed) && !k--)
				break;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		pthread_attr_setaffinity_np(&attr[i], sizeof(one), &one);
	}
	pthread_barrier_init(&start, NULL, threads);
	for (i = 0; i < threads; i++)
		if (pthread_create(&t[i], &attr[i], worker, (void *)(long)i)) {
			perror("pthread_create");
			exit(1);
		}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	/* From the first worker's start to the last one's end. */
	t0 = worker_t[0][0];
	t1 = worker_t[0][1];
	for (i = 1; i < threads; i++) {
		t0 = worker_t[i][0] < t0 ? worker_t[i][0] : t0;
		t1 = worker_t[i][1] > t1 ? worker_t[i][1] : t1;
	}
	for (i = 0; i < threads; i++)
		pthread_attr_destroy(&attr[i]);
	return (t1 - t0) * 1e9 / ((double)iters * batch);
}

static uint64_t rs = 12345;

static uint64_t rnd(void)
{
	return xorshift(&rs);
}

/* What the system malloc holds from the kernel now. */
static size_t sys_held(void)
{
	size_t (*mallctl)(const char *, void *, size_t *, void *, size_t) =
		(void *)dlsym(RTLD_DEFAULT, "mallctl");

	if (mallctl) {		/* jemalloc: refresh, then stats.mapped */
		uint64_t epoch = 1;
		size_t mapped = 0, len = sizeof(epoch);

		mallctl("epoch", NULL, NULL, &epoch, len);
		len = sizeof(mapped);
		mallctl("stats.mapped", &mapped, &len, NULL, 0);
		return mapped;
	}
	{
		struct mallinfo2 mi = mallinfo2();

		return mi.arena + mi.hblkhd;
	}
}

#define TRACE_SLOTS	4096
#define TRACE_STEPS	400000

/* Held / live at the trace's peak of live bytes. */
static double overhead(uint64_t seed)
{
	static void *p[TRACE_SLOTS];
	static size_t n[TRACE_SLOTS];
	size_t live = 0, peak_live = 0, held_at_peak = 0, held;
	struct fnmm_heap_stats st;
	long i;

	rs = seed ? seed : 1;
	for (i = 0; i < TRACE_STEPS; i++) {
		size_t k = rnd() % TRACE_SLOTS, s;

		if (p[k]) {
			a_free(p[k]);
			live -= n[k];
			p[k] = NULL;
			continue;
		}
		s = rnd() % 100 < 90 ? 1 + rnd() % 512 :
		    rnd() % 100 < 90 ? 1 + rnd() % 16384 : 1 + rnd() % 262144;
		p[k] = a_malloc(s);
		memset(p[k], 1, s < 64 ? s : 64);
		n[k] = s;
		live += s;
		if (live > peak_live && i % 64 == 0) {
			if (ours) {
				fnmm_heap_stats(heap, &st);
				held = st.mapped + st.meta;
			} else {
				held = sys_held();
			}
			peak_live = live;
			held_at_peak = held;
		}
	}
	for (i = 0; i < TRACE_SLOTS; i++)
		if (p[i]) {
			a_free(p[i]);
			p[i] = NULL;
		}
	return (double)held_at_peak / peak_live;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096, 16384, 65536 };
	const char *label = argc > 1 ? argv[1] : "glibc";
	int rounds = argc > 2 ? atoi(argv[2]) : 3, r, th;
	unsigned int i;

	if (getenv("FNMM_HEAP_DIV") && atol(getenv("FNMM_HEAP_DIV")) > 0)
		div_iters = atol(getenv("FNMM_HEAP_DIV"));
	src = fnmm_heap_source_anon();
	if (getenv("FNMM_HEAP_DEVICE")) {
		int fd = open(getenv("FNMM_HEAP_DEVICE"), O_RDWR | O_CLOEXEC);

		if (fd < 0 || !(src = fnmm_heap_source_dev(fd))) {
			perror(getenv("FNMM_HEAP_DEVICE"));
			return 1;
		}
	}
	heap = fnmm_heap_create(src);
	if (!heap)
		return 1;
	if (argc > 2 && !strcmp(argv[2], "overhead")) {
		for (ours = 1; ours >= 0; ours--)
			printf("%s\t%s\toverhead\t%.3f\n", label,
			       ours ? "fnmm" : label,
			       overhead(argc > 3 ? strtoull(argv[3], NULL, 0) : 1));
		return 0;
	}
	for (r = 0; r < rounds; r++) {
		sz = 0;
		batch = 1;
		ours = 0;
		for (th = 1; th <= 2; th++)
			printf("%s\tcontrol\tcompute, %d thread%s\t%.2f\n", label,
			       th, th > 1 ? "s" : "", run(th));
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			sz = sizes[i];
			for (th = 1; th <= 2; th++)
				for (batch = 1; batch <= 64; batch *= 64)
					for (ours = 0; ours <= 1; ours++)
						printf("%s\t%s\t%zu B, %s, %d thread%s\t%.2f\n",
						       label, ours ? "fnmm" : label,
						       sz, batch == 1 ? "pair" : "batch64",
						       th, th > 1 ? "s" : "",
						       run(th));
		}
		fflush(stdout);
	}
	return 0;
}
