/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fnmm_heap: a malloc over pages from a pluggable source, as a FreeNOS
 * program's heap is a PoolAllocator over a PageAllocator (issue 14).
 *
 * The page source gives and takes back runs of pages: anonymous memory
 * (fnmm_heap_source_anon(), for tests on any host) or /dev/freenos-mm
 * (fnmm_heap_source_dev(): MapSparse with handle 0 at an address of the
 * heap's choosing, Release and munmap to give back), as FreeNOS's
 * PageAllocator takes pages from the memory server.  On top, small
 * objects come from pools of size classes (FreeNOS's PoolAllocator: the
 * powers of two, and 3 * 2^k between them), larger
 * ones straight from the source.  The heap keeps its metadata in memory
 * of its own (anonymous mappings), never in the pages it hands out, and
 * never calls malloc.
 */
#ifndef _FNMM_HEAP_H
#define _FNMM_HEAP_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct fnmm_heap_source - where a heap's pages come from
 * @map: @len bytes (a multiple of the page size) at an address aligned to
 *	@align (a power of two, at least a page), readable, writable and
 *	zero, at @hint if that range is free (@hint is aligned; NULL: no
 *	preference); *@tag: anything @unmap needs.  NULL on failure.
 * @unmap: give back a run @map made, whole, with its tag (or, if @merge,
 *	adjacent runs @map made, in one call: their union, and the tag of
 *	one of them, which one unspecified).  Called while other threads
 *	of the process call @map and @unmap for other runs (the heap's
 *	lock is not held over it): a source with state of its own locks it
 * @virt2phys: the physical address behind @p, or 0 if not known
 * @arg: passed to each
 * @shared: its runs stay shared with a child after fork() (MAP_SHARED):
 *	then, in the child, the heap copies every run into private
 *	anonymous memory at the same address before fork() returns in
 *	either process (the forking thread waits; other threads of the
 *	parent do not: see fnmm_heap.c), and takes its pages from
 *	anonymous memory from then on.  A fork costs O(bytes mapped).
 * @merge: @unmap may be given adjacent runs at once (each call a TLB
 *	flush: the heap gives back an arena's empty spans, which lie side
 *	by side, in as few calls as it can); not for a source that needs
 *	each run's tag to give it back (the device's: a Release per run)
 */
struct fnmm_heap_source {
	void *(*map)(void *arg, size_t len, size_t align, void *hint,
		     uint64_t *tag);
	void (*unmap)(void *arg, void *p, size_t len, uint64_t tag);
	uint64_t (*virt2phys)(void *arg, const void *p);
	void *arg;
	int shared;
	int merge;
};

struct fnmm_heap;

/* Anonymous private memory (mmap): for tests, or as a fallback. */
const struct fnmm_heap_source *fnmm_heap_source_anon(void);

/*
 * /dev/freenos-mm open as @fd: each run is a MapSparse of the device
 * (its pages need not be physically contiguous), given back by Release
 * and munmap.  The source lives as long as the heap made with it; the
 * caller keeps @fd open that long.  NULL if out of memory.
 */
struct fnmm_heap_source *fnmm_heap_source_dev(int fd);
void fnmm_heap_source_dev_free(struct fnmm_heap_source *src);

/* A heap over @src, or NULL (errno set). */
struct fnmm_heap *fnmm_heap_create(const struct fnmm_heap_source *src);
/*
 * Gives back every page, whatever is still allocated.  No other thread
 * may use the heap any more, and those that did must have exited or
 * called fnmm_heap_flush() (their caches hold objects of it).
 */
void fnmm_heap_destroy(struct fnmm_heap *h);
/*
 * Hand the calling thread's cached free objects back to @h (a thread's
 * cache, of up to 64 objects and 16 KiB per class, one object at least,
 * is handed back when it exits, or when it uses another heap), and the
 * large run and the empty spans @h keeps for reuse back to the source:
 * all but 64 KiB per class (and a class's only span with room) of the
 * calling thread's arena, and for the spans other threads' caches own.
 */
void fnmm_heap_flush(struct fnmm_heap *h);

void *fnmm_malloc(struct fnmm_heap *h, size_t size);
void *fnmm_calloc(struct fnmm_heap *h, size_t n, size_t size);
void *fnmm_realloc(struct fnmm_heap *h, void *p, size_t size);
void fnmm_free(struct fnmm_heap *h, void *p);
void *fnmm_aligned_alloc(struct fnmm_heap *h, size_t align, size_t size);
size_t fnmm_malloc_usable_size(struct fnmm_heap *h, const void *p);
/* The physical address behind @p (a privileged file of the device), or 0. */
uint64_t fnmm_heap_virt2phys(struct fnmm_heap *h, const void *p);
/* Whether @p is a live allocation of @h (its start). */
int fnmm_heap_owns(struct fnmm_heap *h, const void *p);
/* Whether @p is in a run of @h's (lockless; a large run: its first 16 KiB). */
int fnmm_heap_contains(struct fnmm_heap *h, const void *p);

/**
 * struct fnmm_heap_stats - what a heap holds
 * @mapped: bytes of pages it holds from its source
 * @live: bytes of live allocations (their usable sizes), objects in
 *	threads' caches included
 * @objects: live allocations, objects in threads' caches included
 * @runs: runs of pages held (spans and large allocations)
 * @meta: bytes of the heap's own metadata mapped (descriptors, objects'
 *	state bytes, the table; of the run map, the entries its runs use)
 * @made: runs taken from the source over the heap's life
 */
struct fnmm_heap_stats {
	size_t mapped, live, objects, runs, meta, made;
};
void fnmm_heap_stats(struct fnmm_heap *h, struct fnmm_heap_stats *st);

#endif
