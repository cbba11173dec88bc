// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_heap (tools/lib/fnmm_heap.c) against a model, TAP:
 *
 *   test_heap anon [SEED]   over anonymous memory (any host: make test's
 *                           units step)
 *   test_heap dev [SEED]    over /dev/freenos-mm (the test VM): also
 *                           physical addresses and Info while it holds
 *                           pages and after
 *
 * A seeded random run of malloc, calloc, realloc, aligned_alloc and free
 * with sizes from 1 byte to 1 MiB: every block is filled with a byte of
 * its own and every live block is checked after each step (so an overlap
 * or a stray write shows), calloc's bytes are zero, realloc keeps the
 * prefix, addresses are aligned, usable_size covers the size; at the
 * end (this thread's cache handed back) the heap holds no object and at
 * most 64 KiB of empty spans per class.  Then threads allocating and freeing,
 * half of their blocks freed by another thread, their caches handed
 * back as they exit.  Freed objects are not reported as owned; a forked
 * child gets its own copy of the heap (the device's MAP_SHARED pages
 * too); misuse (double frees, foreign, interior and never-handed-out
 * pointers, a free list overwritten after free) aborts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "fnmm_heap.h"

#define MAX_LIVE	1500
/*
 * Runs left when all is freed and flushed: fnmm_heap keeps 64 KiB of
 * empty spans per class (4 of 16 KiB), or its only span with room
 * whatever its size (24 classes)
 */
#define HEAP_CLASSES	(24 * 4)
#define STEPS		20000

/* The device's test region is 64 MiB: smaller blocks and fewer there. */
static size_t max_big = 1 << 20;
static int max_live = MAX_LIVE;

struct blk {
	unsigned char *p;
	size_t size;
	unsigned char fill;
};

static uint64_t rs;

/* A xorshift step of state @x (nonzero); each thread may have its own. */
static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t rnd(void)
{
	return xorshift(&rs);
}

static size_t rnd_size(void)
{
	switch (rnd() % 16) {
	case 0:
		return 1 + rnd() % max_big;
	case 1: case 2:
		return 1 + rnd() % 65536;
	case 3: case 4: case 5:
		return 1 + rnd() % 4096;
	default:
		return 1 + rnd() % 256;
	}
}

static int bad_blocks(struct blk *b, int n, char *why, size_t len)
{
	int i;
	size_t j;

	for (i = 0; i < n; i++)
		for (j = 0; j < b[i].size; j++)
			if (b[i].p[j] != b[i].fill) {
				snprintf(why, len, "block %d (%p, %zu bytes) byte %zu is %#x, want %#x",
					 i, (void *)b[i].p, b[i].size, j,
					 b[i].p[j], b[i].fill);
				return 1;
			}
	return 0;
}

static void random_run(struct fnmm_heap *h, const char *mode)
{
	static struct blk b[MAX_LIVE];
	int n = 0, step, fails = 0;
	char why[200] = "";
	struct fnmm_heap_stats st;

	for (step = 0; step < STEPS && !fails; step++) {
		unsigned int op = rnd() % 10;
		size_t size = rnd_size(), align = 0, j;
		unsigned char *p = NULL;
		int i = n ? (int)(rnd() % n) : -1;

		if ((op >= 7 && n) || n == max_live) {
			if (op == 9 && n) {		/* realloc */
				size_t keep = b[i].size < size ? b[i].size : size;

				p = fnmm_realloc(h, b[i].p, size);
				if (!p) {
					snprintf(why, sizeof(why), "realloc %zu", size);
					fails++;
					break;
				}
				for (j = 0; j < keep; j++)
					if (p[j] != b[i].fill) {
						snprintf(why, sizeof(why), "realloc lost byte %zu", j);
						fails++;
						break;
					}
				b[i].p = p;
				b[i].size = size;
				memset(p, b[i].fill, size);
			} else {			/* free */
				fnmm_free(h, b[i].p);
				b[i] = b[--n];
			}
		} else {
			if (op == 5) {
				align = (size_t)1 << (rnd() % 21);
				p = fnmm_aligned_alloc(h, align, size);
			} else if (op == 6) {
				size_t cnt = 1 + rnd() % 4;

				p = fnmm_calloc(h, cnt, size);
				size *= cnt;
				for (j = 0; p && j < size; j++)
					if (p[j]) {
						snprintf(why, sizeof(why), "calloc byte %zu not zero", j);
						fails++;
						break;
					}
			} else {
				p = fnmm_malloc(h, size);
			}
			if (!p) {
				snprintf(why, sizeof(why), "allocation of %zu failed", size);
				fails++;
				break;
			}
			if (align && (uintptr_t)p % align) {
				snprintf(why, sizeof(why), "%p not aligned to %zu", (void *)p, align);
				fails++;
			}
			if (fnmm_malloc_usable_size(h, p) < size) {
				snprintf(why, sizeof(why), "usable size %zu < %zu",
					 fnmm_malloc_usable_size(h, p), size);
				fails++;
			}
			b[n].p = p;
			b[n].size = size;
			b[n].fill = 1 + rnd() % 255;
			memset(p, b[n].fill, size);
			n++;
		}
		if (!fails && (step % 64 == 0 || n < 8))
			fails += bad_blocks(b, n, why, sizeof(why));
	}
	if (!fails)
		fails += bad_blocks(b, n, why, sizeof(why));
	tap(!fails, why, "%s: %d random steps, every block intact", mode, step);
	fnmm_heap_flush(h);	/* this thread's cache back: counts exact */
	fnmm_heap_stats(h, &st);
	tap_eq(st.objects, n, "%s: the heap counts the live blocks", mode);
	while (n)
		fnmm_free(h, b[--n].p);
	fnmm_heap_flush(h);
	fnmm_heap_stats(h, &st);
	tap(st.objects == 0 && st.live == 0 && st.runs <= HEAP_CLASSES, NULL,
	    "%s: all freed: %zu objects, %zu runs (64 KiB of empty spans per class), %zu bytes mapped",
	    mode, st.objects, st.runs, st.mapped);
}

struct thr {
	struct fnmm_heap *h;
	pthread_mutex_t *lock;
	struct blk *handoff;	/* shared: blocks for another thread to free */
	int *nhand;
	int id, bad;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	struct blk mine[64];
	int n = 0, i;
	uint64_t s = 0x1234567ULL * (t->id + 1);

	for (i = 0; i < 20000; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		if (n < 64 && s % 3) {
			size_t size = 1 + s % 3000;
			unsigned char *p = fnmm_malloc(t->h, size);

			if (!p) {
				t->bad++;
				break;
			}
			memset(p, t->id + 1, size);
			mine[n].p = p;
			mine[n].size = size;
			mine[n++].fill = t->id + 1;
		} else if (n) {
			struct blk x = mine[--n];
			size_t j;

			for (j = 0; j < x.size; j++)
				t->bad += x.p[j] != x.fill;
			if (s % 2) {
				fnmm_free(t->h, x.p);
				continue;
			}
			/* To another thread's free. */
			pthread_mutex_lock(t->lock);
			if (*t->nhand < 256) {
				t->handoff[(*t->nhand)++] = x;
				x.p = NULL;
			}
			pthread_mutex_unlock(t->lock);
			if (x.p)
				fnmm_free(t->h, x.p);
		}
		if (i % 16 == 0) {
			struct blk y = { NULL, 0, 0 };

			pthread_mutex_lock(t->lock);
			if (*t->nhand)
				y = t->handoff[--(*t->nhand)];
			pthread_mutex_unlock(t->lock);
			if (y.p) {
				size_t j;

				for (j = 0; j < y.size; j++)
					t->bad += y.p[j] != y.fill;
				fnmm_free(t->h, y.p);
			}
		}
	}
	while (n)
		fnmm_free(t->h, mine[--n].p);
	return NULL;
}

/*
 * Threads that refilled once and sit idle own a span each: the holes in
 * the other spans must still be used, not new spans made.
 */
#define IDLE_THREADS	8
static pthread_barrier_t idle_bar;
static struct fnmm_heap *idle_heap;

static void *idle_owner(void *arg)
{
	void *p = fnmm_malloc(idle_heap, 64);

	(void)arg;
	pthread_barrier_wait(&idle_bar);	/* owning, idle */
	pthread_barrier_wait(&idle_bar);	/* the main thread is done */
	fnmm_free(idle_heap, p);
	return NULL;
}

static void idle_owners(struct fnmm_heap *h, const char *mode)
{
	static void *o[8192];
	pthread_t t[IDLE_THREADS];
	struct fnmm_heap_stats a, b;
	int i, started = 0;

	for (i = 0; i < 8192; i++)
		o[i] = fnmm_malloc(h, 64);
	for (i = 0; i < 8192; i += 2) {
		fnmm_free(h, o[i]);
		o[i] = NULL;
	}
	fnmm_heap_flush(h);	/* 4096 holes in the spans */
	idle_heap = h;
	pthread_barrier_init(&idle_bar, NULL, IDLE_THREADS + 1);
	for (i = 0; i < IDLE_THREADS; i++)
		started += !pthread_create(&t[i], NULL, idle_owner, NULL);
	if (started == IDLE_THREADS)
		pthread_barrier_wait(&idle_bar);
	fnmm_heap_stats(h, &a);
	for (i = 0; i < 8192; i += 2)
		o[i] = fnmm_malloc(h, 64);
	fnmm_heap_stats(h, &b);
	if (started == IDLE_THREADS)
		pthread_barrier_wait(&idle_bar);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&idle_bar);
	for (i = 0; i < 8192; i++)
		fnmm_free(h, o[i]);
	fnmm_heap_flush(h);
	/* the owners took 8 spans of 128 holes: 1024 objects in 4 new spans */
	tap(started == IDLE_THREADS && b.made - a.made <= 5, NULL,
	    "%s: %d idle threads owning spans: 4096 holes refilled with %zu new runs",
	    mode, IDLE_THREADS, b.made - a.made);
}

