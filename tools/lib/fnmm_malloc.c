// SPDX-License-Identifier: GPL-2.0
/*
 * libfnmm-malloc.so: an unmodified dynamically linked program's heap from
 * /dev/freenos-mm (issue 14), as memkind's autohbw is for high-bandwidth
 * memory:
 *
 *   LD_PRELOAD=/path/to/libfnmm-malloc.so program ...
 *
 * Interposes malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * memalign, aligned_alloc, valloc, pvalloc, malloc_usable_size and
 * malloc_trim (which also calls fnmm_heap_flush()) with a
 * fnmm_heap (tools/lib/fnmm_heap.c) over the device's pages (MapSparse,
 * Released as its spans empty).  Falls back to the system allocator
 * (glibc's __libc_* entry points) with a one-line warning on stderr when
 * the device cannot be opened (once) or is full (once, then each request
 * the heap cannot serve goes to glibc); every free goes to the allocator
 * that owns the pointer, found without a lock in the heap's run map.
 *
 * Environment: FNMM_MALLOC_DEVICE, the device's path (default
 * /dev/freenos-mm), or "anon": the same heap over anonymous memory (to
 * test and measure the library on any host); FNMM_MALLOC_QUIET=1, no
 * warnings; FNMM_MALLOC_STATS=1, a line on stderr at exit: the heap's
 * counts (fnmm_heap_stats) and the requests that went to glibc.
 *
 * The device file is opened on the first allocation, close-on-exec; the
 * calls a thread makes while another opens it go to glibc.  fork(): the
 * child gets a private copy of the heap (fnmm_heap's fork handling: the
 * device's MAP_SHARED pages are copied before fork() returns) and then
 * takes pages from anonymous memory; its copy of the device file is
 * closed, so the parent's context is the parent's alone.
 *
 * Cost: that of fnmm_heap, plus an atomic load per call, and per free a
 * lockless lookup of the owner (two loads).  Its thread cache is static
 * TLS (initial-exec): preload it; a dlopen() of it fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fnmm_heap.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc's own allocator, under the names it exports for this. */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

enum { ST_NONE, ST_OPENING, ST_ON, ST_OFF };

static int state;			/* ST_*, atomic */
static struct fnmm_heap *heap;		/* set before state goes ST_ON */
static struct fnmm_heap_source *src;
static int dev_fd = -1;
static int warned_full;			/* atomic */
static int quiet;
static unsigned long to_glibc;		/* atomic: requests the heap did not serve */
static int report_fd = -1;		/* stderr as it was (programs close it) */

static void warn(const char *what, const char *detail)
{
	char msg[256];
	int n;

	if (quiet)
		return;
	n = snprintf(msg, sizeof(msg), "fnmm-malloc: %s%s%s; using the system allocator\n",
		     what, detail ? ": " : "", detail ? detail : "");
	if (n > 0 && write(2, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		return;
}

/* The child of a fork() keeps its copy of the heap; the file is the parent's. */
static void child_close(void)
{
	if (dev_fd >= 0)
		close(dev_fd);
	dev_fd = -1;
}

static void open_heap(void)
{
	const char *path = getenv("FNMM_MALLOC_DEVICE");
	const char *q = getenv("FNMM_MALLOC_QUIET");
	int fd;

	quiet = q && *q == '1';
	q = getenv("FNMM_MALLOC_STATS");
	if (q && *q == '1')
		report_fd = fcntl(2, F_DUPFD_CLOEXEC, 200);
	if (!path || !*path)
		path = "/dev/freenos-mm";
	if (!strcmp(path, "anon")) {
		heap = fnmm_heap_create(fnmm_heap_source_anon());
		if (!heap) {
			warn(path, "cannot make a heap");
			__atomic_store_n(&state, ST_OFF, __ATOMIC_RELEASE);
			return;
		}
		__atomic_store_n(&state, ST_ON, __ATOMIC_RELEASE);
		return;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		warn(path, strerror(errno));
		__atomic_store_n(&state, ST_OFF, __ATOMIC_RELEASE);
		return;
	}
	src = fnmm_heap_source_dev(fd);
	heap = src ? fnmm_heap_create(src) : NULL;
	/* After fnmm_heap's own handler, which copies the pages. */
	if (!heap || pthread_atfork(NULL, NULL, child_close)) {
		warn(path, "cannot make a heap over it");
		if (heap)
			fnmm_heap_destroy(heap);
		if (src)
			fnmm_heap_source_dev_free(src);
		heap = NULL;
		close(fd);
		__atomic_store_n(&state, ST_OFF, __ATOMIC_RELEASE);
		return;
	}
	dev_fd = fd;
	__atomic_store_n(&state, ST_ON, __ATOMIC_RELEASE);
}

/* The heap, or NULL: glibc's turn (no device, or it is being opened). */
static struct fnmm_heap *get_heap(void)
{
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (s == ST_ON)
		return heap;
	if (s == ST_NONE && __atomic_compare_exchange_n(&state, &s, ST_OPENING,
							0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
		open_heap();
		s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	}
	return s == ST_ON ? heap : NULL;
}

/* Whether @p is the heap's: its run map, without a lock. */
static struct fnmm_heap *owner(const void *p)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != ST_ON)
		return NULL;
	return fnmm_heap_contains(heap, p) ? heap : NULL;
}

/*
 * The heap could not serve @size bytes: to glibc, with errno as it was
 * before the heap's attempt (the caller restores it when glibc serves
 * it).  A size no allocator can serve is no sign of a full device.
 */
static void full(size_t size)
{
	if (size > PTRDIFF_MAX)
		return;
	__atomic_add_fetch(&to_glibc, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&warned_full, 1, __ATOMIC_RELAXED))
		warn("the device is full", NULL);
}

