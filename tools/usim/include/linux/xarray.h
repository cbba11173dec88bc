/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/xarray.h> (see usim_kernel.h).
 *
 * Only what module/pool.c uses: a sorted array of (index, entry) pairs
 * with binary search, behind its own mutex as the kernel's xarray has its
 * own lock, and beside it a two-level table of the same entries that
 * xa_load() reads without the lock, as the kernel's reads under RCU
 * (writers publish with release stores; a table outgrown is kept until
 * xa_destroy(), so a reader never sees one freed).  A reserved slot
 * (xa_reserve) holds a zero entry: xa_load() returns NULL for it and
 * xa_for_each() skips it, as in the kernel; value entries (xa_mk_value)
 * are entries like any other.  A store that needs a new slot and may
 * sleep (xa_reserve, xa_cmpxchg with a gfp that allows it) counts as a
 * kmalloc for the fault injection (usim_kmalloc_fail_at) and fails with
 * -ENOMEM as the kernel's may.
 * Storing into a reserved slot never allocates; growth uses realloc and
 * aborts if that fails (the shim's own memory is not under test).
 */
#ifndef _USIM_LINUX_XARRAY_H
#define _USIM_LINUX_XARRAY_H

#include "../usim_kernel.h"
#include <pthread.h>
#include <linux/slab.h>

#define XA_ZERO_ENTRY	((void *)0x406UL)

/* Value entries, as the kernel tags them: bit 0 set. */
static inline void *xa_mk_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

static inline bool xa_is_value(const void *entry)
{
	return (unsigned long)entry & 1;
}

static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

/* Errors, as the kernel's internal entries: errno << 2 | 2. */
#define XA_ERROR(errno)	((void *)(((unsigned long)(errno) << 2) | 2UL))

static inline bool xa_is_err(const void *entry)
{
	return ((unsigned long)entry & 3) == 2 &&
	       (unsigned long)entry >= (unsigned long)XA_ERROR(-4095);
}

static inline int xa_err(void *entry)
{
	return xa_is_err(entry) ? (long)entry >> 2 : 0;
}

struct usim_xa_slot {
	unsigned long index;
	void *entry;
};

#define USIM_XA_LEAF	512UL		/* entries per leaf of the table */
#define USIM_XA_TOP_MAX	(1UL << 20)	/* leaves at most: indexes < 2^29 */

struct usim_xa_leaf {
	void *slot[USIM_XA_LEAF];
};

struct usim_xa_old {
	void *p;
	struct usim_xa_old *next;
};

struct xarray {
	pthread_mutex_t lock;
	struct usim_xa_slot *slots;
	size_t n, cap;
	struct usim_xa_leaf **top;	/* [index / USIM_XA_LEAF] */
	unsigned long ntop;
	struct usim_xa_old *old;	/* outgrown tables */
};

void xa_init(struct xarray *xa);
void *xa_load(struct xarray *xa, unsigned long index);
void *xa_store(struct xarray *xa, unsigned long index, void *entry,
	       gfp_t gfp);
void *xa_erase(struct xarray *xa, unsigned long index);
int xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp);
/*
 * Store @entry (NULL: erase) if the slot holds @old, compared with the
 * raw entry (a reserved slot is XA_ZERO_ENTRY, not NULL); return what it
 * held, a reserved slot as NULL, as the kernel's.
 */
void *xa_cmpxchg(struct xarray *xa, unsigned long index, void *old,
		 void *entry, gfp_t gfp);
void xa_release(struct xarray *xa, unsigned long index);
void xa_destroy(struct xarray *xa);
/* The first present entry at an index >= *@index, or NULL. */
void *usim_xa_find(struct xarray *xa, unsigned long *index);

/*
 * The advanced API, as far as module/pool.c walks it: an xa_state is an
 * index, and each step an xa_load() (which hides reserved entries, so
 * the kernel's zero and retry entries never show).
 */
struct xa_state {
	struct xarray *xa;
	unsigned long xa_index;
};

#define XA_STATE(name, array, index)					\
	struct xa_state name = { .xa = (array), .xa_index = (index) }

static inline void *xas_load(struct xa_state *xas)
{
	return xa_load(xas->xa, xas->xa_index);
}

static inline void *xas_prev(struct xa_state *xas)
{
	return xa_load(xas->xa, --xas->xa_index);
}

static inline void xas_reset(struct xa_state *xas)
{
}

static inline bool xa_is_retry(const void *entry)
{
	return false;
}

static inline bool xa_is_zero(const void *entry)
{
	return entry == XA_ZERO_ENTRY;
}

#define xa_for_each(xa, index, entry)					\
	for (index = 0, entry = usim_xa_find(xa, &(index)); entry;	\
	     entry = ++(index) ? usim_xa_find(xa, &(index)) : NULL)

#endif