/*
 * A key destructor that runs after the heap's (created later) and
 * allocates, in every round of destructors glibc runs: nothing stays in
 * a cache of the exited thread.
 */
static pthread_key_t late_key;

static void late_destructor(void *arg)
{
	struct fnmm_heap *h = arg;
	void *p[40];
	int i;

	for (i = 0; i < 40; i++)
		p[i] = fnmm_malloc(h, 48);
	for (i = 0; i < 40; i++)
		fnmm_free(h, p[i]);
	/* Again in the next round: the last one comes after the heap's. */
	pthread_setspecific(late_key, h);
}

static void *late_worker(void *arg)
{
	void *p = fnmm_malloc(arg, 48);

	fnmm_free(arg, p);
	pthread_setspecific(late_key, arg);
	return NULL;
}

static void late_frees(struct fnmm_heap *h, const char *mode)
{
	struct fnmm_heap_stats st;
	pthread_t t;

	fnmm_heap_flush(h);
	if (pthread_key_create(&late_key, late_destructor) ||
	    pthread_create(&t, NULL, late_worker, h)) {
		tap(0, NULL, "%s: a thread for the late destructor", mode);
		return;
	}
	pthread_join(t, NULL);
	pthread_key_delete(late_key);
	fnmm_heap_stats(h, &st);
	tap_eq(st.objects, 0,
	       "%s: mallocs in a later key destructor leave no object behind",
	       mode);
}

static void threads(struct fnmm_heap *h, const char *mode)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct blk handoff[256];
	struct thr t[4];
	pthread_t th[4];
	int nhand = 0, i, bad = 0;
	struct fnmm_heap_stats st;

	for (i = 0; i < 4; i++) {
		t[i] = (struct thr){ h, &lock, handoff, &nhand, i, 0 };
		pthread_create(&th[i], NULL, worker, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += t[i].bad;
	}
	while (nhand)
		fnmm_free(h, handoff[--nhand].p);
	/* The workers' caches went back when they exited; this one's now. */
	fnmm_heap_flush(h);
	tap(!bad, NULL, "%s: 4 threads, blocks freed by their own and other threads: %d bad bytes",
	    mode, bad);
	fnmm_heap_stats(h, &st);
	tap(st.objects == 0 && st.runs <= HEAP_CLASSES, NULL,
	    "%s: after the threads: %zu objects, %zu runs", mode, st.objects,
	    st.runs);
}

/*
 * Misuse, each in a child that must die of SIGABRT, or, where the heap
 * makes the misuse harmless (a write after free into a cached object:
 * the caches keep nothing in the objects), exit 0 having checked that
 * it was; the control case, the same calls used rightly, must exit 0 (so
 * the harness itself is tested).  No case may write the victim page.
 */
enum misuse_case {
	M_CONTROL, M_FOREIGN, M_DOUBLE_CACHED, M_DOUBLE_FLUSHED, M_UNTOUCHED,
	M_INTERIOR, M_DOUBLE_LARGE, M_LIST_OVERWRITTEN, M_REALLOC_FREED,
	M_MID_INTERIOR, M_MID_LIST, M_SPAN_LIST, M_SPAN_LIST_ZERO,
	M_FLUSH_LIVE, M_NR
};

