// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_heap: a malloc over a page source (see fnmm_heap.h).
 *
 * Design.  Memory comes from the source in runs aligned to UNIT (16 KiB)
 * or more.  A run is either a span of one size class or one large
 * allocation:
 *  - the classes are FreeNOS's PoolAllocator pools, one per power of two
 *    from 16 bytes to 64 KiB, and between each two from 32 on, one of
 *    3 * 2^k (48, 96, ..., 48 KiB), so that rounding up costs at most a
 *    third of a request, not a half; every object is aligned to the
 *    largest power of two dividing its class's size (16 at least, as
 *    malloc must; an aligned request of a 3 * 2^k class takes the next
 *    one, a power of two).  A span of a class holds SPAN_OBJS (4)
 *    objects or more, in whole UNITs (but a UNIT for the classes of 8
 *    and 16 KiB: 2 and 1 objects, no free slot beyond the UNIT's other
 *    half), aligned to its objects' alignment; a class whose 4 objects
 *    take more than a UNIT makes
 *    smaller spans while it has few objects live in the arena (a
 *    quarter of them, one at least, in whole UNITs), so that the free
 *    slots of a few big spans are not most of what it holds.  Objects
 *    sit at multiples of the size from the span's start.  An object is taken from the
 *    span's freed objects or else from its untouched tail.  A span of at
 *    most 64 objects (classes of 256 bytes and more) keeps its freed
 *    ones as a bitmap in its descriptor, the lowest taken first, so the
 *    heap never touches the memory of such objects (big objects sit at
 *    the same offsets in their pages: links in them would be cache
 *    misses that two threads' objects conflict on); a span of more keeps
 *    a list linked through them.  A class keeps its spans with a free
 *    object on a list, the most recent first;
 *  - a larger request is a run of its own, rounded up to the page.
 * A new span of objects of at most POPULATE_MAX (1 KiB) is faulted in
 * whole at once (MADV_POPULATE_WRITE: one call, not a fault per page;
 * its pages fill as it is used, and a class a program uses little of
 * has up to 16 KiB resident that it did not touch); others, and large
 * runs, as the program touches them.
 * Every run has a descriptor out of band (in anonymous memory of the
 * heap's own), found from any address in it through the run map, a radix
 * of UNIT numbers (a first level of 2^18 pointers, second levels of 2^16,
 * for addresses below 2^48), read without a lock, and a hash table under
 * the lock (for any address): one entry per UNIT of a span, one for a
 * large run, whose only valid address is its start.  A span's
 * descriptor has a state byte per 2^k bytes (the objects' alignment),
 * live or free: written by the thread that takes the object from its
 * cache or frees it, without a lock; no object starts at a byte whose
 * state stays free.
 *
 * Runs go back to the source as FreeNOS's PageAllocator gives pages
 * back: a span when its last object is freed, unless its class's live
 * bytes and empty spans in the arena would stay within its recent peak
 * of live bytes plus two UNITs (the free slots and rounding of the spans
 * beyond the live bytes), or EMPTY_KEEP (64 KiB), whichever is more; a
 * class's only span with room, and a span a cache owns, are kept
 * whatever their size (by this rule: the arena's, below, may give back
 * the first).  So a program that frees and allocates again the
 * same amount does not go to the source each time, and at a peak a
 * class holds empty spans only for what it had live more recently.
 * Recent is counted in churn, not time, per arena and class: the peak of
 * this epoch and of the last, an epoch ending once the class has
 * allocated that much in the arena; at the end of an epoch the empty
 * spans beyond the new limit go back at once, so a class that runs lower
 * gives its old peak back after allocating about twice it (at most
 * twice it plus 4 UNITs), and an arena's last thread gives back all its
 * empty spans when it exits or moves to another heap (no thread of the
 * arena would end their epochs).  Over all its classes, an arena keeps
 * its live bytes and the empty spans on its lists (not those caches
 * own) within its own recent peak of live bytes (counted as a class's)
 * plus ARENA_SLACK (64 KiB): past that, a
 * new span, a span emptied or an epoch's end gives its least recently
 * emptied spans back first (a list of them per arena), so that what one
 * class keeps for its peak is not held beside another class's peak
 * (classes that take turns hold one peak, not one each).  An arena with
 * live threads that stop allocating keeps what it kept, as any idle heap
 * does, until fnmm_heap_flush().  A large run goes back when freed
 * unless it is the LARGE_KEEP (1) last freed run of at most 1 MiB, kept
 * for a next request of the same length until the heap maps a new run
 * instead (a request of another length, or a new span: then it was not
 * taken again).  fnmm_heap_flush() gives back every kept
 * run but EMPTY_KEEP per class in the caller's arena (and a class's only
 * span with room there), and for the spans other threads' caches own.
 *
 * Arenas: the spans are in arenas, each with its own lock and lists
 * (2 per CPU, at most NARENA (8)); a thread takes its arena the first
 * time it allocates, round robin, and keeps it (for every heap), so that
 * two threads that allocate at once do not wait for one lock (a thread
 * with no cache, see tc_for(), uses arena 0).  A free goes back to its
 * object's span, in whichever arena (a cache's flush takes the arenas'
 * locks one after another).  The heap's own lock, taken after an
 * arena's, is for runs: the source's calls, the table, descriptors,
 * state arrays, large runs; but the spans an arena gives back leave the
 * table under it and go back to the source after it (but for those past
 * GONE_MAX (16) ranges at once), with their arena's lock still held,
 * adjacent ones in one call if the source merges (see struct gone: each
 * munmap is a TLB flush on every CPU the process runs on; in 64 calls,
 * two threads giving back 64 spans each at once took 4.4 ms, in one
 * call 0.24 ms).  Each arena is on pages of its own, and so are its
 * spans' descriptors and state arrays (a pool of UNIT chunks per
 * arena): no line one thread writes is the neighbour of a line another
 * writes, which a prefetcher would pull across (it made two threads on
 * two arenas of one heap 3 times slower than on two heaps).  And each
 * arena's spans have their own place in the address space, a REGION (64
 * GiB) of it below the heap's own mapping, each new span just below the
 * last (a hint to the source, which both sources take when the range is
 * free): two threads making spans at once got them alternating in the
 * address space, and ran 1.3 to 2 times slower than with them apart.  A
 * program's memory held is then up to EMPTY_KEEP per class per arena
 * more than with one arena.
 *
 * A refill takes from a span its thread owns (at most one per class, off
 * the class's list while owned), so that threads do not share spans, nor
 * the cache lines of their state bytes, while they allocate: else the
 * first span of the class's list in its arena, else a new one.  A
 * thread's spans go back to the lists when it exits or flushes.
 *
 * Misuse aborts, with a line on stderr: a free (or realloc) of an address
 * that is not a live allocation (never given, inside an object, a slot
 * never handed out, freed already, wherever the first free put it: a
 * cache, its span, or back to the source), and a span's free list link
 * that does not name a free object of the span (overwritten after free).
 * The thread caches keep nothing in the objects, so a write after free
 * cannot redirect them.  Only two threads freeing the same object at
 * once can both pass.
 *
 * fork(): every lock of every heap is held across it.  The child's heaps over
 * a shared source (the device: MAP_SHARED) get private copies of their
 * runs, and anonymous memory from then on (see struct
 * fnmm_heap_source); the forking thread waits for the copies (a pipe's
 * EOF: a failed fork leaves nobody to wait for; with no fd left for the
 * pipe it does not wait, and says so on stderr).  Other threads of the
 * parent do not wait: what they write to heap objects during the copy
 * may show in the child (a fork of device pages cannot be copy-on-write
 * from user space).  Objects in other threads' caches are lost to the
 * child, as those threads are; the child aborts if it has no memory for
 * a copy.  Only fork() runs the handlers: a child of _Fork() or clone()
 * must exec or exit without touching the heap.
 *
 * Per thread: a cache of up to TC_MAX (64) free objects per class and
 * TC_BYTES (16 KiB) of them (at least one object), a stack of objects
 * and their state bytes' addresses in the thread's own memory, in front
 * of the heap (as glibc's tcache): a small malloc or free takes no lock
 * while the cache has an object or room; it is refilled and flushed
 * (the oldest) half its size at a time under an arena's lock, and
 * flushed when the thread exits.  A free finds its object's span
 * without the lock in the run map.  The heap's counts take objects in
 * caches as allocated; a thread's fnmm_heap_flush() hands its cache
 * back.
 *
 * Cost: a small malloc or free O(1) without a lock on a cache hit (a
 * run-map lookup, the state byte, the cache list); else, under the
 * arena's lock, O(1) per object (a run-map lookup, list operations, a
 * bit) plus a source call when a span is made (under the heap's lock;
 * then, after it, a populate call for a small class's new span) or given
 * back (after it; one call per range of adjacent spans given back at
 * once, if the source merges); an epoch's end walks the class's spans
 * with room in the arena, at most once per EMPTY_KEEP bytes allocated
 * from them (and per its recent peak); the arena's budget O(1) per span
 * it gives back (and a source call per range); a thread's exit, if its
 * arena's last, the arena's spans with room; a large malloc or free O(1)
 * under the heap's lock plus a source call (and one for the kept run);
 * realloc O(size) when it moves; fork() O(bytes mapped) over a shared
 * source, else O(1).  Memory:
 * a 128-byte descriptor per run, a thread cache of 24 KiB (static TLS:
 * the preload library must be preloaded, not dlopen()ed), a state byte
 * per 2^k bytes of a span (1/16 of a span of 16-byte or 48-byte objects,
 * 1/4096 of one of 4 KiB), 8 bytes per UNIT in the run map and 32 per
 * UNIT in the table; the arenas' pages in the heap's own mapping
 * (touched once used), and per arena in use a UNIT chunk of descriptors
 * and one of state arrays (large runs: one of descriptors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fnmm_heap.h"
#include "libfnmm.h"

#define UNIT_SHIFT	14
#define UNIT		((size_t)1 << UNIT_SHIFT)
/* Classes: 16, 32, then 3 * 2^k and 2^(k + 2) for k = 4 .. 14 */
#define NCLASS		24
#define MAX_SMALL	((size_t)1 << 16)	/* the largest class's size */
#define SPAN_OBJS	4	/* objects a span holds at least (see span_len()) */
#define TC_MAX		64	/* objects per class in a thread's cache */
#define TC_BYTES	(16 << 10)	/* and bytes (one object at least) */
#define EMPTY_KEEP	(64 << 10)	/* bytes of empty spans a class keeps, at least */
#define ARENA_SLACK	(4 * UNIT)	/* and an arena beyond its recent peak */
#define POPULATE_MAX	1024	/* a new span of objects up to this: faulted in */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14; before, EINVAL */
#endif
#define LARGE_KEEP	1	/* freed large runs kept for the next ones */
#define LARGE_KEEP_MAX	((size_t)1 << 20)	/* of at most this size */
#define CLS_CACHED	-2	/* a large run kept, not live */
#define NARENA		8	/* arenas at most: 2 per CPU up to this */
#define REGION		((uintptr_t)1 << 36)	/* an arena's place: 64 GiB */
/* The run map: UNIT numbers below MAP_KEYS (addresses below 2^48). */
#define MAP_BITS	16	/* UNIT numbers per second level: 2^16 */
#define MAP_L1		(48 - UNIT_SHIFT - MAP_BITS)	/* to 2^48 */
#define MAP_KEYS	((uintptr_t)1 << (MAP_L1 + MAP_BITS))
#define MAP_L2		(((size_t)1 << MAP_BITS) * sizeof(struct span *))
/* An object's state byte in its span's state[] */
#define ST_FREE		0	/* never handed out, in a cache or freed */
#define ST_LIVE		1	/* the program's */

struct span {
	uintptr_t base;
	size_t len;
	uint64_t tag;		/* the source's */
	int cls;		/* class index, or -1: a large allocation */
	unsigned int shift;	/* log2 of the class's size */
	unsigned int nobj, nfree, bump;
	unsigned char *state;	/* ST_* per object (a span's) */
	const void *owner;	/* the cache refilled from it, or NULL */
	void *freed;		/* objects freed, linked through themselves */
	uint64_t fmap;		/* or, nobj <= 64: bit i, object i freed */
	struct span *prev, *next;	/* on the class's list, or descriptors' */
	struct span *eprev, *enext;	/* on the arena's empty list */
	struct arena *ar;	/* a span's arena (NULL: a large run) */
	unsigned char listed, elisted;
} __attribute__((aligned(64)));	/* a line or two of its own */

struct slot {
	uintptr_t key;		/* UNIT number, 0: empty */
	struct span *s;
};

/*
 * An arena: spans of every class, and their counts.  Each thread's cache
 * takes its spans from one arena (round robin as threads start), so that
 * two threads that allocate do not wait for one lock.
 */
struct arena {
	/*
	 * protects everything below and its spans' nfree, bump, freed,
	 * fmap, owner, prev, next, listed, eprev, enext and elisted (a
	 * span's other fields are fixed while it is mapped; its objects'
	 * state bytes take no lock)
	 */
	pthread_mutex_t lock;
	struct span *partial[NCLASS];	/* spans with a free object */
	size_t empty_bytes[NCLASS];	/* bytes of empty spans kept per class */
	size_t clive[NCLASS];		/* live bytes per class */
	size_t peak[NCLASS];		/* clive[]'s peak in this epoch */
	size_t prev[NCLASS];		/* and in the last */
	size_t churn[NCLASS];		/* bytes allocated in this epoch */
	size_t live, objects;		/* in its spans (caches' objects too) */
	/* Empty spans on their classes' lists, the most recently emptied first */
	struct span *enew, *eold;
	size_t ebytes;			/* and their bytes (not caches' spans) */
	size_t apeak, aprev, achurn;	/* as peak[], prev[], churn[]: of live */
	unsigned int nthreads;		/* threads whose cache is on it */
	/*
	 * Its spans' place (under the heap's lock): the next goes just below
	 * @low, in [@bottom, @top) (from @top again once below @bottom); no
	 * place if @top is 0.
	 */
	uintptr_t low, bottom, top;
} __attribute__((aligned(4096)));	/* on pages of its own (prefetchers) */

/*
 * Where an arena's descriptors and state arrays come from (and large
 * runs' descriptors, the last pool): UNIT chunks of its own, so that the
 * lines two threads write are not neighbours a prefetcher pulls across.
 * Under the heap's lock.
 */
struct pool {
	struct span *spare;		/* descriptors not in use */
	unsigned char *sfree[NCLASS];	/* state arrays not in use */
	unsigned char *scur;		/* the chunk state arrays are cut from */
	size_t sleft;			/* bytes left in it */
};

struct fnmm_heap {
	/*
	 * Taken after an arena's lock, if with one.  Protects everything
	 * below but ar[] (each its own lock): the run
	 * table and map (the map's reads take no lock), descriptors, state
	 * arrays, large runs, the counts, the source's calls (but for
	 * most of an arena's spans given back, made under its arena's lock
	 * only: see struct gone).
	 */
	pthread_mutex_t lock;
	const struct fnmm_heap_source *src;
	struct slot *tab;
	size_t cap, used;	/* table slots, and those in use */
	struct span *chunks;	/* the UNIT chunks descriptors come from */
	unsigned char *schunks;	/* and state arrays (linked by their first line) */
	struct pool pool[NARENA + 1];	/* per arena, then large runs' */
	size_t mapped, live, objects, runs, made;	/* live, objects: large */
	size_t page;
	struct span *kept[LARGE_KEEP];	/* freed large runs, oldest first */
	unsigned int nkept;
	size_t meta;			/* bytes of metadata mapped */
	struct fnmm_heap *gprev, *gnext;	/* on heaps (fork) */
	unsigned int narena;		/* arenas in use: ar[0 .. narena) */
	int no_populate;	/* MADV_POPULATE_WRITE failed (atomic) */
	struct arena ar[NARENA];
	/*
	 * UNIT number (below MAP_KEYS) -> the run there (every UNIT of a
	 * span, a large run's first), or NULL: written under the lock, read
	 * without it (a second level, once there, stays until destroy, and
	 * so do descriptors)
	 */
	struct span **pmap[1 << MAP_L1];
};

/*
 * A thread's cache, for one heap at a time: per class a stack of free
 * objects and their state bytes, in the thread's own memory (nothing is
 * read from or written to a cached object, so a write after free cannot
 * redirect the cache).
 */
struct tc_ent {
	void *obj;
	unsigned char *st;	/* its state byte */
};

struct tcache {
	struct fnmm_heap *h;
	struct arena *ar;	/* its arena in h */
	unsigned int n[NCLASS];
	struct span *cur[NCLASS];	/* the span it refills from, if its owner */
	struct tc_ent e[NCLASS][TC_MAX];
};

static __thread struct tcache tc;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static size_t cls_size(int c)
{
	return c < 2 ? (size_t)16 << c :
	       (size_t)(c & 1 ? 4 : 3) << ((c - 2) / 2 + 4);
}

/* log2 of the largest power of two dividing class @c's size: its objects' alignment. */
static unsigned int cls_shift(int c)
{
	return c < 2 ? 4 + c : (c - 2) / 2 + (c & 1 ? 6 : 4);
}

/* The objects of each class a thread's cache holds at most (set once). */
static unsigned char tc_max_tab[NCLASS];

static unsigned int tc_max(int c)
{
	return tc_max_tab[c];
}

/* The objects moved at a time between a cache and the heap. */
static unsigned int tc_batch(int c)
{
	return (tc_max(c) + 1) / 2;
}

/* The class of @size (at most the largest class's size). */
static int cls_of(size_t size)
{
	int k;

	if (size <= 32)
		return size > 16;
	/* 2^k < size <= 2^(k + 1), k >= 5: 3 * 2^(k - 1) or 2^(k + 1) */
	k = (int)(sizeof(long) * 8) - 1 - __builtin_clzl(size - 1);
	return 2 + 2 * (k - 5) + (size > (size_t)3 << (k - 1));
}

/*
 * SPAN_OBJS objects, rounded up to whole UNITs; but one UNIT for the
 * classes of half a UNIT and a UNIT (8 and 16 KiB): a free slot of theirs
 * is then held only beside a live object in its UNIT.
 */
static size_t span_len(int c)
{
	if (cls_size(c) == UNIT || cls_size(c) == UNIT / 2)
		return UNIT;
	return (cls_size(c) * SPAN_OBJS + UNIT - 1) & ~(UNIT - 1);
}

static void *meta_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static __attribute__((noreturn)) void heap_abort(const char *what,
						 const void *p);

/* The pool of a run of arena @ar (NULL: a large run's), one of @h's. */
static struct pool *pool_of(struct fnmm_heap *h, const struct arena *ar)
{
	if (ar && (ar < h->ar || ar >= h->ar + h->narena))
		heap_abort("an arena of another heap", ar);
	return &h->pool[ar ? ar - h->ar : NARENA];
}

/* A descriptor, from the heap's own memory, of pool @pl; lock held. */
static struct span *desc_get(struct fnmm_heap *h, struct pool *pl)
{
	struct span *s = pl->spare;
	size_t i, n = UNIT / sizeof(*s);

	if (!s) {
		/* The chunk's first entry links the chunks (for destroy). */
		s = meta_map(UNIT);
		if (!s)
			return NULL;
		h->meta += UNIT;
		s[0].next = h->chunks;
		h->chunks = s;
		for (i = 2; i + 1 < n; i++)
			s[i].next = &s[i + 1];
		s[n - 1].next = NULL;
		pl->spare = &s[2];
		s = &s[1];
	} else {
		pl->spare = s->next;
	}
	memset(s, 0, sizeof(*s));
	return s;
}

static void desc_put(struct pool *pl, struct span *s)
{
	s->next = pl->spare;
	pl->spare = s;
}

static size_t slot_of(const struct fnmm_heap *h, uintptr_t key)
{
	return (key * 0x9e3779b97f4a7c15ULL >> 20) & (h->cap - 1);
}

static struct span *tab_find(const struct fnmm_heap *h, uintptr_t key)
{
	size_t i;

	if (!h->cap)
		return NULL;
	for (i = slot_of(h, key); h->tab[i].key; i = (i + 1) & (h->cap - 1))
		if (h->tab[i].key == key)
			return h->tab[i].s;
	return NULL;
}

static void tab_put(struct slot *tab, size_t cap, uintptr_t key,
		    struct span *s)
{
	size_t i = (key * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);

	while (tab[i].key)
		i = (i + 1) & (cap - 1);
	tab[i].key = key;
	tab[i].s = s;
}

/* Room for @more entries at half load at most; lock held. */
static int tab_grow(struct fnmm_heap *h, size_t more)
{
	size_t cap = h->cap ? h->cap : 1024, i;
	struct slot *tab;

	while ((h->used + more) * 2 > cap)
		cap *= 2;
	if (cap == h->cap)
		return 0;
	tab = meta_map(cap * sizeof(*tab));
	if (!tab)
		return -1;
	for (i = 0; i < h->cap; i++)
		if (h->tab[i].key)
			tab_put(tab, cap, h->tab[i].key, h->tab[i].s);
	if (h->tab)
		munmap(h->tab, h->cap * sizeof(*tab));
	h->meta += (cap - h->cap) * sizeof(*tab);
	h->tab = tab;
	h->cap = cap;
	return 0;
}

/* Remove @key (present), shifting the probe chain back; lock held. */
static void tab_del(struct fnmm_heap *h, uintptr_t key)
{
	size_t i = slot_of(h, key), j, k;

	while (h->tab[i].key != key)
		i = (i + 1) & (h->cap - 1);
	for (j = i;;) {
		h->tab[i].key = 0;
		for (;;) {
			j = (j + 1) & (h->cap - 1);
			if (!h->tab[j].key)
				goto out;
			k = slot_of(h, h->tab[j].key);
			/* k cyclically in (i, j]: the entry stays. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		h->tab[i] = h->tab[j];
		i = j;
	}
out:
	h->used--;
}

/*
 * Make sure the run map has a second level for UNIT @key (none is needed
 * at or above MAP_KEYS: those runs are found in the table); lock held.
 */
static int pmap_room(struct fnmm_heap *h, uintptr_t key)
{
	struct span **l2;

	if (key >= MAP_KEYS || h->pmap[key >> MAP_BITS])
		return 0;
	l2 = meta_map(MAP_L2);
	if (!l2)
		return -1;
	__atomic_store_n(&h->pmap[key >> MAP_BITS], l2, __ATOMIC_RELEASE);
	return 0;
}

/* Note @s for UNIT @key in the run map (its level made); lock held. */
static void pmap_set(struct fnmm_heap *h, uintptr_t key, struct span *s)
{
	if (key >= MAP_KEYS)
		return;
	__atomic_store_n(&h->pmap[key >> MAP_BITS][key & ((1U << MAP_BITS) - 1)],
			 s, __ATOMIC_RELEASE);
}

/*
 * The run at @p, without the lock, as the run map has it: NULL if none or
 * beyond the map (then see the table).  Descriptors stay mapped, so a
 * stale answer (a run given back meanwhile) is still a descriptor.
 */
static inline __attribute__((always_inline)) struct span *
pmap_get(struct fnmm_heap *h, const void *p)
{
	uintptr_t key = (uintptr_t)p >> UNIT_SHIFT;
	struct span **l2;

	if (key >= MAP_KEYS)
		return NULL;
	l2 = __atomic_load_n(&h->pmap[key >> MAP_BITS], __ATOMIC_ACQUIRE);
	return l2 ? __atomic_load_n(&l2[key & ((1U << MAP_BITS) - 1)],
				    __ATOMIC_ACQUIRE) : NULL;
}

/* The run at @p, the map's answer or, beyond it, the table's. */
static struct span *span_at(struct fnmm_heap *h, const void *p)
{
	struct span *s;

	if ((uintptr_t)p >> UNIT_SHIFT < MAP_KEYS)
		return pmap_get(h, p);
	pthread_mutex_lock(&h->lock);
	s = tab_find(h, (uintptr_t)p >> UNIT_SHIFT);
	pthread_mutex_unlock(&h->lock);
	return s;
}

/*
 * A zeroed state array for a span of class @c; lock held.  Its 16 bytes
 * before link it when not in use: outside any index a stale reader of a
 * descriptor (a racing misuse) could compute.
 */
static unsigned char *state_get(struct fnmm_heap *h, struct pool *pl, int c)
{
	/* Whole cache lines: two spans share none (chunks are aligned). */
	size_t n = ((span_len(c) >> cls_shift(c)) + 16 + 63) & ~(size_t)63;
	unsigned char *st = pl->sfree[c];

	if (st) {
		memcpy(&pl->sfree[c], st, sizeof(st));
	} else {
		if (pl->sleft < n) {
			/* The chunk's first line links the chunks. */
			st = meta_map(UNIT);
			if (!st)
				return NULL;
			memcpy(st, &h->schunks, sizeof(st));
			h->schunks = st;
			pl->scur = st;
			pl->sleft = UNIT - 64;
			h->meta += UNIT;
		}
		st = pl->scur + UNIT - pl->sleft;
		pl->sleft -= n;
	}
	memset(st + 16, 0, n - 16);
	return st + 16;
}

static void state_put(struct pool *pl, int c, unsigned char *st)
{
	memcpy(st - 16, &pl->sfree[c], sizeof(st));
	pl->sfree[c] = st - 16;
}

/* The keys a run has in the table: every UNIT of a span, a large one's first. */
static size_t run_keys(const struct span *s)
{
	return s->cls < 0 ? 1 : s->len >> UNIT_SHIFT;
}

struct gone;
static void run_free(struct fnmm_heap *h, struct span *s, struct gone *g);

/* The large runs kept for reuse back to the source; the heap's lock held. */
static void kept_free(struct fnmm_heap *h)
{
	while (h->nkept)
		run_free(h, h->kept[--h->nkept], NULL);
}

/*
 * Where the next span of @len bytes, aligned to @align, of arena @ar
 * would go (a hint to the source), or NULL (a large run: anywhere): just
 * below the last, in the arena's own REGION, so that two arenas' spans
 * do not interleave page by page (two threads allocating at once made
 * their spans alternate in the address space, and ran 1.3 to 2 times
 * slower for it on this machine, than with their spans apart, as two
 * processes).  The place moves down whether the source took it or not
 * (the next try is past what was there: a range another mapping took
 * costs a failed try per span until the place is below it); the heap's
 * lock held.
 */
static void *arena_place(struct arena *ar, size_t len, size_t align)
{
	uintptr_t a;

	if (!ar || !ar->top)
		return NULL;
	a = (ar->low - len) & ~(uintptr_t)(align - 1);
	if (ar->low < ar->bottom + len + align || a < ar->bottom)
		a = (ar->top - len) & ~(uintptr_t)(align - 1);
	ar->low = a;
	return (void *)a;
}

/*
 * Map a run (a span of class @cls in arena @ar, or a large one: -1, NULL)
 * and enter it in the table and the map; the heap's lock held.
 */
static struct span *run_new(struct fnmm_heap *h, size_t len, size_t align,
			    int cls, struct arena *ar)
{
	struct span *s;
	size_t k;
	void *p;

	if (align < UNIT)
		align = UNIT;
	if (len > SIZE_MAX / 2 || align > SIZE_MAX / 2)
		return NULL;
	/* The heap grows: the large runs it kept were not taken again. */
	kept_free(h);
	s = desc_get(h, pool_of(h, ar));
	if (!s)
		return NULL;
	s->cls = cls;
	s->ar = ar;
	if (cls >= 0) {
		s->shift = cls_shift(cls);
		s->nobj = len / cls_size(cls);
		s->state = state_get(h, pool_of(h, ar), cls);
		if (!s->state)
			goto err;
	}
	if (tab_grow(h, cls < 0 ? 1 : len >> UNIT_SHIFT))
		goto err;
	p = h->src->map(h->src->arg, len, align, arena_place(ar, len, align),
			&s->tag);
	if (!p)
		goto err;
	s->base = (uintptr_t)p;
	s->len = len;
	for (k = 0; k < run_keys(s); k++) {
		if (pmap_room(h, (s->base >> UNIT_SHIFT) + k)) {
			h->src->unmap(h->src->arg, p, len, s->tag);
			goto err;
		}
	}
	for (k = 0; k < run_keys(s); k++) {
		tab_put(h->tab, h->cap, (s->base >> UNIT_SHIFT) + k, s);
		h->used++;
		pmap_set(h, (s->base >> UNIT_SHIFT) + k, s);
	}
	h->mapped += len;
	h->meta += run_keys(s) * sizeof(s);
	h->runs++;
	h->made++;
	return s;
err:
	if (s->state)
		state_put(pool_of(h, ar), cls, s->state);
	desc_put(pool_of(h, ar), s);
	return NULL;
}

/*
 * Runs on their way back to the source: out of the heap's table and map
 * already (under its lock), unmapped once that lock is dropped (past
 * GONE_MAX ranges, those before under it), with the lock of their arena
 * still held (fork() takes it too, so that a child never inherits a run
 * nobody will give back), and adjacent ones in one call if the source
 * can take them so (@merge): an arena's spans lie side by side (see
 * arena_place()), and every munmap is a TLB flush, on every CPU that
 * runs a thread of the process.  Giving back 64 spans of 16 KiB took
 * 0.73 ms in 64 munmaps on one thread, and 4.4 ms on each of two
 * threads at once; in one munmap, 0.07 and 0.24 ms.
 */
#define GONE_MAX	16

struct gone {
	unsigned int n;
	struct {
		uintptr_t base;
		size_t len;
		uint64_t tag;
	} r[GONE_MAX];
};

/* Unmap the runs in @g; their arena's lock held, not the heap's. */
static void gone_unmap(struct fnmm_heap *h, struct gone *g)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		h->src->unmap(h->src->arg, (void *)g->r[i].base, g->r[i].len,
			      g->r[i].tag);
	g->n = 0;
}

/*
 * Add run @s to @g, into its last range if the two are adjacent and the
 * source merges; when @g is full, it is unmapped first (the heap's lock
 * held: that call is made under it, as without @g).
 */
static void gone_add(struct fnmm_heap *h, struct gone *g, struct span *s)
{
	if (g->n && h->src->merge) {
		typeof(g->r[0]) *r = &g->r[g->n - 1];

		if (r->base + r->len == s->base) {
			r->len += s->len;
			return;
		}
		if (s->base + s->len == r->base) {
			r->base = s->base;
			r->len += s->len;
			return;
		}
	}
	if (g->n == GONE_MAX)
		gone_unmap(h, g);
	g->r[g->n].base = s->base;
	g->r[g->n].len = s->len;
	g->r[g->n++].tag = s->tag;
}

/*
 * Run @s out of the table and the map, and back to the source: at once,
 * or, with @g, into @g (see struct gone); the heap's lock held.
 */
static void run_free(struct fnmm_heap *h, struct span *s, struct gone *g)
{
	size_t k;

	for (k = 0; k < run_keys(s); k++) {
		tab_del(h, (s->base >> UNIT_SHIFT) + k);
		pmap_set(h, (s->base >> UNIT_SHIFT) + k, NULL);
	}
	if (g)
		gone_add(h, g, s);
	else
		h->src->unmap(h->src->arg, (void *)s->base, s->len, s->tag);
	h->mapped -= s->len;
	h->meta -= run_keys(s) * sizeof(s);
	h->runs--;
	if (s->state)
		state_put(pool_of(h, s->ar), s->cls, s->state);
	s->owner = NULL;	/* a cache may still name it */
	desc_put(pool_of(h, s->ar), s);
}

/* On its class's list in its arena; the arena's lock held. */
static void list_add(struct span *s)
{
	struct span **head = &s->ar->partial[s->cls];

	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->listed = 1;
}

/*
 * An empty span on its class's list joins its arena's empty list, as the
 * most recently emptied (arena_budget() gives the oldest back first).
 */
static void elist_add(struct span *s)
{
	struct arena *ar = s->ar;

	s->eprev = NULL;
	s->enext = ar->enew;
	if (ar->enew)
		ar->enew->eprev = s;
	else
		ar->eold = s;
	ar->enew = s;
	ar->ebytes += s->len;
	s->elisted = 1;
}

static void elist_del(struct span *s)
{
	struct arena *ar = s->ar;

	if (!s->elisted)
		return;
	if (s->eprev)
		s->eprev->enext = s->enext;
	else
		ar->enew = s->enext;
	if (s->enext)
		s->enext->eprev = s->eprev;
	else
		ar->eold = s->eprev;
	ar->ebytes -= s->len;
	s->elisted = 0;
}

/* Off its class's list (and off the empty list); the arena's lock held. */
static void list_del(struct span *s)
{
	elist_del(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		s->ar->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->listed = 0;
}

/* Span @s is empty now: counted, and on the empty list if on a list. */
static void empty_add(struct span *s)
{
	s->ar->empty_bytes[s->cls] += s->len;
	if (s->listed)
		elist_add(s);
}

/* Empty span @s is in use again, or goes back to the source. */
static void empty_del(struct span *s)
{
	s->ar->empty_bytes[s->cls] -= s->len;
	elist_del(s);
}

/* Straight to fd 2: stdio may be locked (a fork's child) or broken. */
static __attribute__((noreturn)) void heap_abort(const char *what,
						 const void *p)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "fnmm_heap: %s: %p\n", what, p);

	if (n > 0 && write(2, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		abort();
	abort();
}

/*
 * The state byte of the object at @p in its span @s: one per 2^shift
 * bytes (the objects' alignment), so bytes that no object starts at stay
 * ST_FREE.
 */
static unsigned char *state_of(const struct span *s, const void *p)
{
	return &s->state[((uintptr_t)p - s->base) >> s->shift];
}

/*
 * Whether @p is an object of span @s, of class @c, handed out once
 * (below the bump) and free now: what every object on a free list (a
 * span's or a cache's) must be.  An object starts at a multiple of
 * 2^shift, of 3 * 2^shift in a 3 * 2^k class.
 */
static int obj_free_in(const struct span *s, const void *p, int c)
{
	uintptr_t off = (uintptr_t)p - s->base;

	return s->cls == c && off < s->len &&
	       !(off & (((size_t)1 << s->shift) - 1)) &&
	       !(c >= 2 && !(c & 1) && (off >> s->shift) % 3) &&
	       off < (size_t)s->bump * cls_size(c) &&
	       *state_of(s, p) == ST_FREE;
}

/*
 * Span @s is no cache's any more: back on its class's list if it has
 * room; its arena's lock held.
 */
static void span_release(struct span *s)
{
	s->owner = NULL;
	if (s->nfree && !s->listed) {
		list_add(s);
		if (s->nfree == s->nobj)
			elist_add(s);
	}
}

/*
 * The length of a new span of class @c in @ar: span_len(), SPAN_OBJS
 * objects, or, for a class whose spans are longer than a UNIT, fewer
 * while it has few live objects in the arena (a quarter of them, one at
 * least, in whole UNITs): the free slots of its spans stay a small part
 * of what it holds.
 */
static size_t span_len_for(const struct arena *ar, int c)
{
	size_t n = ar->clive[c] / cls_size(c) / 4, len;

	if (span_len(c) == UNIT || n >= SPAN_OBJS)
		return span_len(c);
	len = (cls_size(c) * (n ? n : 1) + UNIT - 1) & ~(UNIT - 1);
	return len < span_len(c) ? len : span_len(c);
}

/*
 * Empty span @s, on its class's list, into @g, on its way back to the
 * source; its arena's lock held.
 */
static void empty_free(struct fnmm_heap *h, struct span *s, struct gone *g)
{
	empty_del(s);
	list_del(s);
	pthread_mutex_lock(&h->lock);
	run_free(h, s, g);
	pthread_mutex_unlock(&h->lock);
}

/* @ar's recent peak of live bytes (see recent_peak()) plus ARENA_SLACK. */
static size_t arena_peak(const struct arena *ar)
{
	return (ar->apeak > ar->aprev ? ar->apeak : ar->aprev) + ARENA_SLACK;
}

/*
 * Give @ar's empty spans on lists back, the least recently emptied
 * first, while its live bytes, those spans and @more bytes to come
 * exceed arena_peak(): what one class keeps for its recent peak is
 * bounded by what the others have live now, so a program whose classes
 * take turns holds about one peak, not one per class.  (The empty spans
 * caches own are not the arena's to give back, and do not count: else
 * they could hold the arena over its budget for good, and every span
 * that empties would go back at once.)  The arena's lock held.  O(1) per
 * span given back.
 */
static void arena_budget(struct fnmm_heap *h, struct arena *ar, size_t more)
{
	struct gone g;
	struct span *s;

	g.n = 0;
	while ((s = ar->eold) &&
	       ar->live + ar->ebytes + more > arena_peak(ar)) {
		empty_free(h, s, &g);
	}
	gone_unmap(h, &g);
}

/*
 * The span a refill for cache @t (NULL: none) takes from: the one it
 * owns while it has room, else the first on the class's list, else a
 * new one; @t owns it then, and it leaves the list (a span a cache owns
 * is on no list, so the list's head is always free to take): two threads
 * do not share a span (nor the cache lines of its state bytes) while
 * they allocate.  The lock of arena @ar (@t's) held.
 */
static struct span *span_for(struct fnmm_heap *h, struct arena *ar, int c,
			     struct tcache *t)
{
	struct span *s = t ? t->cur[c] : NULL;

	if (s) {
		if (s->nfree)
			return s;
		span_release(s);
		t->cur[c] = NULL;
	}
	s = ar->partial[c];
	if (!s) {
		size_t len = span_len_for(ar, c);

		arena_budget(h, ar, len);
		/* Aligned to its objects' alignment: a power of two's, its size. */
		pthread_mutex_lock(&h->lock);
		s = run_new(h, len, (size_t)1 << cls_shift(c), c, ar);
		pthread_mutex_unlock(&h->lock);
		if (!s)
			return NULL;
		/*
		 * Objects of at most POPULATE_MAX fill the span's pages as
		 * it is used: fault them in at once, in one call, not one
		 * fault per page.  A kernel before 5.14, or a source whose
		 * pages cannot be faulted in so, fails it: not tried again
		 * for the heap, and errno as it was.
		 */
		if (cls_size(c) <= POPULATE_MAX &&
		    !__atomic_load_n(&h->no_populate, __ATOMIC_RELAXED)) {
			int err = errno;

			if (madvise((void *)s->base, s->len,
				    MADV_POPULATE_WRITE))
				__atomic_store_n(&h->no_populate, 1,
						 __ATOMIC_RELAXED);
			errno = err;
		}
		s->nfree = s->nobj;
		if (!t)
			list_add(s);
		empty_add(s);	/* taken below, as any empty one */
	}
	if (t) {
		if (s->listed)
			list_del(s);
		s->owner = t;
		t->cur[c] = s;
	}
	return s;
}

/*
 * Give class @c's empty spans in @ar back, into @g, while it keeps more
 * than @keep bytes of them (but for its only span with room, unless
 * @keep is 0); the arena's lock held.  O(spans with room).
 */
static void trim_empty(struct fnmm_heap *h, struct arena *ar, int c,
		       size_t keep, struct gone *g)
{
	struct span *s, *next;

	for (s = ar->partial[c]; s && ar->empty_bytes[c] > keep; s = next) {
		next = s->next;
		if (s->nfree != s->nobj ||
		    (keep && ar->partial[c] == s && !s->next))
			continue;
		empty_free(h, s, g);
	}
}

/*
 * Every class of @ar starts its epochs again from its live bytes, and
 * keeps @keep bytes of empty spans at most (see trim_empty()); the
 * arena's lock held.  O(spans with room).
 */
static void arena_trim(struct fnmm_heap *h, struct arena *ar, size_t keep)
{
	struct gone g;
	int c;

	g.n = 0;
	for (c = 0; c < NCLASS; c++) {
		ar->peak[c] = ar->prev[c] = ar->clive[c];
		ar->churn[c] = 0;
		trim_empty(h, ar, c, keep, &g);
	}
	gone_unmap(h, &g);
	ar->apeak = ar->aprev = ar->live;
	ar->achurn = 0;
}

/*
 * Class @c's recent peak of live bytes in @ar, plus two UNITs (what the
 * spans' free slots and rounding hold beyond it), EMPTY_KEEP at least.
 */
static size_t recent_peak(const struct arena *ar, int c)
{
	size_t r = ar->peak[c] > ar->prev[c] ? ar->peak[c] : ar->prev[c];

	r += 2 * UNIT;
	return r > EMPTY_KEEP ? r : EMPTY_KEEP;
}

/*
 * An object of class @c for cache @t from arena @ar (@t's), and its span
 * in *@sp; the arena's lock held.
 */
static void *alloc_small(struct fnmm_heap *h, struct arena *ar, int c,
			 struct span **sp, struct tcache *t)
{
	struct span *s = span_for(h, ar, c, t);
	void *p;

	if (!s)
		return NULL;
	if (s->nfree == s->nobj)
		empty_del(s);	/* an empty one in use again */
	if (s->fmap) {
		p = (void *)(s->base + (size_t)__builtin_ctzll(s->fmap) *
				       cls_size(c));
		s->fmap &= s->fmap - 1;
	} else if (s->freed) {
		p = s->freed;
		if (!obj_free_in(s, p, c))
			heap_abort("corrupted free list", p);
		s->freed = *(void **)p;
	} else {
		/* nfree counts more than the list holds: a link overwritten */
		if (s->bump >= s->nobj)
			heap_abort("corrupted free list", (void *)s->base);
		p = (void *)(s->base + (size_t)s->bump++ * cls_size(c));
	}
	if (!--s->nfree && s->listed)
		list_del(s);
	ar->live += cls_size(c);
	ar->clive[c] += cls_size(c);
	if (ar->clive[c] > ar->peak[c])
		ar->peak[c] = ar->clive[c];
	ar->churn[c] += cls_size(c);
	if (ar->live > ar->apeak)
		ar->apeak = ar->live;
	ar->achurn += cls_size(c);
	if (ar->achurn >= arena_peak(ar)) {
		/* The arena's epoch ends: as a class's, below. */
		ar->aprev = ar->apeak;
		ar->apeak = ar->live;
		ar->achurn = 0;
		arena_budget(h, ar, 0);
	}
	if (ar->churn[c] >= recent_peak(ar, c)) {
		/* An epoch ends: what an old peak kept empty goes back. */
		struct gone g;

		g.n = 0;
		ar->prev[c] = ar->peak[c];
		ar->peak[c] = ar->clive[c];
		ar->churn[c] = 0;
		trim_empty(h, ar, c, recent_peak(ar, c) - ar->clive[c], &g);
		gone_unmap(h, &g);
	}
	ar->objects++;
	*sp = s;
	return p;
}

/* A large run; *@zero: it is fresh from the source (zero); lock held. */
static void *alloc_large(struct fnmm_heap *h, size_t size, size_t align,
			 int *zero)
{
	size_t len = (size + h->page - 1) & ~(h->page - 1);
	struct span *s;
	unsigned int i;

	*zero = 0;
	if (len < size)
		return NULL;
	/* A run kept from a free of the same length, if the alignment allows. */
	for (i = 0; align <= UNIT && i < h->nkept; i++)
		if (h->kept[i]->len == len) {
			s = h->kept[i];
			memmove(&h->kept[i], &h->kept[i + 1],
				(h->nkept - i - 1) * sizeof(s));
			h->nkept--;
			s->cls = -1;
			h->live += len;
			h->objects++;
			return (void *)s->base;
		}
	s = run_new(h, len, align, -1, NULL);
	if (!s)
		return NULL;
	*zero = 1;
	h->live += len;
	h->objects++;
	return (void *)s->base;
}

/* The live large run at @p, or NULL; the heap's lock held. */
static struct span *large_of(struct fnmm_heap *h, const void *p)
{
	struct span *s = tab_find(h, (uintptr_t)p >> UNIT_SHIFT);

	return s && s->cls == -1 && (uintptr_t)p == s->base ? s : NULL;
}

/*
 * Whether @p is where an object of span @s starts and is live, read
 * without a lock (the object's owner is the only writer of its state).
 */
static int obj_live_in(const struct span *s, const void *p)
{
	uintptr_t off = (uintptr_t)p - s->base;

	/* An address no object starts at has a state byte ST_FREE. */
	return off < s->len && !(off & (((size_t)1 << s->shift) - 1)) &&
	       *state_of(s, p) == ST_LIVE;
}

static void *tc_alloc(struct fnmm_heap *h, int c);

static void *heap_alloc(struct fnmm_heap *h, size_t size, size_t align)
{
	void *p;

	if (!size)
		size = 1;
	if (size <= MAX_SMALL && align <= MAX_SMALL) {
		int c = cls_of(size < align ? align : size);

		/* 3 * 2^k is aligned to 2^k only: the next class, 2^(k + 2). */
		if (cls_size(c) & (align - 1) && align)
			c++;
		p = tc_alloc(h, c);
	} else {
		int zero;

		pthread_mutex_lock(&h->lock);
		p = alloc_large(h, size, align, &zero);
		pthread_mutex_unlock(&h->lock);
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

/*
 * The common case inline: this thread's cache is @h's and has an object
 * of the class (heap_alloc() does the rest, and the same again).
 */
void *fnmm_malloc(struct fnmm_heap *h, size_t size)
{
	if (__builtin_expect(size - 1 < MAX_SMALL && tc.h == h, 1)) {
		int c = cls_of(size);
		unsigned int i = tc.n[c];

		if (__builtin_expect(i != 0, 1)) {
			tc.n[c] = --i;
			*tc.e[c][i].st = ST_LIVE;
			return tc.e[c][i].obj;
		}
	}
	return heap_alloc(h, size, 0);
}

void *fnmm_aligned_alloc(struct fnmm_heap *h, size_t align, size_t size)
{
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	return heap_alloc(h, size, align);
}

/* A large run fresh from the source is zero already: no memset (no touch). */
void *fnmm_calloc(struct fnmm_heap *h, size_t n, size_t size)
{
	int zero = 0;
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (n * size > MAX_SMALL) {
		pthread_mutex_lock(&h->lock);
		p = alloc_large(h, n * size, 0, &zero);
		pthread_mutex_unlock(&h->lock);
		if (!p)
			errno = ENOMEM;
	} else {
		p = fnmm_malloc(h, n * size);
	}
	if (p && !zero)
		memset(p, 0, n * size);
	return p;
}

/* Object @p back to its span @s; the lock of its arena held. */
static void free_small(struct fnmm_heap *h, struct span *s, void *p)
{
	struct arena *ar = s->ar;

	if (s->nfree == s->nobj)
		heap_abort("double free", p);
	if (s->nobj <= 64) {
		uint64_t bit = 1ULL << ((uintptr_t)p - s->base) / cls_size(s->cls);

		if (s->fmap & bit)
			heap_abort("double free", p);
		s->fmap |= bit;
	} else {
		*(void **)p = s->freed;
		s->freed = p;
	}
	ar->live -= cls_size(s->cls);
	ar->clive[s->cls] -= cls_size(s->cls);
	ar->objects--;
	if (!s->nfree++ && !s->owner)
		list_add(s);
	/*
	 * Empty: kept while the class's live bytes and empty spans stay
	 * within recent_peak() (its recent peak of live bytes plus two
	 * UNITs, EMPTY_KEEP at least), else back to the source (unless it
	 * is the class's only span with room, or a cache's); then the
	 * arena's budget, over all classes, may give back older ones, or
	 * this one.
	 */
	if (s->nfree == s->nobj) {
		int c = s->cls;

		if (ar->clive[c] + ar->empty_bytes[c] + s->len <=
		    recent_peak(ar, c) ||
		    s->owner || (ar->partial[c] == s && !s->next)) {
			empty_add(s);
			arena_budget(h, ar, 0);
		} else {
			struct gone g;

			g.n = 0;
			list_del(s);
			pthread_mutex_lock(&h->lock);
			run_free(h, s, &g);
			pthread_mutex_unlock(&h->lock);
			gone_unmap(h, &g);
		}
	}
}

/*
 * A large run freed: kept for a next one of its length (until the heap
 * maps a run, see run_new()), or given back.
 */
static void free_large(struct fnmm_heap *h, struct span *s)
{
	h->live -= s->len;
	h->objects--;
	if (s->len > LARGE_KEEP_MAX || s->base & (UNIT - 1)) {
		run_free(h, s, NULL);
		return;
	}
	if (h->nkept == LARGE_KEEP) {
		run_free(h, h->kept[0], NULL);
		memmove(&h->kept[0], &h->kept[1],
			(LARGE_KEEP - 1) * sizeof(s));
		h->nkept--;
	}
	s->cls = CLS_CACHED;
	h->kept[h->nkept++] = s;
}

/* Give the @n oldest objects of class @c of the cache back to the heap. */
static void tc_flush(struct fnmm_heap *h, int c, unsigned int n)
{
	unsigned int i;

	struct arena *ar = NULL;

	if (n > tc.n[c])
		n = tc.n[c];
	/* Objects other threads allocated go back to their spans' arenas. */
	for (i = 0; i < n; i++) {
		void *p = tc.e[c][i].obj;
		struct span *s = span_at(h, p);

		if (!s || s->cls != c)
			heap_abort("corrupted thread cache", p);
		if (s->ar != ar) {
			if (ar)
				pthread_mutex_unlock(&ar->lock);
			ar = s->ar;
			pthread_mutex_lock(&ar->lock);
		}
		if (!obj_free_in(s, p, c))
			heap_abort("corrupted thread cache", p);
		free_small(h, s, p);
	}
	if (ar)
		pthread_mutex_unlock(&ar->lock);
	tc.n[c] -= n;
	memmove(tc.e[c], tc.e[c] + n, tc.n[c] * sizeof(tc.e[c][0]));
}

/*
 * Hand this thread's cache back, and the spans it owns; @leaving: the
 * thread exits or moves to another heap, and if it was its arena's last,
 * the arena's empty spans go back to the source (no thread of it would
 * end their epochs).
 */
static void tc_flush_all(int leaving)
{
	struct arena *ar = tc.ar;
	int c;

	if (!tc.h)
		return;
	for (c = 0; c < NCLASS; c++)
		tc_flush(tc.h, c, TC_MAX);
	/* The spans it owned are anyone's. */
	pthread_mutex_lock(&ar->lock);
	for (c = 0; c < NCLASS; c++) {
		if (tc.cur[c])
			span_release(tc.cur[c]);
		tc.cur[c] = NULL;
	}
	if (!--ar->nthreads && leaving)
		arena_trim(tc.h, ar, 0);
	pthread_mutex_unlock(&ar->lock);
	tc.h = NULL;
}

/* Set once the thread's cache was handed back at its exit. */
static __thread int tc_dead;

/*
 * The thread's arena, in every heap, is number (tc_pick - 1) modulo the
 * heap's: threads take the next number as they first allocate.  Set
 * once per thread, so that its cache goes back to the same arena's
 * spans after a flush.
 */
static unsigned int tc_picks;
static __thread unsigned int tc_pick;

static void tc_exit(void *arg)
{
	(void)arg;
	tc_flush_all(1);
	/* A later key destructor's malloc takes the lock: no cache to leak. */
	tc_dead = 1;
}

static int tc_key_ok;

static void tc_key_make(void)
{
	tc_key_ok = !pthread_key_create(&tc_key, tc_exit);
}

/* Set once the thread's key holds its cache (for tc_exit()). */
static __thread int tc_keyed;

/*
 * This thread's cache, for @h (a cache of another heap handed back
 * first), or NULL if there can be none (no key for the thread's exit):
 * then every small malloc and free takes the lock.
 */
static struct tcache *tc_for(struct fnmm_heap *h)
{
	if (tc.h == h)
		return &tc;
	tc_flush_all(1);
	pthread_once(&tc_once, tc_key_make);
	if (!tc_key_ok || tc_dead)
		return NULL;
	/*
	 * The key first, once per thread, with no cache set: setspecific
	 * may allocate (glibc callocs past 32 keys), through the preload
	 * library into any heap, which then sets the cache itself (keyed
	 * already, it does not come here again); that heap's cache goes
	 * back below.
	 */
	if (!tc_keyed) {
		tc_keyed = 1;
		if (pthread_setspecific(tc_key, &tc)) {
			tc_keyed = 0;
			tc_flush_all(0);	/* a nested call's cache */
			return NULL;
		}
		if (tc.h == h)
			return &tc;
		tc_flush_all(1);
	}
	if (!tc_pick)
		tc_pick = __atomic_add_fetch(&tc_picks, 1, __ATOMIC_RELAXED);
	tc.ar = &h->ar[(tc_pick - 1) % h->narena];
	pthread_mutex_lock(&tc.ar->lock);
	tc.ar->nthreads++;
	pthread_mutex_unlock(&tc.ar->lock);
	tc.h = h;
	return &tc;
}

/**
 * fnmm_heap_flush() - hand this thread's cached objects back to @h
 * @h: the heap
 */
void fnmm_heap_flush(struct fnmm_heap *h)
{
	unsigned int a, mine = tc_pick ? (tc_pick - 1) % h->narena : 0;

	if (tc.h == h)
		tc_flush_all(0);
	/*
	 * Empty spans go back, but for EMPTY_KEEP per class in the caller's
	 * arena (and a class's only span with room there):
	 * O(spans with room).
	 */
	for (a = 0; a < h->narena; a++) {
		struct arena *ar = &h->ar[a];

		pthread_mutex_lock(&ar->lock);
		arena_trim(h, ar, a == mine ? EMPTY_KEEP : 0);
		pthread_mutex_unlock(&ar->lock);
	}
	pthread_mutex_lock(&h->lock);
	kept_free(h);
	pthread_mutex_unlock(&h->lock);
}

/* A small object of class @c, through the cache if there is one. */
static void *tc_alloc(struct fnmm_heap *h, int c)
{
	struct tcache *t = tc_for(h);
	struct span *s;
	unsigned int i;
	void *p;

	if (!t) {
		pthread_mutex_lock(&h->ar[0].lock);
		p = alloc_small(h, &h->ar[0], c, &s, NULL);
		pthread_mutex_unlock(&h->ar[0].lock);
		if (p)
			*state_of(s, p) = ST_LIVE;
		return p;
	}
	if (!t->n[c]) {
		pthread_mutex_lock(&t->ar->lock);
		for (i = 0; i < tc_batch(c); i++) {
			p = alloc_small(h, t->ar, c, &s, t);
			if (!p)
				break;
			/* the oldest at the bottom, flushed first */
			t->e[c][tc_batch(c) - 1 - i].obj = p;
			t->e[c][tc_batch(c) - 1 - i].st = state_of(s, p);
		}
		pthread_mutex_unlock(&t->ar->lock);
		if (i < tc_batch(c)) {
			memmove(t->e[c], t->e[c] + tc_batch(c) - i,
				i * sizeof(t->e[c][0]));
		}
		t->n[c] = i;
		if (!i)
			return NULL;
	}
	i = --t->n[c];
	*t->e[c][i].st = ST_LIVE;
	return t->e[c][i].obj;
}

/*
 * A small object's state goes from live to free here, whichever thread
 * frees it: a second free of it, or a free of an address in a span that
 * is not an object handed out, aborts, however the first went (cache,
 * span, or given back with its span: then the address is no run's).
 */
static __attribute__((noinline)) void free_slow(struct fnmm_heap *h, void *p)
{
	struct tcache *t;
	unsigned char *st;
	struct span *s;
	uintptr_t off;
	int c;

	if (!p)
		return;
	s = span_at(h, p);
	if (s && s->cls >= 0) {
		c = s->cls;
		off = (uintptr_t)p - s->base;
		if (off >= s->len || off & (((size_t)1 << s->shift) - 1))
			heap_abort("free of a pointer the heap did not give", p);
		/* An address no object starts at has a state byte ST_FREE. */
		st = state_of(s, p);
		if (*st != ST_LIVE)
			heap_abort("double free, or free of a pointer the heap did not give",
				   p);
		*st = ST_FREE;
		t = tc_for(h);
		if (t) {
			if (t->n[c] >= tc_max(c))
				tc_flush(h, c, tc_batch(c));
			t->e[c][t->n[c]].obj = p;
			t->e[c][t->n[c]++].st = st;
			return;
		}
		pthread_mutex_lock(&s->ar->lock);
		free_small(h, s, p);
		pthread_mutex_unlock(&s->ar->lock);
		return;
	}
	pthread_mutex_lock(&h->lock);
	s = large_of(h, p);
	if (!s)
		heap_abort("free of a pointer the heap did not give", p);
	free_large(h, s);
	pthread_mutex_unlock(&h->lock);
}

/*
 * The common case inline: a live object of a span below 2^48, this
 * thread's cache @h's with room (free_slow() does the rest, with every
 * check, and the same again).
 */
void fnmm_free(struct fnmm_heap *h, void *p)
{
	unsigned char *st;
	unsigned int n;
	struct span *s;
	uintptr_t off;
	int c;

	if (__builtin_expect(tc.h == h, 1)) {
		s = pmap_get(h, p);	/* NULL beyond the map: free_slow() */
		if (s && s->cls >= 0) {
			c = s->cls;
			off = (uintptr_t)p - s->base;
			st = &s->state[off >> s->shift];
			n = tc.n[c];
			if (off < s->len && !(off & (((size_t)1 << s->shift) - 1)) &&
			    *st == ST_LIVE && n < tc_max(c)) {
				*st = ST_FREE;
				tc.e[c][n].obj = p;
				tc.e[c][n].st = st;
				tc.n[c] = n + 1;
				return;
			}
		}
	}
	free_slow(h, p);
}

size_t fnmm_malloc_usable_size(struct fnmm_heap *h, const void *p)
{
	struct span *s;
	size_t n = 0;

	if (!p)
		return 0;
	s = span_at(h, p);
	if (s && s->cls >= 0)
		return obj_live_in(s, p) ? cls_size(s->cls) : 0;
	pthread_mutex_lock(&h->lock);
	s = large_of(h, p);
	if (s)
		n = s->len;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/**
 * fnmm_heap_contains() - whether @p is in a run of @h's
 * @h: the heap
 * @p: any address
 *
 * Without the lock for addresses below 2^48: for a program with more than
 * one allocator (the preload library), to tell which one @p is from.  A
 * large run counts its first UNIT only.
 */
int fnmm_heap_contains(struct fnmm_heap *h, const void *p)
{
	struct span *s = span_at(h, p);

	/* A large run may be shorter than its UNIT. */
	return s && (s->cls >= 0 || (uintptr_t)p - s->base < s->len);
}

int fnmm_heap_owns(struct fnmm_heap *h, const void *p)
{
	return fnmm_malloc_usable_size(h, p) != 0;
}

void *fnmm_realloc(struct fnmm_heap *h, void *p, size_t size)
{
	size_t have;
	void *q;

	if (!p)
		return fnmm_malloc(h, size);
	if (!size) {
		fnmm_free(h, p);
		return NULL;
	}
	have = fnmm_malloc_usable_size(h, p);
	if (!have)
		heap_abort("realloc of a pointer the heap did not give", p);
	/* Stays while it fits and would not fit a class half the size. */
	if (size <= have && (have <= cls_size(0) || size > have / 2))
		return p;
	q = fnmm_malloc(h, size);
	if (!q)
		return NULL;
	memcpy(q, p, size < have ? size : have);
	fnmm_free(h, p);
	return q;
}

uint64_t fnmm_heap_virt2phys(struct fnmm_heap *h, const void *p)
{
	return h->src->virt2phys ? h->src->virt2phys(h->src->arg, p) : 0;
}

void fnmm_heap_stats(struct fnmm_heap *h, struct fnmm_heap_stats *st)
{
	unsigned int a;

	st->live = st->objects = 0;
	for (a = 0; a < h->narena; a++) {
		pthread_mutex_lock(&h->ar[a].lock);
		st->live += h->ar[a].live;
		st->objects += h->ar[a].objects;
		pthread_mutex_unlock(&h->ar[a].lock);
	}
	pthread_mutex_lock(&h->lock);
	st->mapped = h->mapped;
	st->live += h->live;
	st->objects += h->objects;
	st->runs = h->runs;
	st->meta = h->meta;
	st->made = h->made;
	pthread_mutex_unlock(&h->lock);
}

/* ---- fork ---- */

static const struct fnmm_heap_source anon_source;
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fnmm_heap *heaps;	/* protected by heaps_lock */
static uintptr_t places;	/* protected by heaps_lock: the next heap's arenas' top */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_ok;
/* From prepare to the handlers: EOF on [0] once the child's copies are made */
static int fork_pipe[2] = { -1, -1 };

/*
 * In the child: every run of @h, pages of a shared source (the device's
 * MAP_SHARED mappings, which fork() leaves shared with the parent), is
 * copied into private anonymous memory at the same address, and the
 * heap's pages come from anonymous memory from then on: the child's heap
 * is its own copy, as with any fork, and it never gives back (Releases)
 * a run of the parent's.  O(bytes mapped).
 */
static void heap_privatize(struct fnmm_heap *h)
{
	size_t i;

	for (i = 0; i < h->cap; i++) {
		struct span *s = h->tab[i].key ? h->tab[i].s : NULL;
		void *q;

		if (!s || h->tab[i].key != s->base >> UNIT_SHIFT)
			continue;
		q = mmap(NULL, s->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			heap_abort("fork: no memory to copy the child's run",
				   (void *)s->base);
		memcpy(q, (void *)s->base, s->len);
		if (mremap(q, s->len, s->len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)s->base) == MAP_FAILED)
			heap_abort("fork: cannot move the child's copy to",
				   (void *)s->base);
		s->tag = 0;
	}
	h->src = &anon_source;
}

/* Every lock of @h: its arenas', then its own. */
static void heap_lock_all(struct fnmm_heap *h)
{
	unsigned int a;

	for (a = 0; a < h->narena; a++)
		pthread_mutex_lock(&h->ar[a].lock);
	pthread_mutex_lock(&h->lock);
}

static void heap_unlock_all(struct fnmm_heap *h)
{
	unsigned int a;

	pthread_mutex_unlock(&h->lock);
	for (a = 0; a < h->narena; a++)
		pthread_mutex_unlock(&h->ar[a].lock);
}

/* Every heap's locks, so that the child gets them consistent. */
static void fork_prepare(void)
{
	struct fnmm_heap *h;
	int err = errno, shared = 0;

	pthread_mutex_lock(&heaps_lock);
	for (h = heaps; h; h = h->gnext) {
		heap_lock_all(h);
		shared |= h->src->shared;
	}
	if (shared && pipe2(fork_pipe, O_CLOEXEC)) {
		static const char msg[] =
			"fnmm_heap: fork: no pipe: the parent does not wait for the child's copy of the heap\n";

		fork_pipe[0] = fork_pipe[1] = -1;
		if (write(2, msg, sizeof(msg) - 1) < 0)
			errno = err;
	}
	errno = err;
}

/*
 * The parent waits for the child's copies: until then, its writes would
 * show in the child.  A failed fork leaves nobody holding the pipe's
 * write end, so the read sees EOF at once.
 */
static void fork_parent(void)
{
	struct fnmm_heap *h;
	int err = errno;
	char b;

	if (fork_pipe[0] >= 0) {
		close(fork_pipe[1]);
		while (read(fork_pipe[0], &b, 1) < 0 && errno == EINTR)
			;
		close(fork_pipe[0]);
		fork_pipe[0] = fork_pipe[1] = -1;
	}
	for (h = heaps; h; h = h->gnext)
		heap_unlock_all(h);
	pthread_mutex_unlock(&heaps_lock);
	errno = err;
}

/*
 * The child's heaps: consistent (their locks were held over the fork);
 * the objects in other threads' caches are lost, as those threads are.
 */
static void fork_child(void)
{
	struct fnmm_heap *h;
	int err = errno;

	for (h = heaps; h; h = h->gnext) {
		unsigned int a;
		size_t i;

		for (a = 0; a < h->narena; a++)
			h->ar[a].nthreads = 0;
		if (tc.h == h)
			tc.ar->nthreads = 1;
		/* The other threads' spans are anyone's: they are gone. */
		for (i = 0; i < h->cap; i++)
			if (h->tab[i].key && h->tab[i].s->owner &&
			    h->tab[i].s->owner != &tc)
				span_release(h->tab[i].s);
		if (h->src->shared)
			heap_privatize(h);
		heap_unlock_all(h);
	}
	if (fork_pipe[0] >= 0) {
		close(fork_pipe[0]);
		close(fork_pipe[1]);
		fork_pipe[0] = fork_pipe[1] = -1;
	}
	pthread_mutex_unlock(&heaps_lock);
	errno = err;
}

/* Once, before the first heap. */
static void heap_init_once(void)
{
	int c;

	for (c = 0; c < NCLASS; c++)
		tc_max_tab[c] = cls_size(c) * TC_MAX <= TC_BYTES ? TC_MAX :
				TC_BYTES / cls_size(c) ? TC_BYTES / cls_size(c) : 1;
	fork_ok = !pthread_atfork(fork_prepare, fork_parent, fork_child);
}

struct fnmm_heap *fnmm_heap_create(const struct fnmm_heap_source *src)
{
	struct fnmm_heap *h;
	unsigned int a;
	uintptr_t top;
	long cpus;

	pthread_once(&fork_once, heap_init_once);
	if (!fork_ok) {
		errno = ENOMEM;
		return NULL;
	}
	h = meta_map(sizeof(*h));
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	h->narena = cpus < 1 ? 1 : cpus > NARENA / 2 ? NARENA : 2 * cpus;
	for (a = 0; a < h->narena; a++)
		pthread_mutex_init(&h->ar[a].lock, NULL);
	h->src = src;
	h->page = sysconf(_SC_PAGESIZE);
	pthread_mutex_lock(&heaps_lock);
	/*
	 * The arenas' places: NARENA REGIONs per heap, the first heap's
	 * below a REGION's gap under its own mapping (the kernel maps
	 * top-down, so that other mappings fill that gap first), each next
	 * heap's below the last's; once below (NARENA + 1) REGIONs (some
	 * 250 heaps in 47 bits), the source places them.
	 */
	if (!places)
		places = ((uintptr_t)h & ~(REGION - 1)) - REGION;
	top = places;
	if (top >= (NARENA + 1) * REGION) {
		places = top - NARENA * REGION;
		for (a = 0; a < h->narena; a++) {
			h->ar[a].top = h->ar[a].low = top - a * REGION;
			h->ar[a].bottom = h->ar[a].top - REGION;
		}
	}
	h->gnext = heaps;
	if (heaps)
		heaps->gprev = h;
	heaps = h;
	pthread_mutex_unlock(&heaps_lock);
	return h;
}

void fnmm_heap_destroy(struct fnmm_heap *h)
{
	unsigned char *st;
	size_t i;

	pthread_mutex_lock(&heaps_lock);
	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		heaps = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	pthread_mutex_unlock(&heaps_lock);

	/* This thread's cache goes with the memory (no flush needed). */
	if (tc.h == h)
		memset(&tc, 0, sizeof(tc));
	for (i = 0; i < (1U << MAP_L1); i++)
		if (h->pmap[i])
			munmap(h->pmap[i], MAP_L2);

	for (i = 0; i < h->cap; i++) {
		struct span *s = h->tab[i].key ? h->tab[i].s : NULL;

		/* A span's first UNIT stands for it (a large run has one). */
		if (s && h->tab[i].key == s->base >> UNIT_SHIFT) {
			h->src->unmap(h->src->arg, (void *)s->base, s->len,
				      s->tag);
		}
	}
	if (h->tab)
		munmap(h->tab, h->cap * sizeof(*h->tab));
	while (h->chunks) {
		struct span *c = h->chunks;

		h->chunks = c->next;
		munmap(c, UNIT);
	}
	while ((st = h->schunks)) {
		memcpy(&h->schunks, st, sizeof(st));
		munmap(st, UNIT);
	}
	for (i = 0; i < h->narena; i++)
		pthread_mutex_destroy(&h->ar[i].lock);
	pthread_mutex_destroy(&h->lock);
	munmap(h, sizeof(*h));
}

/* ---- sources ---- */

/* The last run anon_map() made starts here: the next goes just below. */
static uintptr_t anon_low;

/*
 * One mmap at @hint if it is free (MAP_FIXED_NOREPLACE), else at the
 * aligned address just below the last run (the kernel maps top-down, so
 * that is usually free, and the two merge into one VMA), else a larger
 * one trimmed to the alignment (three calls).  errno is kept on success.
 */
static void *anon_map(void *arg, size_t len, size_t align, void *hint,
		      uint64_t *tag)
{
	size_t page = sysconf(_SC_PAGESIZE), extra;
	uintptr_t p, a, low = __atomic_load_n(&anon_low, __ATOMIC_RELAXED);

	int err = errno;

	(void)arg;
	if (align < page)
		align = page;
	extra = align - page;
	*tag = 0;
	if (hint) {
		p = (uintptr_t)mmap(hint, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS |
				    MAP_FIXED_NOREPLACE, -1, 0);
		if (p == (uintptr_t)hint)
			return hint;
		if ((void *)p != MAP_FAILED)	/* a kernel that took a hint */
			munmap((void *)p, len);
	}
	if (low > len + align) {
		a = (low - len) & ~(align - 1);
		p = (uintptr_t)mmap((void *)a, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS |
				    MAP_FIXED_NOREPLACE, -1, 0);
		if (p == a)
			goto out;
		if ((void *)p != MAP_FAILED)	/* a kernel that took a hint */
			munmap((void *)p, len);
	}
	p = (uintptr_t)mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *)p == MAP_FAILED)
		return NULL;
	a = (p + align - 1) & ~(align - 1);
	if (a > p)
		munmap((void *)p, a - p);
	if (p + len + extra > a + len)
		munmap((void *)(a + len), p + len + extra - (a + len));
out:
	__atomic_store_n(&anon_low, a, __ATOMIC_RELAXED);
	errno = err;	/* the tries that failed on the way */
	return (void *)a;
}

static void anon_unmap(void *arg, void *p, size_t len, uint64_t tag)
{
	(void)arg;
	(void)tag;
	munmap(p, len);
}

static const struct fnmm_heap_source anon_source = {
	.map = anon_map,
	.unmap = anon_unmap,
	.merge = 1,	/* munmap takes any range */
};

const struct fnmm_heap_source *fnmm_heap_source_anon(void)
{
	return &anon_source;
}

struct dev_source {
	struct fnmm_heap_source src;
	int fd;
};

/*
 * A MapSparse of the device at @hint (the module maps it there only if
 * the range is free: -EEXIST), else at an address aligned to @align: the
 * range is found free with an anonymous reservation, which is then
 * dropped for the device's mapping (another thread's mmap may take it in
 * between: then again, a few times).  errno is kept on success.
 */
static void *dev_map(void *arg, size_t len, size_t align, void *hint,
		     uint64_t *tag)
{
	struct dev_source *d = arg;
	struct fnmm_vmctl r;
	int tries, err = errno;

	if (hint) {
		int ret = fnmm_map_sparse(d->fd, 0, (uintptr_t)hint, len, 0,
					  FNMM_ALLOC_SPLIT, 0, &r);

		if (!ret) {
			*tag = r.handle;
			errno = err;
			return (void *)(uintptr_t)r.range.virt;
		}
		if (ret != -EEXIST)
			return NULL;
	}
	for (tries = 0; tries < 8; tries++) {
		void *res = mmap(NULL, len + align, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		uintptr_t a;
		int ret;

		if (res == MAP_FAILED)
			return NULL;
		a = ((uintptr_t)res + align - 1) & ~(align - 1);
		munmap(res, len + align);
		ret = fnmm_map_sparse(d->fd, 0, a, len, 0, FNMM_ALLOC_SPLIT, 0,
				      &r);
		if (!ret) {
			*tag = r.handle;
			errno = err;
			return (void *)(uintptr_t)r.range.virt;
		}
		if (ret != -EEXIST)
			return NULL;
	}
	return NULL;
}

static void dev_unmap(void *arg, void *p, size_t len, uint64_t tag)
{
	struct dev_source *d = arg;

	fnmm_release(d->fd, tag);
	munmap(p, len);
}

static uint64_t dev_virt2phys(void *arg, const void *p)
{
	struct dev_source *d = arg;
	struct fnmm_vmctl r;

	if (fnmm_lookup(d->fd, (uintptr_t)p, &r))
		return 0;
	return r.range.phys;
}

struct fnmm_heap_source *fnmm_heap_source_dev(int fd)
{
	struct dev_source *d = meta_map(sizeof(*d));

	if (!d)
		return NULL;
	d->fd = fd;
	d->src.map = dev_map;
	d->src.unmap = dev_unmap;
	d->src.virt2phys = dev_virt2phys;
	d->src.arg = d;
	d->src.shared = 1;
	return &d->src;
}

void fnmm_heap_source_dev_free(struct fnmm_heap_source *src)
{
	munmap(src, sizeof(struct dev_source));
}
