/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/find.h> (see usim_kernel.h).
 * Same results as the kernel's: the kernel's small_const_nbits() inline
 * paths (taken only for compile-time-constant sizes of at most one word)
 * compute the same value as the word-at-a-time loops in usim_lib.c, which
 * follow lib/find_bit.c, so only the loops are kept.
 */
#ifndef _USIM_LINUX_FIND_H
#define _USIM_LINUX_FIND_H

#include "../usim_kernel.h"

unsigned long _find_next_bit(const unsigned long *addr, unsigned long nbits,
			     unsigned long start);
unsigned long _find_next_zero_bit(const unsigned long *addr,
				  unsigned long nbits, unsigned long start);
unsigned long _find_first_bit(const unsigned long *addr, unsigned long size);
unsigned long _find_first_zero_bit(const unsigned long *addr,
				   unsigned long size);
unsigned long _find_last_bit(const unsigned long *addr, unsigned long size);

/* Next set bit at or after @offset, or @size if none. */
static inline unsigned long find_next_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long offset)
{
	return _find_next_bit(addr, size, offset);
}

/* Next clear bit at or after @offset, or @size if none. */
static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	return _find_next_zero_bit(addr, size, offset);
}

static inline unsigned long find_first_bit(const unsigned long *addr,
					   unsigned long size)
{
	return _find_first_bit(addr, size);
}

static inline unsigned long find_first_zero_bit(const unsigned long *addr,
						unsigned long size)
{
	return _find_first_zero_bit(addr, size);
}

static inline unsigned long find_last_bit(const unsigned long *addr,
					  unsigned long size)
{
	return _find_last_bit(addr, size);
}

#endif