static const char *const misuse_name[M_NR] = {
	"the same calls used rightly exit 0",
	"a free of a pointer the heap never gave aborts",
	"a second free of a small object (in the thread's cache) aborts",
	"a second free of a small object (back in its span) aborts",
	"a free of a slot never handed out aborts",
	"a free of an address inside an object aborts",
	"a second free of a large allocation aborts",
	"a write after free into a cached object cannot redirect malloc",
	"a realloc of a freed object aborts",
	"a free inside a 48-byte object, at a 16-byte boundary, aborts",
	"a write after free cannot make malloc return inside a 48-byte object",
	"a span's free list overwritten after free aborts the refill that meets it",
	"a span's free list zeroed after free aborts before the span overflows",
	"a write after free cannot make a flush free a live object",
};

/* Exit 0 expected, not SIGABRT. */
static const unsigned char misuse_harmless[M_NR] = {
	[M_CONTROL] = 1, [M_LIST_OVERWRITTEN] = 1, [M_MID_LIST] = 1,
	[M_FLUSH_LIVE] = 1,
};

/* Shared with the children: an overwritten link points here; untouched? */
static unsigned char *victim;

static void misuse_child(struct fnmm_heap *h, enum misuse_case m)
{
	static char foreign[64] __attribute__((aligned(64)));
	char *p = fnmm_malloc(h, 32), *q = fnmm_malloc(h, 32);
	char *big = fnmm_malloc(h, 1 << 20), *o[40];
	/* The span-list cases want a class of their own: a fresh heap. */
	struct fnmm_heap *f = fnmm_heap_create(fnmm_heap_source_anon());
	int i;

	if (!p || !q || !big || !f)
		_exit(2);
	switch (m) {
	case M_CONTROL:
		fnmm_free(h, p);
		fnmm_heap_flush(h);
		p = fnmm_malloc(h, 32);
		*(void **)q = foreign;		/* live data that looks like a link */
		fnmm_free(h, q);
		fnmm_free(h, big);
		q = fnmm_realloc(h, p, 64);
		fnmm_free(h, q);
		break;
	case M_FOREIGN:
		fnmm_free(h, foreign + 16);
		break;
	case M_DOUBLE_CACHED:
		fnmm_free(h, p);
		fnmm_free(h, p);
		break;
	case M_DOUBLE_FLUSHED:
		fnmm_free(h, p);
		fnmm_heap_flush(h);
		fnmm_free(h, p);
		break;
	case M_UNTOUCHED:
		/* 30 slots on: bumped into the cache at most, never handed out */
		fnmm_free(h, q + 30 * 32);
		break;
	case M_INTERIOR:
		fnmm_free(h, q + 8);
		break;
	case M_DOUBLE_LARGE:
		fnmm_free(h, big);
		fnmm_free(h, big);
		break;
	case M_LIST_OVERWRITTEN:
		fnmm_free(h, p);
		*(void **)p = victim + 64;	/* a write after free */
		o[0] = fnmm_malloc(h, 32);
		o[1] = fnmm_malloc(h, 32);
		if (o[0] == o[1] || !fnmm_heap_owns(h, o[0]) ||
		    !fnmm_heap_owns(h, o[1]))
			_exit(3);
		memset(o[0], 1, 32);
		memset(o[1], 1, 32);
		break;
	case M_REALLOC_FREED:
		fnmm_free(h, p);
		fnmm_realloc(h, p, 100);
		break;
	case M_MID_INTERIOR:
		p = fnmm_malloc(h, 40);
		fnmm_free(h, p + 16);
		break;
	case M_MID_LIST:
		/* a start 16 bytes in: 16-aligned, its state byte free */
		p = fnmm_malloc(h, 40);
		q = fnmm_malloc(h, 40);
		fnmm_free(h, p);
		*(void **)p = q + 16;
		o[0] = fnmm_malloc(h, 40);
		o[1] = fnmm_malloc(h, 40);
		if (o[0] == q + 16 || o[1] == q + 16 || o[0] == o[1] ||
		    !fnmm_heap_owns(h, o[0]) || !fnmm_heap_owns(h, o[1]))
			_exit(3);
		break;
	case M_SPAN_LIST:
	case M_SPAN_LIST_ZERO:
		/* o[0] ends on top of its span's list (the cache's bottom) */
		for (i = 0; i < 40; i++)
			o[i] = fnmm_malloc(f, 32);
		for (i = 0; i < 40; i++)
			fnmm_free(f, o[i]);
		fnmm_heap_flush(f);
		if (m == M_SPAN_LIST)
			*(void **)o[0] = victim + 64;
		else
			memset(o[0], 0, 32);
		/* at most a span's worth: the zeroed list loses the rest */
		for (i = 0; i < 600; i++)
			fnmm_malloc(f, 32);
		break;
	case M_FLUSH_LIVE:
		o[0] = fnmm_malloc(f, 32);
		o[1] = fnmm_malloc(f, 32);
		o[2] = fnmm_malloc(f, 32);
		fnmm_free(f, o[2]);
		fnmm_free(f, o[0]);
		*(void **)o[0] = o[1];	/* o[1] is live */
		fnmm_heap_flush(f);
		if (!fnmm_heap_owns(f, o[1]))
			_exit(3);
		fnmm_free(f, o[1]);	/* once: no abort */
		break;
	default:
		break;
	}
	_exit(0);
}

static void misuse(struct fnmm_heap *h, const char *mode)
{
	int m;

	victim = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (victim == MAP_FAILED)
		victim = NULL;
	for (m = 0; m < M_NR; m++) {
		int status = 0, i, touched = 0;
		pid_t pid;

		if (!victim)
			break;
		memset(victim, 0, 4096);
		pid = fork();

		if (!pid) {
			/* The heap's report would clutter the TAP output. */
			if (!misuse_harmless[m])
				dup2(open("/dev/null", O_WRONLY), 2);
			misuse_child(h, m);
		}
		waitpid(pid, &status, 0);
		for (i = 0; i < 4096; i++)
			touched += victim[i] != 0;
		if (misuse_harmless[m])
			tap(WIFEXITED(status) && !WEXITSTATUS(status) && !touched,
			    touched ? "memory the link named written" : NULL,
			    "%s: %s", mode, misuse_name[m]);
		else
			tap(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
			    !touched, touched ? "memory the link named written" : NULL,
			    "%s: %s", mode, misuse_name[m]);
	}
	tap(victim != NULL, NULL, "%s: a shared page for the misuse cases", mode);
	if (victim)
		munmap(victim, 4096);
}

