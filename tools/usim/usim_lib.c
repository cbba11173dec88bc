// SPDX-License-Identifier: GPL-2.0
/*
 * usim: the out-of-line part of the user-space kernel shim (see
 * include/usim_kernel.h): the bit searches of lib/find_bit.c, the bitmap
 * operations of lib/bitmap.c, kmalloc/kfree on malloc, spinlocks, WARN.
 * The bitmap code follows Linux 6.1 word for word in its semantics.
 *
 * Self-test switch: built with -DFNMM_USIM_BREAK, __bitmap_clear() clears
 * one bit too few, a deliberate bug in a primitive module/bit.c relies
 * on, which the fuzzer must find (tools/usim/run-fuzz.sh --self-test).
 */
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/find.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/errno.h>
#include <linux/xarray.h>

/* ---- bug.h ---- */

int usim_warn_fatal = 1;
unsigned long usim_warnings;

void usim_warn(const char *file, int line, const char *cond)
{
	usim_warnings++;
	fprintf(stderr, "usim: WARNING at %s:%d: %s\n", file, line, cond);
	if (usim_warn_fatal)
		abort();
}

void usim_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "usim: BUG at %s:%d: %s\n", file, line, what);
	abort();
}

/* ---- lib/find_bit.c ---- */

/*
 * FIND_FIRST_BIT / FIND_NEXT_BIT of lib/find_bit.c as functions of the
 * word fetch: one word at a time, the partial first word masked with
 * BITMAP_FIRST_WORD_MASK, the result clamped to @size.
 */
#define FIND_FIRST_BIT(FETCH, size)					\
({									\
	unsigned long idx, val, sz = (size);				\
									\
	for (idx = 0; idx * BITS_PER_LONG < sz; idx++) {		\
		val = (FETCH);						\
		if (val) {						\
			sz = min(idx * BITS_PER_LONG + __ffs(val), sz);	\
			break;						\
		}							\
	}								\
	sz;								\
})

#define FIND_NEXT_BIT(FETCH, size, start)				\
({									\
	unsigned long mask, idx, tmp, sz = (size), __start = (start);	\
									\
	if (unlikely(__start >= sz))					\
		goto out;						\
	mask = BITMAP_FIRST_WORD_MASK(__start);				\
	idx = __start / BITS_PER_LONG;					\
	for (tmp = (FETCH) & mask; !tmp; tmp = (FETCH)) {		\
		if ((idx + 1) * BITS_PER_LONG >= sz)			\
			goto out;					\
		idx++;							\
	}								\
	sz = min(idx * BITS_PER_LONG + __ffs(tmp), sz);			\
out:									\
	sz;								\
})

unsigned long _find_first_bit(const unsigned long *addr, unsigned long size)
{
	return FIND_FIRST_BIT(addr[idx], size);
}

unsigned long _find_first_zero_bit(const unsigned long *addr,
				   unsigned long size)
{
	return FIND_FIRST_BIT(~addr[idx], size);
}

unsigned long _find_next_bit(const unsigned long *addr, unsigned long nbits,
			     unsigned long start)
{
	return FIND_NEXT_BIT(addr[idx], nbits, start);
}

unsigned long _find_next_zero_bit(const unsigned long *addr,
				  unsigned long nbits, unsigned long start)
{
	return FIND_NEXT_BIT(~addr[idx], nbits, start);
}

unsigned long _find_last_bit(const unsigned long *addr, unsigned long size)
{
	if (size) {
		unsigned long val = BITMAP_LAST_WORD_MASK(size);
		unsigned long idx = (size - 1) / BITS_PER_LONG;

		do {
			val &= addr[idx];
			if (val)
				return idx * BITS_PER_LONG + __fls(val);
			val = ~0UL;
		} while (idx--);
	}
	return size;
}

/* ---- lib/bitmap.c ---- */