/* FNMM_MALLOC_STATS=1: what the heap did, at exit. */
static __attribute__((destructor)) void report(void)
{
	struct fnmm_heap_stats st = { 0 };
	char msg[256];
	int n;

	if (report_fd < 0)
		return;
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == ST_ON)
		fnmm_heap_stats(heap, &st);
	n = snprintf(msg, sizeof(msg),
		     "fnmm-malloc: pid %d: %zu runs made, %zu held (%zu bytes), %zu objects live, %lu requests to glibc\n",
		     (int)getpid(), st.made, st.runs, st.mapped, st.objects,
		     __atomic_load_n(&to_glibc, __ATOMIC_RELAXED));
	if (n > 0 && write(report_fd, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		return;
}

EXPORT void *malloc(size_t size)
{
	struct fnmm_heap *h = get_heap();
	int err = errno;
	void *p;

	if (h) {
		p = fnmm_malloc(h, size);
		if (p)
			return p;
		full(size);
		errno = err;
	}
	return __libc_malloc(size);
}

EXPORT void free(void *p)
{
	struct fnmm_heap *h;

	if (!p)
		return;
	h = owner(p);
	if (h)
		fnmm_free(h, p);
	else
		__libc_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	struct fnmm_heap *h = get_heap();
	int err = errno;
	void *p;

	if (h) {
		if (size && n > SIZE_MAX / size) {
			errno = ENOMEM;
			return NULL;
		}
		p = fnmm_calloc(h, n, size);
		if (p)
			return p;
		full(n * size);
		errno = err;
	}
	return __libc_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	struct fnmm_heap *h;
	int err = errno;
	size_t have;
	void *q;

	if (!p)
		return malloc(size);
	h = owner(p);
	if (!h)
		return __libc_realloc(p, size);
	if (!size) {
		fnmm_free(h, p);
		return NULL;
	}
	q = fnmm_realloc(h, p, size);
	if (q)
		return q;
	/* The device is full: the block moves to glibc. */
	full(size);
	errno = err;
	q = __libc_malloc(size);
	if (!q)
		return NULL;
	have = fnmm_malloc_usable_size(h, p);
	memcpy(q, p, have < size ? have : size);
	fnmm_free(h, p);
	return q;
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}

/* @align a power of two: fnmm_aligned_alloc(), else glibc's memalign. */
static void *aligned(size_t align, size_t size)
{
	struct fnmm_heap *h = get_heap();
	int err = errno;
	void *p;

	if (h) {
		p = fnmm_aligned_alloc(h, align, size);
		if (p)
			return p;
		full(align > PTRDIFF_MAX / 2 ? (size_t)-1 : size + align);
		errno = err;
	}
	return __libc_memalign(align, size);
}

/* As glibc's: errno as it was, whatever the outcome. */
EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int err = errno;
	void *p;

	if (!align || align & (align - 1) || align % sizeof(void *))
		return EINVAL;
	p = aligned(align, size);
	errno = err;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (!align || align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned(align, size);
}

/* As glibc's: an alignment not a power of two is rounded up to one. */
EXPORT void *memalign(size_t align, size_t size)
{
	size_t a = sizeof(void *);

	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (a < align)
		a <<= 1;
	return aligned(a, size);
}

EXPORT void *valloc(size_t size)
{
	return aligned(sysconf(_SC_PAGESIZE), size);
}

EXPORT void *pvalloc(size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned(page, (size + page - 1) & ~(page - 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
	static size_t (*libc_usable)(void *);
	struct fnmm_heap *h;

	if (!p)
		return 0;
	h = owner(p);
	if (h)
		return fnmm_malloc_usable_size(h, p);
	if (!libc_usable)
		libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT,
							 "malloc_usable_size");
	return libc_usable ? libc_usable(p) : 0;
}

/* This thread's cached objects and the heap's kept empty spans back, then glibc's. */
EXPORT int malloc_trim(size_t pad)
{
	static int (*libc_trim)(size_t);

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == ST_ON)
		fnmm_heap_flush(heap);
	if (!libc_trim)
		libc_trim = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
	return libc_trim ? libc_trim(pad) : 0;
}