/* calloc: zero whether the run is fresh (no memset) or reused (memset). */
static void calloc_zero(struct fnmm_heap *h, const char *mode)
{
	unsigned char *p = fnmm_malloc(h, 200000), *q, *r;
	size_t i, bad = 0;

	if (p)
		memset(p, 0xaa, 200000);
	fnmm_free(h, p);		/* kept: the next run of its length */
	q = fnmm_calloc(h, 1, 200000);
	r = fnmm_calloc(h, 3, 1 << 20);	/* fresh from the source */
	for (i = 0; q && i < 200000; i++)
		bad += q[i] != 0;
	for (i = 0; r && i < 3 << 20; i++)
		bad += r[i] != 0;
	tap(p && q && r && !bad, NULL,
	    "%s: calloc is zero on a reused run and on a fresh one (%zu bytes not)",
	    mode, bad);
	fnmm_free(h, q);
	fnmm_free(h, r);
}

/*
 * Objects of spans of at most 64 (classes of 256 bytes and up) are never
 * written by the heap: a freed one keeps its bytes (no link in it).
 */
static void big_untouched(struct fnmm_heap *h, const char *mode)
{
	static const size_t sizes[] = { 256, 3000, 4096, 16384 };
	size_t bad = 0, seen = 0, k, i, j;

	for (k = 0; k < 4; k++) {
		unsigned char *o[4];

		for (i = 0; i < 4; i++) {
			o[i] = fnmm_malloc(h, sizes[k]);
			if (!o[i])
				return (void)tap(0, NULL, "%s: malloc", mode);
			memset(o[i], 0x5a, sizes[k]);
		}
		for (i = 1; i < 4; i++)
			fnmm_free(h, o[i]);
		fnmm_heap_flush(h);	/* out of the cache, into the spans */
		for (i = 1; i < 4; i++) {
			if (!fnmm_heap_contains(h, o[i]))
				continue;	/* its span went back */
			seen++;
			for (j = 0; j < sizes[k]; j++)
				bad += o[i][j] != 0x5a;
		}
		fnmm_free(h, o[0]);
	}
	tap(seen >= 8 && !bad, NULL,
	    "%s: objects of 256 B to 16 KiB freed into their spans keep their bytes (%zu checked, %zu bytes changed)",
	    mode, seen, bad);
}

/* @n mallocs of @size into @o, then their frees; -1 if a malloc fails. */
static int cycle_of(struct fnmm_heap *h, void **o, int n, size_t size)
{
	int i;

	for (i = 0; i < n; i++)
		if (!(o[i] = fnmm_malloc(h, size)))
			return -1;
	for (i = 0; i < n; i++)
		fnmm_free(h, o[i]);
	return 0;
}

/*
 * A program that allocates and frees the same amount over and over does
 * not go to the source once it has (however big the amount: the heap
 * keeps its recent peak), and forgets that peak once it runs lower for
 * long enough.
 */
static void steady_cycles(struct fnmm_heap *h, const char *mode, int n)
{
	static void *o[512];
	struct fnmm_heap_stats a, b, c;
	int cycle;

	fnmm_heap_flush(h);
	for (cycle = 0; cycle < 12; cycle++) {
		if (cycle == 2)
			fnmm_heap_stats(h, &a);
		if (cycle_of(h, o, n, 16384))
			return (void)tap(0, NULL, "%s: malloc", mode);
	}
	fnmm_heap_stats(h, &b);
	tap_eq(b.made - a.made, 0,
	       "%s: cycles of %d mallocs and frees of 16 KiB make no run after the first two",
	       mode, n);
	/*
	 * Two epochs of churn (twice the peak: here the second ends near
	 * cycle 40) end the old peak: what it kept goes back at once (a
	 * drain span by span as each empties again would take until cycle
	 * 80).
	 */
	for (cycle = 0; cycle < 50; cycle++)
		if (cycle_of(h, o, 16, 16384))
			return (void)tap(0, NULL, "%s: malloc", mode);
	fnmm_heap_stats(h, &c);
	tap(c.mapped + (size_t)n * 16384 / 2 <= a.mapped, NULL,
	    "%s: then 50 cycles of 16 give the old peak back: %zu KiB mapped, %zu KiB before",
	    mode, c.mapped >> 10, a.mapped >> 10);
}

static struct fnmm_heap *other_heap;

static void *burst(void *arg)
{
	static void *o[256];
	int i, n = 0;

	for (i = 0; i < 256; i++)
		n += !!(o[i] = fnmm_malloc(arg, 16384));
	for (i = 0; i < 256; i++)
		fnmm_free(arg, o[i]);
	if (other_heap)		/* leaves the arena for another heap's */
		fnmm_free(other_heap, fnmm_malloc(other_heap, 16));
	return (void *)(long)n;
}

/*
 * A thread that allocates a lot, frees it all and exits, the last of its
 * arena: nobody would end that arena's epochs, so what it kept goes back
 * at its exit.  (A heap of its own: no other thread is on its arenas.)
 */
static void exit_gives_back(const char *mode)
{
	struct fnmm_heap *f = fnmm_heap_create(fnmm_heap_source_anon());
	struct fnmm_heap *g = fnmm_heap_create(fnmm_heap_source_anon());
	struct fnmm_heap_stats st = { 0 };
	int k;

	for (k = 0; k < 2; k++) {
		void *n = NULL;
		pthread_t t;

		other_heap = k ? g : NULL;
		if (!f || !g || pthread_create(&t, NULL, burst, f))
			return (void)tap(0, NULL, "%s: heaps and a thread", mode);
		pthread_join(t, &n);
		fnmm_heap_stats(f, &st);
		tap(n == (void *)256L && st.mapped == 0 && st.objects == 0, NULL,
		    "%s: a thread's 4 MiB burst goes back when it %s: %zu bytes mapped after",
		    mode, k ? "moves to another heap" : "exits", st.mapped);
	}
	other_heap = NULL;
	fnmm_heap_destroy(f);
	fnmm_heap_destroy(g);
}

/*
 * Classes that take turns: 4 MiB of 384-byte objects, freed, then 4 MiB
 * of 512-byte ones.  The first class keeps its empty spans for its recent
 * peak, but the arena's budget gives them back as the second grows: the
 * heap holds about one peak, not one per class.  And a large run kept
 * for a next request of its length goes back once the heap takes a new
 * run instead.  (Heaps of their own: nothing else in their arenas.)
 */