bool __bitmap_subset(const unsigned long *bitmap1,
		     const unsigned long *bitmap2, unsigned int bits)
{
	unsigned int k, lim = bits / BITS_PER_LONG;

	for (k = 0; k < lim; ++k)
		if (bitmap1[k] & ~bitmap2[k])
			return false;
	if (bits % BITS_PER_LONG)
		if ((bitmap1[k] & ~bitmap2[k]) & BITMAP_LAST_WORD_MASK(bits))
			return false;
	return true;
}

unsigned int __bitmap_weight(const unsigned long *bitmap, unsigned int bits)
{
	unsigned int idx, w = 0;

	for (idx = 0; idx < bits / BITS_PER_LONG; idx++)
		w += hweight_long(bitmap[idx]);
	if (bits % BITS_PER_LONG)
		w += hweight_long(bitmap[idx] & BITMAP_LAST_WORD_MASK(bits));
	return w;
}

void __bitmap_set(unsigned long *map, unsigned int start, int len)
{
	unsigned long *p = map + BIT_WORD(start);
	const unsigned int size = start + len;
	int bits_to_set = BITS_PER_LONG - (start % BITS_PER_LONG);
	unsigned long mask_to_set = BITMAP_FIRST_WORD_MASK(start);

	while (len - bits_to_set >= 0) {
		*p |= mask_to_set;
		len -= bits_to_set;
		bits_to_set = BITS_PER_LONG;
		mask_to_set = ~0UL;
		p++;
	}
	if (len) {
		mask_to_set &= BITMAP_LAST_WORD_MASK(size);
		*p |= mask_to_set;
	}
}

void __bitmap_clear(unsigned long *map, unsigned int start, int len)
{
	unsigned long *p, mask_to_clear;
	unsigned int size;
	int bits_to_clear;

#ifdef FNMM_USIM_BREAK
	if (len > 1)
		len--;		/* the self-test's deliberate bug */
#endif
	p = map + BIT_WORD(start);
	size = start + len;
	bits_to_clear = BITS_PER_LONG - (start % BITS_PER_LONG);
	mask_to_clear = BITMAP_FIRST_WORD_MASK(start);
	while (len - bits_to_clear >= 0) {
		*p &= ~mask_to_clear;
		len -= bits_to_clear;
		bits_to_clear = BITS_PER_LONG;
		mask_to_clear = ~0UL;
		p++;
	}
	if (len) {
		mask_to_clear &= BITMAP_LAST_WORD_MASK(size);
		*p &= ~mask_to_clear;
	}
}

/*
 * First index >= @start of @nr zero bits such that index + @align_offset
 * is a multiple of @align_mask + 1; a value whose end exceeds @size
 * (index + nr > size) if there is none.
 */
unsigned long bitmap_find_next_zero_area_off(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned int nr,
					     unsigned long align_mask,
					     unsigned long align_offset)
{
	unsigned long index, end, i;
again:
	index = find_next_zero_bit(map, size, start);

	/* Align allocation */
	index = __ALIGN_MASK(index + align_offset, align_mask) - align_offset;

	end = index + nr;
	if (end > size)
		return end;
	i = find_next_bit(map, end, index);
	if (i < end) {
		start = i + 1;
		goto again;
	}
	return index;
}

/* ---- slab.h ---- */

unsigned long usim_kmalloc_calls;
unsigned long usim_kmalloc_fail_at;
long usim_kmalloc_live;
long usim_kmalloc_bytes;
size_t usim_kmalloc_limit = (size_t)1 << 30;

void *usim_kmalloc(size_t size, gfp_t flags, bool kv)
{
	void *p;

	if (kv && size > INT_MAX) {
		/* mm/util.c kvmalloc_node(): "Don't even allow crazy sizes" */
		if (!(flags & __GFP_NOWARN))
			usim_warn(__FILE__, __LINE__, "kvmalloc size > INT_MAX");
		return NULL;
	}
	if (++usim_kmalloc_calls == usim_kmalloc_fail_at)
		return NULL;
	if (!size)
		return ZERO_SIZE_PTR;
	if (size > usim_kmalloc_limit)
		return NULL;
	p = (flags & __GFP_ZERO) ? calloc(1, size) : malloc(size);
	if (p) {
		usim_kmalloc_live++;
		usim_kmalloc_bytes += malloc_usable_size(p);
	}
	return p;
}

