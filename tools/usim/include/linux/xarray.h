/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/xarray.h> (see usim_kernel.h).
 *
 * Only what module/pool.c uses: a sorted array of (index, entry) pairs
 * with binary search, behind its own mutex as the kernel's xarray has its
 * own lock, and beside it a two-level table of the same entries that
 * xa_load() reads without the lock, as the kernel's reads under RCU
 * (writers publish with release stores; a table outgrown is kept until
 * xa_destroy(), so a reader never sees one freed).  A reserved slot (xa_reserve) holds a zero entry: xa_load()
 * returns NULL for it and xa_for_each() skips it, as in the kernel.
 * Storing into a reserved slot never allocates; growth uses realloc and
 * aborts if that fails (the shim's own memory is not under test).
 */
#ifndef _USIM_LINUX_XARRAY_H
#define _USIM_LINUX_XARRAY_H

#include "../usim_kernel.h"
#include <pthread.h>
#include <linux/slab.h>

#define XA_ZERO_ENTRY	((void *)0x406UL)

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