static void classes_take_turns(const char *mode)
{
	struct fnmm_heap *f = fnmm_heap_create(fnmm_heap_source_anon());
	struct fnmm_heap *g = fnmm_heap_create(fnmm_heap_source_anon());
	static void *o[(4 << 20) / 384];
	size_t n1 = (4 << 20) / 384, n2 = (4 << 20) / 512, i;
	struct fnmm_heap_stats a = { 0 }, b = { 0 }, c = { 0 };
	void *big, *small;

	if (!f || !g)
		return (void)tap(0, NULL, "%s: heaps", mode);
	for (i = 0; i < n1; i++)
		if (!(o[i] = fnmm_malloc(f, 384)))
			return (void)tap(0, NULL, "%s: malloc", mode);
	fnmm_heap_stats(f, &a);
	for (i = 0; i < n1; i++)
		fnmm_free(f, o[i]);
	for (i = 0; i < n2; i++)
		if (!(o[i] = fnmm_malloc(f, 512)))
			return (void)tap(0, NULL, "%s: malloc", mode);
	fnmm_heap_stats(f, &b);
	tap(b.mapped <= a.mapped + a.mapped / 8, NULL,
	    "%s: 4 MiB of 384 B objects freed, then 4 MiB of 512 B: %zu KiB mapped, %zu KiB at the first peak",
	    mode, b.mapped >> 10, a.mapped >> 10);
	for (i = 0; i < n2; i++)
		fnmm_free(f, o[i]);

	big = fnmm_malloc(g, 512 << 10);
	fnmm_free(g, big);
	fnmm_heap_stats(g, &a);
	small = fnmm_malloc(g, 16);
	fnmm_heap_stats(g, &c);
	tap(big && small && a.mapped == 512 << 10 && c.mapped == 16384 &&
	    c.runs == 1, NULL,
	    "%s: a kept 512 KiB run goes back when the heap maps a span instead: %zu KiB mapped (%zu KiB before), %zu runs",
	    mode, c.mapped >> 10, a.mapped >> 10, c.runs);
	fnmm_free(g, small);
	fnmm_heap_destroy(f);
	fnmm_heap_destroy(g);
}

/*
 * A new span of small objects is faulted in whole, in one call (its
 * pages fill as soon as it is used), not a fault per page: the 16 KiB
 * span of a fresh heap's first 16-byte object is resident before any of
 * it is written.  A span of 4 KiB objects is not (its objects may be
 * used in part), nor a large run.
 */
static void spans_populated(const char *mode)
{
	struct fnmm_heap *f = fnmm_heap_create(fnmm_heap_source_anon());
	unsigned char vec[16];
	void *small, *page, *big;
	int in[3] = { 0 }, i, k;

	if (!f)
		return (void)tap(0, NULL, "%s: heap", mode);
	small = fnmm_malloc(f, 16);
	page = fnmm_malloc(f, 4096);
	big = fnmm_malloc(f, 256 << 10);
	for (k = 0; k < 3; k++) {
		void *p = k == 0 ? small : k == 1 ? page : big;

		if (!p || mincore(p, 16384, vec))
			return (void)tap(0, NULL, "%s: malloc, mincore", mode);
		for (i = 0; i < 4; i++)
			in[k] += vec[i] & 1;
	}
	tap(in[0] == 4 && in[1] == 0 && in[2] == 0, NULL,
	    "%s: a new span of 16 B objects is resident at once (%d of 4 pages), one of 4 KiB objects and a large run are not (%d, %d)",
	    mode, in[0], in[1], in[2]);
	fnmm_free(f, small);
	fnmm_free(f, page);
	fnmm_free(f, big);
	fnmm_heap_destroy(f);
}

static pthread_barrier_t apart_bar;
static struct fnmm_heap *apart_heap;
static uintptr_t apart_at[2][16];

/* 16 spans of 16 KiB objects (one each), in step with the other thread. */
static void *apart_worker(void *arg)
{
	uintptr_t *at = arg;
	int i;

	for (i = 0; i < 16; i++) {
		pthread_barrier_wait(&apart_bar);
		at[i] = (uintptr_t)fnmm_malloc(apart_heap, 16384);
	}
	pthread_barrier_wait(&apart_bar);
	for (i = 0; i < 16; i++)
		fnmm_free(apart_heap, (void *)at[i]);
	return NULL;
}

/*
 * Two threads that make spans at the same time (so in two arenas) get
 * them in two places, not alternating page by page in the address space
 * (that ran 1.3 to 2 times slower): no span of one lies between two of
 * the other's.  Over @src (the device's too: MapSparse at the place).
 */
static void arenas_apart(const struct fnmm_heap_source *src, const char *mode)
{
	uintptr_t lo[2] = { UINTPTR_MAX, UINTPTR_MAX }, hi[2] = { 0, 0 };
	pthread_t t[2];
	int k, i, ok = 1;

	apart_heap = fnmm_heap_create(src);
	if (!apart_heap || pthread_barrier_init(&apart_bar, NULL, 2))
		return (void)tap(0, NULL, "%s: heap", mode);
	for (k = 0; k < 2; k++)
		ok &= !pthread_create(&t[k], NULL, apart_worker, apart_at[k]);
	for (k = 0; ok && k < 2; k++)
		pthread_join(t[k], NULL);
	for (k = 0; ok && k < 2; k++)
		for (i = 0; i < 16; i++) {
			ok &= apart_at[k][i] != 0;
			lo[k] = apart_at[k][i] < lo[k] ? apart_at[k][i] : lo[k];
			hi[k] = apart_at[k][i] > hi[k] ? apart_at[k][i] : hi[k];
		}
	tap(ok && (hi[0] < lo[1] || hi[1] < lo[0]), NULL,
	    "%s: two threads' spans made at once lie apart (%#lx-%#lx, %#lx-%#lx)",
	    mode, (unsigned long)lo[0], (unsigned long)hi[0],
	    (unsigned long)lo[1], (unsigned long)hi[1]);
	pthread_barrier_destroy(&apart_bar);
	fnmm_heap_destroy(apart_heap);
}

/*
 * A cache's own span that emptied (here of 64 KiB objects, 256 KiB) is
 * not the arena's to give back, so it must not count against the
 * arena's budget: else every span emptied after it would go back to
 * the source at once, and a steady cycle of small objects would map and
 * unmap a span per cycle for good.
 */