/*
 * alloc_percpu(): the kernel's per-CPU areas hold nothing else, so no
 * CPU's part shares a cache line with another allocation (a struct
 * whose fields another CPU reads, say): whole 128-byte lines, zeroed,
 * counted as a kmalloc (freed by kvfree()).
 */
void *usim_alloc_percpu(size_t size)
{
	size_t n = (size + 127) & ~(size_t)127;
	void *p;

	if (++usim_kmalloc_calls == usim_kmalloc_fail_at)
		return NULL;
	p = aligned_alloc(128, n);
	if (p) {
		memset(p, 0, n);
		usim_kmalloc_live++;
		usim_kmalloc_bytes += malloc_usable_size(p);
	}
	return p;
}

void usim_kfree(const void *p)
{
	if (ZERO_OR_NULL_PTR(p))
		return;
	usim_kmalloc_live--;
	usim_kmalloc_bytes -= malloc_usable_size((void *)p);
	free((void *)p);
}

/* ---- rcupdate.h ---- */

#include <linux/rcupdate.h>

#ifdef USIM_THREADS
#include <pthread.h>

#define USIM_RCU_RING	4096

static const void *rcu_ring[USIM_RCU_RING];
static unsigned int rcu_next;
static pthread_mutex_t rcu_lock = PTHREAD_MUTEX_INITIALIZER;

void usim_kfree_rcu(const void *p)
{
	const void *old;

	pthread_mutex_lock(&rcu_lock);
	old = rcu_ring[rcu_next];
	rcu_ring[rcu_next] = p;
	rcu_next = (rcu_next + 1) % USIM_RCU_RING;
	pthread_mutex_unlock(&rcu_lock);
	kfree(old);
}

void usim_rcu_barrier(void)
{
	unsigned int i;

	pthread_mutex_lock(&rcu_lock);
	for (i = 0; i < USIM_RCU_RING; i++) {
		kfree(rcu_ring[i]);
		rcu_ring[i] = NULL;
	}
	pthread_mutex_unlock(&rcu_lock);
}
#else
void usim_kfree_rcu(const void *p)
{
	kfree(p);
}

void usim_rcu_barrier(void)
{
}
#endif

/* ---- spinlock.h ---- */

__thread int usim_locks_held;
__thread unsigned int usim_cpu;

#ifdef USIM_THREADS
void usim_spin_lock_init(spinlock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

#ifdef USIM_LOCKSTAT
#include <x86intrin.h>

#define LOCKSTAT_THREADS	8
#define LOCKSTAT_SITES		64

static struct usim_lockstat_site lockstat[LOCKSTAT_THREADS][LOCKSTAT_SITES];
static double lockstat_ns_per_tick;

static void lockstat_calibrate(void)
{
	struct timespec a, b, d = { 0, 20 * 1000 * 1000 };
	unsigned long long t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	nanosleep(&d, NULL);
	t1 = __rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &b);
	lockstat_ns_per_tick = ((b.tv_sec - a.tv_sec) * 1e9 +
				(b.tv_nsec - a.tv_nsec)) / (double)(t1 - t0);
}

static void lockstat_add(const char *file, int line, unsigned long long ticks)
{
	struct usim_lockstat_site *t = lockstat[usim_cpu % LOCKSTAT_THREADS];
	unsigned long long ns = ticks * lockstat_ns_per_tick;
	int i, k = ns ? 64 - __builtin_clzll(ns) : 0;

	for (i = 0; i < LOCKSTAT_SITES; i++)
		if (!t[i].file || (t[i].file == file && t[i].line == line))
			break;
	if (i == LOCKSTAT_SITES)
		return;
	t[i].file = file;
	t[i].line = line;
	t[i].count++;
	t[i].bucket[k < 40 ? k : 39]++;
	if (ns > t[i].max_ns)
		t[i].max_ns = ns;
}

