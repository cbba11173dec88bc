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
 * most 4 empty spans per class.  Then threads allocating and freeing,
 * half of their blocks freed by another thread, their caches handed
 * back as they exit; a free of a pointer the heap never gave aborts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "fnmm_heap.h"

#define MAX_LIVE	1500
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

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
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
	tap(st.objects == 0 && st.live == 0 && st.runs <= 4 * 12, NULL,
	    "%s: all freed: %zu objects, %zu runs (at most 4 empty spans per class), %zu bytes mapped",
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
	tap(st.objects == 0 && st.runs <= 4 * 12, NULL,
	    "%s: after the threads: %zu objects, %zu runs", mode, st.objects,
	    st.runs);
}

/* A free of memory the heap never gave aborts (in a child). */
static void misuse(struct fnmm_heap *h, const char *mode)
{
	int status = 0;
	pid_t pid = fork();

	if (!pid) {
		static char x[64];

		fnmm_free(h, x + 16);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	tap(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, NULL,
	    "%s: free of a pointer the heap never gave aborts", mode);
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
	misuse(h, mode);
	fnmm_heap_destroy(h);
	if (dev) {
		fnmm_heap_source_dev_free(dev);
		tap_info_same(fd, &before, "dev: every counter back after destroy");
	}
	return tap_done();
}