static void owned_empty_steady(const char *mode)
{
	struct fnmm_heap *f = fnmm_heap_create(fnmm_heap_source_anon());
	struct fnmm_heap_stats a = { 0 }, b = { 0 };
	static void *o[200];
	int i, cycle;

	if (!f)
		return (void)tap(0, NULL, "%s: heap", mode);
	for (i = 0; i < 20; i++)
		if (!(o[i] = fnmm_malloc(f, 65536)))
			return (void)tap(0, NULL, "%s: malloc", mode);
	for (i = 19; i >= 0; i--)
		fnmm_free(f, o[i]);
	for (cycle = 0; cycle < 400; cycle++) {
		if (cycle == 200)
			fnmm_heap_stats(f, &a);
		if (cycle_of(f, o, 200, 256))
			return (void)tap(0, NULL, "%s: malloc", mode);
	}
	fnmm_heap_stats(f, &b);
	tap_eq(b.made - a.made, 0,
	       "%s: after a cache's own 64 KiB-object span empties, cycles of 200 x 256 B make no run",
	       mode);
	fnmm_heap_destroy(f);
}

/* A source that counts the runs not placed where the heap asked. */
static const struct fnmm_heap_source *placed_src;
static unsigned int placed_missed, placed_runs;

static void *placed_map(void *arg, size_t len, size_t align, void *hint,
			uint64_t *tag)
{
	void *p = placed_src->map(arg, len, align, hint, tag);

	placed_runs += hint != NULL;
	placed_missed += hint && p != hint;
	return p;
}

/*
 * Heaps take places of their own too: two heaps (over @src) that make
 * spans in turn get every span where they asked for it (else the second
 * heap's tries fail, a syscall each, and on the device a MapSparse that
 * reserves pages and gives them back), and a malloc that succeeds does
 * not change errno (a placement tried first, or a prefault the source
 * cannot do, fails inside it).
 */
static void heaps_apart(const struct fnmm_heap_source *src, const char *mode)
{
	struct fnmm_heap_source counted = *src;
	struct fnmm_heap *f, *g;
	static void *o[2][32];
	int i, k, bad_errno = 0;

	placed_src = src;
	placed_missed = placed_runs = 0;
	counted.map = placed_map;
	f = fnmm_heap_create(&counted);
	g = fnmm_heap_create(&counted);
	if (!f || !g)
		return (void)tap(0, NULL, "%s: heaps", mode);
	for (i = 0; i < 32; i++)
		for (k = 0; k < 2; k++) {
			errno = 0;
			o[k][i] = fnmm_malloc(k ? g : f, i & 1 ? 16384 : 16);
			bad_errno += o[k][i] && errno;
		}
	tap(placed_runs >= 32 && !placed_missed && !bad_errno, NULL,
	    "%s: two heaps making spans in turn get each where they ask (%u of %u missed), errno kept (%d changed)",
	    mode, placed_missed, placed_runs, bad_errno);
	for (i = 0; i < 32; i++)
		for (k = 0; k < 2; k++)
			fnmm_free(k ? g : f, o[k][i]);
	fnmm_heap_destroy(f);
	fnmm_heap_destroy(g);
}

/*
 * A source over another that checks that every unmap gives back whole
 * runs it mapped and not given back yet, with no gap, one per call and
 * with its tag unless it merges (@gb_merge; then the tag of one of
 * them), and counts the calls.  The heap gets tags of its own (run
 * numbers), the source below its own tags back.
 */
#define GB_RUNS		4096
static struct fnmm_heap *gb_heap;
static const struct fnmm_heap_source *gb_src;
static int gb_merge;
static struct {
	uintptr_t base;
	size_t len;
	uint64_t tag, id;	/* the source's, the heap's */
} gb_run[GB_RUNS];
static uint64_t gb_ids;
static unsigned int gb_nrun, gb_calls, gb_bad;
static pthread_mutex_t gb_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * The workers' live objects (slot 0: one worker at a time, 1 and 2: two
 * at once), set once malloc returns and cleared before the free: no
 * range given back may hold one.
 */
#define GB_OBJS		256
static void *gb_obj[3][GB_OBJS];

static void *gb_get(void **o, int i)
{
	return __atomic_load_n(&o[i], __ATOMIC_RELAXED);
}

static void gb_set(void **o, int i, void *p)
{
	__atomic_store_n(&o[i], p, __ATOMIC_RELEASE);
}

/* Object @i of @o: a new one of @size bytes; 0 if malloc failed, else 1. */
static int gb_malloc(void **o, int i, size_t size)
{
	void *p = fnmm_malloc(gb_heap, size);

	gb_set(o, i, p);
	return p != NULL;
}

static void gb_free(void **o, int i)
{
	void *p = gb_get(o, i);

	gb_set(o, i, NULL);
	fnmm_free(gb_heap, p);
}

/* Live objects in [@a, @a + @len); gb_lock held. */
static unsigned int gb_live_in(uintptr_t a, size_t len)
{
	unsigned int k, i, n = 0;

	for (k = 0; k < 3; k++)
		for (i = 0; i < GB_OBJS; i++) {
			uintptr_t p = (uintptr_t)__atomic_load_n(&gb_obj[k][i],
							 __ATOMIC_ACQUIRE);

			n += p && p - a < len;
		}
	return n;
}

static void *gb_map(void *arg, size_t len, size_t align, void *hint,
		    uint64_t *tag)
{
	uint64_t t = 0;
	void *p = gb_src->map(arg, len, align, hint, &t);

	pthread_mutex_lock(&gb_lock);
	if (p && gb_nrun < GB_RUNS) {
		gb_run[gb_nrun].base = (uintptr_t)p;
		gb_run[gb_nrun].len = len;
		gb_run[gb_nrun].tag = t;
		*tag = gb_run[gb_nrun++].id = ++gb_ids;
	} else if (p) {
		gb_bad++;
	}
	pthread_mutex_unlock(&gb_lock);
	return p;
}

static void gb_unmap(void *arg, void *p, size_t len, uint64_t tag)
{
	uintptr_t a = (uintptr_t)p, covered = 0;
	unsigned int i, n = 0, tagged = 0;
	uint64_t t = 0;

	pthread_mutex_lock(&gb_lock);
	gb_calls++;
	for (i = 0; i < gb_nrun; i++) {
		uintptr_t b = gb_run[i].base, e = b + gb_run[i].len;

		if (e <= a || b >= a + len)
			continue;
		gb_bad += b < a || e > a + len;	/* a run cut */
		covered += gb_run[i].len;
		n++;
		tagged += gb_run[i].id == tag;
		t = gb_run[i].tag;
		gb_run[i--] = gb_run[--gb_nrun];
	}
	gb_bad += !n || covered != len || tagged != 1 || (n > 1 && !gb_merge) ||
		  gb_live_in(a, len);
	pthread_mutex_unlock(&gb_lock);
	/* Several runs: the source below merges too (see giveback_calls()). */
	gb_src->unmap(arg, p, len, t);
}