void usim_lockstat_reset(void)
{
	if (!lockstat_ns_per_tick)
		lockstat_calibrate();
	memset(lockstat, 0, sizeof(lockstat));
}

/* The threads' tables merged by place: how many places (at most @max). */
int usim_lockstat_sites(struct usim_lockstat_site *out, int max)
{
	int n = 0, t, i, j, k;

	for (t = 0; t < LOCKSTAT_THREADS; t++)
		for (i = 0; i < LOCKSTAT_SITES && lockstat[t][i].file; i++) {
			struct usim_lockstat_site *s = &lockstat[t][i];

			for (j = 0; j < n; j++)
				if (out[j].file == s->file &&
				    out[j].line == s->line)
					break;
			if (j == n) {
				if (n == max)
					continue;
				memset(&out[n++], 0, sizeof(*out));
				out[j].file = s->file;
				out[j].line = s->line;
			}
			out[j].count += s->count;
			if (s->max_ns > out[j].max_ns)
				out[j].max_ns = s->max_ns;
			for (k = 0; k < 40; k++)
				out[j].bucket[k] += s->bucket[k];
		}
	return n;
}
#endif

/* Test and test-and-set, as a kernel spinlock spins (no sleeping). */
void usim_spin_lock(spinlock_t *l, const char *file, int line)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
	usim_locks_held++;
#ifdef USIM_LOCKSTAT
	l->file = file;
	l->line = line;
	l->t0 = __rdtsc();
#endif
}

/*
 * usim_unlock_preempt: if set (the race test), a thread that drops a lock
 * is "preempted" now and then for up to a few hundred ns, as an
 * interrupt or a preemption would stall it in the kernel, so that the
 * window right after an unlock, where code must no longer rely on what
 * the lock protected, is long enough for the other thread to get in.
 */
int usim_unlock_preempt;

static void unlock_preempt(void)
{
	static __thread unsigned int s = 2463534242u;
	unsigned int n;

	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	if (s % 4)
		return;
	for (n = (s >> 8) % 512; n; n--)
		__asm__ __volatile__("" ::: "memory");
}

void usim_spin_unlock(spinlock_t *l, const char *file, int line)
{
	if (!__atomic_load_n(&l->v, __ATOMIC_RELAXED))
		usim_bug(file, line, "spin_unlock: lock not held");
#ifdef USIM_LOCKSTAT
	lockstat_add(l->file, l->line, __rdtsc() - l->t0);
#endif
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
	usim_locks_held--;
	if (usim_unlock_preempt)
		unlock_preempt();
}
#else
void usim_spin_lock(spinlock_t *l, const char *file, int line)
{
	if (l->locked) {
		fprintf(stderr, "usim: lock taken at %s:%d\n", l->file, l->line);
		usim_bug(file, line, "spin_lock: already held (deadlock)");
	}
	l->locked = 1;
	l->file = file;
	l->line = line;
	usim_locks_held++;
}

void usim_spin_unlock(spinlock_t *l, const char *file, int line)
{
	if (!l->locked)
		usim_bug(file, line, "spin_unlock: lock not held");
	l->locked = 0;
	usim_locks_held--;
}
#endif

/* ---------------------------------------------------------------- */
/* xarray.h: a sorted array under a mutex, a lock-free lookup table.   */

void xa_init(struct xarray *xa)
{
	pthread_mutex_init(&xa->lock, NULL);
	xa->slots = NULL;
	xa->n = 0;
	xa->cap = 0;
	xa->top = NULL;
	xa->ntop = 0;
	xa->old = NULL;
}

static void *xa_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		usim_bug(__FILE__, __LINE__, "xarray calloc failed");
	return p;
}

