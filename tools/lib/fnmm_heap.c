// SPDX-License-Identifier: GPL-2.0
/*
 * fnmm_heap: a malloc over a page source (see fnmm_heap.h).
 *
 * Design.  Memory comes from the source in runs aligned to UNIT (64 KiB)
 * or more.  A run is either a span of one size class or one large
 * allocation:
 *  - classes are the powers of two from 16 bytes to 64 KiB (FreeNOS's
 *    PoolAllocator: one pool per power of two); a span of class s is
 *    16 s bytes, at least a UNIT, at most 4 UNITs unless that is under 4
 *    objects, and holds objects of s bytes at multiples of s
 *    from its start, so every object is aligned to its size.  An object
 *    is taken from the span's list of freed objects (kept in the freed
 *    objects themselves) or else from its untouched tail; a class keeps
 *    its spans with a free object on a list, the most recent first;
 *  - a larger request is a run of its own, rounded up to the page.
 * Every run has a descriptor out of band (in anonymous memory of the
 * heap's own), found from any address in it through a hash table keyed
 * by the address's UNIT number (one entry per UNIT of a span, one for a
 * large run, whose only valid address is its start).
 *
 * Runs go back to the source as FreeNOS's PageAllocator gives pages
 * back: a span when its last object is freed and its class already keeps
 * EMPTY_KEEP bytes of empty spans (64 KiB; the class's only span with
 * room is kept whatever its size), a large run when freed unless it is
 * among the LARGE_KEEP (8) last freed runs of at most 1 MiB, kept for a
 * next request of the same length (fnmm_heap_flush() gives those back).
 *
 * Misuse: a free of an address the heap never gave, or of a large run
 * already freed, aborts, as glibc does; a second free of a small object
 * aborts when its span is otherwise empty, else (and through a thread's
 * cache) it is not detected.
 *
 * Per thread: a cache of up to TC_MAX free objects per class, a LIFO
 * linked through the objects, in front of the heap (as glibc's tcache):
 * a small malloc or free takes no lock while the cache has an object or
 * room; it is refilled and flushed TC_BATCH objects at a time under the
 * heap's lock, and flushed when the thread exits.  A free finds its
 * object's class without the lock in a radix map of UNITs (one byte
 * each, two levels, filled when a run is made and cleared when it goes).
 * The heap's counts take objects in caches as allocated; a thread's
 * fnmm_heap_flush() hands its cache back.
 *
 * Cost: a small malloc or free O(1) without a lock on a cache hit; else,
 * under the lock, O(1) per object (a hash probe, list operations) plus a
 * source call when a span is made or given back; realloc O(size) when it
 * moves.
 *
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fnmm_heap.h"
#include "libfnmm.h"

#define UNIT_SHIFT	16
#define UNIT		((size_t)1 << UNIT_SHIFT)
#define MIN_SHIFT	4
#define MAX_SHIFT	16
#define NCLASS		(MAX_SHIFT - MIN_SHIFT + 1)
#define SPAN_OBJS	16	/* objects a span holds (at least 4) */
#define TC_MAX		64	/* objects per class in a thread's cache */
#define TC_BATCH	32	/* moved at a time between cache and heap */
#define EMPTY_KEEP	(64 << 10)	/* bytes of empty spans a class keeps */
#define LARGE_KEEP	8	/* freed large runs kept for the next ones */
#define LARGE_KEEP_MAX	((size_t)1 << 20)	/* of at most this size */
#define CLS_CACHED	-2	/* a large run kept, not live */
/* The class map: UNIT numbers below 2^32 (addresses below 2^48). */
#define MAP_BITS	16
#define MAP_LARGE	0xff	/* a large run's first UNIT */

struct span {
	uintptr_t base;
	size_t len;
	uint64_t tag;		/* the source's */
	int cls;		/* class index, or -1: a large allocation */
	unsigned int nobj, nfree, bump;
	void *freed;		/* objects freed, linked through themselves */
	struct span *prev, *next;	/* on the class's list, or descriptors' */
	int listed;
};