static pthread_barrier_t gb_bar;

/* 64 spans of 16 KiB objects made, emptied and handed back by a flush. */
static void *gb_flush(void *arg)
{
	void **o = gb_obj[0];
	int i, ok = 1;

	(void)arg;
	for (i = 0; i < 64; i++)
		ok &= gb_malloc(o, i, 16384);
	for (i = 0; i < 64; i++)
		gb_free(o, i);
	fnmm_heap_flush(gb_heap);
	return (void *)(long)ok;
}

/*
 * Empty spans with live ones between them: 64 spans of 16 KiB objects,
 * every other one freed, a flush, then the rest and a flush (each give
 * back more ranges than a call merges, with gaps between them); then an
 * old peak, 200 spans of 16 KiB objects emptied, goes back at the end of
 * the second epoch of a churn of 4 objects at a time.
 */
static void *gb_gaps(void *arg)
{
	void **o = gb_obj[0];
	int i, k, ok = 1;

	(void)arg;
	for (i = 0; i < 64; i++)
		ok &= gb_malloc(o, i, 16384);
	for (k = 0; k < 2; k++) {
		for (i = k; i < 64; i += 2)
			gb_free(o, i);
		fnmm_heap_flush(gb_heap);
	}
	for (i = 0; i < 200; i++)
		ok &= gb_malloc(o, i, 16384);
	for (i = 0; i < 200; i++)
		gb_free(o, i);
	for (k = 0; k < 500; k++) {
		for (i = 0; i < 4; i++)
			ok &= gb_malloc(o, i, 16384);
		for (i = 0; i < 4; i++)
			gb_free(o, i);
	}
	return (void *)(long)ok;
}

/*
 * Phases of 64 to 255 objects of one big class (spans of one to four
 * objects), freed in a random order: spans empty out of address order
 * (gaps, and neighbours below as well as above), new spans of the next
 * phase's class give older empty ones back (the arena's budget), epochs
 * end, spans go back as they empty; on two threads at once (slots 1
 * and 2, seeded by @arg).
 */
static void *gb_mix(void *arg)
{
	static const size_t sizes[] = { 16384, 65536, 4096, 24576, 1024,
					49152, 12288 };
	uint64_t x = (uintptr_t)arg;
	void **o = gb_obj[1 + (x & 1)];
	int ph, i, j, n, ok = 1;

	pthread_barrier_wait(&gb_bar);
	for (ph = 0; ph < 28; ph++) {
		size_t sz = sizes[ph % 7];

		n = 64 + (int)(xorshift(&x) % 192);
		for (i = 0; i < n; i++)
			ok &= gb_malloc(o, i, sz);
		/* Freed in a random order (Fisher-Yates). */
		for (i = n - 1; i > 0; i--) {
			void *p = gb_get(o, i);

			j = (int)(xorshift(&x) % (uint64_t)(i + 1));
			gb_set(o, i, gb_get(o, j));
			gb_set(o, j, p);
		}
		for (i = 0; i < n; i++)
			gb_free(o, i);
	}
	return (void *)(long)ok;
}

/*
 * An arena's empty spans go back in as few source calls as the source
 * allows: each munmap is a TLB flush on every CPU running a thread of
 * the process (64 munmaps of 16 KiB took 0.73 ms on one thread, 4.4 ms
 * on each of two at once; one of the whole, 0.07 and 0.24 ms).  Over
 * @src, told to merge if @merge and @src does, checked (see gb_unmap()):
 * a flush of 60 adjacent empty spans makes at most 4 calls if merging,
 * else one per run; empty spans between live ones, an old peak's spans
 * at an epoch's end, two threads in phases of frees in random orders;
 * at destroy, every run given back.
 */
static void giveback_calls(const struct fnmm_heap_source *src, int merge,
			   const char *mode)
{
	struct fnmm_heap_source counted = *src;
	struct fnmm_heap_stats a, b;
	void *ok = NULL, *ok2 = NULL;
	const char *how;
	unsigned int calls;
	pthread_t t[2];

	gb_src = src;
	gb_merge = counted.merge = merge && src->merge;
	how = gb_merge ? "merging" : "one run per call";
	gb_nrun = gb_calls = gb_bad = 0;
	counted.map = gb_map;
	counted.unmap = gb_unmap;
	gb_heap = fnmm_heap_create(&counted);
	if (!gb_heap || pthread_barrier_init(&gb_bar, NULL, 2))
		return (void)tap(0, NULL, "%s: heap", mode);
	if (pthread_create(&t[0], NULL, gb_flush, NULL))
		return (void)tap(0, NULL, "%s: thread", mode);
	pthread_join(t[0], &ok);
	/* The thread's exit gave back what its flush kept: its arena's last. */
	fnmm_heap_stats(gb_heap, &a);
	calls = gb_calls;
	if (!ok || pthread_create(&t[0], NULL, gb_flush, NULL))
		return (void)tap(0, NULL, "%s: thread", mode);
	pthread_join(t[0], &ok);
	fnmm_heap_stats(gb_heap, &b);
	calls = gb_calls - calls;
	tap(ok && !gb_bad && b.made - a.made >= 60 &&
	    (gb_merge ? calls <= 4 : calls == b.made - a.made), NULL,
	    "%s, %s: %zu spans made and given back in %u source calls (%s)",
	    mode, how, b.made - a.made, calls,
	    gb_merge ? "at most 4: adjacent ones merged" : "one per run");
	calls = gb_calls;
	if (pthread_create(&t[0], NULL, gb_gaps, NULL))
		return (void)tap(0, NULL, "%s: thread", mode);
	pthread_join(t[0], &ok);
	if (!ok || pthread_create(&t[0], NULL, gb_mix,
				  (void *)(uintptr_t)(rs << 1)))
		return (void)tap(0, NULL, "%s: threads", mode);
	if (pthread_create(&t[1], NULL, gb_mix,
			   (void *)(uintptr_t)((rs << 1) ^ 3))) {
		pthread_barrier_wait(&gb_bar);	/* t[0] runs alone */
		pthread_join(t[0], NULL);
		return (void)tap(0, NULL, "%s: threads", mode);
	}
	pthread_join(t[0], &ok);
	pthread_join(t[1], &ok2);
	fnmm_heap_stats(gb_heap, &a);
	fnmm_heap_destroy(gb_heap);
	tap(ok && ok2 && !gb_bad && !gb_nrun, NULL,
	    "%s, %s: gaps, an old peak, two threads' phases (%u calls, %zu runs made), then destroy: every run given back once, whole (%u left, %u bad calls)",
	    mode, how, gb_calls - calls, a.made, gb_nrun, gb_bad);
	pthread_barrier_destroy(&gb_bar);
}

