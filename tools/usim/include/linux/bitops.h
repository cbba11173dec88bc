/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usim: user-space stand-in for <linux/bitops.h> (see usim_kernel.h):
 * the non-atomic bit operations, the find-first/last-set helpers and
 * hweight, as asm-generic/bitops defines them.  __ffs(0), __fls(0) and
 * ffz(~0UL) are undefined in the kernel; here they abort.
 */
#ifndef _USIM_LINUX_BITOPS_H
#define _USIM_LINUX_BITOPS_H

#include "../usim_kernel.h"

#define BITS_PER_LONG		64
#define BITS_PER_BYTE		8
#define BIT(nr)			(1UL << (nr))
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BITS_TO_LONGS(nr)	DIV_ROUND_UP(nr, BITS_PER_LONG)

static inline void __set_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

/* The atomic ones, as the kernel's (fully ordered when they return). */
static inline void set_bit(unsigned long nr, volatile unsigned long *addr)
{
	__atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline void clear_bit(unsigned long nr, volatile unsigned long *addr)
{
	__atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr), __ATOMIC_RELAXED);
}

static inline bool test_and_clear_bit(unsigned long nr,
				      volatile unsigned long *addr)
{
	return __atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

static inline bool test_bit(unsigned long nr, const volatile unsigned long *addr)
{
	return 1UL & (addr[BIT_WORD(nr)] >> (nr & (BITS_PER_LONG - 1)));
}

/* Index of the least significant set bit; undefined for 0. */
static __always_inline unsigned long __ffs(unsigned long word)
{
	if (unlikely(!word))
		usim_bug(__FILE__, __LINE__, "__ffs(0)");
	return __builtin_ctzl(word);
}

/* Index of the least significant set bit of a u64; undefined for 0. */
static __always_inline unsigned long __ffs64(u64 word)
{
	if (unlikely(!word))
		usim_bug(__FILE__, __LINE__, "__ffs64(0)");
	return __builtin_ctzll(word);
}

/* Index of the most significant set bit; undefined for 0. */
static __always_inline unsigned long __fls(unsigned long word)
{
	if (unlikely(!word))
		usim_bug(__FILE__, __LINE__, "__fls(0)");
	return BITS_PER_LONG - 1 - __builtin_clzl(word);
}

/* Index of the first zero bit; undefined for ~0UL. */
static __always_inline unsigned long ffz(unsigned long word)
{
	return __ffs(~word);
}

/* 1-based index of the last set bit, 0 for 0. */
static __always_inline int fls(unsigned int x)
{
	return x ? 32 - __builtin_clz(x) : 0;
}

static __always_inline int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

static __always_inline unsigned int fls_long(unsigned long l)
{
	return fls64(l);
}

static __always_inline unsigned long hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

#include <linux/find.h>

#endif
