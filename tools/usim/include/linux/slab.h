/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/slab.h> (see usim_kernel.h).
 *
 * On malloc/calloc, with the kernel's edge cases: a zero-sized request
 * returns ZERO_SIZE_PTR (faults if dereferenced, may be freed), and a
 * kvmalloc above INT_MAX WARNs and fails as in mm/util.c.  For tests:
 *  - usim_kmalloc_fail_at: the allocation whose 1-based sequence number
 *    (usim_kmalloc_calls) equals it returns NULL (0 = never);
 *  - usim_kmalloc_live: allocations not yet freed, to find leaks without
 *    LeakSanitizer (gcc, valgrind);
 *  - requests above usim_kmalloc_limit fail as the kernel would when out
 *    of memory (keeps a fuzzer's address space bounded).
 */
#ifndef _USIM_LINUX_SLAB_H
#define _USIM_LINUX_SLAB_H

#include "../usim_kernel.h"

#define GFP_KERNEL	0x0cc0u
#define __GFP_NOWARN	0x2000u
#define __GFP_ZERO	0x100u
#define __GFP_ACCOUNT	0x400000u
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT	0x800u

#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

extern unsigned long usim_kmalloc_calls;
extern unsigned long usim_kmalloc_fail_at;
extern long usim_kmalloc_live;
extern long usim_kmalloc_bytes;	/* bytes of those (malloc_usable_size) */
extern size_t usim_kmalloc_limit;

void *usim_kmalloc(size_t size, gfp_t flags, bool kv);
void usim_kfree(const void *p);

static inline void *kzalloc(size_t size, gfp_t flags)
{
	return usim_kmalloc(size, flags | __GFP_ZERO, false);
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return usim_kmalloc(bytes, flags | __GFP_ZERO, true);
}

static inline void kfree(const void *p)
{
	usim_kfree(p);
}

static inline void kvfree(const void *p)
{
	usim_kfree(p);
}

#endif