/* A freed object is no longer the heap's to report. */
static void freed_not_owned(struct fnmm_heap *h, const char *mode)
{
	char *p = fnmm_malloc(h, 100), *big = fnmm_malloc(h, 300000);
	int before = p && big && fnmm_heap_owns(h, p) && fnmm_heap_owns(h, big) &&
		     fnmm_malloc_usable_size(h, p) == 128 &&
		     fnmm_malloc_usable_size(h, big) >= 300000;

	char *short_run = fnmm_aligned_alloc(h, 1 << 17, 4096);

	fnmm_free(h, p);
	fnmm_free(h, big);
	tap(before && !fnmm_heap_owns(h, p) && !fnmm_heap_owns(h, big) &&
	    !fnmm_malloc_usable_size(h, p) && !fnmm_malloc_usable_size(h, big),
	    NULL, "%s: owns and usable_size: yes while live, no once freed",
	    mode);
	/* A run of a page: the rest of its 16 KiB unit is not the heap's. */
	tap(short_run && fnmm_heap_contains(h, short_run) &&
	    fnmm_heap_contains(h, short_run + 4095) &&
	    !fnmm_heap_contains(h, short_run + 4096) &&
	    !fnmm_heap_contains(h, short_run + 8192), NULL,
	    "%s: a large run shorter than a unit contains its bytes only", mode);
	fnmm_free(h, short_run);
}

/*
 * fork(): the child has its own copy of every object (for the device's
 * shared pages too), its writes and frees do not reach the parent, and it
 * can go on allocating; the parent's context is as before.
 */
static void fork_copy(struct fnmm_heap *h, const char *mode, int fd)
{
	unsigned char *p = fnmm_malloc(h, 4096), *q = fnmm_malloc(h, 100);
	unsigned char *big = fnmm_malloc(h, 200000);
	struct fnmm_info before;
	int status = 0, bad = 0;
	size_t i;
	pid_t pid;

	if (!tap(p && q && big, NULL, "%s: fork: blocks", mode))
		return;
	memset(p, 'P', 4096);
	memset(q, 'Q', 100);
	memset(big, 'B', 200000);
	if (fd >= 0 && info_or_fail(fd, &before, "fork: Info"))
		return;
	pid = fork();
	if (!pid) {
		unsigned char *r;
		int ok = 1;

		for (i = 0; i < 4096; i++)
			ok &= p[i] == 'P';
		for (i = 0; i < 200000; i++)
			ok &= big[i] == 'B';
		memset(p, 'C', 4096);
		memset(big, 'C', 200000);
		fnmm_free(h, q);
		r = fnmm_malloc(h, 1 << 20);
		ok &= r != NULL;
		if (r) {
			memset(r, 'R', 1 << 20);
			fnmm_free(h, r);
		}
		fnmm_free(h, big);
		fnmm_heap_flush(h);
		_exit(ok ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	for (i = 0; i < 4096; i++)
		bad += p[i] != 'P';
	for (i = 0; i < 100; i++)
		bad += q[i] != 'Q';
	for (i = 0; i < 200000; i++)
		bad += big[i] != 'B';
	tap(WIFEXITED(status) && !WEXITSTATUS(status), NULL,
	    "%s: fork: the child sees the blocks, writes, frees, allocates",
	    mode);
	tap(!bad, NULL, "%s: fork: the parent's blocks unchanged by the child (%d bytes differ)",
	    mode, bad);
	if (fd >= 0)
		tap_info_same(fd, &before,
			      "%s: fork: the context is as before the child", mode);
	fnmm_free(h, p);
	fnmm_free(h, q);
	fnmm_free(h, big);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "anon";
	struct fnmm_heap_source *dev = NULL;
	const struct fnmm_heap_source *src;
	struct fnmm_info before, during;
	struct fnmm_heap *h;
	int fd = -1;

	rs = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
	if (!rs)
		rs = 1;
	printf("# test_heap %s: seed %llu\n", mode, (unsigned long long)rs);
	if (!strcmp(mode, "dev")) {
		max_big = 1 << 16;
		max_live = 300;
		fd = open_or_bail();
		if (info_or_fail(fd, &before, "Info before"))
			return tap_done();
		dev = fnmm_heap_source_dev(fd);
		src = dev;
	} else {
		src = fnmm_heap_source_anon();
	}
	h = fnmm_heap_create(src);
	if (!tap(h != NULL, strerror(errno), "%s: heap created", mode))
		return tap_done();
	if (dev) {
		void *p = fnmm_malloc(h, 100);

		tap(p && !info_or_fail(fd, &during, "Info") &&
		    during.ctx_allocations > before.ctx_allocations, NULL,
		    "dev: the heap's pages are allocations of the file");
		if (before.region_base)
			tap(fnmm_heap_virt2phys(h, p) >= before.region_base &&
			    fnmm_heap_virt2phys(h, p) < before.region_base +
			    before.region_size, NULL,
			    "dev: virt2phys is in the region");
		else
			tap_eq(fnmm_heap_virt2phys(h, p), 0,
			       "dev: no physical address unprivileged");
		fnmm_free(h, p);
	}
	random_run(h, mode);
	threads(h, mode);
	idle_owners(h, mode);
	late_frees(h, mode);
	freed_not_owned(h, mode);
	big_untouched(h, mode);
	steady_cycles(h, mode, dev ? 256 : 512);
	exit_gives_back(mode);
	classes_take_turns(mode);
	spans_populated(mode);
	arenas_apart(src, mode);
	owned_empty_steady(mode);
	heaps_apart(src, mode);
	giveback_calls(src, 1, mode);
	if (src->merge)
		giveback_calls(src, 0, mode);
	calloc_zero(h, mode);
	fork_copy(h, mode, fd);
	misuse(h, mode);
	fnmm_heap_destroy(h);
	if (dev) {
		fnmm_heap_source_dev_free(dev);
		tap_info_same(fd, &before, "dev: every counter back after destroy");
	}
	return tap_done();
}