struct slot {
	uintptr_t key;		/* UNIT number, 0: empty */
	struct span *s;
};

struct fnmm_heap {
	pthread_mutex_t lock;	/* protects everything below */
	const struct fnmm_heap_source *src;
	struct span *partial[NCLASS];	/* spans with a free object */
	struct slot *tab;
	size_t cap, used;	/* table slots, and those in use */
	struct span *spare;	/* descriptors not in use */
	struct span *chunks;	/* the UNIT chunks descriptors come from */
	size_t mapped, live, objects, runs;
	size_t page;
	unsigned int nempty[NCLASS];	/* empty spans kept per class */
	struct span *kept[LARGE_KEEP];	/* freed large runs, oldest first */
	unsigned int nkept;
	/*
	 * UNIT number -> 1 + its span's class, MAP_LARGE, or 0: written
	 * under the lock, read without it (a second level, once there,
	 * stays until destroy)
	 */
	unsigned char *cmap[1 << MAP_BITS];
};

/* A thread's cache, for one heap at a time. */
struct tcache {
	struct fnmm_heap *h;
	void *bin[NCLASS];
	unsigned int n[NCLASS];
};

static __thread struct tcache tc;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static size_t cls_size(int c)
{
	return (size_t)1 << (c + MIN_SHIFT);
}

static int cls_of(size_t size)
{
	int c = 0;

	while (cls_size(c) < size)
		c++;
	return c;
}

/* A UNIT, or SPAN_OBJS objects up to 4 UNITs, at least 4 objects. */
static size_t span_len(int c)
{
	size_t len = cls_size(c) * SPAN_OBJS;

	if (len > 4 * UNIT)
		len = 4 * UNIT > 4 * cls_size(c) ? 4 * UNIT : 4 * cls_size(c);
	return len < UNIT ? UNIT : len;
}

static void *meta_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* A descriptor, from the heap's own memory; lock held. */
static struct span *desc_get(struct fnmm_heap *h)
{
	struct span *s = h->spare;
	size_t i, n = UNIT / sizeof(*s);

	if (!s) {
		/* The chunk's first entry links the chunks (for destroy). */
		s = meta_map(UNIT);
		if (!s)
			return NULL;
		s[0].next = h->chunks;
		h->chunks = s;
		for (i = 2; i + 1 < n; i++)
			s[i].next = &s[i + 1];
		s[n - 1].next = NULL;
		h->spare = &s[2];
		s = &s[1];
	} else {
		h->spare = s->next;
	}
	memset(s, 0, sizeof(*s));
	return s;
}