/* Mirror @entry (NULL: none) at @index in the lock-free table; lock held. */
static void xa_mirror(struct xarray *xa, unsigned long index, void *entry)
{
	unsigned long hi = index / USIM_XA_LEAF;
	struct usim_xa_leaf *leaf;

	if (hi >= USIM_XA_TOP_MAX)
		return;		/* xa_load() looks such an index up locked */
	if (hi >= xa->ntop) {
		unsigned long n = xa->ntop ? xa->ntop : 16;
		struct usim_xa_leaf **top;
		struct usim_xa_old *o;

		if (!entry)
			return;
		while (n <= hi)
			n *= 2;
		top = xa_calloc(n, sizeof(*top));
		if (xa->ntop)
			memcpy(top, xa->top, xa->ntop * sizeof(*top));
		o = xa_calloc(1, sizeof(*o));
		o->p = xa->top;
		o->next = xa->old;
		xa->old = o;
		/* The table before its size: a reader of the size sees it. */
		__atomic_store_n(&xa->top, top, __ATOMIC_RELEASE);
		__atomic_store_n(&xa->ntop, n, __ATOMIC_RELEASE);
	}
	leaf = xa->top[hi];
	if (!leaf) {
		if (!entry)
			return;
		leaf = xa_calloc(1, sizeof(*leaf));
		__atomic_store_n(&xa->top[hi], leaf, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&leaf->slot[index % USIM_XA_LEAF], entry,
			 __ATOMIC_RELEASE);
}

/* Position of @index, or where it would be inserted; lock held. */
static size_t xa_pos(struct xarray *xa, unsigned long index)
{
	size_t lo = 0, hi = xa->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (xa->slots[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool xa_here(struct xarray *xa, size_t i, unsigned long index)
{
	return i < xa->n && xa->slots[i].index == index;
}

/*
 * A new slot made by a store that may sleep: an allocation in the
 * kernel's (a node), which the fault injection may fail; lock held.
 */
static bool xa_may_fail(gfp_t gfp)
{
	/*
	 * A store that may not sleep (under a spinlock) and needs a slot
	 * may fail in the kernel, where this one would not: a caller that
	 * does that without checking is a bug the shim must not hide.
	 */
	if (!gfp || gfp == GFP_NOWAIT)
		usim_bug(__FILE__, __LINE__,
			 "xarray: a new slot stored without a gfp that sleeps");
	return ++usim_kmalloc_calls == usim_kmalloc_fail_at;
}

void *xa_load(struct xarray *xa, unsigned long index)
{
	unsigned long hi = index / USIM_XA_LEAF, ntop;
	struct usim_xa_leaf **top, *leaf;
	void *e = NULL;
	size_t i;

	if (hi < USIM_XA_TOP_MAX) {
		/* Lock-free, as the kernel's under RCU. */
		ntop = __atomic_load_n(&xa->ntop, __ATOMIC_ACQUIRE);
		if (hi >= ntop)
			return NULL;
		top = __atomic_load_n(&xa->top, __ATOMIC_ACQUIRE);
		leaf = __atomic_load_n(&top[hi], __ATOMIC_ACQUIRE);
		if (leaf)
			e = __atomic_load_n(&leaf->slot[index % USIM_XA_LEAF],
					    __ATOMIC_ACQUIRE);
		return e == XA_ZERO_ENTRY ? NULL : e;
	}
	pthread_mutex_lock(&xa->lock);
	i = xa_pos(xa, index);
	if (xa_here(xa, i, index) && xa->slots[i].entry != XA_ZERO_ENTRY)
		e = xa->slots[i].entry;
	pthread_mutex_unlock(&xa->lock);
	return e;
}

/* Put @entry (non-NULL) at @index; the old entry or NULL; lock held. */
static void *xa_put(struct xarray *xa, unsigned long index, void *entry)
{
	size_t i = xa_pos(xa, index);
	void *old;

	xa_mirror(xa, index, entry);
	if (xa_here(xa, i, index)) {
		old = xa->slots[i].entry;
		xa->slots[i].entry = entry;
		return old == XA_ZERO_ENTRY ? NULL : old;
	}
	if (xa->n == xa->cap) {
		size_t cap = xa->cap ? 2 * xa->cap : 16;
		struct usim_xa_slot *s = realloc(xa->slots, cap * sizeof(*s));

		if (!s)
			usim_bug(__FILE__, __LINE__, "xarray realloc failed");
		xa->slots = s;
		xa->cap = cap;
	}
	memmove(&xa->slots[i + 1], &xa->slots[i],
		(xa->n - i) * sizeof(*xa->slots));
	xa->slots[i] = (struct usim_xa_slot){ index, entry };
	xa->n++;
	return NULL;
}

/* Remove @index; the old entry (XA_ZERO_ENTRY if reserved) or NULL. */
static void *xa_take(struct xarray *xa, unsigned long index)
{
	size_t i = xa_pos(xa, index);
	void *old;

	if (!xa_here(xa, i, index))
		return NULL;
	xa_mirror(xa, index, NULL);
	old = xa->slots[i].entry;
	memmove(&xa->slots[i], &xa->slots[i + 1],
		(xa->n - i - 1) * sizeof(*xa->slots));
	xa->n--;
	return old;
}

void *xa_store(struct xarray *xa, unsigned long index, void *entry,
	       gfp_t gfp)
{
	void *old;

	pthread_mutex_lock(&xa->lock);
	if (entry && !xa_here(xa, xa_pos(xa, index), index) &&
	    xa_may_fail(gfp)) {
		pthread_mutex_unlock(&xa->lock);
		return XA_ERROR(-ENOMEM);
	}
	old = entry ? xa_put(xa, index, entry) : xa_take(xa, index);
	pthread_mutex_unlock(&xa->lock);
	return old == XA_ZERO_ENTRY ? NULL : old;
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	return xa_store(xa, index, NULL, 0);
}

int xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp)
{
	int ret = 0;
	size_t i;

	pthread_mutex_lock(&xa->lock);
	i = xa_pos(xa, index);
	if (!xa_here(xa, i, index)) {
		if (xa_may_fail(gfp))
			ret = -ENOMEM;
		else
			xa_put(xa, index, XA_ZERO_ENTRY);
	}
	pthread_mutex_unlock(&xa->lock);
	return ret;
}

void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old,
		 void *entry, gfp_t gfp)
{
	void *curr = NULL;
	size_t i;

	pthread_mutex_lock(&xa->lock);
	i = xa_pos(xa, index);
	if (xa_here(xa, i, index))
		curr = xa->slots[i].entry;
	if (curr == old) {
		if (entry && !xa_here(xa, i, index) && xa_may_fail(gfp)) {
			pthread_mutex_unlock(&xa->lock);
			return XA_ERROR(-ENOMEM);
		}
		if (entry)
			xa_put(xa, index, entry);
		else
			xa_take(xa, index);
	}
	pthread_mutex_unlock(&xa->lock);
	return curr == XA_ZERO_ENTRY ? NULL : curr;
}

void xa_release(struct xarray *xa, unsigned long index)
{
	size_t i;

	pthread_mutex_lock(&xa->lock);
	i = xa_pos(xa, index);
	if (xa_here(xa, i, index) && xa->slots[i].entry == XA_ZERO_ENTRY)
		xa_take(xa, index);
	pthread_mutex_unlock(&xa->lock);
}

void xa_destroy(struct xarray *xa)
{
	unsigned long i;

	pthread_mutex_lock(&xa->lock);
	free(xa->slots);
	xa->slots = NULL;
	xa->n = 0;
	xa->cap = 0;
	for (i = 0; i < xa->ntop; i++)
		free(xa->top[i]);
	free(xa->top);
	xa->top = NULL;
	xa->ntop = 0;
	while (xa->old) {
		struct usim_xa_old *o = xa->old;

		xa->old = o->next;
		free(o->p);
		free(o);
	}
	pthread_mutex_unlock(&xa->lock);
}

void *usim_xa_find(struct xarray *xa, unsigned long *index)
{
	void *e = NULL;
	size_t i;

	pthread_mutex_lock(&xa->lock);
	for (i = xa_pos(xa, *index); i < xa->n; i++) {
		if (xa->slots[i].entry != XA_ZERO_ENTRY) {
			*index = xa->slots[i].index;
			e = xa->slots[i].entry;
			break;
		}
	}
	pthread_mutex_unlock(&xa->lock);
	return e;
}