static void desc_put(struct fnmm_heap *h, struct span *s)
{
	s->next = h->spare;
	h->spare = s;
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

/* Note @v for UNIT @key in the class map (if it is below 2^32); lock held. */
static void cmap_set(struct fnmm_heap *h, uintptr_t key, unsigned char v)
{
	unsigned char *l2;

	if (key >> (2 * MAP_BITS))
		return;
	l2 = h->cmap[key >> MAP_BITS];
	if (!l2) {
		if (!v)
			return;
		l2 = meta_map((size_t)1 << MAP_BITS);
		if (!l2)
			return;		/* then the locked path finds it */
		__atomic_store_n(&h->cmap[key >> MAP_BITS], l2,
				 __ATOMIC_RELEASE);
	}
	__atomic_store_n(&l2[key & ((1U << MAP_BITS) - 1)], v,
			 __ATOMIC_RELAXED);
}

/* The class map's byte for @p, without the lock: 0 if not known. */
static unsigned char cmap_get(struct fnmm_heap *h, const void *p)
{
	uintptr_t key = (uintptr_t)p >> UNIT_SHIFT;
	unsigned char *l2;

	if (key >> (2 * MAP_BITS))
		return 0;
	l2 = __atomic_load_n(&h->cmap[key >> MAP_BITS], __ATOMIC_ACQUIRE);
	return l2 ? __atomic_load_n(&l2[key & ((1U << MAP_BITS) - 1)],
				    __ATOMIC_RELAXED) : 0;
}

/* The keys a run has in the table: every UNIT of a span, a large one's first. */
static size_t run_keys(const struct span *s)
{
	return s->cls < 0 ? 1 : s->len >> UNIT_SHIFT;
}

/* Map a run and enter it in the table; lock held. */
static struct span *run_new(struct fnmm_heap *h, size_t len, size_t align,
			    int cls)
{
	struct span *s;
	size_t k;
	void *p;

	if (align < UNIT)
		align = UNIT;
	if (len > SIZE_MAX / 2 || align > SIZE_MAX / 2)
		return NULL;
	s = desc_get(h);
	if (!s)
		return NULL;
	s->cls = cls;
	if (tab_grow(h, cls < 0 ? 1 : len >> UNIT_SHIFT))
		goto err;
	p = h->src->map(h->src->arg, len, align, &s->tag);
	if (!p)
		goto err;
	s->base = (uintptr_t)p;
	s->len = len;
	for (k = 0; k < run_keys(s); k++) {
		tab_put(h->tab, h->cap, (s->base >> UNIT_SHIFT) + k, s);
		h->used++;
		cmap_set(h, (s->base >> UNIT_SHIFT) + k,
			 cls < 0 ? MAP_LARGE : 1 + cls);
	}
	h->mapped += len;
	h->runs++;
	return s;
err:
	desc_put(h, s);
	return NULL;
}

static void run_free(struct fnmm_heap *h, struct span *s)
{
	size_t k;

	for (k = 0; k < run_keys(s); k++) {
		tab_del(h, (s->base >> UNIT_SHIFT) + k);
		cmap_set(h, (s->base >> UNIT_SHIFT) + k, 0);
	}
	h->src->unmap(h->src->arg, (void *)s->base, s->len, s->tag);
	h->mapped -= s->len;
	h->runs--;
	desc_put(h, s);
}

static void list_add(struct fnmm_heap *h, struct span *s)
{
	struct span **head = &h->partial[s->cls];

	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->listed = 1;
}

static void list_del(struct fnmm_heap *h, struct span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->listed = 0;
}

static void *alloc_small(struct fnmm_heap *h, int c)
{
	struct span *s = h->partial[c];
	void *p;

	if (!s) {
		s = run_new(h, span_len(c), UNIT, c);
		if (!s)
			return NULL;
		s->nobj = s->len / cls_size(c);
		s->nfree = s->nobj;
		h->nempty[c]++;		/* empty: taken below, as any empty one */
		list_add(h, s);
	}
	if (s->nfree == s->nobj)
		h->nempty[c]--;		/* an empty one in use again */
	if (s->freed) {
		p = s->freed;
		s->freed = *(void **)p;
	} else {
		p = (void *)(s->base + (size_t)s->bump++ * cls_size(c));
	}
	if (!--s->nfree)
		list_del(h, s);
	h->live += cls_size(c);
	h->objects++;
	return p;
}

static void *alloc_large(struct fnmm_heap *h, size_t size, size_t align)
{
	size_t len = (size + h->page - 1) & ~(h->page - 1);
	struct span *s;

	unsigned int i;

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
	s = run_new(h, len, align, -1);
	if (!s)
		return NULL;
	h->live += len;
	h->objects++;
	return (void *)s->base;
}

static __attribute__((noreturn)) void heap_abort(const char *what,
						 const void *p)
{
	fprintf(stderr, "fnmm_heap: %s: %p\n", what, p);
	abort();
}

/* The run of a live allocation at @p, or NULL; lock held. */
static struct span *run_of(struct fnmm_heap *h, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	struct span *s = tab_find(h, a >> UNIT_SHIFT);

	if (!s || s->cls == CLS_CACHED)
		return NULL;
	if (s->cls < 0)
		return a == s->base ? s : NULL;
	if ((a - s->base) % cls_size(s->cls) ||
	    (a - s->base) / cls_size(s->cls) >= s->bump)
		return NULL;
	return s;
}

static void *tc_alloc(struct fnmm_heap *h, int c);

static void *heap_alloc(struct fnmm_heap *h, size_t size, size_t align)
{
	void *p;

	if (!size)
		size = 1;
	if (size <= cls_size(NCLASS - 1) && align <= cls_size(NCLASS - 1)) {
		p = tc_alloc(h, cls_of(size < align ? align : size));
	} else {
		pthread_mutex_lock(&h->lock);
		p = alloc_large(h, size, align);
		pthread_mutex_unlock(&h->lock);
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

void *fnmm_malloc(struct fnmm_heap *h, size_t size)
{
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

void *fnmm_calloc(struct fnmm_heap *h, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	p = fnmm_malloc(h, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

/* Object @p back to its span @s; lock held. */
static void free_small(struct fnmm_heap *h, struct span *s, void *p)
{
	if (s->nfree == s->nobj)
		heap_abort("double free", p);
	*(void **)p = s->freed;
	s->freed = p;
	h->live -= cls_size(s->cls);
	h->objects--;
	if (!s->nfree++)
		list_add(h, s);
	/*
	 * Empty: kept while the class keeps fewer than EMPTY_KEEP empty
	 * ones, else back to the source (unless it is the class's only
	 * span with room).
	 */
	if (s->nfree == s->nobj) {
		if ((h->nempty[s->cls] + 1) * s->len <= EMPTY_KEEP ||
		    (h->partial[s->cls] == s && !s->next)) {
			h->nempty[s->cls]++;
		} else {
			list_del(h, s);
			run_free(h, s);
		}
	}
}

/* A large run freed: kept for a next one of its length, or given back. */
static void free_large(struct fnmm_heap *h, struct span *s)
{
	h->live -= s->len;
	h->objects--;
	if (s->len > LARGE_KEEP_MAX || s->base & (UNIT - 1)) {
		run_free(h, s);
		return;
	}
	if (h->nkept == LARGE_KEEP) {
		run_free(h, h->kept[0]);
		memmove(&h->kept[0], &h->kept[1],
			(LARGE_KEEP - 1) * sizeof(s));
		h->nkept--;
	}
	s->cls = CLS_CACHED;
	h->kept[h->nkept++] = s;
}

/* Give @n objects of class @c of the cache back to the heap. */
static void tc_flush(struct fnmm_heap *h, int c, unsigned int n)
{
	pthread_mutex_lock(&h->lock);
	while (n-- && tc.n[c]) {
		void *p = tc.bin[c];
		struct span *s = run_of(h, p);

		tc.bin[c] = *(void **)p;
		tc.n[c]--;
		if (!s || s->cls != c)
			heap_abort("free of a pointer the heap did not give", p);
		free_small(h, s, p);
	}
	pthread_mutex_unlock(&h->lock);
}

static void tc_flush_all(void)
{
	int c;

	if (!tc.h)
		return;
	for (c = 0; c < NCLASS; c++)
		tc_flush(tc.h, c, TC_MAX);
	tc.h = NULL;
}

static void tc_exit(void *arg)
{
	(void)arg;
	tc_flush_all();
}

static void tc_key_make(void)
{
	pthread_key_create(&tc_key, tc_exit);
}

/* This thread's cache, for @h (a cache of another heap handed back). */
static struct tcache *tc_for(struct fnmm_heap *h)
{
	if (tc.h == h)
		return &tc;
	tc_flush_all();
	pthread_once(&tc_once, tc_key_make);
	pthread_setspecific(tc_key, &tc);
	tc.h = h;
	return &tc;
}

/**
 * fnmm_heap_flush() - hand this thread's cached objects back to @h
 * @h: the heap
 */
void fnmm_heap_flush(struct fnmm_heap *h)
{
	if (tc.h == h)
		tc_flush_all();
	pthread_mutex_lock(&h->lock);
	while (h->nkept)
		run_free(h, h->kept[--h->nkept]);
	pthread_mutex_unlock(&h->lock);
}

/* A small object of class @c through the cache. */
static void *tc_alloc(struct fnmm_heap *h, int c)
{
	struct tcache *t = tc_for(h);
	void *p;

	if (!t->n[c]) {
		pthread_mutex_lock(&h->lock);
		while (t->n[c] < TC_BATCH) {
			p = alloc_small(h, c);
			if (!p)
				break;
			*(void **)p = t->bin[c];
			t->bin[c] = p;
			t->n[c]++;
		}
		pthread_mutex_unlock(&h->lock);
		if (!t->n[c])
			return NULL;
	}
	p = t->bin[c];
	t->bin[c] = *(void **)p;
	t->n[c]--;
	return p;
}

void fnmm_free(struct fnmm_heap *h, void *p)
{
	unsigned char v;
	struct span *s;

	if (!p)
		return;
	v = cmap_get(h, p);
	if (v && v != MAP_LARGE && !((uintptr_t)p & (cls_size(v - 1) - 1))) {
		struct tcache *t = tc_for(h);
		int c = v - 1;

		if (t->n[c] == TC_MAX)
			tc_flush(h, c, TC_BATCH);
		*(void **)p = t->bin[c];
		t->bin[c] = p;
		t->n[c]++;
		return;
	}
	pthread_mutex_lock(&h->lock);
	s = run_of(h, p);
	if (!s)
		heap_abort("free of a pointer the heap did not give", p);
	if (s->cls < 0) {
		free_large(h, s);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	free_small(h, s, p);
	pthread_mutex_unlock(&h->lock);
}

size_t fnmm_malloc_usable_size(struct fnmm_heap *h, const void *p)
{
	struct span *s;
	size_t n = 0;

	if (!p)
		return 0;
	pthread_mutex_lock(&h->lock);
	s = run_of(h, p);
	if (s)
		n = s->cls < 0 ? s->len : cls_size(s->cls);
	pthread_mutex_unlock(&h->lock);
	return n;
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
	pthread_mutex_lock(&h->lock);
	st->mapped = h->mapped;
	st->live = h->live;
	st->objects = h->objects;
	st->runs = h->runs;
	pthread_mutex_unlock(&h->lock);
}

struct fnmm_heap *fnmm_heap_create(const struct fnmm_heap_source *src)
{
	struct fnmm_heap *h = meta_map(sizeof(*h));

	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->src = src;
	h->page = sysconf(_SC_PAGESIZE);
	return h;
}

void fnmm_heap_destroy(struct fnmm_heap *h)
{
	size_t i;

	/* This thread's cache goes with the memory (no flush needed). */
	if (tc.h == h)
		memset(&tc, 0, sizeof(tc));
	for (i = 0; i < (1U << MAP_BITS); i++)
		if (h->cmap[i])
			munmap(h->cmap[i], (size_t)1 << MAP_BITS);

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
	pthread_mutex_destroy(&h->lock);
	munmap(h, sizeof(*h));
}

/* ---- sources ---- */

static void *anon_map(void *arg, size_t len, size_t align, uint64_t *tag)
{
	size_t page = sysconf(_SC_PAGESIZE), extra = align - page;
	uintptr_t p, a;

	(void)arg;
	*tag = 0;
	p = (uintptr_t)mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *)p == MAP_FAILED)
		return NULL;
	a = (p + align - 1) & ~(align - 1);
	if (a > p)
		munmap((void *)p, a - p);
	if (p + len + extra > a + len)
		munmap((void *)(a + len), p + len + extra - (a + len));
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
 * A MapSparse of the device at an address aligned to @align: the range
 * is found free with an anonymous reservation, which is then dropped for
 * the device's mapping (another thread's mmap may take it in between:
 * then again, a few times).
 */
static void *dev_map(void *arg, size_t len, size_t align, uint64_t *tag)
{
	struct dev_source *d = arg;
	struct fnmm_vmctl r;
	int tries;

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
	return &d->src;
}

void fnmm_heap_source_dev_free(struct fnmm_heap_source *src)
{
	munmap(src, sizeof(struct dev_source));
}
